#include "agent/ice/ice_session.h"

#include "proto/address.h"

#include <algorithm>
#include <array>

namespace om::ice {
namespace {

namespace pice = proto::ice;
namespace stun = proto::stun;

constexpr uint64_t kUsPerMs = 1000;

std::string describe(const Candidate& c)
{
    return proto::format_address(c.address) + " (" + pice::type_name(c.type) + ")";
}

} // namespace

const char* pair_state_name(PairState state)
{
    switch (state) {
        case PairState::Waiting: return "waiting";
        case PairState::InProgress: return "in-progress";
        case PairState::Succeeded: return "succeeded";
        case PairState::Failed: return "failed";
    }
    return "unknown";
}

Session::Session(SessionConfig config, std::vector<Candidate> local_candidates, Send send, Count count)
    : config_(std::move(config)), local_(std::move(local_candidates)), send_(std::move(send)), count_(std::move(count))
{
    consent_jitter_state_ ^= config_.tie_breaker | 1;
    config_.checks_per_pair = std::max<uint32_t>(config_.checks_per_pair, 1);
    config_.check_interval_ms = std::max<uint32_t>(config_.check_interval_ms, 1);
}

void Session::set_remote_credentials(std::string ufrag, std::string pwd)
{
    remote_ufrag_ = std::move(ufrag);
    remote_pwd_ = std::move(pwd);
}

const Candidate* Session::local_for_family(uint16_t family, Base base) const
{
    const CandidateType wanted = base == Base::Relay ? CandidateType::Relayed : CandidateType::Host;
    for (const auto& c : local_)
        if (c.type == wanted && c.address.family == family) return &c;
    // A dual-stack socket bound to one family's address still reaches the other: report the
    // socket's own address as the nominal base.
    return nullptr;
}

bool Session::has_base(Base base) const
{
    if (base == Base::Socket) return !config_.relay_only;
    if (!relay_send_) return false;
    return std::any_of(local_.begin(), local_.end(), [](const Candidate& c) { return c.type == CandidateType::Relayed; });
}

void Session::transmit(Base base, const om_address& to, std::span<const uint8_t> bytes)
{
    if (base == Base::Relay) {
        if (relay_send_) relay_send_(to, bytes);
    } else {
        send_(to, bytes);
    }
}

bool Session::reachable(const om_address& remote, Base base) const
{
    if (!has_base(base)) return false;
    if (remote.port == 0 || (remote.family != 4 && remote.family != 6)) return false;
    if (proto::is_link_local(remote) || proto::is_unspecified(remote)) return false;
    const uint8_t* b = remote.bytes;
    if (remote.family == 4) {
        // 0/8 "this network", 224/4 multicast, 240/4 reserved and broadcast: never a peer.
        if (b[0] == 0 || b[0] >= 224) return false;
    } else {
        if (b[0] == 0xff) return false;  // multicast
        // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) forms would dodge the
        // IPv4 rules; ::1 is loopback and the rule below decides about it.
        const bool compatible = std::all_of(b, b + 12, [](uint8_t x) { return x == 0; }) && !proto::is_loopback(remote);
        if (proto::is_ipv4_mapped(remote) || compatible) return false;
    }
    // A relay reaches what its own address's family and scope reach, like a socket.
    const Candidate* relayed = base == Base::Relay ? local_for_family(remote.family, Base::Relay) : nullptr;
    if (base == Base::Relay && !relayed) return false;
    const om_address& own = relayed ? relayed->address : config_.socket_address;
    // A socket bound to loopback reaches loopback only, and a socket on a real interface never
    // targets loopback (it would talk to this host, not the peer).
    if (proto::is_loopback(own) != proto::is_loopback(remote)) return false;
    if (own.family == 4 && remote.family == 6) return false;
    if (own.family == 6 && remote.family == 4 && !proto::is_unspecified(own)) return false;
    return true;
}

uint64_t Session::consent_delay_us()
{
    // xorshift: spread, not secrecy, is what RFC 7675 §5.1 asks of the jitter.
    consent_jitter_state_ ^= consent_jitter_state_ << 13;
    consent_jitter_state_ ^= consent_jitter_state_ >> 7;
    consent_jitter_state_ ^= consent_jitter_state_ << 17;
    const uint64_t base = uint64_t(config_.consent_interval_ms) * kUsPerMs;
    return base * 8 / 10 + consent_jitter_state_ % (base * 4 / 10 + 1);
}

uint32_t Session::prflx_priority(uint16_t family) const
{
    // §7.2.2: PRIORITY = the priority a peer-reflexive candidate of ours would have.
    const Candidate* base = local_for_family(family);
    uint16_t local_pref = base ? static_cast<uint16_t>((base->priority >> 8) & 0xFFFF) : 65535;
    return pice::candidate_priority(CandidateType::PeerReflexive, local_pref);
}

size_t Session::find_or_add_pair(const Candidate& remote, Base base, uint64_t now_us)
{
    for (size_t i = 0; i < pairs_.size(); ++i) {
        Pair& pair = pairs_[i];
        if (pair.base != base || !proto::same_address(pair.remote.address, remote.address)) continue;
        // A peer-reflexive candidate learnt from an early check turns out to be one the peer
        // signalled: it takes the signalled type and priority (RFC 8445 §7.3.1.3, §5.1.3).
        if (pair.remote.type == CandidateType::PeerReflexive && remote.type != CandidateType::PeerReflexive) {
            pair.remote = remote;
            pair.priority = config_.role == Role::Controlling ? pice::pair_priority(pair.local.priority, remote.priority)
                                                              : pice::pair_priority(remote.priority, pair.local.priority);
        }
        return i;
    }
    if (pairs_.size() >= kMaxPairs) return SIZE_MAX;
    Pair pair;
    pair.remote = remote;
    pair.base = base;
    const Candidate* local = local_for_family(remote.address.family, base);
    if (local) pair.local = *local;
    else pair.local = pice::make_host(config_.socket_address);
    // §6.1.2.3: G is the controlling agent's candidate priority.
    pair.priority = config_.role == Role::Controlling ? pice::pair_priority(pair.local.priority, remote.priority)
                                                      : pice::pair_priority(remote.priority, pair.local.priority);
    pair.next_check_us = now_us;
    pairs_.push_back(std::move(pair));
    return pairs_.size() - 1;
}

void Session::add_remote_candidate(const Candidate& candidate, uint64_t now_us)
{
    if (state_ != SessionState::Checking) return;
    if (config_.direct_only && candidate.type == CandidateType::Relayed) {
        drop("candidates_relayed_refused");
        return;
    }
    if (remote_candidates_.size() < kMaxPairs) remote_candidates_.push_back(candidate);  // for a later base
    bool any = false;
    for (Base base : {Base::Socket, Base::Relay}) {
        if (!reachable(candidate.address, base)) continue;
        any = true;
        if (find_or_add_pair(candidate, base, now_us) == SIZE_MAX) drop("candidates_over_limit");
    }
    if (!any) drop("candidates_unreachable");
}

void Session::add_local_relayed(const Candidate& relayed, uint64_t now_us)
{
    relay_pending_ = false;
    if (state_ != SessionState::Checking || relayed.type != CandidateType::Relayed || config_.direct_only) return;
    for (const auto& c : local_)
        if (proto::same_address(c.address, relayed.address)) return;
    local_.push_back(relayed);
    // §6.1.2: the new base pairs with each remote candidate already known (signalled or learnt).
    std::vector<Candidate> remotes = remote_candidates_;
    for (const auto& p : pairs_)
        if (std::none_of(remotes.begin(), remotes.end(),
                         [&](const Candidate& r) { return proto::same_address(r.address, p.remote.address); }))
            remotes.push_back(p.remote);
    for (const auto& remote : remotes)
        if (reachable(remote.address, Base::Relay) && find_or_add_pair(remote, Base::Relay, now_us) == SIZE_MAX)
            drop("candidates_over_limit");
}

void Session::start(uint64_t now_us)
{
    if (started_) return;
    started_ = true;
    started_us_ = now_us;
    deadline_us_ = now_us + uint64_t(config_.budget_ms) * kUsPerMs;
    for (auto& p : pairs_) p.next_check_us = std::min(p.next_check_us, now_us);
    tick(now_us);
}

void Session::set_rank(const om_address& remote, uint32_t rank)
{
    for (auto& p : pairs_)
        if (proto::same_address(p.remote.address, remote)) p.rank = rank;
}

void Session::send_check(size_t index, uint64_t now_us, bool use_candidate, bool consent)
{
    Pair& pair = pairs_[index];
    std::array<uint8_t, pice::kMaxCheckSize> buf{};
    stun::TransactionId id = stun::random_transaction_id();
    pice::CheckRequest request;
    request.remote_ufrag = remote_ufrag_;
    request.local_ufrag = config_.local_ufrag;
    request.remote_pwd = remote_pwd_;
    request.priority = prflx_priority(pair.remote.address.family);
    request.role = config_.role;
    request.tie_breaker = config_.tie_breaker;
    request.use_candidate = use_candidate && config_.role == Role::Controlling;
    size_t size = pice::build_check_request(buf, id, request);
    if (!size) return;
    in_flight_[id] = InFlight{index, now_us, request.use_candidate, consent, config_.role};
    ++checks_sent_;
    if (!consent) {
        ++pair.checks_sent;
        if (pair.state == PairState::Waiting) pair.state = PairState::InProgress;
    }
    transmit(pair.base, pair.remote.address, std::span<const uint8_t>(buf.data(), size));
}

void Session::answer(const stun::TransactionId& id, const om_address& to, Base base, uint16_t error_code)
{
    std::array<uint8_t, pice::kMaxCheckSize> buf{};
    size_t size = error_code ? pice::build_check_error(buf, id, error_code, "Role Conflict", config_.local_pwd)
                             : pice::build_check_success(buf, id, to, config_.local_pwd);
    // §7.3.1: the answer leaves from the base the request arrived at.
    if (size) transmit(base, to, std::span<const uint8_t>(buf.data(), size));
}

void Session::switch_role()
{
    config_.role = config_.role == Role::Controlling ? Role::Controlled : Role::Controlling;
    // §7.3.1.1: pair priorities are recomputed for the new role.
    for (auto& p : pairs_)
        p.priority = config_.role == Role::Controlling ? pice::pair_priority(p.local.priority, p.remote.priority)
                                                       : pice::pair_priority(p.remote.priority, p.local.priority);
    nominating_.reset();
    nominated_by_peer_.reset();
}

void Session::on_request(const pice::ReceivedCheck& check, const om_address& from, uint64_t now_us, Base base)
{
    ++checks_received_;
    if (!has_base(base)) {
        drop("requests_unexpected_base");
        return;
    }
    if (state_ == SessionState::Failed || state_ == SessionState::Expired) {
        // A session that ended grants nothing: no answer, so the peer's consent runs out too.
        drop("requests_after_end");
        return;
    }
    // §7.3.1.1 role conflicts: the larger tie-breaker ends up controlling.
    if (check.sender_role && *check.sender_role == config_.role) {
        const bool ours_larger = config_.tie_breaker >= check.tie_breaker;
        const bool controlling = config_.role == Role::Controlling;
        if (controlling == ours_larger) {
            // Controlling with the larger one, or controlled with the smaller: the sender switches.
            answer(check.id, from, base, 487);
            drop("role_conflicts_answered");
            return;
        }
        switch_role();  // controlling with the smaller one yields; controlled with the larger takes over
        drop("role_switches");
    }

    // §7.3.1.3: a source that is no known remote candidate is a peer-reflexive one.
    size_t index = SIZE_MAX;
    for (size_t i = 0; i < pairs_.size(); ++i)
        if (pairs_[i].base == base && proto::same_address(pairs_[i].remote.address, from)) index = i;
    if (index == SIZE_MAX && state_ == SessionState::Checking && reachable(from, base)) {
        const Candidate* local = local_for_family(from.family, base);
        Candidate prflx = pice::make_peer_reflexive(from, local ? local->address : config_.socket_address, check.priority);
        index = find_or_add_pair(prflx, base, now_us);
        if (index == SIZE_MAX) drop("candidates_over_limit");
    }
    if (index == SIZE_MAX) {
        // Connected (no new paths now), unreachable by the rules above, or over the pair limit.
        drop("requests_unexpected_source");
        return;
    }
    answer(check.id, from, base, 0);
    Pair& pair = pairs_[index];
    pair.peer_checked = true;
    if (check.use_candidate && config_.role == Role::Controlled) {
        // §7.3.1.5: the controlling side nominated this pair. It becomes the path once it is
        // valid, i.e. once a check of ours on it succeeded: a replayed or spoofed USE-CANDIDATE
        // from another address cannot take the path over.
        if (nominated_by_peer_ && *nominated_by_peer_ != index) pairs_[*nominated_by_peer_].nominated = false;
        pair.nominated = true;
        nominated_by_peer_ = index;
        if (pair.state == PairState::Succeeded) {
            if (state_ == SessionState::Connected) follow_nomination(index);
            else become_connected(index, now_us);
            return;
        }
        if (state_ == SessionState::Connected) {
            // A new nomination while connected: validate it now, then from tick() until it works.
            pair.nomination_checks = 1;
            send_check(index, now_us, false, false);
            pair.next_check_us = now_us + uint64_t(config_.check_interval_ms) * kUsPerMs;
            return;
        }
    }
    if (state_ == SessionState::Connected) return;
    // §7.3.1.4 triggered check: right now, with a fresh budget if the pair had given up.
    if (pair.state != PairState::Succeeded && started_ && !remote_pwd_.empty()) {
        if (pair.state == PairState::Failed) {
            pair.state = PairState::Waiting;
            pair.checks_sent = 0;
            pair.why.clear();
        }
        // The triggered check must not be the one that exhausts the pair's budget at once.
        pair.checks_sent = std::min(pair.checks_sent, config_.checks_per_pair - 1);
        pair.next_check_us = now_us;
        tick(now_us);
    }
}

bool Session::owns_transaction(const stun::TransactionId& id) const
{
    return in_flight_.count(id) != 0;
}

void Session::on_response(std::span<const uint8_t> bytes, const om_address& from, uint64_t now_us, Base base)
{
    auto id = pice::peek_response_id(bytes);
    if (!id) return;
    auto it = in_flight_.find(*id);
    if (it == in_flight_.end()) return;
    InFlight flight = it->second;
    Pair& pair = pairs_[flight.pair];
    // §7.2.5.2.1: the response must come from where the request went, to the base it left
    // from (symmetric addresses).
    if (!proto::same_address(from, pair.remote.address) || base != pair.base) {
        drop("responses_unexpected_source");
        return;
    }
    pice::ReceivedResponse response;
    auto verdict = pice::verify_check_response(bytes, remote_pwd_, response);
    if (verdict == pice::ResponseVerdict::Malformed || verdict == pice::ResponseVerdict::BadIntegrity) {
        drop(verdict == pice::ResponseVerdict::Malformed ? "responses_malformed" : "responses_bad_integrity");
        return;  // keep waiting: a forged answer must not end the transaction
    }
    in_flight_.erase(it);
    if (verdict == pice::ResponseVerdict::RoleConflict) {
        // §7.2.5.1: switch from the role the check claimed (unless a request already made us
        // switch), then check the pair again.
        if (flight.role == config_.role) {
            switch_role();
            drop("role_switches");
        }
        if (state_ == SessionState::Checking) {
            pair.next_check_us = now_us;
            if (pair.state == PairState::Failed) pair.state = PairState::Waiting;
            tick(now_us);
        }
        return;
    }
    if (verdict == pice::ResponseVerdict::Error) {
        if (flight.consent) return;  // consent: only silence counts (RFC 7675 §5.1)
        pair.state = PairState::Failed;
        pair.why = "the peer answered with STUN error " + std::to_string(response.error_code);
        if (nominating_ && *nominating_ == flight.pair) {
            nominating_.reset();
            nominate(now_us);
        }
        check_failure(now_us);
        return;
    }
    on_success(flight.pair, flight, response.mapped.value_or(om_address{}), now_us);
}

void Session::on_success(size_t index, const InFlight& flight, const om_address& mapped, uint64_t now_us)
{
    Pair& pair = pairs_[index];
    double rtt = double(now_us - flight.sent_us) / 1000.0;
    pair.rtt_ms = rtt;
    rtt_ms_ = rtt;
    ++pair.responses;
    if (flight.consent) {
        last_consent_us_ = now_us;  // RFC 7675 §5.1: consent refreshed
        return;
    }
    if (state_ == SessionState::Connected) {
        pair.state = PairState::Succeeded;
        if (config_.role == Role::Controlled && nominated_by_peer_ && *nominated_by_peer_ == index) follow_nomination(index);
        return;
    }
    if (state_ != SessionState::Checking) return;
    // §7.2.5.3.1: the mapped address names the local candidate the peer sees; a new one is a
    // local peer-reflexive candidate (this is how a Symmetric NAT's fresh mapping is learnt).
    if (mapped.family) {
        auto known = std::find_if(local_.begin(), local_.end(),
                                  [&](const Candidate& c) { return proto::same_address(c.address, mapped); });
        if (known != local_.end()) pair.local = *known;
        else {
            uint32_t prio = prflx_priority(mapped.family);
            pair.local = pice::make_peer_reflexive(mapped, pair.local.address, prio);
            local_.push_back(pair.local);
        }
    }
    pair.state = PairState::Succeeded;
    pair.why.clear();
    if (config_.role == Role::Controlling) {
        // Only the answer to the nomination in force connects (an older one that gave way is
        // just a valid pair now): both sides must end on the pair the controlled side follows.
        if (flight.use_candidate && nominating_ && *nominating_ == index) {
            pair.nominated = true;
            become_connected(index, now_us);
        } else {
            nominate(now_us);
        }
    } else if (nominated_by_peer_ && *nominated_by_peer_ == index) {
        become_connected(index, now_us);  // the nominated pair just became valid (§7.3.1.5)
    }
}

void Session::nominate(uint64_t now_us)
{
    // §8.1.1: the first pair that succeeds is nominated at once. One nomination is in force at a
    // time, until it is answered or definitely fails (its checks run out, or an error): were it
    // to give way early, its late answer and the new one could leave the two sides on different
    // pairs.
    if (state_ != SessionState::Checking || nominating_) return;
    for (size_t i = 0; i < pairs_.size(); ++i)
        if (pairs_[i].state == PairState::Succeeded) {
            nominating_ = i;
            pairs_[i].nomination_checks = 1;
            send_check(i, now_us, true, false);
            pairs_[i].next_check_us = now_us + uint64_t(config_.check_interval_ms) * kUsPerMs;
            return;
        }
}

void Session::follow_nomination(size_t index)
{
    // The controlling side nominates another pair only when its nomination of the selected one
    // went unanswered: follow it, so both sides use the same pair.
    if (!selected_ || *selected_ == index) return;
    pairs_[*selected_].nominated = false;
    selected_ = index;
    drop("renominations");
}

void Session::become_connected(size_t index, uint64_t now_us)
{
    if (state_ != SessionState::Checking) return;
    state_ = SessionState::Connected;
    selected_ = index;
    pairs_[index].state = PairState::Succeeded;
    last_consent_us_ = now_us;
    next_consent_us_ = now_us + consent_delay_us();
    // Checks of other pairs stop; their transactions are forgotten (late answers are ignored).
    for (auto it = in_flight_.begin(); it != in_flight_.end();)
        it = it->second.pair == index ? std::next(it) : in_flight_.erase(it);
}

void Session::tick(uint64_t now_us)
{
    if (state_ == SessionState::Connected) {
        if (now_us - last_consent_us_ > uint64_t(config_.consent_timeout_ms) * kUsPerMs) {
            state_ = SessionState::Expired;
            failure_ = "consent expired: no answer from " + proto::format_address(pairs_[*selected_].remote.address) +
                       " for " + std::to_string(config_.consent_timeout_ms) + " ms (RFC 7675)";
            in_flight_.clear();
            return;
        }
        if (now_us >= next_consent_us_) {
            // Old consent transactions that never got an answer are dropped to bound the map.
            for (auto it = in_flight_.begin(); it != in_flight_.end();)
                it = now_us - it->second.sent_us > uint64_t(config_.consent_timeout_ms) * kUsPerMs ? in_flight_.erase(it)
                                                                                                 : std::next(it);
            send_check(*selected_, now_us, false, true);
            next_consent_us_ = now_us + consent_delay_us();
        }
        // The peer nominated another pair: validate it (bounded) until it succeeds and we follow.
        if (config_.role == Role::Controlled && nominated_by_peer_ && *nominated_by_peer_ != *selected_) {
            Pair& next = pairs_[*nominated_by_peer_];
            if (next.state != PairState::Succeeded && now_us >= next.next_check_us &&
                next.nomination_checks < config_.checks_per_pair) {
                ++next.nomination_checks;
                send_check(*nominated_by_peer_, now_us, false, false);
                next.next_check_us = now_us + uint64_t(config_.check_interval_ms) * kUsPerMs;
            }
        }
        return;
    }
    if (state_ != SessionState::Checking || !started_) return;
    if (now_us >= deadline_us_) {
        for (auto& p : pairs_)
            if (p.state == PairState::Waiting || p.state == PairState::InProgress) {
                p.state = PairState::Failed;
                p.why = "no answer before the connection timeout (" + std::to_string(config_.budget_ms) + " ms)";
            }
        if (nominating_) pairs_[*nominating_].why = "nominated, but the nomination was not answered in time";
        failure_ = "the direct attempt ran out of time (" + std::to_string(config_.budget_ms) + " ms)";
        state_ = SessionState::Failed;
        in_flight_.clear();
        return;
    }
    if (remote_pwd_.empty()) return;  // no credentials yet: nothing can be checked
    const uint64_t interval = uint64_t(config_.check_interval_ms) * kUsPerMs;
    // §6.1.4.2: triggered checks first, then by pair priority.
    std::array<size_t, kMaxPairs> order{};
    for (size_t i = 0; i < pairs_.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.begin() + pairs_.size(), [this](size_t x, size_t y) {
        if (pairs_[x].peer_checked != pairs_[y].peer_checked) return pairs_[x].peer_checked;
        if (pairs_[x].rank != pairs_[y].rank) return pairs_[x].rank < pairs_[y].rank;
        return pairs_[x].priority > pairs_[y].priority;
    });
    for (size_t k = 0; k < pairs_.size(); ++k) {
        const size_t i = order[k];
        Pair& p = pairs_[i];
        if (p.state == PairState::Failed || now_us < p.next_check_us) continue;
        if (p.state == PairState::Succeeded) {
            // Only a nomination check in flight is retransmitted.
            if (!nominating_ || *nominating_ != i) continue;
            if (p.nomination_checks >= config_.checks_per_pair) {
                p.state = PairState::Failed;
                p.why = "succeeded, but the nomination got no answer";
                nominating_.reset();
                nominate(now_us);
                continue;
            }
            ++p.nomination_checks;
            send_check(i, now_us, true, false);
            p.next_check_us = now_us + interval;
            continue;
        }
        // A pair the peer nominated is the one both sides want: it keeps being checked until the
        // deadline rather than giving up after NatPunchRetries (the budget still bounds it).
        const bool peer_nominated = nominated_by_peer_ && *nominated_by_peer_ == i;
        if (p.checks_sent >= config_.checks_per_pair && !peer_nominated) {
            // The last check had one more interval to be answered.
            p.state = PairState::Failed;
            p.why = "no answer to " + std::to_string(p.checks_sent) + " checks in " +
                    std::to_string(p.checks_sent * config_.check_interval_ms) + " ms";
            if (nominating_ && *nominating_ == i) {
                nominating_.reset();  // another pair that worked gets the nomination
                nominate(now_us);
            }
            continue;
        }
        refill_pace(now_us);
        if (pace_tokens_ == 0) continue;  // Ta: this check waits for the next token
        // The controlling side nominates with its very first check on a pair the peer's own check
        // already came through (evidence that the path works), saving a round trip. Only one pair
        // at a time carries USE-CANDIDATE, until it is answered or definitely fails, and the
        // controlled side selects it only once its own check validated it: both sides end on the
        // same pair. (Guessing a pair without evidence was tried: an unanswered guess either
        // blocks the pair that works, or, if it gives way, its late answer can split the sides.)
        const bool likely = p.peer_checked;
        bool nominate_now = config_.role == Role::Controlling && likely && (!nominating_ || *nominating_ == i);
        if (nominate_now) nominating_ = i;
        send_check(i, now_us, nominate_now, false);
        const bool early_retry = p.checks_sent == 1 && p.checks_sent < config_.checks_per_pair &&
                                 config_.first_retry_ms && config_.first_retry_ms < config_.check_interval_ms;
        p.next_check_us = now_us + (early_retry ? uint64_t(config_.first_retry_ms) * kUsPerMs : interval);
        --pace_tokens_;
    }
    check_failure(now_us);
}

void Session::refill_pace(uint64_t now_us)
{
    if (!pace_refilled_us_ || pace_tokens_ >= kPaceBurst) {
        pace_refilled_us_ = now_us;
        return;
    }
    const uint64_t earned = (now_us - pace_refilled_us_) / kPaceUs;
    if (!earned) return;
    pace_tokens_ = static_cast<uint32_t>(std::min<uint64_t>(kPaceBurst, pace_tokens_ + earned));
    pace_refilled_us_ += earned * kPaceUs;
}

uint64_t Session::no_pairs_deadline_us() const
{
    return started_us_ + uint64_t(config_.checks_per_pair) * config_.check_interval_ms * kUsPerMs;
}

void Session::check_failure(uint64_t now_us)
{
    if (state_ != SessionState::Checking || !started_) return;
    if (pairs_.empty()) {
        // Without a candidate only the peer's own checks can reveal one (peer-reflexive): give
        // them the time one pair would get, then give up.
        if (!remote_pwd_.empty() && now_us >= no_pairs_deadline_us() && !relay_pending_ && !remote_pending_) {
            failure_ = "the peer offered no candidate this agent can reach, and no check of its arrived";
            state_ = SessionState::Failed;
        }
        return;
    }
    bool all_failed = std::all_of(pairs_.begin(), pairs_.end(), [](const Pair& p) { return p.state == PairState::Failed; });
    if (!all_failed || relay_pending_ || remote_pending_) return;  // candidates still to come: the deadline decides
    state_ = SessionState::Failed;
    in_flight_.clear();
}

uint64_t Session::next_wakeup_us() const
{
    if (state_ == SessionState::Connected) {
        uint64_t next = std::min(next_consent_us_, last_consent_us_ + uint64_t(config_.consent_timeout_ms) * kUsPerMs + 1);
        if (config_.role == Role::Controlled && nominated_by_peer_ && *nominated_by_peer_ != *selected_) {
            const Pair& p = pairs_[*nominated_by_peer_];
            if (p.state != PairState::Succeeded && p.nomination_checks < config_.checks_per_pair)
                next = std::min(next, p.next_check_us);
        }
        return next;
    }
    if (state_ != SessionState::Checking || !started_) return 0;
    uint64_t next = deadline_us_;
    if (remote_pwd_.empty()) return next;
    // Candidates still to come: nothing is due before the budget (or their arrival, which ticks).
    if (pairs_.empty()) return relay_pending_ || remote_pending_ ? next : std::min(next, no_pairs_deadline_us());
    for (const auto& p : pairs_) {
        if (p.state == PairState::Waiting || p.state == PairState::InProgress)
            next = std::min(next, std::max(p.next_check_us, next_pace_us()));
        else if (p.state == PairState::Succeeded && nominating_ && &p == &pairs_[*nominating_])
            next = std::min(next, p.next_check_us);
    }
    return next;
}

void Session::end(const std::string& why)
{
    if (state_ == SessionState::Failed || state_ == SessionState::Expired) return;
    state_ = state_ == SessionState::Connected ? SessionState::Expired : SessionState::Failed;
    failure_ = why;
    in_flight_.clear();
}

const Pair* Session::selected() const
{
    return selected_ ? &pairs_[*selected_] : nullptr;
}

std::string Session::diagnosis() const
{
    std::string out = failure_;
    for (const auto& p : pairs_) {
        if (p.state != PairState::Failed) continue;
        out += (out.empty() ? "" : "; ") + describe(p.local) + " -> " + describe(p.remote) + ": " + p.why;
    }
    if (out.empty() && pairs_.empty()) out = "no candidate pairs";
    return out;
}

} // namespace om::ice
