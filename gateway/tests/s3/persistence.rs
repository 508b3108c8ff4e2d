//! Persistence across restarts (graceful and SIGKILL), graceful shutdown.

use aws_sdk_s3::types::{
    BucketVersioningStatus, ChecksumAlgorithm, ChecksumMode, CompletedMultipartUpload,
    CompletedPart,
};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_graceful_restart() {
    let mut s = TestServer::start().await;
    let b = s.bucket().await;
    let vb = s.versioned_bucket().await;
    let c = s.client().clone();
    let small = random_bytes(1000, 61);
    c.put_object()
        .bucket(&b)
        .key("dir/small")
        .body(body(small.clone()))
        .content_type("text/x-small")
        .metadata("k", "v")
        .tagging("t=1")
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .send()
        .await
        .unwrap();
    // Multipart object.
    let p1 = random_bytes(5 * MIB, 62);
    let p2 = random_bytes(1234, 63);
    let up = c
        .create_multipart_upload()
        .bucket(&b)
        .key("mp")
        .send()
        .await
        .unwrap();
    let id = up.upload_id().unwrap().to_string();
    let e1 = c
        .upload_part()
        .bucket(&b)
        .key("mp")
        .upload_id(&id)
        .part_number(1)
        .body(body(p1.clone()))
        .send()
        .await
        .unwrap()
        .e_tag()
        .unwrap()
        .to_string();
    let e2 = c
        .upload_part()
        .bucket(&b)
        .key("mp")
        .upload_id(&id)
        .part_number(2)
        .body(body(p2.clone()))
        .send()
        .await
        .unwrap()
        .e_tag()
        .unwrap()
        .to_string();
    c.complete_multipart_upload()
        .bucket(&b)
        .key("mp")
        .upload_id(&id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(CompletedPart::builder().part_number(1).e_tag(&e1).build())
                .parts(CompletedPart::builder().part_number(2).e_tag(&e2).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    // Versions and a delete marker.
    let v1 = c
        .put_object()
        .bucket(&vb)
        .key("v")
        .body(body("v1"))
        .send()
        .await
        .unwrap()
        .version_id()
        .unwrap()
        .to_string();
    c.put_object()
        .bucket(&vb)
        .key("v")
        .body(body("v2"))
        .send()
        .await
        .unwrap();
    c.delete_object().bucket(&vb).key("v").send().await.unwrap();
    // An upload in progress.
    let pending = c
        .create_multipart_upload()
        .bucket(&b)
        .key("pending")
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_string();
    let pe1 = c
        .upload_part()
        .bucket(&b)
        .key("pending")
        .upload_id(&pending)
        .part_number(1)
        .body(body("pending part"))
        .send()
        .await
        .unwrap()
        .e_tag()
        .unwrap()
        .to_string();

    let status = s.stop_graceful().await;
    assert!(status.success(), "graceful shutdown exit status {status:?}");
    s.restart().await;
    let c = s.client().clone();

    let names: Vec<String> = c
        .list_buckets()
        .send()
        .await
        .unwrap()
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(String::from))
        .collect();
    assert!(names.contains(&b) && names.contains(&vb));
    let mut dedup = names.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(
        dedup.len(),
        names.len(),
        "no duplicate buckets after restart"
    );

    let head = c
        .head_object()
        .bucket(&b)
        .key("dir/small")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("text/x-small"));
    assert_eq!(
        head.metadata().unwrap().get("k").map(String::as_str),
        Some("v")
    );
    assert_eq!(
        head.checksum_sha256(),
        Some(b64(&sha256_raw(&small)).as_str())
    );
    assert_eq!(s.get(&b, "dir/small").await, small);
    let tags = c
        .get_object_tagging()
        .bucket(&b)
        .key("dir/small")
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tag_set().len(), 1);

    let head = c.head_object().bucket(&b).key("mp").send().await.unwrap();
    assert_eq!(head.e_tag(), Some(multipart_etag(&[&p1, &p2]).as_str()));
    assert_eq!(s.get(&b, "mp").await, [p1, p2].concat());

    let ver = c.get_bucket_versioning().bucket(&vb).send().await.unwrap();
    assert_eq!(ver.status(), Some(&BucketVersioningStatus::Enabled));
    assert_err(
        c.get_object().bucket(&vb).key("v").send().await,
        404,
        "NoSuchKey",
    );
    let out = c
        .get_object()
        .bucket(&vb)
        .key("v")
        .version_id(&v1)
        .send()
        .await
        .unwrap();
    assert_eq!(read_body(out).await, b"v1");
    let vers = c.list_object_versions().bucket(&vb).send().await.unwrap();
    assert_eq!(vers.versions().len(), 2);
    assert_eq!(vers.delete_markers().len(), 1);

    // The pending upload continues.
    let ups = c.list_multipart_uploads().bucket(&b).send().await.unwrap();
    assert_eq!(ups.uploads().len(), 1);
    let pe2 = c
        .upload_part()
        .bucket(&b)
        .key("pending")
        .upload_id(&pending)
        .part_number(2)
        .body(body("second"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)))
        .e_tag()
        .unwrap()
        .to_string();
    let _ = pe1;
    let pe1_small_ok = c
        .complete_multipart_upload()
        .bucket(&b)
        .key("pending")
        .upload_id(&pending)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(CompletedPart::builder().part_number(1).e_tag(&pe1).build())
                .parts(CompletedPart::builder().part_number(2).e_tag(&pe2).build())
                .build(),
        )
        .send()
        .await;
    // Part 1 is < 5 MiB and not last: EntityTooSmall proves the part list survived.
    assert_err(pe1_small_ok, 400, "EntityTooSmall");
    c.complete_multipart_upload()
        .bucket(&b)
        .key("pending")
        .upload_id(&pending)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(CompletedPart::builder().part_number(1).e_tag(&pe1).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(s.get(&b, "pending").await, b"pending part");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill() {
    let mut s = TestServer::start().await;
    let b = s.bucket().await;
    for i in 0..20 {
        s.put(&b, &format!("k{i}"), format!("value {i}")).await;
    }
    s.client()
        .delete_object()
        .bucket(&b)
        .key("k3")
        .send()
        .await
        .unwrap();
    s.kill();
    s.restart().await;
    for i in 0..20 {
        if i == 3 {
            assert_err(
                s.client().get_object().bucket(&b).key("k3").send().await,
                404,
                "NoSuchKey",
            );
        } else {
            assert_eq!(
                s.get(&b, &format!("k{i}")).await,
                format!("value {i}").as_bytes()
            );
        }
    }
    let list = s
        .client()
        .list_objects_v2()
        .bucket(&b)
        .send()
        .await
        .unwrap();
    assert_eq!(list.key_count(), Some(19));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_buckets_only_created_on_first_start() {
    let mut s = TestServer::start().await;
    s.client()
        .delete_bucket()
        .bucket("gold")
        .send()
        .await
        .unwrap();
    s.restart().await;
    let names: Vec<String> = s
        .client()
        .list_buckets()
        .send()
        .await
        .unwrap()
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(String::from))
        .collect();
    assert!(!names.contains(&"gold".to_string()), "{names:?}");
    assert!(names.contains(&"bronze".to_string()), "{names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_in_flight_request() {
    let mut s = TestServer::start().await;
    let b = s.bucket().await;
    let data = random_bytes(30 * MIB, 64);
    let c = s.client().clone();
    let b2 = b.clone();
    let d2 = data.clone();
    let put = tokio::spawn(async move {
        c.put_object()
            .bucket(&b2)
            .key("big")
            .body(body(d2))
            .send()
            .await
    });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let status = s.stop_graceful().await;
    assert!(status.success(), "exit status {status:?}");
    let res = put.await.unwrap();
    s.restart().await;
    match res {
        // If the PUT was acknowledged, the object must be there and whole.
        Ok(_) => assert!(
            s.get(&b, "big").await == data,
            "acknowledged object differs"
        ),
        // Otherwise there must be no partial object.
        Err(_) => {
            if let Ok(out) = s.client().get_object().bucket(&b).key("big").send().await {
                assert!(read_body(out).await == data, "partial object visible");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_lock_state_survives_restart() {
    use aws_sdk_s3::primitives::DateTime;
    use aws_sdk_s3::types::{ObjectLockLegalHoldStatus, ObjectLockMode};
    let mut s = TestServer::start().await;
    let b = s.lock_bucket().await;
    let until = DateTime::from_secs(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            + 3600,
    );
    let v = s
        .client()
        .put_object()
        .bucket(&b)
        .key("k")
        .body(body("locked"))
        .object_lock_mode(ObjectLockMode::Compliance)
        .object_lock_retain_until_date(until)
        .send()
        .await
        .unwrap()
        .version_id()
        .unwrap()
        .to_string();
    let h = s
        .client()
        .put_object()
        .bucket(&b)
        .key("held")
        .body(body("held"))
        .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On)
        .send()
        .await
        .unwrap()
        .version_id()
        .unwrap()
        .to_string();
    s.stop_graceful().await;
    s.restart().await;
    let c = s.client();
    assert_err(
        c.delete_object()
            .bucket(&b)
            .key("k")
            .version_id(&v)
            .bypass_governance_retention(true)
            .send()
            .await,
        403,
        "AccessDenied",
    );
    assert_err(
        c.delete_object()
            .bucket(&b)
            .key("held")
            .version_id(&h)
            .send()
            .await,
        403,
        "AccessDenied",
    );
    let head = c.head_object().bucket(&b).key("k").send().await.unwrap();
    assert_eq!(head.object_lock_mode(), Some(&ObjectLockMode::Compliance));
    assert_eq!(
        head.object_lock_retain_until_date().map(|d| d.secs()),
        Some(until.secs())
    );
    let cfg = c
        .get_object_lock_configuration()
        .bucket(&b)
        .send()
        .await
        .unwrap();
    assert!(cfg.object_lock_configuration().is_some());
}
