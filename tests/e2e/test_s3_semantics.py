"""Smaller S3 behaviours as AWS has them (each also checked by ceph/s3-tests in the conformance
step): object-lock configuration states, ListObjectsV2's empty token, tag order,
Content-Encoding as sent, GOVERNANCE to COMPLIANCE."""

import datetime

from util import expect_error


LOCK = {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}}


def test_object_lock_configuration_needs_versioning(s3, bucket):
    assert expect_error(s3.put_object_lock_configuration, Bucket=bucket,
                        ObjectLockConfiguration=LOCK) == (409, "InvalidBucketState")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration=LOCK)


def test_listing_tags_and_encoding(s3, bucket):
    s3.put_object(Bucket=bucket, Key="a", Body=b"x", Tagging="foo=bar&bar",
                  ContentEncoding="deflate, gzip")
    page = s3.list_objects_v2(Bucket=bucket, ContinuationToken="")
    assert [o["Key"] for o in page["Contents"]] == ["a"]
    tags = s3.get_object_tagging(Bucket=bucket, Key="a")["TagSet"]
    assert tags == [{"Key": "bar", "Value": ""}, {"Key": "foo", "Value": "bar"}]
    assert s3.head_object(Bucket=bucket, Key="a")["ContentEncoding"] == "deflate, gzip"


def test_governance_to_compliance_needs_the_bypass(s3):
    from conftest import unique_bucket
    b = unique_bucket("lockmode")
    s3.create_bucket(Bucket=b, ObjectLockEnabledForBucket=True)
    v = s3.put_object(Bucket=b, Key="k", Body=b"x")["VersionId"]
    until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
    s3.put_object_retention(Bucket=b, Key="k", VersionId=v,
                            Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until})
    later = until + datetime.timedelta(days=1)
    assert expect_error(s3.put_object_retention, Bucket=b, Key="k", VersionId=v,
                        Retention={"Mode": "COMPLIANCE", "RetainUntilDate": later})[0] == 403
    # Extending GOVERNANCE needs no bypass; switching with it is allowed.
    s3.put_object_retention(Bucket=b, Key="k", VersionId=v,
                            Retention={"Mode": "GOVERNANCE", "RetainUntilDate": later})
    s3.put_object_retention(Bucket=b, Key="k", VersionId=v, BypassGovernanceRetention=True,
                            Retention={"Mode": "COMPLIANCE", "RetainUntilDate": later})
