"""MinIO Python SDK (`minio` on PyPI) against a real lakegate."""

from __future__ import annotations

import datetime as dt
import io
import urllib.request

import pytest
from minio import Minio
from minio.commonconfig import CopySource, Tags
from minio.deleteobjects import DeleteObject
from minio.error import S3Error

from conftest import unique_bucket
from util import md5_file, write_random

MiB = 1024 * 1024


@pytest.fixture
def mc(server):
    host = server.s3_url.split("://", 1)[1]
    return Minio(host, access_key=server.user, secret_key=server.password, secure=False, region="us-east-1")


def test_minio_sdk_roundtrip(mc, tmp_path):
    b = unique_bucket("minio")
    assert not mc.bucket_exists(b)
    mc.make_bucket(b)
    assert mc.bucket_exists(b)
    assert b in [x.name for x in mc.list_buckets()]

    small = write_random(tmp_path / "small.bin", 100_000)
    big = write_random(tmp_path / "big.bin", 12 * MiB)  # > 5 MiB part size: multipart
    r = mc.fput_object(b, "a/small.bin", str(small), content_type="application/x-small",
                       metadata={"x-amz-meta-origin": "minio-py"})
    assert r.etag == md5_file(small)
    mc.fput_object(b, "a/b/big.bin", str(big), part_size=5 * MiB)
    mc.put_object(b, "top.txt", io.BytesIO(b"top"), 3)
    mc.put_object(b, "stream.bin", io.BytesIO(b"s" * (6 * MiB + 3)), -1, part_size=5 * MiB)

    st = mc.stat_object(b, "a/small.bin")
    assert st.size == 100_000 and st.content_type == "application/x-small"
    assert st.etag == md5_file(small)
    assert st.metadata.get("x-amz-meta-origin") == "minio-py"
    st = mc.stat_object(b, "a/b/big.bin")
    assert st.size == 12 * MiB and st.etag.endswith("-3")
    assert mc.stat_object(b, "stream.bin").size == 6 * MiB + 3

    out = tmp_path / "out.bin"
    mc.fget_object(b, "a/b/big.bin", str(out))
    assert md5_file(out) == md5_file(big)
    resp = mc.get_object(b, "a/small.bin", offset=10, length=20)
    try:
        assert resp.read() == small.read_bytes()[10:30]
    finally:
        resp.close()
        resp.release_conn()

    rec = sorted(o.object_name for o in mc.list_objects(b, recursive=True))
    assert rec == ["a/b/big.bin", "a/small.bin", "stream.bin", "top.txt"]
    flat = sorted(o.object_name for o in mc.list_objects(b))
    assert flat == ["a/", "stream.bin", "top.txt"]
    assert sorted(o.object_name for o in mc.list_objects(b, prefix="a/")) == ["a/b/", "a/small.bin"]
    # v1 listing too
    assert sorted(o.object_name for o in mc.list_objects(b, recursive=True, use_api_v1=True)) == rec

    url = mc.presigned_get_object(b, "a/small.bin", expires=dt.timedelta(minutes=5))
    with urllib.request.urlopen(url, timeout=30) as r:
        assert r.read() == small.read_bytes()

    mc.copy_object(b, "copy.txt", CopySource(b, "top.txt"))
    assert mc.get_object(b, "copy.txt").read() == b"top"

    tags = Tags.new_object_tags()
    tags["k"] = "v"
    mc.set_object_tags(b, "top.txt", tags)
    assert dict(mc.get_object_tags(b, "top.txt")) == {"k": "v"}

    mc.remove_object(b, "top.txt")
    with pytest.raises(S3Error) as ei:
        mc.stat_object(b, "top.txt")
    assert ei.value.code in ("NoSuchKey", "ResourceNotFound")

    errs = list(mc.remove_objects(b, [DeleteObject(o.object_name)
                                      for o in mc.list_objects(b, recursive=True)]))
    assert errs == []
    assert list(mc.list_objects(b, recursive=True)) == []
    mc.remove_bucket(b)
    assert not mc.bucket_exists(b)
