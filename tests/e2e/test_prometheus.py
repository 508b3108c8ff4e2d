"""The metrics endpoints through a real Prometheus: every query of MinIO's stock Grafana
dashboards (13502 cluster, 15306 bucket; `minio_dashboard_queries.json`) and of lakegate's own
dashboard (`examples/monitoring/lakegate-dashboard.json`) must return data, except the series
lakegate deliberately leaves out (`not_applicable`), which must return none. `promtool check
metrics` must find no errors in any of the three endpoints.

A private server runs with scrape authentication on (the default, JWT): the Prometheus
configuration, bearer tokens included, comes from `lakegate admin prometheus generate --type all`,
so a passing run also proves the command and its tokens. The server has a lifecycle and a backup
binding on a versioned bucket (from `--policies`), an audit log, and a KMS key (the medallion
buckets are then SSE-S3), so the policy, lifecycle, backup, audit and KMS series carry data.
"""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from conftest import make_s3, require_tool, run
from lgserver import REPO_ROOT, lakegate_bin, scrubbed_env
from util import Admin, expect_error

pytestmark = [require_tool("prometheus"), require_tool("promtool")]

HERE = Path(__file__).resolve().parent
MINIO_QUERIES = HERE / "minio_dashboard_queries.json"
LAKEGATE_DASHBOARD = REPO_ROOT / "examples" / "monitoring" / "lakegate-dashboard.json"
EXAMPLE_CONFIG = REPO_ROOT / "examples" / "monitoring" / "prometheus.yml"

BUCKET = "metrics-lake"  # versioned; lifecycle + backup bindings from --policies
ENDPOINTS = {"cluster": "/minio/v2/metrics/cluster", "bucket": "/minio/v2/metrics/bucket",
             "node": "/minio/v2/metrics/node"}
SCRAPE_INTERVAL_S = 1
MiB = 1024 * 1024


@pytest.fixture
def _missing_tool_prometheus():
    pytest.fail("prometheus is not installed (LAKEGATE_E2E_REQUIRE_TOOLS=1)")


@pytest.fixture
def _missing_tool_promtool():
    pytest.fail("promtool is not installed (LAKEGATE_E2E_REQUIRE_TOOLS=1)")


# ------------------------------------------------------------------ helpers

BINDINGS = {
    f"{BUCKET}-lifecycle.toml": f"""\
bucket = "{BUCKET}"
kind = "lifecycle"
plugin = "builtin:lifecycle"

# expire/ is long past its date: every scan expires what is there (a delete marker: versioned).
[[config.rules]]
id = "expire-now"
filter = {{ prefix = "expire/" }}
expiration = {{ date = "2020-01-01T00:00:00Z" }}

# versions/: keep the newest noncurrent version, delete older ones.
[[config.rules]]
id = "one-noncurrent"
filter = {{ prefix = "versions/" }}
noncurrent_version_expiration = {{ newer_noncurrent_versions = 1 }}

[[config.rules]]
id = "stale-uploads"
abort_incomplete_multipart_upload = {{ days_after_initiation = 7 }}
""",
    f"{BUCKET}-backup.toml": f"""\
bucket = "{BUCKET}"
kind = "backup"
plugin = "builtin:backup"

[backup]
schedule = "0 0 2 * * *"
generations = 3
events = false

[config]
prefix = ""
propagate_deletes = true
path_prefix = ""
""",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str | None = None, timeout: float = 10) -> tuple[int, str]:
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


class Prometheus:
    """A throwaway `prometheus` process on a free loopback port."""

    def __init__(self, config: Path, workdir: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "prometheus.log"
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={workdir / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=info"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=workdir,
            env=scrubbed_env(), start_new_session=True)
        log.close()

    def wait_ready(self, timeout: float = 60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"prometheus exited with {self.proc.returncode}\n{self.log_tail()}")
            try:
                if _get(self.url + "/-/ready", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"prometheus not ready within {timeout}s\n{self.log_tail()}")

    def query(self, expr: str) -> list:
        """An instant query at now: its result vector (raises with Prometheus' error)."""
        url = self.url + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        status, body = _get(url, timeout=30)
        doc = json.loads(body)
        if status != 200 or doc.get("status") != "success":
            raise RuntimeError(f"HTTP {status}: {doc.get('errorType')}: {doc.get('error')}")
        return doc["data"]["result"]

    def log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text("utf-8", "replace").splitlines()[-n:])
        except OSError:
            return "<no log>"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def _substitute(expr: str) -> str:
    # Grafana's variables: All scrape jobs, and a rate window of a few 1 s scrape intervals.
    return expr.replace("$scrape_jobs", ".*").replace("$__rate_interval", "1m")


def _dashboard_targets(dash: dict) -> list[tuple[str, str]]:
    """(panel title, expr) of every target, rows' nested panels included."""
    out = []

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                if t.get("expr"):
                    out.append((p.get("title", ""), t["expr"]))
            walk(p.get("panels", []))

    walk(dash.get("panels", []))
    return out


def _metric_of_line(line: str) -> str | None:
    if line.startswith("# HELP ") or line.startswith("# TYPE "):
        return line.split()[2]
    if not line or line.startswith("#"):
        return None
    return re.split(r"[{\s]", line, maxsplit=1)[0]


def _family_filter(text: str, prefix: str) -> str:
    """The exposition's lines whose metric name starts with `prefix` (HELP/TYPE included)."""
    keep = [ln for ln in text.splitlines() if (_metric_of_line(ln) or "").startswith(prefix)]
    return "\n".join(keep) + "\n"


def _promtool_metrics(text: str) -> tuple[int, list[str]]:
    p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    return p.returncode, [ln for ln in p.stdout.decode("utf-8", "replace").splitlines() if ln.strip()]


# ------------------------------------------------------------------ load

def _load(srv, rnd: int):
    """One round of a short mixed S3 load. Round 0 also creates the bucket; the rounds are
    apart by a few scrapes, so rates over the window see the second one grow every counter."""
    s3 = make_s3(srv)
    if rnd == 0:
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        s3.create_multipart_upload(Bucket=BUCKET, Key="data/incomplete.bin")  # left incomplete
    sizes = [0, 100, 4096, 20_000, 300_000, 2 * MiB]   # inline (up to 16 KiB) and blob
    for i, n in enumerate(sizes):
        key = f"data/r{rnd}/obj-{i}.bin"
        body = os.urandom(n)
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == body
        assert s3.head_object(Bucket=BUCKET, Key=key)["ContentLength"] == n
    for k in ("a.txt", "b.txt"):
        s3.put_object(Bucket=BUCKET, Key=f"expire/r{rnd}/{k}", Body=b"short-lived")
    for v in range(3):  # more versions of one key: noncurrent ones for lifecycle
        s3.put_object(Bucket=BUCKET, Key="versions/k.txt", Body=f"round {rnd} version {v}".encode())
    s3.put_object(Bucket=BUCKET, Key=f"data/r{rnd}/gone.txt", Body=b"to be deleted")
    s3.delete_object(Bucket=BUCKET, Key=f"data/r{rnd}/gone.txt")  # a delete marker

    # A multipart upload: two 5 MiB parts and a tail.
    key = f"data/r{rnd}/multipart.bin"
    up = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    parts = []
    for n, size in enumerate([5 * MiB, 5 * MiB, 1234], start=1):
        r = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=up, PartNumber=n, Body=os.urandom(size))
        parts.append({"PartNumber": n, "ETag": r["ETag"]})
    s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=up, MultipartUpload={"Parts": parts})

    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"data/r{rnd}/")
    assert listed["KeyCount"] == len(sizes) + 1, listed
    s3.list_object_versions(Bucket=BUCKET, Prefix="versions/")
    s3.list_buckets()

    # 4xx: missing keys and a missing bucket.
    for k in ("nope-1", "nope-2", "nope-3"):
        assert expect_error(s3.get_object, Bucket=BUCKET, Key=k)[0] == 404
    assert expect_error(s3.head_object, Bucket=BUCKET, Key="nope-4")[0] == 404
    assert expect_error(s3.list_objects_v2, Bucket="no-such-bucket-metrics")[0] == 404

    # bronze is SSE-S3 by default with a KMS: these PUTs and GETs go through the KMS.
    for i, n in enumerate([10, 50_000]):
        key = f"metrics/r{rnd}/enc-{i}.bin"
        r = s3.put_object(Bucket="bronze", Key=key, Body=os.urandom(n))
        assert r.get("ServerSideEncryption") == "AES256", r
        s3.get_object(Bucket="bronze", Key=key)["Body"].read()


def _wait_scrapes(prom: "Prometheus", srv, n: int, timeout: float = 60):
    """Until each of the three jobs is up and had at least `n` successful scrapes in the last minute."""
    deadline = time.monotonic() + timeout
    while True:
        up = {r["metric"]["job"]: float(r["value"][1]) for r in prom.query("up")}
        counts = {r["metric"]["job"]: float(r["value"][1])
                  for r in prom.query("sum by (job) (sum_over_time(up[1m]))")}
        if len(up) == 3 and all(v == 1 for v in up.values()) and all(c >= n for c in counts.values()):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"scrapes not healthy: up={up} successful scrapes={counts}\n"
                                 f"{prom.log_tail()}\n--- lakegate\n{srv.log_tail(30)}")
        time.sleep(0.25)


# ------------------------------------------------------------------ the test

def test_dashboards_queries_return_data_and_promtool_finds_no_errors(new_server, tmp_path, record_property):
    minio = json.loads(MINIO_QUERIES.read_text())
    not_applicable: dict = minio["not_applicable"]
    dash = json.loads(LAKEGATE_DASHBOARD.read_text())

    # The lakegate dashboard is importable as is, and every selector filters the scrape jobs.
    assert dash["uid"] == "lakegate-overview" and dash["title"] == "lakegate"
    assert [i["name"] for i in dash["__inputs"]] == ["DS_PROMETHEUS"]
    var = {v["name"]: v for v in dash["templating"]["list"]}["scrape_jobs"]
    assert var["definition"] == "label_values(job)", var
    lakegate_targets = _dashboard_targets(dash)
    assert len(lakegate_targets) >= 30
    for title, expr in lakegate_targets:
        sels = re.findall(r"\b(lakegate_[a-z0-9_]+)(\{[^}]*\})?", expr)
        assert sels, (title, expr)
        for name, sel in sels:
            assert 'job=~"$scrape_jobs"' in sel, f"{title}: {name} does not filter the scrape jobs: {expr}"
    assert len(minio["queries"]) == 80

    # ---- the server: JWT scrape auth, bindings, audit, KMS
    policies = tmp_path / "policies"
    policies.mkdir()
    for name, body in BINDINGS.items():
        (policies / name).write_text(body)
    kms_key = base64.b64encode(os.urandom(32)).decode()
    srv = new_server(
        args=["--usage-interval", "1s", "--policies", str(policies),
              "--kms-secret-key", f"lakegate-e2e:{kms_key}",
              "--audit-log", str(tmp_path / "audit.log"),
              "--backup-target", str(tmp_path / "backups")],
        env={"LAKEGATE_PROMETHEUS_AUTH_TYPE": "jwt"},
    )
    srv.start()
    admin = Admin(srv)
    states = {b["file"]: b["state"] for b in admin.call("GET", "policies")["bindings"]}
    for name in BINDINGS:
        assert states.get(name) == "active", states

    # ---- the scrape configuration, tokens included, from the CLI
    _, out, _ = run([str(lakegate_bin()), "admin", "prometheus", "generate", "--type", "all",
                     "--endpoint", srv.s3_url, "--root-user", srv.user, "--root-password", srv.password],
                    env=scrubbed_env(), server=srv, log=tmp_path / "generate.log")
    generated = yaml.safe_load(out)
    jobs = {j["metrics_path"]: j for j in generated["scrape_configs"]}
    assert set(jobs) == set(ENDPOINTS.values()), out
    host = srv.s3_url.split("://", 1)[1]
    for j in jobs.values():
        assert j["static_configs"][0]["targets"] == [host], j
        assert j["bearer_token"], j
    token = jobs[ENDPOINTS["cluster"]]["bearer_token"]

    # Scrape auth really is on: no token and a forged one are refused, the generated one works.
    assert _get(srv.s3_url + ENDPOINTS["cluster"])[0] == 403
    forged = token[: token.rindex(".") + 1] + "AAAA" + token[token.rindex(".") + 5:]
    assert _get(srv.s3_url + ENDPOINTS["cluster"], forged)[0] == 403
    for path in ENDPOINTS.values():
        status, body = _get(srv.s3_url + path, token)
        assert status == 200, (path, status, body[:300])

    config = dict(generated)
    config["global"] = {"scrape_interval": f"{SCRAPE_INTERVAL_S}s",
                        "scrape_timeout": f"{SCRAPE_INTERVAL_S}s",
                        "evaluation_interval": "15s"}
    prom_dir = tmp_path / "prometheus"
    prom_dir.mkdir()
    config_path = prom_dir / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    # The generated configuration and the example one are valid Prometheus configurations.
    for path in (config_path, EXAMPLE_CONFIG):
        p = subprocess.run(["promtool", "check", "config", str(path)], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        assert p.returncode == 0, f"promtool check config {path}: exit {p.returncode}\n{p.stdout.decode()}"

    prom = Prometheus(config_path, prom_dir)
    try:
        prom.wait_ready()

        # ---- load (two rounds a few scrapes apart), a backup run and a lifecycle scan
        _wait_scrapes(prom, srv, 2)   # a baseline before anything happens
        t0 = time.monotonic()
        _load(srv, 0)
        time.sleep(2.5 * SCRAPE_INTERVAL_S)
        _load(srv, 1)
        job = admin.call("POST", f"backup/{BUCKET}/run", query="wait=true")["job"]
        assert job["state"] == "succeeded", job
        report = admin.scan(BUCKET)
        assert report["expired"] >= 4 and report["noncurrent_deleted"] >= 1, report
        load_done = time.monotonic()
        record_property("timing:load + backup + lifecycle", load_done - t0)

        # ---- wait for scrapes after the load (at least 8 s, 8 successful scrapes of each job)
        time.sleep(max(0.0, load_done + 8 - time.monotonic()))
        _wait_scrapes(prom, srv, 8)

        # ---- every dashboard query
        failures: list[str] = []
        empty_as_expected: list[str] = []
        checked = 0

        def check(source: str, panel: str, expr: str, want_data: bool):
            nonlocal checked
            checked += 1
            q = _substitute(expr)
            try:
                result = prom.query(q)
            except Exception as e:  # a PromQL error is a failure too
                failures.append(f"[{source}] {panel!r}: query error {e}\n    {q}")
                return
            if want_data and not result:
                failures.append(f"[{source}] {panel!r}: no data\n    {q}")
            elif not want_data and result:
                failures.append(f"[{source}] {panel!r}: expected no series (not applicable) but got "
                                f"{len(result)}: {result[:2]}\n    {q}")
            elif not want_data:
                empty_as_expected.append(panel)

        for q in minio["queries"]:
            names = set(re.findall(r"\b(minio_[a-z0-9_]+)\b", q["expr"]))
            check(f"minio {q['dashboard']}", q["panel"], q["expr"], not (names & set(not_applicable)))
        for title, expr in lakegate_targets:
            check("lakegate", title, expr, True)

        # ---- the load shows where it should (not just "some series exist")
        nonzero = {
            "KMS requests succeeded": 'minio_cluster_kms_request_success > 0',
            "bucket 4xx counted": f'sum(minio_bucket_requests_4xx_errors_total{{bucket="{BUCKET}"}}) > 0',
            "bucket requests counted": f'sum(minio_bucket_requests_total{{bucket="{BUCKET}"}}) > 0',
            "usage counted the bucket": f'minio_bucket_usage_object_total{{bucket="{BUCKET}"}} > 0',
            "backup copied objects": f'lakegate_backup_objects_copied_total{{bucket="{BUCKET}"}} > 0',
            "backup copied bytes (replication view)":
                f'minio_bucket_replication_sent_bytes{{bucket="{BUCKET}"}} > 0',
            "backup generation": f'lakegate_backup_generation{{bucket="{BUCKET}"}} >= 1',
            "lifecycle expired": 'lakegate_lifecycle_actions_total{action="expire"} >= 4',
            "lifecycle deleted noncurrent": 'lakegate_lifecycle_actions_total{action="delete_noncurrent"} >= 1',
            "lifecycle saw the upload": 'lakegate_lifecycle_uploads_scanned_total >= 1',
            "lifecycle plugin called": f'lakegate_policy_calls_total{{bucket="{BUCKET}",kind="lifecycle"}} > 0',
            "backup plugin called": f'lakegate_policy_calls_total{{bucket="{BUCKET}",kind="backup"}} > 0',
            "both bindings serving": f'count(lakegate_policy_plugin_info{{bucket="{BUCKET}"}}) == 2',
            "inline versions": f'lakegate_object_versions{{bucket="{BUCKET}",storage="inline"}} > 0',
            "blob versions": f'lakegate_object_versions{{bucket="{BUCKET}",storage="blob"}} > 0',
            "audit entries": 'lakegate_audit_entries_total > 0',
            "multipart parts timed":
                'sum(lakegate_s3_request_duration_seconds_count{operation="UploadPart"}) >= 3',
            "404s timed": 'sum(lakegate_s3_request_duration_seconds_count{status_class="4xx"}) >= 5',
            # Rates over the window are real numbers above 0 (not 0 or NaN): Prometheus saw the
            # counters grow, and the histograms give finite quantiles.
            "S3 request rate": 'sum(rate(lakegate_s3_request_duration_seconds_count[1m])) > 0',
            "S3 p50 latency": 'histogram_quantile(0.5, sum by (operation, le) '
                              '(rate(lakegate_s3_request_duration_seconds_bucket{operation="PutObject"}[1m]))) > 0',
            "S3 p99 latency": 'histogram_quantile(0.99, sum by (operation, le) '
                              '(rate(lakegate_s3_request_duration_seconds_bucket{operation="GetObject"}[1m]))) > 0',
            "S3 error ratio": 'sum by (status_class) (rate(lakegate_s3_request_duration_seconds_count{status_class="4xx"}[1m]))'
                              ' / ignoring (status_class) group_left sum(rate(lakegate_s3_request_duration_seconds_count[1m])) > 0',
            "MinIO request rate": 'sum(increase(minio_s3_requests_total{api="putobject"}[1m])) > 0',
            "MinIO 4xx rate": 'sum(increase(minio_s3_requests_4xx_errors_total[1m])) > 0',
            "MinIO bucket request rate": f'sum(increase(minio_bucket_requests_total{{bucket="{BUCKET}"}}[1m])) > 0',
            "S3 ingress rate": 'sum(rate(minio_s3_traffic_received_bytes[1m])) > 0',
            "S3 egress rate": 'sum(rate(minio_s3_traffic_sent_bytes[1m])) > 0',
            "KMS success rate": 'sum(rate(minio_cluster_kms_request_success[1m])) > 0',
            "plugin call rate": f'sum(rate(lakegate_policy_calls_total{{bucket="{BUCKET}"}}[1m])) > 0',
            "plugin call p99": 'histogram_quantile(0.99, sum by (bucket, kind, le) (rate('
                               f'lakegate_policy_call_duration_seconds_bucket{{bucket="{BUCKET}"}}[1m]))) > 0',
            "lifecycle expired in window": 'sum(increase(lakegate_lifecycle_actions_total{action="expire"}[1m])) > 0',
            "lifecycle versions scanned rate": 'sum(rate(lakegate_lifecycle_versions_scanned_total[1m])) > 0',
            "lifecycle scan p99": 'histogram_quantile(0.99, sum by (le) '
                                  '(rate(lakegate_lifecycle_scan_duration_seconds_bucket[1m]))) > 0',
            "backup bytes rate": f'sum(rate(lakegate_backup_bytes_copied_total{{bucket="{BUCKET}"}}[1m])) > 0',
            "backup objects rate": f'sum(rate(lakegate_backup_objects_copied_total{{bucket="{BUCKET}"}}[1m])) > 0',
            "commit batch p50": 'histogram_quantile(0.5, sum by (le) (rate(lakegate_meta_commit_batch_size_bucket[1m]))) > 0',
            "commit latency p99": 'histogram_quantile(0.99, sum by (le) '
                                  '(rate(lakegate_meta_commit_duration_seconds_bucket[1m]))) > 0',
            "audit entries rate": 'sum(rate(lakegate_audit_entries_total[1m])) > 0',
        }
        for what, q in nonzero.items():
            try:
                if not prom.query(q):
                    failures.append(f"[load] {what}: empty\n    {q}")
            except Exception as e:
                failures.append(f"[load] {what}: query error {e}\n    {q}")

        record_property("queries checked", checked)
        print(f"\n{checked} dashboard queries checked ({len(minio['queries'])} MinIO, "
              f"{len(lakegate_targets)} lakegate), {len(empty_as_expected)} empty as expected "
              f"(not applicable), {len(nonzero)} load checks")
        assert not failures, (f"{len(failures)} of {checked + len(nonzero)} checks failed:\n"
                              + "\n".join(failures) + f"\n--- prometheus log\n{prom.log_tail(15)}")
        assert sorted(set(empty_as_expected)) == sorted({
            q["panel"] for q in minio["queries"]
            if set(re.findall(r"\b(minio_[a-z0-9_]+)\b", q["expr"])) & set(not_applicable)})
    finally:
        prom.stop()

    # ---- promtool check metrics on each endpoint's text
    # promtool 2.42 exits 1 when the text does not parse ("error while linting: ..."), 3 when it
    # parses but has lint problems (naming conventions: "counter metrics should have _total
    # suffix", "non-counter metrics should not have _total suffix", camelCase labels, ...), else 0.
    # Exit 3 is therefore a warning, not an error: the failing ones are the names and labels
    # MinIO's dashboards query (minio_s3_traffic_received_bytes, minio_cluster_bucket_total,
    # targetArn, ...), kept as MinIO spells them. So: no parse error on any endpoint (exit 0 or 3,
    # no "error" line), every lint problem is on a minio_* series, and lakegate's own series
    # (lakegate_*) alone are lint-clean (exit 0, no output).
    report_lines = []
    for name, path in ENDPOINTS.items():
        status, text = _get(srv.s3_url + path, token)
        assert status == 200
        rc, lines = _promtool_metrics(text)
        report_lines.append(f"promtool check metrics {path}: exit {rc}, {len(lines)} lint lines")
        report_lines += [f"    {ln}" + (f"  (x{lines.count(ln)})" if lines.count(ln) > 1 else "")
                         for ln in dict.fromkeys(lines)]
        assert rc in (0, 3), f"{path}: promtool exit {rc} (1 = parse error):\n" + "\n".join(lines)
        errors = [ln for ln in lines if ln.lower().startswith("error")]  # "error while linting: ..."
        assert not errors, f"{path}: promtool errors:\n" + "\n".join(errors)
        not_minio = [ln for ln in lines if not ln.startswith("minio_")]
        assert not not_minio, f"{path}: lint problems outside MinIO's series:\n" + "\n".join(not_minio)
        own = _family_filter(text, "lakegate_")
        if name == "cluster":
            assert "lakegate_s3_request_duration_seconds_bucket" in own
            rc, lines = _promtool_metrics(own)
            assert rc == 0 and not lines, f"lakegate_* series lint problems (exit {rc}):\n" + "\n".join(lines)
    print("\n" + "\n".join(report_lines))
    record_property("promtool", "\n".join(report_lines))
