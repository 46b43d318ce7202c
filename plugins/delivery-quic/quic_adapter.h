// The one place that speaks ngtcp2 (RFC 9000/9001/9002/9221 via ngtcp2 0.12.1 and GnuTLS): no
// other file includes an ngtcp2 header, so a port to ngtcp2 1.x touches only quic_adapter.*.
// QuicConnection is one QUIC connection over the kernel's paths. Paths are known only by id:
// each id maps to a synthetic IPv6 address pair (fd6f:6d00::/32, the id in the low 32 bits) for
// ngtcp2_path. Time is passed in as nanoseconds; nothing here reads a clock or owns a timer.
#pragma once

#include "tls_identity.h"

#include <orbitmesh/orbitmesh.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace om::quic {

enum class CongestionControl : uint8_t { Cubic, Reno, Bbr, Bbr2 };
const char* congestion_control_name(CongestionControl cc) noexcept;
std::optional<CongestionControl> parse_congestion_control(std::string_view text) noexcept;

struct AdapterConfig {
    bool client = true;
    uint32_t path_id = 1;
    uint32_t mtu = 1400;             // max_tx_udp_payload_size, held from the first packet
    uint64_t initial_rtt_ns = 0;     // 0: ngtcp2's default (333 ms)
    uint64_t idle_timeout_ns = 30'000'000'000;
    uint64_t keep_alive_ns = 0;      // 0: none
    CongestionControl cc = CongestionControl::Cubic;
    uint64_t stream_window = 0;      // per-stream receive window (bytes)
    uint64_t connection_window = 0;  // connection receive window (bytes)
    uint64_t max_streams_uni = 0;    // concurrent unidirectional streams the peer may open
    uint64_t max_datagram_frame_size = 65535;
    const TlsIdentity* identity = nullptr;  // must outlive the connection
    std::string expected_fingerprint;       // normalized
};

// What the connection reports while it reads, writes or handles a timer. Called from inside
// ngtcp2: implementations must not call back into the QuicConnection except the credit calls.
class AdapterEvents {
public:
    virtual ~AdapterEvents() = default;
    virtual void on_handshake_confirmed() = 0;
    virtual void on_stream_data(int64_t stream_id, std::span<const uint8_t> data, bool fin) = 0;
    // [offset, offset+length) of a local stream is acknowledged (offsets increase).
    virtual void on_stream_acked(int64_t stream_id, uint64_t offset, uint64_t length) = 0;
    virtual void on_stream_closed(int64_t stream_id) = 0;
    virtual void on_stream_reset(int64_t stream_id) = 0;
    virtual void on_datagram(std::span<const uint8_t> data) = 0;
    virtual void on_datagram_lost() = 0;
    virtual void on_streams_available() = 0;  // more local unidirectional streams may be opened
};

// How a connection ended (fatal errors, peer close, timeouts).
struct CloseInfo {
    om_status status = OM_OK;
    std::string reason;
};

enum class ReadResult : uint8_t { Ok, Ignored, Closed };

// One call of a write function.
struct WriteResult {
    size_t packet = 0;        // bytes of a complete packet at buf (0: none)
    int64_t accepted = -1;    // stream bytes or datagram taken into the packet (-1: none)
    bool more = false;        // the packet is still open: call again with the same buf (WRITE_MORE)
    bool stream_blocked = false;  // the stream is flow controlled or shut
    bool fatal = false;       // the connection is over: close_info()
    bool refused = false;     // the datagram can never be sent (too large); drop it
    uint32_t path_id = 0;     // the path of the packet
};

struct Stats {
    double smoothed_rtt_ms = 0, min_rtt_ms = 0, rttvar_ms = 0, latest_rtt_ms = 0;
    uint64_t cwnd = 0, bytes_in_flight = 0;
    uint64_t lost_stream_packets = 0;  // packets with STREAM frames declared lost, live streams
};

class QuicConnection {
public:
    // The client side; its first flight is written by the first write call.
    static std::unique_ptr<QuicConnection> client(const AdapterConfig& config, AdapterEvents& events,
                                                  uint64_t now_ns);
    // The server side, from the client's first packet (an Initial); nullptr with *why when the
    // packet cannot start a connection. The packet must still be read with read().
    static std::unique_ptr<QuicConnection> accept(const AdapterConfig& config, AdapterEvents& events,
                                                  std::span<const uint8_t> packet, uint64_t now_ns,
                                                  std::string* why);
    ~QuicConnection();
    QuicConnection(const QuicConnection&) = delete;
    QuicConnection& operator=(const QuicConnection&) = delete;

    // A packet that came over path_id.
    ReadResult read(uint32_t path_id, std::span<const uint8_t> packet, uint64_t now_ns);

    // Writes (part of) one packet carrying stream data from `data` (several pieces; ngtcp2 keeps
    // pointing into them until on_stream_acked), or only control frames when stream_id < 0.
    WriteResult write_stream(uint8_t* buf, size_t cap, int64_t stream_id,
                             std::span<const std::span<const uint8_t>> data, bool fin, bool more,
                             uint64_t now_ns);
    // Writes (part of) one packet carrying one DATAGRAM frame made of header + payload.
    WriteResult write_datagram(uint8_t* buf, size_t cap, std::span<const uint8_t> header,
                               std::span<const uint8_t> payload, bool more, uint64_t now_ns);
    // A CONNECTION_CLOSE packet (application NO_ERROR, or the pending error), empty when none
    // can be written.
    size_t write_close(uint8_t* buf, size_t cap, uint32_t* path_id, uint64_t now_ns);

    std::optional<int64_t> open_uni_stream();
    void extend_stream_credit(int64_t stream_id, uint64_t bytes);
    void extend_connection_credit(uint64_t bytes);
    void extend_max_streams_uni(uint64_t count);
    void shutdown_stream_read(int64_t stream_id);
    uint64_t stream_loss_count(int64_t stream_id);

    // Nanosecond timestamp of the next timer, UINT64_MAX when none.
    uint64_t expiry_ns();
    ReadResult handle_expiry(uint64_t now_ns);

    // Client only: continue on path_id at once (RFC 9000 §9.2-§9.3). False with *why when
    // ngtcp2 refuses (handshake not confirmed, no spare connection id).
    bool migrate(uint32_t path_id, uint64_t now_ns, std::string* why);
    uint32_t path_id();

    size_t send_quantum();
    void update_pkt_tx_time(uint64_t now_ns);
    size_t max_udp_payload();
    // Largest DATAGRAM frame payload one packet on the current path carries.
    size_t max_datagram_payload();

    bool handshake_confirmed() const noexcept { return confirmed_; }
    bool closed() const noexcept { return close_.status != OM_OK; }
    const CloseInfo& close_info() const noexcept { return close_; }
    std::string cipher_suite();
    const std::string& peer_fingerprint() const noexcept { return peer_fingerprint_; }
    Stats stats();

    struct Impl;  // the ngtcp2 callbacks' view

private:
    QuicConnection(const AdapterConfig& config, AdapterEvents& events);
    bool init(const AdapterConfig& config, std::span<const uint8_t> first, uint64_t now_ns, std::string* why);
    WriteResult finish_write(long nwrite, long ndatalen, int accepted, const void* path);
    void fail(om_status status, std::string reason, int liberr);

    AdapterConfig config_;
    AdapterEvents& events_;
    std::unique_ptr<Impl> impl_;
    bool confirmed_ = false;
    CloseInfo close_;
    std::string peer_fingerprint_;
    std::string auth_failure_;
    friend struct Impl;
};

}  // namespace om::quic
