//! The HTTP edge as every route shares it: `If-Match` syntax, `405` with `Allow`, opaque cursors.

use super::common::{assert_invalid_for, assert_problem, id_of, Api, ENTS, TECH};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http::{HeaderMap, HeaderValue};
use serde_json::json;

async fn with_if_match(api: &Api, method: &str, uri: &str, tag: &[u8]) -> super::common::Response {
    let mut headers = HeaderMap::new();
    headers.insert("if-match", HeaderValue::from_bytes(tag).unwrap());
    let mut body = Vec::new();
    if method == "PATCH" {
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        body = br#"{"vendor": "changed"}"#.to_vec();
    }
    api.raw(method, uri, &api.token(), headers, body).await
}

#[tokio::test]
async fn a_malformed_if_match_is_a_400_naming_it_and_changes_nothing() {
    let api = Api::new().await;
    let asset = api.asset(json!({"name": "crm", "vendor": "v"})).await;
    let url = format!("/api/v1/technology/{}", id_of(&asset));
    for tag in shared::http::MALFORMED_IF_MATCH {
        for method in ["PATCH", "DELETE"] {
            let r = with_if_match(&api, method, &url, tag).await;
            assert_invalid_for(&r, &["If-Match"], format!("{method} {tag:?}"));
        }
    }
    let stored = api.get(&url).await;
    assert_eq!(stored.status, 200);
    assert_eq!(stored.body["revision"], 1);
    assert_eq!(stored.body["vendor"], "v");
    // Well-formed tags still work: a stale one is 412, the current one writes.
    let stale = with_if_match(&api, "PATCH", &url, b"\"7\"").await;
    assert_problem(&stale, 412, "precondition-failed");
    let ok = with_if_match(&api, "PATCH", &url, b"W/\"1\"").await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.body["vendor"], "changed");
}

#[tokio::test]
async fn a_malformed_if_match_is_refused_on_every_write_route() {
    let api = Api::new().await;
    let missing = "ent_01JD3QA1B2C3D4E5F6G7H8J9K0";
    let arq = "arq_01JD3QB7Y6X5W4V3T2S1R0Q9P8";
    for (method, uri) in [
        ("POST", format!("/api/v1/entitlements/{missing}/revoke")),
        ("PATCH", format!("/api/v1/entitlements/{missing}")),
        (
            "POST",
            format!("/api/v1/entitlements/{missing}/access-model-metadata/k/values/v"),
        ),
        (
            "DELETE",
            format!("/api/v1/entitlements/{missing}/access-model-metadata/k/values/v"),
        ),
        ("PATCH", "/api/v1/access-model-metadata/attributes/k".into()),
        ("PATCH", format!("/api/v1/operations/access-requests/{arq}")),
        (
            "DELETE",
            format!("/api/v1/operations/access-requests/{arq}"),
        ),
        (
            "POST",
            format!("/api/v1/operations/access-requests/{arq}/approve"),
        ),
        (
            "POST",
            format!("/api/v1/operations/access-requests/{arq}/reject"),
        ),
        (
            "POST",
            format!("/api/v1/operations/access-requests/{arq}/provision"),
        ),
    ] {
        let r = with_if_match(&api, method, &uri, b"").await;
        assert_invalid_for(&r, &["If-Match"], format!("{method} {uri}"));
    }
}

#[tokio::test]
async fn method_not_allowed_names_the_allowed_methods() {
    let api = Api::new().await;
    for (method, uri, allow) in [
        ("PUT", TECH, "GET, POST"),
        ("DELETE", TECH, "GET, POST"),
        ("PUT", "/api/v1/technology/ast_1", "GET, PATCH, DELETE"),
        ("DELETE", "/api/v1/entitlements/ent_1", "GET, PATCH"),
        ("GET", "/api/v1/entitlements/ent_1/revoke", "POST"),
        (
            "PATCH",
            "/api/v1/entitlements/ent_1/access-model-metadata/k/values/v",
            "POST, DELETE",
        ),
        (
            "TRACE",
            "/api/v1/operations/access-requests/arq_1/approve",
            "POST",
        ),
        (
            "DELETE",
            "/api/v1/access-model-metadata/attributes/k",
            "GET, PATCH",
        ),
    ] {
        let r = api.call(method, uri, &api.token(), None).await;
        assert_problem(&r, 405, "method-not-allowed");
        assert_eq!(r.header("allow"), Some(allow), "{method} {uri}");
    }
    // An unknown path is a 404 and names no methods.
    let r = api.call("PUT", "/api/v1/nothing", &api.token(), None).await;
    assert_problem(&r, 404, "not-found");
    assert_eq!(r.header("allow"), None);
}

#[tokio::test]
async fn a_cursor_reveals_neither_the_tenant_nor_the_key_layout() {
    let api = Api::new().await;
    let a = api.asset(json!({"name": "a1"})).await;
    api.asset(json!({"name": "a2"})).await;
    let grant = |principal: &str| {
        json!({"asset_id": id_of(&a), "principal_id": principal, "principal_type": "person",
               "entitlement_type": "read"})
    };
    for p in ["p1", "p2"] {
        let r = api.post(ENTS, grant(p)).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    for list in [
        "/api/v1/technology?limit=1".to_string(),
        format!("/api/v1/entitlements?limit=1&asset_id={}", id_of(&a)),
    ] {
        let page = api.get(&list).await;
        assert_eq!(page.status, 200, "{}", page.text);
        let cursor = page.body["next_cursor"]
            .as_str()
            .expect("a next page")
            .to_string();
        let bytes = URL_SAFE_NO_PAD.decode(&cursor).expect("base64url");
        let text = String::from_utf8_lossy(&bytes);
        for needle in [api.tenant.as_str(), "\"PK\"", "\"SK\"", "GSI1", "ast_"] {
            assert!(!text.contains(needle), "{needle:?} in the cursor of {list}");
        }
        let next = api.get(&format!("{list}&cursor={cursor}")).await;
        assert_eq!(next.status, 200, "{}", next.text);
        assert_eq!(next.body["items"].as_array().map(Vec::len), Some(1));
        assert_ne!(next.body["items"][0]["id"], page.body["items"][0]["id"]);
    }
}
