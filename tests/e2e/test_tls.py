"""TLS and encryption at rest with real clients: a lakegate serving a self-signed certificate
made by `lakegate certs generate`, clients that trust it as their CA bundle (boto3, the AWS CLI,
rclone, lakegate's own commands), SSE-S3 and SSE-C end to end, the data directory and the backup
target scanned for plaintext, start errors for broken certificates, and a certificate replaced
under load without one failed request."""

from __future__ import annotations

import base64
import hashlib
import os
import signal
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from conftest import make_s3, require_tool, run, unique_bucket
from lgserver import ServerStartError, lakegate_bin, scrubbed_env

MiB = 1024 * 1024
MARKER = b"LAKEGATE-TLS-PLAINTEXT-MARKER-7d1c"


def marked(size: int) -> bytes:
    """`size` bytes of which every 4 KiB carries MARKER."""
    block = MARKER + os.urandom(4096 - len(MARKER))
    return (block * (size // 4096 + 1))[:size]


def generate(dir: Path, *hosts: str) -> Path:
    args = [a for h in hosts for a in ("--host", h)]
    p = subprocess.run([str(lakegate_bin()), "certs", "generate", "--dir", str(dir), *args],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert (dir / "private.key").stat().st_mode & 0o777 == 0o600
    return dir / "public.crt"


def served_cert(port: int, ca: Path) -> bytes:
    ctx = ssl.create_default_context(cafile=str(ca))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            return tls.getpeercert(binary_form=True)


def files_containing(root: Path, needle: bytes) -> list[str]:
    hits = []
    for dirpath, _, names in os.walk(root):
        for n in names:
            p = Path(dirpath) / n
            try:
                if needle in p.read_bytes():
                    hits.append(str(p))
            except OSError:
                pass
    return hits


@pytest.fixture
def tls_server(new_server, tmp_path):
    certs = tmp_path / "certs"
    ca = generate(certs, "localhost", "127.0.0.1")
    srv = new_server(args=["--certs-dir", str(certs),
                           "--backup-target", str(tmp_path / "backups")], ca_bundle=ca)
    srv.start()
    srv.certs = certs
    srv.ca = ca
    srv.backups = tmp_path / "backups"
    yield srv
    srv.stop()


def customer_key(seed: int):
    key = hashlib.sha256(f"customer-{seed}".encode()).digest()
    return {
        "SSECustomerAlgorithm": "AES256",
        "SSECustomerKey": key,
    }, key


def test_boto3_over_tls_sse_c_and_default_encryption(tls_server):
    assert tls_server.s3_url.startswith("https://")
    assert tls_server.console_url.startswith("https://")
    s3 = make_s3(tls_server, verify=str(tls_server.ca))
    # The medallion buckets are SSE-S3 by default.
    enc = s3.get_bucket_encryption(Bucket="silver")
    rule = enc["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    body = marked(3 * MiB + 123)
    put = s3.put_object(Bucket="silver", Key="tables/a.parquet", Body=body)
    assert put["ServerSideEncryption"] == "AES256"
    got = s3.get_object(Bucket="silver", Key="tables/a.parquet", Range="bytes=70000-200000")
    assert got["ServerSideEncryption"] == "AES256"
    assert got["Body"].read() == body[70000:200001]

    # SSE-C: put, head, get, ranges, copy and multipart.
    b = unique_bucket("tls")
    s3.create_bucket(Bucket=b)
    c1, _ = customer_key(1)
    c2, _ = customer_key(2)
    small = marked(1000)
    r = s3.put_object(Bucket=b, Key="c/small", Body=small, **c1)
    assert r["SSECustomerAlgorithm"] == "AES256"
    assert s3.head_object(Bucket=b, Key="c/small", **c1)["ContentLength"] == 1000
    assert s3.get_object(Bucket=b, Key="c/small", **c1)["Body"].read() == small
    for wrong in ({}, c2):
        with pytest.raises(ClientError) as e:
            s3.get_object(Bucket=b, Key="c/small", **wrong)
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 403)
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=b, Key="c/small", **c2)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    big = marked(5 * MiB + 77)
    s3.put_object(Bucket=b, Key="c/big", Body=big, **c1)
    got = s3.get_object(Bucket=b, Key="c/big", Range="bytes=65530-131080", **c1)["Body"].read()
    assert got == big[65530:131081]
    # Copy to another key and another customer key, and to SSE-S3.
    s3.copy_object(Bucket=b, Key="c/copy", CopySource={"Bucket": b, "Key": "c/big"},
                   CopySourceSSECustomerAlgorithm="AES256",
                   CopySourceSSECustomerKey=c1["SSECustomerKey"], **c2)
    assert s3.get_object(Bucket=b, Key="c/copy", **c2)["Body"].read() == big
    s3.copy_object(Bucket=b, Key="c/s3", CopySource={"Bucket": b, "Key": "c/big"},
                   CopySourceSSECustomerAlgorithm="AES256",
                   CopySourceSSECustomerKey=c1["SSECustomerKey"], ServerSideEncryption="AES256")
    assert s3.get_object(Bucket=b, Key="c/s3")["Body"].read() == big
    # Multipart with the customer key on every part.
    up = s3.create_multipart_upload(Bucket=b, Key="c/mp", **c1)
    parts = []
    chunks = [marked(5 * MiB), marked(1234)]
    for n, chunk in enumerate(chunks, 1):
        r = s3.upload_part(Bucket=b, Key="c/mp", UploadId=up["UploadId"], PartNumber=n,
                           Body=chunk, **c1)
        parts.append({"PartNumber": n, "ETag": r["ETag"]})
    s3.complete_multipart_upload(Bucket=b, Key="c/mp", UploadId=up["UploadId"],
                                 MultipartUpload={"Parts": parts}, **c1)
    whole = b"".join(chunks)
    got = s3.get_object(Bucket=b, Key="c/mp", **c1)["Body"].read()
    assert hashlib.md5(got).digest() == hashlib.md5(whole).digest()
    got = s3.get_object(Bucket=b, Key="c/mp", Range=f"bytes={5 * MiB - 10}-{5 * MiB + 10}",
                        **c1)["Body"].read()
    assert got == whole[5 * MiB - 10:5 * MiB + 11]

    # A backup of the encrypted bucket keeps it encrypted at the target, and restores.
    env = scrubbed_env({"LAKEGATE_ROOT_USER": tls_server.user,
                        "LAKEGATE_ROOT_PASSWORD": tls_server.password})
    cli = [str(lakegate_bin()), "backup", "run", "--bucket", "silver",
           "--endpoint", tls_server.s3_url, "--ca-cert", str(tls_server.ca)]
    p = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr + tls_server.log_tail()
    # lakegate's commands refuse a gateway whose certificate they cannot verify.
    p = subprocess.run(cli[:-2], env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode != 0 and "certificate" in (p.stderr + p.stdout).lower(), p.stderr

    tls_server.stop()
    assert files_containing(tls_server.data_dir, MARKER) == []
    assert tls_server.backups.is_dir()
    assert files_containing(tls_server.backups, MARKER) == []


def test_aws_cli_sse_over_tls(tls_server, aws_env, tmp_path):
    b = unique_bucket("tlscli")
    aws = ["aws", "--endpoint-url", tls_server.s3_url, "--ca-bundle", str(tls_server.ca)]
    run([*aws, "s3", "mb", f"s3://{b}"], env=aws_env, server=tls_server)
    src = tmp_path / "src.bin"
    src.write_bytes(marked(9 * MiB + 5))  # multipart in the CLI (8 MiB threshold)
    run([*aws, "s3", "cp", str(src), f"s3://{b}/sse-s3.bin", "--sse", "AES256"],
        env=aws_env, server=tls_server)
    key = tmp_path / "customer.key"
    key.write_bytes(hashlib.sha256(b"cli-key").digest())
    run([*aws, "s3", "cp", str(src), f"s3://{b}/sse-c.bin", "--sse-c", "AES256",
         "--sse-c-key", f"fileb://{key}"], env=aws_env, server=tls_server)
    _, out, _ = run([*aws, "s3api", "head-object", "--bucket", b, "--key", "sse-s3.bin"],
                    env=aws_env, server=tls_server)
    assert '"ServerSideEncryption": "AES256"' in out
    for name, extra in (("sse-s3.bin", []),
                        ("sse-c.bin", ["--sse-c", "AES256", "--sse-c-key", f"fileb://{key}"])):
        dst = tmp_path / f"back-{name}"
        run([*aws, "s3", "cp", f"s3://{b}/{name}", str(dst), *extra], env=aws_env,
            server=tls_server)
        assert dst.read_bytes() == src.read_bytes()
    # Without the key the SSE-C object is not readable.
    rc, _, err = run([*aws, "s3", "cp", f"s3://{b}/sse-c.bin", str(tmp_path / "x")],
                     env=aws_env, check=False)
    assert rc != 0
    # An AWS CLI that does not trust the certificate gets nowhere.
    rc, _, err = run(["aws", "--endpoint-url", tls_server.s3_url, "s3", "ls"], env=aws_env,
                     check=False)
    assert rc != 0 and "certificate" in err.lower(), err


@require_tool("rclone")
def test_rclone_over_tls_with_sse(tls_server, tmp_path):
    b = unique_bucket("tlsrclone")
    env = scrubbed_env({
        "RCLONE_CONFIG": str(tmp_path / "rclone.conf"),
        "RCLONE_CONFIG_LG_TYPE": "s3",
        "RCLONE_CONFIG_LG_PROVIDER": "Minio",
        "RCLONE_CONFIG_LG_ENV_AUTH": "false",
        "RCLONE_CONFIG_LG_ENDPOINT": tls_server.s3_url,
        "RCLONE_CONFIG_LG_ACCESS_KEY_ID": tls_server.user,
        "RCLONE_CONFIG_LG_SECRET_ACCESS_KEY": tls_server.password,
        "RCLONE_CONFIG_LG_REGION": "us-east-1",
    })
    for k in list(env):
        if k.startswith("AWS_"):
            env.pop(k)
    (tmp_path / "rclone.conf").write_text("")
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.bin").write_bytes(marked(2 * MiB + 3))
    (src / "b.txt").write_bytes(MARKER * 10)
    base = ["rclone", "--ca-cert", str(tls_server.ca), "--retries", "1",
            "--low-level-retries", "1"]
    run([*base, "mkdir", f"lg:{b}"], env=env, server=tls_server)
    run([*base, "copy", str(src), f"lg:{b}/d", "--s3-server-side-encryption", "AES256"],
        env=env, server=tls_server)
    dst = tmp_path / "dst"
    run([*base, "copy", f"lg:{b}/d", str(dst)], env=env, server=tls_server)
    for n in ("a.bin", "b.txt"):
        assert (dst / n).read_bytes() == (src / n).read_bytes()
    s3 = make_s3(tls_server, verify=str(tls_server.ca))
    assert s3.head_object(Bucket=b, Key="d/a.bin")["ServerSideEncryption"] == "AES256"


def test_broken_certificates_stop_the_start(new_server, tmp_path):
    a = tmp_path / "a"
    b = tmp_path / "b"
    generate(a, "localhost")
    generate(b, "localhost")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "public.crt").write_bytes((a / "public.crt").read_bytes())
    (bad / "private.key").write_bytes((b / "private.key").read_bytes())
    srv = new_server(args=["--certs-dir", str(bad)])
    with pytest.raises(ServerStartError) as e:
        srv.start(timeout=30)
    assert "does not belong to" in srv.log_tail() and "private.key" in srv.log_tail()
    (bad / "private.key").write_text("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    srv = new_server(args=["--certs-dir", str(bad)])
    with pytest.raises(ServerStartError):
        srv.start(timeout=30)
    assert "private.key" in srv.log_tail()


def test_certificate_hot_reload_under_load(tls_server, tmp_path):
    """Clients make fresh TLS connections all along while the certificate is replaced twice
    (by file change, then with SIGHUP): not one request fails, and the new certificate is
    served."""
    old_der = served_cert(tls_server.port, tls_server.ca)
    new1 = tmp_path / "new1"
    new2 = tmp_path / "new2"
    generate(new1, "localhost", "127.0.0.1")
    generate(new2, "localhost", "127.0.0.1")
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(b"".join((d / "public.crt").read_bytes()
                                for d in (tls_server.certs, new1, new2)))
    s3 = make_s3(tls_server, verify=str(tls_server.ca))
    b = unique_bucket("reload")
    s3.create_bucket(Bucket=b)
    s3.put_object(Bucket=b, Key="k", Body=b"hello")
    stop = threading.Event()
    ok = [0]
    failures: list[str] = []

    def load():
        ctx = ssl.create_default_context(cafile=str(bundle))
        while not stop.is_set():
            try:
                # A new connection (and handshake) for every request.
                with socket.create_connection(("127.0.0.1", tls_server.port), timeout=10) as raw:
                    with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                        tls.sendall(b"GET /minio/health/live HTTP/1.1\r\nHost: localhost\r\n"
                                    b"Connection: close\r\n\r\n")
                        resp = b""
                        while chunk := tls.recv(4096):
                            resp += chunk
                if not resp.startswith(b"HTTP/1.1 200"):
                    failures.append(resp[:100].decode("latin-1"))
                else:
                    ok[0] += 1
            except Exception as e:  # noqa: BLE001 - any failure counts
                failures.append(repr(e))

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(1)
        # 1. Replace the files (two renames: for a moment key and certificate disagree, and
        #    that reload must fail and keep serving the old pair).
        for name in ("private.key", "public.crt"):
            os.replace(new1 / name, tls_server.certs / name)
            time.sleep(0.3)
        deadline = time.monotonic() + 15
        while served_cert(tls_server.port, bundle) == old_der:
            assert time.monotonic() < deadline, "the new certificate was never served"
            time.sleep(0.2)
        first = served_cert(tls_server.port, bundle)
        # 2. SIGHUP reloads at once.
        for name in ("private.key", "public.crt"):
            os.replace(new2 / name, tls_server.certs / name)
        tls_server.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while served_cert(tls_server.port, bundle) == first:
            assert time.monotonic() < deadline, "SIGHUP did not reload"
            time.sleep(0.1)
        time.sleep(1)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert failures == [], failures[:5]
    assert ok[0] > 50, ok[0]
    assert tls_server.alive()
    assert "reloaded the TLS certificates" in tls_server.log_tail(200)
