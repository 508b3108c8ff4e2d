"""The web console's core pages in real headless Chromium (playwright-core driving Debian's
chromium): login (good, bad, rate-limited), session cookie flags, CSRF and Origin checks,
buckets (create with versioning + object lock + encryption, delete with typed confirmation),
the object browser (uploads incl. multipart, downloads, pagination, partitions), object
versions (restore), public/private, a read-only user, and markup in names rendered as text.
Each scenario is one browser run (browser/console_core.mjs); the results are verified with
boto3 and urllib. Screenshots go to artifacts/console/ ($LAKEGATE_E2E_ARTIFACTS).

Needs node, chromium and `npm ci --prefix tests/e2e/browser`; without them the module skips
(fails with LAKEGATE_E2E_REQUIRE_TOOLS=1, as in CI)."""

from __future__ import annotations

import hashlib
import io
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from conftest import BROWSER, CHROMIUM, require_browser, run, unique_bucket
from lgserver import scrubbed_env
from util import Admin, write_random



pytestmark = require_browser("playwright-core")


def drive(server, scenario: str, tmp_path: Path, timeout: int = 180, user=None, password=None,
          **args) -> dict:
    """Runs one browser scenario; returns its JSON result (fails the test when it failed)."""
    args = {"url": server.console_url, "user": user or server.user,
            "password": password or server.password, **args}
    log = tmp_path / f"browser-{scenario}.log"
    rc, out, err = run(["node", str(BROWSER / "console_core.mjs"), scenario, json.dumps(args)],
                       env=scrubbed_env({"CHROMIUM": CHROMIUM}), timeout=timeout, check=False,
                       log=log)
    lines = [l for l in out.strip().splitlines() if l.startswith("{")]
    res = json.loads(lines[-1]) if lines else {"ok": False, "error": f"no result; stderr: {err[-3000:]}"}
    if not res.get("ok"):
        pytest.fail(f"browser scenario {scenario} failed: {res.get('error')}\n"
                    f"page errors: {res.get('page_errors')}\nconsole errors: {res.get('console_errors')}\n"
                    f"--- stderr\n{err[-3000:]}\n--- lakegate log (tail)\n{server.log_tail(40)}")
    return res


def _http(url: str, method: str = "GET", headers: dict | None = None, data: bytes | None = None):
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _code(e: ClientError) -> str:
    return e.response["Error"]["Code"]


# ---------------------------------------------------------------- login and session

def test_login_cookie_csrf_and_origin(server, tmp_path):
    res = drive(server, "login", tmp_path)
    # Nothing but the login form before login.
    assert res["before"] == {"app_hidden": True, "nav_links": 0}, res["before"]
    assert res["bad"]["text"] == "wrong access key or secret key" and res["bad"]["status"] == "401", res["bad"]
    assert not res["bad"]["app"] and res["bad_cookie"] is None, res
    assert res["landed"] == {"page": "dashboard", "state": "ready", "hash": "#/"}, res["landed"]
    assert server.user in res["who"]
    c = res["cookie"]
    assert c["name"] == "lakegate_session" and c["httpOnly"] is True and c["sameSite"] == "Strict" \
        and c["path"] == "/", c
    # Without (or with a wrong) X-CSRF-Token: refused before reaching S3.
    for k in ("no_csrf_post", "no_csrf_put", "wrong_csrf"):
        assert res[k]["status"] == 403, (k, res[k])
    assert res["list_status"] == 200
    assert res["after_logout"] == 401 and res["login_shown_after_logout"] is True, res

    # The same session from another origin: refused even with the right token.
    cookie = f"{c['name']}={c['value']}"
    base = server.console_url
    ok_headers = {"Cookie": cookie, "X-CSRF-Token": res["csrf"], "Origin": base}
    name = unique_bucket("csrf")
    status, body = _http(f"{base}/api/s3/{name}", "PUT", {**ok_headers, "Origin": "http://evil.example"})
    assert status == 403, body
    status, body = _http(f"{base}/api/s3/", "GET", {"Cookie": cookie, "Sec-Fetch-Site": "cross-site"})
    assert status == 403, body
    # Control: the right origin and token pass.
    status, body = _http(f"{base}/api/s3/", "GET", {"Cookie": cookie})
    assert status == 200 and b"ListAllMyBucketsResult" in body, body
    status, body = _http(f"{base}/api/s3/{name}", "PUT", ok_headers)
    assert status == 200, body
    status, _ = _http(f"{base}/api/s3/{name}", "DELETE", ok_headers)
    assert status == 204


def test_login_rate_limited(new_server, tmp_path):
    srv = new_server().start()
    res = drive(srv, "ratelimit", tmp_path, timeout=240)
    assert all(s["status"] == "401" for s in res["seen"]), res["seen"]
    right = res["right"]
    assert right["status"] == "429" and not right["app"], right
    assert "too many failed logins" in right["text"], right
    assert res["cookie"] is None


# ---------------------------------------------------------------- buckets

def test_create_and_delete_bucket(server, s3, tmp_path):
    b = unique_bucket("ui-create")
    res = drive(server, "create_bucket", tmp_path, bucket=b)
    assert res["versioning_forced"] is True and res["listed"] == 1, res
    assert s3.get_bucket_versioning(Bucket=b)["Status"] == "Enabled"
    lock = s3.get_object_lock_configuration(Bucket=b)["ObjectLockConfiguration"]
    assert lock["ObjectLockEnabled"] == "Enabled"
    assert lock["Rule"]["DefaultRetention"] == {"Mode": "GOVERNANCE", "Days": 1}, lock
    rules = s3.get_bucket_encryption(Bucket=b)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256", rules
    assert res["settings"]["versioning"] == "Enabled" and res["settings"]["lock"] == "Enabled", res
    assert res["settings"]["encryption"].startswith("AES256"), res

    # Retention and legal hold of an object that took the bucket's default retention.
    key = "locked/report.csv"
    s3.put_object(Bucket=b, Key=key, Body=b"a,b\n")
    default_until = s3.head_object(Bucket=b, Key=key)["ObjectLockRetainUntilDate"]
    res = drive(server, "lock", tmp_path, bucket=b, key=key)
    assert res["before"]["retention"].startswith("GOVERNANCE until"), res["before"]
    assert res["before"]["hold"] == "OFF" and res["hold"]["status"] == "ON", res
    assert s3.get_object_legal_hold(Bucket=b, Key=key)["LegalHold"]["Status"] == "ON"
    assert res["extended"]["ok"], res["extended"]
    until = s3.get_object_retention(Bucket=b, Key=key)["Retention"]
    assert until["Mode"] == "GOVERNANCE" and (until["RetainUntilDate"] - default_until).days >= 1, until
    # Shortening GOVERNANCE retention without the bypass is refused, with the server's words.
    assert not res["shortened"]["ok"] and res["shortened"]["text"], res["shortened"]
    assert s3.get_object_retention(Bucket=b, Key=key)["Retention"]["RetainUntilDate"] == until["RetainUntilDate"]
    s3.put_object_legal_hold(Bucket=b, Key=key, LegalHold={"Status": "OFF"})

    # Delete: another (empty) bucket, typed confirmation.
    d = unique_bucket("ui-delete")
    s3.create_bucket(Bucket=d)
    res = drive(server, "delete_bucket", tmp_path, bucket=d)
    assert res["disabled_with_wrong_name"] is True and res["still_listed_after_cancel"] == 1, res
    assert res["enabled_with_right_name"] is True and res["gone"] is True, res
    with pytest.raises(ClientError) as e:
        s3.head_bucket(Bucket=d)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


# ---------------------------------------------------------------- objects

def test_upload_and_download_with_identical_bytes(server, s3, bucket, tmp_path):
    small = tmp_path / "up" / "notes small.txt"
    small.parent.mkdir()
    small.write_bytes(b"hello from the console\n" * 100)
    big = write_random(tmp_path / "up" / "big-20MiB.bin", 20 * 1024 * 1024, seed=7)
    scratch = tmp_path / "up" / "scratch.txt"
    scratch.write_bytes(b"delete me\n")
    dl = tmp_path / "dl"
    dl.mkdir()
    folder = tmp_path / "landing"
    (folder / "2026" / "01").mkdir(parents=True)
    (folder / "manifest.json").write_bytes(b'{"files": 1}')
    (folder / "2026" / "01" / "events.ndjson").write_bytes(b'{"e": 1}\n{"e": 2}\n')
    res = drive(server, "upload_download", tmp_path, timeout=300, bucket=bucket,
                files=[str(small), str(big), str(scratch)], download_dir=str(dl),
                folder_path=str(folder), folder_count=2, delete_key=scratch.name)
    states = {s["key"]: s for s in res["states"]}
    assert all(states[f.name]["state"] == "done" for f in (small, big, scratch)), states
    assert "3 parts" in states[big.name]["text"], states
    reqs = res["requests"]
    # Part 2 was answered 503 SlowDown once (by the browser test) and sent again.
    assert sum(1 for r in reqs if r.startswith("PUT ") and "partNumber=" in r) == 4, reqs
    assert sum(1 for r in reqs if r.startswith("PUT ") and "partNumber=2&" in r) == 2, reqs
    assert any(r.startswith("POST ") and r.endswith("?uploads") for r in reqs), reqs
    head = s3.head_object(Bucket=bucket, Key=big.name)
    assert head["ETag"].endswith('-3"'), head["ETag"]
    for d in res["downloads"]:
        src = small if d["key"] == small.name else big
        want = hashlib.sha256(src.read_bytes()).hexdigest()
        got = hashlib.sha256(s3.get_object(Bucket=bucket, Key=d["key"])["Body"].read()).hexdigest()
        assert d["sha256"] == want == got, d
        assert d["suggested"] == d["key"], d
    # The folder kept its relative paths.
    assert sorted(f["key"] for f in res["folder"] if f["key"].startswith("landing/")) == \
        ["landing/2026/01/events.ndjson", "landing/manifest.json"], res["folder"]
    assert s3.get_object(Bucket=bucket, Key="landing/2026/01/events.ndjson")["Body"].read() == b'{"e": 1}\n{"e": 2}\n'
    assert sorted(d["key"] for d in res["downloads"]) == sorted([small.name, big.name]), res["downloads"]
    # "Delete selected" removed the selected file only.
    assert scratch.name not in res["remaining"] and big.name in res["remaining"], res["remaining"]
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert keys == {small.name, big.name, "landing/manifest.json", "landing/2026/01/events.ndjson"}, keys


def test_cancelled_multipart_upload_is_aborted(server, s3, bucket, tmp_path):
    big = write_random(tmp_path / "cancel-me.bin", 40 * 1024 * 1024, seed=3)
    res = drive(server, "upload_cancel", tmp_path, timeout=180, bucket=bucket, file=str(big))
    assert res["state"]["state"] == "cancelled", res["state"]
    assert any(r.startswith("POST ") and r.endswith("?uploads") for r in res["requests"]), res["requests"]
    assert any(r.startswith("DELETE ") and "uploadId=" in r for r in res["requests"]), res["requests"]
    deadline = time.time() + 10
    while s3.list_multipart_uploads(Bucket=bucket).get("Uploads") and time.time() < deadline:
        time.sleep(0.2)
    assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads"), "the upload was not aborted"
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_restore_an_old_version(server, s3, tmp_path):
    b = unique_bucket("ui-restore")
    s3.create_bucket(Bucket=b)
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    key = "reports/daily.csv"
    v1 = s3.put_object(Bucket=b, Key=key, Body=b"day,value\n1,old\n")["VersionId"]
    s3.put_object(Bucket=b, Key=key, Body=b"day,value\n1,new\n")
    res = drive(server, "restore", tmp_path, bucket=b, key=key, version=v1)
    assert res["before"] == 2 and res["after"] == 3, res
    assert s3.get_object(Bucket=b, Key=key)["Body"].read() == b"day,value\n1,old\n"
    versions = s3.list_object_versions(Bucket=b, Prefix=key)["Versions"]
    assert len(versions) == 3

    # Deleted (a delete marker on top), then the marker removed in the browser's versions view.
    s3.delete_object(Bucket=b, Key=key)
    s3.put_object(Bucket=b, Key="reports/other.csv", Body=b"x")
    res = drive(server, "marker", tmp_path, bucket=b, key=key)
    assert res["hidden_before"] == 0, res
    assert [r["marker"] for r in res["rows"] if key.split("/")[-1] in r["text"]].count(True) == 1, res["rows"]
    assert res["markers_after"] == 0, res
    assert s3.get_object(Bucket=b, Key=key)["Body"].read() == b"day,value\n1,old\n"


def test_make_public_then_private(server, s3, tmp_path):
    b = unique_bucket("ui-public")
    s3.create_bucket(Bucket=b)
    s3.put_object(Bucket=b, Key="open/data.json", Body=b'{"ok": true}')
    url = f"{server.s3_url}/{b}/open/data.json"
    assert _http(url)[0] == 403
    res = drive(server, "set_public", tmp_path, bucket=b, public=True)
    assert res["before"] == "not public" and res["after"] == "public", res
    assert _http(url) == (200, b'{"ok": true}')
    assert _http(f"{server.s3_url}/{b}")[0] == 200  # listing is public too
    doc = json.loads(s3.get_bucket_policy(Bucket=b)["Policy"])
    assert {a for st in doc["Statement"] for a in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]])} \
        == {"s3:GetObject", "s3:ListBucket"}, doc
    assert "not valid JSON" in res["invalid"], res
    assert "MalformedPolicy" in res["server"] or "NoSuchAction" in res["server"], res["server"]
    res = drive(server, "set_public", tmp_path, bucket=b, public=False)
    assert res["after"] == "not public", res
    assert _http(url)[0] == 403
    # Then BlockPublicPolicy on: "Make public" is refused, with the server's words.
    assert res["pab"]["saved"] == "Public access block saved.", res["pab"]
    assert s3.get_public_access_block(Bucket=b)["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    assert not res["pab"]["blocked"]["ok"] and res["pab"]["blocked"]["text"], res["pab"]
    with pytest.raises(ClientError) as e:
        s3.get_bucket_policy(Bucket=b)
    assert _code(e.value) == "NoSuchBucketPolicy"
    assert _http(url)[0] == 403


def test_cors_and_lifecycle_editors(server, s3, tmp_path):
    b = unique_bucket("ui-xml")
    s3.create_bucket(Bucket=b)
    # bronze has a lifecycle binding by default: the S3 lifecycle API is refused there.
    bound = "bronze" if "bronze" in {x["Name"] for x in s3.list_buckets()["Buckets"]} else None
    res = drive(server, "xml_settings", tmp_path, bucket=b, bound_bucket=bound)
    assert res["cors"]["ok"], res["cors"]
    rule = s3.get_bucket_cors(Bucket=b)["CORSRules"][0]
    assert rule["AllowedMethods"] == ["GET", "HEAD"] and rule["AllowedOrigins"] == ["*"], rule
    assert res["lifecycle"]["ok"], res["lifecycle"]
    rules = s3.get_bucket_lifecycle_configuration(Bucket=b)["Rules"]
    assert rules[0]["ID"] == "expire-tmp" and rules[0]["Expiration"] == {"Days": 7}, rules
    if bound:
        # Refused where a policy binding governs, with the server's explanation.
        assert not res["bound"]["ok"] and "binding" in res["bound"]["text"], res["bound"]


def test_markup_in_names_and_tags_renders_as_text(server, s3, tmp_path):
    b = unique_bucket("ui-xss")
    s3.create_bucket(Bucket=b)
    key = "<script>alert(1)</script>.txt"
    tag = "<img src=x onerror=alert(1)>"
    s3.put_object(Bucket=b, Key=key, Body=b"x", Tagging=f"note={urllib.parse.quote(tag)}",
                  Metadata={"comment": "<b>bold</b>"})
    res = drive(server, "xss", tmp_path, bucket=b, key=key, tag_value=tag)
    assert "<script>alert(1)<" in res["folder_text"], res
    assert "script>.txt" in res["row_text"], res
    assert res["meta_key"] == key and res["title"] == "script>.txt", res
    assert tag in res["tags"], res
    assert res["dialog_count"] == 0 and res["dialogs"] == [], res
    assert res["injected"]["imgs"] == 0, res
    assert all(s != "inline" for s in res["injected"]["scripts"]), res


def test_readonly_user_sees_read_only_screens_and_is_refused(server, s3, tmp_path):
    b = unique_bucket("ui-ro")
    s3.create_bucket(Bucket=b)
    s3.put_object(Bucket=b, Key="data/keep.txt", Body=b"keep")
    ak, sk = f"viewer-{uuid.uuid4().hex[:6]}", "viewer-secret-42"
    admin = Admin(server)
    admin.call("PUT", f"iam/users/{ak}", json.dumps({"secret_key": sk}).encode())
    # The canned readonly policy reads objects; listing them is one more read-only grant.
    lister = f"list-{ak}"
    admin.call("PUT", f"iam/policies/{lister}", json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:ListAllMyBuckets", "s3:ListBucketVersions",
                                       "s3:GetBucketVersioning", "s3:GetObjectTagging"],
         "Resource": ["arn:aws:s3:::*"]}]}).encode())
    admin.call("POST", "iam/attach", json.dumps({"policies": ["readonly", lister], "user": ak}).encode())
    res = drive(server, "readonly", tmp_path, user=ak, password=sk, bucket=b, key="data/keep.txt")
    assert res["kind"] == "user"
    assert res["buckets"] == {"create": 0, "del": 0, "listed": 1}, res["buckets"]
    assert res["browser"]["upload"] == 0 and res["browser"]["del"] == 0 and res["browser"]["drop"] == 0, res
    assert res["browser"]["rows"] == 1, res
    assert res["object"]["del"] == 0 and res["object"]["download"] == 1 and res["object"]["tagsSaveDisabled"], res
    assert res["settings"]["versioningDisabled"] is True, res
    assert res["forced"]["status"] == 403 and "AccessDenied" in res["forced"]["text"], res["forced"]
    assert res["forced_delete"]["status"] == 403, res["forced_delete"]
    assert s3.get_object(Bucket=b, Key="data/keep.txt")["Body"].read() == b"keep"
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=b, Key="data/forced.txt")
    assert _code(e.value) in ("404", "NoSuchKey", "NotFound")


# ---------------------------------------------------------------- listing

def test_pagination_and_partitions(server, s3, tmp_path):
    b = unique_bucket("ui-many")
    s3.create_bucket(Bucket=b)
    n = 1200

    def put(i):
        s3.put_object(Bucket=b, Key=f"many/key-{i:05d}.txt", Body=b"x")

    with ThreadPoolExecutor(16) as ex:
        list(ex.map(put, range(n)))
    p = unique_bucket("ui-parts")
    s3.create_bucket(Bucket=p)
    for m in ("01", "02"):
        s3.put_object(Bucket=p, Key=f"year=2026/month={m}/part-0000.parquet", Body=b"PAR1")
    s3.put_object(Bucket=p, Key="year=2025/month=12/part-0000.parquet", Body=b"PAR1")
    s3.put_object(Bucket=p, Key="_delta_log/00000000000000000000.json", Body=b"{}")
    s3.put_object(Bucket=p, Key="README.md", Body=b"# sales, partitioned by year and month\n" * 40,
                  ContentType="text/markdown")
    s3.put_object(Bucket=p, Key="schema.json", Body=b'{"fields": ["id", "amount"]}',
                  ContentType="application/json")
    res = drive(server, "pagination", tmp_path, bucket=b, prefix="many/", partition_bucket=p)
    assert res["pages"] == [500, 1000, 1200], res
    assert res["filtered"] == 1, res  # only key-00011 among the loaded rows
    assert res["searched"] == [f"many/key-{i:05d}.txt" for i in range(1190, 1200)], res["searched"]
    assert res["list_ms"] < 2000, res  # server + browser time of one 500-key page
    assert sorted(res["chips0"]) == ["year=2025", "year=2026"], res
    assert sorted(res["chips1"]) == ["month=01", "month=02"], res
    assert res["keys"] == ["year=2026/month=01/part-0000.parquet"], res
    assert res["crumbs"] == ["year=2026", "month=01"], res
    assert res["new_folder"]["hash"].endswith("prefix=year%3D2027%2F"), res["new_folder"]
    assert "This folder is empty" in res["new_folder"]["empty"], res["new_folder"]
    assert s3.head_object(Bucket=p, Key="year=2027/")["ContentLength"] == 0
    # The folder of 1200 keys was deleted a page at a time, with progress.
    fd = res["folder_delete"]
    assert fd["state"] == "done" and fd["text"] == "Deleted 1200.", fd
    assert fd["calls"] == 2, fd  # one DeleteObjects per listed page of <= 1000 keys
    assert "Deleting… 1000 deleted" in fd["progress"], fd
    assert s3.list_objects_v2(Bucket=b, Prefix="many/")["KeyCount"] == 0
    print(f"first page: {res['first_ms']} ms (list call {res['list_ms']} ms)")


# ---------------------------------------------------------------- object detail

def _parquet_bytes() -> bytes | None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return None
    t = pa.table({"id": pa.array([1, 2, 3], pa.int64()),
                  "city": ["Lisbon", "Porto", None],
                  "amount": pa.array([9.5, 12.25, 3.0], pa.float64())})
    buf = io.BytesIO()
    pq.write_table(t, buf, compression="snappy")
    return buf.getvalue()


def test_object_detail_preview_and_share(server, s3, tmp_path):
    b = unique_bucket("ui-detail")
    s3.create_bucket(Bucket=b)
    csv_key = "silver/orders/2026-01-05.csv"
    body = b"order_id,customer,amount\n" + b"".join(f"{i},cust-{i % 7},{i * 1.5}\n".encode() for i in range(1, 41))
    s3.put_object(Bucket=b, Key=csv_key, Body=body, ContentType="text/csv", Metadata={"source": "pos-export"},
                  Tagging="layer=bronze", ServerSideEncryption="AES256")
    pq_key = "gold/kpi/part-0000.parquet"
    pq_bytes = _parquet_bytes()
    if pq_bytes is None:
        pytest.skip("pyarrow is not in the e2e venv")
    s3.put_object(Bucket=b, Key=pq_key, Body=pq_bytes)
    res = drive(server, "detail", tmp_path, bucket=b, csv_key=csv_key, parquet_key=pq_key)
    meta = res["meta"]
    assert meta["type"] == "text/csv" and meta["enc"].startswith("AES256"), meta
    assert any("source" in r and "pos-export" in r for r in meta["user_meta"]), meta
    assert "layer=bronze" in meta["tags"], meta
    tags = {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=b, Key=csv_key)["TagSet"]}
    assert tags == {"layer": "bronze", "tier": "silver"}, tags
    assert "(2)" in res["tags_result"], res["tags_result"]
    # The share link is a presigned GET on the S3 port.
    assert res["share_url"].startswith(server.s3_url + "/"), res["share_url"]
    assert _http(res["share_url"]) == (200, body)
    assert res["csv"].get("kind") == "csv", res["csv"]
    assert res["csv"]["head"] == ["#", "order_id", "customer", "amount"] and res["csv"]["rows"] == 40, res["csv"]
    assert res["parquet"].get("kind") == "parquet", res["parquet"]
    assert res["parquet"]["schema"] == ["id", "city", "amount"] and res["parquet"]["rows"] == 3, res["parquet"]
