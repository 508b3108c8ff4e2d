"""The console's operator pages in headless Chromium (browser/console_ops.mjs): dashboard,
identity (users, groups, policies, access keys), policies (bindings, lifecycle dry runs),
backups (run, restore a prefix) and the audit trail — each checked afterwards with real
clients (boto3, the admin API).

Needs node, chromium and `npm ci --prefix tests/e2e/browser` (playwright-core); without them
the module skips (fails with LAKEGATE_E2E_REQUIRE_TOOLS=1, as in CI)."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from conftest import BROWSER, CHROMIUM, boto_config, make_s3, require_browser, run, unique_bucket
from lgserver import REGION, REPO_ROOT, scrubbed_env
from util import Admin

SCRIPT = BROWSER / "console_ops.mjs"
XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'


pytestmark = require_browser("playwright-core")


def ui(srv, scenario: str, tmp_path: Path, **args) -> dict:
    """Runs one browser scenario against `srv` as root; its JSON answer (asserted ok)."""
    args = {"console": srv.console_url, "user": srv.user, "password": srv.password, **args}
    _, out, err = run(["node", str(SCRIPT), scenario, json.dumps(args)],
                      env=scrubbed_env({"CHROMIUM": CHROMIUM}), timeout=240, server=srv,
                      log=tmp_path / f"browser-{scenario}.log", check=False)
    lines = [ln for ln in out.strip().splitlines() if ln.startswith("{")]
    assert lines, f"{scenario}: no JSON answer\n--- stdout\n{out[-3000:]}\n--- stderr\n{err[-3000:]}\n" \
                  f"--- lakegate log\n{srv.log_tail(30)}"
    res = json.loads(lines[-1])
    assert res.get("ok"), f"{scenario} failed: {res.get('error')}\n--- stderr\n{err[-3000:]}\n" \
                          f"--- lakegate log\n{srv.log_tail(30)}"
    return res


def s3_as(srv, access_key: str, secret_key: str):
    return boto3.session.Session().client(
        "s3", endpoint_url=srv.s3_url, aws_access_key_id=access_key, aws_secret_access_key=secret_key,
        region_name=REGION, config=boto_config())


def error_code(fn, *a, **kw) -> str:
    with pytest.raises(ClientError) as ei:
        fn(*a, **kw)
    return ei.value.response["Error"]["Code"]


def _read_policy(bucket: str) -> dict:
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [f"arn:aws:s3:::{bucket}"]},
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [f"arn:aws:s3:::{bucket}/*"]}]}


# ---------------------------------------------------------------------------------- tests

def test_every_ops_page_renders_with_data(server, s3, tmp_path):
    """Seeded users, groups, a policy, a key with markup in its description, a bucket with
    versions: every page shows them (screenshots at 1280x800, the dashboard also at 390x844)."""
    admin = Admin(server)
    sfx = uuid.uuid4().hex[:6]
    bucket = unique_bucket("ops-pages")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for i in range(3):
        s3.put_object(Bucket=bucket, Key=f"year=2026/month=0{i + 1}/part-0.parquet", Body=os.urandom(2000 + i))
    s3.put_object(Bucket=bucket, Key="year=2026/month=01/part-0.parquet", Body=b"v2")
    user, policy, group = f"ops-user-{sfx}", f"ops-read-{sfx}", f"ops-group-{sfx}"
    admin.call("PUT", f"iam/users/{user}", json.dumps({"secret_key": "ops-user-secret-1"}).encode())
    admin.call("PUT", f"iam/policies/{policy}", json.dumps(_read_policy(bucket)).encode())
    admin.call("POST", "iam/attach", json.dumps({"policies": [policy], "user": user}).encode())
    admin.call("PUT", f"iam/groups/{group}", json.dumps({"members": [user]}).encode())
    key = admin.call("POST", "iam/access-keys", json.dumps(
        {"parent": user, "name": "xss", "description": XSS}).encode())

    res = ui(server, "pages", tmp_path, bucket=bucket, policy=policy)

    assert res["dashboard_buckets"], res
    assert res["dashboard_charts"] == 2, res
    assert user in res["users"], res["users"]
    assert [group, user] in res["groups"], res["groups"]
    assert policy in res["policies"] and "readonly" in res["policies"], res["policies"]
    assert json.loads(res["policy_text"]) == _read_policy(bucket)
    # The description is shown verbatim, as text: no element, no script.
    assert XSS in res["key_descriptions"], res["key_descriptions"]
    assert res["xss_elements"] == 0 and res["xss_ran"] is None, res
    files = {b[0] for b in res["bindings"]}
    assert "default:bronze-lifecycle.toml" in files, res["bindings"]
    assert res["suites"], res  # the shared server's policies directory does not exist: "not available"
    assert {"bronze", "silver", "gold"} <= set(res["backups"]), res["backups"]
    assert res["audit_unavailable"] == 1, res  # the shared server runs without --audit-log
    # The key made through the admin API still works: the page changed nothing.
    assert admin.call("GET", f"iam/access-keys/{key['access_key']}")["description"] == XSS


def test_scoped_key_from_template_works_with_boto3(server, s3, tmp_path):
    bucket = unique_bucket("ops-scoped")
    other = unique_bucket("ops-other")
    for b in (bucket, other):
        s3.create_bucket(Bucket=b)
        s3.put_object(Bucket=b, Key="data/report.csv", Body=b"day,revenue\n1,10\n")

    res = ui(server, "scoped_key", tmp_path, bucket=bucket, description=f"reader {XSS}")

    # The secret was in the one-time dialog, and left the DOM with it.
    assert res["shown_before"] is True
    assert res["secret_in_dom_after"] is False, res
    assert res["dialogs_left"] == 0, res
    assert res["description_cell"] == f"reader {XSS}"
    stmts = res["policy"]["Statement"]
    assert any(f"arn:aws:s3:::{bucket}/*" in s["Resource"] for s in stmts), res["policy"]

    key = s3_as(server, res["access_key"], res["secret_key"])
    assert key.get_object(Bucket=bucket, Key="data/report.csv")["Body"].read() == b"day,revenue\n1,10\n"
    assert [o["Key"] for o in key.list_objects_v2(Bucket=bucket)["Contents"]] == ["data/report.csv"]
    assert error_code(key.put_object, Bucket=bucket, Key="data/new.csv", Body=b"x") == "AccessDenied"
    assert error_code(key.get_object, Bucket=other, Key="data/report.csv") == "AccessDenied"
    # The key is listed with its template policy and its root parent.
    listed = Admin(server).call("GET", f"iam/access-keys/{res['access_key']}")
    assert listed["parent"] == server.user and listed["status"] == "enabled"
    assert listed["policy"]
    week = 7 * 86_400_000
    assert abs(listed["expires_ms"] - (listed["created_ms"] + week)) < 120_000, listed

    # Disabled in the UI, the key stops working at once.
    ui(server, "key_disable", tmp_path, access_key=res["access_key"])
    assert error_code(key.get_object, Bucket=bucket, Key="data/report.csv") == "InvalidAccessKeyId"


def test_users_and_groups_made_in_the_ui_hold_for_boto3(server, s3, tmp_path):
    sfx = uuid.uuid4().hex[:6]
    user, secret, group = f"ops-ui-{sfx}", f"ui-secret-{sfx}-x", f"ops-ui-group-{sfx}"
    bucket = unique_bucket("ops-crud")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"a")

    # The UI creates the user (readonly), a group with it, then disables it.
    res = ui(server, "identity_crud", tmp_path, user_name=user, user_secret=secret, group=group)

    assert res["user_row"][0] == user and "readonly" in res["user_row"][2], res
    assert res["group_row"][0] == group and user in res["group_row"][2], res
    assert "disabled" in res["user_row_after"][1], res
    admin = Admin(server)
    u = admin.call("GET", f"iam/users/{user}")
    assert sorted(u["policies"]) == ["diagnostics", "readonly"], u
    assert u["groups"] == [group] and u["status"] == "disabled", u
    assert error_code(s3_as(server, user, secret).get_object, Bucket=bucket, Key="a.txt") == "InvalidAccessKeyId"
    # Enabled again (admin API), the UI-made secret and policy work: read yes, write no.
    admin.call("POST", f"iam/users/{user}/enable")
    key = s3_as(server, user, secret)
    assert key.get_object(Bucket=bucket, Key="a.txt")["Body"].read() == b"a"
    assert error_code(key.put_object, Bucket=bucket, Key="b.txt", Body=b"b") == "AccessDenied"


def test_read_only_user_sees_no_admin_actions_and_the_servers_refusals(server, s3, tmp_path):
    sfx = uuid.uuid4().hex[:6]
    user, secret = f"ops-ro-{sfx}", f"ro-secret-{sfx}-x"
    admin = Admin(server)
    admin.call("PUT", f"iam/users/{user}", json.dumps({"secret_key": secret}).encode())
    admin.call("POST", "iam/attach", json.dumps({"policies": ["readonly"], "user": user}).encode())

    res = ui(server, "readonly", tmp_path, user=user, password=secret)

    assert "Buckets" in res["dashboard_cards"], res
    assert not {"Health", "Capacity", "Plugins"} & set(res["dashboard_cards"]), res
    assert res["identity_buttons"] == 0, res
    assert "AccessDenied" in res["identity_text"] or "denied" in res["identity_text"].lower(), res
    assert "may not" in res["policies_text"], res
    assert res["backup_buttons"] == 0 and "may not" in res["backups_text"], res
    assert "may not" in res["audit_text"] or "no audit log" in res["audit_text"], res


def test_every_workload_template_is_a_policy_the_server_accepts(server, tmp_path):
    prefix = f"ops-tpl-{uuid.uuid4().hex[:6]}"
    res = ui(server, "templates", tmp_path, prefix=prefix)
    assert res["ids"] == ["read-only-bucket", "read-write-prefix", "write-only-drop-zone", "spark-job",
                          "airflow", "mlflow"], res
    admin = Admin(server)
    docs = {n: admin.call("GET", f"iam/policies/{n}")["policy"] for n in res["saved"]}
    resources = lambda d: {r for st in d["Statement"] for r in st["Resource"]}  # noqa: E731
    assert "arn:aws:s3:::silver/team/*" in resources(docs[f"{prefix}-read-write-prefix"])
    assert "arn:aws:s3:::bronze/incoming/*" in resources(docs[f"{prefix}-write-only-drop-zone"])
    spark = docs[f"{prefix}-spark-job"]
    assert {"arn:aws:s3:::bronze/*", "arn:aws:s3:::silver/*"} <= resources(spark)
    writes = {r for st in spark["Statement"] if "s3:PutObject" in st["Action"] for r in st["Resource"]}
    assert writes == {"arn:aws:s3:::silver/*"}, spark
    mlflow = docs[f"{prefix}-mlflow"]
    assert any(st["Effect"] == "Deny" for st in mlflow["Statement"]), mlflow


def test_policy_editor_shows_the_servers_malformed_policy_message_then_saves(server, tmp_path):
    name = f"ops-bad-{uuid.uuid4().hex[:6]}"
    doc = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObjects"], "Resource": ["arn:aws:s3:::gold/*"]}]})
    good = json.dumps(_read_policy("gold"))
    res = ui(server, "bad_policy", tmp_path, name=name, document=doc, good_document=good)
    assert "Not valid JSON" in res["client_check"], res
    assert res["save_disabled_on_bad_json"] is True
    assert "MalformedPolicy" in res["server_error"], res
    assert "GetObjects" in res["server_error"], res
    # The refused version was not stored; the fixed one was.
    assert Admin(server).call("GET", f"iam/policies/{name}")["policy"] == _read_policy("gold")


def test_lifecycle_dry_run_today_and_on_a_date(server, s3, tmp_path):
    """bronze's built-in lifecycle binding expires current versions after 90 days: nothing of
    today's objects is due today, all of them 400 days ahead (the diff shows them added)."""
    prefix = f"ops-lc-{uuid.uuid4().hex[:8]}/"
    keys = [f"{prefix}events/part-{i}.json" for i in range(3)]
    for k in keys:
        s3.put_object(Bucket="bronze", Key=k, Body=b'{"ok": true}\n')
    date = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=400)).date().isoformat()

    res = ui(server, "lifecycle", tmp_path, bucket="bronze", date=date)

    assert not [r for r in res["today"] if r[0].startswith(prefix)], res["today"]
    due = {r[0]: r[2] for r in res["on_date"] if r[0].startswith(prefix)}
    assert set(due) == set(keys), res["on_date"]
    assert set(due.values()) == {"expire"}, due
    added = {r[1] for r in res["diff"] if r[0] == "added"}
    assert set(keys) <= added, res["diff"]
    # The dry runs changed nothing, and neither did the real scan (nothing was due today).
    assert not [r for r in res["ran"] if r[0].startswith(prefix)], res["ran"]
    for k in keys:
        assert s3.head_object(Bucket="bronze", Key=k)["ContentLength"] == len(b'{"ok": true}\n')
    last = Admin(server).call("GET", "lifecycle/bronze")["last"]
    assert last and last["dry_run"] is False and last["versions_scanned"] >= len(keys), last
    assert "default:bronze-lifecycle.toml" in res["status"], res["status"]


def test_backup_run_and_restore_a_prefix_at_a_generation(new_server, tmp_path):
    """Run a backup in the UI, change and lose a prefix, restore the prefix at the UI's
    generation (not the newest) into the same bucket: the generation's bytes are back, the
    rest is untouched. Then the dashboard of this server, with traffic, usage and backups."""
    srv = new_server(args=["--backup-target", str(tmp_path / "backups"), "--usage-interval", "1s"])
    srv.start()
    s3 = make_s3(srv)
    admin = Admin(srv)
    b = "bronze"  # the built-in backup binding (nightly, events off): runs only when asked
    lost = {f"tables/orders/part-{i}.parquet": os.urandom(3000 + i) for i in range(3)}
    kept = {"tables/customers/part-0.parquet": os.urandom(1234)}
    for k, v in {**lost, **kept}.items():
        s3.put_object(Bucket=b, Key=k, Body=v)

    res = ui(srv, "backup_run", tmp_path, bucket=b)
    assert res["state"] == "succeeded", res
    gen = max(res["generations"])
    status = admin.call("GET", f"backup/{b}")
    assert gen in [g["generation"] for g in status["generations"]], status
    assert status["last_run"]["outcome"] == "ok", status

    # A newer generation holds other bytes for one of the keys.
    first = "tables/orders/part-0.parquet"
    s3.put_object(Bucket=b, Key=first, Body=b"changed after the first backup")
    newer = admin.call("POST", f"backup/{b}/run", query="wait=true")["job"]
    assert newer["state"] == "succeeded", newer
    assert newer["report"]["generation"] > gen, newer

    # Lose the prefix; write something new elsewhere after the backups.
    for k in lost:
        s3.delete_object(Bucket=b, Key=k)
    s3.put_object(Bucket=b, Key="tables/customers/part-1.parquet", Body=b"newer than the backup")
    kept_versions = {k: s3.head_object(Bucket=b, Key=k)["VersionId"] for k in kept}
    for k in lost:
        assert error_code(s3.head_object, Bucket=b, Key=k) in ("404", "NoSuchKey")

    res = ui(srv, "restore", tmp_path, bucket=b, generation=gen, to=b, prefix="tables/orders/")
    assert res["state"] == "succeeded", res

    for k, v in lost.items():  # the first generation's bytes, also for the key changed later
        assert s3.get_object(Bucket=b, Key=k)["Body"].read() == v, k
    for k in kept:
        assert s3.head_object(Bucket=b, Key=k)["VersionId"] == kept_versions[k], k
    # Not in the backup, but outside the prefix: untouched.
    assert s3.get_object(Bucket=b, Key="tables/customers/part-1.parquet")["Body"].read() == b"newer than the backup"
    last = admin.call("GET", f"backup/{b}")["last_restore"]
    assert last["generation"] == gen and last["to"] == b and last["outcome"] == "ok", last

    # The dashboard of this server shows its buckets and its backups.
    assert res["series_points"] >= 1, res
    assert "bronze" in [r[0] for r in res["dashboard_buckets"]], res
    assert "bronze" in res["dashboard_schedules"], res


def test_policies_page_edits_and_uploads_bindings_and_runs_suites(new_server, tmp_path):
    """With a policies directory (a copy of the repository's): the suites pass; bronze's
    lifecycle binding edited in the UI's TOML editor is loaded (and its suite now fails); a
    binding file and a plugin uploaded in the UI serve."""
    policies = tmp_path / "policies"
    shutil.copytree(REPO_ROOT / "policies", policies)
    srv = new_server(args=["--policies", str(policies)])
    srv.start()
    bucket = unique_bucket("ops-bound")
    make_s3(srv).create_bucket(Bucket=bucket)
    wasm = REPO_ROOT / "target/builtin-plugins/wasm32-wasip2/release/lakegate_plugin_lifecycle.wasm"
    plugin = "ops-lifecycle.wasm" if wasm.is_file() else None
    binding = tmp_path / "upload" / f"{bucket}-lifecycle.toml"
    binding.parent.mkdir()
    binding.write_text(f'''bucket = "{bucket}"
kind = "lifecycle"
plugin = "{f"plugins/{plugin}" if plugin else "builtin:lifecycle"}"

[[config.rules]]
id = "scratch"
filter = {{ prefix = "tmp/" }}
expiration = {{ days = 1 }}
''')

    broken = f"{bucket}-retention.toml"
    broken_toml = (f'bucket = "{bucket}"\nkind = "retention"\nplugin = "plugins/missing.wasm"\n\n'
                   '[config]\ndefault = { mode = "GOVERNANCE", days = 1 }\n')

    res = ui(srv, "policies_dir", tmp_path, binding_file=str(binding),
             wasm=str(wasm) if plugin else None, plugin_name=plugin,
             broken_name=broken, broken_toml=broken_toml)

    before = dict(res["suites_before"])
    assert before and set(before.values()) == {"pass"}, before
    assert "expiration = { days = 90 }" in res["toml_before"], res["toml_before"]
    admin = Admin(srv)
    st = admin.call("GET", "bindings/bronze-lifecycle.toml")
    assert st["state"] == "active", st
    assert st["config"]["rules"][0]["expiration"] == {"days": 120}, st["config"]
    assert "days = 120" in (policies / "bronze-lifecycle.toml").read_text()
    after = dict(res["suites_after"])
    failing = [k for k, v in after.items() if v != "pass"]
    assert failing and all("bronze-lifecycle" in k for k in failing), after

    up = admin.call("GET", f"bindings/{binding.name}")
    assert up["state"] == "active" and up["bucket"] == bucket, up
    if plugin:
        assert (policies / "plugins" / plugin).read_bytes() == wasm.read_bytes()
        assert up["plugin"] == f"plugins/{plugin}", up
    assert res["uploaded_row"][2].startswith("active"), res["uploaded_row"]
    # The broken binding was written but failed to load: it stands out on both pages.
    assert "not loaded" in res["broken_dialog_error"], res
    assert broken in res["bindings_alert"], res
    assert admin.call("GET", "policies") and (policies / broken).is_file()
    assert broken in res["plugins_alert"], res
    assert res["dashboard_bad_row"][0] == broken and "failed" in res["dashboard_bad_row"][4], res
    assert "missing.wasm" in res["dashboard_bad_row"][7] or res["dashboard_bad_row"][7] != "—", res


def test_audit_page_lists_and_filters_by_principal(new_server, tmp_path):
    srv = new_server(args=["--audit-log", str(tmp_path / "audit.log")])
    srv.start()
    s3 = make_s3(srv)
    admin = Admin(srv)
    user = f"ops-writer-{uuid.uuid4().hex[:6]}"
    admin.call("PUT", f"iam/users/{user}", json.dumps({"secret_key": "ops-writer-secret"}).encode())
    admin.call("POST", "iam/attach", json.dumps({"policies": ["readwrite"], "user": user}).encode())
    bucket = unique_bucket("ops-audit")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="root.txt", Body=b"by root")
    w = s3_as(srv, user, "ops-writer-secret")
    for i in range(3):
        w.put_object(Bucket=bucket, Key=f"user-{i}.txt", Body=b"by the user")
    w.delete_object(Bucket=bucket, Key="user-0.txt")

    res = ui(srv, "audit", tmp_path, principal=user)

    principals = {r[0] for r in res["all"]}
    assert {srv.user, user} <= principals, res["all"]
    assert res["filtered"] and {r[0] for r in res["filtered"]} == {user}, res["filtered"]
    ops = [r[1] for r in res["filtered"]]
    assert ops.count("PutObject") == 3 and "DeleteObject" in ops, ops
    assert all(r[2] == bucket for r in res["filtered"]), res["filtered"]
    # Paging: the second page continues the first, newest first, no entry twice.
    assert len(res["first_page"]) == 4 and res["two_pages"][:4] == res["first_page"], res
    ids = [r[4] for r in res["two_pages"]]
    assert len(ids) > 4 and len(set(ids)) == len(ids), res["two_pages"]
    assert ids == [r[4] for r in res["all"]][:len(ids)], (ids, res["all"])
