use crate::routes::{route, Route};
use lambda_http::{Body, Request, Response};
use shared::auth::Caller;
use shared::error::ApiResult;
use shared::state::State;
use shared::{http, store};

pub const ROUTE: Route = route!("metadata-attributes-update", PATCH "/api/v1/access-model-metadata/attributes/{key}", MetadataWrite, handle);

async fn handle(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    let updated = store::attributes::update(state, caller, &http::patch(&req, "key")?).await?;
    http::ok_record(&updated, updated.envelope.revision)
}
