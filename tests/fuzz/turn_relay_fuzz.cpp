// libFuzzer target for the embedded TURN relay's input path (server/turn/turn_relay.cpp): what
// clients send to the STUN port. The input is a run of records, each [kind][length][bytes]:
//   kind & 3 == 0  a raw datagram from one of four client addresses (kind >> 2 & 3);
//   kind & 3 == 1  an authenticated request built around the bytes: the method from the first
//                  byte (Allocate, Refresh, CreatePermission, ChannelBind, or any), the rest taken
//                  as attribute TLVs, then USERNAME, REALM, a valid NONCE and MESSAGE-INTEGRITY,
//                  so the fuzzer reaches what only an authenticated client can;
//   kind & 3 == 2  ChannelData on a channel from the bytes.
// Invariants: an answer fits the buffer, parses, and answers the request's transaction; the
// relay never holds more allocations than its quota. Peers it relays to are whatever the input
// names: scripts/fuzz and the replay test run it in a network namespace of its own where only
// loopback exists, so nothing leaves the machine.
#include "hub/server_metrics.hpp"
#include "proto/address.h"
#include "proto/stun.h"
#include "proto/turn.h"
#include "turn/turn_relay.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace stun = om::proto::stun;

namespace {

constexpr char kUser[] = "fuzz";
constexpr char kPassword[] = "pass";
constexpr char kRealm[] = "fuzz.test";

[[noreturn]] void broken(const char* what)
{
    std::fprintf(stderr, "turn_relay_fuzz: invariant broken: %s\n", what);
    std::abort();
}

om_address client_address(int index)
{
    om_address a{};
    om::proto::parse_address("127.0.0.1:" + std::to_string(41000 + index), 0, a);
    return a;
}

// The socket answers would be sent from (nobody reads what arrives at the client addresses).
int client_fd()
{
    static const int fd = [] {
        const int s = ::socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
        return s;
    }();
    return fd;
}

size_t deliver(om::server::TurnRelay& relay, int client, std::span<const uint8_t> bytes, std::vector<uint8_t>& out)
{
    const size_t n = relay.on_client(client_fd(), client_address(client), bytes, out);
    if (n > out.size()) broken("answer larger than its buffer");
    if (n == 0) return 0;
    stun::Message answer;
    if (!stun::parse(std::span<const uint8_t>(out.data(), n), answer)) broken("an answer that does not parse");
    stun::Message request;
    if (stun::parse(bytes, request) && request.transaction_id != answer.transaction_id)
        broken("an answer to another transaction");
    return n;
}

// The nonce of a 401 answer for this client (the relay's nonces are bound to the address).
// Transaction ids from a counter: a run is the same every time (IPv6 peers XOR with them).
stun::TransactionId next_id()
{
    static uint32_t counter = 0;
    stun::TransactionId id{};
    ++counter;
    for (int i = 0; i < 4; ++i) id[static_cast<size_t>(i)] = static_cast<uint8_t>(counter >> (8 * i));
    return id;
}

std::string nonce_for(om::server::TurnRelay& relay, int client, std::vector<uint8_t>& out)
{
    std::array<uint8_t, 64> buf{};
    stun::Builder b(buf, stun::method::Allocate, stun::Class::Request, next_id());
    b.add_u32(stun::attr::RequestedTransport, 17u << 24);
    const size_t n = deliver(relay, client, std::span<const uint8_t>(buf.data(), b.finish()), out);
    stun::Message m;
    if (!n || !stun::parse(std::span<const uint8_t>(out.data(), n), m)) return {};
    const auto* nonce = m.find(stun::attr::Nonce);
    auto text = nonce ? stun::read_text(*nonce) : std::nullopt;
    return text ? std::string(*text) : std::string();
}

void authenticated(om::server::TurnRelay& relay, int client, std::span<const uint8_t> bytes, const std::string& nonce,
                   std::vector<uint8_t>& out)
{
    static const uint16_t methods[] = {stun::method::Allocate, stun::method::Refresh, stun::method::CreatePermission,
                                       stun::method::ChannelBind};
    const uint16_t method = bytes.empty() ? stun::method::Allocate
                                          : (bytes[0] < 4 * 60 ? methods[bytes[0] % 4] : uint16_t(bytes[0] & 0x0F));
    std::vector<uint8_t> buf(bytes.size() + 256);
    stun::Builder b(buf, method, stun::Class::Request, next_id());
    // The fuzz bytes as TLVs (framing errors end the list).
    size_t at = 1;
    while (at + 4 <= bytes.size()) {
        const uint16_t type = static_cast<uint16_t>(bytes[at] << 8 | bytes[at + 1]);
        const size_t len = static_cast<size_t>(bytes[at + 2] << 8 | bytes[at + 3]);
        if (at + 4 + len > bytes.size() || type == stun::attr::MessageIntegrity || type == stun::attr::Fingerprint ||
            type == stun::attr::MessageIntegritySha256)
            break;
        b.add_bytes(type, bytes.subspan(at + 4, len));
        at += 4 + len;
    }
    b.add_text(stun::attr::Username, kUser);
    b.add_text(stun::attr::Realm, kRealm);
    b.add_text(stun::attr::Nonce, nonce);
    b.add_message_integrity(stun::long_term_key(kUser, kRealm, kPassword));
    b.add_fingerprint();
    if (b.failed()) return;
    deliver(relay, client, std::span<const uint8_t>(buf.data(), b.finish()), out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    om::server::TurnConfig config;
    config.enabled = true;
    config.realm = kRealm;
    config.users = {{kUser, kPassword}};
    config.allow_loopback_peers = true;
    config.max_allocations = 3;
    config.user_quota = 2;
    config.min_port = 45000;
    config.max_port = 45999;
    om::server::ServerMetrics metrics;
    om_address relay_ip{};
    om::proto::parse_address("127.0.0.1", 0, relay_ip);
    // Not started: no relay thread, so each input is one deterministic run.
    om::server::TurnRelay relay(config, relay_ip, metrics);
    std::vector<uint8_t> out(4096 + 64);
    std::array<std::string, 4> nonces;
    size_t at = 0;
    for (int records = 0; at + 3 <= size && records < 64; ++records) {
        const uint8_t kind = data[at];
        const size_t len = std::min<size_t>(static_cast<size_t>(data[at + 1] << 8 | data[at + 2]), size - at - 3);
        const std::span<const uint8_t> bytes(data + at + 3, len);
        at += 3 + len;
        const int client = (kind >> 2) & 3;
        switch (kind & 3) {
            case 0: deliver(relay, client, bytes, out); break;
            case 1:
                if (nonces[client].empty()) nonces[client] = nonce_for(relay, client, out);
                authenticated(relay, client, bytes, nonces[client], out);
                break;
            case 2: {
                std::vector<uint8_t> frame(bytes.size() + 4);
                const uint16_t channel = static_cast<uint16_t>(0x4000 | (kind >> 4));
                const size_t n = om::proto::turn::write_channel_data(frame, channel, bytes, false, true);
                deliver(relay, client, std::span<const uint8_t>(frame.data(), n), out);
                break;
            }
            default: break;
        }
        if (relay.allocation_count() > config.max_allocations) broken("more allocations than the quota");
    }
    // TURN_FUZZ_DEBUG=1: what the input reached, for whoever writes seeds.
    static const bool debug = std::getenv("TURN_FUZZ_DEBUG") != nullptr;
    if (debug)
        for (const auto& [name, value] : metrics.snapshot()) std::fprintf(stderr, "  %s %llu\n", name.c_str(),
                                                                         static_cast<unsigned long long>(value));
    return 0;
}
