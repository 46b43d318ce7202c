#include "agent/agent.h"

#include "agent/bind_address.h"
#include "core/error.h"
#include "core/log.h"
#include "plugin_host/guarded_call.h"
#include "plugin_host/registry.h"
#include "plugin_host/vtable_check.h"
#include "proto/address.h"
#include "proto/demux.h"

#include <algorithm>
#include <cstring>

namespace om {
namespace {

constexpr size_t kDrainBatch = 256;        // datagrams per readiness, then other fds get a turn
constexpr size_t kDispatchQueueLimit = 65536;
constexpr size_t kDispatchQueueBytes = 64u << 20;  // queued payload bytes, whatever the count
constexpr size_t kMaxDatagram = 65535;
constexpr int kDrainFailureLimit = 10;     // consecutive failed drains before the transport closes
constexpr uint64_t kDrainRetryUs = 50'000;
// Kinds loaded by default when installed ("none" turns them off).
constexpr const char* kDefaultNatDiscovery = "stun";  // finds the plugin "nat-stun"
constexpr const char* kDefaultStrategy = "matrix";    // finds the plugin "strategy-matrix"
constexpr const char* kDefaultDelivery = "quic";      // finds the plugin "delivery-quic"
constexpr const char* kDefaultTurn = "client";        // finds the plugin "turn-client"

struct KindLifecycle {
    int32_t (*create)(const om_plugin_create_args*, void**) = nullptr;
    void (*destroy)(void*) = nullptr;
};

KindLifecycle kind_lifecycle(const PluginLibrary& lib)
{
    if (auto v = lib.vtable<om_nat_discovery_vtbl>()) return {v->create, v->destroy};
    if (auto v = lib.vtable<om_strategy_vtbl>()) return {v->create, v->destroy};
    if (auto v = lib.vtable<om_turn_vtbl>()) return {v->create, v->destroy};
    if (auto v = lib.vtable<om_delivery_vtbl>()) return {v->create, v->destroy};
    return {};
}

void require(bool ok, const std::string& what)
{
    if (!ok) fail(OM_ERR_INVALID_ARGUMENT, what);
}

void own(std::string& store, const char*& field)
{
    store = field ? field : "";
    field = field ? store.c_str() : nullptr;
}

} // namespace

om_agent_options default_agent_options()
{
    om_agent_options o = OM_AGENT_OPTIONS_INIT;
    return o;
}

AgentConfig AgentConfig::from(const om_agent_options& options)
{
    AgentConfig c;
    c.raw = default_agent_options();
    // ABI-RULES R6: read what the caller's struct_size covers; defaults fill the rest.
    require(options.struct_size >= offsetof(om_agent_options, server_url), "om_agent_options.struct_size is too small");
    if (options.struct_size > sizeof(om_agent_options)) {
        const auto* bytes = reinterpret_cast<const unsigned char*>(&options);
        for (size_t i = sizeof(om_agent_options); i < options.struct_size; ++i)
            require(bytes[i] == 0, "om_agent_options is newer than this library (struct_size " +
                                       std::to_string(options.struct_size) + ") and sets fields it does not know");
    }
    std::memcpy(&c.raw, &options, std::min<size_t>(options.struct_size, sizeof(om_agent_options)));
    c.raw.struct_size = sizeof(om_agent_options);

    own(c.server_url, c.raw.server_url);
    own(c.agent_id, c.raw.agent_id);
    own(c.token, c.raw.token);
    own(c.stun_server, c.raw.stun_server);
    own(c.turn_server, c.raw.turn_server);
    own(c.turn_username, c.raw.turn_username);
    own(c.turn_password, c.raw.turn_password);
    own(c.bind_address, c.raw.bind_address);
    own(c.exclude_interfaces, c.raw.exclude_interfaces);
    own(c.identity_file, c.raw.identity_file);
    own(c.transport_plugin, c.raw.transport_plugin);
    own(c.nat_discovery_plugin, c.raw.nat_discovery_plugin);
    own(c.strategy_plugin, c.raw.strategy_plugin);
    own(c.turn_plugin, c.raw.turn_plugin);
    own(c.delivery_plugin, c.raw.delivery_plugin);
    own(c.plugin_options_text, c.raw.plugin_options);

    const om_agent_options& r = c.raw;
    require(r.stun_port >= 0 && r.stun_port <= 65535, "stun_port must be 0..65535");
    require(r.turn_port > 0 && r.turn_port <= 65535, "turn_port must be 1..65535");
    require(r.connection_timeout_ms > 0, "connection_timeout_ms must be positive");
    require(r.nat_punch_retries >= 0, "nat_punch_retries must not be negative");
    require(r.nat_punch_interval_ms > 0, "nat_punch_interval_ms must be positive");
    require(r.keep_alive_interval_ms > 0, "keep_alive_interval_ms must be positive");
    require(r.disconnect_timeout_ms > 0, "disconnect_timeout_ms must be positive");
    require(r.max_mtu >= 68 && r.max_mtu <= 65507, "max_mtu must be 68..65507");
    require(r.busy_poll_us >= 0 && r.busy_poll_us <= 10000, "busy_poll_us must be 0..10000");
    require(r.reserved0 == 0, "om_agent_options.reserved0 must be 0");
    require(r.event_mode == OM_EVENTS_ON_LOOP_THREAD || r.event_mode == OM_EVENTS_DISPATCH,
            "event_mode must be OM_EVENTS_ON_LOOP_THREAD or OM_EVENTS_DISPATCH");
    // TURN (RFC 8656): a server with credentials, or credentials without a server make no sense.
    require(!c.turn_username.empty() || c.turn_password.empty(), "turn_password is set without turn_username");
    require(!c.turn_server.empty() || c.turn_username.empty(), "turn_username is set without turn_server");
    c.plugin_options = parse_plugin_options(c.plugin_options_text);
    c.resolved_bind = resolve_bind_address(r.bind_address, r.server_url);
    return c;
}

Agent::Agent(const om_agent_options& options, PluginRegistry& registry)
    : config_(AgentConfig::from(options)),
      datagrams_received_(counters_.counter("transport.datagrams_received")),
      bytes_received_(counters_.counter("transport.bytes_received")),
      datagrams_sent_(counters_.counter("transport.datagrams_sent")),
      bytes_sent_(counters_.counter("transport.bytes_sent")),
      packets_received_(counters_.counter("delivery.packets_received")),
      messages_received_(counters_.counter("delivery.messages_received")),
      messages_sent_(counters_.counter("delivery.messages_sent")),
      messages_sent_direct_(counters_.counter("delivery.messages_sent_direct"))
{
    for (int c = 0; c < 7; ++c)
        demux_counters_[c] = &counters_.counter(std::string("demux.") +
                                                proto::datagram_class_name(static_cast<proto::DatagramClass>(c)));
    transport_libraries_ = load_transport_stack(
        registry, config_.transport_plugin.empty() ? std::string_view("udp") : std::string_view(config_.transport_plugin));
    const std::pair<const std::string*, om_plugin_kind> kinds[] = {
        {&config_.nat_discovery_plugin, OM_PLUGIN_KIND_NAT_DISCOVERY},
        {&config_.strategy_plugin, OM_PLUGIN_KIND_STRATEGY},
        {&config_.turn_plugin, OM_PLUGIN_KIND_TURN},
        {&config_.delivery_plugin, OM_PLUGIN_KIND_DELIVERY},
    };
    // Only the kinds the options name are loaded now; the capabilities that need the defaults
    // load them when they arrive.
    for (const auto& [name, kind] : kinds) {
        std::shared_ptr<PluginLibrary> library;
        // TURN's too: the server may hand out credentials at registration.
        const bool has_default = kind == OM_PLUGIN_KIND_NAT_DISCOVERY || kind == OM_PLUGIN_KIND_STRATEGY ||
                                 kind == OM_PLUGIN_KIND_DELIVERY || kind == OM_PLUGIN_KIND_TURN;
        if (has_default && name->empty()) {
            // NAT discovery, the strategy, TURN and delivery are on by default when their plugins
            // are installed.
            const char* fallback = kind == OM_PLUGIN_KIND_STRATEGY  ? kDefaultStrategy
                                   : kind == OM_PLUGIN_KIND_DELIVERY ? kDefaultDelivery
                                   : kind == OM_PLUGIN_KIND_TURN     ? kDefaultTurn
                                                                     : kDefaultNatDiscovery;
            try {
                library = registry.load(fallback, kind);
            } catch (const Error& e) {
                if (e.status() != OM_ERR_NOT_FOUND) throw;
                log_message(OM_LOG_INFO, std::string("no default plugin: ") + e.what());
                continue;
            }
        } else if (name->empty() || (has_default && *name == "none")) {
            continue;
        } else {
            library = registry.load(*name, kind);
        }
        PluginInstance instance;
        instance.library = std::move(library);
        instance.ctx = make_host_ctx(*this, *instance.library, config_.plugin_options);
        // The agent's identity file is the delivery plugin's setting (its certificate).
        if (kind == OM_PLUGIN_KIND_DELIVERY && !config_.identity_file.empty())
            instance.ctx->settings.emplace("identity_file", config_.identity_file);
        kind_instances_.push_back(std::move(instance));
    }
    check_plugin_options_targets();
    nat_ = std::make_unique<NatDiscovery>(loop_, counters_);
    loop_.set_busy_poll_us(uint32_t(config_.raw.busy_poll_us));
    loop_.start("om-agent");
    try {
        on_loop([this] { create_kind_instances(); });
    } catch (...) {
        // The destructor will not run: undo what create_kind_instances did before failing.
        loop_.run_sync([this]() -> om_status {
            destroy_kind_instances();
            return OM_OK;
        }, -1);
        loop_.stop();
        throw;
    }
}

Agent::~Agent()
{
    loop_.run_sync([this]() -> om_status {
        outbound_.close_all();  // nothing queued reaches a session from here on
        if (signaling_) signaling_->stop("the agent is closing");
        signaling_.reset();
        for (auto& w : connect_waiters_) w->complete(OM_ERR_CLOSED, "the agent is closing");
        for (auto& [id, peer] : peers_.all()) peer.finish_waiters(OM_ERR_CLOSED, "the agent is closing");
        nat_.reset();  // cancels a discovery in flight while its plugin still lives
        close_transport_on_loop(nullptr);
        destroy_kind_instances();
        return OM_OK;
    }, -1);
    loop_.stop();
    if (config_.raw.user_data_free) config_.raw.user_data_free(config_.raw.user_data);
}

void Agent::on_loop(const std::function<void()>& fn)
{
    std::string error;
    om_status status = loop_.run_sync([&]() -> om_status {
        try {
            fn();
            return OM_OK;
        } catch (const Error& e) {
            error = e.what();
            return e.status();
        } catch (const std::exception& e) {
            error = e.what();
            return OM_ERR_INTERNAL;
        }
    }, std::max(config_.raw.connection_timeout_ms, 1000));
    if (status == OM_ERR_TIMEOUT && error.empty()) error = "the agent's loop thread did not answer in time";
    if (status != OM_OK) fail(status, error);
}

void Agent::check_plugin_options_targets() const
{
    std::vector<std::string> used;
    for (const auto& lib : transport_libraries_) used.push_back(lib->name());
    for (const auto& k : kind_instances_) used.push_back(k.library->name());
    for (const auto& [plugin, settings] : config_.plugin_options) {
        if (std::find(used.begin(), used.end(), plugin) != used.end()) continue;
        std::string list;
        for (const auto& u : used) list += (list.empty() ? "" : ", ") + u;
        fail(OM_ERR_INVALID_ARGUMENT, "plugin_options set \"" + plugin + "." + settings.begin()->first +
                                          "\" but this agent uses no plugin \"" + plugin + "\" (it uses " + list + ")");
    }
}

void Agent::create_kind_instances()
{
    for (auto& k : kind_instances_) {
        KindLifecycle life = kind_lifecycle(*k.library);
        om_plugin_create_args args{};
        args.struct_size = sizeof args;
        args.host = host_api();
        args.ctx = k.ctx.get();
        args.agent_id = config_.agent_id.empty() ? nullptr : config_.agent_id.c_str();
        void* instance = nullptr;
        int32_t status = guarded_call(*k.ctx, "create", [&] { return life.create(&args, &instance); });
        check_plugin_status(*k.ctx, "create", status);
        k.instance = instance;
        k.ctx->check_settings_read();  // on failure the constructor destroys what was created
    }
}

void Agent::destroy_kind_instances()
{
    release_turn("the agent is destroyed");  // its Deallocate leaves while the socket is open
    for (auto& k : kind_instances_) {
        if (!k.instance) continue;
        KindLifecycle life = kind_lifecycle(*k.library);
        try {
            guarded_call(*k.ctx, "destroy", [&] { life.destroy(k.instance); });
        } catch (const Error& e) {
            log_message(OM_LOG_ERROR, e.what());
        }
        k.instance = nullptr;
        k.ctx->cancel_timers();
    }
}

void Agent::open_transport()
{
    on_loop([this] {
        if (transport_ && transport_opened_for_nat_) {
            transport_opened_for_nat_ = false;  // NAT discovery opened it: the application takes it over
            return;
        }
        if (transport_) fail(OM_ERR_STATE, "the transport is already open on " + proto::format_address(transport_->local_address()));
        open_transport_on_loop();
    });
}

void Agent::open_transport_on_loop()
{
    auto stack = std::make_unique<TransportStack>(*this, transport_libraries_, config_.plugin_options,
                                                  config_.agent_id, &Agent::transport_sink, this);
    stack->open(config_.resolved_bind);
    mtu_ = stack->mtu(static_cast<uint32_t>(config_.raw.max_mtu));
    int fd = stack->poll_fd();
    transport_ = std::move(stack);
    if (fd >= 0) {
        watched_fd_ = fd;
        loop_.watch_fd(fd, [this] { on_transport_readable(); });
    }
    drain_failures_ = 0;
    if (proto::is_unspecified(transport_->local_address())) {
        try {
            (void)interface_addresses();  // warm for the first connection's host candidates
        } catch (const Error& e) {
            log_message(OM_LOG_DEBUG, std::string("interfaces: ") + e.what());
        }
    }
    std::string local = proto::format_address(transport_->local_address());
    log_message(OM_LOG_INFO, "transport " + transport_->describe() + " open on " + local);
    emit(OM_EVENT_TRANSPORT_OPENED, local.c_str(), nullptr, 0, OM_OK, transport_->describe().c_str());
}

void Agent::close_transport()
{
    on_loop([this] { close_transport_on_loop("closed by the application"); });
}

void Agent::close_transport_on_loop(const char* reason)
{
    if (!transport_) return;
    transport_opened_for_nat_ = false;
    if (nat_) nat_->abort(OM_ERR_CLOSED, "the transport closed during NAT discovery");
    release_turn("the transport closed");  // the allocation belongs to this socket's 5-tuple
    if (draining_) {
        // An event callback inside the transport's drain asked for this: the plugin is still on
        // the stack, so close right after the drain returns.
        close_after_drain_ = true;
        if (watched_fd_ >= 0) loop_.unwatch_fd(watched_fd_);
        watched_fd_ = -1;
        return;
    }
    if (watched_fd_ >= 0) loop_.unwatch_fd(watched_fd_);
    watched_fd_ = -1;
    if (rewatch_timer_) loop_.cancel_timer(rewatch_timer_);
    rewatch_timer_ = 0;
    transport_.reset();
    if (reason) emit(OM_EVENT_TRANSPORT_CLOSED, nullptr, nullptr, 0, OM_OK, reason);
}

std::string Agent::local_address()
{
    std::string text;
    on_loop([&] {
        if (!transport_) fail(OM_ERR_STATE, "the transport is not open");
        text = proto::format_address(transport_->local_address());
    });
    return text;
}

uint32_t Agent::transport_mtu()
{
    uint32_t mtu = 0;
    on_loop([&] {
        if (!transport_) fail(OM_ERR_STATE, "the transport is not open");
        mtu = mtu_;
    });
    return mtu;
}

void Agent::send_datagram(const std::string& address, const uint8_t* data, size_t len)
{
    om_datagram datagram{};
    std::string why;
    if (!proto::parse_address(address, 0, datagram.peer, &why))
        fail(OM_ERR_INVALID_ARGUMENT, "address \"" + address + "\": " + why);
    if (datagram.peer.port == 0) fail(OM_ERR_INVALID_ARGUMENT, "address \"" + address + "\" has no port");
    if (!data && len) fail(OM_ERR_INVALID_ARGUMENT, "data is NULL");
    datagram.data = data;
    datagram.len = len;
    on_loop([&] {
        om_status status = send_through_transport(datagram);
        if (status == OM_ERR_TOO_LARGE)
            fail(status, "datagram of " + std::to_string(len) + " bytes exceeds the transport MTU of " + std::to_string(mtu_));
        if (status == OM_ERR_CLOSED) fail(status, "the transport is not open");
        if (status == OM_ERR_WOULD_BLOCK) fail(status, "the socket's send buffer is full");
        if (status != OM_OK) fail(status, last_send_error_);
    });
}

om_status Agent::send_through_transport(const om_datagram& datagram)
{
    if (!transport_) return OM_ERR_CLOSED;
    if (datagram.len > mtu_) return OM_ERR_TOO_LARGE;
    try {
        size_t sent = transport_->send(&datagram, 1);
        if (sent == 0) {
            counters_.add("transport.send_would_block", 1);
            return OM_ERR_WOULD_BLOCK;
        }
        datagrams_sent_.fetch_add(1, std::memory_order_relaxed);
        bytes_sent_.fetch_add(datagram.len, std::memory_order_relaxed);
        return OM_OK;
    } catch (const Error& e) {
        counters_.add("transport.send_errors", 1);
        log_message(OM_LOG_DEBUG, e.what());
        last_send_error_ = e.what();  // loop thread only: send_datagram reports it
        return e.status();
    }
}

void Agent::on_transport_readable()
{
    if (!transport_) return;
    try {
        ++draining_;
        try {
            transport_->drain(kDrainBatch);
        } catch (...) {
            --draining_;
            throw;
        }
        --draining_;
        if (close_after_drain_) {
            close_after_drain_ = false;
            close_transport_on_loop("closed by the application");
            return;
        }
        drain_failures_ = 0;
    } catch (const Error& e) {
        counters_.add("transport.drain_errors", 1);
        emit(OM_EVENT_ERROR, nullptr, nullptr, 0, e.status(), e.what());
        // A transport that keeps failing must not spin the loop: pause it, then give up on it.
        if (++drain_failures_ >= kDrainFailureLimit) {
            close_transport_on_loop(("the transport failed " + std::to_string(kDrainFailureLimit) + " times in a row: " + e.what()).c_str());
            return;
        }
        if (watched_fd_ >= 0) loop_.unwatch_fd(watched_fd_);
        rewatch_timer_ = loop_.add_timer(kDrainRetryUs, 0, [this](uint64_t) {
            rewatch_timer_ = 0;
            if (transport_ && watched_fd_ >= 0) loop_.watch_fd(watched_fd_, [this] { on_transport_readable(); });
        });
    }
}

void Agent::transport_sink(void* user_data, const om_datagram* datagram)
{
    // Called from inside the transport plugin's drain: nothing may unwind through it.
    auto* self = static_cast<Agent*>(user_data);
    // What a plugin hands in is input like any other: check it before anyone reads it.
    if (!datagram || (!datagram->data && datagram->len) || datagram->len > kMaxDatagram ||
        (datagram->peer.family != 4 && datagram->peer.family != 6)) {
        self->counters_.add("transport.invalid_datagrams", 1);
        return;
    }
    if (self->close_after_drain_) return;  // closing: the application no longer wants datagrams
    try {
        self->route_datagram(*datagram);
    }
    OM_RETHROW_FORCED_UNWIND
    catch (const std::exception& e) {
        log_message(OM_LOG_ERROR, std::string("routing a datagram failed: ") + e.what());
        self->counters_.add("transport.route_errors", 1);
    } catch (...) {
        self->counters_.add("transport.route_errors", 1);
    }
}

void Agent::route_datagram(const om_datagram& datagram)
{
    datagrams_received_.fetch_add(1, std::memory_order_relaxed);
    bytes_received_.fetch_add(datagram.len, std::memory_order_relaxed);
    // RFC 7983 §7: STUN and TURN ChannelData go to the plugins that speak them.
    auto cls = proto::classify_datagram(datagram.data, datagram.len);
    demux_counters_[static_cast<int>(cls)]->fetch_add(1, std::memory_order_relaxed);
    // RFC 9443 §3: what the TURN server sends (its answers, Data indications and ChannelData,
    // whose first byte 64-79 QUIC also uses) is told apart by its source, before anything else.
    if (turn_.state != TurnLink::State::Off && turn_.server && proto::same_address(datagram.peer, *turn_.server)) {
        if (PluginInstance* turn = turn_plugin()) {
            auto vtbl = turn->library->vtable<om_turn_vtbl>();
            if (guarded_call(*turn->ctx, "on_datagram", [&] { return vtbl->on_datagram(turn->instance, &datagram); }) == 1)
                return;
        }
    }
    // Connectivity checks and direct-path frames first: they belong to peers.
    if (cls == proto::DatagramClass::Stun && route_ice(datagram)) return;
    // QUIC packets (RFC 9443 first byte 64-127, 192-255) and the rest: by the source address,
    // to the peer whose direct path it is (docs/protocol.md).
    // A first byte of 0-3 that is not a valid STUN message goes there too (QUIC never greases
    // its fixed bit here, but a peer's packet is the peer's whatever it starts with).
    if (cls != proto::DatagramClass::Empty && route_peer_packet(datagram)) return;
    if (cls == proto::DatagramClass::Stun || cls == proto::DatagramClass::TurnChannel) {
        for (auto& k : kind_instances_) {
            int32_t consumed = 0;
            if (auto nat = k.library->vtable<om_nat_discovery_vtbl>(); nat && cls == proto::DatagramClass::Stun)
                consumed = guarded_call(*k.ctx, "on_datagram", [&] { return nat->on_datagram(k.instance, &datagram); });
            else if (auto turn = k.library->vtable<om_turn_vtbl>())
                consumed = guarded_call(*k.ctx, "on_datagram", [&] { return turn->on_datagram(k.instance, &datagram); });
            if (consumed == 1) return;
        }
        counters_.add("demux.unclaimed", 1);  // nobody speaks it: the application sees it
    }
    std::string from = proto::format_address(datagram.peer);
    emit(OM_EVENT_DATAGRAM, from.c_str(), datagram.data, datagram.len, OM_OK, nullptr);
}

void Agent::emit(om_event_type type, const char* address, const uint8_t* data, size_t len, om_status status,
                 const char* message, const char* peer_id, om_delivery_mode mode, const PeerRecord* peer,
                 uint32_t channel)
{
    if (!config_.raw.on_event) return;
    uint64_t now = EventLoop::now_us();
    const om_peer_status peer_status = peer ? peer->status : 0;
    const om_transport_type transport = peer ? peer->transport : 0;
    const om_strategy strategy = peer ? peer->strategy : 0;
    if (config_.raw.event_mode == OM_EVENTS_DISPATCH) {
        std::lock_guard<std::mutex> lock(queue_mutex_);
        if (queue_.size() >= kDispatchQueueLimit || queued_bytes_ + len > kDispatchQueueBytes) {
            counters_.add("events.dropped", 1);
            return;
        }
        queued_bytes_ += len;
        queue_.push_back(OwnedEvent{type, peer_id ? peer_id : "", mode, address ? address : "",
                                    std::vector<uint8_t>(data, data + len), status, message ? message : "", now,
                                    peer_status, transport, strategy, channel});
        queue_cv_.notify_one();
        return;
    }
    om_event event{};
    event.struct_size = sizeof event;
    event.type = type;
    event.address = address;
    event.data = len ? data : nullptr;
    event.len = len;
    event.status = status;
    event.message = message;
    event.timestamp_us = now;
    event.peer_id = peer_id;
    event.delivery_mode = mode;
    event.peer_status = peer_status;
    event.transport = transport;
    event.strategy = strategy;
    event.channel = channel;
    deliver(event);
}

void Agent::deliver(const om_event& event)
{
    try {
        config_.raw.on_event(config_.raw.user_data, &event);
    }
    OM_RETHROW_FORCED_UNWIND
    catch (...) {
        counters_.add("events.callback_exceptions", 1);  // a C callback must not throw; survive it
    }
}

size_t Agent::dispatch(int timeout_ms)
{
    if (config_.raw.event_mode != OM_EVENTS_DISPATCH)
        fail(OM_ERR_STATE, "om_agent_dispatch needs event_mode OM_EVENTS_DISPATCH");
    std::deque<OwnedEvent> batch;
    {
        std::unique_lock<std::mutex> lock(queue_mutex_);
        auto ready = [this] { return !queue_.empty(); };
        if (timeout_ms < 0) queue_cv_.wait(lock, ready);
        else if (!queue_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), ready))
            fail(OM_ERR_TIMEOUT, "no event within " + std::to_string(timeout_ms) + " ms");
        batch.swap(queue_);
        queued_bytes_ = 0;
    }
    dispatching_thread_ = std::this_thread::get_id();
    size_t delivered = 0;
    for (const auto& e : batch) {
        if (destroy_after_dispatch_) break;  // a callback destroyed the agent: stop here
        om_event event{};
        event.struct_size = sizeof event;
        event.type = e.type;
        event.address = e.address.empty() ? nullptr : e.address.c_str();
        event.data = e.data.empty() ? nullptr : e.data.data();
        event.len = e.data.size();
        event.status = e.status;
        event.message = e.message.empty() ? nullptr : e.message.c_str();
        event.timestamp_us = e.timestamp_us;
        event.peer_id = e.peer_id.empty() ? nullptr : e.peer_id.c_str();
        event.delivery_mode = e.mode;
        event.peer_status = e.peer_status;
        event.transport = e.transport;
        event.strategy = e.strategy;
        event.channel = e.channel;
        deliver(event);
        ++delivered;
    }
    dispatching_thread_ = std::thread::id();
    return delivered;
}

PluginInstance* Agent::find_instance(const std::string& plugin)
{
    for (auto& k : kind_instances_)
        if (k.library->name() == plugin) return &k;
    if (transport_)
        if (auto* layer = transport_->find(plugin)) return layer;
    for (const auto& lib : transport_libraries_)
        if (lib->name() == plugin) fail(OM_ERR_STATE, "plugin " + plugin + " has no instance until the transport is open");
    std::string known;
    for (const auto& lib : transport_libraries_) known += (known.empty() ? "" : ", ") + lib->name();
    for (const auto& k : kind_instances_) known += ", " + k.library->name();
    fail(OM_ERR_NOT_FOUND, "this agent has no plugin \"" + plugin + "\" (it has " + known + ")");
}

std::vector<uint8_t> Agent::plugin_call(const std::string& plugin, const std::string& method, const uint8_t* args,
                                        size_t args_len)
{
    std::vector<uint8_t> result;
    on_loop([&] {
        PluginInstance* target = find_instance(plugin);
        const FfiMethod* m = target->library->method(method);
        if (!m) {
            std::string names;
            for (const auto& each : target->library->methods()) names += (names.empty() ? "" : ", ") + each->name();
            fail(OM_ERR_NOT_FOUND, "plugin " + plugin + " has no method \"" + method + "\"" +
                                       (names.empty() ? " (it declares none)" : " (it has " + names + ")"));
        }
        target->ctx->last_error.clear();
        result = guarded_call(*target->ctx, method.c_str(), [&] {
            return m->invoke(target->instance, args, args_len, [&] { return target->ctx->take_error(); });
        });
    });
    return result;
}

bool Agent::in_own_callback() const
{
    return loop_.in_loop_thread() || dispatching_thread_.load() == std::this_thread::get_id();
}

namespace {
// The last failure seen by this thread: om_agent_last_error must not hand out a string that
// another thread's failure rewrites while the caller reads it (ABI-RULES R16).
struct ThreadLastError {
    const Agent* agent = nullptr;
    std::string text;
};
thread_local ThreadLastError t_last_error;
} // namespace

void Agent::set_last_error(std::string message)
{
    t_last_error.agent = this;
    t_last_error.text = message;
    std::lock_guard<std::mutex> lock(error_mutex_);
    last_error_ = std::move(message);
}

const char* Agent::last_error() const
{
    if (t_last_error.agent != this) {  // another thread failed last: copy it for this one
        std::lock_guard<std::mutex> lock(error_mutex_);
        t_last_error.agent = this;
        t_last_error.text = last_error_;
    }
    return t_last_error.text.c_str();
}

} // namespace om
