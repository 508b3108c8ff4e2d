//! Connection limits and timeouts with real sockets: silent and trickling clients, idle
//! keep-alive and HTTP/2 connections, stalled uploads, the console port, and the caps on open
//! connections (total and per client address).

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::common::*;

fn addr_of(url: &str) -> String {
    url.trim_start_matches("http://").to_string()
}

/// A TCP connection to `addr` from the loopback address `from` (127.0.0.0/8 is all loopback).
async fn connect_from(from: &str, addr: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    socket.connect(addr.parse().unwrap()).await.unwrap()
}

/// Reads until the server closes the connection (or `limit` passes); returns what was read and
/// when the close was seen (`None`: still open at `limit`).
async fn read_until_closed(s: &mut TcpStream, limit: Duration) -> (Vec<u8>, Option<Duration>) {
    let start = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.saturating_sub(start.elapsed());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Err(_) => return (out, None),
            Ok(Ok(0)) | Ok(Err(_)) => return (out, Some(start.elapsed())),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
}

const HEALTH: &[u8] = b"GET /minio/health/live HTTP/1.1\r\nhost: x\r\n\r\n";

async fn short_timeouts() -> TestServer {
    TestServer::start_with_env(&[
        ("LAKEGATE_FIRST_REQUEST_TIMEOUT", "1s"),
        ("LAKEGATE_HEADER_READ_TIMEOUT", "1s"),
        ("LAKEGATE_IDLE_TIMEOUT", "2s"),
        ("LAKEGATE_BODY_READ_TIMEOUT", "1s"),
        ("LAKEGATE_SEND_TIMEOUT", "2s"),
    ])
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_trickling_connections_are_closed() {
    let s = short_timeouts().await;
    for url in [&s.s3_url, &s.console_url] {
        // Nothing sent at all.
        let mut c = TcpStream::connect(addr_of(url)).await.unwrap();
        let (_, closed) = read_until_closed(&mut c, Duration::from_secs(10)).await;
        let closed = closed.unwrap_or_else(|| panic!("{url}: a silent connection stayed open"));
        assert!(
            closed >= Duration::from_millis(800),
            "{url}: closed after {closed:?}"
        );

        // A request head trickled a byte at a time, never finished.
        let c = TcpStream::connect(addr_of(url)).await.unwrap();
        let (mut rd, mut wr) = c.into_split();
        let trickle = tokio::spawn(async move {
            for b in b"GET /minio/health/live HTTP/1.1\r\nhost: x\r\nx-slow: "
                .iter()
                .cycle()
            {
                if wr.write_all(&[*b]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        let start = Instant::now();
        let mut buf = [0u8; 1024];
        let closed = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match rd.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await;
        trickle.abort();
        assert!(
            closed.is_ok(),
            "{url}: a trickling connection stayed open 10 s"
        );
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{url}: {:?}",
            start.elapsed()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keep_alive_connections_are_closed() {
    let s = short_timeouts().await;
    for url in [&s.s3_url, &s.console_url] {
        let mut c = TcpStream::connect(addr_of(url)).await.unwrap();
        // Two requests on one connection (keep-alive works), then silence.
        let mut last_response = Instant::now();
        for _ in 0..2 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            c.write_all(HEALTH).await.unwrap();
            let mut buf = [0u8; 1024];
            let n = c.read(&mut buf).await.unwrap();
            last_response = Instant::now();
            assert!(
                buf[..n].starts_with(b"HTTP/1.1 200"),
                "{url}: {:?}",
                String::from_utf8_lossy(&buf[..n])
            );
        }
        let (_, closed) = read_until_closed(&mut c, Duration::from_secs(10)).await;
        assert!(closed.is_some(), "{url}: idle keep-alive stayed open");
        // HTTP/1.1 waits for the next request head at most the header-read timeout (1 s here),
        // and never longer than the idle timeout (2 s).
        let idle = last_response.elapsed();
        assert!(
            idle >= Duration::from_millis(900) && idle < Duration::from_secs(4),
            "{url}: closed after {idle:?} idle"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_http2_connections_are_closed() {
    use http_body_util::Empty;
    use hyper_util::rt::{TokioExecutor, TokioIo};

    let s = short_timeouts().await;
    // h2c with prior knowledge, as gRPC-style clients and curl --http2-prior-knowledge do.
    let tcp = TcpStream::connect(addr_of(&s.s3_url)).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .unwrap();
    let driver = tokio::spawn(conn);
    let req = http::Request::get(format!("{}/minio/health/live", s.s3_url))
        .body(Empty::<bytes::Bytes>::new())
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), http::Version::HTTP_2);
    let start = Instant::now();
    let ended = tokio::time::timeout(Duration::from_secs(10), driver).await;
    assert!(ended.is_ok(), "an idle HTTP/2 connection stayed open 10 s");
    assert!(
        start.elapsed() >= Duration::from_millis(1000),
        "{:?}",
        start.elapsed()
    );

    // An HTTP/2 connection that never sends a request is closed too.
    let mut tcp = TcpStream::connect(addr_of(&s.s3_url)).await.unwrap();
    tcp.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .unwrap();
    let (_, closed) = read_until_closed(&mut tcp, Duration::from_secs(10)).await;
    assert!(
        closed.is_some(),
        "a request-less HTTP/2 connection stayed open"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_upload_times_out_and_writes_nothing() {
    let s = short_timeouts().await;
    let b = s.bucket().await;
    let req = s
        .raw("PUT", &format!("/{b}/stalled"))
        .payload_hash("UNSIGNED-PAYLOAD")
        .body(vec![b'x'; 1000]);
    // Announce 1000 bytes, send 10, then stall with the connection open.
    let bytes = req.to_http1(None, Some(10));
    let mut c = TcpStream::connect(addr_of(&s.s3_url)).await.unwrap();
    c.write_all(&bytes).await.unwrap();
    let start = Instant::now();
    let (resp, closed) = read_until_closed(&mut c, Duration::from_secs(10)).await;
    assert!(
        closed.is_some(),
        "a stalled upload held its connection 10 s"
    );
    let resp = parse_http1_response(&resp);
    resp.assert_error(400, "RequestTimeout");
    assert!(
        start.elapsed() >= Duration::from_millis(800),
        "{:?}",
        start.elapsed()
    );
    let head = s
        .client()
        .head_object()
        .bucket(&b)
        .key("stalled")
        .send()
        .await;
    assert!(head.is_err(), "a timed-out upload left an object: {head:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_console_login_is_cut_off() {
    let s = short_timeouts().await;
    let mut c = TcpStream::connect(addr_of(&s.console_url)).await.unwrap();
    c.write_all(
        b"POST /login HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\n\
          content-length: 100\r\n\r\naccess_key=",
    )
    .await
    .unwrap();
    let start = Instant::now();
    let (resp, closed) = read_until_closed(&mut c, Duration::from_secs(10)).await;
    assert!(
        closed.is_some(),
        "a stalled login body held its connection 10 s"
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    let resp = parse_http1_response(&resp);
    assert_eq!(resp.status, 400, "{}", resp.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_caps_protect_other_clients() {
    let s = TestServer::start_with_env(&[
        ("LAKEGATE_MAX_CONNECTIONS", "6"),
        ("LAKEGATE_MAX_CONNECTIONS_PER_CLIENT", "3"),
    ])
    .await;
    let addr = addr_of(&s.s3_url);
    // One client holds its 3 connections open without sending anything.
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect_from("127.0.0.1", &addr).await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Its 4th is refused at once with 503 SlowDown.
    let mut fourth = connect_from("127.0.0.1", &addr).await;
    let (resp, closed) = read_until_closed(&mut fourth, Duration::from_secs(5)).await;
    assert!(closed.is_some());
    let resp = parse_http1_response(&resp);
    resp.assert_error(503, "SlowDown");
    // Another address is still served.
    let mut other = connect_from("127.0.0.2", &addr).await;
    other.write_all(HEALTH).await.unwrap();
    let mut buf = [0u8; 256];
    let n = other.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    // Fill the total cap (3 + 1 + 2 = 6), then a third address is refused.
    for _ in 0..2 {
        held.push(connect_from("127.0.0.3", &addr).await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut over = connect_from("127.0.0.4", &addr).await;
    let (resp, _) = read_until_closed(&mut over, Duration::from_secs(5)).await;
    parse_http1_response(&resp).assert_error(503, "SlowDown");
    // Closing connections gives their places back.
    held.clear();
    drop(other);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut c = connect_from("127.0.0.4", &addr).await;
        c.write_all(HEALTH).await.unwrap();
        let n = c.read(&mut buf).await.unwrap_or(0);
        if buf[..n].starts_with(b"HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "places were not given back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log = std::fs::read_to_string(s.log_path()).unwrap();
    assert!(
        log.contains("per-client connection limit reached"),
        "no log line for the per-client cap:\n{log}"
    );
    assert!(
        log.contains("connection limit reached: refusing new connections"),
        "no log line for the total cap:\n{log}"
    );
}
