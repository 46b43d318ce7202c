// orbitmesh.Server over om_server_* (through orbitmesh::Server of orbitmesh.hpp) and
// orbitmesh.create_token over om_token_create. start(), stop() and the destructor release the
// GIL: the server runs on threads of its own that never call into Python.
#include "bindings.hpp"
#include "errors.hpp"

#include <orbitmesh/orbitmesh.hpp>

#include <pybind11/stl.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace orbitmesh::python {
namespace {

struct ServerConfig {
    std::string bind = "127.0.0.1";
    int32_t http_port = 8080;
    int32_t stun_port = 3478;
    std::optional<std::string> stun_alt_address;
    int32_t stun_alt_port = 0;
    bool enable_turn_relay = false;
    std::optional<std::string> turn_realm;
    std::optional<std::string> turn_users;
    std::optional<std::string> turn_secret;
    int32_t turn_min_port = 49152;
    int32_t turn_max_port = 65535;
    bool turn_allow_loopback_peers = false;
    std::optional<std::string> secret;
    bool open = true;
    std::optional<std::string> redis_url;
    bool replace_existing_id = false;
    std::optional<int32_t> max_frame_bytes;
    std::optional<int32_t> relay_bytes_per_s;
    std::optional<int32_t> send_queue_bytes;
    int32_t reactor_threads = 0;
    int32_t stun_rate_limit = 100;
    int32_t stun_threads = 0;
    int32_t turn_max_allocations = 10000;
    int32_t turn_user_quota = 100;
    int32_t turn_bytes_per_s = 0;
    int32_t turn_credential_ttl_s = 86400;
    std::optional<std::string> turn_address;
};

const char* c_str(const std::optional<std::string>& text) { return text ? text->c_str() : nullptr; }

class PythonServer {
public:
    explicit PythonServer(ServerConfig config) : config_(std::move(config))
    {
        orbitmesh::ServerOptions options;
        om_server_options& raw = options.raw();
        raw.bind = config_.bind.c_str();
        raw.http_port = config_.http_port;
        raw.stun_port = config_.stun_port;
        raw.stun_alt_address = c_str(config_.stun_alt_address);
        raw.stun_alt_port = config_.stun_alt_port;
        raw.enable_turn_relay = config_.enable_turn_relay ? 1 : 0;
        raw.turn_realm = c_str(config_.turn_realm);
        raw.turn_users = c_str(config_.turn_users);
        raw.turn_secret = c_str(config_.turn_secret);
        raw.turn_min_port = config_.turn_min_port;
        raw.turn_max_port = config_.turn_max_port;
        raw.turn_allow_loopback_peers = config_.turn_allow_loopback_peers ? 1 : 0;
        raw.turn_max_allocations = config_.turn_max_allocations;
        raw.turn_user_quota = config_.turn_user_quota;
        raw.turn_bytes_per_s = config_.turn_bytes_per_s;
        raw.turn_credential_ttl_s = config_.turn_credential_ttl_s;
        raw.turn_address = c_str(config_.turn_address);
        raw.secret = c_str(config_.secret);
        raw.open = config_.open ? 1 : 0;
        raw.redis_url = c_str(config_.redis_url);
        raw.replace_existing_id = config_.replace_existing_id ? 1 : 0;
        if (config_.max_frame_bytes) raw.max_frame_bytes = *config_.max_frame_bytes;
        if (config_.relay_bytes_per_s) raw.relay_bytes_per_s = *config_.relay_bytes_per_s;
        if (config_.send_queue_bytes) raw.send_queue_bytes = *config_.send_queue_bytes;
        raw.reactor_threads = config_.reactor_threads;
        raw.stun_rate_limit = config_.stun_rate_limit;
        raw.stun_threads = config_.stun_threads;
        server_ = std::make_unique<orbitmesh::Server>(options); // copies what it keeps
    }

    ~PythonServer()
    {
        py::gil_scoped_release nogil;
        std::lock_guard lock(mutex_);
        server_.reset();
    }

    void start()
    {
        py::gil_scoped_release nogil;
        std::lock_guard lock(mutex_);
        live().start();
        started_ = true;
    }

    void stop()
    {
        py::gil_scoped_release nogil;
        std::lock_guard lock(mutex_);
        if (server_) server_->stop();
        started_ = false;
    }

    void close()
    {
        py::gil_scoped_release nogil;
        std::lock_guard lock(mutex_);
        server_.reset();
        started_ = false;
    }

    int32_t http_port()
    {
        std::lock_guard lock(mutex_);
        if (!started_) return config_.http_port;
        return live().http_port();
    }

    std::string url()
    {
        std::string host = config_.bind == "0.0.0.0" || config_.bind.empty() ? "127.0.0.1" : config_.bind;
        if (host.find(':') != std::string::npos) host = "[" + host + "]";
        return "ws://" + host + ":" + std::to_string(http_port());
    }

    uint64_t counter(const std::string& name)
    {
        std::lock_guard lock(mutex_);
        return live().counter(name);
    }

    // (port, alt_port) of the embedded STUN server; 0 when off / no alternate.
    std::pair<int32_t, int32_t> stun_ports()
    {
        std::lock_guard lock(mutex_);
        orbitmesh::Server& s = live();
        int32_t port = 0;
        int32_t alt_port = 0;
        om_status status = om_server_stun_ports(s.get(), &port, &alt_port);
        if (status != OM_OK) fail(status, om_server_last_error(s.get()));
        return {port, alt_port};
    }

    std::string metrics()
    {
        std::lock_guard lock(mutex_);
        return live().metrics_text();
    }

    bool running() const { return started_; }
    const ServerConfig& config() const { return config_; }

private:
    orbitmesh::Server& live()
    {
        if (!server_) fail(OM_ERR_CLOSED, "the server is closed");
        return *server_;
    }

    ServerConfig config_;
    std::mutex mutex_;
    bool started_ = false;
    std::unique_ptr<orbitmesh::Server> server_;
};

std::unique_ptr<PythonServer> make_server(int32_t http_port, int32_t stun_port, std::string bind,
                                          std::optional<bool> open, bool enable_turn_relay,
                                          std::optional<std::string> secret, std::optional<std::string> turn_realm,
                                          std::optional<std::string> turn_users, std::optional<std::string> turn_secret,
                                          int32_t turn_min_port, int32_t turn_max_port,
                                          bool turn_allow_loopback_peers, std::optional<std::string> stun_alt_address,
                                          int32_t stun_alt_port, std::optional<std::string> redis_url,
                                          bool replace_existing_id, std::optional<int32_t> max_frame_bytes,
                                          std::optional<int32_t> relay_bytes_per_s,
                                          std::optional<int32_t> send_queue_bytes, int32_t reactor_threads,
                                          int32_t stun_rate_limit, int32_t stun_threads, int32_t turn_max_allocations,
                                          int32_t turn_user_quota, int32_t turn_bytes_per_s,
                                          int32_t turn_credential_ttl_s, std::optional<std::string> turn_address)
{
    ServerConfig c;
    c.http_port = http_port;
    c.stun_port = stun_port;
    c.bind = std::move(bind);
    c.open = open.value_or(!secret.has_value());
    c.enable_turn_relay = enable_turn_relay;
    c.secret = std::move(secret);
    c.turn_realm = std::move(turn_realm);
    c.turn_users = std::move(turn_users);
    c.turn_secret = std::move(turn_secret);
    c.turn_min_port = turn_min_port;
    c.turn_max_port = turn_max_port;
    c.turn_allow_loopback_peers = turn_allow_loopback_peers;
    c.stun_alt_address = std::move(stun_alt_address);
    c.stun_alt_port = stun_alt_port;
    c.redis_url = std::move(redis_url);
    c.replace_existing_id = replace_existing_id;
    c.max_frame_bytes = max_frame_bytes;
    c.relay_bytes_per_s = relay_bytes_per_s;
    c.send_queue_bytes = send_queue_bytes;
    c.reactor_threads = reactor_threads;
    c.stun_rate_limit = stun_rate_limit;
    c.stun_threads = stun_threads;
    c.turn_max_allocations = turn_max_allocations;
    c.turn_user_quota = turn_user_quota;
    c.turn_bytes_per_s = turn_bytes_per_s;
    c.turn_credential_ttl_s = turn_credential_ttl_s;
    c.turn_address = std::move(turn_address);
    py::gil_scoped_release nogil;
    return std::make_unique<PythonServer>(std::move(c));
}

std::string create_token(const std::string& secret, const std::string& agent_id, int64_t ttl_seconds)
{
    py::gil_scoped_release nogil;
    return orbitmesh::create_token(secret, agent_id, ttl_seconds);
}

} // namespace

void register_server(py::module_& m)
{
    using S = PythonServer;
    py::class_<S>(m, "Server",
                  "An OrbitMesh signaling server in this process (HTTP /healthz, /metrics, "
                  "/v1/agents and the WebSocket /v1/signal) with its embedded STUN server "
                  "(stun_port, 0 = off, -1 = a free port) and, with enable_turn_relay, its TURN "
                  "relay (RFC 8656) on the STUN port: turn_users \"name:pass;...\" or turn_secret "
                  "(time-limited credentials handed to registered agents), turn_max_allocations, "
                  "turn_user_quota, turn_bytes_per_s, turn_min_port/turn_max_port. turn_secret with "
                  "turn_address hands out credentials for a coturn sharing the secret. Keyword "
                  "arguments only; open defaults to True unless a secret is given.")
        .def(py::init(&make_server), py::kw_only(), py::arg("http_port") = 8080, py::arg("stun_port") = 3478,
             py::arg("bind") = "127.0.0.1", py::arg("open") = py::none(), py::arg("enable_turn_relay") = false,
             py::arg("secret") = py::none(), py::arg("turn_realm") = py::none(), py::arg("turn_users") = py::none(),
             py::arg("turn_secret") = py::none(), py::arg("turn_min_port") = 49152,
             py::arg("turn_max_port") = 65535, py::arg("turn_allow_loopback_peers") = false,
             py::arg("stun_alt_address") = py::none(), py::arg("stun_alt_port") = 0,
             py::arg("redis_url") = py::none(), py::arg("replace_existing_id") = false,
             py::arg("max_frame_bytes") = py::none(), py::arg("relay_bytes_per_s") = py::none(),
             py::arg("send_queue_bytes") = py::none(), py::arg("reactor_threads") = 0,
             py::arg("stun_rate_limit") = 100, py::arg("stun_threads") = 0, py::arg("turn_max_allocations") = 10000,
             py::arg("turn_user_quota") = 100, py::arg("turn_bytes_per_s") = 0,
             py::arg("turn_credential_ttl_s") = 86400, py::arg("turn_address") = py::none())
        .def("start", &S::start, "Listens and serves on the server's own threads; returns once serving.")
        .def("stop", &S::stop, "Stops accepting, closes every connection, joins its threads (idempotent).")
        .def("close", &S::close, "Stops if needed and releases the server.")
        .def_property_readonly("http_port", &S::http_port,
                               "The HTTP port actually bound once started (useful with http_port=0).")
        .def_property_readonly("url", &S::url, "\"ws://HOST:PORT\" for Agent(server=...).")
        .def_property_readonly("running", &S::running)
        .def("counter", &S::counter, py::arg("name"),
             "One of the server's counters (\"agents.connected\", \"auth.failures\", ...).")
        .def("metrics", &S::metrics, "The /metrics text (Prometheus exposition format).")
        .def_property_readonly("stun_ports", &S::stun_ports,
                               "(port, alt_port) of the embedded STUN server once started: the UDP "
                               "ports actually bound (stun_port=-1 / stun_alt_port=-1 pick free ones); "
                               "0 when STUN is off or there is no alternate port.")
        .def("__enter__", [](py::object self) {
            S& s = self.cast<S&>();
            if (!s.running()) s.start();
            return self;
        })
        .def("__exit__", [](S& s, const py::args&) { s.stop(); })
        .def("__repr__", [](S& s) {
            return "<orbitmesh.Server bind=" + s.config().bind + " http_port=" + std::to_string(s.http_port()) +
                   (s.running() ? " running>" : " stopped>");
        });

    m.def("create_token", &create_token, py::arg("secret"), py::arg("agent_id"), py::arg("ttl_seconds") = 3600,
          "An agent token: an HS256 JWT whose subject is agent_id, signed with secret, expiring "
          "after ttl_seconds.");
}

} // namespace orbitmesh::python
