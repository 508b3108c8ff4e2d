//! A do-nothing S3 endpoint (`--null-server`), to measure the client's own
//! floor: it accepts any request without checking signatures, drains PUT
//! bodies, remembers object sizes and answers GETs with pattern bytes.
//! It runs on its own single-threaded runtime in a separate OS thread.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use anyhow::Result;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Either, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

use crate::body::PatternBody;

type NullBody = Either<Full<Bytes>, PatternBody>;

fn empty() -> NullBody {
    Either::Left(Full::new(Bytes::new()))
}

pub fn start() -> Result<String> {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    std_listener.set_nonblocking(true)?;
    let addr = std_listener.local_addr()?;
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("null server runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
            let sizes: Arc<Mutex<HashMap<String, u64>>> = Default::default();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let sizes = sizes.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| handle(req, sizes.clone()));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
    });
    Ok(format!("http://{addr}"))
}

async fn handle(
    req: Request<Incoming>,
    sizes: Arc<Mutex<HashMap<String, u64>>>,
) -> Result<Response<NullBody>, Infallible> {
    let path = req.uri().path().to_string();
    let is_list = req.uri().query().is_some_and(|q| q.contains("list-type"));
    let method = req.method().clone();
    let mut body = req.into_body();
    let mut n = 0u64;
    while let Some(Ok(f)) = body.frame().await {
        if let Ok(d) = f.into_data() {
            n += d.len() as u64;
        }
    }
    let resp = Response::builder().status(StatusCode::OK);
    Ok(match method {
        Method::PUT => {
            sizes.lock().unwrap().insert(path, n);
            resp.header("etag", "\"0\"").body(empty()).unwrap()
        }
        Method::GET if is_list => {
            // Empty, non-truncated listing: the null server has no index.
            let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult>\
                       <IsTruncated>false</IsTruncated><KeyCount>0</KeyCount></ListBucketResult>";
            resp.body(Either::Left(Full::new(Bytes::from_static(xml.as_bytes()))))
                .unwrap()
        }
        Method::GET => {
            let len = sizes.lock().unwrap().get(&path).copied();
            match len {
                Some(len) => resp
                    .header("content-length", len)
                    .body(Either::Right(PatternBody::new(len, 1)))
                    .unwrap(),
                None => Response::builder()
                    .status(StatusCode::NOT_FOUND)
                    .body(empty())
                    .unwrap(),
            }
        }
        _ => resp.body(empty()).unwrap(),
    })
}
