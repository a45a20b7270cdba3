//! Technology assets: create/get/patch/delete, the record envelope, name uniqueness, If-Match, deletes blocked by live entitlements, DynamoDB request counts.

use super::*;

#[tokio::test]
async fn server_owned_envelope_fields_in_a_body_are_ignored() {
    let api = Api::new().await;
    let foreign = foreign_envelope("ast_01JD3Q9Z8X4K2M7N5P6R8S0T1V");
    let mut body = foreign.clone();
    body["name"] = json!("sdk-echo");
    let r = api.post(BASE, body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.header("etag"), Some("\"1\""));
    let created = r.body;
    let id = id_of(&created);
    assert_ne!(id, "ast_01JD3Q9Z8X4K2M7N5P6R8S0T1V");
    assert_fresh_envelope(&api, &created);
    assert_ne!(created["created_at"], "2001-01-01T00:00:00.000Z");
    assert_eq!(created["schema_version"], 1);
    assert_eq!(current_asset(&api, &id).await, created);
    assert!(api
        .stored(
            &format!("T#{}#AST", api.tenant),
            "ast_01JD3Q9Z8X4K2M7N5P6R8S0T1V"
        )
        .await
        .is_none());

    // A PATCH echoing a whole foreign envelope changes only what it may.
    let mut patch = foreign.clone();
    patch["vendor"] = json!("acme");
    let r = api.patch(&url(&id), patch).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["vendor"], "acme");
    assert_eq!(r.body["revision"], 2);
    assert_eq!(r.body["is_deleted"], false);
    assert_eq!(r.body["tenant_id"], api.tenant);
    assert_eq!(r.body["id"], id);
    assert_eq!(r.body["created_at"], created["created_at"]);
    assert_eq!(r.body["created_by"], "user-1");
    assert_eq!(current_asset(&api, &id).await, r.body);
}

#[tokio::test]
async fn source_and_source_type_are_the_clients() {
    let api = Api::new().await;
    let sent = json!({"name": "sourced", "source": "cmdb", "source_type": "backend"});
    let r = api.post(BASE, sent).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["source"], "cmdb");
    assert_eq!(r.body["source_type"], "backend");
    let id = id_of(&r.body);

    for st in ["frontend", "backend", "server", "system", "api"] {
        let r = api.patch(&url(&id), json!({"source_type": st})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["source_type"], st);
        assert_eq!(r.body["source"], "cmdb");
    }
    let before = current_asset(&api, &id).await;
    for (body, field) in [
        (json!({"source_type": "robot"}), "source_type"),
        (json!({"source_type": "API"}), "source_type"),
        (json!({"source_type": null}), "source_type"),
        (json!({"source_type": 1}), "source_type"),
        (json!({"source": null}), "source"),
        (json!({"source": ""}), "source"),
        (json!({"source": 7}), "source"),
        (json!({"source": "x".repeat(101)}), "source"),
    ] {
        let r = api.patch(&url(&id), body.clone()).await;
        assert_invalid_for(&r, &[field], &body);
        let mut create = body.clone();
        create["name"] = json!("other-source");
        let r = api.post(BASE, create).await;
        assert_invalid_for(&r, &[field], &body);
    }
    assert_asset_unchanged(&api, &before).await;
}

// ------------------------------------------------------------------------------------------
// Fields
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn responses_carry_every_schema_field_and_normalised_timestamps() {
    let api = Api::new().await;
    let expected_keys: BTreeSet<String> = ENVELOPE_KEYS
        .iter()
        .chain(ASSET_KEYS.iter())
        .map(|s| s.to_string())
        .collect();
    assert_eq!(expected_keys.len(), 32);

    let minimal = api.asset(json!({"name": "minimal"})).await;
    let keys: BTreeSet<String> = minimal.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, expected_keys);
    for k in ASSET_KEYS {
        let want = match *k {
            "name" => json!("minimal"),
            "status" => json!("active"),
            _ => Value::Null,
        };
        assert_eq!(minimal[*k], want, "{k}");
    }
    assert_eq!(minimal["source"], "edm");
    assert_eq!(minimal["source_type"], "api");
    assert_eq!(minimal["schema_version"], 1);
    assert_eq!(minimal["is_deleted"], false);
    let created_at = minimal["created_at"].as_str().unwrap();
    assert!(is_utc_millis(created_at), "{created_at}");
    assert_eq!(minimal["updated_at"], minimal["created_at"]);

    let full = json!({
        "name": "full-house",
        "display_name": "Full House",
        "description": "Every field set",
        "type": "application",
        "category": "erp",
        "vendor": "Acme",
        "version": "1.2.3",
        "status": "deprecated",
        "owner": {"person_id": "p1", "group_id": "g1"},
        "environment": "production",
        "hosting": "cloud",
        "cloud_provider": "aws",
        "region": "eu-west-1",
        "url": "https://full.example.com/x?y=1",
        "tags": ["a", "b"],
        "criticality": "high",
        "data_classification": "restricted",
        "owner_id": "o-1",
    });
    let r = api.post(BASE, full.clone()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let keys: BTreeSet<String> = r.body.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, expected_keys);
    for k in ASSET_KEYS {
        assert_eq!(r.body[*k], full[*k], "{k}");
    }
    let owner_keys = member_names(&r.body["owner"]);
    assert_eq!(owner_keys, BTreeSet::from(["person_id", "group_id"]));
    let id = id_of(&r.body);
    assert_eq!(current_asset(&api, &id).await, r.body);
    let created_at_full = r.body["created_at"].clone();

    // An owner without a group shows group_id: null.
    let body = json!({"name": "solo-owner", "owner": {"person_id": "p2"}});
    let r = api.post(BASE, body).await;
    assert_eq!(
        r.body["owner"],
        json!({"person_id": "p2", "group_id": null})
    );

    // PATCH moves updated_* and the revision, never created_*.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let other = api.token_for("user-2", None, &common::all_scopes());
    let p = api
        .patch_as(&url(&id), &other, json!({"region": "eu-west-2"}))
        .await;
    assert_eq!(p.status, 200, "{}", p.text);
    let keys: BTreeSet<String> = p.body.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, expected_keys);
    assert_eq!(p.body["created_at"], created_at_full);
    assert_eq!(p.body["created_by"], "user-1");
    assert_eq!(p.body["updated_by"], "user-2");
    let updated_at = p.body["updated_at"].as_str().unwrap();
    assert!(is_utc_millis(updated_at), "{updated_at}");
    assert!(updated_at > p.body["created_at"].as_str().unwrap());

    // Deleted: the deletion stamps are normalised too.
    let d = api.delete_as(&url(&id), &other).await;
    assert_eq!(d.status, 204);
    assert!(d.header("x-request-id").is_some());
    assert_eq!(d.text, "");
    let g = current_asset(&api, &id).await;
    let keys: BTreeSet<String> = g.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, expected_keys);
    assert_eq!(g["deleted_by"], "user-2");
    assert!(is_utc_millis(g["deleted_at"].as_str().unwrap()));
    assert_eq!(g["deleted_at"], g["updated_at"]);
    assert_eq!(g["revision"], 3);
}

#[tokio::test]
async fn null_clears_and_absent_keeps_on_patch() {
    let api = Api::new().await;
    let asset = api
        .asset(json!({
            "name": "clearable",
            "display_name": "D",
            "description": "d",
            "type": "t",
            "category": "c",
            "vendor": "v",
            "version": "1",
            "owner": {"person_id": "p"},
            "environment": "test",
            "hosting": "cloud",
            "cloud_provider": "aws",
            "region": "r",
            "url": "https://x.example",
            "tags": ["t"],
            "criticality": "low",
            "data_classification": "public",
            "owner_id": "o",
        }))
        .await;
    let id = id_of(&asset);
    let r = api.patch(&url(&id), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    for k in ASSET_KEYS {
        assert_eq!(r.body[*k], asset[*k], "{k} kept");
    }
    // A PATCH that changes no field writes nothing (API.md §8): same revision and updated_at.
    assert_eq!(r.body["revision"], 1);
    assert_eq!(r.body["updated_at"], asset["updated_at"]);

    let clearable: Vec<&str> = ASSET_KEYS
        .iter()
        .copied()
        .filter(|k| *k != "name" && *k != "status")
        .collect();
    let mut patch = serde_json::Map::new();
    for k in &clearable {
        patch.insert(k.to_string(), Value::Null);
    }
    let r = api.patch(&url(&id), Value::Object(patch)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    for k in &clearable {
        assert_eq!(r.body[*k], Value::Null, "{k} cleared");
    }
    assert_eq!(r.body["name"], "clearable");
    assert_eq!(r.body["status"], "active");
    assert_eq!(r.body["revision"], 2);
    assert_eq!(current_asset(&api, &id).await, r.body);

    // name and status cannot be cleared.
    let before = r.body;
    for (body, fields) in [
        (json!({"name": null}), vec!["name"]),
        (json!({"status": null}), vec!["status"]),
        (
            json!({"name": null, "status": null, "vendor": "x"}),
            vec!["name", "status"],
        ),
    ] {
        let r = api.patch(&url(&id), body).await;
        assert_invalid(&r, &fields);
    }
    assert_asset_unchanged(&api, &before).await;
}

// ------------------------------------------------------------------------------------------
// Name uniqueness
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn duplicate_names_conflict() {
    let api = Api::new().await;
    let first = api.asset(json!({"name": "unique", "vendor": "v1"})).await;
    let r = api
        .post(BASE, json!({"name": "unique", "vendor": "v2"}))
        .await;
    assert_problem(&r, 409, "conflict");
    assert_eq!(r.body["name"], "unique");
    assert!(r.body["detail"].as_str().unwrap().contains("unique"));
    assert_asset_unchanged(&api, &first).await;
    let list = api.get(BASE).await;
    assert_eq!(list.body["items"], json!([first]));

    // Another app of the same tenant: names are unique per tenant.
    let app = api.token_for("svc", Some("app-a"), &common::all_scopes());
    let r = api.post_as(BASE, &app, json!({"name": "unique"})).await;
    assert_problem(&r, 409, "conflict");
}

#[tokio::test]
async fn rename_to_a_taken_name_conflicts_and_renames_free_the_old_name() {
    let api = Api::new().await;
    let a = api.asset(json!({"name": "alpha"})).await;
    let b = api.asset(json!({"name": "beta"})).await;

    let r = api
        .patch(&url(&id_of(&b)), json!({"name": "alpha", "vendor": "x"}))
        .await;
    assert_problem(&r, 409, "conflict");
    assert_eq!(r.body["name"], "alpha");
    assert_asset_unchanged(&api, &a).await;
    assert_asset_unchanged(&api, &b).await;

    // A rename to its own name is no rename.
    let r = api.patch(&url(&id_of(&b)), json!({"name": "beta"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["revision"], 1, "and, changing nothing, no write");

    let r = api.patch(&url(&id_of(&b)), json!({"name": "gamma"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["name"], "gamma");
    assert_eq!(r.body["revision"], 2);
    // The old name is free, the new one taken.
    let r = api.post(BASE, json!({"name": "beta"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = api.post(BASE, json!({"name": "gamma"})).await;
    assert_problem(&r, 409, "conflict");
    // And renaming back onto the recreated name conflicts.
    let r = api.patch(&url(&id_of(&a)), json!({"name": "beta"})).await;
    assert_problem(&r, 409, "conflict");
    assert_asset_unchanged(&api, &a).await;
}

#[tokio::test]
async fn delete_frees_the_name() {
    let api = Api::new().await;
    let old = api.asset(json!({"name": "phoenix"})).await;
    assert_eq!(api.delete(&url(&id_of(&old))).await.status, 204);
    let r = api.post(BASE, json!({"name": "phoenix"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_ne!(id_of(&r.body), id_of(&old));
    // A rename onto a deleted asset's name is fine too.
    let other = api.asset(json!({"name": "ash"})).await;
    assert_eq!(api.delete(&url(&id_of(&r.body))).await.status, 204);
    let p = api
        .patch(&url(&id_of(&other)), json!({"name": "phoenix"}))
        .await;
    assert_eq!(p.status, 200, "{}", p.text);
    // The deleted records keep their names.
    assert_eq!(current_asset(&api, &id_of(&old)).await["name"], "phoenix");
}

#[tokio::test]
async fn names_are_unique_per_tenant_only() {
    let one = Api::new().await;
    let two = Api::new().await;
    let a = one.asset(json!({"name": "shared-name"})).await;
    let b = two.asset(json!({"name": "shared-name"})).await;
    assert_ne!(id_of(&a), id_of(&b));
    assert_eq!(b["tenant_id"], two.tenant);
    // Renaming in one tenant does not free or take anything in the other.
    let r = one.patch(&url(&id_of(&a)), json!({"name": "moved"})).await;
    assert_eq!(r.status, 200);
    assert_problem(
        &two.post(BASE, json!({"name": "shared-name"})).await,
        409,
        "conflict",
    );
    assert_eq!(two.post(BASE, json!({"name": "moved"})).await.status, 201);
}

// ------------------------------------------------------------------------------------------
// If-Match
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn if_match_guards_patch() {
    let api = Api::new().await;
    let (_, id) = api.named_asset("versioned").await;
    let r = patch_if_match(&api, &id, "\"1\"", json!({"vendor": "a"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("etag"), Some("\"2\""));
    let v2 = r.body;

    for stale in ["\"1\"", "\"3\"", "1", "W/\"1\"", "\"0\"", "\"99\""] {
        let r = patch_if_match(&api, &id, stale, json!({"vendor": "b"})).await;
        assert_problem_saying(&r, 412, "precondition-failed", "\"2\"");
        // A stale If-Match wins over a rename conflict too.
        assert_asset_unchanged(&api, &v2).await;
    }
    let r = patch_if_match(&api, &id, "\"1\"", json!({"name": "Bad"})).await;
    // A body that is invalid at any revision is a 400 before a stale If-Match is a 412 (RFC 9110
    // §13.2.1: preconditions are ignored when the request would fail without them).
    assert_invalid(&r, &["name"]);
    assert_asset_unchanged(&api, &v2).await;

    let r = patch_if_match(&api, &id, "*", json!({"vendor": "c"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["revision"], 3);
    let r = patch_if_match(&api, &id, "W/\"3\"", json!({"vendor": "d"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = patch_if_match(&api, &id, "4", json!({"name": "renamed-v"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("etag"), Some("\"5\""));
    let g = api.get(&url(&id)).await;
    assert_eq!(g.header("etag"), Some("\"5\""));
    assert_eq!(g.body["vendor"], "d");
}

#[tokio::test]
async fn if_match_guards_delete() {
    let api = Api::new().await;
    let (_, id) = api.named_asset("careful").await;
    let v2 = api.patch(&url(&id), json!({"vendor": "x"})).await.body;
    for stale in ["\"1\"", "\"3\"", "\"99\""] {
        let r = with_if_match(&api, "DELETE", &url(&id), stale, None).await;
        assert_problem(&r, 412, "precondition-failed");
        assert_asset_unchanged(&api, &v2).await;
    }
    // Still there and its name still taken.
    assert_eq!(api.get(&url(&id)).await.status, 200);
    assert_problem(
        &api.post(BASE, json!({"name": "careful"})).await,
        409,
        "conflict",
    );

    let r = with_if_match(&api, "DELETE", &url(&id), "\"2\"", None).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_problem(&api.get(&url(&id)).await, 404, "not-found");

    let other = api.asset(json!({"name": "careless"})).await;
    let r = with_if_match(&api, "DELETE", &url(&id_of(&other)), "*", None).await;
    assert_eq!(r.status, 204, "{}", r.text);
}

// ------------------------------------------------------------------------------------------
// Live entitlements
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn delete_with_live_entitlements_is_409() {
    let api = Api::new().await;
    let (asset, id) = api.named_asset("entitled").await;
    set_live_entitlements(&api, &id, 2).await;

    let r = api.delete(&url(&id)).await;
    assert_problem(&r, 409, "conflict");
    assert_eq!(r.body["live_entitlements"], 2);
    let detail = r.body["detail"].as_str().unwrap();
    assert!(detail.contains('2'), "{detail}");
    assert!(detail.contains("entitlements"), "{detail}");
    // With a matching If-Match too.
    let r = with_if_match(&api, "DELETE", &url(&id), "\"1\"", None).await;
    assert_problem(&r, 409, "conflict");
    assert_eq!(r.body["live_entitlements"], 2);

    // Still there, unchanged; the live count never leaks into the record.
    let g = api.get(&url(&id)).await;
    assert_eq!(g.status, 200);
    assert_eq!(g.body, asset);
    assert_eq!(g.body["revision"], 1);
    assert!(g.body.get("live_entitlements").is_none());
    assert_problem(
        &api.post(BASE, json!({"name": "entitled"})).await,
        409,
        "conflict",
    );
    let list = api.get(BASE).await;
    assert_eq!(list.body["items"], json!([asset]));

    // A PATCH keeps the count (entitlement transactions own it).
    let p = api.patch(&url(&id), json!({"vendor": "v"})).await;
    assert_eq!(p.status, 200);
    let item = api
        .stored(&format!("T#{}#AST", api.tenant), &id)
        .await
        .unwrap();
    assert_eq!(shared::store::get_n(&item, "live_entitlements"), Some(2));
    let r = api.delete(&url(&id)).await;
    assert_problem(&r, 409, "conflict");

    // One left: singular wording, still blocked; none left: deletable.
    set_live_entitlements(&api, &id, 1).await;
    let r = api.delete(&url(&id)).await;
    assert_problem(&r, 409, "conflict");
    assert_eq!(r.body["live_entitlements"], 1);
    set_live_entitlements(&api, &id, 0).await;
    assert_eq!(api.delete(&url(&id)).await.status, 204);
}

// ------------------------------------------------------------------------------------------
// DynamoDB request counts
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn each_operation_costs_a_fixed_number_of_requests() {
    let api = Api::new().await;

    let r = api
        .expect_answer(
            201,
            &[("TransactWriteItems", 1)],
            api.post(BASE, json!({"name": "counted", "tags": ["x"]})),
        )
        .await;
    let id = id_of(&r.body);

    api.expect_answer(200, &[("GetItem", 1)], api.get(&url(&id)))
        .await;

    api.expect_patch(READ_TRANSACT, &url(&id), json!({"vendor": "v"}))
        .await;

    // Same name sent again is no rename.
    api.expect_patch(
        READ_TRANSACT,
        &url(&id),
        json!({"name": "counted", "region": "r"}),
    )
    .await;

    api.expect_patch(READ_TRANSACT, &url(&id), json!({"name": "recounted"}))
        .await;

    api.expect_answer(200, &[("Query", 1)], api.get(BASE)).await;

    api.expect_answer(204, READ_TRANSACT, api.delete(&url(&id)))
        .await;

    // Refusals that need no data cost nothing.
    api.counter.reset();
    let read = api.token_with(&["technology:read"]);
    api.post_as(BASE, &read, json!({"name": "x"})).await;
    with_authorization(&api, "GET", BASE, None, None).await;
    api.post(BASE, json!({"name": "Bad"})).await;
    api.get(&url("nope")).await;
    assert_eq!(api.counter.total(), 0, "{:?}", api.counter.snapshot());

    // Rejected writes read once and write nothing.
    let (_, other_id) = api.named_asset("counted-two").await;
    api.expect_answer(
        412,
        &[("GetItem", 1)],
        with_if_match(
            &api,
            "PATCH",
            &url(&other_id),
            "\"9\"",
            Some(json!({"vendor": "v"})),
        ),
    )
    .await;
    api.expect_answer(
        400,
        &[("GetItem", 1)],
        api.patch(
            &url(&other_id),
            json!({"hosting": "saas", "cloud_provider": "aws"}),
        ),
    )
    .await;
}

#[tokio::test]
async fn create_get_patch_delete_round_trip() {
    let api = Api::new().await;
    let body = json!({"name": "payments-gateway", "hosting": "cloud", "cloud_provider": "aws", "tags": ["pci"]});
    let r = api.post(BASE, body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("ast_") && id.len() == 30);
    assert_eq!(
        r.header("location"),
        Some(format!("/api/v1/technology/{id}").as_str())
    );
    assert_eq!(r.header("etag"), Some("\"1\""));
    assert_eq!(r.body["tenant_id"], api.tenant);
    assert_eq!(r.body["app_id"], serde_json::Value::Null);
    assert_eq!(r.body["status"], "active");
    assert_eq!(r.body["source"], "edm");
    assert_eq!(r.body["source_type"], "api");
    assert_eq!(r.body["revision"], 1);
    assert_eq!(r.body["created_by"], "user-1");
    assert_eq!(r.body["description"], serde_json::Value::Null);
    assert_eq!(r.body["owner"], serde_json::Value::Null);
    assert!(r.header("x-request-id").is_some());

    api.counter.reset();
    let g = api.get(&format!("/api/v1/technology/{id}")).await;
    assert_eq!(g.status, 200);
    assert_eq!(g.body, r.body);
    assert_eq!(api.counter.total(), 1);

    let edit = json!({"description": "cards", "tags": null});

    let p = api.patch(&format!("/api/v1/technology/{id}"), edit).await;
    assert_eq!(p.status, 200, "{}", p.text);
    assert_eq!(p.body["description"], "cards");
    assert_eq!(p.body["tags"], serde_json::Value::Null);
    assert_eq!(p.body["revision"], 2);
    assert_eq!(p.header("etag"), Some("\"2\""));

    let d = api.delete(&format!("/api/v1/technology/{id}")).await;
    assert_eq!(d.status, 204, "{}", d.text);
    let g = api.get(&format!("/api/v1/technology/{id}")).await;
    assert_problem(&g, 404, "not-found");
    let g = api
        .get(&format!("/api/v1/technology/{id}?include_deleted=true"))
        .await;
    assert_eq!(g.status, 200);
    assert_eq!(g.body["is_deleted"], true);
    assert_eq!(g.body["revision"], 3);
}

#[tokio::test]
async fn concurrent_creates_of_one_name_yield_one_winner() {
    let api = Api::new().await;
    let statuses = race(20, |_| {
        let api = api.clone();
        async move { api.post(BASE, json!({"name": "racy"})).await.status }
    })
    .await;
    assert_tally(&statuses, &[(201, 1), (409, 19)]);
    let list = api.get(BASE).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
}
