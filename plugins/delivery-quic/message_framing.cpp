#include "message_framing.h"

#include <algorithm>
#include <cstring>

namespace om::quic {

size_t varint_size(uint64_t value) noexcept
{
    if (value < (1u << 6)) return 1;
    if (value < (1u << 14)) return 2;
    if (value < (1u << 30)) return 4;
    return 8;
}

// RFC 9000 §16: the two high bits of the first byte give the length (00=1 .. 11=8 bytes).
size_t write_varint(uint64_t value, uint8_t* out) noexcept
{
    const size_t size = varint_size(value);
    static constexpr uint8_t kPrefix[9] = {0, 0x00, 0x40, 0, 0x80, 0, 0, 0, 0xC0};
    for (size_t i = 0; i < size; ++i) out[i] = static_cast<uint8_t>(value >> (8 * (size - 1 - i)));
    out[0] = static_cast<uint8_t>(out[0] | kPrefix[size]);
    return size;
}

std::optional<Varint> read_varint(std::span<const uint8_t> bytes) noexcept
{
    if (bytes.empty()) return std::nullopt;
    const size_t size = size_t{1} << (bytes[0] >> 6);
    if (bytes.size() < size) return std::nullopt;
    uint64_t value = bytes[0] & 0x3Fu;
    for (size_t i = 1; i < size; ++i) value = (value << 8) | bytes[i];
    return Varint{value, size};
}

bool is_stream_mode(om_delivery_mode mode) noexcept
{
    return mode == OM_DELIVERY_RELIABLE_ORDERED || mode == OM_DELIVERY_RELIABLE_UNORDERED;
}

bool is_datagram_mode(om_delivery_mode mode) noexcept
{
    return mode == OM_DELIVERY_UNRELIABLE || mode == OM_DELIVERY_SEQUENCED;
}

const char* mode_name(om_delivery_mode mode) noexcept
{
    switch (mode) {
    case OM_DELIVERY_RELIABLE_ORDERED: return "reliable-ordered";
    case OM_DELIVERY_RELIABLE_UNORDERED: return "reliable-unordered";
    case OM_DELIVERY_UNRELIABLE: return "unreliable";
    case OM_DELIVERY_SEQUENCED: return "sequenced";
    default: return "unknown";
    }
}

void write_stream_header(om_delivery_mode mode, uint8_t channel, uint8_t* out) noexcept
{
    out[0] = static_cast<uint8_t>(mode);
    out[1] = channel;
}

size_t write_length_prefix(size_t length, uint8_t* out) noexcept { return write_varint(length, out); }

size_t datagram_header_size(om_delivery_mode mode, uint64_t sequence) noexcept
{
    return kDatagramHeaderSize + (mode == OM_DELIVERY_SEQUENCED ? varint_size(sequence) : 0);
}

size_t write_datagram_header(om_delivery_mode mode, uint8_t channel, uint64_t sequence, uint8_t* out) noexcept
{
    out[0] = static_cast<uint8_t>(mode);
    out[1] = channel;
    if (mode != OM_DELIVERY_SEQUENCED) return kDatagramHeaderSize;
    return kDatagramHeaderSize + write_varint(sequence, out + kDatagramHeaderSize);
}

std::optional<DatagramMessage> decode_datagram(std::span<const uint8_t> bytes, std::string* why)
{
    const auto refuse = [&](const char* text) -> std::optional<DatagramMessage> {
        if (why) *why = text;
        return std::nullopt;
    };
    if (bytes.size() < kDatagramHeaderSize) return refuse("datagram shorter than its 2-byte header");
    const auto mode = static_cast<om_delivery_mode>(bytes[0]);
    if (!is_datagram_mode(mode)) return refuse("datagram with a mode that is not unreliable or sequenced");
    DatagramMessage m{mode, bytes[1], 0, bytes.subspan(kDatagramHeaderSize)};
    if (mode == OM_DELIVERY_SEQUENCED) {
        const auto seq = read_varint(m.payload);
        if (!seq) return refuse("sequenced datagram cut inside its sequence number");
        m.sequence = seq->value;
        m.payload = m.payload.subspan(seq->size);
    }
    return m;
}

bool StreamDecoder::fail(std::string why)
{
    state_ = State::Failed;
    why_ = std::move(why);
    small_len_ = 0;  // nothing is held once failed: buffered() is 0
    body_.clear();
    body_.shrink_to_fit();
    return false;
}

bool StreamDecoder::feed(std::span<const uint8_t> bytes, Sink& sink)
{
    while (!bytes.empty()) {
        switch (state_) {
        case State::Failed: return false;
        case State::Probe:
            sink.on_discarded(bytes.size());
            return true;
        case State::Header: {
            const size_t take = std::min(kStreamHeaderSize - small_len_, bytes.size());
            std::memcpy(small_ + small_len_, bytes.data(), take);
            small_len_ += take;
            pending_consumed_ += take;
            bytes = bytes.subspan(take);
            if (small_len_ < kStreamHeaderSize) return true;
            mode_ = static_cast<om_delivery_mode>(small_[0]);
            channel_ = small_[1];
            small_len_ = 0;
            if (small_[0] == kProbeStreamMode) {
                state_ = State::Probe;
                sink.on_discarded(pending_consumed_);
                pending_consumed_ = 0;
                break;
            }
            if (!is_stream_mode(mode_))
                return fail("stream header names mode " + std::to_string(small_[0]) + ", not a reliable mode");
            state_ = State::Length;
            break;
        }
        case State::Length: {
            if (small_len_ == 0) {
                // Fast path: the whole prefix is here.
                if (const auto v = read_varint(bytes)) {
                    if (v->value > OM_MAX_RELIABLE_MESSAGE)
                        return fail("message length " + std::to_string(v->value) + " exceeds " +
                                    std::to_string(OM_MAX_RELIABLE_MESSAGE));
                    expected_ = v->value;
                    pending_consumed_ += v->size;
                    bytes = bytes.subspan(v->size);
                    state_ = State::Body;
                    break;
                }
            }
            // Prefix split across calls: gather its bytes (at most 8).
            small_[small_len_++] = bytes[0];
            bytes = bytes.subspan(1);
            const size_t need = size_t{1} << (small_[0] >> 6);
            if (small_len_ < need) break;
            const auto v = read_varint({small_, small_len_});
            small_len_ = 0;
            if (v->value > OM_MAX_RELIABLE_MESSAGE)
                return fail("message length " + std::to_string(v->value) + " exceeds " +
                            std::to_string(OM_MAX_RELIABLE_MESSAGE));
            expected_ = v->value;
            pending_consumed_ += v->size;
            state_ = State::Body;
            break;
        }
        case State::Body: {
            const size_t have = body_.size();
            const size_t missing = static_cast<size_t>(expected_) - have;
            if (have == 0 && bytes.size() >= missing) {
                // The whole message is in this chunk: hand it over without a copy.
                const auto message = bytes.first(missing);
                bytes = bytes.subspan(missing);
                const size_t consumed = pending_consumed_ + missing;
                pending_consumed_ = 0;
                state_ = State::Length;
                ++messages_;
                sink.on_message(mode_, channel_, message, consumed);
                break;
            }
            // expected_ was validated against OM_MAX_RELIABLE_MESSAGE: reserving it is bounded.
            if (have == 0) body_.reserve(static_cast<size_t>(expected_));
            const size_t take = std::min(missing, bytes.size());
            body_.insert(body_.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(take));
            bytes = bytes.subspan(take);
            if (body_.size() < expected_) return true;
            const size_t consumed = pending_consumed_ + body_.size();
            pending_consumed_ = 0;
            state_ = State::Length;
            ++messages_;
            std::vector<uint8_t> message;
            message.swap(body_);
            sink.on_message(mode_, channel_, message, consumed);
            break;
        }
        }
    }
    // A zero-length message completes without any body byte.
    if (state_ == State::Body && expected_ == 0) {
        const size_t consumed = pending_consumed_;
        pending_consumed_ = 0;
        state_ = State::Length;
        ++messages_;
        sink.on_message(mode_, channel_, {}, consumed);
    }
    return state_ != State::Failed;
}

bool StreamDecoder::finish()
{
    if (state_ == State::Failed) return false;
    if (state_ == State::Header) return fail("stream ended inside its header");
    if (state_ == State::Body) return fail("stream ended inside a message");
    if (small_len_ != 0) return fail("stream ended inside a length prefix");
    return true;
}

}  // namespace om::quic
