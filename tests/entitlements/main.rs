//! Access entitlements end to end (API.md §3, §4 on entitlements, §5): the helpers of this binary; the tests are in its modules.
//!
//! Every rejected write is followed by a re-read proving that nothing changed: the entitlement (same
//! revision, same fields), and the asset's `live_entitlements` count read straight from the table,
//! which must always equal the number of live (`active`/`pending_approval`) grants.

mod auth;
#[path = "../common/mod.rs"]
mod common;
mod lifecycle;
mod lists;
mod metadata;
mod races;
mod validation;

use common::*;
use futures::future::join_all;
use http::{HeaderMap, HeaderValue};
use serde_json::{json, Value};
use shared::time::Timestamp;
use std::collections::BTreeSet;
use std::sync::LazyLock;
use std::time::Duration;

const BASE: &str = "/api/v1/entitlements";

/// The entitlement's own fields: what a client may send on create, and what only the server sets.
static ENTITLEMENT_KEYS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let server = [
        "access_model_metadata",
        "revoked_at",
        "revoked_by",
        "revoke_reason",
        "expired_at",
        "access_request_id",
    ];
    [shared::domain::entitlement::CREATE_FIELDS, &server].concat()
});

// ------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------

fn url(id: &str) -> String {
    format!("{BASE}/{id}")
}

fn revoke_url(id: &str) -> String {
    format!("{BASE}/{id}/revoke")
}

fn meta_url(id: &str, key: &str, value: &str) -> String {
    format!("{BASE}/{id}/access-model-metadata/{key}/values/{value}")
}

fn missing_entitlement() -> String {
    format!("ent_{}", ulid::Ulid::generate())
}

fn missing_asset() -> String {
    format!("ast_{}", ulid::Ulid::generate())
}

async fn create_as(api: &Api, token: &str, body: Value) -> Value {
    api.created_as(BASE, token, body).await
}

async fn create(api: &Api, body: Value) -> Value {
    create_as(api, &api.token(), body).await
}

/// A grant of `principal` on `asset` with the fields of `extra` added.
async fn create_with(
    api: &Api,
    asset: &str,
    principal: &str,
    entitlement_type: &str,
    extra: Value,
) -> Value {
    create(
        api,
        with(grant_body(asset, principal, entitlement_type), extra),
    )
    .await
}

/// A grant of `principal` on `asset` created as `pending_approval`.
async fn create_pending(api: &Api, asset: &str, principal: &str, entitlement_type: &str) -> Value {
    create(
        api,
        with(
            grant_body(asset, principal, entitlement_type),
            json!({"status": "pending_approval"}),
        ),
    )
    .await
}

async fn asset_id(api: &Api, body: Value) -> String {
    id_of(&api.asset(body).await)
}

/// A fresh caller and an asset `crm`: the caller and the asset's id.
async fn api_with_crm() -> (Api, String) {
    let api = Api::new().await;
    let aid = asset_id(&api, json!({"name": "crm"})).await;
    (api, aid)
}

/// A fresh caller, the asset `crm` and a grant of `p1` (type `x`) on it with the fields of
/// `extra`: the caller, the asset's id and the grant.
async fn crm_grant(extra: Value) -> (Api, String, Value) {
    let (api, aid) = api_with_crm().await;
    let e = create_with(&api, &aid, "p1", "x", extra).await;
    (api, aid, e)
}

/// Every id a list query returns, walking the cursor with `limit`.
async fn walk_as(api: &Api, token: &str, query: &str, limit: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let mut uri = format!("{BASE}?limit={limit}");
        if !query.is_empty() {
            uri.push('&');
            uri.push_str(query);
        }
        if let Some(c) = &cursor {
            uri.push_str(&format!("&cursor={c}"));
        }
        let r = api.get_as(&uri, token).await;
        assert_eq!(r.status, 200, "{uri}: {}", r.text);
        let items = r.body["items"].as_array().expect("items");
        assert!(items.len() <= limit, "{uri}: {} items", items.len());
        ids.extend(items.iter().map(id_of));
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => {
                assert_eq!(r.body["next_cursor"], Value::Null);
                return ids;
            }
        }
    }
    panic!("the cursor walk of {query} does not end");
}

async fn walk(api: &Api, query: &str, limit: usize) -> Vec<String> {
    walk_as(api, &api.token(), query, limit).await
}

/// Asserts the asset's stored live count is `expected` and equals the live grants listed on it.
async fn assert_live(api: &Api, asset_id: &str, expected: i64) {
    assert_eq!(
        live_count(api, asset_id).await,
        expected,
        "stored live count of {asset_id}"
    );
    let mut live = 0;
    let mut cursor: Option<String> = None;
    loop {
        let mut uri = format!("{BASE}?asset_id={asset_id}&limit=100");
        if let Some(c) = &cursor {
            uri.push_str(&format!("&cursor={c}"));
        }
        let r = api.get(&uri).await;
        assert_eq!(r.status, 200, "{}", r.text);
        live += r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["status"] == "active" || e["status"] == "pending_approval")
            .count() as i64;
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(live, expected, "live grants listed on {asset_id}");
}

/// The entitlement as stored now, read through the API.
async fn current(api: &Api, id: &str) -> Value {
    let r = api.get(&url(id)).await;
    assert_eq!(r.status, 200, "re-read {id}: {}", r.text);
    r.body
}

/// Asserts the entitlement is exactly `before` (same revision, fields and stamps).
async fn assert_unchanged(api: &Api, before: &Value) {
    let now = current(api, &id_of(before)).await;
    assert_eq!(
        &now, before,
        "the entitlement changed after a rejected write"
    );
}

async fn revoke(api: &Api, id: &str, body: Option<Value>) -> Response {
    api.call("POST", &revoke_url(id), &api.token(), body).await
}

/// `PATCH` of the entitlement `id` with `If-Match: tag`, as user-1.
async fn patch_if_match(api: &Api, id: &str, tag: &str, body: Value) -> Response {
    send(api, &api.token(), "PATCH", &url(id), Some(tag), Some(body)).await
}

/// Asserts the tuple (`asset`, `principal`, `entitlement_type`) is free: a new grant of it is
/// created, and the asset's live count is then `live`.
async fn assert_regrant(
    api: &Api,
    asset: &str,
    principal: &str,
    entitlement_type: &str,
    live: i64,
) {
    create(api, grant_body(asset, principal, entitlement_type)).await;
    assert_live(api, asset, live).await;
}

/// Asserts creating `body` is refused as a conflict (its tuple is taken).
async fn assert_create_conflicts(api: &Api, body: Value) {
    assert_problem(&api.post(BASE, body).await, 409, "conflict");
}

/// An asset `crm`, the attribute `iscPrivacy` (one value, `public`) and a grant of `p1` on the
/// asset: the asset's id and the grant.
async fn crm_with_privacy(api: &Api) -> (String, Value) {
    let aid = asset_id(api, json!({"name": "crm"})).await;
    attribute(api, "iscPrivacy", with_values(&[("public", "Public")])).await;
    let e = create(api, grant_body(&aid, "p1", "x")).await;
    (aid, e)
}

async fn patch_attribute(api: &Api, key: &str, body: Value) -> Value {
    let r = api.patch(&format!("{ATTRS}/{key}"), body).await;
    assert_eq!(r.status, 200, "patch attribute {key}: {}", r.text);
    r.body
}

async fn add_value(api: &Api, id: &str, key: &str, value: &str) -> Response {
    api.post_empty_as(&meta_url(id, key, value), &api.token())
        .await
}

async fn remove_value(api: &Api, id: &str, key: &str, value: &str) -> Response {
    api.delete_as(&meta_url(id, key, value), &api.token()).await
}
