//! A recording HTTP proxy in front of DynamoDB Local: every request is forwarded unchanged and
//! kept (operation, JSON body, sizes), so the bench knows exactly what a binary sent.

use crate::serve::serve;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use std::sync::{Arc, Mutex, MutexGuard};

/// One request seen on the wire.
#[derive(Debug, Clone)]
pub struct Seen {
    /// `X-Amz-Target`'s operation (`GetItem`, `TransactWriteItems`, …).
    pub operation: String,
    pub body: Value,
    pub request_bytes: usize,
    pub response_bytes: usize,
}

/// What forwarding a request takes: the way to DynamoDB Local and the log it is kept in.
#[derive(Clone)]
struct Hop {
    client: Client<HttpConnector, Full<Bytes>>,
    upstream: hyper::Uri,
    seen: Arc<Mutex<Vec<Seen>>>,
}

pub struct Recorder {
    /// Where `DYNAMODB_ENDPOINT` points to go through the proxy.
    pub endpoint: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    server: tokio::task::JoinHandle<()>,
}

fn lock(m: &Mutex<Vec<Seen>>) -> MutexGuard<'_, Vec<Seen>> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Recorder {
    pub async fn start(upstream: &str) -> Recorder {
        let hop = Hop {
            client: Client::builder(TokioExecutor::new()).build_http(),
            upstream: upstream.parse().expect("upstream URL"),
            seen: Arc::new(Mutex::new(Vec::new())),
        };
        let seen = hop.seen.clone();
        let (address, server) = serve("recorder", hop, forward).await;
        Recorder {
            endpoint: format!("http://{address}"),
            seen,
            server,
        }
    }

    /// The requests seen since the last call, oldest first.
    pub fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut *lock(&self.seen))
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn forward(
    req: Request<Incoming>,
    hop: Hop,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let (mut parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map_err(std::io::Error::other)?
        .to_bytes();
    let operation = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.rsplit('.').next())
        .unwrap_or("unknown")
        .to_string();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    parts.uri = format!(
        "{}://{}{path}",
        hop.upstream.scheme_str().unwrap_or("http"),
        hop.upstream.authority().map_or("", |a| a.as_str())
    )
    .parse()
    .map_err(std::io::Error::other)?;
    let request_bytes = body.len();
    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let answer = hop
        .client
        .request(Request::from_parts(parts, Full::new(body)))
        .await
        .map_err(std::io::Error::other)?;
    let (parts, body) = answer.into_parts();
    let body = body
        .collect()
        .await
        .map_err(std::io::Error::other)?
        .to_bytes();
    lock(&hop.seen).push(Seen {
        operation,
        body: json,
        request_bytes,
        response_bytes: body.len(),
    });
    Ok(Response::from_parts(parts, Full::new(body)))
}
