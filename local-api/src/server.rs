//! The HTTP/1.1 server: accept, read a bounded body, dispatch through the real route table, log.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::{Body as HttpBody, Bytes};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use shared::http::MAX_BODY_BYTES;
use shared::state::State;
use tokio::net::TcpListener;

use crate::convert;
use functions::apigw::{self, Incoming};

/// A body is read up to `MAX_BODY_BYTES` + 1, so the handler answers 413; past that, up to this
/// much more is read and thrown away, so the client gets to read the 413 instead of a reset
/// connection; past it the connection is closed.
const DRAIN_LIMIT: usize = 8 * 1024 * 1024;
const DRAIN_TIME: Duration = Duration::from_secs(5);
/// How long in-flight requests get to finish at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A request body read up to a bound.
#[derive(Debug, PartialEq, Eq)]
pub struct BoundedBody {
    /// At most `keep` bytes.
    pub bytes: Vec<u8>,
    /// The body had more than `keep` bytes.
    pub truncated: bool,
    /// Everything was read (the connection can be reused).
    pub complete: bool,
}

/// Reads at most `keep` bytes of `body`; when there is more, reads (and drops) up to `drain` bytes
/// more within `drain_time`, never holding more than `keep` bytes in memory.
pub async fn read_bounded<B>(
    mut body: B,
    keep: usize,
    drain: usize,
    drain_time: Duration,
) -> Result<BoundedBody, B::Error>
where
    B: HttpBody<Data = Bytes> + Unpin,
{
    let mut bytes = Vec::new();
    let mut truncated = false;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            let room = keep - bytes.len();
            if data.len() <= room {
                bytes.extend_from_slice(&data);
            } else {
                bytes.extend_from_slice(&data[..room]);
                truncated = true;
                break;
            }
        }
    }
    if !truncated {
        return Ok(BoundedBody {
            bytes,
            truncated,
            complete: true,
        });
    }
    let deadline = tokio::time::Instant::now() + drain_time;
    let mut drained = 0usize;
    let complete = loop {
        if drained > drain {
            break false;
        }
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_elapsed) => break false,
            Ok(None) => break true,
            Ok(Some(Err(_))) => break false,
            Ok(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    drained += data.len();
                }
            }
        }
    };
    Ok(BoundedBody {
        bytes,
        truncated,
        complete,
    })
}

/// Serves until `shutdown` completes, then lets in-flight requests finish (for a while).
pub async fn serve(listener: TcpListener, state: State, shutdown: impl Future<Output = ()>) {
    let state = Arc::new(state);
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file descriptors and the like: don't spin.
                        tracing::warn!(error = %error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let state = Arc::clone(&state);
                let service = service_fn(move |request| handle(Arc::clone(&state), peer, request));
                let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
                tokio::spawn(async move {
                    if let Err(error) = connection.await {
                        tracing::debug!(error = %error, peer = %peer, "connection ended with an error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tracing::info!("shutting down");
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("requests still running after {SHUTDOWN_GRACE:?}; stopping anyway");
        }
    }
}

async fn handle<B>(
    state: Arc<State>,
    peer: SocketAddr,
    request: Request<B>,
) -> Result<Response<Full<Bytes>>, Infallible>
where
    B: HttpBody<Data = Bytes> + Unpin + Send + 'static,
    B::Error: std::fmt::Display,
{
    let started = Instant::now();
    let request_id = ulid::Ulid::generate().to_string();
    let (parts, body) = request.into_parts();
    let method = parts.method.clone();
    let path = parts.uri.path().to_owned();

    // The explorer (`/docs`, no token needed); every other path goes to the API's route table.
    let response = match crate::docs::route(&method, &path, &parts.headers) {
        Some(response) => response,
        None => api(state, peer, parts, body, &request_id).await,
    };

    tracing::info!(
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        request_id = %request_id,
        duration_ms = started.elapsed().as_millis() as u64,
        "request"
    );
    Ok(response)
}

/// The API's answer: the body read within bounds, then the request dispatched through the
/// route table like API Gateway would.
async fn api<B>(
    state: Arc<State>,
    peer: SocketAddr,
    parts: http::request::Parts,
    body: B,
    request_id: &str,
) -> Response<Full<Bytes>>
where
    B: HttpBody<Data = Bytes> + Unpin + Send + 'static,
    B::Error: std::fmt::Display,
{
    match read_bounded(body, MAX_BODY_BYTES + 1, DRAIN_LIMIT, DRAIN_TIME).await {
        Err(error) => {
            tracing::warn!(request_id = %request_id, error = %error, "could not read the request body");
            convert::problem(
                StatusCode::BAD_REQUEST,
                "The request body could not be read.",
                request_id,
            )
        }
        Ok(body) => {
            let incoming = Incoming {
                method: parts.method,
                uri: parts.uri,
                headers: parts.headers,
                body: body.bytes,
                peer: peer.ip(),
            };
            let request = apigw::request(incoming, request_id);
            // A panicking handler must not take the connection (or the server) with it.
            let dispatched =
                tokio::spawn(async move { functions::routes::dispatch(&state, request).await })
                    .await;
            let mut response = match dispatched {
                Ok(response) => convert::hyper_response(response),
                Err(error) => {
                    tracing::error!(request_id = %request_id, error = %error, "the handler panicked");
                    convert::problem(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "An unexpected error occurred.",
                        request_id,
                    )
                }
            };
            if !body.complete {
                // The rest of the body was not read: the connection cannot carry another request.
                response.headers_mut().insert(
                    http::header::CONNECTION,
                    http::HeaderValue::from_static("close"),
                );
            }
            response
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::body::Frame;
    use std::collections::VecDeque;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    /// A body that arrives in the given frames.
    struct Chunked(VecDeque<Bytes>);

    impl HttpBody for Chunked {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            Poll::Ready(self.0.pop_front().map(|chunk| Ok(Frame::data(chunk))))
        }
    }

    fn chunked(chunks: Vec<Vec<u8>>) -> Chunked {
        Chunked(chunks.into_iter().map(Bytes::from).collect())
    }

    #[tokio::test]
    async fn small_bodies_are_read_whole() {
        let body = read_bounded(Full::new(Bytes::from_static(b"hello")), 10, 100, DRAIN_TIME)
            .await
            .unwrap();
        assert_eq!(
            body,
            BoundedBody {
                bytes: b"hello".to_vec(),
                truncated: false,
                complete: true
            }
        );
    }

    #[tokio::test]
    async fn large_bodies_stop_one_byte_past_the_limit() {
        let limit = MAX_BODY_BYTES + 1;
        let chunks = vec![vec![b'a'; 100_000]; 10]; // 1 MB in 10 frames
        let body = read_bounded(chunked(chunks), limit, DRAIN_LIMIT, DRAIN_TIME)
            .await
            .unwrap();
        assert_eq!(body.bytes.len(), limit);
        assert!(body.truncated);
        assert!(body.complete, "1 MB is within the drain limit");
    }

    #[tokio::test]
    async fn huge_bodies_are_not_drained_forever() {
        let chunks = vec![vec![0u8; 1_000_000]; 20]; // 20 MB
        let body = read_bounded(chunked(chunks), 10, 2_000_000, DRAIN_TIME)
            .await
            .unwrap();
        assert_eq!(body.bytes.len(), 10);
        assert!(body.truncated);
        assert!(!body.complete);
    }

    #[tokio::test]
    async fn a_body_exactly_at_the_limit_is_not_truncated() {
        let body = read_bounded(chunked(vec![vec![1; 4], vec![2; 6]]), 10, 0, DRAIN_TIME)
            .await
            .unwrap();
        assert_eq!(body.bytes.len(), 10);
        assert!(!body.truncated);
        assert!(body.complete);
    }
}
