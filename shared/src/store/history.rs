//! History events in DynamoDB (API.md §8).
//!
//! - Each record's events are one item collection, `T#<t>#HIS#<record id>`, sort key the
//!   zero-padded revision: a record's history reads strongly consistent and in order, and a
//!   second event of one revision cannot be put (`attribute_not_exists`).
//! - The event is stored as its canonical JSON text (`event`: the bytes that were hashed, with
//!   `hash` in its sorted place; `Event::text`), so what is served and verified is what was
//!   written; a few of its members are copied beside it for the feed's filters.
//! - The tenant feed is GSI1 `T#<t>#EVT`, sorted by `<at>#<event id>` (newest first, ties by id).
//! - An entitlement's events also carry the record as it was after them (`state`) and are
//!   keyed by time on GSI2 (`T#<t>#HIS#<id>` / `<at>#<revision>`): its state at a time is the
//!   one event a `Limit 1` query finds.
//! - The record item holds the hash of its last event (`history_head`), so a write chains its
//!   event without reading the previous one.

use super::list::{self, Filter, ListPage, Source};
use super::{fault, get_s, put_new_action, s, Item, Store};
use crate::cursor::{self, Binding};
use crate::domain::history::{
    self, Action, Append, Event, KeptHead, ResourceType, Tracked, Verdict, Writer, GENESIS,
};
use crate::envelope::Record;
use crate::error::{ApiError, ApiResult};
use crate::keys::{self, Kind};
use crate::listing::ListParams;
use crate::time::Timestamp;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The event's canonical JSON text, `hash` included.
const EVENT: &str = "event";
/// An entitlement's record after the event, for point-in-time reads.
const STATE: &str = "state";
/// The cursor binding's collection of every record's history.
const COLLECTION: &str = "history";

/// The put of `event` (and, for an entitlement, of the record it leaves, `state`), under a
/// key that must be new: one action of the change's own transaction.
pub fn put_event(event: &Event, state: Option<&str>, table: &str) -> ApiResult<TransactWriteItem> {
    let tenant = &event.tenant_id;
    let at = event.at.to_string();
    let mut item = Item::from([
        (
            keys::PK.to_string(),
            s(keys::history_pk(tenant, &event.resource_id)),
        ),
        (keys::SK.to_string(), s(keys::history_sk(event.revision))),
    ]);
    item.insert(EVENT.into(), s(&event.text));
    item.insert("at".into(), s(&at));
    item.insert("resource_type".into(), s(event.resource_type.to_string()));
    item.insert("resource_id".into(), s(&event.resource_id));
    item.insert("action".into(), s(event.action.to_string()));
    item.insert("actor".into(), s(&event.actor.sub));
    if let Some(app) = &event.app_id {
        item.insert("app_id".into(), s(app));
    }
    item.insert(keys::GSI1PK.into(), s(keys::audit_feed(tenant)));
    item.insert(keys::GSI1SK.into(), s(format!("{at}#{}", event.id)));
    if let Some(state) = state {
        item.insert(STATE.into(), s(state));
        item.insert(
            keys::GSI2PK.into(),
            s(keys::history_pk(tenant, &event.resource_id)),
        );
        item.insert(
            keys::GSI2SK.into(),
            s(format!("{at}#{}", keys::history_sk(event.revision))),
        );
    }
    put_new_action(item, table)
}

/// The event of a stored item, as the JSON object that was hashed.
pub fn event_of(item: &Item) -> ApiResult<Map<String, Value>> {
    json_object(item, EVENT)
}

/// The JSON object a history item holds as text under `attr` (its event, or the record's state).
fn json_object(item: &Item, attr: &str) -> ApiResult<Map<String, Value>> {
    let text = get_s(item, attr).ok_or_else(|| {
        ApiError::Internal(format!(
            "history item {} has no {attr}",
            super::item_key(item)
        ))
    })?;
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(ApiError::Internal(format!(
            "history item {} {attr} is not a JSON object",
            super::item_key(item)
        ))),
    }
}

/// One page of a record's history, oldest first (strongly consistent: the event of a write
/// that has answered is there).
pub struct HistoryPage {
    pub items: Vec<Map<String, Value>>,
    pub next_cursor: Option<String>,
}

fn binding(tenant: &str, app: Option<&str>, resource_id: &str) -> Binding {
    Binding {
        tenant_id: tenant.to_string(),
        app_id: app.map(str::to_string),
        collection: COLLECTION,
        filters: BTreeMap::from([("resource_id".to_string(), resource_id.to_string())]),
    }
}

/// A page of `resource_id`'s events for a caller who may see the record (checked by the
/// caller of this function), `limit` at most, from `cursor`.
pub async fn page(
    store: &Store,
    tenant: &str,
    app: Option<&str>,
    resource_id: &str,
    limit: usize,
    cursor: Option<&str>,
) -> ApiResult<HistoryPage> {
    let binding = binding(tenant, app, resource_id);
    let start = match cursor {
        Some(c) => Some(cursor::decode(store.cursor_secret(), &binding, c)?),
        None => None,
    };
    let (items, next) = query(store, tenant, resource_id, Some(limit), start).await?;
    let next_cursor = match next {
        Some(key) => Some(cursor::encode(store.cursor_secret(), &binding, &key)?),
        None => None,
    };
    Ok(HistoryPage { items, next_cursor })
}

/// Every event of a record, oldest first (as many queries as its history has megabytes).
pub async fn all(
    store: &Store,
    tenant: &str,
    resource_id: &str,
) -> ApiResult<Vec<Map<String, Value>>> {
    let mut events = Vec::new();
    let mut start = None;
    loop {
        let (items, next) = query(store, tenant, resource_id, None, start).await?;
        events.extend(items);
        match next {
            Some(key) => start = Some(key),
            None => return Ok(events),
        }
    }
}

/// A strongly consistent query of the whole partition `pk` (one page of it per call).
fn partition(
    store: &Store,
    pk: String,
) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
    store
        .db
        .query()
        .table_name(store.table())
        .key_condition_expression("#pk = :pk")
        .expression_attribute_names("#pk", keys::PK)
        .expression_attribute_values(":pk", s(pk))
        .consistent_read(true)
}

/// One query of a record's history partition. With a `limit`, the next position is given only
/// when there is more (a page that ends exactly at the end says so).
async fn query(
    store: &Store,
    tenant: &str,
    resource_id: &str,
    limit: Option<usize>,
    start: Option<Item>,
) -> ApiResult<(Vec<Map<String, Value>>, Option<Item>)> {
    let mut items = Vec::new();
    let mut start = start;
    loop {
        let want = limit.map(|l| l - items.len());
        let out = partition(store, keys::history_pk(tenant, resource_id))
            .scan_index_forward(true)
            // One more than the page, to know whether a next page exists.
            .set_limit(want.map(|w| w as i32 + 1))
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(|e| fault("Query", e))?;
        let last = out.last_evaluated_key().cloned();
        let read = out.items.unwrap_or_default();
        match want {
            None => {
                for item in &read {
                    items.push(event_of(item)?);
                }
                return Ok((items, last));
            }
            Some(want) => {
                let more = read.len() > want;
                for item in read.iter().take(want) {
                    items.push(event_of(item)?);
                }
                if more {
                    let position = read.get(want.saturating_sub(1)).map(position);
                    return Ok((items, position));
                }
                match last {
                    // A megabyte ended the read before the page was full.
                    Some(key) if read.len() < want => start = Some(key),
                    // Full exactly at a megabyte: the next page may turn out empty.
                    Some(key) => return Ok((items, Some(key))),
                    None => return Ok((items, None)),
                }
            }
        }
    }
}

fn position(item: &Item) -> Item {
    [keys::PK, keys::SK]
        .iter()
        .filter_map(|k| item.get(*k).map(|v| (k.to_string(), v.clone())))
        .collect()
}

/// An entitlement as it was at `at`: the record its last event with `at` ≤ the time left
/// (`None` if it had none yet). One `Limit 1` query of GSI2.
pub async fn state_at(
    store: &Store,
    tenant: &str,
    id: &str,
    at: Timestamp,
) -> ApiResult<Option<Map<String, Value>>> {
    // `#` follows the time in the sort key and `$` sorts right after it: every event at `at`.
    let bound = format!("{at}$");
    let out = store
        .query_index(keys::GSI2)
        .key_condition_expression("#pk = :pk AND #sk < :bound")
        .expression_attribute_names("#pk", keys::GSI2PK)
        .expression_attribute_names("#sk", keys::GSI2SK)
        .expression_attribute_values(":pk", s(keys::history_pk(tenant, id)))
        .expression_attribute_values(":bound", AttributeValue::S(bound))
        .scan_index_forward(false)
        .limit(1)
        .send()
        .await
        .map_err(|e| fault("Query", e))?;
    let Some(item) = out.items().first() else {
        return Ok(None);
    };
    json_object(item, STATE).map(Some)
}

pub use crate::domain::history::{is_change, record_json, record_text};

/// The writer of a caller's request.
pub fn writer(caller: &crate::auth::Caller) -> Writer {
    Writer {
        sub: caller.sub.clone(),
        app_id: caller.app_id.clone(),
        request_id: caller.request_id.clone(),
    }
}

/// The event of a write that takes `before` (`None`: a create) to `next`, chained to the head
/// `before` was read with; `next` then carries the event's hash as its new head.
pub fn append<F: serde::Serialize + Tracked>(
    store: &Store,
    writer: &Writer,
    action: Action,
    before: Option<&Record<F>>,
    next: &mut Record<F>,
) -> ApiResult<Event> {
    let prev_hash = before
        .and_then(|b| b.envelope.head.as_deref())
        .unwrap_or(GENESIS);
    let event = Append {
        id: store.ids.next(history::ID_PREFIX),
        action,
        writer,
        prev_hash,
    }
    .event(before, next)?;
    next.envelope.head = Some(event.hash.clone());
    Ok(event)
}

/// `append` for a write of `caller`'s request.
pub fn by<F: serde::Serialize + Tracked>(
    store: &Store,
    caller: &crate::auth::Caller,
    action: Action,
    before: Option<&Record<F>>,
    next: &mut Record<F>,
) -> ApiResult<Event> {
    append(store, &writer(caller), action, before, next)
}

/// What the audit feed is asked for: §5 paging and the exact filters, `since`/`until` on `at`.
pub struct FeedQuery {
    pub params: ListParams,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

/// A page of the tenant's audit feed, newest first (GSI1, so an event shows within the index's
/// lag); an app token sees its app's records' events only.
pub async fn feed(
    store: &Store,
    caller: &crate::auth::Caller,
    query: FeedQuery,
) -> ApiResult<ListPage<Map<String, Value>>> {
    let params = &query.params;
    let mut filter = Filter::default();
    if let Some(app) = &caller.app_id {
        filter.scope_eq("app_id", s(app));
    }
    for (name, value) in &params.filters {
        if matches!(
            name.as_str(),
            "resource_type" | "resource_id" | "action" | "actor"
        ) {
            filter.eq(name, s(value));
        }
    }
    // An empty window (`until` ≤ `since`) holds no event; as a key range its bounds would be
    // reversed, which DynamoDB refuses. Its one page has no next, so no cursor is one of its.
    if let (Some(since), Some(until)) = (query.since, query.until) {
        if until <= since {
            if params.cursor.is_some() {
                return Err(cursor::bad());
            }
            return Ok(ListPage {
                items: Vec::new(),
                next_cursor: None,
            });
        }
    }
    // `since` inclusive; `until` exclusive: through the last key of the millisecond before it
    // (`~` sorts after every character of an event id).
    let from = query.since.map(|t| t.to_string());
    let through = query.until.map(|t| format!("{}#~", t.plus_millis(-1)));
    let source = Source::gsi1_range(keys::audit_feed(&caller.tenant_id), from, through);
    let page = list::items(store, caller, params, "audit-events", source, filter).await?;
    Ok(ListPage {
        items: page
            .items
            .iter()
            .map(event_of)
            .collect::<ApiResult<Vec<_>>>()?,
        next_cursor: page.next_cursor,
    })
}

/// `GET …/history/verify` of one record at `revision` (the record's as read): its whole
/// history read and checked (`domain::history::verify`).
pub async fn verify_record(
    store: &Store,
    tenant: &str,
    resource_id: &str,
    revision: i64,
    kept: Option<&KeptHead>,
) -> ApiResult<Verdict> {
    let mut events = all(store, tenant, resource_id).await?;
    // Events past the revision read were written since (the record was read first): they are
    // not this verdict's to judge, and would otherwise read as a chain longer than its record.
    events.truncate(usize::try_from(revision).unwrap_or(0));
    Ok(history::verify(&events, revision, kept))
}

/// One record's verdict in a tenant-wide check.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RecordVerdict {
    pub resource_type: ResourceType,
    pub resource_id: String,
    #[serde(flatten)]
    pub verdict: Verdict,
}

/// Every record of `tenant`, of every kind, with its chain checked: what `make verify` runs.
/// Reads each kind's collection (ids and revisions only) and every record's history.
pub async fn verify_tenant(store: &Store, tenant: &str) -> ApiResult<Vec<RecordVerdict>> {
    let kinds = [
        (Kind::Asset, ResourceType::TechnologyAsset),
        (Kind::Entitlement, ResourceType::Entitlement),
        (Kind::AccessRequest, ResourceType::AccessRequest),
        (Kind::MetadataAttribute, ResourceType::MetadataAttribute),
    ];
    let mut out = Vec::new();
    for (kind, resource_type) in kinds {
        let mut start = None;
        loop {
            let page = partition(store, keys::pk(tenant, kind))
                .expression_attribute_names("#id", "id")
                .expression_attribute_names("#rev", "revision")
                .projection_expression("#id, #rev")
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| fault("Query", e))?;
            for item in page.items() {
                let (Some(id), Some(revision)) =
                    (get_s(item, "id"), super::get_n(item, "revision"))
                else {
                    continue;
                };
                let verdict = verify_record(store, tenant, id, revision, None).await?;
                out.push(RecordVerdict {
                    resource_type,
                    resource_id: id.to_string(),
                    verdict,
                });
            }
            match page.last_evaluated_key() {
                Some(key) => start = Some(key.clone()),
                None => break,
            }
        }
    }
    Ok(out)
}
