use crate::routes::{route, Route};
use lambda_http::{Body, Request, Response};
use shared::auth::Caller;
use shared::error::ApiResult;
use shared::state::State;
use shared::{http, store};

pub const ROUTE: Route =
    route!("technology-update", PATCH "/api/v1/technology/{id}", TechnologyWrite, handle);

async fn handle(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    let updated = store::assets::update(state, caller, &http::patch(&req, "id")?).await?;
    http::ok_record(&updated, updated.envelope.revision)
}
