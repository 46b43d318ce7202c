#include "delivery_instance.h"

#include <orbitmesh_plugin_support/counters.h>
#include <orbitmesh_plugin_support/plugin_error.h>
#include <orbitmesh_plugin_support/setting_text.h>

#include <cstring>
#include <string>

namespace om::quic {

using plugin::PluginError;

namespace {

constexpr plugin::CounterName<InstanceCounters> kCounterNames[] = {
    {"sessions_opened", &InstanceCounters::sessions_opened},
    {"sessions_failed", &InstanceCounters::sessions_failed},
    {"malformed_packets", &InstanceCounters::malformed_packets},
    {"packets_after_close", &InstanceCounters::packets_after_close},
    {"malformed_streams", &InstanceCounters::malformed_streams},
    {"malformed_datagrams", &InstanceCounters::malformed_datagrams},
    {"stale_sequenced", &InstanceCounters::stale_sequenced},
    {"datagrams_lost", &InstanceCounters::datagrams_lost},
    {"datagrams_dropped", &InstanceCounters::datagrams_dropped},
    {"send_blocked", &InstanceCounters::send_blocked},
};

TlsIdentity make_identity(const plugin::HostServices& host)
{
    try {
        const char* file = host.config("identity_file");
        if (file && *plugin::trim_setting(file).data())
            return TlsIdentity::load_or_create(std::string(plugin::trim_setting(file)));
        return TlsIdentity::generate();
    } catch (const std::runtime_error& error) {
        throw PluginError(OM_ERR_INVALID_ARGUMENT, error.what());
    }
}

}  // namespace

SessionSettings read_settings(const plugin::HostServices& host)
{
    SessionSettings s;
    if (const char* cc = host.config("congestion_control")) {
        const auto parsed = parse_congestion_control(plugin::trim_setting(cc));
        if (!parsed)
            throw PluginError(OM_ERR_INVALID_ARGUMENT, std::string("congestion_control \"") + cc +
                                                           "\" is not one of cubic, reno, bbr, bbr2");
        s.congestion_control = *parsed;
    }
    if (const char* bytes = host.config("send_queue_bytes")) {
        uint64_t value = 0;
        if (!plugin::parse_setting_number(plugin::trim_setting(bytes), value) || value < 65536)
            throw PluginError(OM_ERR_INVALID_ARGUMENT,
                              std::string("send_queue_bytes \"") + bytes + "\" is not a number of bytes >= 65536");
        s.send_queue_bytes = value;
    }
    return s;
}

// A session, its outputs and its timer. The kernel's session handle is a Box*.
struct DeliveryInstance::Box {
    DeliveryInstance* owner = nullptr;
    om_delivery_session_args args{};  // the kernel's outputs (for the 1.0 send_frame fallback)
    std::unique_ptr<QuicSession> session;
    uint64_t timer_id = 0;
    uint64_t timer_due_us = 0;
    bool timer_for_write = false;  // armed for the write due after a read
    bool counted_failure = false;

    // A 1.2 kernel gives send_packets; a 1.0/1.1 one only send_frame (one packet each).
    static int32_t send_frames(void* user, uint32_t, const uint8_t* data, size_t len, size_t segment)
    {
        auto* b = static_cast<Box*>(user);
        if (!b->args.send_frame) return OM_ERR_NOT_SUPPORTED;
        for (size_t at = 0; at < len; at += segment) {
            const int32_t rv = b->args.send_frame(b->args.io_user_data, data + at, std::min(segment, len - at));
            if (rv != OM_OK) return rv;
        }
        return OM_OK;
    }
};

DeliveryInstance::DeliveryInstance(const om_plugin_create_args& args)
    : host_(args.host, args.ctx), settings_(read_settings(host_)), identity_(make_identity(host_))
{
    if (!host_.has_clock_and_timers())
        throw PluginError(OM_ERR_NOT_SUPPORTED, "delivery-quic needs the host's clock and timers");
}

DeliveryInstance::~DeliveryInstance()
{
    for (Box* b : boxes_) {
        if (b->timer_id) host_.timer_cancel(b->timer_id);
        delete b;
    }
}

DeliveryInstance::Box& DeliveryInstance::box(void* session)
{
    auto* b = static_cast<Box*>(session);
    if (b == nullptr || !boxes_.count(b)) throw PluginError(OM_ERR_INVALID_ARGUMENT, "unknown delivery session");
    return *b;
}

int32_t DeliveryInstance::session_open(const om_delivery_session_args* args, void** out_session)
{
    if (out_session == nullptr || args == nullptr)
        throw PluginError(OM_ERR_INVALID_ARGUMENT, "session_open needs args and out_session");
    *out_session = nullptr;
    if (args->struct_size < offsetof(om_delivery_session_args, session_event) + sizeof(args->session_event))
        throw PluginError(OM_ERR_NOT_SUPPORTED, "delivery-quic needs ABI 1.2 session args (roles, paths, the "
                                                "peer's fingerprint); struct_size " +
                                                    std::to_string(args->struct_size) + " is older");
    auto b = std::make_unique<Box>();
    b->owner = this;
    b->args = *args;
    om_delivery_session_args session_args = *args;
    if (!session_args.send_packets) {
        session_args.send_packets = &Box::send_frames;
        session_args.io_user_data = b.get();
        // deliver_message and session_event keep the kernel's user data through a second hop
        // only when send_packets is missing, which a 1.2 kernel never does.
    }
    try {
        b->session = std::make_unique<QuicSession>(session_args, identity_, settings_, host_.now_us());
    } catch (const std::invalid_argument& error) {
        throw PluginError(OM_ERR_INVALID_ARGUMENT, error.what());
    } catch (const std::runtime_error& error) {
        throw PluginError(OM_ERR_PLUGIN, error.what());
    }
    Box* raw = b.release();
    boxes_.insert(raw);
    ++sessions_opened_;
    reschedule(*raw);
    *out_session = raw;
    return OM_OK;
}

void DeliveryInstance::session_close(void* session) noexcept
{
    auto* b = static_cast<Box*>(session);
    if (b == nullptr || !boxes_.erase(b)) return;
    if (b->timer_id) host_.timer_cancel(b->timer_id);
    try {
        b->session->close(host_.now_us());
    } catch (...) {
    }
    InstanceCounters c{};
    add_counters(b->session->counters(), c);
    for (const auto& [name, member] : kCounterNames) retired_.*member += c.*member;
    if (b->session->failed() && b->session->failure_status() != OM_ERR_CLOSED && !b->counted_failure)
        ++sessions_failed_;
    delete b;
}

void DeliveryInstance::add_counters(const SessionCounters& c, InstanceCounters& into) const
{
    into.malformed_packets += c.malformed_packets;
    into.packets_after_close += c.packets_after_close;
    into.malformed_streams += c.malformed_streams;
    into.malformed_datagrams += c.malformed_datagrams;
    into.stale_sequenced += c.stale_sequenced;
    into.datagrams_lost += c.datagrams_lost;
    into.datagrams_dropped += c.datagrams_dropped;
    into.send_blocked += c.send_blocked;
}

void DeliveryInstance::publish_counters() noexcept
{
    InstanceCounters current = retired_;
    current.sessions_opened = sessions_opened_;
    current.sessions_failed = sessions_failed_;
    for (Box* b : boxes_) {
        add_counters(b->session->counters(), current);
        if (b->session->failed()) ++current.sessions_failed;
    }
    current.sessions_failed = std::max(current.sessions_failed, published_.sessions_failed);
    plugin::publish_counters(host_, kCounterNames, current, published_);
}

void DeliveryInstance::reschedule(Box& b)
{
    const uint64_t due = b.session->next_wakeup_us();
    const bool for_write = b.session->write_due();
    if (b.timer_id != 0) {
        // An armed timer due no later than needed stays: firing early costs one on_timer that
        // finds little to do, re-arming cost a cancel and an insert on nearly every call
        // (several per packet, as ngtcp2's deadline moves later with each ACK). Not so the one
        // armed for the write after a read once the application's answer made that write: it
        // would fire at once with nothing to write, once per packet of a ping-pong.
        const bool write_done = b.timer_for_write && !for_write;
        if ((due == 0 || b.timer_due_us <= due) && !write_done) return;
        host_.timer_cancel(b.timer_id);
    } else if (due == 0) {
        return;
    }
    b.timer_id = 0;
    b.timer_due_us = due;
    b.timer_for_write = for_write;
    if (due == 0) return;
    const uint64_t now = host_.now_us();
    host_.timer_start(due > now ? due - now : 0, &DeliveryInstance::on_timer, &b, &b.timer_id);
}

void DeliveryInstance::on_timer(void* user_data, uint64_t timer_id)
{
    auto* b = static_cast<Box*>(user_data);
    DeliveryInstance& self = *b->owner;
    if (!self.boxes_.count(b) || b->timer_id != timer_id) return;
    b->timer_id = 0;
    b->timer_due_us = 0;
    b->timer_for_write = false;
    try {
        b->session->on_timer(self.host_.now_us());
        self.reschedule(*b);
    } catch (const std::exception& error) {
        self.host_.log(OM_LOG_ERROR, error.what());
    }
    self.publish_counters();
}

int32_t DeliveryInstance::send_message(void* session, om_delivery_mode mode, uint32_t channel, const uint8_t* data,
                                       size_t len)
{
    Box& b = box(session);
    if (data == nullptr && len > 0) throw PluginError(OM_ERR_INVALID_ARGUMENT, "data is NULL with a length above 0");
    std::string why;
    const int32_t rv = b.session->send_message(mode, channel, {data, len}, host_.now_us(), &why);
    reschedule(b);
    if (rv != OM_OK) host_.set_error(why.c_str());
    return rv;
}

int32_t DeliveryInstance::send_messages(void* session, const om_delivery_message* messages, size_t count,
                                        size_t* accepted)
{
    Box& b = box(session);
    if (accepted) *accepted = 0;
    if (messages == nullptr && count > 0) throw PluginError(OM_ERR_INVALID_ARGUMENT, "messages is NULL with a count above 0");
    std::string why;
    const int32_t rv = b.session->send_messages({messages, count}, host_.now_us(), accepted, &why);
    reschedule(b);
    if (rv != OM_OK) host_.set_error(why.c_str());
    return rv;
}

int32_t DeliveryInstance::on_packet(void* session, uint32_t path_id, const uint8_t* data, size_t len)
{
    Box& b = box(session);
    if (data == nullptr || len == 0) throw PluginError(OM_ERR_INVALID_ARGUMENT, "empty packet");
    const int32_t rv = b.session->on_packet(path_id, {data, len}, host_.now_us());
    if (boxes_.count(&b)) reschedule(b);
    if (rv == OM_ERR_MALFORMED) host_.set_error("not a QUIC packet this session can read");
    if (rv == OM_ERR_CLOSED) host_.set_error("the session is over");
    return rv;
}

int32_t DeliveryInstance::path_changed(void* session, const om_delivery_path* path)
{
    Box& b = box(session);
    if (path == nullptr) throw PluginError(OM_ERR_INVALID_ARGUMENT, "path is NULL");
    std::string why;
    const int32_t rv = b.session->path_changed(*path, host_.now_us(), &why);
    reschedule(b);
    if (rv != OM_OK) host_.set_error(why.c_str());
    return rv;
}

int32_t DeliveryInstance::metrics(void* session, om_delivery_metrics* out)
{
    Box& b = box(session);
    if (out == nullptr) throw PluginError(OM_ERR_INVALID_ARGUMENT, "out is NULL");
    om_delivery_metrics full{};
    full.struct_size = sizeof full;
    b.session->metrics(full);
    // Only what the caller's struct_size covers (ABI-RULES R6).
    const size_t size = std::min<size_t>(out->struct_size, sizeof full);
    if (size > sizeof(uint32_t))
        std::memcpy(reinterpret_cast<char*>(out) + sizeof(uint32_t), reinterpret_cast<const char*>(&full) + sizeof(uint32_t),
                    size - sizeof(uint32_t));
    return OM_OK;
}

int32_t DeliveryInstance::local_fingerprint(char* buf, size_t cap) const
{
    if (buf == nullptr) throw PluginError(OM_ERR_INVALID_ARGUMENT, "buf is NULL");
    const std::string& fp = identity_.fingerprint();
    if (cap < fp.size() + 1)
        throw PluginError(OM_ERR_BUFFER_TOO_SMALL, "the fingerprint needs " + std::to_string(fp.size() + 1) + " bytes");
    std::memcpy(buf, fp.c_str(), fp.size() + 1);
    return OM_OK;
}

int32_t DeliveryInstance::send(void* session, om_delivery_mode mode, const uint8_t* data, size_t len)
{
    return send_message(session, mode, 0, data, len);
}

int32_t DeliveryInstance::on_frame(void* session, const uint8_t* frame, size_t len)
{
    Box& b = box(session);
    return on_packet(session, b.session->current_path_id(), frame, len);
}

}  // namespace om::quic
