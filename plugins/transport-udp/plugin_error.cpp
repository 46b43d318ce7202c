#include "plugin_error.h"

#include <cerrno>
#include <cstring>

namespace om::udp {

om_status status_for_errno(int error) noexcept
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

std::string describe_errno(const std::string& what, int error)
{
    char buf[128];
    // GNU strerror_r may return a static string instead of filling buf.
    const char* text = strerror_r(error, buf, sizeof buf);
    return what + ": " + text;
}

}  // namespace om::udp
