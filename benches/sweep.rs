//! `make bench`: the expiry sweep's rate against the floor set by DynamoDB Local itself.
//!
//! Seeds 10,000 due entitlements across 50 tenants, sweeps them, then seeds as many again and
//! issues the very same expiry transactions from a bare SDK loop (same parallelism, no index
//! reads, no bookkeeping). The ratio of the two rates is the figure: how much the sweep's own
//! work (reading the expiry index, decoding, deciding) costs over the writes it must make.
//! Sizes can be lowered with BENCH_ENTITLEMENTS / BENCH_TENANTS for a quick look.

#[path = "../tests/common/mod.rs"]
mod common;

use common::Api;
use futures::stream::{self, StreamExt};
use shared::auth::Caller;
use shared::domain::entitlement::{self, Entitlement, Granter};
use shared::domain::history::{Action, Writer};
use shared::store::{self, entitlements, sweep};
use shared::time::Timestamp;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const PARALLEL: usize = 8;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn caller(tenant: &str) -> Caller {
    Caller {
        tenant_id: tenant.to_string(),
        sub: "bench".into(),
        app_id: None,
        scopes: BTreeSet::new(),
        groups: Vec::new(),
        request_id: "bench".into(),
    }
}

/// `per_tenant` entitlements due in an hour on one asset of each of `tenants` fresh tenants.
async fn seed(api: &Api, tenants: usize, per_tenant: usize) -> Vec<Entitlement> {
    let expires = Timestamp::now().plus_seconds(3600).to_string();
    let mut work = Vec::new();
    for _ in 0..tenants {
        let t = api.other_tenant();
        let asset = t.asset(serde_json::json!({"name": "bench-asset"})).await;
        let aid = asset["id"].as_str().unwrap_or_default().to_string();
        for i in 0..per_tenant {
            work.push((t.tenant.clone(), aid.clone(), i));
        }
    }
    let now = Timestamp::now();
    stream::iter(work)
        .map(|(tenant, aid, i)| {
            let expires = expires.clone();
            async move {
                let c = caller(&tenant);
                let body = serde_json::json!({
                    "asset_id": aid, "principal_id": format!("p{i}"),
                    "principal_type": "person", "entitlement_type": "user", "expires_at": expires,
                });
                let map = body.as_object().cloned().unwrap_or_default();
                let granter = Granter {
                    sub: "bench",
                    is_app: false,
                };
                let (fields, prov) = entitlement::parse_create(map, &granter, now).expect("valid");
                entitlements::create(&api.state, &c, fields, prov)
                    .await
                    .expect("seed")
            }
        })
        .buffer_unordered(16)
        .collect()
        .await
}

#[tokio::main]
async fn main() {
    let total = env_or("BENCH_ENTITLEMENTS", 10_000);
    let tenants = env_or("BENCH_TENANTS", 50);
    let per_tenant = total / tenants;
    let api = Api::with_own_table().await;
    let later = Timestamp::now().plus_seconds(2 * 3600);

    let t = Instant::now();
    seed(&api, tenants, per_tenant).await;
    println!(
        "seeded {} due entitlements in {:.1}s",
        per_tenant * tenants,
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let report = sweep::run(
        &api.state,
        later,
        Instant::now() + Duration::from_secs(3600),
        "bench-sweep",
    )
    .await
    .expect("sweep");
    let sweep_secs = t.elapsed().as_secs_f64();
    assert!(
        report.complete && report.expired as usize == per_tenant * tenants,
        "{report:?}"
    );
    let sweep_rate = report.expired as f64 / sweep_secs;

    let seeded = seed(&api, tenants, per_tenant).await;
    let t = Instant::now();
    let done: usize = stream::iter(seeded)
        .map(|ent| {
            let api = &api;
            async move {
                let mut next = entitlement::expired(&ent, later);
                let writer = Writer::system(entitlement::SWEEP_ACTOR, "bench-bare");
                let event = store::history::append(
                    &api.state,
                    &writer,
                    Action::Expired,
                    Some(&ent),
                    &mut next,
                )
                .expect("event");
                let tx =
                    entitlements::end_grant(&ent, &next, &event, api.state.table()).expect("items");
                usize::from(
                    store::transact(&api.state.db, tx.into_items())
                        .await
                        .is_ok(),
                )
            }
        })
        .buffer_unordered(PARALLEL)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .sum();
    let bare_secs = t.elapsed().as_secs_f64();
    let bare_rate = done as f64 / bare_secs;

    println!(
        "expiry sweep : {:>6} expired in {:>6.2}s = {:>7.1}/s",
        report.expired, sweep_secs, sweep_rate
    );
    println!(
        "bare SDK loop: {:>6} expired in {:>6.2}s = {:>7.1}/s",
        done, bare_secs, bare_rate
    );
    println!(
        "ratio sweep/bare = {:.2} (aim >= 0.90)",
        sweep_rate / bare_rate
    );
}
