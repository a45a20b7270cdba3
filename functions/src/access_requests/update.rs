use crate::routes::{route, Route};
use lambda_http::{Body, Request, Response};
use shared::auth::Caller;
use shared::domain::access_request;
use shared::error::ApiResult;
use shared::state::State;
use shared::{http, store};

pub const ROUTE: Route = route!("access-requests-update", PATCH "/api/v1/operations/access-requests/{id}", AccessRequestsWrite, handle);

async fn handle(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    let http::Patch { target, body } = http::patch(&req, "id")?;
    let updated = store::access_requests::update(state, caller, &target, |current, now| {
        access_request::plan_patch(current, body.clone(), now)
    })
    .await?;
    http::ok_record(&updated, updated.envelope.revision)
}
