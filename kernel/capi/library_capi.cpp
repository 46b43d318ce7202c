// extern "C": versions, status names, memory, logging. Only forwards.
#include "capi/capi_guard.h"
#include "proto/nat_names.h"
#include "core/log.h"

#include <cstdlib>

extern "C" {

OM_API const char* om_version(void)
{
    return OM_VERSION;
}

OM_API uint32_t om_version_number(void)
{
    return OM_VERSION_NUMBER;
}

OM_API const char* om_status_name(om_status status)
{
    switch (status) {
#define OM__STATUS_NAME(name, value, text) case OM_##name: return "OM_" #name;
        OM_STATUS_MAP(OM__STATUS_NAME)
#undef OM__STATUS_NAME
    default: return "OM_UNKNOWN_STATUS";
    }
}

OM_API const char* om_status_str(om_status status)
{
    switch (status) {
#define OM__STATUS_TEXT(name, value, text) case OM_##name: return text;
        OM_STATUS_MAP(OM__STATUS_TEXT)
#undef OM__STATUS_TEXT
    default: return "unknown status";
    }
}

OM_API const char* om_nat_type_name(om_nat_type type)
{
    return om::proto::nat_type_name(type);
}

OM_API const char* om_nat_behavior_name(om_nat_behavior behavior)
{
    return om::proto::nat_behavior_name(behavior);
}

OM_API void om_free(void* ptr)
{
    std::free(ptr);
}

OM_API om_status om_log_set_level(om_log_level level)
{
    if (level < OM_LOG_TRACE || level > OM_LOG_OFF) return OM_ERR_INVALID_ARGUMENT;
    return om::capi::guard([&] { om::set_log_level(level); }, [](om_status, const std::string&) {});
}

} // extern "C"
