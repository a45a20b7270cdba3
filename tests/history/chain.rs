//! The hash chain: hashes recomputed independently over awkward JSON, and `…/history/verify` on valid, tampered, gapped and kept-head chains.

use super::*;
use aws_sdk_dynamodb::types::AttributeValue;

/// An asset with three events (created, two updates): its id and its events.
async fn asset_with_three_events(api: &Api) -> (String, Vec<Value>) {
    let (_, id) = api.named_asset("chain").await;
    for vendor in ["acme", "globex"] {
        let r = api
            .patch(&format!("{TECH}/{id}"), json!({ "vendor": vendor }))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let events = history(api, &asset_history(&id)).await;
    assert_eq!(events.len(), 3);
    (id, events)
}

fn verify_uri(id: &str) -> String {
    format!("{TECH}/{id}/history/verify")
}

async fn verify(api: &Api, uri: &str) -> Value {
    let r = api.get(uri).await;
    assert_eq!(r.status, 200, "{uri}: {}", r.text);
    r.body
}

/// Rewrites the stored `event` text of `id`'s revision `revision` with `edit`.
async fn tamper(api: &Api, id: &str, revision: i64, edit: impl FnOnce(&mut Value)) {
    let item = stored_event(api, id, revision)
        .await
        .expect("the event item");
    let mut event: Value =
        serde_json::from_str(shared::store::get_s(&item, "event").expect("event text")).unwrap();
    edit(&mut event);
    api.state
        .db
        .update_item()
        .table_name(api.state.table())
        .key("PK", item["PK"].clone())
        .key("SK", item["SK"].clone())
        .update_expression("SET #e = :e")
        .expression_attribute_names("#e", "event")
        .expression_attribute_values(":e", AttributeValue::S(event.to_string()))
        .send()
        .await
        .expect("tamper");
}

async fn delete_event(api: &Api, id: &str, revision: i64) {
    api.state
        .db
        .delete_item()
        .table_name(api.state.table())
        .key(
            "PK",
            shared::store::s(shared::keys::history_pk(&api.tenant, id)),
        )
        .key("SK", shared::store::s(shared::keys::history_sk(revision)))
        .send()
        .await
        .expect("delete event");
}

#[tokio::test]
async fn hashes_recompute_independently_over_awkward_json() {
    let api = Api::new().await;
    let (_, aid) = api.named_asset("jcs").await;
    // Numbers JCS writes in ECMAScript form, escapes, non-ASCII and member order that differs
    // between UTF-16 (JCS) and UTF-8 sorting.
    let attributes = json!({
        "tiny": 1e-100, "small": 1e-7, "tenth": 0.1, "int": 9007199254740991_i64, "neg": -5.5,
        "third": 0.3333333333333333, "exp": 1.5e-10, "near": 123456789.125,
        "text": "é \u{2028} \"quoted\" \\ tab\t \u{1F600} \u{7f}",
        "\u{20ac}": 1, "\u{1F600}": 2, "\u{fb33}": 3, "a": [true, false, null, {"z": 1, "b": []}],
    });
    let g = api
        .post(
            ENTS,
            with(
                grant_body(&aid, "p-é", "reader \u{1F600}"),
                json!({"attributes": attributes, "description": "line\nbreak"}),
            ),
        )
        .await;
    assert_eq!(g.status, 201, "{}", g.text);
    let eid = id_of(&g.body);
    let r = api
        .patch(
            &format!("{ENTS}/{eid}"),
            json!({"attributes": {"x": -0.25, "y": 4.35, "zero": 0}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let events = history(&api, &ent_history(&eid)).await;
    assert_eq!(events.len(), 2);
    assert_chain(&events);
    assert_eq!(events[0]["changes"]["attributes"]["to"], attributes);
    let v = verify(&api, &format!("{ENTS}/{eid}/history/verify")).await;
    assert_eq!(
        v,
        json!({"valid": true, "revisions": 2, "head": events[1]["hash"], "broken_at": null})
    );
}

#[tokio::test]
async fn a_valid_chain_verifies_with_its_head() {
    let api = Api::new().await;
    let (id, events) = asset_with_three_events(&api).await;
    assert_chain(&events);
    let v = verify(&api, &verify_uri(&id)).await;
    assert_eq!(
        v,
        json!({"valid": true, "revisions": 3, "head": events[2]["hash"], "broken_at": null})
    );
    // Each kind's verify route.
    let g = api.post(ENTS, grant_body(&id, "p1", "read")).await;
    let eid = id_of(&g.body);
    let v = verify(&api, &format!("{ENTS}/{eid}/history/verify")).await;
    assert_eq!(
        v,
        json!({"valid": true, "revisions": 1, "head": jcs_hash(&history(&api, &ent_history(&eid)).await[0]), "broken_at": null})
    );
    let req = api.post(ARQ, new_request("chain", "member")).await;
    let rid = id_of(&req.body);
    let v = verify(&api, &format!("{ARQ}/{rid}/history/verify")).await;
    assert_fields(&v, json!({"valid": true, "revisions": 1}));
    attribute(&api, "tier", json!({})).await;
    let v = verify(&api, &format!("{ATTRS}/tier/history/verify")).await;
    assert_fields(&v, json!({"valid": true, "revisions": 1}));
}

#[tokio::test]
async fn a_tampered_event_breaks_the_chain_at_its_revision() {
    let api = Api::new().await;
    let (id, _) = asset_with_three_events(&api).await;
    tamper(&api, &id, 2, |e| {
        e["changes"]["vendor"]["to"] = json!("evil")
    })
    .await;
    let v = verify(&api, &verify_uri(&id)).await;
    assert_eq!(v["valid"], false, "{v}");
    assert_eq!(v["broken_at"], 2, "{v}");
    assert_eq!(v["revisions"], 3, "{v}");
    // What is served is what is stored: the client's own check fails there too.
    let events = history(&api, &asset_history(&id)).await;
    assert_eq!(events[1]["changes"]["vendor"]["to"], "evil");
    assert_ne!(jcs_hash(&events[1]), events[1]["hash"].as_str().unwrap());

    // A rewritten event whose hash was recomputed still breaks the chain: the next event's
    // prev_hash no longer matches.
    let api = Api::new().await;
    let (id, _) = asset_with_three_events(&api).await;
    tamper(&api, &id, 2, |e| {
        e["changes"]["vendor"]["to"] = json!("evil");
        e["hash"] = json!(jcs_hash(e));
    })
    .await;
    let v = verify(&api, &verify_uri(&id)).await;
    assert_fields(&v, json!({"valid": false, "broken_at": 3}));
}

#[tokio::test]
async fn a_missing_event_breaks_the_chain_at_the_missing_revision() {
    for (missing, expected) in [(2, 2), (3, 3), (1, 1)] {
        let api = Api::new().await;
        let (id, _) = asset_with_three_events(&api).await;
        delete_event(&api, &id, missing).await;
        let v = verify(&api, &verify_uri(&id)).await;
        assert_eq!(v["valid"], false, "missing {missing}: {v}");
        assert_eq!(v["broken_at"], expected, "missing {missing}: {v}");
    }
}

#[tokio::test]
async fn a_kept_head_is_checked_against_the_chain() {
    let api = Api::new().await;
    let (id, events) = asset_with_three_events(&api).await;
    let uri = verify_uri(&id);
    for (revision, event) in events.iter().enumerate() {
        let kept = format!(
            "{uri}?revision={}&hash={}",
            revision + 1,
            event["hash"].as_str().unwrap()
        );
        let v = verify(&api, &kept).await;
        assert_eq!(
            v,
            json!({"valid": true, "revisions": 3, "head": events[2]["hash"], "broken_at": null}),
            "{kept}"
        );
    }
    // Another hash at that revision (a well-formed one: another revision's).
    let other = events[0]["hash"].as_str().unwrap();
    let v = verify(&api, &format!("{uri}?revision=2&hash={other}")).await;
    assert_fields(&v, json!({"valid": false, "broken_at": 2}));
    let zeros = "0".repeat(64);
    let v = verify(&api, &format!("{uri}?revision=3&hash={zeros}")).await;
    assert_fields(&v, json!({"valid": false, "broken_at": 3}));
    // A head kept past the chain's end: the chain lost it.
    let v = verify(&api, &format!("{uri}?revision=4&hash={other}")).await;
    assert_eq!(v["valid"], false, "{v}");

    let good = events[1]["hash"].as_str().unwrap();
    let upper = good.to_uppercase();
    let short = &good[..63];
    let cases: Vec<(String, &str)> = vec![
        ("revision=2".into(), "hash"),
        (format!("hash={good}"), "revision"),
        (format!("revision=0&hash={good}"), "revision"),
        (format!("revision=-1&hash={good}"), "revision"),
        (format!("revision=two&hash={good}"), "revision"),
        (format!("revision=2&hash={upper}"), "hash"),
        (format!("revision=2&hash={short}"), "hash"),
        (format!("revision=2&hash={good}0"), "hash"),
        ("revision=2&hash=".into(), "hash"),
    ];
    for (query, field) in &cases {
        let r = api.get(&format!("{uri}?{query}")).await;
        assert_invalid_for(&r, &[field], query);
    }
}
