use crate::routes::{route, Route};
use lambda_http::{Body, Request, Response};
use shared::auth::{Caller, Scope};
use shared::error::ApiResult;
use shared::state::State;
use shared::{http, listing, store};

pub const ROUTE: Route =
    route!("technology-get", GET "/api/v1/technology/{id}", TechnologyRead, handle);

async fn handle(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    let include_deleted = listing::include_deleted(&req, caller, Scope::TechnologyWrite)?;
    let id = http::path_param(&req, "id")?;
    let found = store::assets::get(state, caller, &id, include_deleted).await?;
    http::ok_record(&found, found.envelope.revision)
}
