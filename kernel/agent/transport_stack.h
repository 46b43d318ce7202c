// The agent's transport: a bottom transport and the decorators stacked on it ("netsim:udp"),
// created when the transport opens and destroyed when it closes. Loop thread only.
#pragma once

#include "agent/plugin_instance.h"
#include "core/plugin_options.h"

#include <orbitmesh/plugin.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace om {

class PluginRegistry;

// "netsim:udp" -> the libraries, outermost first. Throws om::Error when a name is unknown, a
// decorator is last, or a bottom transport is stacked on something.
std::vector<std::shared_ptr<PluginLibrary>> load_transport_stack(PluginRegistry& registry, std::string_view spec);

class TransportStack {
public:
    // Creates every layer, bottom first; `sink` receives what the outermost layer delivers.
    TransportStack(PluginOwner& owner, const std::vector<std::shared_ptr<PluginLibrary>>& layers,
                   const PluginOptions& options, const std::string& agent_id, om_datagram_sink_fn sink,
                   void* sink_user_data);
    ~TransportStack();  // closes and destroys, outermost first
    TransportStack(const TransportStack&) = delete;
    TransportStack& operator=(const TransportStack&) = delete;

    void open(const std::string& bind_address);
    size_t send(const om_datagram* batch, size_t count);
    int poll_fd();
    size_t drain(size_t max);
    om_address local_address();
    uint32_t mtu(uint32_t fallback);

    PluginInstance* find(std::string_view plugin_name);
    std::string describe() const;  // "netsim:transport-udp"

private:
    // Routes a datagram from layer i+1 to decorator i (its inner_received slot).
    struct Link {
        TransportStack* stack;
        size_t outer;
    };
    static void inner_sink(void* user_data, const om_datagram* datagram);
    void destroy_layers();
    std::string inner_errors();
    const om_transport_vtbl& vtbl(size_t i) const { return *layers_[i].library->transport(); }

    PluginOwner& owner_;
    std::vector<PluginInstance> layers_;  // outermost first
    std::vector<std::unique_ptr<Link>> links_;
    bool open_ = false;
};

} // namespace om
