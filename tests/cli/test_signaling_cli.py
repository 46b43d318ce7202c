"""orbitmesh-agent listen / connect against a real orbitmesh-server started here (CONTRACT.md).
OM_AGENT and OM_SERVER name the binaries. Every process is killed at the end of its test and
every wait is bounded; all traffic stays on 127.0.0.1."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest
import urllib.request

from cli_run import describe, run

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from coturn import Coturn  # noqa: E402  (tests/support, shared with the Python tests)

AGENT = os.environ["OM_AGENT"]
SERVER = os.environ["OM_SERVER"]
CONNECT_FIELDS = ["status", "transport", "strategy", "local_candidate", "remote_candidate",
                  "local_nat", "remote_nat", "connect_ms", "rtt_ms", "sent", "echoed",
                  "bytes_sent", "bytes_received", "packet_loss", "diagnosis"]
# Beyond the CONTRACT, after its fields: the strategy chosen, the mode and channel, the QUIC
# session's metrics (0.4), and the pairs tried.
EXTRA_FIELDS = ["planned_strategy", "mode", "channel", "rtt_var_ms", "min_rtt_ms", "cwnd", "bytes_in_flight",
                "packets_sent", "packets_received", "packets_lost", "retransmits", "send_queue_bytes",
                "congestion_control", "cipher_suite", "local_fingerprint", "remote_fingerprint",
                "would_block", "pairs"]
BENCH_FIELDS = ["transport", "seconds", "messages", "bytes", "mbit_per_s", "msgs_per_s", "rtt_ms_p50",
                "rtt_ms_p99", "retransmits"]
FINGERPRINT = re.compile(r"^([0-9A-F]{2}:){31}[0-9A-F]{2}$")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    """A background process whose stdout lines are collected by a thread."""

    def __init__(self, argv):
        self.argv = argv
        self.lines = []
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.stderr = ""

    def _read(self):
        for line in self.p.stdout:
            self.lines.append(line.rstrip("\n"))

    def events(self):
        out = []
        for line in list(self.lines):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def wait_for_event(self, name, timeout=10.0, **fields):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for e in self.events():
                if e.get("event") == name and all(e.get(k) == v for k, v in fields.items()):
                    return e
            if self.p.poll() is not None and not self.reader.is_alive():
                break
            time.sleep(0.05)
        return None

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.p.poll() is None:
            self.p.send_signal(sig)
        try:
            self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(timeout=5)
        self.reader.join(timeout=5)
        self.stderr = self.p.stderr.read()
        self.p.stderr.close()
        return self.p.returncode

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(timeout=5)
        self.reader.join(timeout=5)
        for f in (self.p.stdout, self.p.stderr):
            try:
                f.close()
            except Exception:
                pass

    def describe(self):
        return f"{self.argv}\nstdout:\n" + "\n".join(self.lines) + f"\nstderr:\n{self.stderr}"


class SignalingCase(unittest.TestCase):
    SECRET = None
    STUN_ARGS = ["--stun-port", "0"]  # no STUN unless a test asks: parallel tests never collide

    def setUp(self):
        self.procs = []
        self.port = free_port()
        auth = ["--secret", self.SECRET] if self.SECRET else ["--open"]
        self.server = self.start([SERVER, "--bind", "127.0.0.1", "--http-port", str(self.port),
                                  *self.STUN_ARGS, *auth])
        deadline = time.monotonic() + 15
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if self.server.p.poll() is not None or time.monotonic() > deadline:
                self.server.stop()
                self.fail("orbitmesh-server did not serve:\n" + self.server.describe())
            time.sleep(0.05)
        self.url = f"ws://127.0.0.1:{self.port}"

    def tearDown(self):
        for p in self.procs:
            p.kill()

    def start(self, argv):
        p = Proc(argv)
        self.procs.append(p)
        return p

    def agent_args(self, agent_id, token=None):
        args = ["--server", self.url, "--id", agent_id, "--bind", "127.0.0.1", "--timeout-ms", "8000"]
        if token:
            args += ["--token", token]
        return args

    def listen(self, agent_id="b", token=None, extra=()):
        p = self.start([AGENT, *self.agent_args(agent_id, token), *extra, "listen"])
        connected = p.wait_for_event("connected", timeout=10)
        if connected is None:
            p.stop()
            self.fail("listen did not connect:\n" + p.describe())
        return p

    def connect(self, peer, *extra, agent_id="a", token=None, timeout=60):
        r = run([AGENT, *self.agent_args(agent_id, token), "connect", peer, *extra], timeout=timeout)
        lines = [line for line in r.stdout.splitlines() if line.strip()]
        result = json.loads(lines[-1]) if lines else None
        return r, result


class ListenConnect(SignalingCase):
    def check_fields(self, result, r):
        self.assertIsNotNone(result, describe(r))
        self.assertEqual(list(result.keys()), CONNECT_FIELDS + EXTRA_FIELDS, describe(r))
        self.assertIsInstance(result["pairs"], list, describe(r))

    def test_reliable_ordered_every_echo_comes_back(self):
        listener = self.listen("b")
        r, result = self.connect("b", "--transport", "server", "--count", "200", "--size", "100",
                                 "--mode", "reliable-ordered")
        self.assertEqual(r.returncode, 0, describe(r))
        self.check_fields(result, r)
        self.assertEqual(result["status"], "Connected")
        self.assertEqual(result["transport"], "ServerRelay")
        self.assertEqual(result["strategy"], "ServerRelay")
        self.assertEqual(result["sent"], 200)
        self.assertEqual(result["echoed"], 200)
        self.assertEqual(result["bytes_sent"], 200 * 100)
        self.assertEqual(result["bytes_received"], 200 * 100)
        self.assertEqual(result["packet_loss"], 0)
        self.assertIsInstance(result["connect_ms"], (int, float))
        self.assertTrue(result["diagnosis"], "relay without a reason for not being direct")
        self.assertEqual(result["pairs"], [], "the relay was asked for: no pair was checked")
        connected = listener.wait_for_event("peer_connected", peer="a")
        self.assertIsNotNone(connected, listener.describe())
        self.assertEqual((connected["transport"], connected["strategy"]), ("ServerRelay", "ServerRelay"),
                         listener.describe())
        self.assertEqual(listener.stop(), 0, listener.describe())
        stopped = [e for e in listener.events() if e.get("event") == "stopped"]
        self.assertEqual(len(stopped), 1, listener.describe())
        self.assertEqual(stopped[0]["messages"], 200)
        self.assertEqual(stopped[0]["peers"]["a"]["bytes"], 200 * 100)
        # Compact: no line per message.
        self.assertLess(len(listener.lines), 20, listener.describe())

    def test_listen_waits_out_a_full_send_queue_and_echoes_everything_in_order(self):
        # 60 KB echoes into a 64 KiB session queue: nearly every echo meets OM_ERR_WOULD_BLOCK,
        # waits for the peer's writable event (sent from the listener's loop thread) and goes
        # then, behind the ones before it. connect checks each echo's content and order.
        listener = self.listen("b", extra=["--plugin-option", "delivery-quic.send_queue_bytes=65536"])
        r, result = self.connect("b", "--transport", "p2p", "--count", "120", "--size", "60000",
                                 "--mode", "reliable-ordered")
        self.assertEqual(r.returncode, 0, describe(r))
        self.assertEqual(result["echoed"], 120, describe(r))
        self.assertEqual(listener.stop(), 0, listener.describe())
        stopped = [e for e in listener.events() if e.get("event") == "stopped"]
        self.assertEqual(len(stopped), 1, listener.describe())
        self.assertEqual(stopped[0]["echo_failures"], 0, listener.describe())
        self.assertGreater(stopped[0]["would_block"], 10, listener.describe())
        self.assertGreater(stopped[0]["peers"]["a"]["writable"], 10, listener.describe())
        self.assertFalse([e for e in listener.events() if e.get("event") == "echo_failed"], listener.describe())

    def test_unreliable_and_auto(self):
        listener = self.listen("b")
        r, result = self.connect("b", "--transport", "server", "--count", "50", "--mode", "unreliable")
        self.assertEqual(r.returncode, 0, describe(r))
        self.check_fields(result, r)
        self.assertEqual(result["status"], "Connected")
        self.assertEqual(result["sent"], 50)
        self.assertLessEqual(result["echoed"], 50)
        # Reliable modes over P2P wait for the delivery plugin: the relay carries them now.
        r, result = self.connect("b", "--transport", "server", "--count", "20", "--mode", "reliable-unordered",
                                 agent_id="a2")
        self.assertEqual(r.returncode, 0, describe(r))
        self.assertEqual(result["echoed"], 20)
        self.assertEqual(result["transport"], "ServerRelay")
        self.assertEqual(listener.stop(signal.SIGINT), 0, listener.describe())

    def test_unknown_peer_fails_with_a_diagnosis(self):
        r, result = self.connect("nobody", "--transport", "server", "--count", "3", timeout=30)
        self.assertEqual(r.returncode, 1, describe(r))
        self.check_fields(result, r)
        self.assertNotEqual(result["status"], "Connected")
        self.assertEqual(result["sent"], 0)
        self.assertIn("nobody", result["diagnosis"])

    def test_turn_without_a_turn_server_fails_saying_why(self):
        r, result = self.connect("b", "--transport", "turn", timeout=30)
        self.assertEqual(r.returncode, 1, describe(r))
        self.assertIn("TURN is not configured", r.stdout + r.stderr, describe(r))

    def test_turn_through_coturn_echoes_every_message(self):
        if not Coturn.available:
            self.skipTest("SKIPPED: turnserver missing (apt-get install coturn)")
        with Coturn(user="cli:secret") as turn:
            turn_args = ["--turn-server", "127.0.0.1", "--turn-port", str(turn.port), "--turn-user", "cli",
                         "--turn-pass", "secret"]
            listener = self.listen("b", extra=turn_args)
            r, result = self.connect("b", *turn_args, "--transport", "turn", "--count", "200", "--size", "500",
                                     "--mode", "reliable-ordered")
            self.assertEqual(r.returncode, 0, describe(r) + turn.log())
            self.assertEqual(result["transport"], "TurnRelay", describe(r))
            self.assertEqual(result["strategy"], "TurnRelay", describe(r))
            self.assertIn("typ relay", result["local_candidate"], describe(r))
            self.assertEqual(result["echoed"], 200, describe(r))
            self.assertEqual(result["packet_loss"], 0, describe(r))
            connected = listener.wait_for_event("peer_connected", peer="a")
            self.assertIsNotNone(connected, listener.describe())
            self.assertEqual(connected["transport"], "TurnRelay", listener.describe())
            self.assertEqual(listener.stop(), 0, listener.describe())

    def test_p2p_carries_unreliable_messages_and_listen_reports_the_path(self):
        listener = self.listen("b")
        r, result = self.connect("b", "--transport", "p2p", "--count", "30", "--mode", "unreliable")
        self.assertEqual(r.returncode, 0, describe(r))
        self.check_fields(result, r)
        self.assertEqual(result["status"], "Connected")
        self.assertEqual(result["transport"], "P2P")
        self.assertIn(result["strategy"], ("DirectConnect", "UdpHolePunch"))
        self.assertTrue(result["local_candidate"].startswith("candidate:"), result)
        self.assertIn(" 127.0.0.1 ", result["remote_candidate"])
        self.assertTrue(result["pairs"], "a direct connection lists the pairs it checked")
        self.assertTrue(any(p.get("state") == "succeeded" for p in result["pairs"]), result["pairs"])
        self.assertEqual(result["sent"], 30)
        self.assertGreater(result["echoed"], 0)  # loopback: in practice all of them
        connected = listener.wait_for_event("peer_connected", peer="a")
        self.assertIsNotNone(connected, listener.describe())
        self.assertEqual(connected["transport"], "P2P", listener.describe())
        self.assertEqual(listener.stop(), 0, listener.describe())

    def test_every_mode_on_channel_3_over_p2p_and_the_relay(self):
        # connect checks that each echo came back intact, on the channel and in the mode it went
        # with (else exit 1 naming the misrouted echoes); the listener echoes on the same channel.
        listener = self.listen("b")
        fingerprints = set()
        for transport, expected in (("p2p", "P2P"), ("server", "ServerRelay")):
            for mode in ("reliable-ordered", "reliable-unordered", "unreliable", "sequenced"):
                time.sleep(0.15)
                r, result = self.connect("b", "--transport", transport, "--count", "15", "--size", "300",
                                         "--mode", mode, "--channel", "3")
                self.assertEqual(r.returncode, 0, describe(r))
                self.check_fields(result, r)
                self.assertEqual((result["status"], result["transport"]), ("Connected", expected), describe(r))
                self.assertEqual((result["mode"], result["channel"]), (mode, 3))
                self.assertEqual(result["sent"], 15)
                if mode.startswith("reliable"):
                    self.assertEqual(result["echoed"], 15, describe(r))
                    self.assertEqual(result["packet_loss"], 0)
                else:
                    self.assertGreater(result["echoed"], 0, describe(r))
                self.assertTrue(result["cipher_suite"].startswith("TLS_"), result)
                self.assertIsInstance(result["congestion_control"], str)
                self.assertGreater(result["cwnd"], 0)
                self.assertGreater(result["packets_sent"], 0)
                for key in ("rtt_var_ms", "min_rtt_ms", "bytes_in_flight", "packets_lost", "retransmits",
                            "send_queue_bytes", "would_block"):
                    self.assertIsInstance(result[key], (int, float), key)
                self.assertRegex(result["local_fingerprint"], FINGERPRINT)
                self.assertRegex(result["remote_fingerprint"], FINGERPRINT)
                fingerprints.add(result["remote_fingerprint"])
        # The listener kept one identity; each connect run made a new one of its own.
        self.assertEqual(len(fingerprints), 1)
        self.assertEqual(listener.stop(), 0, listener.describe())
        self.assertFalse([e for e in listener.events() if e.get("event") == "echo_failed"], listener.describe())

    def test_large_reliable_messages_come_back_intact(self):
        listener = self.listen("b")
        for transport in ("p2p", "server"):
            time.sleep(0.15)
            r, result = self.connect("b", "--transport", transport, "--count", "4", "--size", str(1 << 20),
                                     "--mode", "reliable-ordered", "--channel", "7")
            self.assertEqual(r.returncode, 0, describe(r))
            self.assertEqual(result["echoed"], 4, describe(r))
            self.assertEqual(result["bytes_received"], 4 << 20)
        self.assertEqual(listener.stop(), 0, listener.describe())

    def test_p2p_options_are_accepted_and_identity_persists(self):
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            identity = os.path.join(tmp, "a.pem")
            opts = ["--keep-alive-ms", "2000", "--disconnect-timeout-ms", "12000", "--punch-retries", "5",
                    "--punch-interval-ms", "50", "--mtu", "1350", "--identity-file", identity]
            listener = self.listen("b")
            seen = []
            for mode, flag in (("reliable-ordered", "--no-unreliable"), ("sequenced", "--no-reliable")):
                time.sleep(0.15)
                r, result = self.connect("b", *opts, flag, "--transport", "p2p", "--count", "5", "--mode", mode)
                self.assertEqual(r.returncode, 0, describe(r))
                self.assertEqual(result["transport"], "P2P")
                self.assertGreater(result["echoed"], 0, describe(r))
                seen.append(result["local_fingerprint"])
            self.assertTrue(os.path.exists(identity))
            self.assertEqual(os.stat(identity).st_mode & 0o077, 0, "the identity file is private")
            self.assertEqual(seen[0], seen[1], "the identity file keeps the fingerprint")
            self.assertRegex(seen[0], FINGERPRINT)
            # A mode the local agent turned off is a usage error, before anything is sent.
            r, _ = self.connect("b", "--no-reliable", "--transport", "p2p", "--mode", "reliable-ordered")
            self.assertEqual(r.returncode, 2, describe(r))
            self.assertEqual(r.stdout, "")
            self.assertEqual(listener.stop(), 0, listener.describe())

    def bench(self, peer, *extra, agent_id="a", timeout=90):
        r = run([AGENT, *self.agent_args(agent_id), "bench", peer, *extra], timeout=timeout)
        lines = [line for line in r.stdout.splitlines() if line.strip()]
        return r, (json.loads(lines[-1]) if lines else None)

    def test_bench_over_p2p_and_the_relay(self):
        listener = self.listen("b")
        for transport, expected, mode in (("p2p", "P2P", "reliable-ordered"), ("server", "ServerRelay", "reliable-ordered"),
                                          ("p2p", "P2P", "unreliable")):
            time.sleep(0.15)
            r, result = self.bench("b", "--transport", transport, "--seconds", "1", "--size", "1000",
                                   "--mode", mode, "--channel", "2")
            self.assertEqual(r.returncode, 0, describe(r))
            self.assertIsNotNone(result, describe(r))
            self.assertEqual(list(result.keys())[:len(BENCH_FIELDS)], BENCH_FIELDS, describe(r))
            self.assertEqual(result["transport"], expected)
            self.assertGreater(result["messages"], 0, describe(r))
            self.assertEqual(result["bytes"], result["messages"] * 1000)
            self.assertGreater(result["seconds"], 0.5)
            self.assertLess(result["seconds"], 10)
            self.assertGreater(result["mbit_per_s"], 0)
            self.assertGreater(result["msgs_per_s"], 0)
            self.assertGreater(result["rtt_ms_p50"], 0, describe(r))
            self.assertGreaterEqual(result["rtt_ms_p99"], result["rtt_ms_p50"])
            self.assertLess(result["rtt_ms_p50"], 1000)
            self.assertIsInstance(result["retransmits"], int)
            self.assertEqual((result["mode"], result["channel"]), (mode, 2))
            if mode.startswith("reliable"):
                self.assertEqual(result["damaged"], 0)
        self.assertEqual(listener.stop(), 0, listener.describe())

    def test_bench_between_busy_polling_agents(self):
        # --busy-poll-us changes when the agents' threads sleep, nothing of what they deliver.
        listener = self.listen("b", extra=("--busy-poll-us", "200"))
        r, result = self.bench("b", "--busy-poll-us", "200", "--transport", "p2p", "--seconds", "1", "--size", "64")
        self.assertEqual(r.returncode, 0, describe(r))
        self.assertEqual(result["transport"], "P2P")
        self.assertGreater(result["messages"], 0, describe(r))
        self.assertEqual(result["damaged"], 0)
        self.assertGreater(result["rtt_ms_p50"], 0, describe(r))
        self.assertEqual(listener.stop(), 0, listener.describe())

    def test_bench_unknown_peer_fails(self):
        r, result = self.bench("nobody", "--transport", "server", "--seconds", "1", timeout=30)
        self.assertEqual(r.returncode, 1, describe(r))
        self.assertIsNotNone(result, describe(r))
        self.assertEqual(result["messages"], 0)
        self.assertIn("nobody", result["diagnosis"])

    def test_every_mode_over_p2p_and_the_relay(self):
        # The seed's default mode and the three others, direct and relayed: reliable modes get
        # every message back intact (exit 0), on the one encrypted connection.
        listener = self.listen("b")
        for transport, expected in (("p2p", "P2P"), ("server", "ServerRelay")):
            for mode in ("reliable-ordered", "reliable-unordered", "unreliable", "sequenced"):
                time.sleep(0.15)  # the listener refuses a peer's requests closer than 100 ms apart
                r, result = self.connect("b", "--transport", transport, "--count", "20", "--size", "700",
                                         "--mode", mode)
                self.assertEqual(r.returncode, 0, describe(r))
                self.check_fields(result, r)
                self.assertEqual((result["status"], result["transport"]), ("Connected", expected), describe(r))
                self.assertEqual(result["sent"], 20)
                if mode.startswith("reliable"):
                    self.assertEqual(result["echoed"], 20, describe(r))
                else:
                    self.assertGreater(result["echoed"], 0, describe(r))
        self.assertEqual(listener.stop(), 0, listener.describe())


class Tokens(SignalingCase):
    SECRET = "cli-test-secret"

    def token(self, agent_id, secret=None):
        r = run([SERVER, "token", "--secret", secret or self.SECRET, "--id", agent_id], timeout=20)
        self.assertEqual(r.returncode, 0, describe(r))
        return r.stdout.strip()

    def test_good_tokens_connect(self):
        listener = self.listen("b", token=self.token("b"))
        r, result = self.connect("b", "--transport", "server", "--count", "10", token=self.token("a"))
        self.assertEqual(r.returncode, 0, describe(r))
        self.assertEqual(result["echoed"], 10)
        self.assertEqual(listener.stop(), 0, listener.describe())

    def test_wrong_tokens_fail_without_hanging(self):
        forged = self.token("a", secret="not-the-secret")
        start = time.monotonic()
        r, result = self.connect("b", "--transport", "server", token=forged, timeout=30)
        self.assertEqual(r.returncode, 1, describe(r))
        self.assertIsNotNone(result, describe(r))
        self.assertNotEqual(result["status"], "Connected")
        self.assertIn("AUTH", result["diagnosis"])
        # A token for another id, and none at all.
        r, result = self.connect("b", "--transport", "server", token=self.token("someone-else"), timeout=30)
        self.assertEqual(r.returncode, 1, describe(r))
        r, result = self.connect("b", "--transport", "server", timeout=30)
        self.assertEqual(r.returncode, 1, describe(r))
        self.assertLess(time.monotonic() - start, 45)
        # listen exits 1 too, with an error line.
        p = self.start([AGENT, *self.agent_args("b", forged), "listen"])
        try:
            p.p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.fail("listen with a forged token did not give up")
        self.assertEqual(p.p.returncode, 1)
        self.assertIsNotNone(p.wait_for_event("error", timeout=2), p.describe())


if __name__ == "__main__":
    unittest.main(verbosity=2)
