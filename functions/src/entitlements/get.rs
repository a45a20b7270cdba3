use crate::routes::{route, Route};
use lambda_http::{Body, Request, Response};
use shared::auth::{Caller, Scope};
use shared::error::ApiResult;
use shared::state::State;
use shared::{http, listing, store};

pub const ROUTE: Route =
    route!("entitlements-get", GET "/api/v1/entitlements/{id}", EntitlementsRead, handle);

async fn handle(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    // Entitlements are revoked, never deleted: `include_deleted` changes nothing here.
    listing::include_deleted(&req, caller, Scope::EntitlementsWrite)?;
    let id = http::path_param(&req, "id")?;
    let found = store::entitlements::get(state, caller, &id).await?;
    let view = store::entitlements::view(state, &caller.tenant_id, &found).await?;
    http::ok_record(&view, found.envelope.revision)
}
