//! Lambda handlers as library code, the route table, and the runner every binary uses.
//!
//! A handler is `async fn(&State, &Caller, Request) -> ApiResult<Response>`, thin: parse →
//! authorize → one domain/store call → respond. Its module declares its route (`ROUTE`: the
//! function's name, method, path, scope); the edge around it (log context, request id, the token
//! and its scope, error mapping) is `routes::route!`'s, once for all.

pub mod access;
pub mod access_requests;
pub mod apigw;
pub mod entitlements;
pub mod history;
pub mod iam;
pub mod metadata_attributes;
pub mod routes;
pub mod sweep;
pub mod technology;

use lambda_http::{service_fn, Body, Request, Response};
use routes::Route;
use shared::state::State;
use std::convert::Infallible;

/// The `main` of every API binary: state once per cold start, then `route`'s handler. Each
/// binary names its own route, so the linker keeps that handler only. Invocations are handled
/// one at a time unless AWS_LAMBDA_MAX_CONCURRENCY > 1 (Lambda Managed Instances, `cargo lambda
/// watch --concurrency N`): the state is shared and immutable, so the handler may run concurrently.
pub async fn run(route: Route) -> Result<(), lambda_http::Error> {
    shared::logging::init(route.function);
    let state: &'static State = Box::leak(Box::new(State::from_env().await?));
    let handler = route.handler;
    lambda_http::run_concurrent(service_fn(move |req: Request| async move {
        Ok::<Response<Body>, Infallible>(handler(state, req).await)
    }))
    .await
}
