use crate::routes::{route, Route};
use lambda_http::{Body, Request, Response};
use shared::auth::{Caller, Scope};
use shared::domain::asset;
use shared::error::ApiResult;
use shared::state::State;
use shared::{http, store};

pub const NAME: &str = "technology-update";
pub const ROUTE: Route = route!(NAME, PATCH "/api/v1/technology/{id}", handle);

async fn handle(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    caller.require(Scope::TechnologyWrite)?;
    let id = http::path_param(&req, "id")?;
    let body = http::json_object(&req, true)?;
    let expected = http::if_match(&req)?;
    let updated = store::assets::update(state, caller, &id, expected, |current| {
        asset::apply_patch(current, body.clone())
    })
    .await?;
    http::ok_record(&updated, updated.envelope.revision)
}
