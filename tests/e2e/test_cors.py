"""CORS: a bucket's rules (boto3 Put/Get/DeleteBucketCors), a browser's unsigned preflight, and
the Access-Control-* headers on cross-origin answers."""

import urllib3

from util import expect_error


def test_cors_rules_preflight_and_response_headers(s3, bucket):
    assert expect_error(s3.get_bucket_cors, Bucket=bucket) == (404, "NoSuchCORSConfiguration")
    rules = [
        {
            "AllowedOrigins": ["https://*.lab.example"],
            "AllowedMethods": ["GET", "PUT"],
            "AllowedHeaders": ["x-amz-*", "content-type"],
            "ExposeHeaders": ["ETag"],
            "MaxAgeSeconds": 600,
        }
    ]
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
    got = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert got[0]["AllowedOrigins"] == ["https://*.lab.example"]
    assert got[0]["AllowedMethods"] == ["GET", "PUT"]
    assert got[0]["MaxAgeSeconds"] == 600
    assert expect_error(
        s3.put_bucket_cors,
        Bucket=bucket,
        CORSConfiguration={"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}]},
    ) == (400, "InvalidRequest")

    url = f"{s3.meta.endpoint_url}/{bucket}/some/key"
    http = urllib3.PoolManager()
    ok = http.request("OPTIONS", url, headers={
        "Origin": "https://console.lab.example",
        "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "content-type, x-amz-date",
    })
    assert ok.status == 200, ok.data
    assert ok.headers["Access-Control-Allow-Origin"] == "https://console.lab.example"
    assert ok.headers["Access-Control-Allow-Methods"] == "GET, PUT"
    assert ok.headers["Access-Control-Max-Age"] == "600"
    assert "Origin" in ok.headers["Vary"]
    for origin, method in [("https://evil.example", "PUT"), ("https://console.lab.example", "DELETE")]:
        r = http.request("OPTIONS", url, headers={"Origin": origin, "Access-Control-Request-Method": method})
        assert r.status == 403 and b"AccessForbidden" in r.data, r.data
    r = http.request("OPTIONS", url, headers={"Access-Control-Request-Method": "GET"})
    assert r.status == 400

    # A signed cross-origin GET gets the headers on its answer.
    s3.put_object(Bucket=bucket, Key="some/key", Body=b"x")

    def add_origin(request, **kwargs):
        request.headers["Origin"] = "https://console.lab.example"

    s3.meta.events.register("before-sign.s3.GetObject", add_origin)
    try:
        resp = s3.get_object(Bucket=bucket, Key="some/key")
    finally:
        s3.meta.events.unregister("before-sign.s3.GetObject", add_origin)
    h = resp["ResponseMetadata"]["HTTPHeaders"]
    assert h["access-control-allow-origin"] == "https://console.lab.example"
    assert h["access-control-expose-headers"] == "ETag"

    s3.delete_bucket_cors(Bucket=bucket)
    assert expect_error(s3.get_bucket_cors, Bucket=bucket) == (404, "NoSuchCORSConfiguration")
    r = http.request("OPTIONS", url, headers={"Origin": "https://console.lab.example", "Access-Control-Request-Method": "GET"})
    assert r.status == 403
