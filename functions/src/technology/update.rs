use lambda_http::{Body, Request, Response};
use shared::auth::Scope;
use shared::domain::asset;
use shared::state::State;
use shared::{http, store};

pub async fn handle(state: &State, req: Request) -> Response<Body> {
    http::serve("technology-update", req, |req| async move {
        let caller = state.caller(&req).await?;
        caller.require(Scope::TechnologyWrite)?;
        let id = http::path_param(&req, "id")?;
        let body = http::json_object(&req, true)?;
        let expected = http::if_match(&req)?;
        let updated = store::assets::update(state, &caller, &id, expected, |current| {
            asset::apply_patch(current, body.clone())
        })
        .await?;
        http::ok_record(&updated, updated.envelope.revision)
    })
    .await
}
