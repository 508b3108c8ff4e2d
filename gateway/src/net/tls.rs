//! TLS on both ports: the certificates directory, the certificate each connection gets, and
//! reloading without a restart.
//!
//! The directory has MinIO's layout:
//!
//! ```text
//! certs/
//!   public.crt  private.key          the default certificate (PEM: chain, then key)
//!   example.com/public.crt  ...      more certificates, one per sub-directory
//!   CAs/                             certificate authorities to trust (not served)
//! ```
//!
//! A client's SNI name picks the certificate: first the sub-directory named after it, then any
//! certificate whose subject alternative names cover it (wildcards included), else the default
//! (the top-level pair, or the only certificate there is).
//!
//! Every certificate is checked when it is loaded: each `public.crt` must hold a chain, each
//! `private.key` one key that rustls (ring) can sign with, and the key must belong to the chain's
//! first certificate. At start a failure stops the server with the file's name; later, a reload
//! that fails is logged and the certificates already served stay.
//!
//! [`CertsDir::watch`] reloads when a file in the directory changes (checked every
//! [`RELOAD_POLL`]) and at once on `SIGHUP`. Handshakes read the current set through an
//! [`ArcSwap`], so a reload never disturbs a connection.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The certificate file in the directory and in each sub-directory.
pub const PUBLIC_CERT: &str = "public.crt";
/// The private key beside it.
pub const PRIVATE_KEY: &str = "private.key";
/// The sub-directory of certificate authorities (never served).
pub const CAS_DIR: &str = "CAs";
/// How often the directory is checked for changed files.
pub const RELOAD_POLL: Duration = Duration::from_secs(2);
/// The most a certificate or key file may hold.
const MAX_PEM_FILE: u64 = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Pem { path: PathBuf, message: String },
    #[error("{path}: no certificate in it (expected PEM `CERTIFICATE` blocks)")]
    NoCertificate { path: PathBuf },
    #[error("{path}: the key cannot be used: {message}")]
    Key { path: PathBuf, message: String },
    #[error(
        "{key} does not belong to {cert}: the private key does not match the certificate's \
         public key"
    )]
    Mismatch { cert: PathBuf, key: PathBuf },
    #[error("{cert}: a certificate needs its key beside it ({key} is missing)")]
    MissingKey { cert: PathBuf, key: PathBuf },
    #[error(
        "{dir}: no certificate in it (expected public.crt and private.key, at the top or in a \
         sub-directory per domain)"
    )]
    Empty { dir: PathBuf },
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// The certificates being served.
#[derive(Debug)]
struct Certificates {
    /// The certificate for clients whose name nothing else covers.
    default: Arc<CertifiedKey>,
    /// Sub-directory name (lowercase) → certificate.
    by_dir: HashMap<String, Arc<CertifiedKey>>,
}

impl Certificates {
    fn load(dir: &Path) -> Result<Certificates, TlsError> {
        let provider = rustls::crypto::ring::default_provider();
        let top = load_pair(dir, &provider)?;
        let mut by_dir = HashMap::new();
        let mut subdirs: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|source| TlsError::Read {
                path: dir.to_path_buf(),
                source,
            })?
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()) && e.file_name() != CAS_DIR)
            .map(|e| e.path())
            .collect();
        subdirs.sort();
        for sub in subdirs {
            if let Some(ck) = load_pair(&sub, &provider)? {
                let name = sub
                    .file_name()
                    .map(|n| n.to_string_lossy().to_ascii_lowercase())
                    .unwrap_or_default();
                by_dir.insert(name, Arc::new(ck));
            }
        }
        let default = match top {
            Some(ck) => Arc::new(ck),
            None => match by_dir.values().next() {
                Some(ck) if by_dir.len() == 1 => ck.clone(),
                _ => {
                    return Err(TlsError::Empty {
                        dir: dir.to_path_buf(),
                    });
                }
            },
        };
        Ok(Certificates { default, by_dir })
    }

    fn for_name(&self, name: Option<&str>) -> Arc<CertifiedKey> {
        let Some(name) = name else {
            return self.default.clone();
        };
        let name = name.to_ascii_lowercase();
        if let Some(ck) = self.by_dir.get(&name) {
            return ck.clone();
        }
        if let Ok(server_name) = ServerName::try_from(name.as_str()) {
            let covers = |ck: &CertifiedKey| {
                ck.end_entity_cert()
                    .ok()
                    .and_then(|der| webpki::EndEntityCert::try_from(der).ok())
                    .is_some_and(|ee| ee.verify_is_valid_for_subject_name(&server_name).is_ok())
            };
            if let Some(ck) = self.by_dir.values().find(|ck| covers(ck)) {
                return ck.clone();
            }
        }
        self.default.clone()
    }
}

/// Reads `dir/public.crt` and `dir/private.key`; `None` when neither is there.
fn load_pair(dir: &Path, provider: &CryptoProvider) -> Result<Option<CertifiedKey>, TlsError> {
    let cert_path = dir.join(PUBLIC_CERT);
    let key_path = dir.join(PRIVATE_KEY);
    match (cert_path.exists(), key_path.exists()) {
        (false, false) => return Ok(None),
        (true, false) => {
            return Err(TlsError::MissingKey {
                cert: cert_path,
                key: key_path,
            });
        }
        (false, true) => {
            return Err(TlsError::NoCertificate { path: cert_path });
        }
        (true, true) => {}
    }
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(&read_limited(&cert_path)?)
            .collect::<Result<_, _>>()
            .map_err(|e| TlsError::Pem {
                path: cert_path.clone(),
                message: e.to_string(),
            })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate { path: cert_path });
    }
    let key =
        PrivateKeyDer::from_pem_slice(&read_limited(&key_path)?).map_err(|e| TlsError::Key {
            path: key_path.clone(),
            message: e.to_string(),
        })?;
    match CertifiedKey::from_der(chain, key, provider) {
        Ok(ck) => Ok(Some(ck)),
        Err(rustls::Error::InconsistentKeys(_)) => Err(TlsError::Mismatch {
            cert: cert_path,
            key: key_path,
        }),
        Err(e) => Err(TlsError::Key {
            path: key_path,
            message: e.to_string(),
        }),
    }
}

fn read_limited(path: &Path) -> Result<Vec<u8>, TlsError> {
    use std::io::Read;
    let read = |path: &Path| -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        std::fs::File::open(path)?
            .take(MAX_PEM_FILE)
            .read_to_end(&mut out)?;
        Ok(out)
    };
    read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// What the files in the directory look like (names, sizes, modification times): a change
/// means a reload.
fn fingerprint(dir: &Path) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    let mut out = Vec::new();
    let visit = |dir: &Path, out: &mut Vec<_>| {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if let Ok(m) = std::fs::metadata(e.path()) {
                out.push((e.path(), m.len(), m.modified().ok()));
            }
        }
    };
    visit(dir, &mut out);
    let subdirs: Vec<PathBuf> = out
        .iter()
        .filter(|(p, ..)| p.is_dir())
        .map(|(p, ..)| p.clone())
        .collect();
    for sub in subdirs {
        visit(&sub, &mut out);
    }
    out.sort();
    out
}

/// The certificates directory being served (see the module docs).
#[derive(Debug)]
pub struct CertsDir {
    dir: PathBuf,
    current: ArcSwap<Certificates>,
    seen: Mutex<Vec<(PathBuf, u64, Option<SystemTime>)>>,
}

impl CertsDir {
    /// Loads every certificate in `dir`; any unreadable, malformed or mismatched file is an
    /// error naming it.
    pub fn load(dir: &Path) -> Result<Arc<CertsDir>, TlsError> {
        let seen = fingerprint(dir);
        let certs = Certificates::load(dir)?;
        Ok(Arc::new(CertsDir {
            dir: dir.to_path_buf(),
            current: ArcSwap::from_pointee(certs),
            seen: Mutex::new(seen),
        }))
    }

    /// Loads the directory again and serves what it holds now; on an error the certificates
    /// served so far stay.
    pub fn reload(&self) -> Result<(), TlsError> {
        let seen = fingerprint(&self.dir);
        let certs = Certificates::load(&self.dir)?;
        self.current.store(Arc::new(certs));
        *crate::sync::lock(&self.seen) = seen;
        Ok(())
    }

    /// Reloads when a file changed since the last load.
    fn reload_if_changed(&self) {
        let now = fingerprint(&self.dir);
        if *crate::sync::lock(&self.seen) == now {
            return;
        }
        // Remembered before loading: a broken file is reported once, not every poll.
        *crate::sync::lock(&self.seen) = now;
        self.reload_logged("a file changed");
    }

    fn reload_logged(&self, why: &str) {
        match self.reload() {
            Ok(()) => {
                tracing::info!(dir = %self.dir.display(), why, "reloaded the TLS certificates")
            }
            Err(e) => tracing::error!(
                dir = %self.dir.display(), why, error = %e,
                "cannot reload the TLS certificates; still serving the previous ones"
            ),
        }
    }

    /// A rustls server configuration (TLS 1.2 and 1.3, ring, HTTP/2 and HTTP/1.1 by ALPN)
    /// serving this directory's certificates.
    pub fn server_config(self: &Arc<Self>) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(self.clone() as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// Reloads on a changed file (polled every [`RELOAD_POLL`]) and on `SIGHUP`, until
    /// `shutdown`.
    pub fn watch(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut hangup =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
            loop {
                let signalled = async {
                    match hangup.as_mut() {
                        Some(s) => s.recv().await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    _ = tokio::time::sleep(RELOAD_POLL) => {
                        let this = self.clone();
                        let _ = tokio::task::spawn_blocking(move || this.reload_if_changed()).await;
                    }
                    _ = signalled => {
                        let this = self.clone();
                        let _ = tokio::task::spawn_blocking(move || this.reload_logged("SIGHUP")).await;
                    }
                    _ = shutdown.changed() => return,
                }
            }
        })
    }
}

impl ResolvesServerCert for CertsDir {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load().for_name(hello.server_name()))
    }
}

/// Makes a certificate for `names` (DNS names and IP addresses) and writes it as
/// `dir/public.crt` and `dir/private.key` (0600), refusing to overwrite either.
///
/// The certificate is signed by a one-off CA whose certificate follows it in `public.crt` and
/// whose key is thrown away: clients trust `public.crt` as their CA bundle, and nobody can
/// issue another certificate under that CA. (A self-signed certificate that is its own CA is
/// refused as a server certificate by rustls-based clients.)
pub fn generate_self_signed(dir: &Path, names: &[String]) -> Result<(PathBuf, PathBuf), TlsError> {
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| TlsError::Read { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let cert_path = dir.join(PUBLIC_CERT);
    let key_path = dir.join(PRIVATE_KEY);
    let pem_err = |e: rcgen::Error| TlsError::Pem {
        path: cert_path.clone(),
        message: e.to_string(),
    };
    let now = time::OffsetDateTime::now_utc();
    let not_before = now - time::Duration::days(1);
    let not_after = now + time::Duration::days(825);

    let ca_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(pem_err)?;
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(pem_err)?;
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "lakegate local CA");
    ca.distinguished_name
        .push(rcgen::DnType::OrganizationName, "lakegate");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    ca.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    ca.not_before = not_before;
    ca.not_after = not_after;
    let ca_cert = ca.self_signed(&ca_key).map_err(pem_err)?;
    let issuer = rcgen::Issuer::new(ca, ca_key);

    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(pem_err)?;
    let mut leaf = rcgen::CertificateParams::new(names.to_vec()).map_err(pem_err)?;
    leaf.distinguished_name.push(
        rcgen::DnType::CommonName,
        names.first().map_or("lakegate", |n| n.as_str()),
    );
    leaf.distinguished_name
        .push(rcgen::DnType::OrganizationName, "lakegate");
    leaf.is_ca = rcgen::IsCa::ExplicitNoCa;
    leaf.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    leaf.use_authority_key_identifier_extension = true;
    leaf.not_before = not_before;
    leaf.not_after = not_after;
    let cert = leaf.signed_by(&key, &issuer).map_err(pem_err)?;

    write_new(&key_path, key.serialize_pem().as_bytes(), 0o600)?;
    let chain = format!("{}{}", cert.pem(), ca_cert.pem());
    if let Err(e) = write_new(&cert_path, chain.as_bytes(), 0o644) {
        let _ = std::fs::remove_file(&key_path);
        return Err(e);
    }
    Ok((cert_path, key_path))
}

/// Creates `path` (never replacing a file) with `contents` and `mode`.
fn write_new(path: &Path, contents: &[u8], mode: u32) -> Result<(), TlsError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let err = |source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(err)?;
    f.write_all(contents).map_err(err)?;
    f.sync_all().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "lakegate-tls-{name}-{}-{}",
            std::process::id(),
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn names(ck: &CertifiedKey) -> Vec<u8> {
        ck.end_entity_cert().unwrap().to_vec()
    }

    #[test]
    fn sni_picks_the_directory_then_the_names_then_the_default() {
        let dir = temp_dir("sni");
        generate_self_signed(&dir, &["localhost".into()]).unwrap();
        generate_self_signed(&dir.join("example.com"), &["example.com".into()]).unwrap();
        generate_self_signed(&dir.join("wild"), &["*.lake.test".into()]).unwrap();
        let certs = Certificates::load(&dir).unwrap();
        let default = names(&certs.default);
        assert_eq!(names(&certs.for_name(None)), default);
        assert_eq!(names(&certs.for_name(Some("other.org"))), default);
        let example = names(&certs.for_name(Some("EXAMPLE.com")));
        assert_ne!(example, default);
        let wild = names(&certs.for_name(Some("bronze.lake.test")));
        assert_ne!(wild, default);
        assert_ne!(wild, example);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn bad_directories_are_refused_with_the_file_named() {
        let dir = temp_dir("bad");
        assert!(matches!(CertsDir::load(&dir), Err(TlsError::Empty { .. })));
        let a = dir.join("a");
        let b = dir.join("b");
        generate_self_signed(&a, &["localhost".into()]).unwrap();
        generate_self_signed(&b, &["localhost".into()]).unwrap();
        // Two certificates and no top-level one: which is the default is ambiguous.
        assert!(matches!(CertsDir::load(&dir), Err(TlsError::Empty { .. })));
        // a's certificate with b's key.
        std::fs::copy(b.join(PRIVATE_KEY), dir.join(PRIVATE_KEY)).unwrap();
        std::fs::copy(a.join(PUBLIC_CERT), dir.join(PUBLIC_CERT)).unwrap();
        let e = CertsDir::load(&dir).unwrap_err();
        assert!(matches!(e, TlsError::Mismatch { .. }), "{e}");
        assert!(e.to_string().contains("private.key"), "{e}");
        std::fs::write(dir.join(PRIVATE_KEY), "not a key").unwrap();
        assert!(matches!(CertsDir::load(&dir), Err(TlsError::Key { .. })));
        std::fs::remove_file(dir.join(PRIVATE_KEY)).unwrap();
        assert!(matches!(
            CertsDir::load(&dir),
            Err(TlsError::MissingKey { .. })
        ));
        std::fs::write(dir.join(PUBLIC_CERT), "garbage").unwrap();
        std::fs::copy(a.join(PRIVATE_KEY), dir.join(PRIVATE_KEY)).unwrap();
        assert!(matches!(
            CertsDir::load(&dir),
            Err(TlsError::NoCertificate { .. })
        ));
        // Generating never replaces a file.
        assert!(generate_self_signed(&a, &["localhost".into()]).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_failed_reload_keeps_the_served_certificates() {
        let dir = temp_dir("reload");
        generate_self_signed(&dir, &["localhost".into()]).unwrap();
        let certs = CertsDir::load(&dir).unwrap();
        let before = names(&certs.current.load().default);
        std::fs::write(dir.join(PUBLIC_CERT), "garbage").unwrap();
        assert!(certs.reload().is_err());
        assert_eq!(names(&certs.current.load().default), before);
        std::fs::remove_file(dir.join(PUBLIC_CERT)).unwrap();
        std::fs::remove_file(dir.join(PRIVATE_KEY)).unwrap();
        generate_self_signed(&dir, &["localhost".into()]).unwrap();
        certs.reload().unwrap();
        assert_ne!(names(&certs.current.load().default), before);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
