#include "allocation.h"

#include "proto/address.h"
#include "proto/turn.h"

#include <algorithm>

namespace om::turnclient {
namespace {

namespace stun = proto::stun;
namespace turn = proto::turn;

constexpr uint64_t kUsPerS = 1'000'000;
constexpr uint32_t kMaxAuthRetries = 3;  // fresh nonces in a row before giving up
constexpr uint32_t kRm = 8;              // RFC 8489 §6.2.1 Rm: the last wait, in RTOs
constexpr uint64_t kPermissionRetryUs = 5'000'000;  // a refused peer is asked for again after this

uint64_t ms(uint64_t value) { return value * 1000; }

std::string error_text(const stun::Message& m)
{
    const auto* a = m.find(stun::attr::ErrorCode);
    if (!a) return "an error response without ERROR-CODE";
    auto code = stun::read_error_code(*a);
    if (!code) return "a malformed ERROR-CODE";
    return std::to_string(code->code) + " " + code->reason;
}

uint16_t error_code(const stun::Message& m)
{
    const auto* a = m.find(stun::attr::ErrorCode);
    if (!a) return 0;
    auto code = stun::read_error_code(*a);
    return code ? code->code : 0;
}

const char* kind_name(int kind)
{
    static const char* const names[] = {"Allocate", "Refresh", "CreatePermission", "ChannelBind", "Deallocate"};
    return names[kind];
}

}  // namespace

const char* state_name(State state)
{
    switch (state) {
        case State::Idle: return "idle";
        case State::Allocating: return "allocating";
        case State::Allocated: return "allocated";
        case State::Failed: return "failed";
        case State::Released: return "released";
    }
    return "unknown";
}

Allocation::Allocation(std::string username, std::string password, Settings settings, Io io)
    : username_(std::move(username)), password_(std::move(password)), settings_(settings), io_(std::move(io))
{
    settings_.max_transmissions = std::max<uint32_t>(settings_.max_transmissions, 1);
    settings_.rto_ms = std::max<uint32_t>(settings_.rto_ms, 1);
}

std::string Allocation::ip_key(const om_address& a)
{
    om_address ip = a;
    ip.port = 0;
    return proto::format_address(ip);
}

std::string Allocation::address_key(const om_address& a) { return proto::format_address(a); }

void Allocation::start(uint64_t now_us, uint32_t timeout_ms)
{
    if (state_ != State::Idle) return;
    state_ = State::Allocating;
    deadline_us_ = now_us + ms(timeout_ms);
    // RFC 8656 §7.1: the first Allocate goes without credentials; the 401 brings REALM and NONCE.
    send_request(Kind::Allocate, nullptr, 0, now_us);
}

std::vector<uint8_t> Allocation::build(Kind kind, const om_address* peer, uint16_t channel,
                                       const stun::TransactionId& id, bool authenticated) const
{
    std::vector<uint8_t> out(512);
    const uint16_t method = kind == Kind::Allocate            ? stun::method::Allocate
                            : kind == Kind::CreatePermission  ? stun::method::CreatePermission
                            : kind == Kind::ChannelBind       ? stun::method::ChannelBind
                                                              : stun::method::Refresh;
    stun::Builder b(out, method, stun::Class::Request, id);
    switch (kind) {
        case Kind::Allocate:
            b.add_u32(stun::attr::RequestedTransport, turn::requested_transport_value(turn::kProtocolUdp));  // §7.1
            b.add_u32(stun::attr::Lifetime, settings_.lifetime_s);
            break;
        case Kind::Refresh: b.add_u32(stun::attr::Lifetime, settings_.lifetime_s); break;
        case Kind::Deallocate: b.add_u32(stun::attr::Lifetime, 0); break;  // §8: LIFETIME 0 deletes
        case Kind::CreatePermission: b.add_xor_address(stun::attr::XorPeerAddress, *peer); break;  // §9.1
        case Kind::ChannelBind:  // §12.1: CHANNEL-NUMBER (number, then RFFU) and XOR-PEER-ADDRESS
            b.add_u32(stun::attr::ChannelNumber, uint32_t{channel} << 16);
            b.add_xor_address(stun::attr::XorPeerAddress, *peer);
            break;
    }
    if (authenticated) {
        // RFC 8489 §9.2.4: USERNAME, REALM, NONCE, then the integrity of the chosen algorithm.
        b.add_text(stun::attr::Username, username_);
        b.add_text(stun::attr::Realm, realm_);
        b.add_text(stun::attr::Nonce, nonce_);
        if (sha256_) {
            b.add_bytes(stun::attr::PasswordAlgorithms, algorithms_);
            const uint16_t chosen[] = {static_cast<uint16_t>(turn::PasswordAlgorithm::Sha256)};
            b.add_bytes(stun::attr::PasswordAlgorithm, turn::password_algorithms_value(chosen));
            b.add_message_integrity_sha256(key_);
        } else {
            b.add_message_integrity(key_);
        }
    }
    b.add_fingerprint();
    out.resize(b.finish());
    return out;
}

void Allocation::send_request(Kind kind, const om_address* peer, uint16_t channel, uint64_t now_us, uint32_t retries)
{
    Request r;
    r.kind = kind;
    if (peer) r.peer = *peer;
    r.channel = channel;
    r.authenticated = !nonce_.empty();
    r.retries = retries;
    const stun::TransactionId id = stun::random_transaction_id();
    r.bytes = build(kind, peer, channel, id, r.authenticated);
    if (r.bytes.empty()) return;  // cannot happen with a 512-byte buffer and bounded texts
    r.started_us = now_us;
    const auto schedule = stun::retransmit_schedule(settings_.rto_ms, settings_.max_transmissions, kRm);
    r.give_up_us = now_us + ms(schedule.timeout_ms);
    if (kind == Kind::Allocate) r.give_up_us = std::min(r.give_up_us, deadline_us_);
    ++counters_.requests;
    auto& stored = requests_[id] = std::move(r);
    transmit(stored, now_us);
}

void Allocation::transmit(Request& r, uint64_t now_us)
{
    if (r.sends > 0) ++counters_.retransmits;
    ++r.sends;
    io_.send(r.bytes);  // a failed send is a lost datagram: the schedule retries
    const auto schedule = stun::retransmit_schedule(settings_.rto_ms, settings_.max_transmissions, kRm);
    r.next_send_us = r.sends < schedule.send_at_ms.size() ? r.started_us + ms(schedule.send_at_ms[r.sends]) : 0;
    (void)now_us;
}

bool Allocation::on_datagram(std::span<const uint8_t> bytes, uint64_t now_us)
{
    if (bytes.empty()) return false;
    if (bytes[0] >= 0x40 && bytes[0] <= 0x4F) {
        on_channel_data(bytes);
        return true;
    }
    if (!stun::looks_like_stun(bytes)) return false;
    stun::Message m;
    if (!stun::parse(bytes, m)) {
        ++counters_.malformed;
        return true;
    }
    if (m.cls == stun::Class::Indication) {
        if (m.method == stun::method::Data) on_data_indication(m);
        else ++counters_.unexpected;
        return true;
    }
    if (m.cls == stun::Class::SuccessResponse || m.cls == stun::Class::ErrorResponse) {
        if (!requests_.count(m.transaction_id)) return false;  // not ours (NAT discovery, ICE)
        on_response(m, now_us);
        return true;
    }
    ++counters_.unexpected;
    return true;
}

void Allocation::on_response(const stun::Message& m, uint64_t now_us)
{
    auto it = requests_.find(m.transaction_id);
    if (m.cls == stun::Class::SuccessResponse && it->second.authenticated) {
        // RFC 8489 §9.2.5: a success to an authenticated request carries integrity with our key;
        // anything else is a forgery and the transaction keeps waiting.
        const bool ok = sha256_ ? stun::verify_integrity_sha256(m, key_) : stun::verify_integrity(m, key_);
        if (!ok) {
            ++counters_.bad_integrity;
            return;
        }
    }
    Request r = std::move(it->second);
    requests_.erase(it);
    ++counters_.responses;
    if (state_ == State::Released || state_ == State::Failed) return;
    if (m.cls == stun::Class::ErrorResponse) {
        ++counters_.error_responses;
        on_error(std::move(r), m, now_us);
    } else {
        on_success(r, m, now_us);
    }
}

void Allocation::on_error(Request r, const stun::Message& m, uint64_t now_us)
{
    const uint16_t code = error_code(m);
    const om_address* peer = (r.kind == Kind::CreatePermission || r.kind == Kind::ChannelBind) ? &r.peer : nullptr;
    if (code == 401 || code == 438) {
        // §9.2.5: 401 brings REALM and NONCE (again, when the nonce expired); 438 a new NONCE.
        const auto* realm = m.find(stun::attr::Realm);
        const auto* nonce = m.find(stun::attr::Nonce);
        auto realm_text = realm ? stun::read_text(*realm) : std::nullopt;
        auto nonce_text = nonce ? stun::read_text(*nonce) : std::nullopt;
        const bool new_nonce = nonce_text && std::string(*nonce_text) != nonce_;
        const bool can_retry = nonce_text && (realm_text || !realm_.empty()) && r.retries < kMaxAuthRetries &&
                               (code == 438 || !r.authenticated || new_nonce);
        if (can_retry) {
            if (code == 401) ++counters_.auth_challenges;
            else ++counters_.stale_nonces;
            if (realm_text) realm_ = std::string(*realm_text);
            nonce_ = std::string(*nonce_text);
            // RFC 8489 §9.2.4: SHA-256 when the nonce says the server knows password algorithms
            // and its list has it; MD5 otherwise.
            sha256_ = false;
            algorithms_.clear();
            if (const auto* list = m.find(stun::attr::PasswordAlgorithms);
                list && turn::nonce_offers_password_algorithms(nonce_)) {
                if (auto algorithms = turn::read_password_algorithms(*list)) {
                    const auto sha = static_cast<uint16_t>(turn::PasswordAlgorithm::Sha256);
                    if (std::find(algorithms->begin(), algorithms->end(), sha) != algorithms->end()) {
                        sha256_ = true;
                        algorithms_.assign(list->value.begin(), list->value.end());
                    }
                }
            }
            key_ = turn::long_term_key(sha256_ ? turn::PasswordAlgorithm::Sha256 : turn::PasswordAlgorithm::Md5, username_,
                                       realm_, password_);
            send_request(r.kind, peer, r.channel, now_us, r.retries + 1);
            return;
        }
    }
    if (code == 437 && r.kind == Kind::Allocate) {
        // §7.2: an allocation already holds this 5-tuple (a client that crashed and came back on
        // the same port): delete it with our credentials (a 401 first brings a nonce when we have
        // none yet), then allocate again. coturn keeps a deleted allocation's 5-tuple a while:
        // the Allocate is retried on a backoff until the deadline.
        if (!mismatch_deallocated_) {
            mismatch_deallocated_ = true;
            send_request(Kind::Deallocate, nullptr, 0, now_us, r.retries + 1);
        } else {
            mismatch_backoff_ms_ = std::min<uint32_t>(mismatch_backoff_ms_ ? mismatch_backoff_ms_ * 2 : 250, 2000);
            reallocate_at_us_ = now_us + ms(mismatch_backoff_ms_);
        }
        return;
    }
    const std::string why = std::string(kind_name(static_cast<int>(r.kind))) + ": the TURN server answered " + error_text(m);
    switch (r.kind) {
        case Kind::Allocate: fail(code == 401 ? OM_ERR_AUTH : OM_ERR_REFUSED, why); break;
        case Kind::Refresh: lose(OM_ERR_REFUSED, why); break;
        case Kind::CreatePermission: permission_failed(r.peer, OM_ERR_REFUSED, why, now_us); break;
        case Kind::ChannelBind:
            channel_failed(r.peer, now_us);
            permission_failed(r.peer, OM_ERR_REFUSED, why, now_us);
            break;
        case Kind::Deallocate:
            if (state_ == State::Allocating) reallocate_at_us_ = now_us;
            break;
    }
}

void Allocation::on_success(const Request& r, const stun::Message& m, uint64_t now_us)
{
    switch (r.kind) {
        case Kind::Allocate: {
            if (state_ != State::Allocating) return;
            const auto* relayed = m.find(stun::attr::XorRelayedAddress);
            auto address = relayed ? stun::read_xor_address(*relayed, m) : std::nullopt;
            if (!address) {
                fail(OM_ERR_MALFORMED, "Allocate: the success response has no valid XOR-RELAYED-ADDRESS");
                return;
            }
            relayed_ = *address;
            if (const auto* mapped = m.find(stun::attr::XorMappedAddress)) reflexive_ = stun::read_xor_address(*mapped, m);
            schedule_refresh(m, settings_.lifetime_s, now_us);
            state_ = State::Allocated;
            if (io_.allocated) io_.allocated(OM_OK, &*relayed_, "");
            // Peers asked for while allocating.
            for (auto& [key, p] : permissions_)
                if (p.pending && !p.installed) p.refresh_at_us = now_us;
            tick(now_us);
            return;
        }
        case Kind::Refresh: {
            refresh_in_flight_ = false;
            ++counters_.refreshes;
            schedule_refresh(m, lifetime_s_, now_us);
            return;
        }
        case Kind::CreatePermission:
        case Kind::ChannelBind: {
            // §12.1: a channel binding installs or refreshes the IP's permission too.
            auto& p = permissions_[ip_key(r.peer)];
            const bool first = !p.installed;
            p.installed = true;
            p.pending = false;
            p.failed = false;
            p.refresh_at_us = now_us + (turn::kPermissionLifetimeS - 60) * kUsPerS;
            if (r.kind == Kind::CreatePermission) ++counters_.permissions;
            if (r.kind == Kind::ChannelBind) {
                auto& c = channels_[address_key(r.peer)];
                if (!c.bound) ++counters_.channels_bound;
                c.bound = true;
                c.pending = false;
                c.refresh_at_us = now_us + (turn::kChannelLifetimeS - 60) * kUsPerS;
            }
            if (first || !p.queue.empty()) flush_queue(p, now_us);
            return;
        }
        case Kind::Deallocate:
            if (state_ == State::Allocating) reallocate_at_us_ = now_us;
            return;
    }
}

void Allocation::schedule_refresh(const stun::Message& m, uint32_t fallback_s, uint64_t now_us)
{
    const auto* lifetime = m.find(stun::attr::Lifetime);
    lifetime_s_ = lifetime ? stun::read_u32(*lifetime).value_or(fallback_s) : fallback_s;
    lifetime_s_ = std::clamp<uint32_t>(lifetime_s_, 1, turn::kMaxLifetimeS);
    // §8: refresh ahead of expiry, a minute early (or at half time for short lifetimes).
    const uint64_t lead = lifetime_s_ > 120 ? 60 : lifetime_s_ / 2;
    refresh_at_us_ = now_us + (lifetime_s_ - lead) * kUsPerS;
}

void Allocation::on_data_indication(const stun::Message& m)
{
    // §11.6: XOR-PEER-ADDRESS and DATA, else the indication is dropped.
    const auto* peer = m.find(stun::attr::XorPeerAddress);
    const auto* data = m.find(stun::attr::DataAttr);
    auto address = peer ? stun::read_xor_address(*peer, m) : std::nullopt;
    if (!address || !data) {
        ++counters_.malformed;
        return;
    }
    ++counters_.data_indications;
    counters_.bytes_in += data->value.size();
    if (io_.deliver && state_ == State::Allocated) io_.deliver(*address, data->value);
}

void Allocation::on_channel_data(std::span<const uint8_t> bytes)
{
    auto frame = turn::read_channel_data(bytes);
    if (!frame) {
        ++counters_.malformed;
        return;
    }
    auto it = channel_peers_.find(frame->channel);
    if (it == channel_peers_.end()) {
        ++counters_.unknown_channel;
        return;
    }
    ++counters_.channel_data_in;
    counters_.bytes_in += frame->payload.size();
    if (io_.deliver && state_ == State::Allocated) io_.deliver(it->second, frame->payload);
}

int32_t Allocation::permit(const om_address& peer, uint64_t now_us)
{
    if (state_ != State::Allocating && state_ != State::Allocated) return OM_ERR_STATE;
    const std::string key = ip_key(peer);
    auto it = permissions_.find(key);
    if (it == permissions_.end()) {
        if (permissions_.size() >= settings_.max_peers && !evict_one()) {
            ++counters_.dropped_peer_limit;
            return OM_ERR_REFUSED;
        }
        it = permissions_.emplace(key, Permission{}).first;
        it->second.failed = true;  // "not asked yet": the branch below asks
    }
    Permission& p = it->second;
    p.last_used_us = now_us;
    if (p.failed && p.refused && now_us < p.retry_at_us) {
        // Refused by the server a moment ago: not asked again on every datagram.
        ++counters_.dropped_refused_peer;
        return OM_ERR_REFUSED;
    }
    if (p.failed) {
        // New, or refused before: ask (again). While allocating, the request goes out once the
        // allocation exists (on_success makes it due).
        p.failed = false;
        p.pending = true;
        if (state_ == State::Allocated) {
            send_request(Kind::CreatePermission, &peer, 0, now_us);
            p.refresh_at_us = now_us + (turn::kPermissionLifetimeS - 60) * kUsPerS;
        } else {
            p.refresh_at_us = 0;
        }
    }
    if (settings_.channels && state_ == State::Allocated) {
        // Channel numbers are not reused (RFC 8656 §12: a number waits 5 minutes before another
        // peer may have it); past the last one, Send indications carry the data.
        const std::string address = address_key(peer);
        if (!channels_.count(address) && next_channel_ > turn::kChannelMax) return OM_OK;
        auto& c = channels_[address];
        if (!c.number && next_channel_ <= turn::kChannelMax) {
            c.number = next_channel_++;
            c.pending = true;
            channel_peers_[c.number] = peer;
            send_request(Kind::ChannelBind, &peer, c.number, now_us);
        }
    }
    return OM_OK;
}

int32_t Allocation::send(const om_address& peer, std::span<const uint8_t> payload, uint64_t now_us)
{
    if (state_ != State::Allocated) {
        ++counters_.dropped_no_allocation;
        return OM_ERR_STATE;
    }
    auto it = permissions_.find(ip_key(peer));
    if (it != permissions_.end() && it->second.installed) {
        it->second.last_used_us = now_us;
        if (settings_.channels && !channels_.count(address_key(peer))) permit(peer, now_us);
        return relay(peer, payload);
    }
    if (const int32_t status = permit(peer, now_us); status != OM_OK) return status;
    auto& p = permissions_[ip_key(peer)];
    if (p.queue.size() >= settings_.queue_per_peer) {
        ++counters_.dropped_queue_full;
        return OM_ERR_WOULD_BLOCK;
    }
    ++counters_.queued;
    p.queue.emplace_back(peer, std::vector<uint8_t>(payload.begin(), payload.end()));
    return OM_OK;
}

int32_t Allocation::relay(const om_address& peer, std::span<const uint8_t> payload)
{
    scratch_.resize(payload.size() + 64);
    size_t size = 0;
    auto c = channels_.find(address_key(peer));
    if (c != channels_.end() && c->second.bound) {
        size = turn::write_channel_data(scratch_, c->second.number, payload, settings_.stream);  // §12.4, §12.5
        if (size) ++counters_.channel_data_out;
    } else {
        // §10.1: a Send indication with XOR-PEER-ADDRESS and DATA (indications carry no integrity).
        stun::Builder b(scratch_, stun::method::Send, stun::Class::Indication, stun::random_transaction_id());
        b.add_xor_address(stun::attr::XorPeerAddress, peer);
        b.add_bytes(stun::attr::DataAttr, payload);
        size = b.finish();
        if (size) ++counters_.send_indications;
    }
    if (!size) return OM_ERR_TOO_LARGE;
    counters_.bytes_out += payload.size();
    return io_.send(std::span<const uint8_t>(scratch_.data(), size));
}

void Allocation::flush_queue(Permission& p, uint64_t now_us)
{
    std::deque<std::pair<om_address, std::vector<uint8_t>>> queue;
    queue.swap(p.queue);
    for (auto& [peer, data] : queue) relay(peer, data);
    (void)now_us;
}

void Allocation::request_timed_out(const Request& r, uint64_t now_us)
{
    const std::string why = std::string(kind_name(static_cast<int>(r.kind))) + ": no answer from the TURN server after " +
                            std::to_string(r.sends) + " transmissions";
    switch (r.kind) {
        case Kind::Allocate: fail(OM_ERR_TIMEOUT, why); break;
        case Kind::Refresh: lose(OM_ERR_TIMEOUT, why); break;
        case Kind::CreatePermission: permission_failed(r.peer, OM_ERR_TIMEOUT, why, now_us); break;
        case Kind::ChannelBind:
            channel_failed(r.peer, now_us);
            permission_failed(r.peer, OM_ERR_TIMEOUT, why, now_us);
            break;
        case Kind::Deallocate:
            if (state_ == State::Allocating) fail(OM_ERR_TIMEOUT, why);
            break;
    }
}

void Allocation::tick(uint64_t now_us)
{
    if (state_ == State::Allocating && now_us >= deadline_us_) {
        fail(OM_ERR_TIMEOUT, mismatch_deallocated_ ? "Allocate: the server still holds an earlier allocation of this "
                                                     "address and port (437) at the timeout"
                                                   : "Allocate: no allocation within the timeout");
        return;
    }
    if (state_ == State::Allocating && reallocate_at_us_ && now_us >= reallocate_at_us_) {
        reallocate_at_us_ = 0;
        send_request(Kind::Allocate, nullptr, 0, now_us);
    }
    // Retransmissions (§6.2.1) and give-ups. A copy of the ids: handlers add requests.
    std::vector<stun::TransactionId> due;
    for (auto& [id, r] : requests_)
        if ((r.next_send_us && now_us >= r.next_send_us) || now_us >= r.give_up_us) due.push_back(id);
    for (const auto& id : due) {
        auto it = requests_.find(id);
        if (it == requests_.end()) continue;
        if (now_us >= it->second.give_up_us) {
            Request r = std::move(it->second);
            requests_.erase(it);
            request_timed_out(r, now_us);
            if (state_ == State::Failed) return;
            continue;
        }
        transmit(it->second, now_us);
    }
    if (state_ != State::Allocated) return;
    if (!refresh_in_flight_ && now_us >= refresh_at_us_) {
        refresh_in_flight_ = true;
        send_request(Kind::Refresh, nullptr, 0, now_us);
    }
    // A peer not sent to for a permission's lifetime is forgotten rather than refreshed forever.
    std::vector<std::string> idle;
    for (const auto& [key, p] : permissions_)
        if (!p.pending && p.queue.empty() && p.last_used_us && now_us - p.last_used_us > turn::kPermissionLifetimeS * kUsPerS)
            idle.push_back(key);
    for (const auto& key : idle) forget_ip(key);
    for (auto& [key, p] : permissions_) {
        if (p.failed || now_us < p.refresh_at_us) continue;
        // First install (asked for while allocating) or a refresh before the 300 s run out.
        om_address peer{};
        bool found = false;
        if (!p.queue.empty()) {
            peer = p.queue.front().first;
            found = true;
        } else {
            for (const auto& [number, address] : channel_peers_)
                if (ip_key(address) == key) {
                    peer = address;
                    found = true;
                    break;
                }
        }
        if (!found && !proto::parse_address(key, 0, peer)) continue;
        p.refresh_at_us = now_us + (turn::kPermissionLifetimeS - 60) * kUsPerS;
        p.pending = !p.installed;
        send_request(Kind::CreatePermission, &peer, 0, now_us);
        if (settings_.channels && !channels_.count(address_key(peer)) && found) permit(peer, now_us);
    }
    for (auto& [key, c] : channels_) {
        // §12.2: a bound channel is refreshed before its 10 minutes end; one refused a moment
        // ago is asked for again (Send indications carry the data meanwhile).
        if (!c.number || c.pending || now_us < c.refresh_at_us) continue;
        c.refresh_at_us = now_us + (turn::kChannelLifetimeS - 60) * kUsPerS;
        c.pending = !c.bound;
        send_request(Kind::ChannelBind, &channel_peers_[c.number], c.number, now_us);
    }
}

uint64_t Allocation::next_wakeup_us() const
{
    uint64_t next = UINT64_MAX;
    const auto consider = [&](uint64_t t) {
        if (t) next = std::min(next, t);
    };
    if (state_ == State::Allocating) {
        consider(deadline_us_);
        consider(reallocate_at_us_);
    }
    if (state_ == State::Allocating || state_ == State::Allocated)
        for (const auto& [id, r] : requests_) {
            consider(r.next_send_us);
            consider(r.give_up_us);
        }
    if (state_ == State::Allocated) {
        if (!refresh_in_flight_) consider(refresh_at_us_);
        for (const auto& [key, p] : permissions_)
            if (!p.failed) consider(std::max<uint64_t>(p.refresh_at_us, 1));
        for (const auto& [key, c] : channels_)
            if (c.bound) consider(c.refresh_at_us);
    }
    return next == UINT64_MAX ? 0 : next;
}

void Allocation::release(uint64_t now_us)
{
    const bool had = state_ == State::Allocated;
    state_ = State::Released;
    permissions_.clear();
    if (!had) return;
    // §8: one Deallocate, not retransmitted (the allocation expires by itself anyway).
    const stun::TransactionId id = stun::random_transaction_id();
    io_.send(build(Kind::Deallocate, nullptr, 0, id, !nonce_.empty()));
    ++counters_.requests;
    (void)now_us;
}

void Allocation::connection_lost(int32_t status, const std::string& why)
{
    if (state_ == State::Allocating || state_ == State::Allocated) fail(status, why);
}

void Allocation::fail(int32_t status, const std::string& why)
{
    const bool allocating = state_ == State::Allocating;
    state_ = State::Failed;
    requests_.clear();
    if (allocating && io_.allocated) io_.allocated(status, nullptr, why);
    else if (!allocating) lose(status, why);
}

void Allocation::lose(int32_t status, const std::string& why)
{
    state_ = State::Failed;
    requests_.clear();
    for (auto& [key, p] : permissions_) p.queue.clear();
    ++counters_.lost;
    if (io_.event) io_.event(OM_TURN_EVENT_LOST, status, nullptr, why);
}

bool Allocation::evict_one()
{
    auto victim = permissions_.end();
    for (auto it = permissions_.begin(); it != permissions_.end(); ++it) {
        const Permission& p = it->second;
        if (p.pending || !p.queue.empty()) continue;
        if (p.refused) {
            victim = it;
            break;
        }
        if (victim == permissions_.end() || p.last_used_us < victim->second.last_used_us) victim = it;
    }
    if (victim == permissions_.end()) return false;
    forget_ip(victim->first);
    return true;
}

void Allocation::forget_ip(const std::string& ip)
{
    permissions_.erase(ip);
    for (auto it = channels_.begin(); it != channels_.end();) {
        auto peer = channel_peers_.find(it->second.number);
        if (peer != channel_peers_.end() && ip_key(peer->second) == ip) {
            channel_peers_.erase(peer);  // the number is not given out again
            it = channels_.erase(it);
        } else {
            ++it;
        }
    }
}

void Allocation::channel_failed(const om_address& peer, uint64_t now_us)
{
    auto it = channels_.find(address_key(peer));
    if (it == channels_.end()) return;
    it->second.bound = false;  // Send indications until a new ChannelBind succeeds
    it->second.pending = false;
    it->second.refresh_at_us = now_us + kPermissionRetryUs;
}

void Allocation::permission_failed(const om_address& peer, int32_t status, const std::string& why, uint64_t now_us)
{
    ++counters_.permission_failures;
    auto it = permissions_.find(ip_key(peer));
    if (it != permissions_.end() && !it->second.installed) {
        it->second.failed = true;
        it->second.refused = true;
        it->second.retry_at_us = now_us + kPermissionRetryUs;
        it->second.pending = false;
        it->second.queue.clear();
    }
    if (io_.event) io_.event(OM_TURN_EVENT_PERMISSION_FAILED, status, &peer, why);
}

}  // namespace om::turnclient
