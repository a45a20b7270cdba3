//! Subject, resource and action search: results equal the live set now (index candidates re-checked), paging walks each result once, tokens are bound to their search.

use super::*;
use std::collections::BTreeSet;

fn ids(results: &[Value], member: &str) -> Vec<String> {
    results
        .iter()
        .map(|r| r[member].as_str().expect("member").to_string())
        .collect()
}

fn set(v: &[String]) -> BTreeSet<String> {
    v.iter().cloned().collect()
}

fn subjects_of(asset: &str, kind: &str, action: &str) -> Value {
    json!({"subject": {"type": kind}, "resource": {"type": "technology_asset", "id": asset}, "action": {"name": action}})
}

/// The first page of the people who may `read` `asset`, of at most `limit`.
async fn people_who_read(api: &Api, asset: &str, limit: u64) -> Response {
    let body = with(
        subjects_of(asset, "person", "read"),
        json!({"page": {"limit": limit}}),
    );
    api.post(SEARCH_SUBJECT, body).await
}

#[tokio::test]
async fn subject_search_is_the_live_set_and_pages_walk_it_once() {
    let api = Api::new().await;
    let (_, a) = api.named_asset("searched").await;
    api.grants(&a, "p", 7, "read").await;
    let live: Vec<String> = (0..7).map(|i| format!("p{i}")).collect();
    grants_giving_no_read(&api, &a, ["pending", "revoked", "writer"]).await;
    grant(&api, group_grant_body(&a, "team", "read")).await;
    grant_read_lapsing_in(&api, &a, "lapsing", 1000).await;
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;

    for limit in [1, 3, 7, 100] {
        let (results, pages) = walk(
            &api,
            SEARCH_SUBJECT,
            subjects_of(&a, "person", "read"),
            limit,
        )
        .await;
        let found = ids(&results, "id");
        assert_eq!(
            found.len(),
            live.len(),
            "limit {limit}: each once: {found:?}"
        );
        assert_eq!(set(&found), set(&live), "limit {limit}");
        assert!(results.iter().all(|r| r["type"] == "person"));
        assert!(pages <= live.len() + 1, "limit {limit}: {pages} pages");
    }
    // A full page is full: the re-check's drops are made up within the page.
    let r = people_who_read(&api, &a, 7).await;
    assert_eq!(r.body["results"].as_array().unwrap().len(), 7, "{}", r.text);
    // Groups are searched as groups; by name too.
    let (results, _) = walk(
        &api,
        SEARCH_SUBJECT,
        subjects_of("searched", "group", "read"),
        10,
    )
    .await;
    assert_eq!(results, [json!({"type": "group", "id": "team"})]);
    // A revoke is out of the very next search, whatever the index says.
    let p0 = api.get(&format!("{ENTS}?principal_id=p0")).await;
    revoke(&api, &id_of(&p0.body["items"][0])).await;
    let (results, _) = walk(&api, SEARCH_SUBJECT, subjects_of(&a, "person", "read"), 100).await;
    assert!(!ids(&results, "id").contains(&"p0".to_string()));
    // A missing or foreign asset finds nothing, costing no index read.
    let r = api
        .expect_answer(
            200,
            &[("BatchGetItem", 1)],
            api.post(
                SEARCH_SUBJECT,
                subjects_of("nothing-here", "person", "read"),
            ),
        )
        .await;
    assert_eq!(r.body, json!({"results": [], "page": {"next_token": ""}}));
    let other = api.other_tenant();
    let r = other
        .post(SEARCH_SUBJECT, subjects_of(&a, "person", "read"))
        .await;
    assert_eq!(r.body["results"], json!([]), "{}", r.text);
}

#[tokio::test]
async fn resource_search_returns_the_subjects_live_assets_by_id() {
    let api = Api::new().await;
    let mut live = Vec::new();
    for i in 0..5 {
        let (_, a) = api.named_asset(&format!("res-{i}")).await;
        grant(&api, grant_body(&a, "alice", "use")).await;
        live.push(a);
    }
    let (_, pending) = api.named_asset("res-pending").await;
    grant(&api, pending_grant_body(&pending, "alice", "use")).await;
    let (_, other_type) = api.named_asset("res-other").await;
    grant(&api, grant_body(&other_type, "alice", "admin")).await;
    let (_, decommissioned) = api.named_asset("res-old").await;
    grant(&api, grant_body(&decommissioned, "alice", "use")).await;
    api.patch(
        &format!("{TECH}/{decommissioned}"),
        json!({"status": "decommissioned"}),
    )
    .await;
    // A group named like the person is not the person.
    let (_, group_asset) = api.named_asset("res-group").await;
    grant(&api, group_grant_body(&group_asset, "alice", "use")).await;

    let body = json!({"subject": {"type": "person", "id": "alice"}, "resource": {"type": "technology_asset"}, "action": {"name": "use"}});
    for limit in [1, 2, 50] {
        let (results, _) = walk(&api, SEARCH_RESOURCE, body.clone(), limit).await;
        let found = ids(&results, "id");
        assert_eq!(found.len(), live.len(), "limit {limit}: {found:?}");
        assert_eq!(set(&found), set(&live));
        assert!(results.iter().all(|r| r["type"] == "technology_asset"));
    }
    let r = api
        .expect_answer(
            200,
            &[("Query", 1), ("BatchGetItem", 1)],
            api.post(
                SEARCH_RESOURCE,
                with(body.clone(), json!({"page": {"limit": 50}})),
            ),
        )
        .await;
    assert_eq!(r.body["page"]["next_token"], "");
}

#[tokio::test]
async fn action_search_lists_the_live_entitlement_types() {
    let api = Api::new().await;
    let (_, a) = api.named_asset("acts").await;
    for etype in ["read", "write", "deploy"] {
        grant(&api, grant_body(&a, "bob", etype)).await;
    }
    let old = grant(&api, grant_body(&a, "bob", "admin")).await;
    revoke(&api, &old).await;
    grant(&api, pending_grant_body(&a, "bob", "audit")).await;
    grant(&api, grant_body(&a, "carol", "own")).await;
    let body = json!({"subject": {"type": "person", "id": "bob"}, "resource": {"type": "technology_asset", "id": "acts"}});
    for limit in [1, 2, 10] {
        let (results, _) = walk(&api, SEARCH_ACTION, body.clone(), limit).await;
        let names = ids(&results, "name");
        assert_eq!(names.len(), 3, "{names:?}");
        assert_eq!(
            set(&names),
            set(&["read".into(), "write".into(), "deploy".into()])
        );
    }
}

#[tokio::test]
async fn tokens_are_bound_to_their_search_and_checked() {
    let api = Api::new().await;
    let (_, a) = api.named_asset("tok").await;
    api.grants(&a, "t", 3, "read").await;
    let r = people_who_read(&api, &a, 1).await;
    let token = r.body["page"]["next_token"].as_str().unwrap().to_string();
    assert!(!token.is_empty());
    let page = |body: Value, token: &str| with(body, json!({"page": {"limit": 1, "token": token}}));
    for (uri, body) in [
        (SEARCH_SUBJECT, subjects_of(&a, "person", "write")),
        (SEARCH_SUBJECT, subjects_of(&a, "group", "read")),
        (
            SEARCH_ACTION,
            json!({"subject": {"type": "person", "id": "t0"}, "resource": {"type": "technology_asset", "id": a}}),
        ),
        (SEARCH_SUBJECT, subjects_of(&a, "person", "read")),
    ] {
        let tampered = if uri == SEARCH_SUBJECT && body == subjects_of(&a, "person", "read") {
            format!("{token}x")
        } else {
            token.clone()
        };
        let r = api.post(uri, page(body, &tampered)).await;
        assert_invalid(&r, &["page.token"]);
    }
    let other = api.other_tenant();
    assert_invalid(
        &other
            .post(
                SEARCH_SUBJECT,
                page(subjects_of(&a, "person", "read"), &token),
            )
            .await,
        &["page.token"],
    );
    assert_invalid(
        &api.post(
            SEARCH_SUBJECT,
            with(
                subjects_of(&a, "person", "read"),
                json!({"page": {"limit": 101}}),
            ),
        )
        .await,
        &["page.limit"],
    );
}
