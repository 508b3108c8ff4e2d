"""s3cmd (Debian package) put/get/ls/del with a generated config, SigV4 and SigV2."""

from __future__ import annotations


import pytest

from conftest import require_tool, run, unique_bucket
from lgserver import scrubbed_env
from util import md5_file, write_random

pytestmark = require_tool("s3cmd")


@pytest.mark.parametrize("sigv2", [False, True], ids=["sigv4", "sigv2"])
def test_s3cmd_put_get_ls_del(server, tmp_path, sigv2):
    host = server.s3_url.split("://", 1)[1]
    cfg = tmp_path / "s3cfg"
    cfg.write_text(
        "[default]\n"
        f"access_key = {server.user}\n"
        f"secret_key = {server.password}\n"
        f"host_base = {host}\n"
        f"host_bucket = {host}\n"
        "bucket_location = us-east-1\n"
        "use_https = False\n"
        f"signature_v2 = {sigv2}\n"
        "check_ssl_certificate = False\n"
        "multipart_chunk_size_mb = 5\n"
        "progress_meter = False\n"
        "max_retries = 1\n")
    env = scrubbed_env()

    def s3cmd(*args, check=True):
        return run(["s3cmd", "-c", str(cfg), *map(str, args)], env=env, check=check, server=server, timeout=120)

    b = unique_bucket("s3cmd")
    s3cmd("mb", f"s3://{b}")
    small = write_random(tmp_path / "small.txt", 5000)
    big = write_random(tmp_path / "big.bin", 11 * 1024 * 1024)  # multipart (5 MiB chunks)
    s3cmd("put", small, f"s3://{b}/dir/small.txt")
    s3cmd("put", big, f"s3://{b}/dir/big.bin")

    _, out, _ = s3cmd("ls", f"s3://{b}/dir/")
    assert f"s3://{b}/dir/small.txt" in out and f"s3://{b}/dir/big.bin" in out, out
    _, out, _ = s3cmd("ls", f"s3://{b}/")
    assert "DIR" in out and f"s3://{b}/dir/" in out, out
    _, out, _ = s3cmd("ls")
    assert f"s3://{b}" in out

    _, out, _ = s3cmd("info", f"s3://{b}/dir/small.txt")
    assert md5_file(small) in out, out

    for name, f in (("small.txt", small), ("big.bin", big)):
        dst = tmp_path / f"got-{name}"
        s3cmd("get", f"s3://{b}/dir/{name}", dst)
        assert md5_file(dst) == md5_file(f)

    s3cmd("del", "--recursive", "--force", f"s3://{b}/dir/")
    _, out, _ = s3cmd("ls", f"s3://{b}/dir/")
    assert out.strip() == "", out
    s3cmd("rb", f"s3://{b}")
