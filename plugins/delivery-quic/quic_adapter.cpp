#include "quic_adapter.h"

#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include <gnutls/crypto.h>

#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace om::quic {

const char* congestion_control_name(CongestionControl cc) noexcept
{
    switch (cc) {
    case CongestionControl::Reno: return "reno";
    case CongestionControl::Bbr: return "bbr";
    case CongestionControl::Bbr2: return "bbr2";
    default: return "cubic";
    }
}

std::optional<CongestionControl> parse_congestion_control(std::string_view text) noexcept
{
    if (text == "cubic") return CongestionControl::Cubic;
    if (text == "reno") return CongestionControl::Reno;
    if (text == "bbr") return CongestionControl::Bbr;
    if (text == "bbr2") return CongestionControl::Bbr2;
    return std::nullopt;
}

namespace {

constexpr size_t kCidLength = 16;
constexpr const char kAlpn[] = "orbitmesh/1";
// TLS 1.3 only (RFC 9001 §4.2), AEADs QUIC defines, no middlebox compatibility mode (§8.4).
constexpr const char kPriority[] =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:"
    "-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:%DISABLE_TLS13_COMPAT_MODE";

// Synthetic addresses: fd6f:6d00::<end>:0:<path id>. The kernel never shows us an address; these
// only let ngtcp2 tell paths apart. `end` 1 is this side, 2 the peer; each side makes its own.
enum : uint8_t { kLocalEnd = 1, kRemoteEnd = 2 };
sockaddr_in6 synthetic_address(uint8_t end, uint32_t path_id)
{
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(443);
    a.sin6_addr.s6_addr[0] = 0xfd;
    a.sin6_addr.s6_addr[1] = 0x6f;
    a.sin6_addr.s6_addr[2] = 0x6d;
    a.sin6_addr.s6_addr[9] = end;
    for (int i = 0; i < 4; ++i) a.sin6_addr.s6_addr[12 + i] = static_cast<uint8_t>(path_id >> (8 * (3 - i)));
    return a;
}

uint32_t path_id_of(const ngtcp2_addr& addr)
{
    if (addr.addr == nullptr || addr.addrlen < sizeof(sockaddr_in6)) return 0;
    const auto* a = reinterpret_cast<const sockaddr_in6*>(addr.addr);
    uint32_t id = 0;
    for (int i = 0; i < 4; ++i) id = (id << 8) | a->sin6_addr.s6_addr[12 + i];
    return id;
}

// The two addresses of a path, alive as long as this object.
struct PathAddresses {
    sockaddr_in6 local, remote;
    ngtcp2_path path;
    explicit PathAddresses(uint32_t path_id)
        : local(synthetic_address(kLocalEnd, path_id)), remote(synthetic_address(kRemoteEnd, path_id))
    {
        path.local = {reinterpret_cast<ngtcp2_sockaddr*>(&local), sizeof local};
        path.remote = {reinterpret_cast<ngtcp2_sockaddr*>(&remote), sizeof remote};
        path.user_data = nullptr;
    }
};

bool random_bytes(uint8_t* out, size_t len) { return gnutls_rnd(GNUTLS_RND_RANDOM, out, len) == 0; }

ngtcp2_cc_algo cc_algo(CongestionControl cc)
{
    switch (cc) {
    case CongestionControl::Reno: return NGTCP2_CC_ALGO_RENO;
    case CongestionControl::Bbr: return NGTCP2_CC_ALGO_BBR;
    case CongestionControl::Bbr2: return NGTCP2_CC_ALGO_BBR2;
    default: return NGTCP2_CC_ALGO_CUBIC;
    }
}

// TLS alerts that mean "your certificate was not accepted" (RFC 8446 §6.2).
bool is_certificate_alert(uint64_t alert)
{
    return alert == 42 || alert == 43 || alert == 44 || alert == 45 || alert == 46 || alert == 48 || alert == 116;
}

}  // namespace

struct QuicConnection::Impl {
    QuicConnection* owner = nullptr;
    ngtcp2_conn* conn = nullptr;
    gnutls_session_t tls = nullptr;
    ngtcp2_crypto_conn_ref conn_ref{};
    ngtcp2_connection_close_error last_error{};
    bool have_last_error = false;
    std::string close_reason;  // last_error.reason points here

    ~Impl()
    {
        if (conn) ngtcp2_conn_del(conn);
        if (tls) gnutls_deinit(tls);
    }

    static Impl& of(void* user_data) { return *static_cast<Impl*>(user_data); }
    static ngtcp2_conn* get_conn(ngtcp2_crypto_conn_ref* ref) { return static_cast<Impl*>(ref->user_data)->conn; }

    // --- ngtcp2 callbacks -----------------------------------------------------------------
    static int handshake_completed(ngtcp2_conn* conn, void* user_data)
    {
        // The server's handshake is confirmed when it completes (RFC 9001 §4.1.2); the
        // client waits for HANDSHAKE_DONE, by which time the server has checked its certificate.
        if (ngtcp2_conn_is_server(conn)) confirm(of(user_data));
        return 0;
    }
    static int handshake_confirmed(ngtcp2_conn* conn, void* user_data)
    {
        if (!ngtcp2_conn_is_server(conn)) confirm(of(user_data));
        return 0;
    }
    static void confirm(Impl& impl)
    {
        if (impl.owner->confirmed_) return;
        impl.owner->confirmed_ = true;
        impl.owner->events_.on_handshake_confirmed();
    }
    static int recv_stream_data(ngtcp2_conn*, uint32_t flags, int64_t stream_id, uint64_t, const uint8_t* data,
                                size_t len, void* user_data, void*)
    {
        of(user_data).owner->events_.on_stream_data(stream_id, {data, len}, (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0);
        return 0;
    }
    static int acked_stream_data_offset(ngtcp2_conn*, int64_t stream_id, uint64_t offset, uint64_t len,
                                        void* user_data, void*)
    {
        of(user_data).owner->events_.on_stream_acked(stream_id, offset, len);
        return 0;
    }
    static int stream_close(ngtcp2_conn*, uint32_t, int64_t stream_id, uint64_t, void* user_data, void*)
    {
        of(user_data).owner->events_.on_stream_closed(stream_id);
        return 0;
    }
    static int stream_reset(ngtcp2_conn*, int64_t stream_id, uint64_t, uint64_t, void* user_data, void*)
    {
        of(user_data).owner->events_.on_stream_reset(stream_id);
        return 0;
    }
    static int recv_datagram(ngtcp2_conn*, uint32_t, const uint8_t* data, size_t len, void* user_data)
    {
        of(user_data).owner->events_.on_datagram({data, len});
        return 0;
    }
    static int lost_datagram(ngtcp2_conn*, uint64_t, void* user_data)
    {
        of(user_data).owner->events_.on_datagram_lost();
        return 0;
    }
    static int extend_max_local_streams_uni(ngtcp2_conn*, uint64_t, void* user_data)
    {
        of(user_data).owner->events_.on_streams_available();
        return 0;
    }
    static void rand(uint8_t* dest, size_t len, const ngtcp2_rand_ctx*) { (void)random_bytes(dest, len); }
    static int get_new_connection_id(ngtcp2_conn*, ngtcp2_cid* cid, uint8_t* token, size_t cidlen, void*)
    {
        if (!random_bytes(cid->data, cidlen) || !random_bytes(token, NGTCP2_STATELESS_RESET_TOKENLEN))
            return NGTCP2_ERR_CALLBACK_FAILURE;
        cid->datalen = cidlen;
        return 0;
    }

    // GnuTLS asks us about the peer's certificate; only the pinned fingerprint is accepted.
    static int verify_peer(gnutls_session_t session)
    {
        auto* ref = static_cast<ngtcp2_crypto_conn_ref*>(gnutls_session_get_ptr(session));
        Impl& impl = *static_cast<Impl*>(ref->user_data);
        const PeerCheck check = check_peer_certificate(session, impl.owner->config_.expected_fingerprint);
        impl.owner->peer_fingerprint_ = check.presented;
        if (check.ok) return 0;
        impl.owner->auth_failure_ = check.reason;
        return GNUTLS_E_CERTIFICATE_ERROR;
    }

    ngtcp2_callbacks callbacks(bool client) const
    {
        ngtcp2_callbacks cb{};
        if (client) {
            cb.client_initial = ngtcp2_crypto_client_initial_cb;
            cb.recv_retry = ngtcp2_crypto_recv_retry_cb;
        } else {
            cb.recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
        }
        cb.recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
        cb.encrypt = ngtcp2_crypto_encrypt_cb;
        cb.decrypt = ngtcp2_crypto_decrypt_cb;
        cb.hp_mask = ngtcp2_crypto_hp_mask_cb;
        cb.update_key = ngtcp2_crypto_update_key_cb;
        cb.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
        cb.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
        cb.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
        cb.version_negotiation = ngtcp2_crypto_version_negotiation_cb;
        cb.handshake_completed = handshake_completed;
        cb.handshake_confirmed = handshake_confirmed;
        cb.recv_stream_data = recv_stream_data;
        cb.acked_stream_data_offset = acked_stream_data_offset;
        cb.stream_close = stream_close;
        cb.stream_reset = stream_reset;
        cb.recv_datagram = recv_datagram;
        cb.lost_datagram = lost_datagram;
        cb.extend_max_local_streams_uni = extend_max_local_streams_uni;
        cb.rand = rand;
        cb.get_new_connection_id = get_new_connection_id;
        return cb;
    }

    bool init_tls(const AdapterConfig& config, std::string* why)
    {
        const auto gfail = [&](const char* what, int rv) {
            if (why) *why = std::string(what) + ": " + gnutls_strerror(rv);
            return false;
        };
        int rv = gnutls_init(&tls, config.client ? GNUTLS_CLIENT : GNUTLS_SERVER);
        if (rv != 0) return gfail("gnutls_init", rv);
        rv = config.client ? ngtcp2_crypto_gnutls_configure_client_session(tls)
                           : ngtcp2_crypto_gnutls_configure_server_session(tls);
        if (rv != 0) return gfail("configuring GnuTLS for QUIC", GNUTLS_E_INTERNAL_ERROR);
        if ((rv = gnutls_priority_set_direct(tls, kPriority, nullptr)) != 0) return gfail("TLS priorities", rv);
        if ((rv = gnutls_credentials_set(tls, GNUTLS_CRD_CERTIFICATE, config.identity->credentials())) != 0)
            return gfail("TLS credentials", rv);
        // Mutual authentication: the server asks for the client's certificate, both check it.
        if (!config.client) gnutls_certificate_server_set_request(tls, GNUTLS_CERT_REQUIRE);
        gnutls_session_set_verify_function(tls, verify_peer);
        const gnutls_datum_t alpn{reinterpret_cast<unsigned char*>(const_cast<char*>(kAlpn)), sizeof kAlpn - 1};
        if ((rv = gnutls_alpn_set_protocols(tls, &alpn, 1, GNUTLS_ALPN_MANDATORY)) != 0) return gfail("ALPN", rv);
        conn_ref.get_conn = get_conn;
        conn_ref.user_data = this;
        gnutls_session_set_ptr(tls, &conn_ref);
        return true;
    }
};

QuicConnection::QuicConnection(const AdapterConfig& config, AdapterEvents& events)
    : config_(config), events_(events), impl_(std::make_unique<Impl>())
{
    impl_->owner = this;
}

QuicConnection::~QuicConnection() = default;

std::unique_ptr<QuicConnection> QuicConnection::client(const AdapterConfig& config, AdapterEvents& events,
                                                       uint64_t now_ns)
{
    std::unique_ptr<QuicConnection> c(new QuicConnection(config, events));
    std::string why;
    if (!c->init(config, {}, now_ns, &why)) throw std::runtime_error(why);
    return c;
}

std::unique_ptr<QuicConnection> QuicConnection::accept(const AdapterConfig& config, AdapterEvents& events,
                                                       std::span<const uint8_t> packet, uint64_t now_ns,
                                                       std::string* why)
{
    std::unique_ptr<QuicConnection> c(new QuicConnection(config, events));
    if (!c->init(config, packet, now_ns, why)) return nullptr;
    return c;
}

bool QuicConnection::init(const AdapterConfig& config, std::span<const uint8_t> first, uint64_t now_ns,
                          std::string* why)
{
    ngtcp2_settings settings;
    ngtcp2_settings_default(&settings);
    settings.initial_ts = now_ns;
    settings.cc_algo = cc_algo(config.cc);
    if (config.initial_rtt_ns) settings.initial_rtt = config.initial_rtt_ns;
    // The path's MTU from the first packet: no 1200-byte start, no probing (the kernel knows it).
    settings.max_tx_udp_payload_size = config.mtu;
    settings.no_tx_udp_payload_size_shaping = 1;
    settings.no_pmtud = 1;
    settings.handshake_timeout = config.idle_timeout_ns;
    // ngtcp2's default ACK threshold (2) stays, though ack_thresh = 1 would make an answer carry
    // the ACK of what it answers (2 packets per ping-pong round trip instead of 3, less CPU):
    // with the ACK in the answer, building it and processing it at the peer sit on the round
    // trip's critical path, while a separate ACK-only packet srtt/8 later is handled when both
    // sides are idle. Measured three times in A/B runs on bench/delivery: p50 equal or worse.

    ngtcp2_transport_params params;
    ngtcp2_transport_params_default(&params);
    params.initial_max_streams_uni = config.max_streams_uni;
    params.initial_max_streams_bidi = 0;
    params.initial_max_stream_data_uni = config.stream_window;
    params.initial_max_data = config.connection_window;
    params.max_idle_timeout = config.idle_timeout_ns;
    params.max_datagram_frame_size = config.max_datagram_frame_size;  // RFC 9221 §3
    params.active_connection_id_limit = 4;  // spare ids for migrations (RFC 9000 §5.1.1)
    // No greasing of the fixed bit (RFC 9287): the kernel demultiplexes the shared socket by the
    // first byte (RFC 9443: QUIC is 64-127 and 192-255), and a greased packet could start with
    // 0-3 and pass for STUN.
    params.grease_quic_bit = 0;

    ngtcp2_cid scid;
    scid.datalen = kCidLength;
    if (!random_bytes(scid.data, scid.datalen)) {
        if (why) *why = "no random bytes for a connection id";
        return false;
    }
    const PathAddresses path(config.path_id);
    const ngtcp2_callbacks cb = impl_->callbacks(config.client);
    int rv;
    if (config.client) {
        ngtcp2_cid dcid;
        dcid.datalen = 18;  // RFC 9000 §7.2: at least 8 bytes for the Initial's destination
        if (!random_bytes(dcid.data, dcid.datalen)) {
            if (why) *why = "no random bytes for a connection id";
            return false;
        }
        rv = ngtcp2_conn_client_new(&impl_->conn, &dcid, &scid, &path.path, NGTCP2_PROTO_VER_V1, &cb, &settings,
                                    &params, nullptr, impl_.get());
    } else {
        ngtcp2_pkt_hd hd;
        if (ngtcp2_accept(&hd, first.data(), first.size()) != 0) {
            if (why) *why = "not a QUIC Initial packet that can start a connection";
            return false;
        }
        params.original_dcid = hd.dcid;  // RFC 9000 §7.3
        rv = ngtcp2_conn_server_new(&impl_->conn, &hd.scid, &scid, &path.path, hd.version, &cb, &settings, &params,
                                    nullptr, impl_.get());
    }
    if (rv != 0) {
        if (why) *why = std::string("creating the QUIC connection: ") + ngtcp2_strerror(rv);
        return false;
    }
    if (!impl_->init_tls(config, why)) return false;
    ngtcp2_conn_set_tls_native_handle(impl_->conn, impl_->tls);
    if (config.keep_alive_ns) ngtcp2_conn_set_keep_alive_timeout(impl_->conn, config.keep_alive_ns);
    return true;
}

void QuicConnection::fail(om_status status, std::string reason, int liberr)
{
    if (closed()) return;
    close_.status = status;
    close_.reason = std::move(reason);
    impl_->close_reason = close_.reason;
    const auto* text = reinterpret_cast<const uint8_t*>(impl_->close_reason.data());
    if (liberr == NGTCP2_ERR_CRYPTO) {
        ngtcp2_connection_close_error_set_transport_error_tls_alert(&impl_->last_error,
                                                                    ngtcp2_conn_get_tls_alert(impl_->conn), text,
                                                                    impl_->close_reason.size());
        impl_->have_last_error = true;
    } else if (liberr != 0) {
        ngtcp2_connection_close_error_set_transport_error_liberr(&impl_->last_error, liberr, text,
                                                                 impl_->close_reason.size());
        impl_->have_last_error = true;
    }
}

ReadResult QuicConnection::read(uint32_t path_id, std::span<const uint8_t> packet, uint64_t now_ns)
{
    if (closed()) return ReadResult::Closed;
    const PathAddresses path(path_id);
    ngtcp2_pkt_info pi{};
    const int rv = ngtcp2_conn_read_pkt(impl_->conn, &path.path, &pi, packet.data(), packet.size(), now_ns);
    if (rv == 0) return ReadResult::Ok;
    switch (rv) {
    case NGTCP2_ERR_DRAINING: {
        // RFC 9000 §10.2.2: the peer closed; we send nothing more.
        ngtcp2_connection_close_error ccerr;
        ngtcp2_conn_get_connection_close_error(impl_->conn, &ccerr);
        const std::string phrase(reinterpret_cast<const char*>(ccerr.reason), ccerr.reasonlen);
        std::string reason = "closed by the peer";
        om_status status = OM_ERR_CLOSED;
        if (ccerr.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_TRANSPORT && ccerr.error_code >= NGTCP2_CRYPTO_ERROR &&
            ccerr.error_code < NGTCP2_CRYPTO_ERROR + 0x100) {
            const uint64_t alert = ccerr.error_code - NGTCP2_CRYPTO_ERROR;  // RFC 9001 §4.8
            reason += ": TLS alert " + std::to_string(alert);
            if (is_certificate_alert(alert)) status = OM_ERR_AUTH;
        } else if (ccerr.type != NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION || ccerr.error_code != 0) {
            reason += ": error " + std::to_string(ccerr.error_code);
        }
        if (!phrase.empty()) reason += ": " + phrase;
        fail(status, reason, 0);
        return ReadResult::Closed;
    }
    case NGTCP2_ERR_CRYPTO:
        if (!auth_failure_.empty()) {
            fail(OM_ERR_AUTH, auth_failure_, rv);
        } else {
            const uint8_t alert = ngtcp2_conn_get_tls_alert(impl_->conn);
            fail(is_certificate_alert(alert) ? OM_ERR_AUTH : OM_ERR_IO,
                 "TLS handshake failed (alert " + std::to_string(alert) + ")", rv);
        }
        return ReadResult::Closed;
    case NGTCP2_ERR_DROP_CONN:
        fail(OM_ERR_IO, "QUIC connection dropped", 0);
        return ReadResult::Closed;
    default:
        if (!ngtcp2_err_is_fatal(rv)) return ReadResult::Ignored;  // e.g. a packet that does not decrypt
        fail(OM_ERR_IO, std::string("QUIC error: ") + ngtcp2_strerror(rv), rv);
        return ReadResult::Closed;
    }
}

WriteResult QuicConnection::finish_write(long nwrite, long ndatalen, int accepted, const void* path)
{
    WriteResult r;
    r.path_id = path_id_of(static_cast<const ngtcp2_path*>(path)->local);
    if (nwrite > 0) {
        r.packet = static_cast<size_t>(nwrite);
        r.accepted = ndatalen >= 0 ? ndatalen : (accepted ? 0 : -1);
        return r;
    }
    switch (nwrite) {
    case 0: return r;
    case NGTCP2_ERR_WRITE_MORE:
        r.more = true;
        r.accepted = ndatalen >= 0 ? ndatalen : (accepted ? 0 : -1);
        return r;
    case NGTCP2_ERR_STREAM_DATA_BLOCKED:
    case NGTCP2_ERR_STREAM_SHUT_WR:
    case NGTCP2_ERR_STREAM_NOT_FOUND: r.stream_blocked = true; return r;
    case NGTCP2_ERR_INVALID_ARGUMENT:  // a DATAGRAM above the peer's max_datagram_frame_size
    case NGTCP2_ERR_INVALID_STATE:     // the peer takes no DATAGRAM frames
        r.refused = true;
        return r;
    default:
        r.fatal = true;
        fail(OM_ERR_IO, std::string("QUIC write failed: ") + ngtcp2_strerror(static_cast<int>(nwrite)),
             static_cast<int>(nwrite));
        return r;
    }
}

WriteResult QuicConnection::write_stream(uint8_t* buf, size_t cap, int64_t stream_id,
                                         std::span<const std::span<const uint8_t>> data, bool fin, bool more,
                                         uint64_t now_ns)
{
    if (closed()) return WriteResult{.fatal = true};
    ngtcp2_vec vecs[16];
    const size_t count = std::min(data.size(), std::size(vecs));
    for (size_t i = 0; i < count; ++i) vecs[i] = {const_cast<uint8_t*>(data[i].data()), data[i].size()};
    uint32_t flags = more ? NGTCP2_WRITE_STREAM_FLAG_MORE : 0;
    if (fin && count == data.size()) flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
    ngtcp2_path_storage ps;
    ngtcp2_path_storage_zero(&ps);
    ngtcp2_pkt_info pi{};
    ngtcp2_ssize ndatalen = -1;
    const ngtcp2_ssize n = ngtcp2_conn_writev_stream(impl_->conn, &ps.path, &pi, buf, cap, &ndatalen, flags,
                                                     stream_id, stream_id >= 0 ? vecs : nullptr,
                                                     stream_id >= 0 ? count : 0, now_ns);
    return finish_write(static_cast<long>(n), static_cast<long>(ndatalen), 0, &ps.path);
}

WriteResult QuicConnection::write_datagram(uint8_t* buf, size_t cap, std::span<const uint8_t> header,
                                           std::span<const uint8_t> payload, bool more, uint64_t now_ns)
{
    if (closed()) return WriteResult{.fatal = true};
    ngtcp2_vec vecs[2] = {{const_cast<uint8_t*>(header.data()), header.size()},
                          {const_cast<uint8_t*>(payload.data()), payload.size()}};
    ngtcp2_path_storage ps;
    ngtcp2_path_storage_zero(&ps);
    ngtcp2_pkt_info pi{};
    int accepted = 0;
    const ngtcp2_ssize n =
        ngtcp2_conn_writev_datagram(impl_->conn, &ps.path, &pi, buf, cap, &accepted,
                                    more ? NGTCP2_WRITE_DATAGRAM_FLAG_MORE : 0, 0, vecs, payload.empty() ? 1 : 2, now_ns);
    WriteResult r = finish_write(static_cast<long>(n), -1, accepted, &ps.path);
    if (!accepted && r.accepted == 0) r.accepted = -1;
    return r;
}

size_t QuicConnection::write_close(uint8_t* buf, size_t cap, uint32_t* path_id, uint64_t now_ns)
{
    if (ngtcp2_conn_is_in_draining_period(impl_->conn)) return 0;
    if (!impl_->have_last_error) {
        ngtcp2_connection_close_error_set_application_error(&impl_->last_error, 0, nullptr, 0);
        impl_->have_last_error = true;
    }
    ngtcp2_path_storage ps;
    ngtcp2_path_storage_zero(&ps);
    ngtcp2_pkt_info pi{};
    const ngtcp2_ssize n =
        ngtcp2_conn_write_connection_close(impl_->conn, &ps.path, &pi, buf, cap, &impl_->last_error, now_ns);
    if (n <= 0) return 0;
    if (path_id) *path_id = path_id_of(ps.path.local);
    return static_cast<size_t>(n);
}

std::optional<int64_t> QuicConnection::open_uni_stream()
{
    int64_t id = -1;
    if (ngtcp2_conn_open_uni_stream(impl_->conn, &id, nullptr) != 0) return std::nullopt;
    return id;
}

void QuicConnection::extend_stream_credit(int64_t stream_id, uint64_t bytes)
{
    (void)ngtcp2_conn_extend_max_stream_offset(impl_->conn, stream_id, bytes);
}
void QuicConnection::extend_connection_credit(uint64_t bytes) { ngtcp2_conn_extend_max_offset(impl_->conn, bytes); }
void QuicConnection::extend_max_streams_uni(uint64_t count) { ngtcp2_conn_extend_max_streams_uni(impl_->conn, count); }
void QuicConnection::shutdown_stream_read(int64_t stream_id)
{
    (void)ngtcp2_conn_shutdown_stream_read(impl_->conn, stream_id, 1);
}
uint64_t QuicConnection::stream_loss_count(int64_t stream_id)
{
    return ngtcp2_conn_get_stream_loss_count(impl_->conn, stream_id);
}

uint64_t QuicConnection::expiry_ns() { return ngtcp2_conn_get_expiry(impl_->conn); }

ReadResult QuicConnection::handle_expiry(uint64_t now_ns)
{
    if (closed()) return ReadResult::Closed;
    const int rv = ngtcp2_conn_handle_expiry(impl_->conn, now_ns);
    if (rv == 0) return ReadResult::Ok;
    if (rv == NGTCP2_ERR_IDLE_CLOSE) {
        // RFC 9000 §10.1: an idle timeout closes silently.
        fail(OM_ERR_TIMEOUT, "idle timeout after " + std::to_string(config_.idle_timeout_ns / 1'000'000) + " ms", 0);
        impl_->have_last_error = false;
    } else if (rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT) {
        fail(OM_ERR_TIMEOUT,
             "handshake timeout after " + std::to_string(config_.idle_timeout_ns / 1'000'000) + " ms", 0);
    } else {
        fail(OM_ERR_IO, std::string("QUIC timer: ") + ngtcp2_strerror(rv), rv);
    }
    return ReadResult::Closed;
}

bool QuicConnection::migrate(uint32_t path_id, uint64_t now_ns, std::string* why)
{
    const PathAddresses path(path_id);
    const int rv = ngtcp2_conn_initiate_immediate_migration(impl_->conn, &path.path, now_ns);
    if (rv == 0) return true;
    if (why) *why = std::string("QUIC migration refused: ") + ngtcp2_strerror(rv);
    return false;
}

uint32_t QuicConnection::path_id() { return path_id_of(ngtcp2_conn_get_path(impl_->conn)->local); }

size_t QuicConnection::send_quantum() { return ngtcp2_conn_get_send_quantum(impl_->conn); }
void QuicConnection::update_pkt_tx_time(uint64_t now_ns) { ngtcp2_conn_update_pkt_tx_time(impl_->conn, now_ns); }
size_t QuicConnection::max_udp_payload() { return ngtcp2_conn_get_max_tx_udp_payload_size(impl_->conn); }

size_t QuicConnection::max_datagram_payload()
{
    // RFC 9000 §17.3.1 short header (1 + DCID + up to 4 bytes of packet number), the AEAD tag
    // (16, RFC 9001 §5.3), and the DATAGRAM frame's type and length (RFC 9221 §4).
    const size_t dcid = ngtcp2_conn_get_dcid(impl_->conn)->datalen;
    const size_t overhead = 1 + dcid + 4 + 16 + 1 + 2;
    const size_t mtu = max_udp_payload();
    size_t limit = mtu > overhead ? mtu - overhead : 0;
    if (const auto* remote = ngtcp2_conn_get_remote_transport_params(impl_->conn)) {
        const uint64_t frame = remote->max_datagram_frame_size;
        limit = std::min<uint64_t>(limit, frame > 3 ? frame - 3 : 0);
    }
    return limit;
}

std::string QuicConnection::cipher_suite()
{
    if (!impl_->tls || !confirmed_) return {};
    const char* name = gnutls_ciphersuite_get(impl_->tls);
    return name ? name : "";
}

Stats QuicConnection::stats()
{
    ngtcp2_conn_stat cs;
    ngtcp2_conn_get_conn_stat(impl_->conn, &cs);
    Stats s;
    s.smoothed_rtt_ms = static_cast<double>(cs.smoothed_rtt) / 1e6;
    s.min_rtt_ms = cs.min_rtt == UINT64_MAX ? 0 : static_cast<double>(cs.min_rtt) / 1e6;
    s.rttvar_ms = static_cast<double>(cs.rttvar) / 1e6;
    s.latest_rtt_ms = static_cast<double>(cs.latest_rtt) / 1e6;
    s.cwnd = cs.cwnd;
    s.bytes_in_flight = cs.bytes_in_flight;
    return s;
}

}  // namespace om::quic
