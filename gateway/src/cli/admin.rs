//! `lakegate admin user|group|policy|accesskey`: identities through a running gateway's admin
//! API (`iam/` routes, signed as root), printed for people or, with `--json`, as the API's JSON.

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::{Value, json};

use super::CliError;
use super::admin_client::{AdminClient, AdminClientError};
use super::connection::{GatewayArgs, Side};

#[derive(clap::Subcommand, Debug)]
pub enum AdminCommand {
    /// Users: long-lived access keys with their own policies.
    #[command(subcommand)]
    User(UserCommand),
    /// Groups of users; a group's policies apply to its members.
    #[command(subcommand)]
    Group(GroupCommand),
    /// Named IAM policies (JSON documents), and attaching them to users and groups.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Access keys (service accounts) of a user, optionally narrowed by their own policy.
    #[command(subcommand)]
    Accesskey(AccessKeyCommand),
    /// The KMS: `rewrap` finishes a key rotation.
    #[command(subcommand)]
    Kms(KmsCommand),
    /// Prometheus: `generate` prints a scrape configuration with a bearer token.
    #[command(subcommand)]
    Prometheus(PrometheusCommand),
}

#[derive(clap::Subcommand, Debug)]
pub enum PrometheusCommand {
    /// Print a Prometheus scrape configuration for the gateway, with a bearer token signed by
    /// the given key (as `mc admin prometheus generate` does; offline: nothing is sent). The key
    /// needs admin:Prometheus (the root user has it).
    Generate {
        /// Which endpoint: cluster, bucket, node, or all three (one job each).
        #[arg(long = "type", default_value = "cluster", value_parser = ["cluster", "bucket", "node", "all"])]
        kind: String,
        /// The job name (the bucket and node jobs get `-bucket` and `-node` appended).
        #[arg(long, default_value = "lakegate-job")]
        job: String,
        /// How long the token is valid, in days (MinIO's mc: 100 years).
        #[arg(long, default_value_t = 36_500)]
        valid_days: u64,
        #[command(flatten)]
        gateway: GatewayArgs,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum KmsCommand {
    /// Re-seal the data keys of a bucket's SSE-S3 and SSE-KMS objects under the newest version
    /// of their KMS key (after adding one to --kms-keys and restarting); no object is rewritten.
    Rewrap {
        /// The bucket (repeatable).
        #[arg(long = "bucket", required = true)]
        buckets: Vec<String>,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(clap::Args, Debug)]
pub struct Common {
    /// Print the admin API's JSON answer.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(flatten)]
    pub gateway: GatewayArgs,
}

#[derive(clap::Subcommand, Debug)]
pub enum UserCommand {
    /// Add a user (or set an existing user's secret key).
    Add {
        access_key: String,
        secret_key: String,
        #[command(flatten)]
        common: Common,
    },
    /// List users.
    Ls {
        #[command(flatten)]
        common: Common,
    },
    /// Show a user.
    Info {
        access_key: String,
        #[command(flatten)]
        common: Common,
    },
    /// Remove a user, its access keys and its group memberships.
    Rm {
        access_key: String,
        #[command(flatten)]
        common: Common,
    },
    /// Enable a user.
    Enable {
        access_key: String,
        #[command(flatten)]
        common: Common,
    },
    /// Disable a user: its requests, and its access keys', fail from the next request on.
    Disable {
        access_key: String,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum GroupCommand {
    /// Add members to a group (creating it).
    Add {
        group: String,
        members: Vec<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Remove members from a group; without members, remove the (empty) group.
    Rm {
        group: String,
        members: Vec<String>,
        #[command(flatten)]
        common: Common,
    },
    /// List groups.
    Ls {
        #[command(flatten)]
        common: Common,
    },
    /// Show a group.
    Info {
        group: String,
        #[command(flatten)]
        common: Common,
    },
    /// Enable a group.
    Enable {
        group: String,
        #[command(flatten)]
        common: Common,
    },
    /// Disable a group: its policies grant nothing until enabled.
    Disable {
        group: String,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum PolicyCommand {
    /// Create or replace a named policy from a JSON file.
    Create {
        name: String,
        file: PathBuf,
        #[command(flatten)]
        common: Common,
    },
    /// List policies (the canned ones too).
    Ls {
        #[command(flatten)]
        common: Common,
    },
    /// Show a policy's document.
    Info {
        name: String,
        #[command(flatten)]
        common: Common,
    },
    /// Remove a policy nothing has attached.
    Rm {
        name: String,
        #[command(flatten)]
        common: Common,
    },
    /// Attach policies to a user or a group.
    Attach {
        policies: Vec<String>,
        #[arg(long, conflicts_with = "group", required_unless_present = "group")]
        user: Option<String>,
        #[arg(long)]
        group: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Detach policies from a user or a group.
    Detach {
        policies: Vec<String>,
        #[arg(long, conflicts_with = "group", required_unless_present = "group")]
        user: Option<String>,
        #[arg(long)]
        group: Option<String>,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum AccessKeyCommand {
    /// Create an access key for a user; prints the secret key (the only time it is shown).
    Create {
        /// The user it acts for.
        user: String,
        /// A policy (JSON file) narrowing what the key may do.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Refuse the key after this instant (RFC 3339).
        #[arg(long)]
        expires: Option<String>,
        #[arg(long, default_value = "")]
        name: String,
        #[arg(long, default_value = "")]
        description: String,
        #[command(flatten)]
        common: Common,
    },
    /// List access keys (of one user with --user).
    Ls {
        #[arg(long)]
        user: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Show an access key.
    Info {
        access_key: String,
        #[command(flatten)]
        common: Common,
    },
    /// Enable or disable an access key, or change its secret.
    Edit {
        access_key: String,
        #[arg(long, value_parser = ["enabled", "disabled"])]
        status: Option<String>,
        #[arg(long)]
        secret_key: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Remove an access key.
    Rm {
        access_key: String,
        #[command(flatten)]
        common: Common,
    },
}

/// One admin call; a refusal becomes the command's error message.
async fn call(
    common: &Common,
    method: &str,
    path: &str,
    body: Vec<u8>,
) -> Result<Value, AdminClientError> {
    let client: AdminClient = common.gateway.client()?;
    client.call(method, path, body).await
}

/// A path segment or query value: everything but RFC 3986's unreserved characters encoded,
/// as SigV4's canonical form has it (so the signature covers the path as sent).
fn enc(s: &str) -> String {
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()
}

fn read_json_file(path: &PathBuf) -> Result<Value, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))?;
    serde_json::from_str(&text)
        .map_err(|e| CliError::Usage(format!("{} is not JSON: {e}", path.display())))
}

fn list(v: &Value, key: &str) -> String {
    v[key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// How each answer is shown to people.
fn show(what: &str, v: &Value) -> String {
    match what {
        "user" => format!(
            "{}  {}  policies: {}  groups: {}",
            v["access_key"].as_str().unwrap_or("?"),
            v["status"].as_str().unwrap_or("?"),
            list(v, "policies"),
            list(v, "groups")
        ),
        "group" => format!(
            "{}  {}  members: {}  policies: {}",
            v["name"].as_str().unwrap_or("?"),
            v["status"].as_str().unwrap_or("?"),
            list(v, "members"),
            list(v, "policies")
        ),
        "key" => format!(
            "{}  parent: {}  {}{}{}",
            v["access_key"].as_str().unwrap_or("?"),
            v["parent"].as_str().unwrap_or("?"),
            v["status"].as_str().unwrap_or("?"),
            if v["policy"].is_null() {
                ""
            } else {
                "  (own policy)"
            },
            v["expires_ms"]
                .as_i64()
                .map(|t| format!(
                    "  expires: {}",
                    crate::clock::iso8601(t, crate::clock::Fraction::WhenNonZero)
                ))
                .unwrap_or_default()
        ),
        _ => v.to_string(),
    }
}

fn print(common: &Common, v: &Value, human: impl FnOnce(&Value) -> String) -> ExitCode {
    if common.json {
        println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
    } else {
        println!("{}", human(v));
    }
    ExitCode::SUCCESS
}

fn print_list(common: &Common, v: &Value, key: &str, what: &str) -> ExitCode {
    print(common, v, |v| {
        let items = v[key].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            return format!("no {key}");
        }
        items
            .iter()
            .map(|i| show(what, i))
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// Runs a `lakegate admin` command.
pub async fn run(cmd: AdminCommand) -> Result<ExitCode, CliError> {
    let outcome = match cmd {
        AdminCommand::User(c) => user(c).await,
        AdminCommand::Group(c) => group(c).await,
        AdminCommand::Policy(c) => policy(c).await?,
        AdminCommand::Accesskey(c) => access_key(c).await?,
        AdminCommand::Kms(c) => kms(c).await,
        AdminCommand::Prometheus(c) => return prometheus(c),
    };
    match outcome {
        Ok(code) => Ok(code),
        Err(AdminClientError::Status { status, message }) => {
            eprintln!("lakegate admin: refused ({status}): {message}");
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(e.into()),
    }
}

/// `lakegate admin prometheus generate`: a scrape configuration, printed.
fn prometheus(cmd: PrometheusCommand) -> Result<ExitCode, CliError> {
    let PrometheusCommand::Generate {
        kind,
        job,
        valid_days,
        gateway,
    } = cmd;
    let key = gateway.root.resolve(Side::Client);
    let token = crate::metrics::scrape_auth::token(
        &key.access_key,
        &key.secret_key,
        valid_days.saturating_mul(86_400),
    )
    .map_err(|e| CliError::Usage(format!("cannot sign the scrape token: {e}")))?;
    let url = http::Uri::try_from(gateway.endpoint.as_str())
        .map_err(|e| CliError::Usage(format!("--endpoint {}: {e}", gateway.endpoint)))?;
    let scheme = url.scheme_str().unwrap_or("http");
    let target = url
        .authority()
        .map(|a| a.as_str().to_string())
        .ok_or_else(|| CliError::Usage(format!("--endpoint {}: no host", gateway.endpoint)))?;
    let kinds: &[&str] = match kind.as_str() {
        "all" => &["cluster", "bucket", "node"],
        "bucket" => &["bucket"],
        "node" => &["node"],
        _ => &["cluster"],
    };
    let mut out = String::from("scrape_configs:\n");
    for k in kinds {
        let name = if *k == "cluster" {
            job.clone()
        } else {
            format!("{job}-{k}")
        };
        out.push_str(&format!(
            "- job_name: {name}\n  bearer_token: {token}\n  metrics_path: /minio/v2/metrics/{k}\n  scheme: {scheme}\n"
        ));
        if let Some(ca) = &gateway.ca_cert {
            out.push_str(&format!("  tls_config:\n    ca_file: {}\n", ca.display()));
        }
        out.push_str(&format!("  static_configs:\n  - targets: ['{target}']\n"));
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

async fn kms(cmd: KmsCommand) -> Result<ExitCode, AdminClientError> {
    match cmd {
        KmsCommand::Rewrap { buckets, common } => {
            for bucket in &buckets {
                let v = call(
                    &common,
                    "POST",
                    &format!("kms/rewrap/{}", enc(bucket)),
                    Vec::new(),
                )
                .await?;
                print(&common, &v, |v| {
                    format!(
                        "{}: {} versions, {} encrypted by the KMS, {} re-sealed, {} changed meanwhile",
                        v["bucket"].as_str().unwrap_or(bucket),
                        v["versions"],
                        v["encrypted"],
                        v["rewrapped"],
                        v["changed_meanwhile"]
                    )
                });
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn user(cmd: UserCommand) -> Result<ExitCode, AdminClientError> {
    match cmd {
        UserCommand::Add {
            access_key,
            secret_key,
            common,
        } => {
            let body = json!({ "secret_key": secret_key }).to_string().into_bytes();
            let v = call(
                &common,
                "PUT",
                &format!("iam/users/{}", enc(&access_key)),
                body,
            )
            .await?;
            Ok(print(&common, &v, |v| format!("added {}", show("user", v))))
        }
        UserCommand::Ls { common } => {
            let v = call(&common, "GET", "iam/users", Vec::new()).await?;
            Ok(print_list(&common, &v, "users", "user"))
        }
        UserCommand::Info { access_key, common } => {
            let v = call(
                &common,
                "GET",
                &format!("iam/users/{}", enc(&access_key)),
                Vec::new(),
            )
            .await?;
            Ok(print(&common, &v, |v| show("user", v)))
        }
        UserCommand::Rm { access_key, common } => {
            let v = call(
                &common,
                "DELETE",
                &format!("iam/users/{}", enc(&access_key)),
                Vec::new(),
            )
            .await?;
            Ok(print(&common, &v, |_| format!("removed user {access_key}")))
        }
        UserCommand::Enable { access_key, common } => {
            let path = format!("iam/users/{}/enable", enc(&access_key));
            let v = call(&common, "POST", &path, Vec::new()).await?;
            Ok(print(&common, &v, |_| format!("enabled user {access_key}")))
        }
        UserCommand::Disable { access_key, common } => {
            let path = format!("iam/users/{}/disable", enc(&access_key));
            let v = call(&common, "POST", &path, Vec::new()).await?;
            Ok(print(&common, &v, |_| {
                format!("disabled user {access_key}")
            }))
        }
    }
}

async fn group(cmd: GroupCommand) -> Result<ExitCode, AdminClientError> {
    match cmd {
        GroupCommand::Add {
            group,
            members,
            common,
        } => {
            let body = json!({ "members": members }).to_string().into_bytes();
            let v = call(&common, "PUT", &format!("iam/groups/{}", enc(&group)), body).await?;
            Ok(print(&common, &v, |v| show("group", v)))
        }
        GroupCommand::Rm {
            group,
            members,
            common,
        } => {
            let path = format!("iam/groups/{}", enc(&group));
            if members.is_empty() {
                let v = call(&common, "DELETE", &path, Vec::new()).await?;
                Ok(print(&common, &v, |_| format!("removed group {group}")))
            } else {
                let body = json!({ "members": members }).to_string().into_bytes();
                let v = call(&common, "POST", &format!("{path}/remove-members"), body).await?;
                Ok(print(&common, &v, |v| show("group", v)))
            }
        }
        GroupCommand::Ls { common } => {
            let v = call(&common, "GET", "iam/groups", Vec::new()).await?;
            Ok(print_list(&common, &v, "groups", "group"))
        }
        GroupCommand::Info { group, common } => {
            let v = call(
                &common,
                "GET",
                &format!("iam/groups/{}", enc(&group)),
                Vec::new(),
            )
            .await?;
            Ok(print(&common, &v, |v| show("group", v)))
        }
        GroupCommand::Enable { group, common } => {
            let v = call(
                &common,
                "POST",
                &format!("iam/groups/{}/enable", enc(&group)),
                Vec::new(),
            )
            .await?;
            Ok(print(&common, &v, |_| format!("enabled group {group}")))
        }
        GroupCommand::Disable { group, common } => {
            let v = call(
                &common,
                "POST",
                &format!("iam/groups/{}/disable", enc(&group)),
                Vec::new(),
            )
            .await?;
            Ok(print(&common, &v, |_| format!("disabled group {group}")))
        }
    }
}

async fn policy(cmd: PolicyCommand) -> Result<Result<ExitCode, AdminClientError>, CliError> {
    Ok(match cmd {
        PolicyCommand::Create { name, file, common } => {
            let doc = read_json_file(&file)?;
            let body = doc.to_string().into_bytes();
            match call(
                &common,
                "PUT",
                &format!("iam/policies/{}", enc(&name)),
                body,
            )
            .await
            {
                Ok(v) => Ok(print(&common, &v, |_| format!("created policy {name}"))),
                Err(e) => Err(e),
            }
        }
        PolicyCommand::Ls { common } => {
            call(&common, "GET", "iam/policies", Vec::new())
                .await
                .map(|v| {
                    print(&common, &v, |v| {
                        v["policies"]
                            .as_object()
                            .map(|m| m.keys().cloned().collect::<Vec<_>>().join("\n"))
                            .unwrap_or_default()
                    })
                })
        }
        PolicyCommand::Info { name, common } => call(
            &common,
            "GET",
            &format!("iam/policies/{}", enc(&name)),
            Vec::new(),
        )
        .await
        .map(|v| {
            print(&common, &v, |v| {
                serde_json::to_string_pretty(&v["policy"]).unwrap_or_default()
            })
        }),
        PolicyCommand::Rm { name, common } => call(
            &common,
            "DELETE",
            &format!("iam/policies/{}", enc(&name)),
            Vec::new(),
        )
        .await
        .map(|v| print(&common, &v, |_| format!("removed policy {name}"))),
        PolicyCommand::Attach {
            policies,
            user,
            group,
            common,
        } => attachment(&common, "iam/attach", policies, user, group).await,
        PolicyCommand::Detach {
            policies,
            user,
            group,
            common,
        } => attachment(&common, "iam/detach", policies, user, group).await,
    })
}

async fn attachment(
    common: &Common,
    path: &str,
    policies: Vec<String>,
    user: Option<String>,
    group: Option<String>,
) -> Result<ExitCode, AdminClientError> {
    let mut body = json!({ "policies": policies });
    if let Some(u) = user {
        body["user"] = json!(u);
    }
    if let Some(g) = group {
        body["group"] = json!(g);
    }
    let v = call(common, "POST", path, body.to_string().into_bytes()).await?;
    Ok(print(common, &v, |v| v.to_string()))
}

async fn access_key(cmd: AccessKeyCommand) -> Result<Result<ExitCode, AdminClientError>, CliError> {
    Ok(match cmd {
        AccessKeyCommand::Create {
            user,
            policy,
            expires,
            name,
            description,
            common,
        } => {
            let mut body = json!({ "parent": user, "name": name, "description": description });
            if let Some(p) = &policy {
                body["policy"] = read_json_file(p)?;
            }
            if let Some(e) = &expires {
                let t = chrono::DateTime::parse_from_rfc3339(e).map_err(|err| {
                    CliError::Usage(format!("--expires {e:?} is not an RFC 3339 time: {err}"))
                })?;
                body["expires_ms"] = json!(t.timestamp_millis());
            }
            call(
                &common,
                "POST",
                "iam/access-keys",
                body.to_string().into_bytes(),
            )
            .await
            .map(|v| {
                print(&common, &v, |v| {
                    format!(
                        "access key: {}\nsecret key: {}\n(the secret key is not shown again)",
                        v["access_key"].as_str().unwrap_or("?"),
                        v["secret_key"].as_str().unwrap_or("?")
                    )
                })
            })
        }
        AccessKeyCommand::Ls { user, common } => {
            let path = match &user {
                Some(u) => format!("iam/access-keys?user={}", enc(u)),
                None => "iam/access-keys".to_string(),
            };
            call(&common, "GET", &path, Vec::new())
                .await
                .map(|v| print_list(&common, &v, "access_keys", "key"))
        }
        AccessKeyCommand::Info { access_key, common } => call(
            &common,
            "GET",
            &format!("iam/access-keys/{}", enc(&access_key)),
            Vec::new(),
        )
        .await
        .map(|v| print(&common, &v, |v| show("key", v))),
        AccessKeyCommand::Edit {
            access_key,
            status,
            secret_key,
            common,
        } => {
            let mut body = json!({});
            if let Some(s) = status {
                body["status"] = json!(s);
            }
            if let Some(s) = secret_key {
                body["secret_key"] = json!(s);
            }
            call(
                &common,
                "PUT",
                &format!("iam/access-keys/{}", enc(&access_key)),
                body.to_string().into_bytes(),
            )
            .await
            .map(|v| print(&common, &v, |v| show("key", v)))
        }
        AccessKeyCommand::Rm { access_key, common } => call(
            &common,
            "DELETE",
            &format!("iam/access-keys/{}", enc(&access_key)),
            Vec::new(),
        )
        .await
        .map(|v| print(&common, &v, |_| format!("removed access key {access_key}"))),
    })
}
