#include "proto/ws_frame.h"

#include <algorithm>
#include <cstring>

namespace om::proto::ws {
namespace {

constexpr uint8_t kFinBit = 0x80;
constexpr uint8_t kReservedBits = 0x70;  // RSV1-3
constexpr uint8_t kOpcodeBits = 0x0F;
constexpr uint8_t kMaskBit = 0x80;
constexpr uint8_t kLengthBits = 0x7F;
constexpr uint8_t kLength16 = 126;
constexpr uint8_t kLength64 = 127;

bool is_control(Opcode opcode) { return (static_cast<uint8_t>(opcode) & 0x08) != 0; }  // §5.5

bool is_known_opcode(uint8_t value)
{
    switch (static_cast<Opcode>(value)) {
    case Opcode::Continuation:
    case Opcode::Text:
    case Opcode::Binary:
    case Opcode::Close:
    case Opcode::Ping:
    case Opcode::Pong: return true;
    }
    return false;
}

uint64_t read_big_endian(const uint8_t* bytes, size_t count)
{
    uint64_t value = 0;
    for (size_t i = 0; i < count; ++i) value = (value << 8) | bytes[i];
    return value;
}

std::string hex_byte(uint8_t value)
{
    static const char digits[] = "0123456789abcdef";
    return std::string("0x") + digits[value >> 4] + digits[value & 0xF];
}

// §5.5.1 and §7.4: what is wrong with a Close body, if anything.
std::optional<DecodeError> check_close_payload(std::span<const uint8_t> payload)
{
    if (payload.empty()) return std::nullopt;
    if (payload.size() == 1)
        return DecodeError{CloseCode::ProtocolError, "Close frame with a 1-byte body (RFC 6455 §5.5.1)"};
    auto code = static_cast<uint16_t>(read_big_endian(payload.data(), 2));
    if (!is_sendable_close_code(code))
        return DecodeError{CloseCode::ProtocolError,
                           "Close frame with status code " + std::to_string(code) + " (RFC 6455 §7.4)"};
    std::string_view reason(reinterpret_cast<const char*>(payload.data()) + 2, payload.size() - 2);
    if (!is_valid_utf8(reason))
        return DecodeError{CloseCode::InvalidPayload, "Close reason is not UTF-8 (RFC 6455 §5.5.1)"};
    return std::nullopt;
}

} // namespace

// ---- Decoder ----------------------------------------------------------------------------------

Decoder::Decoder(DecoderOptions options) : options_(options) {}

Decoder::Step Decoder::step(std::span<const uint8_t> input)
{
    ready_.reset();  // a message not taken is dropped: the decoder holds one message at most
    if (failed_) return {Status::Error, 0};
    size_t pos = 0;
    while (pos < input.size()) {
        if (phase_ == Phase::Header) {
            size_t count = std::min(header_need_ - header_have_, input.size() - pos);
            std::memcpy(header_.data() + header_have_, input.data() + pos, count);
            header_have_ += count;
            pos += count;
            if (header_have_ < header_need_) continue;
            if (!parse_header()) return {Status::Error, pos};
            if (phase_ == Phase::Header || remaining_ > 0) continue;  // more header, or a payload
        } else {
            size_t count = static_cast<size_t>(std::min<uint64_t>(remaining_, input.size() - pos));
            take_payload(input.data() + pos, count);
            pos += count;
            if (remaining_ > 0) continue;
        }
        // The frame is complete.
        bool message_ready = finish_frame();
        if (failed_) return {Status::Error, pos};
        if (message_ready) return {Status::Message, pos};
    }
    return {Status::NeedMore, pos};
}

Message Decoder::take_message()
{
    Message message = ready_ ? std::move(*ready_) : Message{};
    ready_.reset();
    return message;
}

Decoder::Status Decoder::feed(std::span<const uint8_t> input, const std::function<void(Message&)>& on_message)
{
    while (true) {
        Step result = step(input);
        input = input.subspan(result.consumed);
        if (result.status != Status::Message) return result.status;
        Message message = take_message();
        on_message(message);
    }
}

bool Decoder::fail(CloseCode code, std::string message)
{
    failed_ = true;
    error_ = DecodeError{code, std::move(message)};
    std::vector<uint8_t>().swap(data_);  // release the partial message (clear() would keep its capacity)
    return false;
}

bool Decoder::parse_header()
{
    if (header_have_ == 2) {  // first stage: the two fixed bytes
        if (!parse_first_two_bytes()) return false;
        if (header_need_ > 2) return true;  // extended length and/or masking key still to come
    }
    return parse_extended_header();
}

// §5.2 base framing: FIN, RSV1-3, opcode, MASK, 7-bit length; everything that can be refused
// before reading further is refused here.
bool Decoder::parse_first_two_bytes()
{
    uint8_t b0 = header_[0];
    uint8_t b1 = header_[1];
    if (b0 & kReservedBits)
        return fail(CloseCode::ProtocolError, "reserved bits RSV1-3 set with no extension negotiated (RFC 6455 §5.2)");
    uint8_t op = b0 & kOpcodeBits;
    if (!is_known_opcode(op))
        return fail(CloseCode::ProtocolError, "reserved opcode " + hex_byte(op) + " (RFC 6455 §5.2)");
    fin_ = (b0 & kFinBit) != 0;
    opcode_ = static_cast<Opcode>(op);
    masked_ = (b1 & kMaskBit) != 0;
    uint8_t length7 = b1 & kLengthBits;

    if (options_.role == Role::Server && !masked_)
        return fail(CloseCode::ProtocolError, "unmasked frame from a client (RFC 6455 §5.1)");
    if (options_.role == Role::Client && masked_)
        return fail(CloseCode::ProtocolError, "masked frame from a server (RFC 6455 §5.1)");
    if (is_control(opcode_)) {
        if (!fin_) return fail(CloseCode::ProtocolError, "fragmented control frame (RFC 6455 §5.5)");
        if (length7 > kMaxControlPayload)
            return fail(CloseCode::ProtocolError, "control frame longer than 125 bytes (RFC 6455 §5.5)");
    } else if (opcode_ == Opcode::Continuation) {
        if (!in_message_)
            return fail(CloseCode::ProtocolError, "continuation frame with no message to continue (RFC 6455 §5.4)");
    } else if (in_message_) {
        return fail(CloseCode::ProtocolError,
                    "new data frame before the fragmented message ended (RFC 6455 §5.4)");
    }
    size_t extended = length7 == kLength16 ? 2 : length7 == kLength64 ? 8 : 0;
    header_need_ = 2 + extended + (masked_ ? 4 : 0);
    return true;
}

// §5.2 extended payload length and masking key; then the size limit, before any payload is read.
bool Decoder::parse_extended_header()
{
    uint8_t length7 = header_[1] & kLengthBits;
    size_t at = 2;
    uint64_t length = length7;
    if (length7 == kLength16) {
        length = read_big_endian(&header_[at], 2);
        at += 2;
        if (length < kLength16)
            return fail(CloseCode::ProtocolError, "16-bit length " + std::to_string(length) +
                                                      " not minimally encoded (RFC 6455 §5.2)");
    } else if (length7 == kLength64) {
        length = read_big_endian(&header_[at], 8);
        at += 8;
        if (length >> 63)
            return fail(CloseCode::ProtocolError,
                        "64-bit length with its most significant bit set (RFC 6455 §5.2)");
        if (length <= 0xFFFF)
            return fail(CloseCode::ProtocolError, "64-bit length " + std::to_string(length) +
                                                      " not minimally encoded (RFC 6455 §5.2)");
    }
    if (!is_control(opcode_)) {
        size_t have = data_.size();
        if (length > options_.max_message_size - have)
            return fail(CloseCode::MessageTooBig,
                        "message of " + std::to_string(have) + " + " + std::to_string(length) +
                            " bytes exceeds the limit of " + std::to_string(options_.max_message_size) +
                            " bytes");
        if (opcode_ != Opcode::Continuation) {
            in_message_ = true;
            message_opcode_ = opcode_;
        }
    }
    if (masked_) std::memcpy(mask_.data(), &header_[at], 4);
    remaining_ = length;
    frame_offset_ = 0;
    control_have_ = 0;
    header_have_ = 0;
    header_need_ = 2;
    phase_ = Phase::Payload;
    return true;
}

void Decoder::take_payload(const uint8_t* bytes, size_t count)
{
    uint8_t* dest;
    if (is_control(opcode_)) {
        dest = control_.data() + control_have_;  // fits: the length was checked ≤ 125
        std::memcpy(dest, bytes, count);
        control_have_ += count;
    } else {
        size_t old_size = data_.size();
        append_data(bytes, count);
        dest = data_.data() + old_size;
    }
    if (masked_) {  // §5.3: octet i is XORed with key[i mod 4]
        for (size_t i = 0; i < count; ++i) dest[i] ^= mask_[(frame_offset_ + i) & 3];
    }
    frame_offset_ += count;
    remaining_ -= count;
}

// Grows the message buffer with the bytes that actually arrived (never to the announced length, so
// a header alone cannot make the decoder allocate), and never beyond max_message_size.
void Decoder::append_data(const uint8_t* bytes, size_t count)
{
    size_t needed = data_.size() + count;
    if (needed > data_.capacity()) {
        size_t grown = std::max(needed, data_.capacity() * 2);
        data_.reserve(std::min(grown, options_.max_message_size));  // needed ≤ max: checked in the header
    }
    data_.insert(data_.end(), bytes, bytes + count);
}

bool Decoder::finish_frame()
{
    phase_ = Phase::Header;
    if (is_control(opcode_)) {
        std::span<const uint8_t> payload(control_.data(), control_have_);
        if (opcode_ == Opcode::Close) {
            if (auto problem = check_close_payload(payload)) return fail(problem->close_code, problem->message);
        }
        ready_ = Message{opcode_, std::vector<uint8_t>(payload.begin(), payload.end())};
        return true;
    }
    if (!fin_) return false;  // §5.4: more fragments follow
    in_message_ = false;
    if (message_opcode_ == Opcode::Text && options_.validate_utf8 &&
        !is_valid_utf8(std::string_view(reinterpret_cast<const char*>(data_.data()), data_.size())))
        return fail(CloseCode::InvalidPayload, "text message is not UTF-8 (RFC 6455 §8.1)");
    ready_ = Message{message_opcode_, {}};
    ready_->payload.swap(data_);  // the decoder keeps no capacity between messages
    return true;
}

// ---- Close bodies -----------------------------------------------------------------------------

bool is_sendable_close_code(uint16_t code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

CloseInfo close_info(std::span<const uint8_t> payload)
{
    CloseInfo info;
    if (payload.size() < 2) return info;
    info.code = static_cast<uint16_t>(read_big_endian(payload.data(), 2));
    info.reason.assign(reinterpret_cast<const char*>(payload.data()) + 2, payload.size() - 2);
    return info;
}

// ---- Encoder ----------------------------------------------------------------------------------

size_t encode_header(std::array<uint8_t, kMaxHeaderSize>& out, Opcode opcode, uint64_t payload_size,
                     const std::optional<MaskKey>& mask, bool fin)
{
    out[0] = static_cast<uint8_t>((fin ? kFinBit : 0) | static_cast<uint8_t>(opcode));
    uint8_t mask_bit = mask ? kMaskBit : 0;
    size_t at = 2;
    if (payload_size < kLength16) {  // §5.2: the minimal number of bytes
        out[1] = static_cast<uint8_t>(mask_bit | payload_size);
    } else {
        size_t width = payload_size <= 0xFFFF ? 2 : 8;
        out[1] = static_cast<uint8_t>(mask_bit | (width == 2 ? kLength16 : kLength64));
        for (size_t i = 0; i < width; ++i) out[at + i] = static_cast<uint8_t>(payload_size >> (8 * (width - 1 - i)));
        at += width;
    }
    if (mask) {
        std::memcpy(&out[at], mask->data(), 4);
        at += 4;
    }
    return at;
}

bool append_frame(std::vector<uint8_t>& out, Opcode opcode, std::span<const uint8_t> payload,
                  const std::optional<MaskKey>& mask, bool fin)
{
    if (!is_known_opcode(static_cast<uint8_t>(opcode))) return false;
    if (is_control(opcode) && (!fin || payload.size() > kMaxControlPayload)) return false;
    std::array<uint8_t, kMaxHeaderSize> header{};
    size_t header_size = encode_header(header, opcode, payload.size(), mask, fin);
    out.reserve(out.size() + header_size + payload.size());
    out.insert(out.end(), header.begin(), header.begin() + header_size);
    size_t start = out.size();
    out.insert(out.end(), payload.begin(), payload.end());
    if (mask) {  // §5.3
        for (size_t i = 0; i < payload.size(); ++i) out[start + i] ^= (*mask)[i & 3];
    }
    return true;
}

std::vector<uint8_t> encode_frame(Opcode opcode, std::span<const uint8_t> payload,
                                  const std::optional<MaskKey>& mask, bool fin)
{
    std::vector<uint8_t> out;
    append_frame(out, opcode, payload, mask, fin);
    return out;
}

std::vector<uint8_t> encode_close(CloseCode code, std::string_view reason, const std::optional<MaskKey>& mask)
{
    std::vector<uint8_t> body;
    auto value = static_cast<uint16_t>(code);
    if (is_sendable_close_code(value)) {
        std::string_view fitting = reason.substr(0, kMaxControlPayload - 2);
        fitting = fitting.substr(0, valid_utf8_prefix(fitting));
        body.push_back(static_cast<uint8_t>(value >> 8));
        body.push_back(static_cast<uint8_t>(value & 0xFF));
        body.insert(body.end(), fitting.begin(), fitting.end());
    }
    return encode_frame(Opcode::Close, body, mask);
}

// ---- UTF-8 (RFC 3629 §4) ----------------------------------------------------------------------

size_t valid_utf8_prefix(std::string_view text)
{
    auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
    size_t i = 0;
    while (i < text.size()) {
        uint8_t lead = byte(i);
        size_t length;
        uint8_t low = 0x80, high = 0xBF;  // allowed range of the second byte
        if (lead < 0x80) length = 1;
        else if (lead >= 0xC2 && lead <= 0xDF) length = 2;
        else if (lead >= 0xE0 && lead <= 0xEF) {
            length = 3;
            if (lead == 0xE0) low = 0xA0;   // overlong
            if (lead == 0xED) high = 0x9F;  // surrogates
        } else if (lead >= 0xF0 && lead <= 0xF4) {
            length = 4;
            if (lead == 0xF0) low = 0x90;   // overlong
            if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
        } else {
            return i;
        }
        if (i + length > text.size()) return i;
        for (size_t k = 1; k < length; ++k) {
            uint8_t b = byte(i + k);
            uint8_t lo = k == 1 ? low : 0x80, hi = k == 1 ? high : 0xBF;
            if (b < lo || b > hi) return i;
        }
        i += length;
    }
    return i;
}

bool is_valid_utf8(std::string_view text) { return valid_utf8_prefix(text) == text.size(); }

const char* opcode_name(Opcode opcode)
{
    switch (opcode) {
    case Opcode::Continuation: return "continuation";
    case Opcode::Text: return "text";
    case Opcode::Binary: return "binary";
    case Opcode::Close: return "close";
    case Opcode::Ping: return "ping";
    case Opcode::Pong: return "pong";
    }
    return "reserved";
}

} // namespace om::proto::ws
