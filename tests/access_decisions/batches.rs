//! /evaluations: defaults and overrides, request order, each evaluations_semantic, limits, and one BatchGetItem wave for the whole batch.

use super::*;

fn decisions(r: &Response) -> Vec<(bool, String)> {
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["evaluations"]
        .as_array()
        .unwrap_or_else(|| panic!("no evaluations: {}", r.text))
        .iter()
        .map(verdict)
        .collect()
}

fn item(asset: &str, action: &str) -> Value {
    json!({"resource": {"type": "technology_asset", "id": asset}, "action": {"name": action}})
}

#[tokio::test]
async fn items_inherit_defaults_override_them_and_answer_in_order() {
    let api = Api::new().await;
    let (_, a) = api.named_asset("batch-a").await;
    let (_, b) = api.named_asset("batch-b").await;
    grant(&api, grant_body(&a, "alice", "read")).await;
    grant(&api, grant_body(&b, "bob", "write")).await;
    let body = json!({
        "subject": {"type": "person", "id": "alice"},
        "action": {"name": "read"},
        "evaluations": [
            {"resource": {"type": "technology_asset", "id": a}},
            {"resource": {"type": "technology_asset", "id": "batch-b"}},
            {"resource": {"type": "technology_asset", "id": b}, "subject": {"type": "person", "id": "bob"}, "action": {"name": "write"}},
            {"resource": {"type": "technology_asset", "id": missing("ast")}},
            {"resource": {"type": "technology_asset", "id": "batch-a"}, "context": {"ip": "10.0.0.1"}}
        ]
    });
    let r = api.post(EVALUATIONS, body).await;
    assert_eq!(
        decisions(&r),
        [
            granted(),
            denied("no_grant"),
            granted(),
            denied("asset_not_found"),
            granted()
        ]
    );
    // Each item is exactly what /evaluation answers for it.
    let single = evaluate(&api, question("bob", &b, "write")).await;
    assert_eq!(r.body["evaluations"][2], single);
}

#[tokio::test]
async fn each_evaluations_semantic() {
    let api = Api::new().await;
    let (_, a) = api.named_asset("sem").await;
    grant(&api, grant_body(&a, "s", "read")).await;
    grant(&api, grant_body(&a, "s", "list")).await;
    let body = |semantic: Option<&str>| {
        let mut b = json!({
            "subject": {"type": "person", "id": "s"},
            "resource": {"type": "technology_asset", "id": a},
            "evaluations": [
                {"action": {"name": "read"}}, {"action": {"name": "write"}},
                {"action": {"name": "list"}}, {"action": {"name": "delete"}}
            ]
        });
        if let Some(s) = semantic {
            b["options"] = json!({ "evaluations_semantic": s });
        }
        b
    };
    let all = [granted(), denied("no_grant"), granted(), denied("no_grant")];
    assert_eq!(decisions(&api.post(EVALUATIONS, body(None)).await), all);
    assert_eq!(
        decisions(&api.post(EVALUATIONS, body(Some("execute_all"))).await),
        all
    );
    assert_eq!(
        decisions(
            &api.post(EVALUATIONS, body(Some("deny_on_first_deny")))
                .await
        ),
        all[..2]
    );
    assert_eq!(
        decisions(
            &api.post(EVALUATIONS, body(Some("permit_on_first_permit")))
                .await
        ),
        all[..1]
    );
    let r = api.post(EVALUATIONS, body(Some("first_wins"))).await;
    assert_invalid(&r, &["options.evaluations_semantic"]);
}

#[tokio::test]
async fn no_or_empty_evaluations_is_one_evaluation() {
    let api = Api::new().await;
    let (_, a) = api.named_asset("one").await;
    grant(&api, grant_body(&a, "o", "read")).await;
    let single = evaluate(&api, question("o", &a, "read")).await;
    for extra in [json!({}), json!({"evaluations": []})] {
        let body = with(question("o", &a, "read"), extra);
        let r = api.post(EVALUATIONS, body).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body, single);
    }
}

#[tokio::test]
async fn over_100_items_or_groups_and_bad_items_are_a_400_for_the_whole_batch() {
    let api = Api::new().await;
    let (_, a) = api.named_asset("limits").await;
    let items: Vec<Value> = (0..101).map(|_| item(&a, "read")).collect();
    let r = api
        .post(
            EVALUATIONS,
            json!({"subject": {"type": "person", "id": "x"}, "evaluations": items}),
        )
        .await;
    assert_invalid(&r, &["evaluations"]);
    let groups: Vec<String> = (0..101).map(|i| format!("g{i}")).collect();
    let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
    let r = api
        .post(EVALUATION, question_with_groups("x", &groups, &a, "read"))
        .await;
    assert_invalid(&r, &["subject.properties.groups"]);
    let r = api
        .post(
            EVALUATIONS,
            json!({"evaluations": [question_with_groups("x", &groups, &a, "read")]}),
        )
        .await;
    assert_invalid(&r, &["evaluations[0].subject.properties.groups"]);
    // One malformed item fails the batch, naming it; nothing is read.
    let r = api
        .expect_requests(&[], api.post(EVALUATIONS, json!({
            "subject": {"type": "person", "id": "x"},
            "evaluations": [item(&a, "read"), {"resource": {"type": "account", "id": a}, "action": {"name": "read"}}, item(&a, "")]
        })))
        .await;
    assert_invalid(
        &r,
        &["evaluations[1].resource.type", "evaluations[2].action.name"],
    );
}

/// One wave of BatchGetItem of ≤ 100 keys each for the whole batch; never a Query.
#[tokio::test]
async fn a_batch_is_one_wave_of_batch_gets() {
    let api = Api::new().await;
    let (_, a) = api.named_asset("wave").await;
    grant(&api, grant_body(&a, "w", "act-7")).await;
    let batch = |n: usize| {
        let items: Vec<Value> = (0..n).map(|i| item(&a, &format!("act-{i}"))).collect();
        json!({"subject": {"type": "person", "id": "w"}, "evaluations": items})
    };
    // 50 items on one asset: the asset once and 50 guards, 51 keys.
    let r = after_batch_gets(&api, 1, EVALUATIONS, batch(50)).await;
    assert_eq!(r["evaluations"].as_array().unwrap().len(), 50);
    assert_eq!(verdict(&r["evaluations"][7]), granted());
    // 100 items: 101 keys, two requests in the one wave.
    let r = after_batch_gets(&api, 2, EVALUATIONS, batch(100)).await;
    let granted_at: Vec<usize> = r["evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(_, d)| d["decision"] == true)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(granted_at, [7]);
    // 100 items of 100 groups each: 10,101 distinct keys, still one wave (102 requests).
    let groups: Vec<String> = (0..100).map(|i| format!("grp-{i}")).collect();
    let items: Vec<Value> = (0..100).map(|i| item(&a, &format!("act-{i}"))).collect();
    let body = json!({"subject": {"type": "person", "id": "w", "properties": {"groups": groups}}, "evaluations": items});
    // The counter counts attempts: 102 requests in flight at once on a loaded 2-core CI machine
    // can meet a transport timeout the SDK retries, so this one allows a few retried attempts;
    // still only BatchGetItem (never a Query), and never one request per item or per key.
    api.counter.reset();
    let r = api.post(EVALUATIONS, body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let counts = api.counter.snapshot();
    assert_eq!(
        counts.keys().collect::<Vec<_>>(),
        ["BatchGetItem"],
        "{counts:?}"
    );
    let attempts = counts["BatchGetItem"];
    assert!(
        (102..=110).contains(&attempts),
        "{attempts} BatchGetItem attempts"
    );
    assert_eq!(r.body["evaluations"].as_array().unwrap().len(), 100);
}
