use crate::routes::{route, Route};
use lambda_http::{Body, Request, Response};
use shared::auth::{Caller, Scope};
use shared::domain::entitlement;
use shared::error::ApiResult;
use shared::state::State;
use shared::{http, listing, store};

pub const ROUTE: Route =
    route!("entitlements-list", GET "/api/v1/entitlements", EntitlementsRead, handle);

async fn handle(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    let mut params = listing::parse(&req, &entitlement::LIST, caller, Scope::EntitlementsWrite)?;
    entitlement::normalize_filters(&mut params)?;
    let page = store::list::records::<entitlement::Entitlement>(state, caller, &params).await?;
    let items = store::entitlements::views(state, &caller.tenant_id, &page.items).await?;
    http::ok_page(&items, page.next_cursor.as_deref())
}
