//! What every console request must pass besides its session: the login rate limit, the
//! same-origin checks (an exact `Origin`, and `Sec-Fetch-Site` when the browser sends it), the
//! CSRF token on state-changing requests, and the security headers on every answer.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderValue, Method, header};
use subtle::ConstantTimeEq;

use crate::sync::lock;

/// Failed logins allowed per client address within [`WINDOW`].
pub const MAX_FAILURES: u32 = 10;
/// The window failed logins are counted in.
pub const WINDOW: Duration = Duration::from_secs(300);
/// Client addresses tracked at most (the oldest window goes first).
const MAX_CLIENTS: usize = 10_000;

/// Failed logins per client address (IPv6 clients by their /64: one host holds many).
///
/// Every attempt counts when it starts ([`attempt`](Self::attempt)) and is forgiven when it
/// succeeds, so parallel guesses cannot all pass before the first failure is counted.
#[derive(Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

/// The address a client is counted under.
fn counted_as(client: IpAddr) -> IpAddr {
    match client {
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(client, IpAddr::V4),
        v4 => v4,
    }
}

impl LoginLimiter {
    /// Counts a login attempt of `client`: `Err(retry after)` while it has used up its
    /// attempts within the window.
    pub fn attempt(&self, client: IpAddr) -> Result<(), Duration> {
        let client = counted_as(client);
        let mut map = lock(&self.failures);
        if map.len() >= MAX_CLIENTS && !map.contains_key(&client) {
            map.retain(|_, (_, since)| since.elapsed() < WINDOW);
            if map.len() >= MAX_CLIENTS
                && let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, (_, since))| *since)
                    .map(|(k, _)| *k)
            {
                map.remove(&oldest);
            }
        }
        let e = map.entry(client).or_insert((0, Instant::now()));
        if e.1.elapsed() >= WINDOW {
            *e = (0, Instant::now());
        }
        if e.0 >= MAX_FAILURES {
            return Err(WINDOW.saturating_sub(e.1.elapsed()));
        }
        e.0 += 1;
        Ok(())
    }

    /// A login of `client` succeeded: its count starts again.
    pub fn succeeded(&self, client: IpAddr) {
        lock(&self.failures).remove(&counted_as(client));
    }
}

/// Whether a request comes from the console's own pages: `Origin`, when present, must be the
/// console's origin (scheme and `Host`); `Sec-Fetch-Site`, when present, `same-origin` or
/// `none`. (SameSite=Strict still sends the cookie from same-site origins, such as the S3 port
/// on the same host, which serves objects.)
pub fn same_origin(headers: &HeaderMap, tls: bool) -> bool {
    if let Some(site) = headers.get("sec-fetch-site")
        && !matches!(site.as_bytes(), b"same-origin" | b"none")
    {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let scheme = if tls { "https" } else { "http" };
    origin.as_bytes() == format!("{scheme}://{host}").as_bytes()
}

/// Whether a state-changing request carries the session's CSRF token (`X-CSRF-Token`) and an
/// `Origin` (browsers send one on every non-GET fetch and form post).
pub fn csrf_ok(method: &Method, headers: &HeaderMap, csrf: &str) -> bool {
    if matches!(*method, Method::GET | Method::HEAD) {
        return true;
    }
    let token = headers
        .get("x-csrf-token")
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    headers.contains_key(header::ORIGIN) && bool::from(token.ct_eq(csrf.as_bytes()))
}

/// The security headers of every console answer (a stricter policy already set, such as an
/// object download's sandbox, is kept).
pub fn secure_headers(h: &mut HeaderMap) {
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limiter_refuses_after_ten_failures() {
        let l = LoginLimiter::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..MAX_FAILURES {
            assert!(l.attempt(ip).is_ok());
        }
        assert!(l.attempt(ip).is_err());
        assert!(l.attempt("10.0.0.2".parse().unwrap()).is_ok());
        // One IPv6 /64 is one client.
        for i in 0..MAX_FAILURES {
            assert!(
                l.attempt(format!("2001:db8::{i:x}").parse().unwrap())
                    .is_ok()
            );
        }
        assert!(l.attempt("2001:db8::ffff".parse().unwrap()).is_err());
        assert!(l.attempt("2001:db8:0:1::1".parse().unwrap()).is_ok());
        // A success forgives.
        l.succeeded("10.0.0.2".parse().unwrap());
        assert_eq!(
            lock(&l.failures).get(&"10.0.0.2".parse::<IpAddr>().unwrap()),
            None
        );
    }

    #[test]
    fn origins_and_tokens() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:9001"));
        assert!(same_origin(&h, false));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:9001"),
        );
        assert!(same_origin(&h, false));
        assert!(!same_origin(&h, true));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:9000"),
        );
        assert!(!same_origin(&h, false));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:9001"),
        );
        h.insert("sec-fetch-site", HeaderValue::from_static("same-site"));
        assert!(!same_origin(&h, false));
        h.insert("x-csrf-token", HeaderValue::from_static("tok"));
        assert!(csrf_ok(&Method::POST, &h, "tok"));
        assert!(!csrf_ok(&Method::POST, &h, "other"));
        assert!(csrf_ok(&Method::GET, &HeaderMap::new(), "tok"));
        assert!(!csrf_ok(&Method::DELETE, &HeaderMap::new(), "tok"));
    }
}
