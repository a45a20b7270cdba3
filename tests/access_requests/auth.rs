//! Access requests: separation of duties, the scope of each route, app tokens, another tenant's request.

use super::*;

#[tokio::test]
async fn app_tokens_reach_only_their_apps_assets_and_entitlements() {
    let api = Api::new().await;
    let app_a = app_token(&api, "svc-a", "app-a");
    let app_b = app_token(&api, "svc-b", "app-b");
    let person_asset = asset(&api, "person-made").await;
    let a_asset = api.asset_as(&app_a, "app-a-made").await;
    let body = |system: &str| new_of(system, "member", json!({}));

    // A person-created asset, by name or by id: the same 400 as a missing one; another app's
    // asset, likewise.
    for (token, system, asset_id) in [
        (&app_a, "person-made", &person_asset),
        (&app_b, "app-a-made", &a_asset),
    ] {
        let r = api.post_as(ARQ, token, body(system)).await;
        assert_invalid_for(&r, &["asset_id", "system_id"], system);
        let by_id = with(body(system), json!({ "asset_id": asset_id }));
        let r = api.post_as(ARQ, token, by_id).await;
        assert_invalid_for(&r, &["asset_id"], system);
    }

    // The app's own asset works and the request is the app's.
    let mine = create_as(&api, &app_a, body("app-a-made")).await;
    assert_eq!(mine["app_id"], "app-a");
    assert_eq!(mine["requester_id"], "svc-a");
    assert_eq!(mine["asset_id"], a_asset.as_str());
    let mid = id_of(&mine);

    // An entitlement a person created on the app's asset is not the app's: 400 entitlement_id.
    let persons = grant_read(&api, &a_asset, "p1").await;
    let r = api
        .post_as(
            ARQ,
            &app_a,
            revoke_of("app-a-made", &id_of(&persons), json!({})),
        )
        .await;
    assert_invalid(&r, &["entitlement_id"]);

    // Another app never sees the request; a person of the tenant does.
    for (method, path) in [
        ("GET", url(&mid)),
        ("DELETE", url(&mid)),
        ("POST", format!("{}/approve", url(&mid))),
        ("POST", format!("{}/reject", url(&mid))),
        ("POST", format!("{}/provision", url(&mid))),
    ] {
        let r = api.call(method, &path, &app_b, None).await;
        assert_problem(&r, 404, "not-found");
    }
    let r = api
        .patch_as(&url(&mid), &app_b, json!({"justification": "y"}))
        .await;
    assert_problem(&r, 404, "not-found");
    assert_eq!(
        listed_ids(&api.get_as(ARQ, &app_b).await),
        Vec::<String>::new()
    );
    assert_eq!(
        listed_ids(&api.get_as(ARQ, &app_a).await),
        vec![mid.clone()]
    );
    assert_eq!(listed_ids(&api.get(ARQ).await), vec![mid.clone()]);
    assert_eq!(read_request(&api, &mid).await, mine);
}

// ------------------------------------------------------------------------------------------
// Separation of duties and scopes
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_requester_cannot_decide_their_own_request() {
    let api = Api::new().await;
    let id = pending_request(&api, "github").await;
    let before = snapshot(&api, &id).await;
    for action in ["approve", "reject"] {
        let r = act(&api, &api.token(), &id, action).await;
        assert_problem(&r, 403, "forbidden");
        let r = act_with(&api, &api.token(), &id, action, json!({"comment": "lgtm"})).await;
        assert_problem(&r, 403, "forbidden");
    }
    assert_unchanged(&api, &before).await;
    // Filed on behalf of someone else: that requester cannot decide it either.
    let behalf = create(&api, new_of("github", "m", json!({"requester_id": "bob"}))).await;
    let bid = id_of(&behalf);
    let before = snapshot(&api, &bid).await;
    for action in ["approve", "reject"] {
        let r = act(&api, &token_of(&api, "bob"), &bid, action).await;
        assert_problem(&r, 403, "forbidden");
    }
    assert_unchanged(&api, &before).await;
    // Whatever the status: still 403 for the requester, not 409.
    approve(&api, &id).await;
    let before = snapshot(&api, &id).await;
    let r = act(&api, &api.token(), &id, "reject").await;
    assert_problem(&r, 403, "forbidden");
    assert_unchanged(&api, &before).await;
    // Provisioning has no such rule: the requester may provision an approved request.
    let r = act(&api, &api.token(), &id, "provision").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["granted_by_id"], "approver-1");
}

/// Regression: was a bug before 8d140b8 (only requester_id was compared, so filing with
/// requester_id set to someone else allowed approving one's own request).
#[tokio::test]
async fn the_caller_who_filed_a_request_cannot_approve_it() {
    let api = Api::new().await;
    asset(&api, "github").await;
    // user-1 files a request for their own access, naming "bob" as the requester…
    let r = create(
        &api,
        new_of(
            "github",
            "admin",
            json!({"requester_id": "bob", "principal_id": "user-1"}),
        ),
    )
    .await;
    let id = id_of(&r);
    let before = snapshot(&api, &id).await;
    // …and approves it: self-approval.
    let r = act(&api, &api.token(), &id, "approve").await;
    assert_problem(&r, 403, "forbidden");
    assert_unchanged(&api, &before).await;
}

/// API.md §10: the beneficiary (a `person` principal who is the caller) may not approve or
/// reject a request, whoever filed it. Before, the person who would hold the access could
/// approve a request someone else filed for them, and then provision it.
#[tokio::test]
async fn the_beneficiary_cannot_decide_a_request_filed_for_them() {
    let api = Api::new().await;
    asset(&api, "github").await;
    let carol = token_of(&api, "carol");
    let for_carol = create(
        &api,
        json!({"system_id": "github", "access_type": "new", "justification": "x",
               "entitlement_type": "admin", "principal_id": "carol"}),
    )
    .await;
    assert_eq!(for_carol["requester_id"], "user-1");
    assert_eq!(for_carol["principal_type"], "person");
    let id = id_of(&for_carol);
    let before = snapshot(&api, &id).await;
    for action in ["approve", "reject"] {
        let r = act(&api, &carol, &id, action).await;
        assert_problem_saying(&r, 403, "forbidden", "beneficiary");
        let r = act_with(&api, &carol, &id, action, json!({"comment": "mine"})).await;
        assert_problem(&r, 403, "forbidden");
    }
    assert_unchanged(&api, &before).await;
    // Also once decided: 403, not 409.
    approve(&api, &id).await;
    let before = snapshot(&api, &id).await;
    let r = act(&api, &carol, &id, "reject").await;
    assert_problem(&r, 403, "forbidden");
    assert_unchanged(&api, &before).await;
    // Provisioning is not a decision (API.md §3 and §10 forbid deciding only).
    let r = act(&api, &carol, &id, "provision").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["granted_by_id"], "approver-1");
    // A group named like the caller is no beneficiary: that member may decide.
    let for_group = create(
        &api,
        json!({"system_id": "github", "access_type": "new", "justification": "x",
               "entitlement_type": "admin", "principal_id": "carol", "principal_type": "group"}),
    )
    .await;
    let r = act(&api, &carol, &id_of(&for_group), "approve").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["approver_id"], "carol");
}

#[tokio::test]
async fn each_route_needs_exactly_its_scope() {
    let api = Api::new().await;
    let id = pending_request(&api, "github").await;
    let other_scopes =
        |keep: &str| -> Vec<String> { all_scopes().into_iter().filter(|s| s != keep).collect() };
    let body = new_of("github", "m", json!({}));
    // (method, path, body, required scope)
    let routes: Vec<(&str, String, Option<Value>, &str)> = vec![
        ("GET", ARQ.to_string(), None, "access-requests:read"),
        ("GET", url(&id), None, "access-requests:read"),
        (
            "POST",
            ARQ.to_string(),
            Some(body.clone()),
            "access-requests:write",
        ),
        (
            "PATCH",
            url(&id),
            Some(json!({"justification": "y"})),
            "access-requests:write",
        ),
        ("DELETE", url(&id), None, "access-requests:write"),
        (
            "POST",
            format!("{}/approve", url(&id)),
            None,
            "access-requests:approve",
        ),
        (
            "POST",
            format!("{}/reject", url(&id)),
            None,
            "access-requests:approve",
        ),
        (
            "POST",
            format!("{}/provision", url(&id)),
            None,
            "access-requests:provision",
        ),
    ];
    let before = snapshot(&api, &id).await;
    for (method, path, b, scope) in &routes {
        // Every other scope together is not enough…
        let token = api.token_for("approver-1", None, &other_scopes(scope));
        let r = api.call(method, path, &token, b.clone()).await;
        assert_problem(&r, 403, "forbidden");
        // …nor any single neighbouring one.
        for wrong in [
            "access-requests:read",
            "access-requests:write",
            "access-requests:approve",
            "access-requests:provision",
            "entitlements:write",
        ] {
            if wrong == *scope {
                continue;
            }
            let token = api.token_for("approver-1", None, &[wrong.to_string()]);
            let r = api.call(method, path, &token, b.clone()).await;
            assert_problem(&r, 403, "forbidden");
        }
    }
    assert_unchanged(&api, &before).await;
    assert_eq!(listed_ids(&api.get(ARQ).await), vec![id.clone()]);

    // Each scope alone is enough for its routes.
    let only = |scope: &str| api.token_for("approver-1", None, &[scope.to_string()]);
    let r = api.get_as(&url(&id), &only("access-requests:read")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = api.get_as(ARQ, &only("access-requests:read")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Filed by someone else: whoever files a request may not decide it.
    let filer = api.token_for("user-3", None, &["access-requests:write".to_string()]);
    let r = api.post_as(ARQ, &filer, body.clone()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let second = id_of(&r.body);
    let edit = json!({"justification": "y"});
    let r = api
        .patch_as(&url(&id), &only("access-requests:write"), edit)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = act(&api, &only("access-requests:approve"), &id, "approve").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = act(&api, &only("access-requests:provision"), &id, "provision").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = complete(&api, &only("access-requests:write"), &id).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = act(&api, &only("access-requests:approve"), &second, "reject").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let third = id_of(&new_request(&api, "github").await);
    let r = api
        .delete_as(&url(&third), &only("access-requests:write"))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
}

// ------------------------------------------------------------------------------------------
// Tenancy
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn another_tenants_request_does_not_exist() {
    let api = Api::new().await;
    let (aid, [pending, approved]) = asset_with_requests(&api, "github").await;
    approve(&api, &approved).await;
    let other = api.other_tenant();
    let stranger = other.token_for("approver-9", None, &all_scopes());
    let missing = missing_request_id();
    let probe = |id: &str| -> Vec<(&'static str, String, Option<Value>)> {
        vec![
            ("GET", url(id), None),
            ("PATCH", url(id), Some(json!({"justification": "mine now"}))),
            ("PATCH", url(id), Some(json!({"status": "completed"}))),
            ("DELETE", url(id), None),
            ("POST", format!("{}/approve", url(id)), None),
            ("POST", format!("{}/reject", url(id)), None),
            ("POST", format!("{}/provision", url(id)), None),
        ]
    };
    let before_p = snapshot(&api, &pending).await;
    let before_a = snapshot(&api, &approved).await;
    for id in [&pending, &approved] {
        for ((method, path, body), (_, mpath, mbody)) in probe(id).into_iter().zip(probe(&missing))
        {
            let r = other.call(method, &path, &stranger, body).await;
            assert_problem(&r, 404, "not-found");
            let m = other.call(method, &mpath, &stranger, mbody).await;
            assert_eq!(shape(&r), shape(&m), "{method} {path}");
        }
    }
    assert_unchanged(&api, &before_p).await;
    assert_unchanged(&api, &before_a).await;
    assert_eq!(live_count(&api, &aid).await, 0);
    assert_eq!(listed_ids(&other.get(ARQ).await), Vec::<String>::new());
    // Malformed ids are plain 404s too.
    for bad in [
        "nope",
        "ast_01JD3Q9Z8X4K2M7N5P6R8S0T1V",
        "arq_",
        "arq_zzzzzzzzzzzzzzzzzzzzzzzzzz",
    ] {
        let r = api.get(&url(bad)).await;
        assert_problem(&r, 404, "not-found");
    }
}
