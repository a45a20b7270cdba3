//! History events in DynamoDB (API.md §8).
//!
//! - Each record's events are one item collection, `T#<t>#HIS#<record id>`, sort key the
//!   zero-padded revision: a record's history reads strongly consistent and in order, and a
//!   second event of one revision cannot be put (`attribute_not_exists`).
//! - The event is stored as the JSON text that was hashed (`event`), so what is served and
//!   verified is byte for byte what was written; a few of its members are copied beside it for
//!   the feed's filters.
//! - The tenant feed is GSI1 `T#<t>#EVT`, sorted by `<at>#<event id>` (newest first, ties by id).
//! - An entitlement's events also carry the record as it was after them (`state`) and are
//!   keyed by time on GSI2 (`T#<t>#HIS#<id>` / `<at>#<revision>`): its state at a time is the
//!   one event a `Limit 1` query finds.
//! - The record item holds the hash of its last event (`history_head`), so a write chains its
//!   event without reading the previous one.

use super::{fault, get_s, put_new_action, s, Item, Store};
use crate::cursor::{self, Binding};
use crate::domain::history::Event;
use crate::error::{ApiError, ApiResult};
use crate::keys;
use crate::time::Timestamp;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The event's JSON text, exactly as hashed.
const EVENT: &str = "event";
/// An entitlement's record after the event, for point-in-time reads.
const STATE: &str = "state";
/// The cursor binding's collection of every record's history.
const COLLECTION: &str = "history";

/// The put of `event` (and, for an entitlement, of the record it leaves, `state`), under a
/// key that must be new: one action of the change's own transaction.
pub fn put_event(
    event: &Event,
    state: Option<&Map<String, Value>>,
    table: &str,
) -> ApiResult<TransactWriteItem> {
    let tenant = &event.tenant_id;
    let json = event.to_json()?;
    let text = serde_json::to_string(&json).map_err(|e| ApiError::Internal(e.to_string()))?;
    let at = event.at.to_string();
    let mut item = Item::from([
        (
            keys::PK.to_string(),
            s(keys::history_pk(tenant, &event.resource_id)),
        ),
        (keys::SK.to_string(), s(keys::history_sk(event.revision))),
    ]);
    item.insert(EVENT.into(), s(text));
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
        let text = serde_json::to_string(state).map_err(|e| ApiError::Internal(e.to_string()))?;
        item.insert(STATE.into(), s(text));
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
    let text = get_s(item, EVENT).ok_or_else(|| {
        ApiError::Internal(format!(
            "history item {} has no event",
            super::item_key(item)
        ))
    })?;
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(ApiError::Internal(format!(
            "history item {} does not hold a JSON object",
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
        let out = store
            .db
            .query()
            .table_name(store.table())
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_values(":pk", s(keys::history_pk(tenant, resource_id)))
            .consistent_read(true)
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
    let text = get_s(item, STATE).ok_or_else(|| {
        ApiError::Internal(format!(
            "history item {} has no state",
            super::item_key(item)
        ))
    })?;
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Ok(Some(map)),
        _ => Err(ApiError::Internal(format!(
            "history item {} state is not a JSON object",
            super::item_key(item)
        ))),
    }
}
