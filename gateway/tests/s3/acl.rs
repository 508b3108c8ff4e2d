//! Access control lists, object ownership and Block Public Access, end to end: ACLs set with
//! aws-sdk-s3 (canned, grant headers, documents) let a second user and anonymous callers in,
//! and the bucket's ownership controls and public access block switch them off.

use aws_sdk_s3::types::{
    BucketCannedAcl, ObjectCannedAcl, ObjectOwnership, OwnershipControls, OwnershipControlsRule,
    PublicAccessBlockConfiguration,
};

use crate::common::*;

const JOHN: (&str, &str) = ("john.doe", "john-doe-secret-1");

/// Creates the user `john.doe`, with no policies of its own.
async fn add_john(s: &TestServer) -> aws_sdk_s3::Client {
    let r = s
        .raw("PUT", &format!("/lakegate/admin/v1/iam/users/{}", JOHN.0))
        .body(format!(r#"{{"secret_key":"{}"}}"#, JOHN.1))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    s.client_with(JOHN.0, JOHN.1)
}

async fn anonymous_get(s: &TestServer, bucket: &str, key: &str) -> RawResponse {
    s.raw_object("GET", bucket, key).anonymous().send().await
}

/// `(grantee id or URI, permission)` of each grant, in order.
fn grants_of(g: &[aws_sdk_s3::types::Grant]) -> Vec<(String, String)> {
    g.iter()
        .map(|g| {
            let who = g.grantee().unwrap();
            (
                who.id().or(who.uri()).unwrap_or_default().to_string(),
                g.permission().unwrap().as_str().to_string(),
            )
        })
        .collect()
}

const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acls_let_other_users_and_anonymous_callers_in() {
    let s = TestServer::start().await;
    let john = add_john(&s).await;
    let c = s.client();
    let b = format!("acl-{}", std::process::id());
    c.create_bucket()
        .bucket(&b)
        .acl(BucketCannedAcl::PublicRead)
        .send()
        .await
        .unwrap();
    let acl = c.get_bucket_acl().bucket(&b).send().await.unwrap();
    assert_eq!(acl.owner().unwrap().id(), Some(ROOT_USER));
    assert_eq!(
        grants_of(acl.grants()),
        vec![
            (ALL_USERS.to_string(), "READ".to_string()),
            (ROOT_USER.to_string(), "FULL_CONTROL".to_string())
        ]
    );
    c.put_object()
        .bucket(&b)
        .key("public")
        .acl(ObjectCannedAcl::PublicRead)
        .body(b"for everyone".to_vec().into())
        .send()
        .await
        .unwrap();
    s.put(&b, "private", "for the owner").await;

    // Anonymous callers read what is public, list the public-read bucket, and nothing more.
    let r = anonymous_get(&s, &b, "public").await;
    assert_eq!((r.status, r.text().as_str()), (200, "for everyone"));
    anonymous_get(&s, &b, "private")
        .await
        .assert_error(403, "AccessDenied");
    // Who may list the bucket learns that a key does not exist.
    anonymous_get(&s, &b, "missing")
        .await
        .assert_error(404, "NoSuchKey");
    let r = s.raw("GET", &format!("/{b}")).anonymous().send().await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = s
        .raw_object("PUT", &b, "intruder")
        .anonymous()
        .body("x")
        .send()
        .await;
    r.assert_error(403, "AccessDenied");
    s.raw("GET", "/no-such-bucket-here/x")
        .anonymous()
        .send()
        .await
        .assert_error(404, "NoSuchBucket");

    // Another user, without policies, gets the same from the ACLs.
    john.get_object()
        .bucket(&b)
        .key("public")
        .send()
        .await
        .unwrap();
    assert_err(
        john.get_object().bucket(&b).key("private").send().await,
        403,
        "AccessDenied",
    );
    // A grant by canonical id lets it read the private object, and read its ACL too.
    c.put_object_acl()
        .bucket(&b)
        .key("private")
        .grant_read(format!("id={}", JOHN.0))
        .grant_read_acp(format!("id=\"{}\"", JOHN.0))
        .send()
        .await
        .unwrap();
    john.get_object()
        .bucket(&b)
        .key("private")
        .send()
        .await
        .unwrap();
    let acl = john
        .get_object_acl()
        .bucket(&b)
        .key("private")
        .send()
        .await
        .unwrap();
    assert_eq!(
        grants_of(acl.grants()),
        vec![
            (JOHN.0.to_string(), "READ".to_string()),
            (JOHN.0.to_string(), "READ_ACP".to_string())
        ]
    );
    assert_eq!(
        acl.grants()[0].grantee().unwrap().display_name(),
        Some(JOHN.0)
    );
    // READ_ACP is not WRITE_ACP.
    assert_err(
        john.put_object_acl()
            .bucket(&b)
            .key("private")
            .acl(ObjectCannedAcl::PublicRead)
            .send()
            .await,
        403,
        "AccessDenied",
    );
    assert_err(
        john.put_object()
            .bucket(&b)
            .key("johns")
            .body(b"x".to_vec().into())
            .send()
            .await,
        403,
        "AccessDenied",
    );

    // Bad ACLs are refused and change nothing.
    assert_err(
        c.put_object_acl()
            .bucket(&b)
            .key("private")
            .grant_read("id=nobody-by-that-name")
            .send()
            .await,
        400,
        "InvalidArgument",
    );
    assert_err(
        c.put_object_acl()
            .bucket(&b)
            .key("private")
            .grant_read("emailAddress=a@example.com")
            .send()
            .await,
        400,
        "UnresolvableGrantByEmailAddress",
    );
    let r = s
        .raw_object("PUT", &b, "private")
        .query("acl", "")
        .header("x-amz-acl", "public-read")
        .header("x-amz-grant-read", "id=john.doe")
        .send()
        .await;
    r.assert_error(400, "InvalidRequest");
    let r = s
        .raw_object("PUT", &b, "private")
        .query("acl", "")
        .body("<AccessControlPolicy><AccessControlList><Grant><Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>")
        .send()
        .await;
    r.assert_error(400, "MalformedACLError");
    let r = s
        .raw_object("PUT", &b, "private")
        .query("acl", "")
        .body("<AccessControlPolicy><Owner><ID>john.doe</ID></Owner><AccessControlList/></AccessControlPolicy>")
        .send()
        .await;
    r.assert_error(403, "AccessDenied");
    anonymous_get(&s, &b, "private")
        .await
        .assert_error(403, "AccessDenied");
    john.get_object()
        .bucket(&b)
        .key("private")
        .send()
        .await
        .unwrap();

    // With WRITE on the bucket, the user writes objects it then owns.
    c.put_bucket_acl()
        .bucket(&b)
        .acl(BucketCannedAcl::PublicReadWrite)
        .send()
        .await
        .unwrap();
    john.put_object()
        .bucket(&b)
        .key("johns")
        .body(b"by john".to_vec().into())
        .send()
        .await
        .unwrap();
    let acl = john
        .get_object_acl()
        .bucket(&b)
        .key("johns")
        .send()
        .await
        .unwrap();
    assert_eq!(acl.owner().unwrap().id(), Some(JOHN.0));
    assert_eq!(
        grants_of(acl.grants()),
        vec![(JOHN.0.to_string(), "FULL_CONTROL".to_string())]
    );
    assert_eq!(s.get(&b, "johns").await, b"by john");

    // Ownership controls: none yet; BucketOwnerEnforced needs a private bucket ACL, then turns
    // ACLs off.
    assert_err(
        c.get_bucket_ownership_controls().bucket(&b).send().await,
        404,
        "OwnershipControlsNotFoundError",
    );
    let enforced = OwnershipControls::builder()
        .rules(
            OwnershipControlsRule::builder()
                .object_ownership(ObjectOwnership::BucketOwnerEnforced)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    assert_err(
        c.put_bucket_ownership_controls()
            .bucket(&b)
            .ownership_controls(enforced.clone())
            .send()
            .await,
        400,
        "InvalidBucketAclWithObjectOwnership",
    );
    c.put_bucket_acl()
        .bucket(&b)
        .acl(BucketCannedAcl::Private)
        .send()
        .await
        .unwrap();
    c.put_bucket_ownership_controls()
        .bucket(&b)
        .ownership_controls(enforced)
        .send()
        .await
        .unwrap();
    let got = c
        .get_bucket_ownership_controls()
        .bucket(&b)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.ownership_controls().unwrap().rules()[0].object_ownership(),
        &ObjectOwnership::BucketOwnerEnforced
    );
    assert_err(
        c.put_object()
            .bucket(&b)
            .key("another")
            .acl(ObjectCannedAcl::PublicRead)
            .body(b"x".to_vec().into())
            .send()
            .await,
        400,
        "AccessControlListNotSupported",
    );
    anonymous_get(&s, &b, "public")
        .await
        .assert_error(403, "AccessDenied");
    c.delete_bucket_ownership_controls()
        .bucket(&b)
        .send()
        .await
        .unwrap();
    let r = anonymous_get(&s, &b, "public").await;
    assert_eq!(r.status, 200);

    // Block Public Access: public ACLs refused, then ignored; public policies refused.
    assert_err(
        c.get_public_access_block().bucket(&b).send().await,
        404,
        "NoSuchPublicAccessBlockConfiguration",
    );
    let block = |acls: bool, ignore: bool, policy: bool| {
        PublicAccessBlockConfiguration::builder()
            .block_public_acls(acls)
            .ignore_public_acls(ignore)
            .block_public_policy(policy)
            .restrict_public_buckets(false)
            .build()
    };
    c.put_public_access_block()
        .bucket(&b)
        .public_access_block_configuration(block(true, false, true))
        .send()
        .await
        .unwrap();
    assert_err(
        c.put_object_acl()
            .bucket(&b)
            .key("private")
            .acl(ObjectCannedAcl::PublicRead)
            .send()
            .await,
        403,
        "AccessDenied",
    );
    let public_policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{b}/*"}}]}}"#
    );
    assert_err(
        c.put_bucket_policy()
            .bucket(&b)
            .policy(&public_policy)
            .send()
            .await,
        403,
        "AccessDenied",
    );
    // Existing public ACLs still work until IgnorePublicAcls.
    assert_eq!(anonymous_get(&s, &b, "public").await.status, 200);
    c.put_public_access_block()
        .bucket(&b)
        .public_access_block_configuration(block(false, true, false))
        .send()
        .await
        .unwrap();
    anonymous_get(&s, &b, "public")
        .await
        .assert_error(403, "AccessDenied");
    let got = c.get_public_access_block().bucket(&b).send().await.unwrap();
    let conf = got.public_access_block_configuration().unwrap();
    assert_eq!(
        (conf.block_public_acls(), conf.ignore_public_acls()),
        (Some(false), Some(true))
    );
    c.delete_public_access_block()
        .bucket(&b)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous_get(&s, &b, "public").await.status, 200);
}
