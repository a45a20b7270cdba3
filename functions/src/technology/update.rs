use crate::routes::{route, Route};
use lambda_http::{Body, Request, Response};
use shared::auth::Caller;
use shared::domain::asset;
use shared::error::ApiResult;
use shared::state::State;
use shared::{http, store};

pub const ROUTE: Route =
    route!("technology-update", PATCH "/api/v1/technology/{id}", TechnologyWrite, handle);

async fn handle(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    let http::Patch { id, body, expected } = http::patch(&req, "id")?;
    let updated = store::assets::update(state, caller, &id, expected, |current| {
        asset::apply_patch(current, body.clone())
    })
    .await?;
    http::ok_record(&updated, updated.envelope.revision)
}
