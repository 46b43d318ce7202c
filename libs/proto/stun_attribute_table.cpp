// The attribute types this codec knows: their names, value layouts, and whether unknown_required()
// treats them as understood by default.
#include "proto/stun.h"
#include "proto/stun_wire.h"

#include <cstdio>

namespace om::proto::stun {
namespace {

struct AttributeInfo {
    uint16_t type;
    const char* name;
    ValueKind kind;
    bool known_by_default;  // RFC 8489, RFC 5780, RFC 3489: see unknown_required()
};

using K = ValueKind;
constexpr AttributeInfo kAttributes[] = {
    {attr::MappedAddress, "MAPPED-ADDRESS", K::Address, true},
    {attr::ResponseAddress, "RESPONSE-ADDRESS", K::Address, false},  // reflection: never honoured
    {attr::ChangeRequest, "CHANGE-REQUEST", K::U32, true},
    {attr::SourceAddress, "SOURCE-ADDRESS", K::Address, true},
    {attr::ChangedAddress, "CHANGED-ADDRESS", K::Address, true},
    {attr::Username, "USERNAME", K::Text, true},
    {attr::MessageIntegrity, "MESSAGE-INTEGRITY", K::Integrity, true},
    {attr::ErrorCode, "ERROR-CODE", K::ErrorCode, true},
    {attr::UnknownAttributes, "UNKNOWN-ATTRIBUTES", K::UnknownList, true},
    {attr::ChannelNumber, "CHANNEL-NUMBER", K::U32, false},
    {attr::Lifetime, "LIFETIME", K::U32, false},
    {attr::XorPeerAddress, "XOR-PEER-ADDRESS", K::XorAddress, false},
    {attr::DataAttr, "DATA", K::Bytes, false},
    {attr::Realm, "REALM", K::Text, true},
    {attr::Nonce, "NONCE", K::Text, true},
    {attr::XorRelayedAddress, "XOR-RELAYED-ADDRESS", K::XorAddress, false},
    {attr::RequestedTransport, "REQUESTED-TRANSPORT", K::U32, false},
    {attr::MessageIntegritySha256, "MESSAGE-INTEGRITY-SHA256", K::Integrity, true},
    {attr::PasswordAlgorithm, "PASSWORD-ALGORITHM", K::Bytes, true},
    {attr::Userhash, "USERHASH", K::Bytes, true},
    {attr::XorMappedAddress, "XOR-MAPPED-ADDRESS", K::XorAddress, true},
    {attr::Priority, "PRIORITY", K::U32, false},
    {attr::UseCandidate, "USE-CANDIDATE", K::Empty, false},
    {attr::Padding, "PADDING", K::Bytes, true},
    {attr::ResponsePort, "RESPONSE-PORT", K::ResponsePort, true},
    {attr::PasswordAlgorithms, "PASSWORD-ALGORITHMS", K::Bytes, true},
    {attr::AlternateDomain, "ALTERNATE-DOMAIN", K::Text, true},
    {attr::Software, "SOFTWARE", K::Text, true},
    {attr::AlternateServer, "ALTERNATE-SERVER", K::Address, true},
    {attr::Fingerprint, "FINGERPRINT", K::Fingerprint, true},
    {attr::IceControlled, "ICE-CONTROLLED", K::Bytes, false},
    {attr::IceControlling, "ICE-CONTROLLING", K::Bytes, false},
    {attr::ResponseOrigin, "RESPONSE-ORIGIN", K::Address, true},
    {attr::OtherAddress, "OTHER-ADDRESS", K::Address, true},
};

const AttributeInfo* info(uint16_t type)
{
    for (const auto& entry : kAttributes)
        if (entry.type == type) return &entry;
    return nullptr;
}

}  // namespace

std::string attr::name(uint16_t type)
{
    if (const auto* entry = info(type)) return entry->name;
    char text[8];
    std::snprintf(text, sizeof text, "0x%04X", type);
    return text;
}

ValueKind attr::value_kind(uint16_t type)
{
    const auto* entry = info(type);
    return entry ? entry->kind : ValueKind::Unknown;
}

bool wire::known_by_default(uint16_t type)
{
    const auto* entry = info(type);
    return entry && entry->known_by_default;
}

}  // namespace om::proto::stun
