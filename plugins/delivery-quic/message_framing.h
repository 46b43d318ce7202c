// The message framing of delivery-quic, on QUIC streams and DATAGRAM frames. Pure code over
// bytes (no ngtcp2), fuzzed by tests/fuzz/quic_framing_fuzz.cpp.
//
// A unidirectional stream (RFC 9000 §2) starts with a 2-byte header (mode, channel) and carries
// messages, each a QUIC variable-length integer (RFC 9000 §16) followed by that many bytes:
//   ReliableOrdered   one stream per (sender, channel), opened lazily, many messages;
//   ReliableUnordered one new stream per message (header + one message + FIN);
//   probe stream      header (kProbeStreamMode, 0), then bytes the receiver discards: one byte
//                     rides in every packet that carries a DATAGRAM, because ngtcp2 0.12.1 arms
//                     no probe timeout for DATAGRAM-only packets (quic_session.cpp flush).
// A DATAGRAM frame (RFC 9221) carries one message:
//   Unreliable        mode, channel, payload;
//   Sequenced         mode, channel, varint sequence number, payload.
#pragma once

#include <orbitmesh/orbitmesh.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace om::quic {

// RFC 9000 §16: 1, 2, 4 or 8 bytes; values up to 2^62-1.
constexpr uint64_t kMaxVarint = (uint64_t{1} << 62) - 1;
size_t varint_size(uint64_t value) noexcept;
// Writes value at out (which has room for varint_size(value) bytes); returns the size.
size_t write_varint(uint64_t value, uint8_t* out) noexcept;
// The value and its size, or nullopt when the bytes end before the integer does.
struct Varint {
    uint64_t value;
    size_t size;
};
std::optional<Varint> read_varint(std::span<const uint8_t> bytes) noexcept;

constexpr size_t kStreamHeaderSize = 2;
constexpr size_t kMaxLengthPrefix = 4;  // OM_MAX_RELIABLE_MESSAGE < 2^30
constexpr size_t kDatagramHeaderSize = 2;
constexpr size_t kMaxSequencedHeaderSize = 2 + 8;
// The stream header's mode byte of the probe stream (never an om_delivery_mode).
constexpr uint8_t kProbeStreamMode = 0xF0;

bool is_stream_mode(om_delivery_mode mode) noexcept;    // ReliableOrdered, ReliableUnordered
bool is_datagram_mode(om_delivery_mode mode) noexcept;  // Unreliable, Sequenced
const char* mode_name(om_delivery_mode mode) noexcept;  // "reliable-ordered", ...

// The stream header: 2 bytes at out.
void write_stream_header(om_delivery_mode mode, uint8_t channel, uint8_t* out) noexcept;
// The length prefix of a message: up to kMaxLengthPrefix bytes at out; returns the size.
size_t write_length_prefix(size_t length, uint8_t* out) noexcept;

// Header of a datagram message: writes into out (kMaxSequencedHeaderSize room), returns the size.
size_t write_datagram_header(om_delivery_mode mode, uint8_t channel, uint64_t sequence, uint8_t* out) noexcept;
size_t datagram_header_size(om_delivery_mode mode, uint64_t sequence) noexcept;

struct DatagramMessage {
    om_delivery_mode mode;
    uint8_t channel;
    uint64_t sequence;  // Sequenced only, else 0
    std::span<const uint8_t> payload;
};
// A received DATAGRAM frame's message, or nullopt with *why set (an unknown mode, a short header).
std::optional<DatagramMessage> decode_datagram(std::span<const uint8_t> bytes, std::string* why = nullptr);

// Reads one stream's bytes, split anywhere, into its header and whole messages.
// Holds at most one partial message, never more than its announced (validated) length.
class StreamDecoder {
public:
    enum class State : uint8_t { Header, Length, Body, Failed, Probe };

    // Called for each whole message; `consumed` counts the stream bytes that message used up
    // (header, prefix, body) so the caller can give that much flow-control credit back.
    struct Sink {
        virtual ~Sink() = default;
        virtual void on_message(om_delivery_mode mode, uint8_t channel, std::span<const uint8_t> message,
                                size_t consumed) = 0;
        // Bytes of a probe stream (header included), discarded: credit to give back.
        virtual void on_discarded(size_t consumed) { (void)consumed; }
    };

    // Feeds the next bytes; false once the stream is malformed (why() says how), after which
    // it ignores everything.
    bool feed(std::span<const uint8_t> bytes, Sink& sink);
    // The stream ended (FIN): false when it stops inside a header, prefix or message.
    bool finish();

    State state() const noexcept { return state_; }
    bool has_header() const noexcept { return state_ != State::Header; }
    om_delivery_mode mode() const noexcept { return mode_; }
    uint8_t channel() const noexcept { return channel_; }
    uint64_t messages() const noexcept { return messages_; }
    const std::string& why() const noexcept { return why_; }
    // Bytes held for the message being received (partial prefix, header or body).
    size_t buffered() const noexcept { return body_.size() + small_len_; }

private:
    bool fail(std::string why);

    State state_ = State::Header;
    om_delivery_mode mode_ = OM_DELIVERY_RELIABLE_ORDERED;
    uint8_t channel_ = 0;
    uint8_t small_[8]{};  // header or length prefix split across calls
    size_t small_len_ = 0;
    size_t pending_consumed_ = 0;  // bytes of the message being received so far, header included
    uint64_t expected_ = 0;        // announced body length
    std::vector<uint8_t> body_;
    uint64_t messages_ = 0;
    std::string why_;
};

}  // namespace om::quic
