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
    Change::parse(&req)?.apply(state, caller, &ADDING).await
}

async fn remove(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    Change::parse(&req)?.apply(state, caller, &REMOVING).await
}

/// One of the two edits: its history action, whether the attribute's definition judges it (and
/// is read beside the entitlement), and the rule.
struct Edit {
    action: Action,
    judged_by_definition: bool,
    rule: Rule,
}

/// The metadata an edit leaves (`None`: none), judged on the entitlement, the attribute's
/// definition, the key and the value.
type Rule = fn(&Entitlement, Option<&Attribute>, &str, &str) -> ApiResult<Option<Vec<MetadataRef>>>;

const ADDING: Edit = Edit {
    action: Action::MetadataAdded,
    judged_by_definition: true,
    rule: access_model::add_value,
};

const REMOVING: Edit = Edit {
    action: Action::MetadataRemoved,
    judged_by_definition: false,
    rule: |current, _, key, value| access_model::remove_value(current, key, value),
};

/// What adding and removing read from the request, all of it before any store call.
struct Change {
    target: http::Target,
    key: String,
    value: String,
    provenance: Provenance,
}

impl Change {
    fn parse(req: &Request) -> ApiResult<Change> {
        let provenance = entitlement::parse_empty(http::optional_json_object(req)?)?;
        let key = http::path_param(req, "attributeKey")?;
        let value = http::path_param(req, "attributeValue")?;
        Ok(Change {
            provenance,
            key,
            value,
            target: http::target(req, "id")?,
        })
    }

    async fn apply(self, state: &State, caller: &Caller, edit: &Edit) -> ApiResult<Response<Body>> {
        let (updated, view) = store::entitlements::set_metadata(
            state,
            caller,
            &self.target,
            edit.action,
            self.provenance,
            edit.judged_by_definition.then_some(self.key.as_str()),
            |current, attr| (edit.rule)(current, attr, &self.key, &self.value),
        )
        .await?;
        http::ok_record(&view, updated.envelope.revision)
    }
}
