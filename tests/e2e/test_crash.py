"""Crash consistency: kill -9 lakegate while 8 clients upload, restart on the same
data dir, and check that

  * every acknowledged (200) upload is present with exactly its bytes, unless a
    later (unacknowledged) write to the same key replaced it with ITS exact bytes;
  * an object whose upload was never acknowledged is either absent or complete;
  * nothing is visible that was never written, and listing/HEAD/GET agree.

Each key is written by one thread only, so the attempts on a key are ordered and
"the set of acceptable states" is well defined.
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from conftest import make_s3

KiB, MiB = 1024, 1024 * 1024


@dataclass
class KeyState:
    attempts: list = field(default_factory=list)  # [(md5, size, acked: bool)]

    def allowed(self) -> set | None:
        """Acceptable md5s after a crash; None in the set means 'absent is OK'."""
        last_ack = max((i for i, a in enumerate(self.attempts) if a[2]), default=None)
        if last_ack is None:
            return {None} | {a[0] for a in self.attempts}
        return {a[0] for a in self.attempts[last_ack:]}


class Load:
    def __init__(self, s3_factory, bucket, threads=8, seed=0, prefix="r"):
        self.s3_factory = s3_factory
        self.bucket = bucket
        self.threads = threads
        self.rnd = random.Random(seed)
        self.prefix = prefix
        self.state: dict[str, KeyState] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.acked = 0
        self.errors: list[str] = []

    def key_for(self, t: int, rnd: random.Random) -> str:
        # ~25 keys per thread: plenty of overwrites of acknowledged objects
        return f"{self.prefix}/t{t}/k{rnd.randrange(25):02d}"

    def run_thread(self, t: int, seed: int):
        rnd = random.Random(seed)
        s3 = self.s3_factory()
        multipart_thread = t == self.threads - 1
        while not self.stop.is_set():
            key = self.key_for(t, rnd)
            if multipart_thread:
                size = rnd.randrange(5 * MiB + 1, 11 * MiB)
            else:
                size = rnd.randrange(1 * KiB, 2 * MiB + 1)
            body = rnd.randbytes(size)
            md5 = hashlib.md5(body).hexdigest()
            with self.lock:
                st = self.state.setdefault(key, KeyState())
                st.attempts.append((md5, size, False))
                idx = len(st.attempts) - 1
            try:
                if multipart_thread:
                    self._multipart(s3, key, body)
                else:
                    r = s3.put_object(Bucket=self.bucket, Key=key, Body=body)
                    if r["ETag"] != f'"{md5}"':
                        self.errors.append(f"{key}: PUT ETag {r['ETag']} != md5 {md5}")
            except Exception as e:  # noqa: BLE001 - connection reset/refused after kill
                if not self.stop.is_set():
                    self.errors.append(f"{key}: error before the kill: {e!r}")
                return
            with self.lock:
                st.attempts[idx] = (md5, size, True)
                self.acked += 1

    def _multipart(self, s3, key, body):
        uid = s3.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]
        parts = []
        for n, off in enumerate(range(0, len(body), 5 * MiB), start=1):
            r = s3.upload_part(Bucket=self.bucket, Key=key, UploadId=uid, PartNumber=n,
                               Body=body[off:off + 5 * MiB])
            parts.append({"PartNumber": n, "ETag": r["ETag"]})
        s3.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=uid,
                                     MultipartUpload={"Parts": parts})

    def start(self):
        self.ts = [threading.Thread(target=self.run_thread, args=(t, self.rnd.randrange(1 << 30)), daemon=True)
                   for t in range(self.threads)]
        for th in self.ts:
            th.start()

    def join(self):
        for th in self.ts:
            th.join(60)
        assert not any(th.is_alive() for th in self.ts), "upload threads hung after kill -9"


def verify(s3, bucket, load: Load) -> dict:
    listed = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 100}):
        for o in page.get("Contents", []):
            listed[o["Key"]] = o
    problems = []
    unknown = set(listed) - set(load.state)
    if unknown:
        problems.append(f"listed keys that were never written: {sorted(unknown)[:10]}")
    stats = {"keys": len(load.state), "listed": len(listed), "acked_keys": 0, "inflight_committed": 0}
    for key, st in sorted(load.state.items()):
        allowed = st.allowed()
        try:
            got = s3.get_object(Bucket=bucket, Key=key)
            data = got["Body"].read()
            md5 = hashlib.md5(data).hexdigest()
            if got["ContentLength"] != len(data):
                problems.append(f"{key}: Content-Length {got['ContentLength']} but {len(data)} bytes read")
        except ClientError as e:
            if e.response["Error"]["Code"] != "NoSuchKey":
                problems.append(f"{key}: GET failed {e.response['Error']}")
                continue
            md5, data = None, None
        if any(a[2] for a in st.attempts):
            stats["acked_keys"] += 1
        if md5 not in allowed:
            sizes = {a[0]: (a[1], a[2]) for a in st.attempts}
            problems.append(
                f"{key}: state {'ABSENT' if md5 is None else md5 + f' ({len(data)} bytes)'} not allowed; "
                f"attempts (md5, size, acked)={st.attempts[-4:]} known={md5 in sizes}")
            continue
        if md5 is not None:
            if md5 != next((a[0] for a in reversed(st.attempts) if a[2]), None):
                stats["inflight_committed"] += 1
            if key not in listed:
                problems.append(f"{key}: GET works but the key is not listed")
            elif listed[key]["Size"] != len(data):
                problems.append(f"{key}: listed Size {listed[key]['Size']} != {len(data)}")
            head = s3.head_object(Bucket=bucket, Key=key)
            if head["ContentLength"] != len(data) or head["ETag"] != listed[key]["ETag"]:
                problems.append(f"{key}: HEAD {head['ContentLength']}/{head['ETag']} disagrees with "
                                f"GET {len(data)} / list {listed[key]['ETag']}")
        elif key in listed:
            problems.append(f"{key}: listed but GET says NoSuchKey")
    assert not problems, "crash consistency violations:\n" + "\n".join(problems[:40])
    return stats


def data_dir_report(data_dir: Path, live_bytes: int) -> dict:
    """Best-effort look for leftovers: temp-looking files, and blob bytes on disk that
    no live object accounts for (the data dir layout is the server's business, so
    this is reported, not asserted)."""
    words = ("tmp", "temp", "partial", "staging", "incoming", ".part", "upload")
    temp_like, total = [], 0
    for p in Path(data_dir).rglob("*"):
        if not p.is_file():
            continue
        rel = p.relative_to(data_dir).as_posix()
        if rel.startswith("blobs/"):
            total += p.stat().st_size
        if any(w in rel.lower() for w in words):
            temp_like.append(f"{rel} ({p.stat().st_size} B)")
    return {"temp_like_files": temp_like[:20], "blob_bytes": total, "live_object_bytes": live_bytes,
            "unaccounted_blob_bytes": total - live_bytes}


@pytest.mark.slow
@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "sse-s3"])
def test_kill9_during_concurrent_uploads(new_server, record_property, encrypted):
    srv = new_server().start()
    factory = lambda: make_s3(srv, read_timeout=30, connect_timeout=3)  # noqa: E731
    s3 = factory()
    bucket = "crash-test"
    s3.create_bucket(Bucket=bucket)
    if encrypted:
        # Every PUT and multipart upload is sealed (the server generated its master key on
        # first start): a kill mid-upload must leave no torn ciphertext behind either.
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})

    load = Load(factory, bucket, threads=8, seed=int.from_bytes(os.urandom(4), "big"))
    rng = random.Random()
    for round_ in range(3):
        load.stop.clear()
        start_acked = load.acked
        load.start()
        deadline = time.monotonic() + 60
        while load.acked - start_acked < 60 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert load.acked - start_acked >= 60, f"only {load.acked - start_acked} uploads acked in 60 s; errors={load.errors[:5]}"
        time.sleep(rng.uniform(0, 0.5))  # land the kill at a random point mid-flight
        load.stop.set()
        srv.kill9()
        load.join()
        assert not load.errors, load.errors[:10]
        t0 = time.monotonic()
        srv.start()
        record_property(f"timing:restart after kill -9 (round {round_})", time.monotonic() - t0)
        s3 = factory()
        stats = verify(s3, bucket, load)
        record_property(f"crash round {round_}", stats)
        print(f"round {round_}: acked={load.acked} {stats}")

    if encrypted:
        listed = s3.list_objects_v2(Bucket=bucket, MaxKeys=5).get("Contents", [])
        assert listed
        for o in listed:
            assert s3.head_object(Bucket=bucket, Key=o["Key"])["ServerSideEncryption"] == "AES256"
    live = sum(o["Size"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
               for o in p.get("Contents", []))
    report = data_dir_report(srv.data_dir, live)
    record_property("data dir after restart sweep", report)
    print(f"data dir after restart sweep: {report}")
    assert srv.stop() == 0, f"SIGTERM after crash rounds: {srv.log_tail(20)}"
