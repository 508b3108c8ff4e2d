//! Backup target paths: the one rule for the paths a backup plugin may have the host write or
//! delete inside a bucket's backup.
//!
//! A target path is relative to the bucket's data in the backup target and `/`-separated. It is
//! not empty, at most [`MAX_TARGET_PATH`] bytes long, does not start with `/`, holds no control
//! character, and has no `.` or `..` segment (between `/` or `\`, so that no platform or
//! backend can read one as a step up). Empty segments (`a//b`, a trailing `/`) depend on who
//! checks, see [`EmptySegments`]:
//!
//! - the policy host accepts them in a plugin's plan ([`EmptySegments::Allowed`]);
//! - a backup target stores a path ending in `/` (an S3 "folder" object) but no other empty
//!   segment, which a file tree cannot hold ([`EmptySegments::TrailingOnly`]);
//! - the shipped backup plugin writes none at all: it skips a key whose path would need one
//!   ([`EmptySegments::Refused`]).
//!
//! The shipped backup plugin (`plugins/backup`, a wasm guest that cannot depend on the gateway)
//! compiles this very file through `#[path]`, so host, target and plugin share one rule. Keep it
//! free of imports from the rest of the gateway.

/// Longest target path, in bytes.
const MAX_TARGET_PATH: usize = 1024;

/// Whether a path may have empty segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmptySegments {
    /// `a//b` and `a/` are accepted.
    Allowed,
    /// `a/` (a "folder" path) is accepted, `a//b` is not.
    TrailingOnly,
    /// Neither is accepted.
    Refused,
}

/// What is wrong with a target path. The messages read after the path: `"/x" starts with /`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TargetPathError {
    #[error("is empty")]
    Empty,
    #[error("is longer than {MAX_TARGET_PATH} bytes")]
    TooLong,
    #[error("starts with /")]
    Absolute,
    #[error("contains a control character")]
    ControlCharacter,
    #[error("has a . or .. segment")]
    DotSegment,
    #[error("has an empty segment")]
    EmptySegment,
}

/// Checks `path` against the target path rule (see the module docs).
pub fn check_target_path(path: &str, empty_segments: EmptySegments) -> Result<(), TargetPathError> {
    if path.is_empty() {
        return Err(TargetPathError::Empty);
    }
    if path.len() > MAX_TARGET_PATH {
        return Err(TargetPathError::TooLong);
    }
    if path.starts_with('/') {
        return Err(TargetPathError::Absolute);
    }
    if path.chars().any(char::is_control) {
        return Err(TargetPathError::ControlCharacter);
    }
    if path.split(['/', '\\']).any(|seg| seg == "." || seg == "..") {
        return Err(TargetPathError::DotSegment);
    }
    let empty_segment = match empty_segments {
        EmptySegments::Allowed => false,
        EmptySegments::TrailingOnly => path.trim_end_matches('/').split('/').any(str::is_empty),
        EmptySegments::Refused => path.split('/').any(str::is_empty),
    };
    if empty_segment {
        return Err(TargetPathError::EmptySegment);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::EmptySegments::{Allowed, Refused, TrailingOnly};
    use super::TargetPathError::*;
    use super::*;

    #[test]
    fn the_rule() {
        for mode in [Allowed, TrailingOnly, Refused] {
            assert_eq!(check_target_path("bucket/key.parquet", mode), Ok(()));
            assert_eq!(check_target_path("a/b..c/d", mode), Ok(()));
            assert_eq!(check_target_path("fine/...", mode), Ok(()));
            assert_eq!(check_target_path("", mode), Err(Empty));
            assert_eq!(check_target_path("/etc/passwd", mode), Err(Absolute));
            assert_eq!(check_target_path("a/../b", mode), Err(DotSegment));
            assert_eq!(check_target_path("..", mode), Err(DotSegment));
            assert_eq!(check_target_path("./a", mode), Err(DotSegment));
            assert_eq!(check_target_path("a/./b", mode), Err(DotSegment));
            assert_eq!(check_target_path("a\\..\\b", mode), Err(DotSegment));
            assert_eq!(check_target_path("a\0b", mode), Err(ControlCharacter));
            assert_eq!(check_target_path("ctl\u{7}", mode), Err(ControlCharacter));
            assert_eq!(check_target_path(&"x".repeat(1024), mode), Ok(()));
            assert_eq!(check_target_path(&"x".repeat(1025), mode), Err(TooLong));
        }
        assert_eq!(check_target_path("a//b", Allowed), Ok(()));
        assert_eq!(check_target_path("a//b", TrailingOnly), Err(EmptySegment));
        assert_eq!(check_target_path("a//b", Refused), Err(EmptySegment));
        assert_eq!(check_target_path("folder/", Allowed), Ok(()));
        assert_eq!(check_target_path("folder/", TrailingOnly), Ok(()));
        assert_eq!(check_target_path("folder/", Refused), Err(EmptySegment));
        assert_eq!(
            TooLong.to_string(),
            "is longer than 1024 bytes",
            "the backup plugin's messages"
        );
    }
}
