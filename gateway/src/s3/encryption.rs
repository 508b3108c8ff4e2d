//! Server-side encryption: the `x-amz-server-side-encryption*` headers of writes and reads,
//! bucket default encryption (Put/Get/DeleteBucketEncryption), and the encrypted path of an
//! object's bytes in and out of the store.
//!
//! Three modes, one format (see `crypto/`): SSE-S3 (the KMS's default key), SSE-KMS (a key the
//! request or the bucket default names) and SSE-C (the customer's key, sent with every request
//! and never stored). Each object gets a random object key, stored sealed in its version record;
//! each part of a multipart object is its own encrypted stream under a key derived from it.
//!
//! What a client sees, as on AWS:
//! - SSE-S3 objects keep the MD5 of their plaintext as ETag; SSE-C and SSE-KMS objects get an
//!   opaque one (it names the content without revealing its MD5).
//! - GET and HEAD of an SSE-C object need the key (400 without it, 403 with another one); SSE-S3
//!   and SSE-KMS headers on a GET are refused (400); SSE-C over plain HTTP is refused (400) unless
//!   the operator says TLS ends in front of the gateway.
//! - Every answer about an encrypted object carries its `x-amz-server-side-encryption*` headers.

use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use http::{HeaderMap, StatusCode};
use md5::{Digest, Md5};

use super::error::{S3Error, S3ErrorCode, S3Result};
use super::xml::XmlWriter;
use super::{S3Api, S3Request, S3Response, empty_response, set_header, xml_response};
use crate::crypto::{self, CryptoError, Kms, KmsError, ObjectKey, SealedObjectKey, package};
use crate::store::{
    ObjectData, ObjectEncryption, PartSummary, S3EncryptionConfig, SseMode, Store, StoreError,
    VersionRecord,
};

/// The KMS, and how SSE-C may be used (part of [`S3Api`]).
#[derive(Clone, Default)]
pub struct Encryption {
    /// The KMS behind SSE-S3 and SSE-KMS; `None`: those modes are refused.
    pub kms: Option<Arc<dyn Kms>>,
    /// The S3 port serves TLS, or the operator declared that TLS ends in front of the gateway:
    /// SSE-C keys may travel.
    pub customer_keys_allowed: bool,
}

/// What a key rotation ([`Encryption::rewrap`]) did in one bucket.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct RewrapReport {
    pub bucket: String,
    /// Object versions looked at (delete markers included).
    pub versions: u64,
    /// Of those, SSE-S3 and SSE-KMS versions.
    pub encrypted: u64,
    /// Data keys re-sealed under their KMS key's newest version.
    pub rewrapped: u64,
    /// Versions deleted or replaced between the scan and their update (left alone).
    pub changed_meanwhile: u64,
}

/// The header prefix of the customer key of the object itself, and of a copy's source.
const CUSTOMER: &str = "x-amz-server-side-encryption-customer-";
const COPY_SOURCE_CUSTOMER: &str = "x-amz-copy-source-server-side-encryption-customer-";

/// A customer-provided key (SSE-C), checked against its MD5.
pub struct CustomerKey {
    key: [u8; 32],
    /// Base64 MD5 of the key, as the client sent it.
    md5: String,
}

/// The domain an object key is sealed for: a key sealed for one mode never opens as another.
fn domain(mode: SseMode) -> &'static [u8] {
    match mode {
        SseMode::S3 => b"SSE-S3",
        SseMode::Kms => b"SSE-KMS",
        SseMode::Customer => b"SSE-C",
    }
}

/// Parses the SSE-C headers under `prefix` (`None` when none is present). AWS's errors: a key
/// without algorithm or MD5, an algorithm other than AES256, a key that is not 32 bytes, or an MD5
/// that does not match are `InvalidArgument`.
fn customer_key(h: &HeaderMap, prefix: &str) -> S3Result<Option<CustomerKey>> {
    let get = |name: &str| {
        h.get(format!("{prefix}{name}").as_str())
            .map(|v| v.to_str().unwrap_or("").trim().to_string())
    };
    let (algorithm, key, md5) = (get("algorithm"), get("key"), get("key-md5"));
    if algorithm.is_none() && key.is_none() && md5.is_none() {
        return Ok(None);
    }
    let Some(algorithm) = algorithm else {
        return Err(S3Error::invalid_argument(
            "Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.",
        ));
    };
    if algorithm != "AES256" {
        return Err(S3Error::invalid_argument(
            "The encryption algorithm specified is not valid (only AES256 is supported).",
        ));
    }
    let Some(key) = key else {
        return Err(S3Error::invalid_argument(
            "Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.",
        ));
    };
    let Some(md5) = md5 else {
        return Err(S3Error::invalid_argument(
            "Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key.",
        ));
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    let key: [u8; 32] = b64
        .decode(key.as_bytes())
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| {
            S3Error::invalid_argument(
                "The secret key was invalid for the specified algorithm (a 256-bit key is required).",
            )
        })?;
    let actual = b64.encode(Md5::digest(key));
    if b64.decode(md5.as_bytes()).ok().as_deref() != Some(&Md5::digest(key)[..]) {
        return Err(S3Error::invalid_argument(
            "The calculated MD5 hash of the key did not match the hash that was provided.",
        ));
    }
    Ok(Some(CustomerKey { key, md5: actual }))
}

/// What a write asks for: its headers (or a POST form's fields), else the bucket's default.
pub enum Requested {
    S3 {
        bucket_key: bool,
    },
    Kms {
        key: Option<String>,
        context: Option<String>,
        bucket_key: bool,
    },
    Customer(CustomerKey),
}

fn bool_header(h: &HeaderMap, name: &str) -> S3Result<bool> {
    match h.get(name).map(|v| v.to_str().unwrap_or("")) {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(_) => Err(S3Error::invalid_argument(format!("Invalid {name} value"))),
    }
}

/// The encryption a write's headers ask for (`None`: none asked). Mixed or incomplete requests
/// are refused as AWS refuses them.
pub fn requested(h: &HeaderMap) -> S3Result<Option<Requested>> {
    let sse = h
        .get("x-amz-server-side-encryption")
        .map(|v| v.to_str().unwrap_or("").trim().to_string());
    let kms_key = h
        .get("x-amz-server-side-encryption-aws-kms-key-id")
        .map(|v| v.to_str().unwrap_or("").trim().to_string());
    let context = h
        .get("x-amz-server-side-encryption-context")
        .map(|v| v.to_str().unwrap_or("").trim().to_string());
    let bucket_key = bool_header(h, "x-amz-server-side-encryption-bucket-key-enabled")?;
    let customer = customer_key(h, CUSTOMER)?;
    if customer.is_some() && sse.is_some() {
        return Err(S3Error::invalid_argument(
            "Server Side Encryption with Customer provided key is incompatible with the encryption method specified",
        ));
    }
    if let Some(c) = customer {
        if kms_key.is_some() || context.is_some() {
            return Err(S3Error::invalid_argument(
                "Server Side Encryption with Customer provided key is incompatible with the encryption method specified",
            ));
        }
        return Ok(Some(Requested::Customer(c)));
    }
    match sse.as_deref() {
        None => {
            if kms_key.is_some() || context.is_some() {
                return Err(S3Error::invalid_argument(
                    "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms",
                ));
            }
            Ok(None)
        }
        Some("AES256") => {
            if kms_key.is_some() || context.is_some() {
                return Err(S3Error::invalid_argument(
                    "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms",
                ));
            }
            Ok(Some(Requested::S3 { bucket_key }))
        }
        Some("aws:kms") => {
            if let Some(c) = &context {
                let json = base64::engine::general_purpose::STANDARD
                    .decode(c.as_bytes())
                    .ok()
                    .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
                if !json.is_some_and(|v| v.is_object()) {
                    return Err(S3Error::invalid_argument(
                        "The encryption context must be base64 of a JSON object.",
                    ));
                }
            }
            Ok(Some(Requested::Kms {
                key: kms_key.filter(|k| !k.is_empty()),
                context,
                bucket_key,
            }))
        }
        Some(other) => Err(S3Error::invalid_argument(format!(
            "The encryption method specified is not supported: {other}"
        ))),
    }
}

/// An object key about to seal new data, and the record that will describe it.
pub struct Sealing {
    pub record: ObjectEncryption,
    key: ObjectKey,
}

impl Sealing {
    /// The key of stream `n` (0: a single-part object; `n`: part `n`).
    pub fn stream_key(&self, n: u32) -> [u8; 32] {
        self.key.stream_key(n)
    }

    /// The ETag of new content with plaintext MD5 `md5` (hex): the MD5 itself for SSE-S3, an
    /// opaque value for SSE-KMS and SSE-C.
    pub fn etag(&self, md5_hex: &str) -> String {
        etag_for(&self.record, &self.key, md5_hex)
    }
}

fn etag_for(record: &ObjectEncryption, key: &ObjectKey, md5_hex: &str) -> String {
    match record.mode {
        SseMode::S3 => md5_hex.to_string(),
        SseMode::Kms | SseMode::Customer => key.opaque_etag(md5_hex.as_bytes()),
    }
}

fn kms_error(e: KmsError) -> S3Error {
    match e {
        KmsError::UnknownKey(name) => {
            S3Error::with_message(S3ErrorCode::KmsNotFound, format!("Invalid keyId {name}"))
        }
        other => S3Error::internal(other),
    }
}

fn crypto_error(e: CryptoError) -> S3Error {
    S3Error::internal(e)
}

impl Encryption {
    fn kms(&self) -> S3Result<&Arc<dyn Kms>> {
        self.kms
            .as_ref()
            .ok_or_else(|| S3Error::new(S3ErrorCode::KmsDisabled))
    }

    /// Refuses SSE-C keys on a connection that does not protect them.
    fn check_transport(&self) -> S3Result<()> {
        if self.customer_keys_allowed {
            Ok(())
        } else {
            Err(S3Error::invalid_request(
                "Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection.",
            ))
        }
    }

    /// A fresh object key for a new object (or upload) in `bucket`: what `h` asks for, else the
    /// bucket's default encryption, else none.
    pub fn begin(&self, store: &Store, bucket: &str, h: &HeaderMap) -> S3Result<Option<Sealing>> {
        let asked = match requested(h)? {
            Some(r) => Some(r),
            None => store.s3_encryption(bucket)?.map(|d| match d.mode {
                SseMode::Kms => Requested::Kms {
                    key: d.kms_key,
                    context: None,
                    bucket_key: d.bucket_key_enabled,
                },
                SseMode::S3 | SseMode::Customer => Requested::S3 {
                    bucket_key: d.bucket_key_enabled,
                },
            }),
        };
        let Some(asked) = asked else {
            return Ok(None);
        };
        let key = ObjectKey::generate().map_err(crypto_error)?;
        let record = match asked {
            Requested::Customer(c) => {
                self.check_transport()?;
                let sealed = key
                    .seal(&c.key, domain(SseMode::Customer))
                    .map_err(crypto_error)?;
                ObjectEncryption {
                    mode: SseMode::Customer,
                    kms_key: String::new(),
                    kms_context: None,
                    sealed_data_key: Vec::new(),
                    bucket_key_enabled: false,
                    customer_key_md5: Some(c.md5),
                    key_iv: sealed.iv.to_vec(),
                    sealed_object_key: sealed.sealed,
                    part_numbers: Vec::new(),
                }
            }
            Requested::S3 { bucket_key } => {
                let kms = self.kms()?;
                let name = kms.default_key().to_string();
                self.seal_with_kms(kms, &key, SseMode::S3, name, None, bucket_key)?
            }
            Requested::Kms {
                key: name,
                context,
                bucket_key,
            } => {
                let kms = self.kms()?;
                let name = name.unwrap_or_else(|| kms.default_key().to_string());
                let name = kms_key_name(&name).to_string();
                if !kms.has_key(&name) {
                    return Err(kms_error(KmsError::UnknownKey(name)));
                }
                self.seal_with_kms(kms, &key, SseMode::Kms, name, context, bucket_key)?
            }
        };
        Ok(Some(Sealing { record, key }))
    }

    fn seal_with_kms(
        &self,
        kms: &Arc<dyn Kms>,
        key: &ObjectKey,
        mode: SseMode,
        name: String,
        context: Option<String>,
        bucket_key: bool,
    ) -> S3Result<ObjectEncryption> {
        let data_key = kms
            .generate_data_key(&name, context.as_deref().unwrap_or("").as_bytes())
            .map_err(kms_error)?;
        let sealed = key
            .seal(&data_key.plaintext, domain(mode))
            .map_err(crypto_error)?;
        Ok(ObjectEncryption {
            mode,
            kms_key: name,
            kms_context: context,
            sealed_data_key: data_key.sealed,
            bucket_key_enabled: bucket_key,
            customer_key_md5: None,
            key_iv: sealed.iv.to_vec(),
            sealed_object_key: sealed.sealed,
            part_numbers: Vec::new(),
        })
    }

    /// Key rotation: re-seals the data key of every SSE-S3 and SSE-KMS object version in
    /// `bucket` that an older version of its KMS key sealed, under that key's newest version.
    /// The objects' bytes and object keys stay as they are; each record changes in its own
    /// transaction, and only if its sealed key is still the one read (a version replaced
    /// meanwhile is counted, not touched). Uploads in progress keep their key until completed.
    pub async fn rewrap(&self, store: &Store, bucket: &str) -> S3Result<RewrapReport> {
        let kms = self.kms()?.clone();
        let mut report = RewrapReport {
            bucket: bucket.to_string(),
            ..RewrapReport::default()
        };
        let mut after: Option<(String, String)> = None;
        loop {
            let marker = after.as_ref().map(|(k, v)| (k.as_str(), v.as_str()));
            let page = store.scan_versions(bucket, "", b"", marker, 1000)?;
            let Some((last_key, last)) = page.last() else {
                break;
            };
            after = Some((last_key.clone(), last.version_id.clone()));
            for (key, v) in page {
                report.versions += 1;
                let Some(e) = v.encryption.as_ref() else {
                    continue;
                };
                if !matches!(e.mode, SseMode::S3 | SseMode::Kms) {
                    continue;
                }
                report.encrypted += 1;
                if !kms.needs_reseal(&e.kms_key, &e.sealed_data_key) {
                    continue;
                }
                let context = e.kms_context.clone().unwrap_or_default();
                let resealed = kms
                    .reseal(&e.kms_key, &e.sealed_data_key, context.as_bytes())
                    .map_err(|err| match err {
                        KmsError::UnknownKey(_) => kms_error(err),
                        _ => S3Error::internal("the KMS cannot open an object's data key"),
                    })?;
                let old = e.sealed_data_key.clone();
                let new = resealed.clone();
                let updated = store
                    .update_version(bucket, &key, Some(&v.version_id), move |rec, _| {
                        if let Some(enc) = rec.encryption.as_mut()
                            && enc.sealed_data_key == old
                        {
                            enc.sealed_data_key = new;
                        }
                        Ok(())
                    })
                    .await;
                match updated {
                    Ok(rec)
                        if rec
                            .encryption
                            .as_ref()
                            .is_some_and(|e| e.sealed_data_key == resealed) =>
                    {
                        report.rewrapped += 1
                    }
                    Ok(_)
                    | Err(
                        StoreError::NoSuchKey
                        | StoreError::NoSuchVersion
                        | StoreError::DeleteMarker { .. },
                    ) => report.changed_meanwhile += 1,
                    Err(err) => return Err(err.into()),
                }
            }
        }
        Ok(report)
    }

    /// Opens the object key of stored encryption `e`, with the customer's key for SSE-C.
    /// `wrong_key` is the error for a customer key that does not open it.
    fn open(
        &self,
        e: &ObjectEncryption,
        customer: Option<&CustomerKey>,
        wrong_key: fn() -> S3Error,
    ) -> S3Result<ObjectKey> {
        let iv: [u8; 32] = e
            .key_iv
            .as_slice()
            .try_into()
            .map_err(|_| S3Error::internal("a stored object key IV is malformed"))?;
        let sealed = SealedObjectKey {
            iv,
            sealed: e.sealed_object_key.clone(),
        };
        let external = match e.mode {
            SseMode::Customer => match customer {
                Some(c) => c.key,
                None => return Err(wrong_key()),
            },
            SseMode::S3 | SseMode::Kms => self
                .kms()?
                .open_data_key(
                    &e.kms_key,
                    &e.sealed_data_key,
                    e.kms_context.as_deref().unwrap_or("").as_bytes(),
                )
                .map_err(|err| match err {
                    KmsError::UnknownKey(_) => kms_error(err),
                    _ => S3Error::internal("the KMS cannot open an object's data key"),
                })?,
        };
        ObjectKey::open(&sealed, &external, domain(e.mode)).map_err(|err| match (e.mode, err) {
            (SseMode::Customer, CryptoError::WrongKey) => wrong_key(),
            (_, err) => crypto_error(err),
        })
    }

    /// The key to read a stored object (or upload) with, checking the SSE-C headers under
    /// `prefix` against how it is encrypted: `None` for plaintext.
    fn read_key(
        &self,
        h: &HeaderMap,
        prefix: &str,
        e: Option<&ObjectEncryption>,
    ) -> S3Result<Option<ObjectKey>> {
        let customer = customer_key(h, prefix)?;
        match e {
            None => {
                if customer.is_some() {
                    return Err(S3Error::invalid_request(
                        "The encryption parameters are not applicable to this object.",
                    ));
                }
                Ok(None)
            }
            Some(e) if e.mode == SseMode::Customer => {
                let Some(c) = customer else {
                    return Err(S3Error::invalid_request(
                        "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.",
                    ));
                };
                self.check_transport()?;
                self.open(e, Some(&c), || S3Error::new(S3ErrorCode::AccessDenied))
                    .map(Some)
            }
            Some(e) => {
                if customer.is_some() {
                    return Err(S3Error::invalid_request(
                        "The encryption parameters are not applicable to this object.",
                    ));
                }
                self.open(e, None, || S3Error::new(S3ErrorCode::AccessDenied))
                    .map(Some)
            }
        }
    }

    /// GET, HEAD, GetObjectAttributes: refuses SSE-S3/KMS request headers (they describe writes)
    /// and returns the key to read `v` with.
    pub fn for_read(&self, h: &HeaderMap, v: &VersionRecord) -> S3Result<Option<ObjectKey>> {
        for name in [
            "x-amz-server-side-encryption",
            "x-amz-server-side-encryption-aws-kms-key-id",
            "x-amz-server-side-encryption-context",
        ] {
            if h.contains_key(name) {
                return Err(S3Error::invalid_argument(format!(
                    "The {name} header is not supported on a read"
                )));
            }
        }
        self.read_key(h, CUSTOMER, v.encryption.as_ref())
    }

    /// A copy's source (CopyObject, UploadPartCopy): its key, from the
    /// `x-amz-copy-source-server-side-encryption-customer-*` headers for SSE-C.
    pub fn for_copy_source(&self, h: &HeaderMap, v: &VersionRecord) -> S3Result<Option<ObjectKey>> {
        self.read_key(h, COPY_SOURCE_CUSTOMER, v.encryption.as_ref())
    }

    /// UploadPart, UploadPartCopy and CompleteMultipartUpload of an upload encrypted as `e`:
    /// an SSE-C upload needs its own key again (400 without it or with another one).
    pub fn for_upload(
        &self,
        h: &HeaderMap,
        e: Option<&ObjectEncryption>,
    ) -> S3Result<Option<Sealing>> {
        let mismatch = || {
            S3Error::invalid_request(
                "The provided encryption parameters did not match the ones used originally.",
            )
        };
        let customer = customer_key(h, CUSTOMER)?;
        let Some(e) = e else {
            if customer.is_some() {
                return Err(mismatch());
            }
            return Ok(None);
        };
        let key = match e.mode {
            SseMode::Customer => {
                let Some(c) = customer else {
                    return Err(mismatch());
                };
                self.check_transport()?;
                self.open(e, Some(&c), mismatch)?
            }
            SseMode::S3 | SseMode::Kms => {
                if customer.is_some() {
                    return Err(mismatch());
                }
                self.open(e, None, mismatch)?
            }
        };
        Ok(Some(Sealing {
            record: e.clone(),
            key,
        }))
    }
}

/// `arn:aws:kms:region:account:key/<name>` → `<name>`; other ids as they are.
fn kms_key_name(id: &str) -> &str {
    match id.strip_prefix("arn:") {
        Some(rest) => rest.rsplit_once("key/").map(|(_, k)| k).unwrap_or(id),
        None => id,
    }
}

/// The answer headers describing how an object (or upload) is encrypted.
pub fn response_headers(out: &mut HeaderMap, e: Option<&ObjectEncryption>) {
    let Some(e) = e else { return };
    match e.mode {
        SseMode::S3 => set_header(out, "x-amz-server-side-encryption", "AES256"),
        SseMode::Kms => {
            set_header(out, "x-amz-server-side-encryption", "aws:kms");
            set_header(
                out,
                "x-amz-server-side-encryption-aws-kms-key-id",
                &e.kms_key,
            );
            if let Some(c) = &e.kms_context {
                set_header(out, "x-amz-server-side-encryption-context", c);
            }
        }
        SseMode::Customer => {
            set_header(
                out,
                "x-amz-server-side-encryption-customer-algorithm",
                "AES256",
            );
            if let Some(md5) = &e.customer_key_md5 {
                set_header(out, "x-amz-server-side-encryption-customer-key-md5", md5);
            }
        }
    }
    if e.bucket_key_enabled {
        set_header(
            out,
            "x-amz-server-side-encryption-bucket-key-enabled",
            "true",
        );
    }
}

/// The plaintext streams an encrypted version is made of: (stream number, plaintext size).
fn streams(v_size: u64, parts: &[PartSummary], e: &ObjectEncryption) -> Vec<(u32, u64)> {
    if e.part_numbers.is_empty() || parts.is_empty() {
        vec![(0, v_size)]
    } else {
        e.part_numbers
            .iter()
            .copied()
            .zip(parts.iter().map(|p| p.size))
            .collect()
    }
}

/// Streams `len` plaintext bytes from `start` of stored data: as stored when `key` is `None`,
/// otherwise decrypting only the packages that cover the range.
#[allow(clippy::too_many_arguments)]
pub fn plaintext_stream(
    store: &Arc<Store>,
    data: &ObjectData,
    size: u64,
    parts: &[PartSummary],
    encryption: Option<&ObjectEncryption>,
    key: Option<&ObjectKey>,
    start: u64,
    len: u64,
) -> impl Stream<Item = Result<Bytes, S3Error>> + Send + 'static {
    let (Some(e), Some(key)) = (encryption, key) else {
        return store
            .data_stream(data, start, len)
            .map_err(S3Error::from)
            .left_stream();
    };
    let mut pieces = Vec::new();
    let (mut plain_at, mut stored_at) = (0u64, 0u64);
    let end = start.saturating_add(len);
    for (n, plain) in streams(size, parts, e) {
        let stored = package::ciphertext_len(plain);
        let (from, to) = (start.max(plain_at), end.min(plain_at + plain));
        if from < to {
            let r = package::package_range(plain, from - plain_at, to - from);
            let slice = data.slice(stored_at + r.offset, r.len);
            pieces.push((slice, key.stream_key(n), plain, r, to - from));
        }
        plain_at += plain;
        stored_at += stored;
    }
    let store = store.clone();
    futures::stream::iter(pieces)
        .map(move |(slice, stream_key, plain, r, take)| {
            let stored = store.data_stream(&slice, 0, r.len).map_err(S3Error::from);
            crypto::open_stream(stored, &stream_key, plain, r, take)
        })
        .flatten()
        .right_stream()
}

/// The plaintext of a whole version.
pub fn version_stream(
    store: &Arc<Store>,
    v: &VersionRecord,
    key: Option<&ObjectKey>,
    start: u64,
    len: u64,
) -> impl Stream<Item = Result<Bytes, S3Error>> + Send + 'static {
    plaintext_stream(
        store,
        &v.data,
        v.size,
        &v.parts,
        v.encryption.as_ref(),
        key,
        start,
        len,
    )
}

impl From<CryptoError> for S3Error {
    fn from(e: CryptoError) -> Self {
        tracing::error!(error = %e, "stored encrypted data does not decrypt");
        S3Error::internal(e)
    }
}

// ---------------------------------------------------------------------------------------------
// Bucket default encryption

/// `PUT ?encryption`.
pub async fn put_bucket_encryption(state: &S3Api, mut req: S3Request) -> S3Result<S3Response> {
    state.store.bucket(&req.bucket)?;
    let body = req.body.read_to_end(64 * 1024).await?;
    super::checksum::verify_content_md5(&req.headers, &body)?;
    let doc: super::xml::ServerSideEncryptionConfigurationXml = super::xml::parse(&body)?;
    let [rule] = doc.rules.as_slice() else {
        return Err(S3Error::new(S3ErrorCode::MalformedXML));
    };
    let Some(default) = &rule.apply else {
        return Err(S3Error::new(S3ErrorCode::MalformedXML));
    };
    let bucket_key = match rule.bucket_key_enabled.as_deref().map(str::trim) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(S3Error::new(S3ErrorCode::MalformedXML)),
    };
    let key = default
        .kms_master_key_id
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty());
    let config = match default.sse_algorithm.trim() {
        "AES256" => {
            if key.is_some() {
                return Err(S3Error::invalid_argument(
                    "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms",
                ));
            }
            state.encryption.kms()?;
            S3EncryptionConfig {
                mode: SseMode::S3,
                kms_key: None,
                bucket_key_enabled: bucket_key,
            }
        }
        "aws:kms" => {
            let kms = state.encryption.kms()?;
            let key = key.map(|k| kms_key_name(k).to_string());
            if let Some(k) = &key
                && !kms.has_key(k)
            {
                return Err(kms_error(KmsError::UnknownKey(k.clone())));
            }
            S3EncryptionConfig {
                mode: SseMode::Kms,
                kms_key: key,
                bucket_key_enabled: bucket_key,
            }
        }
        "aws:kms:dsse" => {
            return Err(S3Error::not_implemented(
                "Dual-layer server-side encryption (aws:kms:dsse)",
            ));
        }
        _ => return Err(S3Error::new(S3ErrorCode::MalformedXML)),
    };
    state
        .store
        .set_s3_encryption(&req.bucket, Some(config))
        .await?;
    Ok(empty_response(StatusCode::OK))
}

/// `GET ?encryption`.
pub async fn get_bucket_encryption(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    state.store.bucket(&req.bucket)?;
    let Some(c) = state.store.s3_encryption(&req.bucket)? else {
        return Err(
            S3Error::new(S3ErrorCode::ServerSideEncryptionConfigurationNotFoundError)
                .with_detail("BucketName", req.bucket.clone()),
        );
    };
    let mut w = XmlWriter::new("ServerSideEncryptionConfiguration");
    w.open("Rule").open("ApplyServerSideEncryptionByDefault");
    match c.mode {
        SseMode::Kms => {
            w.elem("SSEAlgorithm", "aws:kms");
            if let Some(k) = &c.kms_key {
                w.elem("KMSMasterKeyID", k);
            }
        }
        SseMode::S3 | SseMode::Customer => {
            w.elem("SSEAlgorithm", "AES256");
        }
    }
    w.close("ApplyServerSideEncryptionByDefault")
        .elem(
            "BucketKeyEnabled",
            if c.bucket_key_enabled {
                "true"
            } else {
                "false"
            },
        )
        .close("Rule");
    Ok(xml_response(w.finish("ServerSideEncryptionConfiguration")))
}

/// `DELETE ?encryption`.
pub async fn delete_bucket_encryption(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    state.store.bucket(&req.bucket)?;
    state.store.set_s3_encryption(&req.bucket, None).await?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        m
    }

    const KEY: &str = "pO3upElrwuEXSoFwCfnZPdSsmt/xWeFa0N9KgDijwVs=";
    const MD5: &str = "DWygnHRtgiJ77HCm+1rvHw==";

    #[test]
    fn write_headers() {
        assert!(requested(&h(&[])).unwrap().is_none());
        assert!(matches!(
            requested(&h(&[("x-amz-server-side-encryption", "AES256")])).unwrap(),
            Some(Requested::S3 { bucket_key: false })
        ));
        let kms = requested(&h(&[
            ("x-amz-server-side-encryption", "aws:kms"),
            ("x-amz-server-side-encryption-aws-kms-key-id", "testkey-1"),
        ]))
        .unwrap();
        assert!(matches!(kms, Some(Requested::Kms { key: Some(k), .. }) if k == "testkey-1"));
        let c = requested(&h(&[
            ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
            ("x-amz-server-side-encryption-customer-key", KEY),
            ("x-amz-server-side-encryption-customer-key-md5", MD5),
        ]))
        .unwrap();
        assert!(matches!(c, Some(Requested::Customer(k)) if k.md5 == MD5));
        for bad in [
            vec![("x-amz-server-side-encryption-aws-kms-key-id", "testkey-1")],
            vec![("x-amz-server-side-encryption", "aws:kms:nope")],
            vec![
                ("x-amz-server-side-encryption", "AES256"),
                ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
                ("x-amz-server-side-encryption-customer-key", KEY),
                ("x-amz-server-side-encryption-customer-key-md5", MD5),
            ],
            vec![
                ("x-amz-server-side-encryption-customer-key", KEY),
                ("x-amz-server-side-encryption-customer-key-md5", MD5),
            ],
            vec![
                ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
                ("x-amz-server-side-encryption-customer-key", KEY),
            ],
            vec![
                ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
                ("x-amz-server-side-encryption-customer-key", KEY),
                (
                    "x-amz-server-side-encryption-customer-key-md5",
                    "AAAAAAAAAAAAAAAAAAAAAA==",
                ),
            ],
            vec![
                ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
                ("x-amz-server-side-encryption-customer-key", "c2hvcnQ="),
                ("x-amz-server-side-encryption-customer-key-md5", MD5),
            ],
            vec![
                ("x-amz-server-side-encryption", "aws:kms"),
                ("x-amz-server-side-encryption-context", "bm90IGpzb24="),
            ],
        ] {
            let e = requested(&h(&bad)).err().unwrap();
            assert_eq!(e.code.status(), StatusCode::BAD_REQUEST, "{bad:?}");
        }
        assert_eq!(
            kms_key_name("arn:aws:kms:us-east-1:1234:key/testkey-2"),
            "testkey-2"
        );
        assert_eq!(kms_key_name("testkey-2"), "testkey-2");
    }
}
