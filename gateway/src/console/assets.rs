//! The console's front end: the files of `gateway/console-ui/`, embedded at build time
//! (`build.rs`), served at `/` (`index.html`) and `/assets/<path>` with a content type, an
//! `ETag` (SHA-256 prefix) and `Cache-Control: no-cache`, so a browser revalidates and gets
//! `304 Not Modified` while the binary is the same.
//!
//! `LAKEGATE_CONSOLE_UI_DIR=<dir>` serves them from a directory instead (read on every
//! request; for working on the front end without rebuilding). Paths are checked to be plain
//! relative paths: nothing outside that directory is ever read.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/console_assets.rs"));
}

/// Where the files come from.
pub struct Assets {
    /// `LAKEGATE_CONSOLE_UI_DIR`, when set.
    dir: Option<PathBuf>,
    /// path → (bytes, etag) of the embedded files.
    embedded: HashMap<&'static str, (&'static [u8], String)>,
}

impl Assets {
    /// The embedded files, or the directory named by `LAKEGATE_CONSOLE_UI_DIR`.
    pub fn from_env() -> Assets {
        let dir = std::env::var_os("LAKEGATE_CONSOLE_UI_DIR")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from);
        if let Some(d) = &dir {
            tracing::warn!(dir = %d.display(), "the console serves its files from a directory (LAKEGATE_CONSOLE_UI_DIR)");
        }
        Assets {
            dir,
            embedded: embedded::FILES
                .iter()
                .map(|(path, bytes)| (*path, (*bytes, etag(bytes))))
                .collect(),
        }
    }

    /// The response for the file at `path` (relative to `console-ui/`).
    pub fn serve(&self, path: &str, request: &HeaderMap) -> Response {
        if !plain_relative(path) {
            return StatusCode::NOT_FOUND.into_response();
        }
        let (bytes, tag): (Body, String) = match &self.dir {
            Some(dir) => match std::fs::read(dir.join(path)) {
                Ok(b) => {
                    let t = etag(&b);
                    (Body::from(b), t)
                }
                Err(_) => return StatusCode::NOT_FOUND.into_response(),
            },
            None => match self.embedded.get(path) {
                Some((b, t)) => (Body::from(*b), t.clone()),
                None => return StatusCode::NOT_FOUND.into_response(),
            },
        };
        let not_modified = request
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
        let mut r = if not_modified {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            Response::new(bytes)
        };
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(content_type(path)),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        if let Ok(v) = HeaderValue::from_str(&tag) {
            h.insert(header::ETAG, v);
        }
        r
    }

    /// The embedded paths (sorted).
    pub fn embedded_paths() -> impl Iterator<Item = &'static str> {
        embedded::FILES.iter().map(|(p, _)| *p)
    }
}

/// The process-wide asset table.
pub fn assets() -> &'static Assets {
    static ASSETS: OnceLock<Assets> = OnceLock::new();
    ASSETS.get_or_init(Assets::from_env)
}

/// `a/b.js`, never `..`, `.hidden`, an absolute path, a backslash or an empty segment.
fn plain_relative(path: &str) -> bool {
    !path.is_empty()
        && path.split('/').all(|seg| {
            !seg.is_empty()
                && !seg.starts_with('.')
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
}

fn etag(bytes: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, bytes);
    format!("\"{}\"", hex::encode(&d.as_ref()[..12]))
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, e)| e) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ui_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("console-ui")
    }

    fn files_on_disk(dir: &std::path::Path, root: &std::path::Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if e.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            if p.is_dir() {
                files_on_disk(&p, root, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }

    #[test]
    fn every_ui_file_is_embedded_and_servable() {
        let mut on_disk = Vec::new();
        files_on_disk(&ui_dir(), &ui_dir(), &mut on_disk);
        on_disk.sort();
        let embedded: Vec<String> = Assets::embedded_paths().map(String::from).collect();
        assert_eq!(on_disk, embedded);
        assert!(embedded.iter().any(|p| p == "index.html"));
        for p in &embedded {
            assert!(plain_relative(p), "{p} would not be served");
        }
    }

    /// Server data is rendered as text: no HTML parsing of strings, no code from strings, no
    /// inline handlers, nothing fetched from elsewhere.
    #[test]
    fn ui_sources_never_parse_html_or_reach_elsewhere() {
        let banned = [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
            "http://",
            "https://",
        ];
        for (path, bytes) in embedded::FILES {
            if !(path.ends_with(".js") || path.ends_with(".html") || path.ends_with(".css")) {
                continue;
            }
            let text = std::str::from_utf8(bytes).unwrap();
            for b in banned {
                // The SVG namespace URI is a name, not a fetch.
                let cleaned = text.replace("http://www.w3.org/2000/svg", "");
                assert!(!cleaned.contains(b), "{path} contains {b:?}");
            }
            if path.ends_with(".html") {
                let lower = text.to_ascii_lowercase();
                for (i, _) in lower.match_indices(" on") {
                    let rest = &lower[i + 3..];
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase())
                        .collect();
                    assert!(
                        name.is_empty() || !rest[name.len()..].starts_with('='),
                        "{path} has an inline handler on{name}="
                    );
                }
                assert!(!lower.contains("<script>"), "{path} has an inline script");
                assert!(!lower.contains("style="), "{path} has an inline style");
            }
        }
    }

    #[test]
    fn paths_outside_the_directory_are_refused() {
        for bad in [
            "",
            "../x",
            "a/../b",
            "/etc/passwd",
            ".env",
            "a//b",
            "a\\b",
            "js/%2e%2e",
        ] {
            assert!(!plain_relative(bad), "{bad}");
        }
        assert!(plain_relative("js/pages/object.js"));
    }

    #[test]
    fn revalidation_answers_not_modified() {
        let a = Assets::from_env();
        let r = a.serve("index.html", &HeaderMap::new());
        assert_eq!(r.status(), StatusCode::OK);
        let tag = r.headers().get(header::ETAG).unwrap().clone();
        let mut h = HeaderMap::new();
        h.insert(header::IF_NONE_MATCH, tag);
        assert_eq!(a.serve("index.html", &h).status(), StatusCode::NOT_MODIFIED);
        assert_eq!(
            a.serve("nope.js", &HeaderMap::new()).status(),
            StatusCode::NOT_FOUND
        );
    }
}
