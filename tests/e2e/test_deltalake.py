"""delta-rs (`deltalake` on PyPI) writing Delta tables to lakegate.

delta-rs 1.x commits with a conditional PUT (`If-None-Match: *`) of
_delta_log/NNN.json, so no locking provider and no AWS_S3_ALLOW_UNSAFE_RENAME:
the server's conditional put is what keeps concurrent writers from losing commits.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable, write_deltalake

from lgserver import scrubbed_env

HERE = Path(__file__).parent


@pytest.fixture
def opts(server):
    return {
        "AWS_ENDPOINT_URL": server.s3_url,
        "AWS_ACCESS_KEY_ID": server.user,
        "AWS_SECRET_ACCESS_KEY": server.password,
        "AWS_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",
    }


def _sorted(t: pa.Table, *cols) -> pa.Table:
    return t.sort_by([(c, "ascending") for c in cols])


def test_delta_write_append_read_time_travel(s3, bucket, opts, record_property):
    uri = f"s3://{bucket}/tables/events"
    t0 = pa.table({"id": pa.array(range(100), pa.int64()),
                   "name": pa.array([f"n{i}" for i in range(100)]),
                   "part": pa.array(["a", "b"] * 50)})
    write_deltalake(uri, t0, storage_options=opts, partition_by=["part"])
    t1 = pa.table({"id": pa.array(range(100, 150), pa.int64()),
                   "name": pa.array([f"n{i}" for i in range(100, 150)]),
                   "part": pa.array(["a", "c"] * 25)})
    write_deltalake(uri, t1, mode="append", storage_options=opts)

    dt = DeltaTable(uri, storage_options=opts)
    assert dt.version() == 1
    got = _sorted(dt.to_pyarrow_table(), "id")
    assert got.num_rows == 150
    assert got.column("id").to_pylist() == list(range(150))
    # partition pruning reads only what it needs
    only_c = dt.to_pyarrow_table(filters=[("part", "=", "c")])
    assert only_c.num_rows == 25

    v0 = DeltaTable(uri, version=0, storage_options=opts)
    assert v0.version() == 0
    assert _sorted(v0.to_pyarrow_table(), "id").column("id").to_pylist() == list(range(100))
    dt.load_as_version(0)
    assert dt.to_pyarrow_table().num_rows == 100
    dt = DeltaTable(uri, storage_options=opts)

    # overwrite, then time travel back past it
    write_deltalake(uri, pa.table({"id": pa.array([7], pa.int64()), "name": ["x"], "part": ["z"]}),
                    mode="overwrite", storage_options=opts)
    dt = DeltaTable(uri, storage_options=opts)
    assert dt.version() == 2 and dt.to_pyarrow_table().num_rows == 1
    assert DeltaTable(uri, version=1, storage_options=opts).to_pyarrow_table().num_rows == 150
    hist = dt.history()
    assert [h["version"] for h in hist] == [2, 1, 0]

    # compaction rewrites files (ranged reads + new commit)
    write_deltalake(uri, pa.table({"id": pa.array([8], pa.int64()), "name": ["y"], "part": ["z"]}),
                    mode="append", storage_options=opts)
    dt = DeltaTable(uri, storage_options=opts)
    dt.optimize.compact()
    dt = DeltaTable(uri, storage_options=opts)
    assert dt.version() == 4
    assert sorted(dt.to_pyarrow_table().column("id").to_pylist()) == [7, 8]

    # the log is where delta-rs put it
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="tables/events/_delta_log/")["Contents"]]
    assert "tables/events/_delta_log/00000000000000000000.json" in keys
    assert "tables/events/_delta_log/00000000000000000004.json" in keys


def test_delta_commit_conflict_is_detected(bucket, opts):
    """A second writer that commits the same version number must fail its PUT with
    412, and delta-rs then retries at the next version: nothing is lost. We force the
    race deterministically by loading the table at v0 in two handles."""
    uri = f"s3://{bucket}/tables/cc"
    schema_t = pa.table({"x": pa.array([0], pa.int64())})
    write_deltalake(uri, schema_t, storage_options=opts)
    a = DeltaTable(uri, storage_options=opts)
    b = DeltaTable(uri, storage_options=opts)
    write_deltalake(a, pa.table({"x": pa.array([1], pa.int64())}), mode="append")
    # `b` is stale (still at v0): its commit of version 1 must hit If-None-Match and retry as v2
    write_deltalake(b, pa.table({"x": pa.array([2], pa.int64())}), mode="append")
    dt = DeltaTable(uri, storage_options=opts)
    assert dt.version() == 2
    assert sorted(dt.to_pyarrow_table().column("x").to_pylist()) == [0, 1, 2]


def test_delta_two_concurrent_writers(bucket, opts, record_property):
    uri = f"s3://{bucket}/tables/concurrent"
    write_deltalake(uri, pa.table({"writer": pa.array([-1], pa.int32()), "seq": pa.array([-1], pa.int32()),
                                   "i": pa.array([0], pa.int64())}), storage_options=opts)
    n, rows = 8, 10
    env = scrubbed_env()
    procs = [subprocess.Popen([sys.executable, str(HERE / "delta_writer.py"), uri, str(w), str(n), str(rows),
                               json.dumps(opts)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for w in (0, 1)]
    outs = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
        outs.append((p.returncode, out.decode(), err.decode()[-3000:]))
    for rc, out, err in outs:
        assert rc == 0, f"writer failed: {out}\n{err}"

    dt = DeltaTable(uri, storage_options=opts)
    assert dt.version() == 2 * n, f"expected {2 * n} commits after v0, got version {dt.version()}"
    t = dt.to_pyarrow_table()
    assert t.num_rows == 1 + 2 * n * rows
    for w in (0, 1):
        mine = t.filter(pc.equal(t["writer"], w))
        assert sorted(set(mine.column("seq").to_pylist())) == list(range(n)), f"writer {w} lost commits"
        assert mine.num_rows == n * rows
    ops = [h.get("operation") for h in dt.history()]
    assert len(ops) == 2 * n + 1


def test_delta_with_a_key_scoped_to_one_table(server, s3, bucket):
    """A workload key allowed only under silver/tables/orders/ (delta-rs needs list, get, put and
    conditional put there): it writes, appends and time-travels the table, and cannot write a
    table next to it."""
    from test_iam import _admin
    import uuid

    suffix = uuid.uuid4().hex[:6]
    user, secret = f"delta-{suffix}", "delta-secret-123"
    root = _admin(server)
    root.user_add(user, secret)
    root.policy_add(f"orders-rw-{suffix}", policy={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [f"arn:aws:s3:::{bucket}"],
         "Condition": {"StringLike": {"s3:prefix": ["tables/orders/*", "tables/orders"]}}},
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
         "Resource": [f"arn:aws:s3:::{bucket}/tables/orders/*"]}]})
    root.attach_policy([f"orders-rw-{suffix}"], user=user)
    scoped = {"AWS_ENDPOINT_URL": server.s3_url, "AWS_ACCESS_KEY_ID": user,
              "AWS_SECRET_ACCESS_KEY": secret, "AWS_REGION": "us-east-1", "AWS_ALLOW_HTTP": "true"}

    uri = f"s3://{bucket}/tables/orders"
    t0 = pa.table({"id": pa.array(range(10), pa.int64())})
    write_deltalake(uri, t0, storage_options=scoped)
    write_deltalake(uri, pa.table({"id": pa.array(range(10, 15), pa.int64())}), mode="append",
                    storage_options=scoped)
    dt = DeltaTable(uri, storage_options=scoped)
    assert dt.version() == 1
    assert sorted(dt.to_pyarrow_table().column("id").to_pylist()) == list(range(15))
    v0 = DeltaTable(uri, version=0, storage_options=scoped)
    assert sorted(v0.to_pyarrow_table().column("id").to_pylist()) == list(range(10))

    # Outside its prefix the key writes nothing.
    with pytest.raises(Exception):
        write_deltalake(f"s3://{bucket}/tables/customers", t0, storage_options=scoped)
    assert s3.list_objects_v2(Bucket=bucket, Prefix="tables/customers").get("KeyCount") == 0


def test_delta_and_pyarrow_in_a_default_encrypted_bucket(server, s3, opts):
    """The medallion buckets are SSE-S3 by default: delta-rs and pyarrow read and write them
    without knowing, ranged reads of parquet footers included, and every file is stored sealed."""
    import uuid

    import pyarrow.dataset as ds
    import pyarrow.fs as pafs

    rule = s3.get_bucket_encryption(Bucket="gold")["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    prefix = f"enc-{uuid.uuid4().hex[:8]}"
    uri = f"s3://gold/{prefix}/sales"
    t0 = pa.table({"id": pa.array(range(5000), pa.int64()),
                   "region": pa.array(["north", "south"] * 2500)})
    write_deltalake(uri, t0, storage_options=opts, partition_by=["region"])
    write_deltalake(uri, t0.slice(0, 10), mode="append", storage_options=opts)
    dt = DeltaTable(uri, storage_options=opts)
    assert dt.version() == 1
    assert dt.to_pyarrow_table(filters=[("region", "=", "north")]).num_rows == 2505
    keys = [o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(
        Bucket="gold", Prefix=prefix) for o in p.get("Contents", [])]
    assert any(k.endswith(".parquet") for k in keys) and any(k.endswith(".json") for k in keys)
    for k in keys:
        assert s3.head_object(Bucket="gold", Key=k)["ServerSideEncryption"] == "AES256", k
    # pyarrow's own S3 filesystem reads the same parquet files (ranged GETs of the footers).
    fs = pafs.S3FileSystem(endpoint_override=server.s3_url, access_key=server.user,
                           secret_key=server.password, region="us-east-1",
                           scheme=server.s3_url.split("://")[0])
    parquet = [k for k in keys if k.endswith(".parquet")]
    table = ds.dataset([f"gold/{k}" for k in parquet], filesystem=fs, format="parquet").to_table()
    assert table.num_rows == 5010
