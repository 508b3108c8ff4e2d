//! Connections: how both ports accept, limit, time out and close them.
//!
//! Every connection, on the S3 port and on the console port alike, is held to
//! [`ConnectionLimits`]:
//! - **caps**: at most `max_connections` open at once, and at most `max_connections_per_client`
//!   from one client address. A connection over a cap is answered `503 SlowDown` and closed at
//!   once (the socket is never handed to HTTP), with a warning in the log that says which cap
//!   bit; the warning repeats at most every [`REFUSAL_LOG_INTERVAL`], with a count.
//! - **half-close**: a client that shuts down its sending side after a complete request still
//!   gets the response; the connection closes after it. A half-closed connection with an
//!   incomplete request is closed at once.
//! - **first request**: a connection must deliver a whole request head within
//!   `first_request_timeout` of being accepted (silent and trickling clients alike are closed).
//! - **idle**: with no request in flight, an HTTP/1.1 keep-alive or HTTP/2 connection is closed
//!   after `idle_timeout`. A request is in flight from its head until its response body has been
//!   sent (or dropped).
//! - **slow headers**: a request head must complete within `header_read_timeout` (hyper's own
//!   timer, which on HTTP/1.1 runs while a keep-alive connection waits for its next request, so
//!   there the idle time is the lesser of the two).
//! - **stalled responses**: a response write that cannot make progress for `send_timeout` (the
//!   client stopped reading) closes the connection.
//! - **stalled bodies** are the handlers' business: the S3 port fails a body that delivers no
//!   bytes for `body_read_timeout` with `RequestTimeout` ([`crate::auth::RequestBody`]).
//!
//! The timers are one watchdog per connection, polled in the connection's own task: it sleeps
//! until the earliest deadline that can apply and re-checks, so an idle server does no work.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use bytes::Bytes;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// How long in-flight requests get to finish after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The most often a refused connection is logged (the next line says how many were refused).
pub const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// File descriptors kept back from the connection cap for blobs, metadata and plugins.
const FD_RESERVE: u64 = 256;

/// Limits and timeouts every connection is held to (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub max_connections_per_client: usize,
    pub first_request_timeout: Duration,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub send_timeout: Duration,
    pub body_read_timeout: Duration,
}

impl ConnectionLimits {
    /// The defaults for a process allowed `fd_limit` open files: half of what is left after a
    /// reserve (each connection may hold a blob open too), at most 16384; a quarter of that per
    /// client address.
    pub fn for_fd_limit(fd_limit: u64) -> ConnectionLimits {
        let max = (fd_limit.saturating_sub(FD_RESERVE) / 2).clamp(64, 16_384) as usize;
        ConnectionLimits {
            max_connections: max,
            max_connections_per_client: (max / 4).max(16),
            first_request_timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            send_timeout: Duration::from_secs(60),
            body_read_timeout: Duration::from_secs(60),
        }
    }
}

impl ConnectionLimits {
    /// The console port's share: the same timers, at most 256 connections (64 per client). It
    /// serves a few operators, and must not take the S3 port's file descriptors.
    pub fn for_console(&self) -> ConnectionLimits {
        ConnectionLimits {
            max_connections: self.max_connections.min(256),
            max_connections_per_client: self.max_connections_per_client.min(64),
            ..self.clone()
        }
    }
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits::for_fd_limit(open_files_limit())
    }
}

/// Raises the soft open-files limit to the hard limit (as MinIO does) and returns the new soft
/// limit; the connection caps are derived from it.
pub fn raise_open_files_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 1024;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim.rlim_cur = lim.rlim_max;
            }
        }
    }
    lim.rlim_cur
}

/// The current soft open-files limit.
pub fn open_files_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return 1024;
    }
    lim.rlim_cur
}

/// Serves `listener` until `shutdown` fires, then lets in-flight requests finish (up to
/// [`SHUTDOWN_GRACE`]). `port` names the port in log lines. With `tls`, every connection is a
/// TLS connection (its handshake is held to the first-request timeout).
pub async fn serve<S, F>(
    listener: TcpListener,
    port: &'static str,
    limits: Arc<ConnectionLimits>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    handler: S,
    mut shutdown: watch::Receiver<bool>,
) where
    S: Fn(http::Request<Body>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = http::Response<Body>> + Send + 'static,
{
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(256 * 1024)
        // A client may send a whole request and then shut down its sending side: it still gets
        // its answer (hyper would otherwise drop the connection, and the request with it, on
        // the read EOF). The EOF then closes the connection once the response is written; an
        // incomplete request still fails on it.
        .half_close(true);
    builder.http2().timer(TokioTimer::new());
    let table = Arc::new(Mutex::new(ConnectionTable::default()));
    let mut refusals = RefusalLog::default();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(c) => c,
                    Err(e) => {
                        // E.g. out of file descriptors: back off instead of spinning.
                        tracing::warn!(port, error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let slot = match ConnectionTable::admit(&table, peer.ip(), &limits) {
                    Ok(slot) => slot,
                    Err(cap) => {
                        refusals.refused(port, peer, cap, &limits);
                        refuse(stream);
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let activity = Arc::new(Activity::new());
                let stream = TrackedStream { inner: stream, activity: activity.clone() };
                let service = {
                    let activity = activity.clone();
                    let handler = handler.clone();
                    hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                        let guard = InFlight::start(activity.clone());
                        // Who is asking, for policies' aws:SourceIp.
                        req.extensions_mut().insert(crate::s3::access::ClientAddr(peer));
                        let fut = handler(req.map(Body::new));
                        async move {
                            let resp = fut.await;
                            Ok::<_, Infallible>(resp.map(|b| Body::new(GuardedBody { inner: b, _guard: guard })))
                        }
                    })
                };
                let builder = builder.clone();
                let watcher = graceful.watcher();
                let tls = tls.clone();
                let limits = limits.clone();
                tokio::spawn(async move {
                    let _slot = slot;
                    let conn = async move {
                        match tls {
                            None => {
                                let conn = builder.serve_connection(TokioIo::new(stream), service).into_owned();
                                watcher.watch(conn).await
                            }
                            Some(acceptor) => {
                                let stream = acceptor.accept(stream).await?;
                                let conn = builder.serve_connection(TokioIo::new(stream), service).into_owned();
                                watcher.watch(conn).await
                            }
                        }
                    };
                    tokio::select! {
                        r = conn => {
                            if let Err(e) = r {
                                tracing::debug!(port, %peer, error = %e, "connection ended with an error");
                            }
                        }
                        why = watchdog(&activity, &limits) => {
                            tracing::debug!(port, %peer, reason = why, "closing connection");
                        }
                    }
                });
            }
            _ = shutdown.changed() => break,
        }
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => tracing::info!(port, "all connections closed"),
        _ = tokio::time::sleep(SHUTDOWN_GRACE) => tracing::warn!(port, "grace period over; closing remaining connections"),
    }
}

/// How long a refused connection is drained after its answer (see [`refuse`]).
const REFUSAL_DRAIN: Duration = Duration::from_millis(200);

/// Answers a refused connection with a short `503 SlowDown` (S3 clients back off and retry) and
/// closes it. The request is never parsed: it is drained for at most [`REFUSAL_DRAIN`] (64 KiB)
/// after the answer and a FIN, because closing with unread bytes would send a reset that makes
/// the client drop the answer.
fn refuse(stream: TcpStream) {
    const BODY: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code>\
        <Message>Too many connections; please reduce your request rate.</Message></Error>";
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/xml\r\n\
         content-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    let _ = stream.try_write(response.as_bytes());
    tokio::spawn(async move {
        let mut stream = stream;
        let _ = stream.shutdown().await;
        let mut sink = [0u8; 4096];
        let mut drained = 0;
        let _ = tokio::time::timeout(REFUSAL_DRAIN, async {
            while drained < 64 * 1024 {
                match stream.read(&mut sink).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => drained += n,
                }
            }
        })
        .await;
    });
}

/// Fails `req`'s body with an error when no bytes arrive for `timeout` (for handlers that read
/// bodies without [`crate::auth::RequestBody`], which has its own timer).
pub fn with_body_read_timeout(req: http::Request<Body>, timeout: Duration) -> http::Request<Body> {
    req.map(|inner| {
        Body::new(ReadTimeoutBody {
            inner,
            timeout,
            deadline: Box::pin(tokio::time::sleep(timeout)),
        })
    })
}

/// A body whose every frame must arrive within `timeout` of the previous one.
struct ReadTimeoutBody {
    inner: Body,
    timeout: Duration,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl http_body::Body for ReadTimeoutBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                let next = tokio::time::Instant::now() + self.timeout;
                self.deadline.as_mut().reset(next);
                Poll::Ready(frame)
            }
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(axum::Error::new(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the request body stalled (body read timeout)",
                ))))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Which cap refused a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cap {
    Total,
    PerClient,
}

/// Open connections, in total and per client address.
#[derive(Default)]
struct ConnectionTable {
    total: usize,
    per_client: HashMap<IpAddr, usize>,
}

impl ConnectionTable {
    fn admit(
        table: &Arc<Mutex<ConnectionTable>>,
        ip: IpAddr,
        limits: &ConnectionLimits,
    ) -> Result<Slot, Cap> {
        let mut t = table.lock().unwrap_or_else(|p| p.into_inner());
        if t.total >= limits.max_connections {
            return Err(Cap::Total);
        }
        let n = t.per_client.entry(ip).or_insert(0);
        if *n >= limits.max_connections_per_client {
            return Err(Cap::PerClient);
        }
        *n += 1;
        t.total += 1;
        Ok(Slot {
            table: table.clone(),
            ip,
        })
    }
}

/// One admitted connection; gives its place back when dropped.
struct Slot {
    table: Arc<Mutex<ConnectionTable>>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut t = self.table.lock().unwrap_or_else(|p| p.into_inner());
        t.total = t.total.saturating_sub(1);
        if let Some(n) = t.per_client.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                t.per_client.remove(&self.ip);
            }
        }
    }
}

/// Rate-limits the "connection refused" warnings, each cap on its own.
#[derive(Default)]
struct RefusalLog {
    /// Per cap (total, per client): when it was last logged, and refusals since.
    last: [Option<Instant>; 2],
    suppressed: [u64; 2],
}

impl RefusalLog {
    fn refused(&mut self, port: &str, peer: SocketAddr, cap: Cap, limits: &ConnectionLimits) {
        let i = match cap {
            Cap::Total => 0,
            Cap::PerClient => 1,
        };
        if self.last[i].is_some_and(|t| t.elapsed() < REFUSAL_LOG_INTERVAL) {
            self.suppressed[i] += 1;
            return;
        }
        let also = std::mem::take(&mut self.suppressed[i]);
        self.last[i] = Some(Instant::now());
        match cap {
            Cap::Total => tracing::warn!(
                port,
                %peer,
                limit = limits.max_connections,
                refused_since_last_warning = also,
                "connection limit reached: refusing new connections (--max-connections)"
            ),
            Cap::PerClient => tracing::warn!(
                port,
                %peer,
                limit = limits.max_connections_per_client,
                refused_since_last_warning = also,
                "per-client connection limit reached: refusing connections from this address (--max-connections-per-client)"
            ),
        }
    }
}

/// What a connection's watchdog knows about it.
struct Activity {
    /// Tokio's clock (the same as the system's outside paused-time tests).
    start: tokio::time::Instant,
    /// Requests whose response has not been sent yet.
    in_flight: AtomicUsize,
    /// Requests seen so far.
    requests: AtomicU64,
    /// When `in_flight` last fell to 0 (milliseconds since `start`).
    idle_since: AtomicU64,
    /// When a write started waiting for the client to read (milliseconds since `start`, plus
    /// one; 0 while writes make progress).
    write_blocked_since: AtomicU64,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            start: tokio::time::Instant::now(),
            in_flight: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            idle_since: AtomicU64::new(0),
            write_blocked_since: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn write_pending(&self) {
        if self.write_blocked_since.load(Ordering::Relaxed) == 0 {
            self.write_blocked_since
                .store(self.now_ms() + 1, Ordering::Relaxed);
        }
    }

    fn write_progressed(&self) {
        if self.write_blocked_since.load(Ordering::Relaxed) != 0 {
            self.write_blocked_since.store(0, Ordering::Relaxed);
        }
    }
}

/// Marks one request in flight until dropped (with the response body it travels in).
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: Arc<Activity>) -> InFlight {
        activity.requests.fetch_add(1, Ordering::Relaxed);
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        // Record the idle start before the count can be seen at zero.
        self.0.idle_since.store(self.0.now_ms(), Ordering::Relaxed);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its request in flight until it has been sent or dropped.
struct GuardedBody {
    inner: Body,
    _guard: InFlight,
}

impl http_body::Body for GuardedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Resolves when the connection must be closed, with the reason.
async fn watchdog(activity: &Activity, limits: &ConnectionLimits) -> &'static str {
    let ms = |d: Duration| d.as_millis() as u64;
    // With nothing due, look again after this long (a request may end, a write may block).
    let recheck = ms(limits.idle_timeout.min(limits.send_timeout)).max(1);
    loop {
        let now = activity.now_ms();
        let mut next = now + recheck;
        let blocked = activity.write_blocked_since.load(Ordering::Relaxed);
        if blocked != 0 {
            let due = blocked - 1 + ms(limits.send_timeout);
            if now >= due {
                return "the client stopped reading the response (send timeout)";
            }
            next = next.min(due);
        }
        if activity.in_flight.load(Ordering::Acquire) == 0 {
            let (timeout, reason) = if activity.requests.load(Ordering::Relaxed) == 0 {
                (
                    limits.first_request_timeout,
                    "no request within the first-request timeout",
                )
            } else {
                (limits.idle_timeout, "idle timeout")
            };
            let due = activity.idle_since.load(Ordering::Relaxed) + ms(timeout);
            if now >= due {
                return reason;
            }
            next = next.min(due);
        }
        tokio::time::sleep(Duration::from_millis(next - now)).await;
    }
}

/// The TCP stream, reporting write progress to the connection's [`Activity`].
struct TrackedStream {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl TrackedStream {
    fn track<T>(&self, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match &poll {
            Poll::Pending => self.activity.write_pending(),
            Poll::Ready(_) => self.activity.write_progressed(),
        }
        poll
    }
}

impl AsyncRead for TrackedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for TrackedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.track(poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.track(poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.track(poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(total: usize, per_client: usize) -> ConnectionLimits {
        ConnectionLimits {
            max_connections: total,
            max_connections_per_client: per_client,
            ..ConnectionLimits::for_fd_limit(4096)
        }
    }

    #[test]
    fn caps_count_and_release() {
        let table = Arc::new(Mutex::new(ConnectionTable::default()));
        let l = limits(3, 2);
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let a1 = ConnectionTable::admit(&table, a, &l).unwrap();
        let _a2 = ConnectionTable::admit(&table, a, &l).unwrap();
        assert_eq!(
            ConnectionTable::admit(&table, a, &l).err(),
            Some(Cap::PerClient)
        );
        let _b1 = ConnectionTable::admit(&table, b, &l).unwrap();
        assert_eq!(
            ConnectionTable::admit(&table, b, &l).err(),
            Some(Cap::Total)
        );
        drop(a1);
        let _b2 = ConnectionTable::admit(&table, b, &l).unwrap();
        assert_eq!(table.lock().unwrap().total, 3);
    }

    #[test]
    fn defaults_follow_the_open_files_limit() {
        let small = ConnectionLimits::for_fd_limit(1024);
        assert_eq!(small.max_connections, 384);
        assert_eq!(small.max_connections_per_client, 96);
        assert_eq!(ConnectionLimits::for_fd_limit(10).max_connections, 64);
        assert_eq!(
            ConnectionLimits::for_fd_limit(1 << 20).max_connections,
            16_384
        );
    }

    #[tokio::test]
    async fn watchdog_deadlines() {
        let ms = Duration::from_millis;
        let l = ConnectionLimits {
            first_request_timeout: ms(150),
            idle_timeout: ms(300),
            send_timeout: ms(200),
            ..limits(10, 10)
        };
        // No request at all: the first-request timeout.
        let a = Activity::new();
        let t0 = Instant::now();
        assert_eq!(
            watchdog(&a, &l).await,
            "no request within the first-request timeout"
        );
        assert!(t0.elapsed() >= ms(150) && t0.elapsed() < ms(1000));

        // A request in flight holds the connection open; once it is done, the idle timeout.
        let a = Arc::new(Activity::new());
        let guard = InFlight::start(a.clone());
        let t0 = Instant::now();
        let release = tokio::spawn(async move {
            tokio::time::sleep(ms(400)).await;
            drop(guard);
        });
        assert_eq!(watchdog(&a, &l).await, "idle timeout");
        assert!(t0.elapsed() >= ms(700), "{:?}", t0.elapsed());
        release.await.unwrap();

        // A write blocked on the client: the send timeout, even with a request in flight.
        let a = Arc::new(Activity::new());
        let _guard = InFlight::start(a.clone());
        a.write_pending();
        assert_eq!(
            watchdog(&a, &l).await,
            "the client stopped reading the response (send timeout)"
        );
    }
}
