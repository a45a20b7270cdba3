//! Technology asset lists (API.md §5): shape, limits, order, every filter, `q`, deleted records, cursors, the cost of a first page.

use super::*;

// ------------------------------------------------------------------------------------------
// Shape, limit, order
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn empty_list_shape() {
    let api = Api::new().await;
    let r = list(&api, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.header("x-request-id").is_some());
    assert_eq!(r.body, json!({"items": [], "next_cursor": null}));
}

#[tokio::test]
async fn default_limit_is_50_and_pages_hold_limit_items() {
    let api = Api::new().await;
    let bodies = (0..52)
        .map(|i| json!({"name": format!("asset-{i:02}")}))
        .collect();
    let records = seed(&api, bodies).await;
    let expected = newest_first(&records.iter().collect::<Vec<_>>());

    let first = list(&api, &[]).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let keys = member_names(&first.body);
    assert_eq!(keys, BTreeSet::from(["items", "next_cursor"]));
    assert_eq!(ids(&first), expected[..50].to_vec());
    let cursor = cursor_of(&first).expect("a next_cursor after 50 of 52");
    // Items are the records exactly as GET returns them.
    let by_id: HashMap<String, &Value> = records.iter().map(|r| (id_of(r), r)).collect();
    for item in first.body["items"].as_array().unwrap() {
        assert_eq!(item, by_id[&id_of(item)]);
        assert_eq!(item.as_object().unwrap().len(), 32);
    }
    let second = list(&api, &[("cursor", &cursor)]).await;
    assert_eq!(ids(&second), expected[50..].to_vec());
    assert_eq!(second.body["next_cursor"], Value::Null);

    for (limit, size, more) in [
        ("100", 52, false),
        ("52", 52, false),
        ("51", 51, true),
        ("1", 1, true),
    ] {
        let r = list(&api, &[("limit", limit)]).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(ids(&r), expected[..size].to_vec(), "limit {limit}");
        assert_eq!(cursor_of(&r).is_some(), more, "limit {limit}");
    }
}

#[tokio::test]
async fn limit_out_of_range_is_400() {
    let api = Api::new().await;
    api.asset(json!({"name": "one"})).await;
    for bad in [
        "0",
        "101",
        "abc",
        "-1",
        "1.5",
        "",
        " 5",
        "1e2",
        "99999999999999999999999",
    ] {
        let r = list(&api, &[("limit", bad)]).await;
        assert_invalid(&r, &["limit"]);
        assert!(r.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("100"));
    }
    let r = api.get(&format!("{BASE}?limit=5&limit=6")).await;
    assert_invalid(&r, &["limit"]);
    for ok in ["1", "100", "50"] {
        assert_eq!(list(&api, &[("limit", ok)]).await.status, 200);
    }
}

#[tokio::test]
async fn newest_first_by_creation() {
    let api = Api::new().await;
    let records = seed_named(&api, "n", 6).await;
    let expected = newest_first(&records.iter().collect::<Vec<_>>());
    let r = list(&api, &[]).await;
    assert_eq!(ids(&r), expected);
    let mut sorted = expected.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(expected, sorted, "ids are ULIDs: newest sorts last");
    // Updating the oldest does not move it.
    let oldest = id_of(&records[0]);
    let p = api
        .patch(&format!("{BASE}/{oldest}"), json!({"vendor": "v"}))
        .await;
    assert_eq!(p.status, 200);
    assert_eq!(listed(&api, &[]).await, expected);
}

/// The ids a list with these filters answers, newest first.
async fn listed(api: &Api, pairs: &[(&str, &str)]) -> Vec<String> {
    ids(&list(api, pairs).await)
}

// ------------------------------------------------------------------------------------------
// Filters
// ------------------------------------------------------------------------------------------

/// Whether `record` passes the list filters (`q` included), per API.md §5.
fn passes(record: &Value, filters: &[(&str, &str)]) -> bool {
    filters.iter().all(|(k, v)| match *k {
        "tag" => record["tags"]
            .as_array()
            .is_some_and(|t| t.iter().any(|x| x == v)),
        "q" => ["name", "display_name", "description", "vendor"]
            .iter()
            .filter_map(|f| record[*f].as_str())
            .any(|s| s.to_lowercase().contains(&v.to_lowercase())),
        "include_deleted" | "limit" => true,
        field => record[field] == *v,
    })
}

fn catalogue() -> Vec<Value> {
    vec![
        json!({"name": "orders-db", "status": "active", "category": "database", "vendor": "Oracle",
               "criticality": "high", "environment": "production", "hosting": "on_prem",
               "owner_id": "o1", "tags": ["pci", "core"]}),
        json!({"name": "analytics-db", "status": "deprecated", "category": "database",
               "vendor": "Postgres", "criticality": "low", "environment": "staging",
               "hosting": "cloud", "cloud_provider": "aws", "owner_id": "o2", "tags": ["core"]}),
        json!({"name": "old-crm", "status": "decommissioned", "category": "crm", "vendor": "Oracle",
               "criticality": "critical", "environment": "production", "hosting": "saas",
               "owner_id": "o1", "tags": []}),
        json!({"name": "sales-crm", "status": "active", "category": "crm", "vendor": "Salesforce",
               "criticality": "medium", "environment": "development", "hosting": "saas",
               "owner_id": "o3", "tags": ["pci"]}),
        json!({"name": "dr-db", "status": "active", "category": "database", "vendor": "Oracle",
               "criticality": "high", "environment": "dr", "hosting": "hybrid",
               "cloud_provider": "gcp", "owner_id": "o2"}),
        json!({"name": "bare"}),
        json!({"name": "test-rig", "status": "active", "category": "tooling", "vendor": "Postgres",
               "criticality": "low", "environment": "test", "hosting": "cloud",
               "cloud_provider": "azure", "owner_id": "o3", "tags": ["core", "qa"]}),
    ]
}

#[tokio::test]
async fn every_filter_alone_and_combined() {
    let api = Api::new().await;
    let records = seed(&api, catalogue()).await;
    let check = |filters: Vec<(&'static str, &'static str)>| {
        let api = &api;
        let records = &records;
        async move {
            let expected: Vec<String> = records
                .iter()
                .rev()
                .filter(|r| passes(r, &filters))
                .map(id_of)
                .collect();
            let r = list(api, &filters).await;
            assert_eq!(r.status, 200, "{filters:?}: {}", r.text);
            assert_eq!(ids(&r), expected, "{filters:?}");
            assert_eq!(r.body["next_cursor"], Value::Null, "{filters:?}");
            // Every item really matches (not only the expected ids).
            for item in r.body["items"].as_array().unwrap() {
                assert!(passes(item, &filters), "{filters:?}: {item}");
            }
            expected.len()
        }
    };

    let singles: Vec<(&str, Vec<&str>)> = vec![
        ("status", vec!["active", "deprecated", "decommissioned"]),
        (
            "category",
            vec!["database", "crm", "tooling", "none-such", "Database"],
        ),
        (
            "vendor",
            vec!["Oracle", "Postgres", "Salesforce", "oracle", "Ora"],
        ),
        ("criticality", vec!["critical", "high", "medium", "low"]),
        (
            "environment",
            vec!["production", "staging", "development", "test", "dr"],
        ),
        ("hosting", vec!["saas", "cloud", "on_prem", "hybrid"]),
        ("owner_id", vec!["o1", "o2", "o3", "o4", "o"]),
        ("tag", vec!["pci", "core", "qa", "pc", "PCI", "core,pci"]),
    ];
    let mut non_empty = 0;
    let mut sizes = Vec::new();
    for (name, values) in singles {
        for value in values {
            let n = check(vec![(name, value)]).await;
            sizes.push(n);
            if n > 0 {
                non_empty += 1;
            }
        }
    }
    assert!(non_empty >= 20, "the catalogue should exercise the filters");
    assert!(sizes.iter().any(|n| *n >= 3));
    // Exact expectations for a few, independent of the model.
    assert_eq!(check(vec![("status", "active")]).await, 5);
    assert_eq!(check(vec![("vendor", "Oracle")]).await, 3);
    assert_eq!(check(vec![("tag", "core")]).await, 3);
    assert_eq!(check(vec![("vendor", "oracle")]).await, 0);

    // Each combination as the model has it, and for some the exact count too.
    let all_but_q = [
        ("status", "active"),
        ("category", "database"),
        ("vendor", "Oracle"),
        ("criticality", "high"),
        ("environment", "production"),
        ("hosting", "on_prem"),
        ("owner_id", "o1"),
        ("tag", "pci"),
    ];
    type Filters = Vec<(&'static str, &'static str)>;
    // Spelt as query strings so that each combination reads as the request it becomes.
    let parse = |q: &'static str| -> Filters {
        q.split('&').map(|kv| kv.split_once('=').unwrap()).collect()
    };
    let combos: Vec<(Filters, Option<usize>)> = vec![
        (parse("status=active&category=database"), Some(2)),
        (parse("vendor=Oracle&environment=production"), None),
        (parse("category=database&tag=core&hosting=cloud"), None),
        (parse("status=active&criticality=high&owner_id=o2"), None),
        (parse("status=active&tag=pci"), None),
        (parse("status=deprecated&tag=pci"), None),
        (parse("hosting=saas&owner_id=o1&criticality=critical"), None),
        (parse("q=db&status=active"), None),
        (parse("q=ORACLE&tag=core"), None),
        ([&all_but_q[..], &[("q", "orders")]].concat(), None),
        (all_but_q.to_vec(), Some(1)),
    ];
    for (filters, expected) in combos {
        let what = format!("{filters:?}");
        let n = check(filters).await;
        if let Some(expected) = expected {
            assert_eq!(n, expected, "{what}");
        }
    }
}

#[tokio::test]
async fn bad_filter_values_and_unknown_parameters_are_400() {
    let api = Api::new().await;
    api.asset(json!({"name": "something"})).await;
    for (name, value) in [
        ("status", "gone"),
        ("status", "Active"),
        ("criticality", "urgent"),
        ("environment", "prod"),
        ("hosting", "aws"),
        ("hosting", "on-prem"),
    ] {
        let r = list(&api, &[(name, value)]).await;
        assert_invalid(&r, &[name]);
    }
    for name in ["status", "category", "vendor", "tag", "owner_id", "q"] {
        assert_invalid(&list(&api, &[(name, "")]).await, &[name]);
    }
    let long = "x".repeat(201);
    assert_invalid(&list(&api, &[("q", &long)]).await, &["q"]);
    assert_invalid(&list(&api, &[("vendor", &long)]).await, &["vendor"]);
    assert_eq!(
        list(&api, &[("vendor", &"x".repeat(200))]).await.status,
        200
    );

    for name in [
        "foo", "Status", "tags", "name", "owner", "page", "offset", "sort", "type",
    ] {
        let r = list(&api, &[(name, "x")]).await;
        assert_invalid(&r, &[name]);
    }
    let r = api
        .get(&format!("{BASE}?status=active&status=deprecated"))
        .await;
    assert_invalid(&r, &["status"]);
    // Every bad parameter at once.
    let r = list(&api, &[("status", "x"), ("hosting", "y"), ("limit", "0")]).await;
    assert_invalid(&r, &["hosting", "limit", "status"]);
    let r = list(&api, &[("foo", "1"), ("bar", "2")]).await;
    assert_invalid(&r, &["bar", "foo"]);
}

#[tokio::test]
async fn q_is_a_case_insensitive_substring_of_name_display_name_description_vendor() {
    let api = Api::new().await;
    let bodies = vec![
        json!({"name": "payments-gateway", "display_name": "Card Processing",
               "description": "Handles the ACME checkout", "vendor": "Stripe Inc",
               "category": "Searchable-Category", "tags": ["findme"], "owner_id": "qowner",
               "region": "qregion", "type": "qtype", "version": "v9.9"}),
        json!({"name": "uber-service", "description": "Über Service für Zahlungen"}),
        json!({"name": "plain", "vendor": "Oracle"}),
        json!({"name": "percent", "description": "100% literal_match"}),
    ];
    let records = seed(&api, bodies).await;
    // Which records each group of queries finds: the fields searched, their case folded, and
    // the fields not searched (category, tags, owner, region, type, version) that find nothing.
    let cases: &[(&[usize], &[&str])] = &[
        (&[0], &["PAYMENTS", "Gateway", "card proc"]),
        (&[0], &["acme checkout", "stripe", "STRIPE INC"]),
        (&[0, 1, 2, 3], &["e"]),
        (&[], &["searchable", "findme", "qowner"]),
        (&[], &["qregion", "qtype", "v9.9"]),
        (&[1], &["über", "ÜBER", "für"]),
        (&[2], &["oracle"]),
        (&[3], &["%", "_"]),
        (&[], &["*", "nothing-matches-this"]),
    ];
    for (want, queries) in cases {
        let expected: Vec<String> = want.iter().rev().map(|i| id_of(&records[*i])).collect();
        for q in *queries {
            let r = list(&api, &[("q", q)]).await;
            assert_eq!(r.status, 200, "{q}: {}", r.text);
            assert_eq!(ids(&r), expected, "q={q:?}");
        }
    }
    // The search text follows a PATCH.
    let id = id_of(&records[0]);
    let edit = json!({"vendor": "Adyen", "description": null});
    let p = api.patch(&format!("{BASE}/{id}"), edit).await;
    assert_eq!(p.status, 200);
    assert_eq!(listed(&api, &[("q", "stripe")]).await, Vec::<String>::new());
    assert_eq!(listed(&api, &[("q", "acme")]).await, Vec::<String>::new());
    assert_eq!(listed(&api, &[("q", "ADYEN")]).await, vec![id.clone()]);
    let p = api
        .patch(&format!("{BASE}/{id}"), json!({"name": "renamed-thing"}))
        .await;
    assert_eq!(p.status, 200);
    assert_eq!(
        listed(&api, &[("q", "payments")]).await,
        Vec::<String>::new()
    );
    assert_eq!(listed(&api, &[("q", "RENAMED")]).await, vec![id]);
}

#[tokio::test]
async fn deleted_assets_are_left_out_unless_asked_for() {
    let api = Api::new().await;
    let bodies = vec![
        json!({"name": "keep-1", "status": "active"}),
        json!({"name": "drop-1", "status": "active"}),
        json!({"name": "keep-2", "status": "deprecated"}),
    ];
    let records = seed(&api, bodies).await;
    let dropped = id_of(&records[1]);
    assert_eq!(api.delete(&format!("{BASE}/{dropped}")).await.status, 204);

    assert_eq!(
        listed(&api, &[]).await,
        vec![id_of(&records[2]), id_of(&records[0])]
    );
    assert_eq!(
        listed(&api, &[("status", "active")]).await,
        vec![id_of(&records[0])]
    );
    assert_eq!(listed(&api, &[("q", "drop")]).await, Vec::<String>::new());
    assert_eq!(
        listed(&api, &[("include_deleted", "false")]).await,
        vec![id_of(&records[2]), id_of(&records[0])]
    );

    let all = list(&api, &[("include_deleted", "true")]).await;
    assert_eq!(all.status, 200, "{}", all.text);
    assert_eq!(ids(&all), newest_first(&records.iter().collect::<Vec<_>>()));
    let deleted: Vec<&Value> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["is_deleted"] == true)
        .collect();
    assert_eq!(deleted.len(), 1);
    assert_eq!(id_of(deleted[0]), dropped);
    assert_eq!(deleted[0]["deleted_by"], "user-1");
    let r = list(&api, &[("include_deleted", "true"), ("status", "active")]).await;
    assert_eq!(ids(&r), vec![dropped.clone(), id_of(&records[0])]);
    let r = list(&api, &[("include_deleted", "true"), ("q", "DROP")]).await;
    assert_eq!(ids(&r), vec![dropped]);

    let read = api.token_with(&["technology:read"]);
    let r = list_as(
        &api,
        &read,
        &[("include_deleted", "true"), ("status", "active")],
    )
    .await;
    assert_problem(&r, 403, "forbidden");
    let r = list_as(
        &api,
        &api.token_with(&["technology:write"]),
        &[("include_deleted", "true")],
    )
    .await;
    assert_problem(&r, 403, "forbidden");
    assert_invalid(
        &list(&api, &[("include_deleted", "1")]).await,
        &["include_deleted"],
    );
}

// ------------------------------------------------------------------------------------------
// Cursors
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn walking_the_cursor_returns_every_item_once_in_order() {
    let api = Api::new().await;
    let records = seed_named(&api, "walk", 7).await;
    let expected = newest_first(&records.iter().collect::<Vec<_>>());
    let token = api.token();
    let (got, sizes) = walk(&api, &token, &[("limit", "2")]).await;
    assert_eq!(got, expected);
    assert_eq!(sizes, vec![2, 2, 2, 1]);
    let (got, sizes) = walk(&api, &token, &[("limit", "3")]).await;
    assert_eq!(got, expected);
    assert_eq!(sizes, vec![3, 3, 1]);
    let (got, sizes) = walk(&api, &token, &[("limit", "7")]).await;
    assert_eq!(got, expected);
    assert_eq!(sizes, vec![7]);
    let (got, sizes) = walk(&api, &token, &[("limit", "1")]).await;
    assert_eq!(got, expected);
    assert_eq!(sizes, vec![1; 7]);

    // The limit may change between pages (it is not part of the binding).
    let first = list(&api, &[("limit", "2")]).await;
    let c = cursor_of(&first).unwrap();
    let rest = list(&api, &[("limit", "100"), ("cursor", &c)]).await;
    assert_eq!(rest.status, 200, "{}", rest.text);
    assert_eq!(ids(&rest), expected[2..].to_vec());

    // Items created after a cursor was handed out are newer: they do not show up behind it.
    api.asset(json!({"name": "walk-late"})).await;
    let rest = list(&api, &[("limit", "2"), ("cursor", &c)]).await;
    assert_eq!(ids(&rest), expected[2..4].to_vec());
}

#[tokio::test]
async fn walking_a_selective_filter_over_sparse_matches_returns_exactly_the_matches() {
    let api = Api::new().await;
    let rare = [4usize, 17, 25];
    let bodies = (0..30)
        .map(|i| {
            if rare.contains(&i) {
                json!({"name": format!("sparse-{i}"), "category": "rare", "tags": ["needle"],
                       "vendor": "Needle Works"})
            } else {
                json!({"name": format!("sparse-{i}"), "category": "common", "tags": ["hay"]})
            }
        })
        .collect();
    let records = seed(&api, bodies).await;
    let expected: Vec<String> = rare.iter().rev().map(|i| id_of(&records[*i])).collect();
    let token = api.token();
    for filters in [
        vec![("category", "rare")],
        vec![("tag", "needle")],
        vec![("q", "needle works")],
        vec![("category", "rare"), ("tag", "needle")],
    ] {
        for limit in ["1", "2", "3", "50"] {
            let mut f = filters.clone();
            f.push(("limit", limit));
            let (got, sizes) = walk(&api, &token, &f).await;
            assert_eq!(got, expected, "{f:?}");
            assert!(sizes.len() <= 4, "{f:?}: {sizes:?}");
        }
    }
    let (got, sizes) = walk(&api, &token, &[("category", "rare"), ("limit", "2")]).await;
    assert_eq!(got, expected);
    assert_eq!(sizes, vec![2, 1]);
    let (got, _) = walk(&api, &token, &[("category", "common"), ("limit", "4")]).await;
    assert_eq!(got.len(), 27);
    let (got, sizes) = walk(&api, &token, &[("category", "nowhere"), ("limit", "2")]).await;
    assert!(got.is_empty());
    assert_eq!(sizes, vec![0]);
}

#[tokio::test]
async fn walking_past_many_deleted_or_foreign_items_returns_every_match_once() {
    let api = Api::new().await;
    let records = seed_named(&api, "budget", 30).await;
    for r in &records[1..29] {
        let d = api.delete(&format!("{BASE}/{}", id_of(r))).await;
        assert_eq!(d.status, 204);
    }
    let token = api.token();
    let live = vec![id_of(&records[29]), id_of(&records[0])];
    for limit in ["1", "2", "5", "50"] {
        let (got, sizes) = walk(&api, &token, &[("limit", limit)]).await;
        assert_eq!(got, live, "limit {limit}: {sizes:?}");
        // A short page before the end is allowed only with a cursor to continue from.
        assert!(sizes.len() <= 10, "limit {limit}: {sizes:?}");
    }
    let all = newest_first(&records.iter().collect::<Vec<_>>());
    for limit in ["1", "7", "30"] {
        let (got, _) = walk(
            &api,
            &token,
            &[("limit", limit), ("include_deleted", "true")],
        )
        .await;
        assert_eq!(got, all, "include_deleted, limit {limit}");
    }

    // An app sees only its own among many of the person's.
    let app = api.token_for("svc", Some("app-a"), &common::all_scopes());
    let first = api.post_as(BASE, &app, json!({"name": "app-first"})).await;
    assert_eq!(first.status, 201);
    seed_named(&api, "person", 25).await;
    let last = api.post_as(BASE, &app, json!({"name": "app-last"})).await;
    let (got, sizes) = walk(&api, &app, &[("limit", "1")]).await;
    assert_eq!(
        got,
        vec![id_of(&last.body), id_of(&first.body)],
        "{sizes:?}"
    );
}

#[tokio::test]
async fn tampered_or_garbage_cursors_are_400() {
    let api = Api::new().await;
    seed_named(&api, "c", 4).await;
    let first = list(&api, &[("limit", "2")]).await;
    let c = cursor_of(&first).unwrap();
    let flip = |s: &str, at: usize| {
        let mut b = s.as_bytes().to_vec();
        b[at] = if b[at] == b'A' { b'B' } else { b'A' };
        String::from_utf8(b).unwrap()
    };
    let bad = vec![
        flip(&c, 0),
        flip(&c, c.len() / 2),
        flip(&c, c.len() - 2),
        c[..c.len() - 1].to_string(),
        c[1..].to_string(),
        format!("{c}A"),
        format!("{c}.{c}"),
        format!("{c}{c}"),
        "garbage".to_string(),
        "".to_string(),
        "!!!.???".to_string(),
        c.to_uppercase(),
    ];
    for cursor in bad {
        let r = list(&api, &[("limit", "2"), ("cursor", &cursor)]).await;
        assert_invalid(&r, &["cursor"]);
        assert!(!r.text.contains("T#"), "{}", r.text);
    }
    let r = api
        .get(&format!("{BASE}?limit=2&cursor={c}&cursor={c}"))
        .await;
    assert_invalid(&r, &["cursor"]);
    assert_eq!(
        list(&api, &[("limit", "2"), ("cursor", &c)]).await.status,
        200
    );
}

#[tokio::test]
async fn forged_cursors_cannot_reach_another_tenant() {
    let api = Api::new().await;
    let victim = Api::new().await;
    let secret_item = victim.asset(json!({"name": "victims-secret"})).await;
    api.asset(json!({"name": "mine"})).await;

    let binding = shared::cursor::Binding {
        tenant_id: api.tenant.clone(),
        app_id: None,
        collection: "technology",
        filters: Default::default(),
    };
    let victim_key = HashMap::from([
        (
            "PK".to_string(),
            shared::store::s(format!("T#{}#AST", victim.tenant)),
        ),
        ("SK".to_string(), shared::store::s("ast_~")),
    ]);
    // Signed with our secret for our binding, but positioned in the victim's partition.
    let forged =
        shared::cursor::encode(common::CURSOR_SECRET.as_bytes(), &binding, &victim_key).unwrap();
    let r = list(&api, &[("cursor", &forged)]).await;
    assert_invalid(&r, &["cursor"]);
    assert!(!r.text.contains("victims-secret"));
    // Signed with another secret.
    let own_key = HashMap::from([
        (
            "PK".to_string(),
            shared::store::s(format!("T#{}#AST", api.tenant)),
        ),
        ("SK".to_string(), shared::store::s("ast_~")),
    ]);
    let foreign = shared::cursor::encode(
        b"not-the-cursor-secret-0123456789abcdef",
        &binding,
        &own_key,
    )
    .unwrap();
    assert_invalid(&list(&api, &[("cursor", &foreign)]).await, &["cursor"]);
    // The genuine article works (sanity check of the forging above).
    let genuine =
        shared::cursor::encode(common::CURSOR_SECRET.as_bytes(), &binding, &own_key).unwrap();
    let r = list(&api, &[("cursor", &genuine)]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    assert_unchanged_secret(&victim, &secret_item).await;
}

async fn assert_unchanged_secret(victim: &Api, item: &Value) {
    let g = victim.get(&format!("{BASE}/{}", id_of(item))).await;
    assert_eq!(&g.body, item);
}

#[tokio::test]
async fn a_cursor_is_bound_to_its_tenant_app_and_filters() {
    let api = Api::new().await;
    let scopes = common::all_scopes();
    for i in 0..4 {
        api.asset(json!({"name": format!("bound-{i}"), "status": "active", "vendor": "Acme"}))
            .await;
    }
    let app_a = api.token_for("svc-a", Some("app-a"), &scopes);
    let app_a2 = api.token_for("svc-a-2", Some("app-a"), &scopes);
    let app_b = api.token_for("svc-b", Some("app-b"), &scopes);
    for i in 0..4 {
        let r = api
            .post_as(BASE, &app_a, json!({"name": format!("app-bound-{i}")}))
            .await;
        assert_eq!(r.status, 201);
    }
    let person = api.token();
    let other_tenant = api.token_in("tenant-elsewhere", "user-1", None, &scopes);

    let page = list(
        &api,
        &[("limit", "1"), ("status", "active"), ("vendor", "Acme")],
    )
    .await;
    let c = cursor_of(&page).unwrap();
    // Another tenant, an app, other filters, include_deleted: all 400.
    for (token, filters) in [
        (
            &other_tenant,
            vec![("status", "active"), ("vendor", "Acme")],
        ),
        (&app_a, vec![("status", "active"), ("vendor", "Acme")]),
        (&person, vec![("status", "active")]),
        (&person, vec![("vendor", "Acme")]),
        (&person, vec![]),
        (&person, vec![("status", "deprecated"), ("vendor", "Acme")]),
        (&person, vec![("status", "active"), ("vendor", "Acme Corp")]),
        (
            &person,
            vec![("status", "active"), ("vendor", "Acme"), ("q", "bound")],
        ),
        (
            &person,
            vec![("status", "active"), ("vendor", "Acme"), ("tag", "x")],
        ),
        (
            &person,
            vec![
                ("status", "active"),
                ("vendor", "Acme"),
                ("include_deleted", "true"),
            ],
        ),
    ] {
        let mut f = filters.clone();
        f.push(("limit", "1"));
        f.push(("cursor", &c));
        let r = list_as(&api, token, &f).await;
        assert_invalid(&r, &["cursor"]);
    }
    // Same filters in another order, another limit, include_deleted=false: fine.
    let r = list_as(
        &api,
        &person,
        &[
            ("vendor", "Acme"),
            ("include_deleted", "false"),
            ("limit", "10"),
            ("status", "active"),
            ("cursor", &c),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 3);

    // q is compared case-insensitively, as it matches.
    let page = list(&api, &[("limit", "1"), ("q", "BOUND")]).await;
    let qc = cursor_of(&page).unwrap();
    let r = list(&api, &[("limit", "1"), ("q", "bound"), ("cursor", &qc)]).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // App cursors: not for the person, not for another app; for the same app, yes.
    let page = list_as(&api, &app_a, &[("limit", "1")]).await;
    assert_eq!(page.status, 200);
    let ac = cursor_of(&page).unwrap();
    assert_invalid(
        &list_as(&api, &person, &[("limit", "1"), ("cursor", &ac)]).await,
        &["cursor"],
    );
    assert_invalid(
        &list_as(&api, &app_b, &[("limit", "1"), ("cursor", &ac)]).await,
        &["cursor"],
    );
    let r = list_as(&api, &app_a2, &[("limit", "1"), ("cursor", &ac)]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // And a person's cursor is not an app's.
    let pc = cursor_of(&list(&api, &[("limit", "1")]).await).unwrap();
    assert_invalid(
        &list_as(&api, &app_a, &[("limit", "1"), ("cursor", &pc)]).await,
        &["cursor"],
    );

    // The app walks exactly its own four.
    let (got, _) = walk(&api, &app_a, &[("limit", "1")]).await;
    assert_eq!(got.len(), 4);
}

// ------------------------------------------------------------------------------------------
// Cost
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_first_page_of_a_small_collection_is_one_query() {
    let api = Api::new().await;
    seed(
        &api,
        (0..5)
            .map(|i| json!({"name": format!("cost-{i}"), "status": "active"}))
            .collect(),
    )
    .await;
    let one_query = std::collections::BTreeMap::from([("Query".to_string(), 1u64)]);
    for filters in [
        vec![],
        vec![("status", "active")],
        vec![("q", "cost"), ("tag", "x")],
        vec![("limit", "5")],
        vec![("include_deleted", "true")],
    ] {
        api.counter.reset();
        let r = list(&api, &filters).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(api.counter.snapshot(), one_query, "{filters:?}");
    }
    // Rejected parameters cost nothing.
    api.counter.reset();
    list(&api, &[("limit", "0")]).await;
    list(&api, &[("cursor", "garbage")]).await;
    assert_eq!(api.counter.total(), 0);
}

#[tokio::test]
async fn q_does_not_match_across_fields() {
    let api = Api::new().await;
    api.asset(json!({"name": "payments-gateway", "display_name": "Card Processing"}))
        .await;
    // The search text separates fields with a control character, which `q` may not contain.
    let r = list(&api, &[("q", "gateway\ncard")]).await;
    assert_invalid(&r, &["q"]);
    let r = list(&api, &[("q", "gateway card")]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(ids(&r), Vec::<String>::new());
}
