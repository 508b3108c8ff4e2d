"""AWS CLI v1 (`awscli` from PyPI) against a real lakegate."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import VENV_BIN, run, unique_bucket
from util import make_tree, md5_file, multipart_etag, tree, write_random

MiB = 1024 * 1024


@pytest.fixture
def aws(aws_env, server, tmp_path):
    def _aws(*args, timeout=300, check=True, env=None, debug=False):
        cmd = [str(VENV_BIN / "aws"), "--endpoint-url", server.s3_url, *map(str, args)]
        if debug or os.environ.get("LAKEGATE_E2E_AWS_DEBUG"):
            cmd.append("--debug")  # request/response headers go to stderr, shown on failure
        return run(cmd, env=env or aws_env, timeout=timeout, check=check, server=server)
    _aws.url = server.s3_url
    return _aws


def _lines(out: str, prefix: str) -> list[str]:
    return [l for l in out.splitlines() if l.strip().startswith(prefix)]


def test_cp_50mib_roundtrip(aws, s3, bucket, tmp_path, record_property):
    src = write_random(tmp_path / "big.bin", 50 * MiB)
    t0 = time.monotonic()
    aws("s3", "cp", src, f"s3://{bucket}/dir/big.bin", "--only-show-errors")
    up = time.monotonic() - t0
    record_property("timing:awscli cp 50MiB up", up)

    head = s3.head_object(Bucket=bucket, Key="dir/big.bin")
    assert head["ContentLength"] == 50 * MiB
    # awscli v1 multipart: 8 MiB threshold and chunk size -> 7 parts.
    assert head["ETag"] == multipart_etag(src, 8 * MiB), head

    dst = tmp_path / "back.bin"
    t0 = time.monotonic()
    aws("s3", "cp", f"s3://{bucket}/dir/big.bin", dst, "--only-show-errors")
    down = time.monotonic() - t0
    record_property("timing:awscli cp 50MiB down", down)
    assert dst.stat().st_size == src.stat().st_size
    assert md5_file(dst) == md5_file(src)
    # server-side copy: >8 MiB makes awscli use UploadPartCopy with byte ranges
    aws("s3", "cp", f"s3://{bucket}/dir/big.bin", f"s3://{bucket}/copy/big.bin", "--only-show-errors")
    head2 = s3.head_object(Bucket=bucket, Key="copy/big.bin")
    assert head2["ContentLength"] == 50 * MiB
    h = hashlib.md5()
    for chunk in s3.get_object(Bucket=bucket, Key="copy/big.bin")["Body"].iter_chunks(1 << 20):
        h.update(chunk)
    assert h.hexdigest() == md5_file(src), "UploadPartCopy result differs from the source"

    # Generous bounds: loopback, 2 cores, possibly a debug build.
    assert up < 60, f"50 MiB upload took {up:.1f}s"
    assert down < 60, f"50 MiB download took {down:.1f}s"


def test_sync_up_down_and_resync(aws, bucket, tmp_path, record_property):
    src = tmp_path / "src"
    expected = make_tree(src)

    t0 = time.monotonic()
    _, out, _ = aws("s3", "sync", src, f"s3://{bucket}/tree", timeout=120)
    took = time.monotonic() - t0
    record_property("timing:awscli sync up (9 files)", took)
    uploads = _lines(out, "upload:")
    assert len(uploads) == len(expected), out
    # Several files are >1 MiB, so botocore sends `Expect: 100-continue`; a server that
    # never answers 100 makes each of those wait for botocore's timeout.
    assert took < 10, f"aws s3 sync of 9 small files took {took:.1f}s (Expect: 100-continue stall?)"

    # ls --recursive shows every key with its size
    _, out, _ = aws("s3", "ls", "--recursive", f"s3://{bucket}/tree/")
    listed = {}
    for line in out.splitlines():
        parts = line.split(None, 3)
        listed[parts[3]] = int(parts[2])
    assert listed == {f"tree/{k}": (src / k).stat().st_size for k in expected}, out

    # re-sync copies nothing
    t0 = time.monotonic()
    _, out, _ = aws("s3", "sync", src, f"s3://{bucket}/tree")
    assert out.strip() == "", f"re-sync copied something:\n{out}"
    assert time.monotonic() - t0 < 10

    # sync down into a fresh dir and compare trees
    dst = tmp_path / "dst"
    _, out, _ = aws("s3", "sync", f"s3://{bucket}/tree", dst)
    assert len(_lines(out, "download:")) == len(expected), out
    assert tree(dst) == expected
    _, out, _ = aws("s3", "sync", f"s3://{bucket}/tree", dst)
    assert out.strip() == "", f"re-sync down copied something:\n{out}"

    # modify one file (size changes), delete another, sync with --delete
    write_random(src / "b/c.txt", 5000, seed=99)
    (src / "a.txt").unlink()
    _, out, _ = aws("s3", "sync", "--delete", src, f"s3://{bucket}/tree")
    assert _lines(out, "upload:") and len(_lines(out, "upload:")) == 1, out
    assert "b/c.txt" in _lines(out, "upload:")[0]
    assert len(_lines(out, "delete:")) == 1 and "a.txt" in _lines(out, "delete:")[0], out

    _, out, _ = aws("s3", "sync", "--delete", f"s3://{bucket}/tree", dst)
    assert tree(dst) == tree(src)


def test_ls_buckets_and_prefixes(aws, s3, bucket):
    _, out, _ = aws("s3", "ls")
    names = {l.split()[-1] for l in out.splitlines() if l.strip()}
    assert bucket in names
    assert {"bronze", "silver", "gold", "mlflow"} <= names, out

    for k in ("top.txt", "p1/a.txt", "p1/b.txt", "p2/q/c.txt"):
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
    _, out, _ = aws("s3", "ls", f"s3://{bucket}/")
    lines = [l.strip() for l in out.splitlines()]
    assert "PRE p1/" in lines and "PRE p2/" in lines, out
    assert any(l.endswith(" top.txt") for l in lines), out
    assert len(lines) == 3, out

    _, out, _ = aws("s3", "ls", f"s3://{bucket}/p1/")
    assert sorted(l.split()[-1] for l in out.splitlines()) == ["a.txt", "b.txt"]


def test_rm_recursive_and_rb(aws, s3, tmp_path):
    b = unique_bucket("rm")
    aws("s3", "mb", f"s3://{b}")
    keys = [f"k/{i:03d}" for i in range(30)] + ["other/keep-not", "z"]
    for k in keys:
        s3.put_object(Bucket=b, Key=k, Body=k.encode())
    _, out, _ = aws("s3", "rm", f"s3://{b}/k/", "--recursive")
    assert len(_lines(out, "delete:")) == 30, out
    left = [o["Key"] for o in s3.list_objects_v2(Bucket=b).get("Contents", [])]
    assert sorted(left) == ["other/keep-not", "z"]

    rc, out, err = aws("s3", "rb", f"s3://{b}", check=False)
    assert rc != 0 and "BucketNotEmpty" in (out + err), (rc, out, err)

    aws("s3", "rm", f"s3://{b}", "--recursive")
    aws("s3", "rb", f"s3://{b}")
    _, out, _ = aws("s3", "ls")
    assert b not in out


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _tamper(url: str, param: str) -> str:
    """Change one character of a query parameter (the signature)."""
    u = urllib.parse.urlsplit(url)
    q = urllib.parse.parse_qsl(u.query, keep_blank_values=True)
    out = []
    for k, v in q:
        if k == param:
            v = ("B" if v[0] != "B" else "C") + v[1:]
        out.append((k, v))
    return urllib.parse.urlunsplit(u._replace(query=urllib.parse.urlencode(out)))


def test_presign_sigv2_default(aws, s3, bucket, tmp_path):
    body = b"hello sigv2 presigned \x00\xff" * 100
    key = "pre/sign v2+ü.txt"
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    _, out, _ = aws("s3", "presign", f"s3://{bucket}/{key}", "--expires-in", "300")
    url = out.strip()
    # awscli v1 presigns with SigV2 query auth unless told otherwise.
    assert "AWSAccessKeyId=" in url and "Signature=" in url and "Expires=" in url, url
    status, got = _get(url)
    assert status == 200, (status, got[:500])
    assert got == body

    # curl too (different URL handling than urllib)
    p = subprocess.run(["curl", "-sS", "-f", "-o", str(tmp_path / "c.bin"), url], capture_output=True)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "c.bin").read_bytes() == body

    status, got = _get(_tamper(url, "Signature"))
    assert status == 403, (status, got[:300])
    assert b"SignatureDoesNotMatch" in got or b"AccessDenied" in got


def test_presign_sigv4(aws, aws_env, s3, bucket, tmp_path):
    cfg = tmp_path / "aws-config-v4"
    cfg.write_text("[default]\nregion = us-east-1\ns3 =\n    signature_version = s3v4\n")
    env = dict(aws_env, AWS_CONFIG_FILE=str(cfg))
    body = b"hello sigv4 presigned" * 50
    key = "pre/sign v4.txt"
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    _, out, _ = aws("s3", "presign", f"s3://{bucket}/{key}", "--region", "us-east-1",
                    "--expires-in", "300", env=env)
    url = out.strip()
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url, url
    status, got = _get(url)
    assert status == 200, (status, got[:500])
    assert got == body
    p = subprocess.run(["curl", "-sS", "-f", url], capture_output=True)
    assert p.returncode == 0 and p.stdout == body, p.stderr

    status, got = _get(_tamper(url, "X-Amz-Signature"))
    assert status == 403, (status, got[:300])

    # expired URL is refused
    _, out, _ = aws("s3", "presign", f"s3://{bucket}/{key}", "--region", "us-east-1",
                    "--expires-in", "1", env=env)
    time.sleep(2.5)
    status, got = _get(out.strip())
    assert status == 403, (status, got[:300])
    assert b"AccessDenied" in got or b"expired" in got.lower(), got[:300]


def test_s3api_put_head_with_metadata(aws, bucket, tmp_path):
    f = write_random(tmp_path / "m.bin", 4096)
    _, out, _ = aws("s3api", "put-object", "--bucket", bucket, "--key", "meta/obj.bin",
                    "--body", f, "--metadata", "color=blue,Owner-Name=Zoe",
                    "--content-type", "application/x-test", "--cache-control", "max-age=60",
                    "--content-disposition", 'attachment; filename="m.bin"')
    put = json.loads(out)
    assert put["ETag"] == f'"{md5_file(f)}"'

    _, out, _ = aws("s3api", "head-object", "--bucket", bucket, "--key", "meta/obj.bin")
    head = json.loads(out)
    assert head["ContentLength"] == 4096
    assert head["ETag"] == put["ETag"]
    assert head["ContentType"] == "application/x-test"
    assert head["CacheControl"] == "max-age=60"
    assert head["ContentDisposition"] == 'attachment; filename="m.bin"'
    # user metadata keys come back lower-cased
    assert head["Metadata"] == {"color": "blue", "owner-name": "Zoe"}, head

    rc, out, err = aws("s3api", "head-object", "--bucket", bucket, "--key", "meta/nope", check=False)
    assert rc != 0 and "404" in err, err

    dst = tmp_path / "got.bin"
    _, out, _ = aws("s3api", "get-object", "--bucket", bucket, "--key", "meta/obj.bin", dst)
    assert json.loads(out)["Metadata"] == {"color": "blue", "owner-name": "Zoe"}
    assert md5_file(dst) == md5_file(f)


def test_cp_over_tls_chunked_trailers(aws, aws_env, tls_proxy, s3, bucket, tmp_path):
    """Over https botocore streams PutObject/UploadPart bodies as aws-chunked with a
    trailing x-amz-checksum-crc32 (STREAMING-UNSIGNED-PAYLOAD-TRAILER)."""
    env = dict(aws_env, AWS_CA_BUNDLE=str(tls_proxy.cert))
    small = write_random(tmp_path / "small.bin", 3 * MiB)
    big = write_random(tmp_path / "big.bin", 20 * MiB)
    for f in (small, big):
        run([str(VENV_BIN / "aws"), "--endpoint-url", tls_proxy.url, "s3", "cp", str(f),
             f"s3://{bucket}/tls/{f.name}", "--only-show-errors"], env=env, timeout=120)
    assert s3.head_object(Bucket=bucket, Key="tls/small.bin")["ETag"] == f'"{md5_file(small)}"'
    assert s3.head_object(Bucket=bucket, Key="tls/big.bin")["ETag"] == multipart_etag(big, 8 * MiB)
    dst = tmp_path / "back.bin"
    run([str(VENV_BIN / "aws"), "--endpoint-url", tls_proxy.url, "s3", "cp",
         f"s3://{bucket}/tls/big.bin", str(dst), "--only-show-errors"], env=env, timeout=120)
    assert md5_file(dst) == md5_file(big)


def test_cp_stdin_stream_and_mv(aws, aws_env, s3, bucket, tmp_path):
    """`aws s3 cp - s3://...` streams stdin of unknown length (multipart), then mv."""
    data = os.urandom(12 * MiB + 5)
    p = subprocess.run([str(VENV_BIN / "aws"), "--endpoint-url", aws.url, "s3", "cp", "-",
                        f"s3://{bucket}/stream/in.bin"], input=data, env=aws_env,
                       capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr.decode()[-2000:]
    got = s3.get_object(Bucket=bucket, Key="stream/in.bin")["Body"].read()
    assert got == data
    p = subprocess.run([str(VENV_BIN / "aws"), "--endpoint-url", aws.url, "s3", "cp",
                        f"s3://{bucket}/stream/in.bin", "-"], env=aws_env, capture_output=True, timeout=120)
    assert p.returncode == 0 and p.stdout == data, p.stderr.decode()[-2000:]
    aws("s3", "mv", f"s3://{bucket}/stream/in.bin", f"s3://{bucket}/moved/out.bin")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["moved/out.bin"]
