//! `POST|DELETE /api/v1/entitlements/{id}/access-model-metadata/{attributeKey}/values/{attributeValue}`

use lambda_http::{Body, Request, Response};
use shared::auth::Scope;
use shared::domain::{access_model, entitlement};
use shared::state::State;
use shared::{http, store};

pub async fn add(state: &State, req: Request) -> Response<Body> {
    http::serve("entitlements-metadata-add", req, |req| async move {
        let caller = state.caller(&req).await?;
        caller.require(Scope::EntitlementsWrite)?;
        let provenance = entitlement::parse_empty(http::optional_json_object(&req)?)?;
        let id = http::path_param(&req, "id")?;
        let key = http::path_param(&req, "attributeKey")?;
        let value = http::path_param(&req, "attributeValue")?;
        let expected = http::if_match(&req)?;
        let attr = store::attributes::get(state, &caller.tenant_id, &key).await?;
        let updated = store::entitlements::set_metadata(
            state,
            &caller,
            &id,
            expected,
            provenance,
            |current| access_model::add_value(current, attr.as_ref(), &key, &value),
        )
        .await?;
        let view = store::entitlements::view(state, &caller.tenant_id, &updated).await?;
        http::ok_record(&view, updated.envelope.revision)
    })
    .await
}

pub async fn remove(state: &State, req: Request) -> Response<Body> {
    http::serve("entitlements-metadata-remove", req, |req| async move {
        let caller = state.caller(&req).await?;
        caller.require(Scope::EntitlementsWrite)?;
        let id = http::path_param(&req, "id")?;
        let key = http::path_param(&req, "attributeKey")?;
        let value = http::path_param(&req, "attributeValue")?;
        let provenance = entitlement::parse_empty(http::optional_json_object(&req)?)?;
        let expected = http::if_match(&req)?;
        let updated = store::entitlements::set_metadata(
            state,
            &caller,
            &id,
            expected,
            provenance,
            |current| access_model::remove_value(current, &key, &value),
        )
        .await?;
        let view = store::entitlements::view(state, &caller.tenant_id, &updated).await?;
        http::ok_record(&view, updated.envelope.revision)
    })
    .await
}
