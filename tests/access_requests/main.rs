//! Access requests end to end (API.md §3 AccessRequest, §5, §10): the helpers of this binary; the tests are in its modules.
//!
//! Every refused action is followed by a re-read of the request, of the entitlement it names and
//! of the asset's live count, proving that nothing changed.

mod approvals;
mod auth;
#[path = "../common/mod.rs"]
mod common;
mod lifecycle;
mod lists;
mod provisioning;
mod races;
mod validation;

use common::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::LazyLock;

const FUTURE: &str = "2099-01-01T00:00:00Z";

const FUTURE_OUT: &str = "2099-01-01T00:00:00.000Z";

const LATER: &str = "2099-06-30T12:00:00Z";

const LATER_OUT: &str = "2099-06-30T12:00:00.000Z";

/// The fields of a request that the client sets.
const CLIENT_SET: &[&str] = &[
    "requester_id",
    "system_id",
    "access_type",
    "status",
    "justification",
    "asset_id",
    "principal_id",
    "principal_type",
    "entitlement_type",
    "expires_at",
    "tags",
];

/// Every field of a request: `CLIENT_SET`, `SERVER_SET` and `APPROVAL_FIELDS`.
static REQUEST_KEYS: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| [CLIENT_SET, SERVER_SET, APPROVAL_FIELDS].concat());

/// The server's record of the two-person rule (API.md §10): `[]` and 1 or 2 on a fresh request.
const APPROVAL_FIELDS: &[&str] = &["approvals", "approvals_required"];

/// Fields only the server sets: `null` on a fresh request.
const SERVER_SET: &[&str] = &[
    "approver_id",
    "approved_at",
    "rejected_at",
    "provisioned_at",
    "completed_at",
    "decision_comment",
    "entitlement_id",
    "granted_at",
    "granted_by_id",
];

/// What approving (with a comment) sets on a request; all else stays as it was.
const APPROVAL_STAMPS: &[&str] = &[
    "status",
    "approvals",
    "approver_id",
    "decision_comment",
    "approved_at",
    "updated_at",
    "updated_by",
    "revision",
];

/// What provisioning (with a comment) sets on an approved request.
const PROVISIONING_STAMPS: &[&str] = &[
    "status",
    "provisioned_at",
    "updated_at",
    "updated_by",
    "decision_comment",
    "granted_by_id",
    "granted_at",
    "entitlement_id",
    "revision",
];

/// What completing (with a `source`) sets on a provisioned request.
const COMPLETION_STAMPS: &[&str] = &[
    "status",
    "completed_at",
    "updated_at",
    "updated_by",
    "source",
    "revision",
];

fn url(id: &str) -> String {
    format!("{ARQ}/{id}")
}

fn token_of(api: &Api, sub: &str) -> String {
    api.token_for(sub, None, &all_scopes())
}

/// A second person of the tenant, who decides what user-1 requested.
fn approver(api: &Api) -> String {
    token_of(api, "approver-1")
}

/// A third person, who provisions.
fn provisioner(api: &Api) -> String {
    token_of(api, "provisioner-1")
}

async fn act(api: &Api, token: &str, id: &str, action: &str) -> Response {
    api.post_empty_as(&format!("{}/{action}", url(id)), token)
        .await
}

async fn act_with(api: &Api, token: &str, id: &str, action: &str, body: Value) -> Response {
    api.post_as(&format!("{}/{action}", url(id)), token, body)
        .await
}

/// An action with a body (a comment, provenance) by approver-1, who decides.
async fn decide(api: &Api, id: &str, action: &str, body: Value) -> Response {
    act_with(api, &approver(api), id, action, body).await
}

/// Provisioning with a body by provisioner-1.
async fn provision_with(api: &Api, id: &str, body: Value) -> Response {
    act_with(api, &provisioner(api), id, "provision", body).await
}

async fn complete(api: &Api, token: &str, id: &str) -> Response {
    api.patch_as(&url(id), token, json!({"status": "completed"}))
        .await
}

/// Creates an asset named `name` and returns its id.
async fn asset(api: &Api, name: &str) -> String {
    id_of(&api.asset(json!({ "name": name })).await)
}

/// Creates a request as `token`, asserting 201.
async fn create_as(api: &Api, token: &str, body: Value) -> Value {
    api.created_as(ARQ, token, body).await
}

/// Creates a request as user-1, asserting 201.
async fn create(api: &Api, body: Value) -> Value {
    create_as(api, &api.token(), body).await
}

/// A `new` request body for `entitlement_type` on the asset named `system` (justification "x"),
/// with the members of `extra` set on top.
fn new_of(system: &str, entitlement_type: &str, extra: Value) -> Value {
    with(
        json!({"system_id": system, "access_type": "new", "justification": "x", "entitlement_type": entitlement_type}),
        extra,
    )
}

/// A `modify` request body for the entitlement `eid` (justification "x"), plus `extra`.
fn modify_of(system: &str, eid: &str, extra: Value) -> Value {
    with(
        json!({"system_id": system, "access_type": "modify", "justification": "x", "entitlement_id": eid}),
        extra,
    )
}

/// A `revoke` request body for the entitlement `eid` (justification "x"), plus `extra`.
fn revoke_of(system: &str, eid: &str, extra: Value) -> Value {
    with(
        json!({"system_id": system, "access_type": "revoke", "justification": "x", "entitlement_id": eid}),
        extra,
    )
}

/// A `new` request of user-1 for `member` access to the asset named `system`.
async fn new_request(api: &Api, system: &str) -> Value {
    create(
        api,
        new_of(
            system,
            "member",
            json!({"justification": "needed for work"}),
        ),
    )
    .await
}

/// The asset named `system` and `N` pending `new_request`s for it: (asset id, request ids).
async fn asset_with_requests<const N: usize>(api: &Api, system: &str) -> (String, [String; N]) {
    let aid = asset(api, system).await;
    let mut ids = Vec::new();
    for _ in 0..N {
        ids.push(id_of(&new_request(api, system).await));
    }
    (aid, ids.try_into().expect("N ids"))
}

/// The asset named `system` and a pending `new_request` for it: the request's id.
async fn pending_request(api: &Api, system: &str) -> String {
    asset(api, system).await;
    id_of(&new_request(api, system).await)
}

/// Approves as approver-1 (and, when the two-person rule leaves it pending, as approver-2
/// too), asserting 200s: the approved request.
async fn approve(api: &Api, id: &str) -> Value {
    let r = act(api, &approver(api), id, "approve").await;
    assert_eq!(r.status, 200, "approve: {}", r.text);
    if r.body["status"] != "pending" {
        return r.body;
    }
    let r = act(api, &token_of(api, "approver-2"), id, "approve").await;
    assert_eq!(r.status, 200, "second approval: {}", r.text);
    assert_eq!(r.body["status"], "approved", "{}", r.text);
    r.body
}

/// Provisions as provisioner-1, asserting 200.
async fn provision(api: &Api, id: &str) -> Value {
    let r = act(api, &provisioner(api), id, "provision").await;
    assert_eq!(r.status, 200, "provision: {}", r.text);
    r.body
}

/// Creates an entitlement directly (as user-1), asserting 201.
async fn grant(api: &Api, body: Value) -> Value {
    let r = api.post(ENTS, body).await;
    assert_eq!(r.status, 201, "create entitlement: {}", r.text);
    r.body
}

/// A privileged `root` grant of person `p1` on `asset_id`, expiring in 2099.
async fn grant_privileged_root(api: &Api, asset_id: &str) -> Value {
    grant(
        api,
        json!({"asset_id": asset_id, "principal_id": "p1", "principal_type": "person", "entitlement_type": "root", "privileged": true, "expires_at": FUTURE}),
    )
    .await
}

/// The asset `aws` with an active `read` grant of `p9` on it: (asset id, the grant).
async fn aws_read_grant(api: &Api) -> (String, Value) {
    let aid = asset(api, "aws").await;
    let ent = grant_read(api, &aid, "p9").await;
    (aid, ent)
}

/// A fresh caller and `aws_read_grant`: (the caller, asset id, the grant).
async fn api_with_aws_read_grant() -> (Api, String, Value) {
    let api = Api::new().await;
    let (aid, ent) = aws_read_grant(&api).await;
    (api, aid, ent)
}

/// `aws_read_grant`: (asset id, entitlement id).
async fn aws_with_read_grant(api: &Api) -> (String, String) {
    let (aid, ent) = aws_read_grant(api).await;
    (aid, id_of(&ent))
}

/// Files `body` as user-1 and approves it as approver-1: the request's id.
async fn approved(api: &Api, body: Value) -> String {
    let id = id_of(&create(api, body).await);
    approve(api, &id).await;
    id
}

/// The asset named `system` and an approved `new_request` for it: (asset id, request id).
async fn approved_request(api: &Api, system: &str) -> (String, String) {
    let aid = asset(api, system).await;
    let id = id_of(&new_request(api, system).await);
    approve(api, &id).await;
    (aid, id)
}

/// Provisions a modify or revoke as provisioner-1: a 200 that read the request and the
/// entitlement and wrote one transaction. The provisioned request.
async fn provision_counted(api: &Api, id: &str) -> Value {
    let expected = [("GetItem", 2), ("TransactWriteItems", 1)];
    let token = provisioner(api);
    let p = api
        .expect_answer(200, &expected, act(api, &token, id, "provision"))
        .await;
    assert_eq!(p.body["status"], "provisioned");
    p.body
}

/// Provisioning the approved request `id` is refused with a 409 and changes nothing: the
/// answer, and the snapshot it left alone.
async fn assert_provision_refused(api: &Api, id: &str) -> (Response, Snapshot) {
    let before = snapshot(api, id).await;
    let r = act(api, &provisioner(api), id, "provision").await;
    assert_problem(&r, 409, "conflict");
    assert_unchanged(api, &before).await;
    (r, before)
}

/// The request's item as stored (soft-deleted ones too), read straight from the table.
async fn stored_request(api: &Api, id: &str) -> shared::store::Item {
    api.stored(&format!("T#{}#ARQ", api.tenant), id)
        .await
        .unwrap_or_else(|| panic!("no stored item for {id}"))
}

/// The request's stored `revision`.
async fn stored_revision(api: &Api, id: &str) -> Option<i64> {
    shared::store::get_n(&stored_request(api, id).await, "revision")
}

/// Runs `n` copies of `f` at once against the request `id`, each with its own handle on `api`:
/// their statuses.
async fn race_on<F, Fut>(api: &Api, id: &str, n: usize, f: F) -> Vec<u16>
where
    F: Fn(usize, Api, String) -> Fut,
    Fut: std::future::Future<Output = u16> + Send + 'static,
{
    race(n, |i| f(i, api.clone(), id.to_string())).await
}

/// Asserts the request's status index entry (GSI1PK) is for `status`.
async fn assert_indexed_as(api: &Api, id: &str, status: &str) {
    let item = stored_request(api, id).await;
    assert_eq!(
        shared::store::get_s(&item, "GSI1PK"),
        Some(format!("T#{}#ARQ#{status}", api.tenant).as_str()),
        "{id}"
    );
}

/// An active `read` grant of person `principal` on `asset_id`, expiring in 2098.
async fn grant_read(api: &Api, asset_id: &str, principal: &str) -> Value {
    grant(
        api,
        json!({"asset_id": asset_id, "principal_id": principal, "principal_type": "person", "entitlement_type": "read", "expires_at": "2098-01-01T00:00:00Z"}),
    )
    .await
}

async fn read_request(api: &Api, id: &str) -> Value {
    let r = api.get(&url(id)).await;
    assert_eq!(r.status, 200, "re-read request {id}: {}", r.text);
    r.body
}

async fn read_entitlement(api: &Api, id: &str) -> Value {
    let r = api.get(&format!("{ENTS}/{id}")).await;
    assert_eq!(r.status, 200, "re-read entitlement {id}: {}", r.text);
    r.body
}

/// What a refused action must leave alone: the request, the entitlement it names (if any) and
/// the asset's live count.
#[derive(Debug, PartialEq)]
struct Snapshot {
    request: Value,
    entitlement: Option<Value>,
    live: i64,
}

async fn snapshot(api: &Api, request_id: &str) -> Snapshot {
    let request = read_request(api, request_id).await;
    let entitlement = match request["entitlement_id"].as_str() {
        Some(eid) => Some(read_entitlement(api, eid).await),
        None => None,
    };
    let asset_id = request["asset_id"].as_str().expect("asset_id").to_string();
    Snapshot {
        request,
        entitlement,
        live: live_count(api, &asset_id).await,
    }
}

async fn assert_unchanged(api: &Api, before: &Snapshot) {
    let now = snapshot(api, &id_of(&before.request)).await;
    assert_eq!(&now, before, "something changed after a refused action");
}

/// Asserts a 409 for a transition the state machine refuses, naming the current status.
fn assert_transition_conflict(r: &Response, current: &str) {
    assert_problem(r, 409, "conflict");
    assert_eq!(r.body["current_status"], current, "{}", r.text);
}

/// Sends with an `If-Match` header.
async fn with_if_match(
    api: &Api,
    token: &str,
    method: &str,
    uri: &str,
    if_match: &str,
    body: Option<Value>,
) -> Response {
    send(api, token, method, uri, Some(if_match), body).await
}

/// `POST {request}/{action}` with `If-Match`.
async fn act_if_match(api: &Api, token: &str, id: &str, action: &str, if_match: &str) -> Response {
    let uri = format!("{}/{action}", url(id));
    with_if_match(api, token, "POST", &uri, if_match, None).await
}

/// `PATCH {request}` by the requester with `If-Match`.
async fn patch_if_match(api: &Api, id: &str, if_match: &str, body: Value) -> Response {
    with_if_match(api, &api.token(), "PATCH", &url(id), if_match, Some(body)).await
}

fn missing_request_id() -> String {
    format!("arq_{}", ulid::Ulid::generate())
}

/// A `new` request (on an asset of its own, named `sys-<status>`) brought to `status`.
async fn at_status(api: &Api, status: &str) -> Value {
    let name = format!("sys-{status}");
    asset(api, &name).await;
    let r = new_request(api, &name).await;
    let id = id_of(&r);
    match status {
        "pending" => {}
        "rejected" => {
            let r = act(api, &approver(api), &id, "reject").await;
            assert_eq!(r.status, 200, "{}", r.text);
        }
        "approved" => {
            approve(api, &id).await;
        }
        "provisioned" => {
            approve(api, &id).await;
            provision(api, &id).await;
        }
        "completed" => {
            approve(api, &id).await;
            provision(api, &id).await;
            let r = complete(api, &api.token(), &id).await;
            assert_eq!(r.status, 200, "{}", r.text);
        }
        other => panic!("no such status {other}"),
    }
    let now = read_request(api, &id).await;
    assert_eq!(now["status"], status);
    now
}
