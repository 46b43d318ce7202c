#include "core/log.h"

#include <Poco/AutoPtr.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/FormattingChannel.h>
#include <Poco/Logger.h>
#include <Poco/PatternFormatter.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <mutex>

namespace om {
namespace {

int poco_priority(om_log_level level)
{
    switch (level) {
    case OM_LOG_TRACE: return Poco::Message::PRIO_TRACE;
    case OM_LOG_DEBUG: return Poco::Message::PRIO_DEBUG;
    case OM_LOG_INFO: return Poco::Message::PRIO_INFORMATION;
    case OM_LOG_WARNING: return Poco::Message::PRIO_WARNING;
    case OM_LOG_ERROR: return Poco::Message::PRIO_ERROR;
    default: return 0;  // off
    }
}

om_log_level level_from_env()
{
    const char* text = std::getenv("ORBITMESH_LOG_LEVEL");
    if (!text) return OM_LOG_WARNING;
    static const char* names[] = {"trace", "debug", "info", "warning", "error", "off"};
    for (int i = 0; i <= OM_LOG_OFF; ++i)
        if (std::strcmp(text, names[i]) == 0) return static_cast<om_log_level>(i);
    return OM_LOG_WARNING;
}

Poco::Logger& logger()
{
    static std::once_flag once;
    std::call_once(once, [] {
        Poco::AutoPtr<Poco::PatternFormatter> pattern(new Poco::PatternFormatter("%H:%M:%S.%i orbitmesh %q: %t"));
        Poco::AutoPtr<Poco::FormattingChannel> channel(
            new Poco::FormattingChannel(pattern, new Poco::ConsoleChannel(std::cerr)));
        Poco::Logger& l = Poco::Logger::get("orbitmesh");
        l.setChannel(channel);
        l.setLevel(poco_priority(level_from_env()));
    });
    return Poco::Logger::get("orbitmesh");
}

} // namespace

void set_log_level(om_log_level level)
{
    logger().setLevel(poco_priority(level));
}

bool log_enabled(om_log_level level)
{
    return level < OM_LOG_OFF && logger().is(poco_priority(level));
}

void log_message(om_log_level level, const std::string& message)
{
    if (!log_enabled(level)) return;
    logger().log(Poco::Message("orbitmesh", message, static_cast<Poco::Message::Priority>(poco_priority(level))));
}

} // namespace om
