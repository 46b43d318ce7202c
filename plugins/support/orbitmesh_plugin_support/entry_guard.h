// The C boundary of a C++ plugin (ABI-RULES R17): every vtable entry point and extension method
// catches everything, gives the message to host->set_error and returns an om_status; no
// exception ever leaves the plugin.
//
//   using Entry = om::plugin::EntryPoints<MyTransport>;
//   int32_t my_open(void* instance, const char* bind) noexcept
//   {
//       return Entry::guarded(instance, [&](MyTransport& t) { t.open(bind); });
//   }
#pragma once

#include "orbitmesh_plugin_support/host_services.h"
#include "orbitmesh_plugin_support/plugin_error.h"

#include <orbitmesh/plugin.h>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <new>
#include <type_traits>

namespace om::plugin {

// Inside a catch block: the status for the exception being handled, its message given to
// report(const char*). PluginError keeps its status, std::bad_alloc is OM_ERR_NO_MEMORY and
// anything else OM_ERR_INTERNAL.
template <class Report>
int32_t status_of_current_exception(const Report& report) noexcept
{
    try {
        throw;
    } catch (const PluginError& error) {
        report(error.what());
        return error.status();
    } catch (const std::bad_alloc&) {
        report("out of memory");
        return OM_ERR_NO_MEMORY;
    } catch (const std::exception& error) {
        report(error.what());
        return OM_ERR_INTERNAL;
    } catch (...) {
        report("unknown exception");
        return OM_ERR_INTERNAL;
    }
}

// Runs body(args...), which returns a status or nothing (OM_OK then); an exception becomes
// its status, its message given to report(const char*).
template <std::invocable<const char*> Report, class Body, class... Args>
int32_t guard(const Report& report, const Body& body, Args&... args) noexcept
{
    try {
        if constexpr (std::is_void_v<std::invoke_result_t<const Body&, Args&...>>) {
            body(args...);
            return OM_OK;
        } else {
            return static_cast<int32_t>(body(args...));
        }
    } catch (...) {
        return status_of_current_exception(report);
    }
}

// The same, the message going to host->set_error (for create, before an instance exists).
template <class Body>
int32_t guard(const HostServices& host, const Body& body) noexcept
{
    return guard([&](const char* message) { host.set_error(message); }, body);
}

// The entry points of a plugin whose instance (the void* the host holds) is an Instance.
template <class Instance>
struct EntryPoints {
    static Instance& of(void* instance) noexcept { return *static_cast<Instance*>(instance); }

    // create: OM_ERR_INVALID_ARGUMENT without out_instance, without args, when args->struct_size
    // is below min_size or without a host; else *out_instance = new Instance(*args), a failure
    // going to host->set_error. Args is om_plugin_create_args or a kind's own (with .base).
    template <class Args>
    static int32_t create(const Args* args, size_t min_size, void** out_instance) noexcept
    {
        if (out_instance == nullptr) return OM_ERR_INVALID_ARGUMENT;
        *out_instance = nullptr;
        if (args == nullptr || args->struct_size < min_size || base_of(*args).host == nullptr)
            return OM_ERR_INVALID_ARGUMENT;
        const HostServices host(base_of(*args).host, base_of(*args).ctx);
        return guard(host, [&] { *out_instance = new Instance(*args); });
    }

    static void destroy(void* instance) noexcept { delete static_cast<Instance*>(instance); }

    // An entry point on an instance: OM_ERR_INVALID_ARGUMENT when instance is NULL, else
    // body(Instance&) guarded, its message given to the instance's report_error(const char*).
    // An Instance with publish_counters() publishes them afterwards, whatever the outcome.
    template <class Body>
    static int32_t guarded(void* instance, const Body& body) noexcept
    {
        if (instance == nullptr) return OM_ERR_INVALID_ARGUMENT;
        Instance& object = of(instance);
        const int32_t status = guard([&](const char* message) { object.report_error(message); }, body, object);
        if constexpr (requires { object.publish_counters(); }) {
            static_assert(noexcept(object.publish_counters()), "publish_counters runs outside the guard");
            object.publish_counters();
        }
        return status;
    }

private:
    static const om_plugin_create_args& base_of(const om_plugin_create_args& args) noexcept { return args; }
    template <class Args>
    static const om_plugin_create_args& base_of(const Args& args) noexcept
    {
        return args.base;
    }
};

// An extension method for om_plugin_function.fn (called through libffi with the real type
// that its signature string names).
template <class Fn>
auto as_plugin_function(Fn* fn) noexcept
{
    return reinterpret_cast<void (*)(void)>(fn);
}

}  // namespace om::plugin
