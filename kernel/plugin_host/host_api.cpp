#include "plugin_host/host_api.h"

#include "core/error.h"
#include "core/log.h"
#include "proto/address.h"

#include <cstdlib>
#include <cstring>
#include <exception>

namespace om {
namespace {

// A plugin callback run from the loop: an exception is logged and counted, never propagated.
template <class F>
void run_plugin_callback(om_host_ctx* ctx, const char* what, F&& fn)
{
    try {
        fn();
    }
    OM_RETHROW_FORCED_UNWIND
    catch (const std::exception& e) {
        log_message(OM_LOG_ERROR, "plugin " + ctx->plugin_name + ": " + what + " threw: " + e.what());
        if (ctx->owner) ctx->owner->counters().add("plugin." + ctx->plugin_name + ".exceptions", 1);
    } catch (...) {
        log_message(OM_LOG_ERROR, "plugin " + ctx->plugin_name + ": " + what + " threw");
        if (ctx->owner) ctx->owner->counters().add("plugin." + ctx->plugin_name + ".exceptions", 1);
    }
}

void host_log(om_host_ctx* ctx, int32_t level, const char* message)
{
    if (level < OM_LOG_TRACE || level >= OM_LOG_OFF) level = OM_LOG_INFO;
    // Appended, not "[" + ...: GCC 12 at -O3 sees a false -Wrestrict in that operator+.
    std::string text = "[";
    text.append(ctx ? ctx->plugin_name : std::string("?")).append("] ").append(message ? message : "");
    log_message(static_cast<om_log_level>(level), text);
}

uint64_t host_now_us(om_host_ctx*)
{
    return EventLoop::now_us();
}

int32_t host_timer_start(om_host_ctx* ctx, uint64_t delay_us, uint64_t interval_us, om_host_timer_fn fn,
                         void* user_data, uint64_t* out_timer_id)
{
    if (!ctx || !ctx->owner || !fn) return OM_ERR_INVALID_ARGUMENT;
    if (!ctx->owner->loop().in_loop_thread()) return OM_ERR_STATE;
    if (delay_us > EventLoop::kMaxTimerUs || interval_us > EventLoop::kMaxTimerUs) {
        ctx->last_error = "timer delay or interval beyond 2^62 microseconds";
        return OM_ERR_INVALID_ARGUMENT;
    }
    uint64_t id = ctx->owner->loop().add_timer(delay_us, interval_us, [ctx](uint64_t timer_id) {
        auto it = ctx->timers.find(timer_id);
        if (it == ctx->timers.end()) return;  // cancelled (cancel_timers also cancels it in the loop)
        const om_host_ctx::Timer timer = it->second;
        if (!timer.periodic) ctx->timers.erase(it);
        run_plugin_callback(ctx, "timer", [&] { timer.fn(timer.user_data, timer_id); });
    });
    ctx->timers.insert_new(id, om_host_ctx::Timer{fn, user_data, interval_us != 0});
    if (out_timer_id) *out_timer_id = id;
    return OM_OK;
}

int32_t host_timer_cancel(om_host_ctx* ctx, uint64_t timer_id)
{
    if (!ctx || !ctx->owner) return OM_ERR_INVALID_ARGUMENT;
    if (!ctx->owner->loop().in_loop_thread()) return OM_ERR_STATE;
    if (ctx->timers.erase(timer_id)) ctx->owner->loop().cancel_timer(timer_id);
    return OM_OK;
}

int32_t host_post(om_host_ctx* ctx, om_host_task_fn fn, void* user_data)
{
    if (!ctx || !ctx->owner || !fn) return OM_ERR_INVALID_ARGUMENT;
    std::shared_ptr<bool> alive = ctx->alive;
    bool posted = ctx->owner->loop().post([alive, ctx, fn, user_data] {
        if (!*alive) return;  // the instance was destroyed after posting: ctx is gone too
        run_plugin_callback(ctx, "posted task", [&] { fn(user_data); });
    });
    return posted ? OM_OK : OM_ERR_CLOSED;
}

void host_set_error(om_host_ctx* ctx, const char* message)
{
    if (ctx) ctx->last_error = message ? message : "";
}

void* host_alloc(size_t size)
{
    return std::malloc(size ? size : 1);
}

void host_free(void* ptr)
{
    std::free(ptr);
}

int32_t host_send_datagram(om_host_ctx* ctx, const om_datagram* datagram)
{
    if (!ctx || !ctx->owner || !datagram) return OM_ERR_INVALID_ARGUMENT;
    if ((!datagram->data && datagram->len) || (datagram->peer.family != 4 && datagram->peer.family != 6) ||
        datagram->peer.port == 0) {
        ctx->last_error = "send_datagram: no data or no destination address";
        return OM_ERR_INVALID_ARGUMENT;
    }
    return ctx->owner->send_through_transport(*datagram);
}

int32_t host_address_format(const om_address* address, char* buf, size_t cap)
{
    if (!address || !buf) return OM_ERR_INVALID_ARGUMENT;
    std::string text = proto::format_address(*address);
    if (text.empty()) return OM_ERR_INVALID_ARGUMENT;
    if (text.size() + 1 > cap) return OM_ERR_BUFFER_TOO_SMALL;
    std::memcpy(buf, text.c_str(), text.size() + 1);
    return OM_OK;
}

int32_t host_address_parse(const char* text, uint16_t default_port, om_address* out)
{
    if (!text || !out) return OM_ERR_INVALID_ARGUMENT;
    return proto::parse_address(text, default_port, *out) ? OM_OK : OM_ERR_INVALID_ARGUMENT;
}

void host_counter_add(om_host_ctx* ctx, const char* name, int64_t delta)
{
    if (!ctx || !ctx->owner || !name) return;
    for (const auto& recent : ctx->recent_counters)
        if (recent.name == name && *recent.key == name) {
            om::Counters::apply(*recent.counter, delta);
            return;
        }
    const std::string_view key(name);
    auto it = ctx->counters.find(key);
    if (it == ctx->counters.end())
        it = ctx->counters.emplace(key, &ctx->owner->counters().counter("plugin." + ctx->plugin_name + "." + name)).first;
    ctx->recent_counters[ctx->recent_counter_next] = {name, &it->first, it->second};
    ctx->recent_counter_next = (ctx->recent_counter_next + 1) % ctx->recent_counters.size();
    om::Counters::apply(*it->second, delta);
}

const char* host_config_get(om_host_ctx* ctx, const char* key)
{
    if (!ctx || !key) return nullptr;
    ctx->settings_read.insert(key);
    auto it = ctx->settings.find(key);
    return it == ctx->settings.end() ? nullptr : it->second.c_str();
}

const om_host_api kHostApi = {
    sizeof(om_host_api),
    OM_PLUGIN_ABI_VERSION,
    host_log,
    host_now_us,
    host_timer_start,
    host_timer_cancel,
    host_post,
    host_set_error,
    host_alloc,
    host_free,
    host_send_datagram,
    host_address_format,
    host_address_parse,
    host_counter_add,
    host_config_get,
};

} // namespace

const om_host_api* host_api()
{
    return &kHostApi;
}

} // namespace om

void om_host_ctx::cancel_timers()
{
    *alive = false;
    if (owner)
        for (const auto& [id, timer] : timers.entries()) owner->loop().cancel_timer(id);
    timers.clear();
}

std::string om_host_ctx::take_error()
{
    std::string e;
    e.swap(last_error);
    return e;
}

void om_host_ctx::check_settings_read() const
{
    for (const auto& [key, value] : settings) {
        if (settings_read.count(key)) continue;
        std::string known;
        for (const auto& k : settings_read) known += (known.empty() ? "" : ", ") + k;
        om::fail(OM_ERR_INVALID_ARGUMENT, "plugin " + plugin_name + " has no setting \"" + key + "\"" +
                                              (known.empty() ? " (it reads none)" : " (it reads " + known + ")"));
    }
}
