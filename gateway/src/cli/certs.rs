//! `lakegate certs`: certificates for the gateway's TLS ([`crate::net::tls`]).

use std::path::PathBuf;
use std::process::ExitCode;

use super::CliError;

#[derive(clap::Subcommand, Debug)]
pub enum CertsCommand {
    /// Make a self-signed certificate for local use: writes DIR/public.crt and DIR/private.key
    /// (0600), never replacing either. Serve it with `lakegate server --certs-dir DIR`; clients
    /// trust DIR/public.crt as their CA bundle (e.g. `aws --ca-bundle DIR/public.crt`).
    Generate {
        /// The certificates directory.
        #[arg(long, default_value = "certs", value_name = "DIR")]
        dir: PathBuf,
        /// A DNS name or IP address the certificate is for (repeatable) [default: localhost,
        /// 127.0.0.1, ::1 and this machine's host name].
        #[arg(long = "host", value_name = "NAME")]
        hosts: Vec<String>,
    },
}

pub fn run(cmd: CertsCommand) -> Result<ExitCode, CliError> {
    match cmd {
        CertsCommand::Generate { dir, hosts } => {
            let hosts = if hosts.is_empty() {
                default_hosts()
            } else {
                hosts
            };
            let (cert, key) = crate::net::tls::generate_self_signed(&dir, &hosts)
                .map_err(|e| CliError::Usage(e.to_string()))?;
            println!(
                "wrote {} and {} for {}\nserve them: lakegate server --certs-dir {} ./data\n\
                 trust them: aws --ca-bundle {} ... (boto3: verify=..., rclone: --ca-cert ...)",
                cert.display(),
                key.display(),
                hosts.join(", "),
                dir.display(),
                cert.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// localhost, the loopback addresses and the machine's host name.
fn default_hosts() -> Vec<String> {
    let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "::1"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    if let Ok(name) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        let name = name.trim();
        if !name.is_empty() && !hosts.iter().any(|h| h == name) {
            hosts.push(name.to_string());
        }
    }
    hosts
}
