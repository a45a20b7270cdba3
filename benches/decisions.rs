//! `make bench`: access decisions (API.md §9) through the handler against the floor set by
//! DynamoDB Local itself.
//!
//! Single evaluations (a person with four groups: the asset and five guards, one BatchGetItem)
//! and 100-item batches (101 keys, two BatchGetItem calls in one wave) are sent through the
//! route table as a client would send them (token verified, body parsed, decided, serialised);
//! then the very same BatchGetItem requests — same keys, consistent, same projection — are sent
//! from a bare SDK loop at the same parallelism. The ratio of the decision rates is the figure:
//! what the handler's own work costs over the reads it must make. Absolute numbers depend on the
//! machine and on DynamoDB Local; they are noisy. BENCH_SINGLE / BENCH_BATCHES / BENCH_PARALLEL
//! change the sizes.

#[path = "../tests/common/mod.rs"]
mod common;

use aws_sdk_dynamodb::types::KeysAndAttributes;
use common::Api;
use futures::stream::{self, StreamExt};
use serde_json::{json, Value};
use shared::keys::Kind;
use shared::store::{self, decisions, entitlements, Item};
use std::collections::HashMap;
use std::time::{Duration, Instant};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const GROUPS: [&str; 4] = ["g-eng", "g-ops", "g-sec", "g-all"];

/// Rate and latency of `n` runs of `op` (each worth `per_op` decisions) at `parallel`.
struct Run {
    decisions_per_sec: f64,
    p50: Duration,
    p99: Duration,
}

async fn measure<F, Fut>(n: usize, parallel: usize, per_op: usize, op: F) -> Run
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let started = Instant::now();
    let mut latencies: Vec<Duration> = stream::iter(0..n)
        .map(|_| {
            let fut = op();
            async move {
                let t = Instant::now();
                fut.await;
                t.elapsed()
            }
        })
        .buffer_unordered(parallel)
        .collect()
        .await;
    let secs = started.elapsed().as_secs_f64();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Run {
        decisions_per_sec: (n * per_op) as f64 / secs,
        p50: at(0.50),
        p99: at(0.99),
    }
}

/// One BatchGetItem wave of `keys`, as the store sends it (chunks of 100, all at once).
async fn bare(api: &Api, keys: &[Item]) {
    let p = decisions::PROJECTION;
    let calls = keys.chunks(100).map(|chunk| {
        let mut k = KeysAndAttributes::builder()
            .set_keys(Some(chunk.to_vec()))
            .consistent_read(true)
            .projection_expression(p.expression);
        for (placeholder, name) in p.names {
            k = k.expression_attribute_names(*placeholder, *name);
        }
        let request = HashMap::from([(api.state.table().to_string(), k.build().expect("keys"))]);
        api.state
            .db
            .batch_get_item()
            .set_request_items(Some(request))
            .send()
    });
    for out in futures::future::join_all(calls).await {
        let out = out.expect("BatchGetItem");
        assert!(out.unprocessed_keys.is_none_or(|u| u.is_empty()));
    }
}

fn print(name: &str, r: &Run) {
    println!(
        "{name:<34} {:>9.0} decisions/s   p50 {:>7.2} ms   p99 {:>7.2} ms",
        r.decisions_per_sec,
        r.p50.as_secs_f64() * 1e3,
        r.p99.as_secs_f64() * 1e3
    );
}

#[tokio::main]
async fn main() {
    let singles = env_or("BENCH_SINGLE", 3000);
    let batches = env_or("BENCH_BATCHES", 300);
    let parallel = env_or("BENCH_PARALLEL", 8);
    let api = Api::new().await;
    let (_, asset) = api.named_asset("bench-asset").await;
    for (principal, ptype, etype) in [("alice", "person", "read"), ("g-ops", "group", "write")] {
        let body = json!({"asset_id": asset, "principal_id": principal, "principal_type": ptype, "entitlement_type": etype});
        assert_eq!(api.post(common::ENTS, body).await.status, 201);
    }
    let tenant = api.tenant.clone();
    let asset_key = store::key(&tenant, Kind::Asset, &asset);
    let guard = |ptype: &str, pid: &str, etype: &str| {
        entitlements::live_grant_key(&tenant, &asset, ptype, pid, etype)
    };

    // Single: alice with four groups asks for `write` (granted through g-ops).
    let single: Value = json!({
        "subject": {"type": "person", "id": "alice", "properties": {"groups": GROUPS}},
        "resource": {"type": "technology_asset", "id": asset},
        "action": {"name": "write"},
    });
    let mut single_keys = vec![asset_key.clone(), guard("person", "alice", "write")];
    single_keys.extend(GROUPS.iter().map(|g| guard("group", g, "write")));
    // Batch: alice, 100 actions on the asset.
    let items: Vec<Value> = (0..100)
        .map(|i| json!({"action": {"name": if i == 0 { "read".to_string() } else { format!("act-{i}") }}}))
        .collect();
    let batch = json!({
        "subject": {"type": "person", "id": "alice"},
        "resource": {"type": "technology_asset", "id": asset},
        "evaluations": items,
    });
    let mut batch_keys = vec![asset_key.clone(), guard("person", "alice", "read")];
    batch_keys.extend((1..100).map(|i| guard("person", "alice", &format!("act-{i}"))));

    let token = api.token_with(&["access:evaluate"]);
    // As the tests send requests (API Gateway's request, the route table), minus the client's
    // own JSON parsing of the answer: only the status and the first decision are looked at.
    let through_handler = |uri: &'static str, body: Value| {
        let (api, token) = (&api, &token);
        let bytes = serde_json::to_vec(&body).expect("json");
        move || {
            let bytes = bytes.clone();
            async move {
                let mut headers = http::HeaderMap::new();
                headers.insert(
                    "content-type",
                    http::HeaderValue::from_static("application/json"),
                );
                let auth = format!("Bearer {token}");
                headers.insert(
                    "authorization",
                    http::HeaderValue::from_str(&auth).expect("header"),
                );
                let incoming = functions::apigw::Incoming {
                    method: http::Method::POST,
                    uri: http::Uri::from_static(uri),
                    headers,
                    body: bytes,
                    peer: std::net::Ipv4Addr::LOCALHOST.into(),
                };
                let req = functions::apigw::request(incoming, "bench");
                let resp = functions::routes::dispatch(&api.state, req).await;
                assert_eq!(resp.status(), 200);
                let granted = match resp.body() {
                    lambda_http::Body::Text(t) => t.contains("\"decision\":true"),
                    _ => false,
                };
                assert!(granted, "the benchmark's questions are granted");
            }
        }
    };

    // Warm both paths (connections, JIT of DynamoDB Local), then measure each twice,
    // alternating, and keep the better run of each: the figure is the ratio, not one lucky run.
    let single_op = through_handler("/api/v1/access/evaluation", single);
    let batch_op = through_handler("/api/v1/access/evaluations", batch);
    measure(200, parallel, 1, &single_op).await;
    measure(200, parallel, 1, || bare(&api, &single_keys)).await;
    let best = |a: Run, b: Run| {
        if a.decisions_per_sec >= b.decisions_per_sec {
            a
        } else {
            b
        }
    };
    let mut results = Vec::new();
    for _ in 0..2 {
        let h1 = measure(singles, parallel, 1, &single_op).await;
        let b1 = measure(singles, parallel, 1, || bare(&api, &single_keys)).await;
        let h100 = measure(batches, parallel, 100, &batch_op).await;
        let b100 = measure(batches, parallel, 100, || bare(&api, &batch_keys)).await;
        results.push((h1, b1, h100, b100));
    }
    let (a, b) = (results.remove(0), results.remove(0));
    let (h1, b1, h100, b100) = (
        best(a.0, b.0),
        best(a.1, b.1),
        best(a.2, b.2),
        best(a.3, b.3),
    );
    println!("access decisions ({parallel} in flight; absolute figures are noisy)");
    print("evaluation via handler", &h1);
    print("  bare BatchGetItem, same keys", &b1);
    print("evaluations x100 via handler", &h100);
    print("  bare BatchGetItem, same keys", &b100);
    println!(
        "ratio handler/bare: single {:.2}, batch {:.2} (aim >= 0.80)",
        h1.decisions_per_sec / b1.decisions_per_sec,
        h100.decisions_per_sec / b100.decisions_per_sec
    );
}
