//! Open defaults: weak root credentials never face the network unless asked to, the warning
//! shows however they were set, and the console shows nothing before a login.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::*;

/// Runs `lakegate server` with `args` and `env` until it prints its ready line or exits;
/// returns (ready, stderr so far).
fn start(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let dir = std::env::temp_dir().join(format!("lakegate-defaults-{}", unique_bucket("d")));
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lakegate"));
    cmd.arg("server")
        .arg(dir.join("data"))
        .arg("--console-address")
        .arg("127.0.0.1:0")
        .args(args)
        .env_remove("LAKEGATE_ROOT_USER")
        .env_remove("LAKEGATE_ROOT_PASSWORD")
        .env_remove("MINIO_ROOT_USER")
        .env_remove("MINIO_ROOT_PASSWORD")
        .env("LAKEGATE_POLICIES", dir.join("policies"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.starts_with("lakegate ready") {
                let _ = tx.send(());
            }
        }
    });
    let ready = rx.recv_timeout(Duration::from_secs(30)).is_ok();
    let _ = child.kill();
    let _ = child.wait();
    let mut err = String::new();
    use std::io::Read;
    let _ = std::io::BufReader::new(stderr).read_to_string(&mut err);
    let _ = std::fs::remove_dir_all(&dir);
    (ready, err)
}

#[test]
fn weak_root_credentials_never_face_the_network_unasked() {
    // The defaults on all interfaces: refused, with what to do.
    let (ready, err) = start(&["--address", "0.0.0.0:0"], &[]);
    assert!(!ready, "started on 0.0.0.0 with admin/admin123:\n{err}");
    assert!(err.contains("--insecure-default-credentials"), "{err}");
    assert!(err.contains("LAKEGATE_ROOT_PASSWORD"), "{err}");
    // The same defaults given explicitly: refused too.
    let weak = [
        ("LAKEGATE_ROOT_USER", "admin"),
        ("LAKEGATE_ROOT_PASSWORD", "admin123"),
    ];
    let (ready, _) = start(&["--address", "0.0.0.0:0"], &weak);
    assert!(!ready);
    // A short password is weak as well.
    let short = [
        ("LAKEGATE_ROOT_USER", "ops"),
        ("LAKEGATE_ROOT_PASSWORD", "s3cr3t"),
    ];
    let (ready, _) = start(&["--address", "0.0.0.0:0"], &short);
    assert!(!ready);
    // On loopback the defaults work, and the warning shows even though they were set
    // explicitly. (Starting on a non-loopback address is covered by the unit tests of
    // `server::check_exposure`: tests only ever listen on 127.0.0.1, and the refusals above
    // happen before anything is bound.)
    let (ready, err) = start(&["--address", "127.0.0.1:0"], &weak);
    assert!(ready, "{err}");
    assert!(err.contains("WEAK ROOT CREDENTIALS"), "{err}");
    // A strong password: no warning.
    let strong = [
        ("LAKEGATE_ROOT_USER", "ops"),
        ("LAKEGATE_ROOT_PASSWORD", "a-long-enough-secret"),
    ];
    let (ready, err) = start(&["--address", "127.0.0.1:0"], &strong);
    assert!(ready, "{err}");
    assert!(!err.contains("WEAK ROOT CREDENTIALS"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_nothing_before_a_login() {
    let s = TestServer::start().await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http.get(&s.console_url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("name=\"secret_key\""), "{page}");
    for bucket in ["bronze", "silver", "gold", "mlflow"] {
        assert!(
            !page.contains(bucket),
            "{bucket} shown before login: {page}"
        );
    }
    let status = http
        .get(format!("{}/api/s3/", s.console_url))
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 401);
    assert!(!status.text().await.unwrap().contains("bronze"));
    // A forged session cookie does not count.
    let forged = http
        .get(format!("{}/api/s3/", s.console_url))
        .header("cookie", "lakegate_session=99999999999.00ff")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    // Wrong secret.
    let bad = http
        .post(format!("{}/login", s.console_url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("access_key={ROOT_USER}&secret_key=nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    assert!(bad.headers().get("set-cookie").is_none());
    // Right secret (the plain form): a session cookie, and the buckets through the console.
    let ok = http
        .post(format!("{}/login", s.console_url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "access_key={ROOT_USER}&secret_key={}",
            uri_encode(ROOT_PASSWORD, true)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 303);
    let cookie = ok.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_string();
    let status = http
        .get(format!("{}/api/s3/", s.console_url))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 200);
    assert!(status.text().await.unwrap().contains("<Name>bronze</Name>"));
    // Health stays public.
    let health = http
        .get(format!("{}/minio/health/live", s.console_url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}
