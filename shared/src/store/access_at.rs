//! Who had access when (API.md §8): an asset's entitlements as they were at a time, from their
//! history.
//!
//! The candidates are the asset's entitlements on GSI1 (every one it ever had, newest first).
//! A candidate created after `at` is left out without a read; one not written since `at` was
//! then as it is now; any other is read as it was: one `Limit 1` query of its events by time
//! (`history::state_at`), up to `PARALLEL` at once. A page reads at most `ROUNDS` batches of
//! candidates, so its cost is bounded: at most `ROUNDS` candidate pages (each at most
//! `list::MAX_QUERIES` queries) plus one query per candidate changed since `at`.

use super::list::{self, Filter, ListPage, Source};
use super::{from_item, history, s, Item, Store};
use crate::auth::Caller;
use crate::cursor::{self, Binding};
use crate::domain::entitlement::{Entitlement, Status};
use crate::error::{ApiError, ApiResult};
use crate::keys;
use crate::listing::ListParams;
use crate::time::Timestamp;
use aws_sdk_dynamodb::types::AttributeValue;
use futures::stream::{self, StreamExt, TryStreamExt};

/// Batches of candidates one page reads at most.
const ROUNDS: usize = 3;
/// Point-in-time reads in flight at once.
const PARALLEL: usize = 16;
/// The cursor's own member: the time the walk is at, so every page of it answers for one `at`.
const CURSOR_AT: &str = "at";

/// The asset's entitlements that were active at `at` (none expired by then), as they were.
/// `at` is the caller's, or the one a cursor carries; a cursor of another `at` is a 400.
pub async fn page(
    store: &Store,
    caller: &Caller,
    asset_id: &str,
    at: Option<Timestamp>,
    params: &ListParams,
) -> ApiResult<ListPage<Entitlement>> {
    let tenant = &caller.tenant_id;
    let binding = Binding {
        tenant_id: tenant.clone(),
        app_id: caller.app_id.clone(),
        collection: "technology-access",
        filters: {
            let mut f = params.filters.clone();
            f.insert("asset_id".into(), asset_id.to_string());
            f
        },
    };
    let (mut start, at) = match &params.cursor {
        None => (None, at.unwrap_or_else(Timestamp::now)),
        Some(c) => {
            let mut position = cursor::decode(store.cursor_secret(), &binding, c)?;
            let walked = match position.remove(CURSOR_AT) {
                Some(AttributeValue::S(t)) => Timestamp::parse(&t).ok(),
                _ => None,
            };
            match (walked, at) {
                (Some(w), None) => (Some(position), w),
                (Some(w), Some(a)) if w == a => (Some(position), w),
                _ => return Err(cursor::bad()),
            }
        }
    };
    let mut filter = Filter::default();
    if let Some(app) = &caller.app_id {
        filter.scope_eq("app_id", s(app));
    }
    // Immutable fields, so their current value is their value at any time.
    for name in ["principal_id", "principal_type"] {
        if let Some(v) = params.filters.get(name) {
            filter.eq(name, s(v));
        }
    }
    let source = Source::gsi1(keys::entitlements_by_asset(tenant, asset_id));
    let mut items = Vec::new();
    let mut next = None;
    for _ in 0..ROUNDS {
        let want = params.limit - items.len();
        let page = list::page(
            &store.db,
            store.table(),
            &source,
            &filter,
            want,
            start.take(),
        )
        .await?;
        let resolved: Vec<Option<Entitlement>> = stream::iter(page.items)
            .map(|item| as_it_was(store, item, at))
            .buffered(PARALLEL)
            .try_collect()
            .await?;
        let wanted_type = params.filters.get("entitlement_type");
        items.extend(
            resolved
                .into_iter()
                .flatten()
                .filter(|e| wanted_type.is_none_or(|t| &e.fields.entitlement_type == t)),
        );
        next = page.next;
        if items.len() == params.limit || next.is_none() {
            break;
        }
        start = next.clone();
    }
    let next_cursor = match next {
        Some(mut position) => {
            position.insert(CURSOR_AT.into(), s(at.to_string()));
            Some(cursor::encode(store.cursor_secret(), &binding, &position)?)
        }
        None => None,
    };
    Ok(ListPage { items, next_cursor })
}

/// A candidate as it was at `at`, if it was active then and not yet expired.
async fn as_it_was(store: &Store, item: Item, at: Timestamp) -> ApiResult<Option<Entitlement>> {
    let now: Entitlement = from_item(item)?;
    if now.envelope.created_at > at {
        return Ok(None);
    }
    let then = if now.envelope.updated_at <= at {
        now
    } else {
        let tenant = &now.envelope.tenant_id;
        match history::state_at(store, tenant, &now.envelope.id, at).await? {
            None => return Ok(None),
            Some(state) => serde_json::from_value(serde_json::Value::Object(state))
                .map_err(|e| ApiError::Internal(format!("decode entitlement state: {e}")))?,
        }
    };
    let active = then.fields.status == Status::Active
        && then.fields.expires_at.is_none_or(|expires| expires > at);
    Ok(active.then_some(then))
}
