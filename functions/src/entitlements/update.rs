use crate::routes::{route, Route};
use lambda_http::{Body, Request, Response};
use shared::auth::Caller;
use shared::domain::entitlement;
use shared::error::ApiResult;
use shared::state::State;
use shared::{http, store};

pub const ROUTE: Route =
    route!("entitlements-update", PATCH "/api/v1/entitlements/{id}", EntitlementsWrite, handle);

async fn handle(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    let http::Patch { target, body } = http::patch(&req, "id")?;
    let updated = store::entitlements::update(state, caller, &target, |current, now| {
        entitlement::apply_patch(current, body.clone(), now)
    })
    .await?;
    let view = store::entitlements::view(state, &caller.tenant_id, &updated).await?;
    http::ok_record(&view, updated.envelope.revision)
}
