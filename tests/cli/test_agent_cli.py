"""orbitmesh-agent as users call it: help, usage errors, the commands not built yet, and the
commands that work now (version, plugins, datagram-demo). OM_AGENT names the binary;
OM_PLUGIN_PATH points at the build's plugins."""
import json
import os
import unittest

from cli_run import describe, run

AGENT = os.environ["OM_AGENT"]
CONTRACT_OPTIONS = [
    "--server", "--id", "--token", "--bind", "--turn-server", "--turn-port", "--turn-user",
    "--turn-pass", "--stun-server", "--stun-port", "--no-p2p", "--no-fallback", "--timeout-ms",
    "--plugin", "--log-level", "--count", "--size", "--mode", "--transport", "--seconds",
    "--plugin-option", "--version", "--help",
]
# The rest of P2POptions, and 0.4's channels and identity.
NEW_OPTIONS = ["--keep-alive-ms", "--disconnect-timeout-ms", "--punch-retries", "--punch-interval-ms",
               "--mtu", "--no-reliable", "--no-unreliable", "--identity-file", "--channel",
               "--busy-poll-us"]
COMMANDS = ["netcheck", "listen", "connect", "bench", "plugins", "version", "datagram-demo"]
SERVER_ARGS = ["--server", "ws://127.0.0.1:9", "--id", "a", "--bind", "127.0.0.1"]


def agent(*args, **kwargs):
    return run([AGENT, *args], **kwargs)


class Help(unittest.TestCase):
    def test_help_lists_every_option_and_command(self):
        for flag in ("--help", "-h"):
            r = agent(flag)
            self.assertEqual(r.returncode, 0, describe(r))
            for name in CONTRACT_OPTIONS + NEW_OPTIONS + COMMANDS:
                self.assertIn(name, r.stdout, f"{name} missing from {flag}")
            for word in ("transport", "nat-discovery", "strategy", "turn", "delivery",
                         "reliable-ordered", "reliable-unordered", "unreliable", "sequenced",
                         "auto", "p2p", "server", "--exclude-interfaces", "peer_state_changed",
                         "planned_strategy", "peer_writable", "rtt_ms_p50", "retransmits",
                         "cipher_suite", "remote_fingerprint"):
                self.assertIn(word, r.stdout)

    def test_help_wins_over_other_arguments(self):
        r = agent("connect", "--count", "x", "--help")
        self.assertEqual(r.returncode, 0, describe(r))


class TurnOptions(unittest.TestCase):
    """The TURN options reach om_agent_create, which checks them together and names the one at
    fault (exit 2, nothing on stdout)."""
    CASES = {
        "turn_username is set without turn_server": ["--turn-user", "u"],
        "turn_password is set without turn_username": ["--turn-server", "127.0.0.1", "--turn-pass", "p"],
    }

    def test_inconsistent_turn_options_exit_2_naming_the_option(self):
        for says, args in self.CASES.items():
            for command in ("netcheck", "listen"):
                with self.subTest(says=says, command=command):
                    r = agent(*SERVER_ARGS, *args, command)
                    self.assertEqual(r.returncode, 2, describe(r))
                    self.assertIn(f"orbitmesh-agent: {command}: {says}", r.stderr)
                    self.assertEqual(r.stdout, "")

    def test_every_option_may_be_given_with_turn_and_follow_the_command(self):
        # Validation passes: what fails is reaching the server at SERVER_ARGS (exit 1, not 2).
        r = agent("connect", "b", *SERVER_ARGS, "--count=5", "--transport=turn", "--turn-server", "127.0.0.1",
                  "--turn-user", "u", "--turn-pass", "p", "--timeout-ms", "500")
        self.assertEqual(r.returncode, 1, describe(r))


class UsageErrors(unittest.TestCase):
    CASES = [
        [],
        ["frobnicate"],
        ["--frob", "netcheck"],
        [*SERVER_ARGS, "connect"],
        [*SERVER_ARGS, "bench"],
        [*SERVER_ARGS, "connect", "b", "c"],
        [*SERVER_ARGS, "connect", "b", "--count", "abc"],
        [*SERVER_ARGS, "connect", "b", "--count", "0"],
        [*SERVER_ARGS, "connect", "b", "--count", "12x"],
        [*SERVER_ARGS, "connect", "b", "--size", "-1"],
        [*SERVER_ARGS, "connect", "b", "--mode", "fast"],
        [*SERVER_ARGS, "connect", "b", "--transport", "pigeon"],
        [*SERVER_ARGS, "connect", "b", "--seconds", "3"],
        [*SERVER_ARGS, "bench", "b", "--seconds", "0"],
        [*SERVER_ARGS, "bench", "b", "--transport", "pigeon"],
        [*SERVER_ARGS, "bench", "b", "--size", "8"],
        [*SERVER_ARGS, "bench", "b", "--count", "3"],
        [*SERVER_ARGS, "connect", "b", "--channel", "256"],
        [*SERVER_ARGS, "connect", "b", "--channel", "-1"],
        [*SERVER_ARGS, "connect", "b", "--channel", "x"],
        [*SERVER_ARGS, "bench", "b", "--channel", "1000"],
        [*SERVER_ARGS, "listen", "--channel", "3"],
        [*SERVER_ARGS, "--keep-alive-ms", "0", "listen"],
        [*SERVER_ARGS, "--keep-alive-ms", "soon", "listen"],
        [*SERVER_ARGS, "--disconnect-timeout-ms", "0", "listen"],
        [*SERVER_ARGS, "--disconnect-timeout-ms", "1000", "--keep-alive-ms", "2000", "listen"],
        [*SERVER_ARGS, "--punch-retries", "-1", "listen"],
        [*SERVER_ARGS, "--punch-retries", "many", "listen"],
        [*SERVER_ARGS, "--punch-interval-ms", "0", "listen"],
        [*SERVER_ARGS, "--mtu", "1199", "listen"],
        [*SERVER_ARGS, "--mtu", "65508", "listen"],
        [*SERVER_ARGS, "--mtu", "big", "listen"],
        [*SERVER_ARGS, "--busy-poll-us", "-1", "listen"],
        [*SERVER_ARGS, "--busy-poll-us", "10001", "listen"],
        [*SERVER_ARGS, "--no-reliable=1", "listen"],
        [*SERVER_ARGS, "--no-unreliable=yes", "listen"],
        [*SERVER_ARGS, "--identity-file", "", "listen"],
        [*SERVER_ARGS, "--identity-file"],
        [*SERVER_ARGS, "--no-reliable", "connect", "b"],
        [*SERVER_ARGS, "--no-reliable", "connect", "b", "--mode", "reliable-unordered"],
        [*SERVER_ARGS, "--no-unreliable", "connect", "b", "--mode", "sequenced"],
        [*SERVER_ARGS, "--no-unreliable", "bench", "b", "--mode", "unreliable"],
        [*SERVER_ARGS, "--no-reliable", "--no-unreliable", "listen"],
        [*SERVER_ARGS, "listen", "--count", "3"],
        [*SERVER_ARGS, "connect", "b", "--count"],
        [*SERVER_ARGS, "--timeout-ms", "soon", "netcheck"],
        [*SERVER_ARGS, "--turn-port", "70000", "netcheck"],
        [*SERVER_ARGS, "--stun-port", "0", "netcheck"],
        [*SERVER_ARGS, "--plugin", "engine=udp", "netcheck"],
        [*SERVER_ARGS, "--plugin", "transport", "netsim"],
        [*SERVER_ARGS, "--plugin", "transport=udp", "--plugin", "transport=netsim", "netcheck"],
        [*SERVER_ARGS, "--plugin-option", "netsim=1", "netcheck"],
        [*SERVER_ARGS, "--plugin-option", "netsim.loss", "netcheck"],
        [*SERVER_ARGS, "--log-level", "loud", "netcheck"],
        [*SERVER_ARGS, "--no-p2p=yes", "netcheck"],
        [*SERVER_ARGS, "--exclude-interfaces", "", "netcheck"],
        [*SERVER_ARGS, "--exclude-interfaces", "eth0,,eth1", "netcheck"],
        [*SERVER_ARGS, "--exclude-interfaces", "eth0,", "netcheck"],
        [*SERVER_ARGS, "--exclude-interfaces", "eth 0", "netcheck"],
        [*SERVER_ARGS, "--exclude-interfaces", "do*cker", "netcheck"],
        [*SERVER_ARGS, "netcheck", "--exclude-interfaces"],
        ["--server", "http://127.0.0.1:9", "--id", "a", "listen"],
        ["--server", "ws://127.0.0.1", "--id", "a", "listen"],
        ["--server", "ws://127.0.0.1:9", "--bind", "not-an-ip", "netcheck"],
        ["--id", "a", "listen"],
        ["--server", "ws://127.0.0.1:9", "listen"],
        ["netcheck"],
        ["datagram-demo", "--size", "4"],
        ["datagram-demo", "--mode", "unreliable"],
        ["version", "extra"],
    ]

    def test_usage_errors_exit_2_with_a_message(self):
        for args in self.CASES:
            with self.subTest(args=args):
                r = agent(*args)
                self.assertEqual(r.returncode, 2, describe(r))
                self.assertTrue(r.stderr.startswith("orbitmesh-agent: "), describe(r))
                self.assertNotIn("not yet supported", r.stderr)
                self.assertEqual(r.stdout, "")


class WorkingCommands(unittest.TestCase):
    def test_version(self):
        for args in (["version"], ["--version"]):
            r = agent(*args)
            self.assertEqual(r.returncode, 0, describe(r))
            self.assertIn("orbitmesh-agent 0.5.0", r.stdout)
            self.assertIn("liborbitmesh 0.5.0", r.stdout)

    def test_plugins_lists_udp_and_netsim(self):
        r = agent("plugins")
        self.assertEqual(r.returncode, 0, describe(r))
        plugins = json.loads(r.stdout)
        self.assertIsInstance(plugins, list)
        names = {p.get("name") for p in plugins if isinstance(p, dict)}
        self.assertIn("transport-udp", names, r.stdout)
        self.assertIn("netsim", names, r.stdout)


class DatagramDemo(unittest.TestCase):
    FIELDS = ["transport_plugin", "a_address", "b_address", "sent", "received_by_b", "echoed",
              "mtu", "elapsed_ms", "counters"]

    def demo(self, *args, expect=0):
        r = agent("--bind", "127.0.0.1", *args, "datagram-demo", timeout=120)
        self.assertEqual(r.returncode, expect, describe(r))
        if expect == 2:
            return r
        out = json.loads(r.stdout)
        for field in self.FIELDS:
            self.assertIn(field, out)
        self.assertTrue(out["a_address"].startswith("127.0.0.1:"), out)
        self.assertTrue(out["b_address"].startswith("127.0.0.1:"), out)
        self.assertGreater(out["mtu"], 0)
        self.assertEqual(out["corrupted"], 0)
        return out

    def test_udp_every_datagram_comes_back(self):
        out = self.demo("--count", "25", "--size", "200")
        self.assertEqual(out["transport_plugin"], "udp")
        self.assertEqual((out["sent"], out["received_by_b"], out["echoed"]), (25, 25, 25), out)
        self.assertIsInstance(out["counters"]["a"], dict)

    def test_udp_is_the_default_plugin_by_full_name_too(self):
        out = self.demo("--plugin", "transport=transport-udp", "--count", "3")
        self.assertEqual(out["echoed"], 3, out)

    def test_netsim_without_loss_delivers_everything(self):
        out = self.demo("--plugin", "transport=netsim:udp", "--count", "10")
        self.assertEqual(out["transport_plugin"], "netsim:udp")
        self.assertEqual(out["echoed"], 10, out)

    def test_netsim_with_loss_loses_some(self):
        out = self.demo("--plugin", "transport=netsim:udp", "--plugin-option", "netsim.loss=0.3",
                        "--plugin-option", "netsim.seed=7", "--count", "60")
        self.assertEqual(out["sent"], 60)
        self.assertTrue(out["loss_configured"])
        self.assertLessEqual(out["echoed"], out["received_by_b"])
        self.assertLess(out["received_by_b"], 60, out)
        self.assertLess(out["echoed"], 60, out)
        counters = json.dumps(out["counters"])
        self.assertIn("netsim", counters)

    def test_exclude_interfaces_is_accepted_before_and_after_the_command(self):
        # Bound to 127.0.0.1 the list changes nothing; it is parsed, repeatable, and reaches
        # the library (om_agent_options.exclude_interfaces) without a complaint.
        r = agent("--bind", "127.0.0.1", "--exclude-interfaces", "docker*,veth*", "datagram-demo",
                  "--count", "3", "--exclude-interfaces=wg0", timeout=120)
        self.assertEqual(r.returncode, 0, describe(r))
        self.assertEqual(json.loads(r.stdout)["echoed"], 3, r.stdout)

    def test_unknown_plugin_is_a_configuration_error(self):
        r = self.demo("--plugin", "transport=no-such-plugin", expect=2)
        self.assertIn("datagram-demo", r.stderr)

    def test_size_above_mtu_is_a_configuration_error(self):
        r = self.demo("--size", "60000", expect=2)
        self.assertIn("MTU", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
