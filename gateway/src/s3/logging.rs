//! Server access logging's configuration: PutBucketLogging and GetBucketLogging. The records
//! themselves are written by `access_log.rs`.
//!
//! A configuration names a target bucket and a key prefix, and how log objects' keys are made
//! (`SimplePrefix`, or `PartitionedPrefix` by event or delivery time). The target must exist, be
//! in the same region, have no default retention (AWS's rule: log objects must stay deletable)
//! and let the log writer in: its bucket policy allows `s3:PutObject` to the service principal
//! `logging.s3.amazonaws.com` (scoped with `aws:SourceArn` / `aws:SourceAccount` as AWS
//! documents), or its ACL grants the LogDelivery group WRITE. `TargetGrants` are accepted and
//! dropped: log objects belong to the target bucket's owner, as under AWS's bucket-owner-enforced
//! ownership.

use http::{HeaderValue, StatusCode};
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::checksum::read_document;
use super::error::{S3Error, S3ErrorCode, S3Result};
use super::xml::{self, RequestDocument, XmlWriter};
use super::{S3Api, S3Request, S3Response, access, empty_response, xml_response};
use crate::store::S3LoggingConfig;

/// Largest configuration body read.
const MAX_BODY: usize = 64 * 1024;

/// The date sources a `PartitionedPrefix` may name.
pub const DATE_SOURCES: [&str; 2] = ["EventTime", "DeliveryTime"];

#[derive(Debug, Deserialize)]
struct BucketLoggingStatusXml {
    #[serde(rename = "LoggingEnabled")]
    enabled: Option<LoggingEnabledXml>,
}

impl RequestDocument for BucketLoggingStatusXml {
    const ROOT: &'static str = "BucketLoggingStatus";
}

#[derive(Debug, Deserialize)]
struct LoggingEnabledXml {
    #[serde(rename = "TargetBucket")]
    target_bucket: Option<String>,
    #[serde(rename = "TargetPrefix")]
    target_prefix: Option<String>,
    #[serde(rename = "TargetGrants")]
    _target_grants: Option<IgnoredAny>,
    #[serde(rename = "TargetObjectKeyFormat")]
    key_format: Option<KeyFormatXml>,
}

#[derive(Debug, Deserialize)]
struct KeyFormatXml {
    #[serde(rename = "SimplePrefix")]
    simple: Option<IgnoredAny>,
    #[serde(rename = "PartitionedPrefix")]
    partitioned: Option<PartitionedPrefixXml>,
}

#[derive(Debug, Deserialize)]
struct PartitionedPrefixXml {
    #[serde(rename = "PartitionDateSource")]
    date_source: Option<String>,
}

fn malformed(why: &str) -> S3Error {
    S3Error::with_message(
        S3ErrorCode::MalformedXML,
        format!(
            "The XML you provided was not well-formed or did not validate against our published schema: {why}"
        ),
    )
}

/// Parses a `BucketLoggingStatus` document: `None` turns logging off.
fn parse(body: &[u8]) -> S3Result<Option<(String, String, Option<String>)>> {
    let doc: BucketLoggingStatusXml = xml::parse(body)?;
    let Some(e) = doc.enabled else {
        return Ok(None);
    };
    let target = e
        .target_bucket
        .filter(|b| !b.is_empty())
        .ok_or_else(|| malformed("LoggingEnabled needs a TargetBucket"))?;
    let prefix = e
        .target_prefix
        .ok_or_else(|| malformed("LoggingEnabled needs a TargetPrefix"))?;
    let date_source = match e.key_format {
        None => None,
        Some(KeyFormatXml {
            simple: Some(_),
            partitioned: None,
        }) => None,
        Some(KeyFormatXml {
            simple: None,
            partitioned: Some(p),
        }) => {
            // AWS: a PartitionedPrefix without a date source partitions by event time.
            let source = p.date_source.unwrap_or_else(|| "EventTime".to_string());
            if !DATE_SOURCES.contains(&source.as_str()) {
                return Err(malformed(
                    "PartitionDateSource is EventTime or DeliveryTime",
                ));
            }
            Some(source)
        }
        Some(_) => {
            return Err(malformed(
                "TargetObjectKeyFormat holds exactly one of SimplePrefix and PartitionedPrefix",
            ));
        }
    };
    Ok(Some((target, prefix, date_source)))
}

fn invalid_target(message: &str) -> S3Error {
    S3Error::with_message(S3ErrorCode::InvalidTargetBucketForLogging, message)
}

/// PutBucketLogging: replaces the bucket's configuration (or with an empty
/// `BucketLoggingStatus` turns logging off).
pub async fn put(state: &S3Api, mut req: S3Request) -> S3Result<S3Response> {
    let source = state.store.bucket(&req.bucket)?;
    let body = read_document(&mut req, MAX_BODY).await?;
    let Some((target_bucket, target_prefix, partition_date_source)) = parse(&body)? else {
        state.store.set_s3_logging(&req.bucket, None).await?;
        state.access_log.configured(&req.bucket, None);
        return Ok(empty_response(StatusCode::OK));
    };
    if crate::store::check_bucket_name(&target_bucket).is_err() {
        return Err(invalid_target(
            "The target bucket for logging does not exist",
        ));
    }
    let target = match state.store.bucket(&target_bucket) {
        Ok(t) => t,
        Err(crate::store::StoreError::NoSuchBucket) => {
            return Err(invalid_target(
                "The target bucket for logging does not exist",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    if target.region != source.region {
        return Err(S3Error::new(S3ErrorCode::CrossLocationLoggingProhibited));
    }
    if target.default_retention.is_some() {
        return Err(invalid_target(
            "The target bucket must not have an S3 Object Lock default retention period",
        ));
    }
    if !access::log_delivery_allowed(state, &req.bucket, &target_bucket, &target_prefix)? {
        return Err(S3Error::with_message(
            S3ErrorCode::AccessDenied,
            "Access Denied: the target bucket's policy does not allow logging.s3.amazonaws.com \
             to write under this prefix for this source bucket",
        ));
    }
    let previous = state.store.s3_logging(&req.bucket)?;
    let mut config = S3LoggingConfig {
        target_bucket,
        target_prefix,
        partition_date_source,
        updated: req.now,
    };
    if let Some(p) = previous {
        let unchanged = S3LoggingConfig {
            updated: 0,
            ..p.clone()
        } == S3LoggingConfig {
            updated: 0,
            ..config.clone()
        };
        if unchanged {
            // The same configuration again: nothing changes, not even its Last-Modified.
            return Ok(empty_response(StatusCode::OK));
        }
        config.updated = config.updated.max(p.updated + 1);
    }
    state
        .store
        .set_s3_logging(&req.bucket, Some(config.clone()))
        .await?;
    state.access_log.configured(&req.bucket, Some(config));
    Ok(empty_response(StatusCode::OK))
}

/// GetBucketLogging: the configuration, `Last-Modified` when it changed; an empty
/// `BucketLoggingStatus` when logging is off.
pub async fn get(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    state.store.bucket(&req.bucket)?;
    let config = state.store.s3_logging(&req.bucket)?;
    let mut w = XmlWriter::new("BucketLoggingStatus");
    if let Some(c) = &config {
        w.open("LoggingEnabled")
            .elem("TargetBucket", &c.target_bucket)
            .elem("TargetPrefix", &c.target_prefix)
            .open("TargetObjectKeyFormat");
        match &c.partition_date_source {
            None => w.raw("<SimplePrefix/>"),
            Some(source) => w
                .open("PartitionedPrefix")
                .elem("PartitionDateSource", source)
                .close("PartitionedPrefix"),
        };
        w.close("TargetObjectKeyFormat").close("LoggingEnabled");
    }
    let mut r = xml_response(w.finish("BucketLoggingStatus"));
    if let Some(c) = config
        && let Ok(v) = HeaderValue::from_str(&xml::http_date(c.updated))
    {
        r.headers_mut().insert(http::header::LAST_MODIFIED, v);
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: &str = r#"xmlns="http://s3.amazonaws.com/doc/2006-03-01/""#;

    #[test]
    fn configurations_parse() {
        let doc = format!(
            "<BucketLoggingStatus {NS}><LoggingEnabled><TargetBucket>logs</TargetBucket>\
             <TargetGrants><Grant><Grantee><ID>x</ID></Grantee><Permission>READ</Permission></Grant></TargetGrants>\
             <TargetPrefix>log/</TargetPrefix></LoggingEnabled></BucketLoggingStatus>"
        );
        assert_eq!(
            parse(doc.as_bytes()).unwrap(),
            Some(("logs".into(), "log/".into(), None))
        );
        let doc = format!(
            "<BucketLoggingStatus {NS}><LoggingEnabled><TargetBucket>logs</TargetBucket>\
             <TargetPrefix></TargetPrefix><TargetObjectKeyFormat><PartitionedPrefix>\
             <PartitionDateSource>DeliveryTime</PartitionDateSource></PartitionedPrefix>\
             </TargetObjectKeyFormat></LoggingEnabled></BucketLoggingStatus>"
        );
        assert_eq!(
            parse(doc.as_bytes()).unwrap(),
            Some(("logs".into(), String::new(), Some("DeliveryTime".into())))
        );
        let doc = format!(
            "<BucketLoggingStatus {NS}><LoggingEnabled><TargetBucket>logs</TargetBucket>\
             <TargetPrefix>p</TargetPrefix><TargetObjectKeyFormat><SimplePrefix/>\
             </TargetObjectKeyFormat></LoggingEnabled></BucketLoggingStatus>"
        );
        assert_eq!(
            parse(doc.as_bytes()).unwrap(),
            Some(("logs".into(), "p".into(), None))
        );
        let doc = format!(
            "<BucketLoggingStatus {NS}><LoggingEnabled><TargetBucket>logs</TargetBucket>\
             <TargetPrefix>p</TargetPrefix><TargetObjectKeyFormat><PartitionedPrefix/>\
             </TargetObjectKeyFormat></LoggingEnabled></BucketLoggingStatus>"
        );
        assert_eq!(
            parse(doc.as_bytes()).unwrap(),
            Some(("logs".into(), "p".into(), Some("EventTime".into())))
        );
        for off in [
            format!("<BucketLoggingStatus {NS}/>"),
            format!("<BucketLoggingStatus {NS}></BucketLoggingStatus>"),
        ] {
            assert_eq!(parse(off.as_bytes()).unwrap(), None);
        }
    }

    #[test]
    fn the_example_target_policy_admits_the_log_writer_for_bronze_only() {
        use crate::iam::condition::ConditionContext;
        use crate::iam::{AccessRequest, Decision, PolicyDocument, PolicyKind, Principal};
        let doc = PolicyDocument::parse(
            include_bytes!("../../../examples/iam/access-log-target.json"),
            &PolicyKind::Bucket {
                bucket: "logs".into(),
            },
        )
        .unwrap();
        let decide = |service: &str, source: &str, resource: &str| {
            let principal = Principal {
                service: Some(service),
                ..Default::default()
            };
            let mut context = ConditionContext::new();
            context.insert("aws:SourceArn", format!("arn:aws:s3:::{source}"));
            doc.evaluate(&AccessRequest {
                action: "s3:PutObject",
                resource,
                principal: &principal,
                context: &context,
            })
        };
        let writer = access::LOG_DELIVERY_SERVICE;
        assert_eq!(
            decide(writer, "bronze", "arn:aws:s3:::logs/bronze/"),
            Decision::Allow
        );
        assert_eq!(
            decide(writer, "silver", "arn:aws:s3:::logs/bronze/"),
            Decision::NotApplicable
        );
        assert_eq!(
            decide(writer, "bronze", "arn:aws:s3:::logs/other/"),
            Decision::NotApplicable
        );
        assert_eq!(
            decide(
                "lambda.amazonaws.com",
                "bronze",
                "arn:aws:s3:::logs/bronze/"
            ),
            Decision::NotApplicable
        );
    }

    #[test]
    fn bad_configurations_are_malformed_xml() {
        for bad in [
            "not xml".to_string(),
            format!("<LoggingStatus {NS}/>"),
            format!(
                "<BucketLoggingStatus {NS}><LoggingEnabled><TargetPrefix>p</TargetPrefix></LoggingEnabled></BucketLoggingStatus>"
            ),
            format!(
                "<BucketLoggingStatus {NS}><LoggingEnabled><TargetBucket>b</TargetBucket></LoggingEnabled></BucketLoggingStatus>"
            ),
            format!(
                "<BucketLoggingStatus {NS}><LoggingEnabled><TargetBucket>b</TargetBucket><TargetPrefix>p</TargetPrefix><TargetObjectKeyFormat><PartitionedPrefix><PartitionDateSource>kaboom</PartitionDateSource></PartitionedPrefix></TargetObjectKeyFormat></LoggingEnabled></BucketLoggingStatus>"
            ),
            format!(
                "<BucketLoggingStatus {NS}><LoggingEnabled><TargetBucket>b</TargetBucket><TargetPrefix>p</TargetPrefix><TargetObjectKeyFormat></TargetObjectKeyFormat></LoggingEnabled></BucketLoggingStatus>"
            ),
            format!(
                "<BucketLoggingStatus {NS}><LoggingEnabled><TargetBucket>b</TargetBucket><TargetPrefix>p</TargetPrefix><TargetObjectKeyFormat><SimplePrefix/><PartitionedPrefix/></TargetObjectKeyFormat></LoggingEnabled></BucketLoggingStatus>"
            ),
        ] {
            let e = parse(bad.as_bytes()).unwrap_err();
            assert_eq!(e.code, S3ErrorCode::MalformedXML, "{bad}");
        }
    }
}
