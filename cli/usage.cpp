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
  --turn-server HOST        TURN server, for Symmetric NATs (not yet supported, as every
                            --turn-* option)
  --turn-port PORT          TURN port (default 3478)
  --turn-user U             TURN user name
  --turn-pass P             TURN password
  --stun-server HOST        STUN server (default: the server's embedded STUN)
  --stun-port PORT          STUN port (default 3478)
  --no-p2p                  do not prefer peer-to-peer (prefer_p2p = false)
  --no-fallback             do not fall back to a relay (fallback_to_relay = false)
  --timeout-ms MS           connection timeout (default 10000)
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
  listen                    register, accept every peer and echo its messages with their
                            delivery mode; one JSON line per event (peer_connected with
                            transport and strategy, peer_state_changed, peer_disconnected)
  connect PEER              connect, send messages, wait for their echoes, print one JSON object
                            (the CONTRACT fields plus planned_strategy and pairs)
      --count N             messages to send (default 10)
      --size BYTES          bytes per message (default 64)
      --mode MODE           reliable-ordered (default), reliable-unordered, unreliable, sequenced
      --transport T         auto (default: direct when possible, else the relay), p2p
                            (direct only), server (the server relay), turn (not yet
                            supported). Over P2P, reliable modes are not yet supported
                            (exit 2): use --mode unreliable or sequenced
  bench PEER                measure throughput against a listening peer, one JSON object
      --seconds S           duration (default 5)
      --size BYTES          bytes per message (default 1024)
      --mode MODE           as for connect
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
