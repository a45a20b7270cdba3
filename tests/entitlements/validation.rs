//! Entitlements: every field and expiry rule, the asset rules checked in the transaction, unstorable `attributes` (400s that write nothing).

use super::*;

#[tokio::test]
async fn create_names_every_bad_field_and_writes_nothing() {
    let (api, aid) = api_with_crm().await;

    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            json!({}),
            vec![
                "asset_id",
                "entitlement_type",
                "principal_id",
                "principal_type",
            ],
        ),
        (
            json!({"asset_id": null, "principal_id": "", "principal_type": null, "entitlement_type": "  "}),
            vec![
                "asset_id",
                "entitlement_type",
                "principal_id",
                "principal_type",
            ],
        ),
        (
            json!({
                "asset_id": aid, "principal_id": "p", "principal_type": "robot",
                "entitlement_type": "x", "grant_source": "manual", "status": "revoked",
                "privileged": "yes", "requestable": 1, "expires_at": "tomorrow",
                "granted_at": "2026-13-01T00:00:00Z", "attributes": [1], "description": 5,
                "source_type": "robot", "bogus": 1
            }),
            vec![
                "attributes",
                "bogus",
                "description",
                "expires_at",
                "grant_source",
                "granted_at",
                "principal_type",
                "privileged",
                "requestable",
                "source_type",
                "status",
            ],
        ),
        (
            with(grant_body(&aid, "p", "x"), json!({"status": "expired"})),
            vec!["status"],
        ),
        (
            with(
                grant_body(&aid, "p", "x"),
                json!({"grant_source": null, "status": null, "privileged": null, "requestable": null}),
            ),
            vec!["grant_source", "privileged", "requestable", "status"],
        ),
        (
            with(
                grant_body(&aid, "p", "x"),
                json!({"revoked_at": "2030-01-01T00:00:00Z", "revoked_by": "x", "revoke_reason": "x",
                       "expired_at": "2030-01-01T00:00:00Z", "access_model_metadata": null,
                       "access_request_id": "arq_01JD3Q9Z8X4K2M7N5P6R8S0T1V"}),
            ),
            vec![
                "access_model_metadata",
                "access_request_id",
                "expired_at",
                "revoke_reason",
                "revoked_at",
                "revoked_by",
            ],
        ),
        (
            grant_body(&aid, &"p".repeat(201), "x"),
            vec!["principal_id"],
        ),
        (
            grant_body(&aid, "p", &"x".repeat(201)),
            vec!["entitlement_type"],
        ),
        (
            with(
                grant_body(&aid, "p", "x"),
                json!({"expires_at": "2020-01-01T00:00:00Z"}),
            ),
            vec!["expires_at"],
        ),
        (
            with(grant_body(&aid, "p", "x"), json!({"privileged": true})),
            vec!["expires_at"],
        ),
        (
            with(
                grant_body(&aid, "p", "x"),
                json!({"granted_at": "2099-01-02T00:00:00Z", "expires_at": "2099-01-01T00:00:00Z"}),
            ),
            vec!["expires_at"],
        ),
    ];
    for (body, fields) in cases {
        let r = api.post(BASE, body.clone()).await;
        assert_invalid_for(&r, &fields, &body);
    }
    // Malformed bodies.
    let r = api
        .raw("POST", BASE, &api.token(), HeaderMap::new(), Vec::new())
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = api
        .post_bytes(BASE, "application/json", b"{\"asset_id\":")
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = api
        .post_bytes(
            BASE,
            "text/plain",
            &serde_json::to_vec(&grant_body(&aid, "p", "x")).unwrap(),
        )
        .await;
    assert_problem(&r, 415, "unsupported-media-type");

    assert_live(&api, &aid, 0).await;
    assert_eq!(walk(&api, "", 100).await, Vec::<String>::new());
}

#[tokio::test]
async fn asset_must_be_a_live_asset_of_the_tenant() {
    let api = Api::new().await;
    let other = api.other_tenant();
    let theirs = asset_id(&other, json!({"name": "theirs"})).await;
    let deleted = asset_id(&api, json!({"name": "gone"})).await;
    assert_eq!(api.delete(&format!("{TECH}/{deleted}")).await.status, 204);
    let mine = asset_id(&api, json!({"name": "mine"})).await;
    let ent = create(&api, grant_body(&mine, "p0", "x")).await;

    let reference = api.post(BASE, grant_body(&missing_asset(), "p", "x")).await;
    assert_invalid(&reference, &["asset_id"]);
    for bad in [
        theirs.clone(),
        deleted.clone(),
        id_of(&ent),
        "nope".to_string(),
        "crm".to_string(),
        format!("T#{}#AST", api.tenant),
    ] {
        let r = api.post(BASE, grant_body(&bad, "p", "x")).await;
        assert_invalid_for(&r, &["asset_id"], &bad);
        assert_eq!(r.body["errors"], reference.body["errors"], "{bad}");
    }
    assert_eq!(live_count(&other, &theirs).await, 0);
    assert_eq!(live_count(&api, &deleted).await, 0);
    assert_live(&api, &mine, 1).await;
    assert_eq!(walk(&api, "", 100).await, vec![id_of(&ent)]);
    assert_eq!(walk(&other, "", 100).await, Vec::<String>::new());
}

// ------------------------------------------------------------------------------------------
// Expiry: future only; privileged or critical needs one
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn expires_at_must_be_in_the_future_and_is_required_when_privileged_or_critical() {
    let api = Api::new().await;
    let plain = asset_id(&api, json!({"name": "wiki"})).await;
    let critical = asset_id(&api, json!({"name": "vault", "criticality": "critical"})).await;
    let high = asset_id(&api, json!({"name": "ledger", "criticality": "high"})).await;

    let past = Timestamp::now().plus_seconds(-1).to_string();
    for when in [
        past.as_str(),
        "2020-01-01T00:00:00Z",
        "2000-01-01T00:00:00+05:00",
    ] {
        let body = with(grant_body(&plain, "p", "x"), json!({"expires_at": when}));
        let r = api.post(BASE, body).await;
        assert_invalid_for(&r, &["expires_at"], when);
    }
    let refused: Vec<(&str, Value)> = vec![
        (critical.as_str(), json!({})),
        (critical.as_str(), json!({"expires_at": null})),
        (critical.as_str(), json!({"status": "pending_approval"})),
        (critical.as_str(), json!({"privileged": false})),
        (plain.as_str(), json!({"privileged": true})),
        (
            plain.as_str(),
            json!({"privileged": true, "expires_at": null}),
        ),
        (high.as_str(), json!({"privileged": true})),
    ];
    for (asset, extra) in refused {
        let r = api
            .post(BASE, with(grant_body(asset, "p", "x"), extra.clone()))
            .await;
        assert_invalid_for(&r, &["expires_at"], format!("{asset} {extra}"));
    }
    assert_live(&api, &plain, 0).await;
    assert_live(&api, &critical, 0).await;
    assert_live(&api, &high, 0).await;

    // With an expiry they are fine; a non-critical asset needs none.
    let e = create(&api, expiring_grant_body(&critical, "p", "x", 7)).await;
    assert_eq!(e["status"], "active");
    create_with(
        &api,
        &plain,
        "p",
        "x",
        json!({"privileged": true, "expires_at": "2099-01-01T00:00:00-08:00"}),
    )
    .await;
    create(&api, grant_body(&high, "p", "x")).await;
    create_with(
        &api,
        &critical,
        "p",
        "y",
        json!({"status": "pending_approval", "expires_at": in_days(1)}),
    )
    .await;
    assert_live(&api, &plain, 1).await;
    assert_live(&api, &critical, 2).await;
    assert_live(&api, &high, 1).await;
}

#[tokio::test]
async fn patching_expiry_keeps_the_expiry_rules() {
    let api = Api::new().await;
    let critical = asset_id(&api, json!({"name": "vault", "criticality": "critical"})).await;
    let plain = asset_id(&api, json!({"name": "wiki"})).await;
    let on_critical = create(&api, expiring_grant_body(&critical, "p1", "x", 5)).await;
    let privileged = create_with(
        &api,
        &plain,
        "p1",
        "x",
        json!({"privileged": true, "expires_at": in_days(5)}),
    )
    .await;
    let open = create(&api, grant_body(&plain, "p2", "x")).await;

    let r = api
        .patch(&url(&id_of(&on_critical)), json!({"expires_at": null}))
        .await;
    assert_invalid(&r, &["expires_at"]);
    assert_unchanged(&api, &on_critical).await;
    let edit = json!({"expires_at": null, "entitlement_type": "y"});
    let r = api.patch(&url(&id_of(&on_critical)), edit).await;
    assert_invalid(&r, &["expires_at"]);
    assert_unchanged(&api, &on_critical).await;
    // The type change was rolled back with it: the old tuple is still held, the new one free.
    assert_problem(
        &api.post(BASE, expiring_grant_body(&critical, "p1", "x", 1))
            .await,
        409,
        "conflict",
    );
    let r = api
        .patch(&url(&id_of(&privileged)), json!({"expires_at": null}))
        .await;
    assert_invalid(&r, &["expires_at"]);
    assert_unchanged(&api, &privileged).await;
    let r = api
        .patch(&url(&id_of(&open)), json!({"privileged": true}))
        .await;
    assert_invalid(&r, &["expires_at"]);
    assert_unchanged(&api, &open).await;
    for past in ["2020-01-01T00:00:00Z", "garbage"] {
        let r = api
            .patch(&url(&id_of(&open)), json!({"expires_at": past}))
            .await;
        assert_invalid(&r, &["expires_at"]);
        assert_unchanged(&api, &open).await;
    }
    assert_live(&api, &critical, 1).await;
    assert_live(&api, &plain, 2).await;

    // Extending, and clearing where allowed.
    let later = in_days(60);
    let r = api
        .patch(&url(&id_of(&on_critical)), json!({"expires_at": later}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["expires_at"], later);
    let edit = json!({"privileged": false, "expires_at": null});
    let r = api.patch(&url(&id_of(&privileged)), edit).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["expires_at"], Value::Null);
    assert_live(&api, &critical, 1).await;
    assert_live(&api, &plain, 2).await;
}

// ------------------------------------------------------------------------------------------
// Bugs
// ------------------------------------------------------------------------------------------

/// `attributes` bodies that DynamoDB cannot store. The contract (§1): never a 500 for anything a
/// client sent. Either answer is acceptable: 400 naming where in `attributes` the problem is,
/// or stored and returned as sent.
fn unstorable_attributes() -> Vec<(&'static str, Value, String)> {
    let mut deep = json!("leaf");
    for _ in 0..40 {
        deep = json!({"a": deep});
    }
    // The reader stops at its depth limit (16), naming the path down to there.
    let deep_path = format!("attributes.d{}", ".a".repeat(15));
    vec![
        ("maps nested 41 deep", json!({"d": deep}), deep_path),
        ("an empty key", json!({"": 1}), "attributes".into()),
        (
            "a number above DynamoDB's 1e125",
            json!({"n": 1e300}),
            "attributes.n".into(),
        ),
        (
            "a number below DynamoDB's -1e125",
            json!({"n": -1e300}),
            "attributes.n".into(),
        ),
        (
            "a number below DynamoDB's 1e-130",
            json!({"n": 1e-200}),
            "attributes.n".into(),
        ),
    ]
}

fn assert_not_500(r: &Response, what: &str, field: &str) {
    assert_ne!(r.status, 500, "{what}: {}", r.text);
    if r.status != 201 && r.status != 200 {
        assert_problem(r, 400, "validation-error");
        assert_eq!(bad_fields(r), vec![field], "{what}");
    }
}

#[tokio::test]
async fn unstorable_attributes_on_create_are_a_400() {
    let (api, aid) = api_with_crm().await;
    // A moderately nested object is fine.
    let mut ok = json!(1);
    for _ in 0..10 {
        ok = json!({"a": ok});
    }
    let e = create_with(&api, &aid, "ok", "x", json!({"attributes": ok})).await;
    assert_eq!(current(&api, &id_of(&e)).await, e);
    for (i, (what, attrs, field)) in unstorable_attributes().into_iter().enumerate() {
        let body = with(
            grant_body(&aid, &format!("p{i}"), "x"),
            json!({"attributes": attrs}),
        );
        let r = api.post(BASE, body).await;
        assert_not_500(&r, what, &field);
        if r.status == 201 {
            assert_eq!(current(&api, &id_of(&r.body)).await, r.body, "{what}");
        }
    }
}

#[tokio::test]
async fn unstorable_attributes_on_patch_are_a_400() {
    let (api, aid, e) = crm_grant(json!({})).await;
    for (what, attrs, field) in unstorable_attributes() {
        let before = current(&api, &id_of(&e)).await;
        let r = api
            .patch(&url(&id_of(&e)), json!({"attributes": attrs}))
            .await;
        assert_not_500(&r, what, &field);
        if r.status == 200 {
            assert_eq!(current(&api, &id_of(&e)).await, r.body, "{what}");
        } else {
            assert_unchanged(&api, &before).await;
        }
    }
    assert_live(&api, &aid, 1).await;
}

#[tokio::test]
async fn asset_rules_are_checked_in_the_transaction() {
    let api = Api::new().await;
    let body = grant_body("ast_01JD3Q9Z8X4K2M7N5P6R8S0T1V", "p1", "x");
    let r = api.post(BASE, body).await;
    assert_invalid(&r, &["asset_id"]);

    let critical = api
        .asset(json!({"name": "vault", "criticality": "critical"}))
        .await;
    let cid = critical["id"].as_str().unwrap();
    let r = api.post(BASE, grant_body(cid, "p1", "x")).await;
    assert_invalid(&r, &["expires_at"]);
    assert_eq!(live_count(&api, cid).await, 0);
    let mut ok = grant_body(cid, "p1", "x");
    ok["expires_at"] = json!("2099-01-01T00:00:00Z");
    let r = api.post(BASE, ok).await;
    assert_eq!(r.status, 201, "{}", r.text);

    let plain = api.asset(json!({"name": "wiki"})).await;
    let pid = plain["id"].as_str().unwrap();
    assert_eq!(
        api.delete(&format!("/api/v1/technology/{pid}"))
            .await
            .status,
        204
    );
    let r = api.post(BASE, grant_body(pid, "p1", "x")).await;
    assert_invalid(&r, &["asset_id"]);
}
