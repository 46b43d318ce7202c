// The kernel's one exception type: an om_status plus the detail that becomes the last error.
// It never crosses a waist: capi/ and every guarded plugin call translate it.
#pragma once

#include <orbitmesh/orbitmesh.h>

#include <cxxabi.h>

#include <stdexcept>
#include <string>

// Put before a catch (...) that swallows: a thread being cancelled (pthread_exit, as CPython does
// to threads during finalization) must keep unwinding or the process aborts.
#define OM_RETHROW_FORCED_UNWIND \
    catch (abi::__forced_unwind&) { throw; }

namespace om {

class Error : public std::runtime_error {
public:
    Error(om_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
    om_status status() const noexcept { return status_; }

private:
    om_status status_;
};

[[noreturn]] inline void fail(om_status status, const std::string& message)
{
    throw Error(status, message);
}

} // namespace om
