"""aws-chunked uploads on the wire (SigV4 streaming), as sent by the Java/Go/.NET
SDKs and minio-go/mc: STREAMING-AWS4-HMAC-SHA256-PAYLOAD (signed chunks), the
-TRAILER variant (signed chunks + signed trailing checksum) and
STREAMING-UNSIGNED-PAYLOAD-TRAILER over plain http. None of the Python clients
send the signed variants, so the requests are built here by hand (the signing
follows the AWS SigV4 streaming spec) and checked back with boto3."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import http.client
import os
import urllib.parse
import zlib

import pytest
from botocore.exceptions import ClientError

EMPTY_SHA = hashlib.sha256(b"").hexdigest()


def _h(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


class Signer:
    def __init__(self, access, secret, region="us-east-1"):
        self.access, self.secret, self.region = access, secret, region
        now = dt.datetime.now(dt.timezone.utc)
        self.amzdate = now.strftime("%Y%m%dT%H%M%SZ")
        self.date = now.strftime("%Y%m%d")
        self.scope = f"{self.date}/{region}/s3/aws4_request"
        k = _h(("AWS4" + secret).encode(), self.date)
        k = _h(k, region)
        k = _h(k, "s3")
        self.key = _h(k, "aws4_request")

    def sign(self, sts: str) -> str:
        return hmac.new(self.key, sts.encode(), hashlib.sha256).hexdigest()

    def seed(self, method, path, query: dict, headers: dict, payload_hash: str) -> str:
        canon_q = "&".join(f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(str(v), safe='-_.~')}"
                           for k, v in sorted(query.items()))
        hs = {k.lower(): " ".join(str(v).split()) for k, v in headers.items()}
        signed = ";".join(sorted(hs))
        canon_h = "".join(f"{k}:{hs[k]}\n" for k in sorted(hs))
        creq = "\n".join([method, path, canon_q, canon_h, signed, payload_hash])
        sts = "\n".join(["AWS4-HMAC-SHA256", self.amzdate, self.scope, hashlib.sha256(creq.encode()).hexdigest()])
        sig = self.sign(sts)
        return (f"AWS4-HMAC-SHA256 Credential={self.access}/{self.scope}, SignedHeaders={signed}, "
                f"Signature={sig}"), sig

    def chunk_sig(self, prev: str, data: bytes) -> str:
        return self.sign("\n".join(["AWS4-HMAC-SHA256-PAYLOAD", self.amzdate, self.scope, prev, EMPTY_SHA,
                                    hashlib.sha256(data).hexdigest()]))

    def trailer_sig(self, prev: str, trailer: str) -> str:
        return self.sign("\n".join(["AWS4-HMAC-SHA256-TRAILER", self.amzdate, self.scope, prev,
                                    hashlib.sha256(trailer.encode()).hexdigest()]))


def crc32_b64(d: bytes) -> str:
    return base64.b64encode(zlib.crc32(d).to_bytes(4, "big")).decode()


def streaming_put(server, bucket, key, data: bytes, *, mode="signed", chunk=64 * 1024,
                  trailer_value=None, tamper_chunk=None, query=None):
    """mode: signed | signed-trailer | unsigned-trailer. Returns (status, body, headers)."""
    s = Signer(server.user, server.password)
    host = server.s3_url.split("://", 1)[1]
    path = "/" + urllib.parse.quote(f"{bucket}/{key}", safe="/-_.~")
    query = query or {}
    chunks = [data[i:i + chunk] for i in range(0, len(data), chunk)] + [b""]
    content_sha = {"signed": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                   "signed-trailer": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
                   "unsigned-trailer": "STREAMING-UNSIGNED-PAYLOAD-TRAILER"}[mode]
    trailer_name = "x-amz-checksum-crc32"
    trailer_line = f"{trailer_name}:{trailer_value or crc32_b64(data)}"

    def encode(sig_seed: str | None) -> bytes:
        out, prev = [], sig_seed
        for c in chunks:
            if mode == "unsigned-trailer":
                out.append(f"{len(c):x}\r\n".encode())
            else:
                prev = s.chunk_sig(prev, c)
                out.append(f"{len(c):x};chunk-signature={prev}\r\n".encode())
            if c:
                if tamper_chunk is not None and len(out) == 2 * tamper_chunk + 1:
                    c = bytes([c[0] ^ 1]) + c[1:]
                out.append(c + b"\r\n")
        if mode == "signed":
            out.append(b"\r\n")
        else:
            out.append((trailer_line + "\r\n").encode())
            if mode == "signed-trailer":
                out.append(f"x-amz-trailer-signature:{s.trailer_sig(prev, trailer_line + chr(10))}\r\n".encode())
            out.append(b"\r\n")
        return b"".join(out)

    # The encoded length does not depend on signature values (fixed 64 hex chars).
    length = len(encode("0" * 64))
    headers = {
        "host": host,
        "x-amz-date": s.amzdate,
        "x-amz-content-sha256": content_sha,
        "content-encoding": "aws-chunked",
        "x-amz-decoded-content-length": str(len(data)),
        "content-length": str(length),
    }
    if mode != "signed":
        headers["x-amz-trailer"] = trailer_name
    auth, seed = s.seed("PUT", path, query, headers, content_sha)
    body = encode(seed)
    assert len(body) == length
    headers["authorization"] = auth
    url = path + ("?" + urllib.parse.urlencode(query) if query else "")
    conn = http.client.HTTPConnection(host, timeout=60)
    try:
        conn.request("PUT", url, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, r.read(), dict(r.getheaders())
    finally:
        conn.close()


DATA = os.urandom(200_000)  # 3 full 64 KiB chunks + a short one


@pytest.mark.parametrize("mode", ["signed", "signed-trailer", "unsigned-trailer"])
def test_streaming_put(mode, server, s3, bucket):
    key = f"chunked/{mode} obj.bin"
    status, body, headers = streaming_put(server, bucket, key, DATA, mode=mode)
    assert status == 200, body[:500]
    hdrs = {k.lower(): v for k, v in headers.items()}
    assert hdrs.get("etag") == f'"{hashlib.md5(DATA).hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key=key)
    assert got["ContentLength"] == len(DATA)
    assert got["Body"].read() == DATA, "stored bytes differ: chunk framing leaked into the object?"
    assert got.get("ContentEncoding") in (None, ""), "aws-chunked must not be stored as Content-Encoding"
    if mode != "signed":
        head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        assert head.get("ChecksumCRC32") == crc32_b64(DATA)


def test_streaming_put_tampered_chunk_rejected(server, s3, bucket):
    status, body, _ = streaming_put(server, bucket, "chunked/tampered", DATA, mode="signed", tamper_chunk=1)
    assert status == 403 and b"SignatureDoesNotMatch" in body, (status, body[:300])
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="chunked/tampered")


@pytest.mark.parametrize("mode", ["signed-trailer", "unsigned-trailer"])
def test_streaming_put_bad_trailer_checksum_rejected(mode, server, s3, bucket):
    bad = crc32_b64(DATA + b"x")
    status, body, _ = streaming_put(server, bucket, "chunked/badsum", DATA, mode=mode, trailer_value=bad)
    assert status == 400, (status, body[:300])
    assert b"BadDigest" in body or b"InvalidRequest" in body or b"Mismatch" in body, body[:300]
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="chunked/badsum")


def test_streaming_upload_part(server, s3, bucket):
    key = "chunked/mp"
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    p1 = os.urandom(5 * 1024 * 1024)
    p2 = os.urandom(1000)
    etags = []
    for n, (p, mode) in enumerate(((p1, "signed"), (p2, "signed-trailer")), start=1):
        status, body, headers = streaming_put(server, bucket, key, p, mode=mode, chunk=1024 * 1024,
                                              query={"partNumber": str(n), "uploadId": uid})
        assert status == 200, body[:300]
        etags.append({k.lower(): v for k, v in headers.items()}["etag"])
    assert etags[0] == f'"{hashlib.md5(p1).hexdigest()}"'
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid, MultipartUpload={
        "Parts": [{"PartNumber": i + 1, "ETag": e} for i, e in enumerate(etags)]})
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == p1 + p2
