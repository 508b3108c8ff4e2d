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


CLIENT_SCRIPT = r'''
import json, os, sys
ca, endpoint, user, password, work = sys.argv[1:6]
out = {}

# MLflow: a run's artifacts in the (SSE-S3 by default) mlflow bucket, over TLS.
import mlflow
mlflow.set_tracking_uri("file://" + os.path.join(work, "mlruns"))
exp = mlflow.create_experiment("lake", artifact_location="s3://mlflow/experiments/lake")
model = os.path.join(work, "model.bin")  # written by the test, marked
with mlflow.start_run(experiment_id=exp) as run:
    mlflow.log_param("alpha", 0.5)
    mlflow.log_artifact(model, artifact_path="model")
    out["run_id"] = run.info.run_id
back = mlflow.artifacts.download_artifacts(
    run_id=out["run_id"], artifact_path="model/model.bin", dst_path=os.path.join(work, "dl"))
out["mlflow_roundtrip"] = open(back, "rb").read() == open(model, "rb").read()

# delta-rs over TLS (object_store trusts SSL_CERT_FILE's CA) in the default-encrypted gold bucket.
import pyarrow as pa
from deltalake import DeltaTable, write_deltalake
opts = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": user, "AWS_SECRET_ACCESS_KEY": password,
        "AWS_REGION": "us-east-1"}
uri = "s3://gold/tls-table"
write_deltalake(uri, pa.table({"id": pa.array(range(1000), pa.int64())}), storage_options=opts)
write_deltalake(uri, pa.table({"id": pa.array(range(1000, 1010), pa.int64())}), mode="append",
                storage_options=opts)
dt = DeltaTable(uri, storage_options=opts)
out["delta_version"] = dt.version()
out["delta_rows"] = dt.to_pyarrow_table().num_rows
out["delta_files"] = [f for f in dt.file_uris()]

# pyarrow's own S3 filesystem with the CA file.
import pyarrow.fs as pafs
import pyarrow.parquet as pq
fs = pafs.S3FileSystem(endpoint_override=endpoint, access_key=user, secret_key=password,
                       region="us-east-1", scheme="https", tls_ca_file_path=ca)
pq.write_table(pa.table({"x": list(range(500))}), "gold/tls-pyarrow/x.parquet", filesystem=fs)
out["pyarrow_rows"] = pq.read_table("gold/tls-pyarrow/x.parquet", filesystem=fs).num_rows
print(json.dumps(out))
'''


def test_mlflow_delta_and_pyarrow_over_tls_into_encrypted_buckets(tls_server, tmp_path):
    """MLflow artifacts in `mlflow`, a delta-rs table and a pyarrow parquet file in `gold`, all
    over TLS with the self-signed CA, all stored SSE-S3 by the buckets' defaults."""
    import json
    import sys

    body = marked(300_000)
    env = scrubbed_env({
        "MLFLOW_S3_ENDPOINT_URL": tls_server.s3_url,
        "MLFLOW_ALLOW_FILE_STORE": "true",
        "AWS_ACCESS_KEY_ID": tls_server.user,
        "AWS_SECRET_ACCESS_KEY": tls_server.password,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CA_BUNDLE": str(tls_server.ca),
        "SSL_CERT_FILE": str(tls_server.ca),
    })
    (tmp_path / "model.bin").write_bytes(body)
    p = subprocess.run([sys.executable, "-c", CLIENT_SCRIPT, str(tls_server.ca), tls_server.s3_url,
                        tls_server.user, tls_server.password, str(tmp_path)],
                       env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-4000:] + tls_server.log_tail()
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["mlflow_roundtrip"] is True
    assert out["delta_version"] == 1 and out["delta_rows"] == 1010
    assert out["pyarrow_rows"] == 500
    s3 = make_s3(tls_server, verify=str(tls_server.ca))
    stored = [("mlflow", f"experiments/lake/{out['run_id']}/artifacts/model/model.bin"),
              ("gold", "tls-pyarrow/x.parquet")]
    stored += [("gold", u.split("gold/", 1)[1]) for u in out["delta_files"]]
    for bucket, key in stored:
        assert s3.head_object(Bucket=bucket, Key=key)["ServerSideEncryption"] == "AES256", key
    tls_server.stop()
    assert files_containing(tls_server.data_dir, MARKER) == []


def expired_pair(dir: Path) -> Path:
    """A CA and a server certificate for localhost/127.0.0.1 that expired yesterday."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    dir.mkdir(parents=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "expired test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(days=30))
          .not_valid_after(now + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=10))
            .not_valid_after(now - datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    (dir / "public.crt").write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    (dir / "private.key").write_bytes(key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    ca_file = dir.parent / "expired-ca.pem"
    ca_file.write_bytes(ca.public_bytes(pem))
    return ca_file


def test_an_expired_certificate_is_refused_by_clients(new_server, tmp_path, aws_env):
    ca = expired_pair(tmp_path / "certs")
    srv = new_server(args=["--certs-dir", str(tmp_path / "certs")])
    os.environ["LAKEGATE_E2E_SKIP_HEALTH"] = "1"  # the health probe would refuse it too
    try:
        srv.start()
    finally:
        os.environ.pop("LAKEGATE_E2E_SKIP_HEALTH", None)
    assert srv.s3_url.startswith("https://")
    s3 = make_s3(srv, verify=str(ca))
    from botocore.exceptions import SSLError
    with pytest.raises(SSLError) as e:
        s3.list_buckets()
    assert "expired" in str(e.value).lower(), e.value
    rc, _, err = run(["aws", "--endpoint-url", srv.s3_url, "--ca-bundle", str(ca), "s3", "ls"],
                     env=aws_env, check=False)
    assert rc != 0 and "expired" in err.lower(), err
    env = scrubbed_env({"LAKEGATE_ROOT_USER": srv.user, "LAKEGATE_ROOT_PASSWORD": srv.password})
    p = subprocess.run([str(lakegate_bin()), "backup", "status", "--bucket", "bronze",
                        "--endpoint", srv.s3_url, "--ca-cert", str(ca)],
                       env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "expired" in p.stderr.lower(), p.stderr
    srv.stop()


def test_console_session_cookie_is_secure_under_tls(tls_server):
    """Over TLS the console's session cookie is `__Host-` prefixed and `Secure`."""
    import json as _json
    import urllib.request

    ctx = ssl.create_default_context(cafile=str(tls_server.ca))
    body = _json.dumps({"access_key": tls_server.user, "secret_key": tls_server.password}).encode()
    req = urllib.request.Request(tls_server.console_url + "/login", data=body, method="POST",
                                 headers={"content-type": "application/json",
                                          "origin": tls_server.console_url})
    with urllib.request.urlopen(req, context=ctx) as r:
        cookie = r.headers["set-cookie"]
        csrf = _json.loads(r.read())["csrf"]
    assert cookie.startswith("__Host-lakegate_session="), cookie
    for flag in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
        assert flag in cookie, cookie
    assert csrf
    session = cookie.split(";")[0]
    req = urllib.request.Request(tls_server.console_url + "/api/session",
                                 headers={"cookie": session})
    with urllib.request.urlopen(req, context=ctx) as r:
        assert _json.loads(r.read())["access_key"] == tls_server.user
