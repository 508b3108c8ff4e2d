//! DeleteObject and DeleteObjects.

use http::StatusCode;

use super::checksum::read_document;
use super::error::{S3Error, S3ErrorCode, S3Result};
use super::xml::{self, XmlWriter};
use super::{S3Api, S3Request, S3Response, empty_response, headers, set_header, xml_response};
use crate::store::{DeleteConditions, DeleteTarget};

/// The ETag a conditional delete names: unquoted, `*` kept.
fn unquoted_etag(s: &str) -> String {
    s.trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .to_string()
}

/// A conditional delete's size: a decimal number of bytes.
fn parse_size(s: &str, what: &str) -> S3Result<u64> {
    s.trim()
        .parse()
        .map_err(|_| S3Error::invalid_argument(format!("Invalid {what}: {s:?}")))
}

/// An HTTP date, in milliseconds since the epoch.
fn http_date_ms(s: &str) -> Option<crate::store::Millis> {
    httpdate::parse_http_date(s.trim())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as crate::store::Millis)
}

/// A conditional delete's last-modified time, in seconds since the epoch.
fn seconds(ms: crate::store::Millis) -> i64 {
    ms.div_euclid(1000)
}

/// The conditions of a DeleteObject: `If-Match`, `x-amz-if-match-last-modified-time` (an HTTP
/// date) and `x-amz-if-match-size`.
fn delete_conditions(req: &S3Request) -> S3Result<DeleteConditions> {
    let mut c = DeleteConditions::default();
    if let Some(v) = req.header("if-match") {
        c.if_match = Some(unquoted_etag(v));
    }
    if let Some(v) = req.header("x-amz-if-match-last-modified-time") {
        let t = http_date_ms(v).ok_or_else(|| {
            S3Error::invalid_argument(format!("Invalid x-amz-if-match-last-modified-time: {v:?}"))
        })?;
        c.last_modified_secs = Some(seconds(t));
    }
    if let Some(v) = req.header("x-amz-if-match-size") {
        c.size = Some(parse_size(v, "x-amz-if-match-size")?);
    }
    Ok(c)
}

pub async fn delete_object(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    let bypass = headers::bypass_governance(&req.headers);
    let target = DeleteTarget {
        key: req.key.clone(),
        version_id: req.query.get("versionId").map(str::to_string),
        conditions: delete_conditions(&req)?,
    };
    let outcome = state
        .store
        .delete_object(&req.bucket, target, bypass, req.now)
        .await?;
    let mut resp = empty_response(StatusCode::NO_CONTENT);
    let h = resp.headers_mut();
    if outcome.delete_marker {
        set_header(h, "x-amz-delete-marker", "true");
    }
    if let Some(v) = &outcome.version_id {
        set_header(h, "x-amz-version-id", v);
    }
    Ok(resp)
}

/// Most keys one DeleteObjects request may name.
const MAX_DELETE_KEYS: usize = 1000;

pub async fn delete_objects(state: &S3Api, mut req: S3Request) -> S3Result<S3Response> {
    let body = read_document(&mut req, 2 * 1024 * 1024).await?;
    let doc: xml::DeleteXml = xml::parse(&body)?;
    if doc.objects.is_empty() || doc.objects.len() > MAX_DELETE_KEYS {
        return Err(S3Error::new(S3ErrorCode::MalformedXML));
    }
    let quiet = doc
        .quiet
        .as_deref()
        .is_some_and(|q| q.trim().eq_ignore_ascii_case("true"));
    let bypass = headers::bypass_governance(&req.headers);
    // Keys that fail validation get their own error entry; the rest go to the store together.
    let mut results: Vec<Option<Result<crate::store::DeleteOutcome, S3Error>>> = Vec::new();
    let mut targets = Vec::new();
    for o in &doc.objects {
        let action = if o.version_id.is_some() {
            "s3:DeleteObjectVersion"
        } else {
            "s3:DeleteObject"
        };
        let target = crate::store::check_object_key(&o.key)
            .map_err(S3Error::from)
            .and_then(|()| {
                // Each key is judged on its own, as AWS does.
                if !super::access::allowed_object(
                    state,
                    &req,
                    action,
                    &o.key,
                    o.version_id.as_deref(),
                )? {
                    return Err(S3Error::new(S3ErrorCode::AccessDenied));
                }
                let last_modified_secs = match o.last_modified_time.as_deref() {
                    None => None,
                    // The model says an HTTP date (botocore sends one); ISO 8601 is taken too.
                    Some(t) => Some(seconds(
                        xml::parse_iso8601(t)
                            .or_else(|| http_date_ms(t))
                            .ok_or_else(|| {
                                S3Error::invalid_argument(format!(
                                    "Invalid LastModifiedTime: {t:?}"
                                ))
                            })?,
                    )),
                };
                Ok(DeleteTarget {
                    key: o.key.clone(),
                    version_id: o.version_id.clone(),
                    conditions: DeleteConditions {
                        if_match: o.etag.as_deref().map(unquoted_etag),
                        last_modified_secs,
                        size: o
                            .size
                            .as_deref()
                            .map(|s| parse_size(s, "Size"))
                            .transpose()?,
                    },
                })
            });
        match target {
            Ok(t) => {
                results.push(None);
                targets.push(t);
            }
            Err(e) => results.push(Some(Err(e))),
        }
    }
    let mut done = state
        .store
        .delete_objects(&req.bucket, targets, bypass, req.now)
        .await?
        .into_iter();
    let mut w = XmlWriter::new("DeleteResult");
    for (o, pre) in doc.objects.iter().zip(results) {
        let r = match pre {
            Some(r) => r,
            None => match done.next() {
                Some(r) => r.map_err(S3Error::from),
                None => Err(S3Error::new(S3ErrorCode::InternalError)),
            },
        };
        match r {
            Ok(out) => {
                if quiet {
                    continue;
                }
                w.open("Deleted").elem("Key", &o.key);
                if let Some(v) = &o.version_id {
                    w.elem("VersionId", v);
                }
                if out.delete_marker {
                    w.elem("DeleteMarker", "true");
                    if let Some(v) = out.version_id.as_deref().filter(|_| o.version_id.is_none()) {
                        w.elem("DeleteMarkerVersionId", v);
                    }
                }
                w.close("Deleted");
            }
            Err(e) => {
                w.open("Error").elem("Key", &o.key);
                if let Some(v) = &o.version_id {
                    w.elem("VersionId", v);
                }
                w.elem("Code", e.code.as_str())
                    .elem("Message", &e.message)
                    .close("Error");
            }
        }
    }
    Ok(xml_response(w.finish("DeleteResult")))
}
