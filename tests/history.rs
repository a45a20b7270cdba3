//! History (API.md §8) end to end: events per write, their hash chain, verify, the audit feed
//! and who had access when, against DynamoDB Local.

mod common;

use common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn an_assets_writes_are_its_history() {
    let api = Api::new().await;
    let created = api
        .post("/api/v1/technology", json!({"name": "hist"}))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = id_of(&created.body);
    let r = api
        .patch(
            &format!("/api/v1/technology/{id}"),
            json!({"vendor": "acme"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let h = api.get(&format!("/api/v1/technology/{id}/history")).await;
    assert_eq!(h.status, 200, "{}", h.text);
    let items = h.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{}", h.text);
    assert_eq!(items[0]["action"], "created");
    assert_eq!(items[1]["action"], "updated");
    assert_eq!(
        items[1]["changes"],
        json!({"vendor": {"from": null, "to": "acme"}})
    );
    assert_eq!(
        items[1]["request_id"],
        Value::String(r.header("x-request-id").unwrap().into())
    );
    let v = api
        .get(&format!("/api/v1/technology/{id}/history/verify"))
        .await;
    assert_eq!(v.status, 200, "{}", v.text);
    assert_eq!(v.body["valid"], true, "{}", v.text);
    assert_eq!(v.body["revisions"], 2);
    let feed = api.get("/api/v1/audit-events").await;
    assert_eq!(feed.status, 200, "{}", feed.text);
    assert_eq!(
        feed.body["items"].as_array().unwrap().len(),
        2,
        "{}",
        feed.text
    );
    let g = api
        .post("/api/v1/entitlements", grant_body(&id, "p1", "read"))
        .await;
    assert_eq!(g.status, 201, "{}", g.text);
    let access = api.get(&format!("/api/v1/technology/{id}/access")).await;
    assert_eq!(access.status, 200, "{}", access.text);
    assert_eq!(
        access.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        access.text
    );
}
