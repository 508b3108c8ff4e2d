//! Bucket-name and object-key rules: the one place they are written.
//!
//! The store enforces them itself, on every write that introduces a name: creating a bucket
//! ([`check_bucket_name`]); writing an object version, a delete marker or a multipart upload
//! under a key, or completing an upload ([`check_object_key`]). So no caller — the S3 router, a
//! backup restore reading keys from a manifest, a policy plugin, a future console — can store a
//! name the S3 API would refuse. Writes that only act on what already exists (updating a
//! version's tags or retention, uploading a part of an existing upload, lifecycle actions on
//! listed items) cannot introduce a name and do not check again. The S3 router applies the same
//! functions before any work, to answer with S3's own errors (`s3/router.rs`).
//!
//! The key rule protects a store invariant as well as clients: keys never contain NUL, so the
//! `\0` separators of the metadata keys keep byte order equal to (bucket, key) order.

/// The longest object key, in bytes.
pub const MAX_KEY_LEN: usize = 1024;

/// Why a bucket name or an object key is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The bucket name breaks one of the AWS bucket naming rules (`reason` says which).
    #[error("invalid bucket name {name:?}: {reason}")]
    BucketName { name: String, reason: &'static str },
    #[error("the key is empty")]
    KeyEmpty,
    #[error("the key is {0} bytes long (at most {MAX_KEY_LEN})")]
    KeyTooLong(usize),
    #[error(
        "the key contains NUL, a control character XML cannot carry, or a Unicode non-character"
    )]
    KeyUnrepresentable,
    #[error("the key contains a '.' or '..' path segment")]
    KeyDotSegment,
}

/// The AWS bucket naming rules: 3 to 63 characters, lowercase letters, digits, dots and
/// hyphens, beginning and ending with a letter or digit, no adjacent periods and hyphens
/// (`..`, `.-`, `-.`), not an IPv4 address, none of the reserved prefixes and suffixes.
pub fn check_bucket_name(name: &str) -> Result<(), NameError> {
    let bad = |reason: &'static str| {
        Err(NameError::BucketName {
            name: name.to_string(),
            reason,
        })
    };
    if !(3..=63).contains(&name.len()) {
        return bad("bucket names must be between 3 and 63 characters long");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return bad("only lowercase letters, digits, dots and hyphens are allowed");
    }
    let first = name.as_bytes()[0];
    let last = name.as_bytes()[name.len() - 1];
    if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return bad("bucket names must begin and end with a letter or digit");
    }
    if name.contains("..") || name.contains(".-") || name.contains("-.") {
        return bad("adjacent periods and hyphens are not allowed");
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return bad("bucket names must not be formatted as an IP address");
    }
    if name.starts_with("xn--")
        || name.starts_with("sthree-")
        || name.ends_with("-s3alias")
        || name.ends_with("--ol-s3")
    {
        return bad("reserved prefix or suffix");
    }
    Ok(())
}

/// The object key rule: 1 to [`MAX_KEY_LEN`] bytes of UTF-8; no NUL, no other control character
/// XML 1.0 cannot carry in listings (tab, LF, CR, DEL and the C1 range are fine), no U+FFFE or
/// U+FFFF; no `.` or `..` path segment (HTTP stacks normalise them away, so such keys cannot be
/// addressed reliably).
pub fn check_object_key(key: &str) -> Result<(), NameError> {
    if key.is_empty() {
        return Err(NameError::KeyEmpty);
    }
    if key.len() > MAX_KEY_LEN {
        return Err(NameError::KeyTooLong(key.len()));
    }
    let unrepresentable = |c: char| {
        (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{FFFE}' || c == '\u{FFFF}'
    };
    if key.chars().any(unrepresentable) {
        return Err(NameError::KeyUnrepresentable);
    }
    if key.split('/').any(|seg| seg == "." || seg == "..") {
        return Err(NameError::KeyDotSegment);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names() {
        for ok in ["abc", "my-bucket.v2", "a1b", &"a".repeat(63)] {
            assert_eq!(check_bucket_name(ok), Ok(()), "{ok}");
        }
        for bad in [
            "ab",
            &"a".repeat(64),
            "Upper",
            "under_score",
            "-start",
            "end.",
            "a..b",
            "a.-b",
            "192.168.1.1",
            "xn--abc",
            "sthree-x",
            "x-s3alias",
            "x--ol-s3",
            "a\0b",
        ] {
            assert!(
                matches!(check_bucket_name(bad), Err(NameError::BucketName { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn object_keys() {
        let long = "k".repeat(MAX_KEY_LEN);
        for ok in [
            "a",
            "dir/file.txt",
            "a..b",
            ".hidden",
            "dir/.../x",
            "tab\there",
            "new\nline",
            "del\u{7f}",
            "c1\u{85}",
            "é ü+/x",
            "a//b/",
            &long,
        ] {
            assert_eq!(check_object_key(ok), Ok(()), "{ok:?}");
        }
        assert_eq!(check_object_key(""), Err(NameError::KeyEmpty));
        let too_long = format!("{long}k");
        assert_eq!(
            check_object_key(&too_long),
            Err(NameError::KeyTooLong(MAX_KEY_LEN + 1))
        );
        for bad in ["a\0b", "bell\u{7}", "\u{1b}[0m", "x\u{FFFE}", "x\u{FFFF}"] {
            assert_eq!(
                check_object_key(bad),
                Err(NameError::KeyUnrepresentable),
                "{bad:?}"
            );
        }
        for bad in [
            ".",
            "..",
            "./a",
            "a/..",
            "a/./b",
            "a/../b",
            "../../etc/passwd",
        ] {
            assert_eq!(
                check_object_key(bad),
                Err(NameError::KeyDotSegment),
                "{bad}"
            );
        }
    }

    fn upload(key: &str) -> crate::store::UploadInfo {
        crate::store::UploadInfo {
            upload_id: String::new(),
            key: key.to_string(),
            initiated: 0,
            meta: Default::default(),
            tags: Vec::new(),
            retention: None,
            legal_hold: false,
            checksum_algorithm: None,
            checksum_type: None,
            owner: None,
            acl: None,
            encryption: None,
        }
    }

    fn refused<T>(r: Result<T, crate::store::StoreError>) -> bool {
        matches!(r, Err(crate::store::StoreError::InvalidName(_)))
    }

    /// Every store write that introduces a name refuses a bad one and writes nothing, whoever
    /// calls it.
    #[tokio::test]
    async fn the_store_refuses_bad_names_and_writes_nothing() {
        use crate::store::{
            Completion, NewVersion, Store, StoreError, StoreOptions, Versioning, WriteConditions,
        };
        let dir = std::env::temp_dir().join(format!("lakegate-names-{}", uuid::Uuid::new_v4()));
        let options = StoreOptions {
            inline_threshold: 4,
            ..StoreOptions::default()
        };
        let store = Store::open(&dir, options).await.unwrap();

        for bad in ["Bad_Bucket", "ab", "a\0bc", "192.168.0.1"] {
            assert!(
                refused(store.create_bucket(bad, "us-east-1", false, 1).await),
                "{bad:?}"
            );
        }
        assert!(store.list_buckets().unwrap().is_empty());

        store
            .create_bucket("bkt", "us-east-1", false, 1)
            .await
            .unwrap();
        store
            .update_bucket("bkt", |b| {
                b.versioning = Versioning::Enabled;
                Ok(())
            })
            .await
            .unwrap();
        let over_long = "k".repeat(MAX_KEY_LEN + 1);
        for bad in ["dir/../x", "..", "a\0b", over_long.as_str(), ""] {
            // As a restore does: the bytes are ingested first (into a blob: they are over the
            // inline threshold), the refused commit discards them.
            let body = futures::stream::iter([Ok::<_, StoreError>(bytes::Bytes::from_static(
                b"some bytes",
            ))]);
            let data = store
                .ingest(body, |_| Ok(()))
                .await
                .unwrap()
                .finish()
                .await
                .unwrap();
            let new = NewVersion {
                data: data.clone(),
                size: 10,
                etag: "e".into(),
                meta: Default::default(),
                checksum: None,
                parts: Vec::new(),
                tags: Vec::new(),
                retention: None,
                legal_hold: false,
                owner: None,
                acl: None,
                encryption: None,
            };
            let put = store
                .put_version("bkt", bad, new.clone(), WriteConditions::default(), 2)
                .await;
            assert!(refused(put), "{bad:?}");
            store.discard(&data).await;
            // Deleting in a versioned bucket would write a delete marker.
            assert!(
                refused(
                    store
                        .delete_object("bkt", crate::store::DeleteTarget::key(bad), false, 3)
                        .await
                ),
                "{bad:?}"
            );
            let many = store
                .delete_objects("bkt", vec![crate::store::DeleteTarget::key(bad)], false, 3)
                .await
                .unwrap();
            assert!(
                matches!(many[..], [Err(StoreError::InvalidName(_))]),
                "{bad:?}"
            );
            assert!(
                refused(store.create_upload("bkt", upload(bad), 4).await),
                "{bad:?}"
            );
            let completion = Completion {
                expected: Vec::new(),
                version: new,
                conditions: WriteConditions::default(),
            };
            let completed = store.complete_upload("bkt", bad, "u", completion, 5).await;
            assert!(refused(completed), "{bad:?}");
        }
        assert!(
            store
                .scan_versions("bkt", "", b"", None, 10)
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .scan_uploads("bkt", "", b"", None, 10)
                .unwrap()
                .is_empty()
        );
        assert!(store.blobs.list(None).await.unwrap().is_empty());
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
