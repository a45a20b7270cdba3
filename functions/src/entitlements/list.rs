use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::auth::Scope;
use shared::domain::entitlement;
use shared::state::State;
use shared::{http, listing, store};

pub async fn handle(state: &State, req: Request) -> Response<Body> {
    http::serve("entitlements-list", req, |req| async move {
        let caller = state.caller(&req).await?;
        caller.require(Scope::EntitlementsRead)?;
        let mut params =
            listing::parse(&req, &entitlement::LIST, &caller, Scope::EntitlementsWrite)?;
        entitlement::normalize_filters(&mut params)?;
        let page = store::entitlements::list(state, &caller, params).await?;
        let items = store::entitlements::views(state, &caller.tenant_id, &page.items).await?;
        http::ok_json(&json!({"items": items, "next_cursor": page.next_cursor}))
    })
    .await
}
