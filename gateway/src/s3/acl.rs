//! Access control lists: canned ACLs, the x-amz-grant-* headers and the AccessControlPolicy
//! document, parsed into grants and written back; and whether grants allow a caller a permission.
//!
//! Every function here that returns grants returns them group grants first (AllUsers,
//! AuthenticatedUsers, LogDelivery), then user grants, each part in the order it was given: the
//! order the s3-tests suite compares against.

use http::HeaderMap;
use quick_xml::events::{BytesStart, Event};

use super::error::{S3Error, S3ErrorCode, S3Result};
use super::xml::XmlWriter;
use crate::store::{AclGrant, AclGrantee, AclPermission};

/// The group of everyone, signed or not.
pub const ALL_USERS_URI: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
/// The group of every signed request.
pub const AUTHENTICATED_USERS_URI: &str =
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
/// The group of the server access log writer.
pub const LOG_DELIVERY_URI: &str = "http://acs.amazonaws.com/groups/s3/LogDelivery";
/// Max grants in one ACL (AWS: 100).
pub const MAX_GRANTS: usize = 100;

/// The canonical id AWS gives Amazon EC2, granted READ by the `aws-exec-read` canned ACL (so EC2
/// can fetch AMI bundles). lakegate has no such user; the grant is kept for fidelity.
const EC2_CANONICAL_ID: &str = "6aa5a366c34c1cbe25dc49211496e913e0351eb0e8c37aa3477e40942ec6b97c";

/// The XML Schema instance namespace `xsi:type` comes from.
const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// The root element of an ACL document.
const POLICY_ROOT: &str = "AccessControlPolicy";

/// The canned ACL header.
const CANNED_HEADER: &str = "x-amz-acl";

/// The grant headers, in the order their grants are listed.
const GRANT_HEADERS: [(&str, AclPermission); 5] = [
    ("x-amz-grant-read", AclPermission::Read),
    ("x-amz-grant-write", AclPermission::Write),
    ("x-amz-grant-read-acp", AclPermission::ReadAcp),
    ("x-amz-grant-write-acp", AclPermission::WriteAcp),
    ("x-amz-grant-full-control", AclPermission::FullControl),
];

/// The owner's FULL_CONTROL, the default ACL.
pub fn private(owner: &str) -> Vec<AclGrant> {
    vec![grant(
        AclGrantee::User(owner.to_string()),
        AclPermission::FullControl,
    )]
}

/// Grants of the canned ACL `name` for a resource owned by `owner` in a bucket owned by
/// `bucket_owner`. `bucket-owner-read` and `bucket-owner-full-control` add the bucket owner's
/// grant to objects only (AWS ignores them on buckets), and only when the bucket owner is not
/// the owner already. An unknown name is `InvalidArgument`.
pub fn canned(
    name: &str,
    owner: &str,
    bucket_owner: &str,
    for_bucket: bool,
) -> S3Result<Vec<AclGrant>> {
    use AclGrantee::{AllUsers, AuthenticatedUsers, LogDelivery, User};
    use AclPermission::{FullControl, Read, ReadAcp, Write};

    let mut grants = private(owner);
    match name {
        "private" => {}
        "public-read" => grants.push(grant(AllUsers, Read)),
        "public-read-write" => {
            grants.push(grant(AllUsers, Read));
            grants.push(grant(AllUsers, Write));
        }
        "authenticated-read" => grants.push(grant(AuthenticatedUsers, Read)),
        "aws-exec-read" => grants.push(grant(User(EC2_CANONICAL_ID.to_string()), Read)),
        "bucket-owner-read" | "bucket-owner-full-control" => {
            if !for_bucket && owner != bucket_owner {
                let permission = if name == "bucket-owner-read" {
                    Read
                } else {
                    FullControl
                };
                grants.push(grant(User(bucket_owner.to_string()), permission));
            }
        }
        "log-delivery-write" => {
            grants.push(grant(LogDelivery, Write));
            grants.push(grant(LogDelivery, ReadAcp));
        }
        _ => {
            return Err(S3Error::invalid_argument("Invalid canned ACL")
                .with_detail("ArgumentName", CANNED_HEADER)
                .with_detail("ArgumentValue", name));
        }
    }
    Ok(group_first(grants))
}

/// The ACL a write request's headers ask for: the canned `x-amz-acl` or the `x-amz-grant-*`
/// headers; None when it names none. `known_user(id)` says whether a canonical id exists.
///
/// Grant headers are read in the order read, write, read-acp, write-acp, full-control, each a
/// comma-separated list of `id=…`, `uri=…` or `emailAddress=…` (type case-insensitive, value
/// optionally double-quoted); the ACL is exactly the grants they list (no implicit owner grant).
/// Errors: canned and grant headers together → `InvalidRequest`; an unknown id, an unknown group
/// URI, an unparsable or non-UTF-8 value, or more than [`MAX_GRANTS`] grants → `InvalidArgument`;
/// an e-mail grantee → `UnresolvableGrantByEmailAddress` (lakegate has no e-mail directory).
pub fn from_headers(
    headers: &HeaderMap,
    owner: &str,
    bucket_owner: &str,
    for_bucket: bool,
    known_user: &dyn Fn(&str) -> bool,
) -> S3Result<Option<Vec<AclGrant>>> {
    let canned_values: Vec<_> = headers.get_all(CANNED_HEADER).iter().collect();
    let has_grant_headers = GRANT_HEADERS
        .iter()
        .any(|(name, _)| headers.contains_key(*name));
    if !canned_values.is_empty() && has_grant_headers {
        return Err(S3Error::invalid_request(
            "Specifying both Canned ACLs and Header Grants is not allowed",
        ));
    }
    match canned_values.as_slice() {
        [] => {}
        [value] => {
            let name = header_text(CANNED_HEADER, value.as_bytes())?;
            return canned(name.trim(), owner, bucket_owner, for_bucket).map(Some);
        }
        _ => {
            return Err(
                S3Error::invalid_argument("Only one canned ACL may be given")
                    .with_detail("ArgumentName", CANNED_HEADER),
            );
        }
    }
    if !has_grant_headers {
        return Ok(None);
    }
    let mut grants = Vec::new();
    for (header, permission) in GRANT_HEADERS {
        for value in headers.get_all(header) {
            let text = header_text(header, value.as_bytes())?;
            for grantee in split_grantees(text).ok_or_else(|| bad_grant_header(header, text))? {
                let grantee = header_grantee(header, grantee, known_user)?;
                if grants.len() == MAX_GRANTS {
                    return Err(S3Error::invalid_argument(format!(
                        "An ACL may hold at most {MAX_GRANTS} grants"
                    ))
                    .with_detail("ArgumentName", header));
                }
                grants.push(grant(grantee, permission));
            }
        }
    }
    Ok(Some(group_first(grants)))
}

/// A header value as text; non-UTF-8 is `InvalidArgument`.
fn header_text<'a>(header: &'static str, value: &'a [u8]) -> S3Result<&'a str> {
    std::str::from_utf8(value).map_err(|_| {
        S3Error::invalid_argument(format!("The {header} header is not valid UTF-8"))
            .with_detail("ArgumentName", header)
    })
}

/// The `InvalidArgument` for a grant header value that does not parse.
fn bad_grant_header(header: &'static str, value: &str) -> S3Error {
    S3Error::invalid_argument("Invalid grant header value")
        .with_detail("ArgumentName", header)
        .with_detail("ArgumentValue", value)
}

/// A grant header value split into its `type=value` items at the commas outside double quotes,
/// each trimmed; None when a quote is left open or an item is empty.
fn split_grantees(value: &str) -> Option<Vec<&str>> {
    let mut items = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, c) in value.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                items.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if quoted {
        return None;
    }
    items.push(&value[start..]);
    let items: Vec<&str> = items.into_iter().map(trim_http).collect();
    if items.iter().any(|item| item.is_empty()) {
        return None;
    }
    Some(items)
}

/// `s` without the spaces and tabs around it.
fn trim_http(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

/// The grantee one `type=value` item of a grant header names.
fn header_grantee(
    header: &'static str,
    item: &str,
    known_user: &dyn Fn(&str) -> bool,
) -> S3Result<AclGrantee> {
    let bad = || bad_grant_header(header, item);
    let invalid = |message: &str, value: &str| {
        S3Error::invalid_argument(message)
            .with_detail("ArgumentName", header)
            .with_detail("ArgumentValue", value)
    };
    let (kind, value) = item.split_once('=').ok_or_else(bad)?;
    let kind = trim_http(kind);
    let value = trim_http(value);
    let value = match value.strip_prefix('"') {
        Some(rest) => rest.strip_suffix('"').ok_or_else(bad)?,
        None => value,
    };
    if value.is_empty() || value.contains('"') {
        return Err(bad());
    }
    if kind.eq_ignore_ascii_case("id") {
        if known_user(value) {
            Ok(AclGrantee::User(value.to_string()))
        } else {
            Err(invalid("Invalid id", value))
        }
    } else if kind.eq_ignore_ascii_case("uri") {
        group_by_uri(value).ok_or_else(|| invalid("Invalid group uri", value))
    } else if kind.eq_ignore_ascii_case("emailAddress") {
        Err(unresolvable_email())
    } else {
        Err(bad())
    }
}

/// The error for any e-mail grantee: lakegate has no e-mail directory to resolve it in.
fn unresolvable_email() -> S3Error {
    S3Error::with_message(
        S3ErrorCode::UnresolvableGrantByEmailAddress,
        "The e-mail address you provided does not match any account on record.",
    )
}

/// An AccessControlPolicy request document: the Owner ID it names (if any) and its grants.
///
/// The document must be UTF-8 with one `AccessControlPolicy` root (no namespace or the S3 one),
/// holding at most one `Owner` (with an `ID`; `DisplayName` ignored) and at most one
/// `AccessControlList` of `Grant`s, each one `Grantee` (its `xsi:type` matched by local name,
/// whatever the prefix) and one `Permission`. No `AccessControlList`, or an empty one, is no
/// grants. Anything else — an unknown element or permission, an unknown or missing grantee
/// type, a grantee without its `ID`/`URI`/`EmailAddress`, more than [`MAX_GRANTS`] grants, a
/// document that is not well-formed — is `MalformedACLError`. An unknown user id or group URI
/// is `InvalidArgument`; an e-mail grantee is `UnresolvableGrantByEmailAddress`. The document's
/// shape is checked whole before any grantee is resolved.
pub fn parse_policy(
    body: &[u8],
    known_user: &dyn Fn(&str) -> bool,
) -> S3Result<(Option<String>, Vec<AclGrant>)> {
    let document = read_policy(body).map_err(|why| {
        tracing::debug!(why, "malformed AccessControlPolicy");
        S3Error::new(S3ErrorCode::MalformedACLError)
    })?;
    let grants = document
        .grants
        .into_iter()
        .map(|(grantee, permission)| {
            let grantee = match grantee {
                GranteeSpec::User(id) if known_user(&id) => AclGrantee::User(id),
                GranteeSpec::User(id) => {
                    return Err(S3Error::invalid_argument("Invalid id")
                        .with_detail("ArgumentName", "CanonicalUser/ID")
                        .with_detail("ArgumentValue", id));
                }
                GranteeSpec::Group(uri) => group_by_uri(&uri).ok_or_else(|| {
                    S3Error::invalid_argument("Invalid group uri")
                        .with_detail("ArgumentName", "Group/URI")
                        .with_detail("ArgumentValue", uri)
                })?,
                GranteeSpec::Email => return Err(unresolvable_email()),
            };
            Ok(grant(grantee, permission))
        })
        .collect::<S3Result<Vec<_>>>()?;
    Ok((document.owner, group_first(grants)))
}

/// A grantee as a policy document names it, before it is resolved.
enum GranteeSpec {
    User(String),
    Group(String),
    Email,
}

/// A policy document's content, its shape checked.
struct PolicyDocument {
    owner: Option<String>,
    grants: Vec<(GranteeSpec, AclPermission)>,
}

/// Where the reader is in a policy document: the elements it knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    Policy,
    Owner,
    OwnerId,
    OwnerDisplayName,
    AccessControlList,
    Grant,
    Grantee,
    GranteeId,
    GranteeDisplayName,
    GranteeUri,
    GranteeEmail,
    Permission,
}

impl Node {
    /// The element `name` inside this one, if the schema has it there.
    fn child(self, name: &[u8]) -> Option<Node> {
        use Node::*;
        Some(match (self, name) {
            (Policy, b"Owner") => Owner,
            (Policy, b"AccessControlList") => AccessControlList,
            (Owner, b"ID") => OwnerId,
            (Owner, b"DisplayName") => OwnerDisplayName,
            (AccessControlList, b"Grant") => Grant,
            (Grant, b"Grantee") => Grantee,
            (Grant, b"Permission") => Permission,
            (Grantee, b"ID") => GranteeId,
            (Grantee, b"DisplayName") => GranteeDisplayName,
            (Grantee, b"URI") => GranteeUri,
            (Grantee, b"EmailAddress") => GranteeEmail,
            _ => return None,
        })
    }

    /// Whether the element holds text rather than elements.
    fn is_leaf(self) -> bool {
        use Node::*;
        matches!(
            self,
            OwnerId
                | OwnerDisplayName
                | GranteeId
                | GranteeDisplayName
                | GranteeUri
                | GranteeEmail
                | Permission
        )
    }
}

/// A `Grantee` element being read.
#[derive(Default)]
struct GranteeDraft {
    kind: Option<String>,
    id: Option<String>,
    uri: Option<String>,
    email: Option<String>,
}

/// A `Grant` element being read.
#[derive(Default)]
struct GrantDraft {
    grantee: Option<GranteeSpec>,
    permission: Option<AclPermission>,
}

/// Reads a policy document's shape; returns why it is malformed.
struct PolicyReader {
    stack: Vec<Node>,
    text: String,
    owner: Option<String>,
    seen_owner: bool,
    seen_acl: bool,
    grant: Option<GrantDraft>,
    grantee: Option<GranteeDraft>,
    grants: Vec<(GranteeSpec, AclPermission)>,
}

type Why = &'static str;

/// Sets `slot`, which must be empty.
fn set_once<T>(slot: &mut Option<T>, value: T) -> Result<(), Why> {
    if slot.is_some() {
        return Err("repeated element");
    }
    *slot = Some(value);
    Ok(())
}

/// Marks an element seen; it must not have been.
fn first_time(seen: &mut bool, why: Why) -> Result<(), Why> {
    if std::mem::replace(seen, true) {
        return Err(why);
    }
    Ok(())
}

/// Whether XML 1.0 (and lakegate's writer) cannot carry `c`.
fn is_forbidden_char(c: char) -> bool {
    matches!(c, '\0'..='\x08' | '\x0b' | '\x0c' | '\x0e'..='\x1f' | '\u{fffe}' | '\u{ffff}')
}

/// Parses the document's shape (see [`parse_policy`]).
fn read_policy(body: &[u8]) -> Result<PolicyDocument, Why> {
    let text = std::str::from_utf8(body).map_err(|_| "not UTF-8")?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.chars().any(is_forbidden_char) {
        return Err("a character XML 1.0 does not allow");
    }
    super::xml::check_document(text, POLICY_ROOT)?;

    let mut state = PolicyReader {
        stack: Vec::new(),
        text: String::new(),
        owner: None,
        seen_owner: false,
        seen_acl: false,
        grant: None,
        grantee: None,
        grants: Vec::new(),
    };
    let mut reader = quick_xml::Reader::from_str(text);
    loop {
        match reader.read_event().map_err(|_| "not well-formed")? {
            Event::Start(e) => state.start(&e)?,
            Event::Empty(e) => {
                state.start(&e)?;
                state.end()?;
            }
            Event::End(_) => state.end()?,
            Event::Text(t) => {
                let t = t.xml10_content().map_err(|_| "undecodable text")?;
                state.text(&t)?;
            }
            Event::CData(c) => {
                let c = c.xml10_content().map_err(|_| "undecodable CDATA")?;
                state.markup_text(&c)?;
            }
            Event::GeneralRef(r) => {
                let resolved = match r
                    .resolve_char_ref()
                    .map_err(|_| "bad character reference")?
                {
                    Some(c) => c.to_string(),
                    None => {
                        let name = r.decode().map_err(|_| "undecodable reference")?;
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .ok_or("unknown entity")?
                            .to_string()
                    }
                };
                state.markup_text(&resolved)?;
            }
            Event::Eof => break,
            // Declaration, comments: check_document has vetted them.
            _ => {}
        }
    }
    if !state.stack.is_empty() {
        return Err("unclosed element");
    }
    Ok(PolicyDocument {
        owner: state.owner,
        grants: state.grants,
    })
}

impl PolicyReader {
    fn start(&mut self, element: &BytesStart<'_>) -> Result<(), Why> {
        let name = element.name();
        let node = match self.stack.last() {
            None if name.as_ref() == POLICY_ROOT.as_bytes() => Node::Policy,
            None => return Err("wrong root element"),
            Some(parent) => parent.child(name.as_ref()).ok_or("unknown element")?,
        };
        match node {
            Node::Owner => first_time(&mut self.seen_owner, "more than one Owner")?,
            Node::AccessControlList => {
                first_time(&mut self.seen_acl, "more than one AccessControlList")?
            }
            Node::Grant => {
                if self.grants.len() == MAX_GRANTS {
                    return Err("too many grants");
                }
                self.grant = Some(GrantDraft::default());
            }
            Node::Grantee => {
                let mut draft = GranteeDraft::default();
                for attribute in element.attributes() {
                    let attribute = attribute.map_err(|_| "malformed attribute")?;
                    if attribute.key.as_namespace_binding().is_some()
                        || attribute.key.local_name().as_ref() != b"type"
                    {
                        continue;
                    }
                    let value = attribute
                        .unescape_value()
                        .map_err(|_| "malformed attribute")?;
                    set_once(&mut draft.kind, value.into_owned())?;
                }
                self.grantee = Some(draft);
            }
            _ => {}
        }
        self.text.clear();
        self.stack.push(node);
        Ok(())
    }

    fn end(&mut self) -> Result<(), Why> {
        let node = self.stack.pop().ok_or("unbalanced end tag")?;
        let text = std::mem::take(&mut self.text);
        let value = text.trim().to_string();
        if value.chars().any(is_forbidden_char) {
            return Err("a character XML 1.0 does not allow");
        }
        match node {
            Node::Policy
            | Node::AccessControlList
            | Node::OwnerDisplayName
            | Node::GranteeDisplayName => {}
            Node::Owner => {
                if self.owner.is_none() {
                    return Err("Owner without ID");
                }
            }
            Node::OwnerId => {
                if value.is_empty() {
                    return Err("empty Owner ID");
                }
                set_once(&mut self.owner, value)?;
            }
            Node::GranteeId => set_once(&mut self.grantee_draft()?.id, value)?,
            Node::GranteeUri => set_once(&mut self.grantee_draft()?.uri, value)?,
            Node::GranteeEmail => set_once(&mut self.grantee_draft()?.email, value)?,
            Node::Permission => {
                let permission = parse_permission(&value).ok_or("unknown permission")?;
                set_once(&mut self.grant_draft()?.permission, permission)?;
            }
            Node::Grantee => {
                let draft = self.grantee.take().ok_or("Grantee out of place")?;
                let spec = grantee_spec(draft)?;
                set_once(&mut self.grant_draft()?.grantee, spec)?;
            }
            Node::Grant => {
                let draft = self.grant.take().ok_or("Grant out of place")?;
                let grantee = draft.grantee.ok_or("Grant without Grantee")?;
                let permission = draft.permission.ok_or("Grant without Permission")?;
                self.grants.push((grantee, permission));
            }
        }
        Ok(())
    }

    /// Character data as the document spells it.
    fn text(&mut self, text: &str) -> Result<(), Why> {
        match self.stack.last() {
            Some(node) if node.is_leaf() => {
                self.text.push_str(text);
                Ok(())
            }
            // Indentation between elements, and whitespace around the root.
            _ if text.trim().is_empty() => Ok(()),
            _ => Err("text where elements belong"),
        }
    }

    /// Text from a CDATA section or a reference: only inside a text element.
    fn markup_text(&mut self, text: &str) -> Result<(), Why> {
        match self.stack.last() {
            Some(node) if node.is_leaf() => {
                self.text.push_str(text);
                Ok(())
            }
            _ => Err("text where elements belong"),
        }
    }

    fn grant_draft(&mut self) -> Result<&mut GrantDraft, Why> {
        self.grant.as_mut().ok_or("element out of place")
    }

    fn grantee_draft(&mut self) -> Result<&mut GranteeDraft, Why> {
        self.grantee.as_mut().ok_or("element out of place")
    }
}

/// What a `Grantee` element names, by its type; the element its type calls for must be there,
/// and no element of another type.
fn grantee_spec(draft: GranteeDraft) -> Result<GranteeSpec, Why> {
    let GranteeDraft {
        kind,
        id,
        uri,
        email,
    } = draft;
    match (kind.as_deref(), id, uri, email) {
        (Some("CanonicalUser"), Some(id), None, None) => Ok(GranteeSpec::User(id)),
        (Some("Group"), None, Some(uri), None) => Ok(GranteeSpec::Group(uri)),
        (Some("AmazonCustomerByEmail"), None, None, Some(_)) => Ok(GranteeSpec::Email),
        (None, ..) => Err("Grantee without xsi:type"),
        (Some("CanonicalUser" | "Group" | "AmazonCustomerByEmail"), ..) => {
            Err("Grantee elements do not match its type")
        }
        (Some(_), ..) => Err("unknown grantee type"),
    }
}

/// The AccessControlPolicy answer of Get{Bucket,Object}Acl: the owner (with its display name)
/// and the grants, group grants first. Users' grants carry their display name; groups' do not.
pub fn write_policy(
    owner: &str,
    grants: &[AclGrant],
    display_name: &dyn Fn(&str) -> String,
) -> String {
    let mut w = XmlWriter::new(POLICY_ROOT);
    w.open("Owner")
        .elem("ID", owner)
        .elem("DisplayName", &display_name(owner))
        .close("Owner");
    w.open("AccessControlList");
    let groups = grants.iter().filter(|g| is_group(&g.grantee));
    let users = grants.iter().filter(|g| !is_group(&g.grantee));
    for grant in groups.chain(users) {
        w.open("Grant");
        match &grant.grantee {
            AclGrantee::User(id) => {
                w.raw(&grantee_open("CanonicalUser"))
                    .elem("ID", id)
                    .elem("DisplayName", &display_name(id));
            }
            group => {
                w.raw(&grantee_open("Group"))
                    .elem("URI", group_uri(group).unwrap_or_default());
            }
        }
        w.close("Grantee")
            .elem("Permission", permission_name(grant.permission))
            .close("Grant");
    }
    w.close("AccessControlList");
    w.finish(POLICY_ROOT)
}

/// A `Grantee` start tag of type `kind`.
fn grantee_open(kind: &str) -> String {
    format!(r#"<Grantee xmlns:xsi="{XSI_NS}" xsi:type="{kind}">"#)
}

/// Whether any grant is to AllUsers or AuthenticatedUsers.
pub fn is_public(grants: &[AclGrant]) -> bool {
    grants.iter().any(|g| is_public_grantee(&g.grantee))
}

/// Whether `grants` give `caller` (a canonical id; None = anonymous) `permission`.
/// FULL_CONTROL implies every permission. AllUsers matches everyone incl. anonymous;
/// AuthenticatedUsers every Some caller; User(id) the caller with that id; LogDelivery no
/// caller. With `ignore_public`, AllUsers/AuthenticatedUsers grants are skipped.
pub fn allows(
    grants: &[AclGrant],
    caller: Option<&str>,
    permission: AclPermission,
    ignore_public: bool,
) -> bool {
    grants.iter().any(|g| {
        let grantee_matches = match &g.grantee {
            _ if ignore_public && is_public_grantee(&g.grantee) => false,
            AclGrantee::AllUsers => true,
            AclGrantee::AuthenticatedUsers => caller.is_some(),
            AclGrantee::User(id) => caller == Some(id.as_str()),
            AclGrantee::LogDelivery => false,
        };
        grantee_matches
            && (g.permission == permission || g.permission == AclPermission::FullControl)
    })
}

/// A permission as ACL documents and grant headers' AWS names spell it.
fn permission_name(permission: AclPermission) -> &'static str {
    match permission {
        AclPermission::Read => "READ",
        AclPermission::Write => "WRITE",
        AclPermission::ReadAcp => "READ_ACP",
        AclPermission::WriteAcp => "WRITE_ACP",
        AclPermission::FullControl => "FULL_CONTROL",
    }
}

/// The permission an ACL document names (exact spelling).
fn parse_permission(name: &str) -> Option<AclPermission> {
    Some(match name {
        "READ" => AclPermission::Read,
        "WRITE" => AclPermission::Write,
        "READ_ACP" => AclPermission::ReadAcp,
        "WRITE_ACP" => AclPermission::WriteAcp,
        "FULL_CONTROL" => AclPermission::FullControl,
        _ => return None,
    })
}

/// The group a URI names (exact spelling).
fn group_by_uri(uri: &str) -> Option<AclGrantee> {
    match uri {
        ALL_USERS_URI => Some(AclGrantee::AllUsers),
        AUTHENTICATED_USERS_URI => Some(AclGrantee::AuthenticatedUsers),
        LOG_DELIVERY_URI => Some(AclGrantee::LogDelivery),
        _ => None,
    }
}

/// A group grantee's URI; None for a user.
fn group_uri(grantee: &AclGrantee) -> Option<&'static str> {
    match grantee {
        AclGrantee::AllUsers => Some(ALL_USERS_URI),
        AclGrantee::AuthenticatedUsers => Some(AUTHENTICATED_USERS_URI),
        AclGrantee::LogDelivery => Some(LOG_DELIVERY_URI),
        AclGrantee::User(_) => None,
    }
}

fn is_group(grantee: &AclGrantee) -> bool {
    !matches!(grantee, AclGrantee::User(_))
}

fn is_public_grantee(grantee: &AclGrantee) -> bool {
    matches!(
        grantee,
        AclGrantee::AllUsers | AclGrantee::AuthenticatedUsers
    )
}

fn grant(grantee: AclGrantee, permission: AclPermission) -> AclGrant {
    AclGrant {
        grantee,
        permission,
    }
}

/// `grants` with group grants first, each part keeping its order.
fn group_first(grants: Vec<AclGrant>) -> Vec<AclGrant> {
    let (mut groups, users): (Vec<_>, Vec<_>) =
        grants.into_iter().partition(|g| is_group(&g.grantee));
    groups.extend(users);
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use AclGrantee::{AllUsers, AuthenticatedUsers, LogDelivery, User};
    use AclPermission::{FullControl, Read, ReadAcp, Write, WriteAcp};
    use http::HeaderValue;

    const OWNER: &str = "owner";
    const ALT: &str = "alt";

    fn user(id: &str, permission: AclPermission) -> AclGrant {
        grant(User(id.to_string()), permission)
    }

    fn known(id: &str) -> bool {
        matches!(id, OWNER | ALT)
    }

    fn code<T: std::fmt::Debug>(result: S3Result<T>) -> S3ErrorCode {
        result.unwrap_err().code
    }

    #[test]
    fn canned_acls() {
        let owner_fc = user(OWNER, FullControl);
        let cases = [
            ("private", vec![owner_fc.clone()]),
            ("public-read", vec![grant(AllUsers, Read), owner_fc.clone()]),
            (
                "public-read-write",
                vec![
                    grant(AllUsers, Read),
                    grant(AllUsers, Write),
                    owner_fc.clone(),
                ],
            ),
            (
                "authenticated-read",
                vec![grant(AuthenticatedUsers, Read), owner_fc.clone()],
            ),
            (
                "aws-exec-read",
                vec![owner_fc.clone(), user(EC2_CANONICAL_ID, Read)],
            ),
            (
                "bucket-owner-read",
                vec![owner_fc.clone(), user("bucket-owner", Read)],
            ),
            (
                "bucket-owner-full-control",
                vec![owner_fc.clone(), user("bucket-owner", FullControl)],
            ),
            (
                "log-delivery-write",
                vec![
                    grant(LogDelivery, Write),
                    grant(LogDelivery, ReadAcp),
                    owner_fc.clone(),
                ],
            ),
        ];
        for (name, want) in cases {
            assert_eq!(
                canned(name, OWNER, "bucket-owner", false).unwrap(),
                want,
                "{name}"
            );
        }
        assert_eq!(
            canned("nope", OWNER, OWNER, false).unwrap_err().code,
            S3ErrorCode::InvalidArgument
        );
        assert_eq!(
            code(canned("Public-Read", OWNER, OWNER, true)),
            S3ErrorCode::InvalidArgument
        );
        assert_eq!(
            code(canned("", OWNER, OWNER, true)),
            S3ErrorCode::InvalidArgument
        );
    }

    #[test]
    fn bucket_owner_canned_acls_collapse() {
        for name in ["bucket-owner-read", "bucket-owner-full-control"] {
            // The owner is the bucket owner: one grant.
            assert_eq!(canned(name, OWNER, OWNER, false).unwrap(), private(OWNER));
            // On a bucket AWS ignores them.
            assert_eq!(canned(name, OWNER, "other", true).unwrap(), private(OWNER));
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn from(pairs: &[(&'static str, &str)]) -> S3Result<Option<Vec<AclGrant>>> {
        from_headers(&headers(pairs), OWNER, OWNER, false, &known)
    }

    #[test]
    fn headers_name_no_acl() {
        assert_eq!(from(&[("content-type", "text/plain")]).unwrap(), None);
    }

    #[test]
    fn headers_canned() {
        assert_eq!(
            from(&[("x-amz-acl", "public-read")]).unwrap(),
            Some(vec![grant(AllUsers, Read), user(OWNER, FullControl)])
        );
        assert_eq!(
            from_headers(
                &headers(&[("x-amz-acl", "bucket-owner-full-control")]),
                ALT,
                OWNER,
                false,
                &known
            )
            .unwrap(),
            Some(vec![user(ALT, FullControl), user(OWNER, FullControl)])
        );
        assert_eq!(
            code(from(&[("x-amz-acl", "bogus")])),
            S3ErrorCode::InvalidArgument
        );
        assert_eq!(
            code(from(&[("x-amz-acl", "private"), ("x-amz-acl", "private")])),
            S3ErrorCode::InvalidArgument
        );
    }

    #[test]
    fn headers_grants_in_suite_order() {
        // Inserted out of order: read back READ, WRITE, READ_ACP, WRITE_ACP, FULL_CONTROL.
        let got = from(&[
            ("x-amz-grant-full-control", "id=alt"),
            ("x-amz-grant-write-acp", "id=alt"),
            ("x-amz-grant-read-acp", "id=alt"),
            ("x-amz-grant-write", "id=alt"),
            ("x-amz-grant-read", "id=alt"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            got,
            vec![
                user(ALT, Read),
                user(ALT, Write),
                user(ALT, ReadAcp),
                user(ALT, WriteAcp),
                user(ALT, FullControl),
            ]
        );
    }

    #[test]
    fn headers_grant_values() {
        let got = from(&[
            (
                "x-amz-grant-read",
                r#"id="alt", ID=owner ,  Uri="http://acs.amazonaws.com/groups/global/AllUsers""#,
            ),
            (
                "x-amz-grant-read",
                "uri=http://acs.amazonaws.com/groups/s3/LogDelivery",
            ),
            (
                "x-amz-grant-write",
                "\tURI = http://acs.amazonaws.com/groups/global/AuthenticatedUsers ",
            ),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            got,
            vec![
                grant(AllUsers, Read),
                grant(LogDelivery, Read),
                grant(AuthenticatedUsers, Write),
                user(ALT, Read),
                user(OWNER, Read),
            ]
        );
        // No implicit owner grant.
        assert_eq!(
            from(&[("x-amz-grant-read", "id=alt")]).unwrap(),
            Some(vec![user(ALT, Read)])
        );
    }

    #[test]
    fn headers_grant_errors() {
        let c = |name: &'static str, value: &str| code(from(&[(name, value)]));
        assert_eq!(
            code(from(&[
                ("x-amz-acl", "private"),
                ("x-amz-grant-read", "id=alt")
            ])),
            S3ErrorCode::InvalidRequest
        );
        let e = from(&[("x-amz-grant-read", "id=ghost")]).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (S3ErrorCode::InvalidArgument, "Invalid id")
        );
        assert_eq!(
            c(
                "x-amz-grant-read",
                "uri=http://acs.amazonaws.com/groups/global/Nobody"
            ),
            S3ErrorCode::InvalidArgument
        );
        assert_eq!(
            c("x-amz-grant-write", "emailAddress=a@b.c"),
            S3ErrorCode::UnresolvableGrantByEmailAddress
        );
        assert_eq!(
            c("x-amz-grant-write", r#"EMAILADDRESS="a@b.c""#),
            S3ErrorCode::UnresolvableGrantByEmailAddress
        );
        for garbage in [
            "",
            "  ",
            "alt",
            "id",
            "id=",
            "id=\"\"",
            "id=\"alt",
            "id=alt\"",
            "id=\"al\"t\"",
            "id=alt,",
            ",id=alt",
            "id=alt,,id=owner",
            "name=alt",
            "=alt",
        ] {
            assert_eq!(
                c("x-amz-grant-read", garbage),
                S3ErrorCode::InvalidArgument,
                "{garbage:?}"
            );
        }
        let mut map = HeaderMap::new();
        map.insert(
            "x-amz-grant-read",
            HeaderValue::from_bytes(b"id=\xff").unwrap(),
        );
        assert_eq!(
            code(from_headers(&map, OWNER, OWNER, false, &known)),
            S3ErrorCode::InvalidArgument
        );
        let mut map = HeaderMap::new();
        map.insert(
            "x-amz-acl",
            HeaderValue::from_bytes(b"priv\xffate").unwrap(),
        );
        assert_eq!(
            code(from_headers(&map, OWNER, OWNER, false, &known)),
            S3ErrorCode::InvalidArgument
        );
        let many = vec!["id=alt"; MAX_GRANTS].join(",");
        assert_eq!(
            from(&[("x-amz-grant-read", &many)]).unwrap().unwrap().len(),
            MAX_GRANTS
        );
        assert_eq!(
            code(from(&[
                ("x-amz-grant-read", &many),
                ("x-amz-grant-write", "id=alt")
            ])),
            S3ErrorCode::InvalidArgument
        );
    }

    fn display(id: &str) -> String {
        format!("{id} <&> name")
    }

    #[test]
    fn policy_round_trip() {
        let grants = vec![
            grant(AllUsers, Read),
            grant(AuthenticatedUsers, Write),
            grant(LogDelivery, ReadAcp),
            user(OWNER, FullControl),
            user(ALT, WriteAcp),
            user(ALT, Read),
        ];
        let doc = write_policy(OWNER, &grants, &display);
        assert!(doc.starts_with("<?xml"));
        assert!(doc.contains(
            r#"<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>owner</ID><DisplayName>owner &lt;&amp;&gt; name</DisplayName></Owner><AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant>"#
        ));
        assert!(doc.contains(
            r#"<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>alt</ID><DisplayName>alt &lt;&amp;&gt; name</DisplayName></Grantee><Permission>WRITE_ACP</Permission></Grant>"#
        ));
        assert!(doc.ends_with("</AccessControlList></AccessControlPolicy>"));
        let (owner, parsed) = parse_policy(doc.as_bytes(), &known).unwrap();
        assert_eq!(owner.as_deref(), Some(OWNER));
        assert_eq!(parsed, grants);
        // Zero grants round-trip too.
        let doc = write_policy(OWNER, &[], &display);
        assert_eq!(
            parse_policy(doc.as_bytes(), &known).unwrap(),
            (Some(OWNER.into()), vec![])
        );
        // write_policy puts groups first whatever it is given.
        let doc = write_policy(
            OWNER,
            &[user(OWNER, FullControl), grant(AllUsers, Read)],
            &display,
        );
        assert_eq!(
            parse_policy(doc.as_bytes(), &known).unwrap().1,
            vec![grant(AllUsers, Read), user(OWNER, FullControl)]
        );
    }

    /// A policy document with `acl` as its AccessControlList content.
    fn policy(acl: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Owner><ID>owner</ID><DisplayName>Owner</DisplayName></Owner>
  <AccessControlList>{acl}</AccessControlList>
</AccessControlPolicy>"#
        )
    }

    fn user_grant(id: &str, permission: &str) -> String {
        format!(
            r#"<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>{id}</ID><DisplayName>x</DisplayName></Grantee><Permission>{permission}</Permission></Grant>"#
        )
    }

    fn group_grant(uri: &str, permission: &str) -> String {
        format!(
            r#"<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>{uri}</URI></Grantee><Permission>{permission}</Permission></Grant>"#
        )
    }

    fn parse(doc: &str) -> S3Result<(Option<String>, Vec<AclGrant>)> {
        parse_policy(doc.as_bytes(), &known)
    }

    #[test]
    fn policy_puts_groups_first() {
        let doc = policy(&format!(
            "{}\n{}",
            user_grant(OWNER, "FULL_CONTROL"),
            group_grant(ALL_USERS_URI, "READ")
        ));
        assert_eq!(
            parse(&doc).unwrap(),
            (
                Some(OWNER.to_string()),
                vec![grant(AllUsers, Read), user(OWNER, FullControl)]
            )
        );
    }

    #[test]
    fn policy_variants_accepted() {
        // No namespace, no Owner, no AccessControlList: no grants.
        assert_eq!(parse("<AccessControlPolicy/>").unwrap(), (None, vec![]));
        assert_eq!(
            parse("<AccessControlPolicy><AccessControlList/></AccessControlPolicy>").unwrap(),
            (None, vec![])
        );
        assert_eq!(parse(&policy("")).unwrap(), (Some(OWNER.into()), vec![]));
        // Any prefix for the type attribute; references, CDATA and whitespace in text.
        let doc = policy(
            r#"<Grant><Grantee xmlns:i="http://www.w3.org/2001/XMLSchema-instance" i:type="CanonicalUser"><ID> a&#108;<![CDATA[t]]>
            </ID></Grantee><Permission>READ</Permission></Grant>
            <Grant><Permission>WRITE</Permission><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AuthenticatedUsers</URI></Grantee></Grant>"#,
        );
        assert_eq!(
            parse(&doc).unwrap().1,
            vec![grant(AuthenticatedUsers, Write), user(ALT, Read)]
        );
        // A BOM, and a DisplayName-less Owner.
        let doc = "\u{feff}<AccessControlPolicy><Owner><ID>alt</ID></Owner></AccessControlPolicy>";
        assert_eq!(parse(doc).unwrap(), (Some(ALT.into()), vec![]));
        // The Owner ID is returned as given, known or not: the caller judges it.
        let doc = "<AccessControlPolicy><Owner><ID>someone</ID></Owner></AccessControlPolicy>";
        assert_eq!(parse(doc).unwrap().0.as_deref(), Some("someone"));
        // Exactly MAX_GRANTS grants.
        let many = user_grant(ALT, "READ").repeat(MAX_GRANTS);
        assert_eq!(parse(&policy(&many)).unwrap().1.len(), MAX_GRANTS);
    }

    #[test]
    fn policy_errors() {
        let malformed = S3ErrorCode::MalformedACLError;
        let xsi = r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance""#;
        let cases: Vec<(String, S3ErrorCode)> = vec![
            ("".into(), malformed),
            ("not xml".into(), malformed),
            ("<AccessControlPolicy>".into(), malformed),
            ("<Policy/>".into(), malformed),
            (r#"<AccessControlPolicy xmlns="urn:x"/>"#.into(), malformed),
            ("<AccessControlPolicy/><AccessControlPolicy/>".into(), malformed),
            (
                "<!DOCTYPE a [<!ENTITY e \"x\">]><AccessControlPolicy/>".into(),
                malformed,
            ),
            (policy(&user_grant(ALT, "read")), malformed),
            (policy(&user_grant(ALT, "EVERYTHING")), malformed),
            (policy(&user_grant(ALT, "")), malformed),
            (policy(&user_grant("a&#1;", "READ")), malformed),
            (policy(&user_grant("a\u{1}", "READ")), malformed),
            (policy(&user_grant("&bogus;", "READ")), malformed),
            (
                policy(&format!(
                    r#"<Grant><Grantee {xsi}><ID>alt</ID></Grantee><Permission>READ</Permission></Grant>"#
                )),
                malformed,
            ),
            (
                policy(&format!(
                    r#"<Grant><Grantee {xsi} xsi:type="Robot"><ID>alt</ID></Grantee><Permission>READ</Permission></Grant>"#
                )),
                malformed,
            ),
            (
                policy(&format!(
                    r#"<Grant><Grantee {xsi} xsi:type="CanonicalUser"><DisplayName>alt</DisplayName></Grantee><Permission>READ</Permission></Grant>"#
                )),
                malformed,
            ),
            (
                policy(&format!(
                    r#"<Grant><Grantee {xsi} xsi:type="Group"></Grantee><Permission>READ</Permission></Grant>"#
                )),
                malformed,
            ),
            (
                policy(&format!(
                    r#"<Grant><Grantee {xsi} xsi:type="AmazonCustomerByEmail"/><Permission>READ</Permission></Grant>"#
                )),
                malformed,
            ),
            (
                policy(&format!(
                    r#"<Grant><Grantee {xsi} xsi:type="CanonicalUser"><ID>alt</ID><URI>{ALL_USERS_URI}</URI></Grantee><Permission>READ</Permission></Grant>"#
                )),
                malformed,
            ),
            (
                policy(&format!(
                    r#"<Grant><Grantee {xsi} xsi:type="CanonicalUser"><ID>alt</ID><ID>owner</ID></Grantee><Permission>READ</Permission></Grant>"#
                )),
                malformed,
            ),
            (
                policy(&format!(
                    r#"<Grant><Grantee {xsi} xsi:type="CanonicalUser"><ID>alt</ID><Extra/></Grantee><Permission>READ</Permission></Grant>"#
                )),
                malformed,
            ),
            (
                policy(r#"<Grant><Permission>READ</Permission></Grant>"#),
                malformed,
            ),
            (
                policy(&format!(
                    r#"<Grant><Grantee {xsi} xsi:type="CanonicalUser"><ID>alt</ID></Grantee></Grant>"#
                )),
                malformed,
            ),
            (
                policy(&format!(
                    "{}<Permission>READ</Permission></Grant>",
                    user_grant(ALT, "READ").trim_end_matches("</Grant>")
                )),
                malformed,
            ),
            (policy("<Other/>"), malformed),
            (policy("text"), malformed),
            (policy("<![CDATA[x]]>"), malformed),
            (
                "<AccessControlPolicy><Owner><DisplayName>x</DisplayName></Owner></AccessControlPolicy>".into(),
                malformed,
            ),
            (
                "<AccessControlPolicy><Owner><ID></ID></Owner></AccessControlPolicy>".into(),
                malformed,
            ),
            (
                "<AccessControlPolicy><Owner><ID>a</ID></Owner><Owner><ID>a</ID></Owner></AccessControlPolicy>".into(),
                malformed,
            ),
            (
                "<AccessControlPolicy><AccessControlList/><AccessControlList/></AccessControlPolicy>".into(),
                malformed,
            ),
            (
                "<AccessControlPolicy><Owner><ID>a<b/></ID></Owner></AccessControlPolicy>".into(),
                malformed,
            ),
            (policy(&user_grant(ALT, "READ").repeat(MAX_GRANTS + 1)), malformed),
            (policy(&user_grant("ghost", "READ")), S3ErrorCode::InvalidArgument),
            (policy(&user_grant("", "READ")), S3ErrorCode::InvalidArgument),
            (
                policy(&group_grant("http://acs.amazonaws.com/groups/global/Nobody", "READ")),
                S3ErrorCode::InvalidArgument,
            ),
            (
                policy(&format!(
                    r#"<Grant><Grantee {xsi} xsi:type="AmazonCustomerByEmail"><EmailAddress>a@b.c</EmailAddress></Grantee><Permission>READ</Permission></Grant>"#
                )),
                S3ErrorCode::UnresolvableGrantByEmailAddress,
            ),
            // The shape is checked before any grantee is resolved.
            (
                policy(&format!(
                    "{}{}",
                    user_grant("ghost", "READ"),
                    user_grant(ALT, "bogus")
                )),
                malformed,
            ),
        ];
        for (doc, want) in cases {
            assert_eq!(code(parse(&doc)), want, "{doc}");
        }
        let e = parse(&policy(&user_grant("ghost", "READ"))).unwrap_err();
        assert_eq!(e.message, "Invalid id");
        assert_eq!(
            code(parse_policy(
                b"<AccessControlPolicy>\xff</AccessControlPolicy>",
                &known
            )),
            malformed
        );
    }

    #[test]
    fn policy_truncations_never_panic() {
        let grants = vec![
            grant(AllUsers, Read),
            grant(LogDelivery, Write),
            user(OWNER, FullControl),
            user(ALT, ReadAcp),
        ];
        let doc = write_policy(OWNER, &grants, &display);
        let bytes = doc.as_bytes();
        for end in 0..bytes.len() {
            let _ = parse_policy(&bytes[..end], &known);
            let _ = parse_policy(&bytes[end..], &known);
        }
        for (i, _) in doc.char_indices() {
            let mut mangled = doc.clone();
            mangled.remove(i);
            let _ = parse_policy(mangled.as_bytes(), &known);
        }
        assert_eq!(parse_policy(bytes, &known).unwrap().1, grants);
    }

    #[test]
    fn allows_each_grantee_kind() {
        let cases: [(AclGrant, Option<&str>, bool); 8] = [
            (grant(AllUsers, Read), None, true),
            (grant(AllUsers, Read), Some(ALT), true),
            (grant(AuthenticatedUsers, Read), None, false),
            (grant(AuthenticatedUsers, Read), Some(ALT), true),
            (user(ALT, Read), Some(ALT), true),
            (user(ALT, Read), Some(OWNER), false),
            (user(ALT, Read), None, false),
            (grant(LogDelivery, Read), Some(ALT), false),
        ];
        for (g, caller, want) in cases {
            assert_eq!(
                allows(std::slice::from_ref(&g), caller, Read, false),
                want,
                "{g:?} {caller:?}"
            );
            assert!(
                !allows(std::slice::from_ref(&g), caller, Write, false),
                "{g:?} {caller:?}"
            );
        }
        // FULL_CONTROL implies every permission.
        for permission in [Read, Write, ReadAcp, WriteAcp, FullControl] {
            assert!(allows(
                &[user(ALT, FullControl)],
                Some(ALT),
                permission,
                false
            ));
            assert!(allows(
                &[grant(AllUsers, FullControl)],
                None,
                permission,
                false
            ));
        }
        // Nothing but FULL_CONTROL implies FULL_CONTROL.
        let all_but_fc = [
            user(ALT, Read),
            user(ALT, Write),
            user(ALT, ReadAcp),
            user(ALT, WriteAcp),
        ];
        assert!(!allows(&all_but_fc, Some(ALT), FullControl, false));
        assert!(!allows(&[], Some(ALT), Read, false));
    }

    #[test]
    fn allows_ignoring_public_grants() {
        let grants = [
            grant(AllUsers, Read),
            grant(AuthenticatedUsers, Write),
            user(ALT, ReadAcp),
        ];
        assert!(allows(&grants, None, Read, false));
        assert!(!allows(&grants, None, Read, true));
        assert!(allows(&grants, Some(OWNER), Write, false));
        assert!(!allows(&grants, Some(OWNER), Write, true));
        assert!(allows(&grants, Some(ALT), ReadAcp, true));
    }

    #[test]
    fn public_grants() {
        assert!(!is_public(&private(OWNER)));
        assert!(!is_public(
            &canned("log-delivery-write", OWNER, OWNER, true).unwrap()
        ));
        assert!(is_public(
            &canned("public-read", OWNER, OWNER, true).unwrap()
        ));
        assert!(is_public(
            &canned("authenticated-read", OWNER, OWNER, true).unwrap()
        ));
    }

    #[test]
    fn permission_names_parse_back() {
        for p in [Read, Write, ReadAcp, WriteAcp, FullControl] {
            assert_eq!(parse_permission(permission_name(p)), Some(p));
        }
    }
}
