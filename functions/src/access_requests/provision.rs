use lambda_http::{Body, Request, Response};
use shared::auth::Scope;
use shared::domain::access_request;
use shared::state::State;
use shared::{http, store};

pub async fn handle(state: &State, req: Request) -> Response<Body> {
    http::serve("access-requests-provision", req, |req| async move {
        let caller = state.caller(&req).await?;
        caller.require(Scope::AccessRequestsProvision)?;
        let id = http::path_param(&req, "id")?;
        let body = access_request::parse_decision(http::optional_json_object(&req)?)?;
        let provisioned =
            store::access_requests::provision(state, &caller, &id, http::if_match(&req)?, body)
                .await?;
        http::ok_record(&provisioned, provisioned.envelope.revision)
    })
    .await
}
