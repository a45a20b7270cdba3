//! Technology assets: scopes, tenancy, app isolation, malformed and over-long ids.

use super::*;

// ------------------------------------------------------------------------------------------
// Scopes
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn reads_need_technology_read_and_writes_need_technology_write() {
    let api = Api::new().await;
    let (asset, id) = api.named_asset("scoped").await;
    let read = api.token_with(&["technology:read"]);
    let write = api.token_with(&["technology:write"]);

    // A write scope does not imply read.
    for uri in [BASE.to_string(), url(&id)] {
        let r = api.get_as(&uri, &write).await;
        assert_problem(&r, 403, "forbidden");
        assert!(r.body["detail"]
            .as_str()
            .unwrap()
            .contains("technology:read"));
        assert_eq!(api.get_as(&uri, &read).await.status, 200);
    }

    // Read alone writes nothing.
    let r = api.post_as(BASE, &read, json!({"name": "by-reader"})).await;
    assert_problem(&r, 403, "forbidden");
    assert!(r.body["detail"]
        .as_str()
        .unwrap()
        .contains("technology:write"));
    let r = api.patch_as(&url(&id), &read, json!({"vendor": "x"})).await;
    assert_problem(&r, 403, "forbidden");
    let r = api.delete_as(&url(&id), &read).await;
    assert_problem(&r, 403, "forbidden");
    assert_asset_unchanged(&api, &asset).await;
    let list = api.get_as(BASE, &read).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);

    // Write alone is enough for writes.
    for (method, uri, body, status) in [
        (
            "POST",
            BASE.to_string(),
            Some(json!({"name": "by-writer"})),
            201,
        ),
        ("PATCH", url(&id), Some(json!({"vendor": "x"})), 200),
        ("DELETE", url(&id), None, 204),
    ] {
        let r = api.call(method, &uri, &write, body).await;
        assert_eq!(r.status, status, "{method} {uri}: {}", r.text);
    }
}

#[tokio::test]
async fn scopes_match_exactly() {
    let api = Api::new().await;
    let (asset, id) = api.named_asset("exact").await;
    for scopes in [
        vec![],
        vec!["technology"],
        vec!["technology:*"],
        vec!["Technology:Read"],
        vec!["technology:read:all"],
        vec!["technology:readwrite"],
        vec!["entitlements:read", "entitlements:write"],
    ] {
        let token = api.token_with(&scopes);
        assert_problem(&api.get_as(&url(&id), &token).await, 403, "forbidden");
        assert_problem(&api.get_as(BASE, &token).await, 403, "forbidden");
        let r = api
            .patch_as(&url(&id), &token, json!({"vendor": "v"}))
            .await;
        assert_problem(&r, 403, "forbidden");
        assert_problem(&api.delete_as(&url(&id), &token).await, 403, "forbidden");
        let r = api.post_as(BASE, &token, json!({"name": "nope"})).await;
        assert_problem(&r, 403, "forbidden");
    }
    assert_asset_unchanged(&api, &asset).await;
}

#[tokio::test]
async fn include_deleted_needs_the_write_scope() {
    let api = Api::new().await;
    let (_, id) = api.named_asset("gone-soon").await;
    assert_eq!(api.delete(&url(&id)).await.status, 204);
    let read = api.token_with(&["technology:read"]);
    let both = api.token_with(&["technology:read", "technology:write"]);

    let (one, all) = (url(&id), BASE.to_string());
    for uri in [&one, &all] {
        let r = api
            .get_as(&format!("{uri}?include_deleted=true"), &read)
            .await;
        assert_problem(&r, 403, "forbidden");
    }

    // false is the default and needs nothing more.
    let r = api
        .get_as(&format!("{one}?include_deleted=false"), &read)
        .await;
    assert_problem(&r, 404, "not-found");
    let r = api
        .get_as(&format!("{all}?include_deleted=false"), &read)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["items"], json!([]));

    let r = api
        .get_as(&format!("{one}?include_deleted=true"), &both)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["is_deleted"], true);
    let r = api
        .get_as(&format!("{all}?include_deleted=true"), &both)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);

    // Not a boolean.
    let r = api
        .get_as(&format!("{}?include_deleted=yes", url(&id)), &both)
        .await;
    assert_invalid(&r, &["include_deleted"]);
    let r = api.get_as(&format!("{}?bogus=1", url(&id)), &both).await;
    assert_invalid(&r, &["bogus"]);
}

// ------------------------------------------------------------------------------------------
// Tenancy, apps, ids
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn another_tenants_asset_is_404_exactly_like_a_missing_one() {
    let api = Api::new().await;
    let (asset, id) = api.named_asset("private").await;
    let stranger = api.token_in("tenant-other", "user-1", None, &common::all_scopes());
    let missing = missing_id();

    let cases = [
        ("GET", None),
        ("PATCH", Some(json!({"vendor": "pwned"}))),
        ("DELETE", None),
    ];
    for (method, body) in cases {
        let theirs = api.call(method, &url(&id), &stranger, body.clone()).await;
        assert_problem(&theirs, 404, "not-found");
        let nothing = api.call(method, &url(&missing), &api.token(), body).await;
        assert_problem(&nothing, 404, "not-found");
        assert_eq!(shape(&theirs), shape(&nothing), "{method}");
        let keys = member_names(&theirs.body);
        assert_eq!(
            keys,
            BTreeSet::from(["type", "title", "status", "detail", "request_id"])
        );
        assert!(!theirs.text.contains(&id));
        assert!(!theirs.text.contains(&api.tenant));
    }
    let theirs = api
        .get_as(&format!("{}?include_deleted=true", url(&id)), &stranger)
        .await;
    assert_problem(&theirs, 404, "not-found");
    assert_asset_unchanged(&api, &asset).await;
    let list = api.get_as(BASE, &stranger).await;
    assert_eq!(list.body["items"], json!([]));

    // A deleted asset looks the same too.
    assert_eq!(api.delete(&url(&id)).await.status, 204);
    let deleted = api.get(&url(&id)).await;
    let nothing = api.get(&url(&missing)).await;
    assert_eq!(shape(&deleted), shape(&nothing));
    assert_problem(
        &api.patch(&url(&id), json!({"vendor": "x"})).await,
        404,
        "not-found",
    );
    assert_problem(&api.delete(&url(&id)).await, 404, "not-found");
}

#[tokio::test]
async fn app_tokens_see_only_their_apps_assets() {
    let api = Api::new().await;
    let scopes = common::all_scopes();
    let app_a = api.token_for("svc-a", Some("app-a"), &scopes);
    let app_b = api.token_for("svc-b", Some("app-b"), &scopes);
    let person = api.token();

    let r = api
        .post_as(BASE, &app_a, json!({"name": "from-app-a"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["app_id"], "app-a");
    assert_eq!(r.body["created_by"], "svc-a");
    let a_asset = r.body;
    let a_id = id_of(&a_asset);
    let person_asset = api.asset(json!({"name": "from-person"})).await;
    assert_eq!(person_asset["app_id"], Value::Null);

    // app-b: 404 on everything of app-a (and of no app), same as missing; list empty.
    for (method, body) in [
        ("GET", None),
        ("PATCH", Some(json!({"vendor": "b"}))),
        ("DELETE", None),
    ] {
        let r = api.call(method, &url(&a_id), &app_b, body.clone()).await;
        let nothing = api
            .call(method, &url(&missing_id()), &app_b, body.clone())
            .await;
        assert_problem(&r, 404, "not-found");
        assert_eq!(shape(&r), shape(&nothing));
        let r = api
            .call(method, &url(&id_of(&person_asset)), &app_a, body)
            .await;
        assert_problem(&r, 404, "not-found");
    }
    assert_asset_unchanged(&api, &a_asset).await;
    assert_asset_unchanged(&api, &person_asset).await;
    let list = api.get_as(BASE, &app_b).await;
    assert_eq!(list.body["items"], json!([]));
    let list = api.get_as(BASE, &app_a).await;
    assert_eq!(list.body["items"], json!([a_asset]));

    // The person token sees every app's assets of the tenant.
    let r = api.get_as(&url(&a_id), &person).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, a_asset);
    let list = api.get_as(BASE, &person).await;
    let ids: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![id_of(&person_asset).as_str(), a_id.as_str()]);

    // app-a writes its own; a person's PATCH keeps the app_id.
    let r = api
        .patch_as(&url(&a_id), &app_a, json!({"vendor": "a"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["app_id"], "app-a");
    let r = api
        .patch_as(&url(&a_id), &person, json!({"region": "r", "app_id": null}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["app_id"], "app-a");
    assert_eq!(r.body["updated_by"], "user-1");
    let r = api.delete_as(&url(&a_id), &app_a).await;
    assert_eq!(r.status, 204);
}

#[tokio::test]
async fn malformed_ids_are_404() {
    let api = Api::new().await;
    api.asset(json!({"name": "exists"})).await;
    let reference = api.get(&url(&missing_id())).await;
    for id in [
        "nope",
        "ast_x",
        "ast_",
        "ent_01JD3Q9Z8X4K2M7N5P6R8S0T1V",
        "AST_01JD3Q9Z8X4K2M7N5P6R8S0T1V",
        "ast_01JD3Q9Z8X4K2M7N5P6R8S0T1V%23x",
        "exists",
    ] {
        for (method, body) in [
            ("GET", None),
            ("PATCH", Some(json!({"vendor": "x"}))),
            ("DELETE", None),
        ] {
            let r = api.call(method, &url(id), &api.token(), body).await;
            assert_problem(&r, 404, "not-found");
            assert_eq!(shape(&r), shape(&reference), "{method} {id}");
        }
    }
    // Unknown sub-paths and methods.
    assert_problem(&api.get(&format!("{BASE}/a/b")).await, 404, "not-found");
    let r = api
        .call("PUT", &url(&missing_id()), &api.token(), Some(json!({})))
        .await;
    assert_problem(&r, 405, "method-not-allowed");
}

#[tokio::test]
async fn over_long_ids_are_404_not_500() {
    let api = Api::new().await;
    let id = format!("ast_{}", "A".repeat(1100));
    for (method, body) in [
        ("GET", None),
        ("PATCH", Some(json!({"vendor": "x"}))),
        ("DELETE", None),
    ] {
        let r = api.call(method, &url(&id), &api.token(), body).await;
        assert_problem(&r, 404, "not-found");
    }
}
