//! Access requests end to end (API.md §3 AccessRequest): state machine, separation of duties,
//! atomic provisioning.

mod common;

use common::*;
use serde_json::{json, Value};

const BASE: &str = "/api/v1/operations/access-requests";

/// A second person of the same tenant, to approve what user-1 requested.
fn approver(api: &Api) -> String {
    api.token_for("approver-1", None, &all_scopes())
}

async fn act(api: &Api, token: &str, id: &str, action: &str) -> common::Response {
    api.call("POST", &format!("{BASE}/{id}/{action}"), token, None)
        .await
}

#[tokio::test]
async fn new_request_is_approved_and_provisioned_into_an_entitlement() {
    let api = Api::new().await;
    let asset = api.asset(json!({"name": "github"})).await;
    let aid = asset["id"].as_str().unwrap();
    let r = api
        .post(BASE, json!({"system_id": "github", "access_type": "new", "justification": "on-call", "entitlement_type": "maintainer"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["status"], "pending");
    assert_eq!(r.body["asset_id"], aid);
    assert_eq!(r.body["requester_id"], "user-1");
    assert_eq!(r.body["principal_id"], "user-1");
    assert_eq!(r.body["principal_type"], "person");
    assert_eq!(r.body["granted_at"], Value::Null);
    let id = r.body["id"].as_str().unwrap().to_string();

    let own = act(&api, &api.token(), &id, "approve").await;
    assert_problem(&own, 403, "forbidden");
    let own = act(&api, &api.token(), &id, "reject").await;
    assert_problem(&own, 403, "forbidden");

    let early = act(&api, &approver(&api), &id, "provision").await;
    assert_problem(&early, 409, "conflict");

    api.counter.reset();
    let ok = act(&api, &approver(&api), &id, "approve").await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.body["status"], "approved");
    assert_eq!(ok.body["approver_id"], "approver-1");
    let counts = api.counter.snapshot();
    assert_eq!(counts.get("GetItem"), Some(&1));
    assert_eq!(counts.get("UpdateItem"), Some(&1));
    assert_eq!(api.counter.total(), 2);

    api.counter.reset();
    let p = act(&api, &approver(&api), &id, "provision").await;
    assert_eq!(p.status, 200, "{}", p.text);
    assert_eq!(p.body["status"], "provisioned");
    assert_eq!(api.counter.snapshot().get("TransactWriteItems"), Some(&1));
    let eid = p.body["entitlement_id"].as_str().unwrap();
    let e = api.get(&format!("/api/v1/entitlements/{eid}")).await;
    assert_eq!(e.status, 200);
    assert_eq!(e.body["grant_source"], "provisioned");
    assert_eq!(e.body["granted_by_id"], "approver-1");
    assert_eq!(e.body["entitlement_type"], "maintainer");
    assert_eq!(e.body["access_request_id"], id.as_str());
    assert_eq!(p.body["granted_at"], e.body["granted_at"]);
    assert_eq!(live_count(&api, aid).await, 1);

    let again = act(&api, &approver(&api), &id, "provision").await;
    assert_problem(&again, 409, "conflict");

    let done = api
        .patch(&format!("{BASE}/{id}"), json!({"status": "completed"}))
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["status"], "completed");
    let edit = api
        .patch(&format!("{BASE}/{id}"), json!({"justification": "x"}))
        .await;
    assert_problem(&edit, 409, "conflict");
    let del = api.delete(&format!("{BASE}/{id}")).await;
    assert_problem(&del, 409, "conflict");
}

#[tokio::test]
async fn modify_and_revoke_requests_change_the_entitlement() {
    let api = Api::new().await;
    let asset = api.asset(json!({"name": "aws"})).await;
    let aid = asset["id"].as_str().unwrap();
    let e = api
        .post("/api/v1/entitlements", json!({"asset_id": aid, "principal_id": "p9", "principal_type": "person", "entitlement_type": "read"}))
        .await;
    let eid = e.body["id"].as_str().unwrap().to_string();

    let m = api
        .post(BASE, json!({"system_id": "aws", "access_type": "modify", "justification": "more", "entitlement_id": eid, "entitlement_type": "write", "expires_at": "2099-01-01T00:00:00Z"}))
        .await;
    assert_eq!(m.status, 201, "{}", m.text);
    assert_eq!(m.body["principal_id"], "p9");
    let mid = m.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        act(&api, &approver(&api), &mid, "approve").await.status,
        200
    );
    let p = act(&api, &approver(&api), &mid, "provision").await;
    assert_eq!(p.status, 200, "{}", p.text);
    let after = api.get(&format!("/api/v1/entitlements/{eid}")).await;
    assert_eq!(after.body["entitlement_type"], "write");
    assert_eq!(after.body["expires_at"], "2099-01-01T00:00:00.000Z");
    assert_eq!(after.body["status"], "active");
    assert_eq!(live_count(&api, aid).await, 1);

    let r = api
        .post(BASE, json!({"system_id": "aws", "access_type": "revoke", "justification": "left", "entitlement_id": eid}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let rid = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        act(&api, &approver(&api), &rid, "approve").await.status,
        200
    );
    // The entitlement is revoked directly meanwhile: provisioning fails and changes nothing.
    let before = api.get(&format!("{BASE}/{rid}")).await;
    assert_eq!(
        api.post(&format!("/api/v1/entitlements/{eid}/revoke"), json!({}))
            .await
            .status,
        200
    );
    let p = act(&api, &approver(&api), &rid, "provision").await;
    assert_problem(&p, 409, "conflict");
    let unchanged = api.get(&format!("{BASE}/{rid}")).await;
    assert_eq!(unchanged.body, before.body);
    assert_eq!(live_count(&api, aid).await, 0);
}

#[tokio::test]
async fn create_validation() {
    let api = Api::new().await;
    let r = api.post(BASE, json!({"access_type": "new"})).await;
    assert_problem(&r, 400, "validation-error");
    assert_eq!(
        bad_fields(&r),
        vec!["entitlement_type", "justification", "system_id"]
    );
    let r = api
        .post(BASE, json!({"system_id": "nope", "access_type": "new", "justification": "x", "entitlement_type": "r"}))
        .await;
    assert_problem(&r, 400, "validation-error");
    assert_eq!(bad_fields(&r), vec!["asset_id", "system_id"]);
}

#[tokio::test]
async fn twenty_racing_decisions_have_one_winner() {
    let api = Api::new().await;
    api.asset(json!({"name": "slack"})).await;
    let r = api
        .post(BASE, json!({"system_id": "slack", "access_type": "new", "justification": "x", "entitlement_type": "member"}))
        .await;
    let id = r.body["id"].as_str().unwrap().to_string();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let api = api.clone();
        let id = id.clone();
        let token = approver(&api);
        let action = if i % 2 == 0 { "approve" } else { "reject" };
        tasks.push(tokio::spawn(async move {
            act(&api, &token, &id, action).await.status
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        19,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn twenty_racing_provisions_create_one_entitlement() {
    let api = Api::new().await;
    let asset = api.asset(json!({"name": "jira"})).await;
    let aid = asset["id"].as_str().unwrap().to_string();
    let r = api
        .post(BASE, json!({"system_id": "jira", "access_type": "new", "justification": "x", "entitlement_type": "member"}))
        .await;
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(act(&api, &approver(&api), &id, "approve").await.status, 200);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let api = api.clone();
        let id = id.clone();
        let token = approver(&api);
        tasks.push(tokio::spawn(async move {
            act(&api, &token, &id, "provision").await.status
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        19,
        "{statuses:?}"
    );
    let ents = api
        .get(&format!("/api/v1/entitlements?asset_id={aid}"))
        .await;
    assert_eq!(ents.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(live_count(&api, &aid).await, 1);
}

#[tokio::test]
async fn server_set_fields_in_a_create_body_are_ignored() {
    let api = Api::new().await;
    api.asset(json!({"name": "okta"})).await;
    let r = api
        .post(
            BASE,
            json!({"system_id": "okta", "access_type": "new", "justification": "x", "entitlement_type": "admin",
                   "entitlement_id": "ent_01JD3Q9Z8X4K2M7N5P6R8S0T1V", "status": "approved", "approver_id": "me",
                   "granted_at": "2020-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["entitlement_id"], Value::Null);
    assert_eq!(r.body["status"], "pending");
    assert_eq!(r.body["approver_id"], Value::Null);
    assert_eq!(r.body["granted_at"], Value::Null);
}
