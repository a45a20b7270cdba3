use lambda_http::{Body, Request, Response};
use shared::auth::Scope;
use shared::domain::entitlement::{self, Granter};
use shared::state::State;
use shared::time::Timestamp;
use shared::{http, store};

pub async fn handle(state: &State, req: Request) -> Response<Body> {
    http::serve("entitlements-create", req, |req| async move {
        let caller = state.caller(&req).await?;
        caller.require(Scope::EntitlementsWrite)?;
        let granter = Granter {
            sub: &caller.sub,
            is_app: caller.app_id.is_some(),
        };
        let body = http::json_object(&req, false)?;
        let (fields, provenance) = entitlement::parse_create(body, &granter, Timestamp::now())?;
        let created = store::entitlements::create(state, &caller, fields, provenance).await?;
        let view = store::entitlements::view(state, &caller.tenant_id, &created).await?;
        http::created(
            &view,
            &super::location(&created.envelope.id),
            created.envelope.revision,
        )
    })
    .await
}
