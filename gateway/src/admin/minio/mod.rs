//! MinIO's admin API for identities (`/minio/admin/v3/...`), so the MinIO SDKs' `MinioAdmin`
//! and `mc admin user|group|policy|accesskey` work unmodified: users, canned policies and their
//! attachments, groups, and service accounts (access keys).
//!
//! The same identities and the same evaluator as lakegate's own admin API (`iam/`): each call
//! is judged by MinIO's IAM action for it. Sensitive bodies are encrypted as MinIO does
//! ([`crypto`]) with the secret key of the credential that signed the request. Errors are
//! MinIO's JSON (`{"Code","Message","Resource","RequestId","HostId"}`).

pub mod crypto;

use std::collections::BTreeMap;

use axum::body::Body;
use http::{HeaderValue, Method, Response, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AdminApi;
use crate::auth::{self, RequestBody};
use crate::clock::{Fraction, iso8601};
use crate::iam::condition::ConditionContext;
use crate::iam::identity::{AccessKeyUpdate, AttachMode, AttachTarget, NewAccessKey};
use crate::iam::{Caller, IamError, KeyOwner};
use crate::store::{IamAccessKey, IamGroup, IamUser, Millis};

/// The path prefix of MinIO's admin API.
pub const PREFIX: &str = "/minio/admin/v3/";

/// A refusal, as MinIO words it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinioError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl MinioError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        MinioError {
            status,
            code,
            message: message.into(),
        }
    }

    fn access_denied() -> Self {
        MinioError::new(StatusCode::FORBIDDEN, "AccessDenied", "Access Denied.")
    }

    fn invalid_argument() -> Self {
        MinioError::new(
            StatusCode::BAD_REQUEST,
            "XMinioAdminInvalidArgument",
            "Invalid arguments specified.",
        )
    }

    fn bad_json(detail: impl std::fmt::Display) -> Self {
        MinioError::new(
            StatusCode::BAD_REQUEST,
            "XMinioAdminConfigBadJSON",
            format!("JSON configuration provided is of incorrect format ({detail})"),
        )
    }

    fn render(&self, resource: &str, request_id: &str, is_head: bool) -> Response<Body> {
        let body = if is_head {
            Body::empty()
        } else {
            Body::from(
                json!({
                    "Code": self.code,
                    "Message": self.message,
                    "Resource": resource,
                    "RequestId": request_id,
                    "HostId": "lakegate",
                })
                .to_string(),
            )
        };
        let mut r = Response::new(body);
        *r.status_mut() = self.status;
        r.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        r
    }
}

impl From<IamError> for MinioError {
    fn from(e: IamError) -> Self {
        use StatusCode as S;
        match e {
            IamError::NoSuchUser(_) => MinioError::new(
                S::NOT_FOUND,
                "XMinioAdminNoSuchUser",
                "The specified user does not exist.",
            ),
            IamError::NoSuchGroup(_) => MinioError::new(
                S::NOT_FOUND,
                "XMinioAdminNoSuchGroup",
                "The specified group does not exist.",
            ),
            IamError::NoSuchPolicy(_) => MinioError::new(
                S::NOT_FOUND,
                "XMinioAdminNoSuchPolicy",
                "The canned policy does not exist.",
            ),
            IamError::NoSuchAccessKey(_) => MinioError::new(
                S::NOT_FOUND,
                "XMinioInvalidIAMCredentials",
                "The specified service account is not found",
            ),
            IamError::AccessKeyInUse(_) => MinioError::new(
                S::BAD_REQUEST,
                "XMinioIAMServiceAccountNotAllowed",
                "The access key is already taken",
            ),
            IamError::GroupNotEmpty(_) => MinioError::new(
                S::BAD_REQUEST,
                "XMinioAdminGroupNotEmpty",
                "The specified group is not empty - cannot remove it.",
            ),
            IamError::PolicyInUse { .. } => MinioError::new(
                S::BAD_REQUEST,
                "XMinioIAMPolicyInUse",
                "The policy cannot be removed, as it is in use",
            ),
            IamError::CannedPolicy(_) => MinioError::new(
                S::FORBIDDEN,
                "XMinioIAMActionNotAllowed",
                "Specified IAM action is not allowed",
            ),
            IamError::MalformedPolicy(p) => {
                MinioError::new(S::BAD_REQUEST, "XMinioMalformedIAMPolicy", p.to_string())
            }
            IamError::InvalidAccessKey(m)
            | IamError::InvalidSecretKey(m)
            | IamError::InvalidName(m)
            | IamError::InvalidRequest(m) => {
                MinioError::new(S::BAD_REQUEST, "XMinioAdminInvalidArgument", m)
            }
            e @ (IamError::Store(_) | IamError::Seal(_)) => {
                tracing::error!(error = %e, "identity change failed");
                MinioError::new(
                    S::INTERNAL_SERVER_ERROR,
                    "InternalError",
                    "We encountered an internal error, please try again.",
                )
            }
        }
    }
}

type MinioResult<T> = Result<T, MinioError>;

/// Whether a request is for MinIO's admin API.
pub fn is_minio_admin_path(path: &str) -> bool {
    path.starts_with(PREFIX)
}

/// Handles one MinIO admin request.
pub async fn handle(
    api: &AdminApi,
    parts: http::request::Parts,
    body: Body,
    request_id: &str,
) -> Response<Body> {
    let is_head = parts.method == Method::HEAD;
    let resource = parts.uri.path().to_string();
    match run(api, parts, body).await {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(code = e.code, message = %e.message, "MinIO admin request refused");
            e.render(&resource, request_id, is_head)
        }
    }
}

/// One call: what the handlers need.
struct Call {
    caller: Caller,
    /// The signer's secret: the password of encrypted bodies.
    secret: String,
    query: BTreeMap<String, Vec<String>>,
    body: RequestBody,
    now: Millis,
}

impl Call {
    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .get(name)
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    fn required(&self, name: &str) -> MinioResult<&str> {
        self.param(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(MinioError::invalid_argument)
    }

    fn actor(&self) -> String {
        self.caller.access_key().unwrap_or("-").to_string()
    }

    async fn read(&mut self) -> MinioResult<Vec<u8>> {
        self.body
            .read_to_end(crypto::MAX_ENCRYPTED)
            .await
            .map(|b| b.to_vec())
            .map_err(|_| {
                MinioError::new(StatusCode::BAD_REQUEST, "InvalidRequest", "Invalid Request")
            })
    }

    async fn read_encrypted(&mut self) -> MinioResult<Vec<u8>> {
        let sealed = self.read().await?;
        crypto::decrypt(&self.secret, &sealed).map_err(MinioError::bad_json)
    }

    fn encrypted(&self, value: &Value) -> MinioResult<Response<Body>> {
        let sealed = crypto::encrypt(&self.secret, value.to_string().as_bytes()).map_err(|e| {
            MinioError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                e.to_string(),
            )
        })?;
        Ok(reply(StatusCode::OK, Body::from(sealed)))
    }
}

fn reply(status: StatusCode, body: Body) -> Response<Body> {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn plain(value: &Value) -> MinioResult<Response<Body>> {
    Ok(reply(StatusCode::OK, Body::from(value.to_string())))
}

fn done() -> MinioResult<Response<Body>> {
    Ok(reply(StatusCode::OK, Body::empty()))
}

fn no_content() -> MinioResult<Response<Body>> {
    Ok(reply(StatusCode::NO_CONTENT, Body::empty()))
}

fn parse_json<'a, T: Deserialize<'a>>(data: &'a [u8]) -> MinioResult<T> {
    serde_json::from_slice(data).map_err(MinioError::bad_json)
}

fn parse_query(raw: Option<&str>) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let dec = |s: &str| String::from_utf8_lossy(&auth::decode_query_component(s)).into_owned();
        out.entry(dec(k)).or_default().push(dec(v));
    }
    out
}

async fn run(
    api: &AdminApi,
    parts: http::request::Parts,
    body: Body,
) -> MinioResult<Response<Body>> {
    crate::s3::check_header_section(&parts).map_err(|_| MinioError::invalid_argument())?;
    // MinIO's clients sign with an empty region; any region is taken, as MinIO does.
    let authenticated = auth::authenticate(
        &parts,
        None,
        &api.credentials,
        auth::ANY_REGION,
        std::time::SystemTime::now(),
    )
    .map_err(|e| {
        tracing::debug!(reason = %e, "MinIO admin request not authenticated");
        match e {
            auth::AuthError::UnknownAccessKey { .. } => MinioError::new(
                StatusCode::FORBIDDEN,
                "InvalidAccessKeyId",
                "The Access Key Id you provided does not exist in our records.",
            ),
            auth::AuthError::SignatureMismatch { .. } => MinioError::new(
                StatusCode::FORBIDDEN,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
            ),
            _ => MinioError::access_denied(),
        }
    })?;
    let body = RequestBody::new(body, authenticated.payload.clone(), &parts.headers)
        .map_err(|_| MinioError::invalid_argument())?
        .with_read_timeout(api.body_read_timeout);
    let command = parts
        .uri
        .path()
        .strip_prefix(PREFIX)
        .unwrap_or_default()
        .to_string();
    let mut call = Call {
        secret: authenticated.key.secret.clone(),
        caller: Caller::Key(authenticated.key),
        query: parse_query(parts.uri.query()),
        body,
        now: api.clock.now(),
    };
    let method = parts.method.clone();
    match (method, command.as_str()) {
        (Method::PUT, "add-user") => add_user(api, &mut call).await,
        (Method::DELETE, "remove-user") => remove_user(api, &mut call).await,
        (Method::GET, "list-users") => list_users(api, &call),
        (Method::GET, "user-info") => user_info(api, &call),
        (Method::PUT, "set-user-status") => set_user_status(api, &mut call).await,
        (Method::PUT, "add-canned-policy") => add_policy(api, &mut call).await,
        (Method::DELETE, "remove-canned-policy") => remove_policy(api, &mut call).await,
        (Method::GET, "list-canned-policies") => list_policies(api, &call),
        (Method::GET, "info-canned-policy") => policy_info(api, &call),
        (Method::PUT, "set-user-or-group-policy") => set_policy(api, &mut call).await,
        (Method::POST, "idp/builtin/policy/attach") => {
            attach(api, &mut call, AttachMode::Attach).await
        }
        (Method::POST, "idp/builtin/policy/detach") => {
            attach(api, &mut call, AttachMode::Detach).await
        }
        (Method::GET, "idp/builtin/policy-entities") => policy_entities(api, &call),
        (Method::PUT, "update-group-members") => update_group(api, &mut call).await,
        (Method::GET, "group") => group_info(api, &call),
        (Method::GET, "groups") => list_groups(api, &call),
        (Method::PUT, "set-group-status") => set_group_status(api, &mut call).await,
        (Method::PUT, "add-service-account") => add_service_account(api, &mut call).await,
        (Method::POST, "update-service-account") => update_service_account(api, &mut call).await,
        (Method::GET, "info-service-account" | "info-access-key") => {
            service_account_info(api, &call, command == "info-access-key")
        }
        (Method::GET, "list-service-accounts") => list_service_accounts(api, &call),
        (Method::GET, "list-access-keys-bulk") => list_access_keys_bulk(api, &call),
        (Method::DELETE, "delete-service-account") => delete_service_account(api, &mut call).await,
        (Method::GET, "info") => server_info(api, &call),
        _ => Err(MinioError::new(
            StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            format!("{} {command} is not implemented by lakegate", parts.method),
        )),
    }
}

/// The caller must be allowed `action` (MinIO's admin actions; the root user always is).
fn require(api: &AdminApi, call: &Call, action: &str) -> MinioResult<()> {
    let mut ctx = ConditionContext::new();
    if api
        .identities
        .authorize(&call.caller, action, "arn:aws:s3:::*", &mut ctx, None)
        .is_allowed()
    {
        Ok(())
    } else {
        Err(MinioError::access_denied())
    }
}

/// Service accounts: a user signing with its own credentials manages its own without admin
/// rights (MinIO's rule). Not an access key acting for the user: a key narrowed by its own
/// policy could otherwise mint an unnarrowed one.
fn require_unless_own(api: &AdminApi, call: &Call, action: &str, parent: &str) -> MinioResult<()> {
    let own = matches!(&call.caller, Caller::Key(k) if matches!(&k.owner, KeyOwner::User(u) if u == parent));
    if own {
        return Ok(());
    }
    require(api, call, action)
}

fn time(ms: Millis) -> String {
    iso8601(ms, Fraction::WhenNonZero)
}

fn status_word(enabled: bool) -> &'static str {
    if enabled { "enabled" } else { "disabled" }
}

fn user_info_json(u: &IamUser, groups: &[IamGroup]) -> Value {
    let mut v = json!({
        "status": status_word(u.enabled),
        "updatedAt": time(u.updated),
    });
    if !u.policies.is_empty() {
        v["policyName"] = json!(u.policies.join(","));
    }
    let member_of: Vec<&String> = groups
        .iter()
        .filter(|g| g.members.contains(&u.access_key))
        .map(|g| &g.name)
        .collect();
    if !member_of.is_empty() {
        v["memberOf"] = json!(member_of);
    }
    v
}

async fn add_user(api: &AdminApi, call: &mut Call) -> MinioResult<Response<Body>> {
    require(api, call, "admin:CreateUser")?;
    let access_key = call.required("accessKey")?.to_string();
    if access_key == api.identities.root_access_key() {
        return Err(MinioError::new(
            StatusCode::FORBIDDEN,
            "XMinioInvalidIAMCredentials",
            "Credential is not allowed to be same as admin access key",
        ));
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct AddUser {
        secret_key: Option<String>,
        status: Option<String>,
        policy: Option<String>,
    }
    let data = call.read_encrypted().await?;
    let req: AddUser = parse_json(&data)?;
    let exists = api
        .identities
        .snapshot()
        .records()
        .users
        .iter()
        .any(|u| u.access_key == access_key);
    match req.secret_key {
        Some(secret) => {
            api.identities
                .add_user(&call.actor(), &access_key, &secret, call.now)
                .await?
        }
        None if exists => {}
        None => return Err(MinioError::invalid_argument()),
    }
    if let Some(status) = req.status.as_deref().filter(|s| !s.is_empty()) {
        let enabled = match status {
            "enabled" => true,
            "disabled" => false,
            _ => return Err(MinioError::invalid_argument()),
        };
        api.identities
            .set_user_enabled(&call.actor(), &access_key, enabled, call.now)
            .await?;
    }
    if let Some(policy) = req.policy.filter(|p| !p.is_empty()) {
        let names = policy.split(',').map(|p| p.trim().to_string()).collect();
        api.identities
            .set_attachment(
                &call.actor(),
                AttachTarget::User(access_key),
                names,
                AttachMode::Replace,
                call.now,
            )
            .await?;
    }
    done()
}

async fn remove_user(api: &AdminApi, call: &mut Call) -> MinioResult<Response<Body>> {
    require(api, call, "admin:DeleteUser")?;
    let access_key = call.required("accessKey")?;
    if call.caller.access_key() == Some(access_key) {
        return Err(MinioError::new(
            StatusCode::FORBIDDEN,
            "XMinioIAMActionNotAllowed",
            "Specified IAM action is not allowed",
        ));
    }
    api.identities
        .remove_user(&call.actor(), access_key)
        .await?;
    done()
}

fn list_users(api: &AdminApi, call: &Call) -> MinioResult<Response<Body>> {
    require(api, call, "admin:ListUsers")?;
    let snap = api.identities.snapshot();
    let r = snap.records();
    let users: serde_json::Map<String, Value> = r
        .users
        .iter()
        .map(|u| (u.access_key.clone(), user_info_json(u, &r.groups)))
        .collect();
    call.encrypted(&Value::Object(users))
}

fn user_info(api: &AdminApi, call: &Call) -> MinioResult<Response<Body>> {
    let access_key = call.required("accessKey")?;
    // Anyone may read their own.
    if call.caller.user() != Some(access_key) {
        require(api, call, "admin:GetUser")?;
    }
    let snap = api.identities.snapshot();
    let r = snap.records();
    match r.users.iter().find(|u| u.access_key == access_key) {
        Some(u) => plain(&user_info_json(u, &r.groups)),
        None => Err(IamError::NoSuchUser(access_key.to_string()).into()),
    }
}

fn parse_status(call: &Call) -> MinioResult<bool> {
    match call.required("status")? {
        "enabled" => Ok(true),
        "disabled" => Ok(false),
        _ => Err(MinioError::invalid_argument()),
    }
}

async fn set_user_status(api: &AdminApi, call: &mut Call) -> MinioResult<Response<Body>> {
    let enabled = parse_status(call)?;
    require(
        api,
        call,
        if enabled {
            "admin:EnableUser"
        } else {
            "admin:DisableUser"
        },
    )?;
    let access_key = call.required("accessKey")?;
    if call.caller.access_key() == Some(access_key) {
        return Err(MinioError::invalid_argument());
    }
    api.identities
        .set_user_enabled(&call.actor(), access_key, enabled, call.now)
        .await?;
    done()
}

async fn add_policy(api: &AdminApi, call: &mut Call) -> MinioResult<Response<Body>> {
    require(api, call, "admin:CreatePolicy")?;
    let name = call.required("name")?.to_string();
    if name.contains(',') {
        return Err(MinioError::new(
            StatusCode::BAD_REQUEST,
            "PolicyInvalidName",
            "Policy name may not contain comma",
        ));
    }
    let data = call.read().await?;
    if data.is_empty() {
        return Err(MinioError::new(
            StatusCode::LENGTH_REQUIRED,
            "MissingContentLength",
            "You must provide the Content-Length HTTP header.",
        ));
    }
    let text = String::from_utf8(data).map_err(MinioError::bad_json)?;
    api.identities
        .put_policy(&call.actor(), &name, &text, call.now)
        .await?;
    done()
}

async fn remove_policy(api: &AdminApi, call: &mut Call) -> MinioResult<Response<Body>> {
    require(api, call, "admin:DeletePolicy")?;
    let name = call.required("name")?;
    match api.identities.remove_policy(&call.actor(), name).await {
        // MinIO: removing a policy that is not there succeeds.
        Ok(()) | Err(IamError::NoSuchPolicy(_)) => done(),
        Err(e) => Err(e.into()),
    }
}

fn policy_json(api: &AdminApi, name: &str) -> MinioResult<Value> {
    let snap = api.identities.snapshot();
    let doc = snap
        .policies()
        .get(name)
        .ok_or_else(|| MinioError::from(IamError::NoSuchPolicy(name.to_string())))?;
    Ok(serde_json::from_str(doc.source()).unwrap_or(Value::Null))
}

fn list_policies(api: &AdminApi, call: &Call) -> MinioResult<Response<Body>> {
    require(api, call, "admin:GetPolicy")?;
    let snap = api.identities.snapshot();
    let all: serde_json::Map<String, Value> = snap
        .policies()
        .iter()
        .map(|(n, d)| {
            (
                n.clone(),
                serde_json::from_str(d.source()).unwrap_or(Value::Null),
            )
        })
        .collect();
    plain(&Value::Object(all))
}

fn policy_info(api: &AdminApi, call: &Call) -> MinioResult<Response<Body>> {
    require(api, call, "admin:GetPolicy")?;
    let name = call.required("name")?;
    let doc = policy_json(api, name)?;
    match call.param("v") {
        None | Some("1") => plain(&doc),
        Some("2") => {
            let snap = api.identities.snapshot();
            let mut v = json!({ "PolicyName": name, "Policy": doc });
            if let Some(p) = snap.records().policies.iter().find(|p| p.name == name) {
                v["CreateDate"] = json!(time(p.created));
                v["UpdateDate"] = json!(time(p.updated));
            }
            plain(&v)
        }
        Some(_) => Err(MinioError::invalid_argument()),
    }
}

async fn set_policy(api: &AdminApi, call: &mut Call) -> MinioResult<Response<Body>> {
    require(api, call, "admin:AttachUserOrGroupPolicy")?;
    let target = call.required("userOrGroup")?.to_string();
    let is_group = call.param("isGroup") == Some("true");
    let names: Vec<String> = call
        .param("policyName")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    let target = if is_group {
        AttachTarget::Group(target)
    } else {
        AttachTarget::User(target)
    };
    api.identities
        .set_attachment(&call.actor(), target, names, AttachMode::Replace, call.now)
        .await?;
    done()
}

async fn attach(api: &AdminApi, call: &mut Call, mode: AttachMode) -> MinioResult<Response<Body>> {
    require(api, call, "admin:AttachUserOrGroupPolicy")?;
    #[derive(Deserialize)]
    struct Attach {
        #[serde(default)]
        policies: Vec<String>,
        #[serde(default)]
        user: String,
        #[serde(default)]
        group: String,
    }
    let data = call.read_encrypted().await?;
    let req: Attach = parse_json(&data)?;
    let target = match (req.user.is_empty(), req.group.is_empty()) {
        (false, true) => AttachTarget::User(req.user),
        (true, false) => AttachTarget::Group(req.group),
        _ => return Err(MinioError::invalid_argument()),
    };
    let changed = api
        .identities
        .set_attachment(&call.actor(), target, req.policies, mode, call.now)
        .await?;
    if changed.is_empty() {
        return Err(MinioError::new(
            StatusCode::BAD_REQUEST,
            "XMinioAdminPolicyChangeAlreadyApplied",
            "The specified policy change is already in effect.",
        ));
    }
    let key = if mode == AttachMode::Detach {
        "policiesDetached"
    } else {
        "policiesAttached"
    };
    call.encrypted(&json!({ key: changed, "updatedAt": time(call.now) }))
}

fn policy_entities(api: &AdminApi, call: &Call) -> MinioResult<Response<Body>> {
    require(api, call, "admin:GetPolicy")?;
    let snap = api.identities.snapshot();
    let r = snap.records();
    let wanted = |name: &str| call.query.get(name).cloned().unwrap_or_default();
    let (users, groups, policies) = (wanted("user"), wanted("group"), wanted("policy"));
    let user_mappings: Vec<Value> = r
        .users
        .iter()
        .filter(|u| users.contains(&u.access_key))
        .map(|u| json!({ "user": u.access_key, "policies": u.policies }))
        .collect();
    let group_mappings: Vec<Value> = r
        .groups
        .iter()
        .filter(|g| groups.contains(&g.name))
        .map(|g| json!({ "group": g.name, "policies": g.policies }))
        .collect();
    let policy_mappings: Vec<Value> = policies
        .iter()
        .map(|p| {
            json!({
                "policy": p,
                "users": r.users.iter().filter(|u| u.policies.contains(p)).map(|u| &u.access_key).collect::<Vec<_>>(),
                "groups": r.groups.iter().filter(|g| g.policies.contains(p)).map(|g| &g.name).collect::<Vec<_>>(),
            })
        })
        .collect();
    call.encrypted(&json!({
        "timestamp": time(call.now),
        "userMappings": user_mappings,
        "groupMappings": group_mappings,
        "policyMappings": policy_mappings,
    }))
}

async fn update_group(api: &AdminApi, call: &mut Call) -> MinioResult<Response<Body>> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Update {
        group: String,
        #[serde(default)]
        members: Option<Value>,
        #[serde(default)]
        is_remove: bool,
    }
    let data = call.read().await?;
    let req: Update = serde_json::from_slice(&data).map_err(|_| {
        MinioError::new(StatusCode::BAD_REQUEST, "InvalidRequest", "Invalid Request")
    })?;
    require(
        api,
        call,
        if req.is_remove {
            "admin:RemoveUserFromGroup"
        } else {
            "admin:AddUserToGroup"
        },
    )?;
    // The Python SDK passes members through as given: a list, a single name, or nothing.
    let members: Vec<String> = match req.members {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) if s.is_empty() => Vec::new(),
        Some(Value::String(s)) => vec![s],
        Some(Value::Array(a)) => a
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err(MinioError::invalid_argument()),
            })
            .collect::<MinioResult<_>>()?,
        Some(_) => return Err(MinioError::invalid_argument()),
    };
    if req.group.is_empty() {
        return Err(MinioError::invalid_argument());
    }
    api.identities
        .update_group_members(&call.actor(), &req.group, members, req.is_remove, call.now)
        .await?;
    done()
}

fn group_info(api: &AdminApi, call: &Call) -> MinioResult<Response<Body>> {
    require(api, call, "admin:GetGroup")?;
    let name = call.required("group")?;
    let snap = api.identities.snapshot();
    match snap.records().groups.iter().find(|g| g.name == name) {
        Some(g) => plain(&json!({
            "name": g.name,
            "status": status_word(g.enabled),
            "members": g.members,
            "policy": g.policies.join(","),
            "updatedAt": time(g.updated),
        })),
        None => Err(IamError::NoSuchGroup(name.to_string()).into()),
    }
}

fn list_groups(api: &AdminApi, call: &Call) -> MinioResult<Response<Body>> {
    require(api, call, "admin:ListGroups")?;
    let snap = api.identities.snapshot();
    let names: Vec<&String> = snap.records().groups.iter().map(|g| &g.name).collect();
    plain(&json!(names))
}

async fn set_group_status(api: &AdminApi, call: &mut Call) -> MinioResult<Response<Body>> {
    let enabled = parse_status(call)?;
    require(
        api,
        call,
        if enabled {
            "admin:EnableGroup"
        } else {
            "admin:DisableGroup"
        },
    )?;
    let group = call.required("group")?;
    api.identities
        .set_group_enabled(&call.actor(), group, enabled, call.now)
        .await?;
    done()
}

/// An embedded policy as the clients send it: a JSON object, a string holding one, or
/// nothing (empty object, `null`).
fn embedded_policy(v: Option<Value>) -> Option<String> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Object(o)) if o.is_empty() => None,
        Some(other) => Some(other.to_string()),
    }
}

fn parse_expiry(v: Option<&str>) -> MinioResult<Option<Millis>> {
    match v.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => {
            let t = chrono::DateTime::parse_from_rfc3339(s)
                .map_err(|_| MinioError::invalid_argument())?
                .timestamp_millis();
            // MinIO's "no expiry" sentinel.
            Ok((t > 0).then_some(t))
        }
    }
}

async fn add_service_account(api: &AdminApi, call: &mut Call) -> MinioResult<Response<Body>> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Add {
        policy: Option<Value>,
        target_user: Option<String>,
        access_key: Option<String>,
        secret_key: Option<String>,
        name: Option<String>,
        description: Option<String>,
        comment: Option<String>,
        expiration: Option<String>,
    }
    let data = call.read_encrypted().await?;
    let req: Add = parse_json(&data)?;
    let own = call.caller.user().map(str::to_string);
    let parent = match req.target_user.filter(|t| !t.is_empty()) {
        Some(t) => t,
        None => own.clone().ok_or_else(MinioError::access_denied)?,
    };
    require_unless_own(api, call, "admin:CreateServiceAccount", &parent)?;
    let (access_key, secret_key) = match (
        req.access_key.filter(|a| !a.is_empty()),
        req.secret_key.filter(|s| !s.is_empty()),
    ) {
        (Some(a), Some(s)) => (Some(a), Some(s)),
        (None, None) => (None, None),
        _ => return Err(MinioError::invalid_argument()),
    };
    if access_key.as_deref() == Some(parent.as_str()) {
        return Err(MinioError::new(
            StatusCode::FORBIDDEN,
            "XMinioIAMActionNotAllowed",
            "Specified IAM action is not allowed",
        ));
    }
    let expires = parse_expiry(req.expiration.as_deref())?;
    let (access_key, secret_key) = api
        .identities
        .add_access_key(
            &call.actor(),
            &parent,
            NewAccessKey {
                access_key,
                secret_key,
                policy: embedded_policy(req.policy),
                expires,
                name: req.name.unwrap_or_default(),
                description: req.description.or(req.comment).unwrap_or_default(),
                session_token_sha256: None,
            },
            call.now,
        )
        .await?;
    call.encrypted(&json!({
        "credentials": {
            "accessKey": access_key,
            "secretKey": secret_key,
            "expiration": time(expires.unwrap_or(0)),
        }
    }))
}

fn find_key(api: &AdminApi, access_key: &str) -> MinioResult<IamAccessKey> {
    api.identities
        .snapshot()
        .records()
        .access_keys
        .iter()
        .find(|k| k.access_key == access_key)
        .cloned()
        .ok_or_else(|| IamError::NoSuchAccessKey(access_key.to_string()).into())
}

async fn update_service_account(api: &AdminApi, call: &mut Call) -> MinioResult<Response<Body>> {
    let access_key = call.required("accessKey")?.to_string();
    let key = find_key(api, &access_key)?;
    require_unless_own(api, call, "admin:UpdateServiceAccount", &key.parent)?;
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Update {
        new_policy: Option<Value>,
        new_secret_key: Option<String>,
        new_status: Option<String>,
        new_name: Option<String>,
        new_description: Option<String>,
        new_expiration: Option<String>,
    }
    let data = call.read_encrypted().await?;
    let req: Update = parse_json(&data)?;
    let enabled = match req.new_status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some("on" | "enabled") => Some(true),
        Some("off" | "disabled") => Some(false),
        Some(_) => return Err(MinioError::invalid_argument()),
    };
    let policy = match req.new_policy {
        None | Some(Value::Null) => None,
        // An empty document reverts to the parent's permissions.
        p => Some(embedded_policy(p)),
    };
    let expires = match req.new_expiration.as_deref() {
        None | Some("") => None,
        e => Some(parse_expiry(e)?),
    };
    api.identities
        .update_access_key(
            &call.actor(),
            &access_key,
            AccessKeyUpdate {
                secret_key: req.new_secret_key.filter(|s| !s.is_empty()),
                policy,
                enabled,
                expires,
                name: req.new_name,
                description: req.new_description,
            },
            call.now,
        )
        .await?;
    no_content()
}

fn key_info_json(k: &IamAccessKey) -> Value {
    let mut v = json!({
        "parentUser": k.parent,
        "accountStatus": if k.enabled { "on" } else { "off" },
        "impliedPolicy": k.policy.is_none(),
        "name": k.name,
        "description": k.description,
    });
    if let Some(p) = &k.policy {
        let pretty = serde_json::from_str::<Value>(p)
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or_else(|| p.clone());
        v["policy"] = json!(pretty);
    }
    if let Some(e) = k.expires {
        v["expiration"] = json!(time(e));
    }
    v
}

fn service_account_info(
    api: &AdminApi,
    call: &Call,
    access_key_form: bool,
) -> MinioResult<Response<Body>> {
    let access_key = call.required("accessKey")?;
    let key = find_key(api, access_key)?;
    require_unless_own(api, call, "admin:ListServiceAccounts", &key.parent)?;
    let mut v = key_info_json(&key);
    if access_key_form {
        v["AccessKey"] = json!(key.access_key);
        v["userType"] = json!(if key.session_token_sha256.is_some() {
            "STS"
        } else {
            "Service Account"
        });
        v["userProvider"] = json!("builtin");
    }
    call.encrypted(&v)
}

fn list_service_accounts(api: &AdminApi, call: &Call) -> MinioResult<Response<Body>> {
    let user = match call.param("user").filter(|u| !u.is_empty()) {
        Some(u) => u.to_string(),
        None => call
            .caller
            .user()
            .map(str::to_string)
            .ok_or_else(MinioError::access_denied)?,
    };
    require_unless_own(api, call, "admin:ListServiceAccounts", &user)?;
    let snap = api.identities.snapshot();
    let accounts: Vec<Value> = snap
        .records()
        .access_keys
        .iter()
        .filter(|k| k.parent == user && k.session_token_sha256.is_none())
        .map(|k| {
            let mut v = key_info_json(k);
            v["accessKey"] = json!(k.access_key);
            if let Some(o) = v.as_object_mut() {
                o.remove("policy");
            }
            v
        })
        .collect();
    call.encrypted(&json!({ "accounts": accounts }))
}

fn list_access_keys_bulk(api: &AdminApi, call: &Call) -> MinioResult<Response<Body>> {
    require(api, call, "admin:ListServiceAccounts")?;
    let list_type = call.param("listType").unwrap_or("all");
    let users = call.query.get("users").cloned().unwrap_or_default();
    let all = call.param("all") == Some("true") || users.is_empty();
    let snap = api.identities.snapshot();
    let mut out: BTreeMap<String, Value> = BTreeMap::new();
    for k in &snap.records().access_keys {
        if !all && !users.contains(&k.parent) {
            continue;
        }
        let sts = k.session_token_sha256.is_some();
        let field = if sts { "stsKeys" } else { "serviceAccounts" };
        let wanted = match list_type {
            "sts-only" => sts,
            "svcacc-only" => !sts,
            "users-only" => false,
            _ => true,
        };
        if !wanted {
            continue;
        }
        let entry = out
            .entry(k.parent.clone())
            .or_insert_with(|| json!({ "serviceAccounts": [], "stsKeys": [] }));
        if let Some(list) = entry.get_mut(field).and_then(Value::as_array_mut) {
            let mut item = json!({ "accessKey": k.access_key });
            if let Some(e) = k.expires {
                item["expiration"] = json!(time(e));
            }
            list.push(item);
        }
    }
    call.encrypted(&json!(out))
}

async fn delete_service_account(api: &AdminApi, call: &mut Call) -> MinioResult<Response<Body>> {
    let access_key = call.required("accessKey")?;
    let key = find_key(api, access_key)?;
    require_unless_own(api, call, "admin:RemoveServiceAccount", &key.parent)?;
    api.identities
        .remove_access_key(&call.actor(), access_key)
        .await?;
    no_content()
}

fn server_info(api: &AdminApi, call: &Call) -> MinioResult<Response<Body>> {
    require(api, call, "admin:ServerInfo")?;
    let buckets = api.store.list_buckets().map(|b| b.len()).unwrap_or(0);
    plain(&json!({
        "mode": "online",
        "region": api.region,
        "buckets": { "count": buckets },
        "servers": [{ "state": "online", "version": env!("CARGO_PKG_VERSION") }],
        "backend": { "backendType": "FS" },
        "root": matches!(&call.caller, Caller::Key(k) if matches!(k.owner, KeyOwner::Root)),
    }))
}
