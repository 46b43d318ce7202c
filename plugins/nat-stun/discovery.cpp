#include "discovery.h"

#include "classify.h"
#include "proto/address.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace om::natstun {

namespace stun = proto::stun;

namespace {

// RFC 6298 §2.2: the first RTT sample R gives RTO = R + 4·(R/2) = 3R. Its §2.4 floor of 1 s is
// for TCP; a probe on a path just measured can go faster, not below this.
constexpr uint64_t kRttRtoFactor = 3;
constexpr uint64_t kProbeRtoFloorUs = 100'000;

// Our server never answers with more than 64 bytes beyond the request (the amplification rule
// shared with server/stun). An IPv6 answer with XOR-MAPPED-ADDRESS, OTHER-ADDRESS,
// RESPONSE-ORIGIN (24 bytes each) and FINGERPRINT is 100 bytes, so IPv6 requests are padded to
// 36 bytes with PADDING (RFC 5780 §7.6). IPv4 answers (64 bytes) fit a bare 20-byte request.
constexpr size_t kAmplificationAllowance = 64;
constexpr size_t kIpv6AddressAttribute = 4 + 20;
constexpr size_t kLargestIpv6Response = stun::kHeaderSize + 3 * kIpv6AddressAttribute + 8;
constexpr size_t kPaddedIpv6Request = kLargestIpv6Response - kAmplificationAllowance;
constexpr size_t kAttributeHeader = 4;

// done must arrive within the budget: the last wait ends this much before it (5 %, at most 50 ms).
constexpr uint64_t kDeadlineMarginMaxUs = 50'000;

std::vector<uint8_t> encode_request(Test test, const stun::TransactionId& id, bool padded)
{
    std::array<uint8_t, 128> buffer{};
    stun::Builder b(buffer, stun::method::Binding, stun::Class::Request, id);
    if (test == Test::change_ip_port) b.add_change_request(true, true);
    if (test == Test::change_port) b.add_change_request(false, true);
    if (padded && b.size() + kAttributeHeader <= kPaddedIpv6Request)
        b.add_padding(kPaddedIpv6Request - b.size() - kAttributeHeader);
    const size_t size = b.finish();
    if (size == 0) throw std::logic_error("encoding a STUN Binding request failed");
    return {buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(size)};
}

bool expects_silence(Test test)
{
    return test == Test::change_ip_port || test == Test::change_port || test == Test::hairpin;
}

om_address with_port(om_address address, uint16_t port)
{
    address.port = port;
    return address;
}

}  // namespace

bool same_endpoint(const om_address& a, const om_address& b) noexcept { return same_ip(a, b) && a.port == b.port; }

Discovery::Discovery(const Settings& settings, const DiscoveryRequest& request, Io io, DiscoveryCounters& counters)
    : settings_(settings), request_(request), io_(std::move(io)), counters_(counters)
{
    if ((request.server.family != 4 && request.server.family != 6) || request.server.port == 0)
        throw std::invalid_argument("the STUN server address is not an IPv4 or IPv6 address with a port");
    if (request.timeout_ms == 0) throw std::invalid_argument("the NAT discovery budget (timeout_ms) must be positive");
    if (!io_.send) throw std::invalid_argument("NAT discovery needs a way to send");
    if (!io_.new_id) io_.new_id = stun::random_transaction_id;
    outcome_.info.struct_size = sizeof(om_nat_info);
    outcome_.info.local_address = request.local_address;
    outcome_.info.hairpin = -1;
}

// ----------------------------------------------------------------------------------------------
// Inputs

int32_t Discovery::start(uint64_t now_us)
{
    ++counters_.runs;
    const uint64_t budget_us = uint64_t{request_.timeout_ms} * 1000;
    deadline_us_ = now_us + budget_us - std::min(kDeadlineMarginMaxUs, budget_us / 20);
    begin(Test::binding, request_.server, now_us);
    if (last_send_status_ != OM_OK)
        finish(last_send_status_, "sending a Binding request to " + proto::format_address(request_.server) + " failed");
    return last_send_status_;
}

bool Discovery::on_datagram(std::span<const uint8_t> bytes, const om_address& from, uint64_t now_us)
{
    // Ours or not is decided by the transaction id alone (RFC 8489 §6.3: 96 random bits), so
    // that a malformed datagram carrying our id is counted, not handed to the application.
    if (bytes.size() < stun::kHeaderSize) return false;
    stun::TransactionId id{};
    std::memcpy(id.data(), bytes.data() + 8, id.size());
    Transaction* tx = find(id);
    if (tx == nullptr) return false;

    stun::Message m;
    std::string why;
    if (!stun::parse(bytes, m, &why)) {
        reject(&DiscoveryCounters::malformed, "malformed STUN message from " + proto::format_address(from) + ": " + why);
        return true;
    }
    if (m.method != stun::method::Binding) {
        reject(&DiscoveryCounters::unexpected, "a STUN message of method " + std::to_string(m.method) +
                                                   " carries the id of a Binding request");
        return true;
    }
    if (!tx->open()) {
        ++counters_.late;  // a duplicate, or an answer after its test ended
        return true;
    }
    accept(*tx, m, from, now_us);
    return true;
}

void Discovery::accept(Transaction& tx, const stun::Message& m, const om_address& from, uint64_t now_us)
{
    switch (m.cls) {
    case stun::Class::Request:
        // §4.5: our own request, sent to our mapped address, came back through the NAT.
        if (tx.test() != Test::hairpin) {
            reject(&DiscoveryCounters::unexpected, "a Binding request from " + proto::format_address(from) +
                                                       " carries the id of our " + test_name(tx.test()));
            return;
        }
        ++counters_.responses;
        tx.close();
        outcome_.info.hairpin = 1;
        hairpin_done_ = true;
        finish_if_complete();
        return;
    case stun::Class::Indication:
        reject(&DiscoveryCounters::unexpected, "a Binding indication carries the id of our " +
                                                   std::string(test_name(tx.test())));
        return;
    case stun::Class::SuccessResponse:
    case stun::Class::ErrorResponse:
        if (tx.test() == Test::hairpin) {
            // We sent that request to ourselves: nobody should answer it.
            reject(&DiscoveryCounters::unexpected, "a response from " + proto::format_address(from) +
                                                       " to our hairpinning request");
        } else if (m.cls == stun::Class::SuccessResponse) {
            accept_success(tx, m, from, now_us);
        } else {
            accept_error(tx, m, from, now_us);
        }
        return;
    }
}

void Discovery::on_time(uint64_t now_us)
{
    if (finished_) return;
    // Indexes, not iterators: ending one test may begin another (push_back).
    for (size_t i = 0; i < transactions_.size() && !finished_; ++i) {
        Transaction& tx = transactions_[i];
        if (!tx.open()) continue;
        if (tx.expired(now_us))
            no_answer(tx, now_us);
        else
            transmit(tx, now_us);
    }
    if (!finished_ && now_us >= deadline_us_) deadline_reached();
}

void Discovery::cancel() noexcept
{
    for (auto& tx : transactions_) tx.close();
    if (!finished_) {
        finished_ = true;
        outcome_.status = OM_ERR_CLOSED;
        outcome_.error = "NAT discovery was cancelled";
    }
}

void Discovery::fail(int32_t status, std::string error)
{
    if (!finished_) finish(status, std::move(error));
}

std::optional<uint64_t> Discovery::next_wakeup_us() const
{
    if (finished_) return std::nullopt;
    uint64_t next = deadline_us_;
    for (const auto& tx : transactions_)
        if (tx.open()) next = std::min(next, tx.next_event_us());
    return next;
}

// ----------------------------------------------------------------------------------------------
// Transactions

Schedule Discovery::schedule_for(Test test, uint64_t now_us) const
{
    const uint64_t left_us = deadline_us_ > now_us ? deadline_us_ - now_us : 0;
    if (!expects_silence(test)) return truncated_schedule(settings_.rto_ms, settings_.rc, settings_.rm, left_us);
    // RFC 8489 §6.2.1 allows an RTO from the measured RTT; without a clean sample (Karn) the
    // configured one stays.
    const uint64_t rto_us =
        rtt_us_ ? std::max(kProbeRtoFloorUs, kRttRtoFactor * *rtt_us_) : uint64_t{settings_.rto_ms} * 1000;
    // An RTO beyond the probe time would only mean a single send: cap it there (and in 32 bits).
    const auto rto_ms = static_cast<uint32_t>(std::min<uint64_t>((rto_us + 999) / 1000, settings_.probe_timeout_ms));
    return truncated_schedule(rto_ms, settings_.rc, settings_.rm,
                              std::min(left_us, uint64_t{settings_.probe_timeout_ms} * 1000));
}

void Discovery::begin(Test test, const om_address& to, uint64_t now_us)
{
    const bool padded = pad_ipv6_ && to.family == 6;
    const stun::TransactionId id = io_.new_id();
    transactions_.emplace_back(test, to, encode_request(test, id, padded), id, padded, now_us,
                               schedule_for(test, now_us));
    transmit(transactions_.back(), now_us);
}

void Discovery::transmit(Transaction& tx, uint64_t now_us)
{
    if (!tx.take_due_send(now_us)) return;
    ++(tx.transmissions() == 1 ? counters_.requests : counters_.retransmits);
    const int32_t status = io_.send(tx.destination(), tx.request());
    if (status == OM_OK) {
        if (tx.test() == Test::binding) binding_sent_ok_ = true;
        return;
    }
    ++counters_.send_errors;
    last_send_status_ = status;
}

Transaction* Discovery::find(const stun::TransactionId& id)
{
    for (auto& tx : transactions_)
        if (tx.id() == id) return &tx;
    return nullptr;
}

void Discovery::close_open(Test test)
{
    for (auto& tx : transactions_)
        if (tx.test() == test) tx.close();
}

void Discovery::reject(uint64_t DiscoveryCounters::*counter, const std::string& why)
{
    ++(counters_.*counter);
    if (io_.log) io_.log(OM_LOG_DEBUG, "ignored: " + why);
}

om_address Discovery::expected_source(const Transaction& tx) const
{
    switch (tx.test()) {
    case Test::change_ip_port: return alternate_;
    case Test::change_port: return with_port(request_.server, alternate_.port);
    default: return tx.destination();
    }
}

// ----------------------------------------------------------------------------------------------
// Answers

void Discovery::accept_success(Transaction& tx, const stun::Message& m, const om_address& from, uint64_t now_us)
{
    const bool changes = tx.test() == Test::change_ip_port || tx.test() == Test::change_port;
    if (!same_endpoint(from, expected_source(tx))) {
        if (changes && same_endpoint(from, tx.destination())) {
            // The server answered from the address we asked it to change: it ignores
            // CHANGE-REQUEST, so silence from the changed address would prove nothing.
            ++counters_.responses;
            tx.close();
            note(std::string(test_name(tx.test())) + ": the server answered from the unchanged address " +
                 proto::format_address(from) + " (it ignores CHANGE-REQUEST): filtering unknown");
            filtering_found(OM_NAT_BEHAVIOR_UNKNOWN, now_us);
            finish_if_complete();
            return;
        }
        reject(&DiscoveryCounters::unexpected, "the answer to our " + std::string(test_name(tx.test())) + " came from " +
                                                   proto::format_address(from) + ", not " +
                                                   proto::format_address(expected_source(tx)));
        return;
    }
    // RFC 8489 §6.3.4: unknown comprehension-required attributes make the response unusable.
    if (const auto unknown = stun::unknown_required(m); !unknown.empty()) {
        reject(&DiscoveryCounters::malformed, "a success response with the unknown required attribute " +
                                                  stun::attr::name(unknown.front()));
        return;
    }
    std::string why;
    const std::optional<om_address> mapped = stun::mapped_address(m, &why);
    if (!mapped) {
        reject(&DiscoveryCounters::malformed, "a Binding success response without a usable mapped address: " + why);
        return;
    }
    ++counters_.responses;
    tx.close();
    switch (tx.test()) {
    case Test::binding: binding_answered(tx, *mapped, m, from, now_us); break;
    case Test::change_ip_port:
        change_ip_port_answered_ = change_ip_port_ended_ = true;
        settle_filtering(now_us);
        break;
    case Test::change_port:
        change_port_answered_ = change_port_ended_ = true;
        settle_filtering(now_us);
        break;
    case Test::mapping_alt_ip:
        if (same_endpoint(*mapped, mapped_)) {
            mapping_found(OM_NAT_BEHAVIOR_ENDPOINT_INDEPENDENT);
        } else if (two_ips_) {
            mapped_alt_ip_ = *mapped;
            begin(Test::mapping_alt_both, alternate_, now_us);
        } else {
            // One IP: only the port changed, and the mapping changed with it.
            mapping_found(OM_NAT_BEHAVIOR_ADDRESS_AND_PORT_DEPENDENT);
        }
        break;
    case Test::mapping_alt_both:
        mapping_found(same_endpoint(*mapped, mapped_alt_ip_) ? OM_NAT_BEHAVIOR_ADDRESS_DEPENDENT
                                                             : OM_NAT_BEHAVIOR_ADDRESS_AND_PORT_DEPENDENT);
        break;
    case Test::hairpin: break;  // refused in accept()
    }
    finish_if_complete();
}

void Discovery::accept_error(Transaction& tx, const stun::Message& m, const om_address& from, uint64_t now_us)
{
    // An error may come from the address we wrote to even for CHANGE-REQUEST (the server could not
    // change it); from anywhere else it is not our server's.
    if (!same_endpoint(from, tx.destination()) && !same_endpoint(from, expected_source(tx))) {
        reject(&DiscoveryCounters::unexpected, "an error response for our " + std::string(test_name(tx.test())) +
                                                   " came from " + proto::format_address(from));
        return;
    }
    const stun::Attribute* code_attribute = m.find(stun::attr::ErrorCode);
    std::string why = "no ERROR-CODE";
    const std::optional<stun::ErrorCodeValue> error =
        code_attribute ? stun::read_error_code(*code_attribute, &why) : std::nullopt;
    if (!error) {
        reject(&DiscoveryCounters::malformed, "an error response without a usable ERROR-CODE: " + why);
        return;
    }
    std::vector<uint16_t> unknown;
    if (const stun::Attribute* list = m.find(stun::attr::UnknownAttributes))
        unknown = stun::read_unknown_attributes(*list).value_or(std::vector<uint16_t>{});
    const auto lists = [&](uint16_t type) { return std::find(unknown.begin(), unknown.end(), type) != unknown.end(); };

    ++counters_.responses;
    ++counters_.error_responses;
    tx.close();
    if (error->code == 420 && tx.padded() && lists(stun::attr::Padding) && !lists(stun::attr::ChangeRequest)) {
        // §6.3.4 / RFC 5780 §7.6: a server without PADDING; ask again without it.
        pad_ipv6_ = false;
        note("the server does not understand PADDING (420): IPv6 requests go without it");
        begin(tx.test(), tx.destination(), now_us);
        return;
    }
    const std::string answer = "the server answered " + std::to_string(error->code) + " '" + error->reason + "'";
    switch (tx.test()) {
    case Test::binding:
        finish(error->code == 401 ? OM_ERR_AUTH : OM_ERR_REFUSED,
               "STUN server " + proto::format_address(from) + ": " + answer + " to a Binding request");
        return;
    case Test::change_ip_port:
    case Test::change_port:
        note(std::string(test_name(tx.test())) + ": " + answer +
             (error->code == 420 ? " (no CHANGE-REQUEST support, RFC 5780 §7.2)" : "") + ": filtering unknown");
        filtering_found(OM_NAT_BEHAVIOR_UNKNOWN, now_us);
        break;
    case Test::mapping_alt_ip:
    case Test::mapping_alt_both:
        note(std::string(test_name(tx.test())) + ": " + answer + ": mapping unknown");
        mapping_found(OM_NAT_BEHAVIOR_UNKNOWN);
        break;
    case Test::hairpin: break;  // refused in accept()
    }
    finish_if_complete();
}

void Discovery::no_answer(Transaction& tx, uint64_t now_us)
{
    tx.close();
    switch (tx.test()) {
    case Test::binding: {
        const std::string what = std::to_string(tx.transmissions()) + " Binding request(s) to " +
                                 proto::format_address(tx.destination());
        if (!binding_sent_ok_ && last_send_status_ != OM_OK)
            finish(last_send_status_, "sending " + what + " failed");
        else
            finish(OM_ERR_TIMEOUT, "no answer to " + what);
        return;
    }
    case Test::change_ip_port: change_ip_port_ended_ = true; settle_filtering(now_us); break;
    case Test::change_port: change_port_ended_ = true; settle_filtering(now_us); break;
    case Test::mapping_alt_ip:
    case Test::mapping_alt_both:
        note(std::string(test_name(tx.test())) + ": no answer from " + proto::format_address(tx.destination()) +
             ": mapping unknown");
        mapping_found(OM_NAT_BEHAVIOR_UNKNOWN);
        break;
    case Test::hairpin:
        outcome_.info.hairpin = 0;
        hairpin_done_ = true;
        break;
    }
    finish_if_complete();
}

// ----------------------------------------------------------------------------------------------
// The sequence

void Discovery::binding_answered(const Transaction& tx, const om_address& mapped, const stun::Message& m,
                                 const om_address& from, uint64_t now_us)
{
    answered_ = true;
    mapped_ = mapped;
    rtt_us_ = tx.rtt_sample_us(now_us);
    // RFC 5780 §7.3: RESPONSE-ORIGIN is informative only (coturn and others may omit it); the
    // datagram's source is what our NAT saw.
    if (const stun::Attribute* origin_attribute = m.find(stun::attr::ResponseOrigin)) {
        const std::optional<om_address> origin = stun::read_address(*origin_attribute);
        if (origin && !same_endpoint(*origin, from))
            note("RESPONSE-ORIGIN " + proto::format_address(*origin) + " differs from the source " +
                 proto::format_address(from) + " (a server behind a NAT?)");
    }
    choose_alternate(m);
    start_behaviour_tests(now_us);
}

void Discovery::choose_alternate(const stun::Message& m)
{
    // RFC 5780 §7.4 OTHER-ADDRESS; RFC 3489 servers send CHANGED-ADDRESS in its place.
    const stun::Attribute* other = m.find(stun::attr::OtherAddress);
    if (other == nullptr) other = m.find(stun::attr::ChangedAddress);
    std::string why = "absent";
    const std::optional<om_address> alternate = other ? stun::read_address(*other, &why) : std::nullopt;
    if (!alternate) {
        note("the server gives no usable OTHER-ADDRESS (" + why +
             "): it offers no RFC 5780 behaviour discovery, so mapping and filtering stay unknown");
    } else if (alternate->family != request_.server.family || same_endpoint(*alternate, request_.server)) {
        note("OTHER-ADDRESS " + proto::format_address(*alternate) +
             " is not a second address of the server's family: mapping and filtering stay unknown");
    } else {
        alternate_ = *alternate;
        two_ips_ = !same_ip(alternate_, request_.server);
        if (!two_ips_)
            note("the server offers one IP (" + proto::format_address(request_.server) +
                 "): only its alternate port is used, so endpoint-independent and address-dependent behaviour "
                 "cannot be told apart (reported as endpoint-independent mapping, address-dependent filtering)");
    }
}

void Discovery::start_behaviour_tests(uint64_t now_us)
{
    // The hairpin test goes to our own mapped address, never to the alternate one, so it may run
    // beside the filtering tests.
    begin(Test::hairpin, mapped_, now_us);
    if (alternate_.family == 0) {
        filtering_done_ = mapping_started_ = mapping_done_ = true;
        return;
    }
    if (two_ips_)
        begin(Test::change_ip_port, request_.server, now_us);
    else
        change_ip_port_ended_ = true;
    begin(Test::change_port, request_.server, now_us);
}

// RFC 5780 §4.4: an answer to II means endpoint-independent filtering; else an answer to III
// means address-dependent, none address-and-port-dependent. II and III run together, so III's
// answer only settles once II has had its time.
void Discovery::settle_filtering(uint64_t now_us)
{
    if (filtering_done_) return;
    if (change_ip_port_answered_) return filtering_found(OM_NAT_BEHAVIOR_ENDPOINT_INDEPENDENT, now_us);
    if (!change_ip_port_ended_) return;
    if (change_port_answered_) return filtering_found(OM_NAT_BEHAVIOR_ADDRESS_DEPENDENT, now_us);
    if (change_port_ended_) return filtering_found(OM_NAT_BEHAVIOR_ADDRESS_AND_PORT_DEPENDENT, now_us);
}

void Discovery::filtering_found(om_nat_behavior behavior, uint64_t now_us)
{
    if (filtering_done_) return;
    filtering_done_ = true;
    outcome_.info.filtering = behavior;
    close_open(Test::change_ip_port);
    close_open(Test::change_port);
    start_mapping_tests(now_us);
}

// RFC 5780 §4.3, only now that the filtering tests are over: these contact the alternate address.
void Discovery::start_mapping_tests(uint64_t now_us)
{
    if (mapping_started_) return;
    mapping_started_ = true;
    const om_address destination =
        two_ips_ ? with_port(alternate_, request_.server.port) : with_port(request_.server, alternate_.port);
    begin(Test::mapping_alt_ip, destination, now_us);
}

void Discovery::mapping_found(om_nat_behavior behavior)
{
    mapping_done_ = true;
    outcome_.info.mapping = behavior;
}

void Discovery::finish_if_complete()
{
    if (!finished_ && answered_ && filtering_done_ && mapping_done_ && hairpin_done_) finish(OM_OK, "");
}

void Discovery::deadline_reached()
{
    if (!answered_) return finish(OM_ERR_TIMEOUT, "no answer from " + proto::format_address(request_.server));
    for (const auto& tx : transactions_)
        if (tx.open())
            note(std::string(test_name(tx.test())) + " did not end within the budget of " +
                 std::to_string(request_.timeout_ms) + " ms: its result stays unknown");
    finish(OM_OK, "");
}

void Discovery::finish(int32_t status, std::string error)
{
    finished_ = true;
    for (auto& tx : transactions_) tx.close();
    outcome_.status = status;
    outcome_.error = std::move(error);
    outcome_.rtt_us = rtt_us_;
    om_nat_info& info = outcome_.info;
    if (!answered_) {
        info.mapping = info.filtering = OM_NAT_BEHAVIOR_UNKNOWN;
        info.hairpin = -1;
        info.server_ips_used = 0;
        info.nat_type = OM_NAT_UNKNOWN;
        return;
    }
    info.mapped_address = mapped_;
    info.server_ips_used = two_ips_ ? 2 : 1;
    info.nat_type = classify(true, same_endpoint(mapped_, request_.local_address), info.mapping, info.filtering);
}

void Discovery::note(std::string text) { outcome_.notes.push_back(std::move(text)); }

}  // namespace om::natstun
