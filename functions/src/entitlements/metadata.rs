//! `POST|DELETE /api/v1/entitlements/{id}/access-model-metadata/{attributeKey}/values/{attributeValue}`:
//! adding and removing one value of an entitlement's access-model metadata, two functions.

use crate::routes::{route, Route};
use lambda_http::{Body, Request, Response};
use shared::auth::Caller;
use shared::domain::access_model;
use shared::domain::attribute::Attribute;
use shared::domain::entitlement::{self, Entitlement, MetadataRef};
use shared::domain::history::Action;
use shared::envelope::Provenance;
use shared::error::ApiResult;
use shared::state::State;
use shared::{http, store};

pub const ADD: Route = route!("entitlements-metadata-add", POST "/api/v1/entitlements/{id}/access-model-metadata/{attributeKey}/values/{attributeValue}", EntitlementsWrite, add);
pub const REMOVE: Route = route!("entitlements-metadata-remove", DELETE "/api/v1/entitlements/{id}/access-model-metadata/{attributeKey}/values/{attributeValue}", EntitlementsWrite, remove);

async fn add(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    Change::parse(&req)?
        .apply(
            state,
            caller,
            Action::MetadataAdded,
            true,
            access_model::add_value,
        )
        .await
}

async fn remove(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    Change::parse(&req)?
        .apply(
            state,
            caller,
            Action::MetadataRemoved,
            false,
            |current, _, key, value| access_model::remove_value(current, key, value),
        )
        .await
}

/// What adding and removing read from the request, all of it before any store call.
struct Change {
    id: String,
    key: String,
    value: String,
    provenance: Provenance,
    expected: Option<i64>,
}

impl Change {
    fn parse(req: &Request) -> ApiResult<Change> {
        Ok(Change {
            provenance: entitlement::parse_empty(http::optional_json_object(req)?)?,
            id: http::path_param(req, "id")?,
            key: http::path_param(req, "attributeKey")?,
            value: http::path_param(req, "attributeValue")?,
            expected: http::if_match(req)?,
        })
    }

    /// Writes the change; `judged_by_definition`: the attribute's definition decides it (and
    /// is read beside the entitlement).
    async fn apply<F>(
        self,
        state: &State,
        caller: &Caller,
        action: Action,
        judged_by_definition: bool,
        change: F,
    ) -> ApiResult<Response<Body>>
    where
        F: Fn(&Entitlement, Option<&Attribute>, &str, &str) -> ApiResult<Option<Vec<MetadataRef>>>,
    {
        let (updated, view) = store::entitlements::set_metadata(
            state,
            caller,
            &self.id,
            self.expected,
            action,
            self.provenance,
            judged_by_definition.then_some(self.key.as_str()),
            |current, attr| change(current, attr, &self.key, &self.value),
        )
        .await?;
        http::ok_record(&view, updated.envelope.revision)
    }
}
