//! Issue 9, "inputs can never break the product": timestamps outside what the product can store
//! and read back, and numbers a double cannot hold, are 400s naming the field and store nothing;
//! every accepted number comes back as the same number — end to end, against DynamoDB Local.

mod common;

use common::*;
use http::{HeaderMap, HeaderValue};
use serde_json::{json, Value};
use shared::time::TimestampError;

const ENT: &str = "/api/v1/entitlements";

/// The two values of the issue: year 0000 pushed into year -1, and 9999 pushed into 10000.
const OUT_OF_RANGE: [&str; 2] = ["0000-01-01T00:00:00+00:01", "9999-12-31T23:59:59-01:00"];

/// Sends `body` byte for byte: numbers reach the server exactly as written.
async fn send_text(api: &Api, method: &str, uri: &str, body: &str) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    api.raw(method, uri, &api.token(), headers, body.as_bytes().to_vec())
        .await
}

/// A 400 naming exactly `field`, with `message`.
fn assert_names(r: &Response, field: &str, message: &str) {
    assert_problem(r, 400, "validation-error");
    assert_eq!(bad_fields(r), vec![field.to_string()], "{}", r.text);
    assert_eq!(r.body["errors"][0]["message"], message, "{}", r.text);
}

/// Creates `body` in `collection`, then PATCHes `expires_at` to each end of `OUT_OF_RANGE`: each is
/// a 400 naming it, and the record stays at revision 1 without an expiry.
async fn out_of_range_patches_change_nothing(api: &Api, collection: &str, body: Value) {
    let created = api.post(collection, body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let uri = format!("{collection}/{}", id_of(&created.body));
    let out_of_range = TimestampError::OutOfRange.to_string();
    for value in OUT_OF_RANGE {
        let r = api.patch(&uri, json!({"expires_at": value})).await;
        assert_names(&r, "expires_at", &out_of_range);
    }
    let now = api.get(&uri).await;
    assert_eq!(now.status, 200, "{}", now.text);
    assert_eq!(now.body["revision"], 1, "{}", now.text);
    assert_eq!(now.body["expires_at"], Value::Null);
}

async fn list_ids(api: &Api, uri: &str) -> Vec<String> {
    listed_ids(&api.get(uri).await)
}

fn grant(asset_id: &str) -> Value {
    json!({"asset_id": asset_id, "principal_id": "alice", "principal_type": "person",
           "entitlement_type": "admin"})
}

#[tokio::test]
async fn entitlement_timestamps_out_of_range_are_400_and_store_nothing() {
    let api = Api::new().await;
    let asset = id_of(&api.asset(json!({"name": "crm"})).await);
    let out_of_range = TimestampError::OutOfRange.to_string();
    for field in ["granted_at", "expires_at"] {
        for value in OUT_OF_RANGE {
            let mut body = grant(&asset);
            body[field] = json!(value);
            let r = api.post(ENT, body).await;
            assert_names(&r, field, &out_of_range);
        }
    }
    assert!(list_ids(&api, ENT).await.is_empty());
    assert_eq!(live_count(&api, &asset).await, 0);

    // A PATCH is held to the same range and changes nothing.
    out_of_range_patches_change_nothing(&api, ENT, grant(&asset)).await;
}

#[tokio::test]
async fn the_range_ends_are_stored_and_read_back() {
    let api = Api::new().await;
    let asset = id_of(&api.asset(json!({"name": "erp"})).await);
    let mut body = grant(&asset);
    body["granted_at"] = json!("0001-01-01T00:59:00+00:59");
    body["expires_at"] = json!("9999-12-31T22:59:59.9999-01:00");
    let r = api.post(ENT, body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["granted_at"], "0001-01-01T00:00:00.000Z");
    assert_eq!(r.body["expires_at"], "9999-12-31T23:59:59.999Z");
    let id = id_of(&r.body);
    let got = api.get(&format!("{ENT}/{id}")).await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.body, r.body);
    assert_eq!(list_ids(&api, ENT).await, vec![id.clone()]);
    let revoked = api.post(&format!("{ENT}/{id}/revoke"), json!({})).await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    assert_eq!(revoked.body["status"], "revoked");
}

#[tokio::test]
async fn expires_before_out_of_range_is_400() {
    let api = Api::new().await;
    let out_of_range = TimestampError::OutOfRange.to_string();
    for value in OUT_OF_RANGE {
        let r = api
            .get(&format!("{ENT}?expires_before={}", enc(value)))
            .await;
        assert_names(&r, "expires_before", &out_of_range);
    }
    let r = api
        .get(&format!(
            "{ENT}?expires_before={}",
            enc("9999-12-31T23:59:59Z")
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn access_request_expires_at_out_of_range_is_400_and_stores_nothing() {
    let api = Api::new().await;
    api.asset(json!({"name": "wiki"})).await;
    let out_of_range = TimestampError::OutOfRange.to_string();
    let request = json!({"system_id": "wiki", "access_type": "new", "justification": "docs",
                         "entitlement_type": "editor"});
    for value in OUT_OF_RANGE {
        let mut body = request.clone();
        body["expires_at"] = json!(value);
        let r = api.post(ARQ, body).await;
        assert_names(&r, "expires_at", &out_of_range);
    }
    assert!(list_ids(&api, ARQ).await.is_empty());

    out_of_range_patches_change_nothing(&api, ARQ, request).await;
}

/// The attributes as the client writes them, and each member as every response must write it
/// back: the same numbers (integral values as integers, the form DynamoDB returns them in).
/// DynamoDB keeps no member order, so members are compared one by one.
const ATTRIBUTES_IN: &str = r#"{"max": 9007199254740992, "min": -9007199254740992, "tenth": 0.1,
    "sum": 0.30000000000000004, "small": 1.5e-100, "large": 1.25e15, "one": 1.0, "exp": 1e2,
    "zero": 0, "neg": -2.5, "list": [1, 2.5, {"deep": 123456789.125}], "s": "x", "b": true}"#;
const ATTRIBUTES_OUT: &[&str] = &[
    r#""max":9007199254740992"#,
    r#""min":-9007199254740992"#,
    r#""tenth":0.1"#,
    r#""sum":0.30000000000000004"#,
    r#""small":1.5e-100"#,
    r#""large":1250000000000000"#,
    r#""one":1"#,
    r#""exp":100"#,
    r#""zero":0"#,
    r#""neg":-2.5"#,
    r#""list":[1,2.5,{"deep":123456789.125}]"#,
    r#""s":"x""#,
    r#""b":true"#,
];

/// The response's `attributes` member, as text, holds exactly `members`.
fn assert_attributes_text(r: &Response, members: &[&str]) {
    assert_eq!(r.status / 100, 2, "{}", r.text);
    let attributes = r.body["attributes"].as_object().expect("attributes");
    assert_eq!(attributes.len(), members.len(), "{}", r.text);
    for member in members {
        let next = r.text.find(member).map(|i| &r.text[i + member.len()..]);
        assert!(
            matches!(next.and_then(|rest| rest.chars().next()), Some(',' | '}')),
            "{member} in {}",
            r.text
        );
    }
}

#[tokio::test]
async fn attribute_numbers_come_back_as_the_same_numbers() {
    let api = Api::new().await;
    let asset = id_of(&api.asset(json!({"name": "billing"})).await);
    let body = format!(
        r#"{{"asset_id": "{asset}", "principal_id": "bob", "principal_type": "person",
            "entitlement_type": "viewer", "attributes": {ATTRIBUTES_IN}}}"#
    );
    let created = send_text(&api, "POST", ENT, &body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_attributes_text(&created, ATTRIBUTES_OUT);
    let id = id_of(&created.body);
    let got = api.get(&format!("{ENT}/{id}")).await;
    assert_attributes_text(&got, ATTRIBUTES_OUT);
    assert_eq!(got.body, created.body);
    let page = api.get(ENT).await;
    assert_eq!(page.body["items"][0], created.body, "{}", page.text);
    assert!(
        ATTRIBUTES_OUT.iter().all(|m| page.text.contains(m)),
        "{}",
        page.text
    );

    // A PATCH that replaces them goes through the same rule.
    let patched = send_text(
        &api,
        "PATCH",
        &format!("{ENT}/{id}"),
        r#"{"attributes": {"n": -0.5, "m": 4.0}}"#,
    )
    .await;
    assert_attributes_text(&patched, &[r#""n":-0.5"#, r#""m":4"#]);
    let again = api.get(&format!("{ENT}/{id}")).await;
    assert_attributes_text(&again, &[r#""n":-0.5"#, r#""m":4"#]);
    assert_eq!(again.body, patched.body);
}

#[tokio::test]
async fn attribute_numbers_a_double_cannot_hold_are_400_naming_them() {
    let api = Api::new().await;
    let asset = id_of(&api.asset(json!({"name": "payroll"})).await);
    let cases = [
        (r#"{"big": 18446744073709551615}"#, "attributes.big"),
        (r#"{"big": 9007199254740993}"#, "attributes.big"),
        (r#"{"neg": -9007199254740993}"#, "attributes.neg"),
        (r#"{"f": 1e300}"#, "attributes.f"),
        (r#"{"zero": -0.0}"#, "attributes.zero"),
        (r#"{"zero": -0}"#, "attributes.zero"),
        (r#"{"tiny": 1e-200}"#, "attributes.tiny"),
        (
            r#"{"ok": 1, "nested": {"list": [0, {"n": 123456789012345678901234567890}]}}"#,
            "attributes.nested.list[1].n",
        ),
    ];
    for (attributes, field) in cases {
        let body = format!(
            r#"{{"asset_id": "{asset}", "principal_id": "carol", "principal_type": "person",
                "entitlement_type": "viewer", "attributes": {attributes}}}"#
        );
        let r = send_text(&api, "POST", ENT, &body).await;
        assert_invalid_for(&r, &[field], attributes);
    }
    assert!(list_ids(&api, ENT).await.is_empty());
    assert_eq!(live_count(&api, &asset).await, 0);

    let created = api.post(ENT, grant(&asset)).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = id_of(&created.body);
    let r = send_text(
        &api,
        "PATCH",
        &format!("{ENT}/{id}"),
        r#"{"attributes": {"big": 18446744073709551615}}"#,
    )
    .await;
    assert_invalid(&r, &["attributes.big"]);
    let now = api.get(&format!("{ENT}/{id}")).await;
    assert_eq!(now.body["revision"], 1, "{}", now.text);
    assert_eq!(now.body["attributes"], Value::Null);
}
