"""boto3 against a real lakegate: objects, listing, multipart, conditional
writes, versioning, object lock, tagging, checksums, presigning, errors."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import statistics
import threading
import time
import urllib.error
import urllib.request
import zlib

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from conftest import make_s3
from util import expect_error, md5_file, multipart_etag, write_random

MiB = 1024 * 1024


def err(e: ClientError) -> tuple[int, str]:
    return e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]


def b64(d: bytes) -> str:
    return base64.b64encode(d).decode()


# Client variants for the basic object round trip:
#  default  - botocore defaults (flexible checksums "when_supported": CRC32 header)
#  legacy   - checksums only when required (pre-2025 behaviour, Content-MD5 style)
#  sigv2    - legacy S3 signature version 2 (header auth)
#  tls      - https via a TLS proxy: aws-chunked body with trailing x-amz-checksum-crc32
@pytest.fixture(params=["default", "legacy", "sigv2", "tls"])
def client(request, server, s3):
    kind = request.param
    if kind == "default":
        return s3
    if kind == "legacy":
        return make_s3(server, request_checksum_calculation="when_required",
                       response_checksum_validation="when_required")
    if kind == "sigv2":
        return make_s3(server, signature_version="s3")
    return request.getfixturevalue("s3_tls")


def test_put_get_head_delete(client, bucket):
    body = bytes(range(256)) * 1000  # 256000 bytes
    key = "dir/sub dir/obj+1=ü.bin"
    put = client.put_object(Bucket=bucket, Key=key, Body=io.BytesIO(body),
                            ContentType="application/x-lakegate", Metadata={"k1": "v1", "Two": "2"})
    md5 = hashlib.md5(body).hexdigest()
    assert put["ETag"] == f'"{md5}"'

    got = client.get_object(Bucket=bucket, Key=key)
    assert got["Body"].read() == body
    assert got["ETag"] == put["ETag"]
    assert got["ContentLength"] == len(body)
    assert got["ContentType"] == "application/x-lakegate"
    assert got["Metadata"] == {"k1": "v1", "two": "2"}
    assert isinstance(got["LastModified"], dt.datetime)

    head = client.head_object(Bucket=bucket, Key=key)
    assert head["ContentLength"] == len(body) and head["ETag"] == put["ETag"]
    assert head["Metadata"] == {"k1": "v1", "two": "2"}

    rng = client.get_object(Bucket=bucket, Key=key, Range="bytes=1000-1999")
    assert rng["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert rng["ContentRange"] == f"bytes 1000-1999/{len(body)}"
    assert rng["Body"].read() == body[1000:2000]
    tail = client.get_object(Bucket=bucket, Key=key, Range="bytes=-10")
    assert tail["Body"].read() == body[-10:]

    # zero-length object
    client.put_object(Bucket=bucket, Key="empty", Body=b"")
    e = client.get_object(Bucket=bucket, Key="empty")
    assert e["ContentLength"] == 0 and e["Body"].read() == b""
    assert e["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"'

    d = client.delete_object(Bucket=bucket, Key=key)
    assert d["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert expect_error(client.get_object, Bucket=bucket, Key=key) == (404, "NoSuchKey")
    assert expect_error(client.head_object, Bucket=bucket, Key=key)[0] == 404
    # deleting a missing key is not an error
    assert client.delete_object(Bucket=bucket, Key=key)["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_put_latency_no_expect_100_stall(s3, bucket, record_property):
    """botocore sends `Expect: 100-continue` for file-like bodies and waits up to 1 s
    for `100 Continue` before sending the body anyway. A server that never sends
    100 (and does not reply early) costs ~1 s per PUT."""
    body = b"x" * (2 * MiB)
    times = []
    for i in range(5):
        t0 = time.monotonic()
        s3.put_object(Bucket=bucket, Key=f"lat/{i}", Body=io.BytesIO(body))
        times.append(time.monotonic() - t0)
    med = statistics.median(times)
    record_property("timing:boto3 put 2MiB (median)", med)
    assert med < 0.8, f"2 MiB PUT median {med:.2f}s ({[round(t, 2) for t in times]}): Expect: 100-continue stall?"


def test_list_v2_pagination_delimiter(s3, bucket):
    keys = set()
    for i in range(23):
        keys.add(f"logs/2024/{i:02d}.log")
    for i in range(5):
        keys.add(f"logs/2025/m{i}/x.log")
    for k in ("a/1", "a/2", "b/x/y", "c", "d e/f", "plus+key", "percent%20key", "ü/ö"):
        keys.add(k)
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())

    # Full listing, small pages.
    pag = s3.get_paginator("list_objects_v2")
    seen, pages = [], 0
    for page in pag.paginate(Bucket=bucket, PaginationConfig={"PageSize": 7}):
        pages += 1
        assert page["KeyCount"] == len(page.get("Contents", []))
        assert len(page.get("Contents", [])) <= 7
        seen += [o["Key"] for o in page.get("Contents", [])]
    assert seen == sorted(keys, key=lambda k: k.encode()), "keys must be in UTF-8 byte order"
    assert pages == -(-len(keys) // 7)

    # Top level with delimiter: prefixes + loose keys, paginated.
    contents, prefixes = [], []
    for page in pag.paginate(Bucket=bucket, Delimiter="/", PaginationConfig={"PageSize": 2}):
        assert len(page.get("Contents", [])) + len(page.get("CommonPrefixes", [])) <= 2
        contents += [o["Key"] for o in page.get("Contents", [])]
        prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    assert sorted(contents) == ["c", "percent%20key", "plus+key"]
    assert sorted(prefixes) == ["a/", "b/", "d e/", "logs/", "ü/"]
    assert len(prefixes) == len(set(prefixes)), "a common prefix was repeated across pages"

    # Nested prefix + delimiter
    contents, prefixes = [], []
    for page in pag.paginate(Bucket=bucket, Prefix="logs/", Delimiter="/", PaginationConfig={"PageSize": 1}):
        contents += [o["Key"] for o in page.get("Contents", [])]
        prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    assert contents == [] and prefixes == ["logs/2024/", "logs/2025/"]

    r = s3.list_objects_v2(Bucket=bucket, Prefix="logs/2025/", Delimiter="/")
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == [f"logs/2025/m{i}/" for i in range(5)]

    r = s3.list_objects_v2(Bucket=bucket, StartAfter="logs/2024/20.log", MaxKeys=3)
    assert [o["Key"] for o in r["Contents"]] == ["logs/2024/21.log", "logs/2024/22.log", "logs/2025/m0/x.log"]
    assert r["IsTruncated"] is True

    # ListObjects v1 with marker pagination.
    v1 = [o["Key"] for p in s3.get_paginator("list_objects").paginate(
        Bucket=bucket, PaginationConfig={"PageSize": 5}) for o in p.get("Contents", [])]
    assert v1 == seen
    r = s3.list_objects(Bucket=bucket, Prefix="a/", Delimiter="/")
    assert [o["Key"] for o in r["Contents"]] == ["a/1", "a/2"]
    assert r["Contents"][0]["ETag"] == f'"{hashlib.md5(b"a/1").hexdigest()}"'
    assert r["Contents"][0]["Size"] == 3


def test_multipart_upload_file_and_download(s3, bucket, tmp_path, record_property):
    src = write_random(tmp_path / "mp.bin", 40 * MiB)
    cfg = TransferConfig(multipart_threshold=8 * MiB, multipart_chunksize=8 * MiB, max_concurrency=4)
    t0 = time.monotonic()
    s3.upload_file(str(src), bucket, "mp/big.bin", Config=cfg, ExtraArgs={"Metadata": {"m": "1"}})
    record_property("timing:boto3 upload_file 40MiB (5 parts)", time.monotonic() - t0)
    head = s3.head_object(Bucket=bucket, Key="mp/big.bin")
    assert head["ContentLength"] == 40 * MiB
    assert head["ETag"] == multipart_etag(src, 8 * MiB)
    assert head["Metadata"] == {"m": "1"}
    # PartNumber GET returns just that part
    p2 = s3.get_object(Bucket=bucket, Key="mp/big.bin", PartNumber=2)
    assert p2["ContentLength"] == 8 * MiB
    with open(src, "rb") as f:
        f.seek(8 * MiB)
        assert hashlib.md5(p2["Body"].read()).digest() == hashlib.md5(f.read(8 * MiB)).digest()

    dst = tmp_path / "back.bin"
    t0 = time.monotonic()
    s3.download_file(bucket, "mp/big.bin", str(dst), Config=cfg)
    record_property("timing:boto3 download_file 40MiB", time.monotonic() - t0)
    assert md5_file(dst) == md5_file(src)


def test_multipart_low_level(s3, bucket):
    key = "mp/manual"
    up = s3.create_multipart_upload(Bucket=bucket, Key=key, ContentType="text/x-parts")
    uid = up["UploadId"]
    lst = s3.list_multipart_uploads(Bucket=bucket)
    assert [u["UploadId"] for u in lst.get("Uploads", [])] == [uid]
    p1 = b"a" * (5 * MiB)
    p2 = b"b" * (5 * MiB)
    p3 = b"c" * 1234
    # upload out of order; re-upload part 2 (last write wins)
    r3 = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=3, Body=p3)
    s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=2, Body=b"z" * (5 * MiB))
    r2 = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=2, Body=p2)
    r1 = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=1, Body=p1)
    parts = s3.list_parts(Bucket=bucket, Key=key, UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["Size"], p["ETag"]) for p in parts] == [
        (1, len(p1), r1["ETag"]), (2, len(p2), r2["ETag"]), (3, len(p3), r3["ETag"])]

    # wrong ETag -> InvalidPart; non-ascending order -> InvalidPartOrder
    code = expect_error(s3.complete_multipart_upload, Bucket=bucket, Key=key, UploadId=uid,
                        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"00000000000000000000000000000000"'}]})
    assert code == (400, "InvalidPart")
    code = expect_error(s3.complete_multipart_upload, Bucket=bucket, Key=key, UploadId=uid,
                        MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": r2["ETag"]},
                                                   {"PartNumber": 1, "ETag": r1["ETag"]}]})
    assert code == (400, "InvalidPartOrder")

    done = s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": r["ETag"]} for n, r in ((1, r1), (2, r2), (3, r3))]})
    want = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in (p1, p2, p3))).hexdigest() + "-3"
    assert done["ETag"] == f'"{want}"'
    got = s3.get_object(Bucket=bucket, Key=key)
    assert got["ContentType"] == "text/x-parts"
    assert got["Body"].read() == p1 + p2 + p3
    assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")
    assert expect_error(s3.list_parts, Bucket=bucket, Key=key, UploadId=uid)[1] == "NoSuchUpload"

    # too-small non-last part
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mp/small")["UploadId"]
    a = s3.upload_part(Bucket=bucket, Key="mp/small", UploadId=uid, PartNumber=1, Body=b"x" * 100)
    b = s3.upload_part(Bucket=bucket, Key="mp/small", UploadId=uid, PartNumber=2, Body=b"y" * 100)
    code = expect_error(s3.complete_multipart_upload, Bucket=bucket, Key="mp/small", UploadId=uid,
                        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": a["ETag"]},
                                                   {"PartNumber": 2, "ETag": b["ETag"]}]})
    assert code == (400, "EntityTooSmall")

    # abort
    s3.abort_multipart_upload(Bucket=bucket, Key="mp/small", UploadId=uid)
    assert expect_error(s3.upload_part, Bucket=bucket, Key="mp/small", UploadId=uid,
                        PartNumber=3, Body=b"x") == (404, "NoSuchUpload")
    assert expect_error(s3.head_object, Bucket=bucket, Key="mp/small")[0] == 404


def test_copy_object_metadata_directive(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"copy me", ContentType="text/plain",
                  Metadata={"a": "1"})
    c = s3.copy_object(Bucket=bucket, Key="dst-copy", CopySource={"Bucket": bucket, "Key": "src"})
    assert c["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(b"copy me").hexdigest()}"'
    h = s3.head_object(Bucket=bucket, Key="dst-copy")
    assert h["Metadata"] == {"a": "1"} and h["ContentType"] == "text/plain"

    s3.copy_object(Bucket=bucket, Key="dst-replace", CopySource={"Bucket": bucket, "Key": "src"},
                   MetadataDirective="REPLACE", Metadata={"b": "2"}, ContentType="application/json")
    h = s3.head_object(Bucket=bucket, Key="dst-replace")
    assert h["Metadata"] == {"b": "2"} and h["ContentType"] == "application/json"
    assert s3.get_object(Bucket=bucket, Key="dst-replace")["Body"].read() == b"copy me"

    # copying onto itself needs REPLACE
    code = expect_error(s3.copy_object, Bucket=bucket, Key="src", CopySource={"Bucket": bucket, "Key": "src"})
    assert code == (400, "InvalidRequest")
    s3.copy_object(Bucket=bucket, Key="src", CopySource={"Bucket": bucket, "Key": "src"},
                   MetadataDirective="REPLACE", Metadata={"c": "3"})
    assert s3.head_object(Bucket=bucket, Key="src")["Metadata"] == {"c": "3"}

    # across buckets, with a key needing encoding
    other = bucket[:50] + "-o"
    s3.create_bucket(Bucket=other)
    s3.put_object(Bucket=bucket, Key="we ird/ü+.txt", Body=b"w")
    s3.copy_object(Bucket=other, Key="x", CopySource={"Bucket": bucket, "Key": "we ird/ü+.txt"})
    assert s3.get_object(Bucket=other, Key="x")["Body"].read() == b"w"

    # copy-source conditionals
    code = expect_error(s3.copy_object, Bucket=bucket, Key="y", CopySourceIfMatch='"nope"',
                        CopySource={"Bucket": bucket, "Key": "src"})
    assert code == (412, "PreconditionFailed")
    assert expect_error(s3.copy_object, Bucket=bucket, Key="y",
                        CopySource={"Bucket": bucket, "Key": "missing"})[1] == "NoSuchKey"


def test_conditional_put_if_none_match(s3, bucket):
    s3.put_object(Bucket=bucket, Key="once", Body=b"first", IfNoneMatch="*")
    assert expect_error(s3.put_object, Bucket=bucket, Key="once", Body=b"second",
                        IfNoneMatch="*") == (412, "PreconditionFailed")
    assert s3.get_object(Bucket=bucket, Key="once")["Body"].read() == b"first"
    # after delete it can be created again
    s3.delete_object(Bucket=bucket, Key="once")
    s3.put_object(Bucket=bucket, Key="once", Body=b"third", IfNoneMatch="*")
    assert s3.get_object(Bucket=bucket, Key="once")["Body"].read() == b"third"

    # also on CompleteMultipartUpload
    uid = s3.create_multipart_upload(Bucket=bucket, Key="once")["UploadId"]
    p = s3.upload_part(Bucket=bucket, Key="once", UploadId=uid, PartNumber=1, Body=b"mp")
    code = expect_error(s3.complete_multipart_upload, Bucket=bucket, Key="once", UploadId=uid,
                        IfNoneMatch="*", MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": p["ETag"]}]})
    assert code == (412, "PreconditionFailed")
    assert s3.get_object(Bucket=bucket, Key="once")["Body"].read() == b"third"


def test_conditional_put_if_match(s3, bucket):
    e1 = s3.put_object(Bucket=bucket, Key="cas", Body=b"v1")["ETag"]
    e2 = s3.put_object(Bucket=bucket, Key="cas", Body=b"v2", IfMatch=e1)["ETag"]
    assert e2 != e1
    assert expect_error(s3.put_object, Bucket=bucket, Key="cas", Body=b"v3",
                        IfMatch=e1) == (412, "PreconditionFailed")
    assert s3.get_object(Bucket=bucket, Key="cas")["Body"].read() == b"v2"
    # If-Match on a missing key fails (S3: 404 NoSuchKey)
    status, code = expect_error(s3.put_object, Bucket=bucket, Key="cas-missing", Body=b"x", IfMatch=e1)
    assert status in (404, 412), (status, code)
    assert expect_error(s3.head_object, Bucket=bucket, Key="cas-missing")[0] == 404
    # conditional GET
    assert expect_error(s3.get_object, Bucket=bucket, Key="cas", IfMatch=e1) == (412, "PreconditionFailed")
    with pytest.raises(ClientError) as ei:
        s3.get_object(Bucket=bucket, Key="cas", IfNoneMatch=e2)
    assert err(ei.value)[0] == 304


def test_put_if_absent_race(server, bucket):
    clients = [make_s3(server) for _ in range(8)]
    for round_ in range(5):
        key = f"race/{round_}"
        barrier = threading.Barrier(8)
        results = [None] * 8

        def worker(i):
            barrier.wait()
            try:
                clients[i].put_object(Bucket=bucket, Key=key, Body=f"writer-{i}".encode() * 1000,
                                      IfNoneMatch="*")
                results[i] = "ok"
            except ClientError as e:
                results[i] = err(e)
            except Exception as e:  # noqa: BLE001
                results[i] = repr(e)

        ts = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        [t.start() for t in ts]
        [t.join(60) for t in ts]
        winners = [i for i, r in enumerate(results) if r == "ok"]
        assert len(winners) == 1, f"round {round_}: {results}"
        for i, r in enumerate(results):
            if i not in winners:
                # S3 answers 412, or 409 ConditionalRequestConflict for an in-flight race
                assert r in ((412, "PreconditionFailed"), (409, "ConditionalRequestConflict")), results
        body = clients[0].get_object(Bucket=bucket, Key=key)["Body"].read()
        assert body == f"writer-{winners[0]}".encode() * 1000


def test_versioning(s3, bucket):
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    vids = [s3.put_object(Bucket=bucket, Key="doc", Body=f"v{i}".encode())["VersionId"] for i in range(3)]
    assert len(set(vids)) == 3 and all(vids) and "null" not in vids

    vs = s3.list_object_versions(Bucket=bucket, Prefix="doc")
    got = [(v["VersionId"], v["IsLatest"]) for v in vs["Versions"]]
    assert got == [(vids[2], True), (vids[1], False), (vids[0], False)], got  # newest first
    for i, v in enumerate(vids):
        o = s3.get_object(Bucket=bucket, Key="doc", VersionId=v)
        assert o["Body"].read() == f"v{i}".encode() and o["VersionId"] == v
    assert s3.head_object(Bucket=bucket, Key="doc", VersionId=vids[0])["ContentLength"] == 2

    d = s3.delete_object(Bucket=bucket, Key="doc")
    assert d["DeleteMarker"] is True and d["VersionId"]
    marker = d["VersionId"]
    assert expect_error(s3.get_object, Bucket=bucket, Key="doc") == (404, "NoSuchKey")
    assert s3.get_object(Bucket=bucket, Key="doc", VersionId=vids[1])["Body"].read() == b"v1"
    vs = s3.list_object_versions(Bucket=bucket, Prefix="doc")
    assert [m["VersionId"] for m in vs["DeleteMarkers"]] == [marker]
    assert vs["DeleteMarkers"][0]["IsLatest"] is True
    assert all(not v["IsLatest"] for v in vs["Versions"])
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)

    # removing the delete marker restores the latest version
    s3.delete_object(Bucket=bucket, Key="doc", VersionId=marker)
    assert s3.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"v2"
    # permanently delete a specific version
    s3.delete_object(Bucket=bucket, Key="doc", VersionId=vids[1])
    vs = s3.list_object_versions(Bucket=bucket, Prefix="doc")
    assert [v["VersionId"] for v in vs["Versions"]] == [vids[2], vids[0]]
    assert expect_error(s3.get_object, Bucket=bucket, Key="doc", VersionId=vids[1])[0] in (400, 404)

    # suspended: new writes get the "null" version
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"
    s3.put_object(Bucket=bucket, Key="doc", Body=b"n1")
    s3.put_object(Bucket=bucket, Key="doc", Body=b"n2")
    vs = s3.list_object_versions(Bucket=bucket, Prefix="doc")["Versions"]
    assert [v["VersionId"] for v in vs] == ["null", vids[2], vids[0]]
    assert s3.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"n2"

    # versions pagination
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for i in range(7):
        s3.put_object(Bucket=bucket, Key=f"many/{i % 3}", Body=str(i).encode())
    seen = []
    for page in s3.get_paginator("list_object_versions").paginate(
            Bucket=bucket, Prefix="many/", PaginationConfig={"PageSize": 2}):
        seen += [(v["Key"], v["VersionId"]) for v in page.get("Versions", [])]
    assert len(seen) == 7 and len(set(seen)) == 7


def test_object_lock_governance_and_legal_hold(s3):
    from conftest import unique_bucket
    b = unique_bucket("lock")
    s3.create_bucket(Bucket=b, ObjectLockEnabledForBucket=True)
    assert s3.get_bucket_versioning(Bucket=b)["Status"] == "Enabled"
    cfg = s3.get_object_lock_configuration(Bucket=b)["ObjectLockConfiguration"]
    assert cfg["ObjectLockEnabled"] == "Enabled"

    v = s3.put_object(Bucket=b, Key="locked", Body=b"keep")["VersionId"]
    until = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
    s3.put_object_retention(Bucket=b, Key="locked", VersionId=v,
                            Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until})
    r = s3.get_object_retention(Bucket=b, Key="locked", VersionId=v)["Retention"]
    assert r["Mode"] == "GOVERNANCE"
    assert abs((r["RetainUntilDate"] - until).total_seconds()) < 2
    h = s3.head_object(Bucket=b, Key="locked", VersionId=v)
    assert h["ObjectLockMode"] == "GOVERNANCE"

    assert expect_error(s3.delete_object, Bucket=b, Key="locked", VersionId=v) == (403, "AccessDenied")
    # a plain delete only adds a delete marker, which is allowed
    dm = s3.delete_object(Bucket=b, Key="locked")
    assert dm["DeleteMarker"] is True
    assert s3.get_object(Bucket=b, Key="locked", VersionId=v)["Body"].read() == b"keep"
    # shortening governance retention needs bypass
    assert expect_error(s3.put_object_retention, Bucket=b, Key="locked", VersionId=v,
                        Retention={"Mode": "GOVERNANCE",
                                   "RetainUntilDate": until - dt.timedelta(hours=12)})[0] == 403
    s3.delete_object(Bucket=b, Key="locked", VersionId=v, BypassGovernanceRetention=True)
    assert expect_error(s3.get_object, Bucket=b, Key="locked", VersionId=v)[0] in (400, 404)

    # legal hold blocks even with bypass
    v2 = s3.put_object(Bucket=b, Key="held", Body=b"hold")["VersionId"]
    s3.put_object_legal_hold(Bucket=b, Key="held", VersionId=v2, LegalHold={"Status": "ON"})
    assert s3.get_object_legal_hold(Bucket=b, Key="held", VersionId=v2)["LegalHold"]["Status"] == "ON"
    assert expect_error(s3.delete_object, Bucket=b, Key="held", VersionId=v2,
                        BypassGovernanceRetention=True) == (403, "AccessDenied")
    s3.put_object_legal_hold(Bucket=b, Key="held", VersionId=v2, LegalHold={"Status": "OFF"})
    s3.delete_object(Bucket=b, Key="held", VersionId=v2)

    # compliance mode: not even bypass
    v3 = s3.put_object(Bucket=b, Key="comp", Body=b"c", ObjectLockMode="COMPLIANCE",
                       ObjectLockRetainUntilDate=until)["VersionId"]
    assert s3.get_object_retention(Bucket=b, Key="comp", VersionId=v3)["Retention"]["Mode"] == "COMPLIANCE"
    assert expect_error(s3.delete_object, Bucket=b, Key="comp", VersionId=v3,
                        BypassGovernanceRetention=True) == (403, "AccessDenied")

    # bucket default retention applies to new objects
    s3.put_object_lock_configuration(Bucket=b, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
    v4 = s3.put_object(Bucket=b, Key="dflt", Body=b"d")["VersionId"]
    r = s3.get_object_retention(Bucket=b, Key="dflt", VersionId=v4)["Retention"]
    assert r["Mode"] == "GOVERNANCE"
    assert expect_error(s3.delete_object, Bucket=b, Key="dflt", VersionId=v4) == (403, "AccessDenied")

    # object lock calls on a bucket without object lock
    nb = unique_bucket("nolock")
    s3.create_bucket(Bucket=nb)
    s3.put_object(Bucket=nb, Key="k", Body=b"k")
    assert expect_error(s3.put_object_retention, Bucket=nb, Key="k",
                        Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until})[0] == 400


def test_tagging(s3, bucket):
    s3.put_object(Bucket=bucket, Key="t", Body=b"t", Tagging="team=data&env=dev%20x")
    tags = s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("env", "dev x"), ("team", "data")]
    assert s3.get_object(Bucket=bucket, Key="t")["TagCount"] == 2

    s3.put_object_tagging(Bucket=bucket, Key="t", Tagging={"TagSet": [{"Key": "only", "Value": "one"}]})
    assert s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"] == [{"Key": "only", "Value": "one"}]
    s3.delete_object_tagging(Bucket=bucket, Key="t")
    assert s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"] == []

    # tags survive copy (COPY) and are replaced with TaggingDirective=REPLACE
    s3.put_object_tagging(Bucket=bucket, Key="t", Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
    s3.copy_object(Bucket=bucket, Key="t2", CopySource={"Bucket": bucket, "Key": "t"})
    assert s3.get_object_tagging(Bucket=bucket, Key="t2")["TagSet"] == [{"Key": "a", "Value": "b"}]
    s3.copy_object(Bucket=bucket, Key="t3", CopySource={"Bucket": bucket, "Key": "t"},
                   TaggingDirective="REPLACE", Tagging="x=y")
    assert s3.get_object_tagging(Bucket=bucket, Key="t3")["TagSet"] == [{"Key": "x", "Value": "y"}]



def test_bucket_tagging(s3, bucket):
    assert expect_error(s3.get_bucket_tagging, Bucket=bucket) == (404, "NoSuchTagSet")
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "owner", "Value": "qa"}]})
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "owner", "Value": "qa"}]
    s3.delete_bucket_tagging(Bucket=bucket)
    assert expect_error(s3.get_bucket_tagging, Bucket=bucket)[1] == "NoSuchTagSet"


def _crc32c(data: bytes) -> bytes:
    from awscrt import checksums
    return checksums.crc32c(data).to_bytes(4, "big")


CHECKSUMS = {
    "SHA256": lambda d: hashlib.sha256(d).digest(),
    "SHA1": lambda d: hashlib.sha1(d).digest(),
    "CRC32": lambda d: zlib.crc32(d).to_bytes(4, "big"),
    "CRC32C": _crc32c,
}


@pytest.mark.parametrize("alg", list(CHECKSUMS))
@pytest.mark.parametrize("transport", ["http", "tls"])
def test_checksums(alg, transport, s3, request, bucket):
    cl = s3 if transport == "http" else request.getfixturevalue("s3_tls")
    body = b"checksum me " * 10_000
    want = b64(CHECKSUMS[alg](body))
    put = cl.put_object(Bucket=bucket, Key=f"ck/{alg}", Body=io.BytesIO(body), ChecksumAlgorithm=alg)
    assert put[f"Checksum{alg}"] == want

    got = cl.get_object(Bucket=bucket, Key=f"ck/{alg}", ChecksumMode="ENABLED")
    assert got.get(f"Checksum{alg}") == want, got["ResponseMetadata"]["HTTPHeaders"]
    assert got["Body"].read() == body  # botocore validates the checksum while reading
    head = cl.head_object(Bucket=bucket, Key=f"ck/{alg}", ChecksumMode="ENABLED")
    assert head.get(f"Checksum{alg}") == want

    # a wrong checksum value is rejected and nothing is stored
    bad = b64(CHECKSUMS[alg](body + b"!"))
    status, code = expect_error(cl.put_object, Bucket=bucket, Key=f"ck/bad-{alg}", Body=body,
                                **{f"Checksum{alg}": bad})
    assert status == 400 and code in ("BadDigest", "InvalidRequest", "XAmzContentChecksumMismatch"), code
    assert expect_error(cl.head_object, Bucket=bucket, Key=f"ck/bad-{alg}")[0] == 404


def test_content_md5_mismatch_rejected(server, bucket):
    legacy = make_s3(server, request_checksum_calculation="when_required")
    good = b64(hashlib.md5(b"hello").digest())
    legacy.put_object(Bucket=bucket, Key="md5ok", Body=b"hello", ContentMD5=good)
    status, code = expect_error(legacy.put_object, Bucket=bucket, Key="md5bad", Body=b"hellO", ContentMD5=good)
    assert (status, code) == (400, "BadDigest")
    assert expect_error(legacy.head_object, Bucket=bucket, Key="md5bad")[0] == 404


@pytest.mark.parametrize("transport", ["http", "tls"])
def test_multipart_with_checksum(transport, s3, request, bucket, tmp_path):
    cl = s3 if transport == "http" else request.getfixturevalue("s3_tls")
    src = write_random(tmp_path / "ck.bin", 12 * MiB)
    cfg = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    cl.upload_file(str(src), bucket, "ck/mp", Config=cfg, ExtraArgs={"ChecksumAlgorithm": "SHA256"})
    head = cl.head_object(Bucket=bucket, Key="ck/mp", ChecksumMode="ENABLED")
    data = src.read_bytes()
    parts = [data[i:i + 5 * MiB] for i in range(0, len(data), 5 * MiB)]
    composite = b64(hashlib.sha256(b"".join(hashlib.sha256(p).digest() for p in parts)).digest())
    assert head.get("ChecksumSHA256") == f"{composite}-3", head["ResponseMetadata"]["HTTPHeaders"]
    assert head["ETag"] == multipart_etag(src, 5 * MiB)
    got = cl.get_object(Bucket=bucket, Key="ck/mp")["Body"].read()
    assert hashlib.md5(got).digest() == hashlib.md5(data).digest()


def test_presigned_urls(s3, bucket):
    s3.put_object(Bucket=bucket, Key="p/get me.txt", Body=b"presigned body")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "p/get me.txt"},
                                    ExpiresIn=300)
    assert "X-Amz-Signature=" in url
    with urllib.request.urlopen(url, timeout=30) as r:
        assert r.status == 200 and r.read() == b"presigned body"

    url = s3.generate_presigned_url("get_object", ExpiresIn=300, Params={
        "Bucket": bucket, "Key": "p/get me.txt",
        "ResponseContentDisposition": 'attachment; filename="x.txt"', "ResponseContentType": "text/x-over"})
    with urllib.request.urlopen(url, timeout=30) as r:
        assert r.headers["Content-Disposition"] == 'attachment; filename="x.txt"'
        assert r.headers["Content-Type"] == "text/x-over"

    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "p/put.bin"}, ExpiresIn=300)
    req = urllib.request.Request(url, data=b"uploaded via presigned PUT", method="PUT")
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 200
    assert s3.get_object(Bucket=bucket, Key="p/put.bin")["Body"].read() == b"uploaded via presigned PUT"

    # presigned URL for one key can't be used for another
    bad = url.replace("p/put.bin", "p/other.bin")
    req = urllib.request.Request(bad, data=b"x", method="PUT")
    with pytest.raises(urllib.error.HTTPError) as ei:
        urllib.request.urlopen(req, timeout=30)
    assert ei.value.code == 403


def test_error_codes(s3, server, bucket):
    from conftest import unique_bucket
    assert expect_error(s3.get_object, Bucket=bucket, Key="nope") == (404, "NoSuchKey")
    missing = unique_bucket("missing")
    assert expect_error(s3.get_object, Bucket=missing, Key="x") == (404, "NoSuchBucket")
    assert expect_error(s3.put_object, Bucket=missing, Key="x", Body=b"x") == (404, "NoSuchBucket")
    assert expect_error(s3.list_objects_v2, Bucket=missing) == (404, "NoSuchBucket")
    assert expect_error(s3.head_bucket, Bucket=missing)[0] == 404
    assert expect_error(s3.delete_bucket, Bucket=missing) == (404, "NoSuchBucket")

    s3.put_object(Bucket=bucket, Key="x", Body=b"x")
    assert expect_error(s3.delete_bucket, Bucket=bucket) == (409, "BucketNotEmpty")
    # AWS us-east-1 answers 200 to re-creating a bucket you own and leaves it as it is.
    s3.create_bucket(Bucket=bucket)
    assert s3.get_object(Bucket=bucket, Key="x")["Body"].read() == b"x"
    assert expect_error(s3.create_bucket, Bucket="Invalid_Bucket_Name")[1] == "InvalidBucketName"

    import boto3
    from conftest import boto_config

    def client_with(user, secret):
        return boto3.client("s3", endpoint_url=server.s3_url, region_name="us-east-1",
                            aws_access_key_id=user, aws_secret_access_key=secret, config=boto_config())

    assert expect_error(client_with(server.user, "wrong-secret").list_buckets) == (403, "SignatureDoesNotMatch")
    assert expect_error(client_with("nobody", "whatever").list_buckets) == (403, "InvalidAccessKeyId")

    # anonymous requests are denied on private buckets
    with pytest.raises(urllib.error.HTTPError) as ei:
        urllib.request.urlopen(f"{server.s3_url}/{bucket}/x", timeout=10)
    assert ei.value.code == 403

    s3.delete_object(Bucket=bucket, Key="x")
    s3.delete_bucket(Bucket=bucket)
    assert expect_error(s3.head_bucket, Bucket=bucket)[0] == 404


def test_delete_objects_batch(s3, bucket):
    keys = [f"batch/{i}" for i in range(10)]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=b"b")
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys + ["batch/missing"]]})
    assert sorted(d["Key"] for d in r["Deleted"]) == sorted(keys + ["batch/missing"])
    assert not r.get("Errors")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="batch/")
    s3.put_object(Bucket=bucket, Key="q", Body=b"q")
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "q"}], "Quiet": True})
    assert not r.get("Deleted") and not r.get("Errors")


def test_bucket_ops(s3):
    from conftest import unique_bucket
    b = unique_bucket("ops")
    s3.create_bucket(Bucket=b)
    s3.head_bucket(Bucket=b)
    assert s3.get_bucket_location(Bucket=b).get("LocationConstraint") in (None, "", "us-east-1")
    assert b in [x["Name"] for x in s3.list_buckets()["Buckets"]]
    s3.delete_bucket(Bucket=b)
    assert b not in [x["Name"] for x in s3.list_buckets()["Buckets"]]
