// The kernel's side of one delivery plugin session (plugin.h "Kind: delivery", ABI 1.2): opens
// it on a path, feeds it packets and path changes, and hands its outputs to the connection.
// Messages and events the plugin produces are queued and handed on only once the plugin call
// that produced them has returned (or, from the plugin's own timers, from a posted task): the
// application's callback may call back into the agent, and a plugin must never be re-entered.
#pragma once

#include "agent/plugin_instance.h"
#include "core/event_loop.h"

#include <orbitmesh/plugin.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace om {

class DeliverySession {
public:
    class Handler {
    public:
        virtual ~Handler() = default;
        // Packets onto a path (GSO shape, see Path::send).
        virtual om_status send_packets(uint32_t path_id, const uint8_t* data, size_t len, size_t segment_size) = 0;
        virtual void on_message(om_delivery_mode mode, uint32_t channel, std::vector<uint8_t> data) = 0;
        // OM_DELIVERY_EVENT_*.
        virtual void on_session_event(int32_t event, om_status status, const std::string& reason) = 0;
    };

    struct Config {
        std::string peer_id;
        int32_t role = OM_DELIVERY_ROLE_CLIENT;
        om_delivery_path path{};
        std::string remote_fingerprint;
        uint32_t keep_alive_ms = 0;
        uint32_t idle_timeout_ms = 0;
        bool enable_reliable = true;
        bool enable_unreliable = true;
    };

    // Throws om::Error when the plugin refuses the session.
    DeliverySession(PluginInstance& plugin, EventLoop& loop, Handler& handler, const Config& config);
    ~DeliverySession();  // closes the plugin's session; nothing reaches the handler afterwards
    DeliverySession(const DeliverySession&) = delete;
    DeliverySession& operator=(const DeliverySession&) = delete;

    // The plugin's status; its set_error text goes to *error.
    om_status send(om_delivery_mode mode, uint32_t channel, const uint8_t* data, size_t len, std::string* error);
    // A run of messages in one plugin call (ABI 1.3 send_messages; one send per message for an
    // older plugin): *accepted were taken, the status is the first refusal's (OM_OK: all taken).
    om_status send_batch(const om_delivery_message* messages, size_t count, size_t* accepted, std::string* error);
    void on_packet(uint32_t path_id, const uint8_t* data, size_t len);
    void path_changed(const om_delivery_path& path);
    // Fills what the plugin reports; false when it reports nothing.
    bool metrics(om_delivery_metrics& out);
    uint32_t path_id() const { return path_id_; }
    // ABI >= 1.2: the plugin says WRITABLE after OM_ERR_WOULD_BLOCK (and takes channels > 0).
    bool reports_writable() const { return vtbl_.send_message != nullptr; }

    // The plugin instance's certificate fingerprint, "" when it has none (an older plugin).
    static std::string local_fingerprint(PluginInstance& plugin);

private:
    struct Output {
        bool is_event;
        om_delivery_mode mode;
        uint32_t channel;
        std::vector<uint8_t> data;
        int32_t event;
        om_status status;
        std::string reason;
    };
    // Shared with posted flush tasks, which find it dead once the session is gone.
    struct State {
        DeliverySession* self;
    };

    static int32_t send_packets_cb(void* io, uint32_t path_id, const uint8_t* data, size_t len, size_t segment);
    static int32_t send_frame_cb(void* io, const uint8_t* frame, size_t len);  // ABI 1.0 plugins
    static void deliver_message_cb(void* io, om_delivery_mode mode, uint32_t channel, const uint8_t* data, size_t len);
    static void deliver_cb(void* io, om_delivery_mode mode, const uint8_t* data, size_t len);
    static void session_event_cb(void* io, int32_t event, int32_t status, const char* reason);

    void queue(Output output);
    void flush();
    void post_flush();  // flush from a fresh loop task (once until it ran)
    // Runs a plugin call (the plugin is never re-entered while depth_ > 0).
    template <class F>
    int32_t call_plugin(const char* step, F&& fn);
    // call_plugin, then hands on what it produced.
    template <class F>
    int32_t call(const char* step, F&& fn);

    PluginInstance& plugin_;
    const om_delivery_vtbl& vtbl_;
    EventLoop& loop_;
    Handler& handler_;
    void* session_ = nullptr;
    uint32_t path_id_ = 0;
    int depth_ = 0;  // > 0 while inside a plugin call
    bool flush_posted_ = false;
    std::deque<Output> outputs_;
    std::shared_ptr<State> state_;
};

} // namespace om
