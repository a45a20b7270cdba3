use lambda_http::{Body, Request, Response};
use shared::auth::Scope;
use shared::state::State;
use shared::{http, store};

pub async fn handle(state: &State, req: Request) -> Response<Body> {
    http::serve("access-requests-delete", req, |req| async move {
        let caller = state.caller(&req).await?;
        caller.require(Scope::AccessRequestsWrite)?;
        let id = http::path_param(&req, "id")?;
        store::access_requests::delete(state, &caller, &id, http::if_match(&req)?).await?;
        http::no_content()
    })
    .await
}
