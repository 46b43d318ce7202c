// The exception netsim throws inside itself; plugin.cpp turns it into an om_status plus
// host->set_error at the ABI boundary, so it never crosses the C waist.
// Messages carry no plugin name: the kernel reports "plugin <name>: <step> failed (<status>): <message>".
#pragma once

#include <orbitmesh/orbitmesh.h>

#include <stdexcept>
#include <string>

namespace om::netsim {

class PluginError : public std::runtime_error {
public:
    PluginError(om_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
    om_status status() const noexcept { return status_; }

private:
    om_status status_;
};

}  // namespace om::netsim
