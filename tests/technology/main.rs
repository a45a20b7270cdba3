//! Technology assets end to end (API.md §1–§3, §5): the helpers of this binary; the tests are in its modules.
//!
//! Every rejected write is followed by a re-read proving that nothing changed. Authentication and
//! request bodies common to every route are in `tests/edge.rs`.

mod auth;
#[path = "../common/mod.rs"]
mod common;
mod lifecycle;
mod lists;
mod validation;

use common::*;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};

const BASE: &str = "/api/v1/technology";

/// The fields a client may set on an asset.
const ASSET_KEYS: &[&str] = shared::domain::asset::FIELDS;

fn url(id: &str) -> String {
    format!("{BASE}/{id}")
}

/// A fresh, well-formed asset id that exists nowhere.
fn missing_id() -> String {
    format!("ast_{}", ulid::Ulid::generate())
}

/// Sets an asset item's live-entitlement count directly (no entitlement API exists yet).
async fn set_live_entitlements(api: &Api, id: &str, count: i64) {
    api.state
        .db
        .update_item()
        .table_name(api.state.table())
        .key("PK", shared::store::s(format!("T#{}#AST", api.tenant)))
        .key("SK", shared::store::s(id))
        .update_expression("SET live_entitlements = :n")
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_values(":n", shared::store::n(count))
        .send()
        .await
        .expect("set live_entitlements");
}

/// Sends with an `If-Match` header and the test's all-scope token.
/// `PATCH {asset}` with `If-Match`.
async fn patch_if_match(api: &Api, id: &str, if_match: &str, body: Value) -> Response {
    with_if_match(api, "PATCH", &url(id), if_match, Some(body)).await
}

async fn with_if_match(
    api: &Api,
    method: &str,
    uri: &str,
    if_match: &str,
    body: Option<Value>,
) -> Response {
    send(api, &api.token(), method, uri, Some(if_match), body).await
}

fn is_utc_millis(s: &str) -> bool {
    s.len() == 24
        && s.ends_with('Z')
        && s.as_bytes()[19] == b'.'
        && time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_ok()
}

fn cursor_of(r: &Response) -> Option<String> {
    r.body["next_cursor"].as_str().map(String::from)
}

fn query(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

async fn list_as(api: &Api, token: &str, pairs: &[(&str, &str)]) -> Response {
    let uri = if pairs.is_empty() {
        BASE.to_string()
    } else {
        format!("{BASE}?{}", query(pairs))
    };
    api.get_as(&uri, token).await
}

async fn list(api: &Api, pairs: &[(&str, &str)]) -> Response {
    list_as(api, &api.token(), pairs).await
}

/// Follows `next_cursor` to the end; returns every id in order and each page's size.
async fn walk(api: &Api, token: &str, pairs: &[(&str, &str)]) -> (Vec<String>, Vec<usize>) {
    let mut all = Vec::new();
    let mut sizes = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..200 {
        let mut p: Vec<(&str, &str)> = pairs.to_vec();
        if let Some(c) = &cursor {
            p.push(("cursor", c.as_str()));
        }
        let r = list_as(api, token, &p).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let page = ids(&r);
        sizes.push(page.len());
        all.extend(page);
        cursor = cursor_of(&r);
        if cursor.is_none() {
            return (all, sizes);
        }
    }
    panic!("the cursor walk did not end after 200 pages");
}

/// Creates assets in order; returns their records (oldest first).
/// `n` assets named `{prefix}-0` to `{prefix}-{n-1}`, created in that order.
async fn seed_named(api: &Api, prefix: &str, n: usize) -> Vec<Value> {
    seed(
        api,
        (0..n)
            .map(|i| json!({"name": format!("{prefix}-{i}")}))
            .collect(),
    )
    .await
}

async fn seed(api: &Api, bodies: Vec<Value>) -> Vec<Value> {
    let mut out = Vec::new();
    for b in bodies {
        out.push(api.asset(b).await);
    }
    out
}

/// Newest first: the reverse of creation order.
fn newest_first(records: &[&Value]) -> Vec<String> {
    records.iter().rev().map(|r| id_of(r)).collect()
}
