//! Entitlements across tenants and apps: another tenant's grant is a 404 like a missing one; app tokens see and grant only within their app.

use super::*;

// ------------------------------------------------------------------------------------------
// Tenancy and apps
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn another_tenants_entitlement_is_404_exactly_like_a_missing_one() {
    let api = Api::new().await;
    let (aid, e) = crm_with_privacy(&api).await;
    let id = id_of(&e);
    assert_eq!(
        add_value(&api, &id, "iscPrivacy", "public").await.status,
        200
    );
    let e = current(&api, &id).await;

    let other = api.other_tenant();
    // The other tenant has the same attribute, so only the entitlement is missing.
    attribute(&other, "iscPrivacy", with_values(&[("public", "Public")])).await;
    let missing = missing_entitlement();
    let token = other.token();
    let cases: Vec<(&str, String, String, Option<Value>)> = vec![
        ("GET", url(&id), url(&missing), None),
        (
            "PATCH",
            url(&id),
            url(&missing),
            Some(json!({"description": "x"})),
        ),
        ("POST", revoke_url(&id), revoke_url(&missing), None),
        (
            "POST",
            meta_url(&id, "iscPrivacy", "public"),
            meta_url(&missing, "iscPrivacy", "public"),
            None,
        ),
        (
            "DELETE",
            meta_url(&id, "iscPrivacy", "public"),
            meta_url(&missing, "iscPrivacy", "public"),
            None,
        ),
    ];
    for (method, theirs, nothing, body) in cases {
        let r = other.call(method, &theirs, &token, body.clone()).await;
        assert_problem(&r, 404, "not-found");
        let n = other.call(method, &nothing, &token, body).await;
        assert_eq!(shape(&r), shape(&n), "{method} {theirs}");
    }
    // With a matching If-Match as well.
    let r = post_if_match(&other, &token, &revoke_url(&id), "\"2\"").await;
    assert_problem(&r, 404, "not-found");
    // Their lists show nothing of ours, by any filter.
    for q in [
        String::new(),
        format!("asset_id={aid}"),
        "principal_id=p1".to_string(),
        "q=p1".to_string(),
    ] {
        assert_eq!(walk(&other, &q, 100).await, Vec::<String>::new(), "{q}");
    }
    // And they cannot grant on our asset.
    let r = other.post(BASE, grant_body(&aid, "p1", "y")).await;
    assert_invalid(&r, &["asset_id"]);
    assert_unchanged(&api, &e).await;
    assert_live(&api, &aid, 1).await;
}

#[tokio::test]
async fn app_tokens_see_and_grant_only_within_their_app() {
    let api = Api::new().await;
    let scopes = all_scopes();
    let app_a = api.token_for("svc-a", Some("app-a"), &scopes);
    let app_b = api.token_for("svc-b", Some("app-b"), &scopes);
    let person = api.token();
    attribute(&api, "iscPrivacy", with_values(&[("public", "Public")])).await;
    let new_asset = |token: String, name: &'static str| {
        let api = api.clone();
        async move { api.asset_as(&token, name).await }
    };
    let asset_a = new_asset(app_a.clone(), "asset-a").await;
    let asset_b = new_asset(app_b.clone(), "asset-b").await;
    let asset_p = new_asset(person.clone(), "asset-p").await;

    // An app names another app's or a person's asset: the same 400 as a missing one.
    let reference = api
        .post_as(BASE, &app_a, grant_body(&missing_asset(), "p", "x"))
        .await;
    assert_problem(&reference, 400, "validation-error");
    for asset in [&asset_b, &asset_p] {
        let r = api.post_as(BASE, &app_a, grant_body(asset, "p", "x")).await;
        assert_invalid(&r, &["asset_id"]);
        assert_eq!(r.body["errors"], reference.body["errors"]);
    }
    assert_live(&api, &asset_b, 0).await;
    assert_live(&api, &asset_p, 0).await;

    // Its own asset: fine, stamped with its app.
    let ea = create_as(&api, &app_a, grant_body(&asset_a, "p1", "x")).await;
    assert_fields(
        &ea,
        json!({"app_id": "app-a", "created_by": "svc-a", "granted_by_id": null}),
    );
    // A person may grant on any app's asset (their record has no app).
    let ep = create_as(&api, &person, grant_body(&asset_a, "p2", "x")).await;
    assert_eq!(ep["app_id"], Value::Null);
    let eb = create_as(&api, &app_b, grant_body(&asset_b, "p1", "x")).await;
    assert_live(&api, &asset_a, 2).await;
    // The grant guard is the tenant's: app-b cannot see it but the tuple is still taken.
    let r = api
        .post_as(BASE, &app_a, grant_body(&asset_a, "p2", "x"))
        .await;
    assert_problem(&r, 409, "conflict");

    // app-b: everything of app-a (and of no app) is 404, like a missing one.
    let ea_id = id_of(&ea);
    let ep_id = id_of(&ep);
    let missing = missing_entitlement();
    for (token, id) in [(&app_b, &ea_id), (&app_b, &ep_id), (&app_a, &ep_id)] {
        for (method, path, body) in [
            ("GET", url(id), None),
            ("PATCH", url(id), Some(json!({"description": "x"}))),
            ("POST", revoke_url(id), None),
            ("POST", meta_url(id, "iscPrivacy", "public"), None),
            ("DELETE", meta_url(id, "iscPrivacy", "public"), None),
        ] {
            let r = api.call(method, &path, token, body.clone()).await;
            assert_problem(&r, 404, "not-found");
            let n = api
                .call(method, &path.replace(id.as_str(), &missing), token, body)
                .await;
            assert_eq!(shape(&r), shape(&n), "{method} {path}");
        }
    }
    assert_unchanged(&api, &ea).await;
    assert_unchanged(&api, &ep).await;
    assert_live(&api, &asset_a, 2).await;

    // Lists: each app its own; the person everything.
    assert_eq!(walk_as(&api, &app_a, "", 100).await, vec![ea_id.clone()]);
    assert_eq!(
        walk_as(&api, &app_a, &format!("asset_id={asset_a}"), 100).await,
        vec![ea_id.clone()]
    );
    assert_eq!(
        walk_as(&api, &app_a, "principal_id=p1", 100).await,
        vec![ea_id.clone()]
    );
    assert_eq!(
        walk_as(&api, &app_b, &format!("asset_id={asset_a}"), 100).await,
        Vec::<String>::new()
    );
    assert_eq!(walk_as(&api, &app_b, "", 100).await, vec![id_of(&eb)]);
    assert_eq!(
        walk_as(&api, &person, "", 100).await,
        vec![id_of(&eb), ep_id.clone(), ea_id.clone()]
    );

    // app-a writes its own.
    let r = api
        .post_empty_as(&meta_url(&ea_id, "iscPrivacy", "public"), &app_a)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = api
        .patch_as(&url(&ea_id), &app_a, json!({"description": "a"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["app_id"], "app-a");
    let r = api.post_empty_as(&revoke_url(&ea_id), &app_a).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["revoked_by"], "svc-a");
    assert_live(&api, &asset_a, 1).await;
}
