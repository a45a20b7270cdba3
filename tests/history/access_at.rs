//! Who had access when (`GET /technology/{id}/access?at=`): grants as they were, left out when not active then, filters, paging, isolation and scope.

use super::*;

fn access(aid: &str, query: &str) -> String {
    format!("{TECH}/{aid}/access?{query}")
}

/// Asserts the items of `access?at=<t>` for each `(t, items, why)` of `cases`.
async fn assert_at(api: &Api, aid: &str, cases: &[(&str, &[Value], &str)]) {
    for (t, items, why) in cases {
        assert_eq!(at(api, aid, t, "").await, *items, "at {t}: {why}");
    }
}

/// `access?at=<t>` plus `extra`, as the all-scope token: the items.
async fn at(api: &Api, aid: &str, t: &str, extra: &str) -> Vec<Value> {
    let mut q = format!("at={}", enc(t));
    if !extra.is_empty() {
        q = format!("{q}&{extra}");
    }
    let r = api.get(&access(aid, &q)).await;
    assert_eq!(r.status, 200, "at {t} {extra}: {}", r.text);
    r.body["items"].as_array().unwrap().clone()
}

fn ids_of(items: &[Value]) -> Vec<String> {
    items.iter().map(id_of).collect()
}

/// The time now, once the clock has passed `t` (and a later write will be later still).
async fn now_after(t: &str) -> String {
    after(t).await;
    let now = Timestamp::now().to_string();
    after(&now).await;
    now
}

/// A test's API and the id of its asset, on which the grants are made.
async fn pit(api: Api) -> (Api, String) {
    let (_, aid) = api.named_asset("pit").await;
    (api, aid)
}

/// Raises `grant` to `admin`, which must answer 200: the grant as patched.
async fn raise_to_admin(api: &Api, grant: &Value) -> Value {
    let uri = format!("{ENTS}/{}", id_of(grant));
    let r = api.patch(&uri, json!({"entitlement_type": "admin"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

fn minus_ms(t: &str, ms: i64) -> String {
    Timestamp::parse(t).unwrap().plus_millis(-ms).to_string()
}

#[tokio::test]
async fn a_grant_is_listed_as_it_was_at_the_time() {
    let (api, aid) = pit(Api::new().await).await;
    let g = api.post(ENTS, grant_body(&aid, "p1", "read")).await;
    assert_eq!(g.status, 201, "{}", g.text);
    let created_at = g.body["created_at"].as_str().unwrap().to_string();
    let t1 = now_after(&created_at).await;
    let p = raise_to_admin(&api, &g.body).await;
    assert!(p["updated_at"].as_str().unwrap() > t1.as_str());

    let now = api.get(&access(&aid, "")).await;
    assert_eq!(now.status, 200, "{}", now.text);
    assert_eq!(now.body["items"], json!([p]), "now: as it is");
    let (created, patched) = ([g.body.clone()], [p.clone()]);
    let patched_at = p["updated_at"].as_str().unwrap();
    let cases: [(&str, &[Value], &str); 4] = [
        (&t1, &created, "the grant as created"),
        (&created_at, &created, "at its creation, inclusive"),
        (patched_at, &patched, "at its patch"),
        (&minus_ms(&created_at, 1), &[], "before it existed"),
    ];
    assert_at(&api, &aid, &cases).await;
}

#[tokio::test]
async fn revoked_pending_and_later_grants_are_left_out_at_the_right_times() {
    let (api, aid) = pit(Api::new().await).await;
    let g1 = api.post(ENTS, grant_body(&aid, "p1", "read")).await;
    let pending = with(
        grant_body(&aid, "p2", "read"),
        json!({"status": "pending_approval"}),
    );
    let pending = api.post(ENTS, pending).await;
    assert_eq!(pending.status, 201, "{}", pending.text);
    let ta = now_after(pending.body["created_at"].as_str().unwrap()).await;
    let r = api
        .post_empty_as(&format!("{ENTS}/{}/revoke", id_of(&g1.body)), &api.token())
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let tb = now_after(r.body["updated_at"].as_str().unwrap()).await;
    let g3 = api.post(ENTS, grant_body(&aid, "p3", "read")).await;
    assert_eq!(g3.status, 201, "{}", g3.text);

    let cases: [(&str, &[Value], &str); 2] = [
        (&ta, std::slice::from_ref(&g1.body), "before the revoke"),
        (&tb, &[], "after the revoke"),
    ];
    assert_at(&api, &aid, &cases).await;
    let now = api.get(&access(&aid, "")).await;
    assert_eq!(ids(&now), [id_of(&g3.body)], "{}", now.text);
}

#[tokio::test]
async fn expired_grants_are_left_out_once_their_expiry_has_passed_swept_or_not() {
    // The sweep reads every tenant of its table: a table of this test's own.
    let (api, aid) = pit(Api::with_own_table().await).await;
    let expires = Timestamp::now().plus_millis(1200).to_string();
    let g = with(
        grant_body(&aid, "p1", "read"),
        json!({"expires_at": expires}),
    );
    let g = api.post(ENTS, g).await;
    assert_eq!(g.status, 201, "{}", g.text);
    let before = now_after(g.body["created_at"].as_str().unwrap()).await;
    after(&expires).await;
    let eid = id_of(&g.body);
    // Not yet swept: still active on its get, but its expiry has passed.
    assert_eq!(
        read(&api, &format!("{ENTS}/{eid}")).await["status"],
        "active"
    );
    let grant = [g.body.clone()];
    let cases: [(&str, &[Value], &str); 3] = [
        (&Timestamp::now().to_string(), &[], "expired, not yet swept"),
        (&minus_ms(&expires, 1), &grant, "just before its expiry"),
        (&expires, &[], "expires_at itself is past"),
    ];
    assert_at(&api, &aid, &cases).await;

    let report = sweep_at(&api, 0, Duration::from_secs(20)).await;
    assert_eq!(report.expired, 1, "{report:?}");
    assert_eq!(
        read(&api, &format!("{ENTS}/{eid}")).await["status"],
        "expired"
    );
    let cases: [(&str, &[Value], &str); 2] = [
        (&Timestamp::now().to_string(), &[], "expired and swept"),
        (&before, &grant, "as it was before"),
    ];
    assert_at(&api, &aid, &cases).await;
}

#[tokio::test]
async fn filters_apply_to_the_grants_as_they_were() {
    let (api, aid) = pit(Api::new().await).await;
    let person = api.post(ENTS, grant_body(&aid, "p1", "read")).await;
    let group = api
        .post(ENTS, json!({"asset_id": aid, "principal_id": "g1", "principal_type": "group", "entitlement_type": "admin"}))
        .await;
    assert_eq!(group.status, 201, "{}", group.text);
    let t1 = now_after(group.body["created_at"].as_str().unwrap()).await;
    raise_to_admin(&api, &person.body).await;
    let (pid, gid) = (id_of(&person.body), id_of(&group.body));

    let now = api.get(&access(&aid, "entitlement_type=admin")).await;
    let mut both = ids(&now);
    both.sort();
    let mut expected = vec![pid.clone(), gid.clone()];
    expected.sort();
    assert_eq!(both, expected);
    let now = api.get(&access(&aid, "entitlement_type=read")).await;
    assert_eq!(ids(&now), Vec::<String>::new());
    for (filters, expected) in [
        ("entitlement_type=read", vec![pid.as_str()]),
        ("entitlement_type=admin", vec![gid.as_str()]),
        ("principal_id=p1", vec![pid.as_str()]),
        ("principal_type=group", vec![gid.as_str()]),
        ("principal_type=person&entitlement_type=admin", vec![]),
    ] {
        let found = ids_of(&at(&api, &aid, &t1, filters).await);
        assert_eq!(found, expected, "at t1 with {filters}");
    }
}

#[tokio::test]
async fn bad_times_and_filters_are_400() {
    let (api, aid) = pit(Api::new().await).await;
    let future = enc(&Timestamp::now().plus_seconds(60).to_string());
    let uri = format!("{TECH}/{aid}/access");
    let future_q = format!("at={future}");
    assert_bad_queries(
        &api,
        &uri,
        &[
            (future_q.as_str(), "at"),
            ("at=yesterday", "at"),
            ("at=2024-13-01T00:00:00Z", "at"),
            ("principal_type=robot", "principal_type"),
            ("limit=0", "limit"),
        ],
    )
    .await;
    // Any offset is accepted.
    let r = api
        .get(&format!("{uri}?at={}", enc("2020-01-01T01:00:00+01:00")))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_problem(
        &api.get(&format!("{TECH}/{}/access", missing("ast"))).await,
        404,
        "not-found",
    );
}

#[tokio::test]
async fn paging_walks_every_grant_once_at_one_time() {
    let (api, aid) = pit(Api::new().await).await;
    let mut made = api.grants(&aid, "p", 7, "read").await;
    let t = now_after(&Timestamp::now().to_string()).await;
    // A grant made after `t` is not in the walk at `t`.
    let late = api.post(ENTS, grant_body(&aid, "late", "read")).await;
    assert_eq!(late.status, 201);
    let uri = access(&aid, &format!("at={}", enc(&t)));
    let (items, sizes) = walk_as(&api, &api.token(), &uri, 3).await;
    let mut walked = ids_of(&items);
    assert_eq!(sizes, [3, 3, 1], "{walked:?}");
    walked.sort();
    made.sort();
    assert_eq!(walked, made);

    // A cursor carries its `at`: with another `at` it is refused, without one it keeps its own.
    let first = api.get(&with_query(&uri, "limit=3")).await;
    let cursor = enc(first.body["next_cursor"].as_str().expect("a next page"));
    let other = enc(&minus_ms(&t, 1));
    let r = api
        .get(&access(
            &aid,
            &format!("at={other}&limit=3&cursor={cursor}"),
        ))
        .await;
    assert_invalid(&r, &["cursor"]);
    let r = api
        .get(&access(&aid, &format!("limit=3&cursor={cursor}")))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 3);
    assert!(
        !ids(&r).contains(&id_of(&late.body)),
        "the cursor's `at` was kept"
    );
}

#[tokio::test]
async fn an_app_token_sees_its_apps_grants_only_and_needs_entitlements_read() {
    let api = Api::new().await;
    let bot = app_token(&api, "bot-1", "app-a");
    let aid = api.asset_as(&bot, "app-asset").await;
    let mine = api
        .created_as(ENTS, &bot, grant_body(&aid, "p1", "read"))
        .await;
    api.created_as(ENTS, &api.token(), grant_body(&aid, "p2", "read"))
        .await;
    let r = api.get_as(&access(&aid, ""), &bot).await;
    assert_eq!(ids(&r), [id_of(&mine)], "{}", r.text);
    let r = api.get(&access(&aid, "")).await;
    assert_eq!(ids(&r).len(), 2, "a person sees every app's: {}", r.text);
    let other_app = app_token(&api, "bot-2", "app-b");
    assert_problem(
        &api.get_as(&access(&aid, ""), &other_app).await,
        404,
        "not-found",
    );
    let other_tenant = api.other_tenant();
    assert_problem(&other_tenant.get(&access(&aid, "")).await, 404, "not-found");

    for scopes in [
        &["technology:read"][..],
        &["entitlements:write", "audit:read"],
    ] {
        let r = api.get_as(&access(&aid, ""), &api.token_with(scopes)).await;
        assert_problem(&r, 403, "forbidden");
    }
    let r = api
        .get_as(&access(&aid, ""), &api.token_with(&["entitlements:read"]))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}
