use lambda_http::{Body, Request, Response};
use shared::auth::Scope;
use shared::domain::entitlement;
use shared::state::State;
use shared::{http, store};

pub async fn handle(state: &State, req: Request) -> Response<Body> {
    http::serve("entitlements-update", req, |req| async move {
        let caller = state.caller(&req).await?;
        caller.require(Scope::EntitlementsWrite)?;
        let id = http::path_param(&req, "id")?;
        let body = http::json_object(&req, true)?;
        let expected = http::if_match(&req)?;
        let updated = store::entitlements::update(state, &caller, &id, expected, |current, now| {
            entitlement::apply_patch(current, body.clone(), now)
        })
        .await?;
        let view = store::entitlements::view(state, &caller.tenant_id, &updated).await?;
        http::ok_record(&view, updated.envelope.revision)
    })
    .await
}
