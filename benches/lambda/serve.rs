//! The bench's two local HTTP servers (the Runtime API emulator, the recording proxy) accept and
//! serve connections the same way; each brings its own request handler and state.

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::net::SocketAddr;
use tokio::task::JoinHandle;

/// Serves HTTP/1.1 on a free port of 127.0.0.1 until the returned task is aborted: each
/// connection on a task of its own, each request handed to `handle` with a clone of `state`.
pub async fn serve<S, F, Fut, E>(what: &str, state: S, handle: F) -> (SocketAddr, JoinHandle<()>)
where
    S: Clone + Send + Sync + 'static,
    F: Fn(Request<Incoming>, S) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<Full<Bytes>>, E>> + Send + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind the {what}: {e}"));
    let address = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("{what} address: {e}"));
    let server = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            // The emulator times the answers it gets: Nagle's delay would count as the binary's.
            let _ = stream.set_nodelay(true);
            let state = state.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| handle(req, state.clone()));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (address, server)
}
