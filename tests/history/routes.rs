//! The per-record history routes: oldest first, paging, a deleted record's history, other tenants and apps, scopes.

use super::*;

#[tokio::test]
async fn history_is_oldest_first_and_pages_once() {
    let api = Api::new().await;
    let (_, id) = api.named_asset("pages").await;
    for i in 0..6 {
        let r = api
            .patch(&format!("{TECH}/{id}"), json!({"vendor": format!("v{i}")}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let uri = format!("{TECH}/{id}/history");
    let (events, sizes) = walk_as(&api, &api.token(), &uri, 3).await;
    assert_eq!(sizes, [3, 3, 1]);
    let revisions: Vec<i64> = events
        .iter()
        .map(|e| e["revision"].as_i64().unwrap())
        .collect();
    assert_eq!(revisions, [1, 2, 3, 4, 5, 6, 7]);
    assert_chain(&events);
    // A page ending exactly at the end says so.
    let (_, sizes) = walk_as(&api, &api.token(), &uri, 7).await;
    assert_eq!(sizes, [7]);
    let r = api.get(&format!("{uri}?limit=2")).await;
    let cursor = r.body["next_cursor"].as_str().unwrap().to_string();
    // A cursor of one record's history does not read another's.
    let (_, other) = api.named_asset("other").await;
    let r = api
        .get(&format!("{TECH}/{other}/history?cursor={}", enc(&cursor)))
        .await;
    assert_invalid(&r, &["cursor"]);
    assert_bad_queries(
        &api,
        &uri,
        &[
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("cursor=x", "cursor"),
            ("vendor=a", "vendor"),
        ],
    )
    .await;
}

#[tokio::test]
async fn a_deleted_records_history_is_seen_as_its_get_is() {
    let api = Api::new().await;
    let (_, id) = api.named_asset("gone").await;
    assert_eq!(api.delete(&format!("{TECH}/{id}")).await.status, 204);
    for uri in [
        format!("{TECH}/{id}/history"),
        format!("{TECH}/{id}/history/verify"),
    ] {
        assert_problem(&api.get(&uri).await, 404, "not-found");
        assert_problem(
            &api.get(&format!("{uri}?include_deleted=false")).await,
            404,
            "not-found",
        );
        let read_only = api.token_with(&["technology:read"]);
        let r = api
            .get_as(&format!("{uri}?include_deleted=true"), &read_only)
            .await;
        assert_problem(&r, 403, "forbidden");
        let r = api
            .get_as(
                &format!("{uri}?include_deleted=true"),
                &api.token_with(&["technology:read", "technology:write"]),
            )
            .await;
        assert_eq!(r.status, 200, "{uri}: {}", r.text);
    }
    let events = history(&api, &asset_history(&id)).await;
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["created", "deleted"]);
    let v = api
        .get(&format!("{TECH}/{id}/history/verify?include_deleted=true"))
        .await;
    assert_eq!(v.body["valid"], true, "{}", v.text);
    assert_eq!(v.body["revisions"], 2, "{}", v.text);

    // A deleted access request likewise.
    api.named_asset("sys").await;
    let req = api.post(ARQ, new_request("sys", "member")).await;
    assert_eq!(req.status, 201, "{}", req.text);
    let rid = id_of(&req.body);
    assert_eq!(api.delete(&format!("{ARQ}/{rid}")).await.status, 204);
    assert_problem(
        &api.get(&format!("{ARQ}/{rid}/history")).await,
        404,
        "not-found",
    );
    let r = api
        .get_as(
            &format!("{ARQ}/{rid}/history?include_deleted=true"),
            &api.token_with(&["access-requests:read"]),
        )
        .await;
    assert_problem(&r, 403, "forbidden");
    assert_eq!(history(&api, &arq_history(&rid)).await.len(), 2);
}

#[tokio::test]
async fn another_tenant_or_app_gets_404_and_each_family_needs_its_read_scope() {
    let api = Api::new().await;
    let bot = app_token(&api, "bot-1", "app-a");
    let aid = api.asset_as(&bot, "scoped").await;
    let grant = api.created_as(ENTS, &bot, grant_body(&aid, "p1", "read"));
    let eid = id_of(&grant.await);
    let r = api
        .post_as(ARQ, &bot, new_request("scoped", "member"))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let rid = id_of(&r.body);
    attribute(&api, "tier", json!({})).await;
    let routes = [
        (format!("{TECH}/{aid}/history"), "technology:read"),
        (format!("{ENTS}/{eid}/history"), "entitlements:read"),
        (format!("{ARQ}/{rid}/history"), "access-requests:read"),
        (format!("{ATTRS}/tier/history"), "metadata:read"),
    ];
    let other = api.other_tenant();
    let other_app = app_token(&api, "bot-2", "app-b");
    for (uri, scope) in &routes {
        for uri in [uri.clone(), format!("{uri}/verify")] {
            let r = api.get_as(&uri, &api.token_with(&[scope])).await;
            assert_eq!(r.status, 200, "{uri}: {}", r.text);
            let r = api.get_as(&uri, &bot).await;
            assert_eq!(r.status, 200, "{uri} as the app: {}", r.text);
            assert_problem(&other.get(&uri).await, 404, "not-found");
            // The catalog is the tenant's, shared by its apps.
            if !uri.contains("attributes") {
                assert_problem(&api.get_as(&uri, &other_app).await, 404, "not-found");
            }
            let without: Vec<String> = all_scopes().into_iter().filter(|s| s != scope).collect();
            let r = api
                .get_as(&uri, &api.token_for("user-1", None, &without))
                .await;
            assert_problem(&r, 403, "forbidden");
            let r = api.get_as(&uri, &api.token_with(&["audit:read"])).await;
            assert_problem(&r, 403, "forbidden");
        }
    }
    // A record that does not exist, of each kind.
    for uri in [
        format!("{TECH}/{}/history", missing("ast")),
        format!("{ENTS}/{}/history", missing("ent")),
        format!("{ARQ}/{}/history", missing("arq")),
        format!("{ATTRS}/nosuch/history"),
    ] {
        assert_problem(&api.get(&uri).await, 404, "not-found");
    }
}
