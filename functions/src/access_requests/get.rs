use lambda_http::{Body, Request, Response};
use shared::auth::Scope;
use shared::state::State;
use shared::{http, listing, store};

pub async fn handle(state: &State, req: Request) -> Response<Body> {
    http::serve("access-requests-get", req, |req| async move {
        let caller = state.caller(&req).await?;
        caller.require(Scope::AccessRequestsRead)?;
        let include_deleted = listing::include_deleted(&req, &caller, Scope::AccessRequestsWrite)?;
        let id = http::path_param(&req, "id")?;
        let found = store::access_requests::get(state, &caller, &id, include_deleted).await?;
        http::ok_record(&found, found.envelope.revision)
    })
    .await
}
