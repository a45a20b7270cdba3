use crate::routes::{route, Route};
use lambda_http::{Body, Request, Response};
use shared::auth::{Caller, Scope};
use shared::error::ApiResult;
use shared::state::State;
use shared::{http, store};

pub const NAME: &str = "access-requests-delete";
pub const ROUTE: Route = route!(NAME, DELETE "/api/v1/operations/access-requests/{id}", handle);

async fn handle(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    caller.require(Scope::AccessRequestsWrite)?;
    let id = http::path_param(&req, "id")?;
    store::access_requests::delete(state, caller, &id, http::if_match(&req)?).await?;
    http::no_content()
}
