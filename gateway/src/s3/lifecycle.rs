//! Put/Get/DeleteBucketLifecycleConfiguration: S3's lifecycle XML, translated to the
//! configuration of the builtin lifecycle plugin (`plugins/lifecycle`), which the lifecycle
//! scanner then runs like any binding.
//!
//! - The translation is checked by the plugin itself (its `configure`) before anything is
//!   stored: a configuration the plugin refuses is answered `InvalidArgument` with its message.
//! - Transitions (storage classes) are not supported: `NotImplemented`.
//! - A bucket whose lifecycle is governed by a binding file in the policies directory refuses
//!   S3 configurations (`InvalidRequest`): the operator's binding wins, and a stored setting is
//!   always an enforced one.
//! - Get answers the stored configuration, re-rendered from the translation.

use http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::checksum::read_document;
use super::error::{S3Error, S3ErrorCode, S3Result};
use super::xml::{self, TagXml, XmlWriter};
use super::{S3Api, S3Request, S3Response, empty_response, xml_response};
use crate::policy::PolicyKind;

/// S3's limit on rules per configuration.
const MAX_RULES: usize = 1000;

#[derive(Debug, Deserialize)]
struct LifecycleConfigurationXml {
    #[serde(rename = "Rule", default)]
    rules: Vec<RuleXml>,
}

impl xml::RequestDocument for LifecycleConfigurationXml {
    const ROOT: &'static str = "LifecycleConfiguration";
}

#[derive(Debug, Deserialize)]
struct RuleXml {
    #[serde(rename = "ID")]
    id: Option<String>,
    #[serde(rename = "Status")]
    status: Option<String>,
    /// The legacy (pre-Filter) prefix.
    #[serde(rename = "Prefix")]
    prefix: Option<String>,
    #[serde(rename = "Filter")]
    filter: Option<FilterXml>,
    #[serde(rename = "Expiration")]
    expiration: Option<ExpirationXml>,
    #[serde(rename = "NoncurrentVersionExpiration")]
    noncurrent: Option<NoncurrentXml>,
    #[serde(rename = "AbortIncompleteMultipartUpload")]
    abort: Option<AbortXml>,
    #[serde(rename = "Transition", default)]
    transitions: Vec<TransitionXml>,
    #[serde(rename = "NoncurrentVersionTransition", default)]
    noncurrent_transitions: Vec<serde::de::IgnoredAny>,
}

/// A transition to another storage class: checked, then refused as not supported.
#[derive(Debug, Deserialize)]
struct TransitionXml {
    #[serde(rename = "Date")]
    date: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
struct FilterXml {
    #[serde(rename = "Prefix")]
    prefix: Option<String>,
    #[serde(rename = "Tag")]
    tag: Option<TagXml>,
    #[serde(rename = "ObjectSizeGreaterThan")]
    size_gt: Option<u64>,
    #[serde(rename = "ObjectSizeLessThan")]
    size_lt: Option<u64>,
    #[serde(rename = "And")]
    and: Option<AndXml>,
}

#[derive(Debug, Deserialize, Default)]
struct AndXml {
    #[serde(rename = "Prefix")]
    prefix: Option<String>,
    #[serde(rename = "Tag", default)]
    tags: Vec<TagXml>,
    #[serde(rename = "ObjectSizeGreaterThan")]
    size_gt: Option<u64>,
    #[serde(rename = "ObjectSizeLessThan")]
    size_lt: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct ExpirationXml {
    #[serde(rename = "Days")]
    days: Option<u32>,
    #[serde(rename = "Date")]
    date: Option<String>,
    #[serde(rename = "ExpiredObjectDeleteMarker")]
    expired_object_delete_marker: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct NoncurrentXml {
    #[serde(rename = "NoncurrentDays")]
    noncurrent_days: Option<u32>,
    #[serde(rename = "NewerNoncurrentVersions")]
    newer_noncurrent_versions: Option<u32>,
}

#[derive(Debug, Deserialize)]
struct AbortXml {
    #[serde(rename = "DaysAfterInitiation")]
    days_after_initiation: Option<u32>,
}

fn invalid(msg: impl Into<String>) -> S3Error {
    S3Error::with_message(S3ErrorCode::InvalidArgument, msg)
}

fn malformed(msg: impl Into<String>) -> S3Error {
    S3Error::with_message(S3ErrorCode::MalformedXML, msg)
}

/// A rule's `Date`: ISO 8601, at midnight GMT (as AWS requires).
fn check_midnight(date: &str) -> S3Result<()> {
    let t = chrono::DateTime::parse_from_rfc3339(date.trim())
        .map_err(|_| invalid(format!("Invalid Date {date:?}: expected ISO 8601")))?
        .with_timezone(&chrono::Utc);
    if t.time() != chrono::NaiveTime::MIN {
        return Err(invalid("'Date' must be at midnight GMT"));
    }
    Ok(())
}

/// An ID for a rule put without one (AWS assigns one too): 32 random hex digits.
fn generated_id() -> String {
    format!("{:032x}", uuid::Uuid::new_v4().as_u128())
}

/// Translates one rule to the lifecycle plugin's JSON.
fn translate_rule(i: usize, r: RuleXml) -> S3Result<Value> {
    let mut rule = Map::new();
    if let Some(id) = r.id.filter(|s| !s.is_empty()) {
        if id.len() > 255 {
            return Err(invalid(format!(
                "Rule {i}: ID is longer than 255 characters"
            )));
        }
        rule.insert("id".into(), json!(id));
    }
    let status = match r.status.as_deref() {
        Some("Enabled") => "Enabled",
        Some("Disabled") => "Disabled",
        _ => {
            return Err(malformed(format!(
                "Rule {i}: Status must be Enabled or Disabled"
            )));
        }
    };
    rule.insert("status".into(), json!(status));
    for t in &r.transitions {
        if let Some(d) = &t.date {
            check_midnight(d)?;
        }
    }
    if let Some(d) = r.expiration.as_ref().and_then(|e| e.date.as_deref()) {
        check_midnight(d)?;
    }
    if !r.transitions.is_empty() || !r.noncurrent_transitions.is_empty() {
        return Err(S3Error::with_message(
            S3ErrorCode::NotImplemented,
            "Lifecycle transitions (storage classes) are not supported.",
        ));
    }
    let mut filter = Map::new();
    let mut tags = Map::new();
    match (r.prefix, r.filter) {
        (Some(_), Some(_)) => {
            return Err(malformed(format!(
                "Rule {i}: use Filter or Prefix, not both"
            )));
        }
        // The legacy rule-level prefix stays one (so Get answers what was put).
        (Some(p), None) => {
            rule.insert("prefix".into(), json!(p));
        }
        (None, Some(f)) => {
            let set = [
                f.prefix.is_some(),
                f.tag.is_some(),
                f.size_gt.is_some(),
                f.size_lt.is_some(),
                f.and.is_some(),
            ]
            .iter()
            .filter(|b| **b)
            .count();
            if set > 1 {
                return Err(malformed(format!(
                    "Rule {i}: a Filter holds one condition; combine several with And"
                )));
            }
            let (prefix, tag_list, gt, lt) = match f.and {
                Some(a) => (a.prefix, a.tags, a.size_gt, a.size_lt),
                None => (f.prefix, f.tag.into_iter().collect(), f.size_gt, f.size_lt),
            };
            if let Some(p) = prefix {
                filter.insert("prefix".into(), json!(p));
            }
            for t in tag_list {
                if tags.insert(t.key.clone(), json!(t.value)).is_some() {
                    return Err(invalid(format!("Rule {i}: duplicate tag key {:?}", t.key)));
                }
            }
            if let Some(n) = gt {
                filter.insert("object_size_greater_than".into(), json!(n));
            }
            if let Some(n) = lt {
                filter.insert("object_size_less_than".into(), json!(n));
            }
        }
        (None, None) => {}
    }
    if !tags.is_empty() {
        filter.insert("tags".into(), Value::Object(tags));
    }
    if !filter.is_empty() {
        rule.insert("filter".into(), Value::Object(filter));
    }
    if let Some(e) = r.expiration {
        let mut exp = Map::new();
        if let Some(d) = e.days {
            exp.insert("days".into(), json!(d));
        }
        if let Some(d) = e.date {
            exp.insert("date".into(), json!(d));
        }
        if let Some(m) = e.expired_object_delete_marker {
            exp.insert("expired_object_delete_marker".into(), json!(m));
        }
        rule.insert("expiration".into(), Value::Object(exp));
    }
    if let Some(n) = r.noncurrent {
        let mut nc = Map::new();
        if let Some(d) = n.noncurrent_days {
            nc.insert("noncurrent_days".into(), json!(d));
        }
        if let Some(v) = n.newer_noncurrent_versions {
            nc.insert("newer_noncurrent_versions".into(), json!(v));
        }
        rule.insert("noncurrent_version_expiration".into(), Value::Object(nc));
    }
    if let Some(a) = r.abort {
        let Some(d) = a.days_after_initiation else {
            return Err(malformed(format!(
                "Rule {i}: AbortIncompleteMultipartUpload needs DaysAfterInitiation"
            )));
        };
        rule.insert(
            "abort_incomplete_multipart_upload".into(),
            json!({ "days_after_initiation": d }),
        );
    }
    Ok(Value::Object(rule))
}

/// Translates a `LifecycleConfiguration` document to the lifecycle plugin's configuration.
pub(crate) fn translate(body: &[u8]) -> S3Result<Value> {
    let doc: LifecycleConfigurationXml = xml::parse(body)?;
    if doc.rules.is_empty() {
        return Err(malformed(
            "a lifecycle configuration needs at least one Rule",
        ));
    }
    if doc.rules.len() > MAX_RULES {
        return Err(invalid(format!("at most {MAX_RULES} rules")));
    }
    let mut ids = std::collections::BTreeSet::new();
    let mut rules = Vec::with_capacity(doc.rules.len());
    for (i, r) in doc.rules.into_iter().enumerate() {
        let rule = translate_rule(i + 1, r)?;
        if let Some(id) = rule.get("id").and_then(Value::as_str)
            && !ids.insert(id.to_string())
        {
            return Err(invalid(format!("Rule ID {id:?} is used twice")));
        }
        rules.push(rule);
    }
    Ok(json!({ "rules": rules }))
}

/// Renders a stored translation back as S3 XML.
pub(crate) fn render(config: &Value) -> String {
    let s = |v: &Value, k: &str| {
        v.get(k).map(|x| match x {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    };
    let mut w = XmlWriter::new("LifecycleConfiguration");
    for r in config["rules"].as_array().into_iter().flatten() {
        w.open("Rule");
        w.elem_opt("ID", s(r, "id").as_deref());
        if let Some(p) = s(r, "prefix") {
            w.elem("Prefix", &p);
        }
        let f = &r["filter"];
        let tags: Vec<(String, String)> = f["tags"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let conds = [
            "prefix",
            "object_size_greater_than",
            "object_size_less_than",
        ]
        .iter()
        .filter(|k| f.get(**k).is_some())
        .count()
            + tags.len();
        let legacy = r.get("prefix").is_some();
        if !legacy {
            w.open("Filter");
        }
        if conds > 1 {
            w.open("And");
        }
        w.elem_opt("Prefix", s(f, "prefix").as_deref());
        for (k, v) in &tags {
            w.open("Tag").elem("Key", k).elem("Value", v).close("Tag");
        }
        w.elem_opt(
            "ObjectSizeGreaterThan",
            s(f, "object_size_greater_than").as_deref(),
        );
        w.elem_opt(
            "ObjectSizeLessThan",
            s(f, "object_size_less_than").as_deref(),
        );
        if conds > 1 {
            w.close("And");
        }
        if !legacy {
            w.close("Filter");
        }
        w.elem(
            "Status",
            &s(r, "status").unwrap_or_else(|| "Enabled".into()),
        );
        if let Some(e) = r.get("expiration") {
            w.open("Expiration");
            w.elem_opt("Days", s(e, "days").as_deref());
            w.elem_opt("Date", s(e, "date").as_deref());
            w.elem_opt(
                "ExpiredObjectDeleteMarker",
                s(e, "expired_object_delete_marker").as_deref(),
            );
            w.close("Expiration");
        }
        if let Some(n) = r.get("noncurrent_version_expiration") {
            w.open("NoncurrentVersionExpiration");
            w.elem_opt("NoncurrentDays", s(n, "noncurrent_days").as_deref());
            w.elem_opt(
                "NewerNoncurrentVersions",
                s(n, "newer_noncurrent_versions").as_deref(),
            );
            w.close("NoncurrentVersionExpiration");
        }
        if let Some(a) = r.get("abort_incomplete_multipart_upload") {
            w.open("AbortIncompleteMultipartUpload");
            w.elem_opt(
                "DaysAfterInitiation",
                s(a, "days_after_initiation").as_deref(),
            );
            w.close("AbortIncompleteMultipartUpload");
        }
        w.close("Rule");
    }
    w.finish("LifecycleConfiguration")
}

fn governed_by_binding(state: &S3Api, bucket: &str) -> S3Result<()> {
    if let Some(b) = state.policies.binding(bucket, PolicyKind::Lifecycle) {
        let file = b
            .binding
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidRequest,
            format!(
                "The lifecycle of this bucket is governed by the policy binding {file}; change that binding instead."
            ),
        ));
    }
    Ok(())
}

pub async fn put(state: &S3Api, mut req: S3Request) -> S3Result<S3Response> {
    state.store.bucket(&req.bucket)?;
    let body = read_document(&mut req, 1024 * 1024).await?;
    let mut config = translate(&body)?;
    for rule in config["rules"].as_array_mut().into_iter().flatten() {
        if let Some(r) = rule.as_object_mut()
            && !r.contains_key("id")
        {
            r.insert("id".into(), json!(generated_id()));
        }
    }
    governed_by_binding(state, &req.bucket)?;
    let text = config.to_string();
    // The plugin validates the translation (and the scanner will run exactly this).
    let checker = state.lifecycle.clone();
    let checked = tokio::task::spawn_blocking(move || checker.s3_plugin(&text).map(|_| text))
        .await
        .map_err(|e| S3Error::internal(format!("lifecycle check failed: {e}")))?;
    let text = checked.map_err(|e| invalid(format!("Invalid lifecycle configuration: {e}")))?;
    state
        .store
        .set_s3_lifecycle(&req.bucket, Some(text))
        .await?;
    Ok(empty_response(StatusCode::OK))
}

pub async fn get(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    state.store.bucket(&req.bucket)?;
    let Some(text) = state.store.s3_lifecycle(&req.bucket)? else {
        return Err(S3Error::new(S3ErrorCode::NoSuchLifecycleConfiguration));
    };
    let config: Value = serde_json::from_str(&text)
        .map_err(|e| S3Error::internal(format!("stored lifecycle configuration: {e}")))?;
    Ok(xml_response(render(&config)))
}

pub async fn delete(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    state.store.bucket(&req.bucket)?;
    state.store.set_s3_lifecycle(&req.bucket, None).await?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translates_the_s3_shapes() {
        let doc = br#"<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
          <Rule><ID>logs</ID><Status>Enabled</Status>
            <Filter><And><Prefix>logs/</Prefix><Tag><Key>k</Key><Value>v</Value></Tag>
              <ObjectSizeGreaterThan>10</ObjectSizeGreaterThan></And></Filter>
            <Expiration><Days>30</Days></Expiration>
            <NoncurrentVersionExpiration><NoncurrentDays>7</NoncurrentDays>
              <NewerNoncurrentVersions>2</NewerNoncurrentVersions></NoncurrentVersionExpiration>
            <AbortIncompleteMultipartUpload><DaysAfterInitiation>3</DaysAfterInitiation></AbortIncompleteMultipartUpload>
          </Rule>
          <Rule><Status>Disabled</Status><Prefix>tmp/</Prefix>
            <Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>
        </LifecycleConfiguration>"#;
        let c = translate(doc).unwrap();
        assert_eq!(
            c,
            json!({"rules": [
                {"id": "logs", "status": "Enabled",
                 "filter": {"prefix": "logs/", "tags": {"k": "v"}, "object_size_greater_than": 10},
                 "expiration": {"days": 30},
                 "noncurrent_version_expiration": {"noncurrent_days": 7, "newer_noncurrent_versions": 2},
                 "abort_incomplete_multipart_upload": {"days_after_initiation": 3}},
                {"status": "Disabled", "prefix": "tmp/",
                 "expiration": {"expired_object_delete_marker": true}}
            ]})
        );
        // Rendering and translating again is stable.
        let again = translate(render(&c).as_bytes()).unwrap();
        assert_eq!(again, c);
    }

    #[test]
    fn refuses_what_it_cannot_honour() {
        let t = |s: &str| translate(s.as_bytes()).unwrap_err().code;
        assert_eq!(t("<LifecycleConfiguration/>"), S3ErrorCode::MalformedXML);
        assert_eq!(t("not xml"), S3ErrorCode::MalformedXML);
        // The root must be LifecycleConfiguration (BucketLifecycleConfiguration is the SDK's
        // shape name, not an element), and only one.
        let rule = "<Rule><Status>Enabled</Status><Filter><Prefix>p/</Prefix></Filter>\
                    <Expiration><Days>1</Days></Expiration></Rule>";
        for bad in [
            format!("<BucketLifecycleConfiguration>{rule}</BucketLifecycleConfiguration>"),
            format!(
                "<LifecycleConfiguration>{rule}</LifecycleConfiguration><LifecycleConfiguration/>"
            ),
            format!("<!DOCTYPE l><LifecycleConfiguration>{rule}</LifecycleConfiguration>"),
        ] {
            assert_eq!(t(&bad), S3ErrorCode::MalformedXML, "{bad}");
        }
        assert!(
            translate(
                format!("<LifecycleConfiguration>{rule}</LifecycleConfiguration>").as_bytes()
            )
            .is_ok()
        );
        assert_eq!(
            t("<LifecycleConfiguration><Rule><Status>On</Status></Rule></LifecycleConfiguration>"),
            S3ErrorCode::MalformedXML
        );
        assert_eq!(
            t(
                "<LifecycleConfiguration><Rule><Status>Enabled</Status><Transition><Days>1</Days><StorageClass>GLACIER</StorageClass></Transition></Rule></LifecycleConfiguration>"
            ),
            S3ErrorCode::NotImplemented
        );
        // Dates at midnight GMT only (a transition's too, before it is refused).
        let dated = |action: &str| {
            format!(
                "<LifecycleConfiguration><Rule><Status>Enabled</Status><Prefix/>{action}</Rule></LifecycleConfiguration>"
            )
        };
        assert!(
            translate(
                dated("<Expiration><Date>2030-01-01T00:00:00.000Z</Date></Expiration>").as_bytes()
            )
            .is_ok()
        );
        assert_eq!(
            t(&dated(
                "<Expiration><Date>1970-08-22T19:15:01Z</Date></Expiration>"
            )),
            S3ErrorCode::InvalidArgument
        );
        assert_eq!(
            t(&dated(
                "<Transition><Date>2030-01-01T10:00:00Z</Date><StorageClass>GLACIER</StorageClass></Transition>"
            )),
            S3ErrorCode::InvalidArgument
        );
        assert_eq!(
            t(
                "<LifecycleConfiguration><Rule><ID>a</ID><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule><Rule><ID>a</ID><Status>Enabled</Status><Expiration><Days>2</Days></Expiration></Rule></LifecycleConfiguration>"
            ),
            S3ErrorCode::InvalidArgument
        );
        assert_eq!(
            t(
                "<LifecycleConfiguration><Rule><Status>Enabled</Status><Filter><Prefix>a</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>"
            ),
            S3ErrorCode::MalformedXML
        );
    }
}
