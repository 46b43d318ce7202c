#include "stun_test_client.hpp"

#include "proto/address.h"
#include "proto/socket_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <random>
#include <stdexcept>

namespace om::test {
namespace {

namespace stun = proto::stun;

// Both socket families of the tests: an IPv6 socket for IPv6, IPv4 otherwise.
proto::SocketAddress socket_address_of(const om_address& a) {
    proto::SocketAddress out;
    proto::to_socket_address(a, a.family == 6 ? AF_INET6 : AF_INET, out);
    return out;
}

} // namespace

std::optional<om_address> StunAnswer::address(uint16_t type) const {
    const stun::Attribute* a = message.find(type);
    if (!a) return std::nullopt;
    if (type == stun::attr::XorMappedAddress) return stun::read_xor_address(*a, message);
    return stun::read_address(*a);
}

std::optional<uint16_t> StunAnswer::error_code() const {
    const stun::Attribute* a = message.find(stun::attr::ErrorCode);
    if (!a) return std::nullopt;
    auto value = stun::read_error_code(*a);
    if (!value) return std::nullopt;
    return value->code;
}

std::vector<uint16_t> StunAnswer::unknown_attributes() const {
    const stun::Attribute* a = message.find(stun::attr::UnknownAttributes);
    if (!a) return {};
    return stun::read_unknown_attributes(*a).value_or(std::vector<uint16_t>{});
}

StunTestClient::StunTestClient(const std::string& ip) {
    om_address want{};
    if (!proto::parse_address(ip, 0, want)) throw std::runtime_error("bad ip " + ip);
    fd_ = ::socket(want.family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const proto::SocketAddress sa = socket_address_of(want);
    if (fd_ < 0 || ::bind(fd_, sa.get(), sa.length) != 0)
        throw std::runtime_error("cannot bind a UDP socket on " + ip);
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &len);
    local_ = proto::from_socket_address(bound);
}

StunTestClient::StunTestClient(int fd) : fd_(fd) {
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &len);
    local_ = proto::from_socket_address(bound);
}

StunTestClient::~StunTestClient() {
    if (fd_ >= 0) ::close(fd_);
}

void StunTestClient::send(const std::vector<uint8_t>& bytes, const om_address& to) const {
    const proto::SocketAddress sa = socket_address_of(to);
    if (::sendto(fd_, bytes.data(), bytes.size(), 0, sa.get(), sa.length) < 0)
        throw std::runtime_error("sendto failed");
}

void StunTestClient::send_to_port(const std::vector<uint8_t>& bytes, uint16_t port) const {
    om_address to = local_;
    to.port = port;
    send(bytes, to);
}

std::optional<StunAnswer> StunTestClient::receive(std::chrono::milliseconds wait) const {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) <= 0) return std::nullopt;
    StunAnswer answer;
    answer.bytes.resize(65536);
    sockaddr_storage from{};
    socklen_t len = sizeof from;
    ssize_t n = ::recvfrom(fd_, answer.bytes.data(), answer.bytes.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) return std::nullopt;
    answer.bytes.resize(static_cast<size_t>(n));
    answer.from = proto::from_socket_address(from);
    stun::ParseOptions options;
    options.allow_classic = true;
    std::string why;
    if (!stun::parse(answer.bytes, answer.message, &why, options))
        throw std::runtime_error("the server sent a message our codec rejects: " + why);
    return answer;
}

std::vector<uint8_t> binding_request(const RequestSpec& spec, stun::TransactionId* id_out) {
    stun::TransactionId id = stun::random_transaction_id();
    if (id_out) *id_out = id;
    std::vector<uint8_t> buffer(spec.padding + 512);
    stun::Builder b = spec.classic ? stun::Builder::classic(buffer, spec.method, spec.cls, 0x01020304, id)
                                   : stun::Builder(buffer, spec.method, spec.cls, id);
    if (spec.change_flags) b.add_u32(stun::attr::ChangeRequest, *spec.change_flags);
    if (spec.response_port) b.add_response_port(*spec.response_port);
    for (uint16_t type : spec.unknown_required) {
        const uint8_t zeros[4] = {};
        b.add_bytes(type, zeros);
    }
    if (spec.padding) b.add_padding(spec.padding);
    if (spec.fingerprint) b.add_fingerprint();
    size_t size = b.finish();
    if (size == 0) throw std::runtime_error("cannot build the request");
    buffer.resize(size);
    return buffer;
}

} // namespace om::test
