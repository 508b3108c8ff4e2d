//! CORS: Put/Get/DeleteBucketCors, the browser's preflight (`OPTIONS`), and the
//! `Access-Control-*` headers on the answers to cross-origin requests.
//!
//! A bucket's configuration is a list of rules (`AllowedOrigin` with at most one `*`,
//! `AllowedMethod` among GET PUT POST DELETE HEAD, `AllowedHeader` with at most one `*`,
//! `ExposeHeader`, `MaxAgeSeconds`); the first rule that matches the origin, the method and
//! (for a preflight) every requested header answers. A preflight is not signed (browsers send
//! none), so it is answered before authentication and reveals only the matching rule.

use http::{HeaderMap, HeaderValue, Method, StatusCode};
use serde::Deserialize;

use super::checksum::read_document;
use super::error::{S3Error, S3ErrorCode, S3Result};
use super::xml::{self, XmlWriter};
use super::{S3Api, S3Request, S3Response, empty_response, xml_response};

/// AWS's limit on rules per configuration.
const MAX_RULES: usize = 100;

const METHODS: [&str; 5] = ["GET", "PUT", "POST", "DELETE", "HEAD"];

#[derive(Debug, Deserialize)]
struct CorsConfigurationXml {
    #[serde(rename = "CORSRule", default)]
    rules: Vec<CorsRule>,
}

impl xml::RequestDocument for CorsConfigurationXml {
    const ROOT: &'static str = "CORSConfiguration";
}

/// One CORS rule.
#[derive(Debug, Clone, Deserialize)]
pub struct CorsRule {
    #[serde(rename = "ID")]
    id: Option<String>,
    #[serde(rename = "AllowedOrigin", default)]
    origins: Vec<String>,
    #[serde(rename = "AllowedMethod", default)]
    methods: Vec<String>,
    #[serde(rename = "AllowedHeader", default)]
    headers: Vec<String>,
    #[serde(rename = "ExposeHeader", default)]
    expose: Vec<String>,
    #[serde(rename = "MaxAgeSeconds")]
    max_age: Option<u64>,
}

/// Whether `value` matches `pattern`, which may hold one `*` (ASCII case-insensitive when
/// `fold`).
fn wildcard(pattern: &str, value: &str, fold: bool) -> bool {
    let (p, v) = if fold {
        (pattern.to_ascii_lowercase(), value.to_ascii_lowercase())
    } else {
        (pattern.to_string(), value.to_string())
    };
    match p.split_once('*') {
        None => p == v,
        Some((head, tail)) => {
            v.len() >= head.len() + tail.len() && v.starts_with(head) && v.ends_with(tail)
        }
    }
}

/// Parses and checks a configuration document.
fn parse(body: &[u8]) -> S3Result<Vec<CorsRule>> {
    let doc: CorsConfigurationXml = xml::parse(body)?;
    if doc.rules.is_empty() || doc.rules.len() > MAX_RULES {
        return Err(S3Error::new(S3ErrorCode::MalformedXML));
    }
    for r in &doc.rules {
        if r.origins.is_empty() || r.methods.is_empty() {
            return Err(S3Error::new(S3ErrorCode::MalformedXML));
        }
        if let Some(m) = r.methods.iter().find(|m| !METHODS.contains(&m.as_str())) {
            return Err(S3Error::invalid_request(format!(
                "Found unsupported HTTP method in CORS config. Unsupported method is {m}"
            )));
        }
        for (what, list) in [("AllowedOrigin", &r.origins), ("AllowedHeader", &r.headers)] {
            if let Some(bad) = list.iter().find(|v| v.matches('*').count() > 1) {
                return Err(S3Error::invalid_request(format!(
                    "{what} \"{bad}\" can not have more than one wildcard."
                )));
            }
        }
    }
    Ok(doc.rules)
}

/// A `CORSConfiguration` document, checked and rendered as it is stored (for the fuzz targets).
pub(crate) fn check_and_render(body: &[u8]) -> S3Result<String> {
    parse(body).map(|rules| render(&rules))
}

fn render(rules: &[CorsRule]) -> String {
    let mut w = XmlWriter::new("CORSConfiguration");
    for r in rules {
        w.open("CORSRule");
        w.elem_opt("ID", r.id.as_deref());
        for h in &r.headers {
            w.elem("AllowedHeader", h);
        }
        for m in &r.methods {
            w.elem("AllowedMethod", m);
        }
        for o in &r.origins {
            w.elem("AllowedOrigin", o);
        }
        for e in &r.expose {
            w.elem("ExposeHeader", e);
        }
        if let Some(a) = r.max_age {
            w.elem("MaxAgeSeconds", &a.to_string());
        }
        w.close("CORSRule");
    }
    w.finish("CORSConfiguration")
}

pub async fn put(state: &S3Api, mut req: S3Request) -> S3Result<S3Response> {
    state.store.bucket(&req.bucket)?;
    let body = read_document(&mut req, 64 * 1024).await?;
    let rules = parse(&body)?;
    state
        .store
        .set_s3_cors(&req.bucket, Some(render(&rules)))
        .await?;
    Ok(empty_response(StatusCode::OK))
}

pub async fn get(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    state.store.bucket(&req.bucket)?;
    match state.store.s3_cors(&req.bucket)? {
        Some(doc) => Ok(xml_response(doc)),
        None => Err(S3Error::new(S3ErrorCode::NoSuchCORSConfiguration)),
    }
}

pub async fn delete(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    state.store.bucket(&req.bucket)?;
    state.store.set_s3_cors(&req.bucket, None).await?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}

/// The bucket's rules (none when it has no configuration, or it cannot be read).
fn rules_of(state: &S3Api, bucket: &str) -> Option<Vec<CorsRule>> {
    let doc = state.store.s3_cors(bucket).ok()??;
    parse(doc.as_bytes()).ok()
}

/// The first rule allowing `origin` to use `method` (and send `headers`).
fn matching<'a>(
    rules: &'a [CorsRule],
    origin: &str,
    method: &str,
    headers: &[String],
) -> Option<&'a CorsRule> {
    rules.iter().find(|r| {
        r.origins.iter().any(|o| wildcard(o, origin, false))
            && r.methods.iter().any(|m| m == method)
            && headers
                .iter()
                .all(|h| r.headers.iter().any(|a| wildcard(a, h, true)))
    })
}

/// The `Access-Control-*` headers a matching rule answers with.
fn allow_headers(rule: &CorsRule, origin: &str, requested: &[String], out: &mut HeaderMap) {
    let mut set = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            out.insert(name, v);
        }
    };
    let any_origin = rule.origins.iter().any(|o| o == "*");
    set(
        "access-control-allow-origin",
        if any_origin { "*" } else { origin },
    );
    if !any_origin {
        set("access-control-allow-credentials", "true");
    }
    set("access-control-allow-methods", &rule.methods.join(", "));
    if !requested.is_empty() {
        set("access-control-allow-headers", &requested.join(", "));
    }
    if !rule.expose.is_empty() {
        set("access-control-expose-headers", &rule.expose.join(", "));
    }
    if let Some(a) = rule.max_age {
        set("access-control-max-age", &a.to_string());
    }
}

/// Answers a preflight (`OPTIONS`) for `bucket`; not authenticated.
pub fn preflight(state: &S3Api, bucket: &str, headers: &HeaderMap) -> S3Result<S3Response> {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let Some(origin) = header("origin") else {
        return Err(S3Error::with_message(
            S3ErrorCode::BadRequest,
            "Insufficient information. Origin request header needed.",
        ));
    };
    let Some(method) = header("access-control-request-method") else {
        return Err(S3Error::with_message(
            S3ErrorCode::BadRequest,
            "Invalid Access-Control-Request-Method: null",
        ));
    };
    state.store.bucket(bucket)?;
    let requested: Vec<String> = header("access-control-request-headers")
        .unwrap_or_default()
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    let Some(rules) = rules_of(state, bucket) else {
        return Err(S3Error::with_message(
            S3ErrorCode::AccessForbidden,
            "CORSResponse: CORS is not enabled for this bucket.",
        ));
    };
    let Some(rule) = matching(&rules, origin, method, &requested) else {
        return Err(S3Error::with_message(
            S3ErrorCode::AccessForbidden,
            "CORSResponse: This CORS request is not allowed. This is usually because the \
             evalution of Origin, request method / Access-Control-Request-Method or \
             Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
        ));
    };
    let mut resp = empty_response(StatusCode::OK);
    let h = resp.headers_mut();
    allow_headers(rule, origin, &requested, h);
    h.insert(
        http::header::VARY,
        HeaderValue::from_static(
            "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
        ),
    );
    Ok(resp)
}

/// The CORS headers for the answer to a cross-origin request (one with an `Origin`) on
/// `bucket`: empty when the bucket has no rule for it.
pub fn response_headers(state: &S3Api, bucket: &str, method: &Method, origin: &str) -> HeaderMap {
    let mut out = HeaderMap::new();
    if let Some(rules) = rules_of(state, bucket)
        && let Some(rule) = matching(&rules, origin, method.as_str(), &[])
    {
        allow_headers(rule, origin, &[], &mut out);
        out.insert(http::header::VARY, HeaderValue::from_static("Origin"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_match_origins_methods_and_headers() {
        let rules = parse(
            br#"<CORSConfiguration><CORSRule><AllowedOrigin>https://*.example.com</AllowedOrigin>
            <AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod>
            <AllowedHeader>x-amz-*</AllowedHeader><ExposeHeader>ETag</ExposeHeader>
            <MaxAgeSeconds>60</MaxAgeSeconds></CORSRule>
            <CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>HEAD</AllowedMethod></CORSRule>
            </CORSConfiguration>"#,
        )
        .unwrap();
        let h = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(
            matching(
                &rules,
                "https://app.example.com",
                "PUT",
                &h(&["x-amz-date"])
            )
            .is_some()
        );
        assert!(
            matching(
                &rules,
                "https://app.example.com",
                "PUT",
                &h(&["authorization"])
            )
            .is_none()
        );
        assert!(matching(&rules, "http://app.example.com", "GET", &[]).is_none());
        assert!(matching(&rules, "https://anything.org", "HEAD", &[]).is_some());
        assert!(matching(&rules, "https://anything.org", "DELETE", &[]).is_none());
        let mut out = HeaderMap::new();
        allow_headers(
            &rules[0],
            "https://app.example.com",
            &h(&["x-amz-date"]),
            &mut out,
        );
        assert_eq!(
            out["access-control-allow-origin"],
            "https://app.example.com"
        );
        assert_eq!(out["access-control-allow-methods"], "GET, PUT");
        assert_eq!(out["access-control-max-age"], "60");
        // Rendering and parsing again keeps the rules.
        assert_eq!(parse(render(&rules).as_bytes()).unwrap().len(), 2);
    }

    #[test]
    fn bad_configurations_are_refused() {
        let code = |s: &str| parse(s.as_bytes()).unwrap_err().code;
        assert_eq!(code("<CORSConfiguration/>"), S3ErrorCode::MalformedXML);
        assert_eq!(
            code(
                "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod></CORSRule></CORSConfiguration>"
            ),
            S3ErrorCode::InvalidRequest
        );
        assert_eq!(
            code(
                "<CORSConfiguration><CORSRule><AllowedOrigin>*.*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>"
            ),
            S3ErrorCode::InvalidRequest
        );
        assert_eq!(
            code(
                "<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>"
            ),
            S3ErrorCode::MalformedXML
        );
    }
}
