// The --help text: every option and command of the contract, plus this tool's additions.
#include "usage.hpp"

namespace om_cli {

void print_usage(std::ostream& out) {
    out << R"(Usage: orbitmesh-agent [OPTIONS] COMMAND [COMMAND OPTIONS]

Agent options (before or after COMMAND):
  --server ws://HOST:PORT   signaling server
  --id NAME                 this agent's id
  --token T                 agent token signed by the server's --secret
  --bind ADDR               local address of the agent's UDP socket (use 127.0.0.1 in tests)
  --turn-server HOST        TURN server (RFC 8656), for Symmetric NATs; without it, the
                            credentials the server hands out at registration, if any
  --turn-port PORT          TURN port (default 3478)
  --turn-user U             TURN user name (long-term credentials)
  --turn-pass P             TURN password
  --stun-server HOST        STUN server (default: the server's embedded STUN)
  --stun-port PORT          STUN port (default 3478)
  --no-p2p                  do not prefer peer-to-peer (prefer_p2p = false)
  --no-fallback             do not fall back to a relay (fallback_to_relay = false)
  --timeout-ms MS           connection timeout (default 10000)
  --keep-alive-ms MS        keep-alive / consent interval (default 15000)
  --disconnect-timeout-ms MS
                            silence that ends a connection (default 30000; more than
                            --keep-alive-ms)
  --punch-retries N         connectivity checks per candidate pair (default 10)
  --punch-interval-ms MS    pacing of the connectivity checks (default 100)
  --mtu BYTES               largest datagram, 1200..65507 (default 1400; QUIC needs 1200)
  --no-reliable             turn the reliable delivery modes off
  --no-unreliable           turn the unreliable and sequenced modes off
  --identity-file FILE      PEM key and certificate of this agent (created, mode 0600, when
                            missing), so its fingerprint survives restarts; default: a new
                            identity each run
  --busy-poll-us US         after a wake-up, poll the sockets this long (0..10000 µs) before
                            sleeping: a quick answer skips the wake-up delay, at that CPU cost
                            (default 0: sleep at once)
  --plugin KIND=NAME        plugin per kind, repeatable; KIND is transport, nat-discovery,
                            strategy, turn or delivery; transports stack: transport=netsim:udp
  --plugin-option PLUGIN.KEY=VALUE
                            plugin setting, repeatable (e.g. netsim.loss=0.2)
  --log-level LEVEL         trace, debug, info, warning, error or off
                            (default: ORBITMESH_LOG_LEVEL, else warning)
  --exclude-interfaces LIST interfaces whose addresses are not offered as host candidates
                            when bound to the wildcard: names separated by ',', a trailing
                            '*' matches a prefix (e.g. docker*,veth*); repeatable
  --version                 print the versions and exit
  -h, --help                print this help and exit

Commands:
  netcheck                  print this agent's NAT type as one JSON object
  listen                    register, accept every peer and echo each message on its channel
                            and with its delivery mode; one JSON line per event (peer_connected
                            with transport and strategy, peer_state_changed, peer_disconnected,
                            peer_writable, echo_failed, summary, stopped)
  connect PEER              connect, send messages, wait for their echoes, print one JSON object
                            (the CONTRACT fields, then planned_strategy, mode, channel, the QUIC
                            session's metrics: rtt_var_ms, min_rtt_ms, cwnd, bytes_in_flight,
                            packets_lost, retransmits, send_queue_bytes, congestion_control,
                            cipher_suite, local_fingerprint, remote_fingerprint; and pairs)
      --count N             messages to send (default 10)
      --size BYTES          bytes per message (default 64; reliable modes up to 16 MiB,
                            unreliable and sequenced must fit one datagram)
      --mode MODE           reliable-ordered (default), reliable-unordered, unreliable, sequenced
      --channel N           channel 0..255 (default 0); the echo comes back on it
      --transport T         auto (default: direct when possible, else the relay), p2p
                            (direct only), server (the server relay), turn (this agent's
                            TURN allocation alone). Every mode goes over every path, end-to-end
                            encrypted
  bench PEER                against a listening peer: RTT percentiles from a ping-pong phase,
                            then throughput for --seconds; one JSON object (transport, seconds,
                            messages, bytes, mbit_per_s, msgs_per_s, rtt_ms_p50, rtt_ms_p99,
                            retransmits, then more)
      --seconds S           duration of the throughput phase (default 5)
      --size BYTES          bytes per message (default 1024, at least 16)
      --mode MODE           as for connect
      --channel N           as for connect
      --transport T         as for connect
  plugins                   list the plugins found (OM_PLUGIN_PATH, install dir) as JSON
  version                   print the versions
  datagram-demo             two agents in this process exchange datagrams over the transport
      --count N             datagrams to send and echo (default 10)
      --size BYTES          bytes per datagram (default 64, at most the MTU)

Exit codes: 0 success, 1 the operation failed (the printed JSON says why),
            2 usage or configuration error (message on stderr).
Environment: OM_PLUGIN_PATH lists extra plugin folders (':'-separated).
)";
}

} // namespace om_cli
