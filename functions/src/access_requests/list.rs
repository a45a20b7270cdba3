use crate::routes::{route, Route};
use lambda_http::{Body, Request, Response};
use shared::auth::{Caller, Scope};
use shared::domain::access_request;
use shared::error::ApiResult;
use shared::state::State;
use shared::{http, listing, store};

pub const ROUTE: Route = route!("access-requests-list", GET "/api/v1/operations/access-requests", AccessRequestsRead, handle);

async fn handle(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    let params = listing::parse(
        &req,
        &access_request::LIST,
        caller,
        Scope::AccessRequestsWrite,
    )?;
    let page =
        store::list::records::<access_request::AccessRequest>(state, caller, &params).await?;
    http::ok_page(&page.items, page.next_cursor.as_deref())
}
