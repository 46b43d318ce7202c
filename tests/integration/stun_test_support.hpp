// Shared bits of the STUN integration tests: servers with STUN on free ports, counters.
#pragma once

#include "server_process.hpp"
#include "stun_test_client.hpp"

#include "proto/address.h"

#include <string>
#include <vector>

namespace om::test {

// orbitmesh-server on 127.0.0.1 (or bind) with STUN on a free port plus `extra`.
inline std::vector<std::string> stun_args(std::vector<std::string> extra = {}, const std::string& bind = "127.0.0.1") {
    std::vector<std::string> args = {"--open", "--bind", bind, "--stun-port", "-1"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

inline double stun_counter(const ServerProcess& server, const std::string& name) {
    return metric_value(http_get(server.port(), "/metrics").body, "orbitmesh_stun_" + name + "_total");
}

inline om_address loopback(uint16_t port, const std::string& ip = "127.0.0.1") {
    om_address a{};
    proto::parse_address(ip, port, a);
    return a;
}

inline std::string text(const om_address& a) { return proto::format_address(a); }

} // namespace om::test
