use crate::routes::{route, Route};
use lambda_http::{Body, Request, Response};
use shared::auth::{Caller, Scope};
use shared::domain::entitlement;
use shared::error::ApiResult;
use shared::state::State;
use shared::{http, store};

pub const NAME: &str = "entitlements-update";
pub const ROUTE: Route = route!(NAME, PATCH "/api/v1/entitlements/{id}", handle);

async fn handle(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    caller.require(Scope::EntitlementsWrite)?;
    let id = http::path_param(&req, "id")?;
    let body = http::json_object(&req, true)?;
    let expected = http::if_match(&req)?;
    let updated = store::entitlements::update(state, caller, &id, expected, |current, now| {
        entitlement::apply_patch(current, body.clone(), now)
    })
    .await?;
    let view = store::entitlements::view(state, &caller.tenant_id, &updated).await?;
    http::ok_record(&view, updated.envelope.revision)
}
