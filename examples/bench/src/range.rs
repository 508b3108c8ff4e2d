//! The `range` scenario: PUT one `--range-object-size` object (1 GiB by default), then GET
//! `--range-count` ranges of `--range-size` (1 MiB) at offsets spread over it, one at a time.
//! For each GET it reports the latency and how many bytes the server process read
//! (`rchar` in `/proc/PID/io`: every `read`, from files and the socket alike, so the request
//! itself adds a few hundred bytes). With `--sse-s3` this shows that a range GET of an
//! encrypted object decrypts only the 64 KiB packages it covers. Not part of `all`; needs the
//! server's pid (spawn mode or `--server-pid`).

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::body::PatternBody;
use crate::client::RawClient;
use crate::{Ctx, progress, with_timeout};

/// The bytes the process has read so far (`rchar`).
fn read_bytes(pid: u32) -> Result<u64> {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io"))
        .with_context(|| format!("reading /proc/{pid}/io"))?;
    io.lines()
        .find_map(|l| l.strip_prefix("rchar:"))
        .and_then(|v| v.trim().parse().ok())
        .context("no rchar in /proc/PID/io")
}

pub async fn scenario_range(
    ctx: &Arc<Ctx>,
    raw: &RawClient,
    object_size: u64,
    range_size: u64,
    count: usize,
) -> Result<()> {
    let Some(pid) = ctx.pid else {
        bail!("the range scenario needs the server's pid (spawn mode or --server-pid)");
    };
    if range_size == 0 || range_size > object_size {
        bail!("--range-size must be between 1 byte and the object's size");
    }
    let key = format!("{}range/object", ctx.prefix);
    progress(format!(
        "range: putting one object of {}",
        crate::report::fmt_size(object_size)
    ));
    with_timeout(
        ctx.op_timeout * 100,
        ctx.client
            .put(&ctx.bucket, &key, PatternBody::new(object_size, 7)),
    )
    .await?;
    let mut reads = Vec::with_capacity(count);
    let mut millis = Vec::with_capacity(count);
    let span = object_size - range_size;
    for i in 0..count {
        // Offsets spread over the object, not aligned to packages (odd multiples of 4099).
        let first = if count > 1 {
            (span / (count as u64 - 1)) * i as u64
        } else {
            0
        };
        let first = (first + 4099 * (2 * i as u64 + 1)).min(span);
        let before = read_bytes(pid)?;
        let t = Instant::now();
        let got = with_timeout(
            ctx.op_timeout,
            raw.get_range(&ctx.bucket, &key, first, first + range_size - 1),
        )
        .await?;
        millis.push(t.elapsed().as_secs_f64() * 1000.0);
        reads.push(read_bytes(pid)? - before);
        if got != range_size {
            bail!("range GET returned {got} bytes, expected {range_size}");
        }
    }
    let _ = with_timeout(ctx.op_timeout, ctx.client.delete(&ctx.bucket, &key)).await;
    reads.sort_unstable();
    millis.sort_by(f64::total_cmp);
    let max = reads.last().copied().unwrap_or(0);
    progress(format!(
        "range: {count} GETs of {} from {}: server read per GET min {} / median {} / max {} \
         bytes (range + {:.2} x 64 KiB at most); latency median {:.2} ms, max {:.2} ms",
        crate::report::fmt_size(range_size),
        crate::report::fmt_size(object_size),
        reads[0],
        reads[reads.len() / 2],
        max,
        max.saturating_sub(range_size) as f64 / 65536.0,
        millis[millis.len() / 2],
        millis[millis.len() - 1],
    ));
    Ok(())
}
