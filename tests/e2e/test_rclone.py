"""rclone (Debian package) mirroring to and from lakegate: the `mc mirror
--overwrite` workflow. Configured purely through RCLONE_CONFIG_LG_* env vars."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from conftest import require_tool, run, unique_bucket
from lgserver import scrubbed_env
from util import make_tree, tree, write_random

MiB = 1024 * 1024

pytestmark = require_tool("rclone")


@pytest.fixture
def rclone(server, tmp_path):
    conf = tmp_path / "rclone.conf"
    conf.write_text("")
    env = scrubbed_env({
        "RCLONE_CONFIG": str(conf),
        "RCLONE_CONFIG_LG_TYPE": "s3",
        "RCLONE_CONFIG_LG_PROVIDER": "Minio",
        "RCLONE_CONFIG_LG_ENV_AUTH": "false",
        "RCLONE_CONFIG_LG_ENDPOINT": server.s3_url,
        "RCLONE_CONFIG_LG_ACCESS_KEY_ID": server.user,
        "RCLONE_CONFIG_LG_SECRET_ACCESS_KEY": server.password,
        "RCLONE_CONFIG_LG_REGION": "us-east-1",
    })
    # rclone 1.60 refuses to start while AWS_CA_BUNDLE is set (and must not pick up
    # any other AWS_* setting from the environment).
    for k in list(env):
        if k.startswith("AWS_"):
            env.pop(k)
    counter = iter(range(1000))

    def _rclone(*args, check=True, timeout=180):
        n = next(counter)
        log = tmp_path / f"rclone-{n}.log"
        extra = ["--dump", "headers"] if os.environ.get("LAKEGATE_E2E_RCLONE_DUMP") else []
        cmd = ["rclone", *map(str, args), "-vv", "--log-file", str(log), "--retries", "1",
               "--low-level-retries", "1", *extra]
        rc, out, err = run(cmd, env=env, timeout=timeout, check=False, server=server)
        text = log.read_text("utf-8", "replace") if log.exists() else ""
        # drop rclone's config chatter from the tail shown on failure
        shown = [l for l in text.splitlines() if " : Setting " not in l and "Creating backend" not in l]
        if check and rc != 0:
            raise AssertionError(
                f"rclone failed (exit {rc}): {' '.join(cmd)}\n--- stdout\n{out[-3000:]}\n"
                f"--- log tail\n{chr(10).join(shown[-80:])}\n"
                f"--- lakegate log tail\n{server.log_tail(30)}")
        return rc, out, text
    return _rclone


def _copied(log: str) -> list[str]:
    return [l for l in log.splitlines() if ": Copied (" in l]


def _deleted(log: str) -> list[str]:
    return [l for l in log.splitlines() if ": Deleted" in l]


def test_rclone_mirror_both_ways(rclone, tmp_path, record_property):
    b = unique_bucket("rclone")
    src = tmp_path / "src"
    make_tree(src)
    write_random(src / "big/multipart.bin", 12 * MiB, seed=5)  # > upload cutoff below
    old = time.time() - 3600
    os.utime(src / "big/multipart.bin", (old, old))
    remote = f"lg:{b}/mirror"
    mp = ["--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M"]

    rclone("mkdir", f"lg:{b}")
    t0 = time.monotonic()
    _, _, log = rclone("sync", src, remote, *mp)
    record_property("timing:rclone sync up", time.monotonic() - t0)
    assert len(_copied(log)) == len(tree(src)), log[-3000:]
    rclone("check", src, remote)
    rclone("check", "--download", src, remote)

    _, out, _ = rclone("lsjson", "-R", "--files-only", remote)
    listed = {e["Path"]: e["Size"] for e in json.loads(out)}
    assert listed == {p: (src / p).stat().st_size for p in tree(src)}

    # idempotent: nothing to copy
    _, _, log = rclone("sync", src, remote, *mp)
    assert _copied(log) == [] and _deleted(log) == [], log[-3000:]

    # modify (same size, different bytes), delete, add, then sync again
    size = (src / "b/c.txt").stat().st_size
    write_random(src / "b/c.txt", size, seed=42)
    (src / "a.txt").unlink()
    write_random(src / "new/dir/n.bin", 4321, seed=7)
    _, _, log = rclone("sync", src, remote, *mp)
    copied = _copied(log)
    assert len(copied) == 2 and any("b/c.txt" in l for l in copied) and any("new/dir/n.bin" in l for l in copied), log[-3000:]
    assert len(_deleted(log)) == 1 and "a.txt" in _deleted(log)[0]
    rclone("check", src, remote)

    # mirror the bucket down to a fresh dir and check both ways
    dst = tmp_path / "dst"
    t0 = time.monotonic()
    rclone("sync", remote, dst)
    record_property("timing:rclone sync down", time.monotonic() - t0)
    rclone("check", remote, dst)
    rclone("check", src, dst)
    assert tree(dst) == tree(src)

    # change the bucket side and sync down again (mc mirror --overwrite equivalent)
    write_random(src / "b/c.txt", size + 10, seed=43)
    rclone("sync", src, remote, *mp)
    _, _, log = rclone("sync", remote, dst)
    assert len(_copied(log)) == 1, log[-3000:]
    assert tree(dst) == tree(src)

    rclone("purge", f"lg:{b}")
    rc, out, _ = rclone("lsd", "lg:", check=True)
    assert b not in out
