//! The access-model-metadata attribute catalog end to end (API.md §4, §1, §2, §5) against
//! DynamoDB Local.

mod common;

use common::*;
use http::{HeaderMap, HeaderValue};
use serde_json::{json, Value};
use std::collections::BTreeSet;

const BASE: &str = "/api/v1/access-model-metadata/attributes";

fn at(key: &str) -> String {
    format!("{BASE}/{key}")
}

async fn patch_if_match(
    api: &Api,
    token: &str,
    key: &str,
    if_match: &str,
    body: Value,
) -> Response {
    send(api, token, "PATCH", &at(key), Some(if_match), Some(body)).await
}

fn keys_of(r: &Response) -> Vec<String> {
    r.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {}", r.text))
        .iter()
        .map(|i| i["key"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn create_returns_201_location_and_defaults() {
    let api = Api::new().await;
    let r = api
        .expect_requests(
            &[("TransactWriteItems", 1)],
            api.post(
                BASE,
                json!({"key": "iscPrivacy", "name": "Privacy", "type": "governance"}),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.header("location"), Some(at("iscPrivacy").as_str()));
    assert_eq!(r.header("etag"), Some("\"1\""));
    assert!(r.header("x-request-id").is_some());
    let b = &r.body;
    let id = b["id"].as_str().unwrap();
    assert!(id.starts_with("amd_") && id.len() == 30, "{id}");
    assert_eq!(b["key"], "iscPrivacy");
    assert_eq!(b["name"], "Privacy");
    assert_eq!(b["type"], "governance");
    assert_eq!(b["description"], Value::Null);
    assert_eq!(b["multiselect"], false);
    assert_eq!(b["status"], "active");
    assert_eq!(b["object_types"], json!(["entitlement"]));
    assert_eq!(b["values"], json!([]));
    assert_fresh_envelope(&api, b);
    assert_eq!(b["source"], "edm");
    assert_eq!(b["source_type"], "api");
    assert_eq!(b["schema_version"], 1);
    assert!(b["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(b["created_at"], b["updated_at"]);
    // Every field, nothing else (no key attributes, no search text).
    let mut names: Vec<&str> = b.as_object().unwrap().keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            "app_id",
            "created_at",
            "created_by",
            "deleted_at",
            "deleted_by",
            "description",
            "id",
            "is_deleted",
            "key",
            "multiselect",
            "name",
            "object_types",
            "revision",
            "schema_version",
            "source",
            "source_type",
            "status",
            "tenant_id",
            "type",
            "updated_at",
            "updated_by",
            "values"
        ]
    );

    // Stored at PK T#<T>#AMD, SK = key.
    let item = api
        .stored(&format!("T#{}#AMD", api.tenant), "iscPrivacy")
        .await
        .expect("stored item");
    assert_eq!(
        shared::store::get_s(&item, "id"),
        Some(id),
        "item keyed by the attribute key"
    );

    let body = json!({
        "key": "iscFederalClassifications", "name": "Federal classification",
        "description": "US federal data classes", "type": "custom", "multiselect": true,
        "status": "inactive", "object_types": ["all"], "source": "sailpoint",
        "source_type": "backend", "id": "amd_ignored", "revision": 7,
        "values": [
            {"value": "secret", "name": "Secret"},
            {"value": "top.secret-1", "name": "Top secret", "status": "inactive"}
        ]
    });

    let full = api.post(BASE, body).await;
    assert_eq!(full.status, 201, "{}", full.text);
    let b = &full.body;
    assert_ne!(b["id"], "amd_ignored");
    assert_eq!(b["revision"], 1);
    assert_eq!(b["multiselect"], true);
    assert_eq!(b["status"], "inactive");
    assert_eq!(b["object_types"], json!(["all"]));
    assert_eq!(b["source"], "sailpoint");
    assert_eq!(b["source_type"], "backend");
    assert_eq!(
        b["values"],
        json!([
            {"value": "secret", "name": "Secret", "status": "active"},
            {"value": "top.secret-1", "name": "Top secret", "status": "inactive"}
        ])
    );
}

#[tokio::test]
async fn duplicate_key_is_409_and_keeps_the_first() {
    let api = Api::new().await;
    let first = attribute(&api, "iscPrivacy", json!({})).await;
    let body = json!({"key": "iscPrivacy", "name": "Other", "type": "custom"});
    let r = api.post(BASE, body).await;
    assert_problem(&r, 409, "conflict");
    assert_eq!(r.body["key"], "iscPrivacy");
    let g = api.get(&at("iscPrivacy")).await;
    assert_eq!(g.body, first);
    // Another tenant may use the same key.
    let other = Api::new().await;
    attribute(&other, "iscPrivacy", json!({})).await;
}

#[tokio::test]
async fn concurrent_creates_of_one_key_yield_one_winner() {
    let api = Api::new().await;
    let mut statuses = race(10, |i| {
        let api = api.clone();
        let body = json!({"key": "racy", "name": format!("n{i}"), "type": "custom"});
        async move { api.post(BASE, body).await.status }
    })
    .await;
    statuses.sort();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409, 409, 409, 409, 409]);
}

#[tokio::test]
async fn key_pattern_is_enforced() {
    let api = Api::new().await;
    for bad in [
        json!("1abc"),
        json!("_abc"),
        json!("a-b"),
        json!("a.b"),
        json!("a b"),
        json!(""),
        json!(format!("a{}", "b".repeat(64))),
        json!(5),
        Value::Null,
    ] {
        let r = api
            .post(BASE, json!({"key": bad, "name": "n", "type": "custom"}))
            .await;
        assert_invalid_for(&r, &["key"], &bad);
    }
    attribute(&api, &format!("A{}", "b_9".repeat(21)), json!({})).await;
}

#[tokio::test]
async fn validation_names_every_bad_field_at_once() {
    let api = Api::new().await;
    let body = json!({
        "key": "bad-key",
        "name": "x".repeat(201),
        "description": "d".repeat(4001),
        "type": "other",
        "multiselect": "yes",
        "status": "deleted",
        "object_types": ["role"],
        "values": "none",
        "source_type": "robot",
        "owner": "someone"
    });
    let r = api.post(BASE, body).await;
    assert_invalid(
        &r,
        &[
            "description",
            "key",
            "multiselect",
            "name",
            "object_types",
            "owner",
            "source_type",
            "status",
            "type",
            "values",
        ],
    );
    let r = api.post(BASE, json!({})).await;
    assert_eq!(bad_fields(&r), vec!["key", "name", "type"]);
    let body = json!({"key": "k", "name": "n", "type": "custom", "object_types": ["entitlement", "all"],
                   "multiselect": null, "status": null, "values": null});
    let r = api.post(BASE, body).await;
    assert_eq!(
        bad_fields(&r),
        vec!["multiselect", "object_types", "status", "values"]
    );
    // Nothing was written.
    let g = api.get(&at("k")).await;
    assert_problem(&g, 404, "not-found");
}

#[tokio::test]
async fn values_are_validated_entry_by_entry() {
    let api = Api::new().await;
    let body = json!({
        "key": "iscPrivacy", "name": "Privacy", "type": "governance",
        "values": [
            {"value": "public", "name": "Public"},
            {"value": "no good", "name": "Bad pattern"},
            {"value": "public", "name": "Duplicate"},
            {"value": "nameless"},
            {"value": "blank", "name": " "},
            {"value": "s", "name": "Bad status", "status": "retired"},
            {"value": "x", "name": "Extra", "id": 1},
            7
        ]
    });
    let r = api.post(BASE, body).await;
    assert_invalid(
        &r,
        &[
            "values[1].value",
            "values[2].value",
            "values[3].name",
            "values[4].name",
            "values[5].status",
            "values[6].id",
            "values[7]",
        ],
    );
    let dup = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["field"] == "values[2].value")
        .unwrap();
    assert!(
        dup["message"].as_str().unwrap().contains("values[0].value"),
        "{dup}"
    );
    let many: Vec<Value> = (0..501)
        .map(|i| json!({"value": format!("v{i}"), "name": "n"}))
        .collect();
    let body = json!({"key": "big", "name": "n", "type": "custom", "values": many});
    let r = api.post(BASE, body).await;
    assert_eq!(bad_fields(&r), vec!["values"]);
}

#[tokio::test]
async fn get_reads_once_and_404s_for_missing_other_tenant_and_bad_keys() {
    let api = Api::new().await;
    let created = attribute(&api, "iscPrivacy", json!({"description": "d"})).await;
    let g = api
        .expect_requests(&[("GetItem", 1)], api.get(&at("iscPrivacy")))
        .await;
    assert_eq!(g.status, 200, "{}", g.text);
    assert_eq!(g.body, created);
    assert_eq!(g.header("etag"), Some("\"1\""));

    assert_problem(&api.get(&at("missing")).await, 404, "not-found");
    // Keys are case-sensitive technical names.
    assert_problem(&api.get(&at("iscprivacy")).await, 404, "not-found");
    // A path key that could never be an attribute key: 404 without a read.
    api.counter.reset();
    assert_problem(&api.get(&at("not-a-key")).await, 404, "not-found");
    assert_eq!(api.counter.total(), 0);
    // Another tenant's token: exactly as if it did not exist (also for PATCH).
    let other = Api::new().await;
    let token = api.token_in(&other.tenant, "user-1", None, &all_scopes());
    let r = api.get_as(&at("iscPrivacy"), &token).await;
    assert_problem(&r, 404, "not-found");
    let r = api
        .patch_as(&at("iscPrivacy"), &token, json!({"name": "x"}))
        .await;
    assert_problem(&r, 404, "not-found");
    assert_eq!(
        api.get(&at("iscPrivacy")).await.body["name"],
        created["name"]
    );
    // Get takes `include_deleted` only (attributes are never deleted).
    for query in ["include_deleted=yes", "deleted=true"] {
        let r = api.get(&format!("{}?{query}", at("iscPrivacy"))).await;
        assert_problem(&r, 400, "validation-error");
    }
}

#[tokio::test]
async fn app_tokens_of_different_apps_share_the_catalog() {
    let api = Api::new().await;
    let app_a = app_token(&api, "svc-a", "app-a");
    let app_b = app_token(&api, "svc-b", "app-b");
    let body = json!({"key": "iscPrivacy", "name": "Privacy", "type": "governance"});
    let r = api.post_as(BASE, &app_a, body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["app_id"], "app-a");
    assert_eq!(r.body["created_by"], "svc-a");

    let g = api.get_as(&at("iscPrivacy"), &app_b).await;
    assert_eq!(g.status, 200, "{}", g.text);
    assert_eq!(g.body, r.body);
    let p = api
        .patch_as(&at("iscPrivacy"), &app_b, json!({"multiselect": true}))
        .await;
    assert_eq!(p.status, 200, "{}", p.text);
    assert_eq!(p.body["multiselect"], true);
    assert_eq!(p.body["updated_by"], "svc-b");
    assert_eq!(p.body["app_id"], "app-a", "the creator's app stays");
    assert_eq!(p.body["revision"], 2);

    // A duplicate from another app is still a duplicate.
    let body = json!({"key": "iscPrivacy", "name": "Mine", "type": "custom"});
    let r = api.post_as(BASE, &app_b, body).await;
    assert_problem(&r, 409, "conflict");

    // Person and app tokens all list it (newest first).
    attribute(&api, "personMade", json!({})).await;
    for token in [&app_a, &app_b, &api.token()] {
        let l = api.get_as(BASE, token).await;
        assert_eq!(l.status, 200, "{}", l.text);
        assert_eq!(keys_of(&l), vec!["personMade", "iscPrivacy"]);
    }
}

#[tokio::test]
async fn patch_merges_replaces_values_and_clears_description() {
    let api = Api::new().await;
    let created = attribute(
        &api,
        "iscPrivacy",
        json!({"description": "How private", "values": [
            {"value": "public", "name": "Public"},
            {"value": "secret", "name": "Secret"}
        ]}),
    )
    .await;
    let edit = json!({"description": null, "values": [{"value": "internal", "name": "Internal", "status": "inactive"}],
                      "status": "inactive", "source_type": "frontend"});
    let p = api
        .expect_requests(READ_TRANSACT, api.patch(&at("iscPrivacy"), edit))
        .await;
    assert_eq!(p.status, 200, "{}", p.text);
    let b = &p.body;
    assert_eq!(b["description"], Value::Null);
    assert_eq!(
        b["values"],
        json!([{"value": "internal", "name": "Internal", "status": "inactive"}])
    );
    assert_eq!(b["status"], "inactive");
    assert_eq!(b["source_type"], "frontend");
    // Untouched fields and the envelope's fixed parts stay.
    for f in [
        "id",
        "key",
        "name",
        "type",
        "multiselect",
        "object_types",
        "created_at",
        "created_by",
        "source",
    ] {
        assert_eq!(b[f], created[f], "{f}");
    }
    assert_eq!(b["revision"], 2);
    assert_eq!(p.header("etag"), Some("\"2\""));
    assert!(b["updated_at"].as_str() >= created["updated_at"].as_str());
    assert_eq!(api.get(&at("iscPrivacy")).await.body, p.body);

    // merge-patch content type, values cleared with an empty list.
    let mut headers = HeaderMap::new();
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/merge-patch+json"),
    );
    let r = api
        .raw(
            "PATCH",
            &at("iscPrivacy"),
            &api.token(),
            headers,
            br#"{"values": [], "object_types": ["all"]}"#.to_vec(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["values"], json!([]));
    assert_eq!(r.body["object_types"], json!(["all"]));
    assert_eq!(r.body["revision"], 3);
}

#[tokio::test]
async fn patch_refuses_key_nulls_and_bad_values_without_writing() {
    let api = Api::new().await;
    let created = attribute(&api, "iscPrivacy", json!({})).await;
    let r = api
        .patch(&at("iscPrivacy"), json!({"key": "iscPrivacy"}))
        .await;
    assert_invalid(&r, &["key"]);
    let r = api.patch(&at("iscPrivacy"), json!({"key": "other"})).await;
    assert_eq!(bad_fields(&r), vec!["key"]);
    let r = api.patch(&at("iscPrivacy"), json!({"name": null})).await;
    assert_invalid(&r, &["name"]);
    let edit = json!({"type": null, "multiselect": null, "status": null, "object_types": null,
                   "values": null, "bogus": 1});
    let r = api.patch(&at("iscPrivacy"), edit).await;
    assert_eq!(
        bad_fields(&r),
        vec![
            "bogus",
            "multiselect",
            "object_types",
            "status",
            "type",
            "values"
        ]
    );
    let edit = with_values(&[("a", "A"), ("a", "B")]);
    let r = api.patch(&at("iscPrivacy"), edit).await;
    assert_eq!(bad_fields(&r), vec!["values[1].value"]);
    let r = api
        .raw(
            "PATCH",
            &at("iscPrivacy"),
            &api.token(),
            HeaderMap::new(),
            Vec::new(),
        )
        .await;
    assert_problem(&r, 400, "bad-request");
    assert_eq!(api.get(&at("iscPrivacy")).await.body, created);
    let r = api.patch(&at("missing"), json!({"name": "x"})).await;
    assert_problem(&r, 404, "not-found");
}

#[tokio::test]
async fn stale_if_match_is_412_and_changes_nothing() {
    let api = Api::new().await;
    attribute(&api, "iscPrivacy", json!({})).await;
    let token = api.token();
    let ok = patch_if_match(&api, &token, "iscPrivacy", "\"1\"", json!({"name": "Two"})).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.body["revision"], 2);
    let three = json!({"name": "Three"});
    let stale = patch_if_match(&api, &token, "iscPrivacy", "\"1\"", three.clone()).await;
    assert_problem(&stale, 412, "precondition-failed");
    let g = api.get(&at("iscPrivacy")).await;
    assert_eq!(g.body, ok.body);
    assert_eq!(g.header("etag"), Some("\"2\""));
    let ok = patch_if_match(&api, &token, "iscPrivacy", "W/\"2\"", three).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.body["name"], "Three");
}

#[tokio::test]
async fn concurrent_patches_without_if_match_all_land() {
    let api = Api::new().await;
    attribute(&api, "iscPrivacy", json!({})).await;
    let statuses = race(3, |i| {
        let api = api.clone();
        async move {
            let body = json!({"name": format!("n{i}")});
            api.patch(&at("iscPrivacy"), body).await.status
        }
    })
    .await;
    // Each writer re-reads after a lost race; with two rivals it loses at most twice.
    assert_eq!(statuses, [200; 3]);
    let g = api.get(&at("iscPrivacy")).await;
    assert_eq!(g.body["revision"], 4);
}

#[tokio::test]
async fn list_filters_by_type_status_and_q() {
    let api = Api::new().await;
    attribute(
        &api,
        "iscPrivacy",
        json!({"description": "Data SENSITIVITY"}),
    )
    .await;
    attribute(
        &api,
        "costCenter",
        json!({"type": "custom", "name": "Cost centre"}),
    )
    .await;
    attribute(&api, "legacyFlag", json!({"status": "inactive"})).await;
    attribute(
        &api,
        "region",
        json!({"type": "custom", "status": "inactive", "name": "Sensitive region"}),
    )
    .await;

    let all = api.get(BASE).await;
    assert_eq!(all.status, 200, "{}", all.text);
    assert_eq!(all.body["next_cursor"], Value::Null);
    // Newest first by creation, like every list (API.md §5), not by key.
    assert_eq!(
        keys_of(&all),
        vec!["region", "legacyFlag", "costCenter", "iscPrivacy"]
    );
    assert!(all.body["items"][0].get("search").is_none());
    for internal in ["GSI1PK", "GSI1SK", "PK", "SK"] {
        assert!(all.body["items"][0].get(internal).is_none(), "{internal}");
    }
    let cases = [
        ("type=governance", vec!["legacyFlag", "iscPrivacy"]),
        ("type=custom", vec!["region", "costCenter"]),
        ("status=inactive", vec!["region", "legacyFlag"]),
        ("type=custom&status=inactive", vec!["region"]),
        ("q=SENSITIV", vec!["region", "iscPrivacy"]),
        ("q=centre", vec!["costCenter"]),
        ("q=ISCPRIV", vec!["iscPrivacy"]),
        ("q=sensitiv&status=active", vec!["iscPrivacy"]),
        ("q=nothing", vec![]),
    ];
    for (query, want) in cases {
        let r = api.get(&format!("{BASE}?{query}")).await;
        assert_eq!(r.status, 200, "{query}: {}", r.text);
        assert_eq!(keys_of(&r), want, "{query}");
    }
    let cases = [
        ("type=other", "type"),
        ("status=deleted", "status"),
        ("include_deleted=yes", "include_deleted"),
        ("app_id=x", "app_id"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
    ];
    assert_bad_queries(&api, BASE, &cases).await;
    // Another tenant's catalog is empty.
    let other = Api::new().await;
    assert_eq!(keys_of(&other.get(BASE).await), Vec::<String>::new());
}

#[tokio::test]
async fn cursor_walk_returns_each_once_and_tampering_is_400() {
    let api = Api::new().await;
    for key in ["e1", "a1", "d1", "b1", "c1"] {
        attribute(&api, key, json!({})).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let uri = match &cursor {
            Some(c) => format!("{BASE}?limit=2&cursor={c}"),
            None => format!("{BASE}?limit=2"),
        };
        let r = api.get(&uri).await;
        assert_eq!(r.status, 200, "{}", r.text);
        pages += 1;
        let got = keys_of(&r);
        assert!(got.len() <= 2);
        seen.extend(got);
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
        assert!(pages < 10, "the walk does not end");
    }
    // Creation order, newest first, whatever the keys' order.
    assert_eq!(seen, vec!["c1", "b1", "d1", "a1", "e1"]);
    assert_eq!(pages, 3);

    let first = api.get(&format!("{BASE}?limit=2")).await;
    let c = first.body["next_cursor"].as_str().unwrap().to_string();
    // Tampered with.
    let mut tampered = c.clone().into_bytes();
    let i = tampered.len() / 3;
    tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for bad in [tampered.as_str(), "garbage", "a.b"] {
        let r = api.get(&format!("{BASE}?limit=2&cursor={bad}")).await;
        assert_invalid(&r, &["cursor"]);
    }
    // Bound to the filter, the caller (tenant, app) and the collection.
    let app = app_token(&api, "svc", "app-a");
    let other = Api::new().await;
    for (caller, token, uri) in [
        (
            &api,
            api.token(),
            format!("{BASE}?limit=2&type=custom&cursor={c}"),
        ),
        (&api, app, format!("{BASE}?limit=2&cursor={c}")),
        (&other, other.token(), format!("{BASE}?limit=2&cursor={c}")),
        (
            &api,
            api.token(),
            format!("/api/v1/technology?limit=2&cursor={c}"),
        ),
    ] {
        let r = caller.get_as(&uri, &token).await;
        assert_eq!(bad_fields(&r), vec!["cursor"], "{uri}");
    }
}

#[tokio::test]
async fn scopes_are_metadata_read_and_write() {
    let api = Api::new().await;
    attribute(&api, "iscPrivacy", json!({})).await;
    let read = api.token_with(&["metadata:read"]);
    let write = api.token_with(&["metadata:write"]);
    let entitlements = api.token_with(&[
        "entitlements:read",
        "entitlements:write",
        "technology:read",
        "technology:write",
    ]);
    let body = || Some(json!({"key": "newOne", "name": "n", "type": "custom"}));
    let patch = || Some(json!({"name": "renamed"}));

    assert_eq!(api.get_as(BASE, &read).await.status, 200);
    assert_eq!(api.get_as(&at("iscPrivacy"), &read).await.status, 200);
    assert_problem(
        &api.call("POST", BASE, &read, body()).await,
        403,
        "forbidden",
    );
    assert_problem(
        &api.call("PATCH", &at("iscPrivacy"), &read, patch()).await,
        403,
        "forbidden",
    );

    // A write scope does not imply read.
    assert_problem(&api.get_as(BASE, &write).await, 403, "forbidden");
    assert_problem(
        &api.get_as(&at("iscPrivacy"), &write).await,
        403,
        "forbidden",
    );
    assert_eq!(api.call("POST", BASE, &write, body()).await.status, 201);
    assert_eq!(
        api.call("PATCH", &at("iscPrivacy"), &write, patch())
            .await
            .status,
        200
    );

    for (method, uri, b) in [
        ("GET", BASE.to_string(), None),
        ("GET", at("iscPrivacy"), None),
        ("POST", BASE.to_string(), body()),
        ("PATCH", at("iscPrivacy"), patch()),
    ] {
        let r = api.call(method, &uri, &entitlements, b).await;
        assert_problem(&r, 403, "forbidden");
    }
    // No token at all.
    assert_problem(&api.get_as(BASE, "").await, 401, "unauthorized");
}

#[tokio::test]
async fn get_many_joins_current_definitions_in_one_batch() {
    let api = Api::new().await;
    attribute(&api, "iscPrivacy", with_values(&[("public", "Public")])).await;
    attribute(&api, "costCenter", json!({"type": "custom"})).await;
    let other = Api::new().await;
    attribute(&other, "otherTenant", json!({})).await;
    let state = &api.state;
    let keys: Vec<String> = [
        "iscPrivacy",
        "costCenter",
        "iscPrivacy",
        "missing",
        "otherTenant",
        "bad-key",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    api.counter.reset();
    let found = shared::store::attributes::get_many(state, &api.tenant, &keys)
        .await
        .unwrap();
    assert_eq!(api.counter.snapshot(), counts(&[("BatchGetItem", 1)]));
    let got: BTreeSet<&str> = found.keys().map(String::as_str).collect();
    assert_eq!(got, BTreeSet::from(["costCenter", "iscPrivacy"]));
    let privacy = &found["iscPrivacy"];
    assert_eq!(privacy.fields.name, "Name of iscPrivacy");
    assert!(privacy.value("public").is_some_and(|v| v.is_active()));
    assert!(privacy.value("secret").is_none());

    api.counter.reset();
    assert!(shared::store::attributes::get_many(state, &api.tenant, &[])
        .await
        .unwrap()
        .is_empty());
    assert_eq!(api.counter.total(), 0);

    // More than one batch's worth of keys.
    let many: Vec<String> = (0..150).map(|i| format!("k{i}")).collect();
    api.counter.reset();
    let found = shared::store::attributes::get_many(state, &api.tenant, &many)
        .await
        .unwrap();
    assert!(found.is_empty());
    assert_eq!(api.counter.snapshot(), counts(&[("BatchGetItem", 2)]));

    let one = shared::store::attributes::get(state, &api.tenant, "costCenter")
        .await
        .unwrap()
        .expect("found");
    assert_eq!(one.fields.attribute_type, "custom");
    assert!(
        shared::store::attributes::get(state, &api.tenant, "otherTenant")
            .await
            .unwrap()
            .is_none()
    );
}

/// The `cargo lambda invoke` events in events/ go through the production conversion path and
/// the real handlers (in their own tenant, `dev-tenant`, of this test binary's table). The
/// others name the attribute `local-api seed-events` creates: local-api's seed test runs them all.
#[tokio::test]
async fn sample_events_work() {
    let api = Api::new().await;
    for (name, status) in [("create", 201), ("list", 200)] {
        let path = format!(
            "{}/events/metadata-attributes-{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let req = lambda_http::request::from_str(&text).unwrap();
        let route =
            functions::routes::by_function(&format!("metadata-attributes-{name}")).expect("route");
        let resp = (route.handler)(&api.state, req).await;
        let body = match resp.body() {
            lambda_http::Body::Text(t) => t.clone(),
            _ => String::new(),
        };
        assert_eq!(resp.status().as_u16(), status, "{name}: {body}");
    }
}

/// API.md §2: `include_deleted` is accepted on every list and get, also where nothing is ever
/// deleted (it changes nothing), and `true` needs the write scope.
#[tokio::test]
async fn include_deleted_changes_nothing_and_needs_metadata_write() {
    let api = Api::new().await;
    attribute(&api, "first", json!({})).await;
    attribute(&api, "second", json!({})).await;
    let list = api.get(BASE).await;
    assert_eq!(keys_of(&list), vec!["second", "first"]);
    let got = api.get(&at("first")).await;
    assert_eq!(got.status, 200, "{}", got.text);
    for flag in ["true", "false"] {
        let l = api.get(&format!("{BASE}?include_deleted={flag}")).await;
        assert_eq!(l.status, 200, "{}", l.text);
        assert_eq!(l.body["items"], list.body["items"]);
        assert_eq!(l.body["next_cursor"], Value::Null);
        let g = api
            .get(&format!("{}?include_deleted={flag}", at("first")))
            .await;
        assert_eq!(g.status, 200, "{}", g.text);
        assert_eq!(g.body, got.body);
        assert_eq!(g.header("etag"), Some("\"1\""));
    }
    assert_include_deleted_needs_write(
        &api,
        "metadata",
        [
            format!("{BASE}?include_deleted=true"),
            format!("{}?include_deleted=true", at("first")),
        ],
    )
    .await;
}
