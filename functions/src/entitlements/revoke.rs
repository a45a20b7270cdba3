use lambda_http::{Body, Request, Response};
use shared::auth::Scope;
use shared::domain::entitlement;
use shared::state::State;
use shared::{http, store};

pub async fn handle(state: &State, req: Request) -> Response<Body> {
    http::serve("entitlements-revoke", req, |req| async move {
        let caller = state.caller(&req).await?;
        caller.require(Scope::EntitlementsWrite)?;
        let id = http::path_param(&req, "id")?;
        let (reason, provenance) = entitlement::parse_revoke(http::optional_json_object(&req)?)?;
        let expected = http::if_match(&req)?;
        let revoked =
            store::entitlements::revoke(state, &caller, &id, expected, reason, provenance).await?;
        let view = store::entitlements::view(state, &caller.tenant_id, &revoked).await?;
        http::ok_record(&view, revoked.envelope.revision)
    })
    .await
}
