// The host API as transport-udp uses it: every slot checked against host->struct_size, so the
// plugin also runs on a host that predates ABI 1.1 (no counters, no settings then).
#pragma once

#include <orbitmesh/plugin.h>

#include <cstddef>
#include <string>

namespace om::udp {

class HostServices {
public:
    HostServices(const om_host_api* host, om_host_ctx* ctx) noexcept : host_(host), ctx_(ctx) {}

    void set_error(const char* message) const noexcept
    {
        if (covers(offsetof(om_host_api, set_error)) && host_->set_error) host_->set_error(ctx_, message);
    }
    void counter_add(const char* name, int64_t delta) const noexcept
    {
        if (covers(offsetof(om_host_api, counter_add)) && host_->counter_add) host_->counter_add(ctx_, name, delta);
    }
    // NULL when unset or when the host has no settings.
    const char* config(const char* key) const noexcept
    {
        if (!covers(offsetof(om_host_api, config_get)) || !host_->config_get) return nullptr;
        return host_->config_get(ctx_, key);
    }
    // host->address_parse with a bare address meaning port 0.
    bool parse_address(const char* text, om_address& out) const noexcept
    {
        return host_ != nullptr && host_->address_parse && host_->address_parse(text, 0, &out) == OM_OK;
    }
    std::string format_address(const om_address& address) const
    {
        char buf[OM_ADDRESS_STRLEN] = "?";
        if (host_ != nullptr && host_->address_format) host_->address_format(&address, buf, sizeof buf);
        return buf;
    }

private:
    // The slot at `offset` is inside the table the host gave (checked before reading it).
    bool covers(size_t offset) const noexcept
    {
        return host_ != nullptr && host_->struct_size >= offset + sizeof(void*);
    }

    const om_host_api* host_;
    om_host_ctx* ctx_;
};

}  // namespace om::udp
