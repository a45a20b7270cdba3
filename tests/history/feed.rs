//! The tenant audit feed (`GET /audit-events`): newest first, every filter alone and combined, paging, app and tenant isolation, scope and bad filters.

use super::*;

const FEED: &str = "/api/v1/audit-events";

/// (resource id, revision) of each event.
fn keys_of(events: &[Value]) -> Vec<(String, i64)> {
    events
        .iter()
        .map(|e| {
            (
                e["resource_id"].as_str().unwrap().to_string(),
                e["revision"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// Five writes a millisecond apart at least: asset created (user-1) and updated (user-2),
/// grant created (user-1) and revoked (user-3), attribute created (user-1). Returns every
/// event, oldest first, as their records' histories hold them.
async fn five_writes(api: &Api) -> Vec<Value> {
    let (asset, aid) = api.named_asset("feed").await;
    after(asset["updated_at"].as_str().unwrap()).await;
    let r = api
        .patch_as(
            &format!("{TECH}/{aid}"),
            &person(api, "user-2"),
            json!({"vendor": "acme"}),
        )
        .await;
    after(r.body["updated_at"].as_str().unwrap()).await;
    let g = api.post(ENTS, grant_body(&aid, "p1", "read")).await;
    after(g.body["updated_at"].as_str().unwrap()).await;
    let eid = id_of(&g.body);
    let r = api
        .post_empty_as(&format!("{ENTS}/{eid}/revoke"), &person(api, "user-3"))
        .await;
    after(r.body["updated_at"].as_str().unwrap()).await;
    attribute(api, "tier", json!({})).await;
    let mut events = history(api, &asset_history(&aid)).await;
    events.extend(history(api, &ent_history(&eid)).await);
    events.extend(history(api, &attr_history("tier")).await);
    assert_eq!(events.len(), 5);
    events
}

/// The feed at `query` (all of it), which must hold exactly `expected`, newest first.
async fn assert_feed(api: &Api, query: &str, expected: &[&Value]) {
    let got = feed_when(api, &api.token(), query, expected.len()).await;
    let want: Vec<Value> = expected.iter().rev().map(|v| (*v).clone()).collect();
    assert_eq!(keys_of(&got), keys_of(&want), "{query}");
    assert_eq!(got, want, "{query}");
}

#[tokio::test]
async fn the_feed_is_newest_first_and_every_filter_narrows_it() {
    let api = Api::new().await;
    let e = five_writes(&api).await;
    let all: Vec<&Value> = e.iter().collect();
    assert_feed(&api, "", &all).await;
    assert_feed(&api, "resource_type=entitlement", &[&e[2], &e[3]]).await;
    assert_feed(&api, "resource_type=metadata_attribute", &[&e[4]]).await;
    let aid = e[0]["resource_id"].as_str().unwrap();
    assert_feed(&api, &format!("resource_id={aid}"), &[&e[0], &e[1]]).await;
    assert_feed(&api, "action=revoked", &[&e[3]]).await;
    assert_feed(&api, "action=created", &[&e[0], &e[2], &e[4]]).await;
    assert_feed(&api, "action=deleted", &[]).await;
    assert_feed(&api, "actor=user-2", &[&e[1]]).await;
    assert_feed(&api, "actor=user-1", &[&e[0], &e[2], &e[4]]).await;
    assert_feed(&api, "actor=nobody", &[]).await;
    let t = |i: usize| enc(e[i]["at"].as_str().unwrap());
    assert_feed(&api, &format!("since={}", t(2)), &[&e[2], &e[3], &e[4]]).await;
    assert_feed(&api, &format!("until={}", t(2)), &[&e[0], &e[1]]).await;
    assert_feed(
        &api,
        &format!("since={}&until={}", t(1), t(3)),
        &[&e[1], &e[2]],
    )
    .await;
    // An empty window, even a reversed one, is an empty page (no key range DynamoDB refuses).
    assert_feed(&api, &format!("since={}&until={}", t(1), t(1)), &[]).await;
    assert_feed(&api, &format!("since={}&until={}", t(3), t(1)), &[]).await;
    let r = api
        .get(&format!(
            "{FEED}?since={}&until={}&cursor=garbage",
            t(3),
            t(1)
        ))
        .await;
    assert_invalid(&r, &["cursor"]);
    assert_feed(
        &api,
        "resource_type=technology_asset&actor=user-1",
        &[&e[0]],
    )
    .await;
    assert_feed(
        &api,
        &format!("action=created&since={}", t(1)),
        &[&e[2], &e[4]],
    )
    .await;
    assert_feed(
        &api,
        &format!(
            "resource_type=entitlement&action=created&actor=user-1&until={}",
            t(3)
        ),
        &[&e[2]],
    )
    .await;
    // Another offset names the same instant.
    let rfc3339 = &time::format_description::well_known::Rfc3339;
    let shifted = time::OffsetDateTime::parse(e[1]["at"].as_str().unwrap(), rfc3339)
        .unwrap()
        .to_offset(time::macros::offset!(+02:00))
        .format(rfc3339)
        .unwrap();
    assert_feed(
        &api,
        &format!("since={}", enc(&shifted)),
        &[&e[1], &e[2], &e[3], &e[4]],
    )
    .await;
}

#[tokio::test]
async fn paging_walks_the_feed_once() {
    let api = Api::new().await;
    let mut e = five_writes(&api).await;
    let (_, id) = api.named_asset("more").await;
    api.patch(&format!("{TECH}/{id}"), json!({"vendor": "x"}))
        .await;
    e.extend(history(&api, &asset_history(&id)).await);
    let all = feed_when(&api, &api.token(), "", 7).await;
    let (walked, sizes) = walk_as(&api, &api.token(), FEED, 2).await;
    assert_eq!(sizes, [2, 2, 2, 1]);
    assert_eq!(walked, all);
    let mut sorted = keys_of(&walked);
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 7, "every event once");
    // With a filter, the cursor keeps it.
    let (walked, _) = walk_as(&api, &api.token(), &format!("{FEED}?action=created"), 1).await;
    assert_eq!(keys_of(&walked).len(), 4);
    assert!(walked.iter().all(|e| e["action"] == "created"));
}

#[tokio::test]
async fn an_app_sees_its_records_events_and_another_tenant_none() {
    let api = Api::new().await;
    let bot = app_token(&api, "bot-1", "app-a");
    let mine = api.asset_as(&bot, "mine").await;
    // A person's write to the app's record is the app's record's event.
    api.patch(&format!("{TECH}/{mine}"), json!({"vendor": "v"}))
        .await;
    api.named_asset("not-mine").await;
    let all = feed_when(&api, &api.token(), "", 3).await;
    assert_eq!(all.len(), 3);
    let seen = feed_when(&api, &bot, "", 2).await;
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen
        .iter()
        .all(|e| e["app_id"] == "app-a" && e["resource_id"] == mine));
    let other_app = app_token(&api, "bot-2", "app-b");
    let r = api.get_as(FEED, &other_app).await;
    assert_eq!(r.body["items"], json!([]), "{}", r.text);
    let other = api.other_tenant();
    let r = other.get(FEED).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["items"], json!([]), "{}", r.text);
    // Nor can it name this tenant's record.
    let r = other.get(&format!("{FEED}?resource_id={mine}")).await;
    assert_eq!(r.body["items"], json!([]), "{}", r.text);
}

#[tokio::test]
async fn the_feed_needs_audit_read_and_well_formed_filters() {
    let api = Api::new().await;
    let others: Vec<String> = all_scopes()
        .into_iter()
        .filter(|s| s != "audit:read")
        .collect();
    let r = api
        .get_as(FEED, &api.token_for("user-1", None, &others))
        .await;
    assert_problem(&r, 403, "forbidden");
    let r = api
        .get_as(FEED, &api.token_with(&["technology:read"]))
        .await;
    assert_problem(&r, 403, "forbidden");
    let r = api.get_as(FEED, &api.token_with(&["audit:read"])).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_bad_queries(
        &api,
        FEED,
        &[
            ("action=exploded", "action"),
            ("resource_type=thing", "resource_type"),
            ("resource_type=asset", "resource_type"),
            ("since=yesterday", "since"),
            ("until=2024-02-30T00:00:00Z", "until"),
            ("limit=101", "limit"),
            ("cursor=garbage", "cursor"),
        ],
    )
    .await;
}
