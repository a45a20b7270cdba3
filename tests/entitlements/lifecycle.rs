//! Entitlements: create, PATCH, revoke, one live grant per tuple, the asset's live count, If-Match, routes and `q`, DynamoDB request counts.

use super::*;

// ------------------------------------------------------------------------------------------
// Create: defaults, fields, validation
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn create_applies_defaults_and_returns_every_field() {
    let (api, aid) = api_with_crm().await;
    let before = Timestamp::now().to_string();
    api.counter.reset();
    let r = api.post(BASE, grant_body(&aid, "alice", "admin")).await;
    let after = Timestamp::now().to_string();
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(api.counter.snapshot(), counts(&[("TransactWriteItems", 1)]));
    let e = r.body.clone();
    let id = id_of(&e);
    assert!(id.starts_with("ent_") && id.len() == 30, "{id}");
    assert_eq!(r.header("location"), Some(url(&id).as_str()));
    assert_eq!(r.header("etag"), Some("\"1\""));
    assert_eq!(r.header("content-type"), Some("application/json"));

    assert_members(&e, &[&ENVELOPE_KEYS, &ENTITLEMENT_KEYS]);

    assert_eq!(e["created_at"], e["updated_at"]);
    let defaults = json!({
        "tenant_id": api.tenant, "app_id": null, "created_by": "user-1", "updated_by": "user-1",
        "revision": 1, "source": "edm", "source_type": "api", "is_deleted": false,
        "asset_id": aid, "principal_id": "alice", "principal_type": "person",
        "entitlement_type": "admin", "granted_by_id": "user-1", "grant_source": "direct",
        "status": "active", "privileged": false, "requestable": true,
        "expires_at": null, "description": null, "attributes": null,
        "access_model_metadata": null, "revoked_at": null, "revoked_by": null,
        "revoke_reason": null, "expired_at": null
    });
    assert_fields(&e, defaults);
    let granted_at = e["granted_at"].as_str().unwrap();
    assert!(
        before.as_str() <= granted_at && granted_at <= after.as_str(),
        "granted_at {granted_at} not between {before} and {after}"
    );

    let g = api
        .expect_answer(200, &[("GetItem", 1)], api.get(&url(&id)))
        .await;
    assert_eq!(g.body, e);
    assert_eq!(g.header("etag"), Some("\"1\""));
    assert_live(&api, &aid, 1).await;

    // Every field given; timestamps in any offset come back in UTC; server fields are ignored.
    let full = with(
        grant_body(&aid, "devs", "deploy"),
        json!({
            "principal_type": "group",
            "granted_at": "2026-01-01T01:00:00+01:00",
            "granted_by_id": "manager-7",
            "expires_at": "2099-06-30T23:30:00+02:00",
            "grant_source": "provisioned",
            "status": "pending_approval",
            "privileged": true,
            "requestable": false,
            "description": "Deploys to production",
            "attributes": {"sourceId": "x-1", "nested": {"a": [1, 2]}},
            "source": "okta",
            "source_type": "backend",
            "id": "ent_01JD3Q9Z8X4K2M7N5P6R8S0T1V",
            "tenant_id": "someone-else",
            "revision": 9,
            "created_by": "mallory"
        }),
    );
    let f = create(&api, full).await;
    assert_ne!(f["id"], "ent_01JD3Q9Z8X4K2M7N5P6R8S0T1V");
    let given = json!({
        "tenant_id": api.tenant, "revision": 1, "created_by": "user-1", "principal_type": "group",
        "granted_at": "2026-01-01T00:00:00.000Z", "granted_by_id": "manager-7",
        "expires_at": "2099-06-30T21:30:00.000Z", "grant_source": "provisioned",
        "status": "pending_approval", "privileged": true, "requestable": false,
        "description": "Deploys to production",
        "attributes": {"sourceId": "x-1", "nested": {"a": [1, 2]}},
        "source": "okta", "source_type": "backend"
    });
    assert_fields(&f, given);
    assert_eq!(current(&api, &id_of(&f)).await, f);
    // pending_approval holds a unit of the live count too.
    assert_live(&api, &aid, 2).await;
}

#[tokio::test]
async fn granted_by_id_defaults_to_the_caller_and_to_null_for_apps() {
    let api = Api::new().await;
    let scopes = all_scopes();
    let person = api.token_for("alice-admin", None, &scopes);
    let app = api.token_for("svc-a", Some("app-a"), &scopes);
    let aid = api.asset_as(&app, "app-asset").await;

    let e = create_as(&api, &person, grant_body(&aid, "p1", "x")).await;
    let by_person =
        json!({"granted_by_id": "alice-admin", "created_by": "alice-admin", "app_id": null});
    assert_fields(&e, by_person);
    let e = create_as(&api, &app, grant_body(&aid, "p2", "x")).await;
    assert_fields(
        &e,
        json!({"granted_by_id": null, "created_by": "svc-a", "app_id": "app-a"}),
    );
    let given = with(
        grant_body(&aid, "p3", "x"),
        json!({"granted_by_id": "hr-system"}),
    );
    let e = create_as(&api, &app, given).await;
    assert_eq!(e["granted_by_id"], "hr-system");
    let cleared = with(grant_body(&aid, "p4", "x"), json!({"granted_by_id": null}));
    let e = create_as(&api, &person, cleared).await;
    assert_eq!(e["granted_by_id"], Value::Null);
    assert_live(&api, &aid, 4).await;
}

// ------------------------------------------------------------------------------------------
// One live grant per (asset, principal_type, principal_id, entitlement_type)
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn one_live_grant_per_asset_principal_and_type() {
    let api = Api::new().await;
    let aid = asset_id(&api, json!({"name": "erp"})).await;
    let bid = asset_id(&api, json!({"name": "wms"})).await;
    let first = create(&api, grant_body(&aid, "p1", "admin")).await;
    assert_live(&api, &aid, 1).await;

    let dup = api.post(BASE, grant_body(&aid, "p1", "admin")).await;
    assert_problem(&dup, 409, "conflict");
    assert_eq!(dup.body["asset_id"], aid);
    assert_eq!(dup.body["principal_id"], "p1");
    assert_eq!(dup.body["entitlement_type"], "admin");
    // A duplicate that differs only in governance fields is still the same grant.
    let body = with(
        grant_body(&aid, "p1", "admin"),
        json!({"status": "pending_approval", "grant_source": "inherited", "expires_at": in_days(3),
                       "description": "again"}),
    );
    let dup = api.post(BASE, body).await;
    assert_problem(&dup, 409, "conflict");
    assert_unchanged(&api, &first).await;
    assert_live(&api, &aid, 1).await;

    // Any other tuple is a different grant.
    create(&api, grant_body(&bid, "p1", "admin")).await;
    create(&api, grant_body(&aid, "p2", "admin")).await;
    create(&api, grant_body(&aid, "p1", "read")).await;
    create(&api, grant_body(&aid, "P1", "admin")).await;
    create(&api, grant_body(&aid, "p1", "Admin")).await;
    let group_body = with(
        grant_body(&aid, "p1", "admin"),
        json!({"principal_type": "group"}),
    );
    let group = create(&api, group_body).await;
    assert_eq!(group["principal_type"], "group");
    assert_live(&api, &aid, 6).await;
    assert_live(&api, &bid, 1).await;

    // pending_approval holds the tuple against active and pending alike.
    let pending = create_pending(&api, &aid, "p9", "admin").await;
    for status in ["active", "pending_approval"] {
        let body = with(grant_body(&aid, "p9", "admin"), json!({"status": status}));
        let r = api.post(BASE, body).await;
        assert_problem(&r, 409, "conflict");
    }
    assert_unchanged(&api, &pending).await;
    assert_live(&api, &aid, 7).await;

    // Revoking frees the tuple (for active and for pending).
    assert_eq!(revoke(&api, &id_of(&first), None).await.status, 200);
    assert_eq!(revoke(&api, &id_of(&pending), None).await.status, 200);
    assert_live(&api, &aid, 5).await;
    let again = create(&api, grant_body(&aid, "p1", "admin")).await;
    assert_ne!(again["id"], first["id"]);
    create(&api, grant_body(&aid, "p9", "admin")).await;
    assert_live(&api, &aid, 7).await;
    // Revoked grants never block, and the old records stay as they were.
    let old = current(&api, &id_of(&first)).await;
    assert_eq!(old["status"], "revoked");
}

// ------------------------------------------------------------------------------------------
// PATCH
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn status_cannot_be_patched_to_revoked_or_expired() {
    let (api, aid, e) = crm_grant(json!({})).await;
    for (body, field) in [
        (json!({"status": "revoked"}), "status"),
        (json!({"status": "expired"}), "status"),
        (json!({"status": "bogus"}), "status"),
        (json!({"status": null}), "status"),
        (json!({"privileged": null}), "privileged"),
        (json!({"requestable": null}), "requestable"),
        (json!({"entitlement_type": null}), "entitlement_type"),
        (json!({"entitlement_type": " "}), "entitlement_type"),
        (json!({"revoked_at": "2030-01-01T00:00:00Z"}), "revoked_at"),
        (json!({"revoked_by": "x"}), "revoked_by"),
        (json!({"revoke_reason": "x"}), "revoke_reason"),
        (json!({"expired_at": "2030-01-01T00:00:00Z"}), "expired_at"),
        (
            json!({"access_model_metadata": null}),
            "access_model_metadata",
        ),
        (
            json!({"access_request_id": "arq_01JD3Q9Z8X4K2M7N5P6R8S0T1V"}),
            "access_request_id",
        ),
        (json!({"bogus": 1}), "bogus"),
    ] {
        let r = api.patch(&url(&id_of(&e)), body.clone()).await;
        assert_invalid_for(&r, &[field], &body);
        assert_unchanged(&api, &e).await;
    }
    // Together with valid changes: still nothing written.
    let edit = json!({"status": "revoked", "description": "d", "entitlement_type": "y"});
    let r = api.patch(&url(&id_of(&e)), edit).await;
    assert_invalid(&r, &["status"]);
    assert_unchanged(&api, &e).await;
    // An empty body is 400.
    let mut h = HeaderMap::new();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    let r = api
        .raw("PATCH", &url(&id_of(&e)), &api.token(), h, Vec::new())
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_unchanged(&api, &e).await;
    assert_live(&api, &aid, 1).await;
}

#[tokio::test]
async fn identity_fields_are_immutable_but_may_be_sent_unchanged() {
    let (api, aid) = api_with_crm().await;
    let bid = asset_id(&api, json!({"name": "erp"})).await;
    let e = create_with(
        &api,
        &aid,
        "p1",
        "x",
        json!({"granted_at": "2026-01-01T00:00:00Z", "grant_source": "inherited"}),
    )
    .await;
    let id = id_of(&e);
    for (body, fields) in [
        (json!({"asset_id": bid}), vec!["asset_id"]),
        (json!({"asset_id": null}), vec!["asset_id"]),
        (json!({"principal_id": "p2"}), vec!["principal_id"]),
        (json!({"principal_id": null}), vec!["principal_id"]),
        (json!({"principal_type": "group"}), vec!["principal_type"]),
        (json!({"principal_type": "robot"}), vec!["principal_type"]),
        (
            json!({"asset_id": bid, "principal_id": "p2", "principal_type": "group"}),
            vec!["asset_id", "principal_id", "principal_type"],
        ),
        (
            json!({"granted_at": "2026-01-02T00:00:00Z"}),
            vec!["granted_at"],
        ),
        (json!({"granted_by_id": "someone"}), vec!["granted_by_id"]),
        (json!({"granted_by_id": null}), vec!["granted_by_id"]),
        (json!({"grant_source": "direct"}), vec!["grant_source"]),
        (
            json!({"asset_id": bid, "description": "fine"}),
            vec!["asset_id"],
        ),
    ] {
        let r = api.patch(&url(&id), body.clone()).await;
        assert_invalid_for(&r, &fields, &body);
        assert_unchanged(&api, &e).await;
    }
    assert_live(&api, &aid, 1).await;
    assert_live(&api, &bid, 0).await;

    // The stored values, sent back (an SDK sending the whole record), are accepted.
    let edit = json!({
        "asset_id": aid, "principal_id": "p1", "principal_type": "person",
        "granted_at": "2026-01-01T01:00:00+01:00", "granted_by_id": "user-1",
        "grant_source": "inherited", "description": "kept identity",
        "id": "ent_01JD3Q9Z8X4K2M7N5P6R8S0T1V", "revision": 77, "tenant_id": "x"
    });
    let r = api.patch(&url(&id), edit).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["revision"], 2);
    assert_eq!(r.header("etag"), Some("\"2\""));
    assert_eq!(r.body["description"], "kept identity");
    assert_eq!(r.body["asset_id"], aid);
    assert_eq!(r.body["id"], id);
    assert_eq!(r.body["tenant_id"], api.tenant);
    assert_ne!(r.body["updated_at"], e["updated_at"]);
    assert_eq!(current(&api, &id).await, r.body);
    assert_live(&api, &aid, 1).await;
}

#[tokio::test]
async fn governance_fields_merge_on_patch() {
    let (api, aid, e) =
        crm_grant(json!({"description": "d", "attributes": {"a": 1, "b": 2}})).await;
    let id = id_of(&e);
    let edit = json!({"requestable": false, "attributes": {"c": 3}});
    let r = api.patch(&url(&id), edit).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["requestable"], false);
    assert_eq!(r.body["attributes"], json!({"c": 3}), "replaced whole");
    assert_eq!(r.body["description"], "d", "absent keeps");
    let edit = json!({"description": null, "attributes": null, "privileged": true, "expires_at": in_days(2)});
    let r = api.patch(&url(&id), edit).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["description"], Value::Null);
    assert_eq!(r.body["attributes"], Value::Null);
    assert_eq!(r.body["privileged"], true);
    assert_eq!(r.body["revision"], 3);
    let r = api
        .patch(&url(&id), json!({"source": "sap", "source_type": "server"}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["source"], "sap");
    assert_eq!(r.body["source_type"], "server");
    assert_eq!(current(&api, &id).await, r.body);
    assert_live(&api, &aid, 1).await;
}

#[tokio::test]
async fn patching_entitlement_type_moves_the_grant_guard() {
    let (api, aid) = api_with_crm().await;
    let read = create(&api, grant_body(&aid, "p1", "read")).await;
    let write = create(&api, grant_body(&aid, "p1", "write")).await;
    assert_live(&api, &aid, 2).await;

    // The new tuple is taken: 409, nothing changes.
    let edit = json!({"entitlement_type": "write", "description": "x"});
    let r = api.patch(&url(&id_of(&read)), edit).await;
    assert_problem(&r, 409, "conflict");
    assert_eq!(r.body["entitlement_type"], "write");
    assert_unchanged(&api, &read).await;
    assert_unchanged(&api, &write).await;
    assert_live(&api, &aid, 2).await;
    // The old tuple is still held.
    assert_create_conflicts(&api, grant_body(&aid, "p1", "read")).await;

    // A pending grant holds its tuple against a type change too.
    let pending = create_pending(&api, &aid, "p1", "owner").await;
    let r = api
        .patch(&url(&id_of(&read)), json!({"entitlement_type": "owner"}))
        .await;
    assert_problem(&r, 409, "conflict");
    assert_unchanged(&api, &read).await;
    assert_unchanged(&api, &pending).await;

    // A free type: the guard moves.
    let r = api
        .expect_answer(
            200,
            READ_TRANSACT,
            api.patch(&url(&id_of(&read)), json!({"entitlement_type": "admin"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["entitlement_type"], "admin");
    assert_eq!(r.body["revision"], 2);
    assert_live(&api, &aid, 3).await;
    // Old tuple free, new tuple taken.
    let regrant = create(&api, grant_body(&aid, "p1", "read")).await;
    assert_create_conflicts(&api, grant_body(&aid, "p1", "admin")).await;
    assert_live(&api, &aid, 4).await;
    // The same type sent again is no move.
    let r = api
        .patch(&url(&id_of(&regrant)), json!({"entitlement_type": "read"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // After revoking the moved grant, its new tuple is free and the old one is not re-blocked.
    assert_eq!(revoke(&api, &id_of(&read), None).await.status, 200);
    create(&api, grant_body(&aid, "p1", "admin")).await;
    assert_live(&api, &aid, 4).await;
    // Moving the type of a pending grant works the same way.
    let edit = json!({"entitlement_type": "auditor"});
    let r = api.patch(&url(&id_of(&pending)), edit).await;
    assert_eq!(r.status, 200, "{}", r.text);
    create(&api, grant_body(&aid, "p1", "owner")).await;
    assert_create_conflicts(&api, grant_body(&aid, "p1", "auditor")).await;
    assert_live(&api, &aid, 5).await;
}

#[tokio::test]
async fn patching_status_between_active_and_pending_keeps_the_count() {
    let (api, aid, e) = crm_grant(json!({})).await;
    let id = id_of(&e);
    let r = api
        .patch(&url(&id), json!({"status": "pending_approval"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "pending_approval");
    assert_live(&api, &aid, 1).await;
    // Still holds the tuple.
    assert_create_conflicts(&api, grant_body(&aid, "p1", "x")).await;
    let r = api.patch(&url(&id), json!({"status": "active"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "active");
    assert_eq!(r.body["revision"], 3);
    assert_live(&api, &aid, 1).await;
    // Same status again: a write, same count.
    api.patch(&url(&id), json!({"status": "active"})).await;
    assert_live(&api, &aid, 1).await;
    // Asset delete is blocked either way.
    let d = api.delete(&format!("{TECH}/{aid}")).await;
    assert_problem(&d, 409, "conflict");
    assert_eq!(d.body["live_entitlements"], 1);
}

#[tokio::test]
async fn ended_entitlements_cannot_change() {
    let api = Api::new().await;
    let (aid, e) = crm_with_privacy(&api).await;
    let id = id_of(&e);
    let revoked = revoke(&api, &id, None).await.body;
    for body in [
        json!({"description": "x"}),
        json!({"status": "active"}),
        json!({}),
    ] {
        let r = api.patch(&url(&id), body.clone()).await;
        assert_problem(&r, 409, "conflict");
        assert_unchanged(&api, &revoked).await;
    }
    // Validation is decided before state (API.md §3): a bad PATCH is a 400 here too.
    for (body, field) in [
        (json!({"status": "revoked"}), "status"),
        (json!({"status": "expired"}), "status"),
        (json!({"principal_id": "someone-else"}), "principal_id"),
    ] {
        let r = api.patch(&url(&id), body.clone()).await;
        assert_invalid_for(&r, &[field], &body);
        assert_unchanged(&api, &revoked).await;
    }
    // So is an attribute or value that does not exist.
    for (key, value, field) in [
        ("iscPrivacy", "nope", "attributeValue"),
        ("noSuchKey", "public", "attributeKey"),
    ] {
        let r = add_value(&api, &id, key, value).await;
        assert_invalid(&r, &[field]);
        assert_unchanged(&api, &revoked).await;
    }
    for method in ["POST", "DELETE"] {
        let r = api
            .call(
                method,
                &meta_url(&id, "iscPrivacy", "public"),
                &api.token(),
                None,
            )
            .await;
        assert_problem(&r, 409, "conflict");
        assert_unchanged(&api, &revoked).await;
    }
    assert_live(&api, &aid, 0).await;
}

// ------------------------------------------------------------------------------------------
// Revoke
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn revoke_stamps_and_is_idempotent() {
    let (api, aid, e) = crm_grant(json!({"expires_at": in_days(10), "description": "d"})).await;
    let id = id_of(&e);

    // A bad body is refused before anything is written.
    for (body, field) in [
        (json!({"reason": 5}), "reason"),
        (json!({"reason": "  "}), "reason"),
        (json!({"reason": "x".repeat(4001)}), "reason"),
        (json!({"status": "revoked"}), "status"),
        (json!({"source_type": "robot"}), "source_type"),
    ] {
        let r = revoke(&api, &id, Some(body)).await;
        assert_invalid(&r, &[field]);
        assert_unchanged(&api, &e).await;
    }
    assert_live(&api, &aid, 1).await;

    let revoker = api.token_for("bob-sec", None, &all_scopes());
    let before = Timestamp::now().to_string();
    let r = api
        .expect_answer(
            200,
            READ_TRANSACT,
            api.post_as(
                &revoke_url(&id),
                &revoker,
                json!({"reason": "left the team", "source": "iga", "source_type": "backend"}),
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.body.clone();
    assert_eq!(r.header("etag"), Some("\"2\""));
    assert_eq!(v["status"], "revoked");
    assert_eq!(v["revoked_by"], "bob-sec");
    assert_eq!(v["revoke_reason"], "left the team");
    let at = v["revoked_at"].as_str().unwrap();
    assert!(at >= before.as_str(), "{at} < {before}");
    assert_eq!(v["updated_at"], v["revoked_at"]);
    assert_eq!(v["updated_by"], "bob-sec");
    assert_eq!(v["source"], "iga");
    assert_eq!(v["source_type"], "backend");
    assert_eq!(v["revision"], 2);
    assert_eq!(v["expired_at"], Value::Null);
    // Everything else as it was.
    for k in ENTITLEMENT_KEYS.iter() {
        if !["status", "revoked_at", "revoked_by", "revoke_reason"].contains(k) {
            assert_eq!(v[*k], e[*k], "{k}");
        }
    }
    assert_eq!(v["created_at"], e["created_at"]);
    assert_eq!(v["created_by"], e["created_by"]);
    assert_eq!(current(&api, &id).await, v);
    assert_live(&api, &aid, 0).await;

    // Again (another caller, another reason, no body, a body): 200 with it unchanged, no write.
    for body in [None, Some(json!({"reason": "again"})), Some(json!({}))] {
        api.counter.reset();
        let again = revoke(&api, &id, body).await;
        assert_eq!(again.status, 200, "{}", again.text);
        assert_eq!(again.body, v);
        assert_eq!(again.header("etag"), Some("\"2\""));
        assert_eq!(api.counter.snapshot(), counts(&[("GetItem", 1)]));
    }
    assert_eq!(current(&api, &id).await, v);
    assert_live(&api, &aid, 0).await;

    // No reason: revoke_reason is null.
    let e2 = create(&api, grant_body(&aid, "p2", "x")).await;
    let r = revoke(&api, &id_of(&e2), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["revoke_reason"], Value::Null);
    assert_eq!(r.body["revoked_by"], "user-1");
    assert_live(&api, &aid, 0).await;
}

#[tokio::test]
async fn revoking_a_pending_entitlement_revokes_it() {
    let (api, aid) = api_with_crm().await;
    let e = create_pending(&api, &aid, "p1", "x").await;
    assert_live(&api, &aid, 1).await;
    let r = revoke(&api, &id_of(&e), Some(json!({"reason": "denied"}))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "revoked");
    assert_eq!(r.body["revoke_reason"], "denied");
    assert_eq!(r.body["revision"], 2);
    assert_live(&api, &aid, 0).await;
    assert_regrant(&api, &aid, "p1", "x", 1).await;
}

#[tokio::test]
async fn revoking_an_expired_entitlement_is_409() {
    // The sweep covers every tenant: a table of this test's own.
    let api = Api::with_own_table().await;
    let aid = asset_id(&api, json!({"name": "crm"})).await;
    attribute(&api, "iscPrivacy", with_values(&[("public", "Public")])).await;
    let e = create(&api, expiring_grant_body(&aid, "p1", "x", 1)).await;
    let keep = create(&api, expiring_grant_body(&aid, "p2", "x", 30)).await;
    assert_live(&api, &aid, 2).await;
    let report = sweep_at(&api, 2, Duration::from_secs(30)).await;
    assert_eq!(report.expired, 1, "{report:?}");
    assert!(report.complete);
    let id = id_of(&e);
    let expired = current(&api, &id).await;
    assert_eq!(expired["status"], "expired");
    assert_eq!(expired["updated_by"], "system:expiry-sweep");
    assert!(expired["expired_at"].is_string());
    assert_eq!(expired["revision"], 2);
    assert_unchanged(&api, &keep).await;
    assert_live(&api, &aid, 1).await;

    let r = revoke(&api, &id, Some(json!({"reason": "too late"}))).await;
    assert_problem(&r, 409, "conflict");
    let r = post_if_match(&api, &api.token(), &revoke_url(&id), "\"2\"").await;
    assert_problem(&r, 409, "conflict");
    let r = api
        .patch(&url(&id), json!({"expires_at": in_days(9)}))
        .await;
    assert_problem(&r, 409, "conflict");
    let r = add_value(&api, &id, "iscPrivacy", "public").await;
    assert_problem(&r, 409, "conflict");
    assert_unchanged(&api, &expired).await;
    // PATCHing status to revoked or expired is a 400 whatever the state (API.md §3).
    for status in ["revoked", "expired"] {
        let r = api.patch(&url(&id), json!({"status": status})).await;
        assert_invalid(&r, &["status"]);
        assert_unchanged(&api, &expired).await;
    }
    assert_live(&api, &aid, 1).await;
    // The expired grant freed its tuple.
    assert_regrant(&api, &aid, "p1", "x", 2).await;
}

#[tokio::test]
async fn if_match_guards_patch_revoke_and_metadata() {
    let api = Api::new().await;
    let (aid, e) = crm_with_privacy(&api).await;
    let id = id_of(&e);
    let token = api.token();

    for stale in ["\"2\"", "\"0\"", "2", "W/\"5\"", "\"99\""] {
        let r = patch_if_match(
            &api,
            &id,
            stale,
            json!({"description": "x", "entitlement_type": "y"}),
        )
        .await;
        assert_problem(&r, 412, "precondition-failed");
        assert_unchanged(&api, &e).await;
        let r = post_if_match(&api, &token, &revoke_url(&id), stale).await;
        assert_problem(&r, 412, "precondition-failed");
        assert_unchanged(&api, &e).await;
        let r = post_if_match(&api, &token, &meta_url(&id, "iscPrivacy", "public"), stale).await;
        assert_problem(&r, 412, "precondition-failed");
        assert_unchanged(&api, &e).await;
    }
    assert_live(&api, &aid, 1).await;
    // The tuple "y" was never taken.
    create(&api, grant_body(&aid, "p1", "y")).await;
    assert_live(&api, &aid, 2).await;

    let r = patch_if_match(&api, &id, "\"1\"", json!({"description": "one"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("etag"), Some("\"2\""));
    let r = patch_if_match(&api, &id, "*", json!({"description": "two"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["revision"], 3);
    let r = post_if_match(&api, &token, &meta_url(&id, "iscPrivacy", "public"), "3").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["revision"], 4);
    // A no-op metadata add with a stale If-Match is still 412 (documented).
    let r = post_if_match(&api, &token, &meta_url(&id, "iscPrivacy", "public"), "3").await;
    assert_problem(&r, 412, "precondition-failed");

    let before = current(&api, &id).await;
    let r = post_if_match(&api, &token, &revoke_url(&id), "\"3\"").await;
    assert_problem(&r, 412, "precondition-failed");
    assert_unchanged(&api, &before).await;
    assert_live(&api, &aid, 2).await;
    let r = post_if_match(&api, &token, &revoke_url(&id), "\"4\"").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["revision"], 5);
    assert_live(&api, &aid, 1).await;
    // Already revoked: unchanged whatever If-Match says (documented in openapi.yaml).
    let revoked = r.body;
    for tag in ["\"5\"", "\"1\""] {
        let r = post_if_match(&api, &token, &revoke_url(&id), tag).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body, revoked);
    }
    // PATCH on it with the right revision is still 409 (ended).
    let r = patch_if_match(&api, &id, "\"5\"", json!({"description": "x"})).await;
    assert_problem(&r, 409, "conflict");
    assert_unchanged(&api, &revoked).await;
}

// ------------------------------------------------------------------------------------------
// The asset's live count and asset deletes
// ------------------------------------------------------------------------------------------

/// An app token deleting its asset is told how many live grants it can see (its app's) and,
/// without a number, that others exist (made by person tokens); before, the 409 counted grants
/// it cannot see. Only the refusal pays the extra index query.
#[tokio::test]
async fn an_app_deleting_its_asset_counts_only_the_grants_it_sees() {
    let api = Api::new().await;
    let app = app_token(&api, "svc-a", "app-a");
    let asset = api
        .created_as(TECH, &app, json!({"name": "app-asset"}))
        .await;
    let aid = id_of(&asset);
    let mine = create_as(&api, &app, grant_body(&aid, "p1", "x")).await;
    let pending_body = with(
        grant_body(&aid, "p2", "x"),
        json!({"status": "pending_approval"}),
    );
    let pending = create_as(&api, &app, pending_body).await;
    let persons = create(&api, grant_body(&aid, "p3", "x")).await;
    assert_eq!(persons["app_id"], Value::Null);
    assert_eq!(live_count(&api, &aid).await, 3);
    let asset_url = format!("{TECH}/{aid}");
    let unchanged = || async {
        let g = api.get_as(&asset_url, &app).await;
        assert_eq!(g.status, 200, "{}", g.text);
        assert_eq!(g.body, asset, "a refused delete changed the asset");
    };

    api.counter.reset();
    let r = api.delete_as(&asset_url, &app).await;
    assert_problem(&r, 409, "conflict");
    assert_eq!(
        api.counter.snapshot(),
        counts(&[("GetItem", 1), ("Query", 1)])
    );
    assert_eq!(r.body["live_entitlements"], 2);
    let detail = r.body["detail"].as_str().unwrap();
    assert!(detail.contains("2 live entitlements"), "{detail}");
    assert!(detail.contains("others that it cannot"), "{detail}");
    assert!(!detail.contains('3') && !detail.contains('1'), "{detail}");
    unchanged().await;

    // A person token sees every grant: the whole count, no extra read.
    api.counter.reset();
    let r = api.delete(&asset_url).await;
    assert_problem(&r, 409, "conflict");
    assert_eq!(api.counter.snapshot(), counts(&[("GetItem", 1)]));
    assert_eq!(r.body["live_entitlements"], 3);
    assert!(!r.body["detail"].as_str().unwrap().contains("cannot"));

    // Only grants it cannot see left: zero counted, their existence said.
    for e in [&mine, &pending] {
        assert_eq!(revoke(&api, &id_of(e), None).await.status, 200);
    }
    let r = api.delete_as(&asset_url, &app).await;
    assert_problem(&r, 409, "conflict");
    assert_eq!(r.body["live_entitlements"], 0);
    let detail = r.body["detail"].as_str().unwrap();
    assert!(detail.contains("cannot see"), "{detail}");
    assert!(!detail.chars().any(|c| c.is_ascii_digit()), "{detail}");
    unchanged().await;
    assert_live(&api, &aid, 1).await;

    // Only its own left: counted exactly, nothing hidden.
    let again = create_as(&api, &app, grant_body(&aid, "p4", "x")).await;
    assert_eq!(revoke(&api, &id_of(&persons), None).await.status, 200);
    let r = api.delete_as(&asset_url, &app).await;
    assert_problem(&r, 409, "conflict");
    assert_eq!(r.body["live_entitlements"], 1);
    assert!(!r.body["detail"].as_str().unwrap().contains("cannot"));
    assert_eq!(revoke(&api, &id_of(&again), None).await.status, 200);
    let r = api.delete_as(&asset_url, &app).await;
    assert_eq!(r.status, 204, "{}", r.text);
}

#[tokio::test]
async fn live_count_follows_every_write_and_blocks_asset_delete() {
    let (api, aid) = api_with_crm().await;
    let other = asset_id(&api, json!({"name": "erp"})).await;
    let a = create(&api, grant_body(&aid, "p1", "x")).await;
    assert_live(&api, &aid, 1).await;
    let b = create_pending(&api, &aid, "p2", "x").await;
    assert_live(&api, &aid, 2).await;
    let c = create(&api, grant_body(&aid, "g1", "x")).await;
    assert_live(&api, &aid, 3).await;
    create(&api, grant_body(&other, "p1", "x")).await;
    assert_live(&api, &other, 1).await;
    api.patch(&url(&id_of(&c)), json!({"entitlement_type": "y"}))
        .await;
    assert_live(&api, &aid, 3).await;
    let r = api
        .patch(&url(&id_of(&b)), json!({"status": "active"}))
        .await;
    assert_eq!(r.status, 200);
    assert_live(&api, &aid, 3).await;

    let d = api.delete(&format!("{TECH}/{aid}")).await;
    assert_problem(&d, 409, "conflict");
    assert_eq!(d.body["live_entitlements"], 3);
    assert!(
        d.body["detail"].as_str().unwrap().contains('3'),
        "{}",
        d.text
    );
    assert_eq!(revoke(&api, &id_of(&a), None).await.status, 200);
    assert_live(&api, &aid, 2).await;
    let d = api.delete(&format!("{TECH}/{aid}")).await;
    assert_problem(&d, 409, "conflict");
    assert_eq!(d.body["live_entitlements"], 2);
    assert_eq!(revoke(&api, &id_of(&b), None).await.status, 200);
    assert_eq!(revoke(&api, &id_of(&c), None).await.status, 200);
    assert_eq!(revoke(&api, &id_of(&c), None).await.status, 200);
    assert_live(&api, &aid, 0).await;
    assert_live(&api, &other, 1).await;
    assert_eq!(api.delete(&format!("{TECH}/{aid}")).await.status, 204);
    // Revoked entitlements of a deleted asset stay readable; new grants on it are 400.
    assert_eq!(current(&api, &id_of(&a)).await["status"], "revoked");
    let r = api.post(BASE, grant_body(&aid, "p9", "x")).await;
    assert_invalid(&r, &["asset_id"]);
    assert_eq!(live_count(&api, &aid).await, 0);
}

// ------------------------------------------------------------------------------------------
// DynamoDB request counts
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn each_operation_costs_a_fixed_number_of_requests() {
    let (api, aid) = api_with_crm().await;
    attribute(&api, "iscPrivacy", with_values(&[("public", "Public")])).await;

    let e = api
        .expect_requests(
            &[("TransactWriteItems", 1)],
            create(&api, grant_body(&aid, "p1", "x")),
        )
        .await;
    let id = id_of(&e);

    api.expect_answer(200, &[("GetItem", 1)], api.get(&url(&id)))
        .await;

    // A grant without expiry: every write re-checks (in the same transaction) that its asset
    // is not critical, since the asset may have become critical after the grant.
    api.expect_patch(READ_TRANSACT, &url(&id), json!({"description": "d"}))
        .await;

    // The attribute and the entitlement are read side by side, and the attribute just read
    // renders the answer: no BatchGetItem re-reads it.
    api.expect_answer(
        200,
        &[("GetItem", 2), ("TransactWriteItems", 1)],
        add_value(&api, &id, "iscPrivacy", "public"),
    )
    .await;

    // A grant with an expiry is one conditional UpdateItem.
    let expiring = create(&api, {
        let mut g = grant_body(&aid, "p-expiring", "x");
        g["expires_at"] = json!("2099-01-01T00:00:00Z");
        g
    })
    .await;
    api.expect_answer(
        200,
        READ_TRANSACT,
        api.patch(&url(&id_of(&expiring)), json!({"description": "d"})),
    )
    .await;

    api.expect_answer(
        200,
        &[("GetItem", 1), ("BatchGetItem", 1)],
        api.get(&url(&id)),
    )
    .await;

    api.expect_answer(
        200,
        &[("Query", 1), ("BatchGetItem", 1)],
        api.get(&format!("{BASE}?asset_id={aid}")),
    )
    .await;

    let plain = create(&api, grant_body(&aid, "p2", "x")).await;
    api.expect_answer(200, READ_TRANSACT, revoke(&api, &id_of(&plain), None))
        .await;

    api.expect_answer(
        200,
        &[
            ("GetItem", 1),
            ("TransactWriteItems", 1),
            ("BatchGetItem", 1),
        ],
        revoke(&api, &id, None),
    )
    .await;

    // Refusals that need no data cost nothing.
    api.counter.reset();
    api.get(&url("nope")).await;
    api.post(BASE, json!({})).await;
    api.get_as(BASE, &api.token_with(&["metadata:read"])).await;
    api.get(&format!("{BASE}?status=bogus")).await;
    assert_eq!(api.counter.total(), 0, "{:?}", api.counter.snapshot());
}

// ------------------------------------------------------------------------------------------
// Routes, ids, search text
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn unknown_methods_and_ids_name_nothing() {
    let (api, aid, e) = crm_grant(json!({})).await;
    let id = id_of(&e);
    // No DELETE: entitlements are revoked, never erased.
    for (method, path) in [
        ("DELETE", url(&id)),
        ("PUT", url(&id)),
        ("GET", revoke_url(&id)),
        ("DELETE", revoke_url(&id)),
        ("GET", meta_url(&id, "k", "v")),
        ("PATCH", meta_url(&id, "k", "v")),
        ("DELETE", BASE.to_string()),
    ] {
        let r = api.call(method, &path, &api.token(), None).await;
        assert_problem(&r, 405, "method-not-allowed");
    }
    assert_unchanged(&api, &e).await;
    let reference = api.get(&url(&missing_entitlement())).await;
    assert_problem(&reference, 404, "not-found");
    for bad in [
        "nope".to_string(),
        "ent_x".to_string(),
        "ent_".to_string(),
        aid.clone(),
        format!("ent_{}", "A".repeat(1100)),
        "ENT_01JD3Q9Z8X4K2M7N5P6R8S0T1V".to_string(),
        id.to_lowercase(),
        format!("{id}%23x"),
    ] {
        for (method, path, body) in [
            ("GET", url(&bad), None),
            ("PATCH", url(&bad), Some(json!({"description": "x"}))),
            ("POST", revoke_url(&bad), None),
            ("POST", meta_url(&bad, "k", "v"), None),
            ("DELETE", meta_url(&bad, "k", "v"), None),
        ] {
            let r = api.call(method, &path, &api.token(), body).await;
            assert_problem(&r, 404, "not-found");
            assert_eq!(shape(&r), shape(&reference), "{method} {bad}");
        }
    }
    assert_unchanged(&api, &e).await;
}

#[tokio::test]
async fn q_follows_every_write() {
    let (api, aid) = api_with_crm().await;
    let body = with(
        grant_body(&aid, "Jane.Doe", "Reader"),
        json!({"description": "Quarterly Audit"}),
    );
    let e = create(&api, body).await;
    let id = id_of(&e);
    for q in ["jane.doe", "JANE", "reader", "quarterly audit", "AUDIT"] {
        assert_eq!(
            walk(&api, &format!("q={}", enc(q)), 10).await,
            vec![id.clone()],
            "{q}"
        );
    }
    let edit = json!({"entitlement_type": "Writer", "description": null});
    let r = api.patch(&url(&id), edit).await;
    assert_eq!(r.status, 200);
    for (q, found) in [
        ("writer", true),
        ("reader", false),
        ("audit", false),
        ("jane", true),
    ] {
        let got = walk(&api, &format!("q={q}"), 10).await;
        assert_eq!(got.len(), usize::from(found), "{q}");
    }
    // Not searched: the asset id, the grant source.
    assert_eq!(walk(&api, &format!("q={aid}"), 10).await.len(), 0);
    assert_eq!(walk(&api, "q=direct", 10).await.len(), 0);
}

#[tokio::test]
async fn create_revoke_and_regrant() {
    let api = Api::new().await;
    let asset = api.asset(json!({"name": "crm"})).await;
    let aid = asset["id"].as_str().unwrap();

    api.counter.reset();
    let r = api.post(BASE, grant_body(aid, "p1", "admin")).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        api.counter.snapshot().into_iter().collect::<Vec<_>>(),
        vec![("TransactWriteItems".to_string(), 1)]
    );
    let id = r.body["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("ent_"));
    assert_eq!(r.body["status"], "active");
    assert_eq!(r.body["grant_source"], "direct");
    assert_eq!(r.body["granted_by_id"], "user-1");
    assert_eq!(r.body["privileged"], false);
    assert_eq!(r.body["requestable"], true);
    assert_eq!(r.body["access_model_metadata"], Value::Null);
    assert_eq!(r.body["revoked_at"], Value::Null);
    assert_eq!(live_count(&api, aid).await, 1);

    let dup = api.post(BASE, grant_body(aid, "p1", "admin")).await;
    assert_problem(&dup, 409, "conflict");
    assert_eq!(live_count(&api, aid).await, 1);

    let del = api.delete(&format!("/api/v1/technology/{aid}")).await;
    assert_problem(&del, 409, "conflict");
    assert_eq!(del.body["live_entitlements"], 1);

    api.counter.reset();
    let body = json!({"reason": "left team"});
    let rv = api
        .post(&format!("/api/v1/entitlements/{id}/revoke"), body)
        .await;
    assert_eq!(rv.status, 200, "{}", rv.text);
    assert_eq!(rv.body["status"], "revoked");
    assert_eq!(rv.body["revoke_reason"], "left team");
    assert_eq!(rv.body["revoked_by"], "user-1");
    assert_eq!(rv.body["revision"], 2);
    let counts = api.counter.snapshot();
    assert_eq!(counts.get("TransactWriteItems"), Some(&1));
    assert_eq!(counts.get("GetItem"), Some(&1));
    assert_eq!(live_count(&api, aid).await, 0);

    let again = api
        .post_empty_as(&format!("/api/v1/entitlements/{id}/revoke"), &api.token())
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body, rv.body);

    let regrant = api.post(BASE, grant_body(aid, "p1", "admin")).await;
    assert_eq!(regrant.status, 201, "{}", regrant.text);
    assert_eq!(live_count(&api, aid).await, 1);
}
