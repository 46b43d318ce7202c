// The C waist's guard (ABI-RULES R17): every extern "C" body runs inside one of these, so no
// exception crosses the waist; failures become an om_status plus a message for the caller.
#pragma once

#include "agent/agent.h"
#include "core/error.h"

#include <orbitmesh/orbitmesh.h>

#include <cstring>
#include <exception>
#include <new>
#include <string>

namespace om::capi {

inline void write_error(char* buf, size_t cap, const std::string& message)
{
    if (!buf || cap == 0) return;
    size_t n = message.size() < cap - 1 ? message.size() : cap - 1;
    std::memcpy(buf, message.data(), n);
    buf[n] = '\0';
}

// Runs fn; reports the failure through report(status, message).
template <class F, class Report>
om_status guard(F&& fn, Report&& report) noexcept
{
    try {
        fn();
        return OM_OK;
    } catch (const Error& e) {
        report(e.status(), e.what());
        return e.status();
    } catch (const std::bad_alloc&) {
        report(OM_ERR_NO_MEMORY, "out of memory");
        return OM_ERR_NO_MEMORY;
    } catch (const std::exception& e) {
        report(OM_ERR_INTERNAL, std::string("internal error: ") + e.what());
        return OM_ERR_INTERNAL;
    } catch (...) {
        report(OM_ERR_INTERNAL, "internal error");
        return OM_ERR_INTERNAL;
    }
}

// For calls on an agent: the message becomes om_agent_last_error().
template <class F>
om_status guard_agent(om_agent* agent, F&& fn) noexcept
{
    auto* self = reinterpret_cast<Agent*>(agent);
    if (!self) return OM_ERR_INVALID_ARGUMENT;
    return guard(std::forward<F>(fn), [self](om_status, const std::string& message) {
        try {
            self->set_last_error(message);
        } catch (...) {
        }
    });
}

// For calls without a handle: the message goes to the caller's buffer.
template <class F>
om_status guard_buffer(char* err_buf, size_t err_buf_len, F&& fn) noexcept
{
    if (err_buf && err_buf_len) err_buf[0] = '\0';
    return guard(std::forward<F>(fn), [&](om_status, const std::string& message) { write_error(err_buf, err_buf_len, message); });
}

inline void require(bool ok, const char* what)
{
    if (!ok) fail(OM_ERR_INVALID_ARGUMENT, what);
}

// Library memory for the caller, released with om_free.
inline char* dup_for_caller(const std::string& text)
{
    char* out = static_cast<char*>(std::malloc(text.size() + 1));
    if (!out) throw std::bad_alloc();
    std::memcpy(out, text.c_str(), text.size() + 1);
    return out;
}

} // namespace om::capi
