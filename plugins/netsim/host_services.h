// The host API as netsim uses it. Slots added after ABI 1.0 are checked against
// host->struct_size before they are read, so an older host simply has no counters or settings.
#pragma once

#include <orbitmesh/plugin.h>

#include <cstddef>

namespace om::netsim {

class HostServices {
public:
    HostServices(const om_host_api* host, om_host_ctx* ctx) noexcept : host_(host), ctx_(ctx) {}

    void set_error(const char* message) const noexcept
    {
        if (host_ && host_->set_error) host_->set_error(ctx_, message);
    }
    void log(int32_t level, const char* message) const noexcept
    {
        if (host_ && host_->log) host_->log(ctx_, level, message);
    }
    uint64_t now_us() const noexcept { return host_->now_us(ctx_); }
    int32_t timer_start(uint64_t delay_us, om_host_timer_fn fn, void* user_data, uint64_t* out_id) const noexcept
    {
        return host_->timer_start(ctx_, delay_us, 0, fn, user_data, out_id);
    }
    void timer_cancel(uint64_t id) const noexcept
    {
        if (host_->timer_cancel) host_->timer_cancel(ctx_, id);
    }
    void counter_add(const char* name, int64_t delta) const noexcept
    {
        if (covers(offsetof(om_host_api, counter_add)) && host_->counter_add) host_->counter_add(ctx_, name, delta);
    }
    // The setting `key`, nullptr when unset or when the host has no settings.
    const char* config(const char* key) const noexcept
    {
        if (!covers(offsetof(om_host_api, config_get)) || !host_->config_get) return nullptr;
        return host_->config_get(ctx_, key);
    }
    // netsim cannot work without a clock and a one-shot timer.
    bool has_clock_and_timers() const noexcept
    {
        return host_ && host_->now_us && host_->timer_start && host_->timer_cancel;
    }

private:
    bool covers(size_t offset) const noexcept { return host_ && host_->struct_size >= offset + sizeof(void*); }

    const om_host_api* host_;
    om_host_ctx* ctx_;
};

}  // namespace om::netsim
