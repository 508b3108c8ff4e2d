"""Start/stop a real `lakegate server` process for the end-to-end suite.

The server contract (see README): `lakegate server DATA_DIR --address 127.0.0.1:0
--console-address 127.0.0.1:0` prints exactly one line to stdout once it is ready:

    lakegate ready s3=http://127.0.0.1:PORT console=http://127.0.0.1:PORT

Logs go to stderr; we send them to a file so a failing test can show the tail.
"""

from __future__ import annotations

import atexit
import os
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_RE = re.compile(
    r"^lakegate ready s3=(?P<s3>https?://[^\s]+) console=(?P<console>https?://[^\s]+)\s*$"
)

ROOT_USER = os.environ.get("LAKEGATE_ROOT_USER", "admin")
ROOT_PASSWORD = os.environ.get("LAKEGATE_ROOT_PASSWORD", "admin123")
REGION = "us-east-1"


def lakegate_bin() -> Path:
    raw = os.environ.get("LAKEGATE_BIN", "target/release/lakegate")
    p = Path(raw)
    if not p.is_absolute():
        p = REPO_ROOT / p
    return p


def scrubbed_env(extra: dict | None = None) -> dict:
    """Environment for child processes: no proxies, no user AWS config."""
    env = dict(os.environ)
    for k in list(env):
        if k.lower() in ("http_proxy", "https_proxy", "all_proxy") or k.startswith("AWS_PROFILE"):
            env.pop(k)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost,.localhost"
    if extra:
        env.update(extra)
    return env


_LIVE: "set[subprocess.Popen]" = set()


@atexit.register
def _kill_leftovers():
    # Last resort if a fixture teardown never ran (e.g. an interrupted run).
    for p in list(_LIVE):
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass


class ServerStartError(RuntimeError):
    pass


class Server:
    def __init__(self, data_dir: Path, log_path: Path, binary: Path | None = None,
                 env: dict | None = None, user: str = ROOT_USER, password: str = ROOT_PASSWORD,
                 args: list | None = None, ca_bundle: Path | None = None):
        self.binary = Path(binary) if binary else lakegate_bin()
        self.data_dir = Path(data_dir)
        self.log_path = Path(log_path)
        self.user = user
        self.password = password
        self.extra_env = dict(env or {})
        # Extra `lakegate server` flags, and the CA file that verifies its TLS certificate.
        self.extra_args = list(args or [])
        self.ca_bundle = Path(ca_bundle) if ca_bundle else None
        self.proc: subprocess.Popen | None = None
        self.s3_url: str | None = None
        self.console_url: str | None = None
        self.stdout_lines: list[str] = []
        self.starts = 0

    # ------------------------------------------------------------------ start
    def start(self, timeout: float = 60.0) -> "Server":
        if not self.binary.exists():
            raise ServerStartError(
                f"lakegate binary not found at {self.binary} (set LAKEGATE_BIN)")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = scrubbed_env({
            "LAKEGATE_ROOT_USER": self.user,
            "LAKEGATE_ROOT_PASSWORD": self.password,
            "NO_COLOR": "1",
        })
        env.setdefault("RUST_LOG", "info")
        env.update(self.extra_env)
        self.starts += 1
        log = open(self.log_path, "ab")
        log.write(f"\n===== start #{self.starts}: {time.strftime('%H:%M:%S')} =====\n".encode())
        log.flush()
        cmd = [str(self.binary), "server", str(self.data_dir),
               "--address", "127.0.0.1:0", "--console-address", "127.0.0.1:0", *self.extra_args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log,
                                     stdin=subprocess.DEVNULL, env=env,
                                     start_new_session=True)
        _LIVE.add(self.proc)
        log.close()
        ready = threading.Event()
        self.stdout_lines = []
        proc = self.proc

        def pump():
            # Keep draining stdout so the server can never block on a full pipe.
            for raw in proc.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                self.stdout_lines.append(line)
                m = READY_RE.match(line)
                if m and not ready.is_set():
                    self.s3_url = m.group("s3").rstrip("/")
                    self.console_url = m.group("console").rstrip("/")
                    ready.set()

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not ready.wait(0.05):
            if proc.poll() is not None:
                raise ServerStartError(
                    f"lakegate exited with {proc.returncode} before printing the ready line; "
                    f"stdout={self.stdout_lines!r}\nstderr tail:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.kill9()
                raise ServerStartError(
                    f"no ready line within {timeout}s; stdout={self.stdout_lines!r}\n"
                    f"stderr tail:\n{self.log_tail()}")
        # The ready line must be the first stdout line.
        if len(self.stdout_lines) != 1 or not READY_RE.match(self.stdout_lines[0]):
            raise ServerStartError(f"unexpected stdout before ready line: {self.stdout_lines!r}")
        if not os.environ.get("LAKEGATE_E2E_SKIP_HEALTH"):  # harness self-test against a fake only
            self.wait_healthy(deadline)
        return self

    def wait_healthy(self, deadline: float):
        last = None
        while time.monotonic() < deadline:
            try:
                ctx = None
                if self.ca_bundle:
                    import ssl
                    ctx = ssl.create_default_context(cafile=str(self.ca_bundle))
                with urllib.request.urlopen(self.s3_url + "/minio/health/live", timeout=5,
                                            context=ctx) as r:
                    if r.status == 200:
                        return
                    last = r.status
            except urllib.error.HTTPError as e:
                last = e.code
            except OSError as e:
                last = e
            time.sleep(0.05)
        raise ServerStartError(f"/minio/health/live never returned 200 (last: {last})")

    # ------------------------------------------------------------------- stop
    @property
    def port(self) -> int:
        return int(self.s3_url.rsplit(":", 1)[1])

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM and wait. Returns the exit code; None if we had to SIGKILL."""
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            return None

    def kill9(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass

    def log_tail(self, n: int = 60) -> str:
        try:
            lines = self.log_path.read_text("utf-8", "replace").splitlines()
        except OSError:
            return "<no log>"
        return "\n".join(lines[-n:])

    def __repr__(self):
        return f"<lakegate {self.s3_url} data={self.data_dir}>"


class TlsProxy:
    """TLS-terminating TCP forwarder in front of lakegate.

    botocore only uses aws-chunked uploads with trailing checksums
    (STREAMING-UNSIGNED-PAYLOAD-TRAILER) over https, so this lets real boto3 /
    awscli code paths exercise them against the plain-http server.
    """

    def __init__(self, upstream_port: int, workdir: Path):
        import socket
        import ssl

        self.cert = Path(workdir) / "tls-cert.pem"
        self.key = Path(workdir) / "tls-key.pem"
        if not self.cert.exists():
            subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                 "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                 "-keyout", str(self.key), "-out", str(self.cert)],
                check=True, capture_output=True)
        self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ctx.load_cert_chain(self.cert, self.key)
        self.upstream_port = upstream_port
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        import socket
        while not self._stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(c,), daemon=True).start()

    def _handle(self, c):
        import socket
        try:
            tls = self.ctx.wrap_socket(c, server_side=True)
            up = socket.create_connection(("127.0.0.1", self.upstream_port))
        except OSError:
            c.close()
            return

        def pump(src, dst):
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass

        t = threading.Thread(target=pump, args=(up, tls), daemon=True)
        t.start()
        pump(tls, up)
        t.join(300)
        for s in (tls, up):
            try:
                s.close()
            except OSError:
                pass

    def close(self):
        self._stop = True
        self.sock.close()
