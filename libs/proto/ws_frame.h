// WebSocket framing (RFC 6455 §5): an incremental decoder that never blocks and never holds more
// than one message, and an encoder. Pure functions over bytes, shared by the signaling server and
// the agent's signaling client. The HTTP upgrade handshake (§4) is not here.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace om::proto::ws {

// §5.2 opcodes. 0x3-0x7 and 0xB-0xF are reserved and refused by the decoder.
enum class Opcode : uint8_t {
    Continuation = 0x0,
    Text = 0x1,
    Binary = 0x2,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xA
};

// §7.4.1 status codes (any value 3000-4999 may also be cast to this type).
enum class CloseCode : uint16_t {
    Normal = 1000,
    GoingAway = 1001,
    ProtocolError = 1002,
    UnsupportedData = 1003,
    NoStatus = 1005,         // never on the wire: a Close frame with an empty body
    Abnormal = 1006,         // never on the wire: the connection dropped without a Close frame
    InvalidPayload = 1007,   // text that is not UTF-8
    PolicyViolation = 1008,
    MessageTooBig = 1009,
    MandatoryExtension = 1010,
    InternalError = 1011
};

// Which end of the connection decodes. §5.1: a client masks every frame it sends and a server masks
// none, so a Server decoder refuses unmasked frames and a Client decoder refuses masked ones.
enum class Role { Server, Client };

inline constexpr size_t kMaxHeaderSize = 14;      // §5.2: 2 + 8 (64-bit length) + 4 (masking key)
inline constexpr size_t kMaxControlPayload = 125; // §5.5
inline constexpr size_t kDefaultMaxMessageSize = size_t{1} << 20;

using MaskKey = std::array<uint8_t, 4>;

struct DecoderOptions {
    Role role = Role::Server;
    // Largest data message (all its fragments together); larger ones fail with 1009 as soon as a
    // frame header announces them, before any of their payload is buffered.
    size_t max_message_size = kDefaultMaxMessageSize;
    bool validate_utf8 = true;   // §8.1: a Text message that is not UTF-8 fails with 1007
};

// A complete data message (Text or Binary, fragments joined) or one control frame
// (Close, Ping, Pong; a Close payload has been validated: see close_info).
struct Message {
    Opcode opcode = Opcode::Binary;
    std::vector<uint8_t> payload;
};

struct DecodeError {
    CloseCode close_code = CloseCode::ProtocolError;  // what to send in the Close frame
    std::string message;                               // names the RFC 6455 rule broken
};

class Decoder {
public:
    enum class Status {
        NeedMore,  // every byte given was consumed; no message completed
        Message,   // a message completed: take_message(); bytes after `consumed` are not read yet
        Error      // the stream is invalid: error(); the decoder stays failed (send Close, then drop)
    };
    struct Step {
        Status status;
        size_t consumed;
    };

    explicit Decoder(DecoderOptions options = {});

    // Reads input until a message completes, an error is found or the input ends. Input may be cut
    // anywhere, down to one byte at a time. Never throws (short of std::bad_alloc).
    Step step(std::span<const uint8_t> input);
    // The message completed by the last step() that returned Status::Message (moved out). Take it
    // before the next step(), which drops it otherwise.
    Message take_message();

    // Runs step() over the whole input, handing each message to on_message. Returns Status::NeedMore
    // once everything was consumed, or Status::Error at the first error (the rest is not read).
    Status feed(std::span<const uint8_t> input, const std::function<void(Message&)>& on_message);

    bool failed() const { return failed_; }
    const DecodeError& error() const { return error_; }
    const DecoderOptions& options() const { return options_; }
    // Bytes held on the heap (a partial message, or a completed one not yet taken): at most
    // options().max_message_size. The partial header (kMaxHeaderSize) and one control payload
    // (kMaxControlPayload) live in fixed arrays inside the decoder.
    size_t heap_bytes() const { return data_.capacity() + (ready_ ? ready_->payload.capacity() : 0); }

private:
    enum class Phase { Header, Payload };

    bool parse_header();
    bool parse_first_two_bytes();
    bool parse_extended_header();
    void take_payload(const uint8_t* bytes, size_t count);
    void append_data(const uint8_t* bytes, size_t count);
    bool finish_frame();  // true when a message is ready
    bool fail(CloseCode code, std::string message);

    DecoderOptions options_;
    Phase phase_ = Phase::Header;
    std::array<uint8_t, kMaxHeaderSize> header_{};
    size_t header_have_ = 0;
    size_t header_need_ = 2;
    // The frame being read (§5.2).
    bool fin_ = false;
    Opcode opcode_ = Opcode::Continuation;
    bool masked_ = false;
    MaskKey mask_{};
    uint64_t remaining_ = 0;
    uint64_t frame_offset_ = 0;  // payload bytes of this frame already read (mask index, §5.3)
    // A data message being assembled from fragments (§5.4), and one control frame's payload.
    bool in_message_ = false;
    Opcode message_opcode_ = Opcode::Binary;
    std::vector<uint8_t> data_;
    std::array<uint8_t, kMaxControlPayload> control_{};
    size_t control_have_ = 0;

    std::optional<Message> ready_;
    bool failed_ = false;
    DecodeError error_;
};

// §5.5.1: a Close body is empty, or a 2-byte status code followed by a UTF-8 reason.
struct CloseInfo {
    uint16_t code = static_cast<uint16_t>(CloseCode::NoStatus);  // NoStatus when the body is empty
    std::string reason;
};
// For a payload the decoder delivered (already validated); a body too short to hold a code gives
// NoStatus.
CloseInfo close_info(std::span<const uint8_t> payload);
// §7.4: codes an endpoint may put in a Close frame (1000-1003, 1007-1014, 3000-4999).
bool is_sendable_close_code(uint16_t code);

// §5.2 header for one frame; returns its size (2 to kMaxHeaderSize bytes written to out).
size_t encode_header(std::array<uint8_t, kMaxHeaderSize>& out, Opcode opcode, uint64_t payload_size,
                     const std::optional<MaskKey>& mask, bool fin = true);
// Appends one frame (header, then the payload, masked when a key is given as §5.3 says; a client
// must pass a fresh unpredictable key per frame). Returns false and appends nothing for a frame
// §5.5 forbids: a control frame with more than 125 bytes or without FIN, or a reserved opcode.
bool append_frame(std::vector<uint8_t>& out, Opcode opcode, std::span<const uint8_t> payload,
                  const std::optional<MaskKey>& mask = std::nullopt, bool fin = true);
// One frame as bytes; empty when append_frame would refuse it.
std::vector<uint8_t> encode_frame(Opcode opcode, std::span<const uint8_t> payload,
                                  const std::optional<MaskKey>& mask = std::nullopt, bool fin = true);
// §5.5.1 Close frame. The reason is cut to fit 125 bytes without splitting a UTF-8 sequence (and
// cut before any invalid UTF-8). A code that may not be sent (NoStatus, Abnormal, …) gives an empty
// body.
std::vector<uint8_t> encode_close(CloseCode code, std::string_view reason = {},
                                  const std::optional<MaskKey>& mask = std::nullopt);

// UTF-8 as RFC 3629 defines it (no overlong forms, no surrogates, nothing above U+10FFFF).
// Also used by the signaling codec for its strings.
size_t valid_utf8_prefix(std::string_view text);  // length of the longest valid prefix
bool is_valid_utf8(std::string_view text);

const char* opcode_name(Opcode opcode);

} // namespace om::proto::ws
