//! Server access logging end to end: PutBucketLogging with aws-sdk-s3, records delivered as
//! objects into the target bucket once the interval has passed, in AWS's 26-field format, and
//! the target bucket's policy deciding whether the log writer may deliver at all.

use std::time::Duration;

use aws_sdk_s3::operation::RequestId;
use aws_sdk_s3::types::{
    BucketLoggingStatus, LoggingEnabled, PartitionDateSource, PartitionedPrefix, SimplePrefix,
    TargetObjectKeyFormat,
};

use crate::common::*;

/// The interval the server runs with: records gather this long before a batch is delivered.
const INTERVAL: Duration = Duration::from_secs(1);

/// A target-bucket policy that lets the log writer deliver `source`'s logs under `prefix`.
fn log_policy(target: &str, prefix: &str, source: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"S3ServerAccessLogsPolicy","Effect":"Allow",
        "Principal":{{"Service":"logging.s3.amazonaws.com"}},"Action":["s3:PutObject"],
        "Resource":"arn:aws:s3:::{target}/{prefix}*",
        "Condition":{{"ArnLike":{{"aws:SourceArn":"arn:aws:s3:::{source}"}},
        "StringEquals":{{"aws:SourceAccount":"{ROOT_USER}"}}}}}}]}}"#
    )
}

fn enabled(
    target: &str,
    prefix: &str,
    format: Option<TargetObjectKeyFormat>,
) -> BucketLoggingStatus {
    BucketLoggingStatus::builder()
        .logging_enabled(
            LoggingEnabled::builder()
                .target_bucket(target)
                .target_prefix(prefix)
                .set_target_object_key_format(format)
                .build()
                .unwrap(),
        )
        .build()
}

/// Splits a record as log parsers do: `[...]` and `"..."` are one field each.
fn fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c == ' ' {
            chars.next();
            continue;
        }
        let mut f = String::new();
        match c {
            '[' | '"' => {
                let close = if c == '[' { ']' } else { '"' };
                chars.next();
                while let Some(c) = chars.next() {
                    if c == '\\' {
                        f.extend(chars.next());
                    } else if c == close {
                        break;
                    } else {
                        f.push(c);
                    }
                }
            }
            _ => {
                while let Some(&c) = chars.peek() {
                    if c == ' ' {
                        break;
                    }
                    f.push(c);
                    chars.next();
                }
            }
        }
        out.push(f);
    }
    out
}

/// The log objects in `bucket` under `prefix`, and their records (fields), oldest first.
async fn logs(s: &TestServer, bucket: &str, prefix: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let list = s
        .client()
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .unwrap();
    let keys: Vec<String> = list
        .contents()
        .iter()
        .map(|o| o.key().unwrap().to_string())
        .collect();
    let mut records = Vec::new();
    for k in &keys {
        let text = String::from_utf8(s.get(bucket, k).await).unwrap();
        for line in text.lines() {
            let f = fields(line);
            assert_eq!(f.len(), 26, "{line}");
            records.push(f);
        }
    }
    (keys, records)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_logs_are_delivered_into_the_target_bucket() {
    let mut s = TestServer::start_with_env(&[("LAKEGATE_ACCESS_LOG_INTERVAL", "1s")]).await;
    let c = s.client().clone();
    let (src, target) = (s.bucket().await, s.bucket().await);

    // The target must exist and let the log writer in.
    assert_err(
        c.put_bucket_logging()
            .bucket(&src)
            .bucket_logging_status(enabled("no-such-bucket-here", "log/", None))
            .send()
            .await,
        400,
        "InvalidTargetBucketForLogging",
    );
    assert_err(
        c.put_bucket_logging()
            .bucket(&src)
            .bucket_logging_status(enabled(&target, "log/", None))
            .send()
            .await,
        403,
        "AccessDenied",
    );
    let bad = TargetObjectKeyFormat::builder()
        .partitioned_prefix(
            PartitionedPrefix::builder()
                .partition_date_source(PartitionDateSource::from("kaboom"))
                .build(),
        )
        .build();
    c.put_bucket_policy()
        .bucket(&target)
        .policy(log_policy(&target, "log/", &src))
        .send()
        .await
        .unwrap();
    assert_err(
        c.put_bucket_logging()
            .bucket(&src)
            .bucket_logging_status(enabled(&target, "log/", Some(bad)))
            .send()
            .await,
        400,
        "MalformedXML",
    );
    let got = c.get_bucket_logging().bucket(&src).send().await.unwrap();
    assert!(got.logging_enabled().is_none());

    c.put_bucket_logging()
        .bucket(&src)
        .bucket_logging_status(enabled(&target, "log/", None))
        .send()
        .await
        .unwrap();
    let got = c.get_bucket_logging().bucket(&src).send().await.unwrap();
    let on = got.logging_enabled().unwrap();
    assert_eq!(
        (on.target_bucket(), on.target_prefix()),
        (target.as_str(), "log/")
    );
    assert!(
        on.target_object_key_format()
            .unwrap()
            .simple_prefix()
            .is_some()
    );

    // Requests on the source: logged with their outcome.
    let put = c
        .put_object()
        .bucket(&src)
        .key("dir/a b.txt")
        .body(b"hello log".to_vec().into())
        .send()
        .await
        .unwrap();
    let put_id = put.request_id().unwrap().to_string();
    s.get(&src, "dir/a b.txt").await;
    assert_status(
        c.head_object().bucket(&src).key("missing").send().await,
        404,
    );
    c.delete_object()
        .bucket(&src)
        .key("dir/a b.txt")
        .send()
        .await
        .unwrap();
    // Nothing is delivered before the interval has passed ...
    let (keys, _) = logs(&s, &target, "log/").await;
    assert!(keys.is_empty(), "{keys:?}");
    // ... then the next record delivers the batch before it is answered.
    tokio::time::sleep(INTERVAL + Duration::from_millis(200)).await;
    s.put(&src, "trigger", "x").await;
    let (keys, records) = logs(&s, &target, "log/").await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    let name = keys[0].strip_prefix("log/").unwrap();
    assert_eq!(name.len(), "2026-12-03-12-26-05-".len() + 16, "{name}");
    assert!(
        name.bytes().filter(|b| *b == b'-').count() == 6
            && name
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'-' || b.is_ascii_uppercase()),
        "{name}"
    );
    let ops: Vec<(&str, &str, &str, &str)> = records
        .iter()
        .map(|f| (f[6].as_str(), f[7].as_str(), f[9].as_str(), f[10].as_str()))
        .collect();
    assert_eq!(
        ops,
        vec![
            ("REST.PUT.LOGGING_STATUS", "-", "200", "-"),
            ("REST.GET.LOGGING_STATUS", "-", "200", "-"),
            ("REST.PUT.OBJECT", "dir/a%20b.txt", "200", "-"),
            ("REST.GET.OBJECT", "dir/a%20b.txt", "200", "-"),
            ("REST.HEAD.OBJECT", "missing", "404", "NoSuchKey"),
            ("REST.DELETE.OBJECT", "dir/a%20b.txt", "204", "-"),
        ]
    );
    for f in &records {
        assert_eq!((f[0].as_str(), f[1].as_str()), (ROOT_USER, src.as_str()));
        assert_eq!((f[3].as_str(), f[4].as_str()), ("127.0.0.1", ROOT_USER));
        assert_eq!((f[19].as_str(), f[21].as_str()), ("SigV4", "AuthHeader"));
    }
    let put_record = &records[2];
    assert_eq!(
        put_record[5], put_id,
        "the request id is the client's x-amz-request-id"
    );
    assert_eq!(put_record[12], "9", "object size");
    assert!(put_record[8].starts_with("PUT /"), "{}", put_record[8]);
    assert_eq!(records[3][11], "9", "bytes sent");

    // The target's policy is asked per record: revoked, nothing more is logged.
    c.delete_bucket_policy()
        .bucket(&target)
        .send()
        .await
        .unwrap();
    tokio::time::sleep(INTERVAL + Duration::from_millis(200)).await;
    s.put(&src, "unlogged", "x").await;
    let (keys, _) = logs(&s, &target, "log/").await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    c.put_bucket_policy()
        .bucket(&target)
        .policy(log_policy(&target, "log/", &src))
        .send()
        .await
        .unwrap();

    // At shutdown the open batch (the trigger's record) is delivered.
    s.restart().await;
    let (keys, records) = logs(&s, &target, "log/").await;
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(keys[0] < keys[1]);
    let keys_logged: Vec<&str> = records.iter().map(|f| f[7].as_str()).collect();
    assert!(keys_logged.contains(&"trigger"), "{keys_logged:?}");
    assert!(!keys_logged.contains(&"unlogged"), "{keys_logged:?}");

    // Turned off: GetBucketLogging says so.
    let c = s.client().clone();
    c.put_bucket_logging()
        .bucket(&src)
        .bucket_logging_status(BucketLoggingStatus::builder().build())
        .send()
        .await
        .unwrap();
    let got = c.get_bucket_logging().bucket(&src).send().await.unwrap();
    assert!(got.logging_enabled().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitioned_prefixes_name_owner_region_bucket_and_day() {
    let s = TestServer::start_with_env(&[("LAKEGATE_ACCESS_LOG_INTERVAL", "1s")]).await;
    let c = s.client();
    let (src, target) = (s.bucket().await, s.bucket().await);
    c.put_bucket_policy()
        .bucket(&target)
        .policy(log_policy(&target, "p/", &src))
        .send()
        .await
        .unwrap();
    let format = TargetObjectKeyFormat::builder()
        .partitioned_prefix(
            PartitionedPrefix::builder()
                .partition_date_source(PartitionDateSource::DeliveryTime)
                .build(),
        )
        .build();
    c.put_bucket_logging()
        .bucket(&src)
        .bucket_logging_status(enabled(&target, "p/", Some(format)))
        .send()
        .await
        .unwrap();
    let got = c.get_bucket_logging().bucket(&src).send().await.unwrap();
    let f = got
        .logging_enabled()
        .unwrap()
        .target_object_key_format()
        .unwrap();
    assert_eq!(
        f.partitioned_prefix().unwrap().partition_date_source(),
        Some(&PartitionDateSource::DeliveryTime)
    );
    s.put(&src, "k", "v").await;
    tokio::time::sleep(INTERVAL + Duration::from_millis(200)).await;
    s.put(&src, "k2", "v").await;
    let (keys, records) = logs(&s, &target, "p/").await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    let parts: Vec<&str> = keys[0].split('/').collect();
    assert_eq!(
        &parts[..4],
        &["p", ROOT_USER, REGION, src.as_str()],
        "{}",
        keys[0]
    );
    assert_eq!(parts.len(), 8, "{}", keys[0]);
    assert!(parts[7].starts_with(&format!("{}-{}-{}-", parts[4], parts[5], parts[6])));
    assert_eq!(
        records.len(),
        3,
        "PutBucketLogging, GetBucketLogging, PutObject"
    );

    // Configuring SimplePrefix again is a change; the same configuration twice is not.
    c.put_bucket_logging()
        .bucket(&src)
        .bucket_logging_status(enabled(
            &target,
            "p/",
            Some(
                TargetObjectKeyFormat::builder()
                    .simple_prefix(SimplePrefix::builder().build())
                    .build(),
            ),
        ))
        .send()
        .await
        .unwrap();
    let got = c.get_bucket_logging().bucket(&src).send().await.unwrap();
    assert!(
        got.logging_enabled()
            .unwrap()
            .target_object_key_format()
            .unwrap()
            .simple_prefix()
            .is_some()
    );
}
