//! Entitlements end to end (API.md §3 AccessEntitlement, §4 metadata on entitlements).

mod common;

use common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn create_revoke_and_regrant() {
    let api = Api::new().await;
    let asset = api.asset(json!({"name": "crm"})).await;
    let aid = asset["id"].as_str().unwrap();

    api.counter.reset();
    let r = api
        .post("/api/v1/entitlements", grant_body(aid, "p1", "admin"))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        api.counter.snapshot().into_iter().collect::<Vec<_>>(),
        vec![("TransactWriteItems".to_string(), 1)]
    );
    let id = r.body["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("ent_"));
    assert_eq!(r.body["status"], "active");
    assert_eq!(r.body["grant_source"], "direct");
    assert_eq!(r.body["granted_by_id"], "user-1");
    assert_eq!(r.body["privileged"], false);
    assert_eq!(r.body["requestable"], true);
    assert_eq!(r.body["access_model_metadata"], Value::Null);
    assert_eq!(r.body["revoked_at"], Value::Null);
    assert_eq!(live_count(&api, aid).await, 1);

    let dup = api
        .post("/api/v1/entitlements", grant_body(aid, "p1", "admin"))
        .await;
    assert_problem(&dup, 409, "conflict");
    assert_eq!(live_count(&api, aid).await, 1);

    let del = api.delete(&format!("/api/v1/technology/{aid}")).await;
    assert_problem(&del, 409, "conflict");
    assert_eq!(del.body["live_entitlements"], 1);

    api.counter.reset();
    let rv = api
        .post(
            &format!("/api/v1/entitlements/{id}/revoke"),
            json!({"reason": "left team"}),
        )
        .await;
    assert_eq!(rv.status, 200, "{}", rv.text);
    assert_eq!(rv.body["status"], "revoked");
    assert_eq!(rv.body["revoke_reason"], "left team");
    assert_eq!(rv.body["revoked_by"], "user-1");
    assert_eq!(rv.body["revision"], 2);
    let counts = api.counter.snapshot();
    assert_eq!(counts.get("TransactWriteItems"), Some(&1));
    assert_eq!(counts.get("GetItem"), Some(&1));
    assert_eq!(live_count(&api, aid).await, 0);

    let again = api
        .call(
            "POST",
            &format!("/api/v1/entitlements/{id}/revoke"),
            &api.token(),
            None,
        )
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body, rv.body);

    let regrant = api
        .post("/api/v1/entitlements", grant_body(aid, "p1", "admin"))
        .await;
    assert_eq!(regrant.status, 201, "{}", regrant.text);
    assert_eq!(live_count(&api, aid).await, 1);
}

#[tokio::test]
async fn asset_rules_are_checked_in_the_transaction() {
    let api = Api::new().await;
    let r = api
        .post(
            "/api/v1/entitlements",
            grant_body("ast_01JD3Q9Z8X4K2M7N5P6R8S0T1V", "p1", "x"),
        )
        .await;
    assert_problem(&r, 400, "validation-error");
    assert_eq!(bad_fields(&r), vec!["asset_id"]);

    let critical = api
        .asset(json!({"name": "vault", "criticality": "critical"}))
        .await;
    let cid = critical["id"].as_str().unwrap();
    let r = api
        .post("/api/v1/entitlements", grant_body(cid, "p1", "x"))
        .await;
    assert_problem(&r, 400, "validation-error");
    assert_eq!(bad_fields(&r), vec!["expires_at"]);
    assert_eq!(live_count(&api, cid).await, 0);
    let mut ok = grant_body(cid, "p1", "x");
    ok["expires_at"] = json!("2099-01-01T00:00:00Z");
    let r = api.post("/api/v1/entitlements", ok).await;
    assert_eq!(r.status, 201, "{}", r.text);

    let plain = api.asset(json!({"name": "wiki"})).await;
    let pid = plain["id"].as_str().unwrap();
    assert_eq!(
        api.delete(&format!("/api/v1/technology/{pid}"))
            .await
            .status,
        204
    );
    let r = api
        .post("/api/v1/entitlements", grant_body(pid, "p1", "x"))
        .await;
    assert_problem(&r, 400, "validation-error");
    assert_eq!(bad_fields(&r), vec!["asset_id"]);
}

#[tokio::test]
async fn twenty_concurrent_identical_creates_yield_one() {
    let api = Api::new().await;
    let asset = api.asset(json!({"name": "erp"})).await;
    let aid = asset["id"].as_str().unwrap().to_string();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let api = api.clone();
        let body = grant_body(&aid, "p1", "admin");
        tasks.push(tokio::spawn(async move {
            api.post("/api/v1/entitlements", body).await.status
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
    assert_eq!(live_count(&api, &aid).await, 1);
}

#[tokio::test]
async fn asset_delete_racing_creates_stays_consistent() {
    let api = Api::new().await;
    let asset = api.asset(json!({"name": "race"})).await;
    let aid = asset["id"].as_str().unwrap().to_string();
    let mut tasks = Vec::new();
    for i in 0..10 {
        let api = api.clone();
        let body = grant_body(&aid, &format!("p{i}"), "user");
        tasks.push(tokio::spawn(async move {
            api.post("/api/v1/entitlements", body).await.status
        }));
    }
    let del = {
        let api = api.clone();
        let aid = aid.clone();
        tokio::spawn(async move {
            api.delete(&format!("/api/v1/technology/{aid}"))
                .await
                .status
        })
    };
    let mut created = 0;
    for t in tasks {
        if t.await.unwrap() == 201 {
            created += 1;
        }
    }
    let del = del.await.unwrap();
    let live = live_count(&api, &aid).await;
    assert_eq!(live, created);
    let listed = api
        .get(&format!("/api/v1/entitlements?asset_id={aid}&limit=100"))
        .await;
    assert_eq!(
        listed.body["items"].as_array().unwrap().len() as i64,
        created
    );
    if del == 204 {
        assert_eq!(
            created, 0,
            "no live entitlement may exist on a deleted asset"
        );
    } else {
        assert_eq!(del, 409);
        assert!(created > 0);
    }
}

#[tokio::test]
async fn metadata_values_are_added_replaced_and_removed() {
    let api = Api::new().await;
    let r = api
        .post(
            "/api/v1/access-model-metadata/attributes",
            json!({"key": "iscFederalClassifications", "name": "Federal", "type": "governance",
                   "values": [{"value": "secret", "name": "Secret"}, {"value": "topSecret", "name": "Top Secret"}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let asset = api.asset(json!({"name": "hr"})).await;
    let e = api
        .post(
            "/api/v1/entitlements",
            grant_body(asset["id"].as_str().unwrap(), "p1", "x"),
        )
        .await;
    let id = e.body["id"].as_str().unwrap();
    let base =
        format!("/api/v1/entitlements/{id}/access-model-metadata/iscFederalClassifications/values");
    let a = api
        .call("POST", &format!("{base}/secret"), &api.token(), None)
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let attrs = &a.body["access_model_metadata"]["attributes"];
    assert_eq!(attrs[0]["key"], "iscFederalClassifications");
    assert_eq!(attrs[0]["name"], "Federal");
    assert_eq!(attrs[0]["type"], "governance");
    assert_eq!(
        attrs[0]["values"],
        json!([{"value": "secret", "name": "Secret", "status": "active"}])
    );
    // Not multiselect: a second value replaces the first.
    let b = api
        .call("POST", &format!("{base}/topSecret"), &api.token(), None)
        .await;
    assert_eq!(
        b.body["access_model_metadata"]["attributes"][0]["values"][0]["value"],
        "topSecret"
    );
    assert_eq!(
        b.body["access_model_metadata"]["attributes"][0]["values"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let missing = api
        .call("POST", &format!("{base}/nope"), &api.token(), None)
        .await;
    assert_problem(&missing, 400, "validation-error");
    let c = api
        .call("DELETE", &format!("{base}/topSecret"), &api.token(), None)
        .await;
    assert_eq!(c.status, 200, "{}", c.text);
    assert_eq!(c.body["access_model_metadata"], Value::Null);
    let noop = api
        .call("DELETE", &format!("{base}/topSecret"), &api.token(), None)
        .await;
    assert_eq!(noop.status, 200);
    assert_eq!(noop.body["revision"], c.body["revision"]);
}
