"""OrbitMesh's own programs in the lab: orbitmesh-server in the server namespace and
`orbitmesh-agent ... netcheck` on a host, with the CONTRACT's JSON parsed.

The binaries come from OM_SERVER / OM_AGENT (set by ctest), else from the build dir
$OM_BUILD_DIR."""
import json
import os
from dataclasses import dataclass
from pathlib import Path

from nat_recipes import BEHAVIOUR
from natlab import SERVER_IPS, STOP_GRACE_S, LabTimeout, stop_process

HTTP_PORT = 8080
SERVER_START_TIMEOUT_S = 15.0
NETCHECK_TIMEOUT_S = 45.0    # well above the agent's own --timeout-ms default of 10 s


_BUILD_PATHS = {"orbitmesh-server": ("server", "bin"), "orbitmesh-agent": ("cli", "bin")}


def binary(name):
    """Path of orbitmesh-server / orbitmesh-agent, or None when it cannot be found."""
    variable = {"orbitmesh-server": "OM_SERVER", "orbitmesh-agent": "OM_AGENT"}[name]
    candidates = [os.environ.get(variable)]
    build_dir = os.environ.get("OM_BUILD_DIR")
    if build_dir:
        candidates += [os.path.join(build_dir, folder, name) for folder in _BUILD_PATHS[name]]
    return next((path for path in candidates if path and os.access(path, os.X_OK)), None)


# Run by hand with OM_BUILD_DIR only: the agent finds the build's plugins as under ctest.
if os.environ.get("OM_BUILD_DIR") and not os.environ.get("OM_PLUGIN_PATH"):
    os.environ["OM_PLUGIN_PATH"] = os.path.join(os.environ["OM_BUILD_DIR"], "plugins")


def split_endpoint(text):
    """("ip", port) from "ip:port" or "[v6]:port"; ValueError otherwise."""
    host, sep, port = str(text).rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"not an ip:port endpoint: {text!r}")
    return host.strip("[]"), int(port)


class OrbitmeshServer:
    """orbitmesh-server --open in the server namespace on SERVER_IPS[0]; stun_port 0 turns its
    STUN server off, alt_address/alt_port turn RFC 5780 on. The context waits until HTTP and
    every STUN socket listen; on exit it stops the server with SIGTERM (exit code kept in
    .exit_code: the CONTRACT says 0)."""

    def __init__(self, lab, http_port=HTTP_PORT, stun_port=3478, alt_address=SERVER_IPS[1],
                 alt_port=3479, extra_args=()):
        self.lab, self.http_port, self.stun_port = lab, http_port, stun_port
        self.extra_args = tuple(extra_args)   # e.g. the TURN relay's options
        self.alt_address, self.alt_port = alt_address, alt_port
        self.bind = SERVER_IPS[0]
        self.url = f"ws://{self.bind}:{http_port}"
        self.log_path = Path(lab.workdir) / f"orbitmesh-server-{http_port}.log"
        self.exit_code = None
        self._proc = None

    def argv(self):
        argv = [binary("orbitmesh-server"), "--bind", self.bind, "--http-port", str(self.http_port),
                "--stun-port", str(self.stun_port), "--open"]
        if self.stun_port and self.alt_address:
            argv += ["--stun-alt-address", self.alt_address]
        if self.stun_port and self.alt_port:
            argv += ["--stun-alt-port", str(self.alt_port)]
        return argv + list(self.extra_args)

    def stun_endpoints(self):
        if not self.stun_port:
            return []
        ips = [self.bind] + ([self.alt_address] if self.alt_address else [])
        ports = [self.stun_port] + ([self.alt_port] if self.alt_port else [])
        return [f"{ip}:{port}" for ip in ips for port in ports]

    def __enter__(self):
        if binary("orbitmesh-server") is None:
            raise RuntimeError("orbitmesh-server not found: set OM_SERVER or OM_BUILD_DIR")
        with open(self.log_path, "w") as log:
            self._proc = self.lab.server.popen(self.argv(), stdout=log, stderr=log)
        ns = self.lab.server
        ready = (ns.wait_bound("tcp", [f"{self.bind}:{self.http_port}"], SERVER_START_TIMEOUT_S)
                 and ns.wait_bound("udp", self.stun_endpoints(), SERVER_START_TIMEOUT_S))
        if not ready:
            self.__exit__()
            raise RuntimeError(
                f"orbitmesh-server did not listen on HTTP {self.http_port} and UDP "
                f"{self.stun_endpoints()} within {SERVER_START_TIMEOUT_S}s (bound: "
                f"tcp {sorted(ns.bound('tcp'))}, udp {sorted(ns.bound('udp'))}; "
                f"exit code {self._proc.poll()})\n{self.log_tail()}")
        return self

    def __exit__(self, *exc):
        if self._proc is not None:
            self.exit_code = stop_process(self._proc, grace=STOP_GRACE_S * 3)
        return False

    def log_tail(self, chars=3000):
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no server log)"


@dataclass
class Netcheck:
    """One `netcheck` run: exit code, output, and its JSON object (None if it printed none)."""
    argv: list
    exit_code: int
    stdout: str
    stderr: str
    result: dict

    def describe(self):
        return (f"{' '.join(self.argv)}\nexit {self.exit_code}\n--- stdout ---\n{self.stdout}"
                f"\n--- stderr ---\n{self.stderr[-3000:]}")


def run_netcheck(host, server_url, agent_id, extra_args=(), timeout=NETCHECK_TIMEOUT_S):
    """`orbitmesh-agent --server URL --id ID [extra] netcheck` on host."""
    agent = binary("orbitmesh-agent")
    if agent is None:
        raise RuntimeError("orbitmesh-agent not found: set OM_AGENT or OM_BUILD_DIR")
    argv = [agent, "--server", server_url, "--id", agent_id, *extra_args, "netcheck"]
    try:
        done = host.run(argv, timeout=timeout)
    except LabTimeout as e:
        return Netcheck(argv, -1, "", str(e), None)
    try:
        result = json.loads(done.stdout)
    except ValueError:
        result = None
    return Netcheck(argv, done.returncode, done.stdout, done.stderr, result)


def contract_problems(netcheck, host, server_ips_used=2):
    """What in a netcheck run disagrees with the CONTRACT and with the NAT host sits behind
    (nat_recipes.BEHAVIOUR); an empty list when nothing does."""
    if netcheck.exit_code != 0:
        return [f"exit code {netcheck.exit_code}, expected 0"]
    result = netcheck.result
    if not isinstance(result, dict):
        return ["stdout is not one JSON object"]
    expected = BEHAVIOUR[host.nat_type]
    problems = []

    def expect(field, wanted):
        if result.get(field) != wanted:
            problems.append(f"{field} = {result.get(field)!r}, expected {wanted!r}")

    expect("nat_type", host.nat_type)
    expect("mapping", expected.mapping)
    expect("filtering", expected.filtering)
    expect("server_ips_used", server_ips_used)
    if result.get("registered") is not True:   # the verdict travels at registration (issue 4)
        problems.append(f"registered = {result.get('registered')!r} "
                        f"({result.get('register_error', 'no register_error')}), expected true")
    for field in ("mapped_address", "local_address"):
        try:
            ip, port = split_endpoint(result.get(field))
        except ValueError as e:
            problems.append(f"{field}: {e}")
            continue
        if not 0 < port < 65536:
            problems.append(f"{field} port {port} out of range")
        if field == "mapped_address" and ip != host.public_ip:
            problems.append(f"mapped_address IP {ip}, expected the public IP {host.public_ip}")
    if not isinstance(result.get("hairpin"), bool):
        problems.append(f"hairpin = {result.get('hairpin')!r}, expected true or false")
    elif expected.nat and result["hairpin"]:
        # No router of the lab hairpins (Debian's stun client says "no hairpin" for each).
        problems.append("hairpin = true behind a router that does not hairpin")
    return problems
