// OrbitMesh C++ wrapper: header-only RAII over the public C API (the hourglass's upper bulb).
// It uses nothing but orbitmesh.h, so it works with any liborbitmesh of the same C ABI major,
// whatever compiler built it. Failures throw orbitmesh::Error carrying the om_status.
#ifndef ORBITMESH_HPP
#define ORBITMESH_HPP

#include <orbitmesh/orbitmesh.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
#if defined(__GLIBCXX__)  // defined by any libstdc++ header above
#include <cxxabi.h>
#endif

namespace orbitmesh {

class Error : public std::runtime_error {
public:
    Error(om_status status, const std::string& message)
        : std::runtime_error(message.empty() ? std::string(om_status_str(status)) : message),
          status_(status) {}
    om_status status() const noexcept { return status_; }
    const char* status_name() const noexcept { return om_status_name(status_); }

private:
    om_status status_;
};

namespace detail {
inline void check(om_status status, const char* detail) {
    if (status != OM_OK) throw Error(status, detail && *detail ? detail : om_status_str(status));
}
struct FreeDeleter {
    void operator()(void* p) const noexcept { om_free(p); }
};
struct AgentDeleter {
    void operator()(om_agent* a) const noexcept { om_agent_destroy(a); }
};
} // namespace detail

inline std::string version() { return om_version(); }

// A copy of one event whose pointers stay valid after the callback returns.
struct Event {
    om_event_type type = 0;
    std::string peer_id;
    std::string address;
    std::vector<uint8_t> data;
    om_status status = OM_OK;
    std::string message;
    uint64_t timestamp_us = 0;
    om_delivery_mode delivery_mode = OM_DELIVERY_RELIABLE_ORDERED;
    // Peer events (0.3): the state reached. 0 for other events or an older library.
    om_peer_status peer_status = 0;
    om_transport_type transport = 0;
    om_strategy strategy = 0;
    uint32_t channel = 0;  // OM_EVENT_MESSAGE (0.4)

    static Event from(const om_event& e) {
        Event out;
        out.type = e.type;
        if (e.peer_id) out.peer_id = e.peer_id;
        if (e.address) out.address = e.address;
        if (e.data && e.len) out.data.assign(e.data, e.data + e.len);
        out.status = e.status;
        if (e.message) out.message = e.message;
        out.timestamp_us = e.timestamp_us;
        // Read only what the library's event struct holds (an older library's is shorter).
        if (e.struct_size >= offsetof(om_event, delivery_mode) + sizeof e.delivery_mode) out.delivery_mode = e.delivery_mode;
        if (e.struct_size >= offsetof(om_event, strategy) + sizeof e.strategy) {
            out.peer_status = e.peer_status;
            out.transport = e.transport;
            out.strategy = e.strategy;
        }
        if (e.struct_size >= offsetof(om_event, channel) + sizeof e.channel) out.channel = e.channel;
        return out;
    }
};

// Receives a borrowed view; copy with Event::from to keep it.
using EventHandler = std::function<void(const om_event&)>;

// Decides a peer's connect request (om_agent_options.accept_peer): return true to accept; a
// refusal may set `reason`, which the requester sees. Runs on the loop thread; must not block.
// An exception refuses, with its what() as the reason.
using AcceptPeerHandler = std::function<bool(const std::string& peer_id, om_nat_type remote_nat, std::string& reason)>;

// One ICE candidate (seed IceCandidate; RFC 8445 priorities, RFC 8839 text form).
class IceCandidate {
public:
    explicit IceCandidate(const om_candidate& raw) : raw_(raw) {}

    static IceCandidate create_host(const std::string& ip, int32_t port) {
        return make([&](om_candidate* c) { return om_candidate_host(ip.c_str(), port, c); });
    }
    static IceCandidate create_server_reflexive(const std::string& public_ip, int32_t public_port,
                                                const std::string& local_ip, int32_t local_port) {
        return make([&](om_candidate* c) {
            return om_candidate_server_reflexive(public_ip.c_str(), public_port, local_ip.c_str(), local_port, c);
        });
    }
    static IceCandidate create_relayed(const std::string& relayed_ip, int32_t relayed_port,
                                       const std::string& relay_server) {
        return make([&](om_candidate* c) {
            return om_candidate_relayed(relayed_ip.c_str(), relayed_port, relay_server.c_str(), c);
        });
    }
    // RFC 8839 §5.1 text, with or without "a=".
    static IceCandidate parse(const std::string& text) {
        return make([&](om_candidate* c) { return om_candidate_parse(text.c_str(), c); });
    }

    // "candidate:<foundation> 1 udp <priority> <ip> <port> typ <type> [raddr .. rport ..]"
    std::string to_string() const {
        size_t needed = 0;
        om_status status = om_candidate_to_string(&raw_, nullptr, 0, &needed);
        if (status != OM_OK && status != OM_ERR_BUFFER_TOO_SMALL) detail::check(status, om_candidate_last_error());
        std::string text(needed, '\0');
        status = om_candidate_to_string(&raw_, text.data(), text.size(), &needed);
        detail::check(status, om_candidate_last_error());
        text.resize(needed > 0 ? needed - 1 : 0); // drop the NUL
        return text;
    }

    om_candidate_type type() const noexcept { return raw_.type; }
    std::string type_name() const { return om_candidate_type_name(raw_.type); }
    std::string address() const { return raw_.address; }
    std::string related_address() const { return raw_.related_address; }
    std::string relay_server() const { return raw_.relay_server; }
    std::string foundation() const { return raw_.foundation; }
    uint32_t priority() const noexcept { return raw_.priority; }
    uint32_t component() const noexcept { return raw_.component; }
    const om_candidate& raw() const noexcept { return raw_; }

private:
    template <typename Fill>
    static IceCandidate make(Fill fill) {
        om_candidate c{};
        c.struct_size = sizeof c;
        const om_status status = fill(&c); // before reading the error it may set
        detail::check(status, om_candidate_last_error());
        return IceCandidate(c);
    }
    om_candidate raw_{};
};

// om_agent_options with owned strings. Fields keep the C names; strings go through setters.
class AgentOptions {
public:
    AgentOptions() { om_agent_options_init(&raw_); }

    om_agent_options& raw() noexcept { return raw_; }

    AgentOptions& server_url(std::string v) { return set(server_url_, raw_.server_url, std::move(v)); }
    AgentOptions& agent_id(std::string v) { return set(agent_id_, raw_.agent_id, std::move(v)); }
    AgentOptions& token(std::string v) { return set(token_, raw_.token, std::move(v)); }
    AgentOptions& stun_server(std::string v) { return set(stun_server_, raw_.stun_server, std::move(v)); }
    AgentOptions& turn_server(std::string v) { return set(turn_server_, raw_.turn_server, std::move(v)); }
    AgentOptions& turn_username(std::string v) { return set(turn_username_, raw_.turn_username, std::move(v)); }
    AgentOptions& turn_password(std::string v) { return set(turn_password_, raw_.turn_password, std::move(v)); }
    AgentOptions& bind_address(std::string v) { return set(bind_address_, raw_.bind_address, std::move(v)); }
    AgentOptions& transport_plugin(std::string v) { return set(transport_, raw_.transport_plugin, std::move(v)); }
    AgentOptions& nat_discovery_plugin(std::string v) { return set(nat_, raw_.nat_discovery_plugin, std::move(v)); }
    AgentOptions& strategy_plugin(std::string v) { return set(strategy_, raw_.strategy_plugin, std::move(v)); }
    AgentOptions& turn_plugin(std::string v) { return set(turn_, raw_.turn_plugin, std::move(v)); }
    AgentOptions& delivery_plugin(std::string v) { return set(delivery_, raw_.delivery_plugin, std::move(v)); }
    // Adds "plugin.key=value" to plugin_options.
    AgentOptions& plugin_option(const std::string& plugin, const std::string& key, const std::string& value) {
        if (!plugin_options_.empty()) plugin_options_ += ';';
        plugin_options_ += plugin + "." + key + "=" + value;
        raw_.plugin_options = plugin_options_.c_str();
        return *this;
    }
    // Replaces plugin_options with a whole "plugin.key=value;..." text.
    AgentOptions& plugin_options(std::string text) { return set(plugin_options_, raw_.plugin_options, std::move(text)); }
    AgentOptions& event_mode(om_event_mode mode) { raw_.event_mode = mode; return *this; }
    // Microseconds the agent's thread polls without sleeping after a wake-up (0..10000, 0: off).
    AgentOptions& busy_poll_us(int32_t us) { raw_.busy_poll_us = us; return *this; }
    // Interface names left out of host candidates when bound to the wildcard ("docker*" is a
    // prefix), joined with ','.
    AgentOptions& exclude_interfaces(const std::vector<std::string>& names) {
        std::string joined;
        for (const std::string& name : names) joined += (joined.empty() ? "" : ",") + name;
        return set(exclude_interfaces_, raw_.exclude_interfaces, std::move(joined));
    }
    // Decides peers' connect requests; without it every peer is accepted.
    AgentOptions& accept_peer(AcceptPeerHandler handler) { accept_peer_ = std::move(handler); return *this; }
    const AcceptPeerHandler& accept_peer_handler() const noexcept { return accept_peer_; }

    AgentOptions(const AgentOptions&) = delete;
    AgentOptions& operator=(const AgentOptions&) = delete;

private:
    AgentOptions& set(std::string& store, const char*& field, std::string v) {
        store = std::move(v);
        field = store.c_str();
        return *this;
    }
    om_agent_options raw_{};
    std::string server_url_, agent_id_, token_, stun_server_, turn_server_, turn_username_,
        turn_password_, bind_address_, transport_, nat_, strategy_, turn_, delivery_, plugin_options_,
        exclude_interfaces_;
    AcceptPeerHandler accept_peer_;
};

class Agent {
public:
    // The handler runs on the agent's loop thread (or in dispatch()); it must not block.
    // The accept handler of the options (if any) runs there too.
    explicit Agent(AgentOptions& options, EventHandler handler = {}) {
        om_agent_options& raw = options.raw();
        // Both callbacks share the options' one user_data: a box the library frees.
        if (handler || options.accept_peer_handler()) {
            auto* boxed = new Callbacks{std::move(handler), options.accept_peer_handler()};
            if (boxed->on_event) raw.on_event = &Agent::trampoline;
            if (boxed->accept_peer) raw.accept_peer = &Agent::accept_trampoline;
            raw.user_data = boxed;
            raw.user_data_free = [](void* p) { delete static_cast<Callbacks*>(p); };
        }
        char err[OM_ERROR_BUF_SIZE] = {0};
        om_agent* out = nullptr;
        om_status status = om_agent_create(&raw, &out, err, sizeof err);
        raw.on_event = nullptr;
        raw.accept_peer = nullptr;
        raw.user_data = nullptr;
        raw.user_data_free = nullptr;
        detail::check(status, err);
        agent_.reset(out);
    }

    om_agent* get() const noexcept { return agent_.get(); }
    explicit operator bool() const noexcept { return agent_ != nullptr; }

    // Destroys the agent now (joins its loop thread); later calls throw OM_ERR_CLOSED.
    void close() noexcept { agent_.reset(); }

    void open_transport() { check(om_agent_open_transport(get())); }
    void close_transport() { check(om_agent_close_transport(get())); }

    std::string local_address() const {
        char buf[96];
        size_t needed = 0;
        check(om_agent_local_address(get(), buf, sizeof buf, &needed));
        return std::string(buf);
    }

    uint32_t mtu() const {
        uint32_t mtu = 0;
        check(om_agent_transport_mtu(get(), &mtu));
        return mtu;
    }

    void send_datagram(const std::string& address, const uint8_t* data, size_t len) {
        check(om_agent_send_datagram(get(), address.c_str(), data, len));
    }
    void send_datagram(const std::string& address, std::string_view bytes) {
        send_datagram(address, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    }

    // Dispatch mode: runs queued callbacks here; returns how many ran (0 on timeout).
    size_t dispatch(int32_t timeout_ms) {
        size_t n = 0;
        om_status status = om_agent_dispatch(get(), timeout_ms, &n);
        if (status == OM_ERR_TIMEOUT) return 0;
        check(status);
        return n;
    }

    uint64_t counter(const std::string& name) const {
        uint64_t value = 0;
        check(om_agent_counter(get(), name.c_str(), &value));
        return value;
    }

    std::string counters_json() const {
        char* json = nullptr;
        check(om_agent_counters_json(get(), &json));
        std::unique_ptr<char, detail::FreeDeleter> owned(json);
        return std::string(json);
    }

    // Signaling and peers.
    void connect() { check(om_agent_connect(get())); }
    void disconnect() { check(om_agent_disconnect(get())); }

    om_peer_state connect_peer(const std::string& peer_id, om_transport_type via = OM_TRANSPORT_NONE)
    {
        om_peer_state state{};
        state.struct_size = sizeof state;
        check(om_agent_connect_peer(get(), peer_id.c_str(), via, &state));
        return state;
    }

    // NAT discovery (om_agent_nat_info). Throws when it failed; use the C function to read what
    // is known even then.
    om_nat_report nat_info(bool refresh = false)
    {
        om_nat_report report{};
        report.struct_size = sizeof report;
        check(om_agent_nat_info(get(), refresh ? 1 : 0, &report));
        return report;
    }

    // The candidate pairs of the peer's last connection attempt (JSON array, see
    // om_agent_peer_pairs_json).
    std::string peer_pairs_json(const std::string& peer_id) const
    {
        char* json = nullptr;
        check(om_agent_peer_pairs_json(get(), peer_id.c_str(), &json));
        std::unique_ptr<char, detail::FreeDeleter> owned(json);
        return std::string(json);
    }

    om_peer_state peer_state(const std::string& peer_id) const
    {
        om_peer_state state{};
        state.struct_size = sizeof state;
        check(om_agent_peer_state(get(), peer_id.c_str(), &state));
        return state;
    }

    // Over the peer's one encrypted connection, whatever its path (om_agent_send_on_channel).
    void send(const std::string& peer_id, const uint8_t* data, size_t len,
              om_delivery_mode mode = OM_DELIVERY_RELIABLE_ORDERED, uint32_t channel = 0)
    {
        check(om_agent_send_on_channel(get(), peer_id.c_str(), data, len, mode, channel));
    }
    void send(const std::string& peer_id, std::string_view bytes, om_delivery_mode mode = OM_DELIVERY_RELIABLE_ORDERED,
              uint32_t channel = 0)
    {
        send(peer_id, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), mode, channel);
    }
    // This agent's certificate fingerprint, which peers pin (om_agent_fingerprint).
    std::string fingerprint() const
    {
        char buf[OM_FINGERPRINT_STRLEN] = {0};
        check(om_agent_fingerprint(get(), buf, sizeof buf));
        return buf;
    }

    // Extension method with msgpack arguments and result (see om_plugin_call).
    std::vector<uint8_t> plugin_call(const std::string& plugin, const std::string& method,
                                     const std::vector<uint8_t>& msgpack_args) {
        uint8_t* result = nullptr;
        size_t len = 0;
        check(om_plugin_call(get(), plugin.c_str(), method.c_str(), msgpack_args.data(),
                             msgpack_args.size(), &result, &len));
        std::unique_ptr<uint8_t, detail::FreeDeleter> owned(result);
        return std::vector<uint8_t>(result, result + len);
    }

private:
    struct Callbacks {
        EventHandler on_event;
        AcceptPeerHandler accept_peer;
    };
    static int32_t accept_trampoline(void* user_data, const char* peer_id, om_nat_type remote_nat,
                                     char* reason, size_t reason_cap) {
        std::string why;
        bool accepted = false;
        try {
            accepted = static_cast<Callbacks*>(user_data)->accept_peer(peer_id ? peer_id : "", remote_nat, why);
#if defined(__GLIBCXX__)
        } catch (abi::__forced_unwind&) {
            throw;
#endif
        } catch (const std::exception& e) {
            why = e.what(); // refuse, and say why
        } catch (...) {
            why = "the accept handler threw";
        }
        if (!accepted && reason && reason_cap > 0) {
            const size_t n = why.size() < reason_cap - 1 ? why.size() : reason_cap - 1;
            why.copy(reason, n);
            reason[n] = '\0';
        }
        return accepted ? 1 : 0;
    }
    static void trampoline(void* user_data, const om_event* event) {
        try {
            static_cast<Callbacks*>(user_data)->on_event(*event);
#if defined(__GLIBCXX__)
        } catch (abi::__forced_unwind&) {
            throw;  // a thread being cancelled must keep unwinding, or the process aborts
#endif
        } catch (...) {
            // An exception must not unwind into the C library; the handler owns its errors.
        }
    }
    void check(om_status status) const
    {
        if (!agent_) throw Error(OM_ERR_CLOSED, "the agent is closed");
        detail::check(status, om_agent_last_error(get()));
    }

    std::unique_ptr<om_agent, detail::AgentDeleter> agent_;
};

// om_server_options with owned strings.
class ServerOptions {
public:
    ServerOptions() { om_server_options_init(&raw_); }
    om_server_options& raw() noexcept { return raw_; }

    ServerOptions& bind(std::string v) { return set(bind_, raw_.bind, std::move(v)); }
    ServerOptions& http_port(int32_t port) { raw_.http_port = port; return *this; }
    ServerOptions& stun_port(int32_t port) { raw_.stun_port = port; return *this; }
    ServerOptions& secret(std::string v) { return set(secret_, raw_.secret, std::move(v)); }
    ServerOptions& open(bool on) { raw_.open = on ? 1 : 0; return *this; }
    ServerOptions& replace_existing_id(bool on) { raw_.replace_existing_id = on ? 1 : 0; return *this; }
    ServerOptions& enable_turn_relay(bool on) { raw_.enable_turn_relay = on ? 1 : 0; return *this; }
    ServerOptions& turn_realm(std::string v) { return set(turn_realm_, raw_.turn_realm, std::move(v)); }
    // "name:pass" entries separated by ';'.
    ServerOptions& turn_users(std::string v) { return set(turn_users_, raw_.turn_users, std::move(v)); }
    ServerOptions& turn_secret(std::string v) { return set(turn_secret_, raw_.turn_secret, std::move(v)); }
    ServerOptions& turn_address(std::string v) { return set(turn_address_, raw_.turn_address, std::move(v)); }
    ServerOptions& turn_allow_loopback_peers(bool on) { raw_.turn_allow_loopback_peers = on ? 1 : 0; return *this; }

    ServerOptions(const ServerOptions&) = delete;
    ServerOptions& operator=(const ServerOptions&) = delete;

private:
    ServerOptions& set(std::string& store, const char*& field, std::string v) {
        store = std::move(v);
        field = store.c_str();
        return *this;
    }
    om_server_options raw_{};
    std::string bind_, secret_, turn_realm_, turn_users_, turn_secret_, turn_address_;
};

class Server {
public:
    explicit Server(ServerOptions& options) {
        char err[OM_ERROR_BUF_SIZE] = {0};
        om_server* out = nullptr;
        detail::check(om_server_create(&options.raw(), &out, err, sizeof err), err);
        server_.reset(out);
    }
    om_server* get() const noexcept { return server_.get(); }
    void start() { check(om_server_start(get())); }
    void stop() { check(om_server_stop(get())); }
    int32_t http_port() const {
        int32_t port = 0;
        check(om_server_http_port(get(), &port));
        return port;
    }
    std::string url() const { return "ws://127.0.0.1:" + std::to_string(http_port()); }
    uint64_t counter(const std::string& name) const {
        uint64_t value = 0;
        check(om_server_counter(get(), name.c_str(), &value));
        return value;
    }
    std::string metrics_text() const {
        char* text = nullptr;
        check(om_server_metrics_text(get(), &text));
        std::unique_ptr<char, detail::FreeDeleter> owned(text);
        return std::string(text);
    }

private:
    struct Deleter {
        void operator()(om_server* s) const noexcept { om_server_destroy(s); }
    };
    void check(om_status status) const { detail::check(status, om_server_last_error(get())); }
    std::unique_ptr<om_server, Deleter> server_;
};

// An agent token signed with `secret` (HS256 JWT, subject agent_id).
inline std::string create_token(const std::string& secret, const std::string& agent_id, int64_t ttl_seconds = 3600) {
    char* token = nullptr;
    char err[OM_ERROR_BUF_SIZE] = {0};
    detail::check(om_token_create(secret.c_str(), agent_id.c_str(), ttl_seconds, &token, err, sizeof err), err);
    std::unique_ptr<char, detail::FreeDeleter> owned(token);
    return std::string(token);
}

inline std::string plugins_list_json() {
    char* json = nullptr;
    char err[OM_ERROR_BUF_SIZE] = {0};
    detail::check(om_plugins_list_json(&json, err, sizeof err), err);
    std::unique_ptr<char, detail::FreeDeleter> owned(json);
    return std::string(json);
}

} // namespace orbitmesh

#endif // ORBITMESH_HPP
