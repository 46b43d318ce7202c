#include "http/http_routes.hpp"

#include "http/signal_upgrade.hpp"
#include "hub/agent_token.hpp"
#include "hub/hub.hpp"
#include "hub/server_config.hpp"
#include "hub/server_metrics.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <sstream>

namespace om::server {
namespace {

using Poco::Net::HTTPRequestHandler;
using Poco::Net::HTTPResponse;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

void reply(HTTPServerResponse& response, HTTPResponse::HTTPStatus status, const std::string& type,
           const std::string& body) {
    response.setStatus(status);
    response.setContentType(type);
    response.setContentLength(static_cast<std::streamsize>(body.size()));
    response.send() << body;
}

// Runs a function as a handler, so each route is a lambda instead of a class.
class FunctionHandler : public HTTPRequestHandler {
public:
    using Fn = std::function<void(HTTPServerRequest&, HTTPServerResponse&)>;
    explicit FunctionHandler(Fn fn) : fn_(std::move(fn)) {}
    void handleRequest(HTTPServerRequest& request, HTTPServerResponse& response) override { fn_(request, response); }

private:
    Fn fn_;
};

std::string bearer_token(const HTTPServerRequest& request) {
    const std::string& value = request.get("Authorization", "");
    const std::string prefix = "Bearer ";
    return value.rfind(prefix, 0) == 0 ? value.substr(prefix.size()) : "";
}

// One agent of GET /v1/agents: its id and the NAT it reported at registration (null when none).
Poco::JSON::Object::Ptr agent_details(const Hub::AgentSummary& agent) {
    Poco::JSON::Object::Ptr out = new Poco::JSON::Object;
    out->set("id", agent.id);
    if (!agent.nat) {
        out->set("nat", Poco::Dynamic::Var());
        return out;
    }
    Poco::JSON::Object::Ptr nat = new Poco::JSON::Object;
    nat->set("type", agent.nat->type);
    const std::pair<const char*, const std::optional<std::string>*> optional_fields[] = {
        {"mapped_address", &agent.nat->mapped_address}, {"mapping", &agent.nat->mapping}, {"filtering", &agent.nat->filtering}};
    for (const auto& [name, value] : optional_fields)
        if (*value) nat->set(name, **value);
    out->set("nat", nat);
    return out;
}

} // namespace

Poco::Net::HTTPRequestHandler* HttpRoutes::createRequestHandler(const HTTPServerRequest& request) {
    const std::string& path = request.getURI();
    const bool get = request.getMethod() == "GET";
    if (path == "/v1/signal") return new SignalUpgrade(metrics_, reactors_, stun_port_);
    if (get && path == "/healthz") {
        return new FunctionHandler([](HTTPServerRequest&, HTTPServerResponse& response) {
            reply(response, HTTPResponse::HTTP_OK, "text/plain", "ok");
        });
    }
    if (get && path == "/metrics") {
        return new FunctionHandler([this](HTTPServerRequest&, HTTPServerResponse& response) {
            reply(response, HTTPResponse::HTTP_OK, "text/plain; version=0.0.4", metrics_.prometheus_text());
        });
    }
    if (get && path == "/v1/agents") {
        return new FunctionHandler([this](HTTPServerRequest& req, HTTPServerResponse& response) {
            if (!config_.open) {
                TokenCheck check = check_token(config_.secret, bearer_token(req), "admin");
                if (check != TokenCheck::Valid) {
                    metrics_.add(metric::auth_failures);
                    metrics_.add("auth.failures.admin_" + std::string(token_check_name(check)));
                    response.set("WWW-Authenticate", "Bearer");
                    reply(response, HTTPResponse::HTTP_UNAUTHORIZED, "application/json",
                          std::string("{\"error\":\"admin token ") + token_check_name(check) + "\"}");
                    return;
                }
            }
            Poco::JSON::Array ids, details;
            for (const Hub::AgentSummary& agent : hub_.agents()) {
                ids.add(agent.id);
                details.add(agent_details(agent));
            }
            Poco::JSON::Object body;
            body.set("agents", ids);
            body.set("details", details);
            std::ostringstream text;
            body.stringify(text);
            reply(response, HTTPResponse::HTTP_OK, "application/json", text.str());
        });
    }
    return new FunctionHandler([](HTTPServerRequest&, HTTPServerResponse& response) {
        reply(response, HTTPResponse::HTTP_NOT_FOUND, "text/plain", "not found");
    });
}

} // namespace om::server
