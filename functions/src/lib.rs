//! Lambda handlers as library code, the route table, and the runner every binary uses.
//!
//! A handler is thin: parse → authorize → one domain/store call → respond.

pub mod access_requests;
pub mod entitlements;
pub mod iam;
pub mod metadata_attributes;
pub mod routes;
pub mod sweep;
pub mod technology;

use lambda_http::{service_fn, Body, Request, Response};
use shared::state::State;
use std::convert::Infallible;

/// The `main` of every API binary: state once per cold start, then the named handler.
pub async fn run(function: &'static str) -> Result<(), lambda_http::Error> {
    shared::logging::init(function);
    let route =
        routes::by_function(function).ok_or_else(|| format!("no route for function {function}"))?;
    let state: &'static State = Box::leak(Box::new(State::from_env().await?));
    let handler = route.handler;
    lambda_http::run(service_fn(move |req: Request| async move {
        Ok::<Response<Body>, Infallible>(handler(state, req).await)
    }))
    .await
}
