"""The web console used with the keyboard only, and how fast its pages are with a big bucket.

- test_keyboard_only: log in, reach Buckets, open / close (Esc) / submit the create dialog
  with page.keyboard only (no clicks, no element.focus()); a visible focus ring; boto3 sees
  the bucket.
- test_page_speed: a private server with one bucket of N keys (LAKEGATE_E2E_CONSOLE_KEYS,
  default 20000: half under `year=2026/month=01/`, half under `raw/`) plus a few small
  buckets; every page is visited (in-app navigation and full load) and the Performance API
  gives each /api/ call's duration and its `Server-Timing: app;dur`. Every call's server time
  must be under 300 ms; the client-side times are reported (perf.json, stdout) and only
  bounded by a generous 5 s a page.

Run with `pytest -s` to see the table. Seeding uses signed S3 PUTs over keep-alive
connections from 32 threads (boto3 itself tops out near 500 PUT/s here; this does ~2500/s).

Needs node, chromium and `npm ci --prefix tests/e2e/browser`; without them the module skips
(fails with LAKEGATE_E2E_REQUIRE_TOOLS=1, as in CI)."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import http.client
import json
import os
import threading
import time
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import BROWSER, CHROMIUM, make_s3, require_browser, run, unique_bucket
from lgserver import REGION, scrubbed_env
from util import Admin

SERVER_BUDGET_MS = 300.0   # every /api/ call, Server-Timing app;dur
PAGE_BOUND_MS = 5000.0     # sanity bound on the client-side time of a page (CI is noisy)
PART_PREFIX = "year=2026/month=01/"
RAW_PREFIX = "raw/"


pytestmark = require_browser("playwright-core")


def artifacts_dir() -> Path:
    base = os.environ.get("LAKEGATE_E2E_ARTIFACTS")
    base = Path(base).resolve() if base else Path(__file__).parent / "artifacts"
    d = base / "console"
    d.mkdir(parents=True, exist_ok=True)
    return d


def drive(server, scenario: str, tmp_path: Path, timeout: int = 300, **args) -> dict:
    """Runs one browser scenario of console_perf.mjs; returns its JSON result."""
    args = {"url": server.console_url, "user": server.user, "password": server.password, **args}
    log = tmp_path / f"browser-{scenario}.log"
    rc, out, err = run(["node", str(BROWSER / "console_perf.mjs"), scenario, json.dumps(args)],
                       env=scrubbed_env({"CHROMIUM": CHROMIUM}), timeout=timeout, check=False,
                       log=log)
    lines = [l for l in out.strip().splitlines() if l.startswith("{")]
    res = json.loads(lines[-1]) if lines else {"ok": False, "error": f"no result; stderr: {err[-3000:]}"}
    if not res.get("ok"):
        pytest.fail(f"browser scenario {scenario} failed: {res.get('error')}\n"
                    f"page errors: {res.get('page_errors')}\nconsole errors: {res.get('console_errors')}\n"
                    f"--- stderr\n{err[-3000:]}\n--- lakegate log (tail)\n{server.log_tail(40)}")
    return res


# ---------------------------------------------------------------- fast seeding

class _Signer:
    """Minimal SigV4 (header auth, signed payload hash) for small PUTs: far cheaper than boto3."""

    def __init__(self, ak: str, sk: str, region: str = REGION):
        self.ak, self.sk, self.region = ak, sk, region
        self._day, self._key = None, None

    def _signing_key(self, day: str) -> bytes:
        if self._day != day:
            k = hmac.new(("AWS4" + self.sk).encode(), day.encode(), hashlib.sha256).digest()
            for part in (self.region, "s3", "aws4_request"):
                k = hmac.new(k, part.encode(), hashlib.sha256).digest()
            self._day, self._key = day, k
        return self._key

    def headers(self, method: str, host: str, path: str, body: bytes) -> dict:
        amz_date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        day = amz_date[:8]
        payload = hashlib.sha256(body).hexdigest()
        hdrs = {"host": host, "x-amz-content-sha256": payload, "x-amz-date": amz_date}
        names = sorted(hdrs)
        signed = ";".join(names)
        canonical = "\n".join([method, path, "", "".join(f"{k}:{hdrs[k]}\n" for k in names), signed, payload])
        scope = f"{day}/{self.region}/s3/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                             hashlib.sha256(canonical.encode()).hexdigest()])
        sig = hmac.new(self._signing_key(day), to_sign.encode(), hashlib.sha256).hexdigest()
        hdrs["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={self.ak}/{scope}, "
                                 f"SignedHeaders={signed}, Signature={sig}")
        hdrs["Content-Length"] = str(len(body))
        return hdrs


def seed_keys(srv, bucket: str, keys, body_of, workers: int = 32) -> None:
    """PUTs every key (small bodies) with `workers` threads, one keep-alive connection each."""
    u = urllib.parse.urlparse(srv.s3_url)
    signer = _Signer(srv.user, srv.password)
    local = threading.local()

    def put(key: str):
        path = "/" + bucket + "/" + urllib.parse.quote(key, safe="/~")
        body = body_of(key)
        for attempt in range(3):
            c = getattr(local, "c", None)
            if c is None:
                c = local.c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
            try:
                c.request("PUT", path, body=body, headers=signer.headers("PUT", u.netloc, path, body))
                r = c.getresponse()
                data = r.read()
            except (http.client.HTTPException, ConnectionError):
                c.close()
                local.c = None
                if attempt == 2:
                    raise
                continue
            if r.status != 200:
                raise AssertionError(f"PUT {bucket}/{key}: HTTP {r.status} {data[:300]!r}")
            return

    with ThreadPoolExecutor(workers) as ex:
        for _ in ex.map(put, keys, chunksize=64):
            pass


# ---------------------------------------------------------------- keyboard

def test_keyboard_only(server, s3, tmp_path):
    b = unique_bucket("ui-kbd")
    res = drive(server, "keyboard", tmp_path, bucket=b)
    steps = res["steps"]
    assert steps[1]["logged_in"] == {"page": "dashboard", "state": "ready"}, steps
    assert steps[2]["buckets"] == {"page": "buckets", "state": "ready"} and steps[2]["hash"] == "#/buckets", steps
    # A visible focus indicator on links and buttons (outline or box-shadow).
    for name, ring in res["rings"].items():
        assert ring and ring["ring"] and ring["focusVisible"], (name, ring)
    d = res["dialog"]
    assert d["focus_on_open"]["inDialog"] and d["focus_on_open"]["name"] == "bucket", d
    # Esc closed the dialog and gave the focus back to the button that opened it.
    assert d["after_esc"]["testid"] == "create-bucket", d["after_esc"]
    assert d["focus_on_reopen"]["name"] == "bucket", d
    # Modal: Tab cycles through the dialog, never the page behind it.
    assert d["all_inside"], d["trail"]
    assert {"bucket", "Cancel", "Create bucket"} <= set(d["trail"]), d["trail"]
    assert res["listed"] == 1, res
    assert res["slash"] is True and res["filtered"] == [b], res
    s3.head_bucket(Bucket=b)
    s3.delete_bucket(Bucket=b)


# ---------------------------------------------------------------- speed

def _table(rows: list[dict]) -> str:
    # api: calls of the in-app navigation; max server ms: over navigation and full load.
    head = f"{'page':<34} {'api':>4} {'max server ms':>14} {'max api ms':>11} {'nav ready ms':>13} {'load ready ms':>14}"
    out = [head, "-" * len(head)]
    for r in rows:
        load = r.get("load") or {}
        server = max(r["max_server_ms"] or 0, load.get("max_server_ms") or 0)
        out.append(f"{r['label'][:34]:<34} {r['api_calls']:>4} {server:>14.1f} "
                   f"{r['max_api_ms'] or 0:>11.1f} {r['ready_ms']:>13.1f} "
                   f"{load.get('ready_ms', float('nan')):>14.1f}")
    return "\n".join(out)


def test_page_speed(new_server, tmp_path):
    n = int(os.environ.get("LAKEGATE_E2E_CONSOLE_KEYS", "20000"))
    srv = new_server(args=["--audit-log", str(tmp_path / "audit.jsonl")]).start()
    s3 = make_s3(srv, max_pool_connections=64)
    big = "perf-big"
    s3.create_bucket(Bucket=big)
    half = n // 2
    keys = [f"{PART_PREFIX}part-{i:06d}.parquet" for i in range(half)] + \
           [f"{RAW_PREFIX}event-{i:06d}.json" for i in range(n - half)]
    t0 = time.monotonic()
    seed_keys(srv, big, keys, lambda k: b'{"k": "%s"}\n' % k.encode())
    seed_s = time.monotonic() - t0

    # A few ordinary buckets with objects, a versioned one, users, and one backup generation.
    small = {"bronze": "landing/2026-01-0{}.csv", "silver": "orders/part-{}.csv", "gold": "kpi/day-{}.json"}
    for b, pattern in small.items():
        s3.head_bucket(Bucket=b)  # default buckets of a fresh data dir
        seed_keys(srv, b, [pattern.format(i) for i in range(1, 10)], lambda k: b"id,value\n1,2\n", workers=4)
    ver = unique_bucket("perf-versioned")
    s3.create_bucket(Bucket=ver)
    s3.put_bucket_versioning(Bucket=ver, VersioningConfiguration={"Status": "Enabled"})
    for i in range(3):
        s3.put_object(Bucket=ver, Key="report.csv", Body=f"v,{i}\n".encode())
    admin = Admin(srv)
    for i in range(3):
        admin.call("PUT", f"iam/users/perf-user-{i}", json.dumps({"secret_key": f"perf-secret-{i}-xyz"}).encode())
    admin.call("POST", "backup/silver/run", query="wait=true")
    object_key = f"{RAW_PREFIX}event-{(n - half) // 2:06d}.json"
    assert s3.list_objects_v2(Bucket=big, Prefix=RAW_PREFIX, MaxKeys=1)["KeyCount"] == 1
    print(f"\nseeded {n} keys into {big} in {seed_s:.1f} s ({n / seed_s:.0f} PUT/s)")

    res = drive(srv, "perf", tmp_path, timeout=600, big=big, part_prefix=PART_PREFIX, raw_prefix=RAW_PREFIX,
                object_key=object_key, settings_bucket=big, bound_ms=PAGE_BOUND_MS)
    pages = res["pages"]
    report = {
        "keys": n, "seed_s": round(seed_s, 2), "seed_put_per_s": round(n / seed_s),
        "when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "server_budget_ms": SERVER_BUDGET_MS, "page_bound_ms": PAGE_BOUND_MS,
        "summary": [{"page": r["label"], "state": r["state"], "api_calls": r["api_calls"],
                     "max_server_ms": r["max_server_ms"], "max_api_ms": r["max_api_ms"],
                     "nav_ready_ms": r["ready_ms"],
                     "load_ready_ms": (r.get("load") or {}).get("ready_ms"),
                     "load_api_calls": (r.get("load") or {}).get("api_calls"),
                     "load_max_server_ms": (r.get("load") or {}).get("max_server_ms")} for r in pages],
        "pages": pages,
    }
    out = artifacts_dir() / "perf.json"
    out.write_text(json.dumps(report, indent=1))
    print(_table(pages))
    print(json.dumps(report["summary"]))
    print(f"(details: {out})")

    # Every page rendered (audit needs --audit-log, which this server has).
    bad = [(r["label"], r["state"], r.get("error")) for r in pages if r["state"] != "ready"]
    assert not bad, bad
    lm = next(r for r in pages if r["label"].startswith("load more"))
    assert lm["rows_after"] > lm["rows_before"] and lm["api_calls"] >= 1, lm
    # Every /api/ call answered within budget, and every one carried Server-Timing.
    slow, untimed = [], []
    for r in pages:
        for part in (r, r.get("load") or {"calls": []}):
            for c in part["calls"]:
                if c["server_ms"] is None:
                    untimed.append((r["label"], c["call"]))
                elif c["server_ms"] >= SERVER_BUDGET_MS:
                    slow.append((r["label"], c["call"], c["server_ms"]))
    assert not untimed, f"/api/ answers without Server-Timing: {untimed}"
    assert not slow, f"/api/ calls over {SERVER_BUDGET_MS} ms server time: {slow}"
    assert not res["over_bound"], f"pages slower than {PAGE_BOUND_MS} ms client-side: {res['over_bound']}"
