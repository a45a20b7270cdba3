//! History (API.md §8): each record kind's `…/history` and `…/history/verify`, the tenant's
//! `audit-events` feed, and who had access to an asset when (`technology/{id}/access`).
//!
//! A record's history needs what its get needs: the family's read scope, and for a deleted
//! record `include_deleted=true` with the write scope. So each route first finds the record as
//! its get would (one `GetItem`), then reads the events.

use crate::routes::{route, Route};
use lambda_http::{Body, Request, Response};
use shared::auth::{Caller, Scope};
use shared::domain::history::{self, ACCESS_AT, FEED, HISTORY};
use shared::envelope::Envelope;
use shared::error::{ApiError, ApiResult};
use shared::http::{self, Query};
use shared::listing;
use shared::state::State;
use shared::store::{self, history as events};
use shared::time::Timestamp;

pub const TECHNOLOGY: Route =
    route!("technology-history", GET "/api/v1/technology/{id}/history", TechnologyRead, list);
pub const TECHNOLOGY_VERIFY: Route = route!("technology-history-verify", GET "/api/v1/technology/{id}/history/verify", TechnologyRead, verify);
pub const ENTITLEMENTS: Route =
    route!("entitlements-history", GET "/api/v1/entitlements/{id}/history", EntitlementsRead, list);
pub const ENTITLEMENTS_VERIFY: Route = route!("entitlements-history-verify", GET "/api/v1/entitlements/{id}/history/verify", EntitlementsRead, verify);
pub const ACCESS_REQUESTS: Route = route!("access-requests-history", GET "/api/v1/operations/access-requests/{id}/history", AccessRequestsRead, list);
pub const ACCESS_REQUESTS_VERIFY: Route = route!("access-requests-history-verify", GET "/api/v1/operations/access-requests/{id}/history/verify", AccessRequestsRead, verify);
pub const METADATA_ATTRIBUTES: Route = route!("metadata-attributes-history", GET "/api/v1/access-model-metadata/attributes/{key}/history", MetadataRead, list);
pub const METADATA_ATTRIBUTES_VERIFY: Route = route!("metadata-attributes-history-verify", GET "/api/v1/access-model-metadata/attributes/{key}/history/verify", MetadataRead, verify);
pub const AUDIT_EVENTS: Route =
    route!("audit-events-list", GET "/api/v1/audit-events", AuditRead, audit_events);
pub const TECHNOLOGY_ACCESS: Route = route!("technology-access", GET "/api/v1/technology/{id}/access", EntitlementsRead, technology_access);

/// The record whose history is asked for, found as its get finds it.
#[derive(Clone, Copy)]
enum Kind {
    Technology,
    Entitlement,
    AccessRequest,
    Attribute,
}

impl Kind {
    /// The kind a history route's path names (its collection, right after `/api/v1/`): the
    /// routes above are the only ones that reach these handlers.
    fn of(req: &Request) -> ApiResult<Kind> {
        let path = req.uri().path();
        let collection = path
            .strip_prefix("/api/v1/")
            .and_then(|rest| rest.split('/').next());
        match collection {
            Some("technology") => Ok(Kind::Technology),
            Some("entitlements") => Ok(Kind::Entitlement),
            Some("operations") => Ok(Kind::AccessRequest),
            Some("access-model-metadata") => Ok(Kind::Attribute),
            _ => Err(ApiError::Internal(format!("no history route at {path}"))),
        }
    }

    /// The write scope `include_deleted=true` needs, as on the record's get.
    fn write_scope(self) -> Scope {
        match self {
            Kind::Technology => Scope::TechnologyWrite,
            Kind::Entitlement => Scope::EntitlementsWrite,
            Kind::AccessRequest => Scope::AccessRequestsWrite,
            Kind::Attribute => Scope::MetadataWrite,
        }
    }

    /// The envelope of the record the path names, if the caller may see it.
    async fn subject(
        self,
        state: &State,
        caller: &Caller,
        req: &Request,
        include_deleted: bool,
    ) -> ApiResult<Envelope> {
        // Every kind but the attribute names its record by `{id}`; the attribute by `{key}`.
        let param = match self {
            Kind::Attribute => "key",
            _ => "id",
        };
        let id = http::path_param(req, param)?;
        Ok(match self {
            Kind::Technology => {
                store::assets::get(state, caller, &id, include_deleted)
                    .await?
                    .envelope
            }
            Kind::Entitlement => store::entitlements::get(state, caller, &id).await?.envelope,
            Kind::AccessRequest => {
                store::access_requests::get(state, caller, &id, include_deleted)
                    .await?
                    .envelope
            }
            Kind::Attribute => {
                store::attributes::get(state, &caller.tenant_id, &id)
                    .await?
                    .ok_or(ApiError::NotFound)?
                    .envelope
            }
        })
    }
}

/// A page of the record's events, oldest first.
async fn list(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    let kind = Kind::of(&req)?;
    let params = listing::parse(&req, &HISTORY, caller, kind.write_scope())?;
    let record = kind
        .subject(state, caller, &req, params.include_deleted)
        .await?;
    let page = events::page(
        state,
        &caller.tenant_id,
        caller.app_id.as_deref(),
        &record.id,
        params.limit,
        params.cursor.as_deref(),
    )
    .await?;
    http::ok_page(&page.items, page.next_cursor.as_deref())
}

/// The record's chain checked, and a kept head when given.
async fn verify(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    let kind = Kind::of(&req)?;
    let query = Query::parse(&req, &["include_deleted", "revision", "hash"])?;
    let include_deleted = query.flag("include_deleted")?;
    let kept = history::kept_head(query.get("revision"), query.get("hash"))?;
    listing::authorize_deleted(caller, include_deleted, kind.write_scope())?;
    let record = kind.subject(state, caller, &req, include_deleted).await?;
    let verdict = events::verify_record(
        state,
        &caller.tenant_id,
        &record.id,
        record.revision,
        kept.as_ref(),
    )
    .await?;
    http::ok_json(&verdict)
}

/// The tenant's events, newest first.
async fn audit_events(state: &State, caller: &Caller, req: Request) -> ApiResult<Response<Body>> {
    // Events are never deleted: `include_deleted` changes nothing, under the usual rule.
    let mut params = listing::parse(&req, &FEED, caller, Scope::AuditRead)?;
    let since = history::timestamp_param(&mut params, "since")?;
    let until = history::timestamp_param(&mut params, "until")?;
    // Bound into the cursor in their normalised form, like every other filter.
    for (name, value) in [("since", since), ("until", until)] {
        if let Some(t) = value {
            params.filters.insert(name.into(), t.to_string());
        }
    }
    let page = events::feed(
        state,
        caller,
        events::FeedQuery {
            params,
            since,
            until,
        },
    )
    .await?;
    http::ok_page(&page.items, page.next_cursor.as_deref())
}

/// The asset's entitlements as they were at `at` (default now; not in the future).
async fn technology_access(
    state: &State,
    caller: &Caller,
    req: Request,
) -> ApiResult<Response<Body>> {
    let mut params = listing::parse(&req, &ACCESS_AT, caller, Scope::TechnologyWrite)?;
    let at = history::timestamp_param(&mut params, "at")?;
    if at.is_some_and(|t| t > Timestamp::now()) {
        return Err(ApiError::field("at", "must not be in the future"));
    }
    let id = http::path_param(&req, "id")?;
    let asset = store::assets::get(state, caller, &id, params.include_deleted).await?;
    let page = store::access_at::page(state, caller, &asset.envelope.id, at, &params).await?;
    let items = store::entitlements::views(state, &caller.tenant_id, &page.items).await?;
    http::ok_page(&items, page.next_cursor.as_deref())
}
