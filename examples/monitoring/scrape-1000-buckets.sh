#!/usr/bin/env bash
# Creates 1000 buckets (one object each, and one GET each so every bucket has request series),
# then times scrapes of the bucket and cluster endpoints.
set -euo pipefail
BIN=${1:-target/release/lakegate}
D=$(mktemp -d /dev/shm/lg1000.XXXX)
LAKEGATE_PROMETHEUS_AUTH_TYPE=public LAKEGATE_ROOT_USER=benchroot LAKEGATE_ROOT_PASSWORD=benchroot-secret \
  $BIN server $D/data --address 127.0.0.1:0 --console-address 127.0.0.1:0 --usage-interval 5s --no-default-buckets >$D/out 2>$D/log &
PID=$!
for i in $(seq 50); do grep -q ready $D/out 2>/dev/null && break; sleep 0.2; done
EP=$(sed -n 's/.*s3=\(http[^ ]*\).*/\1/p' $D/out)
echo "endpoint $EP"
python3 - "$EP" <<'PY'
import sys, concurrent.futures, urllib.request
ep = sys.argv[1]
import hashlib, hmac, datetime
def sign(method, path, body=b""):
    ak, sk, region = "benchroot", "benchroot-secret", "us-east-1"
    t = datetime.datetime.utcnow(); amz = t.strftime("%Y%m%dT%H%M%SZ"); day = t.strftime("%Y%m%d")
    host = ep.split("//")[1]; ph = hashlib.sha256(body).hexdigest()
    ch = f"host:{host}\nx-amz-content-sha256:{ph}\nx-amz-date:{amz}\n"; sh = "host;x-amz-content-sha256;x-amz-date"
    creq = "\n".join([method, path, "", ch, sh, ph])
    scope = f"{day}/{region}/s3/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(creq.encode()).hexdigest()])
    k = ("AWS4" + sk).encode()
    for m in (day, region, "s3", "aws4_request"): k = hmac.new(k, m.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    req = urllib.request.Request(ep + path, data=body if method == "PUT" else None, method=method)
    req.add_header("x-amz-date", amz); req.add_header("x-amz-content-sha256", ph)
    req.add_header("Authorization", f"AWS4-HMAC-SHA256 Credential={ak}/{scope}, SignedHeaders={sh}, Signature={sig}")
    return urllib.request.urlopen(req).read()
def one(i):
    b = f"b{i:04d}"
    sign("PUT", f"/{b}"); sign("PUT", f"/{b}/k", b"x" * 100); sign("GET", f"/{b}/k")
with concurrent.futures.ThreadPoolExecutor(8) as ex: list(ex.map(one, range(1000)))
print("1000 buckets ready")
PY
sleep 7
for ep in bucket cluster node; do
  for i in 1 2 3; do
    curl -s -o $D/m.txt -w "$ep %{time_total}s %{size_download}B\n" $EP/minio/v2/metrics/$ep
  done
done
grep -c "^minio_bucket_usage_object_total" $D/m.txt || true
curl -s $EP/minio/v2/metrics/bucket | grep -c '^minio_bucket_usage_object_total'
kill $PID; wait $PID 2>/dev/null || true
rm -rf $D
