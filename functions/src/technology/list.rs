use crate::routes::{route, Route};
use lambda_http::{Body, Request, Response};
use shared::auth::{Caller, Scope};
use shared::domain::asset;
use shared::error::ApiResult;
use shared::state::State;
use shared::{http, listing, store};

pub const ROUTE: Route =
    route!("technology-list", GET "/api/v1/technology", TechnologyRead, handle);

async fn handle(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    let params = listing::parse(&req, &asset::LIST, caller, Scope::TechnologyWrite)?;
    let page = store::list::records::<asset::Asset>(state, caller, &params).await?;
    http::ok_page(&page.items, page.next_cursor.as_deref())
}
