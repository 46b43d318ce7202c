#include "quic_session.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace om::quic {
namespace {

constexpr uint64_t kNsPerUs = 1000;
// Receive windows (RFC 9000 §4): one whole 16 MiB message fits a stream's window; the
// connection window bounds what a peer can make us hold in partial messages.
constexpr uint64_t kStreamWindow = OM_MAX_RELIABLE_MESSAGE + 64 * 1024;
constexpr uint64_t kConnectionWindow = 48u << 20;
constexpr uint64_t kMaxStreamsUni = 1024;
constexpr size_t kMaxBatchPackets = 64;
constexpr uint64_t kBlockedRetryUs = 1000;
// A datagram's overhead on the wire before the handshake tells us the peer's connection id.
constexpr size_t kWorstDatagramOverhead = 1 + 20 + 4 + 16 + 1 + 2;
// Room a datagram leaves in its packet for the probe stream's STREAM frame: type, stream id,
// offset and length varints (RFC 9000 §19.8, 8 bytes each at most) and the one probe byte.
constexpr size_t kProbeFrameReserve = 1 + 8 + 8 + 8 + 1;

void copy_text(char* dst, size_t cap, const std::string& text)
{
    const size_t n = std::min(cap - 1, text.size());
    std::memcpy(dst, text.data(), n);
    dst[n] = '\0';
}

}  // namespace

QuicSession::QuicSession(const om_delivery_session_args& args, const TlsIdentity& identity, SessionSettings settings,
                         uint64_t now_us)
    : args_(args), identity_(identity), settings_(settings), path_(args.path)
{
    if (args.peer_id) peer_id_ = args.peer_id;
    args_.peer_id = peer_id_.c_str();
    expected_fingerprint_ = normalize_fingerprint(args.remote_fingerprint ? args.remote_fingerprint : "");
    if (expected_fingerprint_.empty())
        throw std::invalid_argument("remote_fingerprint must be a SHA-256 fingerprint \"AB:CD:...\" (95 characters)");
    args_.remote_fingerprint = expected_fingerprint_.c_str();
    if (path_.path_id == 0) throw std::invalid_argument("path.path_id must not be 0");
    if (path_.mtu == 0) path_.mtu = args.mtu ? args.mtu : 1400;
    if (path_.mtu < 1200) throw std::invalid_argument("path MTU " + std::to_string(path_.mtu) + " is below QUIC's 1200");
    if (args_.role != OM_DELIVERY_ROLE_CLIENT && args_.role != OM_DELIVERY_ROLE_SERVER)
        throw std::invalid_argument("role must be OM_DELIVERY_ROLE_CLIENT or OM_DELIVERY_ROLE_SERVER");
    if (args_.idle_timeout_ms == 0) args_.idle_timeout_ms = 30000;
    last_now_us_ = now_us;
    if (args_.role == OM_DELIVERY_ROLE_CLIENT) {
        conn_ = QuicConnection::client(adapter_config(), *this, now_us * kNsPerUs);
        flush(now_us);
    }
}

QuicSession::~QuicSession() = default;

AdapterConfig QuicSession::adapter_config() const
{
    AdapterConfig c;
    c.client = args_.role == OM_DELIVERY_ROLE_CLIENT;
    c.path_id = path_.path_id;
    c.mtu = path_.mtu;
    c.initial_rtt_ns = path_.rtt_us * kNsPerUs;
    c.idle_timeout_ns = uint64_t{args_.idle_timeout_ms} * 1'000'000;
    c.keep_alive_ns = uint64_t{args_.keep_alive_ms} * 1'000'000;
    c.cc = settings_.congestion_control;
    c.stream_window = kStreamWindow;
    c.connection_window = kConnectionWindow;
    c.max_streams_uni = kMaxStreamsUni;
    c.identity = &identity_;
    c.expected_fingerprint = expected_fingerprint_;
    return c;
}

uint32_t QuicSession::current_path_id() const { return conn_ ? conn_->path_id() : path_.path_id; }

size_t QuicSession::max_unreliable_message(om_delivery_mode mode) const
{
    size_t frame = conn_ ? conn_->max_datagram_payload()
                         : (path_.mtu > kWorstDatagramOverhead ? path_.mtu - kWorstDatagramOverhead : 0);
    const size_t header = (mode == OM_DELIVERY_SEQUENCED ? kMaxSequencedHeaderSize : kDatagramHeaderSize) +
                          kProbeFrameReserve;
    return frame > header ? frame - header : 0;
}

int32_t QuicSession::send_message(om_delivery_mode mode, uint32_t channel, std::span<const uint8_t> data,
                                  uint64_t now_us, std::string* error)
{
    const auto refuse = [&](int32_t status, std::string why) {
        if (error) *error = std::move(why);
        return status;
    };
    if (failed_) return refuse(OM_ERR_CLOSED, "the session is over: " + failure_reason_);
    if (channel >= OM_MAX_CHANNELS)
        return refuse(OM_ERR_INVALID_ARGUMENT, "channel " + std::to_string(channel) + " is outside 0.." +
                                                   std::to_string(OM_MAX_CHANNELS - 1));
    if (!is_stream_mode(mode) && !is_datagram_mode(mode))
        return refuse(OM_ERR_INVALID_ARGUMENT, "unknown delivery mode " + std::to_string(mode));
    if (is_stream_mode(mode) && !args_.enable_reliable)
        return refuse(OM_ERR_NOT_SUPPORTED, std::string(mode_name(mode)) + " delivery is off (enable_reliable = 0)");
    if (is_datagram_mode(mode) && !args_.enable_unreliable)
        return refuse(OM_ERR_NOT_SUPPORTED, std::string(mode_name(mode)) + " delivery is off (enable_unreliable = 0)");
    if (is_stream_mode(mode) && data.size() > OM_MAX_RELIABLE_MESSAGE)
        return refuse(OM_ERR_TOO_LARGE, "a " + std::string(mode_name(mode)) + " message of " +
                                            std::to_string(data.size()) + " bytes exceeds the limit of " +
                                            std::to_string(OM_MAX_RELIABLE_MESSAGE) + " bytes");
    if (is_datagram_mode(mode)) {
        const size_t limit = max_unreliable_message(mode);
        if (data.size() > limit)
            return refuse(OM_ERR_TOO_LARGE, "a " + std::string(mode_name(mode)) + " message of " +
                                                std::to_string(data.size()) +
                                                " bytes does not fit one QUIC DATAGRAM on this path: the limit is " +
                                                std::to_string(limit) + " bytes");
    }
    const uint64_t cost = data.size() + kStreamHeaderSize + kMaxLengthPrefix;
    // An empty queue always takes one message (up to 16 MiB), so any message can be sent.
    if (queued_bytes_ > 0 && queued_bytes_ + cost > settings_.send_queue_bytes) {
        want_writable_ = true;
        return refuse(OM_ERR_WOULD_BLOCK, "the send queue holds " + std::to_string(queued_bytes_) +
                                              " bytes, its limit is " + std::to_string(settings_.send_queue_bytes) +
                                              " (send_queue_bytes); a WRITABLE event follows");
    }
    const auto ch = static_cast<uint8_t>(channel);
    if (is_datagram_mode(mode)) {
        Datagram d;
        const uint64_t seq = mode == OM_DELIVERY_SEQUENCED ? ++next_sequence_[ch] : 0;
        d.header_size = write_datagram_header(mode, ch, seq, d.header.data());
        d.payload.assign(data.begin(), data.end());
        queued_bytes_ += d.payload.size() + d.header_size;
        datagrams_.push_back(std::move(d));
    } else {
        // One buffer per message: [stream header] length prefix, payload (message_framing.h).
        std::vector<uint8_t> chunk;
        SendStream* stream = nullptr;
        const bool new_stream = mode == OM_DELIVERY_RELIABLE_UNORDERED || ordered_[ch] == nullptr;
        chunk.resize((new_stream ? kStreamHeaderSize : 0) + kMaxLengthPrefix + data.size());
        size_t pos = 0;
        if (new_stream) {
            write_stream_header(mode, ch, chunk.data());
            pos = kStreamHeaderSize;
        }
        pos += write_length_prefix(data.size(), chunk.data() + pos);
        if (!data.empty()) std::memcpy(chunk.data() + pos, data.data(), data.size());
        chunk.resize(pos + data.size());
        if (new_stream) {
            auto owned = std::make_unique<SendStream>();
            owned->mode = mode;
            owned->channel = ch;
            owned->fin = mode == OM_DELIVERY_RELIABLE_UNORDERED;
            stream = owned.get();
            if (mode == OM_DELIVERY_RELIABLE_ORDERED) ordered_[ch] = stream;
            unopened_.push_back(std::move(owned));
        } else {
            stream = ordered_[ch];
        }
        queued_bytes_ += chunk.size();
        stream->end += chunk.size();
        stream->chunks.push_back(std::move(chunk));
        if (stream->id >= 0 && !stream->in_ready) {
            stream->in_ready = true;
            ready_.push_back(stream);
        }
    }
    ++messages_sent_;
    if (!in_io_ && !batching_) flush(now_us);
    return OM_OK;
}

int32_t QuicSession::send_messages(std::span<const om_delivery_message> messages, uint64_t now_us, size_t* accepted,
                                   std::string* error)
{
    // Queue them all, then write once: a burst leaves in GSO batches, not a packet per call.
    const bool outer = !batching_;
    batching_ = true;
    int32_t rv = OM_OK;
    size_t taken = 0;
    for (const om_delivery_message& m : messages) {
        if (m.data == nullptr && m.len > 0) {
            if (error) *error = "message " + std::to_string(taken) + ": data is NULL with a length above 0";
            rv = OM_ERR_INVALID_ARGUMENT;
            break;
        }
        rv = send_message(m.mode, m.channel, {m.data, m.len}, now_us, error);
        if (rv != OM_OK) break;
        ++taken;
    }
    if (outer) batching_ = false;
    if (accepted) *accepted = taken;
    if (outer && taken > 0 && !in_io_ && !failed_) flush(now_us);
    return rv;
}

int32_t QuicSession::on_packet(uint32_t path_id, std::span<const uint8_t> data, uint64_t now_us)
{
    last_now_us_ = std::max(last_now_us_, now_us);
    if (failed_) {
        ++counters_.packets_after_close;
        return OM_ERR_CLOSED;
    }
    ++packets_received_;
    bytes_received_ += data.size();
    if (!conn_) {
        std::string why;
        AdapterConfig config = adapter_config();
        config.path_id = path_id;
        conn_ = QuicConnection::accept(config, *this, data, now_us * kNsPerUs, &why);
        if (!conn_) {
            ++counters_.malformed_packets;
            return OM_ERR_MALFORMED;
        }
    }
    in_io_ = true;
    const ReadResult r = conn_->read(path_id, data, now_us * kNsPerUs);
    in_io_ = false;
    if (r == ReadResult::Ignored) ++counters_.malformed_packets;
    // Written from the timer (due at once), not here: the host hands over the rest of a receive
    // batch and the application answers what it got first, so the ACKs ride with the answers
    // and a batch of packets gets one ACK, not one packet back per packet in.
    after_io(now_us, false);
    return OM_OK;
}

// After ngtcp2 returned: report what happened inside it, then write what is due.
void QuicSession::after_io(uint64_t now_us, bool write_now)
{
    if (conn_ && conn_->closed()) {
        fail(conn_->close_info().status, conn_->close_info().reason, now_us);
        return;
    }
    if (established_ && !established_reported_) {
        established_reported_ = true;
        if (pending_migration_) {
            std::string why;
            if (pending_migration_ != conn_->path_id()) conn_->migrate(pending_migration_, now_us * kNsPerUs, &why);
            pending_migration_ = 0;
        }
        if (args_.session_event) args_.session_event(args_.io_user_data, OM_DELIVERY_EVENT_ESTABLISHED, OM_OK, nullptr);
        if (failed_) return;
    }
    if (write_now) flush(now_us);
    else write_due_ = true;
}

int32_t QuicSession::path_changed(const om_delivery_path& path, uint64_t now_us, std::string* error)
{
    if (failed_) {
        if (error) *error = "the session is over: " + failure_reason_;
        return OM_ERR_CLOSED;
    }
    if (path.path_id == 0) {
        if (error) *error = "path_id must not be 0";
        return OM_ERR_INVALID_ARGUMENT;
    }
    path_ = path;
    if (args_.role == OM_DELIVERY_ROLE_CLIENT && conn_) {
        if (!established_) {
            pending_migration_ = path.path_id;  // RFC 9000 §9: not before the handshake is confirmed
        } else if (conn_->path_id() != path.path_id) {
            std::string why;
            if (!conn_->migrate(path.path_id, now_us * kNsPerUs, &why)) {
                if (error) *error = why;
                return OM_ERR_STATE;
            }
        }
    }
    // The server follows the client: ngtcp2 answers on the path the client's packets use.
    flush(now_us);
    return OM_OK;
}

void QuicSession::on_timer(uint64_t now_us)
{
    last_now_us_ = std::max(last_now_us_, now_us);
    last_timer_us_ = now_us;
    if (failed_ || !conn_) return;
    if (conn_->expiry_ns() <= now_us * kNsPerUs) {
        in_io_ = true;
        conn_->handle_expiry(now_us * kNsPerUs);
        in_io_ = false;
    }
    after_io(now_us);
}

uint64_t QuicSession::next_wakeup_us() const
{
    if (failed_ || !conn_) return 0;
    if (write_due_) return std::max(last_now_us_, last_timer_us_ + 1);
    if (!blocked_batch_.empty()) return last_now_us_ + kBlockedRetryUs;
    const uint64_t ns = conn_->expiry_ns();
    if (ns == UINT64_MAX) return 0;
    // An expiry ngtcp2 leaves in the past after handling it (pacing waits for a write that has
    // nothing to send) must not make the caller spin: at most one wakeup per microsecond.
    return std::max((ns + kNsPerUs - 1) / kNsPerUs, last_timer_us_ + 1);
}

void QuicSession::close(uint64_t now_us)
{
    if (failed_ || !conn_) {
        failed_ = true;
        return;
    }
    failed_ = true;
    failure_status_ = OM_ERR_CLOSED;
    failure_reason_ = "closed by this side";
    std::vector<uint8_t> buf(path_.mtu);
    uint32_t path_id = 0;
    if (const size_t n = conn_->write_close(buf.data(), buf.size(), &path_id, now_us * kNsPerUs))
        send_batch(path_id, buf.data(), n, n);
}

void QuicSession::fail(int32_t status, const std::string& reason, uint64_t now_us)
{
    if (failed_) return;
    failed_ = true;
    failure_status_ = status;
    failure_reason_ = reason;
    if (conn_) {
        std::vector<uint8_t> buf(path_.mtu);
        uint32_t path_id = 0;
        // Our own failures tell the peer why (RFC 9000 §10.2); the peer's close and an idle
        // timeout send nothing.
        if (status != OM_ERR_TIMEOUT && reason.rfind("closed by the peer", 0) != 0)
            if (const size_t n = conn_->write_close(buf.data(), buf.size(), &path_id, now_us * kNsPerUs))
                send_batch(path_id, buf.data(), n, n);
    }
    if (args_.session_event) args_.session_event(args_.io_user_data, OM_DELIVERY_EVENT_FAILED, status, reason.c_str());
}

void QuicSession::release_queue(uint64_t bytes)
{
    queued_bytes_ -= std::min(queued_bytes_, bytes);
}

bool QuicSession::send_batch(uint32_t path_id, const uint8_t* data, size_t len, size_t segment)
{
    if (!args_.send_packets) return true;
    const int32_t rv = args_.send_packets(args_.io_user_data, path_id, data, len, segment);
    if (rv == OM_ERR_WOULD_BLOCK) {
        ++counters_.send_blocked;
        blocked_batch_.assign(data, data + len);
        blocked_path_ = path_id;
        blocked_segment_ = segment;
        return false;
    }
    // Any other failure is a lost batch: QUIC's loss recovery resends what mattered.
    const size_t packets = segment ? (len + segment - 1) / segment : 1;
    packets_sent_ += packets;
    bytes_sent_ += len;
    return true;
}

bool QuicSession::retry_blocked()
{
    if (blocked_batch_.empty()) return true;
    std::vector<uint8_t> batch;
    batch.swap(blocked_batch_);
    return send_batch(blocked_path_, batch.data(), batch.size(), blocked_segment_);
}

void QuicSession::open_streams()
{
    while (!unopened_.empty()) {
        const auto id = conn_->open_uni_stream();
        if (!id) return;  // RFC 9000 §4.6: wait for MAX_STREAMS (on_streams_available)
        std::unique_ptr<SendStream> s = std::move(unopened_.front());
        unopened_.pop_front();
        s->id = *id;
        s->in_ready = true;
        ready_.push_back(s.get());
        open_.emplace(*id, std::move(s));
    }
}

// The next stream with unwritten data not yet found blocked in this flush (round robin).
QuicSession::SendStream* QuicSession::next_ready()
{
    for (size_t i = 0; i < ready_.size(); ++i) {
        if (ready_.front()->blocked_round != flush_round_) return ready_.front();
        ready_.push_back(ready_.front());
        ready_.pop_front();
    }
    return nullptr;
}

// The probe stream can take a byte now: opened (it has a stream id) and not flow blocked in
// this flush. Opened lazily, like any stream, when the first datagram goes out.
bool QuicSession::probe_ready()
{
    if (!probe_) {
        auto owned = std::make_unique<SendStream>();
        owned->probe = true;
        probe_ = owned.get();
        std::vector<uint8_t> header(kStreamHeaderSize);
        header[0] = kProbeStreamMode;
        header[1] = 0;
        queued_bytes_ += header.size();
        owned->end = header.size();
        owned->chunks.push_back(std::move(header));
        unopened_.push_back(std::move(owned));
        open_streams();
    }
    return probe_->id >= 0 && probe_->blocked_round != flush_round_ && probe_->written == probe_->end;
}

void QuicSession::add_probe_byte()
{
    probe_->chunks.push_back(std::vector<uint8_t>(1, 0));
    probe_->end += 1;
    queued_bytes_ += 1;
    if (!probe_->in_ready) {
        probe_->in_ready = true;
        ready_.push_front(probe_);
    } else if (ready_.front() != probe_) {
        // next_ready() must find it first: it goes into this packet, before the datagram.
        ready_.erase(std::remove(ready_.begin(), ready_.end(), probe_), ready_.end());
        ready_.push_front(probe_);
    }
}

// Writes packets while congestion control, pacing and the send quantum allow: up to one send
// quantum of packets per call, equal-size packets gathered into one GSO-shaped batch (a
// shorter packet ends a batch, ngtcp2 0.12 writes one packet per call).
void QuicSession::flush(uint64_t now_us)
{
    write_due_ = false;
    if (!conn_ || failed_) return;
    if (!retry_blocked()) return;
    const uint64_t now_ns = now_us * kNsPerUs;
    if (established_) open_streams();
    const size_t mtu = conn_->max_udp_payload();
    const size_t max_packets = std::clamp<size_t>(conn_->send_quantum() / mtu, 1, kMaxBatchPackets);
    if (tx_.size() < max_packets * mtu) tx_.resize(max_packets * mtu);
    ++flush_round_;

    size_t batch_len = 0, segment = 0, packets = 0;
    uint32_t batch_path = 0;
    bool blocked = false;
    const auto send_pending = [&] {
        if (batch_len > 0 && !send_batch(batch_path, tx_.data(), batch_len, segment)) blocked = true;
        batch_len = 0;
        packets = 0;
    };
    // ngtcp2 0.12.1 counts a packet whose only frames are DATAGRAMs (and ACK/PADDING) in
    // bytes_in_flight but not as PTO-eliciting (fixed upstream in 0.14, commit d0f93391 "Make
    // DATAGRAM PTO-eliciting"). Packets of datagrams alone can fill the congestion window; when
    // they or their ACKs are lost no probe timer fires, the window never opens again and both
    // sides wait for the idle timeout. So a packet that took a datagram gets stream data (a
    // STREAM frame is PTO-eliciting) next whenever a stream has some, before more datagrams.
    // That alone does not cover datagrams with no stream data to pair them with, so a packet that
    // would carry a DATAGRAM without a STREAM frame gets one byte of the probe stream first
    // (message_framing.h), which the receiver discards: every packet with a datagram is then
    // PTO-eliciting, as upstream made DATAGRAM itself.
    bool packet_has_datagram = false;
    bool packet_has_stream = false;
    for (size_t total = 0; total < max_packets && !blocked;) {
        uint8_t* const at = tx_.data() + batch_len;
        WriteResult r;
        SendStream* stream = established_ ? next_ready() : nullptr;
        bool datagram = established_ && !datagrams_.empty() && !(packet_has_datagram && stream);
        if (datagram && !packet_has_stream && probe_ready()) {
            add_probe_byte();
            stream = probe_;
            datagram = false;
        }
        if (datagram) {
            stream = nullptr;
            Datagram& d = datagrams_.front();
            r = conn_->write_datagram(at, mtu, {d.header.data(), d.header_size}, d.payload, true, now_ns);
        } else if (stream) {
            // The unwritten part of the stream, up to 16 pieces.
            std::span<const uint8_t> pieces[16];
            size_t count = 0;
            uint64_t offset = stream->base;
            bool all = true;
            for (const auto& chunk : stream->chunks) {
                const uint64_t chunk_end = offset + chunk.size();
                if (chunk_end > stream->written) {
                    if (count == std::size(pieces)) {
                        all = false;
                        break;
                    }
                    const size_t skip = stream->written > offset ? static_cast<size_t>(stream->written - offset) : 0;
                    pieces[count++] = std::span<const uint8_t>(chunk).subspan(skip);
                }
                offset = chunk_end;
            }
            r = conn_->write_stream(at, mtu, stream->id, {pieces, count}, stream->fin && all, true, now_ns);
        } else {
            r = conn_->write_stream(at, mtu, -1, {}, false, false, now_ns);
        }
        if (r.fatal) {
            fail(conn_->close_info().status, conn_->close_info().reason, now_us);
            return;
        }
        if (datagram) {
            Datagram& d = datagrams_.front();
            const bool taken = r.accepted >= 0;
            // Dropped only when no packet on this path can ever take it (the path changed after
            // it was queued): a packet without it may just have been full, or the ACK-only
            // packet ngtcp2 writes when the congestion window is closed.
            const bool hopeless =
                r.refused || (!taken && d.header_size + d.payload.size() > conn_->max_datagram_payload());
            if (taken || hopeless) {
                if (hopeless) ++counters_.datagrams_dropped;
                release_queue(d.payload.size() + d.header_size);  // ngtcp2 copied it into the packet
                datagrams_.pop_front();
            }
            if (r.refused) continue;
            if (!taken && r.packet == 0 && !r.more) break;  // congestion limited
            packet_has_datagram = taken && r.more;  // still open with the datagram in it
        } else if (stream) {
            if (r.stream_blocked) {
                stream->blocked_round = flush_round_;  // flow control: try the others
                continue;
            }
            if (r.accepted > 0) stream->written += static_cast<uint64_t>(r.accepted);
            if (stream->fin && stream->written == stream->end && r.accepted >= 0) stream->fin_written = true;
            if (stream->written == stream->end && (!stream->fin || stream->fin_written)) {
                ready_.pop_front();
                stream->in_ready = false;
            } else if (r.packet > 0) {
                ready_.push_back(ready_.front());  // a packet each, in turn
                ready_.pop_front();
            }
            if (r.packet == 0 && !r.more) break;  // congestion limited
            packet_has_stream = r.accepted >= 0 && r.more;
        }
        if (r.packet > 0) packet_has_datagram = packet_has_stream = false;
        if (r.more) continue;
        if (r.packet == 0) break;  // nothing more to write
        // A complete packet of n bytes at `at`.
        const size_t n = r.packet;
        if (packets > 0 && (r.path_id != batch_path || n > segment)) {
            // It cannot join this batch: send the batch, this packet starts the next one.
            const size_t before = batch_len;
            batch_len = before;
            if (!send_batch(batch_path, tx_.data(), before, segment)) {
                blocked = true;
                // The refused batch is kept; this packet is lost to the wire (QUIC resends it).
                break;
            }
            std::memmove(tx_.data(), at, n);
            batch_len = 0;
            packets = 0;
        }
        if (packets == 0) {
            segment = n;
            batch_path = r.path_id;
        }
        batch_len += n;
        ++packets;
        ++total;
        if (n < segment) send_pending();
    }
    send_pending();
    conn_->update_pkt_tx_time(now_ns);
    if (want_writable_ && queued_bytes_ <= settings_.send_queue_bytes / 2 && !failed_) {
        want_writable_ = false;
        if (args_.session_event) args_.session_event(args_.io_user_data, OM_DELIVERY_EVENT_WRITABLE, OM_OK, nullptr);
    }
}

// --- AdapterEvents (inside ngtcp2) -----------------------------------------------------------

void QuicSession::on_handshake_confirmed() { established_ = true; }

void QuicSession::deliver(om_delivery_mode mode, uint8_t channel, std::span<const uint8_t> message)
{
    ++messages_received_;
    if (args_.deliver_message) {
        args_.deliver_message(args_.io_user_data, mode, channel, message.data(), message.size());
    } else if (args_.deliver && channel == 0) {
        args_.deliver(args_.io_user_data, mode, message.data(), message.size());
    }
}

void QuicSession::on_stream_data(int64_t stream_id, std::span<const uint8_t> data, bool fin)
{
    RecvStream& rs = recv_[stream_id];
    if (rs.failed) {
        conn_->extend_connection_credit(data.size());
        return;
    }
    struct Sink final : StreamDecoder::Sink {
        QuicSession& session;
        int64_t id;
        uint64_t credit = 0;
        Sink(QuicSession& s, int64_t i) : session(s), id(i) {}
        void on_message(om_delivery_mode mode, uint8_t channel, std::span<const uint8_t> message,
                        size_t consumed) override
        {
            session.deliver(mode, channel, message);
            credit += consumed;
        }
        void on_discarded(size_t consumed) override { credit += consumed; }  // the probe stream
    } sink(*this, stream_id);
    const bool ok = rs.decoder.feed(data, sink) && (!fin || rs.decoder.finish());
    // Credit goes back as messages are delivered: a peer that never finishes a message cannot
    // make us hold more than the windows (RFC 9000 §4.1).
    if (sink.credit) {
        conn_->extend_stream_credit(stream_id, sink.credit);
        conn_->extend_connection_credit(sink.credit);
    }
    if (!ok) {
        rs.failed = true;
        ++counters_.malformed_streams;
        conn_->shutdown_stream_read(stream_id);
    } else if (fin) {
        // The stream is done. ngtcp2 0.12.1 never closes a remote unidirectional stream (fixed
        // in 0.13, "Fix bug that a remote uni stream never be closed"), so stream_close never
        // comes: let the peer open another one now (RFC 9000 §4.6) and forget our state.
        recv_.erase(stream_id);
        conn_->extend_max_streams_uni(1);
    }
}

void QuicSession::on_stream_acked(int64_t stream_id, uint64_t offset, uint64_t length)
{
    const auto it = open_.find(stream_id);
    if (it == open_.end()) return;
    SendStream& s = *it->second;
    const uint64_t acked = offset + length;  // ngtcp2 reports acknowledged data in order
    while (!s.chunks.empty() && s.base + s.chunks.front().size() <= acked) {
        s.base += s.chunks.front().size();
        release_queue(s.chunks.front().size());
        s.chunks.pop_front();
    }
}

void QuicSession::on_stream_closed(int64_t stream_id)
{
    if (const auto it = open_.find(stream_id); it != open_.end()) {
        lost_stream_packets_closed_ += conn_->stream_loss_count(stream_id);
        SendStream* s = it->second.get();
        if (s == probe_) probe_ = nullptr;  // (only if the peer reset it: it never ends)
        for (auto& c : s->chunks) release_queue(c.size());
        if (s->in_ready) ready_.erase(std::remove(ready_.begin(), ready_.end(), s), ready_.end());
        if (s->mode == OM_DELIVERY_RELIABLE_ORDERED && ordered_[s->channel] == s) ordered_[s->channel] = nullptr;
        open_.erase(it);
        return;
    }
    if (recv_.erase(stream_id)) conn_->extend_max_streams_uni(1);  // RFC 9000 §4.6: the peer may open another
}

void QuicSession::on_stream_reset(int64_t stream_id)
{
    // Our peer never resets streams; treat it as a broken stream.
    ++counters_.malformed_streams;
    (void)stream_id;
}

void QuicSession::on_datagram(std::span<const uint8_t> data)
{
    std::string why;
    const auto m = decode_datagram(data, &why);
    if (!m) {
        ++counters_.malformed_datagrams;
        return;
    }
    if (m->mode == OM_DELIVERY_SEQUENCED) {
        // Never backwards: anything not newer than the newest delivered on its channel goes.
        if (m->sequence <= newest_sequence_[m->channel]) {
            ++counters_.stale_sequenced;
            return;
        }
        newest_sequence_[m->channel] = m->sequence;
    }
    deliver(m->mode, m->channel, m->payload);
}

void QuicSession::on_datagram_lost() { ++counters_.datagrams_lost; }

void QuicSession::on_streams_available() {}

void QuicSession::metrics(om_delivery_metrics& out) const
{
    const uint32_t size = out.struct_size;
    std::memset(reinterpret_cast<char*>(&out) + sizeof(uint32_t), 0, sizeof out - sizeof(uint32_t));
    out.struct_size = size;
    Stats s;
    uint64_t lost_stream = lost_stream_packets_closed_;
    if (conn_) {
        s = conn_->stats();
        for (const auto& [id, stream] : open_) lost_stream += conn_->stream_loss_count(id);
    }
    out.rtt_ms = s.smoothed_rtt_ms;
    out.bytes_sent = bytes_sent_;
    out.bytes_received = bytes_received_;
    out.messages_sent = messages_sent_;
    out.messages_received = messages_received_;
    out.retransmits = lost_stream;
    out.packets_lost = lost_stream + counters_.datagrams_lost;
    out.packet_loss = packets_sent_ ? std::min(1.0, static_cast<double>(out.packets_lost) / packets_sent_) : 0.0;
    out.rtt_var_ms = s.rttvar_ms;
    out.min_rtt_ms = s.min_rtt_ms;
    out.cwnd = s.cwnd;
    out.bytes_in_flight = s.bytes_in_flight;
    out.packets_sent = packets_sent_;
    out.packets_received = packets_received_;
    out.send_queue_bytes = queued_bytes_;
    out.send_queue_limit = settings_.send_queue_bytes;
    copy_text(out.congestion_control, sizeof out.congestion_control,
              congestion_control_name(settings_.congestion_control));
    copy_text(out.cipher_suite, sizeof out.cipher_suite, conn_ ? conn_->cipher_suite() : std::string());
    copy_text(out.local_fingerprint, sizeof out.local_fingerprint, identity_.fingerprint());
    copy_text(out.remote_fingerprint, sizeof out.remote_fingerprint, conn_ ? conn_->peer_fingerprint() : std::string());
    out.established = established_ && !failed_ ? 1 : 0;
    out.path_id = current_path_id();
    out.max_unreliable_message = max_unreliable_message(OM_DELIVERY_UNRELIABLE);
    out.max_sequenced_message = max_unreliable_message(OM_DELIVERY_SEQUENCED);
}

}  // namespace om::quic
