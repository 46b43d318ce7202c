// The host API (om_host_api) as a C++ plugin uses it. Every slot is checked against
// host->struct_size and for NULL before it is called, so a plugin also runs on a host that
// predates ABI 1.1: counter_add does nothing and config answers nullptr there.
#pragma once

#include <orbitmesh/plugin.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace om::plugin {

class HostServices {
public:
    HostServices(const om_host_api* host, om_host_ctx* ctx) noexcept : host_(host), ctx_(ctx) {}

    // The detail of the failure about to be returned; the kernel adds it to the agent's last error.
    void set_error(const char* message) const noexcept
    {
        if (const auto fn = slot(&om_host_api::set_error)) fn(ctx_, message);
    }
    // Through the kernel's logger (om_log_level), prefixed with the plugin's name.
    void log(int32_t level, const char* message) const noexcept
    {
        if (const auto fn = slot(&om_host_api::log)) fn(ctx_, level, message);
    }

    // The clock and both timer slots are there: a plugin that needs them checks this once, at
    // creation, and may then rely on now_us and the timers.
    bool has_clock_and_timers() const noexcept
    {
        return slot(&om_host_api::now_us) && slot(&om_host_api::timer_start) && slot(&om_host_api::timer_cancel);
    }
    // Monotonic clock in microseconds; 0 on a host without one.
    uint64_t now_us() const noexcept
    {
        const auto fn = slot(&om_host_api::now_us);
        return fn ? fn(ctx_) : 0;
    }
    // A one-shot timer on the agent's loop thread; OM_ERR_NOT_SUPPORTED on a host without timers.
    int32_t timer_start(uint64_t delay_us, om_host_timer_fn fn, void* user_data, uint64_t* out_id) const noexcept
    {
        return timer_start(delay_us, 0, fn, user_data, out_id);
    }
    // The same, periodic when interval_us is not 0.
    int32_t timer_start(uint64_t delay_us, uint64_t interval_us, om_host_timer_fn fn, void* user_data,
                        uint64_t* out_id) const noexcept
    {
        const auto start = slot(&om_host_api::timer_start);
        return start ? start(ctx_, delay_us, interval_us, fn, user_data, out_id) : OM_ERR_NOT_SUPPORTED;
    }
    // Cancelling an id that already fired or was cancelled is OM_OK.
    int32_t timer_cancel(uint64_t id) const noexcept
    {
        const auto fn = slot(&om_host_api::timer_cancel);
        return fn ? fn(ctx_, id) : OM_ERR_NOT_SUPPORTED;
    }

    // Runs fn(user_data) on the agent's loop thread; the one host call safe from any thread (a
    // plugin's worker hands results back through it). Dropped once the instance is destroyed.
    int32_t post(om_host_task_fn fn, void* user_data) const noexcept
    {
        const auto slot_fn = slot(&om_host_api::post);
        return slot_fn ? slot_fn(ctx_, fn, user_data) : OM_ERR_NOT_SUPPORTED;
    }

    // Sends through the agent's whole transport stack (NAT discovery, TURN, delivery).
    bool can_send_datagram() const noexcept { return slot(&om_host_api::send_datagram) != nullptr; }
    int32_t send_datagram(const om_datagram& datagram) const noexcept
    {
        const auto fn = slot(&om_host_api::send_datagram);
        return fn ? fn(ctx_, &datagram) : OM_ERR_NOT_SUPPORTED;
    }

    // Adds delta to the agent counter "plugin.<plugin name>.<name>" (ABI 1.1; nothing before).
    void counter_add(const char* name, int64_t delta) const noexcept
    {
        if (const auto fn = slot(&om_host_api::counter_add)) fn(ctx_, name, delta);
    }
    // The plugin's setting `key` (ABI 1.1), nullptr when unset or when the host has no settings.
    const char* config(const char* key) const noexcept
    {
        const auto fn = slot(&om_host_api::config_get);
        return fn ? fn(ctx_, key) : nullptr;
    }

    // Parses "1.2.3.4:5", "[::1]:5" or a bare address (which gets default_port) into out.
    bool parse_address(const char* text, om_address& out, uint16_t default_port = 0) const noexcept
    {
        const auto fn = slot(&om_host_api::address_parse);
        return fn && fn(text, default_port, &out) == OM_OK;
    }
    // The text form of an address, "?" when the host cannot give one.
    std::string format_address(const om_address& address) const
    {
        char buf[OM_ADDRESS_STRLEN] = "?";
        if (const auto fn = slot(&om_host_api::address_format)) fn(&address, buf, sizeof buf);
        return buf;
    }

private:
    // The host's function in `member`, or nullptr when the host gave none or its table ends
    // before that slot (which is then never read).
    template <class Fn>
    Fn slot(Fn om_host_api::* member) const noexcept
    {
        static constexpr om_host_api kLayout{};
        const auto offset = static_cast<size_t>(reinterpret_cast<const char*>(&(kLayout.*member)) -
                                                reinterpret_cast<const char*>(&kLayout));
        if (host_ == nullptr || host_->struct_size < offset + sizeof(Fn)) return nullptr;
        return host_->*member;
    }

    const om_host_api* host_;
    om_host_ctx* ctx_;
};

}  // namespace om::plugin
