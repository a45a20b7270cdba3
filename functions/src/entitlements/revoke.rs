use crate::routes::{route, Route};
use lambda_http::{Body, Request, Response};
use shared::auth::{Caller, Scope};
use shared::domain::entitlement;
use shared::error::ApiResult;
use shared::state::State;
use shared::{http, store};

pub const NAME: &str = "entitlements-revoke";
pub const ROUTE: Route = route!(NAME, POST "/api/v1/entitlements/{id}/revoke", handle);

async fn handle(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    caller.require(Scope::EntitlementsWrite)?;
    let id = http::path_param(&req, "id")?;
    let (reason, provenance) = entitlement::parse_revoke(http::optional_json_object(&req)?)?;
    let expected = http::if_match(&req)?;
    let revoked =
        store::entitlements::revoke(state, caller, &id, expected, reason, provenance).await?;
    let view = store::entitlements::view(state, &caller.tenant_id, &revoked).await?;
    http::ok_record(&view, revoked.envelope.revision)
}
