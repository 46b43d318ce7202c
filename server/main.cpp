// orbitmesh-server: reads its options (server_options.hpp), then serves through the public C
// API (om_server_*) on Poco's ServerApplication until SIGINT or SIGTERM, and exits 0.
// `orbitmesh-server token` prints an agent token (om_token_create).
#include "server_options.hpp"

#include <orbitmesh/orbitmesh.h>

#include <Poco/Util/ServerApplication.h>

#include <csignal>
#include <iostream>
#include <string>

namespace {

using namespace om::server;

// The turn users as om_server_options wants them: "name:pass" entries separated by ';'.
std::string joined_turn_users(const ServerOptions& o) {
    std::string out;
    for (const TurnUser& u : o.turn_users) out += (out.empty() ? "" : ";") + u.name + ":" + u.password;
    return out;
}

const char* or_null(const std::string& s) { return s.empty() ? nullptr : s.c_str(); }

class ServerApp : public Poco::Util::ServerApplication {
public:
    explicit ServerApp(const ServerOptions& options) : options_(options) {}

protected:
    int main(const std::vector<std::string>&) override {
        const ServerOptions& o = options_;
        std::string turn_users = joined_turn_users(o);
        om_server_options c = OM_SERVER_OPTIONS_INIT;
        c.bind = o.bind.c_str();
        c.http_port = o.http_port;
        c.stun_port = o.stun_port;
        c.stun_alt_address = or_null(o.stun_alt_address);
        c.stun_alt_port = o.stun_alt_port;
        c.enable_turn_relay = o.enable_turn_relay;
        c.turn_realm = or_null(o.turn_realm);
        c.turn_users = or_null(turn_users);
        c.turn_secret = or_null(o.turn_secret);
        c.turn_min_port = o.turn_min_port;
        c.turn_max_port = o.turn_max_port;
        c.turn_allow_loopback_peers = o.turn_allow_loopback_peers;
        c.secret = or_null(o.secret);
        c.open = o.open;
        c.redis_url = or_null(o.redis);
        c.replace_existing_id = o.replace_existing_id;
        c.max_frame_bytes = o.max_frame_bytes;
        c.relay_bytes_per_s = o.relay_bytes_per_s;
        c.send_queue_bytes = o.send_queue_bytes;
        c.reactor_threads = o.reactor_threads;
        c.stun_rate_limit = o.stun_rate_limit;
        c.stun_threads = o.stun_threads;
        c.turn_max_allocations = o.turn_max_allocations;
        c.turn_user_quota = o.turn_user_quota;
        c.turn_bytes_per_s = o.turn_bytes_per_s;
        c.turn_credential_ttl_s = o.turn_credential_ttl;
        c.turn_address = or_null(o.turn_address);

        char error[OM_ERROR_BUF_SIZE] = "";
        om_server* server = nullptr;
        if (om_server_create(&c, &server, error, sizeof error) != OM_OK) {
            std::cerr << "orbitmesh-server: " << error << "\n";
            return 2; // CONTRACT: usage or configuration error
        }
        // Threads started from here inherit the mask, so only waitForTerminationRequest()
        // receives SIGINT and SIGTERM.
        sigset_t stop_signals;
        sigemptyset(&stop_signals);
        sigaddset(&stop_signals, SIGINT);
        sigaddset(&stop_signals, SIGTERM);
        sigaddset(&stop_signals, SIGQUIT);
        pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
        if (om_server_start(server) != OM_OK) {
            std::cerr << "orbitmesh-server: cannot start: " << om_server_last_error(server) << "\n";
            om_server_destroy(server);
            return 1;
        }
        if (o.open)
            std::cerr << "orbitmesh-server: WARNING: --open: agents register without a token; for loopback demos only\n";
        int32_t port = 0;
        om_server_http_port(server, &port);
        int32_t stun_port = 0;
        int32_t stun_alt_port = 0;
        om_server_stun_ports(server, &stun_port, &stun_alt_port);
        if (stun_port != 0) {
            std::cout << "orbitmesh-server: STUN on udp " << o.bind << ":" << stun_port;
            if (stun_alt_port != 0) std::cout << " alt-port " << stun_alt_port;
            if (!o.stun_alt_address.empty()) std::cout << " alt-address " << o.stun_alt_address;
            std::cout << std::endl;
        }
        if (o.enable_turn_relay && stun_port != 0)
            std::cout << "orbitmesh-server: TURN relay on udp " << o.bind << ":" << stun_port << " realm "
                      << (o.turn_realm.empty() ? "orbitmesh" : o.turn_realm) << ", relayed ports " << o.turn_min_port
                      << "-" << o.turn_max_port << (o.turn_secret.empty() ? "" : ", time-limited credentials")
                      << std::endl;
        if (o.turn_allow_loopback_peers)
            std::cerr << "orbitmesh-server: WARNING: --turn-allow-loopback-peers: TURN relays to loopback and private "
                         "addresses; for tests only\n";
        std::cout << "orbitmesh-server: listening on http://" << o.bind << ":" << port << std::endl;
        waitForTerminationRequest();
        std::cout << "orbitmesh-server: stopping" << std::endl;
        om_server_stop(server);
        om_server_destroy(server);
        return EXIT_OK;
    }

private:
    ServerOptions options_;
};

int print_token(const TokenOptions& t) {
    char error[OM_ERROR_BUF_SIZE] = "";
    char* token = nullptr;
    if (om_token_create(t.secret.c_str(), t.id.c_str(), t.ttl_seconds, &token, error, sizeof error) != OM_OK) {
        std::cerr << "orbitmesh-server: token: " << error << "\n";
        return 2;
    }
    std::cout << token << "\n";
    om_free(token);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    ParsedServerArgs parsed = parse_server_args(argc, argv, process_environment());
    if (!parsed.ok()) {
        std::cerr << "orbitmesh-server: " << parsed.error << "\n"
                  << "Try 'orbitmesh-server --help' for the list of options.\n";
        return 2;
    }
    switch (parsed.action) {
    case Action::Help:
        print_server_usage(std::cout);
        return 0;
    case Action::Version:
        std::cout << "orbitmesh-server " << om_version() << "\n";
        return 0;
    case Action::Token:
        return print_token(parsed.token);
    case Action::Run:
        break;
    }
    // Options are parsed above; ServerApplication sees only the program name, so it neither
    // re-parses them nor refuses ours.
    ServerApp app(parsed.server);
    std::vector<std::string> args{argv[0]};
    return app.run(args);
}
