// The --help text of orbitmesh-server.
#include "server_options.hpp"

#include <ostream>

namespace om::server {

void print_server_usage(std::ostream& out) {
    out << R"(Usage: orbitmesh-server [OPTIONS]
       orbitmesh-server token --secret SECRET --id AGENT [--ttl 3600]

Options (each also from the config file as "name = value" and from ORBITMESH_<NAME>,
e.g. ORBITMESH_HTTP_PORT; the command line wins over the variables, which win over the file):
  --config FILE                 read options from FILE (or ORBITMESH_CONFIG)
  --bind ADDR                   primary address: HTTP, STUN and TURN listen here (default 0.0.0.0)
  --http-port PORT              HTTP and WebSocket port (default 8080; 0 picks a free port)
  --stun-port PORT              embedded STUN server UDP port (default 3478; 0 turns it off;
                                -1 picks a free port, printed at start)
  --stun-alt-address ADDR       second address for RFC 5780 behaviour discovery
  --stun-alt-port PORT          second port for RFC 5780 behaviour discovery (-1: a free port)
  --stun-rate-limit N           STUN requests per second per source IP, burst 2N (default 100;
                                0 = no limit)
  --stun-threads N              STUN receive threads (default 0 = one per core)
  --enable-turn-relay           run the embedded TURN relay (RFC 8656) on the STUN port; needs a
                                concrete --bind address, and --turn-user or --turn-secret
  --turn-realm REALM            TURN realm (default orbitmesh)
  --turn-user NAME:PASS         a TURN user, repeatable (ORBITMESH_TURN_USER: comma-separated)
  --turn-secret SECRET          TURN REST-API shared secret (time-limited credentials)
  --turn-min-port N             lowest relay port (default 49152)
  --turn-max-port N             highest relay port (default 65535)
  --turn-allow-loopback-peers   let TURN relay to loopback and private peers (tests only)
  --turn-max-allocations N      allocations at once, all users (default 10000)
  --turn-user-quota N           allocations at once per username (default 100)
  --turn-bytes-per-s N          relayed bytes per second per allocation and direction (0: no limit)
  --turn-credential-ttl S       lifetime of the credentials handed out with --turn-secret (86400)
  --turn-address HOST:PORT      the TURN server registered agents are given with --turn-secret
                                (coturn with the same static-auth-secret; default: our relay)
  --secret SECRET               accept agents whose token is signed with SECRET
  --open                        accept agents without a token (logs a warning); excludes --secret
  --redis URL                   redis://HOST[:PORT] for shared state (not yet supported)
  --replace-existing-id         a registration of a live id replaces it (default: refused, 409)
  --max-frame-bytes N           largest signaling message (default 65536; larger: 413 or close 1009)
  --relay-bytes-per-s N         relay budget per agent (default 16777216; 0 = unlimited; over: 429)
  --send-queue-bytes N          bound on a connection's queued outgoing bytes (default 1048576)
  --reactor-threads N           WebSocket reactor threads (default 0 = one per core)
  --version                     print the version and exit
  -h, --help                    print this help and exit

Commands:
  token --secret SECRET --id AGENT [--ttl 3600]
                                print a token for AGENT, valid for --ttl seconds

HTTP: GET /healthz, GET /metrics, GET /v1/agents, WebSocket /v1/signal.
Exit codes: 0 success (also after SIGINT/SIGTERM), 1 the server could not start,
2 usage or configuration error.
)";
}

} // namespace om::server
