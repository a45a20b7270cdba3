use crate::routes::{route, Route};
use lambda_http::{Body, Request, Response};
use shared::auth::Caller;
use shared::domain::entitlement::{self, Granter};
use shared::error::ApiResult;
use shared::state::State;
use shared::time::Timestamp;
use shared::{http, store};

pub const ROUTE: Route =
    route!("entitlements-create", POST "/api/v1/entitlements", EntitlementsWrite, handle);

async fn handle(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    let granter = Granter {
        sub: &caller.sub,
        is_app: caller.app_id.is_some(),
    };
    let body = http::json_object(&req, false)?;
    let new = entitlement::parse_create(body, &granter, Timestamp::now())?;
    let created = store::entitlements::create(state, caller, new).await?;
    let view = store::entitlements::view(state, &caller.tenant_id, &created).await?;
    http::created(
        &view,
        &super::get::ROUTE.location(&created.envelope.id),
        created.envelope.revision,
    )
}
