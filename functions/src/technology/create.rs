use lambda_http::{Body, Request, Response};
use shared::auth::Scope;
use shared::domain::asset;
use shared::state::State;
use shared::{http, store};

pub async fn handle(state: &State, req: Request) -> Response<Body> {
    http::serve("technology-create", req, |req| async move {
        let caller = state.caller(&req).await?;
        caller.require(Scope::TechnologyWrite)?;
        let (fields, provenance) = asset::parse_create(http::json_object(&req, false)?)?;
        let created = store::assets::create(state, &caller, fields, provenance).await?;
        let location = super::location(&created.envelope.id);
        http::created(&created, &location, created.envelope.revision)
    })
    .await
}
