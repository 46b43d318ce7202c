// ICE candidates (RFC 8445 §5.1) and their RFC 8839 §5.1 text form, shared by the kernel's
// connectivity checks, the C API (om_candidate_*), the bindings and the tests. Pure functions.
#pragma once

#include <orbitmesh/orbitmesh.h>
#include <orbitmesh/plugin.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace om::proto::ice {

enum class CandidateType : uint8_t { Host = 0, ServerReflexive = 1, PeerReflexive = 2, Relayed = 3 };

// RFC 8445 §5.1.2.2 with the seed's values: host 126, srflx 100, prflx 110, relayed 0.
uint32_t type_preference(CandidateType type);
// RFC 8445 §5.1.2.1: 2^24*type_pref + 2^8*local_pref + (256 - component).
uint32_t candidate_priority(CandidateType type, uint16_t local_preference, uint32_t component = 1);
// RFC 8445 §6.1.2.3: 2^32*MIN(G,D) + 2*MAX(G,D) + (G>D?1:0), G the controlling side's priority.
uint64_t pair_priority(uint32_t controlling, uint32_t controlled);
// "host", "srflx", "prflx", "relay".
const char* type_name(CandidateType type);

struct Candidate {
    CandidateType type = CandidateType::Host;
    om_address address{};           // transport address (IP literal + port)
    std::optional<om_address> related;  // raddr/rport: base of srflx/prflx, mapped address of relay
    std::string foundation;         // 1..32 ice-chars (RFC 8839 §5.1)
    uint32_t priority = 0;
    uint32_t component = 1;
    std::string relay_server;       // relayed only: the TURN server ("" when unknown)
    // Not defaulted: om_address is a C struct without operator== (proto::same_address compares).
    bool operator==(const Candidate& other) const;
};

// RFC 8445 §5.1.1.3: candidates of the same type, base IP and server share a foundation. This
// builds it as a short ice-char string from those inputs (a stable hash, not secret).
std::string make_foundation(CandidateType type, const om_address& base, std::string_view server = {});

// Constructors with a computed priority (local preference 65535 unless given) and foundation.
Candidate make_host(const om_address& address, uint16_t local_preference = 65535);
Candidate make_server_reflexive(const om_address& mapped, const om_address& base, uint16_t local_preference = 65535);
Candidate make_peer_reflexive(const om_address& mapped, const om_address& base, uint32_t priority);
Candidate make_relayed(const om_address& relayed, std::string relay_server, uint16_t local_preference = 65535);

// "candidate:<foundation> <component> udp <priority> <ip> <port> typ <type>[ raddr <ip> rport
// <port>]" (RFC 8839 §5.1; IPv6 without brackets).
std::string format(const Candidate& candidate);
// Strict parse of that grammar (an "a=" prefix is accepted, extension attributes after the
// type are skipped, the transport must be UDP, the address an IP literal). False with `why`.
bool parse(std::string_view text, Candidate& out, std::string* why = nullptr);

// A bare IP literal as RFC 8839 writes it: "192.0.2.1", "2001:db8::1" (no brackets, port, zone id
// or DNS name). out gets that IP with `port`. False with `why`.
bool parse_ip_literal(std::string_view text, uint16_t port, om_address& out, std::string* why = nullptr);

// Conversions to and from the C API's om_candidate (addresses as text). to_c never fails for a
// Candidate built by this module; from_c checks every field and says what is wrong.
void to_c(const Candidate& in, om_candidate& out);
bool from_c(const om_candidate& in, Candidate& out, std::string* why = nullptr);

} // namespace om::proto::ice
