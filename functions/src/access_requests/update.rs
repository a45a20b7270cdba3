use lambda_http::{Body, Request, Response};
use shared::auth::Scope;
use shared::domain::access_request;
use shared::state::State;
use shared::{http, store};

pub async fn handle(state: &State, req: Request) -> Response<Body> {
    http::serve("access-requests-update", req, |req| async move {
        let caller = state.caller(&req).await?;
        caller.require(Scope::AccessRequestsWrite)?;
        let id = http::path_param(&req, "id")?;
        let body = http::json_object(&req, true)?;
        let expected = http::if_match(&req)?;
        let updated =
            store::access_requests::update(state, &caller, &id, expected, |current, now| {
                access_request::plan_patch(current, body.clone(), now)
            })
            .await?;
        http::ok_record(&updated, updated.envelope.revision)
    })
    .await
}
