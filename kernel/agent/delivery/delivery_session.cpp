#include "agent/delivery/delivery_session.h"

#include "core/error.h"
#include "plugin_host/guarded_call.h"

#include <algorithm>

namespace om {

namespace {
DeliverySession* self_of(void* io)
{
    return static_cast<DeliverySession*>(io);
}
} // namespace

template <class F>
int32_t DeliverySession::call_plugin(const char* step, F&& fn)
{
    ++depth_;
    struct Leave {
        int& depth;
        ~Leave() { --depth; }
    } leave{depth_};
    return guarded_call(*plugin_.ctx, step, fn);
}

template <class F>
int32_t DeliverySession::call(const char* step, F&& fn)
{
    const int32_t status = call_plugin(step, std::forward<F>(fn));
    if (depth_ == 0) flush();
    return status;
}

DeliverySession::DeliverySession(PluginInstance& plugin, EventLoop& loop, Handler& handler, const Config& config)
    : plugin_(plugin), vtbl_(*plugin.library->vtable<om_delivery_vtbl>()), loop_(loop), handler_(handler),
      path_id_(config.path.path_id), state_(std::make_shared<State>(State{this}))
{
    om_delivery_session_args args{};
    args.struct_size = sizeof args;
    args.mtu = config.path.mtu;
    args.send_frame = &send_frame_cb;
    args.deliver = &deliver_cb;
    args.io_user_data = this;
    args.peer_id = config.peer_id.c_str();
    args.role = config.role;
    args.path = config.path;
    args.remote_fingerprint = config.remote_fingerprint.empty() ? nullptr : config.remote_fingerprint.c_str();
    args.keep_alive_ms = config.keep_alive_ms;
    args.idle_timeout_ms = config.idle_timeout_ms;
    args.enable_reliable = config.enable_reliable ? 1 : 0;
    args.enable_unreliable = config.enable_unreliable ? 1 : 0;
    args.send_packets = &send_packets_cb;
    args.deliver_message = &deliver_message_cb;
    args.session_event = &session_event_cb;
    int32_t status = call("session_open", [&] { return vtbl_.session_open(plugin_.instance, &args, &session_); });
    check_plugin_status(*plugin_.ctx, "session_open", status);
    // A plugin older than ABI 1.2 has no handshake to report: its session is usable at once.
    if (!vtbl_.send_message) queue(Output{true, 0, 0, {}, OM_DELIVERY_EVENT_ESTABLISHED, OM_OK, {}});
}

DeliverySession::~DeliverySession()
{
    state_->self = nullptr;
    if (!session_) return;
    ++depth_;  // nothing the plugin says while closing reaches the handler
    try {
        guarded_call(*plugin_.ctx, "session_close", [&] {
            vtbl_.session_close(plugin_.instance, session_);
            return 0;
        });
    } catch (...) {
        // Closing must not throw out of a destructor; the plugin's failure is its own.
    }
}

om_status DeliverySession::send(om_delivery_mode mode, uint32_t channel, const uint8_t* data, size_t len,
                                std::string* error)
{
    int32_t status;
    if (vtbl_.send_message) {
        status = call("send_message", [&] { return vtbl_.send_message(plugin_.instance, session_, mode, channel, data, len); });
    } else {
        if (channel != 0) {
            if (error) *error = "plugin " + plugin_.ctx->plugin_name + " (ABI < 1.2) has only channel 0";
            return OM_ERR_NOT_SUPPORTED;
        }
        status = call("send", [&] { return vtbl_.send(plugin_.instance, session_, mode, data, len); });
    }
    if (status != OM_OK && error) *error = plugin_.ctx->take_error();
    return status;
}

om_status DeliverySession::send_batch(const om_delivery_message* messages, size_t count, size_t* accepted,
                                      std::string* error)
{
    *accepted = 0;
    if (!vtbl_.send_messages) {
        for (; *accepted < count; ++*accepted) {
            const om_delivery_message& m = messages[*accepted];
            om_status status = send(m.mode, m.channel, m.data, m.len, error);
            if (status != OM_OK) return status;
        }
        return OM_OK;
    }
    size_t taken = 0;
    int32_t status = call("send_messages", [&] {
        return vtbl_.send_messages(plugin_.instance, session_, messages, count, &taken);
    });
    *accepted = std::min(taken, count);  // a plugin's count is not trusted past the run
    if (status != OM_OK && error) *error = plugin_.ctx->take_error();
    if (status == OM_OK && *accepted != count) {
        if (error) *error = "plugin " + plugin_.ctx->plugin_name + " took " + std::to_string(*accepted) + " of " +
                            std::to_string(count) + " messages and said OM_OK";
        return OM_ERR_PLUGIN;
    }
    return status;
}

void DeliverySession::on_packet(uint32_t path_id, const uint8_t* data, size_t len)
{
    if (vtbl_.on_packet)
        call("on_packet", [&] { return vtbl_.on_packet(plugin_.instance, session_, path_id, data, len); });
    else
        call("on_frame", [&] { return vtbl_.on_frame(plugin_.instance, session_, data, len); });
}

void DeliverySession::path_changed(const om_delivery_path& path)
{
    path_id_ = path.path_id;
    if (!vtbl_.path_changed) return;
    call("path_changed", [&] { return vtbl_.path_changed(plugin_.instance, session_, &path); });
}

bool DeliverySession::metrics(om_delivery_metrics& out)
{
    out = om_delivery_metrics{};
    out.struct_size = sizeof out;
    // A read: what the plugin produced earlier is handed on by its own flush, not from inside
    // whatever asked for the metrics (a state change must not run the application's callbacks
    // in its middle).
    const int32_t status =
        call_plugin("metrics", [&] { return vtbl_.metrics(plugin_.instance, session_, &out); });
    if (!outputs_.empty()) post_flush();
    return status == OM_OK;
}

std::string DeliverySession::local_fingerprint(PluginInstance& plugin)
{
    const om_delivery_vtbl* vtbl = plugin.library->vtable<om_delivery_vtbl>();
    if (!vtbl || !vtbl->local_fingerprint) return {};
    char buf[OM_FINGERPRINT_STRLEN] = {0};
    int32_t status = guarded_call(*plugin.ctx, "local_fingerprint",
                                  [&] { return vtbl->local_fingerprint(plugin.instance, buf, sizeof buf); });
    check_plugin_status(*plugin.ctx, "local_fingerprint", status);
    buf[sizeof buf - 1] = '\0';
    return buf;
}

int32_t DeliverySession::send_packets_cb(void* io, uint32_t path_id, const uint8_t* data, size_t len, size_t segment)
{
    try {
        return self_of(io)->handler_.send_packets(path_id, data, len, segment);
    }
    OM_RETHROW_FORCED_UNWIND
    catch (...) {
        return OM_ERR_INTERNAL;  // nothing may unwind into the plugin
    }
}

int32_t DeliverySession::send_frame_cb(void* io, const uint8_t* frame, size_t len)
{
    return send_packets_cb(io, self_of(io)->path_id_, frame, len, len);
}

void DeliverySession::deliver_message_cb(void* io, om_delivery_mode mode, uint32_t channel, const uint8_t* data, size_t len)
{
    try {
        self_of(io)->queue(Output{false, mode, channel, std::vector<uint8_t>(data, data + len), 0, OM_OK, {}});
    }
    OM_RETHROW_FORCED_UNWIND
    catch (...) {
    }
}

void DeliverySession::deliver_cb(void* io, om_delivery_mode mode, const uint8_t* data, size_t len)
{
    deliver_message_cb(io, mode, 0, data, len);
}

void DeliverySession::session_event_cb(void* io, int32_t event, int32_t status, const char* reason)
{
    try {
        self_of(io)->queue(Output{true, 0, 0, {}, event, status, reason ? reason : ""});
    }
    OM_RETHROW_FORCED_UNWIND
    catch (...) {
    }
}

void DeliverySession::queue(Output output)
{
    outputs_.push_back(std::move(output));
    if (depth_ > 0) return;
    // From the plugin's own timer: hand on from a fresh loop task, outside the plugin.
    post_flush();
}

void DeliverySession::post_flush()
{
    if (flush_posted_) return;
    flush_posted_ = true;
    loop_.post([state = state_] {
        if (!state->self) return;
        state->self->flush_posted_ = false;
        state->self->flush();
    });
}

void DeliverySession::flush()
{
    // The handler may destroy this session (a FAILED event): stop as soon as it does.
    std::weak_ptr<State> alive = state_;
    while (!outputs_.empty()) {
        Output o = std::move(outputs_.front());
        outputs_.pop_front();
        if (o.is_event) handler_.on_session_event(o.event, o.status, o.reason);
        else handler_.on_message(o.mode, o.channel, std::move(o.data));
        auto s = alive.lock();
        if (!s || !s->self) return;
    }
}

} // namespace om
