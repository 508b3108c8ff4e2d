//! Object lock (WORM): the bucket's lock configuration (default retention), and per-version
//! retention and legal hold. The rules themselves live in `store::lock`.

use http::StatusCode;

use super::checksum::read_document;
use super::error::{S3Error, S3ErrorCode, S3Result};
use super::xml::{self, XmlWriter, parse_iso8601};
use super::{S3Api, S3Request, S3Response, empty_response, get, headers, xml_response};
use crate::clock::{Fraction, iso8601};
use crate::store::{DefaultRetention, Retention, RetentionMode, StoreError, lock};

pub async fn get_lock_configuration(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    let b = state.store.bucket(&req.bucket)?;
    if !b.object_lock_enabled {
        return Err(S3Error::new(
            S3ErrorCode::ObjectLockConfigurationNotFoundError,
        ));
    }
    let mut w = XmlWriter::new("ObjectLockConfiguration");
    w.elem("ObjectLockEnabled", "Enabled");
    if let Some(d) = b.default_retention {
        w.open("Rule")
            .open("DefaultRetention")
            .elem("Mode", d.mode.as_str());
        if let Some(days) = d.days {
            w.elem("Days", &days.to_string());
        }
        if let Some(years) = d.years {
            w.elem("Years", &years.to_string());
        }
        w.close("DefaultRetention").close("Rule");
    }
    Ok(xml_response(w.finish("ObjectLockConfiguration")))
}

pub(crate) fn parse_default_retention(
    doc: xml::ObjectLockConfiguration,
) -> S3Result<Option<DefaultRetention>> {
    if doc.object_lock_enabled.as_deref() != Some("Enabled") {
        return Err(S3Error::new(S3ErrorCode::MalformedXML));
    }
    let Some(rule) = doc.rule else {
        return Ok(None);
    };
    let Some(d) = rule.default_retention else {
        return Err(S3Error::new(S3ErrorCode::MalformedXML));
    };
    let mode = d
        .mode
        .as_deref()
        .and_then(RetentionMode::parse)
        .ok_or_else(|| S3Error::new(S3ErrorCode::MalformedXML))?;
    let num = |s: Option<String>| -> S3Result<Option<u32>> {
        match s {
            None => Ok(None),
            Some(s) => match s.trim().parse::<u32>() {
                Ok(n) if n > 0 => Ok(Some(n)),
                _ => Err(S3Error::with_message(
                    S3ErrorCode::InvalidRetentionPeriod,
                    "Default retention period must be a positive integer value.",
                )),
            },
        }
    };
    let (days, years) = (num(d.days)?, num(d.years)?);
    if days.is_some() == years.is_some() {
        return Err(S3Error::new(S3ErrorCode::MalformedXML));
    }
    if days.is_some_and(|d| d > 36_500) || years.is_some_and(|y| y > 100) {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidRetentionPeriod,
            "Default retention period is too large.",
        ));
    }
    Ok(Some(DefaultRetention { mode, days, years }))
}

pub async fn put_lock_configuration(state: &S3Api, mut req: S3Request) -> S3Result<S3Response> {
    let body = read_document(&mut req, 64 * 1024).await?;
    let default = parse_default_retention(xml::parse(&body)?)?;
    state
        .store
        .update_bucket(&req.bucket, move |b| {
            if !b.object_lock_enabled {
                // AWS allows enabling object lock on an existing bucket only with versioning on.
                if b.versioning != crate::store::Versioning::Enabled {
                    return Err(StoreError::InvalidRequest(
                        "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration".into(),
                    ));
                }
                b.object_lock_enabled = true;
            }
            b.default_retention = default;
            Ok(())
        })
        .await
        // The bucket's versioning state forbids it: 409, as AWS answers.
        .map_err(|e| match e {
            StoreError::InvalidRequest(m) => S3Error::with_message(S3ErrorCode::InvalidBucketState, m),
            other => other.into(),
        })?;
    Ok(empty_response(StatusCode::OK))
}

fn require_lock(state: &S3Api, bucket: &str) -> S3Result<()> {
    if !state.store.bucket(bucket)?.object_lock_enabled {
        return Err(S3Error::invalid_request(
            "Bucket is missing Object Lock Configuration",
        ));
    }
    Ok(())
}

pub async fn get_retention(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    require_lock(state, &req.bucket)?;
    let (_, v) = get::resolve_version(&state.store, &req)?;
    let Some(r) = v.retention else {
        return Err(S3Error::with_message(
            S3ErrorCode::NoSuchObjectLockConfiguration,
            "The specified object does not have a ObjectLock configuration",
        ));
    };
    let mut w = XmlWriter::new("Retention");
    w.elem("Mode", r.mode.as_str()).elem(
        "RetainUntilDate",
        &iso8601(r.retain_until, Fraction::Millis),
    );
    Ok(xml_response(w.finish("Retention")))
}

pub async fn put_retention(state: &S3Api, mut req: S3Request) -> S3Result<S3Response> {
    require_lock(state, &req.bucket)?;
    let body = read_document(&mut req, 64 * 1024).await?;
    let doc: xml::RetentionXml = xml::parse(&body)?;
    let new = match (doc.mode.as_deref(), doc.retain_until_date.as_deref()) {
        (None, None) => None,
        (Some(m), Some(d)) => {
            let mode =
                RetentionMode::parse(m).ok_or_else(|| S3Error::new(S3ErrorCode::MalformedXML))?;
            let until = parse_iso8601(d).ok_or_else(|| S3Error::new(S3ErrorCode::MalformedXML))?;
            if until <= req.now {
                return Err(S3Error::invalid_argument(
                    "The retain until date must be in the future!",
                ));
            }
            Some(Retention {
                mode,
                retain_until: until,
            })
        }
        _ => return Err(S3Error::new(S3ErrorCode::MalformedXML)),
    };
    let bypass = headers::bypass_governance(&req.headers);
    let now = req.now;
    state
        .update_named_version(&req, move |v| {
            lock::check_retention_change(v.retention, new, now, bypass)?;
            v.retention = new;
            Ok(())
        })
        .await?;
    Ok(empty_response(StatusCode::OK))
}

pub async fn get_legal_hold(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    require_lock(state, &req.bucket)?;
    let (_, v) = get::resolve_version(&state.store, &req)?;
    let mut w = XmlWriter::new("LegalHold");
    w.elem("Status", if v.legal_hold { "ON" } else { "OFF" });
    Ok(xml_response(w.finish("LegalHold")))
}

pub async fn put_legal_hold(state: &S3Api, mut req: S3Request) -> S3Result<S3Response> {
    require_lock(state, &req.bucket)?;
    let body = read_document(&mut req, 64 * 1024).await?;
    let doc: xml::LegalHoldXml = xml::parse(&body)?;
    let on = match doc.status.as_deref() {
        Some("ON") => true,
        Some("OFF") => false,
        _ => return Err(S3Error::new(S3ErrorCode::MalformedXML)),
    };
    state
        .update_named_version(&req, move |v| {
            v.legal_hold = on;
            Ok(())
        })
        .await?;
    Ok(empty_response(StatusCode::OK))
}
