"""A lab of real Linux kernel NATs in network namespaces (the recipes of ARCHITECTURE.md, "The NAT
lab"), for tests that put agents behind NATs of known types.

    with Lab() as lab:
        a = lab.add_host("PortRestricted")     # host 10.0.1.2 behind router 203.0.113.21
        b = lab.add_host("Symmetric")          # host 10.0.2.2 behind router 203.0.113.22
        lab.server.popen(["orbitmesh-server", "--bind", "203.0.113.1", ...])
        a.run(["orbitmesh-agent", ...], timeout=20)

Topology (IPv4; IPv6 too with Lab(ipv6=True)):
    internet namespace: bridge br0 = the public segment 203.0.113.0/24
    server namespace:   eth0 on br0 with 203.0.113.1 and 203.0.113.2 (two IPs for RFC 5780)
    per host i (1, 2, ...):
      Open:   host namespace, eth0 on br0 with 203.0.113.(20+i)
      others: router namespace, wan0 on br0 with 203.0.113.(20+i), lan0 10.0.i.1/24, the NAT
              recipe of its type; host namespace, eth0 10.0.i.2/24, default route via 10.0.i.1
    With ipv6=True, global IPv6 without any NAT or filter beside that (the documentation prefix
    2001:db8::/32): the public segment is 2001:db8::/64; an Open host has 2001:db8::(20+i), a
    router wan0 2001:db8::(20+i) and lan0 2001:db8:i::1/64, its host 2001:db8:i::2/64 with the
    default route via the router, which forwards; every namespace on the public segment routes
    2001:db8:i::/64 via router i. No DAD (addresses are usable at once) and no router
    advertisements; link-local addresses exist as on any IPv6 link. The server stays IPv4 only.

Every namespace name starts with "om<pid>r<4 hex>-": unique per run, and a later run deletes the
leftovers of runs whose process is gone (a SIGKILLed test cannot tear down). Every command runs
with a timeout; Lab.__exit__ stops the processes started in the lab and deletes its namespaces,
also on failure, KeyboardInterrupt and SIGTERM.

Network rule: all traffic stays inside these namespaces; nothing here touches the root namespace
except creating and deleting namespaces.
"""
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from nat_recipes import NAT_TYPES, router_rules

SERVER_IPS = ("203.0.113.1", "203.0.113.2")
PUBLIC_PREFIX_LEN = 24
REQUIRED_TOOLS = ("ip", "iptables", "ipset", "conntrack", "sysctl")
COMMAND_TIMEOUT_S = 15.0     # upper bound for one lab set-up command
STOP_GRACE_S = 3.0           # SIGTERM → SIGKILL delay when stopping a lab process

_NAME_RE = re.compile(r"^om(\d+)r[0-9a-f]{4}-")


class LabError(RuntimeError):
    """A lab command failed; the message carries the command and its output."""


class LabTimeout(LabError):
    """A lab command ran past its timeout (it was killed)."""


def _run(argv, timeout=COMMAND_TIMEOUT_S, check=True, input=None):
    """Runs one command with a time limit; raises LabError (with its output) when it fails."""
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                                input=input, stdin=None if input is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise LabTimeout(f"timed out after {timeout}s: {' '.join(argv)}") from e
    if check and result.returncode != 0:
        raise LabError(f"exit {result.returncode}: {' '.join(argv)}\n{result.stderr.strip()}")
    return result


# ---------------------------------------------------------------------------------------------
# Whether a lab can be built here, and the loud skip when it cannot.

def unavailable_reason():
    """None when namespaces with iptables/ipset/conntrack work here, else why not (a probe
    namespace is made and deleted to find out)."""
    if os.geteuid() != 0:
        return "not root (network namespaces need CAP_NET_ADMIN)"
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    if missing:
        return f"missing tools: {' '.join(missing)} (Debian: iptables ipset iproute2 conntrack)"
    probe = f"{_new_tag()}-probe"
    try:
        _run(["ip", "netns", "add", probe])
    except LabError as e:
        return f"`ip netns add` fails: {e}"
    try:
        for argv in (["iptables", "-t", "nat", "-A", "POSTROUTING", "-j", "MASQUERADE"],
                     ["ipset", "create", "probe", "hash:ip,port", "timeout", "120"],
                     ["conntrack", "-F"]):
            _run(["ip", "netns", "exec", probe, *argv])
    except LabError as e:
        return f"inside a namespace: {e}"
    finally:
        _run(["ip", "netns", "del", probe], check=False)
    return None


def skip_loudly(reason):
    """The one line that says the lab did not run (never a silent pass)."""
    print(f"NATLAB SKIPPED: {reason}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Names and leftovers.

def _new_tag():
    return f"om{os.getpid()}r{secrets.token_hex(2)}"


def _pid_alive(pid):
    return os.path.exists(f"/proc/{pid}")


def _namespace_names():
    result = _run(["ip", "netns", "list"], check=False)
    # Lines look like "name" or "name (id: 3)".
    return [line.split()[0] for line in result.stdout.splitlines() if line.strip()]


def _kill_namespace_processes(ns):
    """SIGKILLs what still runs inside namespace ns (only ever a lab namespace of ours)."""
    result = _run(["ip", "netns", "pids", ns], check=False)
    for pid in result.stdout.split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


def _delete_namespace(ns):
    _kill_namespace_processes(ns)
    _run(["ip", "netns", "del", ns], check=False)


def cleanup_leftovers():
    """Deletes the namespaces (and, unless NATLAB_KEEP_LOGS is set, the working directories) of
    labs whose process is gone; returns the names of the namespaces."""
    removed = []
    for ns in _namespace_names():
        match = _NAME_RE.match(ns)
        if match and not _pid_alive(int(match.group(1))):
            _delete_namespace(ns)
            removed.append(ns)
    if os.environ.get("NATLAB_KEEP_LOGS"):
        return removed
    for entry in os.scandir(tempfile.gettempdir()):
        match = _NAME_RE.match(entry.name)
        if match and entry.is_dir(follow_symlinks=False) and not _pid_alive(int(match.group(1))):
            shutil.rmtree(entry.path, ignore_errors=True)
    return removed


# ---------------------------------------------------------------------------------------------

class Namespace:
    """One namespace of the lab; commands in it are bounded by a timeout."""

    def __init__(self, lab, name):
        self._lab = lab
        self.name = name

    def run(self, argv, timeout=COMMAND_TIMEOUT_S, check=False, input=None):
        """Runs argv inside the namespace; returns CompletedProcess (text). Raises LabTimeout
        past timeout (the child is killed), LabError when check is set and it fails."""
        return _run(["ip", "netns", "exec", self.name, *argv], timeout=timeout, check=check,
                    input=input)

    def popen(self, argv, **kwargs):
        """Starts argv inside the namespace (subprocess.Popen arguments); the lab stops it on
        exit if it still runs. `ip netns exec` execs argv, so the Popen's pid is argv's."""
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        proc = subprocess.Popen(["ip", "netns", "exec", self.name, *argv], **kwargs)
        self._lab._track(proc)
        return proc

    def bound(self, protocol):
        """The set of "ip:port" local endpoints listening in the namespace (protocol "udp" or
        "tcp"; UDP sockets count when bound)."""
        flag = {"udp": "-Hlun", "tcp": "-Hltn"}[protocol]
        lines = self.run(["ss", flag], check=True).stdout.splitlines()
        return {line.split()[3] for line in lines if len(line.split()) > 3}

    def wait_bound(self, protocol, endpoints, timeout):
        """Waits until every "ip:port" of endpoints listens (a wildcard bind on its port counts);
        returns whether they all did within timeout."""
        def all_bound():
            bound = self.bound(protocol)
            return all(e in bound or f"0.0.0.0:{e.rsplit(':', 1)[1]}" in bound
                       or f"*:{e.rsplit(':', 1)[1]}" in bound for e in endpoints)
        return wait_until(all_bound, timeout)

    def wait_udp_bound(self, endpoints, timeout):
        return self.wait_bound("udp", endpoints, timeout)

    def udp_bound_any(self, endpoints):
        bound = self.bound("udp")
        return any(e in bound for e in endpoints)

    def iproute(self, *args):
        _run(["ip", "-n", self.name, *args])

    def sysctl(self, *settings):
        self.run(["sysctl", "-qw", *settings], check=True)

    def __repr__(self):
        return f"Namespace({self.name})"


class Server(Namespace):
    """The public server namespace, holding both SERVER_IPS."""
    ips = SERVER_IPS

    @property
    def ip(self):        # noqa: D401 - the primary address
        return SERVER_IPS[0]


class Host(Namespace):
    """A host behind a router of nat_type (or on the public segment when Open).
    .ip is the host's own address, .public_ip the address the internet sees (the router's wan
    address; the host's own when Open), .router the router's Namespace (None when Open), .ip6
    the host's global IPv6 address in a Lab(ipv6=True) (None otherwise)."""

    def __init__(self, lab, name, nat_type, ip, public_ip, router, ip6=None):
        super().__init__(lab, name)
        self.nat_type = nat_type
        self.ip = ip
        self.public_ip = public_ip
        self.router = router
        self.ip6 = ip6

    def flush_nat_state(self):
        """Forgets every mapping and filter entry of the router (conntrack, ipset)."""
        if self.router is None:
            return
        self.router.run(["conntrack", "-F"], check=True)
        if self.nat_type == "Restricted":
            self.router.run(["ipset", "flush", "contacted"], check=True)

    def __repr__(self):
        return f"Host({self.nat_type}, ns={self.name}, ip={self.ip}, public_ip={self.public_ip})"


class Lab:
    """Context manager: builds the internet and server namespaces on enter, hosts on add_host,
    and removes everything on exit."""

    def __init__(self, ipv6=False):
        self.tag = _new_tag()
        self.ipv6 = ipv6    # global IPv6 on the hosts too (see the module docstring)
        self._wan6 = []     # (namespace, router wan IPv6 or None, lan prefix or None) on br0
        # Logs and files of the lab's processes; kept after the run when NATLAB_KEEP_LOGS is set.
        self.workdir = tempfile.mkdtemp(prefix=f"{self.tag}-")
        self.hosts = []
        self.server = None
        self._namespaces = []
        self._procs = []
        self._lock = threading.Lock()
        self._internet = None
        self._old_sigterm = None

    # -- life cycle ---------------------------------------------------------------------------

    def __enter__(self):
        self._catch_sigterm()
        try:
            cleanup_leftovers()
            self._internet = self._new_namespace("inet")
            self._internet.iproute("link", "add", "br0", "type", "bridge")
            self._internet.iproute("link", "set", "br0", "up")
            if self.ipv6:
                # No querier on this segment: MLD snooping would otherwise drop Neighbor
                # Discovery multicast once its entries age out.
                self._internet.iproute("link", "set", "br0", "type", "bridge", "mcast_snooping", "0")
            self.server = self._new_namespace("srv", Server)
            self._plug_into_internet(self.server, "eth0", "srv")
            for address in SERVER_IPS:
                self.server.iproute("addr", "add", f"{address}/{PUBLIC_PREFIX_LEN}", "dev", "eth0")
            self.server.iproute("link", "set", "eth0", "up")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        """Stops the lab's processes and deletes its namespaces (idempotent)."""
        self._hold_sigterm()
        with self._lock:
            procs, self._procs = self._procs, []
            namespaces, self._namespaces = self._namespaces, []
        for proc in procs:
            try:
                stop_process(proc)
            except subprocess.TimeoutExpired:
                pass    # unkillable for now: _delete_namespace SIGKILLs it again
        for ns in reversed(namespaces):
            _delete_namespace(ns)
        if self.workdir and not os.environ.get("NATLAB_KEEP_LOGS"):
            shutil.rmtree(self.workdir, ignore_errors=True)
        self._restore_sigterm()

    # ctest, CI runners and `kill` stop a test with SIGTERM, which would end Python without
    # running __exit__. While a lab exists, SIGTERM raises KeyboardInterrupt instead (as Ctrl-C
    # does): a script unwinds through __exit__, and pytest stops the session and runs its
    # fixtures' teardown. Only the main thread can set handlers; a handler someone else
    # installed is left alone.
    def _catch_sigterm(self):
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            def on_sigterm(signum, frame):
                raise KeyboardInterrupt(f"signal {signum}")
            self._old_sigterm = signal.signal(signal.SIGTERM, on_sigterm)

    def _hold_sigterm(self):
        # A second SIGTERM must not interrupt the teardown itself.
        if self._old_sigterm is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, signal.SIG_IGN)

    def _restore_sigterm(self):
        if self._old_sigterm is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._old_sigterm)
            self._old_sigterm = None

    def _track(self, proc):
        with self._lock:
            self._procs.append(proc)

    # -- building -----------------------------------------------------------------------------

    def _new_namespace(self, role, cls=Namespace, **kwargs):
        name = f"{self.tag}-{role}"
        _run(["ip", "netns", "add", name])
        with self._lock:
            self._namespaces.append(name)
        ns = cls(self, name, **kwargs)
        ns.iproute("link", "set", "lo", "up")
        if self.ipv6 and role != "inet":
            # Addresses usable at once (no DAD) and no router advertisements in the lab.
            ns.sysctl("net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
                      "net.ipv6.conf.all.accept_ra=0", "net.ipv6.conf.default.accept_ra=0")
        else:
            # IPv4 only: no router solicitations, DAD or link-local candidates in the lab.
            ns.sysctl("net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
        return ns

    def _enable_ipv6(self, ns, ifname, address):
        """IPv6 on ns's ifname (it may have come from a namespace where it was off) with
        address ("addr/len"), usable at once."""
        ns.sysctl(f"net.ipv6.conf.{ifname}.disable_ipv6=0", f"net.ipv6.conf.{ifname}.accept_dad=0")
        ns.iproute("-6", "addr", "add", address, "dev", ifname, "nodad")

    def _join_wan6(self, ns, wan_ip6=None, lan_prefix=None):
        """Routes between ns (on the public segment) and every router's IPv6 lan: ns learns
        the existing lans, and when ns is a router (wan_ip6, lan_prefix) the others learn its."""
        for other, other_wan, other_prefix in self._wan6:
            if other_prefix:
                ns.iproute("-6", "route", "add", other_prefix, "via", other_wan)
            if lan_prefix:
                other.iproute("-6", "route", "add", lan_prefix, "via", wan_ip6)
        self._wan6.append((ns, wan_ip6, lan_prefix))

    def _plug_into_internet(self, ns, ifname, port_name):
        """A veth from ns (named ifname) to a port of the internet bridge."""
        ns.iproute("link", "add", ifname, "type", "veth", "peer", "name", port_name,
              "netns", self._internet.name)
        self._internet.iproute("link", "set", port_name, "master", "br0", "up")

    def add_host(self, nat_type):
        """A new host of nat_type (one of NAT_TYPES) with its own router; returns the Host."""
        if nat_type not in NAT_TYPES:
            raise ValueError(f"unknown NAT type {nat_type!r}; one of {', '.join(NAT_TYPES)}")
        index = len(self.hosts) + 1
        if index > 200:
            raise LabError("at most 200 hosts per lab")
        public_ip = f"203.0.113.{20 + index}"
        if nat_type == "Open":
            host = self._new_namespace(f"h{index}", Host, nat_type=nat_type, ip=public_ip,
                                       public_ip=public_ip, router=None)
            self._plug_into_internet(host, "eth0", f"h{index}")
            host.iproute("addr", "add", f"{public_ip}/{PUBLIC_PREFIX_LEN}", "dev", "eth0")
            if self.ipv6:
                host.ip6 = f"2001:db8::{20 + index}"
                self._enable_ipv6(host, "eth0", f"{host.ip6}/64")
            host.iproute("link", "set", "eth0", "up")
            if self.ipv6:
                self._join_wan6(host)    # routes need the link up
        else:
            lan_gateway, host_ip = f"10.0.{index}.1", f"10.0.{index}.2"
            router = self._new_namespace(f"r{index}")
            self._plug_into_internet(router, "wan0", f"r{index}")
            router.iproute("addr", "add", f"{public_ip}/{PUBLIC_PREFIX_LEN}", "dev", "wan0")
            router.iproute("link", "set", "wan0", "up")
            host = self._new_namespace(f"h{index}", Host, nat_type=nat_type, ip=host_ip,
                                       public_ip=public_ip, router=router)
            host.iproute("link", "add", "eth0", "type", "veth", "peer", "name", "lan0",
                    "netns", router.name)
            router.iproute("addr", "add", f"{lan_gateway}/24", "dev", "lan0")
            router.iproute("link", "set", "lan0", "up")
            host.iproute("addr", "add", f"{host_ip}/24", "dev", "eth0")
            host.iproute("link", "set", "eth0", "up")
            host.iproute("route", "add", "default", "via", lan_gateway)
            router.sysctl("net.ipv4.ip_forward=1")
            if self.ipv6:
                self._add_ipv6_lan(router, host, index)
            for rule in router_rules(nat_type, public_ip, host_ip):
                router.run(rule, check=True)
            host.flush_nat_state()
        self.hosts.append(host)
        return host

    def _add_ipv6_lan(self, router, host, index):
        """Router index forwards IPv6 between its lan 2001:db8:index::/64 and the public segment,
        without NAT."""
        wan_ip6, lan_prefix = f"2001:db8::{20 + index}", f"2001:db8:{index}::/64"
        self._enable_ipv6(router, "wan0", f"{wan_ip6}/64")
        self._enable_ipv6(router, "lan0", f"2001:db8:{index}::1/64")
        router.sysctl("net.ipv6.conf.all.forwarding=1")
        host.ip6 = f"2001:db8:{index}::2"
        self._enable_ipv6(host, "eth0", f"{host.ip6}/64")
        host.iproute("-6", "route", "add", "default", "via", f"2001:db8:{index}::1")
        self._join_wan6(router, wan_ip6, lan_prefix)

    def add_pair(self, nat_type_a, nat_type_b):
        """Two hosts, each behind its own router: the usual shape of a connection test."""
        return self.add_host(nat_type_a), self.add_host(nat_type_b)

    def flush_nat_state(self):
        """Forgets every router's mappings and filters, as a freshly built lab."""
        for host in self.hosts:
            host.flush_nat_state()


def stop_process(proc, grace=STOP_GRACE_S):
    """SIGTERM, then SIGKILL after grace seconds; reaps the process and returns its exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_GRACE_S)
    return proc.returncode


def wait_until(predicate, timeout, interval=0.05):
    """Polls predicate until it is true or timeout passes; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def run_parallel(fn, items):
    """fn(value) for every value of the dict items, each in its own thread (hosts behind
    different routers do not disturb each other). Returns {key: Future} once all are done;
    .result() returns fn's value or raises its exception, so one failure stays one test's."""
    with ThreadPoolExecutor(max_workers=max(1, len(items))) as pool:
        futures = {key: pool.submit(fn, value) for key, value in items.items()}
    return futures
