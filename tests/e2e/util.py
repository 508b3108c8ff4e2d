from __future__ import annotations

import hashlib
import json
import os
import random
import time
from pathlib import Path


def md5_file(p: Path) -> str:
    h = hashlib.md5()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_file(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_random(p: Path, size: int, seed: int | None = None) -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(seed) if seed is not None else None
    with open(p, "wb") as f:
        left = size
        while left:
            n = min(left, 1 << 20)
            f.write(rnd.randbytes(n) if rnd else os.urandom(n))
            left -= n
    return p


def multipart_etag(p: Path, part_size: int) -> str:
    """The S3 ETag of a multipart object uploaded with a fixed part size."""
    digests = []
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(part_size), b""):
            digests.append(hashlib.md5(chunk).digest())
    if len(digests) <= 1:
        raise ValueError("not multipart")
    return f'"{hashlib.md5(b"".join(digests)).hexdigest()}-{len(digests)}"'


def tree(root: Path) -> dict[str, str]:
    """relative posix path -> md5 for every regular file under root."""
    out = {}
    for p in sorted(Path(root).rglob("*")):
        if p.is_file():
            out[p.relative_to(root).as_posix()] = md5_file(p)
    return out


# A small directory tree with awkward names (spaces, unicode, '+', '=', '&'),
# nesting, an empty file and a few >1 MiB files (exercises Expect: 100-continue).
TREE_SPEC = {
    "a.txt": 11,
    "empty.txt": 0,
    "b/c.txt": 300,
    "b/d/e.bin": 2 * 1024 * 1024 + 7,
    "b/d/f.bin": 1536 * 1024,
    "dir with space/ü file.txt": 1000,
    "plus+sign=eq&amp.txt": 123,
    "deep/1/2/3/4/5/leaf.bin": 70_000,
    "x/y.dat": 3 * 1024 * 1024,
}


def make_tree(root: Path, spec: dict[str, int] = TREE_SPEC, seed: int = 1) -> dict[str, str]:
    # mtimes an hour in the past: S3 LastModified has 1 s resolution and sync tools
    # re-copy a local file that looks newer than the object.
    old = time.time() - 3600
    for i, (rel, size) in enumerate(sorted(spec.items())):
        write_random(root / rel, size, seed=seed * 1000 + i)
        os.utime(root / rel, (old, old))
    return tree(root)


def expect_error(fn, *args, **kw) -> tuple[int, str]:
    """Calls a boto3 operation that must fail; its (HTTP status, S3 error code)."""
    import pytest
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as ei:
        fn(*args, **kw)
    r = ei.value.response
    return r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"]


DAY_MS = 86_400_000


class Admin:
    """lakegate's admin API, SigV4-signed as root with botocore."""

    def __init__(self, srv):
        self.srv = srv
        from botocore.credentials import Credentials

        self.creds = Credentials(srv.user, srv.password)

    def call(self, method: str, path: str, body: bytes = b"", query: str = "") -> dict:
        import urllib.request

        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest

        url = f"{self.srv.s3_url}/lakegate/admin/v1/{path}" + (f"?{query}" if query else "")
        req = AWSRequest(method=method, url=url, data=body)
        S3SigV4Auth(self.creds, "s3", "us-east-1").add_auth(req)
        r = urllib.request.Request(url, data=body or None, method=method,
                                   headers=dict(req.headers.items()))
        with urllib.request.urlopen(r, timeout=120) as resp:
            return json.loads(resp.read())

    def clock(self, offset_days: float):
        self.call("PUT", "clock", json.dumps({"offset_ms": int(offset_days * DAY_MS)}).encode())

    def scan(self, bucket: str, dry_run: bool = False) -> dict:
        return self.call("POST", f"lifecycle/{bucket}/run", query="dry_run=true" if dry_run else "")
