//! History end to end (API.md §8): the helpers of this binary; the tests are in its modules.
//!
//! Every event is checked against what the client saw of the write it records (the record
//! before and after, the token, the `x-request-id`), and every chain is recomputed here with an
//! RFC 8785 implementation other than production's (`serde_jcs`), so a test never trusts the
//! server's own hashing to check the server's hashes.

mod access_at;
mod atomicity;
mod chain;
#[path = "../common/mod.rs"]
mod common;
mod events;
mod feed;
mod requests;
mod routes;

use common::*;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use shared::time::Timestamp;
use std::time::Duration;

/// The members of every event, no more and no fewer.
const EVENT_KEYS: &[&str] = &[
    "id",
    "tenant_id",
    "app_id",
    "resource_type",
    "resource_id",
    "revision",
    "action",
    "at",
    "actor",
    "request_id",
    "changes",
    "prev_hash",
    "hash",
];

/// Fields every write moves, which `changes` leaves out.
const UNTRACKED: &[&str] = &["updated_at", "updated_by", "revision"];

/// A person's token of this tenant with every scope.
fn person(api: &Api, sub: &str) -> String {
    api.token_for(sub, None, &all_scopes())
}

/// One write as its client saw it: what it should have appended.
struct Write {
    action: &'static str,
    sub: String,
    app: Option<String>,
    request_id: String,
    /// The record after the write (as served).
    record: Value,
}

impl Write {
    /// The write answered by `r`, made with a token of `sub` (and `app`), leaving `record`.
    fn new(
        action: &'static str,
        sub: &str,
        app: Option<&str>,
        r: &Response,
        record: Value,
    ) -> Write {
        Write {
            action,
            sub: sub.to_string(),
            app: app.map(String::from),
            request_id: request_id(r),
            record,
        }
    }

    /// A write whose answer is the record after it.
    fn answered(action: &'static str, sub: &str, app: Option<&str>, r: &Response) -> Write {
        assert!(r.status == 200 || r.status == 201, "{action}: {}", r.text);
        Write::new(action, sub, app, r, r.body.clone())
    }
}

fn request_id(r: &Response) -> String {
    r.header("x-request-id")
        .unwrap_or_else(|| panic!("no x-request-id: {:?}", r.headers))
        .to_string()
}

/// A served record as its history tracks it: an entitlement's `access_model_metadata` is stored
/// (and so diffed) as references `[{"key","values":[...]}]`, the definitions being joined on read.
fn tracked(record: &Value) -> Value {
    let mut out = record.clone();
    if let Some(meta) = record.get("access_model_metadata") {
        out["access_model_metadata"] = match meta {
            Value::Null => Value::Null,
            m => Value::Array(
                m["attributes"]
                    .as_array()
                    .expect("attributes")
                    .iter()
                    .map(|a| {
                        let values: Vec<Value> = a["values"]
                            .as_array()
                            .expect("values")
                            .iter()
                            .map(|v| v["value"].clone())
                            .collect();
                        json!({"key": a["key"], "values": values})
                    })
                    .collect(),
            ),
        };
    }
    out
}

/// What `changes` must say for a write from `before` (`None`: a create) to `after`, computed
/// from the served records: every field whose value differs, but the ones every write moves.
fn expected_changes(before: Option<&Value>, after: &Value) -> Value {
    let before = before.map(tracked).unwrap_or_else(|| json!({}));
    let after = tracked(after);
    let mut out = Map::new();
    let (b, a) = (before.as_object().unwrap(), after.as_object().unwrap());
    for field in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
        if UNTRACKED.contains(&field.as_str()) {
            continue;
        }
        let from = b.get(field).cloned().unwrap_or(Value::Null);
        let to = a.get(field).cloned().unwrap_or(Value::Null);
        if from != to {
            out.insert(field.clone(), json!({"from": from, "to": to}));
        }
    }
    Value::Object(out)
}

/// Asserts `events` are exactly what `writes` appended to the record, in order, with an
/// independently checked chain.
fn assert_trail(api: &Api, events: &[Value], resource_type: &str, writes: &[Write]) {
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    let wanted: Vec<&str> = writes.iter().map(|w| w.action).collect();
    assert_eq!(actions, wanted, "{events:#?}");
    let mut before: Option<&Value> = None;
    for (i, (event, write)) in events.iter().zip(writes).enumerate() {
        let record = &write.record;
        let case = format!("event {} ({})", i + 1, write.action);
        assert_members(event, &[EVENT_KEYS]);
        assert!(
            event["id"].as_str().unwrap().starts_with("evt_"),
            "{case}: {event}"
        );
        assert_eq!(event["revision"], i as i64 + 1, "{case}");
        assert_eq!(event["revision"], record["revision"], "{case}");
        assert_eq!(event["tenant_id"], api.tenant.as_str(), "{case}");
        assert_eq!(event["app_id"], record["app_id"], "{case}");
        assert_eq!(event["resource_type"], resource_type, "{case}");
        assert_eq!(event["resource_id"], record["id"], "{case}");
        assert_eq!(event["at"], record["updated_at"], "{case}");
        assert_eq!(event["request_id"], write.request_id.as_str(), "{case}");
        let actor = json!({
            "sub": write.sub,
            "app_id": write.app,
            "source": record["source"],
            "source_type": record["source_type"],
        });
        assert_eq!(event["actor"], actor, "{case}");
        assert_eq!(
            event["changes"],
            expected_changes(before, record),
            "{case}: changes"
        );
        before = Some(record);
    }
    assert_chain(events);
}

/// SHA-256 (lowercase hex) of the RFC 8785 form of `event` without `hash` (`jcs`).
fn jcs_hash(event: &Value) -> String {
    let mut unhashed = event.as_object().expect("event object").clone();
    unhashed.remove("hash");
    Sha256::digest(jcs(&Value::Object(unhashed)).as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The RFC 8785 (JCS) form of `value`: numbers and strings as `serde_jcs` writes them
/// (ECMAScript number form, the minimal escapes), members sorted by their names' UTF-16 code
/// units (§3.2.3). `serde_jcs` 0.1 sorts members by code point instead, which puts a name
/// with a character beyond U+FFFF after one with U+E000..U+FFFF, so objects are laid out here.
fn jcs(value: &Value) -> String {
    match value {
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(jcs).collect();
            format!("[{}]", items.join(","))
        }
        Value::Object(members) => {
            let mut members: Vec<(&String, &Value)> = members.iter().collect();
            members.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
            let members: Vec<String> = members
                .into_iter()
                .map(|(k, v)| format!("{}:{}", serde_jcs::to_string(k).expect("jcs"), jcs(v)))
                .collect();
            format!("{{{}}}", members.join(","))
        }
        leaf => serde_jcs::to_string(leaf).expect("jcs"),
    }
}

#[test]
fn jcs_orders_members_as_rfc_8785_does() {
    // RFC 8785 §3.2.3's own example of member order.
    let names = [
        "\u{20ac}",
        "\r",
        "\u{fb33}",
        "1",
        "\u{1F600}",
        "\u{80}",
        "\u{f6}",
    ];
    let object: Map<String, Value> = names.iter().map(|n| (n.to_string(), json!(0))).collect();
    let sorted = jcs(&Value::Object(object));
    assert_eq!(
        sorted,
        "{\"\\r\":0,\"1\":0,\"\u{80}\":0,\"\u{f6}\":0,\"\u{20ac}\":0,\"\u{1F600}\":0,\"\u{fb33}\":0}"
    );
    assert_eq!(
        jcs(&json!([
            1e-7,
            1e21,
            0.1,
            -0.0,
            333333333.3333333,
            "\u{7f}\u{1f}"
        ])),
        "[1e-7,1e+21,0.1,0,333333333.3333333,\"\u{7f}\\u001f\"]"
    );
}

/// `prev_hash` of a record's first event.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Asserts a record's whole history chains: revisions 1.., each hash recomputed, each
/// `prev_hash` the previous hash (64 zeros first).
fn assert_chain(events: &[Value]) {
    let mut prev = GENESIS.to_string();
    for (i, event) in events.iter().enumerate() {
        assert_eq!(event["revision"], i as i64 + 1, "{event}");
        assert_eq!(event["prev_hash"], prev.as_str(), "revision {}", i + 1);
        let hash = event["hash"].as_str().expect("hash");
        assert_eq!(hash, jcs_hash(event), "revision {}: {event}", i + 1);
        assert_eq!(hash.len(), 64);
        prev = hash.to_string();
    }
}

/// `uri?query` (`&` when `uri` already has a query).
fn with_query(uri: &str, query: &str) -> String {
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{query}")
}

/// Every item of a §5 list at `uri`, walked `limit` at a time as `token`: the items in order
/// and each page's size.
async fn walk_as(api: &Api, token: &str, uri: &str, limit: usize) -> (Vec<Value>, Vec<usize>) {
    let mut all = Vec::new();
    let mut sizes = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..200 {
        let mut page_uri = with_query(uri, &format!("limit={limit}"));
        if let Some(c) = &cursor {
            page_uri = with_query(&page_uri, &format!("cursor={}", enc(c)));
        }
        let r = api.get_as(&page_uri, token).await;
        assert_eq!(r.status, 200, "{page_uri}: {}", r.text);
        let items = r.body["items"].as_array().expect("items").clone();
        sizes.push(items.len());
        all.extend(items);
        cursor = r.body["next_cursor"].as_str().map(String::from);
        if cursor.is_none() {
            return (all, sizes);
        }
    }
    panic!("{uri}: the cursor walk did not end after 200 pages");
}

/// Every event of a record's history (`uri` is the `…/history` path, a query allowed).
async fn history(api: &Api, uri: &str) -> Vec<Value> {
    walk_as(api, &api.token(), uri, 100).await.0
}

fn asset_history(id: &str) -> String {
    format!("{TECH}/{id}/history?include_deleted=true")
}

fn ent_history(id: &str) -> String {
    format!("{ENTS}/{id}/history")
}

fn arq_history(id: &str) -> String {
    format!("{ARQ}/{id}/history?include_deleted=true")
}

fn attr_history(key: &str) -> String {
    format!("{ATTRS}/{key}/history")
}

/// The feed page at `query` once it holds at least `n` events (the feed may come from an index
/// that lags its writes; API.md §8 allows 5 s).
async fn feed_when(api: &Api, token: &str, query: &str, n: usize) -> Vec<Value> {
    let uri = format!("/api/v1/audit-events?{query}");
    for _ in 0..100 {
        let (items, _) = walk_as(api, token, &uri, 100).await;
        if items.len() >= n {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{uri}: fewer than {n} events after 5 s");
}

/// Waits (briefly) until the clock has passed `t`, so the next write's `updated_at` is later.
async fn after(t: &str) {
    let t = Timestamp::parse(t).expect("timestamp");
    for _ in 0..1000 {
        if Timestamp::now() > t {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("the clock did not pass {t}");
}

/// Reads a record through its get (`include_deleted=true` where it means something).
async fn read(api: &Api, uri: &str) -> Value {
    let r = api.get(&with_query(uri, "include_deleted=true")).await;
    assert_eq!(r.status, 200, "{uri}: {}", r.text);
    r.body
}

/// The stored history item of `id` at `revision`, raw.
async fn stored_event(api: &Api, id: &str, revision: i64) -> Option<shared::store::Item> {
    api.stored(
        &shared::keys::history_pk(&api.tenant, id),
        &shared::keys::history_sk(revision),
    )
    .await
}

/// A `new` access request body for `etype` on the asset named `system`.
fn new_request(system: &str, etype: &str) -> Value {
    json!({"system_id": system, "access_type": "new", "justification": "needed", "entitlement_type": etype})
}
