use crate::routes::{route, Route};
use lambda_http::{Body, Request, Response};
use shared::auth::Caller;
use shared::domain::entitlement;
use shared::error::ApiResult;
use shared::state::State;
use shared::{http, store};

pub const ROUTE: Route = route!("entitlements-revoke", POST "/api/v1/entitlements/{id}/revoke", EntitlementsWrite, handle);

async fn handle(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    let (reason, provenance) = entitlement::parse_revoke(http::optional_json_object(&req)?)?;
    let target = http::target(&req, "id")?;
    let revoked = store::entitlements::revoke(state, caller, &target, reason, provenance).await?;
    let view = store::entitlements::view(state, &caller.tenant_id, &revoked).await?;
    http::ok_record(&view, revoked.envelope.revision)
}
