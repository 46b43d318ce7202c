// The one exception type inside transport-udp. It never leaves the plugin: the glue in plugin.cpp
// catches it, hands the message to host->set_error and returns the status.
// Messages carry no plugin name: the kernel reports "plugin <name>: <step> failed (<status>): <message>".
#pragma once

#include <orbitmesh/orbitmesh.h>

#include <stdexcept>
#include <string>

namespace om::udp {

class PluginError : public std::runtime_error {
public:
    PluginError(om_status status, const std::string& message)
        : std::runtime_error(message), status_(status) {}
    om_status status() const noexcept { return status_; }

private:
    om_status status_;
};

// The om_status that best describes a socket errno.
om_status status_for_errno(int error) noexcept;

// "<what>: <strerror(error)>", e.g. "bind 127.0.0.1:5: Address already in use".
std::string describe_errno(const std::string& what, int error);

}  // namespace om::udp
