// One delivery session with one peer over QUIC (RFC 9000, DATAGRAM frames RFC 9221): messages
// on 256 channels in four modes (message_framing.h), mutual TLS with pinned fingerprints, path
// migration. A pure state machine over the adapter (quic_adapter.h), in the shape of
// kernel/agent/ice/ice_session.*: no sockets, no timers of its own. The caller feeds it time,
// packets and path changes, asks next_wakeup_us() when to call on_timer() again, and gets its
// outputs through the om_delivery_session_args callbacks (send_packets, deliver_message,
// session_event), which may run inside any call.
#pragma once

#include "message_framing.h"
#include "quic_adapter.h"
#include "tls_identity.h"

#include <orbitmesh/plugin.h>

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace om::quic {

struct SessionSettings {
    CongestionControl congestion_control = CongestionControl::Cubic;
    uint64_t send_queue_bytes = 32u << 20;  // send_message answers OM_ERR_WOULD_BLOCK beyond it
};

// What a session dropped or refused, for the host's counters.
struct SessionCounters {
    uint64_t malformed_packets = 0;      // did not decrypt or parse (ngtcp2 dropped them)
    uint64_t packets_after_close = 0;    // arrived after the session ended
    uint64_t malformed_streams = 0;      // a stream that broke the framing (its reading stopped)
    uint64_t malformed_datagrams = 0;
    uint64_t stale_sequenced = 0;        // sequenced messages older than the newest delivered
    uint64_t datagrams_lost = 0;         // DATAGRAM frames declared lost (never resent)
    uint64_t datagrams_dropped = 0;      // could not be sent (too large for the peer)
    uint64_t send_blocked = 0;           // send_packets answered OM_ERR_WOULD_BLOCK
};

class QuicSession final : private AdapterEvents {
public:
    // args are copied (the peer_id and remote_fingerprint text too); identity must outlive the
    // session. Throws std::invalid_argument for a bad fingerprint or path, std::runtime_error
    // when the QUIC connection cannot be made. The client's first flight leaves at once.
    QuicSession(const om_delivery_session_args& args, const TlsIdentity& identity, SessionSettings settings,
                uint64_t now_us);
    ~QuicSession() override;
    QuicSession(const QuicSession&) = delete;
    QuicSession& operator=(const QuicSession&) = delete;

    // A message on channel 0..OM_MAX_CHANNELS-1. OM_OK (queued until the handshake ends, when
    // needed), or a failure with *error saying why: OM_ERR_TOO_LARGE (with the limit in bytes),
    // OM_ERR_WOULD_BLOCK (a WRITABLE event follows), OM_ERR_NOT_SUPPORTED (mode disabled),
    // OM_ERR_INVALID_ARGUMENT, OM_ERR_CLOSED once the session failed.
    int32_t send_message(om_delivery_mode mode, uint32_t channel, std::span<const uint8_t> data, uint64_t now_us,
                         std::string* error);
    // send_message for each message in order, the packets written once at the end (ABI 1.3
    // send_messages). Stops at the first refusal: *accepted counts those taken before it.
    int32_t send_messages(std::span<const om_delivery_message> messages, uint64_t now_us, size_t* accepted,
                          std::string* error);
    // A packet of the peer that came over path_id. OM_ERR_CLOSED after the session ended,
    // OM_ERR_MALFORMED when a server's first packet cannot start a connection.
    int32_t on_packet(uint32_t path_id, std::span<const uint8_t> data, uint64_t now_us);
    // The kernel moved the session to another path. The client migrates at once (immediate
    // migration, README), the server follows the client's packets.
    int32_t path_changed(const om_delivery_path& path, uint64_t now_us, std::string* error);
    // Timers (loss detection, ACK delay, pacing, keep-alive, idle timeout) and retries.
    void on_timer(uint64_t now_us);
    // When on_timer is due (host clock, µs); 0 when nothing is scheduled.
    uint64_t next_wakeup_us() const;
    // Packets came in and nothing has been written since: the next wakeup is that write.
    bool write_due() const noexcept { return write_due_; }
    // Ends the session: a CONNECTION_CLOSE goes out (RFC 9000 §10.2) unless it already ended.
    void close(uint64_t now_us);

    void metrics(om_delivery_metrics& out) const;  // every field but struct_size
    bool established() const noexcept { return established_; }
    bool failed() const noexcept { return failed_; }
    int32_t failure_status() const noexcept { return failure_status_; }
    const std::string& failure_reason() const noexcept { return failure_reason_; }
    const SessionCounters& counters() const noexcept { return counters_; }
    uint64_t send_queue_bytes() const noexcept { return queued_bytes_; }
    uint32_t current_path_id() const;
    // Largest unreliable/sequenced message that fits one DATAGRAM frame on the current path.
    size_t max_unreliable_message(om_delivery_mode mode) const;

private:
    struct SendStream {
        int64_t id = -1;          // -1 until opened
        om_delivery_mode mode = OM_DELIVERY_RELIABLE_ORDERED;
        uint8_t channel = 0;
        std::deque<std::vector<uint8_t>> chunks;  // not yet acknowledged; ngtcp2 points into them
        uint64_t base = 0;        // stream offset of chunks.front()
        uint64_t end = 0;         // stream offset after the last chunk
        uint64_t written = 0;     // handed to ngtcp2
        bool fin = false;         // unordered: FIN after the one message
        bool fin_written = false;
        bool in_ready = false;
        bool probe = false;       // the probe stream (message_framing.h): never FIN, never a message
        uint64_t blocked_round = 0;
    };
    struct RecvStream {
        StreamDecoder decoder;
        bool failed = false;
    };
    struct Datagram {
        std::array<uint8_t, kMaxSequencedHeaderSize> header{};
        size_t header_size = 0;
        std::vector<uint8_t> payload;
    };

    // AdapterEvents
    void on_handshake_confirmed() override;
    void on_stream_data(int64_t stream_id, std::span<const uint8_t> data, bool fin) override;
    void on_stream_acked(int64_t stream_id, uint64_t offset, uint64_t length) override;
    void on_stream_closed(int64_t stream_id) override;
    void on_stream_reset(int64_t stream_id) override;
    void on_datagram(std::span<const uint8_t> data) override;
    void on_datagram_lost() override;
    void on_streams_available() override;

    AdapterConfig adapter_config() const;
    void flush(uint64_t now_us);
    void open_streams();
    SendStream* next_ready();
    bool probe_ready();
    void add_probe_byte();
    bool send_batch(uint32_t path_id, const uint8_t* data, size_t len, size_t segment);
    bool retry_blocked();
    void after_io(uint64_t now_us, bool write_now = true);
    void fail(int32_t status, const std::string& reason, uint64_t now_us);
    void release_queue(uint64_t bytes);
    void deliver(om_delivery_mode mode, uint8_t channel, std::span<const uint8_t> message);

    om_delivery_session_args args_;
    std::string peer_id_;
    std::string expected_fingerprint_;
    const TlsIdentity& identity_;
    SessionSettings settings_;
    om_delivery_path path_;
    std::unique_ptr<QuicConnection> conn_;

    bool established_ = false;
    bool established_reported_ = false;
    bool failed_ = false;
    int32_t failure_status_ = OM_OK;
    std::string failure_reason_;
    bool in_io_ = false;  // inside ngtcp2: send_message only queues
    bool batching_ = false;  // inside send_messages: written once at its end
    bool write_due_ = false;  // packets came in: flush from the timer, due at once
    uint32_t pending_migration_ = 0;
    uint64_t last_now_us_ = 0;
    uint64_t last_timer_us_ = 0;

    // Sending
    std::unordered_map<int64_t, std::unique_ptr<SendStream>> open_;  // by stream id
    std::array<SendStream*, OM_MAX_CHANNELS> ordered_{};             // per channel, once made
    std::deque<std::unique_ptr<SendStream>> unopened_;               // waiting for a stream id
    std::deque<SendStream*> ready_;                                  // opened, with unwritten data
    std::deque<Datagram> datagrams_;
    SendStream* probe_ = nullptr;  // owned by unopened_ / open_
    std::array<uint64_t, OM_MAX_CHANNELS> next_sequence_{};
    uint64_t queued_bytes_ = 0;
    bool want_writable_ = false;
    uint64_t flush_round_ = 0;
    std::vector<uint8_t> tx_;
    std::vector<uint8_t> blocked_batch_;  // a batch send_packets refused, retried first
    uint32_t blocked_path_ = 0;
    size_t blocked_segment_ = 0;

    // Receiving
    std::unordered_map<int64_t, RecvStream> recv_;
    std::array<uint64_t, OM_MAX_CHANNELS> newest_sequence_{};  // 0: none yet (senders start at 1)

    // Metrics
    uint64_t bytes_sent_ = 0, bytes_received_ = 0, packets_sent_ = 0, packets_received_ = 0;
    uint64_t messages_sent_ = 0, messages_received_ = 0;
    uint64_t lost_stream_packets_closed_ = 0;
    SessionCounters counters_;
};

}  // namespace om::quic
