//! Access requests: what provisioning does to the entitlement and the asset's live count, and that a refused provisioning changes nothing.

use super::*;

// ------------------------------------------------------------------------------------------
// Provisioning
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn provisioning_new_creates_the_entitlement() {
    let api = Api::new().await;
    let aid = asset(&api, "aws").await;
    let body = json!({"justification": "deploys", "principal_id": "grp-ops", "principal_type": "group", "expires_at": FUTURE});
    let id = approved(&api, new_of("aws", "deployer", body)).await;
    let approved = read_request(&api, &id).await;
    assert_eq!(live_count(&api, &aid).await, 0);
    let p = api
        .expect_requests(
            READ_TRANSACT,
            provision_with(&api, &id, json!({"comment": "done in IAM"})),
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.text);
    assert_eq!(p.header("etag"), Some("\"3\""));
    let b = &p.body;
    assert_eq!(b["status"], "provisioned");
    assert_eq!(b["provisioned_at"], b["updated_at"]);
    assert_eq!(b["updated_by"], "provisioner-1");
    assert_eq!(b["decision_comment"], "done in IAM");
    assert_eq!(b["granted_by_id"], "approver-1");
    assert_eq!(b["revision"], 3);
    let eid = b["entitlement_id"]
        .as_str()
        .expect("entitlement_id")
        .to_string();
    assert!(eid.starts_with("ent_"), "{eid}");
    assert_only_changed(&approved, b, PROVISIONING_STAMPS);
    assert_eq!(read_request(&api, &id).await, *b);

    let e = read_entitlement(&api, &eid).await;
    assert_eq!(e["asset_id"], aid.as_str());
    assert_eq!(e["principal_id"], "grp-ops");
    assert_eq!(e["principal_type"], "group");
    assert_eq!(e["entitlement_type"], "deployer");
    assert_eq!(e["expires_at"], FUTURE_OUT);
    assert_eq!(e["grant_source"], "provisioned");
    assert_eq!(e["status"], "active");
    assert_eq!(e["granted_by_id"], "approver-1");
    assert_eq!(e["granted_at"], b["granted_at"]);
    assert_eq!(e["access_request_id"], id.as_str());
    assert_eq!(e["privileged"], false);
    assert_eq!(e["requestable"], true);
    assert_eq!(e["revision"], 1);
    assert_eq!(e["created_by"], "provisioner-1");
    assert_eq!(e["tenant_id"], api.tenant.as_str());
    assert_eq!(e["app_id"], Value::Null);
    assert_eq!(e["revoked_at"], Value::Null);
    assert_eq!(live_count(&api, &aid).await, 1);
    // It is a real live grant: found by the asset's and the principal's lists.
    let list = api.get(&format!("{ENTS}?asset_id={aid}")).await;
    assert_eq!(listed_ids(&list), vec![eid.clone()]);
    let list = api.get(&format!("{ENTS}?principal_id=grp-ops")).await;
    assert_eq!(listed_ids(&list), vec![eid.clone()]);
    // Without a comment, provisioning keeps the approver's.
    let r2 = new_request(&api, "aws").await;
    let id2 = id_of(&r2);
    decide(&api, &id2, "approve", json!({"comment": "fine"})).await;
    let p2 = provision(&api, &id2).await;
    assert_eq!(p2["decision_comment"], "fine");
    let e2 = read_entitlement(&api, p2["entitlement_id"].as_str().unwrap()).await;
    assert_eq!(e2["principal_id"], "user-1");
    assert_eq!(e2["principal_type"], "person");
    assert_eq!(e2["expires_at"], Value::Null);
    assert_eq!(live_count(&api, &aid).await, 2);
}

#[tokio::test]
async fn provisioning_modify_changes_type_and_expiry() {
    let (api, aid, ent) = api_with_aws_read_grant().await;
    let eid = id_of(&ent);
    assert_eq!(live_count(&api, &aid).await, 1);

    // Both.
    let changes =
        json!({"justification": "more", "entitlement_type": "write", "expires_at": FUTURE});
    let mid = approved(&api, modify_of("aws", &eid, changes)).await;
    let p = provision_counted(&api, &mid).await;
    assert_eq!(p["entitlement_id"], eid.as_str());
    // The grant stamps are the entitlement's, not the provisioning's.
    assert_eq!(p["granted_at"], ent["granted_at"]);
    assert_eq!(p["granted_by_id"], "user-1");
    let e = read_entitlement(&api, &eid).await;
    let mut expected = ent.clone();
    expected["entitlement_type"] = json!("write");
    expected["expires_at"] = json!(FUTURE_OUT);
    expected["revision"] = json!(2);
    expected["updated_by"] = json!("provisioner-1");
    expected["updated_at"] = e["updated_at"].clone();
    assert_eq!(e, expected);
    assert_eq!(live_count(&api, &aid).await, 1);

    // Only the expiry: the type stays. Only the type: the expiry stays. `expires_at: null`
    // clears it.
    for (changes, entitlement_type, expires_at) in [
        (
            json!({"justification": "longer", "expires_at": LATER}),
            "write",
            json!(LATER_OUT),
        ),
        (
            json!({"justification": "less", "entitlement_type": "read"}),
            "read",
            json!(LATER_OUT),
        ),
        (
            json!({"justification": "permanent", "expires_at": null}),
            "read",
            Value::Null,
        ),
    ] {
        let mid = approved(&api, modify_of("aws", &eid, changes)).await;
        provision(&api, &mid).await;
        let e = read_entitlement(&api, &eid).await;
        assert_eq!(e["entitlement_type"], entitlement_type);
        assert_eq!(e["expires_at"], expires_at);
    }
    let e = read_entitlement(&api, &eid).await;
    assert_eq!(e["status"], "active");
    assert_eq!(e["revision"], 5);
    assert_eq!(live_count(&api, &aid).await, 1);
    // The grant guard moved with the type: a new `read` grant clashes, a `write` one does not.
    let r = api.post(ENTS, grant_body(&aid, "p9", "read")).await;
    assert_problem(&r, 409, "conflict");
    grant(&api, grant_body(&aid, "p9", "write")).await;
    assert_eq!(live_count(&api, &aid).await, 2);
}

#[tokio::test]
async fn provisioning_revoke_revokes_the_entitlement() {
    let (api, aid, ent) = api_with_aws_read_grant().await;
    let eid = id_of(&ent);
    let id = approved(
        &api,
        revoke_of("aws", &eid, json!({"justification": "left"})),
    )
    .await;
    assert_eq!(live_count(&api, &aid).await, 1);
    let p = provision_counted(&api, &id).await;
    assert_eq!(p["entitlement_id"], eid.as_str());
    assert_eq!(p["entitlement_type"], "read");
    assert_eq!(p["granted_at"], ent["granted_at"]);
    assert_eq!(p["granted_by_id"], "user-1");
    let e = read_entitlement(&api, &eid).await;
    assert_eq!(e["status"], "revoked");
    assert_eq!(e["revoked_by"], "provisioner-1");
    assert_eq!(e["revoked_at"], e["updated_at"]);
    assert_eq!(e["revoke_reason"], format!("access request {id}"));
    assert_eq!(e["revision"], 2);
    assert_eq!(live_count(&api, &aid).await, 0);
    // The grant is free again, and the asset can go.
    grant_read(&api, &aid, "p9").await;
    assert_eq!(live_count(&api, &aid).await, 1);
}

#[tokio::test]
async fn provisioning_new_after_the_asset_was_deleted_changes_nothing() {
    let api = Api::new().await;
    let (aid, id) = approved_request(&api, "legacy").await;
    // No live grants, so the asset can be deleted under the approved request.
    assert_eq!(api.delete(&format!("{TECH}/{aid}")).await.status, 204);
    let (r, before) = assert_provision_refused(&api, &id).await;
    assert!(r.body.get("current_status").is_none(), "{}", r.text);
    assert_eq!(before.live, 0);
    assert_eq!(before.request["status"], "approved");
    // A new asset of the same name does not revive the old request.
    let again = asset(&api, "legacy").await;
    let r = act(&api, &provisioner(&api), &id, "provision").await;
    assert_problem(&r, 409, "conflict");
    assert_unchanged(&api, &before).await;
    assert_eq!(live_count(&api, &again).await, 0);
    let r = api.get(&format!("{ENTS}?principal_id=user-1")).await;
    assert_eq!(listed_ids(&r), Vec::<String>::new());
}

#[tokio::test]
async fn provisioning_new_over_a_live_grant_of_the_same_tuple_changes_nothing() {
    let api = Api::new().await;
    let (aid, id) = approved_request(&api, "github").await;
    let direct = grant(&api, grant_body(&aid, "user-1", "member")).await;
    let (r, before) = assert_provision_refused(&api, &id).await;
    assert_eq!(before.live, 1);
    assert_eq!(r.body["asset_id"], aid.as_str(), "{}", r.text);
    assert_eq!(r.body["principal_id"], "user-1");
    assert_eq!(r.body["entitlement_type"], "member");
    assert_eq!(read_entitlement(&api, &id_of(&direct)).await, direct);
    let list = api.get(&format!("{ENTS}?asset_id={aid}")).await;
    assert_eq!(listed_ids(&list), vec![id_of(&direct)]);
    // Once the direct grant is revoked, provisioning goes through.
    let r = api
        .post(&format!("{ENTS}/{}/revoke", id_of(&direct)), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let p = provision(&api, &id).await;
    assert_eq!(p["status"], "provisioned");
    assert_eq!(live_count(&api, &aid).await, 1);
}

#[tokio::test]
async fn provisioning_new_without_expiry_on_a_critical_asset_changes_nothing() {
    let api = Api::new().await;
    let aid = id_of(
        &api.asset(json!({"name": "core-banking", "criticality": "critical"}))
            .await,
    );
    let id = id_of(&new_request(&api, "core-banking").await);
    approve(&api, &id).await;
    assert_provision_refused(&api, &id).await;
    assert_eq!(live_count(&api, &aid).await, 0);
    // With an expiry it is fine.
    let ok = approved(
        &api,
        new_of("core-banking", "teller", json!({"expires_at": FUTURE})),
    )
    .await;
    provision(&api, &ok).await;
    assert_eq!(live_count(&api, &aid).await, 1);
}

#[tokio::test]
async fn provisioning_modify_or_revoke_of_an_entitlement_revoked_meanwhile_changes_nothing() {
    let api = Api::new().await;
    let (_, eid) = aws_with_read_grant(&api).await;
    let modify = approved(
        &api,
        modify_of("aws", &eid, json!({"entitlement_type": "write"})),
    )
    .await;
    let revoke = approved(&api, revoke_of("aws", &eid, json!({}))).await;
    let body = json!({"reason": "incident"});
    let r = api.post(&format!("{ENTS}/{eid}/revoke"), body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    for id in [&modify, &revoke] {
        let (_, before) = assert_provision_refused(&api, id).await;
        assert_eq!(before.entitlement.as_ref().unwrap()["status"], "revoked");
        assert_eq!(before.live, 0);
    }
    let e = read_entitlement(&api, &eid).await;
    assert_eq!(e["revoke_reason"], "incident");
    assert_eq!(e["revoked_by"], "user-1");
}

#[tokio::test]
async fn provisioning_modify_or_revoke_of_an_entitlement_no_longer_active_changes_nothing() {
    // Its own table: the sweep covers every tenant.
    let api = Api::with_own_table().await;
    let aid = asset(&api, "aws").await;
    let tomorrow = shared::time::Timestamp::now()
        .plus_seconds(86_400)
        .to_string();
    let expiring = grant(
        &api,
        json!({"asset_id": aid, "principal_id": "p1", "principal_type": "person", "entitlement_type": "read", "expires_at": tomorrow}),
    )
    .await;
    let parked = grant_read(&api, &aid, "p2").await;
    let mut requests = Vec::new();
    for ent in [&expiring, &parked] {
        for body in [
            json!({"system_id": "aws", "access_type": "modify", "justification": "x", "entitlement_id": id_of(ent), "expires_at": FUTURE}),
            json!({"system_id": "aws", "access_type": "revoke", "justification": "x", "entitlement_id": id_of(ent)}),
        ] {
            requests.push(approved(&api, body).await);
        }
    }
    // One expires (the sweep, run as if two days from now), the other is parked back in
    // pending_approval: neither is active any more, both still count as live.
    let report = shared::store::sweep::run(
        &api.state,
        shared::time::Timestamp::now().plus_seconds(2 * 86_400),
        std::time::Instant::now() + std::time::Duration::from_secs(20),
        "test-sweep-run",
    )
    .await
    .expect("sweep");
    assert_eq!(report.expired, 1);
    let edit = json!({"status": "pending_approval"});
    let r = api.patch(&format!("{ENTS}/{}", id_of(&parked)), edit).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        read_entitlement(&api, &id_of(&expiring)).await["status"],
        "expired"
    );
    assert_eq!(live_count(&api, &aid).await, 1);
    for id in &requests {
        assert_provision_refused(&api, id).await;
    }
    // And none can be filed any more.
    for ent in [&expiring, &parked] {
        let sent = json!({"system_id": "aws", "access_type": "revoke", "justification": "x", "entitlement_id": id_of(ent)});
        let r = api.post(ARQ, sent).await;
        assert_invalid(&r, &["entitlement_id"]);
    }
}

#[tokio::test]
async fn provisioning_is_not_refused_by_an_unrelated_concurrent_entitlement_edit() {
    for access_type in ["modify", "revoke"] {
        for round in 0..10 {
            let api = Api::new().await;
            let (aid, eid) = aws_with_read_grant(&api).await;
            let mut body = json!({"system_id": "aws", "access_type": access_type, "justification": "x", "entitlement_id": eid});
            if access_type == "modify" {
                body["entitlement_type"] = json!("write");
            }
            let id = approved(&api, body).await;
            let token = provisioner(&api);
            let ent_url = format!("{ENTS}/{eid}");
            let (p, e) = tokio::join!(
                act(&api, &token, &id, "provision"),
                api.patch(&ent_url, json!({"description": "owned by payments"}))
            );
            assert_eq!(p.status, 200, "{access_type} round {round}: {}", p.text);
            let ent = read_entitlement(&api, &eid).await;
            // A revoke that lands first ends the entitlement: the edit then meets a revoked
            // one (409) — a fair outcome of the race; an edit that lands first is kept.
            if e.status == 200 {
                assert_eq!(ent["description"], "owned by payments");
                assert_eq!(ent["revision"], 3);
            } else {
                assert_eq!(access_type, "revoke", "{}", e.text);
                assert_problem(&e, 409, "conflict");
                assert_eq!(ent["revision"], 2);
            }
            if access_type == "modify" {
                assert_eq!(ent["entitlement_type"], "write");
                assert_eq!(live_count(&api, &aid).await, 1);
            } else {
                assert_eq!(ent["status"], "revoked");
                assert_eq!(live_count(&api, &aid).await, 0);
            }
        }
    }
}

#[tokio::test]
async fn provisioning_modify_that_breaks_a_rule_changes_nothing() {
    let api = Api::new().await;
    let (aid, eid) = aws_with_read_grant(&api).await;
    // The new type clashes with a live grant of the principal.
    let write = grant(&api, grant_body(&aid, "p9", "write")).await;
    let m = approved(
        &api,
        modify_of("aws", &eid, json!({"entitlement_type": "write"})),
    )
    .await;
    let (r, _) = assert_provision_refused(&api, &m).await;
    assert_eq!(r.body["entitlement_type"], "write", "{}", r.text);
    assert_eq!(r.body["principal_id"], "p9");
    assert_eq!(read_entitlement(&api, &id_of(&write)).await, write);
    assert_eq!(live_count(&api, &aid).await, 2);

    // The entitlement became privileged meanwhile: its expiry cannot be cleared.
    let clear = approved(&api, modify_of("aws", &eid, json!({"expires_at": null}))).await;
    let r = api
        .patch(&format!("{ENTS}/{eid}"), json!({"privileged": true}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_provision_refused(&api, &clear).await;

    // Clearing the expiry of a grant on a critical asset.
    let crit = id_of(
        &api.asset(json!({"name": "ledger", "criticality": "critical"}))
            .await,
    );
    let cent = grant_read(&api, &crit, "p9").await;
    let body = modify_of("ledger", &id_of(&cent), json!({"expires_at": null}));
    let clear = approved(&api, body).await;
    let (_, before) = assert_provision_refused(&api, &clear).await;
    assert_eq!(before.live, 1);
}

/// Regression: was a bug before 8d140b8 (the entitlement took the provisioner's app_id, null
/// for a person, so the app could not see the grant its own request names).
#[tokio::test]
async fn an_apps_provisioned_request_yields_an_entitlement_of_that_app() {
    let api = Api::new().await;
    let app = app_token(&api, "svc-a", "app-a");
    let aid = api.asset_as(&app, "app-sys").await;
    let req = create_as(&api, &app, new_of("app-sys", "member", json!({}))).await;
    let id = id_of(&req);
    approve(&api, &id).await;
    let p = provision(&api, &id).await;
    let eid = p["entitlement_id"].as_str().unwrap();
    assert_eq!(live_count(&api, &aid).await, 1);
    let r = api.get_as(&format!("{ENTS}/{eid}"), &app).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["app_id"], "app-a");
    assert_eq!(r.body["access_request_id"], id.as_str());
    let r = api.get_as(&format!("{ENTS}?asset_id={aid}"), &app).await;
    assert_eq!(listed_ids(&r), vec![eid.to_string()]);
    // The app can ask for it to be revoked, like any grant of its own.
    let r = api
        .post_as(ARQ, &app, revoke_of("app-sys", eid, json!({})))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["principal_id"], "svc-a");
}

/// An RFC 3339 UTC timestamp `secs` seconds from now.
fn in_seconds(secs: i64) -> String {
    (time::OffsetDateTime::now_utc() + time::Duration::seconds(secs))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

#[tokio::test]
async fn provisioning_refuses_an_expiry_that_has_passed_and_changes_nothing() {
    let api = Api::new().await;
    let aid = asset(&api, "aws").await;
    let ent = grant_read(&api, &aid, "p9").await;
    let soon = in_seconds(2);
    let new = create(&api, new_of("aws", "temp", json!({"expires_at": soon}))).await;
    let modify = create(
        &api,
        modify_of("aws", &id_of(&ent), json!({"expires_at": soon})),
    )
    .await;
    approve(&api, &id_of(&new)).await;
    approve(&api, &id_of(&modify)).await;
    tokio::time::sleep(std::time::Duration::from_millis(2600)).await;
    for req in [&new, &modify] {
        let before = snapshot(&api, &id_of(req)).await;
        assert_eq!(before.live, 1);
        let r = act(&api, &provisioner(&api), &id_of(req), "provision").await;
        assert_problem(&r, 409, "conflict");
        assert!(r.body.get("current_status").is_none(), "{}", r.text);
        assert_unchanged(&api, &before).await;
    }
    assert_eq!(read_entitlement(&api, &id_of(&ent)).await, ent);
    let r = api.get(&format!("{ENTS}?asset_id={aid}")).await;
    assert_eq!(listed_ids(&r), vec![id_of(&ent)]);
}
