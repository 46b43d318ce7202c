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
    const SendOutcome outcome = sender_.send(socket_.fd(), socket_.family(), batch, count);
    sent = outcome.sent;
    counters_.datagrams_sent += outcome.sent;
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

bool UdpTransport::deliver(size_t slot)
{
    if (receiver_.truncated(slot)) {
        ++counters_.truncated;
        return false;
    }
    const size_t length = receiver_.length(slot);
    ++counters_.datagrams_received;
    counters_.bytes_received += length;
    if (sink_ != nullptr) {
        const om_datagram datagram{receiver_.data(slot), length, proto::from_socket_address(receiver_.source(slot))};
        sink_(sink_user_data_, &datagram);
    }
    return true;
}

size_t UdpTransport::drain(size_t max)
{
    if (!socket_.is_open()) throw PluginError(OM_ERR_CLOSED, "not open");
    size_t delivered = 0;
    size_t reads = 0;
    // Each ECONNREFUSED consumes one pending ICMP report; a bound keeps a flood from looping here.
    size_t refusals_left = kMaxBatch;
    while (reads < max && socket_.is_open()) {  // the sink may close the transport
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
        reads += outcome.count;
        for (size_t slot = 0; slot < outcome.count; ++slot)
            if (deliver(slot)) ++delivered;
        if (outcome.count < wanted) break;  // the socket is empty: skip the EAGAIN round trip
    }
    return delivered;
}

void UdpTransport::publish_counters() noexcept
{
    plugin::publish_counters(host_, kCounterNames, counters_, published_);
}

}  // namespace om::udp
