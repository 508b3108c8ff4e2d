"""Users, keys and permissions with real clients: the MinIO SDK's MinioAdmin manages identities
(MinIO's admin API, encrypted bodies); boto3, the AWS CLI and rclone use the keys it made;
anonymous HTTP reads what a bucket policy or an ACL makes public."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid

import boto3
import pytest
from minio import MinioAdmin
from minio.credentials import StaticProvider
from minio.error import MinioAdminException

from conftest import VENV_BIN, boto_config, make_s3, require_tool, run, unique_bucket
from lgserver import REGION, scrubbed_env
from util import Admin, expect_error


def _admin(server, access_key=None, secret_key=None) -> MinioAdmin:
    host = server.s3_url.split("://", 1)[1]
    return MinioAdmin(endpoint=host, secure=False, credentials=StaticProvider(
        access_key or server.user, secret_key or server.password))


def _s3_as(server, access_key, secret_key):
    return boto3.session.Session().client(
        "s3", endpoint_url=server.s3_url, aws_access_key_id=access_key,
        aws_secret_access_key=secret_key, region_name=REGION, config=boto_config())


def _s3_with_token(server, creds: dict):
    return boto3.session.Session().client(
        "s3", endpoint_url=server.s3_url, region_name=REGION, config=boto_config(),
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"])


def _read_policy(bucket: str) -> dict:
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
         "Resource": [f"arn:aws:s3:::{bucket}"]},
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [f"arn:aws:s3:::{bucket}/*"]}]}


def test_minio_admin_manages_identities_and_keys_are_enforced(server, s3, tmp_path, aws_env):
    root = _admin(server)
    b = unique_bucket("gold")
    s3.create_bucket(Bucket=b)
    s3.put_object(Bucket=b, Key="kpi/2026.csv", Body=b"day,revenue\n")
    suffix = uuid.uuid4().hex[:6]
    user, secret = f"analyst-{suffix}", "analyst-secret-1"
    policy, group = f"gold-read-{suffix}", f"analysts-{suffix}"

    root.user_add(user, secret)
    users = json.loads(root.user_list())  # an encrypted answer, decrypted by the SDK
    assert users[user]["status"] == "enabled"
    root.policy_add(policy, policy=_read_policy(b))
    assert json.loads(root.policy_info(policy))["Statement"][1]["Action"] == ["s3:GetObject"]
    assert policy in json.loads(root.policy_list())
    attached = json.loads(root.attach_policy([policy], user=user))
    assert attached["policiesAttached"] == [policy]
    # Attaching again changes nothing, and MinIO says so.
    with pytest.raises(MinioAdminException) as e:
        root.attach_policy([policy], user=user)
    assert "XMinioAdminPolicyChangeAlreadyApplied" in e.value._body
    root.group_add(group, [user])
    info = json.loads(root.group_info(group))
    assert info["members"] == [user]
    assert group in json.loads(root.group_list())
    assert json.loads(root.user_info(user))["memberOf"] == [group]

    # The user's own access key, made by the user (the SDK has no target user).
    as_user = _admin(server, user, secret)
    created = json.loads(as_user.add_service_account(name="ci", description="nightly job"))
    key, key_secret = created["credentials"]["accessKey"], created["credentials"]["secretKey"]
    listed = json.loads(root.list_service_account(user))["accounts"]
    assert [a["accessKey"] for a in listed] == [key]
    assert json.loads(root.get_service_account(key))["parentUser"] == user

    # boto3 with the read-only key: list and get, never put or delete.
    ro = _s3_as(server, key, key_secret)
    assert [o["Key"] for o in ro.list_objects_v2(Bucket=b)["Contents"]] == ["kpi/2026.csv"]
    assert ro.get_object(Bucket=b, Key="kpi/2026.csv")["Body"].read() == b"day,revenue\n"
    assert expect_error(lambda: ro.put_object(Bucket=b, Key="x", Body=b"x")) == (403, "AccessDenied")
    assert expect_error(lambda: ro.delete_object(Bucket=b, Key="kpi/2026.csv")) == (403, "AccessDenied")
    assert s3.get_object(Bucket=b, Key="kpi/2026.csv")["Body"].read() == b"day,revenue\n"

    # The AWS CLI with the user's keys: the same.
    env = dict(aws_env, AWS_ACCESS_KEY_ID=user, AWS_SECRET_ACCESS_KEY=secret)
    aws = [str(VENV_BIN / "aws"), "--endpoint-url", server.s3_url]
    _, out, _ = run([*aws, "s3", "ls", f"s3://{b}/kpi/"], env=env, server=server)
    assert "2026.csv" in out
    src = tmp_path / "up.txt"
    src.write_text("nope")
    rc, out, err = run([*aws, "s3", "cp", str(src), f"s3://{b}/up.txt"], env=env,
                       server=server, check=False)
    assert rc != 0 and "AccessDenied" in (out + err), out + err

    # Disabling the key takes effect on the next request.
    root.update_service_account(access_key=key, status="disabled")
    assert expect_error(lambda: ro.list_objects_v2(Bucket=b)) == (403, "InvalidAccessKeyId")
    root.delete_service_account(key)
    assert json.loads(root.list_service_account(user))["accounts"] == []

    # A key narrowed by its own policy cannot mint an unnarrowed key for its user.
    narrow = Admin(server).call("POST", "iam/access-keys", json.dumps({
        "parent": user, "policy": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}}).encode())
    as_narrow = _admin(server, narrow["access_key"], narrow["secret_key"])
    with pytest.raises(MinioAdminException) as e:
        as_narrow.add_service_account(name="escalate")
    assert e.value._code == "403"
    root.delete_service_account(narrow["access_key"])

    # A user may not administer.
    with pytest.raises(MinioAdminException) as e:
        as_user.user_add(f"other-{suffix}", "other-secret-12")
    assert e.value._code == "403"

    # Clean up through the same API.
    detached = json.loads(root.detach_policy([policy], user=user))
    assert detached["policiesDetached"] == [policy]
    root.group_remove(group, [user])
    root.group_remove(group)
    root.policy_remove(policy)
    root.user_remove(user)
    with pytest.raises(MinioAdminException) as e:
        root.user_info(user)
    assert e.value._code == "404" and "XMinioAdminNoSuchUser" in e.value._body
    gone = _s3_as(server, user, secret)
    assert expect_error(lambda: gone.list_objects_v2(Bucket=b)) == (403, "InvalidAccessKeyId")


def test_minio_admin_refuses_bad_input(server):
    root = _admin(server)
    suffix = uuid.uuid4().hex[:6]
    for bad in ({"Statement": [{"Effect": "Allow", "Action": "s3:NoSuchAction", "Resource": "*"}]},
                {"Statement": [{"Effect": "Maybe", "Action": "s3:GetObject", "Resource": "*"}]},
                {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "not-an-arn"}]}):
        with pytest.raises(MinioAdminException) as e:
            root.policy_add(f"bad-{suffix}", policy=bad)
        assert e.value._code == "400", e.value._body
        assert "XMinioMalformedIAMPolicy" in e.value._body
    assert f"bad-{suffix}" not in json.loads(root.policy_list())
    with pytest.raises(MinioAdminException) as e:
        root.user_add(f"weak-{suffix}", "short")
    assert e.value._code == "400"
    with pytest.raises(MinioAdminException) as e:
        root.user_add(server.user, "whatever-secret")
    assert e.value._code == "403"
    # A body encrypted with another secret does not open.
    wrong = _admin(server, server.user, "not-the-root-secret")
    with pytest.raises(MinioAdminException) as e:
        wrong.user_add(f"x-{suffix}", "x-secret-1234")
    assert e.value._code == "403"


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_anonymous_reads_only_what_a_bucket_policy_opens(server, s3):
    b = unique_bucket("reports")
    s3.create_bucket(Bucket=b)
    s3.put_object(Bucket=b, Key="public/summary.csv", Body=b"ok")
    s3.put_object(Bucket=b, Key="private/raw.csv", Body=b"secret")
    assert _get(f"{server.s3_url}/{b}/public/summary.csv")[0] == 403
    s3.put_bucket_policy(Bucket=b, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{b}/public/*"}]}))
    assert _get(f"{server.s3_url}/{b}/public/summary.csv") == (200, b"ok")
    status, body = _get(f"{server.s3_url}/{b}/private/raw.csv")
    assert status == 403 and b"AccessDenied" in body
    assert _get(f"{server.s3_url}/{b}")[0] == 403  # listing stays closed
    s3.delete_bucket_policy(Bucket=b)
    assert _get(f"{server.s3_url}/{b}/public/summary.csv")[0] == 403


@require_tool("curl")
def test_acls_set_with_the_aws_cli_open_objects_to_curl_and_to_a_user(server, s3, tmp_path,
                                                                      aws_env):
    """ACLs where no policy decides: the AWS CLI sets canned ACLs and grants, an anonymous curl
    and a user without policies get exactly what they grant."""
    b = unique_bucket("share")
    s3.create_bucket(Bucket=b)
    aws = [str(VENV_BIN / "aws"), "--endpoint-url", server.s3_url]
    report = tmp_path / "report.csv"
    report.write_bytes(b"quarter,revenue\n")
    run([*aws, "s3", "cp", str(report), f"s3://{b}/public/report.csv", "--acl", "public-read"],
        env=aws_env, server=server)
    s3.put_object(Bucket=b, Key="private/raw.csv", Body=b"secret")

    def curl(key: str) -> tuple[str, str]:
        _, out, _ = run(["curl", "-s", "-o", str(tmp_path / "body"), "-w", "%{http_code}",
                         f"{server.s3_url}/{b}/{key}"], env=aws_env)
        return out, (tmp_path / "body").read_text()

    assert curl("public/report.csv") == ("200", "quarter,revenue\n")
    status, body = curl("private/raw.csv")
    assert status == "403" and "AccessDenied" in body
    # The object's ACL as the CLI reads it: AllUsers READ, the owner FULL_CONTROL.
    _, out, _ = run([*aws, "s3api", "get-object-acl", "--bucket", b, "--key",
                     "public/report.csv"], env=aws_env, server=server)
    grants = json.loads(out)["Grants"]
    assert [(g["Grantee"].get("URI", g["Grantee"].get("ID")), g["Permission"]) for g in grants] \
        == [("http://acs.amazonaws.com/groups/global/AllUsers", "READ"),
            (server.user, "FULL_CONTROL")]

    # A user without policies reads the private object once a grant names it.
    suffix = uuid.uuid4().hex[:6]
    user, secret = f"reader-{suffix}", "reader-secret-1"
    _admin(server).user_add(user, secret)
    reader = _s3_as(server, user, secret)
    assert expect_error(reader.get_object, Bucket=b, Key="private/raw.csv") == (403, "AccessDenied")
    run([*aws, "s3api", "put-object-acl", "--bucket", b, "--key", "private/raw.csv",
         "--grant-read", f"id={user}"], env=aws_env, server=server)
    assert reader.get_object(Bucket=b, Key="private/raw.csv")["Body"].read() == b"secret"
    assert expect_error(reader.put_object, Bucket=b, Key="private/new.csv", Body=b"x") \
        == (403, "AccessDenied")
    # Unknown grantees and public ACLs in a bucket that blocks them are refused.
    rc, _, err = run([*aws, "s3api", "put-object-acl", "--bucket", b, "--key", "private/raw.csv",
                      "--grant-read", "id=nobody-here"], env=aws_env, check=False)
    assert rc != 0 and "InvalidArgument" in err, err
    s3.put_public_access_block(Bucket=b, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True})
    assert expect_error(s3.put_object_acl, Bucket=b, Key="private/raw.csv",
                        ACL="public-read") == (403, "AccessDenied")
    assert curl("public/report.csv")[0] == "403"  # public grants are ignored now
    s3.delete_public_access_block(Bucket=b)
    assert curl("public/report.csv")[0] == "200"


@require_tool("rclone")
def test_rclone_with_a_key_scoped_to_one_bucket(server, s3, tmp_path):
    root = _admin(server)
    suffix = uuid.uuid4().hex[:6]
    silver, gold = unique_bucket("silver"), unique_bucket("gold")
    for b in (silver, gold):
        s3.create_bucket(Bucket=b)
    user, secret = f"etl-{suffix}", "etl-secret-123"
    root.user_add(user, secret)
    root.policy_add(f"silver-rw-{suffix}", policy={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
         "Resource": [f"arn:aws:s3:::{silver}"]},
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
         "Resource": [f"arn:aws:s3:::{silver}/*"]}]})
    root.attach_policy([f"silver-rw-{suffix}"], user=user)
    src = tmp_path / "src"
    src.mkdir()
    for i in range(5):
        (src / f"part-{i}.parquet").write_bytes(bytes([i]) * 1000)
    conf = tmp_path / "rclone.conf"
    conf.write_text("")
    env = scrubbed_env({
        "RCLONE_CONFIG": str(conf), "RCLONE_CONFIG_LG_TYPE": "s3",
        "RCLONE_CONFIG_LG_PROVIDER": "Minio", "RCLONE_CONFIG_LG_ENV_AUTH": "false",
        "RCLONE_CONFIG_LG_ENDPOINT": server.s3_url, "RCLONE_CONFIG_LG_ACCESS_KEY_ID": user,
        "RCLONE_CONFIG_LG_SECRET_ACCESS_KEY": secret, "RCLONE_CONFIG_LG_REGION": "us-east-1",
    })
    for k in list(env):
        if k.startswith("AWS_"):
            env.pop(k)
    common = ["--retries", "1", "--low-level-retries", "1", "--s3-no-check-bucket"]
    run(["rclone", "sync", str(src), f"lg:{silver}/table", *common], env=env, server=server)
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=silver)["Contents"])
    assert keys == [f"table/part-{i}.parquet" for i in range(5)]
    rc, out, err = run(["rclone", "sync", str(src), f"lg:{gold}/table", *common], env=env,
                       server=server, check=False)
    assert rc != 0, out + err
    assert s3.list_objects_v2(Bucket=gold).get("KeyCount") == 0


def _forged(token: str) -> str:
    """`token` with one character in its middle changed (every bit there is significant)."""
    i = len(token) // 2
    return token[:i] + ("B" if token[i] == "A" else "A") + token[i + 1:]


def test_sts_assume_role_credentials_work_until_they_expire(new_server, tmp_path):
    srv = new_server(env={"LAKEGATE_UNSAFE_ADJUSTABLE_CLOCK": "true"})
    srv.start()
    s3 = make_s3(srv)
    b = unique_bucket("gold")
    s3.create_bucket(Bucket=b)
    s3.put_object(Bucket=b, Key="kpi.csv", Body=b"ok")
    root = _admin(srv)
    root.user_add("airflow", "airflow-secret-1")
    root.attach_policy(["readwrite"], user="airflow")

    # The AWS CLI asks, as the user, for one hour narrowed to reading.
    cfg = tmp_path / "aws-config"
    cfg.write_text("[default]\nregion = us-east-1\n")
    env = scrubbed_env({
        "AWS_ACCESS_KEY_ID": "airflow", "AWS_SECRET_ACCESS_KEY": "airflow-secret-1",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": str(cfg),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"), "AWS_PAGER": "",
        "AWS_MAX_ATTEMPTS": "1", "PATH": f"{VENV_BIN}:/usr/bin:/bin",
    })
    read_only = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{b}/*"}]})
    _, out, _ = run([str(VENV_BIN / "aws"), "--endpoint-url", srv.s3_url, "sts", "assume-role",
                     "--role-arn", "arn:aws:iam::lakegate:role/reader",
                     "--role-session-name", "nightly", "--duration-seconds", "3600",
                     "--policy", read_only], env=env, server=srv)
    creds = json.loads(out)["Credentials"]
    assert creds["SessionToken"] and creds["AccessKeyId"] != "airflow"
    session = _s3_with_token(srv, creds)
    assert session.get_object(Bucket=b, Key="kpi.csv")["Body"].read() == b"ok"
    # The session policy narrows the user's readwrite.
    assert expect_error(lambda: session.put_object(Bucket=b, Key="x", Body=b"x")) == (403, "AccessDenied")
    # The keys without their token, or with another token, are refused.
    tokenless = _s3_as(srv, creds["AccessKeyId"], creds["SecretAccessKey"])
    assert expect_error(lambda: tokenless.get_object(Bucket=b, Key="kpi.csv")) == (400, "InvalidToken")
    forged = boto3.session.Session().client(
        "s3", endpoint_url=srv.s3_url, region_name=REGION, config=boto_config(),
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=_forged(creds["SessionToken"]))
    assert expect_error(lambda: forged.get_object(Bucket=b, Key="kpi.csv")) == (400, "InvalidToken")
    # Out of range durations are refused by the server too (boto3 without its own checks).
    sts = boto3.session.Session().client(
        "sts", endpoint_url=srv.s3_url, region_name=REGION,
        aws_access_key_id="airflow", aws_secret_access_key="airflow-secret-1",
        config=boto_config(parameter_validation=False))
    assert expect_error(lambda: sts.assume_role(
        RoleArn="arn:aws:iam::lakegate:role/reader", RoleSessionName="short",
        DurationSeconds=60)) == (400, "ValidationError")
    # Root does not assume roles.
    as_root = boto3.session.Session().client(
        "sts", endpoint_url=srv.s3_url, region_name=REGION, aws_access_key_id=srv.user,
        aws_secret_access_key=srv.password, config=boto_config())
    assert expect_error(lambda: as_root.assume_role(
        RoleArn="arn:aws:iam::lakegate:role/reader", RoleSessionName="root")) == (403, "AccessDenied")
    # boto3's own STS client gets working credentials too.
    again = sts.assume_role(RoleArn="arn:aws:iam::lakegate:role/reader",
                            RoleSessionName="boto3", DurationSeconds=900)["Credentials"]
    assert _s3_with_token(srv, again).get_object(Bucket=b, Key="kpi.csv")["Body"].read() == b"ok"
    # An hour later (the data plane's clock moved), they no longer work.
    Admin(srv).call("PUT", "clock", json.dumps({"offset_ms": 3_601_000}).encode())
    assert expect_error(lambda: session.get_object(Bucket=b, Key="kpi.csv")) == (403, "InvalidAccessKeyId")
    # The user's own keys are unaffected.
    assert _s3_as(srv, "airflow", "airflow-secret-1").get_object(Bucket=b, Key="kpi.csv")["Body"].read() == b"ok"
