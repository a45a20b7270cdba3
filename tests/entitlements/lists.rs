//! Entitlement lists (API.md §5): every filter, bad parameters, `include_deleted`, cursors, and that asset/principal lists read their index.

use super::*;

// ------------------------------------------------------------------------------------------
// Lists
// ------------------------------------------------------------------------------------------

/// Whether a record matches list filters as API.md §5 defines them.
fn matches(e: &Value, filters: &[(&str, &str)]) -> bool {
    let ts = |s: &str| {
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap()
    };
    filters.iter().all(|(name, value)| match *name {
        "privileged" => e["privileged"].as_bool() == Some(*value == "true"),
        "expires_before" => e["expires_at"]
            .as_str()
            .is_some_and(|at| ts(at) < ts(value)),
        "q" => {
            let q = value.to_lowercase();
            ["entitlement_type", "description", "principal_id"]
                .iter()
                .any(|f| {
                    e[*f]
                        .as_str()
                        .is_some_and(|s| s.to_lowercase().contains(&q))
                })
        }
        other => e[other].as_str() == Some(*value),
    })
}

fn query_string(filters: &[(&str, &str)]) -> String {
    filters
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The assets `alpha` and `beta`: their ids.
async fn alpha_and_beta(api: &Api) -> (String, String) {
    let a = asset_id(api, json!({"name": "alpha"})).await;
    (a, asset_id(api, json!({"name": "beta"})).await)
}

#[tokio::test]
async fn every_filter_alone_and_combined() {
    // Own table: one entitlement is made `expired` by the sweep.
    let api = Api::with_own_table().await;
    let (a, b) = alpha_and_beta(&api).await;
    let t5 = in_days(5);
    let specs: Vec<Value> = vec![
        with(
            grant_body(&a, "alice", "admin"),
            json!({"privileged": true, "expires_at": in_days(10), "description": "Admin console"}),
        ),
        with(
            grant_body(&a, "bob", "read"),
            json!({"grant_source": "inherited"}),
        ),
        with(
            grant_body(&a, "devs", "read"),
            json!({"principal_type": "group", "grant_source": "provisioned",
                   "status": "pending_approval", "expires_at": in_days(20)}),
        ),
        expiring_grant_body(&b, "alice", "read", 1),
        grant_body(&b, "alice", "write"),
        with(
            grant_body(&b, "carol", "ADMIN-Ops"),
            json!({"grant_source": "provisioned", "privileged": true, "expires_at": in_days(30)}),
        ),
        with(
            grant_body(&b, "devs", "deploy"),
            json!({"principal_type": "group", "grant_source": "inherited", "status": "pending_approval",
                   "description": "Deploy pipeline"}),
        ),
        with(
            grant_body(&a, "alice", "read"),
            json!({"principal_type": "group", "expires_at": in_days(4)}),
        ),
        grant_body(&a, "admin-bot", "read"),
        expiring_grant_body(&b, "bob", "read", 3),
    ];
    let mut created = Vec::new();
    for s in specs {
        created.push(create(&api, s).await);
    }
    // Revoke two, expire one.
    assert_eq!(revoke(&api, &id_of(&created[4]), None).await.status, 200);
    assert_eq!(revoke(&api, &id_of(&created[9]), None).await.status, 200);
    let report = sweep_at(&api, 2, Duration::from_secs(30)).await;
    assert_eq!(report.expired, 1, "{report:?}");
    assert_live(&api, &a, 5).await;
    assert_live(&api, &b, 2).await;

    // Every record as it is now, newest first.
    let all = api.get(&format!("{BASE}?limit=100")).await;
    assert_eq!(all.status, 200);
    assert_eq!(all.body["next_cursor"], Value::Null);
    let records: Vec<Value> = all.body["items"].as_array().unwrap().clone();
    let mut expected_order: Vec<String> = created.iter().map(id_of).collect();
    expected_order.reverse();
    assert_eq!(ids(&all), expected_order);
    assert_eq!(records[9 - 3]["status"], "expired");
    for r in &records {
        assert_eq!(r, &current(&api, &id_of(r)).await);
    }

    let plus_two = {
        // The same instant as `t5`, written with a +02:00 offset.
        let t = time::OffsetDateTime::parse(&t5, &time::format_description::well_known::Rfc3339)
            .unwrap()
            .to_offset(time::UtcOffset::from_hms(2, 0, 0).unwrap());
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let missing = missing_asset();
    // Each filter alone, value by value; then filters together.
    let alone: [(&str, &[&str]); 9] = [
        ("asset_id", &[&a, &b, &missing]),
        ("principal_id", &["alice", "devs", "nobody"]),
        ("principal_type", &["person", "group"]),
        (
            "status",
            &["active", "pending_approval", "revoked", "expired"],
        ),
        ("entitlement_type", &["read", "ADMIN-Ops", "admin-ops"]),
        ("grant_source", &["direct", "inherited", "provisioned"]),
        ("privileged", &["true", "false"]),
        ("expires_before", &[&t5, &plus_two, "2000-01-01T00:00:00Z"]),
        ("q", &["admin", "ADMIN", "console", "dev", "ali", "zzz"]),
    ];
    let mut queries: Vec<Vec<(&str, &str)>> = alone
        .iter()
        .flat_map(|(key, values)| values.iter().map(|v| vec![(*key, *v)]))
        .collect();
    queries.extend([
        vec![("asset_id", a.as_str()), ("status", "active")],
        vec![("asset_id", a.as_str()), ("principal_id", "alice")],
        vec![("principal_id", "alice"), ("principal_type", "group")],
        vec![("principal_id", "alice"), ("status", "expired")],
        vec![("principal_id", "alice"), ("asset_id", b.as_str())],
        vec![
            ("status", "active"),
            ("privileged", "true"),
            ("expires_before", "2999-01-01T00:00:00Z"),
        ],
        vec![
            ("asset_id", b.as_str()),
            ("grant_source", "provisioned"),
            ("q", "ops"),
        ],
        vec![("q", "read"), ("principal_type", "group")],
        vec![
            ("entitlement_type", "read"),
            ("asset_id", a.as_str()),
            ("principal_type", "person"),
            ("grant_source", "direct"),
            ("privileged", "false"),
            ("status", "active"),
        ],
        vec![("principal_id", "devs"), ("status", "pending_approval")],
        vec![("expires_before", t5.as_str()), ("status", "active")],
    ]);
    let mut non_empty = 0;
    for filters in &queries {
        let expected: Vec<String> = records
            .iter()
            .filter(|e| matches(e, filters))
            .map(id_of)
            .collect();
        if !expected.is_empty() {
            non_empty += 1;
        }
        let qs = query_string(filters);
        // One page, and a walk two at a time: the same records, newest first, each once.
        let r = api.get(&format!("{BASE}?limit=100&{qs}")).await;
        assert_eq!(r.status, 200, "{qs}: {}", r.text);
        assert_eq!(ids(&r), expected, "{qs}");
        assert_eq!(r.body["next_cursor"], Value::Null, "{qs}");
        assert_eq!(walk(&api, &qs, 2).await, expected, "{qs} walked");
    }
    assert!(non_empty >= 30, "the data set exercises the filters");
    // Spot checks that the model above is the contract.
    let r = api.get(&format!("{BASE}?status=expired")).await;
    assert_eq!(ids(&r), vec![id_of(&created[3])]);
    let r = api.get(&format!("{BASE}?q=ADMIN")).await;
    assert_eq!(
        ids(&r),
        vec![id_of(&created[8]), id_of(&created[5]), id_of(&created[0])]
    );
    let r = api
        .get(&format!("{BASE}?expires_before={}", enc(&plus_two)))
        .await;
    assert_eq!(
        ids(&r),
        vec![id_of(&created[9]), id_of(&created[7]), id_of(&created[3])],
        "revoked ones keep their expires_at: {}",
        r.text
    );
}

#[tokio::test]
async fn bad_list_parameters_are_400() {
    let (api, aid) = api_with_crm().await;
    create(&api, grant_body(&aid, "p1", "x")).await;
    let cases = [
        ("principal_type=robot", "principal_type"),
        ("status=deleted", "status"),
        ("status=Active", "status"),
        ("grant_source=manual", "grant_source"),
        ("privileged=yes", "privileged"),
        ("privileged=1", "privileged"),
        ("expires_before=tomorrow", "expires_before"),
        ("expires_before=2026-13-01T00:00:00Z", "expires_before"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("include_deleted=yes", "include_deleted"),
        ("include_deleted=1", "include_deleted"),
        ("deleted=true", "deleted"),
        ("tag=x", "tag"),
        ("asset_id=", "asset_id"),
        ("q=", "q"),
        ("asset_id=a&asset_id=b", "asset_id"),
        ("cursor=garbage", "cursor"),
    ];
    assert_bad_queries(&api, BASE, &cases).await;
    let r = api
        .get(&format!("{BASE}?status=bogus&principal_type=robot&limit=0"))
        .await;
    assert_invalid(&r, &["limit", "principal_type", "status"]);
    // A single entitlement takes `include_deleted` only, and only as true/false.
    let e = walk(&api, "", 10).await;
    let cases = [
        ("include_deleted=yes", "include_deleted"),
        ("deleted=true", "deleted"),
    ];
    assert_bad_queries(&api, &url(&e[0]), &cases).await;
}

/// API.md §2: `include_deleted` is accepted on every list and get, also of entitlements (never
/// deleted, so it changes nothing), and `true` needs `entitlements:write` (403 without).
#[tokio::test]
async fn include_deleted_changes_nothing_and_needs_the_write_scope() {
    let (api, aid, e) = crm_grant(json!({})).await;
    let revoked = create(&api, grant_body(&aid, "p2", "x")).await;
    let revoked = revoke(&api, &id_of(&revoked), None).await.body;
    let all = walk(&api, "", 10).await;
    assert_eq!(all, vec![id_of(&revoked), id_of(&e)]);
    for flag in ["true", "false"] {
        assert_eq!(walk(&api, &format!("include_deleted={flag}"), 1).await, all);
        assert_eq!(
            walk(&api, &format!("include_deleted={flag}&asset_id={aid}"), 10).await,
            all
        );
        for record in [&e, &revoked] {
            let r = api
                .get(&format!("{}?include_deleted={flag}", url(&id_of(record))))
                .await;
            assert_eq!(r.status, 200, "{}", r.text);
            assert_eq!(&r.body, record);
        }
    }
    assert_include_deleted_needs_write(
        &api,
        "entitlements",
        [
            format!("{BASE}?include_deleted=true"),
            format!("{}?include_deleted=true", url(&id_of(&e))),
        ],
    )
    .await;
    // A cursor is bound to the flag like to any filter.
    let first = api.get(&format!("{BASE}?limit=1")).await;
    let c = first.body["next_cursor"].as_str().unwrap().to_string();
    let r = api
        .get(&format!("{BASE}?limit=1&include_deleted=true&cursor={c}"))
        .await;
    assert_eq!(bad_fields(&r), vec!["cursor"]);
}

#[tokio::test]
async fn cursor_walk_returns_every_record_exactly_once() {
    let api = Api::new().await;
    let (a, b) = alpha_and_beta(&api).await;
    let mut all = Vec::new();
    for i in 0..23 {
        let asset = if i % 3 == 0 { &b } else { &a };
        let status = if i % 4 == 0 {
            "pending_approval"
        } else {
            "active"
        };
        all.push(id_of(
            &create(
                &api,
                with(
                    grant_body(asset, &format!("p{}", i % 5), &format!("t{i}")),
                    json!({"status": status}),
                ),
            )
            .await,
        ));
    }
    all.reverse();
    // The grants made `i`-th (0 to 22) for which `keep(i)`, newest first as listed.
    let made = |keep: fn(usize) -> bool| -> Vec<String> {
        let newest_first = all.iter().enumerate().map(|(at, id)| (22 - at, id));
        newest_first
            .filter(|(i, _)| keep(*i))
            .map(|(_, id)| id.clone())
            .collect()
    };
    for limit in [1, 2, 5, 7, 22, 23, 50] {
        let got = walk(&api, "", limit).await;
        assert_eq!(got, all, "limit {limit}");
    }
    let on_a = made(|i| i % 3 != 0);
    for limit in [1, 3, 4, 100] {
        assert_eq!(walk(&api, &format!("asset_id={a}"), limit).await, on_a);
    }
    let p1 = made(|i| i % 5 == 1);
    assert_eq!(walk(&api, "principal_id=p1", 2).await, p1);
    let pending = made(|i| i % 4 == 0);
    assert_eq!(walk(&api, "status=pending_approval", 2).await, pending);
    // Exactly `limit` per page until the last.
    let r = api.get(&format!("{BASE}?limit=10")).await;
    assert_eq!(ids(&r), all[..10].to_vec());
    assert!(r.body["next_cursor"].is_string());
    let r = api.get(&format!("{BASE}?limit=23")).await;
    assert_eq!(ids(&r).len(), 23);
    assert_eq!(r.body["next_cursor"], Value::Null);
}

#[tokio::test]
async fn cursors_are_bound_to_their_filters_tenant_and_app() {
    let api = Api::new().await;
    let (a, b) = alpha_and_beta(&api).await;
    for i in 0..4 {
        create(&api, grant_body(&a, &format!("p{i}"), "x")).await;
        create(&api, grant_body(&b, &format!("p{i}"), "x")).await;
    }
    let cursor_of = |r: &Response| r.body["next_cursor"].as_str().unwrap().to_string();
    let r = api
        .get(&format!("{BASE}?asset_id={a}&status=active&limit=2"))
        .await;
    let c = cursor_of(&r);
    // The same filters (any order, other limit) accept it.
    let ok = api
        .get(&format!(
            "{BASE}?status=active&limit=3&asset_id={a}&cursor={c}"
        ))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ids(&ok).len(), 2);
    for other in [
        format!("asset_id={b}&status=active"),
        format!("asset_id={a}"),
        "status=active".to_string(),
        String::new(),
        format!("asset_id={a}&status=active&principal_id=p1"),
        format!("asset_id={a}&status=pending_approval"),
        format!("asset_id={a}&status=active&q=x"),
    ] {
        let r = api.get(&format!("{BASE}?limit=2&{other}&cursor={c}")).await;
        assert_invalid_for(&r, &["cursor"], &other);
    }
    // Another tenant, an app token, a tampered cursor.
    let other = api.other_tenant();
    let r = other
        .get(&format!(
            "{BASE}?asset_id={a}&status=active&limit=2&cursor={c}"
        ))
        .await;
    assert_problem(&r, 400, "validation-error");
    let app = app_token(&api, "svc", "app-a");
    let r = api
        .get_as(
            &format!("{BASE}?asset_id={a}&status=active&limit=2&cursor={c}"),
            &app,
        )
        .await;
    assert_problem(&r, 400, "validation-error");
    let mut tampered = c.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let r = api
        .get(&format!(
            "{BASE}?asset_id={a}&status=active&limit=2&cursor={tampered}"
        ))
        .await;
    assert_problem(&r, 400, "validation-error");
    // A technology cursor is not an entitlements cursor.
    let t = api.get(&format!("{TECH}?limit=1")).await;
    let tc = cursor_of(&t);
    let r = api.get(&format!("{BASE}?limit=1&cursor={tc}")).await;
    assert_invalid(&r, &["cursor"]);
}

/// Listing one asset's (or one principal's) entitlements reads its index partition only.
///
/// What this proves: 400 entitlements on asset A are created *after* the 3 on asset B, so the
/// newest 400 items of the tenant's entitlement collection are all A's. A list over the
/// tenant's collection with `asset_id` as a filter reads at most 400 items per Query (the
/// per-query read size of `store::list`), so it would need a second Query to reach any of B's
/// items. Listing B in exactly one Query, complete, with `next_cursor: null` — also with
/// `limit=3` — shows the read went straight to B's entitlements. The same holds for a principal.
/// (`index_partition_holds_exactly_what_is_listed` below shows it is the index that is read.)
#[tokio::test]
async fn listing_by_asset_or_principal_is_one_query_of_its_own_entitlements() {
    let api = Api::new().await;
    let (a, b) = alpha_and_beta(&api).await;
    // Newest first, as a list answers.
    let mut on_b = Vec::new();
    for etype in ["t0", "t1", "t2"] {
        on_b.insert(0, id_of(&create(&api, grant_body(&b, "pb", etype)).await));
    }
    for i in 0..400 {
        create(
            &api,
            grant_body(&a, &format!("pa{}", i % 200), &format!("t{}", i / 200)),
        )
        .await;
    }
    assert_live(&api, &b, 3).await;
    assert_eq!(live_count(&api, &a).await, 400);

    for (query, expected) in [
        (format!("asset_id={b}"), &on_b),
        ("principal_id=pb".to_string(), &on_b),
    ] {
        for limit in [100, 3] {
            api.counter.reset();
            let r = api.get(&format!("{BASE}?{query}&limit={limit}")).await;
            assert_eq!(r.status, 200, "{}", r.text);
            assert_eq!(&ids(&r), expected, "{query}");
            assert_eq!(r.body["next_cursor"], Value::Null, "{query} limit {limit}");
            assert_eq!(
                api.counter.snapshot(),
                counts(&[("Query", 1)]),
                "{query} limit {limit}"
            );
        }
    }
    // Filters on top of the index still cost one Query here.
    api.counter.reset();
    let r = api
        .get(&format!(
            "{BASE}?asset_id={b}&entitlement_type=t1&status=active"
        ))
        .await;
    assert_eq!(ids(&r), vec![on_b[1].clone()]);
    assert_eq!(api.counter.snapshot(), counts(&[("Query", 1)]));
    // A's first page: one Query too, and a cursor.
    api.counter.reset();
    let r = api.get(&format!("{BASE}?asset_id={a}&limit=100")).await;
    assert_eq!(ids(&r).len(), 100);
    assert!(r.body["next_cursor"].is_string());
    assert_eq!(api.counter.snapshot(), counts(&[("Query", 1)]));
}

/// Proof that the asset and principal lists read an index, not the tenant's collection: an item
/// placed (straight into the table) in the asset's and principal's index partitions but outside
/// the entitlement collection is listed by `asset_id` and by `principal_id`, and not by the
/// unfiltered list; an entitlement of the same asset stripped of its index keys is the reverse.
#[tokio::test]
async fn index_partition_holds_exactly_what_is_listed() {
    let api = Api::new().await;
    let b = asset_id(&api, json!({"name": "beta"})).await;
    let real = create(&api, grant_body(&b, "pb", "t0")).await;
    let stripped = create(&api, grant_body(&b, "pb", "t1")).await;
    let mut item = api
        .stored(&format!("T#{}#ENT", api.tenant), &id_of(&real))
        .await
        .expect("stored entitlement");
    // A copy outside the collection (another partition), still in both index partitions.
    let decoy_id = format!("ent_{}", ulid::Ulid::generate());
    item.insert(
        "PK".into(),
        shared::store::s(format!("T#{}#DECOY", api.tenant)),
    );
    item.insert("SK".into(), shared::store::s(&decoy_id));
    item.insert("id".into(), shared::store::s(&decoy_id));
    item.insert("GSI1SK".into(), shared::store::s(&decoy_id));
    item.insert("GSI2SK".into(), shared::store::s(&decoy_id));
    api.put_raw(item).await;
    // The other one, taken out of both indexes.
    api.state
        .db
        .update_item()
        .table_name(api.state.table())
        .key("PK", shared::store::s(format!("T#{}#ENT", api.tenant)))
        .key("SK", shared::store::s(id_of(&stripped)))
        .update_expression("REMOVE GSI1PK, GSI1SK, GSI2PK, GSI2SK")
        .send()
        .await
        .expect("strip index keys");

    let by_asset = walk(&api, &format!("asset_id={b}"), 100).await;
    assert_eq!(by_asset, vec![decoy_id.clone(), id_of(&real)]);
    let by_principal = walk(&api, "principal_id=pb", 100).await;
    assert_eq!(by_principal, vec![decoy_id.clone(), id_of(&real)]);
    let everything = walk(&api, "", 100).await;
    assert_eq!(everything, vec![id_of(&stripped), id_of(&real)]);
}
