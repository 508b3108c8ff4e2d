//! S3 XML: a small writer for response documents and the typed request documents (parsed with
//! quick-xml's serde support). Every malformed request document is `MalformedXML`.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::error::{S3Error, S3ErrorCode, S3Result, xml_escape};
use crate::store::Millis;

pub const S3_NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

/// Builds an XML response document.
pub struct XmlWriter {
    buf: String,
}

impl XmlWriter {
    /// Starts a document whose root element carries the S3 namespace.
    pub fn new(root: &str) -> Self {
        let mut buf = String::with_capacity(1024);
        buf.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<");
        buf.push_str(root);
        buf.push_str(" xmlns=\"");
        buf.push_str(S3_NS);
        buf.push_str("\">");
        XmlWriter { buf }
    }

    pub fn open(&mut self, name: &str) -> &mut Self {
        self.buf.push('<');
        self.buf.push_str(name);
        self.buf.push('>');
        self
    }

    pub fn close(&mut self, name: &str) -> &mut Self {
        self.buf.push_str("</");
        self.buf.push_str(name);
        self.buf.push('>');
        self
    }

    /// `<name>text</name>`, text escaped.
    pub fn elem(&mut self, name: &str, text: &str) -> &mut Self {
        self.open(name);
        self.buf.push_str(&xml_escape(text));
        self.close(name)
    }

    pub fn elem_opt(&mut self, name: &str, text: Option<&str>) -> &mut Self {
        if let Some(t) = text {
            self.elem(name, t);
        }
        self
    }

    /// Raw, pre-escaped markup.
    pub fn raw(&mut self, markup: &str) -> &mut Self {
        self.buf.push_str(markup);
        self
    }

    pub fn finish(mut self, root: &str) -> String {
        self.close(root);
        self.buf
    }
}

/// Parses an ISO 8601 / RFC 3339 timestamp (as in `RetainUntilDate`).
pub fn parse_iso8601(s: &str) -> Option<Millis> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|d| d.timestamp_millis())
}

/// The last instant an HTTP date can name (9999-12-31T23:59:59.999Z).
const MAX_HTTP_DATE_MS: Millis = 253_402_300_799_999;

/// HTTP date (`Last-Modified`), second precision. Times before 1970 or after 9999 (only a damaged
/// or foreign record holds one) are clamped to the range an HTTP date can express.
pub fn http_date(ms: Millis) -> String {
    let ms = ms.clamp(0, MAX_HTTP_DATE_MS) as u64;
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms))
}

/// A request document: its type and the name its root element must have.
pub trait RequestDocument: DeserializeOwned {
    /// The root element's name, as AWS names it (no prefix; the S3 namespace is optional).
    const ROOT: &'static str;
}

/// Parses a request document of type `T`. The body must be UTF-8 (an optional BOM aside) and
/// hold exactly one root element named [`RequestDocument::ROOT`], with no namespace or the S3
/// one; an XML declaration, comments and whitespace may surround it. Anything else — another
/// root name, a second root, text or a processing instruction outside the root, a `DOCTYPE` or
/// `ENTITY` declaration anywhere, a character XML 1.0 does not allow (NUL and the other C0
/// controls but tab, LF and CR; U+FFFE, U+FFFF) — is `MalformedXML`, as is a document that
/// fails to parse.
pub fn parse<T: RequestDocument>(body: &[u8]) -> S3Result<T> {
    let malformed = |why: &str| {
        tracing::debug!(root = T::ROOT, why, "malformed XML request body");
        S3Error::new(S3ErrorCode::MalformedXML)
    };
    let text = std::str::from_utf8(body).map_err(|_| malformed("not UTF-8"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(malformed("empty"));
    }
    // quick-xml passes these through; lakegate could not write them back (a tag key with a NUL
    // would make GetObjectTagging's answer unparseable).
    if text.chars().any(|c| {
        matches!(c, '\0'..='\x08' | '\x0b' | '\x0c' | '\x0e'..='\x1f' | '\u{fffe}' | '\u{ffff}')
    }) {
        return Err(malformed("a character XML 1.0 does not allow"));
    }
    check_document(text, T::ROOT).map_err(malformed)?;
    quick_xml::de::from_str(text).map_err(|e| {
        tracing::debug!(root = T::ROOT, error = %e, "malformed XML request body");
        S3Error::new(S3ErrorCode::MalformedXML)
    })
}

/// Whether `needle` (ASCII) occurs in `hay`, ignoring ASCII case.
fn contains_ignore_case(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// The document's outline: one root element named `root`, only a declaration, comments and
/// whitespace around it, no DTD. Returns why not.
pub(super) fn check_document(text: &str, root: &str) -> Result<(), &'static str> {
    use quick_xml::events::Event;

    // DTDs are never valid in a request document; refuse them before any parsing (also inside
    // comments or CDATA, where no S3 document needs them).
    if contains_ignore_case(text.as_bytes(), b"<!DOCTYPE")
        || contains_ignore_case(text.as_bytes(), b"<!ENTITY")
    {
        return Err("DTD or entity declaration");
    }
    let mut reader = quick_xml::Reader::from_str(text);
    let mut depth: usize = 0;
    let mut seen_root = false;
    let mut seen_decl = false;
    loop {
        let event = reader.read_event().map_err(|_| "not well-formed")?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) if depth == 0 => {
                if seen_root {
                    return Err("more than one root element");
                }
                seen_root = true;
                if e.name().as_ref() != root.as_bytes() {
                    return Err("wrong root element");
                }
                for attr in e.attributes() {
                    let attr = attr.map_err(|_| "malformed attribute")?;
                    if attr.key.as_ref() == b"xmlns" && attr.value.as_ref() != S3_NS.as_bytes() {
                        return Err("root element in another namespace");
                    }
                }
                if matches!(event, Event::Start(_)) {
                    depth = 1;
                }
            }
            Event::Start(_) => depth += 1,
            Event::End(_) => depth = depth.checked_sub(1).ok_or("unbalanced end tag")?,
            Event::Empty(_) => {}
            Event::Text(ref t) if depth == 0 => {
                if !t.iter().all(u8::is_ascii_whitespace) {
                    return Err("text outside the root element");
                }
            }
            Event::Decl(_) => {
                if seen_decl || seen_root || depth != 0 {
                    return Err("misplaced XML declaration");
                }
                seen_decl = true;
            }
            Event::Comment(_) => {}
            Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) if depth > 0 => {}
            Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => {
                return Err("content outside the root element");
            }
            Event::PI(_) => return Err("processing instruction"),
            Event::DocType(_) => return Err("DTD"),
            Event::Eof => break,
        }
    }
    if !seen_root {
        return Err("no root element");
    }
    if depth != 0 {
        return Err("unclosed element");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Request documents

#[derive(Debug, Deserialize, Default)]
pub struct CreateBucketConfiguration {
    #[serde(rename = "LocationConstraint")]
    pub location_constraint: Option<String>,
}

impl RequestDocument for CreateBucketConfiguration {
    const ROOT: &'static str = "CreateBucketConfiguration";
}

#[derive(Debug, Deserialize)]
pub struct VersioningConfiguration {
    #[serde(rename = "Status")]
    pub status: Option<String>,
    #[serde(rename = "MfaDelete")]
    pub mfa_delete: Option<String>,
}

impl RequestDocument for VersioningConfiguration {
    const ROOT: &'static str = "VersioningConfiguration";
}

#[derive(Debug, Deserialize)]
pub struct DefaultRetentionXml {
    #[serde(rename = "Mode")]
    pub mode: Option<String>,
    #[serde(rename = "Days")]
    pub days: Option<String>,
    #[serde(rename = "Years")]
    pub years: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ObjectLockRule {
    #[serde(rename = "DefaultRetention")]
    pub default_retention: Option<DefaultRetentionXml>,
}

#[derive(Debug, Deserialize)]
pub struct ObjectLockConfiguration {
    #[serde(rename = "ObjectLockEnabled")]
    pub object_lock_enabled: Option<String>,
    #[serde(rename = "Rule")]
    pub rule: Option<ObjectLockRule>,
}

impl RequestDocument for ObjectLockConfiguration {
    const ROOT: &'static str = "ObjectLockConfiguration";
}

#[derive(Debug, Deserialize)]
pub struct ApplySseByDefaultXml {
    #[serde(rename = "SSEAlgorithm")]
    pub sse_algorithm: String,
    #[serde(rename = "KMSMasterKeyID")]
    pub kms_master_key_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SseRuleXml {
    #[serde(rename = "ApplyServerSideEncryptionByDefault")]
    pub apply: Option<ApplySseByDefaultXml>,
    #[serde(rename = "BucketKeyEnabled")]
    pub bucket_key_enabled: Option<String>,
}

/// PutBucketEncryption's document.
#[derive(Debug, Deserialize)]
pub struct ServerSideEncryptionConfigurationXml {
    #[serde(rename = "Rule", default)]
    pub rules: Vec<SseRuleXml>,
}

impl RequestDocument for ServerSideEncryptionConfigurationXml {
    const ROOT: &'static str = "ServerSideEncryptionConfiguration";
}

#[derive(Debug, Deserialize)]
pub struct RetentionXml {
    #[serde(rename = "Mode")]
    pub mode: Option<String>,
    #[serde(rename = "RetainUntilDate")]
    pub retain_until_date: Option<String>,
}

impl RequestDocument for RetentionXml {
    const ROOT: &'static str = "Retention";
}

#[derive(Debug, Deserialize)]
pub struct LegalHoldXml {
    #[serde(rename = "Status")]
    pub status: Option<String>,
}

impl RequestDocument for LegalHoldXml {
    const ROOT: &'static str = "LegalHold";
}

#[derive(Debug, Deserialize)]
pub struct TagXml {
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "Value", default)]
    pub value: String,
}

#[derive(Debug, Deserialize, Default)]
pub struct TagSetXml {
    #[serde(rename = "Tag", default)]
    pub tags: Vec<TagXml>,
}

#[derive(Debug, Deserialize)]
pub struct TaggingXml {
    #[serde(rename = "TagSet")]
    pub tag_set: TagSetXml,
}

impl RequestDocument for TaggingXml {
    const ROOT: &'static str = "Tagging";
}

#[derive(Debug, Deserialize)]
pub struct DeleteObjectXml {
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "VersionId")]
    pub version_id: Option<String>,
    /// Conditional delete: only if the object's ETag is this (or `*`: it exists).
    #[serde(rename = "ETag")]
    pub etag: Option<String>,
    /// Conditional delete: only if the object was last modified at this time (ISO 8601).
    #[serde(rename = "LastModifiedTime")]
    pub last_modified_time: Option<String>,
    /// Conditional delete: only if the object has this size.
    #[serde(rename = "Size")]
    pub size: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct DeleteXml {
    #[serde(rename = "Quiet")]
    pub quiet: Option<String>,
    #[serde(rename = "Object", default)]
    pub objects: Vec<DeleteObjectXml>,
}

impl RequestDocument for DeleteXml {
    const ROOT: &'static str = "Delete";
}

#[derive(Debug, Deserialize)]
pub struct CompletePartXml {
    #[serde(rename = "PartNumber")]
    pub part_number: String,
    #[serde(rename = "ETag")]
    pub etag: Option<String>,
    #[serde(rename = "ChecksumCRC32")]
    pub checksum_crc32: Option<String>,
    #[serde(rename = "ChecksumCRC32C")]
    pub checksum_crc32c: Option<String>,
    #[serde(rename = "ChecksumCRC64NVME")]
    pub checksum_crc64nvme: Option<String>,
    #[serde(rename = "ChecksumSHA1")]
    pub checksum_sha1: Option<String>,
    #[serde(rename = "ChecksumSHA256")]
    pub checksum_sha256: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct CompleteMultipartUploadXml {
    #[serde(rename = "Part", default)]
    pub parts: Vec<CompletePartXml>,
}

impl RequestDocument for CompleteMultipartUploadXml {
    const ROOT: &'static str = "CompleteMultipartUpload";
}

/// Tags from `x-amz-tagging` (URL query encoded) or a Tagging document, validated per AWS:
/// at most 10 tags, keys 1..=128 chars, values ≤ 256, unique keys.
pub fn validate_tags(tags: Vec<(String, String)>) -> S3Result<Vec<(String, String)>> {
    validate_tags_up_to(tags, 10)
}

/// Tag validation with an explicit limit (10 per object, 50 per bucket).
pub fn validate_tags_up_to(
    tags: Vec<(String, String)>,
    max: usize,
) -> S3Result<Vec<(String, String)>> {
    let bad = |m: &str| {
        Err(S3Error::with_message(
            S3ErrorCode::InvalidTag,
            m.to_string(),
        ))
    };
    if tags.len() > max {
        return bad(&format!("Cannot have more than {max} tags"));
    }
    for (i, (k, v)) in tags.iter().enumerate() {
        if k.is_empty() || k.chars().count() > 128 {
            return bad("The TagKey you have provided is invalid");
        }
        if v.chars().count() > 256 {
            return bad("The TagValue you have provided is invalid");
        }
        if tags[..i].iter().any(|(k2, _)| k2 == k) {
            return bad("Cannot provide multiple Tags with the same key");
        }
    }
    // Kept (and answered) in key order, as AWS answers a tag set.
    let mut tags = tags;
    tags.sort();
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_complete_multipart() {
        let doc = r#"<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
            <Part><PartNumber>1</PartNumber><ETag>"a"</ETag></Part>
            <Part><ETag>"b"</ETag><PartNumber>2</PartNumber><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part>
        </CompleteMultipartUpload>"#;
        let c: CompleteMultipartUploadXml = parse(doc.as_bytes()).unwrap();
        assert_eq!(c.parts.len(), 2);
        assert_eq!(c.parts[1].part_number, "2");
        assert_eq!(c.parts[1].checksum_crc32.as_deref(), Some("AAAAAA=="));
    }

    #[test]
    fn parses_delete_and_tagging() {
        let d: DeleteXml = parse(
            b"<Delete><Quiet>true</Quiet><Object><Key>a</Key></Object><Object><Key>b</Key><VersionId>v</VersionId></Object></Delete>",
        )
        .unwrap();
        assert_eq!(d.objects.len(), 2);
        assert_eq!(d.quiet.as_deref(), Some("true"));
        let t: TaggingXml =
            parse(b"<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>")
                .unwrap();
        assert_eq!(t.tag_set.tags[0].key, "k");
        let empty: TaggingXml = parse(b"<Tagging><TagSet></TagSet></Tagging>").unwrap();
        assert!(empty.tag_set.tags.is_empty());
    }

    #[test]
    fn malformed_is_malformed_xml() {
        let e = parse::<DeleteXml>(b"<Delete><Object>").unwrap_err();
        assert_eq!(e.code, S3ErrorCode::MalformedXML);
        assert_eq!(
            parse::<DeleteXml>(b"").unwrap_err().code,
            S3ErrorCode::MalformedXML
        );
    }

    fn code<T: RequestDocument + std::fmt::Debug>(doc: &str) -> Option<S3ErrorCode> {
        parse::<T>(doc.as_bytes()).err().map(|e| e.code)
    }

    #[test]
    fn roots_are_strict() {
        let m = Some(S3ErrorCode::MalformedXML);
        let ok = "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>";
        assert_eq!(code::<VersioningConfiguration>(ok), None);
        for good in [
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{ok}\n"),
            format!("\u{feff}<!-- c -->\n{ok}<!-- after -->\r\n\t"),
            format!(
                "<VersioningConfiguration xmlns=\"{S3_NS}\"><Status>Enabled</Status></VersioningConfiguration>"
            ),
        ] {
            assert_eq!(code::<VersioningConfiguration>(&good), None, "{good}");
        }
        for bad in [
            "<Foo><Status>Enabled</Status></Foo>".to_string(),
            "<versioningconfiguration><Status>Enabled</Status></versioningconfiguration>".into(),
            "<s3:VersioningConfiguration xmlns:s3=\"http://s3.amazonaws.com/doc/2006-03-01/\"><s3:Status>Enabled</s3:Status></s3:VersioningConfiguration>".into(),
            "<VersioningConfiguration xmlns=\"urn:other\"><Status>Enabled</Status></VersioningConfiguration>".into(),
            format!("{ok}{ok}"),
            format!("{ok}<Foo/>"),
            format!("{ok}junk"),
            format!("junk{ok}"),
            format!("{ok}<![CDATA[x]]>"),
            format!("{ok}&amp;"),
            format!("{ok}<?pi x?>"),
            format!("<?xml version=\"1.0\"?><?xml version=\"1.0\"?>{ok}"),
            format!("{ok}<?xml version=\"1.0\"?>"),
            format!("<!DOCTYPE VersioningConfiguration>{ok}"),
            "<!DOCTYPE x [<!ENTITY e \"Enabled\">]><VersioningConfiguration><Status>&e;</Status></VersioningConfiguration>".into(),
            format!("<!doctype VersioningConfiguration>{ok}"),
            format!("{ok}<!-- <!ENTITY x 'y'> -->"),
            "<VersioningConfiguration><Status>Enabled</Status>".into(),
            "<VersioningConfiguration><Status>&e;</Status></VersioningConfiguration>".into(),
            "<!-- only a comment -->".into(),
        ] {
            assert_eq!(code::<VersioningConfiguration>(&bad), m, "{bad}");
        }
        assert_eq!(
            parse::<VersioningConfiguration>(
                b"<VersioningConfiguration>\xff</VersioningConfiguration>"
            )
            .unwrap_err()
            .code,
            S3ErrorCode::MalformedXML
        );
        // Each document's own root.
        assert_eq!(
            code::<DeleteXml>("<Delete><Object><Key>a</Key></Object></Delete>"),
            None
        );
        assert_eq!(
            code::<DeleteXml>("<Tagging><Object><Key>a</Key></Object></Tagging>"),
            m
        );
        assert_eq!(code::<TaggingXml>("<Delete><TagSet></TagSet></Delete>"), m);
        assert_eq!(
            code::<LegalHoldXml>("<LegalHold><Status>ON</Status></LegalHold>"),
            None
        );
        assert_eq!(
            code::<LegalHoldXml>("<Retention><Status>ON</Status></Retention>"),
            m
        );
        assert_eq!(
            code::<RetentionXml>("<Retention><Mode>GOVERNANCE</Mode></Retention>"),
            None
        );
        assert_eq!(
            code::<CreateBucketConfiguration>("<CreateBucketConfiguration/>"),
            None
        );
        assert_eq!(code::<CreateBucketConfiguration>("<Create/>"), m);
        assert_eq!(
            code::<CompleteMultipartUploadXml>("<CompleteMultipartUpload/>"),
            None
        );
        assert_eq!(
            code::<ObjectLockConfiguration>(
                "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>"
            ),
            None
        );
    }

    #[test]
    fn writer_escapes() {
        let mut w = XmlWriter::new("R");
        w.elem("Key", "a&b");
        assert!(w.finish("R").ends_with("<Key>a&amp;b</Key></R>"));
        assert_eq!(
            crate::clock::iso8601(0, crate::clock::Fraction::Millis),
            "1970-01-01T00:00:00.000Z"
        );
        assert_eq!(
            parse_iso8601("2030-01-01T00:00:00Z"),
            Some(1_893_456_000_000)
        );
    }

    /// Found by the `xml_documents` fuzz target: a raw NUL in a tag key was accepted, and the
    /// Tagging document lakegate writes for it (`&#x0;`) does not parse.
    #[test]
    fn fuzz_regression_control_characters_are_malformed() {
        let doc = b"<Tagging><TagSet><Tag><Key>k\0\0</Key><Value></Value></Tag></TagSet></Tagging>";
        assert_eq!(
            parse::<TaggingXml>(doc).unwrap_err().code,
            S3ErrorCode::MalformedXML
        );
        for c in ['\u{1}', '\u{1f}', '\u{fffe}', '\u{ffff}'] {
            let doc = format!("<Delete><Object><Key>a{c}</Key></Object></Delete>");
            assert_eq!(
                parse::<DeleteXml>(doc.as_bytes()).unwrap_err().code,
                S3ErrorCode::MalformedXML
            );
        }
        // Tab, LF and CR stay allowed, and round-trip through the writer.
        let t: TaggingXml = parse(
            b"<Tagging><TagSet><Tag><Key>a\tb</Key><Value>v</Value></Tag></TagSet></Tagging>",
        )
        .unwrap();
        assert_eq!(t.tag_set.tags[0].key, "a\tb");
    }

    /// Found by the `headers` fuzz target: `Last-Modified` of a record dated after year 9999
    /// panicked in `httpdate`.
    #[test]
    fn fuzz_regression_http_date_out_of_range() {
        assert_eq!(
            http_date(695_163_331_000_000),
            "Fri, 31 Dec 9999 23:59:59 GMT"
        );
        assert_eq!(http_date(i64::MAX), "Fri, 31 Dec 9999 23:59:59 GMT");
        assert_eq!(http_date(-5), "Thu, 01 Jan 1970 00:00:00 GMT");
    }
}
