use crate::routes::{route, Route};
use lambda_http::{Body, Request, Response};
use shared::auth::Caller;
use shared::domain::attribute;
use shared::error::ApiResult;
use shared::state::State;
use shared::{http, store};

pub const ROUTE: Route = route!("metadata-attributes-create", POST "/api/v1/access-model-metadata/attributes", MetadataWrite, handle);

async fn handle(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    let new = attribute::parse_create(http::json_object(&req, false)?)?;
    let created = store::attributes::create(state, caller, new).await?;
    let location = super::get::ROUTE.location(created.key());
    http::created(&created, &location, created.envelope.revision)
}
