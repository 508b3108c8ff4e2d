//! Who the commands are and where the gateway is: the root credentials, looked up the same way
//! by the server and by every command that calls a running gateway, and the endpoint those
//! commands reach.
//!
//! The root user and password are each taken from the first of, in order:
//! 1. the flag (`--root-user`, `--root-password`);
//! 2. `LAKEGATE_ROOT_USER` / `LAKEGATE_ROOT_PASSWORD`;
//! 3. `MINIO_ROOT_USER` / `MINIO_ROOT_PASSWORD`;
//! 4. for commands that call a running gateway only: `AWS_ACCESS_KEY_ID` /
//!    `AWS_SECRET_ACCESS_KEY` (so a shell set up for the AWS CLI against lakegate works);
//! 5. the documented defaults, `admin` / `admin123`.
//!
//! Empty values count as unset.

use crate::app::{DEFAULT_ROOT_PASSWORD, DEFAULT_ROOT_USER};
use crate::auth::Credentials;

use super::admin_client::{AdminClient, AdminClientError};

/// The environment variables read for the root user, in order.
const USER_VARS: [&str; 2] = ["LAKEGATE_ROOT_USER", "MINIO_ROOT_USER"];
/// The environment variables read for the root password, in order.
const PASSWORD_VARS: [&str; 2] = ["LAKEGATE_ROOT_PASSWORD", "MINIO_ROOT_PASSWORD"];
/// Read after those by the commands that call a running gateway.
const CLIENT_USER_VAR: &str = "AWS_ACCESS_KEY_ID";
const CLIENT_PASSWORD_VAR: &str = "AWS_SECRET_ACCESS_KEY";

/// Which side of the admin API the credentials are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// `lakegate server`: the credentials it accepts.
    Server,
    /// A command that calls a running gateway: the credentials it signs with.
    Client,
}

/// The root credentials' flags (see the module docs for the whole lookup).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct RootCredentialArgs {
    /// The root user [default: LAKEGATE_ROOT_USER, else MINIO_ROOT_USER, else
    /// AWS_ACCESS_KEY_ID (commands that call a gateway only), else admin].
    #[arg(long, value_name = "USER")]
    pub root_user: Option<String>,
    /// The root password [default: LAKEGATE_ROOT_PASSWORD, else MINIO_ROOT_PASSWORD, else
    /// AWS_SECRET_ACCESS_KEY (commands that call a gateway only), else admin123]. Prefer the
    /// environment: other users of the machine can read a process's arguments.
    #[arg(long, value_name = "PASSWORD")]
    pub root_password: Option<String>,
}

impl RootCredentialArgs {
    /// The root credentials, from the flags, the environment or the defaults.
    pub fn resolve(&self, side: Side) -> Credentials {
        self.resolve_with(side, |name| std::env::var(name).ok())
    }

    /// [`Self::resolve`] with `env` standing in for the process environment.
    fn resolve_with(&self, side: Side, env: impl Fn(&str) -> Option<String>) -> Credentials {
        let pick = |flag: &Option<String>, vars: [&str; 2], client_var: &str, default: &str| {
            let client = (side == Side::Client).then_some(client_var);
            flag.clone()
                .into_iter()
                .chain(vars.into_iter().chain(client).filter_map(&env))
                .find(|v| !v.is_empty())
                .unwrap_or_else(|| default.to_string())
        };
        Credentials {
            access_key: pick(
                &self.root_user,
                USER_VARS,
                CLIENT_USER_VAR,
                DEFAULT_ROOT_USER,
            ),
            secret_key: pick(
                &self.root_password,
                PASSWORD_VARS,
                CLIENT_PASSWORD_VAR,
                DEFAULT_ROOT_PASSWORD,
            ),
        }
    }
}

/// Where the running gateway is and who calls it, for the commands that use its admin API.
#[derive(clap::Args, Debug, Clone)]
pub struct GatewayArgs {
    /// The gateway's S3 endpoint.
    #[arg(
        long,
        default_value = "http://127.0.0.1:9000",
        env = "LAKEGATE_ENDPOINT"
    )]
    pub endpoint: String,
    /// The region requests are signed for.
    #[arg(long, default_value = "us-east-1", env = "LAKEGATE_REGION")]
    pub region: String,
    /// PEM certificates to trust for an https endpoint, besides the system's (e.g. the
    /// gateway's self-signed `public.crt`).
    #[arg(long, value_name = "FILE", env = "LAKEGATE_CA_CERT")]
    pub ca_cert: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub root: RootCredentialArgs,
}

impl GatewayArgs {
    /// A client of the gateway's admin API, signed with the root credentials.
    pub fn client(&self) -> Result<AdminClient, AdminClientError> {
        let root = self.root.resolve(Side::Client);
        AdminClient::new(
            &self.endpoint,
            &root.access_key,
            &root.secret_key,
            &self.region,
            self.ca_cert.as_deref(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(args: &RootCredentialArgs, side: Side, env: &[(&str, &str)]) -> (String, String) {
        let c = args.resolve_with(side, |name| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        });
        (c.access_key, c.secret_key)
    }

    fn pair(u: &str, p: &str) -> (String, String) {
        (u.to_string(), p.to_string())
    }

    #[test]
    fn flags_then_lakegate_then_minio_then_defaults() {
        let none = RootCredentialArgs::default();
        let flags = RootCredentialArgs {
            root_user: Some("flag-user".into()),
            root_password: Some("flag-password".into()),
        };
        let all = [
            ("LAKEGATE_ROOT_USER", "lg-user"),
            ("LAKEGATE_ROOT_PASSWORD", "lg-password"),
            ("MINIO_ROOT_USER", "minio-user"),
            ("MINIO_ROOT_PASSWORD", "minio-password"),
            ("AWS_ACCESS_KEY_ID", "aws-user"),
            ("AWS_SECRET_ACCESS_KEY", "aws-password"),
        ];
        for side in [Side::Server, Side::Client] {
            assert_eq!(
                resolve(&flags, side, &all),
                pair("flag-user", "flag-password")
            );
            assert_eq!(resolve(&none, side, &all), pair("lg-user", "lg-password"));
            assert_eq!(
                resolve(&none, side, &all[2..]),
                pair("minio-user", "minio-password")
            );
            assert_eq!(resolve(&none, side, &[]), pair("admin", "admin123"));
            // Each value on its own; empty values are unset.
            assert_eq!(
                resolve(
                    &none,
                    side,
                    &[
                        ("LAKEGATE_ROOT_USER", ""),
                        ("MINIO_ROOT_USER", "minio-user"),
                        ("LAKEGATE_ROOT_PASSWORD", "lg-password"),
                    ]
                ),
                pair("minio-user", "lg-password")
            );
        }
        // The AWS CLI's variables: only for commands that call a gateway, after the others.
        assert_eq!(
            resolve(&none, Side::Client, &all[4..]),
            pair("aws-user", "aws-password")
        );
        assert_eq!(
            resolve(&none, Side::Server, &all[4..]),
            pair("admin", "admin123")
        );
    }
}
