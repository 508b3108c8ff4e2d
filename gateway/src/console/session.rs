//! Console sessions: opaque, server-side, in memory (they end when the process does).
//!
//! A login with any long-lived key (root, a user, a user's access key) creates a session: a
//! random 32-byte cookie value (only its SHA-256 is kept), the access key, an HMAC of the key's
//! secret under a per-process key (so a rotated secret ends the session), a CSRF token, and its
//! creation and last-use times. A session ends at logout, after [`Sessions::ttl`] since login,
//! after [`Sessions::idle`] without a request, or when its key's secret changes or the key is
//! disabled or removed (checked on every request by the console, see `mod.rs`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use ring::rand::SecureRandom;
use subtle::ConstantTimeEq;

use crate::sync::lock;

/// Sessions kept at most; the least recently used goes first.
const MAX_SESSIONS: usize = 10_000;

/// What a request learns from its session.
#[derive(Debug, Clone)]
pub struct SessionView {
    pub access_key: String,
    pub csrf: String,
    /// HMAC of the key's secret at login.
    secret_tag: Vec<u8>,
    pub expires_in: Duration,
}

struct Session {
    access_key: String,
    secret_tag: Vec<u8>,
    csrf: String,
    created: Instant,
    last_seen: Instant,
}

/// The console's sessions.
pub struct Sessions {
    map: Mutex<HashMap<[u8; 32], Session>>,
    key: ring::hmac::Key,
    rng: ring::rand::SystemRandom,
    /// Absolute lifetime.
    pub ttl: Duration,
    /// Idle lifetime.
    pub idle: Duration,
}

#[derive(Debug, thiserror::Error)]
#[error("no random bytes from the operating system")]
pub struct NoRandom;

fn digest(cookie: &str) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, cookie.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

impl Sessions {
    pub fn new(ttl: Duration, idle: Duration) -> Result<Sessions, NoRandom> {
        let rng = ring::rand::SystemRandom::new();
        let key = ring::hmac::Key::generate(ring::hmac::HMAC_SHA256, &rng).map_err(|_| NoRandom)?;
        Ok(Sessions {
            map: Mutex::new(HashMap::new()),
            key,
            rng,
            ttl,
            idle,
        })
    }

    fn random(&self) -> Result<String, NoRandom> {
        let mut b = [0u8; 32];
        self.rng.fill(&mut b).map_err(|_| NoRandom)?;
        Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
    }

    /// The tag a session keeps of a key's secret.
    pub fn secret_tag(&self, secret: &str) -> Vec<u8> {
        ring::hmac::sign(&self.key, secret.as_bytes())
            .as_ref()
            .to_vec()
    }

    /// Whether `secret` is the one the session was opened with (constant time).
    pub fn same_secret(&self, view: &SessionView, secret: &str) -> bool {
        view.secret_tag.ct_eq(&self.secret_tag(secret)).into()
    }

    /// Opens a session for `access_key`; answers the cookie value and the CSRF token.
    pub fn create(&self, access_key: &str, secret: &str) -> Result<(String, String), NoRandom> {
        let cookie = self.random()?;
        let csrf = self.random()?;
        let now = Instant::now();
        let mut map = lock(&self.map);
        map.retain(|_, s| self.alive(s, now));
        if map.len() >= MAX_SESSIONS
            && let Some(oldest) = map.iter().min_by_key(|(_, s)| s.last_seen).map(|(k, _)| *k)
        {
            map.remove(&oldest);
        }
        map.insert(
            digest(&cookie),
            Session {
                access_key: access_key.to_string(),
                secret_tag: self.secret_tag(secret),
                csrf: csrf.clone(),
                created: now,
                last_seen: now,
            },
        );
        Ok((cookie, csrf))
    }

    fn alive(&self, s: &Session, now: Instant) -> bool {
        now.duration_since(s.created) < self.ttl && now.duration_since(s.last_seen) < self.idle
    }

    /// The live session of a cookie value (its last use becomes now).
    pub fn get(&self, cookie: &str) -> Option<SessionView> {
        let now = Instant::now();
        let key = digest(cookie);
        let mut map = lock(&self.map);
        let alive = map.get(&key).is_some_and(|s| self.alive(s, now));
        if !alive {
            map.remove(&key);
            return None;
        }
        let s = map.get_mut(&key)?;
        s.last_seen = now;
        Some(SessionView {
            access_key: s.access_key.clone(),
            csrf: s.csrf.clone(),
            secret_tag: s.secret_tag.clone(),
            expires_in: self.ttl.saturating_sub(now.duration_since(s.created)),
        })
    }

    /// Ends a session.
    pub fn remove(&self, cookie: &str) {
        lock(&self.map).remove(&digest(cookie));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_and_end() {
        let s = Sessions::new(Duration::from_secs(60), Duration::from_millis(50)).unwrap();
        let (cookie, csrf) = s.create("ak", "secret").unwrap();
        let v = s.get(&cookie).unwrap();
        assert_eq!(v.access_key, "ak");
        assert_eq!(v.csrf, csrf);
        assert!(s.same_secret(&v, "secret"));
        assert!(!s.same_secret(&v, "rotated"));
        assert!(s.get("forged").is_none());
        std::thread::sleep(Duration::from_millis(80));
        assert!(s.get(&cookie).is_none(), "idle expiry");
        let (cookie, _) = s.create("ak", "secret").unwrap();
        s.remove(&cookie);
        assert!(s.get(&cookie).is_none(), "logout");
    }
}
