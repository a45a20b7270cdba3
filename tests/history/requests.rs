//! What each history read costs in DynamoDB requests: a record's page and verify, the feed, and who had access when (now and in the past).

use super::*;

/// The asset `cost`, created and patched: its id.
async fn asset_of_two_events(api: &Api) -> String {
    let (_, aid) = api.named_asset("cost").await;
    let r = api
        .patch(&format!("{TECH}/{aid}"), json!({"vendor": "v"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    aid
}

#[tokio::test]
async fn a_history_page_and_a_verify_are_one_get_and_one_query() {
    let api = Api::new().await;
    let aid = asset_of_two_events(&api).await;
    attribute(&api, "tier", json!({})).await;
    let g = api.post(ENTS, grant_body(&aid, "p1", "read")).await;
    let eid = id_of(&g.body);
    api.named_asset("sys").await;
    let r = api.post(ARQ, new_request("sys", "member")).await;
    let rid = id_of(&r.body);
    let one_each = &[("GetItem", 1), ("Query", 1)];
    for uri in [
        format!("{TECH}/{aid}/history"),
        format!("{ENTS}/{eid}/history"),
        format!("{ARQ}/{rid}/history"),
        format!("{ATTRS}/tier/history"),
    ] {
        api.expect_answer(200, one_each, api.get(&uri)).await;
        api.expect_answer(200, one_each, api.get(&format!("{uri}?limit=1")))
            .await;
        let v = api
            .expect_answer(200, one_each, api.get(&format!("{uri}/verify")))
            .await;
        assert_eq!(v.body["valid"], true, "{uri}: {}", v.text);
    }
}

#[tokio::test]
async fn a_feed_page_is_one_query() {
    let api = Api::new().await;
    let aid = asset_of_two_events(&api).await;
    feed_when(&api, &api.token(), "", 2).await;
    let one = &[("Query", 1)];
    api.expect_answer(200, one, api.get("/api/v1/audit-events"))
        .await;
    api.expect_answer(
        200,
        one,
        api.get(&format!(
            "/api/v1/audit-events?resource_id={aid}&action=updated"
        )),
    )
    .await;
    api.expect_answer(200, one, api.get("/api/v1/audit-events?limit=1"))
        .await;
}

#[tokio::test]
async fn access_now_is_one_get_and_one_query_and_the_past_one_query_per_changed_grant() {
    let api = Api::new().await;
    let (_, aid) = api.named_asset("cost").await;
    let grants = api.grants(&aid, "p", 4, "read").await;
    let uri = format!("{TECH}/{aid}/access");
    let r = api
        .expect_answer(200, &[("GetItem", 1), ("Query", 1)], api.get(&uri))
        .await;
    assert_eq!(ids(&r).len(), 4);
    let t = Timestamp::now().to_string();
    after(&t).await;
    // Two of the four change after `t`: each is read as it was, one query each.
    for id in &grants[..2] {
        let r = api
            .patch(&format!("{ENTS}/{id}"), json!({"description": "later"}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let past = format!("{uri}?at={}", enc(&t));
    let r = api
        .expect_answer(200, &[("GetItem", 1), ("Query", 3)], api.get(&past))
        .await;
    assert_eq!(ids(&r).len(), 4);
    assert!(r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["description"].is_null() && e["revision"] == 1));
    // Now, nothing has to be read as it was.
    api.expect_answer(200, &[("GetItem", 1), ("Query", 1)], api.get(&uri))
        .await;
    // Grants that carry metadata have their definitions joined: one BatchGetItem.
    attribute(&api, "region", with_values(&[("eu", "Europe")])).await;
    let r = api
        .post_empty_as(
            &format!(
                "{ENTS}/{}/access-model-metadata/region/values/eu",
                grants[3]
            ),
            &api.token(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    api.expect_answer(
        200,
        &[("BatchGetItem", 1), ("GetItem", 1), ("Query", 1)],
        api.get(&uri),
    )
    .await;
}
