//! `lakegate presign`: URLs and browser upload forms signed with an access key, made offline
//! (nothing is sent to the gateway; the signature is checked when the URL or form is used).
//!
//! - `presign get|put BUCKET KEY`: a SigV4 query-signed URL that GETs or PUTs one object until
//!   it expires (at most 7 days, as on AWS).
//! - `presign post --bucket B --key K`: a POST Object form (AWS's browser-based upload): the
//!   policy document (expiry, bucket, key or key prefix for `${filename}`, size range, redirect
//!   or status, content type) and its SigV4 signature, printed as JSON (`url` and `fields`, like
//!   boto3's `generate_presigned_post`) or with `--html` as a page holding the form.
//!
//! The key signs with the permissions it has at the time of use: a URL or form grants nothing
//! the signing key could not do itself.

use std::time::{Duration, SystemTime};

use aws_sigv4::sign::v4::{calculate_signature, generate_signing_key};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::json;

use super::CliError;
use super::connection::{GatewayArgs, Side};

use crate::auth::presign::{MAX_EXPIRY, PresignKey};

#[derive(clap::Subcommand, Debug)]
pub enum PresignCommand {
    /// A URL that downloads one object (GET) until it expires.
    Get(UrlArgs),
    /// A URL that uploads one object (PUT, body = the object) until it expires.
    Put(UrlArgs),
    /// A browser upload form (POST Object) with a signed policy.
    Post(PostArgs),
}

#[derive(clap::Args, Debug)]
pub struct UrlArgs {
    pub bucket: String,
    pub key: String,
    /// How long the URL works (e.g. 10m, 1h, 7d; at most 7d).
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub expires: Duration,
    #[command(flatten)]
    pub gateway: GatewayArgs,
}

#[derive(clap::Args, Debug)]
pub struct PostArgs {
    #[arg(long)]
    pub bucket: String,
    /// The object key. `${filename}` is replaced by the uploaded file's name; the policy then
    /// allows any key that starts with what comes before it.
    #[arg(long)]
    pub key: String,
    /// How long the form works (e.g. 10m, 1h, 7d; at most 7d).
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub expires: Duration,
    /// Smallest accepted file, in bytes.
    #[arg(long, default_value_t = 0)]
    pub min_size: u64,
    /// Largest accepted file, in bytes (a larger one is refused with EntityTooLarge).
    #[arg(long, default_value_t = 5 * 1024 * 1024 * 1024)]
    pub max_size: u64,
    /// Where the browser goes after a successful upload (a 303; bucket, key and etag are added
    /// to the URL's query).
    #[arg(long, conflicts_with = "success_status")]
    pub redirect: Option<String>,
    /// The status of a successful upload's answer: 200 or 204 (empty) or 201 (an XML
    /// document). Without this or --redirect the answer is 204, and a browser stays on the
    /// form.
    #[arg(long, value_parser = ["200", "201", "204"])]
    pub success_status: Option<String>,
    /// The Content-Type stored with the object (fixed by the policy).
    #[arg(long)]
    pub content_type: Option<String>,
    /// Print an HTML page with the form instead of JSON.
    #[arg(long)]
    pub html: bool,
    #[command(flatten)]
    pub gateway: GatewayArgs,
}

/// A lifetime: `lakegate server`'s interval syntax (`30s`, `10m`, `1h`, `7d`), at most 7 days.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = super::server::parse_interval(s)?;
    if d > MAX_EXPIRY {
        return Err("must be at most 7d".into());
    }
    Ok(d)
}

pub fn run(cmd: PresignCommand) -> Result<std::process::ExitCode, CliError> {
    let now = SystemTime::now();
    let out = match cmd {
        PresignCommand::Get(a) => presigned_url("GET", &a, now)?,
        PresignCommand::Put(a) => presigned_url("PUT", &a, now)?,
        PresignCommand::Post(a) => {
            let (url, fields) = post_form(&a, now)?;
            if a.html {
                html_page(&url, &fields)
            } else {
                serde_json::to_string_pretty(&json!({
                    "url": url,
                    "fields": fields.iter().cloned().collect::<serde_json::Map<String, serde_json::Value>>(),
                }))?
            }
        }
    };
    println!("{out}");
    Ok(std::process::ExitCode::SUCCESS)
}

fn endpoint(gateway: &GatewayArgs) -> Result<String, CliError> {
    let e = gateway.endpoint.trim_end_matches('/');
    if !(e.starts_with("http://") || e.starts_with("https://")) {
        return Err(CliError::Usage(format!(
            "invalid endpoint {e:?} (expected http://host:port)"
        )));
    }
    Ok(e.to_string())
}

/// `bucket/key` as a path-style URL, the key percent-encoded as S3 encodes keys (`/` kept).
fn object_url(endpoint: &str, bucket: &str, key: &str) -> String {
    format!("{endpoint}/{bucket}/{}", crate::s3::list::url_encode(key))
}

/// A SigV4 query-signed URL for `method` on one object.
fn presigned_url(method: &str, a: &UrlArgs, now: SystemTime) -> Result<String, CliError> {
    let root = a.gateway.root.resolve(Side::Client);
    let url = object_url(&endpoint(&a.gateway)?, &a.bucket, &a.key);
    let key = PresignKey {
        access_key: &root.access_key,
        secret_key: &root.secret_key,
        region: &a.gateway.region,
    };
    crate::auth::presign::presigned_url(method, &url, &key, a.expires, now)
        .map_err(|e| CliError::Usage(e.to_string()))
}

/// The form's action URL and its fields, in the order a form must send them (the file last).
fn post_form(
    a: &PostArgs,
    now: SystemTime,
) -> Result<(String, Vec<(String, serde_json::Value)>), CliError> {
    if a.min_size > a.max_size {
        return Err(CliError::Usage(
            "--min-size is larger than --max-size".into(),
        ));
    }
    let root = a.gateway.root.resolve(Side::Client);
    let time: DateTime<Utc> = now.into();
    let date = time.format("%Y%m%d").to_string();
    let amz_date = time.format("%Y%m%dT%H%M%SZ").to_string();
    let credential = format!(
        "{}/{date}/{}/s3/aws4_request",
        root.access_key, a.gateway.region
    );
    let expiration = (time + chrono::Duration::from_std(a.expires).unwrap_or_default())
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    let mut fields: Vec<(String, String)> = vec![("key".into(), a.key.clone())];
    let mut conditions = vec![json!({"bucket": a.bucket})];
    match a.key.split_once("${filename}") {
        Some((prefix, _)) => conditions.push(json!(["starts-with", "$key", prefix])),
        None => conditions.push(json!({"key": a.key})),
    }
    if let Some(t) = &a.content_type {
        fields.push(("Content-Type".into(), t.clone()));
        conditions.push(json!({"Content-Type": t}));
    }
    if let Some(r) = &a.redirect {
        fields.push(("success_action_redirect".into(), r.clone()));
        conditions.push(json!({"success_action_redirect": r}));
    }
    if let Some(s) = &a.success_status {
        fields.push(("success_action_status".into(), s.clone()));
        conditions.push(json!({"success_action_status": s}));
    }
    conditions.push(json!(["content-length-range", a.min_size, a.max_size]));
    for (name, value) in [
        ("x-amz-algorithm", "AWS4-HMAC-SHA256"),
        ("x-amz-credential", credential.as_str()),
        ("x-amz-date", amz_date.as_str()),
    ] {
        fields.push((name.into(), value.into()));
        conditions.push(json!({ name: value }));
    }
    let policy = json!({"expiration": expiration, "conditions": conditions}).to_string();
    let policy = base64::engine::general_purpose::STANDARD.encode(policy);
    let key = generate_signing_key(&root.secret_key, now, &a.gateway.region, "s3");
    let signature = calculate_signature(key, policy.as_bytes());
    fields.push(("policy".into(), policy));
    fields.push(("x-amz-signature".into(), signature));
    let url = format!("{}/{}", endpoint(&a.gateway)?, a.bucket);
    Ok((
        url,
        fields
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect(),
    ))
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A page holding the form: the signed fields (hidden), then the file picker and a button
/// (without a name, so it is not sent as a field the policy does not allow).
fn html_page(url: &str, fields: &[(String, serde_json::Value)]) -> String {
    let mut page = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Upload</title></head><body>\n",
    );
    page.push_str(&format!(
        "<form id=\"upload\" action=\"{}\" method=\"post\" enctype=\"multipart/form-data\">\n",
        html_escape(url)
    ));
    for (name, value) in fields {
        page.push_str(&format!(
            "  <input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
            html_escape(name),
            html_escape(value.as_str().unwrap_or_default())
        ));
    }
    page.push_str("  <input type=\"file\" name=\"file\" id=\"file\">\n");
    page.push_str(
        "  <button type=\"submit\" id=\"submit\">Upload</button>\n</form>\n</body></html>",
    );
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("7d"), Ok(MAX_EXPIRY));
        assert!(parse_duration("8d").is_err());
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("1w").is_err());
    }

    #[test]
    fn pages_escape_what_they_hold() {
        let page = html_page(
            "http://h/b",
            &[(
                "success_action_redirect".into(),
                serde_json::Value::String("http://x/?a=1&b=\"<2>\"".into()),
            )],
        );
        assert!(page.contains("value=\"http://x/?a=1&amp;b=&quot;&lt;2&gt;&quot;\""));
        let file = page.find("name=\"file\"").unwrap();
        assert!(page.find("success_action_redirect").unwrap() < file);
    }
}
