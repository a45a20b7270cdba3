use crate::routes::{route, Route};
use lambda_http::{Body, Request, Response};
use shared::auth::Caller;
use shared::domain::access_request;
use shared::error::ApiResult;
use shared::state::State;
use shared::time::Timestamp;
use shared::{http, store};

pub const ROUTE: Route = route!("access-requests-create", POST "/api/v1/operations/access-requests", AccessRequestsWrite, handle);

async fn handle(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    let body = http::json_object(&req, false)?;
    let draft = access_request::parse_create(body, &caller.sub, Timestamp::now())?;
    let created = store::access_requests::create(state, caller, draft).await?;
    let location = super::get::ROUTE.location(&created.envelope.id);
    http::created(&created, &location, created.envelope.revision)
}
