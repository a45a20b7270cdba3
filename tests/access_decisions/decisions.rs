//! Single evaluations: each §9 reason, group grants, assets by id and by name, foreign assets as missing ones, strong consistency and the request counts of a decision.

use super::*;

/// The question is denied for `reason`, and the decision names no grant.
async fn assert_denied_naming_no_grant(api: &Api, question: Value, reason: &str) {
    let d = evaluate(api, question).await;
    assert_eq!(verdict(&d), denied(reason));
    assert_eq!(d["context"]["grants"], json!([]));
}

#[tokio::test]
async fn a_direct_grant_is_granted_with_its_grant_listed() {
    let api = Api::new().await;
    let (_, asset) = api.named_asset("crm-prod").await;
    let ent = grant(&api, grant_body(&asset, "alice", "read")).await;
    let d = evaluate(&api, question("alice", &asset, "read")).await;
    assert_eq!(verdict(&d), granted());
    assert_eq!(
        d["context"]["grants"],
        json!([{"entitlement_id": ent, "principal_type": "person", "principal_id": "alice",
                "entitlement_type": "read", "expires_at": null, "via": "direct"}])
    );
    // Someone else, or another action, holds nothing.
    assert_eq!(
        verdict(&evaluate(&api, question("bob", &asset, "read")).await),
        denied("no_grant")
    );
    assert_denied_naming_no_grant(&api, question("alice", &asset, "write"), "no_grant").await;
}

#[tokio::test]
async fn a_listed_groups_grant_is_granted_via_group() {
    let api = Api::new().await;
    let (_, asset) = api.named_asset("wiki").await;
    let ent = grant(&api, group_grant_body(&asset, "eng", "read")).await;
    let d = evaluate(
        &api,
        question_with_groups("alice", &["ops", "eng"], &asset, "read"),
    )
    .await;
    assert_eq!(verdict(&d), granted());
    assert_eq!(d["context"]["grants"][0]["entitlement_id"], ent.as_str());
    assert_eq!(d["context"]["grants"][0]["via"], "group");
    assert_eq!(d["context"]["grants"][0]["principal_type"], "group");
    // Not listing the group, nothing; the group itself asking holds it directly.
    assert_eq!(
        verdict(&evaluate(&api, question("alice", &asset, "read")).await),
        denied("no_grant")
    );
    let mut as_group = question("eng", &asset, "read");
    as_group["subject"]["type"] = json!("group");
    let d = evaluate(&api, as_group).await;
    assert_eq!(d["context"]["grants"][0]["via"], "direct");
    // A person named like the group is another principal.
    assert_eq!(
        verdict(&evaluate(&api, question("eng", &asset, "read")).await),
        denied("no_grant")
    );
    // Both the own and a group's grant: both listed, own first.
    let own = grant(&api, expiring_grant_body(&asset, "alice", "read", 3)).await;
    let d = evaluate(
        &api,
        question_with_groups("alice", &["eng"], &asset, "read"),
    )
    .await;
    let ids: Vec<&str> = d["context"]["grants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["entitlement_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [own.as_str(), ent.as_str()]);
    assert!(d["context"]["grants"][0]["expires_at"].is_string());
}

#[tokio::test]
async fn pending_revoked_and_wrong_type_grants_are_no_grant() {
    let api = Api::new().await;
    let (_, asset) = api.named_asset("billing").await;
    grants_giving_no_read(&api, &asset, ["pat", "rev", "typ"]).await;
    for who in ["pat", "rev", "typ"] {
        let d = evaluate(&api, question(who, &asset, "read")).await;
        assert_eq!(verdict(&d), denied("no_grant"), "{who}");
    }
}

#[tokio::test]
async fn an_expired_grant_is_denied_at_once_whether_or_not_the_sweep_ran() {
    let api = Api::new().await;
    let (_, asset) = api.named_asset("vault").await;
    grant_read_lapsing_in(&api, &asset, "eve", 1500).await;
    assert_eq!(
        verdict(&evaluate(&api, question("eve", &asset, "read")).await),
        granted()
    );
    tokio::time::sleep(std::time::Duration::from_millis(1700)).await;
    // Still `active` in its record: no sweep has run.
    let listed = api.get(&format!("{ENTS}?asset_id={asset}")).await;
    assert_eq!(listed.body["items"][0]["status"], "active");
    assert_eq!(
        verdict(&evaluate(&api, question("eve", &asset, "read")).await),
        denied("expired")
    );
    // A live group grant still grants.
    grant(&api, group_grant_body(&asset, "sec", "read")).await;
    let d = evaluate(&api, question_with_groups("eve", &["sec"], &asset, "read")).await;
    assert_eq!(verdict(&d), granted());
}

#[tokio::test]
async fn deleted_missing_and_decommissioned_assets() {
    let api = Api::new().await;
    let (_, gone) = api.named_asset("gone").await;
    assert_eq!(api.delete(&format!("{TECH}/{gone}")).await.status, 204);
    assert_eq!(
        verdict(&evaluate(&api, question("a", &gone, "read")).await),
        denied("asset_not_found")
    );
    assert_eq!(
        verdict(&evaluate(&api, question("a", "gone", "read")).await),
        denied("asset_not_found")
    );
    for missing_asset in [
        missing("ast"),
        "no-such-asset".into(),
        "ast_not-an-id".into(),
        "Bad Name!".into(),
    ] {
        let d = evaluate(&api, question("a", &missing_asset, "read")).await;
        assert_eq!(verdict(&d), denied("asset_not_found"), "{missing_asset}");
    }
    let (_, old) = api.named_asset("mainframe").await;
    grant(&api, grant_body(&old, "a", "read")).await;
    let r = api
        .patch(
            &format!("{TECH}/{old}"),
            json!({"status": "decommissioned"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_denied_naming_no_grant(&api, question("a", &old, "read"), "asset_decommissioned").await;
}

/// Another tenant's and another app's asset answer exactly as a missing one.
#[tokio::test]
async fn foreign_assets_are_exactly_missing_ones() {
    let api = Api::new().await;
    let crm = app_token(&api, "user-1", "crm");
    let asset = api.asset_as(&crm, "crm-only").await;
    api.created_as(ENTS, &crm, grant_body(&asset, "alice", "read"))
        .await;

    let as_app = |token: String, body: Value| {
        let api = api.clone();
        async move { api.post_as(EVALUATION, &token, body).await }
    };
    let missing_answer = as_app(crm.clone(), question("alice", &missing("ast"), "read")).await;
    assert_eq!(verdict(&missing_answer.body), denied("asset_not_found"));
    let erp = app_token(&api, "user-1", "erp");
    for asset_ref in [asset.as_str(), "crm-only"] {
        // The app's own token and a person token see it; another app does not.
        assert_eq!(
            verdict(
                &as_app(crm.clone(), question("alice", asset_ref, "read"))
                    .await
                    .body
            ),
            granted()
        );
        assert_eq!(
            verdict(&evaluate(&api, question("alice", asset_ref, "read")).await),
            granted()
        );
        let other_app = as_app(erp.clone(), question("alice", asset_ref, "read")).await;
        assert_eq!(shape(&other_app), shape(&missing_answer), "{asset_ref}");
        let other = api.other_tenant();
        let other_tenant = other
            .post(EVALUATION, question("alice", asset_ref, "read"))
            .await;
        assert_eq!(shape(&other_tenant), shape(&missing_answer), "{asset_ref}");
    }
    // An app token does not count another app's (or a person token's) grant on a shared asset.
    let (_, shared_asset) = api.named_asset("shared").await;
    grant(&api, grant_body(&shared_asset, "bob", "read")).await;
    let d = as_app(crm.clone(), question("bob", &shared_asset, "read")).await;
    assert_eq!(verdict(&d.body), denied("asset_not_found"));
}

#[tokio::test]
async fn by_id_is_one_batch_get_and_by_name_one_more() {
    let api = Api::new().await;
    let (_, asset) = api.named_asset("erp-prod").await;
    /// `zed`, a member of g0 … g{groups-1}, asks for `admin` on `asset`: the 200's decision,
    /// after exactly `batch_gets` BatchGetItem calls.
    async fn zed_asks(api: &Api, groups: usize, asset: &str, batch_gets: u64) -> Value {
        let names: Vec<String> = (0..groups).map(|i| format!("g{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let question = question_with_groups("zed", &names, asset, "admin");
        after_batch_gets(api, batch_gets, EVALUATION, question).await
    }
    grant(&api, group_grant_body(&asset, "g7", "admin")).await;
    let by_id = zed_asks(&api, 10, &asset, 1).await;
    let by_name = zed_asks(&api, 10, "erp-prod", 2).await;
    assert_eq!(verdict(&by_id), granted());
    assert_eq!(by_id, by_name);
    // 100 groups, the subject and the asset: 102 keys, two BatchGetItem calls in one wave.
    let r = zed_asks(&api, 100, &asset, 2).await;
    assert_eq!(verdict(&r), granted());
    // Nothing to read: no request at all.
    api.expect_answer(
        200,
        &[],
        api.post(EVALUATION, question("zed", "Not A Name", "admin")),
    )
    .await;
}

/// A grant, revoke or change that has answered is in the very next decision.
#[tokio::test]
async fn read_after_write_twenty_times_in_a_row() {
    let api = Api::new().await;
    let (_, asset) = api.named_asset("hot").await;
    for round in 0..20 {
        let ent = grant(&api, grant_body(&asset, "rw", "read")).await;
        assert_eq!(
            verdict(&evaluate(&api, question("rw", &asset, "read")).await),
            granted(),
            "round {round}"
        );
        revoke(&api, &ent).await;
        assert_eq!(
            verdict(&evaluate(&api, question("rw", &asset, "read")).await),
            denied("no_grant"),
            "round {round}"
        );
    }
}

/// A PATCH moves the guard's status, expiry and type with the record, in its transaction.
#[tokio::test]
async fn patched_status_expiry_and_type_are_decided_at_once() {
    let api = Api::new().await;
    let (_, asset) = api.named_asset("patched").await;
    let ent = grant(&api, grant_body(&asset, "pp", "read")).await;
    let uri = format!("{ENTS}/{ent}");
    let ask = || evaluate(&api, question("pp", &asset, "read"));
    let patch = |body: Value| async {
        let r = api.patch(&uri, body).await;
        assert_eq!(r.status, 200, "{}", r.text);
    };
    patch(json!({"status": "pending_approval"})).await;
    assert_eq!(verdict(&ask().await), denied("no_grant"));
    patch(json!({"status": "active"})).await;
    assert_eq!(verdict(&ask().await), granted());
    let soon = shared::time::Timestamp::now().plus_millis(1200).to_string();
    patch(json!({"expires_at": soon})).await;
    let d = ask().await;
    assert_eq!(d["context"]["grants"][0]["expires_at"], soon.as_str());
    tokio::time::sleep(std::time::Duration::from_millis(1400)).await;
    assert_eq!(verdict(&ask().await), denied("expired"));
    // Extending it again (an expired-but-unswept grant is still `active`) grants again.
    patch(json!({"expires_at": in_days(1)})).await;
    assert_eq!(verdict(&ask().await), granted());
    patch(json!({"entitlement_type": "write"})).await;
    assert_eq!(verdict(&ask().await), denied("no_grant"));
    assert_eq!(
        verdict(&evaluate(&api, question("pp", &asset, "write")).await),
        granted()
    );
}
