"""The policy author's path, as docs/policy-authoring.md tells it: `lakegate policy new` ->
`build` -> `test` -> `deploy` -> `status` -> `dry-run --at` -> a config change hot-swapped under
load -> a plugin that panics on real data refused by the gate, the previous version serving.

Needs cargo with the wasm32-wasip2 target (skipped without it, failed with
LAKEGATE_E2E_REQUIRE_TOOLS=1). The plugin crate builds into target/e2e-author (shared between
runs, so only the first run compiles the dependencies)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import threading
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import make_s3
from lgserver import REGION, REPO_ROOT, lakegate_bin, scrubbed_env

CARGO_TARGET_DIR = REPO_ROOT / "target" / "e2e-author"
BUCKET = "bronze"


def _wasm_target_missing() -> str | None:
    if not shutil.which("cargo") or not shutil.which("rustup"):
        return "cargo/rustup not installed"
    try:
        out = subprocess.run(["rustup", "target", "list", "--installed"], capture_output=True,
                             text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"rustup target list failed: {e}"
    if "wasm32-wasip2" not in out.split():
        return "the wasm32-wasip2 target is not installed (rustup target add wasm32-wasip2)"
    return None


_MISSING = _wasm_target_missing()
if _MISSING and not os.environ.get("LAKEGATE_E2E_REQUIRE_TOOLS"):
    pytestmark = pytest.mark.skip(reason=_MISSING)


def _sha256(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


class Author:
    """Runs `lakegate policy ...` as an author would, in the crate's directory, stdin not a
    terminal, against the test's gateway."""

    def __init__(self, srv, workdir: Path, name: str = "ttl"):
        self.srv = srv
        self.workdir = workdir
        self.crate = workdir / name
        self.env = scrubbed_env({
            "LAKEGATE_ROOT_USER": srv.user,
            "LAKEGATE_ROOT_PASSWORD": srv.password,
            "CARGO_TARGET_DIR": str(CARGO_TARGET_DIR),
            "NO_COLOR": "1",
        })
        for k in ("LAKEGATE_ENDPOINT", "LAKEGATE_POLICIES", "AWS_ACCESS_KEY_ID",
                  "AWS_SECRET_ACCESS_KEY"):
            self.env.pop(k, None)
        self.timings: dict[str, float] = {}

    def run(self, *args, cwd: Path | None = None, gateway=False, expect=0, timing=None,
            timeout=1800) -> str:
        cmd = [str(lakegate_bin()), "policy", *map(str, args)]
        if gateway:
            cmd += ["--endpoint", self.srv.s3_url]
        t0 = time.monotonic()
        p = subprocess.run(cmd, cwd=cwd or self.crate, env=self.env, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=timeout)
        elapsed = time.monotonic() - t0
        if timing:
            self.timings[timing] = elapsed
        out = p.stdout + p.stderr
        if expect is not None and p.returncode != expect:
            raise AssertionError(
                f"`{' '.join(cmd[1:])}` exited {p.returncode} (expected {expect}) "
                f"after {elapsed:.1f}s\n--- stdout\n{p.stdout[-6000:]}\n--- stderr\n"
                f"{p.stderr[-6000:]}\n--- lakegate log (tail)\n{self.srv.log_tail(40)}")
        return out


def _admin(srv, method: str, path: str, body: bytes = b"") -> tuple[int, dict]:
    """A signed admin API call that returns (status, JSON) for error statuses too."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = f"{srv.s3_url}/lakegate/admin/v1/{path}"
    req = AWSRequest(method=method, url=url, data=body)
    S3SigV4Auth(Credentials(srv.user, srv.password), "s3", REGION).add_auth(req)
    r = urllib.request.Request(url, data=body or None, method=method,
                               headers=dict(req.headers.items()))
    try:
        with urllib.request.urlopen(r, timeout=120) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def _binding_status(srv, file: str) -> dict:
    status, answer = _admin(srv, "GET", "policies")
    assert status == 200, answer
    rows = [b for b in answer["bindings"] if b["file"] == file]
    assert rows, f"no binding {file}: {[b['file'] for b in answer['bindings']]}"
    return rows[0]


def _status_row(out: str, file: str) -> list[str]:
    for line in out.splitlines():
        cells = line.split()
        if cells and cells[0] == file:
            return cells
    raise AssertionError(f"no row for {file} in:\n{out}")


def _add_panic(lib_rs: Path):
    """Makes the lifecycle template's `decide` panic on keys containing "boom"."""
    src = lib_rs.read_text()
    m = re.search(r"fn decide\s*\(\s*&self\s*,\s*(\w+)\s*:\s*&LifecycleItem[^)]*\)"
                  r"\s*->\s*LifecycleAction\s*\{", src)
    assert m, f"no `fn decide(&self, item: &LifecycleItem, ...)` in {lib_rs}:\n{src}"
    var = m.group(1)
    panic = (f'\n        if {var}.key().contains("boom") {{\n'
             f'            panic!("refusing to decide on {{}}", {var}.key());\n        }}\n')
    lib_rs.write_text(src[:m.end()] + panic + src[m.end():])


class Load:
    """4 threads of PUT + GET (read back and compared) against the bucket until stopped."""

    def __init__(self, srv, bucket: str, threads: int = 4):
        self.srv, self.bucket = srv, bucket
        self.stop = threading.Event()
        self.ops = 0
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._work, args=(i,), daemon=True)
                        for i in range(threads)]

    def _work(self, n: int):
        s3 = make_s3(self.srv)
        i = 0
        while not self.stop.is_set():
            key, body = f"load/{n}/{i % 50}", os.urandom(1024 + i % 4096)
            try:
                s3.put_object(Bucket=self.bucket, Key=key, Body=body)
                got = s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
                if got != body:
                    raise AssertionError(f"{key}: read back {len(got)} bytes, not what was put")
                with self.lock:
                    self.ops += 1
            except Exception as e:  # noqa: BLE001 - every failure counts
                with self.lock:
                    self.errors.append(f"{key}: {e!r}")
            i += 1

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(60)


@pytest.mark.timeout(1800)  # the first compile of the plugin's dependencies
def test_author_path(new_server, tmp_path, record_property):
    if _MISSING:
        pytest.fail(f"{_MISSING} (LAKEGATE_E2E_REQUIRE_TOOLS=1)")
    policies = tmp_path / "policies"
    policies.mkdir()
    srv = new_server(args=["--policies", str(policies)]).start()
    s3 = make_s3(srv)
    work = tmp_path / "author"
    work.mkdir()
    a = Author(srv, work)
    CARGO_TARGET_DIR.mkdir(parents=True, exist_ok=True)

    # 1. policy new
    out = a.run("new", "ttl", "--kind", "lifecycle", "--bucket", BUCKET, cwd=work, timing="new")
    assert "created" in out and "(lifecycle plugin for bucket bronze)" in out, out
    for rel in ("Cargo.toml", "src/lib.rs", "vendor/lakegate-sdk/Cargo.toml",
                "vendor/lakegate-sdk/wit/policy.wit", "policy/ttl.toml", "policy/ttl.suite.toml",
                "README.md", ".gitignore"):
        assert (a.crate / rel).is_file(), f"policy new did not write {rel}"
    binding_file = a.crate / "policy" / "ttl.toml"
    binding = tomllib.loads(binding_file.read_text())
    assert (binding["bucket"], binding["kind"]) == (BUCKET, "lifecycle"), binding
    config = binding["config"]
    prefix, days = config["prefix"], int(config["days"])
    assert prefix and days >= 1, config

    # 2. policy build: the first compile (untimed)
    out = a.run("build", timing="first build")
    m = re.search(r"built plugins/ttl\.wasm sha256 ([0-9a-f]{12})", out)
    assert m, out
    wasm = a.crate / "policy" / "plugins" / "ttl.wasm"
    hash1 = _sha256(wasm)
    assert hash1.startswith(m.group(1)), (hash1, out)
    assert (a.crate / "policy" / "ttl.snap").is_file(), "the first build writes the snapshot"

    # 3. policy test
    out = a.run("test", "policy/", timing="test")
    assert re.search(r"^ok\s+\S*ttl\.suite\.toml", out, re.M), out
    assert re.search(r"(\d+) suites: \1 ok, 0 failed", out), out
    assert "older than" not in out, out

    # 4. seed the bucket, deploy
    expiring, kept = f"{prefix}a", "keep/b"
    assert not kept.startswith(prefix)
    for key in (expiring, kept, "boom.txt"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=f"{key}\n".encode())
    out = a.run("deploy", "--yes", gateway=True, timing="deploy")
    lines = out.splitlines()
    for head in ("gateway:", "serving:", "candidate:", "gate:"):
        assert any(l.startswith(head) for l in lines), f"no {head!r} line:\n{out}"
    assert f"candidate: {hash1[:12]}" in out, out
    assert re.search(rf"^deployed ttl\.toml: bronze lifecycle {hash1[:12]} active", out, re.M), out
    st = _binding_status(srv, "ttl.toml")
    assert (st["state"], st["plugin_hash"]) == ("active", hash1), st
    assert st["plugin"] == f"plugins/ttl-{hash1[:12]}.wasm", st

    # 5. policy status
    out = a.run("status", gateway=True)
    assert _status_row(out, "ttl.toml")[:5] == ["ttl.toml", BUCKET, "lifecycle", "active",
                                                hash1[:12]], out

    # Without a terminal, deploying needs --yes.
    out = a.run("deploy", "--no-build", gateway=True, expect=1)
    assert "not a terminal: pass --yes" in out, out
    assert _binding_status(srv, "ttl.toml")["plugin_hash"] == hash1

    # 6. policy dry-run: nothing today, the prefix expires after `days`
    out = a.run("dry-run", "--bucket", BUCKET, gateway=True)
    assert "WARNING" not in out, out
    assert f"sha256 {hash1[:12]}" in out, out
    assert not re.search(rf"^expire\s+{re.escape(expiring)}\s", out, re.M), out
    out = a.run("dry-run", "--bucket", BUCKET, "--at", f"+{days + 1}d", gateway=True)
    assert "WARNING" not in out, out
    assert re.search(rf"^expire\s+{re.escape(expiring)}\s", out, re.M), out
    assert not re.search(rf"^\S+\s+{re.escape(kept)}\s", out, re.M), out

    # 7. change the configuration, bless, deploy under load: the swap drops no request
    new_days = days + 2
    text = binding_file.read_text()
    text, n = re.subn(r"(?m)^(\s*days\s*=\s*)\d+", rf"\g<1>{new_days}", text, count=1)
    assert n == 1, text
    binding_file.write_text(text)
    # Blessed first: `build` runs the suites too, and the new days may change their decisions.
    a.run("test", "policy/", "--bless")
    out = a.run("build", timing="second build (warm)")
    # A configuration change does not change the component.
    assert f"built plugins/ttl.wasm sha256 {hash1[:12]}" in out, out
    with Load(srv, BUCKET) as load:
        time.sleep(1)
        out = a.run("deploy", "--yes", gateway=True, timing="deploy under load")
        time.sleep(1)
    assert load.ops > 0 and not load.errors, \
        f"{len(load.errors)} failed requests of {load.ops + len(load.errors)}: {load.errors[:5]}"
    print(f"\n{load.ops} PUT+GET pairs during the deploy, none failed")
    assert re.search(r"^deployed ttl\.toml: bronze lifecycle [0-9a-f]{12} active", out, re.M), out
    st = _binding_status(srv, "ttl.toml")
    assert st["state"] == "active" and st["config"]["days"] == new_days, st
    hash2 = st["plugin_hash"]

    # 8. a plugin that panics on a real key: refused by the gate, the serving version stays
    _add_panic(a.crate / "src" / "lib.rs")
    out = a.run("build")
    boom_wasm = a.crate / "policy" / "plugins" / "ttl.wasm"
    boom_hash = _sha256(boom_wasm)
    assert boom_hash != hash2
    out = a.run("deploy", "--yes", gateway=True, expect=1)
    assert "not deployed: the candidate failed the gate" in out, out
    assert "canary refused" in out and "boom" in out, out
    assert not re.search(r"^deployed ", out, re.M), out
    out = a.run("status", gateway=True)
    assert _status_row(out, "ttl.toml")[:5] == ["ttl.toml", BUCKET, "lifecycle", "active",
                                                hash2[:12]], out

    # ... and by the server itself when the binding is put directly (admin API).
    status, up = _admin(srv, "PUT", "plugins/ttl-boom.wasm", boom_wasm.read_bytes())
    assert status == 200, up
    direct = re.sub(r'(?m)^plugin\s*=\s*".*"', 'plugin = "plugins/ttl-boom.wasm"',
                    binding_file.read_text(), count=1)
    status, st = _admin(srv, "PUT", "bindings/ttl.toml", direct.encode())
    assert status == 422, (status, st)
    assert st["state"] == "failed" and "canary refused" in (st["error"] or ""), st
    assert "boom" in st["error"], st
    assert (st["serving"], st["plugin_hash"], st["refused_hash"]) == (True, hash2, boom_hash), st
    status, src = _admin(srv, "GET", "bindings/ttl.toml")
    assert status == 200 and "ttl-boom.wasm" not in (src.get("source") or ""), \
        f"the refused binding should not stay on disk: {src}"
    assert s3.get_object(Bucket=BUCKET, Key="boom.txt")["Body"].read() == b"boom.txt\n"

    # The author's loop, compile excluded: new + test + deploy + a warm build.
    timed = ("new", "test", "deploy", "second build (warm)")
    total = sum(a.timings[k] for k in timed)
    for k, v in a.timings.items():
        record_property(f"timing:policy {k}", v)
    record_property("timing:author path (excl. first build)", total)
    print(f"\nauthor path: {total:.1f}s for {', '.join(timed)} "
          f"({', '.join(f'{k} {a.timings[k]:.1f}s' for k in timed)}); "
          f"first build {a.timings['first build']:.1f}s")
    assert total < 60, f"author path took {total:.1f}s: {a.timings}"


@pytest.mark.timeout(1800)
def test_policy_dev_rebuilds_and_redeploys_on_save(new_server, tmp_path):
    """`lakegate policy dev`: deploys at start, then on every save rebuilds, runs the suites and
    redeploys through the gate, printing the decision diff; a change that breaks a suite is not
    deployed (the serving version stays)."""
    if _MISSING:
        pytest.fail(f"{_MISSING} (LAKEGATE_E2E_REQUIRE_TOOLS=1)")
    policies = tmp_path / "policies"
    policies.mkdir()
    srv = new_server(args=["--policies", str(policies)]).start()
    work = tmp_path / "author"
    work.mkdir()
    # Its own crate name: the target dir is shared with test_author_path, which may build in
    # parallel, and each crate must find its own artifact.
    a = Author(srv, work, "ttl-dev")
    CARGO_TARGET_DIR.mkdir(parents=True, exist_ok=True)
    a.run("new", "ttl-dev", "--kind", "lifecycle", "--bucket", BUCKET, cwd=work)
    a.run("build")
    log_path = tmp_path / "dev.log"
    cmd = [str(lakegate_bin()), "policy", "dev", "--bucket", BUCKET, "--endpoint", srv.s3_url]
    with open(log_path, "w") as log:
        dev = subprocess.Popen(cmd, cwd=a.crate, env=a.env, stdin=subprocess.DEVNULL,
                               stdout=log, stderr=subprocess.STDOUT)
    try:
        def wait_for(pattern: str, count: int, timeout: float = 300) -> str:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                text = log_path.read_text()
                if len(re.findall(pattern, text, re.M)) >= count:
                    return text
                assert dev.poll() is None, f"policy dev exited {dev.returncode}:\n{text}"
                time.sleep(0.2)
            raise AssertionError(f"no {count} x {pattern!r} in:\n{log_path.read_text()}")

        wait_for(r"^deployed ttl-dev\.toml: bronze lifecycle [0-9a-f]{12} active", 1)
        hash1 = _binding_status(srv, "ttl-dev.toml")["plugin_hash"]
        # A save that changes the component but not the decisions: rebuilt, redeployed.
        lib_rs = a.crate / "src" / "lib.rs"
        src = lib_rs.read_text()
        assert '"expiring keys under' in src, src
        lib_rs.write_text(src.replace('"expiring keys under', '"dev loop: expiring keys under', 1))
        text = wait_for(r"^deployed ttl-dev\.toml: bronze lifecycle [0-9a-f]{12} active", 2)
        assert "changed: src/lib.rs" in text, text
        assert text.count("gate: ") >= 2, text
        hash2 = _binding_status(srv, "ttl-dev.toml")["plugin_hash"]
        assert hash2 != hash1
        # A save that changes the decisions the snapshot holds: shown, not deployed.
        binding = a.crate / "policy" / "ttl-dev.toml"
        binding.write_text(re.sub(r"(?m)^(\s*days\s*=\s*)\d+", r"\g<1>9", binding.read_text(),
                                  count=1))
        text = wait_for(r"^suites failed; not deployed", 1)
        assert "FAILED" in text and "+config:" in text, text
        st = _binding_status(srv, "ttl-dev.toml")
        assert st["plugin_hash"] == hash2 and st["config"]["days"] != 9, st
    finally:
        dev.terminate()
        dev.wait(30)
