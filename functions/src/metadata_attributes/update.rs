use lambda_http::{Body, Request, Response};
use shared::auth::Scope;
use shared::domain::attribute;
use shared::state::State;
use shared::{http, store};

pub async fn handle(state: &State, req: Request) -> Response<Body> {
    http::serve("metadata-attributes-update", req, |req| async move {
        let caller = state.caller(&req).await?;
        caller.require(Scope::MetadataWrite)?;
        let key = http::path_param(&req, "key")?;
        let body = http::json_object(&req, true)?;
        let expected = http::if_match(&req)?;
        let updated = store::attributes::update(state, &caller, &key, expected, |current| {
            attribute::apply_patch(current, body.clone())
        })
        .await?;
        http::ok_record(&updated, updated.envelope.revision)
    })
    .await
}
