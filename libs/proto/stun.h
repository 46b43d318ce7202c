// STUN messages (RFC 8489) with the RFC 5780 behaviour-discovery attributes and the RFC 3489
// "classic" attributes old clients still use. A strict parser that says why it rejects, and a
// builder that writes into a caller buffer without allocating (the embedded server's hot path).
// Pure functions over bytes, shared by the server, the nat-stun plugin, the TURN client and tests.
#pragma once

#include <orbitmesh/plugin.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace om::proto::stun {

inline constexpr uint32_t kMagicCookie = 0x2112A442;  // RFC 8489 §5
inline constexpr size_t kHeaderSize = 20;             // §5
inline constexpr size_t kMaxAttributes = 32;          // more is refused as malformed
inline constexpr size_t kMaxMessageSize = 65535 + kHeaderSize;
inline constexpr uint32_t kFingerprintXor = 0x5354554E;  // §14.7 "STUN"

// 96-bit transaction id (§5). A classic RFC 3489 message has a 128-bit id whose first 32 bits
// take the place of the magic cookie: `classic_cookie` keeps them.
using TransactionId = std::array<uint8_t, 12>;

// §5: the method and class are interleaved in the 14-bit message type.
enum class Class : uint8_t { Request = 0, Indication = 1, SuccessResponse = 2, ErrorResponse = 3 };

namespace method {
inline constexpr uint16_t Binding = 0x001;           // RFC 8489
inline constexpr uint16_t Allocate = 0x003;          // RFC 8656
inline constexpr uint16_t Refresh = 0x004;
inline constexpr uint16_t Send = 0x006;
inline constexpr uint16_t Data = 0x007;
inline constexpr uint16_t CreatePermission = 0x008;
inline constexpr uint16_t ChannelBind = 0x009;
}  // namespace method

// How an attribute's value is laid out, i.e. which typed reader / Builder::add_* fits it.
enum class ValueKind : uint8_t {
    Unknown,       // a type this codec does not know
    Address,       // read_address / add_address
    XorAddress,    // read_xor_address / add_xor_address
    U32,           // read_u32 / add_u32
    ResponsePort,  // read_response_port / add_response_port
    ErrorCode,     // read_error_code / add_error_code
    UnknownList,   // read_unknown_attributes / add_unknown_attributes
    Text,          // read_text / add_text
    Bytes,         // opaque bytes: PADDING, DATA, USERHASH, PASSWORD-ALGORITHM(S), ICE tie-breakers, …
    Empty,         // no value: USE-CANDIDATE
    Integrity,     // MESSAGE-INTEGRITY / MESSAGE-INTEGRITY-SHA256 (written by the Builder)
    Fingerprint,   // FINGERPRINT (written by the Builder)
};

namespace attr {
// Comprehension-required (0x0000-0x7FFF)
inline constexpr uint16_t MappedAddress = 0x0001;           // RFC 8489 §14.1
inline constexpr uint16_t ResponseAddress = 0x0002;         // RFC 3489 (refused: reflection)
inline constexpr uint16_t ChangeRequest = 0x0003;           // RFC 5780 §7.2
inline constexpr uint16_t SourceAddress = 0x0004;           // RFC 3489 §11.2.3
inline constexpr uint16_t ChangedAddress = 0x0005;          // RFC 3489 §11.2.3
inline constexpr uint16_t Username = 0x0006;                // RFC 8489 §14.3
inline constexpr uint16_t MessageIntegrity = 0x0008;        // §14.5
inline constexpr uint16_t ErrorCode = 0x0009;               // §14.8
inline constexpr uint16_t UnknownAttributes = 0x000A;       // §14.13
inline constexpr uint16_t ChannelNumber = 0x000C;           // RFC 8656
inline constexpr uint16_t Lifetime = 0x000D;                // RFC 8656
inline constexpr uint16_t XorPeerAddress = 0x0012;          // RFC 8656
inline constexpr uint16_t DataAttr = 0x0013;                // RFC 8656
inline constexpr uint16_t Realm = 0x0014;                   // §14.9
inline constexpr uint16_t Nonce = 0x0015;                   // §14.10
inline constexpr uint16_t XorRelayedAddress = 0x0016;       // RFC 8656
inline constexpr uint16_t RequestedTransport = 0x0019;      // RFC 8656
inline constexpr uint16_t MessageIntegritySha256 = 0x001C;  // §14.6
inline constexpr uint16_t PasswordAlgorithm = 0x001D;       // §14.12
inline constexpr uint16_t Userhash = 0x001E;                // §14.4
inline constexpr uint16_t XorMappedAddress = 0x0020;        // §14.2
inline constexpr uint16_t Padding = 0x0026;                 // RFC 5780 §7.6
inline constexpr uint16_t ResponsePort = 0x0027;            // RFC 5780 §7.5
// Comprehension-optional (0x8000-0xFFFF)
inline constexpr uint16_t PasswordAlgorithms = 0x8002;      // §14.11
inline constexpr uint16_t AlternateDomain = 0x8003;         // §14.16
inline constexpr uint16_t Software = 0x8022;                // §14.14
inline constexpr uint16_t AlternateServer = 0x8023;         // §14.15
inline constexpr uint16_t Fingerprint = 0x8028;             // §14.7
inline constexpr uint16_t Priority = 0x0024;                // RFC 8445 (comprehension-required)
inline constexpr uint16_t UseCandidate = 0x0025;            // RFC 8445
inline constexpr uint16_t IceControlled = 0x8029;           // RFC 8445
inline constexpr uint16_t IceControlling = 0x802A;          // RFC 8445
inline constexpr uint16_t ResponseOrigin = 0x802B;          // RFC 5780 §7.3
inline constexpr uint16_t OtherAddress = 0x802C;            // RFC 5780 §7.4

inline constexpr bool comprehension_required(uint16_t type) { return type < 0x8000; }
// "XOR-MAPPED-ADDRESS", …; "0x1234" style text for types this codec does not know.
std::string name(uint16_t type);

ValueKind value_kind(uint16_t type);  // the layout of the type's value
}  // namespace attr

// RFC 5780 §7.2 CHANGE-REQUEST flags.
inline constexpr uint32_t kChangeIp = 0x4;
inline constexpr uint32_t kChangePort = 0x2;

// One attribute as it sits in the parsed buffer (a view: valid while the buffer is).
struct Attribute {
    uint16_t type = 0;
    uint32_t offset = 0;  // of the attribute header from the start of the message (may exceed 65535)
    std::span<const uint8_t> value;
};

// A parsed message: views into the caller's buffer, no allocation.
struct Message {
    uint16_t method = 0;
    Class cls = Class::Request;
    TransactionId transaction_id{};
    bool classic = false;          // RFC 3489: no magic cookie
    uint32_t classic_cookie = 0;   // the id's first 32 bits when classic
    std::span<const uint8_t> bytes;  // the whole message
    // The attributes that count, in order. §14.5/§14.6: attributes after MESSAGE-INTEGRITY other
    // than MESSAGE-INTEGRITY-SHA256 and FINGERPRINT, and after MESSAGE-INTEGRITY-SHA256 other than
    // FINGERPRINT, are ignored: parse() leaves them out (their TLV framing is still checked).
    std::array<Attribute, kMaxAttributes> attributes{};
    size_t attribute_count = 0;
    // §14.5/§14.6/§14.7: where the integrity attributes and FINGERPRINT sit (0 = absent).
    uint32_t integrity_offset = 0;
    uint32_t integrity_sha256_offset = 0;
    bool has_fingerprint = false;  // present and already verified by parse()

    // The first attribute of this type, or nullptr.
    const Attribute* find(uint16_t type) const;
    std::span<const Attribute> all() const { return {attributes.data(), attribute_count}; }
};

// Quick check on a datagram's first bytes (RFC 7983 first byte 0-3, §5 layout, length field
// matches, magic cookie unless allow_classic). It is cheap; parse() is the real check.
bool looks_like_stun(std::span<const uint8_t> bytes, bool allow_classic = false);

struct ParseOptions {
    bool allow_classic = false;  // accept RFC 3489 messages without the magic cookie
};

// Parses and validates one message: header (§5: top two bits zero, length a multiple of 4 and
// equal to what follows the header, magic cookie), each attribute's TLV bounds and padding (§14),
// FINGERPRINT last and correct (§14.7), at most kMaxAttributes TLVs (ignored ones included),
// MESSAGE-INTEGRITY 20 bytes, MESSAGE-INTEGRITY-SHA256 16..32 bytes in steps of 4. Padding bytes
// are ignored (§14: receivers MUST ignore them). Integrity is NOT checked here
// (it needs a key): use verify_integrity(). Returns false with `why` naming the rule broken.
bool parse(std::span<const uint8_t> bytes, Message& out, std::string* why = nullptr,
           ParseOptions options = {});

// Typed readers; each returns nullopt (and sets why) when the value is malformed.
// MAPPED-ADDRESS, OTHER-ADDRESS, RESPONSE-ORIGIN, SOURCE/CHANGED-ADDRESS, ALTERNATE-SERVER (§14.1)
std::optional<om_address> read_address(const Attribute& a, std::string* why = nullptr);
// XOR-MAPPED-ADDRESS, XOR-PEER-ADDRESS, XOR-RELAYED-ADDRESS (§14.2): XORed with header bytes
// 4..19, i.e. cookie + id (a classic message's own first 32 bits take the cookie's place).
std::optional<om_address> read_xor_address(const Attribute& a, const Message& m, std::string* why = nullptr);
// The mapped address of a Binding success response: XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS.
std::optional<om_address> mapped_address(const Message& m, std::string* why = nullptr);
std::optional<uint32_t> read_u32(const Attribute& a, std::string* why = nullptr);  // CHANGE-REQUEST, LIFETIME, PRIORITY
std::optional<uint16_t> read_response_port(const Attribute& a, std::string* why = nullptr);
struct ErrorCodeValue {
    uint16_t code = 0;  // 300..699
    std::string reason;
};
std::optional<ErrorCodeValue> read_error_code(const Attribute& a, std::string* why = nullptr);
std::optional<std::vector<uint16_t>> read_unknown_attributes(const Attribute& a, std::string* why = nullptr);
// UTF-8 checked (RFC 3629), with the §14 limits: USERNAME < 513 bytes (RFC 5389's bound; RFC
// 8489 says < 509), REALM/NONCE/SOFTWARE and the ERROR-CODE reason < 128 characters and <= 763
// bytes, ALTERNATE-DOMAIN < 255 bytes; other types only UTF-8.
std::optional<std::string_view> read_text(const Attribute& a, std::string* why = nullptr);

// The comprehension-required attribute types in m that this codec does not know, for a 420
// answer (§6.3.1), each once. Known here: RFC 8489, RFC 5780 and the RFC 3489 classic attributes
// except RESPONSE-ADDRESS (never honoured: reflection). TURN and ICE attributes are NOT known
// by default: `known` lists extra types the caller understands.
std::vector<uint16_t> unknown_required(const Message& m, std::span<const uint16_t> known = {});

// §9.1.1 short-term key is the password itself; §9.2.2 long-term key is
// MD5(username ":" realm ":" password) (the password already SASLprep'ed by the caller).
std::vector<uint8_t> long_term_key(std::string_view username, std::string_view realm, std::string_view password);

// §14.5 / §14.6: checks MESSAGE-INTEGRITY (HMAC-SHA1) or MESSAGE-INTEGRITY-SHA256 with key.
// False when the attribute is absent or does not match. Poco's HMAC engines allocate: keep
// these (and add_message_integrity*) off paths that must not allocate.
bool verify_integrity(const Message& m, std::span<const uint8_t> key);
bool verify_integrity_sha256(const Message& m, std::span<const uint8_t> key);

// §14.7: CRC-32 of the message up to the FINGERPRINT attribute, XOR 0x5354554e.
uint32_t fingerprint_of(std::span<const uint8_t> message_prefix);

// Writes one message into a caller buffer. Each add_* returns false (and the builder stays
// failed) when the buffer is too small or after an integrity/fingerprint attribute was added in
// the wrong order. finish() returns the message size, 0 when failed.
class Builder {
public:
    Builder(std::span<uint8_t> out, uint16_t method, Class cls, const TransactionId& id);
    // A classic RFC 3489 message (to answer a classic request with the same 128-bit id).
    static Builder classic(std::span<uint8_t> out, uint16_t method, Class cls, uint32_t classic_cookie,
                           const TransactionId& id);

    bool add_bytes(uint16_t type, std::span<const uint8_t> value);  // pads to 4 bytes (§14)
    bool add_text(uint16_t type, std::string_view text);
    bool add_u32(uint16_t type, uint32_t value);
    bool add_address(uint16_t type, const om_address& address);      // §14.1
    bool add_xor_address(uint16_t type, const om_address& address);  // §14.2
    bool add_error_code(uint16_t code, std::string_view reason);     // §14.8
    bool add_unknown_attributes(std::span<const uint16_t> types);    // §14.13
    bool add_change_request(bool change_ip, bool change_port);       // RFC 5780 §7.2
    bool add_response_port(uint16_t port);                           // RFC 5780 §7.5
    bool add_padding(size_t bytes);                                  // RFC 5780 §7.6
    bool add_message_integrity(std::span<const uint8_t> key);         // §14.5
    bool add_message_integrity_sha256(std::span<const uint8_t> key);  // §14.6
    bool add_fingerprint();                                           // §14.7, always last
    // §14: padding content is the sender's choice and ignored by receivers; zero by default.
    // (RFC 5769's vectors pad text with 0x20: this reproduces them byte for byte.)
    void set_padding_byte(uint8_t value) { padding_byte_ = value; }
    // add_bytes() with any type follows the same order rules (after MESSAGE-INTEGRITY only
    // MESSAGE-INTEGRITY-SHA256 and FINGERPRINT, after FINGERPRINT nothing).

    size_t size() const { return failed_ ? 0 : size_; }
    bool failed() const { return failed_; }
    size_t finish() const { return size(); }
    // Bytes left in the buffer; an attribute takes its 4-byte header plus its padded value.
    size_t room() const { return failed_ ? 0 : out_.size() - size_; }

private:
    Builder() = default;
    uint8_t* reserve(uint16_t type, size_t value_len);  // writes the TLV header, sets the length
    void set_length(size_t body_len);
    std::span<uint8_t> out_;
    size_t size_ = 0;
    bool failed_ = false;
    bool sealed_ = false;  // FINGERPRINT written
    bool after_integrity_ = false;         // MESSAGE-INTEGRITY written
    bool after_integrity_sha256_ = false;  // MESSAGE-INTEGRITY-SHA256 written
    uint8_t padding_byte_ = 0;
    uint32_t cookie_ = kMagicCookie;  // or the classic id's first 32 bits
};

// A fresh random transaction id (§5: uniformly random, from a CSPRNG).
TransactionId random_transaction_id();

// §6.2.1 retransmission schedule: the send times (ms from the first send) for rto_ms, Rc sends,
// and the final wait Rm * RTO, e.g. 0,500,1500,…,31500 and timeout 39500 for the defaults.
struct RetransmitSchedule {
    std::vector<uint32_t> send_at_ms;
    uint32_t timeout_ms = 0;
};
RetransmitSchedule retransmit_schedule(uint32_t rto_ms = 500, uint32_t rc = 7, uint32_t rm = 16);

}  // namespace om::proto::stun
