//! Users, groups, named policies and access keys.
//!
//! The records live in the store's `iam` table ([`crate::store::IamRecords`]); secrets are
//! sealed there with the gateway's local key ([`Purpose::IdentitySecret`], bound to the access
//! key, so a sealed secret copied to another user's record does not open). Requests never read
//! the table: they read a [`Snapshot`] built from it, swapped atomically after every change, so
//! a change (a disabled user, a removed key, a new policy) holds from the next request on, on
//! every connection, without a restart.
//!
//! Every change is one store transaction followed by a rebuild of the snapshot, serialised by
//! one lock so snapshots are built in commit order; every change is logged (target `audit`) with
//! who made it. Secrets are never logged.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

use arc_swap::ArcSwap;

use super::canned::CANNED;
use super::document::{PolicyDocument, PolicyError, PolicyKind};
use crate::local_key::{LocalKey, LocalKeyError, Purpose};
use crate::store::schema::IamKind;
use crate::store::{
    IamAccessKey, IamGroup, IamPolicy, IamRecords, IamUser, Millis, Store, StoreError,
};

/// Shortest and longest access key (MinIO's limits).
const ACCESS_KEY_LEN: std::ops::RangeInclusive<usize> = 3..=128;
/// Shortest and longest secret key (MinIO's limits).
const SECRET_KEY_LEN: std::ops::RangeInclusive<usize> = 8..=40;
/// Longest policy or group name.
const MAX_NAME_LEN: usize = 128;

/// Why an identity change was refused.
#[derive(Debug, thiserror::Error)]
pub enum IamError {
    #[error("the user {0} does not exist")]
    NoSuchUser(String),
    #[error("the group {0} does not exist")]
    NoSuchGroup(String),
    #[error("the policy {0} does not exist")]
    NoSuchPolicy(String),
    #[error("the access key {0} does not exist")]
    NoSuchAccessKey(String),
    #[error("the access key {0} is already in use")]
    AccessKeyInUse(String),
    #[error("invalid access key: {0}")]
    InvalidAccessKey(String),
    #[error("invalid secret key: {0}")]
    InvalidSecretKey(String),
    #[error("invalid name: {0}")]
    InvalidName(String),
    #[error("malformed policy: {0}")]
    MalformedPolicy(#[from] PolicyError),
    #[error("the policy {name} is attached to {to}; detach it first")]
    PolicyInUse { name: String, to: String },
    #[error("the canned policy {0} cannot be changed or removed")]
    CannedPolicy(String),
    #[error("the group {0} still has members; remove them first")]
    GroupNotEmpty(String),
    #[error("{0}")]
    InvalidRequest(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Seal(#[from] LocalKeyError),
}

/// Whose permissions a signing key carries.
#[derive(Debug, Clone)]
pub enum KeyOwner {
    /// The root user: everything.
    Root,
    /// A user (by access key): its policies and its enabled groups' policies.
    User(String),
    /// An access key of a user or of root (a service account, or STS credentials): the
    /// parent's permissions, narrowed by the key's own policy when it has one.
    AccessKey {
        parent: String,
        parent_is_root: bool,
        policy: Option<Arc<PolicyDocument>>,
    },
}

/// A key requests may be signed with, and whose it is. `Debug` never shows the secret.
pub struct SigningKey {
    pub access_key: String,
    pub secret: String,
    pub owner: KeyOwner,
    /// SHA-256 of the session token requests must carry (`x-amz-security-token`), for STS
    /// credentials.
    pub session_token_sha256: Option<Vec<u8>>,
    /// Refused from this instant on.
    pub expires: Option<Millis>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("access_key", &self.access_key)
            .field("secret", &"<redacted>")
            .field("owner", &self.owner)
            .field("expires", &self.expires)
            .finish()
    }
}

/// What a user is allowed by: its own policies and those of its enabled groups.
#[derive(Debug, Clone, Default)]
pub struct UserPermissions {
    pub documents: Vec<Arc<PolicyDocument>>,
}

/// The identities as requests see them (rebuilt after every change).
#[derive(Debug, Default)]
pub struct Snapshot {
    keys: HashMap<String, Arc<SigningKey>>,
    users: HashMap<String, UserPermissions>,
    policies: BTreeMap<String, Arc<PolicyDocument>>,
    records: IamRecords,
    /// Whether any policy in use (named, or an access key's own) conditions on
    /// `s3:ExistingObjectTag/...`.
    existing_object_tags: bool,
}

impl Snapshot {
    /// Whether any identity policy needs objects' tags to be judged.
    pub fn uses_existing_object_tags(&self) -> bool {
        self.existing_object_tags
    }

    /// The permissions of an enabled user.
    pub fn user(&self, access_key: &str) -> Option<&UserPermissions> {
        self.users.get(access_key)
    }

    /// Every policy by name, canned ones included.
    pub fn policies(&self) -> &BTreeMap<String, Arc<PolicyDocument>> {
        &self.policies
    }

    /// The stored records (for listings).
    pub fn records(&self) -> &IamRecords {
        &self.records
    }
}

/// The canned policies, parsed once.
fn canned() -> &'static [(String, Arc<PolicyDocument>)] {
    static CANNED_DOCS: OnceLock<Vec<(String, Arc<PolicyDocument>)>> = OnceLock::new();
    CANNED_DOCS.get_or_init(|| {
        CANNED
            .iter()
            .filter_map(|(name, json)| {
                match PolicyDocument::parse(json.as_bytes(), &PolicyKind::Identity) {
                    Ok(d) => Some(((*name).to_string(), Arc::new(d))),
                    Err(e) => {
                        // Covered by a unit test; never happens in a build that passed it.
                        tracing::error!(policy = name, error = %e, "canned policy does not parse");
                        None
                    }
                }
            })
            .collect()
    })
}

fn is_canned(name: &str) -> bool {
    CANNED.iter().any(|(n, _)| *n == name)
}

/// A new user's, or a new access key's, parameters.
#[derive(Debug, Clone, Default)]
pub struct NewAccessKey {
    /// Generated when `None`.
    pub access_key: Option<String>,
    /// Generated when `None`.
    pub secret_key: Option<String>,
    pub policy: Option<String>,
    pub expires: Option<Millis>,
    pub name: String,
    pub description: String,
    /// For STS credentials: the session token's SHA-256.
    pub session_token_sha256: Option<Vec<u8>>,
}

/// Changes to an existing access key (`None`: unchanged).
#[derive(Debug, Clone, Default)]
pub struct AccessKeyUpdate {
    pub secret_key: Option<String>,
    /// `Some(None)` removes the embedded policy.
    pub policy: Option<Option<String>>,
    pub enabled: Option<bool>,
    pub expires: Option<Option<Millis>>,
    pub name: Option<String>,
    pub description: Option<String>,
}

/// The identity service: the snapshot requests read and the changes admin APIs make.
pub struct Identities {
    store: Arc<Store>,
    local_key: LocalKey,
    root_access_key: String,
    root_secret: String,
    /// The account's display name in ACLs and owners (default: the root access key).
    root_display_name: String,
    snapshot: ArcSwap<Snapshot>,
    changes: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Identities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identities")
            .field("root_access_key", &self.root_access_key)
            .finish_non_exhaustive()
    }
}

impl Identities {
    /// Loads the identities from the store.
    pub fn load(
        store: Arc<Store>,
        local_key: LocalKey,
        root_access_key: String,
        root_secret: String,
    ) -> Result<Identities, IamError> {
        let ids = Identities {
            store,
            local_key,
            root_display_name: root_access_key.clone(),
            root_access_key,
            root_secret,
            snapshot: ArcSwap::from_pointee(Snapshot::default()),
            changes: tokio::sync::Mutex::new(()),
        };
        ids.reload()?;
        Ok(ids)
    }

    /// The root user's access key (also the account's canonical id).
    pub fn root_access_key(&self) -> &str {
        &self.root_access_key
    }

    /// Names the account (the root user) in ACLs and owners; an empty name keeps the default,
    /// the root access key.
    pub fn with_root_display_name(mut self, name: &str) -> Self {
        if !name.is_empty() {
            self.root_display_name = name.to_string();
        }
        self
    }

    /// The display name of a canonical id: the account's for the root access key, else the
    /// id itself (a user's canonical id is its name).
    pub fn display_name(&self, canonical_id: &str) -> String {
        if canonical_id == self.root_access_key {
            self.root_display_name.clone()
        } else {
            canonical_id.to_string()
        }
    }

    /// Whether `canonical_id` names someone an ACL can grant to: the account or a user.
    pub fn is_canonical_id(&self, canonical_id: &str) -> bool {
        canonical_id == self.root_access_key || self.snapshot().user(canonical_id).is_some()
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// The key requests signed with `access_key` are checked against, if it may sign at `now`
    /// (enabled, its user enabled, not expired).
    pub fn signing_key(&self, access_key: &str, now: Millis) -> Option<Arc<SigningKey>> {
        let key = self.snapshot.load().keys.get(access_key).cloned()?;
        match key.expires {
            Some(t) if now >= t => None,
            _ => Some(key),
        }
    }

    fn reload(&self) -> Result<(), IamError> {
        let records = self.store.iam_records()?;
        self.snapshot.store(Arc::new(self.build(records)));
        Ok(())
    }

    fn open_secret(&self, access_key: &str, sealed: &[u8]) -> Option<String> {
        match self
            .local_key
            .open(Purpose::IdentitySecret, access_key.as_bytes(), sealed)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
        {
            Some(s) => Some(s),
            None => {
                tracing::error!(
                    access_key,
                    "a stored secret does not open with this data directory's local key; the key is refused"
                );
                None
            }
        }
    }

    fn build(&self, records: IamRecords) -> Snapshot {
        let mut policies: BTreeMap<String, Arc<PolicyDocument>> =
            canned().iter().cloned().collect();
        for p in &records.policies {
            match PolicyDocument::parse(p.document.as_bytes(), &PolicyKind::Identity) {
                Ok(d) => {
                    policies.insert(p.name.clone(), Arc::new(d));
                }
                Err(e) => {
                    tracing::error!(policy = %p.name, error = %e, "stored policy does not parse; ignored")
                }
            }
        }
        let docs = |names: &[String]| -> Vec<Arc<PolicyDocument>> {
            names
                .iter()
                .filter_map(|n| policies.get(n).cloned())
                .collect()
        };
        let mut users = HashMap::new();
        let mut keys = HashMap::new();
        keys.insert(
            self.root_access_key.clone(),
            Arc::new(SigningKey {
                access_key: self.root_access_key.clone(),
                secret: self.root_secret.clone(),
                owner: KeyOwner::Root,
                session_token_sha256: None,
                expires: None,
            }),
        );
        for u in records.users.iter().filter(|u| u.enabled) {
            let Some(secret) = self.open_secret(&u.access_key, &u.sealed_secret) else {
                continue;
            };
            let mut documents = docs(&u.policies);
            for g in records
                .groups
                .iter()
                .filter(|g| g.enabled && g.members.contains(&u.access_key))
            {
                documents.extend(docs(&g.policies));
            }
            users.insert(u.access_key.clone(), UserPermissions { documents });
            keys.insert(
                u.access_key.clone(),
                Arc::new(SigningKey {
                    access_key: u.access_key.clone(),
                    secret,
                    owner: KeyOwner::User(u.access_key.clone()),
                    session_token_sha256: None,
                    expires: None,
                }),
            );
        }
        for k in records.access_keys.iter().filter(|k| k.enabled) {
            let parent_is_root = k.parent == self.root_access_key;
            if !parent_is_root && !users.contains_key(&k.parent) {
                // The parent is disabled or gone.
                continue;
            }
            let policy = match &k.policy {
                None => None,
                Some(json) => match PolicyDocument::parse(json.as_bytes(), &PolicyKind::Identity) {
                    Ok(d) => Some(Arc::new(d)),
                    Err(e) => {
                        tracing::error!(access_key = %k.access_key, error = %e, "stored access-key policy does not parse; the key is refused");
                        continue;
                    }
                },
            };
            let Some(secret) = self.open_secret(&k.access_key, &k.sealed_secret) else {
                continue;
            };
            keys.insert(
                k.access_key.clone(),
                Arc::new(SigningKey {
                    access_key: k.access_key.clone(),
                    secret,
                    owner: KeyOwner::AccessKey {
                        parent: k.parent.clone(),
                        parent_is_root,
                        policy,
                    },
                    session_token_sha256: k.session_token_sha256.clone(),
                    expires: k.expires,
                }),
            );
        }
        let existing_object_tags = policies.values().any(|p| p.uses_existing_object_tags())
            || keys.values().any(|k| {
                matches!(&k.owner, KeyOwner::AccessKey { policy: Some(p), .. } if p.uses_existing_object_tags())
            });
        Snapshot {
            keys,
            users,
            policies,
            records,
            existing_object_tags,
        }
    }

    /// Runs one change in a store transaction, then rebuilds the snapshot and writes the audit
    /// line.
    async fn change<T: Send + 'static>(
        &self,
        actor: &str,
        action: &'static str,
        subject: &str,
        f: impl FnOnce(&mut crate::store::IamChange<'_>) -> Result<T, IamError> + Send + 'static,
    ) -> Result<T, IamError> {
        let _serial = self.changes.lock().await;
        // A refusal (checked before anything is written) commits nothing and travels out
        // inside the store's success.
        let outcome = self
            .store
            .iam_change(move |c| match f(c) {
                Ok(v) => Ok(Ok(v)),
                Err(IamError::Store(e)) => Err(e),
                Err(refused) => Ok(Err(refused)),
            })
            .await?;
        let value = match outcome {
            Ok(v) => v,
            Err(e) => {
                tracing::info!(target: "audit", actor, action, subject, outcome = "refused", reason = %e);
                return Err(e);
            }
        };
        self.reload()?;
        tracing::info!(target: "audit", actor, action, subject, outcome = "done");
        Ok(value)
    }

    fn seal(&self, access_key: &str, secret: &str) -> Result<Vec<u8>, IamError> {
        Ok(self.local_key.seal(
            Purpose::IdentitySecret,
            access_key.as_bytes(),
            secret.as_bytes(),
        )?)
    }

    fn check_new_access_key(&self, ak: &str) -> Result<(), IamError> {
        check_access_key(ak)?;
        if ak == self.root_access_key {
            return Err(IamError::AccessKeyInUse(ak.to_string()));
        }
        Ok(())
    }

    /// Adds a user, or sets an existing user's secret (MinIO's `add-user` does both). A new
    /// user starts enabled without policies.
    pub async fn add_user(
        &self,
        actor: &str,
        access_key: &str,
        secret_key: &str,
        now: Millis,
    ) -> Result<(), IamError> {
        self.check_new_access_key(access_key)?;
        check_secret_key(access_key, secret_key)?;
        let sealed = self.seal(access_key, secret_key)?;
        let ak = access_key.to_string();
        self.change(actor, "add-user", access_key, move |c| {
            if c.access_key(&ak)?.is_some() {
                return Err(IamError::AccessKeyInUse(ak));
            }
            let user = match c.user(&ak)? {
                Some(mut u) => {
                    u.sealed_secret = sealed;
                    u.updated = now;
                    u
                }
                None => IamUser {
                    access_key: ak,
                    sealed_secret: sealed,
                    enabled: true,
                    policies: Vec::new(),
                    created: now,
                    updated: now,
                },
            };
            c.put_user(&user)?;
            Ok(())
        })
        .await
    }

    /// Enables or disables a user (and with it the user's access keys).
    pub async fn set_user_enabled(
        &self,
        actor: &str,
        access_key: &str,
        enabled: bool,
        now: Millis,
    ) -> Result<(), IamError> {
        let ak = access_key.to_string();
        let action = if enabled {
            "enable-user"
        } else {
            "disable-user"
        };
        self.change(actor, action, access_key, move |c| {
            let mut u = c.user(&ak)?.ok_or(IamError::NoSuchUser(ak))?;
            u.enabled = enabled;
            u.updated = now;
            c.put_user(&u)?;
            Ok(())
        })
        .await
    }

    /// Removes a user, its access keys and its group memberships.
    pub async fn remove_user(&self, actor: &str, access_key: &str) -> Result<(), IamError> {
        let ak = access_key.to_string();
        self.change(actor, "remove-user", access_key, move |c| {
            if c.user(&ak)?.is_none() {
                return Err(IamError::NoSuchUser(ak));
            }
            let keys: Vec<String> = c
                .access_keys()?
                .into_iter()
                .filter(|k| k.parent == ak)
                .map(|k| k.access_key)
                .collect();
            let groups: Vec<IamGroup> = c
                .groups()?
                .into_iter()
                .filter(|g| g.members.contains(&ak))
                .collect();
            for k in keys {
                c.remove(IamKind::AccessKey, &k)?;
            }
            for mut g in groups {
                g.members.retain(|m| *m != ak);
                c.put_group(&g)?;
            }
            c.remove(IamKind::User, &ak)?;
            Ok(())
        })
        .await
    }

    /// Adds or replaces a named policy.
    pub async fn put_policy(
        &self,
        actor: &str,
        name: &str,
        document: &str,
        now: Millis,
    ) -> Result<(), IamError> {
        check_name(name)?;
        if is_canned(name) {
            return Err(IamError::CannedPolicy(name.to_string()));
        }
        PolicyDocument::parse(document.as_bytes(), &PolicyKind::Identity)?;
        let (n, doc) = (name.to_string(), document.to_string());
        self.change(actor, "put-policy", name, move |c| {
            let created = c.policy(&n)?.map(|p| p.created).unwrap_or(now);
            c.put_policy(&IamPolicy {
                name: n,
                document: doc,
                created,
                updated: now,
            })?;
            Ok(())
        })
        .await
    }

    /// Removes a named policy that nothing has attached.
    pub async fn remove_policy(&self, actor: &str, name: &str) -> Result<(), IamError> {
        if is_canned(name) {
            return Err(IamError::CannedPolicy(name.to_string()));
        }
        let n = name.to_string();
        self.change(actor, "remove-policy", name, move |c| {
            if c.policy(&n)?.is_none() {
                return Err(IamError::NoSuchPolicy(n));
            }
            if let Some(u) = c.users()?.into_iter().find(|u| u.policies.contains(&n)) {
                return Err(IamError::PolicyInUse {
                    name: n,
                    to: format!("user {}", u.access_key),
                });
            }
            if let Some(g) = c.groups()?.into_iter().find(|g| g.policies.contains(&n)) {
                return Err(IamError::PolicyInUse {
                    name: n,
                    to: format!("group {}", g.name),
                });
            }
            c.remove(IamKind::Policy, &n)?;
            Ok(())
        })
        .await
    }

    /// Attaches policies to a user or a group, detaches them, or replaces the whole list.
    /// Answers the policies the change added (attach, replace) or removed (detach).
    pub async fn set_attachment(
        &self,
        actor: &str,
        target: AttachTarget,
        policies: Vec<String>,
        mode: AttachMode,
        now: Millis,
    ) -> Result<Vec<String>, IamError> {
        if policies.is_empty() && mode != AttachMode::Replace {
            return Err(IamError::InvalidRequest("no policy named".into()));
        }
        let known: Vec<String> = self.snapshot().policies.keys().cloned().collect();
        let subject = match &target {
            AttachTarget::User(u) => format!("user {u}"),
            AttachTarget::Group(g) => format!("group {g}"),
        };
        let action = match mode {
            AttachMode::Attach => "attach-policy",
            AttachMode::Detach => "detach-policy",
            AttachMode::Replace => "set-policies",
        };
        self.change(actor, action, &subject, move |c| {
            if mode != AttachMode::Detach {
                for p in &policies {
                    if !known.contains(p) && c.policy(p)?.is_none() {
                        return Err(IamError::NoSuchPolicy(p.clone()));
                    }
                }
            }
            let apply = |list: &mut Vec<String>| -> Vec<String> {
                let mut changed = Vec::new();
                match mode {
                    AttachMode::Attach => {
                        for p in &policies {
                            if !list.contains(p) {
                                list.push(p.clone());
                                changed.push(p.clone());
                            }
                        }
                    }
                    AttachMode::Detach => {
                        for p in &policies {
                            if list.contains(p) {
                                list.retain(|q| q != p);
                                changed.push(p.clone());
                            }
                        }
                    }
                    AttachMode::Replace => {
                        changed = policies
                            .iter()
                            .filter(|p| !list.contains(p))
                            .cloned()
                            .collect();
                        *list = policies.clone();
                    }
                }
                changed
            };
            let changed = match target {
                AttachTarget::User(u) => {
                    let mut user = c.user(&u)?.ok_or(IamError::NoSuchUser(u))?;
                    let changed = apply(&mut user.policies);
                    user.updated = now;
                    c.put_user(&user)?;
                    changed
                }
                AttachTarget::Group(g) => {
                    let mut group = c.group(&g)?.ok_or(IamError::NoSuchGroup(g))?;
                    let changed = apply(&mut group.policies);
                    group.updated = now;
                    c.put_group(&group)?;
                    changed
                }
            };
            Ok(changed)
        })
        .await
    }

    /// Adds members to a group (creating it), or removes them. Removing no members removes the
    /// group itself, which must be empty (MinIO's `update-group-members`).
    pub async fn update_group_members(
        &self,
        actor: &str,
        group: &str,
        members: Vec<String>,
        remove: bool,
        now: Millis,
    ) -> Result<(), IamError> {
        check_name(group)?;
        let g = group.to_string();
        let action = if remove {
            "remove-group-members"
        } else {
            "add-group-members"
        };
        self.change(actor, action, group, move |c| {
            for m in &members {
                if c.user(m)?.is_none() {
                    return Err(IamError::NoSuchUser(m.clone()));
                }
            }
            let existing = c.group(&g)?;
            if remove {
                let mut grp = existing.ok_or_else(|| IamError::NoSuchGroup(g.clone()))?;
                if members.is_empty() {
                    if !grp.members.is_empty() {
                        return Err(IamError::GroupNotEmpty(g));
                    }
                    c.remove(IamKind::Group, &g)?;
                    return Ok(());
                }
                grp.members.retain(|m| !members.contains(m));
                grp.updated = now;
                c.put_group(&grp)?;
            } else {
                let mut grp = existing.unwrap_or(IamGroup {
                    name: g,
                    members: Vec::new(),
                    policies: Vec::new(),
                    enabled: true,
                    updated: now,
                });
                for m in members {
                    if !grp.members.contains(&m) {
                        grp.members.push(m);
                    }
                }
                grp.updated = now;
                c.put_group(&grp)?;
            }
            Ok(())
        })
        .await
    }

    /// Enables or disables a group.
    pub async fn set_group_enabled(
        &self,
        actor: &str,
        group: &str,
        enabled: bool,
        now: Millis,
    ) -> Result<(), IamError> {
        let g = group.to_string();
        let action = if enabled {
            "enable-group"
        } else {
            "disable-group"
        };
        self.change(actor, action, group, move |c| {
            let mut grp = c.group(&g)?.ok_or(IamError::NoSuchGroup(g))?;
            grp.enabled = enabled;
            grp.updated = now;
            c.put_group(&grp)?;
            Ok(())
        })
        .await
    }

    /// Creates an access key for `parent` (a user, or root); answers the access key and the
    /// secret (the only time the secret is shown).
    pub async fn add_access_key(
        &self,
        actor: &str,
        parent: &str,
        new: NewAccessKey,
        now: Millis,
    ) -> Result<(String, String), IamError> {
        let access_key = match new.access_key {
            Some(a) => a,
            None => random_string(20, ALNUM_UPPER)?,
        };
        self.check_new_access_key(&access_key)?;
        let secret = match new.secret_key {
            Some(s) => s,
            None => random_string(40, ALNUM)?,
        };
        check_secret_key(&access_key, &secret)?;
        if let Some(p) = &new.policy {
            PolicyDocument::parse(p.as_bytes(), &PolicyKind::Identity)?;
        }
        if let Some(t) = new.expires
            && t <= now
        {
            return Err(IamError::InvalidRequest(
                "the expiry must be in the future".into(),
            ));
        }
        let sealed = self.seal(&access_key, &secret)?;
        let parent_is_root = parent == self.root_access_key;
        let record = IamAccessKey {
            access_key: access_key.clone(),
            sealed_secret: sealed,
            parent: parent.to_string(),
            policy: new.policy,
            enabled: true,
            expires: new.expires,
            name: new.name,
            description: new.description,
            session_token_sha256: new.session_token_sha256,
            created: now,
            updated: now,
        };
        self.change(actor, "add-access-key", &access_key, move |c| {
            if !parent_is_root && c.user(&record.parent)?.is_none() {
                return Err(IamError::NoSuchUser(record.parent));
            }
            if c.user(&record.access_key)?.is_some() || c.access_key(&record.access_key)?.is_some()
            {
                return Err(IamError::AccessKeyInUse(record.access_key));
            }
            c.put_access_key(&record)?;
            Ok(())
        })
        .await?;
        Ok((access_key, secret))
    }

    /// Changes an access key.
    pub async fn update_access_key(
        &self,
        actor: &str,
        access_key: &str,
        update: AccessKeyUpdate,
        now: Millis,
    ) -> Result<(), IamError> {
        if let Some(Some(p)) = &update.policy {
            PolicyDocument::parse(p.as_bytes(), &PolicyKind::Identity)?;
        }
        let sealed = match &update.secret_key {
            Some(s) => {
                check_secret_key(access_key, s)?;
                Some(self.seal(access_key, s)?)
            }
            None => None,
        };
        let ak = access_key.to_string();
        self.change(actor, "update-access-key", access_key, move |c| {
            let mut k = c.access_key(&ak)?.ok_or(IamError::NoSuchAccessKey(ak))?;
            if let Some(s) = sealed {
                k.sealed_secret = s;
            }
            if let Some(p) = update.policy {
                k.policy = p;
            }
            if let Some(e) = update.enabled {
                k.enabled = e;
            }
            if let Some(x) = update.expires {
                k.expires = x;
            }
            if let Some(n) = update.name {
                k.name = n;
            }
            if let Some(d) = update.description {
                k.description = d;
            }
            k.updated = now;
            c.put_access_key(&k)?;
            Ok(())
        })
        .await
    }

    /// Removes the access keys whose expiry has passed (temporary credentials accumulate
    /// otherwise); answers how many.
    pub async fn remove_expired_keys(&self, actor: &str, now: Millis) -> Result<usize, IamError> {
        let expired = self
            .snapshot()
            .records()
            .access_keys
            .iter()
            .any(|k| k.expires.is_some_and(|t| t <= now));
        if !expired {
            return Ok(0);
        }
        self.change(actor, "remove-expired-keys", "-", move |c| {
            let gone: Vec<String> = c
                .access_keys()?
                .into_iter()
                .filter(|k| k.expires.is_some_and(|t| t <= now))
                .map(|k| k.access_key)
                .collect();
            for k in &gone {
                c.remove(IamKind::AccessKey, k)?;
            }
            Ok(gone.len())
        })
        .await
    }

    /// Removes an access key.
    pub async fn remove_access_key(&self, actor: &str, access_key: &str) -> Result<(), IamError> {
        let ak = access_key.to_string();
        self.change(actor, "remove-access-key", access_key, move |c| {
            if !c.remove(IamKind::AccessKey, &ak)? {
                return Err(IamError::NoSuchAccessKey(ak));
            }
            Ok(())
        })
        .await
    }
}

/// How [`Identities::set_attachment`] changes a list of attached policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachMode {
    Attach,
    Detach,
    Replace,
}

/// What policies are attached to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachTarget {
    User(String),
    Group(String),
}

fn check_access_key(ak: &str) -> Result<(), IamError> {
    if !ACCESS_KEY_LEN.contains(&ak.len()) {
        return Err(IamError::InvalidAccessKey(format!(
            "an access key is {} to {} characters long",
            ACCESS_KEY_LEN.start(),
            ACCESS_KEY_LEN.end()
        )));
    }
    if !ak
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.@+=".contains(&b))
    {
        return Err(IamError::InvalidAccessKey(
            "an access key holds only letters, digits and - _ . @ + =".into(),
        ));
    }
    Ok(())
}

fn check_secret_key(access_key: &str, secret: &str) -> Result<(), IamError> {
    if !SECRET_KEY_LEN.contains(&secret.len()) {
        return Err(IamError::InvalidSecretKey(format!(
            "a secret key is {} to {} characters long",
            SECRET_KEY_LEN.start(),
            SECRET_KEY_LEN.end()
        )));
    }
    if !secret.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(IamError::InvalidSecretKey(
            "a secret key holds only visible ASCII characters".into(),
        ));
    }
    if secret == access_key {
        return Err(IamError::InvalidSecretKey(
            "the secret key must differ from the access key".into(),
        ));
    }
    if secret.bytes().all(|b| b == secret.as_bytes()[0]) {
        return Err(IamError::InvalidSecretKey(
            "the secret key is one character repeated".into(),
        ));
    }
    Ok(())
}

/// Policy and group names.
fn check_name(name: &str) -> Result<(), IamError> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(IamError::InvalidName(format!(
            "a name is 1 to {MAX_NAME_LEN} characters long"
        )));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.@+=,".contains(&b))
    {
        return Err(IamError::InvalidName(format!(
            "{name:?}: a name holds only letters, digits and - _ . @ + = ,"
        )));
    }
    Ok(())
}

const ALNUM_UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// `len` characters drawn uniformly from `alphabet` (rejection sampling; alphabet < 256).
pub fn random_string(len: usize, alphabet: &[u8]) -> Result<String, IamError> {
    use ring::rand::SecureRandom;
    let rng = ring::rand::SystemRandom::new();
    let n = alphabet.len().max(1);
    let limit = 256 - (256 % n);
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        rng.fill(&mut buf).map_err(|_| LocalKeyError::Random)?;
        for &b in &buf {
            if (b as usize) < limit && out.len() < len {
                out.push(alphabet[b as usize % n] as char);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_secrets_are_checked() {
        assert!(check_access_key("ab").is_err());
        assert!(check_access_key("spark-etl").is_ok());
        assert!(check_access_key("a b c").is_err());
        assert!(check_access_key("../x").is_err());
        assert!(check_secret_key("spark", "short").is_err());
        assert!(check_secret_key("spark", "aaaaaaaaaa").is_err());
        assert!(check_secret_key("sparkysparky", "sparkysparky").is_err());
        assert!(check_secret_key("spark", "has space in").is_err());
        assert!(check_secret_key("spark", "Gold-Reader-2026").is_ok());
        assert!(check_name("bronze-writer").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("a/b").is_err());
    }

    #[test]
    fn random_strings_use_the_alphabet() {
        let s = random_string(40, ALNUM).unwrap();
        assert_eq!(s.len(), 40);
        assert!(s.bytes().all(|b| ALNUM.contains(&b)));
        assert_ne!(s, random_string(40, ALNUM).unwrap());
    }

    #[test]
    fn canned_policies_all_parse() {
        assert_eq!(canned().len(), CANNED.len());
    }
}
