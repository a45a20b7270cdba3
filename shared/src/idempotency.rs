//! Safe retries (API.md §11): the edge of a write that may carry an `Idempotency-Key`.
//!
//! A first request is processed with its key claimed: the transaction of its write carries the
//! key and the answer (`Tx::answer`), and an answer that wrote nothing (a no-op 200, a kept 4xx)
//! is kept on its own. A request whose key is already held learns it from that key's
//! condition, in the transaction or the lone put, and answers with what the key kept: the
//! answer, replayed, for the same request; 422 for another; 409 while it cannot be read. So a
//! first request costs no read, and only a retry pays one.

use crate::auth::Caller;
use crate::domain::idempotency::{self as domain, keeps, Kept, Stored, Success};
use crate::error::{ApiError, ApiResult};
use crate::http::MAX_BODY_BYTES;
use crate::store::idempotency::Claim;
use crate::store::Store;
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use std::future::Future;
use std::sync::Arc;

/// Runs `handler` for a write of route `success` answers for, keeping its answer under the
/// request's key when it sent one. Reads (`GET`) ignore the header.
pub async fn serve<F, Fut>(
    store: &Store,
    caller: &Caller,
    req: Request,
    success: Success,
    handler: F,
) -> ApiResult<Response<Body>>
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = ApiResult<Response<Body>>>,
{
    if !matches!(req.method().as_str(), "POST" | "PATCH" | "DELETE") {
        return handler(req).await;
    }
    let mut sent = req.headers().get_all(domain::HEADER).iter();
    let first = sent.next();
    if sent.next().is_some() {
        return Err(ApiError::field("Idempotency-Key", "may be sent only once"));
    }
    let Some(key) = domain::parse_key(first.map(|v| v.as_bytes()))? else {
        return handler(req).await;
    };
    let Some(fingerprint) = fingerprint(&req)? else {
        // A body too large or unparsable is refused before it is read: nothing to keep.
        return handler(req).await;
    };
    let claim = Arc::new(Claim::new(
        &caller.tenant_id,
        caller.app_id.as_deref(),
        &caller.sub,
        key,
        fingerprint,
        success,
        caller.request_id.clone(),
    ));
    let result = claim.scope(Box::pin(handler(req))).await;
    if let Some(kept) = claim.committed() {
        // The write happened and kept this answer: it is the answer, whatever came after.
        return kept.response(false);
    }
    match result {
        Err(ApiError::IdempotencyKeyTaken) => replay(store, &claim).await,
        Ok(resp) => keep(store, &claim, resp).await,
        Err(err) if keeps(Some(&err), err.status()) => {
            keep(store, &claim, err.into_response(&claim.request_id)).await
        }
        Err(err) => match claim.read(store).await {
            // Not an answer to keep; but one kept for this key before is the answer.
            Ok(Some(stored)) => answer(&claim, Some(stored)),
            _ => Err(err),
        },
    }
}

/// Keeps an answer that wrote nothing, unless a live key is already there (then its answer).
async fn keep(store: &Store, claim: &Claim, resp: Response<Body>) -> ApiResult<Response<Body>> {
    if !keeps(None, resp.status().as_u16()) {
        return Ok(resp);
    }
    let kept = Kept::of(&resp, &claim.request_id);
    if claim.keep_alone(store, &kept).await? {
        Ok(resp)
    } else {
        replay(store, claim).await
    }
}

/// The answer the key kept: replayed for the same request, 422 for another, 409 while it
/// cannot be read (it expired between its condition and this read).
async fn replay(store: &Store, claim: &Claim) -> ApiResult<Response<Body>> {
    answer(claim, claim.read(store).await?)
}

/// What the key `stored` (live, or `None`) answers this request.
fn answer(claim: &Claim, stored: Option<Stored>) -> ApiResult<Response<Body>> {
    match stored {
        Some(stored) if stored.fingerprint == claim.fingerprint => {
            // This request's own write, whose store answer was lost on the way back: its
            // answer, not a replay.
            let own = stored.kept.request_id == claim.request_id;
            stored.kept.response(!own)
        }
        Some(_) => Err(ApiError::IdempotencyKeyReused),
        None => Err(ApiError::IdempotencyKeyTaken),
    }
}

/// The request's fingerprint, or `None` when its body cannot be parsed (or is too large): such
/// a request is refused (400, 413) without being kept.
fn fingerprint(req: &Request) -> ApiResult<Option<String>> {
    let bytes: &[u8] = match req.body() {
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Ok(None);
    }
    let body = if bytes.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(v) => Some(v),
            Err(_) => return Ok(None),
        }
    };
    let if_match = req
        .headers()
        .get(http::header::IF_MATCH)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    domain::fingerprint(
        req.method().as_str(),
        req.uri().path(),
        if_match.as_deref(),
        body.as_ref(),
    )
    .map(Some)
}
