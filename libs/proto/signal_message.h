// Signaling messages between agents and orbitmesh-server: each is one WebSocket binary message
// holding a msgpack map {"v":1,"t":"<type>",...}. Typed structs, an encoder and a strict decoder;
// the wire format is written down in docs/protocol.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace om::proto::signaling {

inline constexpr uint64_t kProtocolVersion = 1;
inline constexpr size_t kMaxAgentIdBytes = 128;
inline constexpr size_t kMaxIceCredentialBytes = 256;  // RFC 8839 §5.4: ufrag and pwd
inline constexpr size_t kMaxNameBytes = 64;            // nat.type, caps entries, error.ref
inline constexpr size_t kMaxAddressBytes = 64;         // nat.mapped_address

// Decoding limits. The defaults suit the server; everything larger is refused before it is copied.
struct Limits {
    size_t max_relay_bytes = 256 * 1024;  // relay.data
    size_t max_token_bytes = 4096;        // register.token, registered.session
    size_t max_text_bytes = 1024;         // connect_response.reason, error.reason
    size_t max_candidate_bytes = 512;     // one candidate line
    size_t max_list_items = 32;           // candidates, caps (and any array)
    size_t max_fields = 64;               // entries of one map, unknown ones included
};

// Codes carried by `error` messages (HTTP-like, so their meaning is familiar).
enum class ErrorCode : uint16_t {
    BadRequest = 400,          // malformed frame, missing or mistyped field, invalid value
    Unauthorized = 401,        // missing, expired or forged token
    Forbidden = 403,           // token valid but not for this id / action
    UnknownPeer = 404,         // `to` is not registered
    Timeout = 408,             // the peer did not answer in time
    IdInUse = 409,             // another live connection holds this id
    TooLarge = 413,            // over a size limit
    UnsupportedVersion = 426,  // "v" is not a version this side speaks
    RateLimited = 429,         // over a per-agent rate
    Internal = 500,            // the server failed
    Overloaded = 503           // the server or the receiver's queue is full
};
// "bad_request", "unauthorized", … ; "unknown" for a code not in the enum.
const char* error_code_name(uint16_t code);

struct NatInfo {
    std::string type;                           // "Open", "FullCone", … "Symmetric", "Unknown"
    std::optional<std::string> mapped_address;  // "203.0.113.21:4500"
    std::optional<std::string> mapping;         // "EndpointIndependent", "AddressDependent", …
    std::optional<std::string> filtering;       // same names (RFC 4787 behaviours)
    bool operator==(const NatInfo&) const = default;
};

// Agent -> server, first message on a connection.
struct Register {
    std::string id;
    std::optional<std::string> token;
    std::optional<NatInfo> nat;
    std::optional<std::vector<std::string>> caps;  // capability names, e.g. "relay", "turn"
    bool operator==(const Register&) const = default;
};
// Server -> agent, answer to register.
// Time-limited TURN credentials the server hands out (coturn's use-auth-secret scheme).
struct TurnCredentials {
    std::string address;   // "IP:PORT" of the TURN server
    std::string username;  // "<expiry unix time>:<agent id>"
    std::string password;  // base64(HMAC-SHA1(secret, username))
    uint32_t ttl_s = 0;    // how long they stay valid from now
    bool operator==(const TurnCredentials&) const = default;
};
struct Registered {
    std::string id;
    std::string session;
    uint64_t server_time_ms = 0;
    uint32_t keepalive_ms = 0;
    std::optional<TurnCredentials> turn;  // when the server holds a TURN shared secret
    bool operator==(const Registered&) const = default;
};
// In the messages below `from` is omitted by the agent and set by the server when it forwards.
struct ConnectRequest {
    std::optional<std::string> from;
    std::string to;
    uint32_t request_id = 0;
    std::vector<std::string> candidates;  // RFC 8839 candidate-attribute lines
    std::string ufrag;
    std::string pwd;
    std::optional<NatInfo> nat;
    std::optional<std::string> fingerprint;  // the sender's certificate (delivery), SHA-256
    // An ICE restart (RFC 8445 §9) on a connection that stays up: new checks for a direct path
    // while the connection runs over the relay; the delivery session is kept.
    std::optional<bool> ice_restart;
    // Candidates still to come (a relayed one being allocated): the peer's checks wait for them
    // (a trickled candidate, or an empty one for "no more", RFC 8838 §13's end-of-candidates).
    std::optional<bool> more_candidates;
    bool operator==(const ConnectRequest&) const = default;
};
struct ConnectResponse {
    std::optional<std::string> from;
    std::string to;
    uint32_t request_id = 0;
    bool accept = false;
    std::optional<std::string> reason;
    std::vector<std::string> candidates;  // may be empty (and ufrag/pwd too) when accept is false
    std::string ufrag;
    std::string pwd;
    std::optional<NatInfo> nat;
    std::optional<std::string> fingerprint;  // the sender's certificate (delivery), SHA-256
    std::optional<bool> more_candidates;     // as in ConnectRequest
    bool operator==(const ConnectResponse&) const = default;
};
struct Candidate {  // a trickled candidate
    std::optional<std::string> from;
    std::string to;
    std::string candidate;  // empty: no more candidates (end-of-candidates, RFC 8838 §13)
    bool operator==(const Candidate&) const = default;
};
struct Relay {  // data through the server (ServerRelay)
    std::optional<std::string> from;
    std::string to;
    uint64_t seq = 0;
    uint8_t mode = 0;  // delivery mode 0..3: reliable-ordered, reliable-unordered, unreliable, sequenced
    std::vector<uint8_t> data;
    bool operator==(const Relay&) const = default;
};
struct Ping {
    uint64_t nonce = 0;
    bool operator==(const Ping&) const = default;
};
struct Pong {
    uint64_t nonce = 0;
    bool operator==(const Pong&) const = default;
};
struct Error {
    uint16_t code = static_cast<uint16_t>(ErrorCode::BadRequest);
    std::string reason;
    std::optional<std::string> ref;  // the type of the message it answers
    bool operator==(const Error&) const = default;
};

// The alternatives' order is the MessageType order.
using Message = std::variant<Register, Registered, ConnectRequest, ConnectResponse, Candidate, Relay, Ping,
                             Pong, Error>;
enum class MessageType : uint8_t {
    Register, Registered, ConnectRequest, ConnectResponse, Candidate, Relay, Ping, Pong, Error
};
MessageType type_of(const Message& message);
const char* type_name(MessageType type);  // the "t" value: "register", "connect_request", …
std::optional<MessageType> type_from_name(std::string_view name);

enum class DecodeErrorKind {
    Malformed,           // not one msgpack value (truncated, trailing bytes, nesting too deep, …)
    NotAMap,             // the value is not a map
    MissingField,        // a required field (or "v", "t") is absent
    WrongType,           // a field has the wrong msgpack type
    InvalidValue,        // right type, unacceptable value (bad agent id, mode 7, duplicate key, …)
    TooLarge,            // over a size limit (relay data, any string or array)
    UnsupportedVersion,  // "v" is an integer other than kProtocolVersion
    UnknownType          // "t" names no known message
};
const char* decode_error_kind_name(DecodeErrorKind kind);  // "unsupported_version", …

struct DecodeError {
    DecodeErrorKind kind = DecodeErrorKind::Malformed;
    std::string message;  // names the field and what is wrong
    std::string type;     // the "t" value when it could be read, else empty
    ErrorCode code() const;  // TooLarge 413, UnsupportedVersion 426, everything else 400
};

struct DecodeResult {
    std::optional<Message> message;  // set on success
    DecodeError error;               // meaningful when message is empty
    explicit operator bool() const { return message.has_value(); }
};

// Strict: exactly one msgpack map, "v" == 1, a known "t", required fields present with their
// types, values within limits. Unknown extra fields are ignored. Never throws.
DecodeResult decode(std::span<const uint8_t> bytes, const Limits& limits = {});
// Fields in a fixed order ("v", "t", then the struct's order); absent optionals are omitted. The
// encoder does not validate: the caller sends what it built.
std::vector<uint8_t> encode(const Message& message);
// The `error` to send back for a frame that did not decode (ref set when the type was readable
// and is a plain name).
Error error_reply(const DecodeError& error);

// Agent ids: 1 to 128 bytes of UTF-8 without control characters (C0, DEL, C1). On failure returns
// false and, when why is given, says what is wrong.
bool validate_agent_id(std::string_view id, std::string* why = nullptr);

} // namespace om::proto::signaling
