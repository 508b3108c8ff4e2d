"""Shared fixtures for the lakegate end-to-end suite.

Every pytest process (every xdist worker) starts ONE lakegate server for the
session (`server` fixture) on ephemeral ports with a fresh temp data dir.
Tests create their own uniquely named buckets, so they can share it.
Tests that need to kill/restart a server (crash, lifecycle) start their own.

Env:
  LAKEGATE_BIN           path to the binary (default target/release/lakegate,
                         relative paths are relative to the repo root)
  LAKEGATE_E2E_ENDPOINT  run against an already running server instead
                         (tests that need their own process are skipped)
  LAKEGATE_E2E_KEEP      keep temp dirs (data dir + server logs) after the run
  LAKEGATE_E2E_BOTO_DEBUG=1   botocore DEBUG logging (every request/response header)
  LAKEGATE_E2E_AWS_DEBUG=1    run every `aws` command with --debug
  LAKEGATE_E2E_RCLONE_DUMP=1  rclone --dump headers
  LAKEGATE_E2E_REQUIRE_TOOLS=1  fail (not skip) when rclone/s3cmd are missing (CI)
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from lgserver import REGION, ROOT_PASSWORD, ROOT_USER, Server, TlsProxy, scrubbed_env

VENV_BIN = Path(sys.executable).parent

# Loopback only: never route the suite's own HTTP through a proxy.
for _k in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
    os.environ.pop(_k, None)
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost,.localhost"


def _run_root(config) -> Path:
    wid = os.environ.get("PYTEST_XDIST_WORKER", "main")
    root = Path(tempfile.mkdtemp(prefix=f"lakegate-e2e-{wid}-"))
    return root


class _External:
    """Stand-in for Server when LAKEGATE_E2E_ENDPOINT is set."""

    def __init__(self, url):
        self.s3_url = url.rstrip("/")
        self.user, self.password = ROOT_USER, ROOT_PASSWORD
        self.log_path = None

    def log_tail(self, n=60):
        return "<external server: no log>"

    @property
    def port(self):
        return int(self.s3_url.rsplit(":", 1)[1])


@pytest.fixture(scope="session")
def run_root(request):
    root = _run_root(request.config)
    yield root
    if not os.environ.get("LAKEGATE_E2E_KEEP"):
        shutil.rmtree(root, ignore_errors=True)
    else:
        print(f"\n[lakegate-e2e] kept {root}", file=sys.stderr)


@pytest.fixture(scope="session")
def server(run_root):
    ext = os.environ.get("LAKEGATE_E2E_ENDPOINT")
    if ext:
        yield _External(ext)
        return
    srv = Server(run_root / "data", run_root / "server.log")
    srv.start()
    yield srv
    rc = srv.stop()
    # Graceful shutdown is part of the contract; surface it loudly but do not
    # fail unrelated tests here (test_lifecycle.py asserts it).
    if rc not in (0,):
        print(f"\n[lakegate-e2e] WARNING: session server SIGTERM exit code {rc}\n"
              f"{srv.log_tail(30)}", file=sys.stderr)


@pytest.fixture
def new_server(run_root):
    """Factory for private server processes (crash/restart tests). All are killed at teardown."""
    started = []

    def make(data_dir: Path | None = None, **kw) -> Server:
        name = uuid.uuid4().hex[:8]
        d = Path(data_dir) if data_dir else run_root / f"data-{name}"
        srv = Server(d, run_root / f"server-{name}.log", **kw)
        started.append(srv)
        return srv

    if os.environ.get("LAKEGATE_E2E_ENDPOINT"):
        pytest.skip("needs its own server process")
    yield make
    for s in started:
        s.kill9()


# ----------------------------------------------------------------- clients

def boto_config(**kw) -> Config:
    base = dict(
        signature_version="s3v4",
        s3={"addressing_style": "path"},
        # No silent retries: a server error must surface as a test failure.
        retries={"total_max_attempts": 1},
        connect_timeout=5,
        read_timeout=120,
        max_pool_connections=32,
    )
    base.update(kw)
    return Config(**base)


def make_s3(srv, endpoint_url=None, verify=None, **cfg):
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url or srv.s3_url,
        verify=verify,
        aws_access_key_id=srv.user,
        aws_secret_access_key=srv.password,
        region_name=REGION,
        config=boto_config(**cfg),
    )


@pytest.fixture(scope="session")
def s3(server):
    return make_s3(server)


@pytest.fixture(scope="session")
def tls_proxy(server, run_root):
    """https://127.0.0.1:PORT forwarding to the server (see TlsProxy)."""
    p = TlsProxy(server.port, run_root)
    yield p
    p.close()


@pytest.fixture(scope="session")
def s3_tls(server, tls_proxy):
    """boto3 over https: PutObject/UploadPart use aws-chunked + trailing checksums."""
    return make_s3(server, endpoint_url=tls_proxy.url, verify=str(tls_proxy.cert))


def unique_bucket(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}".lower()[:63]


@pytest.fixture
def bucket(s3, request):
    """A fresh, empty bucket named after the test."""
    base = request.node.name.split("[")[0].replace("_", "-").lower()
    base = "".join(c for c in base if c.isalnum() or c == "-")[:30].strip("-")
    name = unique_bucket(base or "t")
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def aws_env(server, tmp_path):
    """Environment for the AWS CLI: credentials from env, no user config."""
    cfg = tmp_path / "aws-config"
    cfg.write_text("[default]\nregion = us-east-1\n")
    env = scrubbed_env({
        "AWS_ACCESS_KEY_ID": server.user,
        "AWS_SECRET_ACCESS_KEY": server.password,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(cfg),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "aws-credentials-none"),
        "AWS_PAGER": "",
        "AWS_MAX_ATTEMPTS": "1",
        "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
    })
    return env


def require_tool(name: str):
    """pytest mark: skip if `name` is not on PATH, or fail when LAKEGATE_E2E_REQUIRE_TOOLS=1 (CI)."""
    if shutil.which(name):
        return pytest.mark.requires_tool(name)
    if os.environ.get("LAKEGATE_E2E_REQUIRE_TOOLS"):
        return pytest.mark.usefixtures("_missing_tool_" + name)
    return pytest.mark.skip(reason=f"{name} not installed")


BROWSER = Path(__file__).parent / "browser"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def browser_missing(driver: str) -> str | None:
    """Why headless Chromium cannot be driven through the npm package `driver`, if it cannot."""
    if not shutil.which("node"):
        return "node is not installed"
    if not os.access(CHROMIUM, os.X_OK):
        return f"chromium not found at {CHROMIUM} (apt-get install chromium)"
    if not (BROWSER / "node_modules" / driver).is_dir():
        return "tests/e2e/browser/node_modules missing (npm ci --prefix tests/e2e/browser)"
    return None


def require_browser(driver: str):
    """pytest mark for a module driving Debian's chromium through `driver` (playwright-core or
    puppeteer-core): skip when something is missing, or fail when LAKEGATE_E2E_REQUIRE_TOOLS=1."""
    missing = browser_missing(driver)
    if missing is None:
        return pytest.mark.requires_tool("chromium")
    if os.environ.get("LAKEGATE_E2E_REQUIRE_TOOLS"):
        return pytest.mark.usefixtures("_missing_browser")
    return pytest.mark.skip(reason=missing)


@pytest.fixture
def _missing_browser():
    missing = browser_missing("playwright-core") or browser_missing("puppeteer-core")
    pytest.fail(f"{missing} (LAKEGATE_E2E_REQUIRE_TOOLS=1)")


@pytest.fixture
def _missing_tool_rclone():
    pytest.fail("rclone is not installed (LAKEGATE_E2E_REQUIRE_TOOLS=1)")


@pytest.fixture
def _missing_tool_s3cmd():
    pytest.fail("s3cmd is not installed (LAKEGATE_E2E_REQUIRE_TOOLS=1)")


def run(cmd, *, env, timeout=300, cwd=None, check=True, server=None, log=None):
    """Run a client command; on failure raise with its output and the server log tail."""
    p = subprocess.run(cmd, env=env, cwd=cwd, timeout=timeout,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    if log is not None:
        Path(log).write_text(f"$ {' '.join(map(str, cmd))}\n--- stdout\n{out}\n--- stderr\n{err}")
    if check and p.returncode != 0:
        msg = (f"command failed (exit {p.returncode}): {' '.join(map(str, cmd))}\n"
               f"--- stdout (tail)\n{_tail(out, 40)}\n--- stderr (tail)\n{_tail(err, 120)}")
        if server is not None:
            msg += f"\n--- lakegate log (tail)\n{server.log_tail(40)}"
        raise AssertionError(msg)
    return p.returncode, out, err


def _tail(s: str, n: int) -> str:
    lines = s.splitlines()
    return "\n".join(lines[-n:])


# ------------------------------------------------------------- reporting

def pytest_configure(config):
    config.addinivalue_line("markers", "slow: long-running test")
    config.addinivalue_line("markers", "requires_tool(name): needs an external client binary")
    if os.environ.get("LAKEGATE_E2E_BOTO_DEBUG"):
        boto3.set_stream_logger("botocore", logging.DEBUG)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach the server log tail to every failing test that used a server."""
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed:
        srv = getattr(item, "funcargs", {}).get("server")
        if srv is not None and getattr(srv, "log_path", None):
            rep.sections.append(("lakegate log (tail)", srv.log_tail(60)))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    rows = []
    for key in ("passed", "failed", "error"):
        for rep in terminalreporter.stats.get(key, []):
            for name, value in getattr(rep, "user_properties", []) or []:
                if name.startswith("timing:") and rep.when == "call":
                    rows.append((rep.nodeid, name[7:], value))
    if rows:
        terminalreporter.section("lakegate e2e timings")
        for nodeid, name, value in rows:
            terminalreporter.write_line(f"{value:9.2f}s  {name:<34} {nodeid}")
