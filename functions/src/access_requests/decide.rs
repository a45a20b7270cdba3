//! `POST …/{id}/approve` and `POST …/{id}/reject`: one decision, two functions.

use crate::routes::{route, Route};
use lambda_http::{Body, Request, Response};
use shared::auth::{Caller, Scope};
use shared::domain::access_request::{self, Decision};
use shared::error::ApiResult;
use shared::state::State;
use shared::{http, store};

pub const APPROVE_NAME: &str = "access-requests-approve";
pub const APPROVE: Route = route!(
    APPROVE_NAME,
    POST "/api/v1/operations/access-requests/{id}/approve",
    approve
);
pub const REJECT_NAME: &str = "access-requests-reject";
pub const REJECT: Route = route!(
    REJECT_NAME,
    POST "/api/v1/operations/access-requests/{id}/reject",
    reject
);

async fn approve(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    decide(state, caller, req, Decision::Approve).await
}

async fn reject(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    decide(state, caller, req, Decision::Reject).await
}

async fn decide(
    state: &State,
    caller: &Caller,
    req: Request,
    decision: Decision,
) -> ApiResult<Response<Body>> {
    caller.require(Scope::AccessRequestsApprove)?;
    let id = http::path_param(&req, "id")?;
    let body = access_request::parse_decision(http::optional_json_object(&req)?)?;
    let decided =
        store::access_requests::decide(state, caller, &id, http::if_match(&req)?, decision, body)
            .await?;
    http::ok_record(&decided, decided.envelope.revision)
}
