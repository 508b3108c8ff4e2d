//! Users, groups, named policies and access keys (routes under `iam/`), over
//! `iam/identity.rs`. Every change is made in the caller's name (the audit log says who).

use axum::body::Body;
use http::{Method, Response, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AdminApi, AdminError, AdminResult, json_response, ok, read_body};
use crate::auth::RequestBody;
use crate::iam::identity::{AccessKeyUpdate, AttachMode, AttachTarget, NewAccessKey};
use crate::iam::{Caller, IamError};
use crate::store::{IamAccessKey, IamGroup, IamUser, Millis};

/// Largest JSON body (a policy document is at most 20 KiB).
const MAX_BODY: usize = 64 * 1024;

impl From<IamError> for AdminError {
    fn from(e: IamError) -> Self {
        match &e {
            IamError::NoSuchUser(_)
            | IamError::NoSuchGroup(_)
            | IamError::NoSuchPolicy(_)
            | IamError::NoSuchAccessKey(_) => AdminError::not_found(e.to_string()),
            IamError::AccessKeyInUse(_)
            | IamError::PolicyInUse { .. }
            | IamError::GroupNotEmpty(_)
            | IamError::CannedPolicy(_) => AdminError::conflict(e.to_string()),
            IamError::InvalidAccessKey(_)
            | IamError::InvalidSecretKey(_)
            | IamError::InvalidName(_)
            | IamError::InvalidRequest(_) => AdminError::bad_request(e.to_string()),
            IamError::MalformedPolicy(p) => {
                AdminError::other(StatusCode::BAD_REQUEST, "MalformedPolicy", p.to_string())
            }
            IamError::Store(_) | IamError::Seal(_) => {
                tracing::error!(error = %e, "identity change failed");
                AdminError::internal("the identity change could not be stored")
            }
        }
    }
}

fn parse<T: for<'de> Deserialize<'de>>(data: &[u8], expected: &str) -> AdminResult<T> {
    serde_json::from_slice(data)
        .map_err(|e| AdminError::bad_request(format!("expected {expected}: {e}")))
}

/// A field that may be absent (`None`), `null` (`Some(None)`) or a value.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

fn actor(caller: &Caller) -> String {
    caller.access_key().unwrap_or("-").to_string()
}

fn user_json(u: &IamUser, groups: &[&IamGroup]) -> Value {
    json!({
        "access_key": u.access_key,
        "status": if u.enabled { "enabled" } else { "disabled" },
        "policies": u.policies,
        "groups": groups.iter().filter(|g| g.members.contains(&u.access_key)).map(|g| &g.name).collect::<Vec<_>>(),
        "created_ms": u.created,
        "updated_ms": u.updated,
    })
}

fn group_json(g: &IamGroup) -> Value {
    json!({
        "name": g.name,
        "status": if g.enabled { "enabled" } else { "disabled" },
        "members": g.members,
        "policies": g.policies,
        "updated_ms": g.updated,
    })
}

fn key_json(k: &IamAccessKey) -> Value {
    json!({
        "access_key": k.access_key,
        "parent": k.parent,
        "status": if k.enabled { "enabled" } else { "disabled" },
        "name": k.name,
        "description": k.description,
        "policy": k.policy,
        "expires_ms": k.expires,
        "temporary": k.session_token_sha256.is_some(),
        "created_ms": k.created,
    })
}

/// `GET iam/users`.
pub fn list_users(api: &AdminApi) -> AdminResult<Response<Body>> {
    let snap = api.identities.snapshot();
    let r = snap.records();
    let groups: Vec<&IamGroup> = r.groups.iter().collect();
    ok(json!({ "users": r.users.iter().map(|u| user_json(u, &groups)).collect::<Vec<_>>() }))
}

/// `GET|PUT|DELETE iam/users/{access_key}`.
pub async fn user(
    api: &AdminApi,
    caller: &Caller,
    method: &Method,
    access_key: &str,
    body: RequestBody,
    now: Millis,
) -> AdminResult<Response<Body>> {
    match *method {
        Method::PUT => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct SetUser {
                secret_key: String,
            }
            let set: SetUser = parse(
                &read_body(body, MAX_BODY).await?,
                "{\"secret_key\": \"...\"}",
            )?;
            api.identities
                .add_user(&actor(caller), access_key, &set.secret_key, now)
                .await?;
        }
        Method::DELETE => {
            api.identities
                .remove_user(&actor(caller), access_key)
                .await?;
            return ok(json!({ "deleted": access_key }));
        }
        _ => {}
    }
    let snap = api.identities.snapshot();
    let r = snap.records();
    let groups: Vec<&IamGroup> = r.groups.iter().collect();
    match r.users.iter().find(|u| u.access_key == access_key) {
        Some(u) => ok(user_json(u, &groups)),
        None => Err(IamError::NoSuchUser(access_key.to_string()).into()),
    }
}

/// `POST iam/users/{access_key}/enable|disable`.
pub async fn set_user_status(
    api: &AdminApi,
    caller: &Caller,
    access_key: &str,
    enabled: bool,
    now: Millis,
) -> AdminResult<Response<Body>> {
    api.identities
        .set_user_enabled(&actor(caller), access_key, enabled, now)
        .await?;
    ok(json!({ "access_key": access_key, "status": if enabled { "enabled" } else { "disabled" } }))
}

/// `GET iam/groups`.
pub fn list_groups(api: &AdminApi) -> AdminResult<Response<Body>> {
    let snap = api.identities.snapshot();
    ok(json!({ "groups": snap.records().groups.iter().map(group_json).collect::<Vec<_>>() }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Members {
    members: Vec<String>,
}

/// `GET|PUT|DELETE iam/groups/{name}`: PUT adds members (creating the group), DELETE removes
/// an empty group.
pub async fn group(
    api: &AdminApi,
    caller: &Caller,
    method: &Method,
    name: &str,
    body: RequestBody,
    now: Millis,
) -> AdminResult<Response<Body>> {
    match *method {
        Method::PUT => {
            let m: Members = parse(&read_body(body, MAX_BODY).await?, "{\"members\": [...]}")?;
            api.identities
                .update_group_members(&actor(caller), name, m.members, false, now)
                .await?;
        }
        Method::DELETE => {
            api.identities
                .update_group_members(&actor(caller), name, Vec::new(), true, now)
                .await?;
            return ok(json!({ "deleted": name }));
        }
        _ => {}
    }
    group_answer(api, name)
}

fn group_answer(api: &AdminApi, name: &str) -> AdminResult<Response<Body>> {
    let snap = api.identities.snapshot();
    match snap.records().groups.iter().find(|g| g.name == name) {
        Some(g) => ok(group_json(g)),
        None => Err(IamError::NoSuchGroup(name.to_string()).into()),
    }
}

/// `POST iam/groups/{name}/remove-members`.
pub async fn remove_members(
    api: &AdminApi,
    caller: &Caller,
    name: &str,
    body: RequestBody,
    now: Millis,
) -> AdminResult<Response<Body>> {
    let m: Members = parse(&read_body(body, MAX_BODY).await?, "{\"members\": [...]}")?;
    if m.members.is_empty() {
        return Err(AdminError::bad_request("name at least one member"));
    }
    api.identities
        .update_group_members(&actor(caller), name, m.members, true, now)
        .await?;
    group_answer(api, name)
}

/// `POST iam/groups/{name}/enable|disable`.
pub async fn set_group_status(
    api: &AdminApi,
    caller: &Caller,
    name: &str,
    enabled: bool,
    now: Millis,
) -> AdminResult<Response<Body>> {
    api.identities
        .set_group_enabled(&actor(caller), name, enabled, now)
        .await?;
    ok(json!({ "name": name, "status": if enabled { "enabled" } else { "disabled" } }))
}

/// `GET iam/policies`: every named policy, canned ones included.
pub fn list_policies(api: &AdminApi) -> AdminResult<Response<Body>> {
    let snap = api.identities.snapshot();
    let policies: serde_json::Map<String, Value> = snap
        .policies()
        .iter()
        .map(|(name, doc)| {
            let parsed: Value = serde_json::from_str(doc.source()).unwrap_or(Value::Null);
            (name.clone(), parsed)
        })
        .collect();
    ok(json!({ "policies": policies }))
}

/// `GET|PUT|DELETE iam/policies/{name}`: PUT's body is the policy document.
pub async fn policy(
    api: &AdminApi,
    caller: &Caller,
    method: &Method,
    name: &str,
    body: RequestBody,
    now: Millis,
) -> AdminResult<Response<Body>> {
    match *method {
        Method::PUT => {
            let data = read_body(body, MAX_BODY).await?;
            let text = String::from_utf8(data)
                .map_err(|_| AdminError::bad_request("the policy is not UTF-8"))?;
            api.identities
                .put_policy(&actor(caller), name, &text, now)
                .await?;
        }
        Method::DELETE => {
            api.identities.remove_policy(&actor(caller), name).await?;
            return ok(json!({ "deleted": name }));
        }
        _ => {}
    }
    let snap = api.identities.snapshot();
    match snap.policies().get(name) {
        Some(doc) => {
            let parsed: Value = serde_json::from_str(doc.source()).unwrap_or(Value::Null);
            ok(json!({ "name": name, "policy": parsed }))
        }
        None => Err(IamError::NoSuchPolicy(name.to_string()).into()),
    }
}

/// `POST iam/attach` and `POST iam/detach`: `{"policies": [...], "user": ak}` or
/// `{"policies": [...], "group": name}`.
pub async fn attachment(
    api: &AdminApi,
    caller: &Caller,
    body: RequestBody,
    attach: bool,
    now: Millis,
) -> AdminResult<Response<Body>> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Attach {
        policies: Vec<String>,
        user: Option<String>,
        group: Option<String>,
    }
    let a: Attach = parse(
        &read_body(body, MAX_BODY).await?,
        "{\"policies\": [...], \"user\" or \"group\": \"...\"}",
    )?;
    let target = match (a.user, a.group) {
        (Some(u), None) => AttachTarget::User(u),
        (None, Some(g)) => AttachTarget::Group(g),
        _ => {
            return Err(AdminError::bad_request(
                "name exactly one of user and group",
            ));
        }
    };
    let mode = if attach {
        AttachMode::Attach
    } else {
        AttachMode::Detach
    };
    let changed = api
        .identities
        .set_attachment(&actor(caller), target, a.policies, mode, now)
        .await?;
    let key = if attach { "attached" } else { "detached" };
    ok(json!({ key: changed }))
}

/// `GET iam/access-keys[?user=ak]`.
pub fn list_access_keys(api: &AdminApi, user: Option<&str>) -> AdminResult<Response<Body>> {
    let snap = api.identities.snapshot();
    let keys: Vec<Value> = snap
        .records()
        .access_keys
        .iter()
        .filter(|k| user.is_none_or(|u| k.parent == u))
        .map(key_json)
        .collect();
    ok(json!({ "access_keys": keys }))
}

/// `POST iam/access-keys`: creates a key; the answer shows its secret, once.
pub async fn create_access_key(
    api: &AdminApi,
    caller: &Caller,
    body: RequestBody,
    now: Millis,
) -> AdminResult<Response<Body>> {
    #[derive(Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    struct Create {
        /// Default: the caller's user.
        parent: Option<String>,
        access_key: Option<String>,
        secret_key: Option<String>,
        policy: Option<Value>,
        expires_ms: Option<Millis>,
        #[serde(default)]
        name: String,
        #[serde(default)]
        description: String,
    }
    let data = read_body(body, MAX_BODY).await?;
    let c: Create = if data.is_empty() {
        Create::default()
    } else {
        parse(&data, "an access-key request")?
    };
    let parent = match c.parent.or_else(|| caller.user().map(str::to_string)) {
        Some(p) => p,
        None => return Err(AdminError::bad_request("name the parent user")),
    };
    let policy = c.policy.map(|p| match p {
        Value::String(s) => s,
        other => other.to_string(),
    });
    let (access_key, secret_key) = api
        .identities
        .add_access_key(
            &actor(caller),
            &parent,
            NewAccessKey {
                access_key: c.access_key,
                secret_key: c.secret_key,
                policy,
                expires: c.expires_ms,
                name: c.name,
                description: c.description,
                session_token_sha256: None,
            },
            now,
        )
        .await?;
    Ok(json_response(
        StatusCode::CREATED,
        json!({ "access_key": access_key, "secret_key": secret_key, "parent": parent }),
    ))
}

/// `GET|PUT|DELETE iam/access-keys/{access_key}`.
pub async fn access_key(
    api: &AdminApi,
    caller: &Caller,
    method: &Method,
    access_key: &str,
    body: RequestBody,
    now: Millis,
) -> AdminResult<Response<Body>> {
    match *method {
        Method::PUT => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Update {
                secret_key: Option<String>,
                /// `null` removes the key's own policy.
                #[serde(default, deserialize_with = "present")]
                policy: Option<Option<Value>>,
                status: Option<String>,
                #[serde(default, deserialize_with = "present")]
                expires_ms: Option<Option<Millis>>,
                name: Option<String>,
                description: Option<String>,
            }
            let u: Update = parse(&read_body(body, MAX_BODY).await?, "an access-key update")?;
            let enabled = match u.status.as_deref() {
                None => None,
                Some("enabled" | "on") => Some(true),
                Some("disabled" | "off") => Some(false),
                Some(other) => {
                    return Err(AdminError::bad_request(format!(
                        "status: expected enabled or disabled, got {other:?}"
                    )));
                }
            };
            api.identities
                .update_access_key(
                    &actor(caller),
                    access_key,
                    AccessKeyUpdate {
                        secret_key: u.secret_key,
                        policy: u.policy.map(|p| {
                            p.map(|v| match v {
                                Value::String(s) => s,
                                other => other.to_string(),
                            })
                        }),
                        enabled,
                        expires: u.expires_ms,
                        name: u.name,
                        description: u.description,
                    },
                    now,
                )
                .await?;
        }
        Method::DELETE => {
            api.identities
                .remove_access_key(&actor(caller), access_key)
                .await?;
            return ok(json!({ "deleted": access_key }));
        }
        _ => {}
    }
    let snap = api.identities.snapshot();
    match snap
        .records()
        .access_keys
        .iter()
        .find(|k| k.access_key == access_key)
    {
        Some(k) => ok(key_json(k)),
        None => Err(IamError::NoSuchAccessKey(access_key.to_string()).into()),
    }
}
