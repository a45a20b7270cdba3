use crate::routes::{route, Route};
use lambda_http::{Body, Request, Response};
use shared::auth::{Caller, Scope};
use shared::domain::access_request;
use shared::error::ApiResult;
use shared::state::State;
use shared::{http, store};

pub const NAME: &str = "access-requests-update";
pub const ROUTE: Route = route!(NAME, PATCH "/api/v1/operations/access-requests/{id}", handle);

async fn handle(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    caller.require(Scope::AccessRequestsWrite)?;
    let id = http::path_param(&req, "id")?;
    let body = http::json_object(&req, true)?;
    let expected = http::if_match(&req)?;
    let updated =
        store::access_requests::update(state, caller, &id, expected, |current, clears, now| {
            access_request::plan_patch(current, clears, body.clone(), now)
        })
        .await?;
    http::ok_record(&updated, updated.envelope.revision)
}
