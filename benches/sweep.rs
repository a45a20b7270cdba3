//! `make bench`: the expiry sweep's rate against the floor set by DynamoDB Local itself.
//!
//! 10,000 due entitlements across 50 tenants are swept, and as many again are expired by the
//! very same transactions from a bare SDK loop (same parallelism, no index reads, no
//! bookkeeping). The ratio of the two rates is the figure: how much the sweep's own work
//! (reading the expiry index, decoding, deciding) costs over the writes it must make.
//!
//! The two alternate in BENCH_SWEEP_CHUNKS chunks (5): each chunk seeds its own share of the
//! entitlements (and of the tenants) for the sweep and sweeps them, and seeds as many for the
//! bare loop and runs it, the first of the two alternating from chunk to chunk; each chunk's
//! ratio is taken on its own, and min / median / max are printed. Run one after the other, a
//! machine's drift (DynamoDB Local's JIT warming up, a neighbour's build) went into the ratio:
//! it swung between 0.59 and 0.97 from run to run. Sizes can be lowered with
//! BENCH_ENTITLEMENTS / BENCH_TENANTS for a quick look.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "stats/mod.rs"]
mod stats;

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
                let new = entitlement::parse_create(map, &granter, now).expect("valid");
                entitlements::create(&api.state, &c, new)
                    .await
                    .expect("seed")
            }
        })
        .buffer_unordered(16)
        .collect()
        .await
}

/// Sweeps `seeded` (everything due in the table): how many expired, in how long.
async fn swept(api: &Api, later: Timestamp, seeded: usize) -> (usize, f64) {
    let t = Instant::now();
    let report = sweep::run(
        &api.state,
        later,
        Instant::now() + Duration::from_secs(3600),
        "bench-sweep",
    )
    .await
    .expect("sweep");
    let secs = t.elapsed().as_secs_f64();
    assert!(
        report.complete && report.expired as usize == seeded,
        "{report:?}"
    );
    (report.expired as usize, secs)
}

/// Expires `seeded` with the sweep's own transactions from a bare loop: how many, how long.
async fn bare(api: &Api, later: Timestamp, seeded: Vec<Entitlement>) -> (usize, f64) {
    let t = Instant::now();
    let done: usize = stream::iter(seeded)
        .map(|ent| async move {
            let mut next = entitlement::expired(&ent, later);
            let writer = Writer::system(entitlement::SWEEP_ACTOR, "bench-bare");
            let event =
                store::history::append(&api.state, &writer, Action::Expired, Some(&ent), &mut next)
                    .expect("event");
            let tx = entitlements::Transition {
                from: &ent,
                to: &next,
                event: &event,
            }
            .end_grant(api.state.table())
            .expect("items");
            usize::from(
                store::transact(&api.state.db, tx.into_items())
                    .await
                    .is_ok(),
            )
        })
        .buffer_unordered(PARALLEL)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .sum();
    (done, t.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() {
    let total = env_or("BENCH_ENTITLEMENTS", 10_000);
    let tenants = env_or("BENCH_TENANTS", 50).max(1);
    let chunks = env_or("BENCH_SWEEP_CHUNKS", 5).max(1);
    let per_tenant = (total / tenants).max(1);
    // Each chunk gets its share of the tenants, each tenant as many grants as in one big run.
    let chunk_tenants = (tenants / chunks).max(1);
    let api = Api::with_own_table().await;
    let later = Timestamp::now().plus_seconds(2 * 3600);

    let (mut seed_secs, mut sweep_total, mut bare_total) = (0.0, (0, 0.0), (0, 0.0));
    let mut ratios = Vec::new();
    for chunk in 0..chunks {
        let mut sweep_run = (0, 0.0);
        let mut bare_run = (0, 0.0);
        // Even chunks sweep first, odd ones run the bare loop first.
        for sweep_now in [chunk % 2 == 0, chunk % 2 == 1] {
            let t = Instant::now();
            let seeded = seed(&api, chunk_tenants, per_tenant).await;
            seed_secs += t.elapsed().as_secs_f64();
            if sweep_now {
                sweep_run = swept(&api, later, seeded.len()).await;
            } else {
                bare_run = bare(&api, later, seeded).await;
            }
        }
        let sweep_rate = sweep_run.0 as f64 / sweep_run.1;
        let bare_rate = bare_run.0 as f64 / bare_run.1;
        ratios.push(sweep_rate / bare_rate);
        println!(
            "chunk {}/{chunks} ({} first): sweep {:>5} in {:>5.2}s = {:>7.1}/s, \
             bare {:>5} in {:>5.2}s = {:>7.1}/s, ratio {:.3}",
            chunk + 1,
            if chunk % 2 == 0 { "sweep" } else { "bare" },
            sweep_run.0,
            sweep_run.1,
            sweep_rate,
            bare_run.0,
            bare_run.1,
            bare_rate,
            sweep_rate / bare_rate
        );
        sweep_total = (sweep_total.0 + sweep_run.0, sweep_total.1 + sweep_run.1);
        bare_total = (bare_total.0 + bare_run.0, bare_total.1 + bare_run.1);
    }
    println!(
        "seeded {} due entitlements per side in {seed_secs:.1}s ({chunks} chunks of {} tenants \
         x {per_tenant})",
        sweep_total.0, chunk_tenants
    );
    println!(
        "expiry sweep : {:>6} expired in {:>6.2}s = {:>7.1}/s",
        sweep_total.0,
        sweep_total.1,
        sweep_total.0 as f64 / sweep_total.1
    );
    println!(
        "bare SDK loop: {:>6} expired in {:>6.2}s = {:>7.1}/s",
        bare_total.0,
        bare_total.1,
        bare_total.0 as f64 / bare_total.1
    );
    let (min, mid, max) = stats::min_med_max(&ratios);
    println!(
        "ratio sweep/bare, per chunk: min {min:.3} / median {mid:.3} / max {max:.3} \
         (aim: median >= 0.95, {})",
        if mid >= 0.95 { "met" } else { "MISSED" }
    );
}
