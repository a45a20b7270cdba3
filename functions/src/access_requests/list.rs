use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::auth::Scope;
use shared::domain::access_request;
use shared::state::State;
use shared::{http, listing, store};

pub async fn handle(state: &State, req: Request) -> Response<Body> {
    http::serve("access-requests-list", req, |req| async move {
        let caller = state.caller(&req).await?;
        caller.require(Scope::AccessRequestsRead)?;
        let params = listing::parse(
            &req,
            &access_request::LIST,
            &caller,
            Scope::AccessRequestsWrite,
        )?;
        let page = store::access_requests::list(state, &caller, params).await?;
        http::ok_json(&json!({"items": page.items, "next_cursor": page.next_cursor}))
    })
    .await
}
