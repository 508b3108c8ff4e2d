//! Object tagging: GetObjectTagging, PutObjectTagging, DeleteObjectTagging.

use http::StatusCode;

use super::checksum::read_document;
use super::error::S3Result;
use super::xml::{self, XmlWriter, validate_tags};
use super::{S3Api, S3Request, S3Response, empty_response, get, set_header, xml_response};

pub async fn get_tagging(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    let (bucket, v) = get::resolve_version(&state.store, &req)?;
    let mut w = XmlWriter::new("Tagging");
    w.open("TagSet");
    for (k, val) in &v.tags {
        w.open("Tag").elem("Key", k).elem("Value", val).close("Tag");
    }
    w.close("TagSet");
    let mut resp = xml_response(w.finish("Tagging"));
    if bucket.versioning != crate::store::Versioning::Unversioned {
        set_header(resp.headers_mut(), "x-amz-version-id", &v.version_id);
    }
    Ok(resp)
}

pub async fn put_tagging(state: &S3Api, mut req: S3Request) -> S3Result<S3Response> {
    let body = read_document(&mut req, 64 * 1024).await?;
    let doc: xml::TaggingXml = xml::parse(&body)?;
    let tags = validate_tags(
        doc.tag_set
            .tags
            .into_iter()
            .map(|t| (t.key, t.value))
            .collect(),
    )?;
    set_tags(state, req, tags, StatusCode::OK).await
}

pub async fn delete_tagging(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    set_tags(state, req, Vec::new(), StatusCode::NO_CONTENT).await
}

async fn set_tags(
    state: &S3Api,
    req: S3Request,
    tags: Vec<(String, String)>,
    status: StatusCode,
) -> S3Result<S3Response> {
    let v = state
        .update_named_version(&req, move |v| {
            v.tags = tags;
            Ok(())
        })
        .await?;
    let mut resp = empty_response(status);
    if v.version_id != "null" || req.query.has("versionId") {
        set_header(resp.headers_mut(), "x-amz-version-id", &v.version_id);
    }
    Ok(resp)
}
