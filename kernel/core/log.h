// Logging through Poco: the "orbitmesh" logger, stderr, level from om_log_set_level or the
// ORBITMESH_LOG_LEVEL variable.
#pragma once

#include <orbitmesh/orbitmesh.h>

#include <string>

namespace om {

void log_message(om_log_level level, const std::string& message);
bool log_enabled(om_log_level level);
void set_log_level(om_log_level level);

} // namespace om
