"""The shipped Medallion policies (`policies/`) end to end, with real clients.

A private server runs the repository's default bindings (retention, lifecycle and backup for
bronze/silver/gold, retention and lifecycle for mlflow) with an adjustable data-plane clock, so
"written 91 days ago" needs no waiting. Lifecycle scans and the clock are driven through the
admin API (SigV4-signed as root with botocore); backups through the `lakegate backup` CLI.
"""

from __future__ import annotations

import json
import subprocess

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from conftest import make_s3
from util import DAY_MS, Admin
from lgserver import REPO_ROOT, scrubbed_env


@pytest.fixture
def medallion(new_server, tmp_path):
    srv = new_server(env={
        "LAKEGATE_POLICIES": str(REPO_ROOT / "policies"),
        "LAKEGATE_UNSAFE_ADJUSTABLE_CLOCK": "true",
        "LAKEGATE_BACKUP_TARGET": str(tmp_path / "backups"),
    })
    srv.start()
    return srv


def _opts(srv):
    return {
        "AWS_ENDPOINT_URL": srv.s3_url,
        "AWS_ACCESS_KEY_ID": srv.user,
        "AWS_SECRET_ACCESS_KEY": srv.password,
        "AWS_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",
    }


def test_default_bindings_are_active(medallion):
    st = Admin(medallion).call("GET", "policies")
    states = {b["file"]: b["state"] for b in st["bindings"]}
    for b in ("bronze", "silver", "gold"):
        for kind in ("retention", "lifecycle", "backup"):
            assert states.get(f"{b}-{kind}.toml") == "active", states
    assert states.get("mlflow-retention.toml") == "active", states
    assert states.get("mlflow-lifecycle.toml") == "active", states


def test_bronze_retention_and_lifecycle(medallion):
    s3 = make_s3(medallion)
    admin = Admin(medallion)
    admin.clock(-91)
    s3.put_object(Bucket="bronze", Key="raw/2026/old.json", Body=b"{}")
    admin.clock(-89)
    s3.put_object(Bucket="bronze", Key="raw/2026/young.json", Body=b"{}")
    admin.clock(0)
    head = s3.head_object(Bucket="bronze", Key="raw/2026/young.json")
    assert head["ObjectLockMode"] == "GOVERNANCE"
    # A locked object cannot be deleted by version, even by the root user without bypass.
    vid = head["VersionId"]
    with pytest.raises(s3.exceptions.ClientError) as e:
        s3.delete_object(Bucket="bronze", Key="raw/2026/young.json", VersionId=vid)
    assert e.value.response["Error"]["Code"] == "AccessDenied"

    report = admin.scan("bronze")
    assert report["expired"] == 1, report
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="bronze", Prefix="raw/2026/").get("Contents", [])]
    assert keys == ["raw/2026/young.json"]


def test_mlflow_production_models_survive(medallion):
    s3 = make_s3(medallion)
    admin = Admin(medallion)
    admin.clock(-120)
    s3.put_object(Bucket="mlflow", Key="models/production/churn/model.pkl", Body=b"model")
    s3.put_object(Bucket="mlflow", Key="3/abc123/artifacts/plot.png", Body=b"png")
    admin.clock(0)
    report = admin.scan("mlflow")
    assert report["expired"] == 1, report
    s3.head_object(Bucket="mlflow", Key="models/production/churn/model.pkl")
    with pytest.raises(s3.exceptions.ClientError):
        s3.head_object(Bucket="mlflow", Key="3/abc123/artifacts/plot.png")
    model = s3.head_object(Bucket="mlflow", Key="models/production/churn/model.pkl")
    days = (model["ObjectLockRetainUntilDate"].timestamp() * 1000 - (model["LastModified"].timestamp() * 1000)) / DAY_MS
    assert 729 <= days <= 731, model


def test_delta_table_in_bronze_reads_and_time_travels(medallion):
    admin = Admin(medallion)
    opts = _opts(medallion)
    uri = "s3://bronze/tables/events"
    admin.clock(-30)
    write_deltalake(uri, pa.table({"id": pa.array(range(10), pa.int64())}), storage_options=opts)
    admin.clock(-20)
    write_deltalake(uri, pa.table({"id": pa.array(range(10, 15), pa.int64())}), mode="append",
                    storage_options=opts)
    admin.clock(0)
    write_deltalake(uri, pa.table({"id": pa.array([99], pa.int64())}), mode="overwrite",
                    storage_options=opts)
    # The policies run: nothing is old enough to go, the table is intact.
    report = admin.scan("bronze")
    assert report["expired"] == 0 and report["noncurrent_deleted"] == 0, report
    dt = DeltaTable(uri, storage_options=opts)
    assert dt.version() == 2
    assert dt.to_pyarrow_table().column("id").to_pylist() == [99]
    assert sorted(DeltaTable(uri, version=1, storage_options=opts)
                  .to_pyarrow_table().column("id").to_pylist()) == list(range(15))
    assert sorted(DeltaTable(uri, version=0, storage_options=opts)
                  .to_pyarrow_table().column("id").to_pylist()) == list(range(10))
    # Every file delta-rs wrote is under the bucket's GOVERNANCE retention.
    s3 = make_s3(medallion)
    for o in s3.list_objects_v2(Bucket="bronze", Prefix="tables/events/")["Contents"]:
        assert s3.head_object(Bucket="bronze", Key=o["Key"])["ObjectLockMode"] == "GOVERNANCE", o


def _cli(srv, *args):
    env = scrubbed_env({
        "LAKEGATE_ENDPOINT": srv.s3_url,
        "LAKEGATE_ROOT_USER": srv.user,
        "LAKEGATE_ROOT_PASSWORD": srv.password,
    })
    return subprocess.run([str(srv.binary), *args], env=env, capture_output=True, text=True, timeout=300)


def test_backup_then_restore_bronze_with_the_cli(medallion):
    s3 = make_s3(medallion)
    objs = {f"raw/b/{i}.csv": f"row,{i}\n".encode() * (i + 1) for i in range(20)}
    for k, v in objs.items():
        s3.put_object(Bucket="bronze", Key=k, Body=v, ContentType="text/csv",
                      Metadata={"source": "e2e"}, Tagging="layer=bronze")
    r = _cli(medallion, "backup", "run", "--bucket", "bronze")
    assert r.returncode == 0, r.stdout + r.stderr
    # Damage: delete some, overwrite some, add one.
    s3.delete_object(Bucket="bronze", Key="raw/b/0.csv")
    s3.delete_object(Bucket="bronze", Key="raw/b/1.csv")
    s3.put_object(Bucket="bronze", Key="raw/b/2.csv", Body=b"overwritten")
    s3.put_object(Bucket="bronze", Key="raw/b/new.csv", Body=b"not in the backup")
    r = _cli(medallion, "backup", "restore", "--bucket", "bronze")
    assert r.returncode == 0, r.stdout + r.stderr
    got = {o["Key"] for o in s3.list_objects_v2(Bucket="bronze", Prefix="raw/b/")["Contents"]}
    assert got == set(objs)
    for k, v in objs.items():
        o = s3.get_object(Bucket="bronze", Key=k)
        assert o["Body"].read() == v, k
        assert o["ContentType"] == "text/csv"
        assert o["Metadata"] == {"source": "e2e"}
        tags = s3.get_object_tagging(Bucket="bronze", Key=k)["TagSet"]
        assert tags == [{"Key": "layer", "Value": "bronze"}], k
    r = _cli(medallion, "backup", "status", "--bucket", "bronze")
    assert r.returncode == 0, r.stdout + r.stderr
