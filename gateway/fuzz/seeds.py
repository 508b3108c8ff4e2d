#!/usr/bin/env python3
"""Writes the hand-made seed inputs of the fuzz targets into corpus/<target>/seed-*.

    python3 gateway/fuzz/seeds.py

Each seed is a valid input of its target's format (see the `//!` docs of each target): real
SigV4/SigV2 requests signed by AWS SDKs, aws-chunked bodies signed with the key of the AWS
documentation's streaming example, one document per S3 XML request type, encoded records.
"""

import hashlib
import hmac
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# --- aws_chunked -----------------------------------------------------------------------------
SK = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
AMZ_DATE = "20130524T000000Z"
SCOPE = "20130524/us-east-1/s3/aws4_request"
SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
EMPTY = hashlib.sha256(b"").hexdigest()


def signing_key():
    k = ("AWS4" + SK).encode()
    for part in ["20130524", "us-east-1", "s3", "aws4_request"]:
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return k


def sign(sts):
    return hmac.new(signing_key(), sts.encode(), hashlib.sha256).hexdigest()


def signed_body(chunks, trailers=None):
    prev = SEED
    out = b""
    for data in chunks + [b""]:
        sig = sign(
            f"AWS4-HMAC-SHA256-PAYLOAD\n{AMZ_DATE}\n{SCOPE}\n{prev}\n{EMPTY}\n"
            + hashlib.sha256(data).hexdigest()
        )
        prev = sig
        out += f"{len(data):x};chunk-signature={sig}\r\n".encode() + data
        if data:
            out += b"\r\n"
    if trailers is not None:
        canonical = "".join(f"{n}:{v}\n" for n, v in sorted(trailers))
        for n, v in trailers:
            out += f"{n}:{v}\r\n".encode()
        sig = sign(
            f"AWS4-HMAC-SHA256-TRAILER\n{AMZ_DATE}\n{SCOPE}\n{prev}\n"
            + hashlib.sha256(canonical.encode()).hexdigest()
        )
        out += f"x-amz-trailer-signature:{sig}\r\n".encode()
    return out + b"\r\n"


def chunked_input(mode, flags, body, cuts=()):
    head = bytes([mode, flags, len(cuts)]) + b"".join(struct.pack("<H", c) for c in cuts)
    return head + body


CL_EXACT = 1 << 1
DL_EXACT = 1 << 3
ANNOUNCE_CRC32C = 1 << 5
UNSIGNED, UNSIGNED_CHUNKED, SHA256, SHA256_CHUNKED, SIGNED, SIGNED_TRAILER, UNSIGNED_TRAILER = range(7)

write("aws_chunked", "plain", chunked_input(UNSIGNED, CL_EXACT, b"hello world", (3,)))
write("aws_chunked", "sha256", chunked_input(SHA256, CL_EXACT, b"hello world"))
write(
    "aws_chunked",
    "unsigned-chunked",
    chunked_input(UNSIGNED_CHUNKED, CL_EXACT, b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", (2, 9)),
)
write(
    "aws_chunked",
    "unsigned-trailer",
    chunked_input(
        UNSIGNED_TRAILER,
        CL_EXACT | ANNOUNCE_CRC32C,
        b"b\r\nhello world\r\n0\r\nx-amz-checksum-crc32c:yZRlqg==\r\n\r\n",
    ),
)
write(
    "aws_chunked",
    "signed",
    chunked_input(SIGNED, CL_EXACT, signed_body([b"hello ", b"world"]), (5, 90, 200)),
)
write(
    "aws_chunked",
    "signed-trailer",
    chunked_input(
        SIGNED_TRAILER,
        CL_EXACT | ANNOUNCE_CRC32C,
        signed_body([b"hello world"], [("x-amz-checksum-crc32c", "yZRlqg==")]),
    ),
)
write("aws_chunked", "built", bytes([SIGNED_TRAILER, 1 | CL_EXACT | DL_EXACT, 0]) + b"\x05hello\x01\x00\x02crc\x00" * 4)

# --- auth_request ----------------------------------------------------------------------------
# Flag byte: bit 0 = virtual host; (flags >> 1) * 16 s - 960 s = server clock offset.
AT_T0 = 60 << 1
write(
    "auth_request",
    "sigv4-header",
    bytes([AT_T0])
    + b"PUT /bucket/dir/a%20b%2Bc%3Dd%26e/%C3%A9~%21%27%28%29%2A.txt?prefix=a%20b%2Bc&list-type=2&tagging\n"
    b"host: localhost:9000\ncontent-type: text/plain\nx-amz-meta-foo:   bar   baz \n"
    b"x-amz-date: 20130524T000000Z\n"
    b"x-amz-content-sha256: 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\n"
    b"authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-west-2/s3/aws4_request, "
    b"SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-meta-foo, "
    b"Signature=7e48be95e12ebbacf3022879ecb2655fb8e42f0d0c1f33a4e33f5cc0fdc017b5\ncontent-length: 5\n",
)
write(
    "auth_request",
    "sigv4-streaming",
    bytes([AT_T0])
    + b"PUT /examplebucket/chunkObject.txt\nhost: s3.amazonaws.com\nx-amz-date: 20130524T000000Z\n"
    b"x-amz-storage-class: REDUCED_REDUNDANCY\n"
    b"authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
    b"SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,"
    b"Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9\n"
    b"x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD\ncontent-encoding: aws-chunked\n"
    b"x-amz-decoded-content-length: 66560\ncontent-length: 66824\n",
)
write(
    "auth_request",
    "sigv4-presigned",
    bytes([AT_T0])
    + b"GET /bucket/dir/a%20b%2Bc.txt?versionId=x%2By&X-Amz-Algorithm=AWS4-HMAC-SHA256"
    b"&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
    b"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host"
    b"&X-Amz-Signature=5d68b05d0eb12a3f6e8bc5ce6c0565c89bde493c227f8f0ac620dedb42aa818a\n"
    b"host: localhost:9000\n",
)
write(
    "auth_request",
    "sigv2-presigned-vhost",
    bytes([AT_T0 | 1])
    + b"GET /dir/a%20b%2Bc.txt?versionId=x%2By&response-content-type=text%2Fplain"
    b"&AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=QA6C78rwT7ytkB%2FLikfBYQk4iak%3D&Expires=1369357200\n"
    b"host: bucket.localhost:9000\n",
)
write(
    "auth_request",
    "sigv2-header",
    bytes([AT_T0])
    + b"PUT /bucket/dir/a%20b%2Bc.txt?uploadId=abc&partNumber=2\nhost: localhost:9000\n"
    b"content-type: text/plain\nx-amz-meta-z: 1\nX-Amz-Meta-A: 2\ndate: Fri, 24 May 2013 00:00:00 GMT\n"
    b"authorization: AWS AKIAIOSFODNN7EXAMPLE:cZF4581ISuc5N2g5N2OBG5A8ACE=\n",
)

# --- router ----------------------------------------------------------------------------------
write("router", "list-v2", "GET\n/bucket?list-type=2&prefix=a%2Fb&continuation-token=AWE%3D&max-keys=10\nlocalhost:9000\ns3.local")
write("router", "vhost-put", "PUT\n/dir/key.txt?partNumber=2&uploadId=abc\nbucket.s3.local:9000\ns3.local,localhost\ncopy")
write("router", "delete-objects", "POST\n/bucket?delete\nlocalhost")
write("router", "versions", "GET\n/bucket/?versions&key-marker=AWE%3D&encoding-type=url&max-keys=1000\n")

# --- headers ---------------------------------------------------------------------------------
write(
    "headers",
    "get-range",
    "1000 2 1369353600000 1369353600000 d41d8cd98f00b204e9800998ecf8427e 400 600\n"
    "range: bytes=100-199\nif-match: \"d41d8cd98f00b204e9800998ecf8427e\"\n"
    "if-modified-since: Fri, 24 May 2013 00:00:00 GMT\n",
)
write(
    "headers",
    "put",
    "0 0 0 1369353600000 x\ncontent-type: text/plain\ncontent-encoding: gzip, aws-chunked\n"
    "x-amz-meta-foo: bar\nx-amz-meta-foo: baz\nx-amz-storage-class: STANDARD_IA\n"
    "x-amz-tagging: a=b&c%20d=e+f\nx-amz-object-lock-mode: GOVERNANCE\n"
    "x-amz-object-lock-retain-until-date: 2030-01-01T00:00:00Z\nx-amz-object-lock-legal-hold: ON\n"
    "x-amz-checksum-crc32c: yZRlqg==\ncontent-md5: XrY7u+Ae7tCTyyK7j1rNww==\nx-amz-checksum-type: COMPOSITE\n",
)
write(
    "headers",
    "copy",
    "5000 0 1369353600000 1369353600000 etag\nx-amz-copy-source: /bucket/a%20b.txt?versionId=v1\n"
    "x-amz-copy-source-range: bytes=0-4999\nx-amz-copy-source-if-none-match: \"other\"\n"
    "x-amz-copy-source-if-unmodified-since: Fri, 24 May 2013 00:00:00 GMT\nif-none-match: *\n",
)

# --- xml_documents ---------------------------------------------------------------------------
NS = ' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
docs = [
    ("create-bucket", f"<CreateBucketConfiguration{NS}><LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>"),
    ("versioning", f"<VersioningConfiguration{NS}><Status>Enabled</Status><MfaDelete>Disabled</MfaDelete></VersioningConfiguration>"),
    ("object-lock", f"<ObjectLockConfiguration{NS}><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>30</Days></DefaultRetention></Rule></ObjectLockConfiguration>"),
    ("retention", f"<Retention{NS}><Mode>COMPLIANCE</Mode><RetainUntilDate>2030-01-01T00:00:00.000Z</RetainUntilDate></Retention>"),
    ("legal-hold", f"<LegalHold{NS}><Status>ON</Status></LegalHold>"),
    ("tagging", f'<?xml version="1.0" encoding="UTF-8"?>\n<Tagging{NS}><TagSet><Tag><Key>a &amp; b</Key><Value>&lt;c&gt;</Value></Tag><Tag><Key>k</Key><Value></Value></Tag></TagSet></Tagging>'),
    ("delete", f"<Delete{NS}><Quiet>true</Quiet><Object><Key>a/b.txt</Key></Object><Object><Key>c</Key><VersionId>v1</VersionId></Object></Delete>"),
    ("complete-multipart", f'<CompleteMultipartUpload{NS}><Part><PartNumber>1</PartNumber><ETag>"a"</ETag></Part><Part><ETag>"b"</ETag><PartNumber>2</PartNumber><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part></CompleteMultipartUpload>'),
    ("lifecycle", f"<LifecycleConfiguration{NS}><Rule><ID>logs</ID><Filter><And><Prefix>logs/</Prefix><Tag><Key>t</Key><Value>v</Value></Tag><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan></And></Filter><Status>Enabled</Status><Expiration><Days>30</Days></Expiration><NoncurrentVersionExpiration><NoncurrentDays>7</NoncurrentDays><NewerNoncurrentVersions>2</NewerNoncurrentVersions></NoncurrentVersionExpiration><AbortIncompleteMultipartUpload><DaysAfterInitiation>3</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule><Rule><Prefix>tmp/</Prefix><Status>Disabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule></LifecycleConfiguration>"),
    ("access-control-policy", f'<AccessControlPolicy{NS}><Owner><ID>root</ID><DisplayName>M. Tester</DisplayName></Owner><AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>john.doe</ID></Grantee><Permission>READ</Permission></Grant><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>FULL_CONTROL</Permission></Grant></AccessControlList></AccessControlPolicy>'),
]
for i, (name, doc) in enumerate(docs):
    write("xml_documents", name, bytes([i]) + doc.encode())


# --- records (postcard, after the format byte 1) ---------------------------------------------
def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def zigzag(n):
    return varint((n << 1) ^ (n >> 63))


def string(s):
    return varint(len(s)) + s.encode()


bucket = (
    string("bucket") + zigzag(1369353600000) + string("us-east-1") + varint(1) + b"\x01"
    + b"\x01" + varint(0) + b"\x01" + varint(30) + b"\x00"
    + varint(1) + string("k") + string("v")
)
write("records", "bucket", bytes([0, 1]) + bucket)
current = (
    varint(7) + string("null") + b"\x00" + zigzag(1369353600000) + varint(11)
    + string("5eb63bbbe01eeed093cb22bb8f5acdc3") + b"\x01" + string("STANDARD_IA")
)
write("records", "current", bytes([2, 1]) + current)
write("records", "default-retention", bytes([7, 1]) + varint(1) + b"\x00" + b"\x01" + varint(5))
