// One schema per message type (describe), walked by three visitors: Counter (map size), Writer
// (msgpack out) and Reader (strict msgpack in). docs/protocol.md is the prose of these schemas.
#include "proto/signal_message.h"

#include "proto/ws_frame.h"  // ws::is_valid_utf8

#include <msgpack.hpp>

#include <algorithm>
#include <array>
#include <concepts>
#include <limits>
#include <type_traits>
#include <utility>

namespace om::proto::signaling {
namespace {

constexpr std::array<const char*, std::variant_size_v<Message>> kTypeNames = {
    "register", "registered", "connect_request", "connect_response", "candidate",
    "relay", "ping", "pong", "error"};

constexpr size_t kMaxDepth = 8;          // nesting of maps and arrays, unknown fields included
constexpr size_t kQuotedNameBytes = 64;  // hostile names are cut to this in error messages

// How a string (or integer) field is checked.
enum class Rule {
    Any,            // any msgpack str within the parser's limits
    AgentId,        // validate_agent_id
    Opaque,         // token, session: visible ASCII, up to max_token_bytes
    IceChars,       // ufrag, pwd: RFC 8839 §5.4 ice-char, up to 256 bytes
    CandidateLine,  // printable ASCII, up to max_candidate_bytes
    Text,           // UTF-8, up to max_text_bytes
    Name,           // visible ASCII, up to 64 bytes
    Address,        // visible ASCII, up to 64 bytes
    DeliveryMode,   // integer 0..3
    Fingerprint     // SHA-256 certificate fingerprint: 32 uppercase hex pairs joined by ':'
};

bool is_visible_ascii(std::string_view s)
{
    return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7F; });
}
bool is_printable_ascii(std::string_view s)
{
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7F; });
}
bool is_ice_chars(std::string_view s)
{
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
    });
}
bool is_fingerprint(std::string_view s)
{
    if (s.size() != 95) return false;
    for (size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (i % 3 == 2 ? c != ':' : !((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) return false;
    }
    return true;
}
bool is_name(std::string_view s) { return !s.empty() && s.size() <= kMaxNameBytes && is_visible_ascii(s); }

// A peer-supplied string made safe to put in a message: printable ASCII, bounded.
std::string sanitized(std::string_view s)
{
    std::string out = "'";
    for (char c : s.substr(0, kQuotedNameBytes)) out += (c >= 0x20 && c < 0x7F) ? c : '?';
    return out + (s.size() > kQuotedNameBytes ? "...'" : "'");
}

const char* msgpack_type_name(const msgpack::object& o)
{
    switch (o.type) {
    case msgpack::type::NIL: return "nil";
    case msgpack::type::BOOLEAN: return "a bool";
    case msgpack::type::POSITIVE_INTEGER:
    case msgpack::type::NEGATIVE_INTEGER: return "an integer";
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: return "a float";
    case msgpack::type::STR: return "a string";
    case msgpack::type::BIN: return "bin";
    case msgpack::type::ARRAY: return "an array";
    case msgpack::type::MAP: return "a map";
    case msgpack::type::EXT: return "ext";
    }
    return "an unknown type";
}

std::string_view as_view(const msgpack::object& o) { return {o.via.str.ptr, o.via.str.size}; }

template <class M, class T>
concept Is = std::same_as<std::remove_const_t<M>, T>;

// ---- the schemas: field name, member, rule (the order is the encoding order) ------------------

template <class V, Is<NatInfo> M> void describe(V& v, M& m)
{
    v.field("type", m.type, Rule::Name);
    v.field("mapped_address", m.mapped_address, Rule::Address);
    v.field("mapping", m.mapping, Rule::Name);
    v.field("filtering", m.filtering, Rule::Name);
}
template <class V, Is<TurnCredentials> M> void describe(V& v, M& m)
{
    v.field("address", m.address, Rule::Address);
    v.field("username", m.username, Rule::Opaque);
    v.field("password", m.password, Rule::Opaque);
    v.field("ttl_s", m.ttl_s);
}
template <class V, Is<Register> M> void describe(V& v, M& m)
{
    v.field("id", m.id, Rule::AgentId);
    v.field("token", m.token, Rule::Opaque);
    v.field("nat", m.nat);
    v.field("caps", m.caps, Rule::Name);
}
template <class V, Is<Registered> M> void describe(V& v, M& m)
{
    v.field("id", m.id, Rule::AgentId);
    v.field("session", m.session, Rule::Opaque);
    v.field("server_time_ms", m.server_time_ms);
    v.field("keepalive_ms", m.keepalive_ms);
    v.field("turn", m.turn);
}
template <class V, Is<ConnectRequest> M> void describe(V& v, M& m)
{
    v.field("from", m.from, Rule::AgentId);
    v.field("to", m.to, Rule::AgentId);
    v.field("request_id", m.request_id);
    v.field("candidates", m.candidates, Rule::CandidateLine);
    v.field("ufrag", m.ufrag, Rule::IceChars);
    v.field("pwd", m.pwd, Rule::IceChars);
    v.field("nat", m.nat);
    v.field("fingerprint", m.fingerprint, Rule::Fingerprint);
    v.field("ice_restart", m.ice_restart);
    v.field("more_candidates", m.more_candidates);
}
template <class V, Is<ConnectResponse> M> void describe(V& v, M& m)
{
    v.field("from", m.from, Rule::AgentId);
    v.field("to", m.to, Rule::AgentId);
    v.field("request_id", m.request_id);
    v.field("accept", m.accept);
    v.field("reason", m.reason, Rule::Text);
    v.field("candidates", m.candidates, Rule::CandidateLine);
    v.field("ufrag", m.ufrag, Rule::IceChars);
    v.field("pwd", m.pwd, Rule::IceChars);
    v.field("nat", m.nat);
    v.field("fingerprint", m.fingerprint, Rule::Fingerprint);
    v.field("more_candidates", m.more_candidates);
}
template <class V, Is<Candidate> M> void describe(V& v, M& m)
{
    v.field("from", m.from, Rule::AgentId);
    v.field("to", m.to, Rule::AgentId);
    v.field("candidate", m.candidate, Rule::CandidateLine);
}
template <class V, Is<Relay> M> void describe(V& v, M& m)
{
    v.field("from", m.from, Rule::AgentId);
    v.field("to", m.to, Rule::AgentId);
    v.field("seq", m.seq);
    v.field("mode", m.mode, Rule::DeliveryMode);
    v.field("data", m.data);
}
template <class V, Is<Ping> M> void describe(V& v, M& m) { v.field("nonce", m.nonce); }
template <class V, Is<Pong> M> void describe(V& v, M& m) { v.field("nonce", m.nonce); }
template <class V, Is<Error> M> void describe(V& v, M& m)
{
    v.field("code", m.code);
    v.field("reason", m.reason, Rule::Text);
    v.field("ref", m.ref, Rule::Name);
}

// ---- Counter: how many entries a map will have ------------------------------------------------

struct Counter {
    size_t count = 0;
    template <class T> void field(const char*, const T&, Rule = Rule::Any) { ++count; }
    template <class T> void field(const char*, const std::optional<T>& value, Rule = Rule::Any)
    {
        count += value.has_value();
    }
};

template <class M> uint32_t count_fields(const M& m)
{
    Counter counter;
    describe(counter, m);
    return static_cast<uint32_t>(counter.count);
}

// ---- Writer -----------------------------------------------------------------------------------

struct VectorStream {
    std::vector<uint8_t>& out;
    void write(const char* bytes, size_t size) { out.insert(out.end(), bytes, bytes + size); }
};

class Writer {
public:
    explicit Writer(msgpack::packer<VectorStream>& packer) : pk_(packer) {}

    template <class T> void field(const char* name, const T& value, Rule = Rule::Any)
    {
        str(name);
        pack(value);
    }
    template <class T> void field(const char* name, const std::optional<T>& value, Rule rule = Rule::Any)
    {
        if (value) field(name, *value, rule);
    }
    void str(std::string_view s)
    {
        pk_.pack_str(static_cast<uint32_t>(s.size()));
        pk_.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
    }

private:
    void pack(const std::string& s) { str(s); }
    void pack(bool b) { b ? pk_.pack_true() : pk_.pack_false(); }
    template <std::unsigned_integral U> void pack(U value) { pk_.pack_uint64(value); }  // smallest form
    void pack(const std::vector<std::string>& list)
    {
        pk_.pack_array(static_cast<uint32_t>(list.size()));
        for (const auto& s : list) str(s);
    }
    void pack(const std::vector<uint8_t>& bytes)
    {
        pk_.pack_bin(static_cast<uint32_t>(bytes.size()));
        pk_.pack_bin_body(reinterpret_cast<const char*>(bytes.data()), static_cast<uint32_t>(bytes.size()));
    }
    // A nested map (nat, turn).
    template <class Nested>
        requires(std::same_as<Nested, NatInfo> || std::same_as<Nested, TurnCredentials>)
    void pack(const Nested& nested)
    {
        pk_.pack_map(count_fields(nested));
        describe(*this, nested);
    }

    msgpack::packer<VectorStream>& pk_;
};

// ---- Reader -----------------------------------------------------------------------------------

class Reader {
public:
    Reader(const msgpack::object& map, const Limits& limits, DecodeError& error, std::string prefix = {})
        : map_(map.via.map), limits_(limits), error_(error), prefix_(std::move(prefix))
    {
        for (uint32_t i = 0; i < map_.size && ok(); ++i) {
            if (map_.ptr[i].key.type != msgpack::type::STR)
                fail(DecodeErrorKind::WrongType, std::string("map key is ") + msgpack_type_name(map_.ptr[i].key) +
                                                     ", not a string" + where());
        }
    }

    bool ok() const { return !failed_; }

    template <class T> void field(const char* name, T& out, Rule rule = Rule::Any)
    {
        const msgpack::object* value = find(name);
        if (!ok()) return;
        if (!value) {
            fail(DecodeErrorKind::MissingField, "missing field '" + prefix_ + name + "'");
            return;
        }
        read(*value, out, rule, name);
    }
    // Optional: absent or nil leaves it empty.
    template <class T> void field(const char* name, std::optional<T>& out, Rule rule = Rule::Any)
    {
        const msgpack::object* value = find(name);
        if (!ok() || !value || value->type == msgpack::type::NIL) return;
        read(*value, out.emplace(), rule, name);
    }

    bool fail(DecodeErrorKind kind, std::string message)
    {
        if (!failed_) {
            failed_ = true;
            error_.kind = kind;
            error_.message = std::move(message);
        }
        return false;
    }

private:
    std::string where() const { return prefix_.empty() ? "" : " in '" + prefix_.substr(0, prefix_.size() - 1) + "'"; }

    const msgpack::object* find(std::string_view name)
    {
        const msgpack::object* found = nullptr;
        for (uint32_t i = 0; i < map_.size && ok(); ++i) {
            const msgpack::object& key = map_.ptr[i].key;
            if (key.type != msgpack::type::STR || as_view(key) != name) continue;
            if (found) {
                fail(DecodeErrorKind::InvalidValue, "duplicate field '" + prefix_ + std::string(name) + "'");
                return nullptr;
            }
            found = &map_.ptr[i].val;
        }
        return found;
    }

    bool expect(const msgpack::object& o, msgpack::type::object_type type, const char* what, const char* name)
    {
        if (o.type == type) return true;
        return fail(DecodeErrorKind::WrongType,
                    "field '" + prefix_ + name + "' must be " + what + ", got " + msgpack_type_name(o));
    }

    bool too_large(const char* name, size_t size, size_t max, const char* unit)
    {
        return fail(DecodeErrorKind::TooLarge, "field '" + prefix_ + name + "' has " + std::to_string(size) + " " +
                                                   unit + "; at most " + std::to_string(max));
    }

    size_t max_bytes(Rule rule) const
    {
        switch (rule) {
        case Rule::AgentId: return kMaxAgentIdBytes;
        case Rule::Opaque: return limits_.max_token_bytes;
        case Rule::IceChars: return kMaxIceCredentialBytes;
        case Rule::CandidateLine: return limits_.max_candidate_bytes;
        case Rule::Text: return limits_.max_text_bytes;
        case Rule::Name: return kMaxNameBytes;
        case Rule::Address: return kMaxAddressBytes;
        case Rule::Fingerprint: return 95;
        case Rule::Any:
        case Rule::DeliveryMode: break;
        }
        return std::numeric_limits<size_t>::max();
    }

    bool check_string(std::string_view s, Rule rule, const char* name)
    {
        if (s.size() > max_bytes(rule)) return too_large(name, s.size(), max_bytes(rule), "bytes");
        std::string why;
        bool good = true;
        switch (rule) {
        case Rule::AgentId: good = validate_agent_id(s, &why); break;
        case Rule::Opaque:
        case Rule::Name:
        case Rule::Address:
            good = is_visible_ascii(s);
            why = "must be ASCII letters, digits and punctuation (no spaces or control characters)";
            break;
        case Rule::IceChars:
            good = is_ice_chars(s);
            why = "must be RFC 8839 ice-chars (letters, digits, '+', '/')";
            break;
        case Rule::CandidateLine:
            good = is_printable_ascii(s);
            why = "must be printable ASCII";
            break;
        case Rule::Text:
        case Rule::Any:
            good = ws::is_valid_utf8(s);
            why = "is not UTF-8";
            break;
        case Rule::Fingerprint:
            good = is_fingerprint(s);
            why = "must be a SHA-256 fingerprint (32 uppercase hex pairs joined by ':')";
            break;
        case Rule::DeliveryMode: break;
        }
        return good || fail(DecodeErrorKind::InvalidValue, "field '" + prefix_ + name + "' " + why);
    }

    void read(const msgpack::object& o, std::string& out, Rule rule, const char* name)
    {
        if (!expect(o, msgpack::type::STR, "a string", name)) return;
        if (check_string(as_view(o), rule, name)) out.assign(as_view(o));
    }
    void read(const msgpack::object& o, bool& out, Rule, const char* name)
    {
        if (expect(o, msgpack::type::BOOLEAN, "a bool", name)) out = o.via.boolean;
    }
    // Integers only: a float, even a whole one, is refused.
    template <std::unsigned_integral U> void read(const msgpack::object& o, U& out, Rule rule, const char* name)
    {
        uint64_t max = rule == Rule::DeliveryMode ? 3 : std::numeric_limits<U>::max();
        if (o.type == msgpack::type::NEGATIVE_INTEGER || (o.type == msgpack::type::POSITIVE_INTEGER && o.via.u64 > max)) {
            fail(DecodeErrorKind::InvalidValue,
                 "field '" + prefix_ + name + "' is out of range 0.." + std::to_string(max));
            return;
        }
        if (expect(o, msgpack::type::POSITIVE_INTEGER, "a non-negative integer", name)) out = static_cast<U>(o.via.u64);
    }
    void read(const msgpack::object& o, std::vector<std::string>& out, Rule rule, const char* name)
    {
        if (!expect(o, msgpack::type::ARRAY, "an array of strings", name)) return;
        if (o.via.array.size > limits_.max_list_items) {
            too_large(name, o.via.array.size, limits_.max_list_items, "items");
            return;
        }
        out.clear();
        for (uint32_t i = 0; i < o.via.array.size && ok(); ++i) read(o.via.array.ptr[i], out.emplace_back(), rule, name);
    }
    void read(const msgpack::object& o, std::vector<uint8_t>& out, Rule, const char* name)
    {
        if (!expect(o, msgpack::type::BIN, "bin", name)) return;
        if (o.via.bin.size > limits_.max_relay_bytes) {
            too_large(name, o.via.bin.size, limits_.max_relay_bytes, "bytes");
            return;
        }
        out.assign(o.via.bin.ptr, o.via.bin.ptr + o.via.bin.size);
    }
    template <class Nested>
        requires(std::same_as<Nested, NatInfo> || std::same_as<Nested, TurnCredentials>)
    void read(const msgpack::object& o, Nested& out, Rule, const char* name)
    {
        if (!expect(o, msgpack::type::MAP, "a map", name)) return;
        Reader nested(o, limits_, error_, prefix_ + name + ".");
        describe(nested, out);
        if (!nested.ok()) failed_ = true;
    }

    const msgpack::object_map& map_;
    const Limits& limits_;
    DecodeError& error_;
    std::string prefix_;  // "nat." inside a nested map
    bool failed_ = false;
};

// ---- decoding ---------------------------------------------------------------------------------

template <size_t I> Message read_as(Reader& reader)
{
    std::variant_alternative_t<I, Message> message{};
    describe(reader, message);
    return Message(std::in_place_index<I>, std::move(message));
}
template <size_t... I> constexpr auto make_readers(std::index_sequence<I...>)
{
    return std::array<Message (*)(Reader&), sizeof...(I)>{&read_as<I>...};
}
constexpr auto kReaders = make_readers(std::make_index_sequence<std::variant_size_v<Message>>());

msgpack::unpack_limit parser_limits(const Limits& limits)
{
    size_t longest_string = std::max({limits.max_token_bytes, limits.max_text_bytes, limits.max_candidate_bytes,
                                      kMaxIceCredentialBytes, kMaxAgentIdBytes, kMaxNameBytes});
    return msgpack::unpack_limit(limits.max_list_items, limits.max_fields, longest_string, limits.max_relay_bytes,
                                 longest_string, kMaxDepth);
}

// A version check first (a message of another version may be of a type or shape this one does
// not know), then the type, then the type's own fields.
void decode_map(const msgpack::object& root, const Limits& limits, DecodeResult& result)
{
    DecodeError& error = result.error;
    if (root.type != msgpack::type::MAP) {
        error.kind = DecodeErrorKind::NotAMap;
        error.message = std::string("a signaling message is a msgpack map, got ") + msgpack_type_name(root);
        return;
    }
    Reader reader(root, limits, error);
    uint64_t version = 0;
    reader.field("v", version);
    if (!reader.ok()) return;
    if (version != kProtocolVersion) {
        reader.fail(DecodeErrorKind::UnsupportedVersion, "protocol version " + std::to_string(version) +
                                                             " is not supported (this side speaks version " +
                                                             std::to_string(kProtocolVersion) + ")");
        return;
    }
    std::string type;
    reader.field("t", type, Rule::Any);
    if (!reader.ok()) return;
    auto known = type_from_name(type);
    if (is_name(type)) error.type = type;
    if (!known) {
        reader.fail(DecodeErrorKind::UnknownType, "unknown message type " + sanitized(type));
        return;
    }
    Message message = kReaders[static_cast<size_t>(*known)](reader);
    if (reader.ok()) result.message = std::move(message);
}

} // namespace

// ---- public functions -------------------------------------------------------------------------

const char* error_code_name(uint16_t code)
{
    switch (static_cast<ErrorCode>(code)) {
    case ErrorCode::BadRequest: return "bad_request";
    case ErrorCode::Unauthorized: return "unauthorized";
    case ErrorCode::Forbidden: return "forbidden";
    case ErrorCode::UnknownPeer: return "unknown_peer";
    case ErrorCode::Timeout: return "timeout";
    case ErrorCode::IdInUse: return "id_in_use";
    case ErrorCode::TooLarge: return "too_large";
    case ErrorCode::UnsupportedVersion: return "unsupported_version";
    case ErrorCode::RateLimited: return "rate_limited";
    case ErrorCode::Internal: return "internal";
    case ErrorCode::Overloaded: return "overloaded";
    }
    return "unknown";
}

MessageType type_of(const Message& message) { return static_cast<MessageType>(message.index()); }

const char* type_name(MessageType type) { return kTypeNames[static_cast<size_t>(type)]; }

std::optional<MessageType> type_from_name(std::string_view name)
{
    for (size_t i = 0; i < kTypeNames.size(); ++i)
        if (name == kTypeNames[i]) return static_cast<MessageType>(i);
    return std::nullopt;
}

const char* decode_error_kind_name(DecodeErrorKind kind)
{
    switch (kind) {
    case DecodeErrorKind::Malformed: return "malformed";
    case DecodeErrorKind::NotAMap: return "not_a_map";
    case DecodeErrorKind::MissingField: return "missing_field";
    case DecodeErrorKind::WrongType: return "wrong_type";
    case DecodeErrorKind::InvalidValue: return "invalid_value";
    case DecodeErrorKind::TooLarge: return "too_large";
    case DecodeErrorKind::UnsupportedVersion: return "unsupported_version";
    case DecodeErrorKind::UnknownType: return "unknown_type";
    }
    return "unknown";
}

ErrorCode DecodeError::code() const
{
    switch (kind) {
    case DecodeErrorKind::TooLarge: return ErrorCode::TooLarge;
    case DecodeErrorKind::UnsupportedVersion: return ErrorCode::UnsupportedVersion;
    default: return ErrorCode::BadRequest;
    }
}

DecodeResult decode(std::span<const uint8_t> bytes, const Limits& limits)
{
    DecodeResult result;
    auto fail = [&](DecodeErrorKind kind, std::string message) {
        result.message.reset();
        result.error.kind = kind;
        result.error.message = std::move(message);
    };
    if (bytes.empty()) {
        fail(DecodeErrorKind::Malformed, "empty message");
        return result;
    }
    try {
        msgpack::object_handle handle;
        size_t offset = 0;
        msgpack::unpack(handle, reinterpret_cast<const char*>(bytes.data()), bytes.size(), offset, nullptr, nullptr,
                        parser_limits(limits));
        if (offset != bytes.size()) {
            fail(DecodeErrorKind::Malformed, std::to_string(bytes.size() - offset) + " bytes after the message");
            return result;
        }
        decode_map(handle.get(), limits, result);
    } catch (const msgpack::bin_size_overflow&) {
        fail(DecodeErrorKind::TooLarge, "bin value over " + std::to_string(limits.max_relay_bytes) + " bytes");
    } catch (const msgpack::depth_size_overflow&) {
        fail(DecodeErrorKind::Malformed, "nested deeper than " + std::to_string(kMaxDepth) + " levels");
    } catch (const msgpack::size_overflow&) {
        fail(DecodeErrorKind::TooLarge, "a string, array or map over the size limits");
    } catch (const msgpack::insufficient_bytes&) {
        fail(DecodeErrorKind::Malformed, "truncated msgpack");
    } catch (const std::exception& e) {
        fail(DecodeErrorKind::Malformed, std::string("not msgpack: ") + e.what());
    } catch (...) {
        fail(DecodeErrorKind::Malformed, "not msgpack");
    }
    return result;
}

std::vector<uint8_t> encode(const Message& message)
{
    std::vector<uint8_t> out;
    VectorStream stream{out};
    msgpack::packer<VectorStream> packer(stream);
    Writer writer(packer);
    std::visit(
        [&](const auto& m) {
            packer.pack_map(2 + count_fields(m));
            writer.field("v", kProtocolVersion);
            writer.str("t");
            writer.str(type_name(type_of(message)));
            describe(writer, m);
        },
        message);
    return out;
}

Error error_reply(const DecodeError& error)
{
    Error reply;
    reply.code = static_cast<uint16_t>(error.code());
    reply.reason = error.message.substr(0, Limits{}.max_text_bytes);
    reply.reason.resize(ws::valid_utf8_prefix(reply.reason));
    if (is_name(error.type)) reply.ref = error.type;
    return reply;
}

bool validate_agent_id(std::string_view id, std::string* why)
{
    auto fail = [&](std::string message) {
        if (why) *why = std::move(message);
        return false;
    };
    if (id.empty()) return fail("is empty");
    if (id.size() > kMaxAgentIdBytes)
        return fail("is " + std::to_string(id.size()) + " bytes; at most " + std::to_string(kMaxAgentIdBytes));
    if (!ws::is_valid_utf8(id)) return fail("is not UTF-8");
    for (size_t i = 0; i < id.size(); ++i) {
        auto b = static_cast<uint8_t>(id[i]);
        bool c0_or_del = b < 0x20 || b == 0x7F;
        bool c1 = b == 0xC2 && i + 1 < id.size() && static_cast<uint8_t>(id[i + 1]) <= 0x9F;  // U+0080..U+009F
        if (c0_or_del || c1) return fail("contains a control character at byte " + std::to_string(i));
    }
    return true;
}

} // namespace om::proto::signaling
