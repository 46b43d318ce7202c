// libFuzzer target for delivery-quic's message framing (plugins/delivery-quic/message_framing.*).
// Input: byte 0 picks a split point, the rest is one stream's bytes (and, separately, one
// DATAGRAM frame). For each input it:
//  - feeds the stream decoder the bytes whole, split in two at the chosen point, and one byte at
//    a time: the three must deliver the same messages (mode, channel, bytes, consumed) and end
//    in the same state with the same reason;
//  - checks every message is of a stream mode, at most OM_MAX_RELIABLE_MESSAGE bytes, that the
//    consumed counts add up, that a refusal (feed or finish) always says why;
//  - re-encodes the messages canonically and decodes them again to the same messages;
//  - decodes the bytes as a datagram: a message or a reason; a message re-encodes and decodes
//    to the same mode, channel, sequence and payload.
// A broken invariant prints what broke and calls abort(), which libFuzzer reports as a crash.
// Built with clang -fsanitize=fuzzer by scripts/fuzz, and with g++ into the corpus replay test.
#include "message_framing.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace om::quic;

namespace {

[[noreturn]] void broken(const char* what, const std::string& detail = {})
{
    std::fprintf(stderr, "quic_framing_fuzz: invariant broken: %s %s\n", what, detail.c_str());
    std::abort();
}

void expect(bool condition, const char* what, const std::string& detail = {})
{
    if (!condition) broken(what, detail);
}

struct Got {
    om_delivery_mode mode;
    uint8_t channel;
    std::vector<uint8_t> bytes;
    size_t consumed;
    bool operator==(const Got&) const = default;
};

struct Collect final : StreamDecoder::Sink {
    std::vector<Got> got;
    size_t consumed = 0;
    void on_message(om_delivery_mode mode, uint8_t channel, std::span<const uint8_t> message, size_t used) override
    {
        expect(is_stream_mode(mode), "message of a non-stream mode");
        expect(message.size() <= OM_MAX_RELIABLE_MESSAGE, "message above OM_MAX_RELIABLE_MESSAGE");
        expect(used >= message.size() + 1, "consumed smaller than the message and its prefix");
        got.push_back({mode, channel, {message.begin(), message.end()}, used});
        consumed += used;
    }
    void on_discarded(size_t used) override
    {
        expect(got.empty(), "a probe stream delivered a message");
        consumed += used;
        discarded += used;
    }
    size_t discarded = 0;
};

struct Run {
    Collect sink;
    StreamDecoder decoder;
    bool ok = true;
    bool finished = false;
};

void check_run(Run& r, size_t fed)
{
    expect(r.ok == (r.decoder.state() != StreamDecoder::State::Failed), "feed result disagrees with state");
    expect(r.ok || !r.decoder.why().empty(), "stream refused without a reason");
    expect(r.sink.consumed <= fed, "consumed more bytes than were fed");
    expect(r.decoder.buffered() <= OM_MAX_RELIABLE_MESSAGE + 8, "decoder holds more than one message");
    // A probe stream discards every byte it is fed, its header included.
    if (r.ok && r.decoder.state() == StreamDecoder::State::Probe)
        expect(r.sink.discarded == fed && r.sink.got.empty(), "a probe stream did not discard all it got");
    if (r.ok && r.decoder.state() == StreamDecoder::State::Length && r.decoder.buffered() == 0)
        expect(r.sink.consumed + (r.sink.got.empty() ? kStreamHeaderSize : 0) == fed, "consumed bytes do not add up",
               std::to_string(r.sink.consumed) + " of " + std::to_string(fed));
    r.finished = r.decoder.finish();
    expect(r.finished || !r.decoder.why().empty(), "finish refused without a reason");
    if (r.finished)
        expect(r.ok && (r.decoder.state() == StreamDecoder::State::Length || r.decoder.state() == StreamDecoder::State::Probe),
               "finish accepted a cut stream");
}

void expect_same(const Run& a, const Run& b, const char* how)
{
    expect(a.sink.got == b.sink.got, how, "messages differ");
    expect(a.ok == b.ok && a.finished == b.finished, how, "outcome differs");
    expect(a.decoder.why() == b.decoder.why(), how, a.decoder.why() + " vs " + b.decoder.why());
    expect(a.decoder.messages() == b.decoder.messages(), how, "message count differs");
}

void fuzz_stream(std::span<const uint8_t> bytes, size_t split)
{
    Run whole;
    whole.ok = whole.decoder.feed(bytes, whole.sink);
    check_run(whole, bytes.size());

    Run halves;
    halves.ok = halves.decoder.feed(bytes.first(split), halves.sink);
    if (halves.ok) expect(halves.decoder.feed({}, halves.sink), "an empty feed failed");
    halves.ok = halves.decoder.feed(bytes.subspan(split), halves.sink) && halves.ok;
    check_run(halves, bytes.size());
    expect_same(whole, halves, "split in two:");

    Run single;
    for (size_t i = 0; i < bytes.size(); ++i) single.ok = single.decoder.feed(bytes.subspan(i, 1), single.sink) && single.ok;
    check_run(single, bytes.size());
    expect_same(whole, single, "byte by byte:");

    if (!whole.ok || !whole.decoder.has_header() || whole.decoder.state() == StreamDecoder::State::Probe) return;
    // Canonical re-encoding: header, then each message with a minimal length prefix.
    std::vector<uint8_t> again(kStreamHeaderSize);
    write_stream_header(whole.decoder.mode(), whole.decoder.channel(), again.data());
    for (const auto& m : whole.sink.got) {
        expect(m.mode == whole.decoder.mode() && m.channel == whole.decoder.channel(), "message header changed");
        uint8_t prefix[kMaxLengthPrefix];
        const size_t n = write_length_prefix(m.bytes.size(), prefix);
        expect(n <= kMaxLengthPrefix && n == varint_size(m.bytes.size()), "length prefix size");
        again.insert(again.end(), prefix, prefix + n);
        again.insert(again.end(), m.bytes.begin(), m.bytes.end());
    }
    Run re;
    re.ok = re.decoder.feed(again, re.sink);
    check_run(re, again.size());
    expect(re.ok && re.finished, "re-encoded stream refused:", re.decoder.why());
    expect(re.sink.got.size() == whole.sink.got.size(), "re-encoded stream: message count");
    for (size_t i = 0; i < re.sink.got.size(); ++i)
        expect(re.sink.got[i].bytes == whole.sink.got[i].bytes, "re-encoded stream: message differs");
}

void fuzz_datagram(std::span<const uint8_t> bytes)
{
    std::string why;
    const auto m = decode_datagram(bytes, &why);
    expect(m.has_value() == why.empty(), "datagram: a message and a reason, or neither");
    if (!m) return;
    expect(is_datagram_mode(m->mode), "datagram of a non-datagram mode");
    expect(m->payload.data() >= bytes.data() && m->payload.data() + m->payload.size() == bytes.data() + bytes.size(),
           "datagram payload outside the input");
    expect(m->mode == OM_DELIVERY_SEQUENCED || m->sequence == 0, "unreliable datagram with a sequence");
    expect(m->sequence <= kMaxVarint, "sequence above 2^62-1");
    uint8_t header[kMaxSequencedHeaderSize];
    const size_t n = write_datagram_header(m->mode, m->channel, m->sequence, header);
    expect(n == datagram_header_size(m->mode, m->sequence), "datagram_header_size disagrees");
    std::vector<uint8_t> again(header, header + n);
    again.insert(again.end(), m->payload.begin(), m->payload.end());
    const auto back = decode_datagram(again, &why);
    expect(back && back->mode == m->mode && back->channel == m->channel && back->sequence == m->sequence &&
               back->payload.size() == m->payload.size() &&
               (m->payload.empty() || std::memcmp(back->payload.data(), m->payload.data(), m->payload.size()) == 0),
           "re-encoded datagram differs");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size == 0) return 0;
    const std::span<const uint8_t> bytes(data + 1, size - 1);
    const size_t split = bytes.size() * data[0] / 255;
    fuzz_stream(bytes, split);
    fuzz_datagram(bytes);
    // The varint reader on its own: a value of the announced size, re-encoded to the same value.
    if (const auto v = read_varint(bytes)) {
        expect(v->size == (size_t{1} << (bytes[0] >> 6)) && v->value <= kMaxVarint, "read_varint size or value");
        uint8_t out[8];
        const size_t n = write_varint(v->value, out);
        const auto back = read_varint({out, n});
        expect(back && back->value == v->value && n <= v->size, "varint round trip");
    } else {
        expect(bytes.size() < (bytes.empty() ? 1 : size_t{1} << (bytes[0] >> 6)), "read_varint refused a whole varint");
    }
    return 0;
}
