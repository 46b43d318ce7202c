// The kernel's agent: options, plugin instances, the transport stack, RFC 7983 demultiplexing
// of what arrives, and events. All state belongs to the loop thread; public methods may be
// called from any thread and hand their work to it.
#pragma once

#include "agent/delivery/outbound_queue.h"
#include "agent/ice/host_candidates.h"
#include "agent/nat_discovery.h"
#include "agent/peer_table.h"
#include "agent/plugin_instance.h"
#include "agent/signaling_client.h"
#include "agent/transport_stack.h"
#include "core/counters.h"
#include "core/event_loop.h"
#include "core/plugin_options.h"
#include "plugin_host/host_api.h"
#include "proto/address.h"

#include <orbitmesh/orbitmesh.h>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace om {

class PluginRegistry;

// RFC 8445 §5.3 ICE ufrag/pwd: ice-chars from a CSPRNG (agent_signaling.cpp).
std::string random_ice_string(size_t length);

// True when a host candidate is global IPv6 (2000::/3), and the candidate lines that parse
// (agent_p2p.cpp).
bool has_global_ipv6(const std::vector<proto::ice::Candidate>& candidates);
std::vector<proto::ice::Candidate> parse_candidates(const std::vector<std::string>& lines);

// The documented defaults (OM_AGENT_OPTIONS_INIT).
om_agent_options default_agent_options();

// The options with owned strings; defaults fill what an older caller's struct lacks.
struct AgentConfig {
    om_agent_options raw{};  // string fields point into the members below
    std::string server_url, agent_id, token, stun_server, turn_server, turn_username, turn_password,
        bind_address, exclude_interfaces, identity_file, transport_plugin, nat_discovery_plugin, strategy_plugin, turn_plugin, delivery_plugin,
        plugin_options_text;
    PluginOptions plugin_options;
    std::string resolved_bind;

    // Throws om::Error(OM_ERR_INVALID_ARGUMENT) naming the offending field.
    static AgentConfig from(const om_agent_options& options);
};

class Agent final : public PluginOwner, private SignalingClient::Handler {
public:
    // Loads the plugins the options name and starts the loop thread. Throws om::Error.
    Agent(const om_agent_options& options, PluginRegistry& registry);
    ~Agent();
    Agent(const Agent&) = delete;
    Agent& operator=(const Agent&) = delete;

    // PluginOwner
    EventLoop& loop() override { return loop_; }
    Counters& counters() override { return counters_; }
    om_status send_through_transport(const om_datagram& datagram) override;

    void open_transport();
    void close_transport();
    std::string local_address();
    uint32_t transport_mtu();
    void send_datagram(const std::string& address, const uint8_t* data, size_t len);
    size_t dispatch(int timeout_ms);  // throws OM_ERR_TIMEOUT when nothing arrived
    // om_agent_destroy from inside this agent's own callback: the agent cannot join its own loop
    // thread or free itself under dispatch(), so destruction is deferred (see agent_capi.cpp).
    bool in_own_callback() const;
    void request_destroy_after_dispatch() { destroy_after_dispatch_ = true; }
    bool destroy_after_dispatch() const { return destroy_after_dispatch_; }
    std::vector<uint8_t> plugin_call(const std::string& plugin, const std::string& method, const uint8_t* args,
                                     size_t args_len);

    // Signaling and peers (om_agent_connect ...). Blocking calls wait off the loop thread.
    void connect();
    void disconnect();
    void connect_peer(const std::string& peer_id, om_transport_type via, om_peer_state* out);
    void peer_state(const std::string& peer_id, om_peer_state& out);
    // om_agent_send_on_channel: through the peer's delivery session, whatever its path
    // (agent_data.cpp).
    void send(const std::string& peer_id, const uint8_t* data, size_t len, om_delivery_mode mode, uint32_t channel);
    // om_agent_fingerprint: the delivery plugin's certificate fingerprint.
    std::string fingerprint();
    // om_agent_peer_pairs_json: the candidate pairs of the peer's last attempt (agent_p2p.cpp).
    std::string peer_pairs_json(const std::string& peer_id);
    // om_agent_nat_info: the latest NAT discovery result, running discovery first when there is
    // none (or refresh). A failed discovery is a result too (status and error say why).
    NatResult nat_info(bool refresh);

    void set_last_error(std::string message);
    const char* last_error() const;  // see om_agent_last_error: per calling thread

private:
    struct OwnedEvent {
        om_event_type type;
        std::string peer_id;
        om_delivery_mode mode;
        std::string address;
        std::vector<uint8_t> data;
        om_status status;
        std::string message;
        uint64_t timestamp_us;
        om_peer_status peer_status;
        om_transport_type transport;
        om_strategy strategy;
        uint32_t channel;
    };
    class PeerIo;  // a peer's delivery session's outputs (agent_data.cpp)

    // Runs fn on the loop thread, turning its om::Error into a status plus last error.
    void on_loop(const std::function<void()>& fn);
    void emit(om_event_type type, const char* address, const uint8_t* data, size_t len, om_status status,
              const char* message, const char* peer_id = nullptr, om_delivery_mode mode = 0,
              const PeerRecord* peer = nullptr, uint32_t channel = 0);
    // A peer event (connected, disconnected, state changed) carrying the peer's state.
    void emit_peer(om_event_type type, const std::string& peer_id, const PeerRecord& peer, const std::string& message);
    void set_peer_status(const std::string& peer_id, PeerRecord& peer, om_peer_status status, const std::string& why);
    // SignalingClient::Handler
    void before_register(const SignalingClient::ServerHello& hello, SignalingClient::SendRegister send) override;
    void on_registered(const proto::signaling::Registered& registered, bool reconnected) override;
    void on_signal(proto::signaling::Message& message) override;
    void on_connection_lost(om_status status, const std::string& reason, uint64_t retry_in_ms) override;
    void on_connect_request(proto::signaling::ConnectRequest& request);
    void on_connect_response(proto::signaling::ConnectResponse& response);
    void on_relay(proto::signaling::Relay& relay);
    void on_server_error(const proto::signaling::Error& error);
    void relay_connected(const std::string& peer_id, PeerRecord& peer, const std::string& why);
    void fail_connect(const std::string& peer_id, PeerRecord& peer, om_status status, const std::string& why);
    // Peer-to-peer (agent_p2p.cpp).
    PluginInstance* strategy_plugin();
    om_strategy_output choose_strategy(const om_strategy_input& input);
    // ipv6_path: both sides may have global IPv6 addresses (a path without NAT).
    void plan_connection(PeerRecord& peer, om_transport_type via, bool initiator, bool ipv6_path);
    bool plan_has_direct(const PeerRecord& peer) const;
    std::vector<proto::ice::Candidate> gather_candidates();
    const std::vector<ice::InterfaceAddress>& interface_addresses();  // cached briefly
    std::vector<std::string> start_direct(const std::string& peer_id, PeerRecord& peer, proto::ice::Role role,
                                          std::vector<proto::ice::Candidate> local);
    void accept_remote(const std::string& peer_id, PeerRecord& peer, const std::string& ufrag, const std::string& pwd,
                       const std::vector<std::string>& candidates, bool more_coming = false);
    // Whether our candidates for this peer are not all there yet (our allocation is being made).
    bool candidates_pending(const PeerRecord& peer) const;
    void stop_direct(PeerRecord& peer);
    void order_pairs(PeerRecord& peer);
    void ice_progress(const std::string& peer_id, PeerRecord& peer);
    void next_step(const std::string& peer_id, PeerRecord& peer, const std::string& why);
    void p2p_connected(const std::string& peer_id, PeerRecord& peer);
    bool route_ice(const om_datagram& datagram, ice::Base base = ice::Base::Socket);
    // The plan runs connectivity checks: a direct step first, or TURN (relayed candidates are
    // checked like any other, RFC 8445 §5.1.1.2).
    bool plan_uses_ice(const PeerRecord& peer) const;
    // TURN (agent_turn.cpp): one allocation per agent on its own socket, shared by every peer.
    PluginInstance* turn_plugin();
    bool turn_configured() const;
    bool turn_ready() const { return turn_.state == TurnLink::State::Allocated; }
    // Allocates when TURN is configured and no allocation exists or is under way.
    void start_turn();
    void release_turn(const std::string& why);
    void wake_turn_waiters();
    void no_relayed_candidate();  // the allocation under way will not bring one
    // The server's time-limited TURN credentials (from `registered`), when the options hold none.
    void use_server_turn(const proto::signaling::Registered& registered);
    static void turn_allocated_cb(void* user_data, int32_t status, const om_address* relayed);
    static void turn_event_cb(void* user_data, om_turn_event_type type, int32_t status, const om_address* peer,
                              const char* message);
    static void turn_sink(void* user_data, const om_datagram* datagram);
    void on_turn_allocated(int32_t status, const om_address* relayed);
    void on_turn_lost(int32_t status, const std::string& why);
    // The peers whose current path goes through our allocation move on (server relay or
    // Disconnected), as after a lost direct path.
    void leave_turn_paths(const std::string& why);
    // What a peer sent to our relayed address: checks to ICE, packets to the peer's path.
    void route_relayed(const om_datagram& datagram);
    om_status send_through_turn(const om_address& to, const uint8_t* data, size_t len);
    // The relayed candidate of the allocation (and its reflexive address as raddr).
    std::optional<proto::ice::Candidate> relayed_candidate() const;
    // Why a TURN step cannot run, "" when it can.
    std::string turn_unavailable_reason() const;
    // The data plane (agent_data.cpp): paths, the delivery session, messages in and out.
    PluginInstance* delivery_plugin();
    const std::string& local_fingerprint();  // "" without a delivery plugin
    // via_relay: the pair's base is this agent's TURN allocation; kind: TurnRelay when either end
    // is relayed.
    uint32_t attach_direct_path(PeerRecord& peer, const om_address& remote, uint64_t rtt_us, bool via_relay = false,
                                om_transport_type kind = OM_TRANSPORT_P2P);
    uint32_t attach_relay_path(const std::string& peer_id, PeerRecord& peer);
    // The session sends on path_id from now on (opening the session on the first path). False
    // when the connection failed instead (no fingerprint, a session the plugin refused).
    bool use_path(const std::string& peer_id, PeerRecord& peer, uint32_t path_id);
    void open_delivery(const std::string& peer_id, PeerRecord& peer);
    void close_data_plane(PeerRecord& peer);  // the session and every path are released
    void delivery_established(const std::string& peer_id, PeerRecord& peer);
    void delivery_failed(const std::string& peer_id, PeerRecord& peer, om_status status, const std::string& why);
    // The current path is gone (consent lost): the relay when allowed, else Disconnected.
    void direct_path_lost(const std::string& peer_id, PeerRecord& peer, const std::string& why);
    // Connected over a path: announced once the delivery session is established.
    void path_connected(const std::string& peer_id, PeerRecord& peer, uint32_t path_id, const std::string& how);
    om_status send_packets(const std::string& peer_id, PeerRecord& peer, uint32_t path_id, const uint8_t* data,
                           size_t len, size_t segment_size);
    // The transport follows the session's current path (a QUIC server's, after its client migrated).
    void follow_session_path(const std::string& peer_id, PeerRecord& peer);
    bool has_direct_path(const PeerRecord& peer, const om_address& remote, bool via_relay = false) const;
    void on_peer_message(const std::string& peer_id, PeerRecord& peer, om_delivery_mode mode, uint32_t channel,
                         std::vector<uint8_t> data);
    // Messages out (agent_send.cpp). queue_message: false when the peer takes no messages now.
    bool queue_message(const std::string& peer_id, const uint8_t* data, size_t len, om_delivery_mode mode,
                       uint32_t channel);
    void send_now(const std::string& peer_id, const uint8_t* data, size_t len, om_delivery_mode mode, uint32_t channel);
    void emit_writable(const std::string& peer_id);
    // The peer's outbound queue follows its state: open (with the session's limits) while
    // Connected with an established session, closed otherwise.
    void sync_outbound(const std::string& peer_id, PeerRecord& peer);
    void session_writable(const std::string& peer_id, PeerRecord& peer);  // the session's WRITABLE event
    void post_drain();
    void drain_outbound();
    bool send_queued(const std::string& peer_id, PeerRecord& peer);  // true: a writable event is due
    // A datagram from a peer's direct path (by source address): to its session.
    bool route_peer_packet(const om_datagram& datagram, bool via_relay = false);
    bool route_cached(const om_datagram& datagram);
    void deliver_peer_packet(PeerRecord& peer, uint32_t path_id, const om_datagram& datagram);
    // ICE restarts while relayed (agent_restart.cpp): a connection on the relay keeps looking
    // for a direct path, on a backoff, and moves back to it when the checks succeed.
    bool plan_allows_direct(const PeerRecord& peer) const;
    void schedule_direct_retry(const std::string& peer_id, PeerRecord& peer);
    void restart_direct(const std::string& peer_id, PeerRecord& peer);
    bool on_restart_request(proto::signaling::ConnectRequest& request);
    bool on_restart_response(proto::signaling::ConnectResponse& response);
    void on_trickled_candidate(proto::signaling::Candidate& candidate);
    void trickle_srflx();
    int32_t decide_request(const std::string& peer_id, om_nat_type remote_nat, std::string& reason);
    int blocking_timeout_ms() const;
    void refuse_blocking_on_loop(const char* function) const;
    void disconnect_on_loop();
    void deliver(const om_event& event);
    void check_plugin_options_targets() const;
    void create_kind_instances();
    void destroy_kind_instances();
    void close_transport_on_loop(const char* reason);
    void open_transport_on_loop();
    // NAT discovery (agent_nat.cpp).
    PluginInstance* nat_plugin();
    std::optional<om_address> configured_stun_server() const;  // stun_server option, resolved
    std::optional<om_address> configured_turn_server() const;  // turn_server:turn_port, resolved
    std::optional<om_address> resolve_configured(const std::string& host, int32_t port) const;
    void run_nat_discovery(const om_address& server, int budget_ms, NatDiscovery::Done done);
    // What this agent tells peers and the server about its NAT: the last good result, if any.
    std::optional<proto::signaling::NatInfo> nat_for_signal() const;
    om_nat_type local_nat_type() const;
    void on_transport_readable();
    static void transport_sink(void* user_data, const om_datagram* datagram);
    void route_datagram(const om_datagram& datagram);
    PluginInstance* find_instance(const std::string& plugin);

    AgentConfig config_;
    Counters counters_;
    EventLoop loop_;

    // Loop-thread state.
    std::vector<std::shared_ptr<PluginLibrary>> transport_libraries_;  // outermost first
    std::vector<PluginInstance> kind_instances_;  // nat-discovery, strategy, turn, delivery
    std::unique_ptr<TransportStack> transport_;
    int watched_fd_ = -1;
    uint32_t mtu_ = 0;
    std::string last_send_error_;
    int drain_failures_ = 0;
    int draining_ = 0;                  // > 0 while inside the transport's drain
    bool close_after_drain_ = false;    // a callback asked to close during a drain
    uint64_t rewatch_timer_ = 0;
    std::unique_ptr<NatDiscovery> nat_;
    bool transport_opened_for_nat_ = false;  // opened by discovery, not yet claimed by the application
    std::optional<om_address> announced_stun_;  // the server's, from its handshake answer
    std::optional<om_address> configured_stun_;  // stun_server:stun_port, resolved off the loop
    // The agent's TURN allocation (agent_turn.cpp).
    struct TurnLink {
        enum class State { Off, Allocating, Allocated, Failed } state = State::Off;
        std::optional<om_address> server;  // turn_server:turn_port, resolved off the loop
        std::string username, password;    // the ones in use (options, or the server's in `registered`)
        std::optional<om_address> relayed, reflexive;
        std::string error;                 // why the last allocation failed or was lost
        uint64_t failed_us = 0;            // when; a new attempt waits kTurnRetryUs
    } turn_;
    std::vector<std::shared_ptr<Completion>> turn_waiters_;  // TURN-only connects awaiting the allocation
    std::vector<ice::InterfaceAddress> interfaces_;  // for host candidates on a wildcard socket
    uint64_t interfaces_listed_us_ = 0;
    bool interfaces_refresh_posted_ = false;

    // Hot-path counters, looked up once.
    std::atomic<uint64_t>& datagrams_received_;
    std::atomic<uint64_t>& bytes_received_;
    std::atomic<uint64_t>& datagrams_sent_;
    std::atomic<uint64_t>& bytes_sent_;
    std::atomic<uint64_t>& packets_received_;       // delivery.packets_received
    std::atomic<uint64_t>& messages_received_;      // delivery.messages_received
    std::atomic<uint64_t>& messages_sent_;          // delivery.messages_sent
    std::atomic<uint64_t>& messages_sent_direct_;   // delivery.messages_sent_direct
    std::atomic<uint64_t>* demux_counters_[7];  // by proto::DatagramClass

    // Dispatch mode queue.
    std::mutex queue_mutex_;
    std::condition_variable queue_cv_;
    std::deque<OwnedEvent> queue_;
    size_t queued_bytes_ = 0;
    std::atomic<std::thread::id> dispatching_thread_{};
    std::atomic<bool> destroy_after_dispatch_{false};

    // Signaling state (loop thread).
    std::unique_ptr<SignalingClient> signaling_;
    std::vector<std::shared_ptr<Completion>> connect_waiters_;
    PeerTable peers_;
    // Which peer's direct path a source address belongs to, found by a scan of every peer once
    // and checked again on each use (a path that went away is just a miss). Loop thread only.
    struct DirectRoute {
        std::string peer_id;
        uint32_t path_id;
    };
    std::unordered_map<om_address, DirectRoute, proto::AddressHash, proto::SameAddress> direct_routes_;
    uint32_t next_request_id_ = 1;
    uint32_t next_path_id_ = 1;
    std::string local_fingerprint_;
    bool fingerprint_read_ = false;
    OutboundQueue outbound_;  // the one piece of peer state other threads touch (its own lock)
    bool draining_outbound_ = false;
    bool drain_again_ = false;

    mutable std::mutex error_mutex_;
    std::string last_error_;
};

} // namespace om
