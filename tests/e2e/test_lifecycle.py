"""Process contract: ready line, health, default buckets, credentials from env,
graceful SIGTERM, restart persistence, virtual-host style addressing."""

from __future__ import annotations

import socket
import time
import urllib.request

import boto3
import pytest
from botocore.exceptions import ClientError

from conftest import boto_config, make_s3
from lgserver import READY_RE

DEFAULT_BUCKETS = {"bronze", "silver", "gold", "mlflow"}


def test_start_ready_line_defaults_sigterm_restart(new_server, record_property):
    srv = new_server()
    t0 = time.monotonic()
    srv.start()
    record_property("timing:cold start to ready", time.monotonic() - t0)
    assert READY_RE.match(srv.stdout_lines[0])
    assert srv.s3_url.startswith("http://127.0.0.1:") and srv.console_url.startswith("http://127.0.0.1:")
    assert srv.s3_url != srv.console_url

    with urllib.request.urlopen(srv.s3_url + "/minio/health/live", timeout=5) as r:
        assert r.status == 200

    s3 = make_s3(srv)
    names = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert DEFAULT_BUCKETS <= names, names
    s3.put_object(Bucket="bronze", Key="persist/me.txt", Body=b"still here")
    s3.create_bucket(Bucket="lifecycle-extra")

    t0 = time.monotonic()
    rc = srv.stop(timeout=20)
    record_property("timing:SIGTERM to exit", time.monotonic() - t0)
    assert rc == 0, f"SIGTERM: exit code {rc} (None = did not exit within 20 s)\n{srv.log_tail(30)}"

    srv.start()
    s3 = make_s3(srv)
    names = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert DEFAULT_BUCKETS | {"lifecycle-extra"} <= names
    assert s3.get_object(Bucket="bronze", Key="persist/me.txt")["Body"].read() == b"still here"
    assert srv.stop() == 0


def test_root_credentials_from_env(new_server):
    srv = new_server(user="alice", password="s3cr3t-passw0rd").start()
    ok = make_s3(srv)
    assert "Buckets" in ok.list_buckets()
    default = boto3.client("s3", endpoint_url=srv.s3_url, region_name="us-east-1",
                           aws_access_key_id="admin", aws_secret_access_key="admin123", config=boto_config())
    with pytest.raises(ClientError) as ei:
        default.list_buckets()
    assert ei.value.response["Error"]["Code"] == "InvalidAccessKeyId"


def test_virtual_host_style(server, s3, bucket, monkeypatch):
    """BUCKET.localhost:PORT addressing. *.localhost does not resolve here, so map it
    to 127.0.0.1 inside this process; the Host header stays BUCKET.localhost:PORT."""
    real = socket.getaddrinfo

    def fake(host, *a, **kw):
        if isinstance(host, str) and host.endswith(".localhost"):
            host = "127.0.0.1"
        return real(host, *a, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    vh = boto3.client("s3", endpoint_url=f"http://localhost:{server.port}", region_name="us-east-1",
                      aws_access_key_id=server.user, aws_secret_access_key=server.password,
                      config=boto_config(s3={"addressing_style": "virtual"}))
    r = vh.put_object(Bucket=bucket, Key="vh/obj.txt", Body=b"virtual")
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    # path-style sees the same object
    assert s3.get_object(Bucket=bucket, Key="vh/obj.txt")["Body"].read() == b"virtual"
    assert vh.get_object(Bucket=bucket, Key="vh/obj.txt")["Body"].read() == b"virtual"
    assert [o["Key"] for o in vh.list_objects_v2(Bucket=bucket)["Contents"]] == ["vh/obj.txt"]
    url = vh.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "vh/obj.txt"}, ExpiresIn=60)
    assert url.startswith(f"http://{bucket}.localhost:{server.port}/")
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.read() == b"virtual"
    vh.delete_object(Bucket=bucket, Key="vh/obj.txt")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
