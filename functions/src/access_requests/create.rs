use lambda_http::{Body, Request, Response};
use shared::auth::Scope;
use shared::domain::access_request;
use shared::state::State;
use shared::time::Timestamp;
use shared::{http, store};

pub async fn handle(state: &State, req: Request) -> Response<Body> {
    http::serve("access-requests-create", req, |req| async move {
        let caller = state.caller(&req).await?;
        caller.require(Scope::AccessRequestsWrite)?;
        let body = http::json_object(&req, false)?;
        let draft = access_request::parse_create(body, &caller.sub, Timestamp::now())?;
        let created = store::access_requests::create(state, &caller, draft).await?;
        let location = super::location(&created.envelope.id);
        http::created(&created, &location, created.envelope.revision)
    })
    .await
}
