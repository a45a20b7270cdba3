use lambda_http::{Body, Request, Response};
use shared::auth::Scope;
use shared::error::ApiError;
use shared::state::State;
use shared::{http, listing, store};

pub async fn handle(state: &State, req: Request) -> Response<Body> {
    http::serve("metadata-attributes-get", req, |req| async move {
        let caller = state.caller(&req).await?;
        caller.require(Scope::MetadataRead)?;
        // Attributes are never deleted: `include_deleted` changes nothing here.
        listing::include_deleted(&req, &caller, Scope::MetadataWrite)?;
        let key = http::path_param(&req, "key")?;
        let found = store::attributes::get(state, &caller.tenant_id, &key)
            .await?
            .ok_or(ApiError::NotFound)?;
        http::ok_record(&found, found.envelope.revision)
    })
    .await
}
