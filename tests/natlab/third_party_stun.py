"""Real third-party STUN peers in the lab: coturn's STUN server (`turnserver -S`), Debian's
`stun` client (RFC 3489 classification) and coturn's `turnutils_natdiscovery` (RFC 5780 mapping
and filtering), with parsers of their output into the CONTRACT's vocabulary
(EndpointIndependent, AddressDependent, AddressAndPortDependent)."""
import re
from dataclasses import dataclass
from pathlib import Path

from nat_recipes import AD, APD, EI
from natlab import STOP_GRACE_S, stop_process, wait_until

STUN_PORT = 3478
ALT_STUN_PORT = 3479
TOOL_RUN_TIMEOUT_S = 30.0    # one client run; both finish in under 10 s when the server answers
SERVER_START_TIMEOUT_S = 10.0


# ---------------------------------------------------------------------------------------------
# coturn

class Coturn:
    """`turnserver -S` (STUN only) in a namespace on both addresses, port and alternate port, for
    RFC 5780. Its own empty config file, pid file, SQLite file and log in workdir, so the
    machine's /etc/turnserver.conf and /var/lib/turn are not used."""

    def __init__(self, ns, ips, workdir, port=STUN_PORT, alt_port=ALT_STUN_PORT):
        self.ns, self.ips, self.port, self.alt_port = ns, tuple(ips), port, alt_port
        self.workdir = Path(workdir)
        self.log_path = self.workdir / f"coturn-{port}.log"
        self._proc = None

    def __enter__(self):
        config = self.workdir / "turnserver.conf"
        config.write_text("# empty: every option is on the command line\n")
        argv = ["turnserver", "-c", str(config), "-S", "--no-cli", "--no-tls", "--no-dtls",
                "--listening-port", str(self.port), "--alt-listening-port", str(self.alt_port),
                "--log-file", "stdout", "--simple-log",
                "--pidfile", str(self.workdir / f"coturn-{self.port}.pid"),
                "--db", str(self.workdir / f"coturn-{self.port}.sqlite")]
        for ip in self.ips:
            argv += ["--listening-ip", ip]
        with open(self.log_path, "w") as log:
            self._proc = self.ns.popen(argv, stdout=log, stderr=log)
        endpoints = [f"{ip}:{port}" for ip in self.ips for port in (self.port, self.alt_port)]
        if not self.ns.wait_udp_bound(endpoints, SERVER_START_TIMEOUT_S):
            self.__exit__()
            raise RuntimeError(f"coturn did not bind {endpoints} within {SERVER_START_TIMEOUT_S}s"
                               f"\n{self.log_tail()}")
        return self

    def __exit__(self, *exc):
        if self._proc is not None:
            stop_process(self._proc)
        # The sockets must be gone before another server takes these ports.
        wait_until(lambda: not self.ns.udp_bound_any(
            [f"{ip}:{self.port}" for ip in self.ips]), STOP_GRACE_S)
        return False

    def log_tail(self, chars=3000):
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no coturn log)"


# ---------------------------------------------------------------------------------------------
# Debian's `stun` client (stun-client 0.97, RFC 3489 tests). It prints e.g.
#   Primary: Independent Mapping, Port Dependent Filter, preserves ports, no hairpin
#   Primary: Dependent Mapping, random port, no hairpin
#   Primary: Open
# and exits with a code that encodes the same verdict (so a non-zero exit is normal).

@dataclass(frozen=True)
class StunClientVerdict:
    line: str             # the whole "Primary:" classification, as printed
    nat: bool             # False when it says "Open"
    mapping: str          # EI, or "Dependent" (it does not tell AD from APD), or "" if unknown
    filtering: str        # EI/AD/APD; "" when it does not test it (dependent mapping)
    hairpin: bool


_STUN_FILTER = {"Independent Filter": EI, "Address Dependent Filter": AD, "Port Dependent Filter": APD}
_STUN_MAPPING = {"Independent Mapping": EI, "Dependent Mapping": "Dependent"}


def parse_stun_client(stdout):
    """StunClientVerdict from the `stun` client's output; ValueError when it has no verdict."""
    match = re.search(r"^Primary: (.*)$", stdout, re.MULTILINE)
    if not match:
        raise ValueError(f"no 'Primary:' line in stun output:\n{stdout}")
    line = match.group(1).strip()
    if line == "Open":
        return StunClientVerdict(line, nat=False, mapping=EI, filtering=EI, hairpin=True)
    parts = [part.strip() for part in line.split(",")]
    mapping = next((_STUN_MAPPING[p] for p in parts if p in _STUN_MAPPING), "")
    filtering = next((_STUN_FILTER[p] for p in parts if p in _STUN_FILTER), "")
    return StunClientVerdict(line, nat=True, mapping=mapping, filtering=filtering,
                             hairpin="no hairpin" not in parts)


def run_stun_client(host, server_ip, port=STUN_PORT):
    """Runs `stun server_ip[:port]` on host; returns (StunClientVerdict, raw output)."""
    target = server_ip if port == STUN_PORT else f"{server_ip}:{port}"
    result = host.run(["stun", target], timeout=TOOL_RUN_TIMEOUT_S)
    output = result.stdout + result.stderr
    return parse_stun_client(result.stdout), output


# ---------------------------------------------------------------------------------------------
# coturn's turnutils_natdiscovery -m -f (RFC 5780 §4.3 mapping, §4.4 filtering). It prints
# banners such as "NAT with Endpoint Independent Mapping!", "No NAT! (Endpoint Independent
# Mapping)" (when bound with -L to the address the server sees) and "NAT with Address and Port
# Dependent Filtering!".

@dataclass(frozen=True)
class NatDiscoveryVerdict:
    nat: bool
    mapping: str          # EI/AD/APD
    filtering: str        # EI/AD/APD
    mapped_ip: str        # the UDP reflexive address of its first response


_BEHAVIOUR_WORDS = {"Endpoint Independent": EI, "Address Dependent": AD,
                    "Address and Port Dependent": APD}


def parse_natdiscovery(stdout):
    """NatDiscoveryVerdict from `turnutils_natdiscovery -m -f` output; ValueError when either
    behaviour is missing."""
    no_nat = "No NAT!" in stdout
    found = {}
    for words, kind in re.findall(r"^NAT with (.+?) (Mapping|Filtering)!$", stdout, re.MULTILINE):
        found.setdefault(kind, _BEHAVIOUR_WORDS.get(words, words))
    if no_nat:
        found.setdefault("Mapping", EI)
    reflexive = re.search(r"UDP reflexive addr: ([\d.]+):\d+", stdout)
    if "Mapping" not in found or "Filtering" not in found or not reflexive:
        raise ValueError(f"incomplete natdiscovery output:\n{stdout}")
    return NatDiscoveryVerdict(nat=not no_nat, mapping=found["Mapping"],
                               filtering=found["Filtering"], mapped_ip=reflexive.group(1))


def run_natdiscovery(host, server_ip, port=STUN_PORT):
    """Runs `turnutils_natdiscovery -m -f` on host, bound to the host's address (so an Open host
    reads "No NAT!"); returns (NatDiscoveryVerdict, raw output)."""
    result = host.run(["turnutils_natdiscovery", "-m", "-f", "-L", host.ip, "-p", str(port),
                       server_ip], timeout=TOOL_RUN_TIMEOUT_S)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise ValueError(f"turnutils_natdiscovery exit {result.returncode}:\n{output}")
    return parse_natdiscovery(result.stdout), output
