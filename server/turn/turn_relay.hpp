// The embedded TURN relay (RFC 8656) on the STUN port: the STUN workers hand it what is TURN
// (methods other than Binding, and ChannelData) and send the answers it writes; one relay thread
// reads what peers send to the relayed sockets and wraps it for the clients (Data indications,
// or ChannelData once a channel is bound), and expires allocations, permissions and channels.
//
// Enforced: long-term credentials (static users, or coturn's time-limited ones from the shared
// secret) with stateless nonces; permissions (a datagram from a peer without one is dropped and
// counted); channel bindings; per-user and total allocation quotas; a per-allocation bandwidth
// limit each way; peers on loopback and private ranges refused unless allowed. Counters go to
// /metrics (turn.*: allocations, bytes and packets relayed, refusals and drops by reason).
#pragma once

#include "hub/server_metrics.hpp"
#include "hub/token_bucket.hpp"
#include "turn/turn_auth.hpp"
#include "turn/turn_config.hpp"

#include "proto/address.h"
#include "proto/stun.h"

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace om::server {

class TurnRelay {
public:
    // relay_ip: the concrete address relayed sockets bind to (the server's --bind).
    TurnRelay(TurnConfig config, const om_address& relay_ip, ServerMetrics& metrics);
    ~TurnRelay();
    TurnRelay(const TurnRelay&) = delete;
    TurnRelay& operator=(const TurnRelay&) = delete;

    void start();  // the relay thread
    void stop();   // idempotent; closes every relayed socket

    // What the STUN worker hands over: ChannelData (first byte 64-79), or STUN whose method is
    // not Binding. `data`: ChannelData or a Send indication (not rate-limited like requests).
    static bool wants(std::span<const uint8_t> bytes, bool* data);
    // One datagram from a client on the STUN socket `fd` (which also carries what the relay
    // sends that client). Writes the answer to out and returns its size, 0 when none. Inside a
    // batch, what it relays to peers waits for end_batch and may point into `bytes`.
    size_t on_client(int fd, const om_address& client, std::span<const uint8_t> bytes, std::span<uint8_t> out);
    // The same for one framed message from a TCP client (RFC 8656 §12.5, RFC 6062 §4: its own
    // 5-tuple, the allocation dies with the connection: client_gone).
    size_t on_stream_client(int fd, const om_address& client, std::span<const uint8_t> frame, std::span<uint8_t> out);
    void client_gone(const om_address& client);  // a TCP client's connection closed

    // Where frames for TCP clients go (the TCP front end, which owns the connections and
    // keeps each one's frames whole and in order). Set before start().
    class StreamSink {
    public:
        virtual ~StreamSink() = default;
        virtual void send_frame(int fd, std::span<const uint8_t> frame) = 0;
    };
    void set_stream_sink(StreamSink* sink)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stream_sink_ = sink;
    }
    bool has_stream_client(const om_address& client) const;

    // A STUN worker's receive batch: the relay's lock is held from begin to end (no allocation
    // goes away meanwhile), and what it relays leaves in one sendmmsg per relayed socket.
    // The datagrams handed to on_client in between must stay valid until end_batch.
    class Batch {
    public:
        explicit Batch(TurnRelay& relay);
        ~Batch();  // sends what is pending, then unlocks
        Batch(const Batch&) = delete;
        Batch& operator=(const Batch&) = delete;

    private:
        TurnRelay& relay_;
    };

    size_t allocation_count() const;
    uint32_t max_allocations() const { return config_.max_allocations; }  // after the open-files clamp

private:
    struct Channel {
        uint16_t number;
        om_address peer;
        uint64_t expires_us;
    };
    struct Permission {
        om_address ip;  // port 0
        uint64_t expires_us;
    };
    struct Allocation {
        uint64_t id = 0;
        om_address client{};
        int client_fd = -1;
        bool stream = false;  // the client is on TCP: frames go through the StreamSink
        std::string username;
        std::vector<uint8_t> key;
        int relay_fd = -1;
        om_address relayed{};
        uint64_t expires_us = 0;
        uint32_t lifetime_s = 0;
        proto::stun::TransactionId allocate_id{};
        std::vector<Permission> permissions;
        std::vector<Channel> channels;
        TokenBucket to_peer, to_client;
    };

    // Requests (§7-§9, §12), each answering into out.
    size_t allocate(const proto::stun::Message& m, int fd, const om_address& client, std::span<uint8_t> out);
    size_t refresh(const proto::stun::Message& m, const om_address& client, std::span<uint8_t> out);
    size_t create_permission(const proto::stun::Message& m, const om_address& client, std::span<uint8_t> out);
    size_t channel_bind(const proto::stun::Message& m, const om_address& client, std::span<uint8_t> out);
    void send_indication(const proto::stun::Message& m, const om_address& client);
    void channel_data(const om_address& client, std::span<const uint8_t> bytes);

    // RFC 8489 §9.2.4 on the server: 0 when the request is authenticated (username and key
    // set), else the size of the error written (401, 438, 400).
    size_t authenticate(const proto::stun::Message& m, const om_address& client, std::span<uint8_t> out,
                        std::string& username, std::vector<uint8_t>& key);
    size_t error(const proto::stun::Message& m, std::span<uint8_t> out, uint16_t code, const char* reason,
                 const om_address& client, std::span<const uint8_t> key = {}, bool challenge = false,
                 std::span<const uint16_t> unknown = {});
    // Refusals are counted by reason ("turn.refused.<reason>").
    void refuse(const char* reason);
    // The allocation a Refresh, CreatePermission or ChannelBind is for, or nullptr with the error
    // answer's size in `answered`.
    Allocation* owned_allocation(const proto::stun::Message& m, const om_address& client, std::span<uint8_t> out,
                                 std::vector<uint8_t>& key, size_t& answered);
    uint32_t granted_lifetime(const proto::stun::Message& m) const;
    // The 443 or 403 answer's size for a peer this allocation may not have, 0 when it may.
    size_t refuse_peer(const Allocation& a, const om_address& peer, const proto::stun::Message& m,
                       const om_address& client, std::span<const uint8_t> key, std::span<uint8_t> out);
    static std::string user_of(std::string_view username);  // the quota's key
    bool permitted(const Allocation& a, const om_address& peer, uint64_t now) const;
    void permit(Allocation& a, const om_address& peer, uint64_t now);
    void relay_to_peer(Allocation& a, const om_address& peer, std::span<const uint8_t> payload);
    void destroy(Allocation* a);  // lock held; sends what is pending first (its socket closes)
    // Relayed datagrams of the current batch, sent by flush_pending (lock held).
    struct Pending {
        int fd;
        om_address to;
        std::span<const uint8_t> data;
    };
    void flush_pending();
    Allocation* find(const om_address& client);  // of the current request's transport (stream_)
    size_t handle(int fd, const om_address& client, std::span<const uint8_t> bytes, std::span<uint8_t> out);
    int open_relay_socket(om_address& relayed, bool even);
    void run();
    void read_peers(Allocation& a, uint64_t now);
    void expire(uint64_t now);

    TurnConfig config_;
    om_address relay_ip_;
    TurnAuth auth_;
    ServerMetrics& metrics_;
    std::atomic<uint64_t>& allocations_gauge_;
    std::atomic<uint64_t>& bytes_relayed_;
    std::atomic<uint64_t>& packets_relayed_;
    std::atomic<uint64_t>& dropped_no_permission_;
    std::atomic<uint64_t>& dropped_bandwidth_;
    std::atomic<uint64_t>& dropped_no_allocation_;
    std::atomic<uint64_t>& dropped_unknown_channel_;
    std::atomic<uint64_t>& malformed_;

    mutable std::mutex mutex_;
    bool batching_ = false;          // a worker's Batch holds the lock
    std::vector<Pending> pending_;   // its relayed datagrams, in order
    using ClientMap = std::unordered_map<om_address, std::unique_ptr<Allocation>, proto::AddressHash, proto::SameAddress>;
    ClientMap by_client_;         // UDP clients
    ClientMap by_stream_client_;  // TCP clients (the same address and port is another 5-tuple)
    bool stream_ = false;         // the request being handled came over TCP (lock held)
    StreamSink* stream_sink_ = nullptr;
    ClientMap& clients(bool stream) { return stream ? by_stream_client_ : by_client_; }
    std::unordered_map<uint64_t, Allocation*> by_id_;
    std::map<std::string, uint32_t, std::less<>> per_user_;
    uint64_t next_id_ = 1;
    int epoll_fd_ = -1;
    int stop_fd_ = -1;
    std::thread thread_;
};

} // namespace om::server
