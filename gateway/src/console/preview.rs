//! `GET /api/preview/{bucket}/{key}[?versionId=V][&rows=N]`: a look inside an object without
//! downloading it. Reads through the S3 API as the session's key (`s3::handle_as` GetObject
//! with a `Range`), so object permissions, locks and encryption apply as to any read:
//!
//! - text, JSON (pretty-printed when whole), CSV/TSV (first rows as a table): the first
//!   [`TEXT_BYTES`];
//! - Parquet, decoded on the server: the footer (at most [`FOOTER_MAX`]) for the schema and
//!   metadata, then the first row group's bytes (at most [`ROW_GROUP_MAX`]) for the first rows;
//!   a larger row group or an unbuilt codec (brotli, LZO) gives the schema only, with the reason.
//!
//! Nothing but those byte ranges is read, whatever the object's size.

use std::io::Cursor;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Json, Response};
use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use parquet::file::reader::{ChunkReader, FileReader, Length, SerializedFileReader};
use serde_json::{Value, json};

use super::{Console, json_error};
use crate::iam::Caller;
use crate::s3;
use crate::s3::access::ClientAddr;

/// Previews at once; more wait their turn (each may hold a footer and a row group).
pub const AT_ONCE: usize = 4;
/// Bytes read for a text, JSON or CSV preview.
pub const TEXT_BYTES: u64 = 1024 * 1024;
/// The largest Parquet footer read.
pub const FOOTER_MAX: u64 = 16 * 1024 * 1024;
/// The largest first row group read for rows.
pub const ROW_GROUP_MAX: u64 = 32 * 1024 * 1024;
/// Characters kept of one cell.
const CELL_CHARS: usize = 200;
/// Parquet columns shown at most.
const MAX_COLUMNS: usize = 100;
/// The tail read first from a Parquet file (footer and, for small files, everything).
const TAIL_BYTES: u64 = 64 * 1024;

/// One ranged read's answer.
struct Fetched {
    body: Bytes,
    /// The object's size.
    total: u64,
    content_type: Option<String>,
    /// The version read (later reads of the same file must find the same one).
    etag: Option<String>,
}

/// What a preview request reads.
struct Target {
    caller: Caller,
    client: Option<ClientAddr>,
    bucket: String,
    key: String,
    version_id: Option<String>,
}

impl Target {
    /// GetObject with `range` (`None`: the whole object) as the session's key, of the version
    /// whose ETag is `if_match` when given; an S3 error becomes `{error, code}` with S3's
    /// status.
    async fn get(
        &self,
        console: &Console,
        range: Option<String>,
        if_match: Option<&str>,
    ) -> Result<Fetched, Response> {
        let mut uri = format!("/{}/{}", self.bucket, s3::list::url_encode(&self.key));
        if let Some(v) = &self.version_id {
            uri.push_str("?versionId=");
            uri.push_str(&s3::list::url_encode(v));
        }
        let mut b = http::Request::builder().method(Method::GET).uri(&uri);
        if let Some(r) = &range {
            b = b.header(header::RANGE, r);
        }
        if let Some(tag) = if_match {
            b = b.header(header::IF_MATCH, tag);
        }
        let mut req = b
            .body(Body::empty())
            .map_err(|_| json_error(StatusCode::BAD_REQUEST, "unusable object name"))?;
        if let Some(c) = self.client {
            req.extensions_mut().insert(c);
        }
        let id = console.next_request_id();
        let resp = s3::handle_as(&console.s3, self.caller.clone(), req, &id).await;
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = |h: header::HeaderName| {
            headers
                .get(h)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        if status == StatusCode::RANGE_NOT_SATISFIABLE
            && range.is_some()
            && text(header::CONTENT_RANGE).as_deref() == Some("bytes */0")
        {
            // An empty object has no byte 0: read it whole (nothing).
            return Box::pin(self.get(console, None, if_match)).await;
        }
        let limit = (FOOTER_MAX.max(ROW_GROUP_MAX).max(TEXT_BYTES) + 1) as usize;
        let body = axum::body::to_bytes(resp.into_body(), limit)
            .await
            .map_err(|_| json_error(StatusCode::BAD_GATEWAY, "the object could not be read"))?;
        if !status.is_success() {
            return Err(s3_error(status, &body));
        }
        let total = text(header::CONTENT_RANGE)
            .and_then(|r| r.rsplit('/').next().and_then(|t| t.parse().ok()))
            .unwrap_or(body.len() as u64);
        if total < body.len() as u64 {
            return Err(invalid("the object's size does not match what was read"));
        }
        Ok(Fetched {
            body,
            total,
            content_type: text(header::CONTENT_TYPE),
            etag: text(header::ETAG),
        })
    }
}

/// An S3 error answer as the console's JSON error.
fn s3_error(status: StatusCode, body: &[u8]) -> Response {
    let text = String::from_utf8_lossy(body);
    let tag = |t: &str| {
        let open = format!("<{t}>");
        let close = format!("</{t}>");
        text.split_once(&open)
            .and_then(|(_, rest)| rest.split_once(&close))
            .map(|(v, _)| v.to_string())
    };
    let code = tag("Code").unwrap_or_else(|| status.as_str().to_string());
    let message = tag("Message").unwrap_or_else(|| code.clone());
    (status, Json(json!({ "error": message, "code": code }))).into_response()
}

pub async fn preview(State(console): State<Arc<Console>>, req: Request) -> Response {
    let (_, caller) = match console.admit(&req) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let rest = req
        .uri()
        .path()
        .strip_prefix("/api/preview/")
        .unwrap_or_default();
    let Ok(path) = percent_encoding::percent_decode_str(rest).decode_utf8() else {
        return json_error(StatusCode::BAD_REQUEST, "the object name is not UTF-8");
    };
    let Some((bucket, key)) = path
        .split_once('/')
        .filter(|(b, k)| !b.is_empty() && !k.is_empty())
    else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "preview needs /api/preview/{bucket}/{key}",
        );
    };
    if crate::store::check_bucket_name(bucket).is_err() {
        return json_error(StatusCode::BAD_REQUEST, "not a bucket name");
    }
    let Ok(_turn) = console.previews.acquire().await else {
        return json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the console is shutting down",
        );
    };
    let query = super::query_pairs(req.uri().query());
    let rows = query
        .get("rows")
        .and_then(|r| r.parse::<usize>().ok())
        .unwrap_or(50)
        .clamp(1, 500);
    let target = Target {
        caller,
        client: req.extensions().get::<ClientAddr>().copied(),
        bucket: bucket.to_string(),
        key: key.to_string(),
        version_id: query.get("versionId").cloned().filter(|v| !v.is_empty()),
    };
    let lower = target.key.to_ascii_lowercase();
    let mut out = if lower.ends_with(".parquet") || lower.ends_with(".parq") {
        parquet_preview(&console, &target, rows).await
    } else {
        let first = match target
            .get(&console, Some(format!("bytes=0-{}", TEXT_BYTES - 1)), None)
            .await
        {
            Ok(f) => f,
            Err(r) => return r,
        };
        if first.body.starts_with(b"PAR1") {
            parquet_preview(&console, &target, rows).await
        } else {
            Ok(text_preview(&lower, first, rows))
        }
    };
    if let Ok(v) = &mut out {
        v["bucket"] = json!(target.bucket);
        v["key"] = json!(target.key);
    }
    match out {
        Ok(v) => {
            let mut r = Json(v).into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(r) => r,
    }
}

/// Text, JSON, CSV or binary, from the object's first bytes.
fn text_preview(lower_key: &str, f: Fetched, rows: usize) -> Value {
    let truncated = (f.body.len() as u64) < f.total;
    let ct = f
        .content_type
        .clone()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let (text, clean) = utf8_prefix(&f.body, truncated);
    let base = json!({
        "size": f.total,
        "content_type": f.content_type,
        "truncated": truncated,
    });
    let with = |mut v: Value, extra: Value| {
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        v
    };
    let Some(text) = text.filter(|_| clean && !f.body.contains(&0)) else {
        return with(
            base,
            json!({ "kind": "binary", "text": null, "note": "not text: download it to look inside" }),
        );
    };
    let is = |exts: &[&str]| exts.iter().any(|e| lower_key.ends_with(e));
    if is(&[".csv", ".tsv"]) || ct.starts_with("text/csv") || ct.starts_with("text/tab-separated") {
        let delimiter = if is(&[".tsv"]) || ct.starts_with("text/tab") {
            '\t'
        } else {
            ','
        };
        let mut records = csv_records(&text, delimiter, rows + 1, truncated);
        let columns = if records.is_empty() {
            Vec::new()
        } else {
            records.remove(0)
        };
        return with(
            base,
            json!({ "kind": "csv", "columns": columns, "rows": records }),
        );
    }
    if is(&[".json", ".ndjson", ".jsonl"]) || ct.contains("json") {
        let pretty = (!truncated)
            .then(|| serde_json::from_str::<Value>(&text).ok())
            .flatten()
            .and_then(|v| serde_json::to_string_pretty(&v).ok());
        return with(
            base,
            json!({ "kind": "json", "text": pretty.unwrap_or(text) }),
        );
    }
    with(base, json!({ "kind": "text", "text": text }))
}

/// The longest valid UTF-8 prefix of `b` (a character cut at the end of a truncated read is
/// dropped) and whether all of it was valid.
fn utf8_prefix(b: &[u8], truncated: bool) -> (Option<String>, bool) {
    match std::str::from_utf8(b) {
        Ok(s) => (Some(s.to_string()), true),
        Err(e) if truncated && e.error_len().is_none() => (
            Some(String::from_utf8_lossy(&b[..e.valid_up_to()]).into_owned()),
            true,
        ),
        Err(_) => (None, false),
    }
}

fn cell(s: &str) -> String {
    if s.chars().count() > CELL_CHARS {
        let mut t: String = s.chars().take(CELL_CHARS).collect();
        t.push('…');
        t
    } else {
        s.to_string()
    }
}

/// At most `max` records of RFC 4180 text (quoted fields, doubled quotes, CRLF or LF); the
/// last record is dropped when the text was cut (it may be partial).
fn csv_records(text: &str, delimiter: char, max: usize, truncated: bool) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut complete = true;
    while let Some(c) = chars.next() {
        complete = false;
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => quoted = true,
            c if c == delimiter => record.push(cell(&std::mem::take(&mut field))),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                record.push(cell(&std::mem::take(&mut field)));
                records.push(std::mem::take(&mut record));
                complete = true;
                if records.len() >= max {
                    return records;
                }
            }
            c => field.push(c),
        }
    }
    if !complete && !truncated {
        record.push(cell(&field));
        records.push(record);
    }
    records
}

/// A Parquet file of which only some byte ranges were read.
struct Sparse {
    len: u64,
    segments: Vec<(u64, Bytes)>,
}

impl Sparse {
    fn segment(&self, start: u64, length: u64) -> parquet::errors::Result<Bytes> {
        for (at, b) in &self.segments {
            if start >= *at && start + length <= at + b.len() as u64 {
                let from = (start - at) as usize;
                return Ok(b.slice(from..from + length as usize));
            }
        }
        Err(parquet::errors::ParquetError::General(format!(
            "bytes {start}..{} were not read",
            start + length
        )))
    }
}

impl Length for Sparse {
    fn len(&self) -> u64 {
        self.len
    }
}

impl ChunkReader for Sparse {
    type T = Cursor<Bytes>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        for (at, b) in &self.segments {
            if start >= *at && start < at + b.len() as u64 {
                return Ok(Cursor::new(b.slice((start - at) as usize..)));
            }
        }
        Err(parquet::errors::ParquetError::General(format!(
            "byte {start} was not read"
        )))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        self.segment(start, length as u64)
    }
}

fn invalid(why: impl std::fmt::Display) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({ "error": format!("not a readable Parquet file: {why}"), "code": "InvalidParquet" })),
    )
        .into_response()
}

async fn parquet_preview(
    console: &Console,
    target: &Target,
    rows: usize,
) -> Result<Value, Response> {
    let tail = target
        .get(console, Some(format!("bytes=-{TAIL_BYTES}")), None)
        .await?;
    let len = tail.total;
    let etag = tail.etag.clone();
    let n = tail.body.len();
    if len < 12 || n < 12 || !tail.body.ends_with(b"PAR1") {
        return Err(invalid("no PAR1 footer"));
    }
    let tail_at = len - n as u64;
    let meta_len = u32::from_le_bytes([
        tail.body[n - 8],
        tail.body[n - 7],
        tail.body[n - 6],
        tail.body[n - 5],
    ]) as u64;
    if meta_len + 8 > len {
        return Err(invalid("the footer is longer than the file"));
    }
    if meta_len > FOOTER_MAX {
        return Err(invalid(format!(
            "a footer of {meta_len} bytes is over the {FOOTER_MAX}-byte limit"
        )));
    }
    let mut footer_seg = (tail_at, tail.body.clone());
    if meta_len + 8 > n as u64 {
        let more = target
            .get(
                console,
                Some(format!("bytes=-{}", meta_len + 8)),
                etag.as_deref(),
            )
            .await?;
        if more.total != len || more.body.len() as u64 != meta_len + 8 {
            return Err(invalid("the file changed while it was read"));
        }
        footer_seg = (len - more.body.len() as u64, more.body);
    }
    let footer = {
        let (at, b) = &footer_seg;
        let start = (len - 8 - meta_len)
            .checked_sub(*at)
            .ok_or_else(|| invalid("the footer was not read"))? as usize;
        b.slice(start..start + meta_len as usize)
    };
    let meta = tokio::task::spawn_blocking(move || ParquetMetaDataReader::decode_metadata(&footer))
        .await
        .map_err(|_| invalid("the footer could not be decoded"))?
        .map_err(invalid)?;
    let mut out = describe(&meta, len);
    let Some((start, end)) = first_row_group_range(&meta, len)? else {
        out["columns"] = json!(column_names(&meta));
        out["rows"] = json!([]);
        return Ok(out);
    };
    if end - start > ROW_GROUP_MAX {
        out["note"] = json!(format!(
            "the first row group is {} bytes (over {ROW_GROUP_MAX}): schema only",
            end - start
        ));
        return Ok(out);
    }
    let mut segments = vec![footer_seg];
    if !segments
        .iter()
        .any(|(at, b)| start >= *at && end <= at + b.len() as u64)
    {
        let rg = target
            .get(
                console,
                Some(format!("bytes={start}-{}", end - 1)),
                etag.as_deref(),
            )
            .await?;
        if rg.total != len || rg.body.len() as u64 != end - start {
            return Err(invalid("the file changed while it was read"));
        }
        segments.push((start, rg.body));
    }
    let sparse = Sparse { len, segments };
    let decoded = tokio::task::spawn_blocking(move || first_rows(sparse, rows))
        .await
        .map_err(|_| invalid("the rows could not be decoded"))?;
    match decoded {
        Ok((columns, table)) => {
            out["columns"] = json!(columns);
            out["rows"] = json!(table);
        }
        Err(e) => out["note"] = json!(format!("schema only: the rows could not be decoded ({e})")),
    }
    Ok(out)
}

/// The byte range `[start, end)` of the first row group's column chunks, checked against the
/// file (`None`: no rows); a negative or out-of-file offset is an invalid file.
fn first_row_group_range(meta: &ParquetMetaData, len: u64) -> Result<Option<(u64, u64)>, Response> {
    let Some(rg) = meta.row_groups().first() else {
        return Ok(None);
    };
    let mut range: Option<(u64, u64)> = None;
    for c in rg.columns() {
        let data = c.data_page_offset();
        let first = match c.dictionary_page_offset() {
            Some(d) if d > 0 && d < data => d,
            _ => data,
        };
        let size = c.compressed_size();
        let (Ok(first), Ok(size)) = (u64::try_from(first), u64::try_from(size)) else {
            return Err(invalid("a column chunk has a negative offset or size"));
        };
        let end = first
            .checked_add(size)
            .filter(|e| *e <= len)
            .ok_or_else(|| invalid("a column chunk lies outside the file"))?;
        range = Some(match range {
            None => (first, end),
            Some((s, e)) => (s.min(first), e.max(end)),
        });
    }
    Ok(range.filter(|(s, e)| e > s))
}

fn column_names(meta: &ParquetMetaData) -> Vec<String> {
    meta.file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .take(MAX_COLUMNS)
        .map(|c| c.path().string())
        .collect()
}

/// The schema and file metadata.
fn describe(meta: &ParquetMetaData, size: u64) -> Value {
    let fm = meta.file_metadata();
    let schema: Vec<Value> = fm
        .schema_descr()
        .columns()
        .iter()
        .take(MAX_COLUMNS)
        .map(|c| {
            let t = c.self_type();
            json!({
                "name": c.path().string(),
                "type": c.physical_type().to_string(),
                "logical": c.logical_type_ref().map(|l| format!("{l:?}")),
                "repetition": t.get_basic_info().has_repetition().then(|| t.get_basic_info().repetition().to_string()),
            })
        })
        .collect();
    let mut codecs: Vec<String> = meta
        .row_groups()
        .iter()
        .flat_map(|rg| rg.columns().iter().map(|c| c.compression().to_string()))
        .collect();
    codecs.sort();
    codecs.dedup();
    json!({
        "kind": "parquet",
        "size": size,
        "content_type": null,
        "truncated": false,
        "parquet": {
            "num_rows": fm.num_rows(),
            "row_groups": meta.num_row_groups(),
            "created_by": fm.created_by(),
            "codecs": codecs,
            "columns": fm.schema_descr().num_columns(),
            "schema": schema,
        },
    })
}

/// The first `max` rows of the first row group, as strings.
fn first_rows(
    sparse: Sparse,
    max: usize,
) -> parquet::errors::Result<(Vec<String>, Vec<Vec<String>>)> {
    let reader = SerializedFileReader::new(sparse)?;
    let rg = reader.get_row_group(0)?;
    let mut columns = Vec::new();
    let mut table = Vec::new();
    for row in rg.get_row_iter(None)?.take(max) {
        let row = row?;
        if columns.is_empty() {
            columns = row
                .get_column_iter()
                .take(MAX_COLUMNS)
                .map(|(name, _)| name.clone())
                .collect();
        }
        table.push(
            row.get_column_iter()
                .take(MAX_COLUMNS)
                .map(|(_, f)| match f {
                    // A string as it is (Display would quote it).
                    parquet::record::Field::Str(s) => cell(s),
                    other => cell(&other.to_string()),
                })
                .collect(),
        );
    }
    Ok((columns, table))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_records_handle_quotes_and_cuts() {
        let t = "a,b\n\"x,1\",\"say \"\"hi\"\"\"\r\n3,4\n5,";
        let r = csv_records(t, ',', 10, true);
        assert_eq!(
            r,
            vec![vec!["a", "b"], vec!["x,1", "say \"hi\""], vec!["3", "4"]]
        );
        let r = csv_records("a,b\n1,2", ',', 10, false);
        assert_eq!(r, vec![vec!["a", "b"], vec!["1", "2"]]);
        assert_eq!(csv_records("a\n1\n2\n", ',', 2, false).len(), 2);
        assert_eq!(csv_records("a\tb\n", '\t', 5, false), vec![vec!["a", "b"]]);
    }

    #[test]
    fn text_is_cut_on_a_character_boundary() {
        let s = "héllo".as_bytes();
        assert_eq!(utf8_prefix(&s[..2], true), (Some("h".to_string()), true));
        assert_eq!(utf8_prefix(&s[..2], false), (None, false));
        assert_eq!(utf8_prefix(&[0xff, b'a'], true), (None, false));
    }

    #[test]
    fn kinds_follow_names_and_content() {
        let f = |body: &'static [u8], total, ct: Option<&str>| Fetched {
            body: Bytes::from_static(body),
            total,
            content_type: ct.map(String::from),
            etag: None,
        };
        let v = text_preview("a.json", f(b"{\"a\":[1,2]}", 11, None), 10);
        assert_eq!(v["kind"], "json");
        assert!(v["text"].as_str().unwrap().contains("\n"));
        let v = text_preview("a.csv", f(b"x,y\n1,2\n", 8, None), 10);
        assert_eq!(v["columns"], json!(["x", "y"]));
        assert_eq!(v["rows"], json!([["1", "2"]]));
        let v = text_preview("a.bin", f(b"\x00\x01", 2, None), 10);
        assert_eq!(v["kind"], "binary");
        let v = text_preview(
            "notes",
            f(b"<script>x</script>", 100, Some("text/plain")),
            10,
        );
        assert_eq!(
            (v["kind"].as_str(), v["truncated"].as_bool()),
            (Some("text"), Some(true))
        );
    }
}
