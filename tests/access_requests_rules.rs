//! Access requests: the rules of API.md §3 (AccessRequest) and §5 end to end — create defaults
//! and validation, every legal and illegal transition of the state machine, separation of duties,
//! scopes, what provisioning does to the entitlement and the asset's live count (and that a
//! refused provisioning changes nothing), races, DynamoDB request counts, lists, If-Match and
//! tenancy.
//!
//! Every refused action is followed by a re-read of the request, of the entitlement it names and
//! of the asset's live count, proving that nothing changed.

mod common;

use common::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

const BASE: &str = "/api/v1/operations/access-requests";
const ENTS: &str = "/api/v1/entitlements";
const TECH: &str = "/api/v1/technology";
const FUTURE: &str = "2099-01-01T00:00:00Z";
const FUTURE_OUT: &str = "2099-01-01T00:00:00.000Z";
const LATER: &str = "2099-06-30T12:00:00Z";
const LATER_OUT: &str = "2099-06-30T12:00:00.000Z";

const REQUEST_KEYS: &[&str] = &[
    "requester_id",
    "system_id",
    "access_type",
    "status",
    "justification",
    "approver_id",
    "approved_at",
    "rejected_at",
    "provisioned_at",
    "completed_at",
    "decision_comment",
    "asset_id",
    "principal_id",
    "principal_type",
    "entitlement_type",
    "entitlement_id",
    "granted_at",
    "granted_by_id",
    "expires_at",
    "tags",
];

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

fn url(id: &str) -> String {
    format!("{BASE}/{id}")
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

fn app_token(api: &Api, sub: &str, app: &str) -> String {
    api.token_for(sub, Some(app), &all_scopes())
}

async fn act(api: &Api, token: &str, id: &str, action: &str) -> Response {
    api.call("POST", &format!("{}/{action}", url(id)), token, None)
        .await
}

async fn act_with(api: &Api, token: &str, id: &str, action: &str, body: Value) -> Response {
    api.call("POST", &format!("{}/{action}", url(id)), token, Some(body))
        .await
}

async fn complete(api: &Api, token: &str, id: &str) -> Response {
    api.call(
        "PATCH",
        &url(id),
        token,
        Some(json!({"status": "completed"})),
    )
    .await
}

/// Creates an asset named `name` and returns its id.
async fn asset(api: &Api, name: &str) -> String {
    id_of(&api.asset(json!({ "name": name })).await)
}

/// Creates a request as `token`, asserting 201.
async fn create_as(api: &Api, token: &str, body: Value) -> Value {
    let r = api.call("POST", BASE, token, Some(body)).await;
    assert_eq!(r.status, 201, "create request: {}", r.text);
    r.body
}

/// Creates a request as user-1, asserting 201.
async fn create(api: &Api, body: Value) -> Value {
    create_as(api, &api.token(), body).await
}

/// A `new` request of user-1 for `member` access to the asset named `system`.
async fn new_request(api: &Api, system: &str) -> Value {
    create(
        api,
        json!({"system_id": system, "access_type": "new", "justification": "needed for work", "entitlement_type": "member"}),
    )
    .await
}

/// Approves as approver-1, asserting 200.
async fn approve(api: &Api, id: &str) -> Value {
    let r = act(api, &approver(api), id, "approve").await;
    assert_eq!(r.status, 200, "approve: {}", r.text);
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

/// Runs `n` copies of `f` at once and returns their statuses.
async fn race<F, Fut>(n: usize, f: F) -> Vec<u16>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = u16> + Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|i| tokio::spawn(f(i))).collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("task"));
    }
    statuses
}

fn count_of(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

// ------------------------------------------------------------------------------------------
// Create
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn create_fills_defaults_and_returns_every_field() {
    let api = Api::new().await;
    let aid = asset(&api, "github").await;
    let r = api
        .post(
            BASE,
            json!({"system_id": "github", "access_type": "new", "justification": "on-call", "entitlement_type": "maintainer"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let b = &r.body;
    let id = id_of(b);
    assert!(id.starts_with("arq_") && id.len() == 30, "{id}");
    assert_eq!(r.header("location"), Some(url(&id).as_str()));
    assert_eq!(r.header("etag"), Some("\"1\""));
    let keys: BTreeSet<&str> = b.as_object().unwrap().keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = ENVELOPE_KEYS.iter().chain(REQUEST_KEYS).copied().collect();
    assert_eq!(keys, expected);
    assert_eq!(b["tenant_id"], api.tenant.as_str());
    assert_eq!(b["app_id"], Value::Null);
    assert_eq!(b["created_by"], "user-1");
    assert_eq!(b["updated_by"], "user-1");
    assert_eq!(b["created_at"], b["updated_at"]);
    assert_eq!(b["source"], "edm");
    assert_eq!(b["source_type"], "api");
    assert_eq!(b["is_deleted"], false);
    assert_eq!(b["deleted_at"], Value::Null);
    assert_eq!(b["deleted_by"], Value::Null);
    assert_eq!(b["revision"], 1);
    assert_eq!(b["requester_id"], "user-1");
    assert_eq!(b["principal_id"], "user-1");
    assert_eq!(b["principal_type"], "person");
    assert_eq!(b["status"], "pending");
    assert_eq!(b["system_id"], "github");
    assert_eq!(b["asset_id"], aid.as_str());
    assert_eq!(b["access_type"], "new");
    assert_eq!(b["justification"], "on-call");
    assert_eq!(b["entitlement_type"], "maintainer");
    assert_eq!(b["expires_at"], Value::Null);
    assert_eq!(b["tags"], Value::Null);
    for f in SERVER_SET {
        assert_eq!(b[*f], Value::Null, "{f} must be null on a new request");
    }
    assert_eq!(read_request(&api, &id).await, *b);
    // Nothing is granted by asking.
    assert_eq!(live_count(&api, &aid).await, 0);
}

#[tokio::test]
async fn create_takes_the_clients_own_fields() {
    let api = Api::new().await;
    let aid = asset(&api, "aws").await;
    let b = create(
        &api,
        json!({
            "system_id": "aws", "asset_id": aid, "access_type": "new", "justification": "team access",
            "requester_id": "lead-7", "principal_id": "grp-ops", "principal_type": "group",
            "entitlement_type": "deployer", "expires_at": "2099-01-01T02:00:00+02:00",
            "tags": ["q1", "ops"], "source": "portal", "source_type": "frontend"
        }),
    )
    .await;
    assert_eq!(b["requester_id"], "lead-7");
    assert_eq!(b["principal_id"], "grp-ops");
    assert_eq!(b["principal_type"], "group");
    assert_eq!(b["asset_id"], aid.as_str());
    assert_eq!(b["expires_at"], FUTURE_OUT);
    assert_eq!(b["tags"], json!(["q1", "ops"]));
    assert_eq!(b["source"], "portal");
    assert_eq!(b["source_type"], "frontend");
    assert_eq!(b["created_by"], "user-1");
    // `null` optional fields take their defaults.
    let b = create(
        &api,
        json!({"system_id": "aws", "access_type": "new", "justification": "x", "entitlement_type": "r",
               "requester_id": null, "principal_id": null, "principal_type": null, "asset_id": null, "tags": null}),
    )
    .await;
    assert_eq!(b["requester_id"], "user-1");
    assert_eq!(b["principal_id"], "user-1");
    assert_eq!(b["principal_type"], "person");
    assert_eq!(b["asset_id"], aid.as_str());
    assert_eq!(b["tags"], Value::Null);
}

#[tokio::test]
async fn create_validates_every_field() {
    let api = Api::new().await;
    asset(&api, "slack").await;
    let ok = json!({"system_id": "slack", "access_type": "new", "justification": "x", "entitlement_type": "member"});
    let with = |patch: Value| {
        let mut b = ok.clone();
        for (k, v) in patch.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let without = |field: &str| {
        let mut b = ok.clone();
        b.as_object_mut().unwrap().remove(field);
        b
    };
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({}), vec!["access_type", "justification", "system_id"]),
        (without("system_id"), vec!["system_id"]),
        (without("justification"), vec!["justification"]),
        (without("access_type"), vec!["access_type"]),
        (with(json!({"justification": "   "})), vec!["justification"]),
        (with(json!({"justification": ""})), vec!["justification"]),
        (with(json!({"justification": null})), vec!["justification"]),
        (with(json!({"justification": 5})), vec!["justification"]),
        (
            with(json!({"justification": "j".repeat(4001)})),
            vec!["justification"],
        ),
        (with(json!({"system_id": " "})), vec!["system_id"]),
        (with(json!({"system_id": null})), vec!["system_id"]),
        (with(json!({"access_type": "grant"})), vec!["access_type"]),
        (with(json!({"access_type": "NEW"})), vec!["access_type"]),
        (with(json!({"access_type": null})), vec!["access_type"]),
        (without("entitlement_type"), vec!["entitlement_type"]),
        (
            with(json!({"entitlement_type": null})),
            vec!["entitlement_type"],
        ),
        (
            with(json!({"entitlement_type": "  "})),
            vec!["entitlement_type"],
        ),
        (with(json!({"expires_at": null})), vec!["expires_at"]),
        (
            with(json!({"expires_at": "2001-01-01T00:00:00Z"})),
            vec!["expires_at"],
        ),
        (with(json!({"expires_at": "tomorrow"})), vec!["expires_at"]),
        (
            with(json!({"expires_at": 4102444800u64})),
            vec!["expires_at"],
        ),
        (
            with(json!({"principal_type": "robot"})),
            vec!["principal_type"],
        ),
        (with(json!({"principal_id": ""})), vec!["principal_id"]),
        (with(json!({"requester_id": " "})), vec!["requester_id"]),
        (with(json!({"tags": "a"})), vec!["tags"]),
        (with(json!({"tags": ["a", ""]})), vec!["tags"]),
        (with(json!({"source_type": "robot"})), vec!["source_type"]),
        (with(json!({"bogus": 1})), vec!["bogus"]),
        (
            with(json!({"access_type": "modify"})),
            vec!["entitlement_id"],
        ),
        (
            json!({"system_id": "slack", "access_type": "modify", "justification": "x"}),
            vec!["entitlement_id", "entitlement_type"],
        ),
        (
            json!({"system_id": "slack", "access_type": "modify", "justification": "x", "entitlement_id": "ent_01JD3Q9Z8X4K2M7N5P6R8S0T1V"}),
            vec!["entitlement_type"],
        ),
        (
            json!({"system_id": "slack", "access_type": "revoke", "justification": "x"}),
            vec!["entitlement_id"],
        ),
        (
            json!({"system_id": "slack", "access_type": "revoke", "justification": "x", "entitlement_id": "ent_01JD3Q9Z8X4K2M7N5P6R8S0T1V", "expires_at": FUTURE}),
            vec!["expires_at"],
        ),
        (
            json!({"system_id": "slack", "access_type": "revoke", "justification": "x", "entitlement_id": "ent_01JD3Q9Z8X4K2M7N5P6R8S0T1V", "expires_at": null}),
            vec!["expires_at"],
        ),
        (
            json!({"access_type": "new", "justification": "", "expires_at": "2001-01-01T00:00:00Z", "bogus": true}),
            vec![
                "bogus",
                "entitlement_type",
                "expires_at",
                "justification",
                "system_id",
            ],
        ),
    ];
    for (body, fields) in cases {
        let r = api.post(BASE, body.clone()).await;
        assert_problem(&r, 400, "validation-error");
        assert_eq!(bad_fields(&r), fields, "body {body}: {}", r.text);
    }
    // Not JSON objects, or no body at all.
    let r = api.call("POST", BASE, &api.token(), None).await;
    assert_problem(&r, 400, "bad-request");
    let r = api.post(BASE, json!(["x"])).await;
    assert_eq!(r.status, 400, "{}", r.text);
    // Nothing was created by any of them.
    assert_eq!(listed_ids(&api.get(BASE).await), Vec::<String>::new());
}

#[tokio::test]
async fn create_resolves_the_asset_from_system_id() {
    let api = Api::new().await;
    let github = asset(&api, "github").await;
    let jira = asset(&api, "jira").await;
    let body = |extra: Value| {
        let mut b = json!({"system_id": "github", "access_type": "new", "justification": "x", "entitlement_type": "member"});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    // By name alone, and with a matching asset_id.
    assert_eq!(create(&api, body(json!({}))).await["asset_id"], github);
    assert_eq!(
        create(&api, body(json!({"asset_id": github}))).await["asset_id"],
        github
    );
    // asset_id of another asset than system_id names.
    let r = api.post(BASE, body(json!({"asset_id": jira}))).await;
    assert_invalid(&r, &["system_id"]);
    // asset_id that names nothing (well-formed or not).
    let r = api
        .post(
            BASE,
            body(json!({"asset_id": format!("ast_{}", ulid::Ulid::generate())})),
        )
        .await;
    assert_invalid(&r, &["asset_id"]);
    let r = api.post(BASE, body(json!({"asset_id": "nope"}))).await;
    assert_invalid(&r, &["asset_id"]);
    // system_id that names no asset.
    let r = api.post(BASE, body(json!({"system_id": "gitlab"}))).await;
    assert_invalid(&r, &["asset_id", "system_id"]);
    // Names are exact.
    let r = api.post(BASE, body(json!({"system_id": "GitHub"}))).await;
    assert_invalid(&r, &["asset_id", "system_id"]);
    // A deleted asset names nothing, by name or by id.
    assert_eq!(api.delete(&format!("{TECH}/{jira}")).await.status, 204);
    let r = api.post(BASE, body(json!({"system_id": "jira"}))).await;
    assert_invalid(&r, &["asset_id", "system_id"]);
    let r = api
        .post(BASE, body(json!({"system_id": "jira", "asset_id": jira})))
        .await;
    assert_invalid(&r, &["asset_id"]);
    // Another tenant's asset, by name or by id.
    let other = api.other_tenant();
    let theirs = asset(&other, "confluence").await;
    let r = api
        .post(BASE, body(json!({"system_id": "confluence"})))
        .await;
    assert_invalid(&r, &["asset_id", "system_id"]);
    let r = api
        .post(
            BASE,
            body(json!({"system_id": "confluence", "asset_id": theirs})),
        )
        .await;
    assert_invalid(&r, &["asset_id"]);
    // Only the two good ones exist.
    assert_eq!(listed_ids(&api.get(BASE).await).len(), 2);
    assert_eq!(listed_ids(&other.get(BASE).await).len(), 0);
}

/// API.md §3: `system_id` may be a free-form system identifier that names no asset; with
/// `asset_id` given, only a `system_id` naming a *different* asset is a 400. Before, any
/// `system_id` other than the asset's name was refused.
#[tokio::test]
async fn a_system_id_that_names_no_asset_keeps_the_given_asset_id() {
    let api = Api::new().await;
    let github = asset(&api, "github").await;
    let jira = asset(&api, "jira").await;
    let body = |system: &str, asset_id: &str| {
        json!({"system_id": system, "asset_id": asset_id, "access_type": "new",
               "justification": "x", "entitlement_type": "member"})
    };
    // A free-form identifier: kept as sent, the asset is asset_id's.
    let r = create(&api, body("SAP-PRD-01", &github)).await;
    assert_eq!(r["asset_id"], github);
    assert_eq!(r["system_id"], "SAP-PRD-01");
    let stored = read_request(&api, &id_of(&r)).await;
    assert_eq!(stored, r);
    // Names of no live asset of the tenant: another tenant's, a deleted one's.
    let other = api.other_tenant();
    asset(&other, "confluence").await;
    let r = create(&api, body("confluence", &github)).await;
    assert_eq!(r["asset_id"], github);
    assert_eq!(api.delete(&format!("{TECH}/{jira}")).await.status, 204);
    let r = create(&api, body("jira", &github)).await;
    assert_eq!(r["asset_id"], github);
    assert_eq!(r["system_id"], "jira");
    // For an app token, another app's asset names nothing either.
    let app = app_token(&api, "svc", "app-a");
    let r = api
        .call("POST", TECH, &app, Some(json!({"name": "app-tool"})))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let app_asset = id_of(&r.body);
    let r = create_as(&api, &app, body("github", &app_asset)).await;
    assert_eq!(r["asset_id"], app_asset);
    // Still 400: a name of another asset, or neither resolving.
    let gitlab = asset(&api, "gitlab").await;
    let r = api.post(BASE, body("gitlab", &github)).await;
    assert_invalid(&r, &["system_id"]);
    let r = api
        .post(
            BASE,
            body("SAP-PRD-01", &format!("ast_{}", ulid::Ulid::generate())),
        )
        .await;
    assert_invalid(&r, &["asset_id"]);
    let r = api
        .post(
            BASE,
            json!({"system_id": "SAP-PRD-01", "access_type": "new", "justification": "x",
                   "entitlement_type": "member"}),
        )
        .await;
    assert_invalid(&r, &["asset_id", "system_id"]);
    // Exactly the four accepted requests exist (three of user-1's, one of the app's).
    assert_eq!(listed_ids(&api.get(BASE).await).len(), 4);
    assert!(listed_ids(&api.get(&format!("{BASE}?asset_id={gitlab}")).await).is_empty());
}

#[tokio::test]
async fn create_checks_the_entitlement_of_modify_and_revoke() {
    let api = Api::new().await;
    let aws = asset(&api, "aws").await;
    let gcp = asset(&api, "gcp").await;
    let live = grant_read(&api, &aws, "p9").await;
    let live_id = id_of(&live);
    let on_gcp = id_of(&grant_read(&api, &gcp, "p9").await);
    let revoked = id_of(&grant_read(&api, &aws, "p8").await);
    assert_eq!(
        api.post(&format!("{ENTS}/{revoked}/revoke"), json!({}))
            .await
            .status,
        200
    );
    let pending = id_of(
        &grant(
            &api,
            json!({"asset_id": aws, "principal_id": "p7", "principal_type": "person", "entitlement_type": "read", "status": "pending_approval"}),
        )
        .await,
    );
    let other = api.other_tenant();
    let their_asset = asset(&other, "aws").await;
    let theirs = id_of(&grant_read(&other, &their_asset, "p9").await);

    for access_type in ["modify", "revoke"] {
        let body = |eid: &str| {
            let mut b = json!({"system_id": "aws", "access_type": access_type, "justification": "x", "entitlement_id": eid});
            if access_type == "modify" {
                b["entitlement_type"] = json!("write");
            }
            b
        };
        for bad in [
            revoked.as_str(),
            on_gcp.as_str(),
            pending.as_str(),
            theirs.as_str(),
            "ent_01JD3Q9Z8X4K2M7N5P6R8S0T1V",
            "not-an-id",
        ] {
            let r = api.post(BASE, body(bad)).await;
            assert_invalid(&r, &["entitlement_id"]);
        }
        // The principal is the entitlement's: another one is refused, the same one is fine.
        let mut b = body(&live_id);
        b["principal_id"] = json!("p1");
        assert_invalid(&api.post(BASE, b).await, &["principal_id"]);
        let mut b = body(&live_id);
        b["principal_type"] = json!("group");
        assert_invalid(&api.post(BASE, b).await, &["principal_type"]);
        let mut b = body(&live_id);
        b["principal_id"] = json!("p9");
        b["principal_type"] = json!("person");
        let created = create(&api, b).await;
        assert_eq!(created["principal_id"], "p9");
        assert_eq!(created["principal_type"], "person");
        assert_eq!(created["entitlement_id"], live_id.as_str());
        assert_eq!(created["requester_id"], "user-1");
        assert_eq!(created["asset_id"], aws.as_str());
    }
    // revoke: the request's entitlement_type is the entitlement's, whatever was sent.
    let r = create(
        &api,
        json!({"system_id": "aws", "access_type": "revoke", "justification": "x", "entitlement_id": live_id, "entitlement_type": "admin"}),
    )
    .await;
    assert_eq!(r["entitlement_type"], "read");
    assert_eq!(r["expires_at"], Value::Null);
    // modify: only the expiry, only the type.
    let r = create(
        &api,
        json!({"system_id": "aws", "access_type": "modify", "justification": "x", "entitlement_id": live_id, "expires_at": FUTURE}),
    )
    .await;
    assert_eq!(r["entitlement_type"], Value::Null);
    assert_eq!(r["expires_at"], FUTURE_OUT);
    // Nothing about the entitlement changed by asking.
    assert_eq!(read_entitlement(&api, &live_id).await, live);
    assert_eq!(live_count(&api, &aws).await, 2);
}

#[tokio::test]
async fn create_ignores_server_set_fields() {
    let api = Api::new().await;
    let aid = asset(&api, "okta").await;
    let b = create(
        &api,
        json!({
            "system_id": "okta", "access_type": "new", "justification": "x", "entitlement_type": "admin",
            "status": "approved", "approver_id": "me", "approved_at": "2020-01-01T00:00:00Z",
            "rejected_at": "2020-01-01T00:00:00Z", "provisioned_at": "2020-01-01T00:00:00Z",
            "completed_at": "2020-01-01T00:00:00Z", "decision_comment": "self-approved",
            "granted_at": "2020-01-01T00:00:00Z", "granted_by_id": "me",
            "id": "arq_01JD3Q9Z8X4K2M7N5P6R8S0T1V", "tenant_id": "someone-else", "app_id": "app-x",
            "created_at": "2020-01-01T00:00:00Z", "updated_at": "2020-01-01T00:00:00Z",
            "created_by": "mallory", "updated_by": "mallory", "is_deleted": true,
            "deleted_at": "2020-01-01T00:00:00Z", "deleted_by": "mallory", "schema_version": 99,
            "revision": 42
        }),
    )
    .await;
    assert_eq!(b["status"], "pending");
    for f in SERVER_SET {
        assert_eq!(b[*f], Value::Null, "{f} must be ignored");
    }
    assert_ne!(b["id"], "arq_01JD3Q9Z8X4K2M7N5P6R8S0T1V");
    assert_eq!(b["tenant_id"], api.tenant.as_str());
    assert_eq!(b["app_id"], Value::Null);
    assert_eq!(b["created_by"], "user-1");
    assert_eq!(b["is_deleted"], false);
    assert_eq!(b["deleted_at"], Value::Null);
    assert_eq!(b["revision"], 1);
    assert_ne!(b["schema_version"], 99);
    assert_eq!(b["asset_id"], aid.as_str());
    assert_eq!(read_request(&api, &id_of(&b)).await, b);
    // It is pending for real: the requester still cannot provision it.
    let r = act(&api, &api.token(), &id_of(&b), "provision").await;
    assert_transition_conflict(&r, "pending");
}

#[tokio::test]
async fn modify_clearing_the_expiry_of_a_privileged_entitlement_is_refused_at_create() {
    let api = Api::new().await;
    let aid = asset(&api, "vault").await;
    let privileged = grant(
        &api,
        json!({"asset_id": aid, "principal_id": "p1", "principal_type": "person", "entitlement_type": "root", "privileged": true, "expires_at": FUTURE}),
    )
    .await;
    let plain = grant_read(&api, &aid, "p2").await;
    let r = api
        .post(
            BASE,
            json!({"system_id": "vault", "access_type": "modify", "justification": "x", "entitlement_id": id_of(&privileged), "expires_at": null}),
        )
        .await;
    assert_invalid(&r, &["expires_at"]);
    // A new expiry is fine on the privileged one; clearing is fine on the plain one.
    create(
        &api,
        json!({"system_id": "vault", "access_type": "modify", "justification": "x", "entitlement_id": id_of(&privileged), "expires_at": LATER}),
    )
    .await;
    let c = create(
        &api,
        json!({"system_id": "vault", "access_type": "modify", "justification": "x", "entitlement_id": id_of(&plain), "expires_at": null}),
    )
    .await;
    assert_eq!(c["expires_at"], Value::Null);
    assert_eq!(c["entitlement_type"], Value::Null);
    assert_eq!(listed_ids(&api.get(BASE).await).len(), 2);
}

#[tokio::test]
async fn app_tokens_reach_only_their_apps_assets_and_entitlements() {
    let api = Api::new().await;
    let app_a = app_token(&api, "svc-a", "app-a");
    let app_b = app_token(&api, "svc-b", "app-b");
    let person_asset = asset(&api, "person-made").await;
    let r = api
        .call("POST", TECH, &app_a, Some(json!({"name": "app-a-made"})))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let a_asset = id_of(&r.body);
    let body = |system: &str| json!({"system_id": system, "access_type": "new", "justification": "x", "entitlement_type": "member"});

    // A person-created asset, by name or by id: the same 400 as a missing one.
    let r = api
        .call("POST", BASE, &app_a, Some(body("person-made")))
        .await;
    assert_invalid(&r, &["asset_id", "system_id"]);
    let mut b = body("person-made");
    b["asset_id"] = json!(person_asset);
    let r = api.call("POST", BASE, &app_a, Some(b)).await;
    assert_invalid(&r, &["asset_id"]);
    // Another app's asset, likewise.
    let r = api
        .call("POST", BASE, &app_b, Some(body("app-a-made")))
        .await;
    assert_invalid(&r, &["asset_id", "system_id"]);
    let mut b = body("app-a-made");
    b["asset_id"] = json!(a_asset);
    let r = api.call("POST", BASE, &app_b, Some(b)).await;
    assert_invalid(&r, &["asset_id"]);

    // The app's own asset works and the request is the app's.
    let mine = create_as(&api, &app_a, body("app-a-made")).await;
    assert_eq!(mine["app_id"], "app-a");
    assert_eq!(mine["requester_id"], "svc-a");
    assert_eq!(mine["asset_id"], a_asset.as_str());
    let mid = id_of(&mine);

    // An entitlement a person created on the app's asset is not the app's: 400 entitlement_id.
    let persons = grant_read(&api, &a_asset, "p1").await;
    let r = api
        .call(
            "POST",
            BASE,
            &app_a,
            Some(json!({"system_id": "app-a-made", "access_type": "revoke", "justification": "x", "entitlement_id": id_of(&persons)})),
        )
        .await;
    assert_invalid(&r, &["entitlement_id"]);

    // Another app never sees the request; a person of the tenant does.
    for (method, path) in [
        ("GET", url(&mid)),
        ("DELETE", url(&mid)),
        ("POST", format!("{}/approve", url(&mid))),
        ("POST", format!("{}/reject", url(&mid))),
        ("POST", format!("{}/provision", url(&mid))),
    ] {
        let r = api.call(method, &path, &app_b, None).await;
        assert_problem(&r, 404, "not-found");
    }
    let r = api
        .call(
            "PATCH",
            &url(&mid),
            &app_b,
            Some(json!({"justification": "y"})),
        )
        .await;
    assert_problem(&r, 404, "not-found");
    assert_eq!(
        listed_ids(&api.call("GET", BASE, &app_b, None).await),
        Vec::<String>::new()
    );
    assert_eq!(
        listed_ids(&api.call("GET", BASE, &app_a, None).await),
        vec![mid.clone()]
    );
    assert_eq!(listed_ids(&api.get(BASE).await), vec![mid.clone()]);
    assert_eq!(read_request(&api, &mid).await, mine);
}

// ------------------------------------------------------------------------------------------
// The state machine
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn approving_a_pending_request_stamps_the_decision() {
    let api = Api::new().await;
    asset(&api, "github").await;
    let before = new_request(&api, "github").await;
    let id = id_of(&before);
    let r = act_with(
        &api,
        &approver(&api),
        &id,
        "approve",
        json!({"comment": "ok for Q1"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("etag"), Some("\"2\""));
    let b = &r.body;
    assert_eq!(b["status"], "approved");
    assert_eq!(b["approver_id"], "approver-1");
    assert_eq!(b["decision_comment"], "ok for Q1");
    assert!(b["approved_at"].is_string());
    assert_eq!(b["approved_at"], b["updated_at"]);
    assert_eq!(b["updated_by"], "approver-1");
    assert_eq!(b["revision"], 2);
    for f in [
        "rejected_at",
        "provisioned_at",
        "completed_at",
        "granted_at",
        "granted_by_id",
        "entitlement_id",
    ] {
        assert_eq!(b[f], Value::Null, "{f}");
    }
    // Everything else is as it was.
    let mut expected = before.clone();
    for f in [
        "status",
        "approver_id",
        "decision_comment",
        "approved_at",
        "updated_at",
        "updated_by",
        "revision",
    ] {
        expected[f] = b[f].clone();
    }
    assert_eq!(*b, expected);
    assert_eq!(read_request(&api, &id).await, *b);
    let item = api
        .stored(&format!("T#{}#ARQ", api.tenant), &id)
        .await
        .unwrap();
    assert_eq!(
        shared::store::get_s(&item, "GSI1PK"),
        Some(format!("T#{}#ARQ#approved", api.tenant).as_str())
    );
}

#[tokio::test]
async fn rejecting_a_pending_request_stamps_the_decision() {
    let api = Api::new().await;
    asset(&api, "github").await;
    let id = id_of(&new_request(&api, "github").await);
    // An empty body is fine on an action route; an unknown field is not (and changes nothing).
    let before = snapshot(&api, &id).await;
    let r = act_with(
        &api,
        &approver(&api),
        &id,
        "reject",
        json!({"reason": "no"}),
    )
    .await;
    assert_invalid(&r, &["reason"]);
    let r = act_with(&api, &approver(&api), &id, "reject", json!({"comment": 5})).await;
    assert_invalid(&r, &["comment"]);
    assert_unchanged(&api, &before).await;
    let r = act(&api, &approver(&api), &id, "reject").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let b = &r.body;
    assert_eq!(b["status"], "rejected");
    assert_eq!(b["approver_id"], "approver-1");
    assert_eq!(b["decision_comment"], Value::Null);
    assert_eq!(b["rejected_at"], b["updated_at"]);
    assert_eq!(b["approved_at"], Value::Null);
    assert_eq!(b["revision"], 2);
    assert_eq!(read_request(&api, &id).await, *b);
    let item = api
        .stored(&format!("T#{}#ARQ", api.tenant), &id)
        .await
        .unwrap();
    assert_eq!(
        shared::store::get_s(&item, "GSI1PK"),
        Some(format!("T#{}#ARQ#rejected", api.tenant).as_str())
    );
}

#[tokio::test]
async fn every_illegal_transition_is_a_conflict_that_changes_nothing() {
    let api = Api::new().await;
    let mut by_status = BTreeMap::new();
    for s in [
        "pending",
        "approved",
        "rejected",
        "provisioned",
        "completed",
    ] {
        by_status.insert(s, id_of(&at_status(&api, s).await));
    }
    let decider = approver(&api);
    // (action, statuses it is refused from)
    let refused: &[(&str, &[&str])] = &[
        (
            "approve",
            &["approved", "rejected", "provisioned", "completed"],
        ),
        (
            "reject",
            &["approved", "rejected", "provisioned", "completed"],
        ),
        (
            "provision",
            &["pending", "rejected", "provisioned", "completed"],
        ),
        (
            "complete",
            &["pending", "approved", "rejected", "completed"],
        ),
    ];
    for (action, from) in refused {
        for status in *from {
            let id = &by_status[status];
            let before = snapshot(&api, id).await;
            let r = match *action {
                "complete" => complete(&api, &api.token(), id).await,
                a => act(&api, &decider, id, a).await,
            };
            assert_transition_conflict(&r, status);
            assert_unchanged(&api, &before).await;
        }
    }
    // Edits and withdrawals once a request left `pending`.
    for status in ["approved", "rejected", "provisioned", "completed"] {
        let id = &by_status[status];
        let before = snapshot(&api, id).await;
        for body in [
            json!({"justification": "changed"}),
            json!({"tags": ["x"]}),
            json!({"expires_at": FUTURE}),
            json!({"entitlement_type": "admin"}),
        ] {
            let r = api.patch(&url(id), body).await;
            assert_problem(&r, 409, "conflict");
        }
        let r = api.delete(&url(id)).await;
        assert_problem(&r, 409, "conflict");
        assert_unchanged(&api, &before).await;
    }
}

#[tokio::test]
async fn completing_is_only_from_provisioned_and_status_takes_no_other_value() {
    let api = Api::new().await;
    let p = at_status(&api, "provisioned").await;
    let id = id_of(&p);
    let before = snapshot(&api, &id).await;
    for status in [
        json!("approved"),
        json!("pending"),
        json!("rejected"),
        json!("provisioned"),
        json!("done"),
        json!("COMPLETED"),
        json!(null),
        json!(5),
    ] {
        let r = api.patch(&url(&id), json!({ "status": status })).await;
        assert_invalid(&r, &["status"]);
    }
    // Completing cannot be combined with an edit.
    let r = api
        .patch(
            &url(&id),
            json!({"status": "completed", "justification": "y"}),
        )
        .await;
    assert_invalid(&r, &["status"]);
    assert_unchanged(&api, &before).await;
    // The same 400 for a pending request (validation comes before the state).
    let pending = id_of(&at_status(&api, "pending").await);
    let pb = snapshot(&api, &pending).await;
    let r = api
        .patch(&url(&pending), json!({"status": "approved"}))
        .await;
    assert_invalid(&r, &["status"]);
    assert_unchanged(&api, &pb).await;

    let r = api
        .call(
            "PATCH",
            &url(&id),
            &token_of(&api, "closer-1"),
            Some(json!({"status": "completed", "source": "itsm"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let b = &r.body;
    assert_eq!(b["status"], "completed");
    assert_eq!(b["completed_at"], b["updated_at"]);
    assert_eq!(b["updated_by"], "closer-1");
    assert_eq!(b["source"], "itsm");
    assert_eq!(
        b["revision"],
        before.request["revision"].as_i64().unwrap() + 1
    );
    // Completing touches only the request: the entitlement and the count are as provisioned.
    let after = snapshot(&api, &id).await;
    assert_eq!(after.entitlement, before.entitlement);
    assert_eq!(after.live, before.live);
    let mut expected = before.request.clone();
    for f in [
        "status",
        "completed_at",
        "updated_at",
        "updated_by",
        "source",
        "revision",
    ] {
        expected[f] = b[f].clone();
    }
    assert_eq!(after.request, expected);
}

#[tokio::test]
async fn pending_requests_can_be_edited_within_their_rules() {
    let api = Api::new().await;
    let aid = asset(&api, "github").await;
    let id = id_of(&new_request(&api, "github").await);
    let r = api
        .patch(
            &url(&id),
            json!({"justification": "reworded", "entitlement_type": "admin", "expires_at": "2099-06-30T14:00:00+02:00", "tags": ["a"], "source_type": "frontend"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("etag"), Some("\"2\""));
    let b = r.body.clone();
    assert_eq!(b["justification"], "reworded");
    assert_eq!(b["entitlement_type"], "admin");
    assert_eq!(b["expires_at"], LATER_OUT);
    assert_eq!(b["tags"], json!(["a"]));
    assert_eq!(b["source_type"], "frontend");
    assert_eq!(b["status"], "pending");
    assert_eq!(b["revision"], 2);
    // Clearing tags and expiry, and sending fixed fields unchanged, is fine.
    let r = api
        .patch(
            &url(&id),
            json!({"tags": null, "expires_at": null, "system_id": "github", "asset_id": aid, "access_type": "new", "requester_id": "user-1", "principal_id": "user-1", "principal_type": "person"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["tags"], Value::Null);
    assert_eq!(r.body["expires_at"], Value::Null);
    assert_eq!(r.body["revision"], 3);
    let before = snapshot(&api, &id).await;
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({"requester_id": "user-2"}), vec!["requester_id"]),
        (json!({"system_id": "gitlab"}), vec!["system_id"]),
        (json!({"access_type": "revoke"}), vec!["access_type"]),
        (
            json!({"asset_id": "ast_01JD3Q9Z8X4K2M7N5P6R8S0T1V"}),
            vec!["asset_id"],
        ),
        (json!({"principal_id": "p2"}), vec!["principal_id"]),
        (json!({"principal_type": "group"}), vec!["principal_type"]),
        (
            json!({"entitlement_id": "ent_01JD3Q9Z8X4K2M7N5P6R8S0T1V"}),
            vec!["entitlement_id"],
        ),
        (json!({"requester_id": null}), vec!["requester_id"]),
        (json!({"justification": null}), vec!["justification"]),
        (json!({"justification": " "}), vec!["justification"]),
        (json!({"entitlement_type": null}), vec!["entitlement_type"]),
        (
            json!({"expires_at": "2001-01-01T00:00:00Z"}),
            vec!["expires_at"],
        ),
        (json!({"tags": [1]}), vec!["tags"]),
        (json!({"bogus": 1}), vec!["bogus"]),
        (
            json!({"justification": null, "system_id": "x", "bogus": 1}),
            vec!["bogus", "justification", "system_id"],
        ),
    ];
    for (body, fields) in cases {
        let r = api.patch(&url(&id), body.clone()).await;
        assert_problem(&r, 400, "validation-error");
        assert_eq!(bad_fields(&r), fields, "body {body}: {}", r.text);
    }
    // Server-set fields are ignored, not applied.
    let r = api
        .patch(&url(&id), json!({"approver_id": "me", "approved_at": FUTURE, "decision_comment": "x", "revision": 9}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["approver_id"], Value::Null);
    assert_eq!(r.body["approved_at"], Value::Null);
    assert_eq!(r.body["decision_comment"], Value::Null);
    assert_eq!(r.body["status"], "pending");
    assert_eq!(r.body["revision"], 4);
    // An empty body is a 400.
    let after = snapshot(&api, &id).await;
    let r = api.call("PATCH", &url(&id), &api.token(), None).await;
    assert_problem(&r, 400, "bad-request");
    assert_unchanged(&api, &after).await;
    assert_eq!(before.live, after.live);
}

#[tokio::test]
async fn edits_keep_the_access_type_rules() {
    let api = Api::new().await;
    let aid = asset(&api, "aws").await;
    let ent = grant_read(&api, &aid, "p9").await;
    let eid = id_of(&ent);
    let revoke = create(
        &api,
        json!({"system_id": "aws", "access_type": "revoke", "justification": "x", "entitlement_id": eid}),
    )
    .await;
    let before = snapshot(&api, &id_of(&revoke)).await;
    for body in [
        json!({"entitlement_type": "write"}),
        json!({"expires_at": FUTURE}),
        json!({"expires_at": null}),
    ] {
        let r = api.patch(&url(&id_of(&revoke)), body).await;
        assert_invalid(&r, &["access_type"]);
    }
    assert_unchanged(&api, &before).await;
    let r = api
        .patch(&url(&id_of(&revoke)), json!({"justification": "left"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // modify: dropping the type leaves nothing to do unless an expiry change remains.
    let modify = create(
        &api,
        json!({"system_id": "aws", "access_type": "modify", "justification": "x", "entitlement_id": eid, "entitlement_type": "write"}),
    )
    .await;
    let mid = id_of(&modify);
    let before = snapshot(&api, &mid).await;
    let r = api
        .patch(&url(&mid), json!({"entitlement_type": null}))
        .await;
    assert_invalid(&r, &["entitlement_type"]);
    assert_unchanged(&api, &before).await;
    let r = api
        .patch(
            &url(&mid),
            json!({"entitlement_type": null, "expires_at": FUTURE}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["entitlement_type"], Value::Null);
    assert_eq!(r.body["expires_at"], FUTURE_OUT);
    // Clearing the expiry is itself a change.
    let r = api.patch(&url(&mid), json!({"expires_at": null})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["expires_at"], Value::Null);
    // …and it is what provisioning does.
    approve(&api, &mid).await;
    provision(&api, &mid).await;
    let e = read_entitlement(&api, &eid).await;
    assert_eq!(e["expires_at"], Value::Null);
    assert_eq!(e["entitlement_type"], "read");
}

#[tokio::test]
async fn patch_cannot_clear_the_expiry_of_a_privileged_entitlement() {
    let api = Api::new().await;
    let aid = asset(&api, "vault").await;
    let privileged = grant(
        &api,
        json!({"asset_id": aid, "principal_id": "p1", "principal_type": "person", "entitlement_type": "root", "privileged": true, "expires_at": FUTURE}),
    )
    .await;
    let m = create(
        &api,
        json!({"system_id": "vault", "access_type": "modify", "justification": "x", "entitlement_id": id_of(&privileged), "expires_at": LATER}),
    )
    .await;
    let before = snapshot(&api, &id_of(&m)).await;
    let r = api
        .patch(&url(&id_of(&m)), json!({"expires_at": null}))
        .await;
    assert_invalid(&r, &["expires_at"]);
    assert_unchanged(&api, &before).await;
}

#[tokio::test]
async fn deleting_a_pending_request_withdraws_it_for_good() {
    let api = Api::new().await;
    let aid = asset(&api, "github").await;
    let keep = id_of(&new_request(&api, "github").await);
    let id = id_of(&new_request(&api, "github").await);
    let r = api.delete(&url(&id)).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(r.text, "");
    let r = api.get(&url(&id)).await;
    assert_problem(&r, 404, "not-found");
    for (method, path) in [
        ("DELETE", url(&id)),
        ("POST", format!("{}/approve", url(&id))),
        ("POST", format!("{}/reject", url(&id))),
        ("POST", format!("{}/provision", url(&id))),
    ] {
        let r = api.call(method, &path, &approver(&api), None).await;
        assert_problem(&r, 404, "not-found");
    }
    let r = api.patch(&url(&id), json!({"justification": "y"})).await;
    assert_problem(&r, 404, "not-found");
    let r = complete(&api, &api.token(), &id).await;
    assert_problem(&r, 404, "not-found");
    // Gone from every list, including the status index and its filters.
    for q in [
        String::new(),
        "?status=pending".into(),
        "?system_id=github".into(),
        format!("?asset_id={aid}"),
        "?requester_id=user-1".into(),
    ] {
        assert_eq!(
            listed_ids(&api.get(&format!("{BASE}{q}")).await),
            vec![keep.clone()],
            "{q}"
        );
    }
    // include_deleted=true shows it again (write scope), on get and in lists.
    let r = api.get(&format!("{}?include_deleted=true", url(&id))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["is_deleted"], true);
    let listed = api.get(&format!("{BASE}?include_deleted=true")).await;
    assert!(listed_ids(&listed).contains(&id), "{}", listed.text);
    let read_only = api.token_with(&["access-requests:read"]);
    let r = api
        .call(
            "GET",
            &format!("{}?include_deleted=true", url(&id)),
            &read_only,
            None,
        )
        .await;
    assert_problem(&r, 403, "forbidden");
    let r = api
        .call(
            "GET",
            &format!("{BASE}?include_deleted=true"),
            &read_only,
            None,
        )
        .await;
    assert_problem(&r, 403, "forbidden");
    // The stored item is a soft delete, stamped.
    let item = api
        .stored(&format!("T#{}#ARQ", api.tenant), &id)
        .await
        .expect("item kept");
    assert_eq!(
        item.get("is_deleted"),
        Some(&aws_sdk_dynamodb::types::AttributeValue::Bool(true))
    );
    assert_eq!(shared::store::get_s(&item, "deleted_by"), Some("user-1"));
    assert_eq!(shared::store::get_n(&item, "revision"), Some(2));
}

// ------------------------------------------------------------------------------------------
// Separation of duties and scopes
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_requester_cannot_decide_their_own_request() {
    let api = Api::new().await;
    asset(&api, "github").await;
    let id = id_of(&new_request(&api, "github").await);
    let before = snapshot(&api, &id).await;
    for action in ["approve", "reject"] {
        let r = act(&api, &api.token(), &id, action).await;
        assert_problem(&r, 403, "forbidden");
        let r = act_with(&api, &api.token(), &id, action, json!({"comment": "lgtm"})).await;
        assert_problem(&r, 403, "forbidden");
    }
    assert_unchanged(&api, &before).await;
    // Filed on behalf of someone else: that requester cannot decide it either.
    let behalf = create(
        &api,
        json!({"system_id": "github", "access_type": "new", "justification": "x", "entitlement_type": "m", "requester_id": "bob"}),
    )
    .await;
    let bid = id_of(&behalf);
    let before = snapshot(&api, &bid).await;
    for action in ["approve", "reject"] {
        let r = act(&api, &token_of(&api, "bob"), &bid, action).await;
        assert_problem(&r, 403, "forbidden");
    }
    assert_unchanged(&api, &before).await;
    // Whatever the status: still 403 for the requester, not 409.
    approve(&api, &id).await;
    let before = snapshot(&api, &id).await;
    let r = act(&api, &api.token(), &id, "reject").await;
    assert_problem(&r, 403, "forbidden");
    assert_unchanged(&api, &before).await;
    // Provisioning has no such rule: the requester may provision an approved request.
    let r = act(&api, &api.token(), &id, "provision").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["granted_by_id"], "approver-1");
}

/// Regression: was a bug before 8d140b8 (only requester_id was compared, so filing with
/// requester_id set to someone else allowed approving one's own request).
#[tokio::test]
async fn the_caller_who_filed_a_request_cannot_approve_it() {
    let api = Api::new().await;
    asset(&api, "github").await;
    // user-1 files a request for their own access, naming "bob" as the requester…
    let r = create(
        &api,
        json!({"system_id": "github", "access_type": "new", "justification": "x", "entitlement_type": "admin", "requester_id": "bob", "principal_id": "user-1"}),
    )
    .await;
    let id = id_of(&r);
    let before = snapshot(&api, &id).await;
    // …and approves it: self-approval.
    let r = act(&api, &api.token(), &id, "approve").await;
    assert_problem(&r, 403, "forbidden");
    assert_unchanged(&api, &before).await;
}

/// API.md §10: the beneficiary (a `person` principal who is the caller) may not approve or
/// reject a request, whoever filed it. Before, the person who would hold the access could
/// approve a request someone else filed for them, and then provision it.
#[tokio::test]
async fn the_beneficiary_cannot_decide_a_request_filed_for_them() {
    let api = Api::new().await;
    asset(&api, "github").await;
    let carol = token_of(&api, "carol");
    let for_carol = create(
        &api,
        json!({"system_id": "github", "access_type": "new", "justification": "x",
               "entitlement_type": "admin", "principal_id": "carol"}),
    )
    .await;
    assert_eq!(for_carol["requester_id"], "user-1");
    assert_eq!(for_carol["principal_type"], "person");
    let id = id_of(&for_carol);
    let before = snapshot(&api, &id).await;
    for action in ["approve", "reject"] {
        let r = act(&api, &carol, &id, action).await;
        assert_problem(&r, 403, "forbidden");
        assert!(
            r.body["detail"].as_str().unwrap().contains("beneficiary"),
            "{}",
            r.text
        );
        let r = act_with(&api, &carol, &id, action, json!({"comment": "mine"})).await;
        assert_problem(&r, 403, "forbidden");
    }
    assert_unchanged(&api, &before).await;
    // Also once decided: 403, not 409.
    approve(&api, &id).await;
    let before = snapshot(&api, &id).await;
    let r = act(&api, &carol, &id, "reject").await;
    assert_problem(&r, 403, "forbidden");
    assert_unchanged(&api, &before).await;
    // Provisioning is not a decision (API.md §3 and §10 forbid deciding only).
    let r = act(&api, &carol, &id, "provision").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["granted_by_id"], "approver-1");
    // A group named like the caller is no beneficiary: that member may decide.
    let for_group = create(
        &api,
        json!({"system_id": "github", "access_type": "new", "justification": "x",
               "entitlement_type": "admin", "principal_id": "carol", "principal_type": "group"}),
    )
    .await;
    let r = act(&api, &carol, &id_of(&for_group), "approve").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["approver_id"], "carol");
}

#[tokio::test]
async fn each_route_needs_exactly_its_scope() {
    let api = Api::new().await;
    asset(&api, "github").await;
    let id = id_of(&new_request(&api, "github").await);
    let other_scopes =
        |keep: &str| -> Vec<String> { all_scopes().into_iter().filter(|s| s != keep).collect() };
    let body = json!({"system_id": "github", "access_type": "new", "justification": "x", "entitlement_type": "m"});
    // (method, path, body, required scope)
    let routes: Vec<(&str, String, Option<Value>, &str)> = vec![
        ("GET", BASE.to_string(), None, "access-requests:read"),
        ("GET", url(&id), None, "access-requests:read"),
        (
            "POST",
            BASE.to_string(),
            Some(body.clone()),
            "access-requests:write",
        ),
        (
            "PATCH",
            url(&id),
            Some(json!({"justification": "y"})),
            "access-requests:write",
        ),
        ("DELETE", url(&id), None, "access-requests:write"),
        (
            "POST",
            format!("{}/approve", url(&id)),
            None,
            "access-requests:approve",
        ),
        (
            "POST",
            format!("{}/reject", url(&id)),
            None,
            "access-requests:approve",
        ),
        (
            "POST",
            format!("{}/provision", url(&id)),
            None,
            "access-requests:provision",
        ),
    ];
    let before = snapshot(&api, &id).await;
    for (method, path, b, scope) in &routes {
        // Every other scope together is not enough…
        let token = api.token_for("approver-1", None, &other_scopes(scope));
        let r = api.call(method, path, &token, b.clone()).await;
        assert_problem(&r, 403, "forbidden");
        // …nor any single neighbouring one.
        for wrong in [
            "access-requests:read",
            "access-requests:write",
            "access-requests:approve",
            "access-requests:provision",
            "entitlements:write",
        ] {
            if wrong == *scope {
                continue;
            }
            let token = api.token_for("approver-1", None, &[wrong.to_string()]);
            let r = api.call(method, path, &token, b.clone()).await;
            assert_problem(&r, 403, "forbidden");
        }
    }
    assert_unchanged(&api, &before).await;
    assert_eq!(listed_ids(&api.get(BASE).await), vec![id.clone()]);

    // Each scope alone is enough for its routes.
    let only = |scope: &str| api.token_for("approver-1", None, &[scope.to_string()]);
    let r = api
        .call("GET", &url(&id), &only("access-requests:read"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = api
        .call("GET", BASE, &only("access-requests:read"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Filed by someone else: whoever files a request may not decide it.
    let filer = api.token_for("user-3", None, &["access-requests:write".to_string()]);
    let r = api.call("POST", BASE, &filer, Some(body.clone())).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let second = id_of(&r.body);
    let r = api
        .call(
            "PATCH",
            &url(&id),
            &only("access-requests:write"),
            Some(json!({"justification": "y"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = act(&api, &only("access-requests:approve"), &id, "approve").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = act(&api, &only("access-requests:provision"), &id, "provision").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = complete(&api, &only("access-requests:write"), &id).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = act(&api, &only("access-requests:approve"), &second, "reject").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let third = id_of(&new_request(&api, "github").await);
    let r = api
        .call("DELETE", &url(&third), &only("access-requests:write"), None)
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
}

// ------------------------------------------------------------------------------------------
// Provisioning
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn provisioning_new_creates_the_entitlement() {
    let api = Api::new().await;
    let aid = asset(&api, "aws").await;
    let r = create(
        &api,
        json!({"system_id": "aws", "access_type": "new", "justification": "deploys", "entitlement_type": "deployer", "principal_id": "grp-ops", "principal_type": "group", "expires_at": FUTURE}),
    )
    .await;
    let id = id_of(&r);
    approve(&api, &id).await;
    let approved = read_request(&api, &id).await;
    assert_eq!(live_count(&api, &aid).await, 0);
    api.counter.reset();
    let p = act_with(
        &api,
        &provisioner(&api),
        &id,
        "provision",
        json!({"comment": "done in IAM"}),
    )
    .await;
    assert_eq!(p.status, 200, "{}", p.text);
    assert_eq!(
        api.counter.snapshot(),
        counts(&[("GetItem", 1), ("TransactWriteItems", 1)])
    );
    assert_eq!(p.header("etag"), Some("\"3\""));
    let b = &p.body;
    assert_eq!(b["status"], "provisioned");
    assert_eq!(b["provisioned_at"], b["updated_at"]);
    assert_eq!(b["updated_by"], "provisioner-1");
    assert_eq!(b["decision_comment"], "done in IAM");
    assert_eq!(b["granted_by_id"], "approver-1");
    assert_eq!(b["revision"], 3);
    let eid = b["entitlement_id"]
        .as_str()
        .expect("entitlement_id")
        .to_string();
    assert!(eid.starts_with("ent_"), "{eid}");
    let mut expected = approved.clone();
    for f in [
        "status",
        "provisioned_at",
        "updated_at",
        "updated_by",
        "decision_comment",
        "granted_by_id",
        "granted_at",
        "entitlement_id",
        "revision",
    ] {
        expected[f] = b[f].clone();
    }
    assert_eq!(*b, expected);
    assert_eq!(read_request(&api, &id).await, *b);

    let e = read_entitlement(&api, &eid).await;
    assert_eq!(e["asset_id"], aid.as_str());
    assert_eq!(e["principal_id"], "grp-ops");
    assert_eq!(e["principal_type"], "group");
    assert_eq!(e["entitlement_type"], "deployer");
    assert_eq!(e["expires_at"], FUTURE_OUT);
    assert_eq!(e["grant_source"], "provisioned");
    assert_eq!(e["status"], "active");
    assert_eq!(e["granted_by_id"], "approver-1");
    assert_eq!(e["granted_at"], b["granted_at"]);
    assert_eq!(e["access_request_id"], id.as_str());
    assert_eq!(e["privileged"], false);
    assert_eq!(e["requestable"], true);
    assert_eq!(e["revision"], 1);
    assert_eq!(e["created_by"], "provisioner-1");
    assert_eq!(e["tenant_id"], api.tenant.as_str());
    assert_eq!(e["app_id"], Value::Null);
    assert_eq!(e["revoked_at"], Value::Null);
    assert_eq!(live_count(&api, &aid).await, 1);
    // It is a real live grant: found by the asset's and the principal's lists.
    let list = api.get(&format!("{ENTS}?asset_id={aid}")).await;
    assert_eq!(listed_ids(&list), vec![eid.clone()]);
    let list = api.get(&format!("{ENTS}?principal_id=grp-ops")).await;
    assert_eq!(listed_ids(&list), vec![eid.clone()]);
    // Without a comment, provisioning keeps the approver's.
    let r2 = new_request(&api, "aws").await;
    let id2 = id_of(&r2);
    act_with(
        &api,
        &approver(&api),
        &id2,
        "approve",
        json!({"comment": "fine"}),
    )
    .await;
    let p2 = provision(&api, &id2).await;
    assert_eq!(p2["decision_comment"], "fine");
    let e2 = read_entitlement(&api, p2["entitlement_id"].as_str().unwrap()).await;
    assert_eq!(e2["principal_id"], "user-1");
    assert_eq!(e2["principal_type"], "person");
    assert_eq!(e2["expires_at"], Value::Null);
    assert_eq!(live_count(&api, &aid).await, 2);
}

#[tokio::test]
async fn provisioning_modify_changes_type_and_expiry() {
    let api = Api::new().await;
    let aid = asset(&api, "aws").await;
    let ent = grant_read(&api, &aid, "p9").await;
    let eid = id_of(&ent);
    assert_eq!(live_count(&api, &aid).await, 1);

    // Both.
    let m = create(
        &api,
        json!({"system_id": "aws", "access_type": "modify", "justification": "more", "entitlement_id": eid, "entitlement_type": "write", "expires_at": FUTURE}),
    )
    .await;
    let mid = id_of(&m);
    approve(&api, &mid).await;
    api.counter.reset();
    let p = act(&api, &provisioner(&api), &mid, "provision").await;
    assert_eq!(p.status, 200, "{}", p.text);
    assert_eq!(
        api.counter.snapshot(),
        counts(&[("GetItem", 2), ("TransactWriteItems", 1)])
    );
    assert_eq!(p.body["status"], "provisioned");
    assert_eq!(p.body["entitlement_id"], eid.as_str());
    // The grant stamps are the entitlement's, not the provisioning's.
    assert_eq!(p.body["granted_at"], ent["granted_at"]);
    assert_eq!(p.body["granted_by_id"], "user-1");
    let e = read_entitlement(&api, &eid).await;
    let mut expected = ent.clone();
    expected["entitlement_type"] = json!("write");
    expected["expires_at"] = json!(FUTURE_OUT);
    expected["revision"] = json!(2);
    expected["updated_by"] = json!("provisioner-1");
    expected["updated_at"] = e["updated_at"].clone();
    assert_eq!(e, expected);
    assert_eq!(live_count(&api, &aid).await, 1);

    // Only the expiry: the type stays.
    let m = create(
        &api,
        json!({"system_id": "aws", "access_type": "modify", "justification": "longer", "entitlement_id": eid, "expires_at": LATER}),
    )
    .await;
    approve(&api, &id_of(&m)).await;
    provision(&api, &id_of(&m)).await;
    let e = read_entitlement(&api, &eid).await;
    assert_eq!(e["entitlement_type"], "write");
    assert_eq!(e["expires_at"], LATER_OUT);
    // Only the type: the expiry stays.
    let m = create(
        &api,
        json!({"system_id": "aws", "access_type": "modify", "justification": "less", "entitlement_id": eid, "entitlement_type": "read"}),
    )
    .await;
    approve(&api, &id_of(&m)).await;
    provision(&api, &id_of(&m)).await;
    let e = read_entitlement(&api, &eid).await;
    assert_eq!(e["entitlement_type"], "read");
    assert_eq!(e["expires_at"], LATER_OUT);
    // `expires_at: null` clears it.
    let m = create(
        &api,
        json!({"system_id": "aws", "access_type": "modify", "justification": "permanent", "entitlement_id": eid, "expires_at": null}),
    )
    .await;
    approve(&api, &id_of(&m)).await;
    provision(&api, &id_of(&m)).await;
    let e = read_entitlement(&api, &eid).await;
    assert_eq!(e["entitlement_type"], "read");
    assert_eq!(e["expires_at"], Value::Null);
    assert_eq!(e["status"], "active");
    assert_eq!(e["revision"], 5);
    assert_eq!(live_count(&api, &aid).await, 1);
    // The grant guard moved with the type: a new `read` grant clashes, a `write` one does not.
    let r = api
        .post(ENTS, json!({"asset_id": aid, "principal_id": "p9", "principal_type": "person", "entitlement_type": "read"}))
        .await;
    assert_problem(&r, 409, "conflict");
    grant(
        &api,
        json!({"asset_id": aid, "principal_id": "p9", "principal_type": "person", "entitlement_type": "write"}),
    )
    .await;
    assert_eq!(live_count(&api, &aid).await, 2);
}

#[tokio::test]
async fn provisioning_revoke_revokes_the_entitlement() {
    let api = Api::new().await;
    let aid = asset(&api, "aws").await;
    let ent = grant_read(&api, &aid, "p9").await;
    let eid = id_of(&ent);
    let r = create(
        &api,
        json!({"system_id": "aws", "access_type": "revoke", "justification": "left", "entitlement_id": eid}),
    )
    .await;
    let id = id_of(&r);
    approve(&api, &id).await;
    assert_eq!(live_count(&api, &aid).await, 1);
    api.counter.reset();
    let p = act(&api, &provisioner(&api), &id, "provision").await;
    assert_eq!(p.status, 200, "{}", p.text);
    assert_eq!(
        api.counter.snapshot(),
        counts(&[("GetItem", 2), ("TransactWriteItems", 1)])
    );
    assert_eq!(p.body["status"], "provisioned");
    assert_eq!(p.body["entitlement_id"], eid.as_str());
    assert_eq!(p.body["entitlement_type"], "read");
    assert_eq!(p.body["granted_at"], ent["granted_at"]);
    assert_eq!(p.body["granted_by_id"], "user-1");
    let e = read_entitlement(&api, &eid).await;
    assert_eq!(e["status"], "revoked");
    assert_eq!(e["revoked_by"], "provisioner-1");
    assert_eq!(e["revoked_at"], e["updated_at"]);
    assert_eq!(e["revoke_reason"], format!("access request {id}"));
    assert_eq!(e["revision"], 2);
    assert_eq!(live_count(&api, &aid).await, 0);
    // The grant is free again, and the asset can go.
    grant_read(&api, &aid, "p9").await;
    assert_eq!(live_count(&api, &aid).await, 1);
}

#[tokio::test]
async fn provisioning_new_after_the_asset_was_deleted_changes_nothing() {
    let api = Api::new().await;
    let aid = asset(&api, "legacy").await;
    let id = id_of(&new_request(&api, "legacy").await);
    approve(&api, &id).await;
    // No live grants, so the asset can be deleted under the approved request.
    assert_eq!(api.delete(&format!("{TECH}/{aid}")).await.status, 204);
    let before = snapshot(&api, &id).await;
    let r = act(&api, &provisioner(&api), &id, "provision").await;
    assert_problem(&r, 409, "conflict");
    assert!(r.body.get("current_status").is_none(), "{}", r.text);
    assert_unchanged(&api, &before).await;
    assert_eq!(before.live, 0);
    assert_eq!(before.request["status"], "approved");
    // A new asset of the same name does not revive the old request.
    let again = asset(&api, "legacy").await;
    let r = act(&api, &provisioner(&api), &id, "provision").await;
    assert_problem(&r, 409, "conflict");
    assert_unchanged(&api, &before).await;
    assert_eq!(live_count(&api, &again).await, 0);
    let r = api.get(&format!("{ENTS}?principal_id=user-1")).await;
    assert_eq!(listed_ids(&r), Vec::<String>::new());
}

#[tokio::test]
async fn provisioning_new_over_a_live_grant_of_the_same_tuple_changes_nothing() {
    let api = Api::new().await;
    let aid = asset(&api, "github").await;
    let id = id_of(&new_request(&api, "github").await);
    approve(&api, &id).await;
    let direct = grant(
        &api,
        json!({"asset_id": aid, "principal_id": "user-1", "principal_type": "person", "entitlement_type": "member"}),
    )
    .await;
    let before = snapshot(&api, &id).await;
    assert_eq!(before.live, 1);
    let r = act(&api, &provisioner(&api), &id, "provision").await;
    assert_problem(&r, 409, "conflict");
    assert_eq!(r.body["asset_id"], aid.as_str(), "{}", r.text);
    assert_eq!(r.body["principal_id"], "user-1");
    assert_eq!(r.body["entitlement_type"], "member");
    assert_unchanged(&api, &before).await;
    assert_eq!(read_entitlement(&api, &id_of(&direct)).await, direct);
    let list = api.get(&format!("{ENTS}?asset_id={aid}")).await;
    assert_eq!(listed_ids(&list), vec![id_of(&direct)]);
    // Once the direct grant is revoked, provisioning goes through.
    let r = api
        .post(&format!("{ENTS}/{}/revoke", id_of(&direct)), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let p = provision(&api, &id).await;
    assert_eq!(p["status"], "provisioned");
    assert_eq!(live_count(&api, &aid).await, 1);
}

#[tokio::test]
async fn provisioning_new_without_expiry_on_a_critical_asset_changes_nothing() {
    let api = Api::new().await;
    let aid = id_of(
        &api.asset(json!({"name": "core-banking", "criticality": "critical"}))
            .await,
    );
    let id = id_of(&new_request(&api, "core-banking").await);
    approve(&api, &id).await;
    let before = snapshot(&api, &id).await;
    let r = act(&api, &provisioner(&api), &id, "provision").await;
    assert_problem(&r, 409, "conflict");
    assert_unchanged(&api, &before).await;
    assert_eq!(live_count(&api, &aid).await, 0);
    // With an expiry it is fine.
    let ok = create(
        &api,
        json!({"system_id": "core-banking", "access_type": "new", "justification": "x", "entitlement_type": "teller", "expires_at": FUTURE}),
    )
    .await;
    approve(&api, &id_of(&ok)).await;
    provision(&api, &id_of(&ok)).await;
    assert_eq!(live_count(&api, &aid).await, 1);
}

#[tokio::test]
async fn provisioning_modify_or_revoke_of_an_entitlement_revoked_meanwhile_changes_nothing() {
    let api = Api::new().await;
    let aid = asset(&api, "aws").await;
    let ent = grant_read(&api, &aid, "p9").await;
    let eid = id_of(&ent);
    let modify = create(
        &api,
        json!({"system_id": "aws", "access_type": "modify", "justification": "x", "entitlement_id": eid, "entitlement_type": "write"}),
    )
    .await;
    let revoke = create(
        &api,
        json!({"system_id": "aws", "access_type": "revoke", "justification": "x", "entitlement_id": eid}),
    )
    .await;
    approve(&api, &id_of(&modify)).await;
    approve(&api, &id_of(&revoke)).await;
    let r = api
        .post(
            &format!("{ENTS}/{eid}/revoke"),
            json!({"reason": "incident"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    for req in [&modify, &revoke] {
        let id = id_of(req);
        let before = snapshot(&api, &id).await;
        assert_eq!(before.entitlement.as_ref().unwrap()["status"], "revoked");
        assert_eq!(before.live, 0);
        let r = act(&api, &provisioner(&api), &id, "provision").await;
        assert_problem(&r, 409, "conflict");
        assert_unchanged(&api, &before).await;
    }
    let e = read_entitlement(&api, &eid).await;
    assert_eq!(e["revoke_reason"], "incident");
    assert_eq!(e["revoked_by"], "user-1");
}

#[tokio::test]
async fn provisioning_modify_or_revoke_of_an_entitlement_no_longer_active_changes_nothing() {
    // Its own table: the sweep covers every tenant.
    let api = Api::with_own_table().await;
    let aid = asset(&api, "aws").await;
    let tomorrow = shared::time::Timestamp::now()
        .plus_seconds(86_400)
        .to_string();
    let expiring = grant(
        &api,
        json!({"asset_id": aid, "principal_id": "p1", "principal_type": "person", "entitlement_type": "read", "expires_at": tomorrow}),
    )
    .await;
    let parked = grant_read(&api, &aid, "p2").await;
    let mut requests = Vec::new();
    for ent in [&expiring, &parked] {
        for body in [
            json!({"system_id": "aws", "access_type": "modify", "justification": "x", "entitlement_id": id_of(ent), "expires_at": FUTURE}),
            json!({"system_id": "aws", "access_type": "revoke", "justification": "x", "entitlement_id": id_of(ent)}),
        ] {
            let id = id_of(&create(&api, body).await);
            approve(&api, &id).await;
            requests.push(id);
        }
    }
    // One expires (the sweep, run as if two days from now), the other is parked back in
    // pending_approval: neither is active any more, both still count as live.
    let report = shared::store::sweep::run(
        &api.state,
        shared::time::Timestamp::now().plus_seconds(2 * 86_400),
        std::time::Instant::now() + std::time::Duration::from_secs(20),
    )
    .await
    .expect("sweep");
    assert_eq!(report.expired, 1);
    let r = api
        .patch(
            &format!("{ENTS}/{}", id_of(&parked)),
            json!({"status": "pending_approval"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        read_entitlement(&api, &id_of(&expiring)).await["status"],
        "expired"
    );
    assert_eq!(live_count(&api, &aid).await, 1);
    for id in &requests {
        let before = snapshot(&api, id).await;
        let r = act(&api, &provisioner(&api), id, "provision").await;
        assert_problem(&r, 409, "conflict");
        assert_unchanged(&api, &before).await;
    }
    // And none can be filed any more.
    for ent in [&expiring, &parked] {
        let r = api
            .post(
                BASE,
                json!({"system_id": "aws", "access_type": "revoke", "justification": "x", "entitlement_id": id_of(ent)}),
            )
            .await;
        assert_invalid(&r, &["entitlement_id"]);
    }
}

#[tokio::test]
async fn provisioning_is_not_refused_by_an_unrelated_concurrent_entitlement_edit() {
    for access_type in ["modify", "revoke"] {
        for round in 0..10 {
            let api = Api::new().await;
            let aid = asset(&api, "aws").await;
            let eid = id_of(&grant_read(&api, &aid, "p9").await);
            let mut body = json!({"system_id": "aws", "access_type": access_type, "justification": "x", "entitlement_id": eid});
            if access_type == "modify" {
                body["entitlement_type"] = json!("write");
            }
            let id = id_of(&create(&api, body).await);
            approve(&api, &id).await;
            let token = provisioner(&api);
            let ent_url = format!("{ENTS}/{eid}");
            let (p, e) = tokio::join!(
                act(&api, &token, &id, "provision"),
                api.patch(&ent_url, json!({"description": "owned by payments"}))
            );
            assert_eq!(p.status, 200, "{access_type} round {round}: {}", p.text);
            let ent = read_entitlement(&api, &eid).await;
            // A revoke that lands first ends the entitlement: the edit then meets a revoked
            // one (409) — a fair outcome of the race; an edit that lands first is kept.
            if e.status == 200 {
                assert_eq!(ent["description"], "owned by payments");
                assert_eq!(ent["revision"], 3);
            } else {
                assert_eq!(access_type, "revoke", "{}", e.text);
                assert_problem(&e, 409, "conflict");
                assert_eq!(ent["revision"], 2);
            }
            if access_type == "modify" {
                assert_eq!(ent["entitlement_type"], "write");
                assert_eq!(live_count(&api, &aid).await, 1);
            } else {
                assert_eq!(ent["status"], "revoked");
                assert_eq!(live_count(&api, &aid).await, 0);
            }
        }
    }
}

#[tokio::test]
async fn provisioning_modify_that_breaks_a_rule_changes_nothing() {
    let api = Api::new().await;
    let aid = asset(&api, "aws").await;
    let ent = grant_read(&api, &aid, "p9").await;
    let eid = id_of(&ent);
    // The new type clashes with a live grant of the principal.
    let write = grant(
        &api,
        json!({"asset_id": aid, "principal_id": "p9", "principal_type": "person", "entitlement_type": "write"}),
    )
    .await;
    let m = create(
        &api,
        json!({"system_id": "aws", "access_type": "modify", "justification": "x", "entitlement_id": eid, "entitlement_type": "write"}),
    )
    .await;
    approve(&api, &id_of(&m)).await;
    let before = snapshot(&api, &id_of(&m)).await;
    let r = act(&api, &provisioner(&api), &id_of(&m), "provision").await;
    assert_problem(&r, 409, "conflict");
    assert_eq!(r.body["entitlement_type"], "write", "{}", r.text);
    assert_eq!(r.body["principal_id"], "p9");
    assert_unchanged(&api, &before).await;
    assert_eq!(read_entitlement(&api, &id_of(&write)).await, write);
    assert_eq!(live_count(&api, &aid).await, 2);

    // The entitlement became privileged meanwhile: its expiry cannot be cleared.
    let clear = create(
        &api,
        json!({"system_id": "aws", "access_type": "modify", "justification": "x", "entitlement_id": eid, "expires_at": null}),
    )
    .await;
    approve(&api, &id_of(&clear)).await;
    let r = api
        .patch(&format!("{ENTS}/{eid}"), json!({"privileged": true}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let before = snapshot(&api, &id_of(&clear)).await;
    let r = act(&api, &provisioner(&api), &id_of(&clear), "provision").await;
    assert_problem(&r, 409, "conflict");
    assert_unchanged(&api, &before).await;

    // Clearing the expiry of a grant on a critical asset.
    let crit = id_of(
        &api.asset(json!({"name": "ledger", "criticality": "critical"}))
            .await,
    );
    let cent = grant_read(&api, &crit, "p9").await;
    let clear = create(
        &api,
        json!({"system_id": "ledger", "access_type": "modify", "justification": "x", "entitlement_id": id_of(&cent), "expires_at": null}),
    )
    .await;
    approve(&api, &id_of(&clear)).await;
    let before = snapshot(&api, &id_of(&clear)).await;
    let r = act(&api, &provisioner(&api), &id_of(&clear), "provision").await;
    assert_problem(&r, 409, "conflict");
    assert_unchanged(&api, &before).await;
    assert_eq!(before.live, 1);
}

/// Regression: was a bug before 8d140b8 (the entitlement took the provisioner's app_id, null
/// for a person, so the app could not see the grant its own request names).
#[tokio::test]
async fn an_apps_provisioned_request_yields_an_entitlement_of_that_app() {
    let api = Api::new().await;
    let app = app_token(&api, "svc-a", "app-a");
    let r = api
        .call("POST", TECH, &app, Some(json!({"name": "app-sys"})))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let aid = id_of(&r.body);
    let req = create_as(
        &api,
        &app,
        json!({"system_id": "app-sys", "access_type": "new", "justification": "x", "entitlement_type": "member"}),
    )
    .await;
    let id = id_of(&req);
    approve(&api, &id).await;
    let p = provision(&api, &id).await;
    let eid = p["entitlement_id"].as_str().unwrap();
    assert_eq!(live_count(&api, &aid).await, 1);
    let r = api.call("GET", &format!("{ENTS}/{eid}"), &app, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["app_id"], "app-a");
    assert_eq!(r.body["access_request_id"], id.as_str());
    let r = api
        .call("GET", &format!("{ENTS}?asset_id={aid}"), &app, None)
        .await;
    assert_eq!(listed_ids(&r), vec![eid.to_string()]);
    // The app can ask for it to be revoked, like any grant of its own.
    let r = api
        .call(
            "POST",
            BASE,
            &app,
            Some(json!({"system_id": "app-sys", "access_type": "revoke", "justification": "x", "entitlement_id": eid})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["principal_id"], "svc-a");
}

/// An RFC 3339 UTC timestamp `secs` seconds from now.
fn in_seconds(secs: i64) -> String {
    (time::OffsetDateTime::now_utc() + time::Duration::seconds(secs))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

#[tokio::test]
async fn provisioning_refuses_an_expiry_that_has_passed_and_changes_nothing() {
    let api = Api::new().await;
    let aid = asset(&api, "aws").await;
    let ent = grant_read(&api, &aid, "p9").await;
    let soon = in_seconds(2);
    let new = create(
        &api,
        json!({"system_id": "aws", "access_type": "new", "justification": "x", "entitlement_type": "temp", "expires_at": soon}),
    )
    .await;
    let modify = create(
        &api,
        json!({"system_id": "aws", "access_type": "modify", "justification": "x", "entitlement_id": id_of(&ent), "expires_at": soon}),
    )
    .await;
    approve(&api, &id_of(&new)).await;
    approve(&api, &id_of(&modify)).await;
    tokio::time::sleep(std::time::Duration::from_millis(2600)).await;
    for req in [&new, &modify] {
        let before = snapshot(&api, &id_of(req)).await;
        assert_eq!(before.live, 1);
        let r = act(&api, &provisioner(&api), &id_of(req), "provision").await;
        assert_problem(&r, 409, "conflict");
        assert!(r.body.get("current_status").is_none(), "{}", r.text);
        assert_unchanged(&api, &before).await;
    }
    assert_eq!(read_entitlement(&api, &id_of(&ent)).await, ent);
    let r = api.get(&format!("{ENTS}?asset_id={aid}")).await;
    assert_eq!(listed_ids(&r), vec![id_of(&ent)]);
}

#[tokio::test]
async fn decisions_record_the_clients_provenance() {
    let api = Api::new().await;
    asset(&api, "aws").await;
    let id = id_of(&new_request(&api, "aws").await);
    let before = snapshot(&api, &id).await;
    for body in [
        json!({"source_type": "robot"}),
        json!({"source": null}),
        json!({"source": ""}),
        json!({"status": "approved"}),
    ] {
        let r = act_with(&api, &approver(&api), &id, "approve", body.clone()).await;
        assert_problem(&r, 400, "validation-error");
        assert_eq!(bad_fields(&r).len(), 1, "{body}: {}", r.text);
    }
    assert_unchanged(&api, &before).await;
    let r = act_with(
        &api,
        &approver(&api),
        &id,
        "approve",
        json!({"comment": "ok", "source": "itsm", "source_type": "backend"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["source"], "itsm");
    assert_eq!(r.body["source_type"], "backend");
    assert_eq!(r.body["decision_comment"], "ok");
    // Provisioning and completing without provenance keep it.
    let p = provision(&api, &id).await;
    assert_eq!(p["source"], "itsm");
    assert_eq!(p["source_type"], "backend");
    assert_eq!(p["decision_comment"], "ok");
    let r = complete(&api, &api.token(), &id).await;
    assert_eq!(r.body["source"], "itsm");
    let id2 = id_of(&new_request(&api, "aws").await);
    let r = act_with(
        &api,
        &approver(&api),
        &id2,
        "reject",
        json!({"source_type": "frontend"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["source"], "edm");
    assert_eq!(r.body["source_type"], "frontend");
}

// ------------------------------------------------------------------------------------------
// Races
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn ten_racing_completions_have_one_winner() {
    let api = Api::new().await;
    let p = at_status(&api, "provisioned").await;
    let id = id_of(&p);
    let rev = p["revision"].as_i64().unwrap();
    let statuses = race(10, |_| {
        let api = api.clone();
        let id = id.clone();
        async move { complete(&api, &api.token(), &id).await.status }
    })
    .await;
    assert_eq!(count_of(&statuses, 200), 1, "{statuses:?}");
    assert_eq!(count_of(&statuses, 409), 9, "{statuses:?}");
    let now = read_request(&api, &id).await;
    assert_eq!(now["status"], "completed");
    assert_eq!(now["revision"], rev + 1);
}

#[tokio::test]
async fn ten_racing_deletes_have_one_winner() {
    let api = Api::new().await;
    asset(&api, "github").await;
    let id = id_of(&new_request(&api, "github").await);
    let statuses = race(10, |_| {
        let api = api.clone();
        let id = id.clone();
        async move { api.delete(&url(&id)).await.status }
    })
    .await;
    assert_eq!(count_of(&statuses, 204), 1, "{statuses:?}");
    assert_eq!(count_of(&statuses, 404), 9, "{statuses:?}");
    let item = api
        .stored(&format!("T#{}#ARQ", api.tenant), &id)
        .await
        .unwrap();
    assert_eq!(shared::store::get_n(&item, "revision"), Some(2));
}

#[tokio::test]
async fn racing_approvals_and_withdrawals_have_one_winner() {
    let api = Api::new().await;
    asset(&api, "github").await;
    let id = id_of(&new_request(&api, "github").await);
    let statuses = race(20, |i| {
        let api = api.clone();
        let id = id.clone();
        async move {
            if i % 2 == 0 {
                act(&api, &approver(&api), &id, "approve").await.status
            } else {
                api.delete(&url(&id)).await.status
            }
        }
    })
    .await;
    let wins = count_of(&statuses, 200) + count_of(&statuses, 204);
    assert_eq!(wins, 1, "{statuses:?}");
    let item = api
        .stored(&format!("T#{}#ARQ", api.tenant), &id)
        .await
        .unwrap();
    assert_eq!(shared::store::get_n(&item, "revision"), Some(2));
    if count_of(&statuses, 200) == 1 {
        // Approved: every delete and every other approve is a 409.
        assert_eq!(count_of(&statuses, 409), 19, "{statuses:?}");
        assert_eq!(read_request(&api, &id).await["status"], "approved");
    } else {
        // Withdrawn: the others find nothing, or lost their write to the withdrawal.
        assert_eq!(
            count_of(&statuses, 404) + count_of(&statuses, 409),
            19,
            "{statuses:?}"
        );
        assert_problem(&api.get(&url(&id)).await, 404, "not-found");
    }
}

#[tokio::test]
async fn racing_provisions_of_two_requests_for_one_grant_make_one_entitlement() {
    let api = Api::new().await;
    let aid = asset(&api, "github").await;
    let mut reqs = Vec::new();
    for _ in 0..5 {
        let id = id_of(&new_request(&api, "github").await);
        approve(&api, &id).await;
        reqs.push(id);
    }
    let ids_ = reqs.clone();
    let statuses = race(5, |i| {
        let api = api.clone();
        let id = ids_[i].clone();
        async move { act(&api, &provisioner(&api), &id, "provision").await.status }
    })
    .await;
    assert_eq!(count_of(&statuses, 200), 1, "{statuses:?}");
    assert_eq!(count_of(&statuses, 409), 4, "{statuses:?}");
    assert_eq!(live_count(&api, &aid).await, 1);
    let list = api.get(&format!("{ENTS}?asset_id={aid}")).await;
    assert_eq!(listed_ids(&list).len(), 1);
    let mut provisioned = 0;
    for id in &reqs {
        let r = read_request(&api, id).await;
        match r["status"].as_str() {
            Some("provisioned") => provisioned += 1,
            Some("approved") => {
                assert_eq!(r["entitlement_id"], Value::Null);
                assert_eq!(r["revision"], 2);
            }
            other => panic!("unexpected status {other:?}"),
        }
    }
    assert_eq!(provisioned, 1);
}

#[tokio::test]
async fn ten_racing_revoke_provisions_end_the_grant_once() {
    let api = Api::new().await;
    let aid = asset(&api, "aws").await;
    let eid = id_of(&grant_read(&api, &aid, "p9").await);
    grant_read(&api, &aid, "p8").await;
    let id = id_of(
        &create(
            &api,
            json!({"system_id": "aws", "access_type": "revoke", "justification": "x", "entitlement_id": eid}),
        )
        .await,
    );
    approve(&api, &id).await;
    assert_eq!(live_count(&api, &aid).await, 2);
    let statuses = race(10, |_| {
        let api = api.clone();
        let id = id.clone();
        async move { act(&api, &provisioner(&api), &id, "provision").await.status }
    })
    .await;
    assert_eq!(count_of(&statuses, 200), 1, "{statuses:?}");
    assert_eq!(count_of(&statuses, 409), 9, "{statuses:?}");
    assert_eq!(live_count(&api, &aid).await, 1);
    let e = read_entitlement(&api, &eid).await;
    assert_eq!(e["status"], "revoked");
    assert_eq!(e["revision"], 2);
    assert_eq!(read_request(&api, &id).await["revision"], 3);
}

#[tokio::test]
async fn a_revoke_provision_racing_a_direct_revoke_ends_the_grant_once() {
    for _ in 0..5 {
        let api = Api::new().await;
        let aid = asset(&api, "aws").await;
        let eid = id_of(&grant_read(&api, &aid, "p9").await);
        let id = id_of(
            &create(
                &api,
                json!({"system_id": "aws", "access_type": "revoke", "justification": "x", "entitlement_id": eid}),
            )
            .await,
        );
        approve(&api, &id).await;
        let token = provisioner(&api);
        let revoke_url = format!("{ENTS}/{eid}/revoke");
        let (a, b) = tokio::join!(
            act(&api, &token, &id, "provision"),
            api.post(&revoke_url, json!({}))
        );
        assert_eq!(b.status, 200, "{}", b.text);
        assert_eq!(live_count(&api, &aid).await, 0);
        let e = read_entitlement(&api, &eid).await;
        assert_eq!(e["status"], "revoked");
        assert_eq!(e["revision"], 2);
        let req = read_request(&api, &id).await;
        match a.status {
            200 => {
                assert_eq!(req["status"], "provisioned");
                assert_eq!(e["revoked_by"], "provisioner-1");
            }
            409 => {
                assert_eq!(req["status"], "approved");
                assert_eq!(req["revision"], 2);
                assert_eq!(e["revoked_by"], "user-1");
            }
            s => panic!("provision: {s} {}", a.text),
        }
    }
}

// ------------------------------------------------------------------------------------------
// DynamoDB request counts
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn each_operation_costs_a_fixed_number_of_requests() {
    let api = Api::new().await;
    let aid = asset(&api, "aws").await;
    let eid = id_of(&grant_read(&api, &aid, "p9").await);
    let measure = |pairs: &[(&str, u64)]| counts(pairs);

    api.counter.reset();
    let n = new_request(&api, "aws").await;
    assert_eq!(
        api.counter.snapshot(),
        measure(&[("GetItem", 1), ("PutItem", 1)])
    );
    let nid = id_of(&n);

    api.counter.reset();
    create(
        &api,
        json!({"system_id": "aws", "asset_id": aid, "access_type": "new", "justification": "x", "entitlement_type": "y"}),
    )
    .await;
    assert_eq!(
        api.counter.snapshot(),
        measure(&[("GetItem", 1), ("PutItem", 1)])
    );

    api.counter.reset();
    let m = create(
        &api,
        json!({"system_id": "aws", "access_type": "modify", "justification": "x", "entitlement_id": eid, "entitlement_type": "write"}),
    )
    .await;
    assert_eq!(
        api.counter.snapshot(),
        measure(&[("GetItem", 2), ("PutItem", 1)])
    );

    api.counter.reset();
    read_request(&api, &nid).await;
    assert_eq!(api.counter.snapshot(), measure(&[("GetItem", 1)]));

    api.counter.reset();
    let r = api.patch(&url(&nid), json!({"justification": "y"})).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        api.counter.snapshot(),
        measure(&[("GetItem", 1), ("UpdateItem", 1)])
    );

    api.counter.reset();
    approve(&api, &nid).await;
    assert_eq!(
        api.counter.snapshot(),
        measure(&[("GetItem", 1), ("UpdateItem", 1)])
    );

    // A refused decision reads once and writes nothing.
    api.counter.reset();
    let r = act(&api, &approver(&api), &nid, "reject").await;
    assert_eq!(r.status, 409);
    assert_eq!(api.counter.snapshot(), measure(&[("GetItem", 1)]));

    api.counter.reset();
    provision(&api, &nid).await;
    assert_eq!(
        api.counter.snapshot(),
        measure(&[("GetItem", 1), ("TransactWriteItems", 1)])
    );

    api.counter.reset();
    let r = complete(&api, &api.token(), &nid).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        api.counter.snapshot(),
        measure(&[("GetItem", 1), ("UpdateItem", 1)])
    );

    let mid = id_of(&m);
    api.counter.reset();
    let r = act(&api, &approver(&api), &mid, "reject").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        api.counter.snapshot(),
        measure(&[("GetItem", 1), ("UpdateItem", 1)])
    );

    let m2 = create(
        &api,
        json!({"system_id": "aws", "access_type": "modify", "justification": "x", "entitlement_id": eid, "expires_at": FUTURE}),
    )
    .await;
    approve(&api, &id_of(&m2)).await;
    api.counter.reset();
    provision(&api, &id_of(&m2)).await;
    assert_eq!(
        api.counter.snapshot(),
        measure(&[("GetItem", 2), ("TransactWriteItems", 1)])
    );

    let d = id_of(&new_request(&api, "aws").await);
    api.counter.reset();
    assert_eq!(api.delete(&url(&d)).await.status, 204);
    assert_eq!(
        api.counter.snapshot(),
        measure(&[("GetItem", 1), ("UpdateItem", 1)])
    );

    api.counter.reset();
    assert_eq!(api.get(BASE).await.status, 200);
    assert_eq!(api.counter.snapshot(), measure(&[("Query", 1)]));
    api.counter.reset();
    assert_eq!(api.get(&format!("{BASE}?status=pending")).await.status, 200);
    assert_eq!(api.counter.snapshot(), measure(&[("Query", 1)]));

    // Refused before the store: a missing scope, an id that is no request id, a bad body.
    api.counter.reset();
    let r = act(
        &api,
        &api.token_with(&["access-requests:write"]),
        &nid,
        "approve",
    )
    .await;
    assert_eq!(r.status, 403);
    let r = api.get(&url("ast_01JD3Q9Z8X4K2M7N5P6R8S0T1V")).await;
    assert_problem(&r, 404, "not-found");
    let r = api.post(BASE, json!({"access_type": "new"})).await;
    assert_eq!(r.status, 400);
    assert_eq!(api.counter.total(), 0, "{:?}", api.counter.snapshot());
}

// ------------------------------------------------------------------------------------------
// Lists
// ------------------------------------------------------------------------------------------

/// Five requests of two requesters on two assets, in every access type, with three statuses.
struct Fixture {
    api: Api,
    alpha: String,
    beta: String,
    r1: String,
    r2: String,
    r3: String,
    r4: String,
    r5: String,
}

async fn fixture() -> Fixture {
    let api = Api::new().await;
    let alpha = asset(&api, "alpha").await;
    let beta = asset(&api, "beta").await;
    let ent = id_of(
        &grant(
            &api,
            json!({"asset_id": alpha, "principal_id": "p9", "principal_type": "person", "entitlement_type": "viewer"}),
        )
        .await,
    );
    let user2 = token_of(&api, "user-2");
    let r1 = id_of(
        &create(
            &api,
            json!({"system_id": "alpha", "access_type": "new", "justification": "Quarterly AUDIT", "entitlement_type": "Reader"}),
        )
        .await,
    );
    let r2 = id_of(
        &create_as(
            &api,
            &user2,
            json!({"system_id": "beta", "access_type": "new", "justification": "deploys", "entitlement_type": "writer"}),
        )
        .await,
    );
    let r3 = id_of(
        &create(
            &api,
            json!({"system_id": "beta", "access_type": "new", "justification": "break glass", "entitlement_type": "admin", "principal_id": "grp-1", "principal_type": "group"}),
        )
        .await,
    );
    let r4 = id_of(
        &create_as(
            &api,
            &user2,
            json!({"system_id": "alpha", "access_type": "modify", "justification": "promotion", "entitlement_id": ent, "entitlement_type": "editor"}),
        )
        .await,
    );
    let r5 = id_of(
        &create(
            &api,
            json!({"system_id": "alpha", "access_type": "revoke", "justification": "left the team", "entitlement_id": ent}),
        )
        .await,
    );
    approve(&api, &r2).await;
    let r = act(&api, &approver(&api), &r3, "reject").await;
    assert_eq!(r.status, 200);
    Fixture {
        api,
        alpha,
        beta,
        r1,
        r2,
        r3,
        r4,
        r5,
    }
}

#[tokio::test]
async fn lists_filter_exactly_and_in_combination() {
    let f = fixture().await;
    let api = &f.api;
    let (r1, r2, r3, r4, r5) = (&f.r1, &f.r2, &f.r3, &f.r4, &f.r5);
    let cases: Vec<(String, Vec<&String>)> = vec![
        (String::new(), vec![r5, r4, r3, r2, r1]),
        ("status=pending".into(), vec![r5, r4, r1]),
        ("status=approved".into(), vec![r2]),
        ("status=rejected".into(), vec![r3]),
        ("status=provisioned".into(), vec![]),
        ("status=completed".into(), vec![]),
        ("requester_id=user-1".into(), vec![r5, r3, r1]),
        ("requester_id=user-2".into(), vec![r4, r2]),
        ("requester_id=USER-1".into(), vec![]),
        ("system_id=alpha".into(), vec![r5, r4, r1]),
        ("system_id=ALPHA".into(), vec![]),
        (format!("asset_id={}", f.beta), vec![r3, r2]),
        (format!("asset_id={}", f.alpha), vec![r5, r4, r1]),
        ("principal_id=p9".into(), vec![r5, r4]),
        ("principal_id=user-1".into(), vec![r1]),
        ("principal_id=user-2".into(), vec![r2]),
        ("principal_id=grp-1".into(), vec![r3]),
        ("access_type=new".into(), vec![r3, r2, r1]),
        ("access_type=modify".into(), vec![r4]),
        ("access_type=revoke".into(), vec![r5]),
        // q: justification, system_id, entitlement_type; case-insensitive substrings.
        ("q=audit".into(), vec![r1]),
        ("q=GLASS".into(), vec![r3]),
        ("q=bet".into(), vec![r3, r2]),
        ("q=EDIT".into(), vec![r4]),
        ("q=viewer".into(), vec![r5]),
        ("q=reader".into(), vec![r1]),
        ("q=user-2".into(), vec![]),
        ("q=p9".into(), vec![]),
        // Combined.
        ("status=pending&requester_id=user-1".into(), vec![r5, r1]),
        (
            "status=pending&system_id=alpha&access_type=modify".into(),
            vec![r4],
        ),
        (
            format!("requester_id=user-1&asset_id={}&q=glass", f.beta),
            vec![r3],
        ),
        ("status=approved&requester_id=user-1".into(), vec![]),
        ("status=pending&q=team".into(), vec![r5]),
        (
            "access_type=new&principal_id=user-1&system_id=alpha".into(),
            vec![r1],
        ),
        (
            "access_type=new&principal_id=user-1&system_id=beta".into(),
            vec![],
        ),
    ];
    for (q, expected) in cases {
        let r = api.get(&format!("{BASE}?{q}")).await;
        let expected: Vec<String> = expected.into_iter().cloned().collect();
        assert_eq!(listed_ids(&r), expected, "?{q}");
        assert_eq!(r.body["next_cursor"], Value::Null, "?{q}");
    }
    // Statuses move with the request.
    approve(api, r1).await;
    let r = api.get(&format!("{BASE}?status=pending")).await;
    assert_eq!(listed_ids(&r), vec![r5.clone(), r4.clone()]);
    let r = api.get(&format!("{BASE}?status=approved")).await;
    assert_eq!(listed_ids(&r), vec![r2.clone(), r1.clone()]);
    provision(api, r2).await;
    let r = api.get(&format!("{BASE}?status=provisioned")).await;
    assert_eq!(listed_ids(&r), vec![r2.clone()]);
    let r = api.get(&format!("{BASE}?status=approved")).await;
    assert_eq!(listed_ids(&r), vec![r1.clone()]);
    // A PATCH is searched by its new text.
    let r = api
        .patch(&url(r4), json!({"justification": "Re-org"}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        listed_ids(&api.get(&format!("{BASE}?q=promotion")).await),
        Vec::<String>::new()
    );
    assert_eq!(
        listed_ids(&api.get(&format!("{BASE}?q=re-org")).await),
        vec![r4.clone()]
    );
    // Another tenant's list is its own.
    let other = api.other_tenant();
    assert_eq!(listed_ids(&other.get(BASE).await), Vec::<String>::new());
    assert_eq!(
        listed_ids(&other.get(&format!("{BASE}?status=pending")).await),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn status_lists_read_through_the_status_index() {
    let f = fixture().await;
    let api = &f.api;
    let pk = format!("T#{}#ARQ", api.tenant);
    for (id, status) in [
        (&f.r1, "pending"),
        (&f.r2, "approved"),
        (&f.r3, "rejected"),
        (&f.r4, "pending"),
        (&f.r5, "pending"),
    ] {
        let item = api.stored(&pk, id).await.unwrap();
        assert_eq!(
            shared::store::get_s(&item, "GSI1PK"),
            Some(format!("T#{}#ARQ#{status}", api.tenant).as_str()),
            "{id}"
        );
        assert_eq!(shared::store::get_s(&item, "GSI1SK"), Some(id.as_str()));
    }
    // Move r1's index entry by hand: the status list follows the index, the full list does not.
    api.state
        .db
        .update_item()
        .table_name(api.state.table())
        .key("PK", shared::store::s(pk.clone()))
        .key("SK", shared::store::s(f.r1.clone()))
        .update_expression("SET GSI1PK = :p")
        .expression_attribute_values(
            ":p",
            shared::store::s(format!("T#{}#ARQ#completed", api.tenant)),
        )
        .send()
        .await
        .expect("move the index entry");
    let r = api.get(&format!("{BASE}?status=pending")).await;
    assert_eq!(listed_ids(&r), vec![f.r5.clone(), f.r4.clone()]);
    let r = api.get(&format!("{BASE}?status=completed")).await;
    assert_eq!(listed_ids(&r), vec![f.r1.clone()]);
    let r = api
        .get(&format!("{BASE}?access_type=new&requester_id=user-1"))
        .await;
    assert_eq!(listed_ids(&r), vec![f.r3.clone(), f.r1.clone()]);
}

#[tokio::test]
async fn list_parameters_are_validated() {
    let api = Api::new().await;
    for (q, field) in [
        ("status=open", "status"),
        ("status=Pending", "status"),
        ("access_type=grant", "access_type"),
        ("include_deleted=yes", "include_deleted"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=x", "limit"),
        ("requester=user-1", "requester"),
        ("entitlement_type=x", "entitlement_type"),
        ("system_id=", "system_id"),
        ("cursor=garbage", "cursor"),
        ("status=pending&status=approved", "status"),
    ] {
        let r = api.get(&format!("{BASE}?{q}")).await;
        assert_invalid(&r, &[field]);
    }
    let r = api
        .get(&format!("{BASE}?status=open&access_type=x&limit=0"))
        .await;
    assert_invalid(&r, &["access_type", "limit", "status"]);
    let r = api.get(&format!("{BASE}?limit=100")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({"items": [], "next_cursor": null}));
}

#[tokio::test]
async fn walking_the_cursor_returns_every_request_exactly_once() {
    let api = Api::new().await;
    asset(&api, "alpha").await;
    let mut all = Vec::new();
    let mut pending = Vec::new();
    let mut approved = Vec::new();
    for i in 0..9 {
        let id = id_of(&new_request(&api, "alpha").await);
        if i % 3 == 0 {
            approve(&api, &id).await;
            approved.push(id.clone());
        } else {
            pending.push(id.clone());
        }
        all.push(id);
    }
    all.reverse();
    pending.reverse();
    approved.reverse();
    let walk = |query: String| {
        let api = api.clone();
        async move {
            let mut seen = Vec::new();
            let mut cursor: Option<String> = None;
            let mut pages = 0;
            loop {
                let mut q = query.clone();
                if let Some(c) = &cursor {
                    q.push_str(&format!("&cursor={c}"));
                }
                let r = api.get(&format!("{BASE}?{q}")).await;
                assert_eq!(r.status, 200, "{}", r.text);
                let page = listed_ids(&r);
                assert!(page.len() <= 2, "{q}: {page:?}");
                seen.extend(page);
                pages += 1;
                match r.body["next_cursor"].as_str() {
                    Some(c) => cursor = Some(c.to_string()),
                    None => break,
                }
                assert!(pages < 20, "runaway cursor");
            }
            seen
        }
    };
    assert_eq!(walk("limit=2".into()).await, all);
    assert_eq!(walk("limit=2&status=pending".into()).await, pending);
    assert_eq!(walk("limit=2&status=approved".into()).await, approved);
    assert_eq!(
        walk("limit=2&access_type=new&system_id=alpha".into()).await,
        all
    );

    // A cursor is bound to its filters and its tenant.
    let r = api.get(&format!("{BASE}?limit=2&status=pending")).await;
    let c = r.body["next_cursor"].as_str().unwrap().to_string();
    let r = api
        .get(&format!("{BASE}?limit=2&status=approved&cursor={c}"))
        .await;
    assert_invalid(&r, &["cursor"]);
    let r = api.get(&format!("{BASE}?limit=2&cursor={c}")).await;
    assert_invalid(&r, &["cursor"]);
    let other = api.other_tenant();
    let r = other
        .get(&format!("{BASE}?limit=2&status=pending&cursor={c}"))
        .await;
    assert_invalid(&r, &["cursor"]);
    // Another collection's cursor is refused too.
    let r = api.get(&format!("{ENTS}?limit=1")).await;
    assert_eq!(r.status, 200);
    let r = api.get(&format!("{TECH}?limit=1")).await;
    assert_eq!(r.status, 200);
    let tc = r.body["next_cursor"].as_str().map(str::to_string);
    assert!(tc.is_none(), "one asset, one page");
}

// ------------------------------------------------------------------------------------------
// If-Match
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_stale_if_match_changes_nothing() {
    let api = Api::new().await;
    asset(&api, "github").await;
    let id = id_of(&new_request(&api, "github").await);
    let edited = api.patch(&url(&id), json!({"justification": "v2"})).await;
    assert_eq!(edited.status, 200);
    // revision is 2 now.
    let before = snapshot(&api, &id).await;
    for stale in ["\"1\"", "1", "W/\"1\"", "\"3\"", "garbage"] {
        let r = with_if_match(
            &api,
            &approver(&api),
            "POST",
            &format!("{}/approve", url(&id)),
            stale,
            None,
        )
        .await;
        assert_problem(&r, 412, "precondition-failed");
        let r = with_if_match(
            &api,
            &approver(&api),
            "POST",
            &format!("{}/reject", url(&id)),
            stale,
            None,
        )
        .await;
        assert_problem(&r, 412, "precondition-failed");
        let r = with_if_match(
            &api,
            &api.token(),
            "PATCH",
            &url(&id),
            stale,
            Some(json!({"justification": "v3"})),
        )
        .await;
        assert_problem(&r, 412, "precondition-failed");
        let r = with_if_match(&api, &api.token(), "DELETE", &url(&id), stale, None).await;
        assert_problem(&r, 412, "precondition-failed");
    }
    assert_unchanged(&api, &before).await;
    let r = with_if_match(
        &api,
        &approver(&api),
        "POST",
        &format!("{}/approve", url(&id)),
        "\"2\"",
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("etag"), Some("\"3\""));

    // provision, and PATCH {"status":"completed"}.
    let before = snapshot(&api, &id).await;
    let r = with_if_match(
        &api,
        &provisioner(&api),
        "POST",
        &format!("{}/provision", url(&id)),
        "\"2\"",
        None,
    )
    .await;
    assert_problem(&r, 412, "precondition-failed");
    assert_unchanged(&api, &before).await;
    let r = with_if_match(
        &api,
        &provisioner(&api),
        "POST",
        &format!("{}/provision", url(&id)),
        "3",
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let before = snapshot(&api, &id).await;
    let r = with_if_match(
        &api,
        &api.token(),
        "PATCH",
        &url(&id),
        "\"3\"",
        Some(json!({"status": "completed"})),
    )
    .await;
    assert_problem(&r, 412, "precondition-failed");
    assert_unchanged(&api, &before).await;
    let r = with_if_match(
        &api,
        &api.token(),
        "PATCH",
        &url(&id),
        "*",
        Some(json!({"status": "completed"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["revision"], 5);

    // A matching If-Match on DELETE.
    let d = id_of(&new_request(&api, "github").await);
    let r = with_if_match(&api, &api.token(), "DELETE", &url(&d), "\"1\"", None).await;
    assert_eq!(r.status, 204, "{}", r.text);
}

// ------------------------------------------------------------------------------------------
// Tenancy
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn another_tenants_request_does_not_exist() {
    let api = Api::new().await;
    let aid = asset(&api, "github").await;
    let pending = id_of(&new_request(&api, "github").await);
    let approved = id_of(&new_request(&api, "github").await);
    approve(&api, &approved).await;
    let other = api.other_tenant();
    let stranger = other.token_for("approver-9", None, &all_scopes());
    let missing = missing_request_id();
    let probe = |id: &str| -> Vec<(&'static str, String, Option<Value>)> {
        vec![
            ("GET", url(id), None),
            ("PATCH", url(id), Some(json!({"justification": "mine now"}))),
            ("PATCH", url(id), Some(json!({"status": "completed"}))),
            ("DELETE", url(id), None),
            ("POST", format!("{}/approve", url(id)), None),
            ("POST", format!("{}/reject", url(id)), None),
            ("POST", format!("{}/provision", url(id)), None),
        ]
    };
    let before_p = snapshot(&api, &pending).await;
    let before_a = snapshot(&api, &approved).await;
    for id in [&pending, &approved] {
        for ((method, path, body), (_, mpath, mbody)) in probe(id).into_iter().zip(probe(&missing))
        {
            let r = other.call(method, &path, &stranger, body).await;
            assert_problem(&r, 404, "not-found");
            let m = other.call(method, &mpath, &stranger, mbody).await;
            assert_eq!(shape(&r), shape(&m), "{method} {path}");
        }
    }
    assert_unchanged(&api, &before_p).await;
    assert_unchanged(&api, &before_a).await;
    assert_eq!(live_count(&api, &aid).await, 0);
    assert_eq!(listed_ids(&other.get(BASE).await), Vec::<String>::new());
    // Malformed ids are plain 404s too.
    for bad in [
        "nope",
        "ast_01JD3Q9Z8X4K2M7N5P6R8S0T1V",
        "arq_",
        "arq_zzzzzzzzzzzzzzzzzzzzzzzzzz",
    ] {
        let r = api.get(&url(bad)).await;
        assert_problem(&r, 404, "not-found");
    }
}
