// The exception a C++ plugin throws inside itself. It never crosses the C boundary: the entry
// points catch it (entry_guard.h), hand its message to host->set_error and return its status.
// Messages carry no plugin name: the kernel reports "plugin <name>: <step> failed (<status>): <message>".
#pragma once

#include <orbitmesh/orbitmesh.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace om::plugin {

class PluginError : public std::runtime_error {
public:
    PluginError(om_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
    om_status status() const noexcept { return status_; }

private:
    om_status status_;
};

// The om_status that best describes the errno of a failed system call (sockets above all).
inline om_status status_for_errno(int error) noexcept
{
    switch (error) {
    case ECONNREFUSED: return OM_ERR_REFUSED;
    case ENETUNREACH:
    case EHOSTUNREACH:
    case ENETDOWN:
    case EHOSTDOWN: return OM_ERR_UNREACHABLE;
    case EMSGSIZE: return OM_ERR_TOO_LARGE;
    case EAGAIN: return OM_ERR_WOULD_BLOCK;
    case ENOMEM:
    case ENOBUFS: return OM_ERR_NO_MEMORY;
    case EINVAL:
    case EAFNOSUPPORT:
    case EADDRNOTAVAIL: return OM_ERR_INVALID_ARGUMENT;
    case EBADF: return OM_ERR_CLOSED;
    default: return OM_ERR_IO;
    }
}

namespace detail {
// GNU strerror_r returns the text, which may be a static string instead of buf; XSI strerror_r
// fills buf and returns 0.
inline const char* strerror_text(const char* result, const char* /*buf*/) noexcept { return result; }
inline const char* strerror_text(int result, const char* buf) noexcept { return result == 0 ? buf : "Unknown error"; }
}  // namespace detail

// "<what>: <strerror(error)>", e.g. "bind 127.0.0.1:5: Address already in use".
inline std::string describe_errno(const std::string& what, int error)
{
    char buf[128] = "";
    return what + ": " + detail::strerror_text(strerror_r(error, buf, sizeof buf), buf);
}

}  // namespace om::plugin
