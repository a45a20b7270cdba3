use crate::routes::{route, Route};
use lambda_http::{Body, Request, Response};
use shared::auth::{Caller, Scope};
use shared::domain::attribute;
use shared::error::ApiResult;
use shared::state::State;
use shared::{http, listing, store};

pub const ROUTE: Route = route!("metadata-attributes-list", GET "/api/v1/access-model-metadata/attributes", MetadataRead, handle);

async fn handle(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    let params = listing::parse(&req, &attribute::LIST, caller, Scope::MetadataWrite)?;
    let page = store::list::records::<attribute::Attribute>(state, caller, &params).await?;
    http::ok_page(&page.items, page.next_cursor.as_deref())
}
