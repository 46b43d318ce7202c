// RFC 6455 §5 framing: the incremental decoder and the encoder (libs/proto/ws_frame.*).
#include "proto/ws_frame.h"

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

using namespace om::proto::ws;

namespace {

using Bytes = std::vector<uint8_t>;

Bytes bytes_of(std::string_view text) { return Bytes(text.begin(), text.end()); }

Bytes concat(std::initializer_list<Bytes> parts)
{
    Bytes out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

struct Fed {
    std::vector<Message> messages;
    Decoder::Status status = Decoder::Status::NeedMore;
};

// Feeds input in chunks of `chunk` bytes (the last one may be shorter), as a socket would.
Fed feed_in_chunks(Decoder& decoder, const Bytes& input, size_t chunk)
{
    Fed fed;
    for (size_t at = 0; at < input.size() && fed.status != Decoder::Status::Error; at += chunk) {
        std::span<const uint8_t> part(input.data() + at, std::min(chunk, input.size() - at));
        fed.status = decoder.feed(part, [&](Message& m) { fed.messages.push_back(std::move(m)); });
    }
    return fed;
}

Fed decode(Role role, const Bytes& input, size_t chunk = 1, size_t max_message_size = kDefaultMaxMessageSize)
{
    Decoder decoder(DecoderOptions{role, max_message_size});
    return feed_in_chunks(decoder, input, chunk);
}

// The error a stream gives, fed one byte at a time.
DecodeError error_of(Role role, const Bytes& input, size_t max_message_size = kDefaultMaxMessageSize)
{
    Decoder decoder(DecoderOptions{role, max_message_size});
    auto fed = feed_in_chunks(decoder, input, 1);
    REQUIRE(fed.status == Decoder::Status::Error);
    return decoder.error();
}

const MaskKey kRfcKey = {0x37, 0xfa, 0x21, 0x3d};  // the key of RFC 6455 §5.7's examples
const Bytes kUnmaskedHello = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
const Bytes kMaskedHello = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};

} // namespace

TEST_CASE("ws: RFC 6455 §5.7 single-frame unmasked and masked text messages", "[ws]")
{
    size_t chunk = GENERATE(1, 2, 3, 5, 100);
    auto client_side = decode(Role::Client, kUnmaskedHello, chunk);
    REQUIRE(client_side.messages.size() == 1);
    CHECK(client_side.messages[0].opcode == Opcode::Text);
    CHECK(client_side.messages[0].payload == bytes_of("Hello"));

    auto server_side = decode(Role::Server, kMaskedHello, chunk);
    REQUIRE(server_side.messages.size() == 1);
    CHECK(server_side.messages[0].payload == bytes_of("Hello"));

    CHECK(encode_frame(Opcode::Text, bytes_of("Hello")) == kUnmaskedHello);
    CHECK(encode_frame(Opcode::Text, bytes_of("Hello"), kRfcKey) == kMaskedHello);
}

TEST_CASE("ws: RFC 6455 §5.7 fragmented unmasked text message", "[ws]")
{
    Bytes first = {0x01, 0x03, 0x48, 0x65, 0x6c};
    Bytes second = {0x80, 0x02, 0x6c, 0x6f};
    size_t chunk = GENERATE(1, 4, 9);
    auto fed = decode(Role::Client, concat({first, second}), chunk);
    REQUIRE(fed.messages.size() == 1);
    CHECK(fed.messages[0].opcode == Opcode::Text);
    CHECK(fed.messages[0].payload == bytes_of("Hello"));

    CHECK(encode_frame(Opcode::Text, bytes_of("Hel"), std::nullopt, false) == first);
    CHECK(encode_frame(Opcode::Continuation, bytes_of("lo")) == second);
}

TEST_CASE("ws: RFC 6455 §5.7 ping and masked pong", "[ws]")
{
    Bytes ping = {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    Bytes masked_pong = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    auto client_side = decode(Role::Client, ping);
    REQUIRE(client_side.messages.size() == 1);
    CHECK(client_side.messages[0].opcode == Opcode::Ping);
    CHECK(client_side.messages[0].payload == bytes_of("Hello"));
    auto server_side = decode(Role::Server, masked_pong);
    REQUIRE(server_side.messages.size() == 1);
    CHECK(server_side.messages[0].opcode == Opcode::Pong);
    CHECK(server_side.messages[0].payload == bytes_of("Hello"));
    CHECK(encode_frame(Opcode::Ping, bytes_of("Hello")) == ping);
    CHECK(encode_frame(Opcode::Pong, bytes_of("Hello"), kRfcKey) == masked_pong);
}

TEST_CASE("ws: RFC 6455 §5.7 256-byte and 64 KiB binary headers", "[ws]")
{
    Bytes small(256, 0xab);
    Bytes large(65536, 0xcd);
    Bytes small_frame = encode_frame(Opcode::Binary, small);
    Bytes large_frame = encode_frame(Opcode::Binary, large);
    CHECK(Bytes(small_frame.begin(), small_frame.begin() + 4) == Bytes{0x82, 0x7E, 0x01, 0x00});
    CHECK(Bytes(large_frame.begin(), large_frame.begin() + 10) ==
          Bytes{0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00});
    CHECK(small_frame.size() == 4 + 256);
    CHECK(large_frame.size() == 10 + 65536);

    size_t chunk = GENERATE(1, 1000, 70000);
    auto fed = decode(Role::Client, concat({small_frame, large_frame}), chunk);
    REQUIRE(fed.messages.size() == 2);
    CHECK(fed.messages[0].opcode == Opcode::Binary);
    CHECK(fed.messages[0].payload == small);
    CHECK(fed.messages[1].payload == large);

    // Masked with a key, as a client sends them, decoded by a server.
    Bytes masked = encode_frame(Opcode::Binary, large, MaskKey{1, 2, 3, 4});
    CHECK(masked.size() == 14 + 65536);
    auto server_side = decode(Role::Server, masked, 4096);
    REQUIRE(server_side.messages.size() == 1);
    CHECK(server_side.messages[0].payload == large);
}

TEST_CASE("ws: step() stops after each message and reports what it consumed", "[ws]")
{
    Bytes two = concat({kMaskedHello, kMaskedHello});
    Decoder decoder;
    auto first = decoder.step(two);
    REQUIRE(first.status == Decoder::Status::Message);
    CHECK(first.consumed == kMaskedHello.size());
    CHECK(decoder.take_message().payload == bytes_of("Hello"));
    auto second = decoder.step(std::span<const uint8_t>(two).subspan(first.consumed));
    REQUIRE(second.status == Decoder::Status::Message);
    CHECK(second.consumed == kMaskedHello.size());
    auto rest = decoder.step({});
    CHECK(rest.status == Decoder::Status::NeedMore);
    CHECK(rest.consumed == 0);
    // The second message was not taken: the next step() drops it, so only one is ever held.
    CHECK(decoder.take_message().payload.empty());
    CHECK(decoder.heap_bytes() == 0);
}

TEST_CASE("ws: empty data and control frames are messages", "[ws]")
{
    auto fed = decode(Role::Client, concat({encode_frame(Opcode::Binary, {}), encode_frame(Opcode::Ping, {}),
                                            encode_frame(Opcode::Text, {}, std::nullopt, false),
                                            encode_frame(Opcode::Continuation, {})}));
    REQUIRE(fed.messages.size() == 3);
    CHECK(fed.messages[0].opcode == Opcode::Binary);
    CHECK(fed.messages[0].payload.empty());
    CHECK(fed.messages[1].opcode == Opcode::Ping);
    CHECK(fed.messages[2].opcode == Opcode::Text);
    CHECK(fed.messages[2].payload.empty());
}

TEST_CASE("ws: control frames interleaved with a fragmented message (§5.4)", "[ws]")
{
    MaskKey key{9, 8, 7, 6};
    Bytes stream = concat({encode_frame(Opcode::Binary, bytes_of("frag-1 "), key, false),
                           encode_frame(Opcode::Ping, bytes_of("p1"), key),
                           encode_frame(Opcode::Continuation, bytes_of("frag-2 "), key, false),
                           encode_frame(Opcode::Pong, bytes_of("p2"), key),
                           encode_frame(Opcode::Ping, {}, key),
                           encode_frame(Opcode::Continuation, bytes_of("frag-3"), key)});
    size_t chunk = GENERATE(1, 3, 1000);
    auto fed = decode(Role::Server, stream, chunk);
    REQUIRE(fed.messages.size() == 4);
    CHECK(fed.messages[0].opcode == Opcode::Ping);
    CHECK(fed.messages[0].payload == bytes_of("p1"));
    CHECK(fed.messages[1].opcode == Opcode::Pong);
    CHECK(fed.messages[2].opcode == Opcode::Ping);
    CHECK(fed.messages[3].opcode == Opcode::Binary);
    CHECK(fed.messages[3].payload == bytes_of("frag-1 frag-2 frag-3"));
}

TEST_CASE("ws: masking is required from clients and forbidden from servers (§5.1)", "[ws]")
{
    auto unmasked = error_of(Role::Server, kUnmaskedHello);
    CHECK(unmasked.close_code == CloseCode::ProtocolError);
    CHECK_THAT(unmasked.message, Catch::Contains("unmasked"));
    auto masked = error_of(Role::Client, kMaskedHello);
    CHECK(masked.close_code == CloseCode::ProtocolError);
    CHECK_THAT(masked.message, Catch::Contains("masked frame from a server"));
}

TEST_CASE("ws: reserved bits and reserved opcodes are protocol errors (§5.2)", "[ws]")
{
    for (uint8_t rsv : {0x40, 0x20, 0x10}) {
        auto e = error_of(Role::Client, {static_cast<uint8_t>(0x82 | rsv), 0x00});
        CHECK(e.close_code == CloseCode::ProtocolError);
        CHECK_THAT(e.message, Catch::Contains("RSV"));
    }
    for (uint8_t op : {0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
        auto e = error_of(Role::Client, {static_cast<uint8_t>(0x80 | op), 0x00});
        CHECK(e.close_code == CloseCode::ProtocolError);
        CHECK_THAT(e.message, Catch::Contains("reserved opcode"));
    }
}

TEST_CASE("ws: control frames are at most 125 bytes and never fragmented (§5.5)", "[ws]")
{
    CHECK_THAT(error_of(Role::Client, {0x89, 0x7E, 0x00, 0x7E}).message, Catch::Contains("125"));
    CHECK_THAT(error_of(Role::Client, {0x89, 0x7F}).message, Catch::Contains("125"));
    CHECK_THAT(error_of(Role::Client, {0x09, 0x00}).message, Catch::Contains("fragmented control"));
    // 125 bytes is fine.
    auto fed = decode(Role::Client, encode_frame(Opcode::Ping, Bytes(125, 1)));
    REQUIRE(fed.messages.size() == 1);
    CHECK(fed.messages[0].payload.size() == 125);
    // The encoder refuses what the decoder would.
    CHECK(encode_frame(Opcode::Ping, Bytes(126, 1)).empty());
    CHECK(encode_frame(Opcode::Close, {}, std::nullopt, false).empty());
    CHECK(encode_frame(static_cast<Opcode>(0x3), {}).empty());
}

TEST_CASE("ws: continuation rules of fragmented messages (§5.4)", "[ws]")
{
    CHECK_THAT(error_of(Role::Client, {0x80, 0x00}).message, Catch::Contains("no message to continue"));
    Bytes interrupted = concat({encode_frame(Opcode::Text, bytes_of("a"), std::nullopt, false),
                                encode_frame(Opcode::Binary, bytes_of("b"))});
    CHECK_THAT(error_of(Role::Client, interrupted).message, Catch::Contains("before the fragmented message ended"));
}

TEST_CASE("ws: lengths must be minimal and the 64-bit MSB clear (§5.2)", "[ws]")
{
    CHECK_THAT(error_of(Role::Client, {0x82, 0x7E, 0x00, 0x7D}).message, Catch::Contains("not minimally encoded"));
    CHECK_THAT(error_of(Role::Client, {0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF}).message,
               Catch::Contains("not minimally encoded"));
    CHECK_THAT(error_of(Role::Client, {0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0}).message,
               Catch::Contains("most significant bit"));
}

TEST_CASE("ws: a message over the limit is refused at its header, before any payload", "[ws]")
{
    SECTION("a 64-bit length far beyond the default limit")
    {
        Decoder decoder;  // server, 1 MiB
        // 2^40 bytes announced, then the masking key, then payload that must never be read.
        Bytes stream = {0x82, 0xFF, 0, 0, 0x01, 0, 0, 0, 0, 0, 1, 2, 3, 4, 0x55, 0x55};
        auto step = decoder.step(stream);
        REQUIRE(step.status == Decoder::Status::Error);
        CHECK(step.consumed == 14);  // the header, not one payload byte
        CHECK(decoder.error().close_code == CloseCode::MessageTooBig);
        CHECK_THAT(decoder.error().message, Catch::Contains("exceeds the limit of 1048576"));
        CHECK(decoder.heap_bytes() == 0);
    }
    SECTION("one byte over a configured limit; exactly the limit passes")
    {
        CHECK(error_of(Role::Client, encode_frame(Opcode::Binary, Bytes(1001, 0)), 1000).close_code ==
              CloseCode::MessageTooBig);
        CHECK(decode(Role::Client, encode_frame(Opcode::Binary, Bytes(1000, 0)), 7, 1000).messages.size() == 1);
    }
    SECTION("fragments that together exceed the limit")
    {
        Bytes stream = concat({encode_frame(Opcode::Binary, Bytes(600, 0), std::nullopt, false),
                               encode_frame(Opcode::Continuation, Bytes(600, 0))});
        Decoder decoder(DecoderOptions{Role::Client, 1000});
        auto fed = feed_in_chunks(decoder, stream, 1);
        CHECK(fed.status == Decoder::Status::Error);
        CHECK(decoder.error().close_code == CloseCode::MessageTooBig);
        CHECK(decoder.heap_bytes() == 0);  // the partial message is released on error
    }
    SECTION("a header announcing the maximum allocates only what arrives")
    {
        Decoder decoder(DecoderOptions{Role::Client});
        std::array<uint8_t, kMaxHeaderSize> header{};
        size_t size = encode_header(header, Opcode::Binary, kDefaultMaxMessageSize, std::nullopt);
        Bytes start(header.begin(), header.begin() + size);
        start.insert(start.end(), 10, 0x55);
        CHECK(decoder.step(start).status == Decoder::Status::NeedMore);
        CHECK(decoder.heap_bytes() < 1024);
    }
}

TEST_CASE("ws: the decoder never holds more than the message limit", "[ws]")
{
    const size_t limit = 64 * 1024;
    Decoder decoder(DecoderOptions{Role::Server, limit});
    Bytes payload(limit);
    for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i * 7);
    Bytes stream = concat({encode_frame(Opcode::Binary, std::span(payload).first(1000), MaskKey{1, 2, 3, 4}, false),
                           encode_frame(Opcode::Continuation, std::span(payload).subspan(1000), MaskKey{5, 6, 7, 8})});
    size_t max_held = 0;
    std::vector<Message> got;
    for (size_t at = 0; at < stream.size(); at += 333) {
        std::span<const uint8_t> part(stream.data() + at, std::min<size_t>(333, stream.size() - at));
        REQUIRE(decoder.feed(part, [&](Message& m) { got.push_back(std::move(m)); }) == Decoder::Status::NeedMore);
        max_held = std::max(max_held, decoder.heap_bytes());
    }
    REQUIRE(got.size() == 1);
    CHECK(got[0].payload == payload);
    CHECK(max_held <= limit);
    CHECK(decoder.heap_bytes() == 0);  // the message was handed over, not kept
}

TEST_CASE("ws: Close frames carry a valid code and a UTF-8 reason (§5.5.1, §7.4)", "[ws]")
{
    Bytes close = encode_close(CloseCode::GoingAway, "bye");
    CHECK(close == Bytes{0x88, 0x05, 0x03, 0xE9, 'b', 'y', 'e'});
    auto fed = decode(Role::Client, close);
    REQUIRE(fed.messages.size() == 1);
    CHECK(fed.messages[0].opcode == Opcode::Close);
    CloseInfo info = close_info(fed.messages[0].payload);
    CHECK(info.code == 1001);
    CHECK(info.reason == "bye");

    CHECK(close_info({}).code == static_cast<uint16_t>(CloseCode::NoStatus));
    CHECK(decode(Role::Client, encode_frame(Opcode::Close, {})).messages.size() == 1);

    CHECK_THAT(error_of(Role::Client, {0x88, 0x01, 0x03}).message, Catch::Contains("1-byte body"));
    for (uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 2000, 2999, 5000}) {
        Bytes frame = encode_frame(Opcode::Close, Bytes{static_cast<uint8_t>(code >> 8), static_cast<uint8_t>(code)});
        auto e = error_of(Role::Client, frame);
        CHECK(e.close_code == CloseCode::ProtocolError);
        CHECK_THAT(e.message, Catch::Contains(std::to_string(code)));
    }
    for (uint16_t code : {1000, 1003, 1007, 1011, 3000, 4999})
        CHECK(decode(Role::Client, encode_close(static_cast<CloseCode>(code))).messages.size() == 1);
    CHECK(error_of(Role::Client, encode_frame(Opcode::Close, Bytes{0x03, 0xE8, 0xFF})).close_code ==
          CloseCode::InvalidPayload);
}

TEST_CASE("ws: encode_close fits 125 bytes without splitting UTF-8, and drops unsendable codes", "[ws]")
{
    std::string long_reason;
    for (int i = 0; i < 100; ++i) long_reason += "\xC3\xA9";  // é, 2 bytes each
    Bytes close = encode_close(CloseCode::PolicyViolation, long_reason);
    REQUIRE(close[1] <= 125);
    auto fed = decode(Role::Client, close);
    REQUIRE(fed.messages.size() == 1);
    CHECK(close_info(fed.messages[0].payload).reason.size() == 122);  // 61 whole characters

    CHECK(encode_close(CloseCode::NoStatus, "x") == Bytes{0x88, 0x00});
    CHECK(encode_close(CloseCode::Abnormal) == Bytes{0x88, 0x00});
    Bytes masked = encode_close(CloseCode::Normal, "", kRfcKey);
    CHECK(decode(Role::Server, masked).messages.size() == 1);
}

TEST_CASE("ws: text messages must be UTF-8 (§8.1), binary ones need not", "[ws]")
{
    Bytes bad = {0xC0, 0x80};  // overlong NUL
    CHECK(error_of(Role::Client, encode_frame(Opcode::Text, bad)).close_code == CloseCode::InvalidPayload);
    CHECK(decode(Role::Client, encode_frame(Opcode::Binary, bad)).messages.size() == 1);
    Decoder lenient(DecoderOptions{Role::Client, kDefaultMaxMessageSize, false});
    CHECK(feed_in_chunks(lenient, encode_frame(Opcode::Text, bad), 1).messages.size() == 1);
    // A character split across fragments is fine once the message is whole.
    Bytes split = concat({encode_frame(Opcode::Text, Bytes{0xE2, 0x82}, std::nullopt, false),
                          encode_frame(Opcode::Continuation, Bytes{0xAC})});
    auto fed = decode(Role::Client, split);
    REQUIRE(fed.messages.size() == 1);
    CHECK(fed.messages[0].payload == Bytes{0xE2, 0x82, 0xAC});
}

TEST_CASE("ws: UTF-8 validation follows RFC 3629", "[ws]")
{
    CHECK(is_valid_utf8(""));
    CHECK(is_valid_utf8("plain ascii"));
    CHECK(is_valid_utf8("\xE2\x82\xAC"));          // €
    CHECK(is_valid_utf8("\xF0\x9F\x98\x80"));      // U+1F600
    CHECK(is_valid_utf8("\xF4\x8F\xBF\xBF"));      // U+10FFFF
    CHECK_FALSE(is_valid_utf8("\xC0\x80"));        // overlong
    CHECK_FALSE(is_valid_utf8("\xE0\x80\x80"));    // overlong
    CHECK_FALSE(is_valid_utf8("\xED\xA0\x80"));    // surrogate U+D800
    CHECK_FALSE(is_valid_utf8("\xF4\x90\x80\x80")); // above U+10FFFF
    CHECK_FALSE(is_valid_utf8("\xE2\x82"));        // truncated
    CHECK_FALSE(is_valid_utf8("\x80"));            // lone continuation
    CHECK_FALSE(is_valid_utf8("\xFF"));
    CHECK(valid_utf8_prefix("ab\xE2\x82") == 2);
}

TEST_CASE("ws: errors are sticky", "[ws]")
{
    Decoder decoder;
    CHECK(decoder.step(kUnmaskedHello).status == Decoder::Status::Error);
    CHECK(decoder.failed());
    auto again = decoder.step(kMaskedHello);
    CHECK(again.status == Decoder::Status::Error);
    CHECK(again.consumed == 0);
}

TEST_CASE("ws: hostile bytes give errors or messages, never a crash or an unbounded buffer", "[ws]")
{
    std::mt19937 rng(6455);
    const size_t limit = 4096;
    size_t errors = 0;
    for (int round = 0; round < 20000; ++round) {
        Bytes input(rng() % 300);
        for (auto& b : input) b = static_cast<uint8_t>(rng());
        if (!input.empty() && round % 2) input[0] = static_cast<uint8_t>((input[0] & 0x8F));  // clear RSV often
        Role role = round % 3 ? Role::Server : Role::Client;
        Decoder decoder(DecoderOptions{role, limit});
        size_t chunk = 1 + rng() % 17;
        auto fed = feed_in_chunks(decoder, input, chunk);
        errors += fed.status == Decoder::Status::Error;
        REQUIRE(decoder.heap_bytes() <= limit);
        for (const auto& m : fed.messages) REQUIRE(m.payload.size() <= limit);
    }
    CHECK(errors > 10000);

    // Every truncation of a valid stream is just "need more".
    Bytes valid = concat({kMaskedHello, encode_close(CloseCode::Normal, "done", kRfcKey)});
    for (size_t cut = 0; cut < valid.size(); ++cut) {
        Decoder decoder;
        auto fed = feed_in_chunks(decoder, Bytes(valid.begin(), valid.begin() + cut), 1);
        CHECK(fed.status == Decoder::Status::NeedMore);
    }
}
