// om_server_options (C, struct_size-versioned, ABI-RULES R6) -> ServerConfig (owned C++).
#pragma once

#include "hub/server_config.hpp"
#include "stun/stun_config.hpp"

#include <orbitmesh/orbitmesh.h>

namespace om::server {

ServerConfig config_from_options(const om_server_options& options); // throws om::Error
StunConfig stun_config_from_options(const om_server_options& options); // throws om::Error
TurnConfig turn_config_from_options(const om_server_options& options); // throws om::Error

} // namespace om::server
