// delivery-quic's message framing (plugins/delivery-quic/message_framing.*): header round trips
// of every mode and channel, the stream decoder fed the same bytes split at every point, and
// malformed streams and datagrams refused with a reason. Fuzzed by tests/fuzz/quic_framing_fuzz.cpp.
#include "message_framing.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace {

using namespace om::quic;

struct Got {
    om_delivery_mode mode;
    uint8_t channel;
    std::vector<uint8_t> bytes;
    size_t consumed;
};

struct Collect final : StreamDecoder::Sink {
    std::vector<Got> got;
    void on_message(om_delivery_mode mode, uint8_t channel, std::span<const uint8_t> m, size_t consumed) override
    {
        got.push_back({mode, channel, {m.begin(), m.end()}, consumed});
    }
    void on_discarded(size_t consumed) override { discarded += consumed; }
    size_t discarded = 0;
};

std::vector<uint8_t> stream(om_delivery_mode mode, uint8_t channel, const std::vector<std::vector<uint8_t>>& msgs)
{
    std::vector<uint8_t> out(kStreamHeaderSize);
    write_stream_header(mode, channel, out.data());
    for (const auto& m : msgs) {
        uint8_t prefix[kMaxLengthPrefix];
        const size_t n = write_length_prefix(m.size(), prefix);
        out.insert(out.end(), prefix, prefix + n);
        out.insert(out.end(), m.begin(), m.end());
    }
    return out;
}

std::vector<uint8_t> bytes_of(size_t n, uint8_t seed)
{
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 31);
    return v;
}

}  // namespace

TEST_CASE("message framing: varints round trip at every size boundary", "[quic][framing]")
{
    for (uint64_t v : {uint64_t{0}, uint64_t{63}, uint64_t{64}, uint64_t{16383}, uint64_t{16384},
                       uint64_t{(1u << 30) - 1}, uint64_t{1u << 30}, kMaxVarint}) {
        uint8_t out[8];
        const size_t n = write_varint(v, out);
        CHECK(n == varint_size(v));
        const auto back = read_varint({out, n});
        REQUIRE(back);
        CHECK(back->value == v);
        CHECK(back->size == n);
        for (size_t cut = 0; cut < n; ++cut) CHECK_FALSE(read_varint({out, cut}));  // truncated
    }
}

TEST_CASE("message framing: stream headers of both reliable modes on every channel round trip", "[quic][framing]")
{
    for (auto mode : {OM_DELIVERY_RELIABLE_ORDERED, OM_DELIVERY_RELIABLE_UNORDERED}) {
        for (int ch = 0; ch < OM_MAX_CHANNELS; ++ch) {
            const auto s = stream(mode, static_cast<uint8_t>(ch), {bytes_of(5, static_cast<uint8_t>(ch))});
            StreamDecoder d;
            Collect sink;
            REQUIRE(d.feed(s, sink));
            REQUIRE(d.finish());
            REQUIRE(sink.got.size() == 1);
            CHECK(sink.got[0].mode == mode);
            CHECK(sink.got[0].channel == ch);
            CHECK(sink.got[0].bytes == bytes_of(5, static_cast<uint8_t>(ch)));
            CHECK(sink.got[0].consumed == s.size());
        }
    }
}

TEST_CASE("message framing: datagram headers of both datagram modes on every channel round trip", "[quic][framing]")
{
    const auto payload = bytes_of(17, 3);
    for (auto mode : {OM_DELIVERY_UNRELIABLE, OM_DELIVERY_SEQUENCED}) {
        for (int ch = 0; ch < OM_MAX_CHANNELS; ++ch) {
            for (uint64_t seq : {uint64_t{1}, uint64_t{64}, uint64_t{1} << 20, kMaxVarint}) {
                uint8_t header[kMaxSequencedHeaderSize];
                const size_t n = write_datagram_header(mode, static_cast<uint8_t>(ch), seq, header);
                CHECK(n == datagram_header_size(mode, seq));
                std::vector<uint8_t> d(header, header + n);
                d.insert(d.end(), payload.begin(), payload.end());
                std::string why;
                const auto m = decode_datagram(d, &why);
                REQUIRE(m);
                CHECK(why.empty());
                CHECK(m->mode == mode);
                CHECK(m->channel == ch);
                CHECK(m->sequence == (mode == OM_DELIVERY_SEQUENCED ? seq : 0));
                CHECK(std::vector<uint8_t>(m->payload.begin(), m->payload.end()) == payload);
            }
        }
    }
}

TEST_CASE("message framing: the stream decoder gives the same messages however the bytes are split", "[quic][framing]")
{
    const std::vector<std::vector<uint8_t>> msgs{{}, bytes_of(1, 1), bytes_of(63, 2), bytes_of(64, 3),
                                                 bytes_of(300, 4), {}, bytes_of(16384, 5)};
    for (auto mode : {OM_DELIVERY_RELIABLE_ORDERED, OM_DELIVERY_RELIABLE_UNORDERED}) {
        const auto s = stream(mode, 42, msgs);
        for (size_t split = 0; split <= s.size(); ++split) {
            StreamDecoder d;
            Collect sink;
            REQUIRE(d.feed(std::span(s).first(split), sink));
            REQUIRE(d.feed(std::span(s).subspan(split), sink));
            REQUIRE(d.finish());
            REQUIRE(sink.got.size() == msgs.size());
            size_t consumed = 0;
            for (size_t i = 0; i < msgs.size(); ++i) {
                CHECK(sink.got[i].bytes == msgs[i]);
                CHECK(sink.got[i].channel == 42);
                consumed += sink.got[i].consumed;
            }
            CHECK(consumed == s.size());
            CHECK(d.messages() == msgs.size());
            CHECK(d.buffered() == 0);
        }
        // And one byte at a time.
        StreamDecoder d;
        Collect sink;
        for (size_t i = 0; i < s.size(); ++i) REQUIRE(d.feed(std::span(s).subspan(i, 1), sink));
        REQUIRE(d.finish());
        CHECK(sink.got.size() == msgs.size());
    }
}

TEST_CASE("message framing: malformed streams are refused with a reason", "[quic][framing]")
{
    const auto refused = [](std::vector<uint8_t> s, const std::string& reason_part, bool at_finish) {
        for (size_t split = 0; split <= s.size(); ++split) {
            StreamDecoder d;
            Collect sink;
            const bool fed = d.feed(std::span(s).first(split), sink) && d.feed(std::span(s).subspan(split), sink);
            const bool finished = d.finish();
            CHECK_FALSE(finished);
            CHECK(fed == at_finish);
            CHECK(d.state() == StreamDecoder::State::Failed);
            CHECK(d.why().find(reason_part) != std::string::npos);
            CHECK(d.buffered() == 0);
        }
    };
    SECTION("unknown or datagram mode bytes in the header")
    {
        for (uint8_t mode : {uint8_t{2}, uint8_t{3}, uint8_t{4}, uint8_t{0x7F}, uint8_t{0xFF}})
            refused({mode, 0, 1, 'x'}, "not a reliable mode", false);
    }
    SECTION("a length above OM_MAX_RELIABLE_MESSAGE (16 MiB)")
    {
        uint8_t prefix[8];
        const size_t n = write_varint(uint64_t{OM_MAX_RELIABLE_MESSAGE} + 1, prefix);
        std::vector<uint8_t> s{0, 0};
        s.insert(s.end(), prefix, prefix + n);
        refused(s, "exceeds " + std::to_string(OM_MAX_RELIABLE_MESSAGE), false);
        refused({0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, "exceeds", false);
    }
    SECTION("exactly 16 MiB is announced without being refused")
    {
        uint8_t prefix[8];
        const size_t n = write_varint(OM_MAX_RELIABLE_MESSAGE, prefix);
        std::vector<uint8_t> s{1, 3};
        s.insert(s.end(), prefix, prefix + n);
        StreamDecoder d;
        Collect sink;
        CHECK(d.feed(s, sink));
        CHECK(d.state() == StreamDecoder::State::Body);
        CHECK_FALSE(d.finish());
        CHECK(d.why() == "stream ended inside a message");
    }
    SECTION("streams cut inside the header, a truncated varint prefix or a message")
    {
        refused({0}, "inside its header", true);
        refused({}, "inside its header", true);
        refused({0, 5, 0x80, 0x00}, "inside a length prefix", true);            // 4-byte varint, 2 given
        refused({0, 5, 0xC0, 0, 0, 0, 0, 0, 0}, "inside a length prefix", true);  // 8-byte varint, 7 given
        refused({0, 5, 4, 'a', 'b'}, "inside a message", true);
    }
    SECTION("a failed decoder ignores what follows")
    {
        StreamDecoder d;
        Collect sink;
        CHECK_FALSE(d.feed(std::vector<uint8_t>{9, 0}, sink));
        CHECK_FALSE(d.feed(stream(OM_DELIVERY_RELIABLE_ORDERED, 0, {{1, 2}}), sink));
        CHECK(sink.got.empty());
    }
}

TEST_CASE("message framing: malformed datagrams are refused with a reason", "[quic][framing]")
{
    const auto refused = [](std::vector<uint8_t> d, const std::string& reason_part) {
        std::string why;
        CHECK_FALSE(decode_datagram(d, &why));
        CHECK(why.find(reason_part) != std::string::npos);
        CHECK_FALSE(decode_datagram(d));  // no reason asked for: still no crash
    };
    refused({}, "shorter than its 2-byte header");
    refused({2}, "shorter than its 2-byte header");
    for (uint8_t mode : {uint8_t{0}, uint8_t{1}, uint8_t{4}, uint8_t{0xFF}}) refused({mode, 0, 'x'}, "not unreliable or sequenced");
    refused({3, 0}, "cut inside its sequence number");
    refused({3, 0, 0x40}, "cut inside its sequence number");
    refused({3, 0, 0xC0, 1, 2, 3, 4, 5, 6}, "cut inside its sequence number");
    // Channels are one byte on the wire: every value 0..255 decodes, none is out of range.
    const auto m = decode_datagram(std::vector<uint8_t>{2, 255});
    REQUIRE(m);
    CHECK(m->channel == 255);
    CHECK(m->payload.empty());
}

TEST_CASE("message framing: a probe stream's bytes are discarded and given back as credit, however split", "[quic][framing]")
{
    std::vector<uint8_t> bytes = {kProbeStreamMode, 0, 0, 0, 0, 7, 0};
    for (size_t split = 0; split <= bytes.size(); ++split) {
        StreamDecoder d;
        Collect sink;
        REQUIRE(d.feed(std::span<const uint8_t>(bytes).first(split), sink));
        REQUIRE(d.feed(std::span<const uint8_t>(bytes).subspan(split), sink));
        CHECK(sink.got.empty());  // nothing reaches the application
        CHECK(sink.discarded == bytes.size());
        CHECK(d.finish());
        CHECK(d.buffered() == 0);
    }
}
