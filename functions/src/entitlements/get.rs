use lambda_http::{Body, Request, Response};
use shared::auth::Scope;
use shared::state::State;
use shared::{http, listing, store};

pub async fn handle(state: &State, req: Request) -> Response<Body> {
    http::serve("entitlements-get", req, |req| async move {
        let caller = state.caller(&req).await?;
        caller.require(Scope::EntitlementsRead)?;
        // Entitlements are revoked, never deleted: `include_deleted` changes nothing here.
        listing::include_deleted(&req, &caller, Scope::EntitlementsWrite)?;
        let id = http::path_param(&req, "id")?;
        let found = store::entitlements::get(state, &caller, &id).await?;
        let view = store::entitlements::view(state, &caller.tenant_id, &found).await?;
        http::ok_record(&view, found.envelope.revision)
    })
    .await
}
