use crate::routes::{route, Route};
use lambda_http::{Body, Request, Response};
use shared::auth::{Caller, Scope};
use shared::error::ApiResult;
use shared::state::State;
use shared::{http, listing, store};

pub const ROUTE: Route = route!("access-requests-get", GET "/api/v1/operations/access-requests/{id}", AccessRequestsRead, handle);

async fn handle(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    let include_deleted = listing::include_deleted(&req, caller, Scope::AccessRequestsWrite)?;
    let id = http::path_param(&req, "id")?;
    let found = store::access_requests::get(state, caller, &id, include_deleted).await?;
    http::ok_record(&found, found.envelope.revision)
}
