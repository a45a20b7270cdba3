use lambda_http::{Body, Request, Response};
use shared::auth::Scope;
use shared::error::ApiError;
use shared::state::State;
use shared::{http, store};

pub async fn handle(state: &State, req: Request) -> Response<Body> {
    http::serve("technology-get", req, |req| async move {
        let caller = state.caller(&req).await?;
        caller.require(Scope::TechnologyRead)?;
        let query = http::Query::parse(&req, &["include_deleted"])?;
        let include_deleted = query.flag("include_deleted")?;
        if include_deleted && !caller.has(Scope::TechnologyWrite) {
            return Err(ApiError::Forbidden(
                "include_deleted=true needs scope technology:write".into(),
            ));
        }
        let id = http::path_param(&req, "id")?;
        let found = store::assets::get(state, &caller, &id, include_deleted).await?;
        http::ok_record(&found, found.envelope.revision)
    })
    .await
}
