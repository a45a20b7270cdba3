//! The key's rules: its syntax, its scope, the fingerprint (422 for another request), which
//! answers are kept and which are not, 24 hours, and the routes that ignore it.

use super::*;
use shared::domain::idempotency::{Kept, KEPT_FOR_SECS};
use shared::store::{n, s};
use shared::time::Timestamp;

#[tokio::test]
async fn another_body_path_method_or_if_match_under_one_key_is_422_and_changes_nothing() {
    let api = Api::new().await;
    let key = fresh_key();
    let first = keyed_call(&api, "POST", ASSETS, &key, Some(json!({"name": "a1"}))).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let id = id_of(&first.body);
    let uri = format!("{ASSETS}/{id}");
    let other_body = keyed_call(&api, "POST", ASSETS, &key, Some(json!({"name": "a2"}))).await;
    assert_problem(&other_body, 422, "idempotency-key-reused");
    let other_method = keyed_call(&api, "DELETE", &uri, &key, None).await;
    assert_problem(&other_method, 422, "idempotency-key-reused");
    let other_path = keyed_call(&api, "PATCH", &uri, &key, Some(json!({"name": "a1"}))).await;
    assert_problem(&other_path, 422, "idempotency-key-reused");
    // The same PATCH with and without If-Match are two requests.
    let patch_key = fresh_key();
    let body = Some(json!({"description": "d"}));
    let unconditional = keyed_call(&api, "PATCH", &uri, &patch_key, body.clone()).await;
    assert_eq!(unconditional.status, 200, "{}", unconditional.text);
    let conditional = api
        .call_with(
            "PATCH",
            &uri,
            &api.token(),
            keyed(&patch_key, Some("\"2\"")),
            body,
        )
        .await;
    assert_problem(&conditional, 422, "idempotency-key-reused");
    // Nothing else was written: one asset, at the revision of the one PATCH, named a1.
    assert_eq!(list_ids(&api, ASSETS).await, vec![id]);
    let now = api.get(&uri).await;
    assert_eq!(
        (now.body["name"].as_str(), now.body["revision"].as_i64()),
        (Some("a1"), Some(2))
    );
    assert_eq!(history(&api, &uri).await.len(), 2);
}

#[tokio::test]
async fn a_key_is_scoped_to_tenant_app_and_caller() {
    let api = Api::new().await;
    let key = fresh_key();
    let scopes = all_scopes();
    let other_tenant = api.other_tenant();
    let callers = [
        (&api, api.token()),
        (&api, api.token_for("user-2", None, &scopes)),
        (&api, api.token_for("user-1", Some("app-1"), &scopes)),
        (&other_tenant, other_tenant.token()),
    ];
    let mut ids = Vec::new();
    for (i, (api, token)) in callers.iter().enumerate() {
        let body = json!({"name": format!("svc-{i}")});
        let r = send_keyed(api, token, "POST", ASSETS, &key, Some(body)).await;
        assert_eq!(r.status, 201, "caller {i}: {}", r.text);
        assert_eq!(r.header("idempotent-replayed"), None, "caller {i}");
        ids.push(id_of(&r.body));
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4, "each caller's key is its own");
}

#[tokio::test]
async fn a_malformed_key_is_a_400_naming_it_and_changes_nothing() {
    let api = Api::new().await;
    let too_long = "k".repeat(256);
    let bad: [&[u8]; 5] = [
        b"",
        b"two words",
        b"tab\there",
        b"caf\xc3\xa9",
        too_long.as_bytes(),
    ];
    let assert_key_refused = |headers: HeaderMap| async {
        let body = Some(json!({"name": "x"}));
        let r = api
            .call_with("POST", ASSETS, &api.token(), headers, body)
            .await;
        assert_invalid(&r, &["Idempotency-Key"]);
    };
    for key in bad {
        let mut headers = HeaderMap::new();
        headers.insert("idempotency-key", HeaderValue::from_bytes(key).unwrap());
        assert_key_refused(headers).await;
    }
    let mut twice = keyed("k1", None);
    twice.append("idempotency-key", HeaderValue::from_static("k2"));
    assert_key_refused(twice).await;
    assert!(list_ids(&api, ASSETS).await.is_empty());
    // The longest key is a key.
    let longest = "k".repeat(255);
    let r = keyed_call(&api, "POST", ASSETS, &longest, Some(json!({"name": "x"}))).await;
    assert_eq!(r.status, 201, "{}", r.text);
}

#[tokio::test]
async fn kept_4xx_answers_replay_even_once_the_request_would_succeed() {
    let api = Api::new().await;
    // 409: the name is taken; a retry after the name was freed still gets the 409.
    let taken = asset_named(&api, "dup").await;
    let key = fresh_key();
    let body = Some(json!({"name": "dup"}));
    let first = keyed_call(&api, "POST", ASSETS, &key, body.clone()).await;
    assert_problem(&first, 409, "conflict");
    assert_eq!(api.delete(&format!("{ASSETS}/{taken}")).await.status, 204);
    let replay = keyed_call(&api, "POST", ASSETS, &key, body).await;
    assert_replayed(&first, &replay);
    // 400 validation, 404 and 412 are kept too.
    let uri = asset_uri(&api, "kept").await;
    let absent = format!("{ASSETS}/{}", missing("ast"));
    for (method, target, if_match, body, status) in [
        ("POST", ASSETS, None, json!({"name": ""}), 400),
        (
            "PATCH",
            absent.as_str(),
            None,
            json!({"description": "d"}),
            404,
        ),
        (
            "PATCH",
            uri.as_str(),
            Some("\"9\""),
            json!({"description": "d"}),
            412,
        ),
    ] {
        let key = fresh_key();
        let headers = keyed(&key, if_match);
        let first = api
            .call_with(
                method,
                target,
                &api.token(),
                headers.clone(),
                Some(body.clone()),
            )
            .await;
        assert_eq!(first.status, status, "{}", first.text);
        let replay = api
            .call_with(method, target, &api.token(), headers, Some(body))
            .await;
        assert_replayed(&first, &replay);
    }
    assert_eq!(api.get(&uri).await.body["revision"], 1);
}

#[tokio::test]
async fn a_no_op_answer_is_kept_on_its_own() {
    let api = Api::new().await;
    let uri = asset_uri(&api, "same").await;
    let key = fresh_key();
    let rename_to_same = || keyed_call(&api, "PATCH", &uri, &key, Some(json!({"name": "same"})));
    let first = api
        .expect_answer(200, &[("GetItem", 1), ("PutItem", 1)], rename_to_same())
        .await;
    assert_eq!(first.body["revision"], 1);
    let item = key_item(&api, &key).await.expect("the no-op's key is kept");
    let kept: Kept = shared::store::idempotency::inflated(&item).unwrap();
    assert_eq!(
        (kept.status, kept.body.as_str()),
        (200, first.text.as_str())
    );
    // A change made since does not change the kept answer.
    assert_eq!(
        api.patch(&uri, json!({"description": "new"})).await.status,
        200
    );
    let replay = rename_to_same().await;
    assert_replayed(&first, &replay);
    assert_eq!(replay.body["revision"], 1);
}

#[tokio::test]
async fn answers_that_are_not_kept_leave_the_key_free() {
    let api = Api::new().await;
    let key = fresh_key();
    async fn post_keyed(api: &Api, key: &str, content_type: &'static str, body: &[u8]) -> Response {
        let mut headers = keyed(key, None);
        headers.insert("content-type", HeaderValue::from_static(content_type));
        api.raw("POST", ASSETS, &api.token(), headers, body.to_vec())
            .await
    }
    // Unparsable JSON (400), another media type (415), a token without the scope (403).
    let r = post_keyed(&api, &key, "application/json", b"{\"name\":").await;
    assert_problem(&r, 400, "bad-request");
    let r = post_keyed(&api, &key, "text/plain", b"{\"name\":\"n\"}").await;
    assert_problem(&r, 415, "unsupported-media-type");
    let reader = api.token_with(&["technology:read"]);
    let r = send_keyed(
        &api,
        &reader,
        "POST",
        ASSETS,
        &key,
        Some(json!({"name": "n"})),
    )
    .await;
    assert_problem(&r, 403, "forbidden");
    assert!(key_item(&api, &key).await.is_none());
    // So the key's first kept answer is the one that finally gets through.
    let r = keyed_call(&api, "POST", ASSETS, &key, Some(json!({"name": "n"}))).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.header("idempotent-replayed"), None);
}

#[tokio::test]
async fn the_key_item_keeps_the_answer_for_24_hours() {
    let api = Api::new().await;
    let key = fresh_key();
    let before = Timestamp::now().unix_millis() / 1000;
    let first = keyed_call(&api, "POST", ASSETS, &key, Some(json!({"name": "ttl"}))).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let item = key_item(&api, &key).await.expect("key item");
    let purge_at: i64 = item["purge_at"].as_n().unwrap().parse().unwrap();
    let after = Timestamp::now().unix_millis() / 1000;
    assert!(
        (before + KEPT_FOR_SECS..=after + KEPT_FOR_SECS).contains(&purge_at),
        "{purge_at}"
    );
    assert_eq!(item["idempotency_key"].as_s().unwrap(), &key);
    assert_eq!(item["sub"].as_s().unwrap(), "user-1");
    let kept: Kept = shared::store::idempotency::inflated(&item).unwrap();
    assert_eq!(kept.status, 201);
    assert_eq!(kept.body, first.text);
    assert_eq!(kept.location.as_deref(), first.header("location"));
    assert_eq!(kept.etag.as_deref(), first.header("etag"));
    assert_eq!(Some(kept.request_id.as_str()), first.header("x-request-id"));
}

#[tokio::test]
async fn a_key_older_than_24_hours_counts_as_new() {
    let api = Api::new().await;
    let key = fresh_key();
    // A key kept 25 hours ago that TTL has not deleted yet, for another request.
    let old = Timestamp::now().plus_seconds(-25 * 3600);
    let kept = Kept {
        status: 201,
        content_type: Some("application/json".into()),
        location: Some(format!("{ASSETS}/ast_gone")),
        etag: Some("\"1\"".into()),
        body: "{}".into(),
        request_id: "old-request".into(),
    };
    let pk = shared::keys::idempotency_pk(&api.tenant, None, "user-1", &key);
    api.put_raw(
        [
            ("PK", s(&pk)),
            ("SK", s(shared::keys::IDEMPOTENCY_SK)),
            ("fingerprint", s("another request")),
            ("kept", shared::store::idempotency::deflated(&kept).unwrap()),
            ("kept_at", s(old.as_string())),
            ("purge_at", n(old.unix_millis() / 1000 + KEPT_FOR_SECS)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
    )
    .await;
    let r = keyed_call(&api, "POST", ASSETS, &key, Some(json!({"name": "fresh"}))).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.header("idempotent-replayed"), None);
    let item = key_item(&api, &key).await.unwrap();
    let kept: Kept = shared::store::idempotency::inflated(&item).unwrap();
    assert_eq!(kept.body, r.text, "the new answer replaced the expired one");
    let replay = keyed_call(&api, "POST", ASSETS, &key, Some(json!({"name": "fresh"}))).await;
    assert_replayed(&r, &replay);
}

#[tokio::test]
async fn reads_and_access_decisions_ignore_the_header() {
    let api = Api::new().await;
    let id = asset_named(&api, "pdp").await;
    let mut bad = HeaderMap::new();
    bad.insert("idempotency-key", HeaderValue::from_static(""));
    let r = api
        .call_with(
            "GET",
            &format!("{ASSETS}/{id}"),
            &api.token(),
            bad.clone(),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let evaluation = json!({
        "subject": {"type": "person", "id": "p1"},
        "action": {"name": "read"},
        "resource": {"type": "technology_asset", "id": id},
    });
    for _ in 0..2 {
        let r = api
            .call_with(
                "POST",
                "/api/v1/access/evaluation",
                &api.token(),
                keyed("same", None),
                Some(evaluation.clone()),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.header("idempotent-replayed"), None);
    }
    let r = api
        .call_with(
            "POST",
            "/api/v1/access/evaluation",
            &api.token(),
            bad,
            Some(evaluation),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(key_item(&api, "same").await.is_none());
}
