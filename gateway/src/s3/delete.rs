//! DeleteObject and DeleteObjects.

use http::StatusCode;

use super::checksum::read_document;
use super::error::{S3Error, S3ErrorCode, S3Result};
use super::xml::{self, XmlWriter};
use super::{S3Api, S3Request, S3Response, empty_response, headers, set_header, xml_response};

pub async fn delete_object(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    if req.headers.contains_key(http::header::IF_MATCH) {
        return Err(S3Error::not_implemented(
            "Conditional DeleteObject (If-Match)",
        ));
    }
    let bypass = headers::bypass_governance(&req.headers);
    let outcome = state
        .store
        .delete_object(
            &req.bucket,
            &req.key,
            req.query.get("versionId"),
            bypass,
            req.now,
        )
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
        match crate::store::check_object_key(&o.key) {
            Ok(()) => {
                results.push(None);
                targets.push((o.key.clone(), o.version_id.clone()));
            }
            Err(e) => results.push(Some(Err(e.into()))),
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
