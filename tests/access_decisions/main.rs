//! Access decisions end to end (API.md §9, OpenID AuthZEN Authorization API 1.0): the helpers of this binary; the tests are in its modules.

mod batches;
#[path = "../common/mod.rs"]
mod common;
mod decisions;
mod edge;
mod search;

use common::*;
use serde_json::{json, Value};

const EVALUATION: &str = "/api/v1/access/evaluation";
const EVALUATIONS: &str = "/api/v1/access/evaluations";
const SEARCH_SUBJECT: &str = "/api/v1/access/search/subject";
const SEARCH_RESOURCE: &str = "/api/v1/access/search/resource";
const SEARCH_ACTION: &str = "/api/v1/access/search/action";
const METADATA: &str = "/.well-known/authzen-configuration";

/// The members of one question: a person, an asset (by id or name), an action.
fn question(person: &str, asset: &str, action: &str) -> Value {
    json!({
        "subject": {"type": "person", "id": person},
        "resource": {"type": "technology_asset", "id": asset},
        "action": {"name": action},
    })
}

/// `question` for a person who is also a member of `groups`.
fn question_with_groups(person: &str, groups: &[&str], asset: &str, action: &str) -> Value {
    let mut q = question(person, asset, action);
    q["subject"]["properties"] = json!({ "groups": groups });
    q
}

/// Creates an entitlement and returns its id.
async fn grant(api: &Api, body: Value) -> String {
    id_of(&api.created_as(ENTS, &api.token(), body).await)
}

/// A group's grant of `etype` on `asset_id`.
fn group_grant_body(asset_id: &str, group: &str, etype: &str) -> Value {
    with(
        grant_body(asset_id, group, etype),
        json!({"principal_type": "group"}),
    )
}

/// A person's grant of `etype` on `asset_id`, pending approval.
fn pending_grant_body(asset_id: &str, principal: &str, etype: &str) -> Value {
    with(
        grant_body(asset_id, principal, etype),
        json!({"status": "pending_approval"}),
    )
}

/// Grants `person` `read` on `asset` until `millis` ms from now.
async fn grant_read_lapsing_in(api: &Api, asset: &str, person: &str, millis: i64) -> String {
    let soon = shared::time::Timestamp::now()
        .plus_millis(millis)
        .to_string();
    let body = with(
        grant_body(asset, person, "read"),
        json!({"expires_at": soon}),
    );
    grant(api, body).await
}

async fn revoke(api: &Api, id: &str) {
    let r = api
        .post_empty_as(&format!("{ENTS}/{id}/revoke"), &api.token())
        .await;
    assert_eq!(r.status, 200, "revoke: {}", r.text);
}

/// Three people's grants on `asset` that give none of them `read`: the first's is pending, the
/// second's revoked, the third's of `write`.
async fn grants_giving_no_read(api: &Api, asset: &str, [pending, revoked, writer]: [&str; 3]) {
    grant(api, pending_grant_body(asset, pending, "read")).await;
    let gone = grant(api, grant_body(asset, revoked, "read")).await;
    revoke(api, &gone).await;
    grant(api, grant_body(asset, writer, "write")).await;
}

/// POSTs `body` to `uri`: the 200's body, after exactly `batch_gets` BatchGetItem calls.
async fn after_batch_gets(api: &Api, batch_gets: u64, uri: &str, body: Value) -> Value {
    let expected = [("BatchGetItem", batch_gets)];
    api.expect_answer(200, &expected, api.post(uri, body))
        .await
        .body
}

/// An evaluation with an all-scopes token, which must answer 200.
async fn evaluate(api: &Api, body: Value) -> Value {
    let r = api.post(EVALUATION, body).await;
    assert_eq!(r.status, 200, "evaluation: {}", r.text);
    r.body
}

/// `(decision, reason)` of a decision document.
fn verdict(d: &Value) -> (bool, String) {
    (
        d["decision"]
            .as_bool()
            .unwrap_or_else(|| panic!("no decision: {d}")),
        d["context"]["reason"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

fn denied(reason: &str) -> (bool, String) {
    (false, reason.to_string())
}

fn granted() -> (bool, String) {
    (true, "granted".to_string())
}

/// Walks a search from its first page, `limit` at a time: every result, in order, and the
/// number of pages read.
async fn walk(api: &Api, uri: &str, body: Value, limit: u64) -> (Vec<Value>, usize) {
    let mut results = Vec::new();
    let mut token = String::new();
    for pages in 1..=100 {
        let mut b = body.clone();
        b["page"] = json!({"limit": limit, "token": token});
        let r = api.post(uri, b).await;
        assert_eq!(r.status, 200, "search: {}", r.text);
        let page = r.body["results"].as_array().expect("results").clone();
        assert!(page.len() as u64 <= limit, "{}", r.text);
        results.extend(page);
        token = r.body["page"]["next_token"]
            .as_str()
            .expect("page.next_token")
            .to_string();
        if token.is_empty() {
            return (results, pages);
        }
    }
    panic!("search did not end within 100 pages");
}
