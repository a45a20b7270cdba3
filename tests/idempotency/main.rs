//! Safe retries with `Idempotency-Key` end to end (API.md §11): the helpers of this binary; the
//! tests are in its modules (replays of every kind of write, the key's rules, races and faults).

#[path = "../common/mod.rs"]
mod common;
mod races;
mod replays;
mod rules;

use common::*;
use http::{HeaderMap, HeaderValue};
use serde_json::{json, Value};

const ASSETS: &str = "/api/v1/technology";
const ENTS: &str = "/api/v1/entitlements";
const ATTRIBUTES: &str = "/api/v1/access-model-metadata/attributes";

/// A fresh key (ULIDs are visible ASCII).
fn fresh_key() -> String {
    format!("key-{}", ulid::Ulid::generate())
}

/// Headers with `Idempotency-Key: key` and, if given, `If-Match`.
fn keyed(key: &str, if_match: Option<&str>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        "idempotency-key",
        HeaderValue::from_str(key).expect("header"),
    );
    if let Some(tag) = if_match {
        headers.insert("if-match", HeaderValue::from_str(tag).expect("header"));
    }
    headers
}

/// Sends `method uri` with `token`, the key and `body` as JSON (no body when `None`).
async fn send_keyed(
    api: &Api,
    token: &str,
    method: &str,
    uri: &str,
    key: &str,
    body: Option<Value>,
) -> Response {
    api.call_with(method, uri, token, keyed(key, None), body)
        .await
}

/// `send_keyed` with the all-scopes token of user-1.
async fn keyed_call(
    api: &Api,
    method: &str,
    uri: &str,
    key: &str,
    body: Option<Value>,
) -> Response {
    send_keyed(api, &api.token(), method, uri, key, body).await
}

/// A replay is the first answer byte for byte (status, body, `Location`, `ETag`,
/// `x-request-id`) and says it is one; the first answer does not.
fn assert_replayed(first: &Response, replay: &Response) {
    assert_eq!(replay.status, first.status, "{}", replay.text);
    assert_eq!(replay.text, first.text);
    for name in ["content-type", "location", "etag", "x-request-id"] {
        assert_eq!(replay.header(name), first.header(name), "{name}");
    }
    assert_eq!(first.header("idempotent-replayed"), None);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
}

/// The ids user-1 sees in a list (first page, which holds everything a test makes).
async fn list_ids(api: &Api, collection: &str) -> Vec<String> {
    listed_ids(&api.get(collection).await)
}

/// The stored key item of `key` sent by user-1 with no app.
async fn key_item(api: &Api, key: &str) -> Option<shared::store::Item> {
    let pk = shared::keys::idempotency_pk(&api.tenant, None, "user-1", key);
    api.stored(&pk, shared::keys::IDEMPOTENCY_SK).await
}

/// The history of a record: its events in revision order.
async fn history(api: &Api, uri: &str) -> Vec<Value> {
    let r = api.get(&format!("{uri}/history")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"].as_array().expect("items").clone()
}

/// An asset named `name` (unkeyed): its id.
async fn asset_named(api: &Api, name: &str) -> String {
    api.named_asset(name).await.1
}

/// An asset named `name` (unkeyed): its URI.
async fn asset_uri(api: &Api, name: &str) -> String {
    format!("{ASSETS}/{}", asset_named(api, name).await)
}

/// A `new` access request for `member` on the asset named `system`, filed by user-1.
fn request_body(system: &str) -> Value {
    json!({"system_id": system, "access_type": "new", "justification": "x", "entitlement_type": "member"})
}
