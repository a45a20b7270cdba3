use lambda_http::{Body, Request, Response};
use shared::auth::Scope;
use shared::domain::attribute;
use shared::state::State;
use shared::{http, store};

pub async fn handle(state: &State, req: Request) -> Response<Body> {
    http::serve("metadata-attributes-create", req, |req| async move {
        let caller = state.caller(&req).await?;
        caller.require(Scope::MetadataWrite)?;
        let (fields, provenance) = attribute::parse_create(http::json_object(&req, false)?)?;
        let created = store::attributes::create(state, &caller, fields, provenance).await?;
        let location = super::location(created.key());
        http::created(&created, &location, created.envelope.revision)
    })
    .await
}
