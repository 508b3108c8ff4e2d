//! The XML request documents (`s3::xml::parse` and what the handlers do with the result):
//! CreateBucketConfiguration, VersioningConfiguration, ObjectLockConfiguration (and its default
//! retention), Retention, LegalHold, Tagging (and the tag rules), Delete,
//! CompleteMultipartUpload, LifecycleConfiguration (and its translation to the lifecycle
//! plugin's configuration) and AccessControlPolicy. The first input byte picks the document, the
//! rest is the body.
//!
//! Checked beyond "no panic" (round trips through lakegate's own XML writer):
//! - Tagging, Delete and CompleteMultipartUpload: a parsed document, written back with
//!   `XmlWriter`, parses to the same values (escaping and parsing agree);
//! - Retention: a retain-until date, formatted as lakegate writes it, parses to the same instant;
//! - LifecycleConfiguration: a translation, rendered back as XML (GetBucketLifecycleConfiguration)
//!   and translated again, is the same translation;
//! - AccessControlPolicy: parsed grants, written back as Get{Bucket,Object}Acl writes them, parse
//!   to the same owner and grants.

use lakegate::clock::{Fraction, iso8601};
use lakegate::fuzzing::{default_retention, lifecycle_render, lifecycle_translate};
use lakegate::s3::acl;
use lakegate::s3::xml::{
    CompleteMultipartUploadXml, CreateBucketConfiguration, DeleteXml, LegalHoldXml,
    ObjectLockConfiguration, RetentionXml, TaggingXml, VersioningConfiguration, XmlWriter, parse,
    parse_iso8601, validate_tags, validate_tags_up_to,
};

fn tagging(body: &[u8]) {
    let Ok(doc) = parse::<TaggingXml>(body) else {
        return;
    };
    let tags: Vec<(String, String)> = doc
        .tag_set
        .tags
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect();
    let _ = validate_tags(tags.clone());
    let _ = validate_tags_up_to(tags.clone(), 50);
    let mut w = XmlWriter::new("Tagging");
    w.open("TagSet");
    for (k, v) in &tags {
        w.open("Tag").elem("Key", k).elem("Value", v).close("Tag");
    }
    w.close("TagSet");
    let again = parse::<TaggingXml>(w.finish("Tagging").as_bytes())
        .expect("a written Tagging document does not parse");
    let again: Vec<(String, String)> = again
        .tag_set
        .tags
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect();
    assert_eq!(tags, again, "tags change through the XML writer");
}

fn delete(body: &[u8]) {
    let Ok(doc) = parse::<DeleteXml>(body) else {
        return;
    };
    let objects: Vec<(String, Option<String>)> = doc
        .objects
        .into_iter()
        .map(|o| (o.key, o.version_id))
        .collect();
    let mut w = XmlWriter::new("Delete");
    w.elem_opt("Quiet", doc.quiet.as_deref());
    for (k, v) in &objects {
        w.open("Object")
            .elem("Key", k)
            .elem_opt("VersionId", v.as_deref())
            .close("Object");
    }
    let again = parse::<DeleteXml>(w.finish("Delete").as_bytes())
        .expect("a written Delete document does not parse");
    assert_eq!(again.quiet, doc.quiet);
    let again: Vec<(String, Option<String>)> = again
        .objects
        .into_iter()
        .map(|o| (o.key, o.version_id))
        .collect();
    assert_eq!(objects, again, "keys change through the XML writer");
}

fn complete_multipart(body: &[u8]) {
    let Ok(doc) = parse::<CompleteMultipartUploadXml>(body) else {
        return;
    };
    let fields = |d: &CompleteMultipartUploadXml| -> Vec<Vec<Option<String>>> {
        d.parts
            .iter()
            .map(|p| {
                vec![
                    Some(p.part_number.clone()),
                    p.etag.clone(),
                    p.checksum_crc32.clone(),
                    p.checksum_crc32c.clone(),
                    p.checksum_crc64nvme.clone(),
                    p.checksum_sha1.clone(),
                    p.checksum_sha256.clone(),
                ]
            })
            .collect()
    };
    let mut w = XmlWriter::new("CompleteMultipartUpload");
    for p in &doc.parts {
        w.open("Part")
            .elem("PartNumber", &p.part_number)
            .elem_opt("ETag", p.etag.as_deref())
            .elem_opt("ChecksumCRC32", p.checksum_crc32.as_deref())
            .elem_opt("ChecksumCRC32C", p.checksum_crc32c.as_deref())
            .elem_opt("ChecksumCRC64NVME", p.checksum_crc64nvme.as_deref())
            .elem_opt("ChecksumSHA1", p.checksum_sha1.as_deref())
            .elem_opt("ChecksumSHA256", p.checksum_sha256.as_deref())
            .close("Part");
    }
    let again = parse::<CompleteMultipartUploadXml>(w.finish("CompleteMultipartUpload").as_bytes())
        .expect("a written CompleteMultipartUpload document does not parse");
    assert_eq!(
        fields(&doc),
        fields(&again),
        "parts change through the XML writer"
    );
}

fn lifecycle(body: &[u8]) {
    let Ok(config) = lifecycle_translate(body) else {
        return;
    };
    let xml = lifecycle_render(&config);
    match lifecycle_translate(xml.as_bytes()) {
        Ok(again) => assert_eq!(
            config, again,
            "the lifecycle translation changes through Get and Put\n{xml}"
        ),
        Err(e) => panic!(
            "the rendered lifecycle configuration is refused: {:?} {}\n{xml}",
            e.code, e.message
        ),
    }
}

/// Runs one input (what libFuzzer hands the `xml_documents` binary).
pub fn run(data: &[u8]) {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    match which % 10 {
        0 => {
            let _ = parse::<CreateBucketConfiguration>(body);
        }
        1 => {
            let _ = parse::<VersioningConfiguration>(body);
        }
        2 => {
            if let Ok(doc) = parse::<ObjectLockConfiguration>(body) {
                let _ = default_retention(doc);
            }
        }
        3 => {
            if let Ok(doc) = parse::<RetentionXml>(body)
                && let Some(ms) = doc.retain_until_date.as_deref().and_then(parse_iso8601)
                && (0..=253_402_300_799_999).contains(&ms)
            {
                // A retention date reads back as written (GetObjectRetention, then Put again).
                assert_eq!(parse_iso8601(&iso8601(ms, Fraction::Millis)), Some(ms));
            }
        }
        4 => {
            let _ = parse::<LegalHoldXml>(body);
        }
        5 => tagging(body),
        6 => delete(body),
        7 => complete_multipart(body),
        8 => lifecycle(body),
        _ => access_control_policy(body),
    }
}

fn access_control_policy(body: &[u8]) {
    let Ok((owner, grants)) = acl::parse_policy(body, &|_| true) else {
        return;
    };
    let owner = owner.unwrap_or_else(|| "owner".to_string());
    let written = acl::write_policy(&owner, &grants, &|id| id.to_string());
    let (again_owner, again) = acl::parse_policy(written.as_bytes(), &|_| true)
        .expect("a written AccessControlPolicy does not parse");
    assert_eq!(again_owner.as_deref(), Some(owner.as_str()));
    assert_eq!(grants, again, "grants change through the ACL writer");
}
