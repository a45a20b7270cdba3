//! `POST …/{id}/approve` and `POST …/{id}/reject`: one decision, two functions.

use crate::routes::{route, Route};
use lambda_http::{Body, Request, Response};
use shared::auth::Caller;
use shared::domain::access_request::{self, Decision};
use shared::error::ApiResult;
use shared::state::State;
use shared::{http, store};

pub const APPROVE: Route = route!("access-requests-approve", POST "/api/v1/operations/access-requests/{id}/approve", AccessRequestsApprove, approve);
pub const REJECT: Route = route!("access-requests-reject", POST "/api/v1/operations/access-requests/{id}/reject", AccessRequestsApprove, reject);

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
    let body = access_request::parse_decision(http::optional_json_object(&req)?)?;
    let target = http::target(&req, "id")?;
    let decided = store::access_requests::decide(state, caller, &target, decision, body).await?;
    http::ok_record(&decided, decided.envelope.revision)
}
