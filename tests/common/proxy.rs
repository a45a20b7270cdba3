//! A fault-injecting HTTP proxy between the SDK and DynamoDB Local.
//!
//! DynamoDB Local never throttles, never fails and always answers, so the fault paths of the
//! store (and what a client is told after them) would otherwise be proved only against mocked
//! SDK errors. The proxy forwards every request unchanged; a test queues faults for the next
//! requests of one operation (`X-Amz-Target`), and it records every request it saw, so a test
//! can check what was sent (a transaction's `ClientRequestToken`) as well as what was stored.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// What happens to one request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Not forwarded: DynamoDB's 500 `InternalServerError`.
    ServerError,
    /// Not forwarded: DynamoDB's 400 `ThrottlingException`.
    Throttle,
    /// Forwarded at once (the write happens); the answer is held this long. Past the SDK's
    /// attempt timeout the SDK has given up on it and retries.
    Delay(Duration),
    /// Forwarded (the write happens); the answer is thrown away and the connection closed.
    DropAnswer,
    /// Not forwarded: this status and JSON body, as DynamoDB would send them.
    Answer(u16, String),
}

/// One request the proxy saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub operation: String,
    pub body: Value,
    pub fault: Option<Fault>,
}

struct Planned {
    operation: String,
    /// Only requests whose body contains this (e.g. one entitlement's id).
    needle: Option<String>,
    fault: Fault,
}

#[derive(Default)]
struct Log {
    plan: VecDeque<Planned>,
    seen: Vec<Seen>,
}

/// A running proxy; `endpoint` goes where `DYNAMODB_ENDPOINT` would.
#[derive(Clone)]
pub struct FaultProxy {
    pub endpoint: String,
    log: Arc<Mutex<Log>>,
}

type Upstream = Client<HttpConnector, Full<Bytes>>;

impl FaultProxy {
    /// Listens on a free port of 127.0.0.1 and forwards to `upstream` (DynamoDB Local's URL).
    pub async fn start(upstream: &str) -> FaultProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fault proxy");
        let addr = listener.local_addr().expect("proxy address");
        let log = Arc::new(Mutex::new(Log::default()));
        let client: Upstream = Client::builder(TokioExecutor::new()).build_http();
        let upstream: hyper::Uri = upstream.parse().expect("upstream URL");
        let shared = log.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (client, upstream, log) = (client.clone(), upstream.clone(), shared.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        handle(req, client.clone(), upstream.clone(), log.clone())
                    });
                    // A dropped answer ends the connection with an error: that is the point.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        FaultProxy {
            endpoint: format!("http://{addr}"),
            log,
        }
    }

    /// The next requests of `operation` (e.g. `"TransactWriteItems"`) meet these faults, one
    /// each, in order; every other request passes.
    pub fn inject(&self, operation: &str, faults: impl IntoIterator<Item = Fault>) {
        self.plan(operation, None, faults);
    }

    /// As `inject`, for the requests of `operation` whose body contains `needle` only.
    pub fn inject_matching(
        &self,
        operation: &str,
        needle: &str,
        faults: impl IntoIterator<Item = Fault>,
    ) {
        self.plan(operation, Some(needle), faults);
    }

    fn plan(&self, operation: &str, needle: Option<&str>, faults: impl IntoIterator<Item = Fault>) {
        let mut log = lock(&self.log);
        for fault in faults {
            log.plan.push_back(Planned {
                operation: operation.to_string(),
                needle: needle.map(String::from),
                fault,
            });
        }
    }

    /// The requests of `operation` seen so far, oldest first.
    pub fn seen(&self, operation: &str) -> Vec<Seen> {
        lock(&self.log)
            .seen
            .iter()
            .filter(|s| s.operation == operation)
            .cloned()
            .collect()
    }

    /// Faults queued but not met yet (a test that queued more than it used is wrong).
    pub fn pending(&self) -> usize {
        lock(&self.log).plan.len()
    }
}

fn lock(log: &Mutex<Log>) -> MutexGuard<'_, Log> {
    log.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn io_error(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

async fn handle(
    req: Request<Incoming>,
    client: Upstream,
    upstream: hyper::Uri,
    log: Arc<Mutex<Log>>,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map_err(io_error)?.to_bytes();
    let operation = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.rsplit('.').next())
        .unwrap_or_default()
        .to_string();
    let fault = {
        let mut log = lock(&log);
        let text = String::from_utf8_lossy(&body);
        let fault = log
            .plan
            .iter()
            .position(|p| {
                p.operation == operation && p.needle.as_ref().is_none_or(|n| text.contains(n))
            })
            .and_then(|i| log.plan.remove(i))
            .map(|p| p.fault);
        log.seen.push(Seen {
            operation,
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
            fault: fault.clone(),
        });
        fault
    };
    match &fault {
        Some(Fault::ServerError) => {
            return Ok(dynamodb_error(
                500,
                "InternalServerError",
                "Internal server error",
            ))
        }
        Some(Fault::Throttle) => {
            return Ok(dynamodb_error(
                400,
                "ThrottlingException",
                "Rate of requests exceeds the allowed throughput.",
            ))
        }
        Some(Fault::Answer(status, body)) => return Ok(answer(*status, body.clone().into())),
        _ => {}
    }

    let mut uri = upstream.into_parts();
    uri.path_and_query = parts.uri.path_and_query().cloned();
    let mut forward = Request::builder()
        .method(parts.method.clone())
        .uri(hyper::Uri::from_parts(uri).map_err(io_error)?);
    for (name, value) in &parts.headers {
        if name != "host" {
            forward = forward.header(name, value);
        }
    }
    let reply = client
        .request(forward.body(Full::new(body)).map_err(io_error)?)
        .await
        .map_err(io_error)?;
    let status = reply.status();
    let headers = reply.headers().clone();
    let bytes = reply
        .into_body()
        .collect()
        .await
        .map_err(io_error)?
        .to_bytes();
    let mut response = Response::builder().status(status);
    for (name, value) in &headers {
        // The body is re-framed here.
        if name != "content-length" && name != "transfer-encoding" {
            response = response.header(name, value);
        }
    }
    let response = response.body(Full::new(bytes)).map_err(io_error)?;

    match fault {
        Some(Fault::DropAnswer) => Err(io_error("answer dropped by the fault proxy")),
        Some(Fault::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            Ok(response)
        }
        _ => Ok(response),
    }
}

fn answer(status: u16, body: Bytes) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.0")
        .body(Full::new(body))
        .unwrap_or_default()
}

/// An error the way DynamoDB words it on the wire.
fn dynamodb_error(status: u16, code: &str, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({
        "__type": format!("com.amazonaws.dynamodb.v20120810#{code}"),
        "message": message,
    });
    answer(status, body.to_string().into())
}
