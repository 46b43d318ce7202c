// ICE connectivity checks (RFC 8445 §7): a request built by one side verifies on the other, and
// everything a forger or a broken peer could send is refused with the right verdict.
#include "proto/address.h"
#include "proto/ice_check.h"
#include "proto/stun.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace ice = om::proto::ice;
namespace stun = om::proto::stun;
namespace attr = om::proto::stun::attr;

namespace {

const stun::TransactionId kId{9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0xAA, 0xBB};

// The answering side: its ufrag "RUF" with password "remote-password-123456".
constexpr const char* kTheirUfrag = "RUF";
constexpr const char* kTheirPwd = "remote-password-123456";
constexpr const char* kOurUfrag = "LUF";

std::optional<std::string> lookup(std::string_view ufrag)
{
    if (ufrag == kTheirUfrag) return std::string(kTheirPwd);
    return std::nullopt;
}

ice::CheckRequest request(bool use_candidate = true)
{
    ice::CheckRequest r;
    r.remote_ufrag = kTheirUfrag;
    r.local_ufrag = kOurUfrag;
    r.remote_pwd = kTheirPwd;
    r.priority = 1862270975u;
    r.role = ice::Role::Controlling;
    r.tie_breaker = 0x0102030405060708ull;
    r.use_candidate = use_candidate;
    return r;
}

std::vector<uint8_t> built(const ice::CheckRequest& r)
{
    std::vector<uint8_t> out(ice::kMaxCheckSize);
    const size_t n = ice::build_check_request(out, kId, r);
    REQUIRE(n > 0);
    out.resize(n);
    return out;
}

ice::CheckVerdict verify(std::span<const uint8_t> bytes, ice::ReceivedCheck* out = nullptr, std::string* owner = nullptr)
{
    ice::ReceivedCheck check;
    ice::CheckVerdict v = ice::verify_check_request(bytes, lookup, check, owner);
    if (out) *out = check;
    return v;
}

// A Binding request written attribute by attribute, for requests the builder would never make.
template <typename Fill>
std::vector<uint8_t> hand_built(Fill fill, stun::Class cls = stun::Class::Request)
{
    std::vector<uint8_t> out(512);
    stun::Builder b(out, stun::method::Binding, cls, kId);
    fill(b);
    REQUIRE_FALSE(b.failed());
    out.resize(b.finish());
    return out;
}

std::span<const uint8_t> key(const char* pwd)
{
    return {reinterpret_cast<const uint8_t*>(pwd), std::strlen(pwd)};
}

const uint8_t kTie[8] = {1, 2, 3, 4, 5, 6, 7, 8};

// Everything a valid check carries; each flag leaves one thing out or adds one.
struct Shape {
    const char* username = "RUF:LUF";
    bool priority = true;
    bool controlling = true;
    bool controlled = false;
    size_t tie_size = 8;
    bool integrity = true;
    bool fingerprint = true;
    uint16_t extra = 0;  // an extra attribute type with a 4-byte value
};

std::vector<uint8_t> shaped(const Shape& s)
{
    return hand_built([&](stun::Builder& b) {
        if (s.username) b.add_text(attr::Username, s.username);
        if (s.priority) b.add_u32(attr::Priority, 100);
        if (s.controlling) b.add_bytes(attr::IceControlling, std::span(kTie, s.tie_size));
        if (s.controlled) b.add_bytes(attr::IceControlled, std::span(kTie, s.tie_size));
        if (s.extra) b.add_u32(s.extra, 7);
        if (s.integrity) b.add_message_integrity(key(kTheirPwd));
        if (s.fingerprint) b.add_fingerprint();
    });
}

om_address address_of(const char* text)
{
    om_address a{};
    REQUIRE(om::proto::parse_address(text, 0, a));
    return a;
}

}  // namespace

TEST_CASE("a check built by one side verifies on the other with every field", "[ice_check]")
{
    const auto bytes = built(request());
    CHECK(bytes.size() <= ice::kMaxCheckSize);
    ice::ReceivedCheck check;
    std::string owner;
    REQUIRE(verify(bytes, &check, &owner) == ice::CheckVerdict::Ok);
    CHECK(owner == kTheirUfrag);
    CHECK(check.remote_ufrag == kOurUfrag);
    CHECK(check.id == kId);
    CHECK(check.priority == 1862270975u);
    REQUIRE(check.sender_role);
    CHECK(*check.sender_role == ice::Role::Controlling);
    CHECK(check.tie_breaker == 0x0102030405060708ull);
    CHECK(check.use_candidate);

    // On the wire: the tie-breaker is big-endian and FINGERPRINT comes last (RFC 8445 §16.1).
    stun::Message m;
    REQUIRE(stun::parse(bytes, m));
    const auto* tie = m.find(attr::IceControlling);
    REQUIRE(tie);
    CHECK(std::vector<uint8_t>(tie->value.begin(), tie->value.end()) == std::vector<uint8_t>{1, 2, 3, 4, 5, 6, 7, 8});
    CHECK(m.has_fingerprint);
    CHECK(bytes[bytes.size() - 8] == 0x80);  // FINGERPRINT 0x8028, the last 8 bytes
    CHECK(bytes[bytes.size() - 7] == 0x28);
    CHECK(m.integrity_offset == bytes.size() - 8 - 24);  // MESSAGE-INTEGRITY just before it

    auto controlled = request(false);
    controlled.role = ice::Role::Controlled;
    controlled.tie_breaker = 0xFFFFFFFFFFFFFFFFull;
    REQUIRE(verify(built(controlled), &check) == ice::CheckVerdict::Ok);
    CHECK(*check.sender_role == ice::Role::Controlled);
    CHECK(check.tie_breaker == 0xFFFFFFFFFFFFFFFFull);
    CHECK_FALSE(check.use_candidate);
}

TEST_CASE("a check with the wrong password or an unknown ufrag is refused", "[ice_check]")
{
    auto wrong = request();
    wrong.remote_pwd = "remote-password-123457";
    std::string owner = "unchanged";
    ice::ReceivedCheck check;
    CHECK(ice::verify_check_request(built(wrong), lookup, check, &owner) == ice::CheckVerdict::BadIntegrity);
    CHECK(owner == "unchanged");

    auto stranger = request();
    stranger.remote_ufrag = "OTHER";
    CHECK(verify(built(stranger)) == ice::CheckVerdict::UnknownUfrag);

    // The ufrag is the part before the colon: ours as the second part does not count.
    auto swapped = request();
    swapped.remote_ufrag = kOurUfrag;
    swapped.local_ufrag = kTheirUfrag;
    CHECK(verify(built(swapped)) == ice::CheckVerdict::UnknownUfrag);
}

TEST_CASE("checks missing a required attribute or with a bad one are malformed", "[ice_check]")
{
    REQUIRE(verify(shaped({})) == ice::CheckVerdict::Ok);  // the baseline is a valid check

    const auto malformed = [](Shape s, const char* what) {
        INFO(what);
        CHECK(verify(shaped(s)) == ice::CheckVerdict::Malformed);
    };
    Shape s;
    s = {}, s.fingerprint = false, malformed(s, "no FINGERPRINT");
    s = {}, s.priority = false, malformed(s, "no PRIORITY");
    s = {}, s.integrity = false, malformed(s, "no MESSAGE-INTEGRITY");
    s = {}, s.username = nullptr, malformed(s, "no USERNAME");
    s = {}, s.username = "RUFLUF", malformed(s, "USERNAME without colon");
    s = {}, s.username = ":LUF", malformed(s, "empty first part");
    s = {}, s.username = "RUF:", malformed(s, "empty second part");
    s = {}, s.controlled = true, malformed(s, "both ICE-CONTROLLING and ICE-CONTROLLED");
    s = {}, s.tie_size = 4, malformed(s, "4-byte tie-breaker");
    s = {}, s.extra = 0x7F01, malformed(s, "unknown comprehension-required attribute");

    // No role attribute at all is allowed (sender_role nullopt); unknown optional attributes too.
    ice::ReceivedCheck check;
    s = {}, s.controlling = false;
    REQUIRE(verify(shaped(s), &check) == ice::CheckVerdict::Ok);
    CHECK_FALSE(check.sender_role);
    s = {}, s.extra = 0xC001;
    CHECK(verify(shaped(s)) == ice::CheckVerdict::Ok);

    // USE-CANDIDATE has no value (RFC 8445 §16.1).
    const auto with_value = hand_built([](stun::Builder& b) {
        b.add_text(attr::Username, "RUF:LUF");
        b.add_u32(attr::Priority, 100);
        b.add_u32(attr::UseCandidate, 1);
        b.add_message_integrity(key(kTheirPwd));
        b.add_fingerprint();
    });
    CHECK(verify(with_value) == ice::CheckVerdict::Malformed);

    const uint8_t garbage[] = {0, 1, 0, 0, 0x21, 0x12, 0xA4, 0x42, 1, 2, 3};
    CHECK(verify(garbage) == ice::CheckVerdict::Malformed);
    CHECK(verify({}) == ice::CheckVerdict::Malformed);
}

TEST_CASE("responses and indications are not checks", "[ice_check]")
{
    std::vector<uint8_t> out(ice::kMaxCheckSize);
    out.resize(ice::build_check_success(out, kId, address_of("192.0.2.1:5000"), kTheirPwd));
    CHECK(verify(out) == ice::CheckVerdict::NotACheck);
    const auto indication = hand_built([](stun::Builder& b) { b.add_fingerprint(); }, stun::Class::Indication);
    CHECK(verify(indication) == ice::CheckVerdict::NotACheck);
}

TEST_CASE("any flipped bit in a check is caught, never accepted", "[ice_check]")
{
    const auto bytes = built(request());
    size_t flips = 0;
    for (size_t i = 0; i < bytes.size(); ++i) {
        for (int bit = 0; bit < 8; ++bit) {
            auto copy = bytes;
            copy[i] ^= static_cast<uint8_t>(1u << bit);
            const auto v = verify(copy);
            INFO("byte " << i << " bit " << bit << " -> " << ice::verdict_name(v));
            CHECK(v != ice::CheckVerdict::Ok);
            ++flips;
        }
    }
    CHECK(flips == bytes.size() * 8);
}

TEST_CASE("a success response carries the mapped address back, IPv4 and IPv6", "[ice_check]")
{
    for (const char* source : {"203.0.113.5:40000", "[2001:db8::5]:40001", "127.0.0.1:1"}) {
        INFO(source);
        std::vector<uint8_t> out(ice::kMaxCheckSize);
        const size_t n = ice::build_check_success(out, kId, address_of(source), kTheirPwd);
        REQUIRE(n > 0);
        out.resize(n);
        REQUIRE(ice::peek_response_id(out));
        CHECK(*ice::peek_response_id(out) == kId);

        ice::ReceivedResponse response;
        REQUIRE(ice::verify_check_response(out, kTheirPwd, response) == ice::ResponseVerdict::Success);
        CHECK(response.id == kId);
        REQUIRE(response.mapped);
        CHECK(om::proto::format_address(*response.mapped) == source);

        ice::ReceivedResponse ignored;
        CHECK(ice::verify_check_response(out, "another-password", ignored) == ice::ResponseVerdict::BadIntegrity);
        for (size_t i = 0; i < out.size(); ++i) {
            auto copy = out;
            copy[i] ^= 0x10;
            INFO("byte " << i);
            CHECK(ice::verify_check_response(copy, kTheirPwd, ignored) != ice::ResponseVerdict::Success);
        }
    }
    // A request is not a response.
    CHECK_FALSE(ice::peek_response_id(built(request())));
    ice::ReceivedResponse response;
    CHECK(ice::verify_check_response(built(request()), kTheirPwd, response) == ice::ResponseVerdict::Malformed);
}

TEST_CASE("error responses: 487 is a role conflict, others an error, unsigned ones refused", "[ice_check]")
{
    std::vector<uint8_t> out(ice::kMaxCheckSize);
    out.resize(ice::build_check_error(out, kId, 487, "Role Conflict", kTheirPwd));
    REQUIRE(out.size() > 0);
    CHECK(*ice::peek_response_id(out) == kId);
    ice::ReceivedResponse response;
    CHECK(ice::verify_check_response(out, kTheirPwd, response) == ice::ResponseVerdict::RoleConflict);
    CHECK(response.error_code == 487);
    CHECK(response.id == kId);
    CHECK(ice::verify_check_response(out, "wrong", response) == ice::ResponseVerdict::BadIntegrity);

    out.assign(ice::kMaxCheckSize, 0);
    out.resize(ice::build_check_error(out, kId, 400, "Bad Request", kTheirPwd));
    CHECK(ice::verify_check_response(out, kTheirPwd, response) == ice::ResponseVerdict::Error);
    CHECK(response.error_code == 400);

    // Without MESSAGE-INTEGRITY nothing in a response can be believed.
    out.assign(ice::kMaxCheckSize, 0);
    out.resize(ice::build_check_error(out, kId, 487, "Role Conflict", ""));
    stun::Message m;
    REQUIRE(stun::parse(out, m));
    CHECK(m.integrity_offset == 0);
    CHECK(ice::verify_check_response(out, kTheirPwd, response) == ice::ResponseVerdict::BadIntegrity);

    // A signed success without XOR-MAPPED-ADDRESS is malformed.
    const auto bare = hand_built(
        [](stun::Builder& b) {
            b.add_message_integrity(key(kTheirPwd));
            b.add_fingerprint();
        },
        stun::Class::SuccessResponse);
    CHECK(ice::verify_check_response(bare, kTheirPwd, response) == ice::ResponseVerdict::Malformed);
    // So is a signed success without FINGERPRINT (RFC 8445 §7).
    const auto unfingerprinted = hand_built(
        [](stun::Builder& b) {
            b.add_xor_address(attr::XorMappedAddress, address_of("192.0.2.1:5000"));
            b.add_message_integrity(key(kTheirPwd));
        },
        stun::Class::SuccessResponse);
    CHECK(ice::verify_check_response(unfingerprinted, kTheirPwd, response) == ice::ResponseVerdict::Malformed);
}

TEST_CASE("builders refuse a buffer that is too small; verdict names are stable", "[ice_check]")
{
    std::vector<uint8_t> tiny(40);
    CHECK(ice::build_check_request(tiny, kId, request()) == 0);
    CHECK(ice::build_check_success(tiny, kId, address_of("[2001:db8::5]:40001"), kTheirPwd) == 0);
    CHECK(ice::build_check_error(tiny, kId, 487, "Role Conflict", kTheirPwd) == 0);
    auto long_name = request();
    const std::string huge(600, 'u');
    long_name.local_ufrag = huge;
    std::vector<uint8_t> big(2048);
    CHECK(ice::build_check_request(big, kId, long_name) == 0);

    CHECK(std::string(ice::verdict_name(ice::CheckVerdict::Ok)) == "ok");
    CHECK(std::string(ice::verdict_name(ice::CheckVerdict::NotACheck)) == "not_a_check");
    CHECK(std::string(ice::verdict_name(ice::CheckVerdict::Malformed)) == "malformed");
    CHECK(std::string(ice::verdict_name(ice::CheckVerdict::UnknownUfrag)) == "unknown_ufrag");
    CHECK(std::string(ice::verdict_name(ice::CheckVerdict::BadIntegrity)) == "bad_integrity");
}
