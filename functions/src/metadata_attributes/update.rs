use crate::routes::{route, Route};
use lambda_http::{Body, Request, Response};
use shared::auth::{Caller, Scope};
use shared::domain::attribute;
use shared::error::ApiResult;
use shared::state::State;
use shared::{http, store};

pub const NAME: &str = "metadata-attributes-update";
pub const ROUTE: Route =
    route!(NAME, PATCH "/api/v1/access-model-metadata/attributes/{key}", handle);

async fn handle(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    caller.require(Scope::MetadataWrite)?;
    let key = http::path_param(&req, "key")?;
    let body = http::json_object(&req, true)?;
    let expected = http::if_match(&req)?;
    let updated = store::attributes::update(state, caller, &key, expected, |current| {
        attribute::apply_patch(current, body.clone())
    })
    .await?;
    http::ok_record(&updated, updated.envelope.revision)
}
