//! Technology assets end to end (API.md §1–§3, §5) against DynamoDB Local.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn create_get_patch_delete_round_trip() {
    let api = Api::new().await;
    let r = api
        .post(
            "/api/v1/technology",
            json!({"name": "payments-gateway", "hosting": "cloud", "cloud_provider": "aws", "tags": ["pci"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("ast_") && id.len() == 30);
    assert_eq!(
        r.header("location"),
        Some(format!("/api/v1/technology/{id}").as_str())
    );
    assert_eq!(r.header("etag"), Some("\"1\""));
    assert_eq!(r.body["tenant_id"], api.tenant);
    assert_eq!(r.body["app_id"], serde_json::Value::Null);
    assert_eq!(r.body["status"], "active");
    assert_eq!(r.body["source"], "edm");
    assert_eq!(r.body["source_type"], "api");
    assert_eq!(r.body["revision"], 1);
    assert_eq!(r.body["created_by"], "user-1");
    assert_eq!(r.body["description"], serde_json::Value::Null);
    assert_eq!(r.body["owner"], serde_json::Value::Null);
    assert!(r.header("x-request-id").is_some());

    api.counter.reset();
    let g = api.get(&format!("/api/v1/technology/{id}")).await;
    assert_eq!(g.status, 200);
    assert_eq!(g.body, r.body);
    assert_eq!(api.counter.total(), 1);

    let p = api
        .patch(
            &format!("/api/v1/technology/{id}"),
            json!({"description": "cards", "tags": null}),
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.text);
    assert_eq!(p.body["description"], "cards");
    assert_eq!(p.body["tags"], serde_json::Value::Null);
    assert_eq!(p.body["revision"], 2);
    assert_eq!(p.header("etag"), Some("\"2\""));

    let d = api.delete(&format!("/api/v1/technology/{id}")).await;
    assert_eq!(d.status, 204, "{}", d.text);
    let g = api.get(&format!("/api/v1/technology/{id}")).await;
    assert_problem(&g, 404, "not-found");
    let g = api
        .get(&format!("/api/v1/technology/{id}?include_deleted=true"))
        .await;
    assert_eq!(g.status, 200);
    assert_eq!(g.body["is_deleted"], true);
    assert_eq!(g.body["revision"], 3);
}

#[tokio::test]
async fn validation_names_every_field() {
    let api = Api::new().await;
    let r = api
        .post(
            "/api/v1/technology",
            json!({"name": "Bad Name", "status": "x", "extra": 1}),
        )
        .await;
    assert_problem(&r, 400, "validation-error");
    assert_eq!(bad_fields(&r), vec!["extra", "name", "status"]);
}

#[tokio::test]
async fn concurrent_creates_of_one_name_yield_one_winner() {
    let api = Api::new().await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            api.post("/api/v1/technology", json!({"name": "racy"}))
                .await
                .status
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
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        19,
        "{statuses:?}"
    );
    let list = api.get("/api/v1/technology").await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn unreachable_store_is_503() {
    let api = Api::unreachable().await;
    let r = api
        .get("/api/v1/technology/ast_01JD3Q9Z8X4K2M7N5P6R8S0T1V")
        .await;
    assert_problem(&r, 503, "service-unavailable");
    assert_eq!(r.header("retry-after"), Some("1"));
}
