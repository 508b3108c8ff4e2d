"""Browser form uploads (POST Object): a policy made by boto3's generate_presigned_post (SigV4),
posted as multipart/form-data the way an HTML form sends it."""

import urllib3


def form_post(url, fields, filename, data):
    http = urllib3.PoolManager()
    return http.request("POST", url, fields=list(fields.items()) + [("file", (filename, data, "text/plain"))])


def test_presigned_post_uploads_within_its_policy(s3, bucket):
    post = s3.generate_presigned_post(
        Bucket=bucket,
        Key="forms/${filename}",
        Fields={"success_action_status": "201", "Content-Type": "text/plain"},
        Conditions=[
            {"success_action_status": "201"},
            {"Content-Type": "text/plain"},
            ["content-length-range", 1, 1024],
        ],
        ExpiresIn=600,
    )
    r = form_post(post["url"], post["fields"], "hello.txt", b"hello form")
    assert r.status == 201, r.data
    assert b"<Key>forms/hello.txt</Key>" in r.data
    got = s3.get_object(Bucket=bucket, Key="forms/hello.txt")
    assert got["Body"].read() == b"hello form"
    assert got["ContentType"] == "text/plain"
    assert r.headers["ETag"] == got["ETag"]

    # Over the policy's size range: refused, nothing written.
    r = form_post(post["url"], post["fields"], "big.txt", b"x" * 2000)
    assert r.status == 400 and b"EntityTooLarge" in r.data, r.data
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="forms/big")

    # A field the policy does not allow: refused.
    tampered = dict(post["fields"], key="elsewhere/${filename}")
    r = form_post(post["url"], tampered, "x.txt", b"x")
    assert r.status == 403 and b"AccessDenied" in r.data, r.data

    # A forged signature: refused.
    forged = dict(post["fields"], **{"x-amz-signature": "0" * 64})
    r = form_post(post["url"], forged, "x.txt", b"x")
    assert r.status == 403 and b"SignatureDoesNotMatch" in r.data, r.data

    # Not a form at all.
    r = urllib3.PoolManager().request("POST", post["url"], body=b"x", headers={"Content-Type": "text/plain"})
    assert r.status == 412, r.data


def test_presigned_urls_made_by_the_cli(server, bucket):
    """`lakegate presign put|get` sign URLs offline; any HTTP client can then use them."""
    from conftest import run
    from lgserver import lakegate_bin, scrubbed_env

    env = scrubbed_env({"LAKEGATE_ROOT_USER": server.user, "LAKEGATE_ROOT_PASSWORD": server.password})

    def presign(method, key, *extra):
        _, out, _ = run([str(lakegate_bin()), "presign", method, bucket, key,
                         "--endpoint", server.s3_url, *extra], env=env, timeout=60, server=server)
        return out.strip()

    http = urllib3.PoolManager()
    put_url = presign("put", "cli/a b+c.txt", "--expires", "5m")
    assert "X-Amz-Signature=" in put_url and "X-Amz-Expires=300" in put_url
    r = http.request("PUT", put_url, body=b"through a presigned url")
    assert r.status == 200, r.data
    r = http.request("GET", presign("get", "cli/a b+c.txt"))
    assert r.status == 200 and r.data == b"through a presigned url"
    # A URL signed for GET does not PUT, and a changed key breaks the signature.
    get_url = presign("get", "cli/a b+c.txt")
    r = http.request("PUT", get_url, body=b"x")
    assert r.status == 403 and b"SignatureDoesNotMatch" in r.data, r.data
    r = http.request("GET", get_url.replace("cli/", "cli2/"))
    assert r.status == 403 and b"SignatureDoesNotMatch" in r.data, r.data
