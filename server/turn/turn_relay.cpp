#include "turn/turn_relay.hpp"

#include "core/error.h"
#include "core/log.h"
#include "core/monotonic_clock.h"
#include "proto/random.h"
#include "proto/socket_address.h"
#include "proto/stun_wire.h"
#include "proto/turn.h"
#include "turn/peer_policy.hpp"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

namespace om::server {
namespace {

namespace stun = proto::stun;
namespace turn = proto::turn;

constexpr uint64_t kUsPerS = 1'000'000;
constexpr size_t kPeerBatch = 32;     // datagrams read from one relayed socket per readiness
constexpr size_t kMaxPayload = 65535;

uint64_t now_us() { return monotonic_us(); }

uint64_t unix_s() { return static_cast<uint64_t>(std::time(nullptr)); }

om_address ip_of(om_address a)
{
    a.port = 0;
    return a;
}

// The attribute types the relay understands in requests (others comprehension-required: 420).
constexpr uint16_t kRequestedAddressFamily = 0x0017;  // RFC 8656 §18.1
constexpr uint16_t kEvenPort = 0x0018;                 // RFC 8656 §14.6
constexpr uint16_t kUnderstood[] = {
    stun::attr::ChannelNumber, stun::attr::Lifetime,          stun::attr::XorPeerAddress,
    stun::attr::DataAttr,      stun::attr::RequestedTransport, kRequestedAddressFamily,
    kEvenPort,
};

void send_to(int fd, const om_address& to, const uint8_t* data, size_t len)
{
    proto::SocketAddress sa;
    if (!proto::to_socket_address(to, to.family == 6 ? AF_INET6 : AF_INET, sa)) return;
    ::sendto(fd, data, len, MSG_DONTWAIT, sa.get(), sa.length);
}

} // namespace

TurnRelay::TurnRelay(TurnConfig config, const om_address& relay_ip, ServerMetrics& metrics)
    : config_(std::move(config)), relay_ip_(relay_ip), auth_(config_), metrics_(metrics),
      allocations_gauge_(metrics.counter("turn.allocations")), bytes_relayed_(metrics.counter("turn.bytes_relayed")),
      packets_relayed_(metrics.counter("turn.packets_relayed")),
      dropped_no_permission_(metrics.counter("turn.dropped.no_permission")),
      dropped_bandwidth_(metrics.counter("turn.dropped.bandwidth")),
      dropped_no_allocation_(metrics.counter("turn.dropped.no_allocation")),
      dropped_unknown_channel_(metrics.counter("turn.dropped.unknown_channel")), malformed_(metrics.counter("turn.malformed"))
{
    // Each allocation holds a socket: the quota must leave the process descriptors for
    // signaling, HTTP and STUN.
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
        const uint64_t room = limit.rlim_cur > 1024 ? limit.rlim_cur - 512 : limit.rlim_cur / 2;
        if (config_.max_allocations > room) {
            om::log_message(OM_LOG_WARNING, "turn: --turn-max-allocations " + std::to_string(config_.max_allocations) +
                                                " lowered to " + std::to_string(room) + " (the open-files limit is " +
                                                std::to_string(limit.rlim_cur) + "; raise it with ulimit -n)");
            config_.max_allocations = static_cast<uint32_t>(room);
        }
    }
}

std::string TurnRelay::user_of(std::string_view username)
{
    // A time-limited username "<expiry>:<name>" counts as its name: a new registration (a new
    // expiry) does not open a new quota.
    const auto colon = username.find(':');
    if (colon != std::string_view::npos && proto::turn::rest_expiry(username)) return std::string(username.substr(colon + 1));
    return std::string(username);
}

TurnRelay::~TurnRelay() { stop(); }

void TurnRelay::start()
{
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (epoll_fd_ < 0 || stop_fd_ < 0) om::fail(OM_ERR_IO, std::string("TURN: epoll/eventfd: ") + std::strerror(errno));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = 0;  // 0: the stop event; allocation ids start at 1
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, stop_fd_, &ev);
    thread_ = std::thread([this] { run(); });
}

void TurnRelay::stop()
{
    if (stop_fd_ >= 0) {
        uint64_t one = 1;
        ssize_t written = ::write(stop_fd_, &one, sizeof one);
        (void)written;
    }
    if (thread_.joinable()) thread_.join();
    std::lock_guard<std::mutex> lock(mutex_);
    while (!by_client_.empty()) destroy(by_client_.begin()->second.get());
    while (!by_stream_client_.empty()) destroy(by_stream_client_.begin()->second.get());
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
    if (stop_fd_ >= 0) ::close(stop_fd_);
    epoll_fd_ = stop_fd_ = -1;
}

size_t TurnRelay::allocation_count() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return by_client_.size() + by_stream_client_.size();
}

bool TurnRelay::wants(std::span<const uint8_t> bytes, bool* data)
{
    if (bytes.size() < 4) return false;
    if (bytes[0] >= 0x40 && bytes[0] <= 0x7F) {  // ChannelData (RFC 8656 §12, RFC 5766's numbers too)
        if (data) *data = true;
        return true;
    }
    if (bytes[0] > 3 || bytes.size() < stun::kHeaderSize) return false;
    const uint16_t type = stun::wire::get16(bytes.data());
    const uint16_t method = stun::wire::method_of(type);
    if (method == stun::method::Binding) return false;
    if (data) *data = method == stun::method::Send && stun::wire::class_of(type) == stun::Class::Indication;
    return true;
}

void TurnRelay::refuse(const char* reason)
{
    metrics_.add(std::string("turn.refused.") + reason);
}

TurnRelay::Batch::Batch(TurnRelay& relay) : relay_(relay)
{
    relay_.mutex_.lock();
    relay_.batching_ = true;
}

TurnRelay::Batch::~Batch()
{
    relay_.flush_pending();
    relay_.batching_ = false;
    relay_.mutex_.unlock();
}

void TurnRelay::flush_pending()
{
    // Grouped by relayed socket and peer (stable: each peer gets its datagrams in the order the
    // client sent them); a run of equal-sized datagrams to one peer is one UDP GSO write
    // (UDP_SEGMENT, Linux 4.18), the runs of a socket one sendmmsg.
    std::stable_sort(pending_.begin(), pending_.end(), [](const Pending& x, const Pending& y) {
        if (x.fd != y.fd) return x.fd < y.fd;
        return std::memcmp(&x.to, &y.to, sizeof x.to) < 0;
    });
    constexpr size_t kMaxMessages = 64, kMaxSegments = 64, kMaxGsoBytes = 65000;
    std::array<mmsghdr, kMaxMessages> messages{};
    std::array<proto::SocketAddress, kMaxMessages> to{};
    std::array<std::array<char, CMSG_SPACE(sizeof(uint16_t))>, kMaxMessages> control{};
    std::vector<iovec> iov;
    iov.reserve(pending_.size());
    size_t at = 0;
    while (at < pending_.size()) {
        const int fd = pending_[at].fd;
        size_t count = 0;
        iov.clear();
        std::array<size_t, kMaxMessages> first_iov{};
        while (at < pending_.size() && pending_[at].fd == fd && count < kMaxMessages) {
            // One message: a run to the same peer, of one size (the last may be shorter).
            const Pending& head = pending_[at];
            const size_t segment = head.data.size();
            size_t n = 0, bytes = 0;
            first_iov[count] = iov.size();
            while (at + n < pending_.size() && n < kMaxSegments) {
                const Pending& p = pending_[at + n];
                if (p.fd != fd || !proto::same_address(p.to, head.to) || p.data.size() > segment ||
                    bytes + p.data.size() > kMaxGsoBytes || segment == 0)
                    break;
                iov.push_back({const_cast<uint8_t*>(p.data.data()), p.data.size()});
                bytes += p.data.size();
                ++n;
                if (p.data.size() < segment) break;  // only the last segment may be shorter
            }
            if (n == 0) {  // an empty datagram (or one GSO cannot carry): alone
                iov.push_back({const_cast<uint8_t*>(head.data.data()), head.data.size()});
                n = 1;
            }
            mmsghdr& m = messages[count];
            m = {};
            proto::to_socket_address(head.to, head.to.family == 6 ? AF_INET6 : AF_INET, to[count]);
            m.msg_hdr.msg_name = const_cast<sockaddr*>(to[count].get());
            m.msg_hdr.msg_namelen = to[count].length;
            m.msg_hdr.msg_iovlen = n;
            if (n > 1) {
                m.msg_hdr.msg_control = control[count].data();
                m.msg_hdr.msg_controllen = control[count].size();
                cmsghdr* c = CMSG_FIRSTHDR(&m.msg_hdr);
                c->cmsg_level = SOL_UDP;
                c->cmsg_type = UDP_SEGMENT;
                c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
                const auto size16 = static_cast<uint16_t>(segment);
                std::memcpy(CMSG_DATA(c), &size16, sizeof size16);
            }
            at += n;
            ++count;
        }
        for (size_t i = 0; i < count; ++i) messages[i].msg_hdr.msg_iov = &iov[first_iov[i]];
        size_t sent = 0;
        while (sent < count) {  // a full socket buffer ends the run: what did not fit is lost, as UDP is
            const int r = ::sendmmsg(fd, messages.data() + sent, static_cast<unsigned>(count - sent), MSG_DONTWAIT);
            if (r <= 0) break;
            sent += static_cast<size_t>(r);
        }
        if (sent < count) metrics_.add("turn.dropped.send_failed", count - sent);
    }
    pending_.clear();
}

size_t TurnRelay::on_client(int fd, const om_address& client, std::span<const uint8_t> bytes, std::span<uint8_t> out)
{
    std::unique_lock<std::mutex> lock(mutex_, std::defer_lock);
    if (!batching_) lock.lock();  // a Batch holds it already
    stream_ = false;
    return handle(fd, client, bytes, out);
}

size_t TurnRelay::on_stream_client(int fd, const om_address& client, std::span<const uint8_t> frame, std::span<uint8_t> out)
{
    std::lock_guard<std::mutex> lock(mutex_);
    stream_ = true;
    const size_t n = handle(fd, client, frame, out);
    stream_ = false;
    return n;
}

bool TurnRelay::has_stream_client(const om_address& client) const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return by_stream_client_.count(client) != 0;
}

void TurnRelay::client_gone(const om_address& client)
{
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = by_stream_client_.find(client);
    if (it != by_stream_client_.end()) destroy(it->second.get());
}

size_t TurnRelay::handle(int fd, const om_address& client, std::span<const uint8_t> bytes, std::span<uint8_t> out)
{
    if (!bytes.empty() && bytes[0] >= 0x40 && bytes[0] <= 0x7F) {
        channel_data(client, bytes);
        return 0;
    }
    stun::Message m;
    if (!stun::parse(bytes, m)) {
        malformed_.fetch_add(1, std::memory_order_relaxed);
        return 0;
    }
    if (m.cls == stun::Class::Indication) {
        if (m.method == stun::method::Send) send_indication(m, client);
        else metrics_.add("turn.unsupported");
        return 0;
    }
    if (m.cls != stun::Class::Request) {
        metrics_.add("turn.unsupported");
        return 0;
    }
    metrics_.add("turn.requests");
    // RFC 8489 §6.3.1: comprehension-required attributes this relay does not know.
    const auto unknown = stun::unknown_required(m, kUnderstood);
    if (!unknown.empty()) {
        refuse("unknown_attribute");
        return error(m, out, 420, "Unknown Attribute", client, {}, false, unknown);
    }
    switch (m.method) {
        case stun::method::Allocate: return allocate(m, fd, client, out);
        case stun::method::Refresh: return refresh(m, client, out);
        case stun::method::CreatePermission: return create_permission(m, client, out);
        case stun::method::ChannelBind: return channel_bind(m, client, out);
        default:
            metrics_.add("turn.unsupported");
            return error(m, out, 400, "Bad Request", client);
    }
}

size_t TurnRelay::error(const stun::Message& m, std::span<uint8_t> out, uint16_t code, const char* reason,
                        const om_address& client, std::span<const uint8_t> key, bool challenge,
                        std::span<const uint16_t> unknown)
{
    stun::Builder b(out, m.method, stun::Class::ErrorResponse, m.transaction_id);
    b.add_error_code(code, reason);
    if (!unknown.empty()) b.add_unknown_attributes(unknown);
    if (challenge) {
        // §9.2.4: 401 and 438 carry the realm and a fresh nonce.
        b.add_text(stun::attr::Realm, auth_.realm());
        b.add_text(stun::attr::Nonce, auth_.nonce(client, unix_s()));
    }
    if (!key.empty()) b.add_message_integrity(key);
    b.add_fingerprint();
    return b.finish();
}

size_t TurnRelay::authenticate(const stun::Message& m, const om_address& client, std::span<uint8_t> out,
                               std::string& username, std::vector<uint8_t>& key)
{
    if (!m.find(stun::attr::MessageIntegrity)) {
        metrics_.add("turn.challenges");
        return error(m, out, 401, "Unauthorized", client, {}, true);
    }
    const auto* user = m.find(stun::attr::Username);
    const auto* realm = m.find(stun::attr::Realm);
    const auto* nonce = m.find(stun::attr::Nonce);
    auto user_text = user ? stun::read_text(*user) : std::nullopt;
    auto realm_text = realm ? stun::read_text(*realm) : std::nullopt;
    auto nonce_text = nonce ? stun::read_text(*nonce) : std::nullopt;
    if (!user_text || !realm_text || !nonce_text) {
        refuse("bad_request");
        return error(m, out, 400, "Bad Request", client);
    }
    const uint64_t now = unix_s();
    if (*realm_text != auth_.realm() || auth_.check(*nonce_text, client, now) != TurnAuth::NonceCheck::Fresh) {
        metrics_.add("turn.stale_nonces");
        return error(m, out, 438, "Stale Nonce", client, {}, true);
    }
    auto found = auth_.key_for(*user_text, now);
    if (!found || !stun::verify_integrity(m, *found)) {
        refuse("auth");
        return error(m, out, 401, "Unauthorized", client, {}, true);
    }
    username = std::string(*user_text);
    key = std::move(*found);
    return 0;
}

TurnRelay::Allocation* TurnRelay::find(const om_address& client)
{
    auto& map = clients(stream_);
    auto it = map.find(client);
    return it == map.end() ? nullptr : it->second.get();
}

int TurnRelay::open_relay_socket(om_address& relayed, bool even)
{
    const int span = config_.max_port - config_.min_port + 1;
    const int start = static_cast<int>(proto::random_u64() % static_cast<uint64_t>(span));
    // Random first, then in order: a full range is found full, not guessed at forever.
    for (int i = 0; i < span && i < 256; ++i) {  // bounded: the lock is held
        om_address a = relay_ip_;
        a.port = static_cast<uint16_t>(config_.min_port + (start + i) % span);
        if (even && (a.port & 1)) continue;
        const int fd = ::socket(a.family == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) return -1;
        proto::SocketAddress sa;
        if (proto::to_socket_address(a, a.family == 6 ? AF_INET6 : AF_INET, sa) && ::bind(fd, sa.get(), sa.length) == 0) {
            relayed = a;
            return fd;
        }
        ::close(fd);
    }
    return -1;
}

size_t TurnRelay::allocate(const stun::Message& m, int fd, const om_address& client, std::span<uint8_t> out)
{
    std::string username;
    std::vector<uint8_t> key;
    if (size_t e = authenticate(m, client, out, username, key)) return e;
    if (Allocation* existing = find(client)) {
        // §7.2: a retransmission of the Allocate that made it gets the same success; any other
        // Allocate on this 5-tuple is a mismatch.
        if (existing->allocate_id != m.transaction_id) {
            refuse("mismatch");
            return error(m, out, 437, "Allocation Mismatch", client, key);
        }
    } else {
        const auto* transport = m.find(stun::attr::RequestedTransport);
        auto value = transport ? stun::read_u32(*transport) : std::nullopt;
        if (!value) {
            refuse("bad_request");
            return error(m, out, 400, "Bad Request", client, key);
        }
        if ((*value >> 24) != turn::kProtocolUdp) {
            refuse("unsupported_transport");
            return error(m, out, 442, "Unsupported Transport Protocol", client, key);
        }
        // §7.2: REQUESTED-ADDRESS-FAMILY (0x01 IPv4, 0x02 IPv6) must be the relay's.
        if (const auto* family = m.find(kRequestedAddressFamily)) {
            const int wanted = family->value.empty() ? 0 : family->value[0];
            if (wanted != (relay_ip_.family == 6 ? 2 : 1)) {
                refuse("address_family");
                return error(m, out, 440, "Address Family not Supported", client, key);
            }
        }
        const std::string quota_key = user_of(username);
        auto used_it = per_user_.find(quota_key);
        const uint32_t used = used_it == per_user_.end() ? 0 : used_it->second;
        if (used >= config_.user_quota) {
            refuse("user_quota");
            return error(m, out, 486, "Allocation Quota Reached", client, key);
        }
        if (by_client_.size() + by_stream_client_.size() >= config_.max_allocations) {
            refuse("capacity");
            return error(m, out, 508, "Insufficient Capacity", client, key);
        }
        om_address relayed{};
        // §14.6 EVEN-PORT: an even relayed port. Its R bit (reserve the next port too) is not
        // honoured: no RESERVATION-TOKEN comes back, which tells the client so.
        const int relay_fd = open_relay_socket(relayed, m.find(kEvenPort) != nullptr);
        if (relay_fd < 0) {
            refuse("no_port");
            return error(m, out, 508, "Insufficient Capacity", client, key);
        }
        auto a = std::make_unique<Allocation>();
        a->id = next_id_++;
        a->client = client;
        a->client_fd = fd;
        a->stream = stream_;
        a->username = username;
        a->key = key;
        a->relay_fd = relay_fd;
        a->relayed = relayed;
        a->allocate_id = m.transaction_id;
        a->to_peer = TokenBucket(config_.bytes_per_s);
        a->to_client = TokenBucket(config_.bytes_per_s);
        const uint32_t granted = granted_lifetime(m);  // LIFETIME 0 on an Allocate: the default
        a->lifetime_s = granted ? granted : std::min<uint32_t>(turn::kDefaultLifetimeS, config_.max_lifetime_s);
        a->expires_us = now_us() + a->lifetime_s * kUsPerS;
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = a->id;
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, relay_fd, &ev);
        ++per_user_[quota_key];  // counted once the allocation exists
        by_id_[a->id] = a.get();
        clients(stream_)[client] = std::move(a);
        allocations_gauge_.fetch_add(1, std::memory_order_relaxed);
        metrics_.add("turn.allocations_made");
    }
    Allocation& a = *find(client);
    stun::Builder b(out, m.method, stun::Class::SuccessResponse, m.transaction_id);
    b.add_xor_address(stun::attr::XorRelayedAddress, a.relayed);  // §7.3
    b.add_u32(stun::attr::Lifetime, a.lifetime_s);
    b.add_xor_address(stun::attr::XorMappedAddress, client);
    b.add_message_integrity(a.key);
    b.add_fingerprint();
    return b.finish();
}

TurnRelay::Allocation* TurnRelay::owned_allocation(const stun::Message& m, const om_address& client,
                                                   std::span<uint8_t> out, std::vector<uint8_t>& key, size_t& answered)
{
    // Refresh, CreatePermission and ChannelBind: authenticated (RFC 8489 §9.2.4), on this
    // 5-tuple's allocation (RFC 8656 §5: 437 otherwise), by the user who made it (441).
    std::string username;
    answered = authenticate(m, client, out, username, key);
    if (answered) return nullptr;
    Allocation* a = find(client);
    if (!a) {
        refuse("mismatch");
        answered = error(m, out, 437, "Allocation Mismatch", client, key);
        return nullptr;
    }
    if (a->username != username) {
        refuse("wrong_credentials");
        answered = error(m, out, 441, "Wrong Credentials", client, key);
        return nullptr;
    }
    return a;
}

uint32_t TurnRelay::granted_lifetime(const stun::Message& m) const
{
    // RFC 8656 §7.2, §8: min(asked, the server's maximum), never below the default; LIFETIME 0
    // (a Refresh that deletes) stays 0. Without LIFETIME, the default.
    const auto* lifetime = m.find(stun::attr::Lifetime);
    const uint32_t asked = lifetime ? stun::read_u32(*lifetime).value_or(turn::kDefaultLifetimeS) : turn::kDefaultLifetimeS;
    if (asked == 0) return 0;
    return std::clamp<uint32_t>(asked, std::min<uint32_t>(turn::kDefaultLifetimeS, config_.max_lifetime_s),
                                config_.max_lifetime_s);
}

size_t TurnRelay::refresh(const stun::Message& m, const om_address& client, std::span<uint8_t> out)
{
    std::vector<uint8_t> key;
    size_t answered = 0;
    Allocation* a = owned_allocation(m, client, out, key, answered);
    if (!a) return answered;
    const uint32_t granted = granted_lifetime(m);
    if (granted == 0) {
        destroy(a);  // §8: LIFETIME 0 deletes the allocation
        metrics_.add("turn.deallocations");
    } else {
        a->lifetime_s = granted;
        a->expires_us = now_us() + granted * kUsPerS;
        metrics_.add("turn.refreshes");
    }
    stun::Builder b(out, m.method, stun::Class::SuccessResponse, m.transaction_id);
    b.add_u32(stun::attr::Lifetime, granted);
    b.add_message_integrity(key);
    b.add_fingerprint();
    return b.finish();
}

bool TurnRelay::permitted(const Allocation& a, const om_address& peer, uint64_t now) const
{
    for (const auto& p : a.permissions)
        if (p.expires_us > now && proto::same_ip(p.ip, peer)) return true;
    return false;
}

void TurnRelay::permit(Allocation& a, const om_address& peer, uint64_t now)
{
    const uint64_t until = now + turn::kPermissionLifetimeS * kUsPerS;
    for (auto& p : a.permissions)
        if (proto::same_ip(p.ip, peer)) {
            p.expires_us = until;  // §9.2: a refresh
            return;
        }
    a.permissions.push_back({ip_of(peer), until});
}

size_t TurnRelay::create_permission(const stun::Message& m, const om_address& client, std::span<uint8_t> out)
{
    std::vector<uint8_t> key;
    size_t answered = 0;
    Allocation* a = owned_allocation(m, client, out, key, answered);
    if (!a) return answered;
    // §9.2: every XOR-PEER-ADDRESS is checked before any is installed.
    std::vector<om_address> peers;
    for (const auto& attr : m.all()) {
        if (attr.type != stun::attr::XorPeerAddress) continue;
        auto peer = stun::read_xor_address(attr, m);
        if (!peer) {
            refuse("bad_request");
            return error(m, out, 400, "Bad Request", client, key);
        }
        if (size_t refused = refuse_peer(*a, *peer, m, client, key, out)) return refused;
        peers.push_back(*peer);
    }
    if (peers.empty()) {
        refuse("bad_request");
        return error(m, out, 400, "Bad Request", client, key);
    }
    const uint64_t now = now_us();
    size_t fresh = 0;
    for (const auto& p : peers) fresh += permitted(*a, p, 0) ? 0 : 1;  // counting every entry, live or not
    if (a->permissions.size() + fresh > config_.max_permissions) {
        refuse("permission_quota");
        return error(m, out, 508, "Insufficient Capacity", client, key);
    }
    for (const auto& p : peers) permit(*a, p, now);
    metrics_.add("turn.permissions");
    stun::Builder b(out, m.method, stun::Class::SuccessResponse, m.transaction_id);
    b.add_message_integrity(key);
    b.add_fingerprint();
    return b.finish();
}

size_t TurnRelay::refuse_peer(const Allocation& a, const om_address& peer, const stun::Message& m,
                              const om_address& client, std::span<const uint8_t> key, std::span<uint8_t> out)
{
    // §9.2, §12.2: a peer of the relayed address's family (443), and one policy allows (403).
    if (peer.family != a.relayed.family) {
        refuse("family_mismatch");
        return error(m, out, 443, "Peer Address Family Mismatch", client, key);
    }
    if (*refused_peer_kind(peer, config_.allow_loopback_peers)) {
        refuse("peer_forbidden");
        return error(m, out, 403, "Forbidden", client, key);
    }
    return 0;
}

size_t TurnRelay::channel_bind(const stun::Message& m, const om_address& client, std::span<uint8_t> out)
{
    std::vector<uint8_t> key;
    size_t answered = 0;
    Allocation* a = owned_allocation(m, client, out, key, answered);
    if (!a) return answered;
    const auto* number_attr = m.find(stun::attr::ChannelNumber);
    const auto* peer_attr = m.find(stun::attr::XorPeerAddress);
    auto value = number_attr ? stun::read_u32(*number_attr) : std::nullopt;
    auto peer = peer_attr ? stun::read_xor_address(*peer_attr, m) : std::nullopt;
    const uint16_t number = value ? static_cast<uint16_t>(*value >> 16) : 0;
    if (!value || !peer || !turn::valid_legacy_channel(number)) {  // §12.2 (and RFC 5766's range)
        refuse("bad_request");
        om::log_message(OM_LOG_DEBUG, "turn: ChannelBind from " + proto::format_address(client) +
                                          ": no valid CHANNEL-NUMBER or XOR-PEER-ADDRESS");
        return error(m, out, 400, "Bad Request", client, key);
    }
    if (size_t refused = refuse_peer(*a, *peer, m, client, key, out)) return refused;
    const uint64_t now = now_us();
    Channel* channel = nullptr;
    for (auto& c : a->channels) {
        const bool same_number = c.number == number, same_peer = proto::same_address(c.peer, *peer);
        if (same_number != same_peer) {
            // §12.2: a number bound to another peer, or a peer bound to another number.
            refuse("channel_conflict");
            om::log_message(OM_LOG_DEBUG, "turn: ChannelBind from " + proto::format_address(client) + ": channel " +
                                              std::to_string(number) + " to " + proto::format_address(*peer) +
                                              " conflicts with channel " + std::to_string(c.number) + " to " +
                                              proto::format_address(c.peer));
            return error(m, out, 400, "Bad Request", client, key);
        }
        if (same_number) channel = &c;
    }
    if (!channel) {
        if (a->channels.size() >= config_.max_channels) {
            refuse("channel_quota");
            return error(m, out, 508, "Insufficient Capacity", client, key);
        }
        a->channels.push_back({number, *peer, 0});
        channel = &a->channels.back();
        metrics_.add("turn.channels");
    }
    channel->expires_us = now + turn::kChannelLifetimeS * kUsPerS;
    permit(*a, *peer, now);  // §12.2: and installs or refreshes the permission
    stun::Builder b(out, m.method, stun::Class::SuccessResponse, m.transaction_id);
    b.add_message_integrity(key);
    b.add_fingerprint();
    return b.finish();
}

void TurnRelay::relay_to_peer(Allocation& a, const om_address& peer, std::span<const uint8_t> payload)
{
    if (!a.to_peer.take(payload.size())) {
        dropped_bandwidth_.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    if (batching_) pending_.push_back({a.relay_fd, peer, payload});
    else send_to(a.relay_fd, peer, payload.data(), payload.size());
    bytes_relayed_.fetch_add(payload.size(), std::memory_order_relaxed);
    packets_relayed_.fetch_add(1, std::memory_order_relaxed);
}

void TurnRelay::send_indication(const stun::Message& m, const om_address& client)
{
    Allocation* a = find(client);
    const auto* peer_attr = m.find(stun::attr::XorPeerAddress);
    const auto* data = m.find(stun::attr::DataAttr);
    auto peer = peer_attr ? stun::read_xor_address(*peer_attr, m) : std::nullopt;
    if (!a || !peer || !data) {  // §10.2: silently discarded
        metrics_.add("turn.dropped.bad_indication");
        return;
    }
    if (!permitted(*a, *peer, now_us())) {
        dropped_no_permission_.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    relay_to_peer(*a, *peer, data->value);
}

void TurnRelay::channel_data(const om_address& client, std::span<const uint8_t> bytes)
{
    Allocation* a = find(client);
    auto frame = turn::read_channel_data(bytes, nullptr, true);
    if (!a || !frame) {
        (a ? malformed_ : dropped_no_allocation_).fetch_add(1, std::memory_order_relaxed);
        return;
    }
    const uint64_t now = now_us();
    for (const auto& c : a->channels) {
        if (c.number != frame->channel || c.expires_us <= now) continue;
        if (!permitted(*a, c.peer, now)) {
            dropped_no_permission_.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        relay_to_peer(*a, c.peer, frame->payload);
        return;
    }
    dropped_unknown_channel_.fetch_add(1, std::memory_order_relaxed);
}

void TurnRelay::destroy(Allocation* a)
{
    if (!pending_.empty()) flush_pending();  // nothing may leave from a closed (or reused) descriptor
    if (a->relay_fd >= 0) {
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, a->relay_fd, nullptr);
        ::close(a->relay_fd);
    }
    auto user = per_user_.find(user_of(a->username));
    if (user != per_user_.end() && --user->second == 0) per_user_.erase(user);
    by_id_.erase(a->id);
    allocations_gauge_.fetch_sub(1, std::memory_order_relaxed);
    clients(a->stream).erase(a->client);  // frees a
}

void TurnRelay::read_peers(Allocation& a, uint64_t now)
{
    // Peer -> client (§11.3, §12.4): a Data indication, or ChannelData on a bound channel.
    static thread_local std::vector<uint8_t> in(kMaxPayload), out(kMaxPayload + 64);
    for (size_t i = 0; i < kPeerBatch; ++i) {
        sockaddr_storage ss{};
        socklen_t sl = sizeof ss;
        const ssize_t n = ::recvfrom(a.relay_fd, in.data(), in.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&ss), &sl);
        if (n < 0) return;
        const om_address peer = proto::from_socket_address(ss);
        if (!peer.family) continue;
        if (!permitted(a, peer, now)) {  // §11.3: no permission, silently discarded
            dropped_no_permission_.fetch_add(1, std::memory_order_relaxed);
            continue;
        }
        if (!a.to_client.take(static_cast<uint64_t>(n))) {
            dropped_bandwidth_.fetch_add(1, std::memory_order_relaxed);
            continue;
        }
        const std::span<const uint8_t> payload(in.data(), static_cast<size_t>(n));
        size_t size = 0;
        for (const auto& c : a.channels)
            if (c.expires_us > now && proto::same_address(c.peer, peer)) {
                size = turn::write_channel_data(out, c.number, payload, a.stream, true);  // padded on TCP (§12.5)
                break;
            }
        if (!size) {
            stun::Builder b(out, stun::method::Data, stun::Class::Indication, stun::random_transaction_id());
            b.add_xor_address(stun::attr::XorPeerAddress, peer);
            b.add_bytes(stun::attr::DataAttr, payload);
            size = b.finish();
        }
        if (!size) continue;
        if (a.stream) {
            if (stream_sink_) stream_sink_->send_frame(a.client_fd, std::span<const uint8_t>(out.data(), size));
        } else {
            send_to(a.client_fd, a.client, out.data(), size);
        }
        bytes_relayed_.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
        packets_relayed_.fetch_add(1, std::memory_order_relaxed);
    }
}

void TurnRelay::expire(uint64_t now)
{
    std::vector<Allocation*> gone;
    for (auto* map : {&by_client_, &by_stream_client_}) {
        for (auto& [client, a] : *map) {
            if (a->expires_us <= now) {
                gone.push_back(a.get());
                continue;
            }
            std::erase_if(a->permissions, [now](const Permission& p) { return p.expires_us <= now; });
            std::erase_if(a->channels, [now](const Channel& c) { return c.expires_us <= now; });
        }
    }
    for (Allocation* a : gone) {
        destroy(a);
        metrics_.add("turn.expired");
    }
}

void TurnRelay::run()
{
    epoll_event events[64];
    uint64_t next_sweep = now_us() + kUsPerS;
    for (;;) {
        const int n = ::epoll_wait(epoll_fd_, events, 64, 250);
        if (n < 0 && errno != EINTR) {
            om::log_message(OM_LOG_ERROR, std::string("turn: epoll_wait: ") + std::strerror(errno));
            return;
        }
        std::lock_guard<std::mutex> lock(mutex_);
        const uint64_t now = now_us();
        for (int i = 0; i < n; ++i) {
            if (events[i].data.u64 == 0) return;  // stop
            auto it = by_id_.find(events[i].data.u64);
            if (it != by_id_.end()) read_peers(*it->second, now);
        }
        if (now >= next_sweep) {
            expire(now);
            next_sweep = now + kUsPerS;
        }
    }
}

} // namespace om::server
