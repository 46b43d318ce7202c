// extern "C": ICE candidates (seed IceCandidate). Only forwards to proto/candidate inside the guard;
// failures are kept per thread for om_candidate_last_error() (these functions have no handle).
#include "capi/capi_guard.h"
#include "core/error.h"
#include "proto/candidate.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace ice = om::proto::ice;
using om::capi::require;

namespace {

std::string& last_error()
{
    thread_local std::string text;
    return text;
}

template <class F>
om_status guard_candidate(F&& fn) noexcept
{
    last_error().clear();
    return om::capi::guard(std::forward<F>(fn), [](om_status, const std::string& message) {
        try {
            last_error() = message;
        } catch (...) {
        }
    });
}

uint16_t port_argument(int32_t port, const char* what)
{
    if (port < 1 || port > 65535) om::fail(OM_ERR_INVALID_ARGUMENT, std::string(what) + " must be in 1..65535");
    return static_cast<uint16_t>(port);
}

om_address ip_argument(const char* ip, int32_t port, const char* what)
{
    require(ip != nullptr, (std::string(what) + " is NULL").c_str());
    const uint16_t checked_port = port_argument(port, (std::string(what) + " port").c_str());
    om_address address{};
    std::string why;
    if (!ice::parse_ip_literal(ip, checked_port, address, &why)) om::fail(OM_ERR_INVALID_ARGUMENT, std::string(what) + ": " + why);
    return address;
}

void require_output(const om_candidate* out)
{
    require(out != nullptr, "out is NULL");
    require(out->struct_size >= sizeof(om_candidate), "om_candidate.struct_size is too small (set it to sizeof(om_candidate))");
}

// ABI-RULES R6 for an input struct: every field is needed; a newer, larger struct is accepted
// only when the fields this library does not know are zero.
om_candidate read_input(const om_candidate* in)
{
    require(in != nullptr, "candidate is NULL");
    require(in->struct_size >= sizeof(om_candidate), "om_candidate.struct_size is too small");
    const auto* bytes = reinterpret_cast<const uint8_t*>(in);
    for (size_t i = sizeof(om_candidate); i < in->struct_size; ++i)
        require(bytes[i] == 0, "om_candidate is newer than this library and sets fields it does not know");
    om_candidate copy;
    std::memcpy(&copy, in, sizeof copy);
    return copy;
}

// Checks what the constructors built with from_c's rules (unspecified address, …), then writes
// only what the caller's struct_size covers.
void write_output(const ice::Candidate& candidate, om_candidate* out, om_status failure)
{
    om_candidate c;
    ice::to_c(candidate, c);
    ice::Candidate checked;
    std::string why;
    if (!ice::from_c(c, checked, &why)) om::fail(failure, why);
    const uint32_t size = out->struct_size;
    std::memcpy(out, &c, std::min<size_t>(size, sizeof c));
    out->struct_size = size;
}

} // namespace

extern "C" {

OM_API const char* om_candidate_type_name(om_candidate_type type)
{
    if (type < OM_CANDIDATE_HOST || type > OM_CANDIDATE_RELAYED) return "unknown";
    return ice::type_name(static_cast<ice::CandidateType>(type));
}

OM_API om_status om_candidate_host(const char* ip, int32_t port, om_candidate* out)
{
    return guard_candidate([&] {
        require_output(out);
        write_output(ice::make_host(ip_argument(ip, port, "ip")), out, OM_ERR_INVALID_ARGUMENT);
    });
}

OM_API om_status om_candidate_server_reflexive(const char* public_ip, int32_t public_port, const char* local_ip,
                                               int32_t local_port, om_candidate* out)
{
    return guard_candidate([&] {
        require_output(out);
        const om_address mapped = ip_argument(public_ip, public_port, "public_ip");
        const om_address base = ip_argument(local_ip, local_port, "local_ip");
        write_output(ice::make_server_reflexive(mapped, base), out, OM_ERR_INVALID_ARGUMENT);
    });
}

OM_API om_status om_candidate_relayed(const char* relayed_ip, int32_t relayed_port, const char* relay_server,
                                      om_candidate* out)
{
    return guard_candidate([&] {
        require_output(out);
        require(relay_server != nullptr, "relay_server is NULL");
        require(std::strlen(relay_server) < OM_ADDRESS_TEXT_LEN, "relay_server is longer than 63 bytes");
        require(std::none_of(relay_server, relay_server + std::strlen(relay_server),
                             [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; }),
                "relay_server has a control character");
        const om_address relayed = ip_argument(relayed_ip, relayed_port, "relayed_ip");
        write_output(ice::make_relayed(relayed, relay_server), out, OM_ERR_INVALID_ARGUMENT);
    });
}

OM_API om_status om_candidate_to_string(const om_candidate* candidate, char* buf, size_t cap, size_t* needed)
{
    return guard_candidate([&] {
        if (needed) *needed = 0;
        require(buf != nullptr || cap == 0, "buf is NULL with a non-zero cap");
        ice::Candidate parsed;
        std::string why;
        if (!ice::from_c(read_input(candidate), parsed, &why)) om::fail(OM_ERR_INVALID_ARGUMENT, why);
        const std::string text = ice::format(parsed);
        if (needed) *needed = text.size() + 1;
        if (cap < text.size() + 1) {
            if (buf && cap > 0) buf[0] = '\0';  // never leave the caller an unterminated buffer
            om::fail(OM_ERR_BUFFER_TOO_SMALL, "the candidate text needs " + std::to_string(text.size() + 1) + " bytes");
        }
        std::memcpy(buf, text.c_str(), text.size() + 1);
    });
}

OM_API om_status om_candidate_parse(const char* text, om_candidate* out)
{
    return guard_candidate([&] {
        require(text != nullptr, "text is NULL");
        require_output(out);
        ice::Candidate parsed;
        std::string why;
        if (!ice::parse(text, parsed, &why)) om::fail(OM_ERR_MALFORMED, "malformed candidate: " + why);
        write_output(parsed, out, OM_ERR_MALFORMED);
    });
}

OM_API const char* om_candidate_last_error(void)
{
    return last_error().c_str();
}

} // extern "C"
