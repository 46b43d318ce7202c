// Signaling messages (libs/proto/signal_message.*): round trips, strict decoding, hostile input.
#include "proto/signal_message.h"
#include "proto/ws_frame.h"

#include <catch2/catch.hpp>
#include <msgpack.hpp>

#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace om::proto::signaling;

namespace {

using Bytes = std::vector<uint8_t>;

// Hand-built msgpack, for messages the encoder would never write.
class Raw {
public:
    Raw& map(uint32_t n) { return pk_.pack_map(n), *this; }
    Raw& array(uint32_t n) { return pk_.pack_array(n), *this; }
    Raw& str(std::string_view s)
    {
        pk_.pack_str(static_cast<uint32_t>(s.size()));
        pk_.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
        return *this;
    }
    Raw& uint(uint64_t v) { return pk_.pack_uint64(v), *this; }
    Raw& sint(int64_t v) { return pk_.pack_int64(v), *this; }
    Raw& boolean(bool b) { return (b ? pk_.pack_true() : pk_.pack_false()), *this; }
    Raw& nil() { return pk_.pack_nil(), *this; }
    Raw& bin(size_t n)
    {
        std::string body(n, 'x');
        pk_.pack_bin(static_cast<uint32_t>(n));
        pk_.pack_bin_body(body.data(), static_cast<uint32_t>(n));
        return *this;
    }
    Raw& raw(std::initializer_list<uint8_t> bytes)
    {
        for (uint8_t b : bytes) buffer_.write(reinterpret_cast<const char*>(&b), 1);
        return *this;
    }
    // {"v":version,"t":type, …extra_fields to follow}
    Raw& header(std::string_view type, uint32_t extra_fields, uint64_t version = 1)
    {
        return map(2 + extra_fields).str("v").uint(version).str("t").str(type);
    }
    Bytes bytes() const { return Bytes(buffer_.data(), buffer_.data() + buffer_.size()); }

private:
    msgpack::sbuffer buffer_;
    msgpack::packer<msgpack::sbuffer> pk_{buffer_};
};

DecodeError error_of(const Bytes& bytes, const Limits& limits = {})
{
    DecodeResult result = decode(bytes, limits);
    REQUIRE_FALSE(result);
    CHECK_FALSE(result.error.message.empty());
    return result.error;
}

const NatInfo kNat{"Symmetric", "203.0.113.21:4500", "AddressAndPortDependent", "AddressAndPortDependent"};
const std::string kHostCandidate = "candidate:1 1 udp 2130706431 192.0.2.1 4000 typ host";
const std::string kSrflxCandidate = "candidate:2 1 udp 1694498815 203.0.113.21 4500 typ srflx raddr 0.0.0.0 rport 0";

std::vector<Message> samples()
{
    Bytes every_byte(256);
    for (size_t i = 0; i < every_byte.size(); ++i) every_byte[i] = static_cast<uint8_t>(i);
    return {
        Register{"agent-a", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln", kNat, std::vector<std::string>{"relay", "turn"}},
        Register{"b"},
        Registered{"agent-a", "s-7f3a", 1700000000123ULL, 15000},
        ConnectRequest{"alice", "bob", 7, {kHostCandidate, kSrflxCandidate}, "Uf+1", "pwd/pwd+pwd0123456789abc", kNat},
        ConnectRequest{std::nullopt, "bob", std::numeric_limits<uint32_t>::max(), {}, "ufrg", "pw", std::nullopt},
        ConnectResponse{"bob", "alice", 7, true, std::nullopt, {kHostCandidate}, "abcd", "efgh", NatInfo{"Open", std::nullopt, std::nullopt, std::nullopt}},
        ConnectResponse{std::nullopt, "alice", 8, false, "busy — try later", {}, "", "", std::nullopt},
        Candidate{"alice", "bob", kSrflxCandidate},
        Candidate{std::nullopt, "bob", kHostCandidate},
        Relay{"alice", "bob", std::numeric_limits<uint64_t>::max(), 3, every_byte},
        Relay{std::nullopt, "bob", 0, 0, {}},
        Ping{0},
        Ping{std::numeric_limits<uint64_t>::max()},
        Pong{42},
        Error{404, "no agent 'carol'", "connect_request"},
        Error{503, "", std::nullopt},
    };
}

} // namespace

TEST_CASE("signal: every message survives encode and decode", "[signal]")
{
    std::set<MessageType> types;
    for (const Message& message : samples()) {
        INFO(type_name(type_of(message)));
        Bytes bytes = encode(message);
        DecodeResult result = decode(bytes);
        INFO(result.error.message);
        REQUIRE(result);
        CHECK(*result.message == message);
        CHECK(encode(*result.message) == bytes);
        types.insert(type_of(message));
    }
    CHECK(types.size() == std::variant_size_v<Message>);
}

TEST_CASE("signal: the docs/protocol.md example bytes", "[signal]")
{
    Bytes expected = {0x83, 0xa1, 0x76, 0x01, 0xa1, 0x74, 0xa8, 0x72, 0x65, 0x67, 0x69, 0x73, 0x74,
                      0x65, 0x72, 0xa2, 0x69, 0x64, 0xa5, 0x61, 0x6c, 0x69, 0x63, 0x65};
    Bytes bytes = encode(Register{"alice"});
    CHECK(bytes == expected);
    using namespace om::proto::ws;
    Bytes client_frame = {0x82, 0x98, 0x37, 0xfa, 0x21, 0x3d, 0xb4, 0x5b, 0x57, 0x3c, 0x96, 0x8e, 0x89, 0x4f, 0x52,
                          0x9d, 0x48, 0x4e, 0x43, 0x9f, 0x53, 0x9f, 0x5e, 0x9e, 0x84, 0x5c, 0x5b, 0x93, 0x42, 0x58};
    CHECK(encode_frame(Opcode::Binary, bytes, MaskKey{0x37, 0xfa, 0x21, 0x3d}) == client_frame);
    Bytes server_frame = encode_frame(Opcode::Binary, bytes);
    CHECK(server_frame[0] == 0x82);
    CHECK(server_frame[1] == 0x18);
}

TEST_CASE("signal: another protocol version is unsupported_version, naming it", "[signal]")
{
    for (uint64_t version : {0ULL, 2ULL, 99ULL}) {
        // Version is checked before the type: a v2 message may use a type v1 does not know.
        auto e = error_of(Raw().header("hello_v2", 0, version).bytes());
        CHECK(e.kind == DecodeErrorKind::UnsupportedVersion);
        CHECK_THAT(e.message, Catch::Contains("version " + std::to_string(version)));
        CHECK(e.code() == ErrorCode::UnsupportedVersion);
        CHECK(error_reply(e).code == 426);
    }
    CHECK(error_of(Raw().map(2).str("t").str("ping").str("nonce").uint(1).bytes()).kind == DecodeErrorKind::MissingField);
    CHECK(error_of(Raw().map(2).str("v").str("1").str("t").str("ping").bytes()).kind == DecodeErrorKind::WrongType);
    CHECK(std::string(decode_error_kind_name(DecodeErrorKind::UnsupportedVersion)) == "unsupported_version");
}

TEST_CASE("signal: an unknown type is unknown_type, naming it", "[signal]")
{
    auto e = error_of(Raw().header("teleport", 1).str("to").str("mars").bytes());
    CHECK(e.kind == DecodeErrorKind::UnknownType);
    CHECK_THAT(e.message, Catch::Contains("'teleport'"));
    CHECK(e.type == "teleport");
    Error reply = error_reply(e);
    CHECK(reply.code == 400);
    CHECK(reply.ref == std::optional<std::string>("teleport"));
    CHECK(decode(encode(reply)));  // the reply itself is a valid message

    // A hostile type name is neither echoed raw nor used as ref.
    auto hostile = error_of(Raw().header(std::string(300, 'x') + "\n", 0).bytes());
    CHECK(hostile.kind == DecodeErrorKind::UnknownType);
    CHECK(hostile.type.empty());
    CHECK(hostile.message.size() < 120);
    CHECK_FALSE(error_reply(hostile).ref);
    CHECK(error_of(Raw().map(1).str("v").uint(1).bytes()).kind == DecodeErrorKind::MissingField);
    CHECK(error_of(Raw().map(2).str("v").uint(1).str("t").uint(3).bytes()).kind == DecodeErrorKind::WrongType);
}

TEST_CASE("signal: required fields must be present", "[signal]")
{
    auto e = error_of(Raw().header("relay", 3).str("to").str("bob").str("seq").uint(1).str("mode").uint(0).bytes());
    CHECK(e.kind == DecodeErrorKind::MissingField);
    CHECK_THAT(e.message, Catch::Contains("'data'"));
    CHECK(e.type == "relay");
    CHECK(error_reply(e).ref == std::optional<std::string>("relay"));
    CHECK(error_of(Raw().header("ping", 0).bytes()).kind == DecodeErrorKind::MissingField);
    // Inside nat, "type" is required.
    auto nested = error_of(Raw().header("register", 2).str("id").str("a").str("nat").map(0).bytes());
    CHECK(nested.kind == DecodeErrorKind::MissingField);
    CHECK_THAT(nested.message, Catch::Contains("'nat.type'"));
}

TEST_CASE("signal: fields of the wrong type are refused", "[signal]")
{
    struct Case {
        Bytes bytes;
        const char* field;
    };
    std::vector<Case> cases = {
        {Raw().header("ping", 1).str("nonce").str("1").bytes(), "nonce"},
        {Raw().header("ping", 1).str("nonce").raw({0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0}).bytes(), "nonce"},  // 1.5
        {Raw().header("ping", 1).str("nonce").raw({0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0}).bytes(), "nonce"},  // 1.0
        {Raw().header("ping", 1).str("nonce").nil().bytes(), "nonce"},
        {Raw().header("candidate", 2).str("to").uint(5).str("candidate").str(kHostCandidate).bytes(), "to"},
        {Raw().header("relay", 4).str("to").str("b").str("seq").uint(1).str("mode").uint(0).str("data").str("text").bytes(),
         "data"},
        {Raw().header("register", 2).str("id").str("a").str("nat").str("Open").bytes(), "nat"},
        {Raw().header("register", 2).str("id").str("a").str("caps").str("relay").bytes(), "caps"},
        {Raw().header("register", 2).str("id").str("a").str("token").boolean(true).bytes(), "token"},
        {Raw().header("connect_response", 7).str("to").str("a").str("request_id").uint(1).str("accept").uint(1)
             .str("candidates").array(0).str("ufrag").str("").str("pwd").str("").str("x").nil().bytes(), "accept"},
        {Raw().header("connect_request", 5).str("to").str("a").str("request_id").uint(1)
             .str("candidates").array(1).uint(7).str("ufrag").str("u").str("pwd").str("p").bytes(), "candidates"},
    };
    for (const auto& c : cases) {
        auto e = error_of(c.bytes);
        INFO(e.message);
        CHECK(e.kind == DecodeErrorKind::WrongType);
        CHECK_THAT(e.message, Catch::Contains(std::string("'") + c.field + "'"));
        CHECK(e.code() == ErrorCode::BadRequest);
    }
    auto key = error_of(Raw().map(3).str("v").uint(1).str("t").str("ping").uint(1).uint(2).bytes());
    CHECK(key.kind == DecodeErrorKind::WrongType);
    CHECK_THAT(key.message, Catch::Contains("map key"));
}

TEST_CASE("signal: values out of range or of the wrong form are invalid_value", "[signal]")
{
    auto relay = [](uint64_t mode) {
        return Raw().header("relay", 4).str("to").str("b").str("seq").uint(1).str("mode").uint(mode).str("data").bin(1).bytes();
    };
    CHECK(decode(relay(3)));
    CHECK(error_of(relay(4)).kind == DecodeErrorKind::InvalidValue);
    CHECK(error_of(Raw().header("ping", 1).str("nonce").sint(-1).bytes()).kind == DecodeErrorKind::InvalidValue);
    CHECK(error_of(Raw().header("error", 2).str("code").uint(70000).str("reason").str("").bytes()).kind ==
          DecodeErrorKind::InvalidValue);
    auto request = [](std::string_view ufrag, std::string_view candidate, uint64_t id) {
        return Raw().header("connect_request", 5).str("to").str("bob").str("request_id").uint(id)
            .str("candidates").array(1).str(candidate).str("ufrag").str(ufrag).str("pwd").str("pw").bytes();
    };
    CHECK(decode(request("ab+/", kHostCandidate, 1)));
    CHECK(error_of(request("ab:cd", kHostCandidate, 1)).kind == DecodeErrorKind::InvalidValue);
    CHECK(error_of(request("abcd", kHostCandidate + "\r\n", 1)).kind == DecodeErrorKind::InvalidValue);
    CHECK(error_of(request("abcd", kHostCandidate, 1ULL << 32)).kind == DecodeErrorKind::InvalidValue);
    auto duplicate = error_of(Raw().header("ping", 2).str("nonce").uint(1).str("nonce").uint(2).bytes());
    CHECK(duplicate.kind == DecodeErrorKind::InvalidValue);
    CHECK_THAT(duplicate.message, Catch::Contains("duplicate"));
    CHECK(error_of(Raw().header("error", 2).str("code").uint(400).str("reason").str("\xC0\x80").bytes()).kind ==
          DecodeErrorKind::InvalidValue);
}

TEST_CASE("signal: agent ids are 1-128 bytes of printable UTF-8", "[signal]")
{
    CHECK(validate_agent_id("agent-1"));
    CHECK(validate_agent_id("édouard 東京"));
    CHECK(validate_agent_id(std::string(128, 'a')));
    std::string why;
    CHECK_FALSE(validate_agent_id("", &why));
    CHECK(why == "is empty");
    CHECK_FALSE(validate_agent_id(std::string(129, 'a'), &why));
    CHECK_THAT(why, Catch::Contains("at most 128"));
    CHECK_FALSE(validate_agent_id("tab\there"));
    CHECK_FALSE(validate_agent_id(std::string("nul\0x", 5)));
    CHECK_FALSE(validate_agent_id("del\x7F"));
    CHECK_FALSE(validate_agent_id("c1\xC2\x85"));  // U+0085 NEXT LINE
    CHECK_FALSE(validate_agent_id("\xFF"));

    auto ping_from = [](std::string_view id) {
        return Raw().header("candidate", 3).str("from").str(id).str("to").str("b").str("candidate").str("c").bytes();
    };
    CHECK(decode(ping_from(std::string(128, 'a'))));
    auto too_long = error_of(ping_from(std::string(129, 'a')));
    CHECK(too_long.kind == DecodeErrorKind::TooLarge);
    CHECK_THAT(too_long.message, Catch::Contains("'from'"));
    CHECK(error_of(ping_from("a\nb")).kind == DecodeErrorKind::InvalidValue);
    CHECK(error_of(ping_from("")).kind == DecodeErrorKind::InvalidValue);
}

TEST_CASE("signal: sizes over the limits are too_large", "[signal]")
{
    Limits limits;
    limits.max_relay_bytes = 1000;
    auto relay = [](size_t size) {
        return Raw().header("relay", 4).str("to").str("b").str("seq").uint(1).str("mode").uint(0).str("data").bin(size).bytes();
    };
    CHECK(decode(relay(1000), limits));
    auto e = error_of(relay(1001), limits);
    CHECK(e.kind == DecodeErrorKind::TooLarge);
    CHECK(e.code() == ErrorCode::TooLarge);
    CHECK(error_reply(e).code == 413);
    CHECK(decode(relay(1001)));  // under the default limit

    auto token = [](size_t size) {
        return Raw().header("register", 2).str("id").str("a").str("token").str(std::string(size, 't')).bytes();
    };
    CHECK(decode(token(4096)));
    CHECK(error_of(token(4097)).kind == DecodeErrorKind::TooLarge);

    Raw many;
    many.header("connect_request", 5).str("to").str("b").str("request_id").uint(1).str("candidates").array(33);
    for (int i = 0; i < 33; ++i) many.str("c");
    CHECK(error_of(many.str("ufrag").str("u").str("pwd").str("p").bytes()).kind == DecodeErrorKind::TooLarge);

    Raw wide;
    wide.header("ping", 64).str("nonce").uint(1);
    for (int i = 0; i < 63; ++i) wide.str("x" + std::to_string(i)).uint(0);
    CHECK(error_of(wide.bytes()).kind == DecodeErrorKind::TooLarge);
}

TEST_CASE("signal: unknown fields are ignored, and nil optionals are absent", "[signal]")
{
    Bytes bytes = Raw().header("register", 5).str("id").str("alice").str("future").map(1).str("x").array(2).uint(1).str("y")
                      .str("nat").map(2).str("type").str("Open").str("hint").uint(3)
                      .str("token").nil().str("zzz").bin(4).bytes();
    DecodeResult result = decode(bytes);
    INFO(result.error.message);
    REQUIRE(result);
    const auto& reg = std::get<Register>(*result.message);
    CHECK(reg.id == "alice");
    CHECK_FALSE(reg.token);
    REQUIRE(reg.nat);
    CHECK(reg.nat->type == "Open");
    CHECK_FALSE(reg.nat->mapped_address);
}

TEST_CASE("signal: what is not one msgpack map is malformed or not_a_map", "[signal]")
{
    CHECK(error_of({}).kind == DecodeErrorKind::Malformed);
    CHECK(error_of(Raw().array(0).bytes()).kind == DecodeErrorKind::NotAMap);
    CHECK(error_of(Raw().str("v").bytes()).kind == DecodeErrorKind::NotAMap);
    Bytes two = encode(Ping{1});
    Bytes second = encode(Ping{2});
    two.insert(two.end(), second.begin(), second.end());
    CHECK_THAT(error_of(two).message, Catch::Contains("after the message"));
    CHECK(error_of({0xc1}).kind == DecodeErrorKind::Malformed);  // never-used byte
    // Nesting deeper than 8 levels, in an unknown field.
    Raw deep;
    deep.header("ping", 2).str("nonce").uint(1).str("deep");
    for (int i = 0; i < 20; ++i) deep.array(1);
    deep.uint(0);
    CHECK_THAT(error_of(deep.bytes()).message, Catch::Contains("deeper"));
    // Headers that claim 4 G entries or bytes: refused without allocating them.
    CHECK(error_of({0xdf, 0xff, 0xff, 0xff, 0xff}).kind == DecodeErrorKind::TooLarge);
    CHECK(error_of({0xdd, 0xff, 0xff, 0xff, 0xff}).kind == DecodeErrorKind::TooLarge);
    CHECK(error_of({0xdb, 0xff, 0xff, 0xff, 0xff}).kind == DecodeErrorKind::Malformed);  // truncated str
    CHECK(error_of({0xc6, 0xff, 0xff, 0xff, 0xff}).kind == DecodeErrorKind::Malformed);  // truncated bin
}

TEST_CASE("signal: hostile bytes give errors, never a crash", "[signal]")
{
    std::mt19937 rng(8839);
    auto all = samples();
    std::vector<Bytes> valid;
    for (const auto& m : all) valid.push_back(encode(m));

    // Every truncation of a valid message is an error.
    for (const Bytes& bytes : valid) {
        for (size_t cut = 0; cut < bytes.size(); ++cut) {
            DecodeResult result = decode(std::span<const uint8_t>(bytes.data(), cut));
            CHECK_FALSE(result);
        }
    }

    size_t decoded = 0;
    for (int round = 0; round < 20000; ++round) {
        Bytes input;
        switch (round % 3) {
        case 0:  // pure noise
            input.resize(rng() % 64);
            for (auto& b : input) b = static_cast<uint8_t>(rng());
            break;
        case 1:  // noise behind a plausible map header
            input.resize(1 + rng() % 64);
            for (auto& b : input) b = static_cast<uint8_t>(rng());
            input[0] = static_cast<uint8_t>(0x80 | (rng() % 16));
            break;
        default:  // a valid message with a few bytes changed
            input = valid[rng() % valid.size()];
            for (int k = 0, n = 1 + static_cast<int>(rng() % 3); k < n; ++k)
                input[rng() % input.size()] = static_cast<uint8_t>(rng());
            break;
        }
        DecodeResult result;
        REQUIRE_NOTHROW(result = decode(input));
        if (result) {
            ++decoded;  // a mutation that still makes a valid message must round-trip
            CHECK(decode(encode(*result.message)).message == result.message);
        } else {
            CHECK_FALSE(result.error.message.empty());
        }
    }
    CHECK(decoded < 20000 / 3);
}

TEST_CASE("signal: names of types and error codes", "[signal]")
{
    for (size_t i = 0; i < std::variant_size_v<Message>; ++i) {
        auto type = static_cast<MessageType>(i);
        CHECK(type_from_name(type_name(type)) == type);
    }
    CHECK_FALSE(type_from_name("Register"));
    CHECK(std::string(error_code_name(400)) == "bad_request");
    CHECK(std::string(error_code_name(409)) == "id_in_use");
    CHECK(std::string(error_code_name(426)) == "unsupported_version");
    CHECK(std::string(error_code_name(503)) == "overloaded");
    CHECK(std::string(error_code_name(999)) == "unknown");
}
