use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::auth::Scope;
use shared::domain::attribute;
use shared::state::State;
use shared::{http, listing, store};

pub async fn handle(state: &State, req: Request) -> Response<Body> {
    http::serve("metadata-attributes-list", req, |req| async move {
        let caller = state.caller(&req).await?;
        caller.require(Scope::MetadataRead)?;
        let params = listing::parse(&req, &attribute::LIST, &caller, Scope::MetadataWrite)?;
        let page = store::attributes::list(state, &caller, params).await?;
        http::ok_json(&json!({"items": page.items, "next_cursor": page.next_cursor}))
    })
    .await
}
