#include "udp_transport.h"

#include "mtu_probe.h"

#include <orbitmesh_plugin_support/counters.h>
#include <orbitmesh_plugin_support/plugin_error.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <utility>

namespace om::udp {

using plugin::describe_errno;
using plugin::PluginError;
using plugin::status_for_errno;

namespace {

// Before open, report what an Ethernet path carries over IPv4.
constexpr uint32_t kUnopenedMtu = 1472;

constexpr plugin::CounterName<UdpCounters> kCounterNames[] = {
    {"datagrams_sent", &UdpCounters::datagrams_sent},
    {"datagrams_received", &UdpCounters::datagrams_received},
    {"bytes_sent", &UdpCounters::bytes_sent},
    {"bytes_received", &UdpCounters::bytes_received},
    {"send_errors", &UdpCounters::send_errors},
    {"recv_errors", &UdpCounters::recv_errors},
    {"icmp_refused", &UdpCounters::icmp_refused},
    {"truncated", &UdpCounters::truncated},
    {"batches", &UdpCounters::batches},
    {"gso_sends", &UdpCounters::gso_sends},
    {"gso_segments", &UdpCounters::gso_segments},
    {"gro_segments", &UdpCounters::gro_segments},
    {"gso_disabled", &UdpCounters::gso_disabled},
};

bool is_would_block(int error) { return error == EAGAIN || error == EWOULDBLOCK; }

}  // namespace

UdpTransport::UdpTransport(const om_transport_create_args& args)
    : host_(args.base.host, args.base.ctx),
      sink_(args.sink),
      sink_user_data_(args.sink_user_data),
      options_(read_options(host_)),
      mtu_(kUnopenedMtu)
{
}

void UdpTransport::open(const char* bind_address)
{
    if (socket_.is_open()) throw PluginError(OM_ERR_STATE, "already open on " + bound_text_);
    const std::string text = bind_address ? bind_address : "";
    om_address parsed{};
    if (text.empty() || !host_.parse_address(text.c_str(), parsed))
        throw PluginError(OM_ERR_INVALID_ARGUMENT,
                          "cannot parse bind address '" + text + "' (expected ip:port or [v6]:port)");
    proto::SocketAddress bind_to;
    const int family = parsed.family == 6 ? AF_INET6 : AF_INET;
    if (!proto::to_socket_address(parsed, family, bind_to))
        throw PluginError(OM_ERR_INVALID_ARGUMENT, "unusable bind address '" + text + "'");

    socket_.open(bind_to, text, options_.buffers);
    try {
        const proto::SocketAddress bound = socket_.local_address();
        bound_text_ = host_.format_address(proto::from_socket_address(bound.storage));
        mtu_ = probe_payload_mtu(bound, socket_.fd());
    } catch (...) {
        socket_.close();
        throw;
    }
    // Per socket: a kernel that refused GSO on the last socket may take it on this one.
    const bool gso = options_.gso && socket_.supports_gso();
    if (options_.gso && !gso) ++counters_.gso_disabled;
    sender_.set_gso(gso);
    receiver_.set_gro(options_.gro && socket_.enable_gro());
}

void UdpTransport::close() noexcept
{
    socket_.close();
    mtu_ = kUnopenedMtu;
}

om_address UdpTransport::local_address() const
{
    return proto::from_socket_address(socket_.local_address().storage);
}

void UdpTransport::set_socket_buffers(const SocketBuffers& wanted) noexcept
{
    if (wanted.receive != 0) options_.buffers.receive = wanted.receive;
    if (wanted.send != 0) options_.buffers.send = wanted.send;
    socket_.request_buffers(wanted);
}

void UdpTransport::send(const om_datagram* batch, size_t count, size_t& sent)
{
    sent = 0;
    if (!socket_.is_open()) throw PluginError(OM_ERR_CLOSED, "not open");
    // GSO segments no larger than the measured MTU: a larger segment fails the whole message
    // (EINVAL) where a single datagram would still be fragmented and sent.
    const SendOutcome outcome = sender_.send(socket_.fd(), socket_.family(), batch, count, mtu_);
    sent = outcome.sent;
    counters_.datagrams_sent += outcome.sent;
    counters_.gso_sends += outcome.gso_messages;
    counters_.gso_segments += outcome.gso_segments;
    if (outcome.gso_refused) ++counters_.gso_disabled;
    for (size_t i = 0; i < outcome.sent; ++i) counters_.bytes_sent += batch[i].len;
    if (outcome.error == 0 || is_would_block(outcome.error)) return;  // a full buffer is no error
    fail_send(outcome, batch[outcome.sent]);
}

void UdpTransport::fail_send(const SendOutcome& outcome, const om_datagram& datagram)
{
    ++counters_.send_errors;
    const std::string peer = host_.format_address(datagram.peer);
    if (outcome.error == EAFNOSUPPORT)
        throw PluginError(OM_ERR_INVALID_ARGUMENT, "a socket bound to " + bound_text_ + " cannot reach " + peer);
    throw PluginError(status_for_errno(outcome.error),
                      describe_errno(std::string(outcome.call) + " to " + peer, outcome.error));
}

size_t UdpTransport::deliver(size_t slot)
{
    if (receiver_.truncated(slot)) {
        ++counters_.truncated;
        return 0;
    }
    const uint8_t* data = receiver_.data(slot);
    const size_t length = receiver_.length(slot);
    // After a GRO read the slot holds segment-size datagrams, the last one possibly shorter.
    const size_t segment = receiver_.segment_size(slot);
    const om_address source = proto::from_socket_address(receiver_.source(slot));
    size_t count = 0;
    size_t offset = 0;
    do {
        const size_t part = segment == 0 ? 0 : std::min(segment, length - offset);
        ++count;
        ++counters_.datagrams_received;
        counters_.bytes_received += part;
        if (sink_ != nullptr) {
            const om_datagram datagram{data + offset, part, source};
            sink_(sink_user_data_, &datagram);
        }
        offset += part;
    } while (offset < length);
    if (count > 1) counters_.gro_segments += count;
    return count;
}

size_t UdpTransport::drain(size_t max)
{
    if (!socket_.is_open()) throw PluginError(OM_ERR_CLOSED, "not open");
    size_t delivered = 0;
    size_t reads = 0;  // datagrams read, truncated ones included
    // Each ECONNREFUSED consumes one pending ICMP report; a bound keeps a flood from looping here.
    size_t refusals_left = kMaxBatch;
    while (reads < max && socket_.is_open()) {  // the sink may close the transport
        // Messages, not datagrams: a GRO read may carry more than one, so the last read of a
        // drain can pass max by what its coalesced messages hold.
        const size_t wanted = std::min(max - reads, kMaxBatch);
        const ReceiveOutcome outcome = receiver_.receive(socket_.fd(), wanted);
        if (outcome.error != 0) {
            if (is_would_block(outcome.error)) break;
            if (outcome.error == ECONNREFUSED) {
                ++counters_.icmp_refused;
                if (--refusals_left == 0) break;
                continue;
            }
            ++counters_.recv_errors;
            if (delivered > 0) break;  // report what arrived; a lasting error shows next time
            throw PluginError(status_for_errno(outcome.error),
                              describe_errno("recvmmsg on " + bound_text_, outcome.error));
        }
        ++counters_.batches;
        for (size_t slot = 0; slot < outcome.count; ++slot) {
            const size_t count = deliver(slot);
            delivered += count;
            reads += std::max<size_t>(count, 1);
        }
        if (outcome.count < wanted) break;  // the socket is empty: skip the EAGAIN round trip
    }
    return delivered;
}

void UdpTransport::publish_counters() noexcept
{
    plugin::publish_counters(host_, kCounterNames, counters_, published_);
}

}  // namespace om::udp
