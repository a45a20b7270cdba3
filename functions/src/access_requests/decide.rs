//! `POST …/{id}/approve` and `POST …/{id}/reject`.

use lambda_http::{Body, Request, Response};
use shared::auth::Scope;
use shared::domain::access_request::{self, Decision};
use shared::state::State;
use shared::{http, store};

async fn decide(
    state: &State,
    req: Request,
    function: &'static str,
    decision: Decision,
) -> Response<Body> {
    http::serve(function, req, |req| async move {
        let caller = state.caller(&req).await?;
        caller.require(Scope::AccessRequestsApprove)?;
        let id = http::path_param(&req, "id")?;
        let body = access_request::parse_decision(http::optional_json_object(&req)?)?;
        let decided = store::access_requests::decide(
            state,
            &caller,
            &id,
            http::if_match(&req)?,
            decision,
            body,
        )
        .await?;
        http::ok_record(&decided, decided.envelope.revision)
    })
    .await
}

pub async fn approve(state: &State, req: Request) -> Response<Body> {
    decide(state, req, "access-requests-approve", Decision::Approve).await
}

pub async fn reject(state: &State, req: Request) -> Response<Body> {
    decide(state, req, "access-requests-reject", Decision::Reject).await
}
