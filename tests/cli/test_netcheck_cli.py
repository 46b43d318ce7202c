"""orbitmesh-agent netcheck against a real orbitmesh-server with its embedded STUN server, on
127.0.0.1 only (the NAT verdicts behind real NATs are tests/natlab's job). OM_AGENT and
OM_SERVER name the binaries; every process and wait is bounded."""
import json
import time
import unittest
import urllib.request

from cli_run import describe, run
from test_signaling_cli import AGENT, SignalingCase, free_port

NETCHECK_FIELDS = ["nat_type", "mapping", "filtering", "mapped_address", "local_address", "hairpin",
                   "server_ips_used"]


def netcheck(*args, timeout=30):
    started = time.monotonic()
    r = run([AGENT, *args, "netcheck"], timeout=timeout)
    return r, time.monotonic() - started


def one_json(result):
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, describe(result)
    return json.loads(lines[0])


class NetcheckWithServer(SignalingCase):
    def setUp(self):
        self.stun_port, self.alt_port = free_port(), free_port()
        self.STUN_ARGS = ["--stun-port", str(self.stun_port), "--stun-alt-port", str(self.alt_port)]
        super().setUp()

    def test_registers_and_reports_an_open_loopback(self):
        r, _ = netcheck("--server", self.url, "--id", "nc", "--bind", "127.0.0.1", "--timeout-ms", "5000")
        self.assertEqual(r.returncode, 0, describe(r))
        out = one_json(r)
        for field in NETCHECK_FIELDS:
            self.assertIn(field, out, describe(r))
        # Loopback translates nothing: the mapped address is the socket's own.
        self.assertEqual(out["nat_type"], "Open", out)
        self.assertEqual(out["mapping"], "EndpointIndependent", out)
        self.assertEqual(out["mapped_address"], out["local_address"], out)
        self.assertTrue(out["mapped_address"].startswith("127.0.0.1:"), out)
        # The server announced its STUN port; it has one IP (an alternate port only).
        self.assertEqual(out["stun_server"], f"127.0.0.1:{self.stun_port}", out)
        self.assertEqual(out["server_ips_used"], 1, out)
        self.assertIs(out["registered"], True, out)
        self.assertEqual(out["status"], "ok", out)

    def test_the_server_keeps_what_the_agent_reported(self):
        listener = self.listen("kept")
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/v1/agents", timeout=5) as reply:
            body = json.loads(reply.read())
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as reply:
            metrics = reply.read().decode()
        listener.stop()
        self.assertIn('orbitmesh_registrations_by_nat_total{nat_type="Open"} 1', metrics)
        details = {d["id"]: d for d in body["details"]}
        self.assertEqual(details["kept"]["nat"]["type"], "Open", body)
        self.assertTrue(details["kept"]["nat"]["mapped_address"].startswith("127.0.0.1:"), body)


class NetcheckWithoutAnswer(unittest.TestCase):
    def test_a_silent_stun_server_fails_within_the_timeout(self):
        port = free_port()  # nothing listens there
        r, took = netcheck("--stun-server", "127.0.0.1", "--stun-port", str(port), "--bind", "127.0.0.1",
                           "--timeout-ms", "1500")
        self.assertEqual(r.returncode, 1, describe(r))
        out = one_json(r)
        self.assertEqual(out["status"], "failed", out)
        self.assertEqual(out["nat_type"], "Unknown", out)
        self.assertEqual(out["server_ips_used"], 0, out)
        self.assertIn("OM_ERR_TIMEOUT", out["error"], out)
        self.assertLess(took, 10, describe(r))


if __name__ == "__main__":
    unittest.main()
