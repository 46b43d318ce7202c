// `netcheck`: NAT discovery on the agent's own UDP socket (RFC 5780 tests by the nat-discovery
// plugin), printed as ONE JSON object with the CONTRACT's fields (nat_type, mapping, filtering,
// mapped_address, local_address, hairpin, server_ips_used) and stun_server, duration_ms,
// registered. With --server and --id the agent registers first, so the server learns the result
// and announces its STUN port; otherwise it asks --stun-server (or the --server host) directly.
// Exit 0 when discovery got an answer, 1 when it failed (the JSON says why).
#include "agent_setup.hpp"
#include "commands.hpp"
#include "json_output.hpp"
#include "peer_report.hpp"

#include <orbitmesh/orbitmesh.hpp>

#include <iostream>
#include <optional>
#include <string>

namespace om_cli {
namespace {

std::optional<std::string> text(const char* value) {
    return value[0] ? std::optional<std::string>(value) : std::nullopt;
}

Poco::JSON::Object::Ptr report_json(const om_nat_report& r) {
    Poco::JSON::Object::Ptr out = new_json_object();
    out->set("nat_type", std::string(om_nat_type_name(r.nat_type)));
    out->set("mapping", std::string(om_nat_behavior_name(r.mapping)));
    out->set("filtering", std::string(om_nat_behavior_name(r.filtering)));
    set_or_null(out, "mapped_address", text(r.mapped_address));
    set_or_null(out, "local_address", text(r.local_address));
    if (r.hairpin < 0) out->set("hairpin", Poco::Dynamic::Var());
    else out->set("hairpin", r.hairpin == 1);
    out->set("server_ips_used", r.server_ips_used);
    set_or_null(out, "stun_server", text(r.stun_server));
    out->set("duration_ms", r.duration_ms);
    return out;
}

} // namespace

int run_netcheck(const CliOptions& options) {
    orbitmesh::AgentOptions o;
    fill_agent_options(options.global, o);
    std::unique_ptr<orbitmesh::Agent> agent;
    try {
        agent = std::make_unique<orbitmesh::Agent>(o);
    } catch (const orbitmesh::Error& e) {
        return usage_error(std::string("netcheck: ") + e.what());
    }
    bool registered = false;
    std::string register_error;
    if (!options.global.server.empty() && !options.global.id.empty()) {
        try {
            agent->connect();
            registered = true;
        } catch (const orbitmesh::Error& e) {
            register_error = std::string(e.status_name()) + ": " + e.what();
        }
    }
    om_nat_report report{};
    report.struct_size = sizeof report;
    om_status status = om_agent_nat_info(agent->get(), 0, &report);
    Poco::JSON::Object::Ptr out = report_json(report);
    out->set("registered", registered);
    if (!register_error.empty()) out->set("register_error", register_error);
    out->set("status", status == OM_OK ? "ok" : "failed");
    if (status != OM_OK)
        out->set("error", std::string(om_status_name(status)) + ": " + om_agent_last_error(agent->get()));
    print_json_line(out, std::cout);
    return status == OM_OK ? kExitOk : kExitFailed;
}

} // namespace om_cli
