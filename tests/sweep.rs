//! The expiry sweep end to end (API.md §6), each test on a table of its own because a sweep
//! covers every tenant.

mod common;

use common::*;
use futures::StreamExt;
use serde_json::{json, Value};
use shared::keys;
use shared::store;
use std::time::Duration;

async fn grant(api: &Api, asset_id: &str, principal: &str, extra: Value) -> Value {
    let body = with(grant_body(asset_id, principal, "user"), extra);
    let r = api.post(ENTS, body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body
}

/// A grant to `principal` that expires in a day (due for a sweep run 2 days from now).
async fn due_grant(api: &Api, asset_id: &str, principal: &str) -> Value {
    grant(api, asset_id, principal, json!({"expires_at": in_days(1)})).await
}

#[tokio::test]
async fn due_entitlements_expire_and_nothing_else_changes() {
    let api = Api::with_own_table().await;
    let asset = api.asset(json!({"name": "db"})).await;
    let aid = asset["id"].as_str().unwrap();
    let due = due_grant(&api, aid, "due").await;
    let pending = grant(
        &api,
        aid,
        "pending",
        json!({"expires_at": in_days(1), "status": "pending_approval"}),
    )
    .await;
    let later = grant(&api, aid, "later", json!({"expires_at": in_days(30)})).await;
    let forever = grant(&api, aid, "forever", json!({})).await;
    let revoked = due_grant(&api, aid, "revoked").await;
    let extended = due_grant(&api, aid, "extended").await;
    let rid = revoked["id"].as_str().unwrap();
    assert_eq!(
        api.post(&format!("/api/v1/entitlements/{rid}/revoke"), json!({}))
            .await
            .status,
        200
    );
    let xid = extended["id"].as_str().unwrap();
    let edit = json!({"expires_at": in_days(60)});
    let x = api
        .patch(&format!("/api/v1/entitlements/{xid}"), edit)
        .await;
    assert_eq!(x.status, 200, "{}", x.text);
    assert_eq!(live_count(&api, aid).await, 5);

    let report = sweep_at(&api, 2, Duration::from_secs(30)).await;
    assert_eq!(report.expired, 2, "{report:?}");
    assert!(report.complete);
    assert_eq!(report.tenants.get(&api.tenant), Some(&2));

    for e in [&due, &pending] {
        let id = e["id"].as_str().unwrap();
        let g = api.get(&format!("/api/v1/entitlements/{id}")).await;
        assert_eq!(g.body["status"], "expired");
        assert_eq!(g.body["updated_by"], "system:expiry-sweep");
        assert_eq!(g.body["source_type"], "system");
        assert_eq!(g.body["revision"], e["revision"].as_i64().unwrap() + 1);
        assert!(g.body["expired_at"].as_str().is_some());
        assert_eq!(g.body["updated_at"], g.body["expired_at"]);
        let item = api
            .stored(&format!("T#{}#ENT", api.tenant), id)
            .await
            .unwrap();
        assert!(
            !item.contains_key("EXP_PK"),
            "expired entitlements leave the expiry index"
        );
    }
    for (e, status) in [
        (&later, "active"),
        (&forever, "active"),
        (&revoked, "revoked"),
        (&extended, "active"),
    ] {
        let id = e["id"].as_str().unwrap();
        let g = api.get(&format!("/api/v1/entitlements/{id}")).await;
        assert_eq!(g.body["status"], status, "{id}");
        assert_eq!(g.body["expired_at"], Value::Null);
    }
    assert_eq!(live_count(&api, aid).await, 3);
    // Expiry freed the tuple: it can be granted again.
    grant(&api, aid, "due", json!({})).await;

    let again = sweep_at(&api, 2, Duration::from_secs(30)).await;
    assert_eq!((again.expired, again.complete), (0, true));
}

#[tokio::test]
async fn concurrent_sweeps_expire_each_entitlement_once() {
    let api = Api::with_own_table().await;
    let mut assets = Vec::new();
    for t in 0..3 {
        let tenant = if t == 0 {
            api.clone()
        } else {
            api.other_tenant()
        };
        let asset = tenant.asset(json!({"name": "app"})).await;
        let aid = asset["id"].as_str().unwrap().to_string();
        for i in 0..20 {
            due_grant(&tenant, &aid, &format!("p{i}")).await;
        }
        assets.push((tenant, aid));
    }
    let (a, b) = tokio::join!(
        sweep_at(&api, 2, Duration::from_secs(60)),
        sweep_at(&api, 2, Duration::from_secs(60))
    );
    assert_eq!(a.expired + b.expired, 60, "{a:?} {b:?}");
    for (tenant, aid) in &assets {
        assert_eq!(live_count(tenant, aid).await, 0);
        let l = tenant
            .get(&format!(
                "/api/v1/entitlements?asset_id={aid}&status=expired&limit=100"
            ))
            .await;
        assert_eq!(l.body["items"].as_array().unwrap().len(), 20);
        let total = a.tenants.get(&tenant.tenant).unwrap_or(&0)
            + b.tenants.get(&tenant.tenant).unwrap_or(&0);
        assert_eq!(total, 20);
    }
}

#[tokio::test]
async fn a_short_budget_expires_part_and_the_next_run_the_rest() {
    let api = Api::with_own_table().await;
    let asset = api.asset(json!({"name": "bulk"})).await;
    let aid = asset["id"].as_str().unwrap().to_string();
    // Seeded 8 at a time, as clients would: all 300 grants update one asset's live count.
    futures::stream::iter(0..300)
        .for_each_concurrent(8, |i| {
            let api = api.clone();
            let aid = aid.clone();
            async move {
                due_grant(&api, &aid, &format!("p{i}")).await;
            }
        })
        .await;
    let first = sweep_at(&api, 2, Duration::ZERO).await;
    assert!(!first.complete, "{first:?}");
    assert!(first.expired > 0 && first.expired < 300, "{first:?}");
    let second = sweep_at(&api, 2, Duration::from_secs(60)).await;
    assert!(second.complete);
    assert_eq!(first.expired + second.expired, 300);
    assert_eq!(live_count(&api, &aid).await, 0);
}

/// An entitlement item no decoder accepts (`revision` is not a number, the envelope is
/// missing), due since 2000, in expiry shard `shard` of `api`'s tenant: what a bug or a hand
/// edit could leave behind. Returns its id.
async fn poison(api: &Api, shard: u32) -> String {
    let id = format!("ent_{}", ulid::Ulid::generate());
    let at = "2000-01-01T00:00:00.000Z";
    api.put_raw(store::Item::from([
        (keys::PK.into(), store::s(format!("T#{}#ENT", api.tenant))),
        (keys::SK.into(), store::s(&id)),
        (keys::EXP_PK.into(), store::s(keys::expiry_shard_pk(shard))),
        (
            keys::EXP_SK.into(),
            store::s(keys::expiry_sk(at, &api.tenant, &id)),
        ),
        ("revision".into(), store::s("not a number")),
        ("status".into(), store::s("active")),
        ("expires_at".into(), store::s(at)),
    ]))
    .await;
    id
}

#[tokio::test]
async fn poisoned_items_in_every_shard_do_not_stop_the_sweep_for_anyone() {
    let poisoned = Api::with_own_table().await;
    let others = [poisoned.other_tenant(), poisoned.other_tenant()];
    // The poisoned items sort first in every shard (due since 2000), so each page meets one
    // before any good item.
    let mut bad = Vec::new();
    for shard in 0..keys::EXPIRY_SHARDS {
        bad.push(poison(&poisoned, shard).await);
    }
    let mut due = Vec::new();
    for (tenant, count) in [(&poisoned, 3), (&others[0], 12), (&others[1], 12)] {
        let asset = tenant.asset(json!({"name": "app"})).await;
        let aid = id_of(&asset);
        for i in 0..count {
            let e = due_grant(tenant, &aid, &format!("p{i}")).await;
            due.push((tenant.clone(), id_of(&e)));
        }
    }

    let report = sweep_at(&poisoned, 2, Duration::from_secs(60)).await;
    assert_eq!(
        (
            report.expired,
            report.failed,
            report.skipped,
            report.complete
        ),
        (27, u64::from(keys::EXPIRY_SHARDS), 0, true),
        "{report:?}"
    );
    assert_eq!(report.tenants.get(&poisoned.tenant), Some(&3));
    assert_eq!(report.tenants.get(&others[0].tenant), Some(&12));
    assert_eq!(report.tenants.get(&others[1].tenant), Some(&12));
    for (tenant, id) in &due {
        let g = tenant.get(&format!("/api/v1/entitlements/{id}")).await;
        assert_eq!(g.body["status"], "expired", "{id}: {}", g.text);
    }
    // The bad items are left as they were, for someone to repair; the next run counts them again.
    for id in &bad {
        let item = poisoned
            .stored(&format!("T#{}#ENT", poisoned.tenant), id)
            .await
            .expect("poisoned item stays");
        assert_eq!(store::get_s(&item, "revision"), Some("not a number"));
    }
    let again = sweep_at(&poisoned, 2, Duration::from_secs(60)).await;
    assert_eq!(
        (again.expired, again.failed, again.complete),
        (0, u64::from(keys::EXPIRY_SHARDS), true)
    );

    // The scheduled function still fails its invocation, so the bad data is seen, after the run.
    let err =
        functions::sweep::sweep_once(&poisoned.state, Duration::from_secs(30), "test-sweep-run")
            .await
            .expect_err("a run with failures fails its invocation");
    assert!(err.to_string().contains("\"failed\":16"), "{err}");
}

#[tokio::test]
async fn a_list_page_that_meets_an_undecodable_item_is_a_500_for_that_tenant_only() {
    let poisoned = Api::new().await;
    let other = poisoned.other_tenant();
    let asset = other.asset(json!({"name": "app"})).await;
    grant(&other, &id_of(&asset), "p", json!({})).await;
    let id = poison(&poisoned, 0).await;

    let r = poisoned.get(ENTS).await;
    assert_problem(&r, 500, "internal-error");
    assert!(
        !r.text.contains(&id) && !r.text.contains("T#"),
        "{}",
        r.text
    );
    let ok = other.get(ENTS).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.body["items"].as_array().map(Vec::len), Some(1));
}
