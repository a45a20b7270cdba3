use crate::routes::{route, Route};
use lambda_http::{Body, Request, Response};
use shared::auth::{Caller, Scope};
use shared::error::{ApiError, ApiResult};
use shared::state::State;
use shared::{http, listing, store};

pub const ROUTE: Route = route!("metadata-attributes-get", GET "/api/v1/access-model-metadata/attributes/{key}", MetadataRead, handle);

async fn handle(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    // Attributes are never deleted: `include_deleted` changes nothing here.
    listing::include_deleted(&req, caller, Scope::MetadataWrite)?;
    let key = http::path_param(&req, "key")?;
    let found = store::attributes::get(state, &caller.tenant_id, &key)
        .await?
        .ok_or(ApiError::NotFound)?;
    http::ok_record(&found, found.envelope.revision)
}
