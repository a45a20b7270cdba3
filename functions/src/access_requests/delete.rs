use crate::routes::{route, Route};
use lambda_http::{Body, Request, Response};
use shared::auth::Caller;
use shared::error::ApiResult;
use shared::state::State;
use shared::{http, store};

pub const ROUTE: Route = route!("access-requests-delete", DELETE "/api/v1/operations/access-requests/{id}", AccessRequestsWrite, handle);

async fn handle(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    store::access_requests::delete(state, caller, &http::target(&req, "id")?).await?;
    http::no_content()
}
