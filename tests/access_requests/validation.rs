//! Access requests: create — defaults, every field rule, resolving the asset, checking the entitlement a modify/revoke names, server-set fields ignored.

use super::*;

// ------------------------------------------------------------------------------------------
// Create
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn create_fills_defaults_and_returns_every_field() {
    let api = Api::new().await;
    let aid = asset(&api, "github").await;
    let body = new_of("github", "maintainer", json!({"justification": "on-call"}));
    let r = api.post(ARQ, body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let b = &r.body;
    let id = id_of(b);
    assert!(id.starts_with("arq_") && id.len() == 30, "{id}");
    assert_eq!(r.header("location"), Some(url(&id).as_str()));
    assert_eq!(r.header("etag"), Some("\"1\""));
    assert_members(b, &[&ENVELOPE_KEYS, &REQUEST_KEYS]);
    assert_fresh_envelope(&api, b);
    assert_eq!(b["created_at"], b["updated_at"]);
    let defaults = json!({
        "source": "edm", "source_type": "api", "requester_id": "user-1",
        "principal_id": "user-1", "principal_type": "person", "status": "pending",
        "system_id": "github", "asset_id": aid, "access_type": "new", "justification": "on-call",
        "entitlement_type": "maintainer", "expires_at": null, "tags": null
    });
    assert_fields(b, defaults);
    for f in SERVER_SET {
        assert_eq!(b[*f], Value::Null, "{f} must be null on a new request");
    }
    assert_eq!(b["approvals"], json!([]));
    assert_eq!(b["approvals_required"], 1);
    assert_eq!(read_request(&api, &id).await, *b);
    // Nothing is granted by asking.
    assert_eq!(live_count(&api, &aid).await, 0);
}

#[tokio::test]
async fn create_takes_the_clients_own_fields() {
    let api = Api::new().await;
    let aid = asset(&api, "aws").await;
    let b = create(
        &api,
        json!({
            "system_id": "aws", "asset_id": aid, "access_type": "new", "justification": "team access",
            "requester_id": "lead-7", "principal_id": "grp-ops", "principal_type": "group",
            "entitlement_type": "deployer", "expires_at": "2099-01-01T02:00:00+02:00",
            "tags": ["q1", "ops"], "source": "portal", "source_type": "frontend"
        }),
    )
    .await;
    assert_eq!(b["requester_id"], "lead-7");
    assert_eq!(b["principal_id"], "grp-ops");
    assert_eq!(b["principal_type"], "group");
    assert_eq!(b["asset_id"], aid.as_str());
    assert_eq!(b["expires_at"], FUTURE_OUT);
    assert_eq!(b["tags"], json!(["q1", "ops"]));
    assert_eq!(b["source"], "portal");
    assert_eq!(b["source_type"], "frontend");
    assert_eq!(b["created_by"], "user-1");
    // `null` optional fields take their defaults.
    let b = create(
        &api,
        json!({"system_id": "aws", "access_type": "new", "justification": "x", "entitlement_type": "r",
               "requester_id": null, "principal_id": null, "principal_type": null, "asset_id": null, "tags": null}),
    )
    .await;
    assert_eq!(b["requester_id"], "user-1");
    assert_eq!(b["principal_id"], "user-1");
    assert_eq!(b["principal_type"], "person");
    assert_eq!(b["asset_id"], aid.as_str());
    assert_eq!(b["tags"], Value::Null);
}

#[tokio::test]
async fn create_validates_every_field() {
    let api = Api::new().await;
    asset(&api, "slack").await;
    let ok = new_of("slack", "member", json!({}));
    let with = |patch: Value| {
        let mut b = ok.clone();
        for (k, v) in patch.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let without = |field: &str| {
        let mut b = ok.clone();
        b.as_object_mut().unwrap().remove(field);
        b
    };
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({}), vec!["access_type", "justification", "system_id"]),
        (without("system_id"), vec!["system_id"]),
        (without("justification"), vec!["justification"]),
        (without("access_type"), vec!["access_type"]),
        (with(json!({"justification": "   "})), vec!["justification"]),
        (with(json!({"justification": ""})), vec!["justification"]),
        (with(json!({"justification": null})), vec!["justification"]),
        (with(json!({"justification": 5})), vec!["justification"]),
        (
            with(json!({"justification": "j".repeat(4001)})),
            vec!["justification"],
        ),
        (with(json!({"system_id": " "})), vec!["system_id"]),
        (with(json!({"system_id": null})), vec!["system_id"]),
        (with(json!({"access_type": "grant"})), vec!["access_type"]),
        (with(json!({"access_type": "NEW"})), vec!["access_type"]),
        (with(json!({"access_type": null})), vec!["access_type"]),
        (without("entitlement_type"), vec!["entitlement_type"]),
        (
            with(json!({"entitlement_type": null})),
            vec!["entitlement_type"],
        ),
        (
            with(json!({"entitlement_type": "  "})),
            vec!["entitlement_type"],
        ),
        (with(json!({"expires_at": null})), vec!["expires_at"]),
        (
            with(json!({"expires_at": "2001-01-01T00:00:00Z"})),
            vec!["expires_at"],
        ),
        (with(json!({"expires_at": "tomorrow"})), vec!["expires_at"]),
        (
            with(json!({"expires_at": 4102444800u64})),
            vec!["expires_at"],
        ),
        (
            with(json!({"principal_type": "robot"})),
            vec!["principal_type"],
        ),
        (with(json!({"principal_id": ""})), vec!["principal_id"]),
        (with(json!({"requester_id": " "})), vec!["requester_id"]),
        (with(json!({"tags": "a"})), vec!["tags"]),
        (with(json!({"tags": ["a", ""]})), vec!["tags"]),
        (with(json!({"source_type": "robot"})), vec!["source_type"]),
        (with(json!({"bogus": 1})), vec!["bogus"]),
        (
            with(json!({"access_type": "modify"})),
            vec!["entitlement_id"],
        ),
        (
            json!({"system_id": "slack", "access_type": "modify", "justification": "x"}),
            vec!["entitlement_id", "entitlement_type"],
        ),
        (
            json!({"system_id": "slack", "access_type": "modify", "justification": "x", "entitlement_id": "ent_01JD3Q9Z8X4K2M7N5P6R8S0T1V"}),
            vec!["entitlement_type"],
        ),
        (
            json!({"system_id": "slack", "access_type": "revoke", "justification": "x"}),
            vec!["entitlement_id"],
        ),
        (
            json!({"system_id": "slack", "access_type": "revoke", "justification": "x", "entitlement_id": "ent_01JD3Q9Z8X4K2M7N5P6R8S0T1V", "expires_at": FUTURE}),
            vec!["expires_at"],
        ),
        (
            json!({"system_id": "slack", "access_type": "revoke", "justification": "x", "entitlement_id": "ent_01JD3Q9Z8X4K2M7N5P6R8S0T1V", "expires_at": null}),
            vec!["expires_at"],
        ),
        (
            json!({"access_type": "new", "justification": "", "expires_at": "2001-01-01T00:00:00Z", "bogus": true}),
            vec![
                "bogus",
                "entitlement_type",
                "expires_at",
                "justification",
                "system_id",
            ],
        ),
    ];
    for (body, fields) in cases {
        let r = api.post(ARQ, body.clone()).await;
        assert_invalid_for(&r, &fields, format!("body {body}"));
    }
    // Not JSON objects, or no body at all.
    let r = api.post_empty_as(ARQ, &api.token()).await;
    assert_problem(&r, 400, "bad-request");
    let r = api.post(ARQ, json!(["x"])).await;
    assert_eq!(r.status, 400, "{}", r.text);
    // Nothing was created by any of them.
    assert_eq!(listed_ids(&api.get(ARQ).await), Vec::<String>::new());
}

#[tokio::test]
async fn create_resolves_the_asset_from_system_id() {
    let api = Api::new().await;
    let github = asset(&api, "github").await;
    let jira = asset(&api, "jira").await;
    let body = |extra: Value| {
        let mut b = new_of("github", "member", json!({}));
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    // By name alone, and with a matching asset_id.
    assert_eq!(create(&api, body(json!({}))).await["asset_id"], github);
    assert_eq!(
        create(&api, body(json!({"asset_id": github}))).await["asset_id"],
        github
    );
    // asset_id of another asset than system_id names.
    let r = api.post(ARQ, body(json!({"asset_id": jira}))).await;
    assert_invalid(&r, &["system_id"]);
    // asset_id that names nothing (well-formed or not).
    let r = api
        .post(
            ARQ,
            body(json!({"asset_id": format!("ast_{}", ulid::Ulid::generate())})),
        )
        .await;
    assert_invalid(&r, &["asset_id"]);
    let r = api.post(ARQ, body(json!({"asset_id": "nope"}))).await;
    assert_invalid(&r, &["asset_id"]);
    // system_id that names no asset.
    let r = api.post(ARQ, body(json!({"system_id": "gitlab"}))).await;
    assert_invalid(&r, &["asset_id", "system_id"]);
    // Names are exact.
    let r = api.post(ARQ, body(json!({"system_id": "GitHub"}))).await;
    assert_invalid(&r, &["asset_id", "system_id"]);
    // A deleted asset names nothing, by name or by id.
    assert_eq!(api.delete(&format!("{TECH}/{jira}")).await.status, 204);
    let r = api.post(ARQ, body(json!({"system_id": "jira"}))).await;
    assert_invalid(&r, &["asset_id", "system_id"]);
    let r = api
        .post(ARQ, body(json!({"system_id": "jira", "asset_id": jira})))
        .await;
    assert_invalid(&r, &["asset_id"]);
    // Another tenant's asset, by name or by id.
    let other = api.other_tenant();
    let theirs = asset(&other, "confluence").await;
    let r = api
        .post(ARQ, body(json!({"system_id": "confluence"})))
        .await;
    assert_invalid(&r, &["asset_id", "system_id"]);
    let r = api
        .post(
            ARQ,
            body(json!({"system_id": "confluence", "asset_id": theirs})),
        )
        .await;
    assert_invalid(&r, &["asset_id"]);
    // Only the two good ones exist.
    assert_eq!(listed_ids(&api.get(ARQ).await).len(), 2);
    assert_eq!(listed_ids(&other.get(ARQ).await).len(), 0);
}

/// API.md §3: `system_id` may be a free-form system identifier that names no asset; with
/// `asset_id` given, only a `system_id` naming a *different* asset is a 400. Before, any
/// `system_id` other than the asset's name was refused.
#[tokio::test]
async fn a_system_id_that_names_no_asset_keeps_the_given_asset_id() {
    let api = Api::new().await;
    let github = asset(&api, "github").await;
    let jira = asset(&api, "jira").await;
    let body = |system: &str, asset_id: &str| {
        json!({"system_id": system, "asset_id": asset_id, "access_type": "new",
               "justification": "x", "entitlement_type": "member"})
    };
    // A free-form identifier: kept as sent, the asset is asset_id's.
    let r = create(&api, body("SAP-PRD-01", &github)).await;
    assert_eq!(r["asset_id"], github);
    assert_eq!(r["system_id"], "SAP-PRD-01");
    let stored = read_request(&api, &id_of(&r)).await;
    assert_eq!(stored, r);
    // Names of no live asset of the tenant: another tenant's, a deleted one's.
    let other = api.other_tenant();
    asset(&other, "confluence").await;
    let r = create(&api, body("confluence", &github)).await;
    assert_eq!(r["asset_id"], github);
    assert_eq!(api.delete(&format!("{TECH}/{jira}")).await.status, 204);
    let r = create(&api, body("jira", &github)).await;
    assert_eq!(r["asset_id"], github);
    assert_eq!(r["system_id"], "jira");
    // For an app token, another app's asset names nothing either.
    let app = app_token(&api, "svc", "app-a");
    let app_asset = api.asset_as(&app, "app-tool").await;
    let r = create_as(&api, &app, body("github", &app_asset)).await;
    assert_eq!(r["asset_id"], app_asset);
    // Still 400: a name of another asset, or neither resolving.
    let gitlab = asset(&api, "gitlab").await;
    let r = api.post(ARQ, body("gitlab", &github)).await;
    assert_invalid(&r, &["system_id"]);
    let r = api
        .post(
            ARQ,
            body("SAP-PRD-01", &format!("ast_{}", ulid::Ulid::generate())),
        )
        .await;
    assert_invalid(&r, &["asset_id"]);
    let payload = json!({"system_id": "SAP-PRD-01", "access_type": "new", "justification": "x",
                   "entitlement_type": "member"});
    let r = api.post(ARQ, payload).await;
    assert_invalid(&r, &["asset_id", "system_id"]);
    // Exactly the four accepted requests exist (three of user-1's, one of the app's).
    assert_eq!(listed_ids(&api.get(ARQ).await).len(), 4);
    assert!(listed_ids(&api.get(&format!("{ARQ}?asset_id={gitlab}")).await).is_empty());
}

#[tokio::test]
async fn create_checks_the_entitlement_of_modify_and_revoke() {
    let api = Api::new().await;
    let aws = asset(&api, "aws").await;
    let gcp = asset(&api, "gcp").await;
    let live = grant_read(&api, &aws, "p9").await;
    let live_id = id_of(&live);
    let on_gcp = id_of(&grant_read(&api, &gcp, "p9").await);
    let revoked = id_of(&grant_read(&api, &aws, "p8").await);
    assert_eq!(
        api.post(&format!("{ENTS}/{revoked}/revoke"), json!({}))
            .await
            .status,
        200
    );
    let pending = id_of(
        &grant(
            &api,
            json!({"asset_id": aws, "principal_id": "p7", "principal_type": "person", "entitlement_type": "read", "status": "pending_approval"}),
        )
        .await,
    );
    let other = api.other_tenant();
    let their_asset = asset(&other, "aws").await;
    let theirs = id_of(&grant_read(&other, &their_asset, "p9").await);

    for access_type in ["modify", "revoke"] {
        let body = |eid: &str| {
            let mut b = json!({"system_id": "aws", "access_type": access_type, "justification": "x", "entitlement_id": eid});
            if access_type == "modify" {
                b["entitlement_type"] = json!("write");
            }
            b
        };
        for bad in [
            revoked.as_str(),
            on_gcp.as_str(),
            pending.as_str(),
            theirs.as_str(),
            "ent_01JD3Q9Z8X4K2M7N5P6R8S0T1V",
            "not-an-id",
        ] {
            let r = api.post(ARQ, body(bad)).await;
            assert_invalid(&r, &["entitlement_id"]);
        }
        // The principal is the entitlement's: another one is refused, the same one is fine.
        let mut b = body(&live_id);
        b["principal_id"] = json!("p1");
        assert_invalid(&api.post(ARQ, b).await, &["principal_id"]);
        let mut b = body(&live_id);
        b["principal_type"] = json!("group");
        assert_invalid(&api.post(ARQ, b).await, &["principal_type"]);
        let mut b = body(&live_id);
        b["principal_id"] = json!("p9");
        b["principal_type"] = json!("person");
        let created = create(&api, b).await;
        assert_eq!(created["principal_id"], "p9");
        assert_eq!(created["principal_type"], "person");
        assert_eq!(created["entitlement_id"], live_id.as_str());
        assert_eq!(created["requester_id"], "user-1");
        assert_eq!(created["asset_id"], aws.as_str());
    }
    // revoke: the request's entitlement_type is the entitlement's, whatever was sent.
    let r = create(
        &api,
        revoke_of("aws", &live_id, json!({"entitlement_type": "admin"})),
    )
    .await;
    assert_eq!(r["entitlement_type"], "read");
    assert_eq!(r["expires_at"], Value::Null);
    // modify: only the expiry, only the type.
    let r = create(
        &api,
        modify_of("aws", &live_id, json!({"expires_at": FUTURE})),
    )
    .await;
    assert_eq!(r["entitlement_type"], Value::Null);
    assert_eq!(r["expires_at"], FUTURE_OUT);
    // Nothing about the entitlement changed by asking.
    assert_eq!(read_entitlement(&api, &live_id).await, live);
    assert_eq!(live_count(&api, &aws).await, 2);
}

#[tokio::test]
async fn create_ignores_server_set_fields() {
    let api = Api::new().await;
    let aid = asset(&api, "okta").await;
    let server_set = json!({
        "status": "approved", "approver_id": "me", "approved_at": "2020-01-01T00:00:00Z",
        "rejected_at": "2020-01-01T00:00:00Z", "provisioned_at": "2020-01-01T00:00:00Z",
        "completed_at": "2020-01-01T00:00:00Z", "decision_comment": "self-approved",
        "granted_at": "2020-01-01T00:00:00Z", "granted_by_id": "me",
        "approvals": [{"approver_id": "me", "approved_at": "2020-01-01T00:00:00Z", "comment": null}],
        "approvals_required": 0
    });
    let envelope = foreign_envelope("arq_01JD3Q9Z8X4K2M7N5P6R8S0T1V");
    let body = with(new_of("okta", "admin", server_set), envelope);
    let b = create(&api, body).await;
    assert_eq!(b["status"], "pending");
    for f in SERVER_SET {
        assert_eq!(b[*f], Value::Null, "{f} must be ignored");
    }
    assert_eq!(b["approvals"], json!([]));
    assert_eq!(b["approvals_required"], 1);
    assert_ne!(b["id"], "arq_01JD3Q9Z8X4K2M7N5P6R8S0T1V");
    assert_eq!(b["tenant_id"], api.tenant.as_str());
    assert_eq!(b["app_id"], Value::Null);
    assert_eq!(b["created_by"], "user-1");
    assert_eq!(b["is_deleted"], false);
    assert_eq!(b["deleted_at"], Value::Null);
    assert_eq!(b["revision"], 1);
    assert_ne!(b["schema_version"], 99);
    assert_eq!(b["asset_id"], aid.as_str());
    assert_eq!(read_request(&api, &id_of(&b)).await, b);
    // It is pending for real: the requester still cannot provision it.
    let r = act(&api, &api.token(), &id_of(&b), "provision").await;
    assert_transition_conflict(&r, "pending");
}

#[tokio::test]
async fn modify_clearing_the_expiry_of_a_privileged_entitlement_is_refused_at_create() {
    let api = Api::new().await;
    let aid = asset(&api, "vault").await;
    let privileged = grant_privileged_root(&api, &aid).await;
    let plain = grant_read(&api, &aid, "p2").await;
    let body = modify_of("vault", &id_of(&privileged), json!({"expires_at": null}));
    let r = api.post(ARQ, body).await;
    assert_invalid(&r, &["expires_at"]);
    // A new expiry is fine on the privileged one; clearing is fine on the plain one.
    create(
        &api,
        modify_of("vault", &id_of(&privileged), json!({"expires_at": LATER})),
    )
    .await;
    let c = create(
        &api,
        modify_of("vault", &id_of(&plain), json!({"expires_at": null})),
    )
    .await;
    assert_eq!(c["expires_at"], Value::Null);
    assert_eq!(c["entitlement_type"], Value::Null);
    assert_eq!(listed_ids(&api.get(ARQ).await).len(), 2);
}

#[tokio::test]
async fn create_validation() {
    let api = Api::new().await;
    let r = api.post(ARQ, json!({"access_type": "new"})).await;
    assert_invalid(&r, &["entitlement_type", "justification", "system_id"]);
    let r = api.post(ARQ, new_of("nope", "r", json!({}))).await;
    assert_invalid(&r, &["asset_id", "system_id"]);
}

#[tokio::test]
async fn server_set_fields_in_a_create_body_are_ignored() {
    let api = Api::new().await;
    api.asset(json!({"name": "okta"})).await;
    let body = json!({"system_id": "okta", "access_type": "new", "justification": "x", "entitlement_type": "admin",
                   "entitlement_id": "ent_01JD3Q9Z8X4K2M7N5P6R8S0T1V", "status": "approved", "approver_id": "me",
                   "granted_at": "2020-01-01T00:00:00Z"});
    let r = api.post(ARQ, body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["entitlement_id"], Value::Null);
    assert_eq!(r.body["status"], "pending");
    assert_eq!(r.body["approver_id"], Value::Null);
    assert_eq!(r.body["granted_at"], Value::Null);
}
