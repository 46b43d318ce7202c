#include "turn_client_instance.h"

#include "proto/address.h"

#include <orbitmesh_plugin_support/counters.h>
#include <orbitmesh_plugin_support/struct_size.h>
#include <orbitmesh_plugin_support/plugin_error.h>
#include <orbitmesh_plugin_support/setting_text.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <string>

namespace om::turnclient {

using plugin::PluginError;

namespace {

using plugin::covers;

constexpr plugin::CounterName<Counters> kCounterNames[] = {
    {"requests", &Counters::requests},
    {"retransmits", &Counters::retransmits},
    {"responses", &Counters::responses},
    {"error_responses", &Counters::error_responses},
    {"auth_challenges", &Counters::auth_challenges},
    {"stale_nonces", &Counters::stale_nonces},
    {"refreshes", &Counters::refreshes},
    {"permissions", &Counters::permissions},
    {"channels_bound", &Counters::channels_bound},
    {"send_indications", &Counters::send_indications},
    {"data_indications", &Counters::data_indications},
    {"channel_data_out", &Counters::channel_data_out},
    {"channel_data_in", &Counters::channel_data_in},
    {"bytes_out", &Counters::bytes_out},
    {"bytes_in", &Counters::bytes_in},
    {"queued", &Counters::queued},
    {"dropped_queue_full", &Counters::dropped_queue_full},
    {"dropped_no_allocation", &Counters::dropped_no_allocation},
    {"dropped_peer_limit", &Counters::dropped_peer_limit},
    {"dropped_refused_peer", &Counters::dropped_refused_peer},
    {"malformed", &Counters::malformed},
    {"bad_integrity", &Counters::bad_integrity},
    {"unknown_channel", &Counters::unknown_channel},
    {"unexpected", &Counters::unexpected},
    {"lost", &Counters::lost},
    {"permission_failures", &Counters::permission_failures},
};

template <class Number>
void read_setting(const plugin::HostServices& host, const char* key, Number& out, Number min, Number max)
{
    const char* text = host.config(key);
    if (text == nullptr) return;
    Number value{};
    if (!plugin::parse_setting_number(plugin::trim_setting(text), value) || value < min || value > max)
        throw PluginError(OM_ERR_INVALID_ARGUMENT, std::string("turn-client.") + key + " must be a number from " +
                                                       std::to_string(min) + " to " + std::to_string(max));
    out = value;
}

Settings read_settings(const plugin::HostServices& host)
{
    Settings s;
    read_setting<uint32_t>(host, "rto_ms", s.rto_ms, 10, 10000);
    read_setting<uint32_t>(host, "lifetime_s", s.lifetime_s, 60, 3600);
    read_setting<uint32_t>(host, "max_peers", s.max_peers, 1, 4096);
    uint32_t channels = s.channels ? 1 : 0;
    read_setting<uint32_t>(host, "channels", channels, 0, 1);
    s.channels = channels == 1;
    return s;
}


}  // namespace

TurnClientInstance::TurnClientInstance(const om_plugin_create_args& args)
    : host_(args.host, args.ctx), settings_(read_settings(host_))
{
    if (const char* text = host_.config("transport")) {
        const std::string_view t = plugin::trim_setting(text);
        if (t == "udp") transport_ = Transport::Udp;
        else if (t == "tcp") transport_ = Transport::Tcp;
        else if (t == "auto") transport_ = Transport::Auto;
        else throw PluginError(OM_ERR_INVALID_ARGUMENT, "turn-client.transport must be udp, tcp or auto");
    }
    read_setting<uint32_t>(host_, "auto_udp_ms", auto_udp_ms_, 100, 60000);
    if (!host_.can_send_datagram()) throw PluginError(OM_ERR_NOT_SUPPORTED, "the host offers no send_datagram");
    if (!host_.has_clock_and_timers()) throw PluginError(OM_ERR_NOT_SUPPORTED, "the host offers no clock or timers");
}

TurnClientInstance::~TurnClientInstance()
{
    release();
    if (notify_timer_) host_.timer_cancel(notify_timer_);
}

int32_t TurnClientInstance::allocate(const om_turn_request& request)
{
    if (allocation_ && (allocation_->state() == State::Allocating || allocation_->state() == State::Allocated))
        throw PluginError(OM_ERR_STATE, "an allocation already exists: release it first");
    if (!covers(request, &om_turn_request::sink_user_data))
        throw PluginError(OM_ERR_INVALID_ARGUMENT, "om_turn_request.struct_size is too small");
    if (request.done == nullptr || request.sink == nullptr)
        throw PluginError(OM_ERR_INVALID_ARGUMENT, "om_turn_request.done and .sink are required");
    if (request.timeout_ms <= 0) throw PluginError(OM_ERR_INVALID_ARGUMENT, "om_turn_request.timeout_ms must be positive");
    if (request.server.family != 4 && request.server.family != 6)
        throw PluginError(OM_ERR_INVALID_ARGUMENT, "om_turn_request.server is not an IPv4 or IPv6 address");
    if (request.username == nullptr || request.password == nullptr || !*request.username)
        throw PluginError(OM_ERR_INVALID_ARGUMENT, "TURN needs a username and a password (RFC 8656 §5)");
    request_ = om_turn_request{};
    const size_t copy = std::min<size_t>(request.struct_size, sizeof request_);
    std::memcpy(&request_, &request, copy);
    request_.struct_size = sizeof request_;
    if (!covers(request, &om_turn_request::event_user_data)) {
        request_.on_event = nullptr;
        request_.event_user_data = nullptr;
    }

    // The strings are the kernel's: kept here for a later attempt (TCP after UDP).
    username_ = request.username;
    password_ = request.password;
    deadline_us_ = host_.now_us() + uint64_t(request.timeout_ms) * 1000;
    // "auto": UDP first, TCP when UDP gets no answer in auto_udp_ms (a network that blocks UDP).
    const auto timeout = static_cast<uint32_t>(request.timeout_ms);
    // UDP gets at most half of the budget in "auto": TCP must have time to connect and allocate.
    begin(transport_ == Transport::Tcp,
          transport_ == Transport::Auto ? std::min(timeout / 2 ? timeout / 2 : 1, auto_udp_ms_) : timeout);
    publish_counters();
    return OM_OK;
}

Allocation::Io TurnClientInstance::make_io(bool stream)
{
    Allocation::Io io;
    if (stream) {
        io.send = [this](std::span<const uint8_t> bytes) { return tcp_ ? tcp_->send(bytes) : int32_t{OM_ERR_CLOSED}; };
    } else {
        io.send = [this](std::span<const uint8_t> bytes) {
            const om_datagram datagram{bytes.data(), bytes.size(), request_.server};
            return host_.send_datagram(datagram);
        };
    }
    io.deliver = [this](const om_address& peer, std::span<const uint8_t> payload) {
        const om_datagram datagram{payload.data(), payload.size(), peer};
        request_.sink(request_.sink_user_data, &datagram);
    };
    io.allocated = [this, stream](int32_t status, const om_address* relayed, const std::string& why) {
        if (status == OM_ERR_TIMEOUT && !stream && transport_ == Transport::Auto) {
            // No answer over UDP: TCP next, from a fresh loop turn (this runs inside the
            // allocation that is about to be replaced).
            host_.log(OM_LOG_INFO, "no answer from the TURN server over UDP: trying TCP");
            notify([this] {
                const uint64_t now = host_.now_us();
                begin(true, static_cast<uint32_t>(deadline_us_ > now ? (deadline_us_ - now) / 1000 : 1));
            });
            return;
        }
        std::optional<om_address> address;
        if (relayed) address = *relayed;
        if (status != OM_OK) host_.log(OM_LOG_WARNING, why.c_str());
        notify([this, status, address, why] {
            // done carries no text: the reason is the instance's error, which the kernel reads.
            if (status != OM_OK) host_.set_error(why.c_str());
            request_.done(request_.done_user_data, status, address ? &*address : nullptr);
        });
    };
    io.event = [this](om_turn_event_type type, int32_t status, const om_address* peer, const std::string& why) {
        host_.log(OM_LOG_WARNING, why.c_str());
        if (!request_.on_event) return;
        std::optional<om_address> address;
        if (peer) address = *peer;
        notify([this, type, status, address, why] {
            request_.on_event(request_.event_user_data, type, status, address ? &*address : nullptr, why.c_str());
        });
    };
    return io;
}

void TurnClientInstance::begin(bool stream, uint32_t timeout_ms)
{
    stream_ = stream;
    Settings settings = settings_;
    settings.stream = stream;
    if (stream) settings.max_transmissions = 1;  // RFC 8489 §6.2.2: TCP is reliable, no retransmission
    if (allocation_) publish_counters();  // what the attempt before counted
    published_ = Counters{};                // the new allocation counts from zero
    allocation_.emplace(username_, password_, settings, make_io(stream));
    if (!stream) {
        tcp_.reset();
        allocation_->start(host_.now_us(), timeout_ms);
        schedule();
        return;
    }
    // The connection first; the Allocate goes once it is up (tcp_wake).
    tcp_allocation_started_ = false;
    tcp_ = std::make_unique<TcpLink>(request_.server, timeout_ms, [this] { host_.post(&TurnClientInstance::on_tcp_wake, this); });
    tcp_->start();
    tcp_wake();  // a socket that failed at once says so now
}

void TurnClientInstance::on_tcp_wake(void* user_data) noexcept
{
    // The kernel drops posted tasks of a destroyed instance: user_data is still this one.
    auto& self = *static_cast<TurnClientInstance*>(user_data);
    try {
        self.tcp_wake();
    } catch (const std::exception& error) {
        self.host_.log(OM_LOG_ERROR, error.what());
    }
    self.publish_counters();
}

void TurnClientInstance::tcp_wake()
{
    if (!tcp_ || !allocation_) return;
    std::vector<std::vector<uint8_t>> frames;
    std::string why;
    const TcpLink::State state = tcp_->take(frames, why);
    const uint64_t now = host_.now_us();
    if (state == TcpLink::State::Connected && !tcp_allocation_started_) {
        tcp_allocation_started_ = true;
        allocation_->start(now, static_cast<uint32_t>(deadline_us_ > now ? (deadline_us_ - now) / 1000 : 1));
    }
    for (const auto& frame : frames) allocation_->on_datagram(frame, now);
    if (state == TcpLink::State::Failed && !tcp_allocation_started_) {
        // Never connected: the allocation fails with the reason.
        tcp_allocation_started_ = true;
        allocation_->start(now, 1);  // so that it can fail like any attempt
        allocation_->connection_lost(OM_ERR_UNREACHABLE, why);
    } else if (state == TcpLink::State::Closed || state == TcpLink::State::Failed) {
        allocation_->connection_lost(OM_ERR_CLOSED, why);
    }
    schedule();
}

int32_t TurnClientInstance::create_permission(const om_address& peer)
{
    if (!allocation_) throw PluginError(OM_ERR_STATE, "no allocation");
    const int32_t status = allocation_->permit(peer, host_.now_us());
    schedule();
    publish_counters();
    if (status != OM_OK) host_.set_error("the permission was refused (no allocation, or the peer limit is reached)");
    return status;
}

int32_t TurnClientInstance::send(const om_datagram& datagram)
{
    if (!allocation_) return OM_ERR_STATE;
    const int32_t status = allocation_->send(datagram.peer, {datagram.data, datagram.len}, host_.now_us());
    schedule();
    return status;
}

int32_t TurnClientInstance::on_datagram(const om_datagram& datagram)
{
    if (!allocation_ || stream_ || (datagram.data == nullptr && datagram.len != 0)) return 0;
    if (!proto::same_address(datagram.peer, request_.server)) return 0;  // RFC 9443: by source first
    const bool consumed = allocation_->on_datagram({datagram.data, datagram.len}, host_.now_us());
    schedule();
    return consumed ? 1 : 0;
}

void TurnClientInstance::release() noexcept
{
    if (step_timer_) host_.timer_cancel(step_timer_);
    step_timer_ = 0;
    // Nothing of a released allocation reaches the kernel any more (its done and events).
    if (notify_timer_) host_.timer_cancel(notify_timer_);
    notify_timer_ = 0;
    notifications_.clear();
    if (!allocation_) return;
    allocation_->release(host_.now_us());  // over TCP too: the Deallocate leaves before the close
    tcp_.reset();
    publish_counters();
}

int32_t TurnClientInstance::reflexive_address(om_address& out) const
{
    if (!allocation_ || allocation_->state() != State::Allocated || !allocation_->reflexive()) return OM_ERR_NOT_FOUND;
    out = *allocation_->reflexive();
    return OM_OK;
}

void TurnClientInstance::publish_counters() noexcept
{
    if (allocation_) plugin::publish_counters(host_, kCounterNames, allocation_->counters(), published_);
}

void TurnClientInstance::schedule()
{
    if (!allocation_) return;
    const uint64_t due = allocation_->next_wakeup_us();
    if (step_timer_ != 0 && step_due_us_ == due) return;
    if (step_timer_ != 0) host_.timer_cancel(step_timer_);
    step_timer_ = 0;
    if (!due) return;
    const uint64_t now = host_.now_us();
    if (host_.timer_start(due > now ? due - now : 0, on_step_timer, this, &step_timer_) != OM_OK) {
        step_timer_ = 0;
        throw PluginError(OM_ERR_INTERNAL, "starting a timer failed");
    }
    step_due_us_ = due;
}

void TurnClientInstance::notify(std::function<void()> call)
{
    notifications_.push_back(std::move(call));
    if (notify_timer_ == 0 && host_.timer_start(0, on_notify_timer, this, &notify_timer_) != OM_OK) notify_timer_ = 0;
}

void TurnClientInstance::on_step_timer(void* user_data, uint64_t timer_id) noexcept
{
    auto& self = *static_cast<TurnClientInstance*>(user_data);
    if (timer_id != self.step_timer_ || !self.allocation_) return;
    self.step_timer_ = 0;
    try {
        self.allocation_->tick(self.host_.now_us());
        self.schedule();
    } catch (const std::exception& error) {
        self.host_.log(OM_LOG_ERROR, error.what());
    }
    self.publish_counters();
}

void TurnClientInstance::on_notify_timer(void* user_data, uint64_t timer_id) noexcept
{
    auto& self = *static_cast<TurnClientInstance*>(user_data);
    if (timer_id != self.notify_timer_) return;
    self.notify_timer_ = 0;
    std::deque<std::function<void()>> calls;
    calls.swap(self.notifications_);
    for (auto& call : calls) {
        try {
            call();
        } catch (...) {
            self.host_.log(OM_LOG_ERROR, "a TURN callback threw");
        }
    }
}

}  // namespace om::turnclient
