//! IAM JSON policy documents — identity policies (users, groups, access keys, canned policies),
//! bucket policies and session policies: parsing, validation and evaluation, as AWS's IAM
//! documentation describes them.
//!
//! [`PolicyDocument::parse`] refuses anything AWS would refuse (unknown fields, unknown actions,
//! resources that are not ARNs, a `Principal` in an identity policy, a bucket policy naming other
//! buckets, condition values that do not parse, duplicate keys, …) with a message meant for the
//! user, and compiles what it keeps: lowercased action patterns, resource patterns, condition
//! values. [`PolicyDocument::evaluate`] then decides one request: a matching `Deny` statement
//! beats a matching `Allow`, and no matching statement is [`Decision::NotApplicable`]. It
//! allocates only for patterns containing policy variables (`${aws:username}`), which are
//! resolved from the request's [`ConditionContext`].
//!
//! Combining documents (identity policies, bucket policy, session policy) is the caller's:
//! [`Decision::combine`] gives the usual "any Deny wins, else any Allow" rule.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::action;
use super::condition::{ConditionBlock, ConditionContext, GlobValue, Variables};
use super::wildcard::Pattern;

pub const MAX_POLICY_BYTES: usize = 20 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The document is not a valid policy; the message says what is wrong, for the user
    /// (S3 answers it as `MalformedPolicy`).
    #[error("{0}")]
    Malformed(String),
    /// Larger than MAX_POLICY_BYTES.
    #[error("Policies must be less than 20 KB")]
    TooLarge,
}

/// What a document is used as; decides which fields are required or forbidden.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyKind {
    /// Attached to a user, group or access key (and canned policies): `Principal`/`NotPrincipal`
    /// forbidden ("Policy document should not specify a principal.").
    Identity,
    /// A bucket's policy: `Principal` (or `NotPrincipal`) required in every statement, and every
    /// `Resource`/`NotResource` must be able to name this bucket or objects in it
    /// (`arn:aws:s3:::bucket`, `arn:aws:s3:::bucket/...`, or a wildcard reaching them such as
    /// `arn:aws:s3:::*`; else "Policy has invalid resource").
    Bucket { bucket: String },
}

/// A parsed, validated and compiled policy document.
#[derive(Debug, Clone)]
pub struct PolicyDocument {
    /// The text as the user sent it (GetBucketPolicy returns it verbatim).
    source: String,
    statements: Vec<Statement>,
    /// Whether a condition names `s3:ExistingObjectTag/...` (the caller must then look up the
    /// object's tags before judging).
    existing_object_tags: bool,
}

/// A document's verdict on one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny,
    NotApplicable,
}

impl Decision {
    /// Combines verdicts of several documents: Deny if any denies, else Allow if any allows.
    pub fn combine(self, other: Decision) -> Decision {
        match (self, other) {
            (Decision::Deny, _) | (_, Decision::Deny) => Decision::Deny,
            (Decision::Allow, _) | (_, Decision::Allow) => Decision::Allow,
            (Decision::NotApplicable, Decision::NotApplicable) => Decision::NotApplicable,
        }
    }
}

/// Who is asking.
#[derive(Debug, Clone, Default)]
pub struct Principal<'a> {
    /// No signature: only `*` principals match.
    pub anonymous: bool,
    /// The requester's account id (e.g. the 12-digit-ish account id string), if any: matches
    /// principal values equal to it or to `arn:aws:iam::<account>:root`.
    pub account: Option<&'a str>,
    /// ARNs (and other ids) naming the requester, e.g. `arn:aws:iam::<account>:user/alice`;
    /// a principal value equal to one of them matches.
    pub aws: &'a [String],
    /// Canonical user id (matches `{"CanonicalUser": id}`).
    pub canonical_id: Option<&'a str>,
    /// A service principal (`logging.s3.amazonaws.com`) when the service itself is the requester.
    pub service: Option<&'a str>,
}

/// One request, as the evaluator sees it.
pub struct AccessRequest<'a> {
    /// e.g. `s3:GetObject` (any case; compared case-insensitively).
    pub action: &'a str,
    /// e.g. `arn:aws:s3:::bucket/key` (case-sensitive).
    pub resource: &'a str,
    pub principal: &'a Principal<'a>,
    pub context: &'a ConditionContext,
}

impl PolicyDocument {
    /// Parses and validates. The source text is kept verbatim (GetBucketPolicy returns it).
    pub fn parse(json: &[u8], kind: &PolicyKind) -> Result<PolicyDocument, PolicyError> {
        if json.len() > MAX_POLICY_BYTES {
            return Err(PolicyError::TooLarge);
        }
        let source = std::str::from_utf8(json)
            .map_err(|_| malformed("Policies must be valid UTF-8 JSON"))?;
        if !source
            .trim_start_matches([' ', '\t', '\n', '\r'])
            .starts_with('{')
        {
            return Err(malformed(
                "Policies must be valid JSON and the first byte must be '{'",
            ));
        }
        let root: Json = serde_json::from_str(source)
            .map_err(|error| malformed(format!("Policies must be valid JSON: {error}")))?;
        let Json::Object(fields) = root else {
            return Err(malformed(
                "Policies must be valid JSON and the first byte must be '{'",
            ));
        };

        let mut variables = Variables::Literal;
        let mut statement_value = None;
        for (name, value) in &fields {
            match name.as_str() {
                "Version" => variables = parse_version(value)?,
                "Id" => {
                    if !matches!(value, Json::String(_)) {
                        return Err(malformed("Id must be a string"));
                    }
                }
                "Statement" => statement_value = Some(value),
                _ => return Err(malformed(format!("Unknown field {name}"))),
            }
        }
        let statement_values = match statement_value {
            None => return Err(malformed("Missing required field Statement")),
            Some(Json::Array(items)) if items.is_empty() => {
                return Err(malformed("Statement must not be empty"));
            }
            Some(Json::Array(items)) => items.iter().collect(),
            Some(single @ Json::Object(_)) => vec![single],
            Some(_) => {
                return Err(malformed(
                    "Statement must be an object or an array of objects",
                ));
            }
        };

        let mut sids: Vec<&str> = Vec::new();
        let mut statements = Vec::with_capacity(statement_values.len());
        for value in statement_values {
            let (sid, statement) = Statement::parse(value, kind, variables)?;
            if let Some(sid) = sid.filter(|sid| !sid.is_empty()) {
                if sids.contains(&sid) {
                    return Err(malformed(format!(
                        "Statement IDs (SID) in a single policy must be unique: {sid}"
                    )));
                }
                sids.push(sid);
            }
            statements.push(statement);
        }
        Ok(PolicyDocument {
            existing_object_tags: source
                .to_ascii_lowercase()
                .contains("s3:existingobjecttag/"),
            source: source.to_owned(),
            statements,
        })
    }

    /// Whether judging a request needs the object's tags as `s3:ExistingObjectTag/<key>`.
    pub fn uses_existing_object_tags(&self) -> bool {
        self.existing_object_tags
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Number of statements.
    pub fn len(&self) -> usize {
        self.statements.len()
    }

    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// This document's verdict on one request: an explicit Deny beats an Allow; no matching
    /// statement is NotApplicable.
    pub fn evaluate(&self, request: &AccessRequest<'_>) -> Decision {
        let mut allowed = false;
        for statement in &self.statements {
            match statement.effect {
                Effect::Deny => {
                    if statement.applies(request) {
                        return Decision::Deny;
                    }
                }
                Effect::Allow => {
                    if !allowed && statement.applies(request) {
                        allowed = true;
                    }
                }
            }
        }
        if allowed {
            Decision::Allow
        } else {
            Decision::NotApplicable
        }
    }

    /// Whether any Allow statement applies to the anonymous principal `*` without conditions
    /// narrowing it (for GetBucketPolicyStatus's IsPublic): an `Allow` to `*` (or `{"AWS":"*"}`,
    /// or a `NotPrincipal` that leaves everyone else in) is public unless one of its conditions
    /// names the callers by fixed values of `aws:SourceIp` (no block wider than /8), source
    /// ARN/account/VPC/VPC endpoint/organisation, `aws:PrincipalAccount`/`aws:PrincipalArn`,
    /// `aws:userid` or `s3:DataAccessPointArn`/`s3:DataAccessPointAccount`.
    pub fn is_public(&self) -> bool {
        self.statements.iter().any(|statement| {
            statement.effect == Effect::Allow
                && statement.grants_everyone()
                && !statement.conditions.names_known_callers()
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

/// One compiled statement.
#[derive(Debug, Clone)]
struct Statement {
    effect: Effect,
    /// Lowercased, ASCII-case-insensitive patterns.
    actions: Vec<Pattern>,
    /// `NotAction`: the statement applies to actions matching none of `actions`.
    not_action: bool,
    resources: Vec<GlobValue>,
    /// `NotResource`: the statement applies to resources matching none of `resources`.
    not_resource: bool,
    /// `None` in identity policies (the statement applies to whoever holds the policy).
    principal: Option<PrincipalClause>,
    conditions: ConditionBlock,
}

/// A `Principal` or `NotPrincipal` element.
#[derive(Debug, Clone)]
struct PrincipalClause {
    principals: Principals,
    /// `NotPrincipal`: the statement applies to everyone the list does not name.
    negated: bool,
}

/// The principals named by one element.
#[derive(Debug, Clone, Default)]
struct Principals {
    /// `"*"` or `{"AWS": "*"}`: everyone, anonymous callers included.
    everyone: bool,
    aws: Vec<AwsPrincipal>,
    canonical_users: Vec<String>,
    services: Vec<String>,
}

/// One `AWS` principal value: an ARN or an account id.
#[derive(Debug, Clone)]
struct AwsPrincipal {
    id: String,
    /// The account of an `arn:<partition>:iam::<account>:root` value.
    root_of_account: Option<String>,
}

impl Principals {
    fn matches(&self, principal: &Principal<'_>) -> bool {
        if self.everyone {
            return true;
        }
        if principal.anonymous {
            return false;
        }
        let aws = self.aws.iter().any(|value| {
            principal.aws.contains(&value.id)
                || principal.account == Some(value.id.as_str())
                || (value.root_of_account.is_some()
                    && principal.account == value.root_of_account.as_deref())
        });
        aws || principal
            .canonical_id
            .is_some_and(|id| self.canonical_users.iter().any(|canonical| canonical == id))
            || principal.service.is_some_and(|service| {
                self.services
                    .iter()
                    .any(|named| named.eq_ignore_ascii_case(service))
            })
    }
}

impl Statement {
    fn applies(&self, request: &AccessRequest<'_>) -> bool {
        self.matches_action(request.action)
            && self.matches_resource(request.resource, request.context)
            && self.matches_principal(request.principal)
            && self.conditions.holds(request.context)
    }

    fn matches_action(&self, action: &str) -> bool {
        let listed = self.actions.iter().any(|pattern| pattern.matches(action));
        listed != self.not_action
    }

    fn matches_resource(&self, resource: &str, context: &ConditionContext) -> bool {
        let listed = self
            .resources
            .iter()
            .any(|pattern| pattern.matches(resource, context));
        listed != self.not_resource
    }

    /// Identity statements (no `Principal`) apply to whoever holds the policy.
    fn matches_principal(&self, principal: &Principal<'_>) -> bool {
        self.principal
            .as_ref()
            .is_none_or(|clause| clause.principals.matches(principal) != clause.negated)
    }

    /// Whether the statement names every caller, the anonymous one included.
    fn grants_everyone(&self) -> bool {
        self.principal
            .as_ref()
            .is_some_and(|clause| clause.principals.everyone != clause.negated)
    }

    /// Parses one statement; also returns its `Sid`.
    fn parse<'a>(
        value: &'a Json,
        kind: &PolicyKind,
        variables: Variables,
    ) -> Result<(Option<&'a str>, Statement), PolicyError> {
        let Json::Object(fields) = value else {
            return Err(malformed("Each statement must be an object"));
        };
        let mut sid = None;
        let mut effect = None;
        let mut actions = None;
        let mut resources = None;
        let mut principal = None;
        let mut conditions = ConditionBlock::default();
        for (name, value) in fields {
            match name.as_str() {
                "Sid" => match value {
                    Json::String(text) => sid = Some(text.as_str()),
                    _ => return Err(malformed("Sid must be a string")),
                },
                "Effect" => {
                    effect = Some(match value {
                        Json::String(text) if text == "Allow" => Effect::Allow,
                        Json::String(text) if text == "Deny" => Effect::Deny,
                        Json::String(text) => {
                            return Err(malformed(format!(
                                "Invalid effect: {text} (must be \"Allow\" or \"Deny\")"
                            )));
                        }
                        _ => return Err(malformed("Effect must be \"Allow\" or \"Deny\"")),
                    });
                }
                "Action" | "NotAction" => {
                    if actions.is_some() {
                        return Err(malformed(
                            "A statement must have either Action or NotAction, not both",
                        ));
                    }
                    actions = Some((parse_actions(value, name)?, name == "NotAction"));
                }
                "Resource" | "NotResource" => {
                    if resources.is_some() {
                        return Err(malformed(
                            "A statement must have either Resource or NotResource, not both",
                        ));
                    }
                    resources = Some((
                        parse_resources(value, name, kind, variables)?,
                        name == "NotResource",
                    ));
                }
                "Principal" | "NotPrincipal" => {
                    if *kind == PolicyKind::Identity {
                        return Err(malformed("Policy document should not specify a principal."));
                    }
                    if principal.is_some() {
                        return Err(malformed(
                            "A statement must have either Principal or NotPrincipal, not both",
                        ));
                    }
                    principal = Some(PrincipalClause {
                        principals: parse_principals(value)?,
                        negated: name == "NotPrincipal",
                    });
                }
                "Condition" => conditions = ConditionBlock::parse(value, variables)?,
                _ => return Err(malformed(format!("Unknown field {name}"))),
            }
        }
        let effect = effect.ok_or_else(|| malformed("Missing required field Effect"))?;
        let (actions, not_action) =
            actions.ok_or_else(|| malformed("Missing required field Action (or NotAction)"))?;
        let (resources, not_resource) = resources
            .ok_or_else(|| malformed("Missing required field Resource (or NotResource)"))?;
        if principal.is_none() && matches!(kind, PolicyKind::Bucket { .. }) {
            return Err(malformed(
                "Missing required field Principal (or NotPrincipal)",
            ));
        }
        if effect == Effect::Allow && principal.as_ref().is_some_and(|p| p.negated) {
            // AWS: NotPrincipal only with Deny (an Allow to "everyone but" is never intended).
            return Err(malformed(
                "NotPrincipal is only supported with \"Effect\": \"Deny\"",
            ));
        }
        Ok((
            sid,
            Statement {
                effect,
                actions,
                not_action,
                resources,
                not_resource,
                principal,
                conditions,
            },
        ))
    }
}

fn malformed(message: impl Into<String>) -> PolicyError {
    PolicyError::Malformed(message.into())
}

/// `2012-10-17` turns policy variables on; `2008-10-17` (like no `Version`) leaves `${…}` literal.
fn parse_version(value: &Json) -> Result<Variables, PolicyError> {
    match value {
        Json::String(version) if version == "2012-10-17" => Ok(Variables::Substituted),
        Json::String(version) if version == "2008-10-17" => Ok(Variables::Literal),
        Json::String(version) => Err(malformed(format!(
            "Policy has an invalid Version: {version} (use \"2012-10-17\")"
        ))),
        _ => Err(malformed("Version must be the string \"2012-10-17\"")),
    }
}

/// A string or a non-empty array of strings.
fn strings<'a>(value: &'a Json, field: &str) -> Result<Vec<&'a str>, PolicyError> {
    let invalid = || {
        malformed(format!(
            "{field} must be a string or a non-empty array of strings"
        ))
    };
    match value {
        Json::String(text) => Ok(vec![text.as_str()]),
        Json::Array(items) if !items.is_empty() => items
            .iter()
            .map(|item| match item {
                Json::String(text) => Ok(text.as_str()),
                _ => Err(invalid()),
            })
            .collect(),
        _ => Err(invalid()),
    }
}

fn parse_actions(value: &Json, field: &str) -> Result<Vec<Pattern>, PolicyError> {
    strings(value, field)?
        .into_iter()
        .map(|text| {
            let well_formed = text == "*"
                || text
                    .split_once(':')
                    .is_some_and(|(service, name)| !service.is_empty() && !name.is_empty());
            if well_formed && action::is_known(text) {
                Ok(Pattern::ascii_case_insensitive(text))
            } else {
                Err(malformed(format!("Policy has invalid action: {text}")))
            }
        })
        .collect()
}

fn parse_resources(
    value: &Json,
    field: &str,
    kind: &PolicyKind,
    variables: Variables,
) -> Result<Vec<GlobValue>, PolicyError> {
    strings(value, field)?
        .into_iter()
        .map(|text| {
            let valid = match kind {
                PolicyKind::Identity => is_resource(text),
                PolicyKind::Bucket { bucket } => is_in_bucket(text, bucket),
            };
            if valid {
                Ok(GlobValue::parse(text, variables))
            } else {
                Err(malformed(format!("Policy has invalid resource: {text}")))
            }
        })
        .collect()
}

/// `*` or an ARN: `arn:partition:service:region:account:resource`.
fn is_resource(text: &str) -> bool {
    if text == "*" {
        return true;
    }
    let mut parts = text.splitn(6, ':');
    parts.next() == Some("arn")
        && parts.next().is_some_and(|partition| !partition.is_empty())
        && parts.next().is_some_and(|service| !service.is_empty())
        && parts.count() == 3
}

/// Whether a bucket policy's resource can name its bucket or objects in it (AWS refuses one
/// that names only other buckets). A wildcard reaching further (`arn:aws:s3:::*`) is taken:
/// a bucket's policy is only ever consulted for requests on that bucket, so it grants nothing
/// elsewhere.
fn is_in_bucket(text: &str, bucket: &str) -> bool {
    if bucket.is_empty() {
        return false;
    }
    let arn = format!("arn:aws:s3:::{bucket}");
    let objects = format!("{arn}/");
    match text.find(['*', '?']) {
        None => text == arn || text.starts_with(&objects),
        Some(i) => {
            let literal = &text[..i];
            literal.starts_with(&objects) || objects.starts_with(literal)
        }
    }
}

fn parse_principals(value: &Json) -> Result<Principals, PolicyError> {
    let invalid = || malformed("Invalid principal in policy");
    let mut principals = Principals::default();
    match value {
        Json::String(text) if text == "*" => principals.everyone = true,
        Json::Object(entries) if !entries.is_empty() => {
            for (kind, values) in entries {
                let values = strings(values, "Principal").map_err(|_| invalid())?;
                for text in values {
                    match kind.as_str() {
                        "AWS" if text == "*" => principals.everyone = true,
                        "AWS" => principals
                            .aws
                            .push(parse_aws_principal(text).ok_or_else(invalid)?),
                        "CanonicalUser" if !text.is_empty() => {
                            principals.canonical_users.push(text.to_owned());
                        }
                        "Service" if !text.is_empty() => principals.services.push(text.to_owned()),
                        // Accepted (AWS allows it), but no lakegate caller is federated.
                        "Federated" if !text.is_empty() => {}
                        _ => return Err(invalid()),
                    }
                }
            }
        }
        _ => return Err(invalid()),
    }
    Ok(principals)
}

/// An `AWS` principal value: an IAM/STS ARN (`arn:aws:iam::<account>:user/alice`,
/// `arn:aws:iam::<account>:root`) or an id without spaces or colons (an account id).
fn parse_aws_principal(text: &str) -> Option<AwsPrincipal> {
    if text.contains('*') {
        return None;
    }
    if text.starts_with("arn:") {
        let parts: Vec<&str> = text.splitn(6, ':').collect();
        let [_, partition, service, _, account, resource] = parts.as_slice() else {
            return None;
        };
        if partition.is_empty() || !matches!(*service, "iam" | "sts") || resource.is_empty() {
            return None;
        }
        let root_of_account = (*service == "iam" && *resource == "root" && !account.is_empty())
            .then(|| (*account).to_owned());
        return Some(AwsPrincipal {
            id: text.to_owned(),
            root_of_account,
        });
    }
    if text.is_empty() || text.contains(|c: char| c == ':' || c.is_whitespace()) {
        return None;
    }
    Some(AwsPrincipal {
        id: text.to_owned(),
        root_of_account: None,
    })
}

/// A JSON value as a policy holds it: objects keep their members in order, and a key repeated
/// in one object is refused (which of two `"Effect"`s counts would otherwise be a guess).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Json {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Json, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Json, E> {
        Ok(Json::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Json, E> {
        Ok(Json::Number(value.into()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Json, E> {
        Ok(Json::Number(value.into()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Json, E> {
        serde_json::Number::from_f64(value)
            .map(Json::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Json, E> {
        Ok(Json::String(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Json, E> {
        Ok(Json::String(value))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = sequence.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut members: Vec<(String, Json)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value()?;
            members.push((key, value));
        }
        let mut keys: Vec<&str> = members.iter().map(|(key, _)| key.as_str()).collect();
        keys.sort_unstable();
        if let Some(pair) = keys.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(de::Error::custom(format!("duplicate key \"{}\"", pair[0])));
        }
        Ok(Json::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    const OBJECT: &str = "arn:aws:s3:::bucket/key";

    fn identity(json: &str) -> PolicyDocument {
        PolicyDocument::parse(json.as_bytes(), &PolicyKind::Identity)
            .unwrap_or_else(|error| panic!("policy should parse: {error}\n{json}"))
    }

    fn bucket_policy(bucket: &str, json: &str) -> Result<PolicyDocument, PolicyError> {
        PolicyDocument::parse(
            json.as_bytes(),
            &PolicyKind::Bucket {
                bucket: bucket.to_owned(),
            },
        )
    }

    fn malformed_message(json: &str, kind: &PolicyKind) -> String {
        match PolicyDocument::parse(json.as_bytes(), kind) {
            Err(PolicyError::Malformed(message)) => message,
            other => panic!("expected Malformed for {json}, got {other:?}"),
        }
    }

    /// A one-statement identity policy.
    fn statement(body: &str) -> String {
        format!(r#"{{"Version": "2012-10-17", "Statement": [{{{body}}}]}}"#)
    }

    fn context(pairs: &[(&str, &str)]) -> ConditionContext {
        let mut context = ConditionContext::new();
        for (key, value) in pairs {
            context.insert(key, *value);
        }
        context
    }

    fn decide_as(
        document: &PolicyDocument,
        principal: &Principal<'_>,
        action: &str,
        resource: &str,
        pairs: &[(&str, &str)],
    ) -> Decision {
        let context = context(pairs);
        document.evaluate(&AccessRequest {
            action,
            resource,
            principal,
            context: &context,
        })
    }

    fn decide(document: &PolicyDocument, action: &str, resource: &str) -> Decision {
        decide_as(document, &Principal::default(), action, resource, &[])
    }

    #[test]
    fn parse_keeps_the_source_and_counts_statements() {
        let json = r#"  {"Version":"2012-10-17","Id":"p1","Statement":[
            {"Sid":"a","Effect":"Allow","Action":"s3:GetObject","Resource":"*"},
            {"Sid":"b","Effect":"Deny","Action":["s3:PutObject"],"Resource":["*"]}]}"#;
        let document = identity(json);
        assert_eq!(document.source(), json);
        assert_eq!(document.len(), 2);
        assert!(!document.is_empty());
        let single =
            identity(r#"{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}"#);
        assert_eq!(single.len(), 1);
        assert_eq!(decide(&single, "s3:GetObject", OBJECT), Decision::Allow);
    }

    #[test]
    fn actions_match_case_insensitively_with_wildcards() {
        let document = identity(&statement(
            r#""Effect": "Allow", "Action": ["s3:Get*", "s3:ListBucket", "s3:PutObjec?"], "Resource": "*""#,
        ));
        for action in [
            "s3:GetObject",
            "S3:GETOBJECTACL",
            "s3:listbucket",
            "s3:PutObject",
        ] {
            assert_eq!(
                decide(&document, action, OBJECT),
                Decision::Allow,
                "{action}"
            );
        }
        for action in [
            "s3:ListBucketVersions",
            "s3:DeleteObject",
            "admin:GetUser",
            "s3:PutObjectAcl",
        ] {
            assert_eq!(
                decide(&document, action, OBJECT),
                Decision::NotApplicable,
                "{action}"
            );
        }
        let everything = identity(&statement(
            r#""Effect": "Allow", "Action": "*", "Resource": "*""#,
        ));
        assert_eq!(
            decide(&everything, "lakegate:RunBackup", "arn:aws:s3:::"),
            Decision::Allow
        );
    }

    #[test]
    fn resources_match_case_sensitively_with_wildcards() {
        let document = identity(&statement(
            r#""Effect": "Allow", "Action": "s3:*",
               "Resource": ["arn:aws:s3:::bucket/*", "arn:aws:s3:::logs-????/*.gz", "arn:aws:s3:::exact"]"#,
        ));
        let allowed = [
            "arn:aws:s3:::bucket/key",
            "arn:aws:s3:::bucket/a/b:c",
            "arn:aws:s3:::logs-2026/x/y.gz",
            "arn:aws:s3:::exact",
        ];
        for resource in allowed {
            assert_eq!(
                decide(&document, "s3:GetObject", resource),
                Decision::Allow,
                "{resource}"
            );
        }
        let refused = [
            "arn:aws:s3:::bucket",
            "arn:aws:s3:::Bucket/key",
            "arn:aws:s3:::logs-26/x.gz",
            "arn:aws:s3:::exact/",
            "arn:aws:s3:::exactly",
        ];
        for resource in refused {
            assert_eq!(
                decide(&document, "s3:GetObject", resource),
                Decision::NotApplicable,
                "{resource}"
            );
        }
    }

    #[test]
    fn an_explicit_deny_beats_an_allow_in_any_order() {
        let deny_last = identity(
            r#"{"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::bucket/*"}
            ]}"#,
        );
        let deny_first = identity(
            r#"{"Version": "2012-10-17", "Statement": [
                {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::bucket/*"},
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
            ]}"#,
        );
        for document in [&deny_last, &deny_first] {
            assert_eq!(decide(document, "s3:DeleteObject", OBJECT), Decision::Deny);
            assert_eq!(decide(document, "s3:GetObject", OBJECT), Decision::Allow);
            assert_eq!(
                decide(document, "s3:DeleteObject", "arn:aws:s3:::other/key"),
                Decision::Allow
            );
        }
    }

    #[test]
    fn decisions_combine_deny_first_then_allow() {
        use Decision::{Allow, Deny, NotApplicable};
        assert_eq!(Allow.combine(Deny), Deny);
        assert_eq!(Deny.combine(Allow), Deny);
        assert_eq!(NotApplicable.combine(Deny), Deny);
        assert_eq!(NotApplicable.combine(Allow), Allow);
        assert_eq!(Allow.combine(NotApplicable), Allow);
        assert_eq!(Allow.combine(Allow), Allow);
        assert_eq!(NotApplicable.combine(NotApplicable), NotApplicable);
    }

    #[test]
    fn not_action_and_not_resource_invert_their_lists() {
        let document = identity(&statement(
            r#""Effect": "Allow", "NotAction": ["s3:Delete*", "admin:*"], "NotResource": "arn:aws:s3:::secret/*""#,
        ));
        assert_eq!(decide(&document, "s3:GetObject", OBJECT), Decision::Allow);
        assert_eq!(
            decide(&document, "s3:DeleteObject", OBJECT),
            Decision::NotApplicable
        );
        assert_eq!(
            decide(&document, "admin:CreateUser", OBJECT),
            Decision::NotApplicable
        );
        assert_eq!(
            decide(&document, "s3:GetObject", "arn:aws:s3:::secret/x"),
            Decision::NotApplicable
        );
        let deny = identity(&statement(
            r#""Effect": "Deny", "NotAction": "s3:GetObject", "Resource": "*""#,
        ));
        assert_eq!(decide(&deny, "s3:PutObject", OBJECT), Decision::Deny);
        assert_eq!(
            decide(&deny, "s3:GetObject", OBJECT),
            Decision::NotApplicable
        );
    }

    #[test]
    fn home_directories_with_policy_variables() {
        // AWS's example: each user lists and uses only their own prefix of a shared bucket.
        let document = identity(
            r#"{"Version": "2012-10-17", "Statement": [
                {"Sid": "List", "Effect": "Allow", "Action": "s3:ListBucket",
                 "Resource": "arn:aws:s3:::home",
                 "Condition": {"StringLike": {"s3:prefix": ["${aws:username}/*", ""]}}},
                {"Sid": "Use", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                 "Resource": "arn:aws:s3:::home/${aws:username}/*"}
            ]}"#,
        );
        let anyone = Principal::default();
        let alice = [("aws:username", "alice")];
        let own = "arn:aws:s3:::home/alice/notes.txt";
        let other = "arn:aws:s3:::home/bob/notes.txt";
        assert_eq!(
            decide_as(&document, &anyone, "s3:GetObject", own, &alice),
            Decision::Allow
        );
        assert_eq!(
            decide_as(&document, &anyone, "s3:GetObject", other, &alice),
            Decision::NotApplicable
        );
        assert_eq!(
            decide_as(&document, &anyone, "s3:GetObject", own, &[]),
            Decision::NotApplicable,
            "no username, no match"
        );
        let list = |prefix: &str| {
            decide_as(
                &document,
                &anyone,
                "s3:ListBucket",
                "arn:aws:s3:::home",
                &[("aws:username", "alice"), ("s3:prefix", prefix)],
            )
        };
        assert_eq!(list("alice/"), Decision::Allow);
        assert_eq!(list("alice/photos/"), Decision::Allow);
        assert_eq!(list(""), Decision::Allow);
        assert_eq!(list("bob/"), Decision::NotApplicable);
        // A username with wildcard characters is literal text in the resource.
        assert_eq!(
            decide_as(
                &document,
                &anyone,
                "s3:GetObject",
                other,
                &[("aws:username", "*")]
            ),
            Decision::NotApplicable
        );
    }

    #[test]
    fn policy_variable_escapes_and_other_context_keys() {
        let document = identity(&statement(
            r#""Effect": "Allow", "Action": "s3:GetObject",
               "Resource": ["arn:aws:s3:::b/${*}${?}${$}", "arn:aws:s3:::b/by-prefix/${s3:prefix}", "arn:aws:s3:::b/t/${aws:PrincipalTag/team}/*"]"#,
        ));
        assert_eq!(
            decide(&document, "s3:GetObject", "arn:aws:s3:::b/*?$"),
            Decision::Allow
        );
        assert_eq!(
            decide(&document, "s3:GetObject", "arn:aws:s3:::b/xy$"),
            Decision::NotApplicable
        );
        let anyone = Principal::default();
        assert_eq!(
            decide_as(
                &document,
                &anyone,
                "s3:GetObject",
                "arn:aws:s3:::b/by-prefix/p1",
                &[("s3:prefix", "p1")]
            ),
            Decision::Allow
        );
        assert_eq!(
            decide_as(
                &document,
                &anyone,
                "s3:GetObject",
                "arn:aws:s3:::b/t/ops/x",
                &[("AWS:PRINCIPALTAG/TEAM", "ops")]
            ),
            Decision::Allow
        );
    }

    #[test]
    fn policy_variables_are_literal_text_in_2008_policies() {
        for version in [r#""Version": "2008-10-17","#, ""] {
            let document = identity(&format!(
                r#"{{{version} "Statement": [{{"Effect": "Allow", "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::home/${{aws:username}}/*"}}]}}"#
            ));
            let anyone = Principal::default();
            let alice = [("aws:username", "alice")];
            assert_eq!(
                decide_as(
                    &document,
                    &anyone,
                    "s3:GetObject",
                    "arn:aws:s3:::home/alice/x",
                    &alice
                ),
                Decision::NotApplicable
            );
            assert_eq!(
                decide_as(
                    &document,
                    &anyone,
                    "s3:GetObject",
                    "arn:aws:s3:::home/${aws:username}/x",
                    &alice
                ),
                Decision::Allow
            );
        }
    }

    #[test]
    fn conditions_gate_statements() {
        let document = identity(&statement(
            r#""Effect": "Deny", "Action": "s3:*", "Resource": "*",
               "Condition": {"Bool": {"aws:SecureTransport": "false"}}"#,
        ));
        let anyone = Principal::default();
        let insecure = [("aws:SecureTransport", "false")];
        let secure = [("aws:SecureTransport", "true")];
        assert_eq!(
            decide_as(&document, &anyone, "s3:GetObject", OBJECT, &insecure),
            Decision::Deny
        );
        assert_eq!(
            decide_as(&document, &anyone, "s3:GetObject", OBJECT, &secure),
            Decision::NotApplicable
        );
        let ip = identity(&statement(
            r#""Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
               "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"},
                             "DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}"#,
        ));
        let inside = [
            ("aws:SourceIp", "10.1.1.1"),
            ("aws:CurrentTime", "2026-06-01T00:00:00Z"),
        ];
        let late = [
            ("aws:SourceIp", "10.1.1.1"),
            ("aws:CurrentTime", "2031-06-01T00:00:00Z"),
        ];
        let outside = [
            ("aws:SourceIp", "11.1.1.1"),
            ("aws:CurrentTime", "2026-06-01T00:00:00Z"),
        ];
        assert_eq!(
            decide_as(&ip, &anyone, "s3:GetObject", OBJECT, &inside),
            Decision::Allow
        );
        assert_eq!(
            decide_as(&ip, &anyone, "s3:GetObject", OBJECT, &late),
            Decision::NotApplicable
        );
        assert_eq!(
            decide_as(&ip, &anyone, "s3:GetObject", OBJECT, &outside),
            Decision::NotApplicable
        );
    }

    fn public_read(principal: &str) -> PolicyDocument {
        let json = format!(
            r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Principal": {principal},
                "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}}]}}"#
        );
        bucket_policy("b", &json).unwrap_or_else(|error| panic!("{principal}: {error}"))
    }

    #[test]
    fn principal_forms() {
        let key = "arn:aws:s3:::b/k";
        let alice_arn = ["arn:aws:iam::111122223333:user/alice".to_owned()];
        let alice = Principal {
            account: Some("111122223333"),
            aws: &alice_arn,
            ..Principal::default()
        };
        let anonymous = Principal {
            anonymous: true,
            ..Principal::default()
        };
        let stranger_arn = ["arn:aws:iam::999999999999:user/eve".to_owned()];
        let stranger = Principal {
            account: Some("999999999999"),
            aws: &stranger_arn,
            canonical_id: Some("c0ffee"),
            ..Principal::default()
        };
        let logging = Principal {
            service: Some("logging.s3.amazonaws.com"),
            ..Principal::default()
        };
        let get = |document: &PolicyDocument, who: &Principal<'_>| {
            decide_as(document, who, "s3:GetObject", key, &[])
        };

        for everyone in [
            r#""*""#,
            r#"{"AWS": "*"}"#,
            r#"{"AWS": ["arn:aws:iam::1:root", "*"]}"#,
        ] {
            let document = public_read(everyone);
            for who in [&alice, &anonymous, &stranger, &logging] {
                assert_eq!(get(&document, who), Decision::Allow, "{everyone}");
            }
        }

        let by_arn = public_read(r#"{"AWS": "arn:aws:iam::111122223333:user/alice"}"#);
        assert_eq!(get(&by_arn, &alice), Decision::Allow);
        assert_eq!(get(&by_arn, &stranger), Decision::NotApplicable);
        assert_eq!(get(&by_arn, &anonymous), Decision::NotApplicable);

        for account in [
            r#"{"AWS": "111122223333"}"#,
            r#"{"AWS": ["arn:aws:iam::111122223333:root"]}"#,
        ] {
            let document = public_read(account);
            assert_eq!(get(&document, &alice), Decision::Allow, "{account}");
            assert_eq!(
                get(&document, &stranger),
                Decision::NotApplicable,
                "{account}"
            );
            assert_eq!(
                get(&document, &anonymous),
                Decision::NotApplicable,
                "{account}"
            );
        }

        let canonical = public_read(r#"{"CanonicalUser": "c0ffee"}"#);
        assert_eq!(get(&canonical, &stranger), Decision::Allow);
        assert_eq!(get(&canonical, &alice), Decision::NotApplicable);

        let service = public_read(r#"{"Service": ["logging.s3.amazonaws.com"]}"#);
        assert_eq!(get(&service, &logging), Decision::Allow);
        assert_eq!(get(&service, &alice), Decision::NotApplicable);

        let federated = public_read(r#"{"Federated": "cognito-identity.amazonaws.com"}"#);
        for who in [&alice, &anonymous, &stranger, &logging] {
            assert_eq!(get(&federated, who), Decision::NotApplicable);
        }

        let sts = public_read(r#"{"AWS": "arn:aws:sts::111122223333:assumed-role/r/s"}"#);
        assert_eq!(get(&sts, &alice), Decision::NotApplicable);
    }

    #[test]
    fn not_principal_applies_to_everyone_else() {
        let document = bucket_policy(
            "b",
            r#"{"Version": "2012-10-17", "Statement": [
                {"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:user/alice"},
                 "Action": "s3:*", "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]},
                {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
            ]}"#,
        )
        .expect("parses");
        let alice_arn = ["arn:aws:iam::111122223333:user/alice".to_owned()];
        let alice = Principal {
            aws: &alice_arn,
            ..Principal::default()
        };
        let anonymous = Principal {
            anonymous: true,
            ..Principal::default()
        };
        let key = "arn:aws:s3:::b/k";
        assert_eq!(
            decide_as(&document, &alice, "s3:GetObject", key, &[]),
            Decision::Allow
        );
        assert_eq!(
            decide_as(&document, &anonymous, "s3:GetObject", key, &[]),
            Decision::Deny
        );
        assert!(
            document.is_public(),
            "the second statement grants to everyone"
        );
    }

    #[test]
    fn bucket_policies_stay_inside_their_bucket() {
        let with_resource = |resource: &str| {
            format!(
                r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Principal": "*",
                    "Action": "s3:GetObject", "Resource": {resource}}}]}}"#
            )
        };
        for good in [
            r#""arn:aws:s3:::b/*""#,
            r#""arn:aws:s3:::b""#,
            r#"["arn:aws:s3:::b", "arn:aws:s3:::b/logs/*.gz"]"#,
            r#""arn:aws:s3:::b/${aws:username}/*""#,
        ] {
            assert!(bucket_policy("b", &with_resource(good)).is_ok(), "{good}");
        }
        // Wildcards that reach the bucket are taken (they grant nothing beyond it: the policy
        // is consulted only for this bucket's requests).
        for wide in [
            r#""arn:aws:s3:::*""#,
            r#""arn:aws:s3:::*/*""#,
            r#""arn:aws:s3:::b*""#,
            r#""*""#,
        ] {
            assert!(bucket_policy("b", &with_resource(wide)).is_ok(), "{wide}");
        }
        for bad in [
            r#""arn:aws:s3:::other/*""#,
            r#""arn:aws:s3:::bb/*""#,
            r#""arn:aws:s3:::c*""#,
            r#""arn:aws:s3:::b2""#,
            r#"["arn:aws:s3:::b/*", "arn:aws:s3:::c/*"]"#,
        ] {
            let message = match bucket_policy("b", &with_resource(bad)) {
                Err(PolicyError::Malformed(message)) => message,
                other => panic!("{bad}: expected Malformed, got {other:?}"),
            };
            assert!(
                message.starts_with("Policy has invalid resource"),
                "{bad}: {message}"
            );
        }
        let not_resource = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*",
            "Action": "s3:*", "NotResource": "arn:aws:s3:::other/*"}]}"#;
        assert!(bucket_policy("b", not_resource).is_err());
    }

    #[test]
    fn malformed_documents_say_what_is_wrong() {
        let identity_kind = PolicyKind::Identity;
        let bucket_kind = PolicyKind::Bucket {
            bucket: "b".to_owned(),
        };
        let allow = r#""Effect": "Allow", "Action": "s3:GetObject", "Resource": "*""#;
        let cases: Vec<(String, &PolicyKind, &str)> = vec![
            ("".to_owned(), &identity_kind, "the first byte must be '{'"),
            ("[]".to_owned(), &identity_kind, "the first byte must be '{'"),
            ("\u{feff}{}".to_owned(), &identity_kind, "the first byte must be '{'"),
            ("{".to_owned(), &identity_kind, "Policies must be valid JSON"),
            (r#"{"Statement": [}"#.to_owned(), &identity_kind, "Policies must be valid JSON"),
            (r#"{"Statement": []} x"#.to_owned(), &identity_kind, "Policies must be valid JSON"),
            (r#"{"Version": "2012-10-17"}"#.to_owned(), &identity_kind, "Missing required field Statement"),
            (r#"{"Statement": []}"#.to_owned(), &identity_kind, "Statement must not be empty"),
            (r#"{"Statement": "x"}"#.to_owned(), &identity_kind, "Statement must be an object"),
            (r#"{"Statement": ["x"]}"#.to_owned(), &identity_kind, "Each statement must be an object"),
            (r#"{"Version": "2020-01-01", "Statement": []}"#.to_owned(), &identity_kind, "invalid Version"),
            (r#"{"Version": 2012, "Statement": []}"#.to_owned(), &identity_kind, "Version must be"),
            (r#"{"Id": 5, "Statement": []}"#.to_owned(), &identity_kind, "Id must be a string"),
            (r#"{"Statment": []}"#.to_owned(), &identity_kind, "Unknown field Statment"),
            (statement(r#""Action": "s3:GetObject", "Resource": "*""#), &identity_kind, "Missing required field Effect"),
            (statement(r#""Effect": "allow", "Action": "s3:GetObject", "Resource": "*""#), &identity_kind, "Invalid effect: allow"),
            (statement(r#""Effect": true, "Action": "s3:GetObject", "Resource": "*""#), &identity_kind, "Effect must be"),
            (statement(r#""Effect": "Allow", "Resource": "*""#), &identity_kind, "Missing required field Action"),
            (statement(r#""Effect": "Allow", "Action": "s3:GetObject""#), &identity_kind, "Missing required field Resource"),
            (statement(r#""Effect": "Allow", "Action": "s3:GetObject", "NotAction": "s3:PutObject", "Resource": "*""#), &identity_kind, "either Action or NotAction"),
            (statement(r#""Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "NotResource": "*""#), &identity_kind, "either Resource or NotResource"),
            (statement(&format!(r#"{allow}, "Principle": "*""#)), &identity_kind, "Unknown field Principle"),
            (statement(r#""Effect": "Allow", "Action": "s3:GetObjects", "Resource": "*""#), &identity_kind, "Policy has invalid action: s3:GetObjects"),
            (statement(r#""Effect": "Allow", "Action": "GetObject", "Resource": "*""#), &identity_kind, "Policy has invalid action: GetObject"),
            (statement(r#""Effect": "Allow", "Action": "iam:*", "Resource": "*""#), &identity_kind, "Policy has invalid action: iam:*"),
            (statement(r#""Effect": "Allow", "Action": [], "Resource": "*""#), &identity_kind, "Action must be a string or a non-empty array"),
            (statement(r#""Effect": "Allow", "Action": [5], "Resource": "*""#), &identity_kind, "Action must be a string"),
            (statement(r#""Effect": "Allow", "Action": "s3:GetObject", "Resource": "bucket/key""#), &identity_kind, "Policy has invalid resource: bucket/key"),
            (statement(r#""Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3::bucket""#), &identity_kind, "Policy has invalid resource"),
            (statement(r#""Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn::s3:::b""#), &identity_kind, "Policy has invalid resource"),
            (statement(r#""Effect": "Allow", "Action": "s3:GetObject", "Resource": []"#), &identity_kind, "Resource must be"),
            (statement(&format!(r#"{allow}, "Principal": "*""#)), &identity_kind, "Policy document should not specify a principal."),
            (statement(&format!(r#"{allow}, "NotPrincipal": {{"AWS": "1"}}"#)), &identity_kind, "should not specify a principal"),
            (statement(r#""Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*""#), &bucket_kind, "Missing required field Principal"),
            (statement(r#""Effect": "Allow", "Principal": "*", "NotPrincipal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*""#), &bucket_kind, "either Principal or NotPrincipal"),
            (statement(r#""Effect": "Allow", "Principal": "alice", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*""#), &bucket_kind, "Invalid principal in policy"),
            (statement(r#""Effect": "Allow", "Principal": {}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*""#), &bucket_kind, "Invalid principal in policy"),
            (statement(r#""Effect": "Allow", "Principal": {"AWS": "has space"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*""#), &bucket_kind, "Invalid principal in policy"),
            (statement(r#""Effect": "Allow", "Principal": {"AWS": "arn:aws:s3:::b"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*""#), &bucket_kind, "Invalid principal in policy"),
            (statement(r#""Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::*:root"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*""#), &bucket_kind, "Invalid principal in policy"),
            (statement(r#""Effect": "Allow", "Principal": {"Group": "x"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*""#), &bucket_kind, "Invalid principal in policy"),
            (statement(r#""Effect": "Allow", "Principal": {"AWS": []}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*""#), &bucket_kind, "Invalid principal in policy"),
            (statement(&format!(r#"{allow}, "Condition": {{"StringEqualz": {{"a:b": "c"}}}}"#)), &identity_kind, "Invalid Condition operator: StringEqualz"),
            (statement(&format!(r#"{allow}, "Condition": {{"DateLessThan": {{"aws:CurrentTime": "soon"}}}}"#)), &identity_kind, "Invalid value \"soon\" for condition operator DateLessThan"),
            (statement(&format!(r#"{allow}, "Condition": {{"IpAddress": {{"aws:SourceIp": "10.0.0.0/40"}}}}"#)), &identity_kind, "10.0.0.0/40"),
            (statement(&format!(r#"{allow}, "Condition": {{"NumericLessThan": {{"s3:max-keys": "many"}}}}"#)), &identity_kind, "\"many\""),
            (statement(&format!(r#"{allow}, "Condition": {{"StringEquals": {{"username": "x"}}}}"#)), &identity_kind, "Policy has an invalid condition key"),
            (statement(&format!(r#"{allow}, "Condition": "x""#)), &identity_kind, "Condition must be an object"),
            (statement(&format!(r#"{allow}, "Sid": 1"#)), &identity_kind, "Sid must be a string"),
            (
                format!(r#"{{"Statement": [{{"Sid": "s", {allow}}}, {{"Sid": "s", {allow}}}]}}"#),
                &identity_kind,
                "Statement IDs (SID) in a single policy must be unique",
            ),
            (
                r#"{"Statement": [{"Effect": "Deny", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}"#.to_owned(),
                &identity_kind,
                "duplicate key \"Effect\"",
            ),
        ];
        for (json, kind, expected) in cases {
            let message = malformed_message(&json, kind);
            assert!(
                message.contains(expected),
                "for {json}\n  expected a message containing {expected:?}\n  got {message:?}"
            );
        }
    }

    #[test]
    fn size_and_encoding_limits() {
        let padding = " ".repeat(MAX_POLICY_BYTES);
        let big = format!(
            r#"{{"Statement": {{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}}}{padding}"#
        );
        assert_eq!(
            PolicyDocument::parse(big.as_bytes(), &PolicyKind::Identity).err(),
            Some(PolicyError::TooLarge)
        );
        assert_eq!(
            PolicyError::TooLarge.to_string(),
            "Policies must be less than 20 KB"
        );
        let exact = r#"{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}"#;
        let exact = format!("{exact}{}", " ".repeat(MAX_POLICY_BYTES - exact.len()));
        assert!(PolicyDocument::parse(exact.as_bytes(), &PolicyKind::Identity).is_ok());
        let invalid_utf8 = b"{\"Statement\": \"\xff\"}";
        assert!(matches!(
            PolicyDocument::parse(invalid_utf8, &PolicyKind::Identity),
            Err(PolicyError::Malformed(_))
        ));
    }

    #[test]
    fn empty_sids_may_repeat() {
        let allow = r#""Effect": "Allow", "Action": "s3:GetObject", "Resource": "*""#;
        identity(&format!(
            r#"{{"Statement": [{{"Sid": "", {allow}}}, {{"Sid": "", {allow}}}, {{"Sid": "a", {allow}}}]}}"#
        ));
    }

    #[test]
    fn is_public() {
        assert!(public_read(r#""*""#).is_public());
        assert!(public_read(r#"{"AWS": "*"}"#).is_public());
        assert!(public_read(r#"{"AWS": ["arn:aws:iam::1:root", "*"]}"#).is_public());
        assert!(!public_read(r#"{"AWS": "arn:aws:iam::111122223333:root"}"#).is_public());
        assert!(!public_read(r#"{"CanonicalUser": "c0ffee"}"#).is_public());

        let with = |effect: &str, principal: &str, condition: &str| {
            let json = format!(
                r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "{effect}", {principal},
                    "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*", "Condition": {condition}}}]}}"#
            );
            bucket_policy("b", &json)
                .unwrap_or_else(|error| panic!("{error}: {json}"))
                .is_public()
        };
        let everyone = r#""Principal": "*""#;
        assert!(with("Allow", everyone, "{}"));
        assert!(!with("Deny", everyone, "{}"));
        assert!(!with(
            "Allow",
            everyone,
            r#"{"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}"#
        ));
        assert!(with(
            "Allow",
            everyone,
            r#"{"IpAddress": {"aws:SourceIp": "0.0.0.0/1"}}"#
        ));
        assert!(!with(
            "Allow",
            everyone,
            r#"{"StringEquals": {"aws:SourceVpce": "vpce-1a2b"}}"#
        ));
        assert!(!with(
            "Allow",
            everyone,
            r#"{"StringEquals": {"aws:PrincipalOrgID": "o-123"}}"#
        ));
        assert!(!with(
            "Allow",
            everyone,
            r#"{"ArnEquals": {"aws:SourceArn": "arn:aws:s3:::logs"}}"#
        ));
        assert!(!with(
            "Allow",
            everyone,
            r#"{"StringEquals": {"aws:SourceAccount": "111122223333"}}"#
        ));
        assert!(with(
            "Allow",
            everyone,
            r#"{"StringLike": {"aws:SourceAccount": "*"}}"#
        ));
        assert!(with(
            "Allow",
            everyone,
            r#"{"StringEquals": {"s3:prefix": "public/"}}"#
        ));
        assert!(with(
            "Allow",
            everyone,
            r#"{"Bool": {"aws:SecureTransport": "true"}}"#
        ));
        assert!(with(
            "Allow",
            everyone,
            r#"{"NotIpAddress": {"aws:SourceIp": "192.0.2.0/24"}}"#
        ));
        // NotPrincipal only narrows a Deny; an Allow with it is refused at parse time.
        let not_principal_allow = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:user/x"},
            "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}"#;
        assert!(bucket_policy("b", not_principal_allow).is_err());
        assert!(
            !identity(&statement(
                r#""Effect": "Allow", "Action": "s3:*", "Resource": "*""#
            ))
            .is_public()
        );
    }

    /// 100 users' worth of policies (two statements each, with wildcards and conditions).
    fn hundred_users() -> Vec<PolicyDocument> {
        (0..100)
            .map(|user| {
                let json = format!(
                    r#"{{"Version": "2012-10-17", "Statement": [
                        {{"Sid": "Own", "Effect": "Allow",
                          "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:List*"],
                          "Resource": ["arn:aws:s3:::team-{user}", "arn:aws:s3:::team-{user}/*", "arn:aws:s3:::home/${{aws:username}}/*"],
                          "Condition": {{"StringEquals": {{"aws:username": "user-{user}"}},
                                         "IpAddress": {{"aws:SourceIp": ["10.{user}.0.0/16", "2001:db8::/32"]}}}}}},
                        {{"Sid": "NoDeletes", "Effect": "Deny", "Action": "s3:Delete*",
                          "Resource": "arn:aws:s3:::archive-{user}/*",
                          "Condition": {{"DateLessThan": {{"aws:CurrentTime": "2030-01-01T00:00:00Z"}}}}}}
                    ]}}"#
                );
                identity(&json)
            })
            .collect()
    }

    #[test]
    fn evaluating_200_statements_is_fast() {
        let documents = hundred_users();
        assert_eq!(
            documents.iter().map(PolicyDocument::len).sum::<usize>(),
            200
        );
        let context = context(&[
            ("aws:username", "user-42"),
            ("aws:SourceIp", "10.42.7.7"),
            ("aws:CurrentTime", "2026-06-01T12:00:00Z"),
            ("aws:SecureTransport", "true"),
        ]);
        let principal = Principal::default();
        let request = AccessRequest {
            action: "s3:GetObject",
            resource: "arn:aws:s3:::team-42/data/part-0001.parquet",
            principal: &principal,
            context: &context,
        };
        let evaluate_all = || {
            documents
                .iter()
                .fold(Decision::NotApplicable, |verdict, document| {
                    verdict.combine(document.evaluate(&request))
                })
        };
        assert_eq!(evaluate_all(), Decision::Allow);
        let rounds = 2_000u32;
        let started = Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(evaluate_all());
        }
        let average = started.elapsed() / rounds;
        eprintln!("200 statements: {average:?} per request");
        assert!(
            average < Duration::from_millis(1),
            "{average:?} per request against 200 statements"
        );
    }

    #[test]
    fn mangled_policies_never_panic() {
        let valid = r#"{"Version": "2012-10-17", "Id": "x", "Statement": [
            {"Sid": "a", "Effect": "Allow", "Principal": {"AWS": ["*", "arn:aws:iam::1:root"]},
             "Action": ["s3:Get*", "s3:ListBucket"], "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/${aws:username}/*"],
             "Condition": {"ForAnyValue:StringLike": {"s3:prefix": ["${aws:username}/*", "${x, 'd''e'}"]},
                           "IpAddressIfExists": {"aws:SourceIp": ["10.0.0.0/8", "::ffff:1.2.3.4/128"]},
                           "DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"},
                           "NumericLessThan": {"s3:max-keys": 10}, "Null": {"aws:TokenIssueTime": true}}}]}"#;
        let bucket = PolicyKind::Bucket {
            bucket: "b".to_owned(),
        };
        let bytes = valid.as_bytes();
        assert!(PolicyDocument::parse(bytes, &bucket).is_ok());

        let mut variants: Vec<Vec<u8>> = Vec::new();
        // Truncations.
        for cut in (0..bytes.len()).step_by(bytes.len() / 25 + 1) {
            variants.push(bytes[..cut].to_vec());
        }
        // Byte replacements at spread-out places.
        for (index, replacement) in (0..bytes.len()).step_by(bytes.len() / 15 + 1).zip([
            b'"', b'}', b']', b'{', b'[', b',', b':', 0xff, 0, b'*', b'$', b'?', b'\\', b'/', b'1',
            b'x',
        ]) {
            let mut mangled = bytes.to_vec();
            mangled[index] = replacement;
            variants.push(mangled);
        }
        // Substitutions of meaningful text.
        for (from, to) in [
            ("Allow", "Deny"),
            ("\"*\"", "\"\""),
            ("${aws:username}", "${"),
            ("${aws:username}", "${}"),
            ("'d''e'", "'"),
            ("10.0.0.0/8", "10.0.0.0/"),
            ("/128", "/255"),
            ("2030-01-01T00:00:00Z", "2030-02-30"),
            ("10}", "1e999}"),
            ("true", "null"),
            ("\"Statement\": [", "\"Statement\": [[[[[[[[["),
            ("arn:aws:s3:::b\"", "arn:aws:s3:::b:\""),
            ("ForAnyValue:", "ForAllValues:"),
            ("IfExists", ""),
            ("Null", "NullIfExists"),
        ] {
            variants.push(valid.replacen(from, to, 1).into_bytes());
        }
        variants.push(format!("{}{}", "[".repeat(5_000), "]".repeat(5_000)).into_bytes());
        variants
            .push(format!("{{\"a\":{}1{}}}", "[".repeat(5_000), "]".repeat(5_000)).into_bytes());
        variants.push(b"{\"Statement\": 1e99999}".to_vec());
        variants.push("{\"Statement\": \"\u{0}\u{fffd}\"}".as_bytes().to_vec());
        assert!(variants.len() >= 50, "{} variants", variants.len());

        for variant in &variants {
            for kind in [&PolicyKind::Identity, &bucket] {
                if let Ok(document) = PolicyDocument::parse(variant, kind) {
                    let principal = Principal::default();
                    let context = context(&[("aws:username", "u"), ("s3:prefix", "u/x")]);
                    document.evaluate(&AccessRequest {
                        action: "s3:GetObject",
                        resource: "arn:aws:s3:::b/u/x",
                        principal: &principal,
                        context: &context,
                    });
                    document.is_public();
                }
            }
        }
    }
}
