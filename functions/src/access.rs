//! Access decisions (API.md §9): the OpenID AuthZEN Authorization API 1.0 over the tenant's
//! grants — evaluation, batched evaluations, the three searches, and the PDP metadata document.
//!
//! These routes answer with a client's `X-Request-ID` (`route!(authzen …)`), and their bodies
//! follow AuthZEN's parsing rule (unknown members ignored; `domain::authzen`). They change
//! nothing, so an `Idempotency-Key` header means nothing to them.

use crate::routes::{route, Route};
use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};
use shared::auth::Caller;
use shared::domain::authzen::{self, RESOURCE_TYPE};
use shared::domain::decision::short_circuit;
use shared::error::{ApiError, ApiResult};
use shared::http;
use shared::state::State;
use shared::store::decisions::{self, SearchPage};

pub const EVALUATION: Route = route!(authzen "access-evaluation", POST "/api/v1/access/evaluation", AccessEvaluate, evaluation);
pub const EVALUATIONS: Route = route!(authzen "access-evaluations", POST "/api/v1/access/evaluations", AccessEvaluate, evaluations);
pub const SEARCH_SUBJECT: Route = route!(authzen "access-search-subject", POST "/api/v1/access/search/subject", AccessEvaluate, search_subject);
pub const SEARCH_RESOURCE: Route = route!(authzen "access-search-resource", POST "/api/v1/access/search/resource", AccessEvaluate, search_resource);
pub const SEARCH_ACTION: Route = route!(authzen "access-search-action", POST "/api/v1/access/search/action", AccessEvaluate, search_action);
pub const CONFIGURATION: Route = route!(public authzen "authzen-configuration", GET "/.well-known/authzen-configuration", configuration);

async fn evaluation(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    let question = authzen::evaluation(&http::json_object(&req, false)?)?;
    let mut answers = decisions::evaluate(state, caller, std::slice::from_ref(&question)).await?;
    let answer = answers
        .pop()
        .ok_or_else(|| ApiError::Internal("no decision for one question".into()))?;
    http::ok_json(&answer)
}

async fn evaluations(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    let batch = authzen::evaluations(&http::json_object(&req, false)?)?;
    // Every item is read in the same wave, whatever the semantic: one round trip either way.
    let answers = decisions::evaluate(state, caller, &batch.items).await?;
    if batch.single {
        let answer = answers
            .first()
            .ok_or_else(|| ApiError::Internal("no decision for one question".into()))?;
        return http::ok_json(answer);
    }
    http::ok_json(&json!({ "evaluations": short_circuit(answers, batch.semantic) }))
}

/// A search's answer (AuthZEN §8): each result as `shown`, then the page's token.
fn search_answer<T>(page: SearchPage<T>, shown: impl Fn(T) -> Value) -> ApiResult<Response<Body>> {
    let results: Vec<Value> = page.results.into_iter().map(shown).collect();
    http::ok_json(&json!({"results": results, "page": {"next_token": page.next_token}}))
}

async fn search_subject(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    let search = authzen::subject_search(&http::json_object(&req, false)?)?;
    let page = decisions::search_subjects(state, caller, &search).await?;
    search_answer(page, |(kind, id)| json!({"type": kind, "id": id}))
}

async fn search_resource(
    state: &State,
    caller: &Caller,
    req: Request,
) -> ApiResult<Response<Body>> {
    let search = authzen::resource_search(&http::json_object(&req, false)?)?;
    let page = decisions::search_resources(state, caller, &search).await?;
    search_answer(page, |id| json!({"type": RESOURCE_TYPE, "id": id}))
}

async fn search_action(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    let search = authzen::action_search(&http::json_object(&req, false)?)?;
    let page = decisions::search_actions(state, caller, &search).await?;
    search_answer(page, |name| json!({ "name": name }))
}

/// The PDP metadata (AuthZEN §9): every endpoint under `PUBLIC_BASE_URL`, or, on AWS without
/// it, the API's own domain from API Gateway's request context — never the `Host` or
/// `X-Forwarded-*` headers, which the client writes.
async fn configuration(state: &State, req: Request) -> ApiResult<Response<Body>> {
    let base = match &state.config.public_base_url {
        Some(base) => base.clone(),
        None => gateway_origin(&req).ok_or_else(|| {
            ApiError::Internal("PUBLIC_BASE_URL is not set and no API Gateway domain".into())
        })?,
    };
    let at = |route: &Route| format!("{base}{}", route.path);
    http::ok_json(&json!({
        "policy_decision_point": base,
        "access_evaluation_endpoint": at(&EVALUATION),
        "access_evaluations_endpoint": at(&EVALUATIONS),
        "search_subject_endpoint": at(&SEARCH_SUBJECT),
        "search_resource_endpoint": at(&SEARCH_RESOURCE),
        "search_action_endpoint": at(&SEARCH_ACTION),
    }))
}

/// `https://<requestContext.domainName>` on Lambda; `None` off it (the local server builds its
/// context from `Host`, so it is not trusted there: `make dev` sets `PUBLIC_BASE_URL`).
fn gateway_origin(req: &Request) -> Option<String> {
    use lambda_http::request::RequestContext;
    use lambda_http::RequestExt;
    req.lambda_context_ref()?;
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(ctx) => ctx
            .domain_name
            .as_deref()
            .filter(|d| !d.is_empty())
            .map(|d| format!("https://{d}")),
        _ => None,
    }
}
