use crate::routes::{route, Route};
use lambda_http::{Body, Request, Response};
use shared::auth::{Caller, Scope};
use shared::domain::asset;
use shared::error::ApiResult;
use shared::state::State;
use shared::{http, store};

pub const NAME: &str = "technology-create";
pub const ROUTE: Route = route!(NAME, POST "/api/v1/technology", handle);

async fn handle(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    caller.require(Scope::TechnologyWrite)?;
    let (fields, provenance) = asset::parse_create(http::json_object(&req, false)?)?;
    let created = store::assets::create(state, caller, fields, provenance).await?;
    let location = super::get::ROUTE.location(&created.envelope.id);
    http::created(&created, &location, created.envelope.revision)
}
