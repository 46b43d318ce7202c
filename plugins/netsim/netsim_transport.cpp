#include "netsim_transport.h"

#include <orbitmesh_plugin_support/counters.h>
#include <orbitmesh_plugin_support/plugin_error.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace om::netsim {

using plugin::HostServices;
using plugin::PluginError;

namespace {

// How long a datagram the inner transport could not take (full socket buffer) waits to retry.
constexpr uint64_t kRetryAfterUs = 1000;
// The receive direction runs its own model (a full-duplex link); its seed is derived so that one
// configured seed still fixes everything.
constexpr uint64_t kRecvSeedMix = 0x9E3779B97F4A7C15ull;

constexpr plugin::CounterName<NetsimCounters> kCounterNames[] = {
    {"passed", &NetsimCounters::passed},
    {"dropped_loss", &NetsimCounters::dropped_loss},
    {"dropped_queue", &NetsimCounters::dropped_queue},
    {"duplicated", &NetsimCounters::duplicated},
    {"reordered", &NetsimCounters::reordered},
    {"delayed", &NetsimCounters::delayed},
    {"rate_limited", &NetsimCounters::rate_limited},
};

Settings read_settings(const HostServices& host)
{
    try {
        return parse_settings([&](const char* key) { return host.config(key); });
    } catch (const SettingsError& error) {
        throw PluginError(OM_ERR_INVALID_ARGUMENT, error.what());
    }
}

ModelSettings recv_settings(ModelSettings settings)
{
    settings.seed ^= kRecvSeedMix;
    return settings;
}

const om_transport_ref& require_inner(const om_transport_create_args& args)
{
    const om_transport_vtbl* vtbl = args.inner.vtbl;
    if (vtbl == nullptr || args.inner.instance == nullptr)
        throw PluginError(OM_ERR_INVALID_ARGUMENT,
                          "a decorator needs a transport to wrap: stack it as \"netsim:udp\"");
    if (!vtbl->open || !vtbl->close || !vtbl->send || !vtbl->poll_fd || !vtbl->drain || !vtbl->local_address)
        throw PluginError(OM_ERR_INVALID_ARGUMENT, "the wrapped transport lacks a required function");
    return args.inner;
}

bool inner_has_mtu(const om_transport_vtbl& vtbl)
{
    return vtbl.struct_size >= offsetof(om_transport_vtbl, mtu) + sizeof vtbl.mtu && vtbl.mtu != nullptr;
}

}  // namespace

NetsimTransport::NetsimTransport(const om_transport_create_args& args)
    : host_(args.base.host, args.base.ctx),
      sink_(args.sink),
      sink_user_data_(args.sink_user_data),
      inner_(require_inner(args)),
      settings_(read_settings(host_)),
      send_model_(settings_.model),
      recv_model_(recv_settings(settings_.model))
{
    if (!host_.has_clock_and_timers())
        throw PluginError(OM_ERR_NOT_SUPPORTED, "the host offers no clock or timers");
}

NetsimTransport::~NetsimTransport() { cancel_timer(); }

// ----------------------------------------------------------------------------------------------
// Forwarded

int32_t NetsimTransport::forwarded(const char* operation, int32_t status) const noexcept
{
    // The inner transport's own message went to its host context, which the caller of this
    // (outer) layer does not read: at least say which layer failed.
    if (status != OM_OK) host_.set_error((std::string("the wrapped transport's ") + operation + " failed").c_str());
    return status;
}

int32_t NetsimTransport::open(const char* bind_address)
{
    return forwarded("open", inner_.vtbl->open(inner_.instance, bind_address));
}

void NetsimTransport::close() noexcept
{
    cancel_timer();
    pending_.clear();  // held datagrams die with the link
    inner_.vtbl->close(inner_.instance);
}

int32_t NetsimTransport::poll_fd() const noexcept { return inner_.vtbl->poll_fd(inner_.instance); }

int32_t NetsimTransport::drain(size_t max, size_t* out_count)
{
    return forwarded("drain", inner_.vtbl->drain(inner_.instance, max, out_count));
}

int32_t NetsimTransport::local_address(om_address* out)
{
    return forwarded("local_address", inner_.vtbl->local_address(inner_.instance, out));
}

uint32_t NetsimTransport::mtu() const noexcept
{
    // Without an inner answer netsim adds no limit of its own; the kernel applies max_mtu.
    if (!inner_has_mtu(*inner_.vtbl)) return std::numeric_limits<uint32_t>::max();
    return inner_.vtbl->mtu(inner_.instance);
}

// ----------------------------------------------------------------------------------------------
// Simulated

template <class ForwardNow>
void NetsimTransport::admit(Path path, Model& model, const om_datagram& datagram, uint64_t now_us,
                            const ForwardNow& forward_now)
{
    const Decision decision = model.decide(now_us, datagram.len);
    if (decision.fate == Fate::lost) {
        ++counters_.dropped_loss;
        return;
    }
    if (decision.fate == Fate::queue_full) {
        ++counters_.dropped_queue;
        return;
    }
    counters_.duplicated += decision.duplicated;
    counters_.reordered += decision.reordered;
    counters_.delayed += decision.delayed;
    counters_.rate_limited += decision.rate_limited;
    for (uint32_t copy = 0; copy < decision.copies; ++copy) {
        if (decision.release_us[copy] <= now_us)
            forward_now(datagram);
        else
            pending_.push(decision.release_us[copy], path, datagram);
    }
}

int32_t NetsimTransport::send(const om_datagram* batch, size_t count, size_t* out_sent)
{
    if (!simulates_send(settings_.direction))
        return forwarded("send", inner_.vtbl->send(inner_.instance, batch, count, out_sent));
    const uint64_t now_us = host_.now_us();
    std::vector<om_datagram> ready;      // copies that leave now, borrowed from batch
    std::vector<size_t> ready_origin;    // index in batch of each
    ready.reserve(count);
    ready_origin.reserve(count);
    for (size_t i = 0; i < count; ++i) {
        admit(Path::outbound, send_model_, batch[i], now_us, [&](const om_datagram& copy) {
            ready.push_back(copy);
            ready_origin.push_back(i);
        });
    }
    size_t failed_at = 0;
    const int32_t status = send_inner(ready, now_us, failed_at);
    arm_timer();
    // The caller sees a failure at the datagram that failed; the ones the model lost or delayed
    // count as sent, as they are on the simulated wire.
    *out_sent = status == OM_OK || failed_at >= ready.size() ? count : ready_origin[failed_at];
    return forwarded("send", status);
}

int32_t NetsimTransport::send_inner(std::span<const om_datagram> datagrams, uint64_t now_us, size_t& failed_at)
{
    if (datagrams.empty()) return OM_OK;
    size_t sent = 0;
    const int32_t status = inner_.vtbl->send(inner_.instance, datagrams.data(), datagrams.size(), &sent);
    sent = std::min(sent, datagrams.size());
    counters_.passed += sent;
    if (status != OM_OK) {
        failed_at = sent;
        return status;
    }
    for (const om_datagram& unsent : datagrams.subspan(sent)) {  // the socket buffer was full
        if (pending_.size() >= settings_.model.queue_limit)
            ++counters_.dropped_queue;
        else
            pending_.push(now_us + kRetryAfterUs, Path::outbound, unsent);
    }
    return OM_OK;
}

void NetsimTransport::deliver_inbound(const om_datagram& datagram)
{
    ++counters_.passed;
    if (sink_ != nullptr) sink_(sink_user_data_, &datagram);
}

void NetsimTransport::inner_received(const om_datagram& datagram)
{
    if (!simulates_recv(settings_.direction)) {
        if (sink_ != nullptr) sink_(sink_user_data_, &datagram);
        return;
    }
    const uint64_t now_us = host_.now_us();
    admit(Path::inbound, recv_model_, datagram, now_us, [&](const om_datagram& copy) { deliver_inbound(copy); });
    arm_timer();
}

void NetsimTransport::set_loss(double loss)
{
    try {
        send_model_.set_loss(loss);
        recv_model_.set_loss(loss);
        settings_.model.loss = loss;
    } catch (const std::invalid_argument&) {
        char text[32];
        std::snprintf(text, sizeof text, "%g", loss);
        throw PluginError(OM_ERR_INVALID_ARGUMENT, std::string("set_loss: ") + text + " is outside 0..1");
    }
}

// ----------------------------------------------------------------------------------------------
// Release timer

void NetsimTransport::release_due()
{
    const uint64_t now_us = host_.now_us();
    const std::vector<HeldDatagram> due = pending_.take_due(now_us);  // owns the bytes below
    std::vector<om_datagram> outbound;
    for (const HeldDatagram& held : due) {
        if (held.path == Path::inbound)
            deliver_inbound(held.view());
        else
            outbound.push_back(held.view());
    }
    // Nobody waits for these sends: a datagram the inner transport refuses is logged and
    // dropped, and the rest still go.
    std::span<const om_datagram> rest(outbound);
    while (!rest.empty()) {
        size_t failed_at = 0;
        const int32_t status = send_inner(rest, now_us, failed_at);
        if (status == OM_OK) break;
        log(OM_LOG_WARNING, ("the wrapped transport refused a released datagram (om_status " +
                             std::to_string(status) + "); dropped").c_str());
        if (failed_at >= rest.size()) break;  // an inner transport that failed after sending all
        rest = rest.subspan(failed_at + 1);
    }
}

void NetsimTransport::arm_timer()
{
    if (pending_.empty()) {
        cancel_timer();
        return;
    }
    const uint64_t due_us = pending_.earliest_release_us();
    if (timer_id_ != 0 && timer_due_us_ <= due_us) return;  // already armed early enough
    cancel_timer();
    const uint64_t now_us = host_.now_us();
    uint64_t id = 0;
    const int32_t status = host_.timer_start(due_us > now_us ? due_us - now_us : 0, &NetsimTransport::on_timer, this, &id);
    if (status != OM_OK) throw PluginError(status, "the host refused the release timer");
    timer_id_ = id;
    timer_due_us_ = due_us;
}

void NetsimTransport::cancel_timer() noexcept
{
    if (timer_id_ != 0) host_.timer_cancel(timer_id_);
    timer_id_ = 0;
}

void NetsimTransport::on_timer(void* user_data, uint64_t timer_id)
{
    auto& self = *static_cast<NetsimTransport*>(user_data);
    if (timer_id != self.timer_id_) return;  // a timer replaced by an earlier one
    self.timer_id_ = 0;
    // Re-arm even when a release failed, so the datagrams still held are not stranded.
    self.run_logged([&] { self.release_due(); });
    self.run_logged([&] { self.arm_timer(); });
    self.publish_counters();
}

template <class Work>
void NetsimTransport::run_logged(const Work& work) noexcept
{
    try {
        work();
    } catch (const std::exception& error) {
        log(OM_LOG_ERROR, error.what());
    } catch (...) {
        log(OM_LOG_ERROR, "unknown exception in the release timer");
    }
}

void NetsimTransport::publish_counters() noexcept
{
    plugin::publish_counters(host_, kCounterNames, counters_, published_);
}

}  // namespace om::netsim
