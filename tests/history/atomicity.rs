//! No change without its event and no event without its change: a cancelled or failing transaction writes neither; an oversized record is refused whole.

use super::common::proxy::{Fault, FaultProxy};
use super::*;

const WRITE: &str = "TransactWriteItems";

/// `fault` on every attempt the fault client makes.
fn every_attempt(fault: Fault) -> Vec<Fault> {
    vec![fault; FAULT_CLIENT.max_attempts as usize]
}

#[tokio::test]
async fn an_event_key_already_taken_cancels_the_change() {
    let api = Api::new().await;
    let asset = api.asset(json!({"name": "taken"})).await;
    let id = id_of(&asset);
    let pk = shared::keys::history_pk(&api.tenant, &id);
    let sk = shared::keys::history_sk(2);
    let squatter = shared::store::Item::from([
        ("PK".to_string(), shared::store::s(&pk)),
        ("SK".to_string(), shared::store::s(&sk)),
        ("squatter".to_string(), shared::store::s("yes")),
    ]);
    api.put_raw(squatter.clone()).await;
    let r = api
        .patch(&format!("{TECH}/{id}"), json!({"vendor": "acme"}))
        .await;
    // Not the client's doing, nor a store outage: the server's own data refused the write.
    assert_problem(&r, 500, "internal-error");
    assert_asset_unchanged(&api, &asset).await;
    // The one real event is there, and the squatter is as it was: no event was written.
    let first = stored_event(&api, &id, 1).await.expect("event 1");
    let first: Value =
        serde_json::from_str(shared::store::get_s(&first, "event").unwrap()).unwrap();
    assert_eq!(first["action"], "created");
    assert_chain(&[first]);
    assert_eq!(stored_event(&api, &id, 2).await, Some(squatter));
    assert!(stored_event(&api, &id, 3).await.is_none());
}

#[tokio::test]
async fn a_failing_transaction_writes_neither_record_nor_event() {
    for fault in [Fault::ServerError, Fault::Throttle] {
        let direct = Api::new().await;
        let proxy = FaultProxy::start(&endpoint()).await;
        let faulty = direct.through(&proxy).await;
        let asset = direct.asset(json!({"name": "flaky"})).await;
        let id = id_of(&asset);

        proxy.inject(WRITE, every_attempt(fault.clone()));
        let r = faulty
            .patch(&format!("{TECH}/{id}"), json!({"vendor": "acme"}))
            .await;
        assert_problem(&r, 503, "service-unavailable");
        assert_eq!(proxy.pending(), 0, "{fault:?}");
        assert_asset_unchanged(&direct, &asset).await;
        assert_eq!(
            history(&direct, &asset_history(&id)).await.len(),
            1,
            "{fault:?}"
        );
        assert!(stored_event(&direct, &id, 2).await.is_none(), "{fault:?}");

        // A create: no record and no event anywhere in the tenant.
        proxy.inject(WRITE, every_attempt(fault.clone()));
        let r = faulty.post(ENTS, grant_body(&id, "p1", "read")).await;
        assert_problem(&r, 503, "service-unavailable");
        let list = direct.get(&format!("{ENTS}?asset_id={id}")).await;
        assert_eq!(listed_ids(&list), Vec::<String>::new(), "{fault:?}");
        let feed = feed_when(&direct, &direct.token(), "", 1).await;
        let kinds: Vec<&str> = feed
            .iter()
            .map(|e| e["resource_type"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["technology_asset"], "{fault:?}: {feed:?}");
        // Nothing half-written blocks the retry, whose event is revision 2.
        let again = faulty
            .patch(&format!("{TECH}/{id}"), json!({"vendor": "acme"}))
            .await;
        assert_eq!(again.status, 200, "{}", again.text);
        let events = history(&direct, &asset_history(&id)).await;
        assert_eq!(events.len(), 2);
        assert_chain(&events);
    }
}

/// A string of `n` bytes.
fn blob(n: usize) -> String {
    "x".repeat(n)
}

/// `n` attribute values of about 300 bytes each as JSON (a 64-character value, a 200-character
/// name).
fn values(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"value": format!("v{i:0>63}"), "name": blob(200), "status": "active"}))
        .collect()
}

#[tokio::test]
async fn a_record_over_100_kib_is_refused_naming_its_largest_field() {
    let api = Api::new().await;
    // A create: no record, no event.
    let huge = json!({"key": "huge", "name": "Huge", "type": "custom", "values": values(500)});
    let r = api.post(ATTRS, huge).await;
    assert_invalid(&r, &["values"]);
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("102400"),
        "{}",
        r.text
    );
    assert_problem(&api.get(&format!("{ATTRS}/huge")).await, 404, "not-found");
    let list = api.get(ATTRS).await;
    assert_eq!(listed_ids(&list), Vec::<String>::new());
    let feed = api.get("/api/v1/audit-events").await;
    assert_eq!(feed.body["items"], json!([]), "{}", feed.text);

    // Just under the limit fits; an update that takes it over names the record's largest
    // field, not the one the update sent.
    let one = serde_json::to_string(&values(1)[0]).unwrap().len() + 1;
    let n = (102_400 - 2_500) / one;
    let r = api
        .post(
            ATTRS,
            json!({"key": "big", "name": "Big", "type": "custom", "values": values(n)}),
        )
        .await;
    assert_eq!(r.status, 201, "{n} values fit: {}", r.text);
    let attr = r.body;
    let url = format!("{ATTRS}/big");
    let r = api.patch(&url, json!({"description": blob(4000)})).await;
    assert_invalid(&r, &["values"]);
    let r = api.patch(&url, json!({"values": values(n + 20)})).await;
    assert_invalid(&r, &["values"]);
    assert_eq!(read(&api, &url).await, attr, "unchanged");
    assert_eq!(history(&api, &attr_history("big")).await.len(), 1);
    assert!(stored_event(&api, &id_of(&attr), 2).await.is_none());

    // A too-big entitlement (its `attributes` have their own, smaller bound): nothing stored.
    let (_, aid) = api.named_asset("big").await;
    let r = api
        .post(
            ENTS,
            with(
                grant_body(&aid, "p1", "read"),
                json!({"attributes": {"blob": blob(150 * 1024)}}),
            ),
        )
        .await;
    assert_invalid(&r, &["attributes"]);
    let list = api.get(&format!("{ENTS}?asset_id={aid}")).await;
    assert_eq!(listed_ids(&list), Vec::<String>::new());
    assert_eq!(live_count(&api, &aid).await, 0);
}
