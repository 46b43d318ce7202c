// Maps the parsed command line onto orbitmesh::AgentOptions, field by field.
#include "agent_setup.hpp"

#include <iostream>
#include <map>

namespace om_cli {
namespace {

void set_plugin(orbitmesh::AgentOptions& options, const PluginChoice& choice) {
    if (choice.kind == "transport") options.transport_plugin(choice.name);
    else if (choice.kind == "nat-discovery") options.nat_discovery_plugin(choice.name);
    else if (choice.kind == "strategy") options.strategy_plugin(choice.name);
    else if (choice.kind == "turn") options.turn_plugin(choice.name);
    else if (choice.kind == "delivery") options.delivery_plugin(choice.name);
}

} // namespace

void apply_log_level(const GlobalOptions& global) {
    static const std::map<std::string, om_log_level> levels = {
        {"trace", OM_LOG_TRACE}, {"debug", OM_LOG_DEBUG},     {"info", OM_LOG_INFO},
        {"warning", OM_LOG_WARNING}, {"error", OM_LOG_ERROR}, {"off", OM_LOG_OFF}};
    auto it = levels.find(global.log_level);
    if (it != levels.end()) om_log_set_level(it->second);
}

void fill_agent_options(const GlobalOptions& g, orbitmesh::AgentOptions& options) {
    if (!g.server.empty()) options.server_url(g.server);
    if (!g.id.empty()) options.agent_id(g.id);
    if (!g.token.empty()) options.token(g.token);
    if (!g.bind.empty()) options.bind_address(g.bind);
    if (!g.turn_server.empty()) options.turn_server(g.turn_server);
    if (!g.turn_user.empty()) options.turn_username(g.turn_user);
    if (!g.turn_pass.empty()) options.turn_password(g.turn_pass);
    if (!g.stun_server.empty()) options.stun_server(g.stun_server);
    om_agent_options& raw = options.raw();
    raw.turn_port = g.turn_port;
    raw.stun_port = g.stun_port;
    raw.prefer_p2p = g.no_p2p ? 0 : 1;
    raw.fallback_to_relay = g.no_fallback ? 0 : 1;
    raw.connection_timeout_ms = g.timeout_ms;
    raw.keep_alive_interval_ms = g.keep_alive_ms;
    raw.disconnect_timeout_ms = g.disconnect_timeout_ms;
    raw.nat_punch_retries = g.punch_retries;
    raw.nat_punch_interval_ms = g.punch_interval_ms;
    raw.max_mtu = g.mtu;
    raw.enable_reliable_delivery = g.no_reliable ? 0 : 1;
    raw.enable_unreliable_delivery = g.no_unreliable ? 0 : 1;
    options.busy_poll_us(g.busy_poll_us);
    // The wrapper has no setter for it yet: the GlobalOptions outlive the agent's creation.
    raw.identity_file = g.identity_file.empty() ? nullptr : g.identity_file.c_str();
    if (!g.exclude_interfaces.empty()) options.exclude_interfaces(g.exclude_interfaces);
    for (const PluginChoice& choice : g.plugins) set_plugin(options, choice);
    for (const PluginSetting& s : g.plugin_options) options.plugin_option(s.plugin, s.key, s.value);
}

std::string transport_plugin_name(const GlobalOptions& global) {
    for (const PluginChoice& choice : global.plugins) {
        if (choice.kind == "transport") return choice.name;
    }
    return "udp";
}

PeerConnect connect_agent_to_peer(orbitmesh::Agent& agent, const char* command, const std::string& peer,
                                  om_transport_type via, om_peer_state& state, std::string& failure) {
    try {
        agent.connect();
    } catch (const orbitmesh::Error& e) {
        failure = std::string("server: ") + e.status_name() + ": " + e.what();
        return PeerConnect::Failed;
    }
    try {
        state = agent.connect_peer(peer, via);
        return PeerConnect::Connected;
    } catch (const orbitmesh::Error& e) {
        if (e.status() == OM_ERR_NOT_SUPPORTED) {
            std::cerr << "orbitmesh-agent: " << command << ": not yet supported (" << e.what() << ")\n";
            return PeerConnect::NotSupported;
        }
        failure = std::string(e.status_name()) + ": " + e.what();
        refresh_peer_state(agent, peer, state);
        if (state.status == OM_PEER_CONNECTED || state.status == OM_PEER_DISCONNECTED) state.status = OM_PEER_FAILED;
        return PeerConnect::Failed;
    }
}

void refresh_peer_state(orbitmesh::Agent& agent, const std::string& peer, om_peer_state& state) {
    try {
        om_peer_state s = agent.peer_state(peer);
        if (s.connect_ms <= 0) s.connect_ms = state.connect_ms;  // keep the connect call's
        state = s;
    } catch (const orbitmesh::Error&) {
    }
}

} // namespace om_cli
