use crate::routes::{route, Route};
use lambda_http::{Body, Request, Response};
use shared::auth::Caller;
use shared::domain::asset;
use shared::error::ApiResult;
use shared::state::State;
use shared::{http, store};

pub const ROUTE: Route =
    route!("technology-create", POST "/api/v1/technology", TechnologyWrite, handle);

async fn handle(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    let new = asset::parse_create(http::json_object(&req, false)?)?;
    let created = store::assets::create(state, caller, new).await?;
    let location = super::get::ROUTE.location(&created.envelope.id);
    http::created(&created, &location, created.envelope.revision)
}
