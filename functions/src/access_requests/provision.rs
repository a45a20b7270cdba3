use crate::routes::{route, Route};
use lambda_http::{Body, Request, Response};
use shared::auth::Caller;
use shared::domain::access_request;
use shared::error::ApiResult;
use shared::state::State;
use shared::{http, store};

pub const ROUTE: Route = route!("access-requests-provision", POST "/api/v1/operations/access-requests/{id}/provision", AccessRequestsProvision, handle);

async fn handle(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    let body = access_request::parse_decision(http::optional_json_object(&req)?)?;
    let target = http::target(&req, "id")?;
    let provisioned = store::access_requests::provision(state, caller, &target, body).await?;
    http::ok_record(&provisioned, provisioned.envelope.revision)
}
