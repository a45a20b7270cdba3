use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::auth::Scope;
use shared::domain::asset;
use shared::state::State;
use shared::{http, listing, store};

pub async fn handle(state: &State, req: Request) -> Response<Body> {
    http::serve("technology-list", req, |req| async move {
        let caller = state.caller(&req).await?;
        caller.require(Scope::TechnologyRead)?;
        let params = listing::parse(&req, &asset::LIST, &caller, Scope::TechnologyWrite)?;
        let page = store::assets::list(state, &caller, params).await?;
        http::ok_json(&json!({"items": page.items, "next_cursor": page.next_cursor}))
    })
    .await
}
