"""A real coturn (`turnserver` from Debian) on 127.0.0.1 for one test, loopback peers allowed
(TOOLCHAIN.md "coturn in tests"): a static user, or a shared secret for coturn's time-limited
credentials. `with Coturn(user="a:b") as turn:` gives turn.port; the process is killed on exit."""
import base64
import hashlib
import hmac
import shutil
import socket
import subprocess
import tempfile
import time


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rest_credentials(secret, name, ttl_s=3600):
    """coturn's use-auth-secret scheme: ("<expiry>:<name>", base64(HMAC-SHA1(secret, username)))."""
    username = "%d:%s" % (int(time.time()) + ttl_s, name)
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def _answers_binding(port):
    request = bytes([0, 1, 0, 0, 0x21, 0x12, 0xA4, 0x42]) + bytes(range(12))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.1)
        s.sendto(request, ("127.0.0.1", port))
        try:
            reply = s.recv(512)
        except OSError:
            return False
    return reply[:2] == b"\x01\x01"


class Coturn:
    available = shutil.which("turnserver") is not None

    def __init__(self, user=None, secret=None, realm="orbitmesh.test"):
        self.user, self.secret, self.realm = user, secret, realm
        self.port = 0
        self._process = None
        self._log = tempfile.TemporaryFile()

    def __enter__(self):
        for _ in range(3):
            self.port = free_udp_port()
            relay = 40000 + (self.port % 200) * 100
            args = ["turnserver", "-n", "--no-cli", "--no-tls", "--no-dtls", "--listening-ip", "127.0.0.1",
                    "--relay-ip", "127.0.0.1", "--listening-port", str(self.port), "--min-port", str(relay),
                    "--max-port", str(relay + 99), "--allow-loopback-peers", "--fingerprint",
                    "--realm", self.realm, "--log-file", "stdout", "--simple-log"]
            args += (["--use-auth-secret", "--static-auth-secret", self.secret] if self.secret
                     else ["--lt-cred-mech", "--user", self.user])
            self._process = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self._process.poll() is None:
                if _answers_binding(self.port):
                    return self
            self._stop()
        raise RuntimeError("coturn did not start: " + self.log())

    def __exit__(self, *exc):
        self._stop()
        self._log.close()

    def _stop(self):
        if self._process and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=10)

    def log(self):
        self._log.seek(0)
        return self._log.read().decode(errors="replace")
