//! A local Lambda Runtime API (the 2018-06-01 interface a Lambda binary talks to through
//! `AWS_LAMBDA_RUNTIME_API`), one per process: events are queued here, the binary long-polls
//! `GET /runtime/invocation/next` for them and posts its answer back, and the answer's arrival
//! is timed here.

use crate::serve::serve;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot};

const PREFIX: &str = "/2018-06-01/runtime";
/// The deadline the binary is told (the functions' Lambda timeout).
const TIMEOUT: Duration = Duration::from_secs(10);

/// How an invocation ended, and when its answer had fully arrived.
pub enum Outcome {
    Response { body: Bytes, at: Instant },
    Error { body: Bytes },
}

struct Invocation {
    id: String,
    event: Bytes,
    done: oneshot::Sender<Outcome>,
}

struct Shared {
    next: tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>,
    pending: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    init_error: Mutex<Option<String>>,
    arn: String,
}

pub struct Emulator {
    /// `host:port`, for `AWS_LAMBDA_RUNTIME_API`.
    pub address: String,
    queue: mpsc::UnboundedSender<Invocation>,
    shared: Arc<Shared>,
    seq: AtomicU64,
    server: tokio::task::JoinHandle<()>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// An invocation queued and not answered yet.
pub struct Pending {
    done: oneshot::Receiver<Outcome>,
}

impl Emulator {
    pub async fn start(function: &str) -> Emulator {
        let (queue, next) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            next: tokio::sync::Mutex::new(next),
            pending: Mutex::new(HashMap::new()),
            init_error: Mutex::new(None),
            arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{function}"),
        });
        let (address, server) = serve("Runtime API emulator", shared.clone(), handle).await;
        Emulator {
            address: address.to_string(),
            queue,
            shared,
            seq: AtomicU64::new(0),
            server,
        }
    }

    /// Queues `event`; the binary gets it on its next poll.
    pub fn submit(&self, event: Bytes) -> Pending {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        let (done, rx) = oneshot::channel();
        let id = format!("bench-{n:08}-0000-4000-8000-000000000000");
        let _ = self.queue.send(Invocation { id, event, done });
        Pending { done: rx }
    }

    /// The answer to a submitted event (an error when the binary failed or took over `limit`).
    pub async fn wait(&self, pending: Pending, limit: Duration) -> Result<Outcome, String> {
        match tokio::time::timeout(limit, pending.done).await {
            Ok(Ok(outcome)) => Ok(outcome),
            _ => Err(match lock(&self.shared.init_error).clone() {
                Some(e) => format!("init error: {e}"),
                None => format!("no answer within {limit:?}"),
            }),
        }
    }

    /// One event, answered: the body and how long the answer took from the moment it was queued.
    pub async fn invoke(&self, event: Bytes) -> Result<(Bytes, Duration), String> {
        let start = Instant::now();
        let pending = self.submit(event);
        match self.wait(pending, TIMEOUT).await? {
            Outcome::Response { body, at } => Ok((body, at - start)),
            Outcome::Error { body } => Err(String::from_utf8_lossy(&body).into_owned()),
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn reply(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = status;
    resp
}

async fn handle(
    req: Request<Incoming>,
    state: Arc<Shared>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let path = req.uri().path().to_string();
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return Ok(reply(StatusCode::NOT_FOUND, Bytes::new()));
    };
    if req.method() == Method::GET && rest == "/invocation/next" {
        let invocation = state.next.lock().await.recv().await;
        let Some(inv) = invocation else {
            // The bench is done with this binary: it is about to be killed.
            return Ok(reply(StatusCode::GONE, Bytes::new()));
        };
        lock(&state.pending).insert(inv.id.clone(), inv.done);
        let deadline = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            + TIMEOUT;
        let mut resp = reply(StatusCode::OK, inv.event);
        let headers = resp.headers_mut();
        let mut set = |name: &'static str, value: String| {
            if let Ok(v) = value.parse() {
                headers.insert(name, v);
            }
        };
        set("content-type", "application/json".into());
        set("lambda-runtime-aws-request-id", inv.id.clone());
        set(
            "lambda-runtime-deadline-ms",
            deadline.as_millis().to_string(),
        );
        set("lambda-runtime-invoked-function-arn", state.arn.clone());
        set(
            "lambda-runtime-trace-id",
            "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0".into(),
        );
        return Ok(resp);
    }
    if req.method() != Method::POST {
        return Ok(reply(StatusCode::METHOD_NOT_ALLOWED, Bytes::new()));
    }
    let body = req.into_body().collect().await?.to_bytes();
    let at = Instant::now();
    if rest == "/init/error" {
        *lock(&state.init_error) = Some(String::from_utf8_lossy(&body).into_owned());
        return Ok(reply(StatusCode::ACCEPTED, Bytes::new()));
    }
    let answered = rest
        .strip_prefix("/invocation/")
        .and_then(|r| r.rsplit_once('/'));
    let outcome = match answered {
        Some((id, "response")) => Some((id, Outcome::Response { body, at })),
        Some((id, "error")) => Some((id, Outcome::Error { body })),
        _ => None,
    };
    let Some((id, outcome)) = outcome else {
        return Ok(reply(StatusCode::NOT_FOUND, Bytes::new()));
    };
    match lock(&state.pending).remove(id) {
        Some(done) => {
            let _ = done.send(outcome);
            Ok(reply(StatusCode::ACCEPTED, Bytes::new()))
        }
        None => Ok(reply(StatusCode::BAD_REQUEST, Bytes::new())),
    }
}
