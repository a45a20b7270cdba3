//! Access requests: the state machine (approve, reject, complete, edit, withdraw), refused transitions that change nothing, provenance, If-Match, DynamoDB request counts.

use super::*;

// ------------------------------------------------------------------------------------------
// The state machine
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn approving_a_pending_request_stamps_the_decision() {
    let api = Api::new().await;
    asset(&api, "github").await;
    let before = new_request(&api, "github").await;
    let id = id_of(&before);
    let r = decide(&api, &id, "approve", json!({"comment": "ok for Q1"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("etag"), Some("\"2\""));
    let b = &r.body;
    assert_eq!(b["status"], "approved");
    assert_eq!(b["approver_id"], "approver-1");
    assert_eq!(b["decision_comment"], "ok for Q1");
    assert!(b["approved_at"].is_string());
    assert_eq!(b["approved_at"], b["updated_at"]);
    assert_eq!(b["updated_by"], "approver-1");
    assert_eq!(b["revision"], 2);
    for f in [
        "rejected_at",
        "provisioned_at",
        "completed_at",
        "granted_at",
        "granted_by_id",
        "entitlement_id",
    ] {
        assert_eq!(b[f], Value::Null, "{f}");
    }
    // Everything else is as it was.
    assert_only_changed(&before, b, APPROVAL_STAMPS);
    assert_eq!(read_request(&api, &id).await, *b);
    assert_indexed_as(&api, &id, "approved").await;
}

#[tokio::test]
async fn rejecting_a_pending_request_stamps_the_decision() {
    let api = Api::new().await;
    let id = pending_request(&api, "github").await;
    // An empty body is fine on an action route; an unknown field is not (and changes nothing).
    let before = snapshot(&api, &id).await;
    let r = decide(&api, &id, "reject", json!({"reason": "no"})).await;
    assert_invalid(&r, &["reason"]);
    let r = decide(&api, &id, "reject", json!({"comment": 5})).await;
    assert_invalid(&r, &["comment"]);
    assert_unchanged(&api, &before).await;
    let r = act(&api, &approver(&api), &id, "reject").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let b = &r.body;
    assert_eq!(b["status"], "rejected");
    assert_eq!(b["approver_id"], "approver-1");
    assert_eq!(b["decision_comment"], Value::Null);
    assert_eq!(b["rejected_at"], b["updated_at"]);
    assert_eq!(b["approved_at"], Value::Null);
    assert_eq!(b["revision"], 2);
    assert_eq!(read_request(&api, &id).await, *b);
    assert_indexed_as(&api, &id, "rejected").await;
}

#[tokio::test]
async fn every_illegal_transition_is_a_conflict_that_changes_nothing() {
    let api = Api::new().await;
    let mut by_status = BTreeMap::new();
    for s in [
        "pending",
        "approved",
        "rejected",
        "provisioned",
        "completed",
    ] {
        by_status.insert(s, id_of(&at_status(&api, s).await));
    }
    let decider = approver(&api);
    // (action, statuses it is refused from)
    let refused: &[(&str, &[&str])] = &[
        (
            "approve",
            &["approved", "rejected", "provisioned", "completed"],
        ),
        (
            "reject",
            &["approved", "rejected", "provisioned", "completed"],
        ),
        (
            "provision",
            &["pending", "rejected", "provisioned", "completed"],
        ),
        (
            "complete",
            &["pending", "approved", "rejected", "completed"],
        ),
    ];
    for (action, from) in refused {
        for status in *from {
            let id = &by_status[status];
            let before = snapshot(&api, id).await;
            let r = match *action {
                "complete" => complete(&api, &api.token(), id).await,
                a => act(&api, &decider, id, a).await,
            };
            assert_transition_conflict(&r, status);
            assert_unchanged(&api, &before).await;
        }
    }
    // Edits and withdrawals once a request left `pending`.
    for status in ["approved", "rejected", "provisioned", "completed"] {
        let id = &by_status[status];
        let before = snapshot(&api, id).await;
        for body in [
            json!({"justification": "changed"}),
            json!({"tags": ["x"]}),
            json!({"expires_at": FUTURE}),
            json!({"entitlement_type": "admin"}),
        ] {
            let r = api.patch(&url(id), body).await;
            assert_problem(&r, 409, "conflict");
        }
        let r = api.delete(&url(id)).await;
        assert_problem(&r, 409, "conflict");
        assert_unchanged(&api, &before).await;
    }
}

#[tokio::test]
async fn completing_is_only_from_provisioned_and_status_takes_no_other_value() {
    let api = Api::new().await;
    let p = at_status(&api, "provisioned").await;
    let id = id_of(&p);
    let before = snapshot(&api, &id).await;
    for status in [
        json!("approved"),
        json!("pending"),
        json!("rejected"),
        json!("provisioned"),
        json!("done"),
        json!("COMPLETED"),
        json!(null),
        json!(5),
    ] {
        let r = api.patch(&url(&id), json!({ "status": status })).await;
        assert_invalid(&r, &["status"]);
    }
    // Completing cannot be combined with an edit.
    let change = json!({"status": "completed", "justification": "y"});
    let r = api.patch(&url(&id), change).await;
    assert_invalid(&r, &["status"]);
    assert_unchanged(&api, &before).await;
    // The same 400 for a pending request (validation comes before the state).
    let pending = id_of(&at_status(&api, "pending").await);
    let pb = snapshot(&api, &pending).await;
    let r = api
        .patch(&url(&pending), json!({"status": "approved"}))
        .await;
    assert_invalid(&r, &["status"]);
    assert_unchanged(&api, &pb).await;

    let patch_body = json!({"status": "completed", "source": "itsm"});

    let r = api
        .patch_as(&url(&id), &token_of(&api, "closer-1"), patch_body)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let b = &r.body;
    assert_eq!(b["status"], "completed");
    assert_eq!(b["completed_at"], b["updated_at"]);
    assert_eq!(b["updated_by"], "closer-1");
    assert_eq!(b["source"], "itsm");
    assert_eq!(
        b["revision"],
        before.request["revision"].as_i64().unwrap() + 1
    );
    // Completing touches only the request: the entitlement and the count are as provisioned.
    let after = snapshot(&api, &id).await;
    assert_eq!(after.entitlement, before.entitlement);
    assert_eq!(after.live, before.live);
    assert_eq!(&after.request, b);
    assert_only_changed(&before.request, b, COMPLETION_STAMPS);
}

#[tokio::test]
async fn pending_requests_can_be_edited_within_their_rules() {
    let api = Api::new().await;
    let aid = asset(&api, "github").await;
    let id = id_of(&new_request(&api, "github").await);
    let edit = json!({"justification": "reworded", "entitlement_type": "admin", "expires_at": "2099-06-30T14:00:00+02:00", "tags": ["a"], "source_type": "frontend"});
    let r = api.patch(&url(&id), edit).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("etag"), Some("\"2\""));
    let b = r.body.clone();
    assert_eq!(b["justification"], "reworded");
    assert_eq!(b["entitlement_type"], "admin");
    assert_eq!(b["expires_at"], LATER_OUT);
    assert_eq!(b["tags"], json!(["a"]));
    assert_eq!(b["source_type"], "frontend");
    assert_eq!(b["status"], "pending");
    assert_eq!(b["revision"], 2);
    // Clearing tags and expiry, and sending fixed fields unchanged, is fine.
    let edit = json!({"tags": null, "expires_at": null, "system_id": "github", "asset_id": aid, "access_type": "new", "requester_id": "user-1", "principal_id": "user-1", "principal_type": "person"});
    let r = api.patch(&url(&id), edit).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["tags"], Value::Null);
    assert_eq!(r.body["expires_at"], Value::Null);
    assert_eq!(r.body["revision"], 3);
    let before = snapshot(&api, &id).await;
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({"requester_id": "user-2"}), vec!["requester_id"]),
        (json!({"system_id": "gitlab"}), vec!["system_id"]),
        (json!({"access_type": "revoke"}), vec!["access_type"]),
        (
            json!({"asset_id": "ast_01JD3Q9Z8X4K2M7N5P6R8S0T1V"}),
            vec!["asset_id"],
        ),
        (json!({"principal_id": "p2"}), vec!["principal_id"]),
        (json!({"principal_type": "group"}), vec!["principal_type"]),
        (
            json!({"entitlement_id": "ent_01JD3Q9Z8X4K2M7N5P6R8S0T1V"}),
            vec!["entitlement_id"],
        ),
        (json!({"requester_id": null}), vec!["requester_id"]),
        (json!({"justification": null}), vec!["justification"]),
        (json!({"justification": " "}), vec!["justification"]),
        (json!({"entitlement_type": null}), vec!["entitlement_type"]),
        (
            json!({"expires_at": "2001-01-01T00:00:00Z"}),
            vec!["expires_at"],
        ),
        (json!({"tags": [1]}), vec!["tags"]),
        (json!({"bogus": 1}), vec!["bogus"]),
        (
            json!({"justification": null, "system_id": "x", "bogus": 1}),
            vec!["bogus", "justification", "system_id"],
        ),
    ];
    for (body, fields) in cases {
        let r = api.patch(&url(&id), body.clone()).await;
        assert_invalid_for(&r, &fields, format!("body {body}"));
    }
    // Server-set fields are ignored, not applied.
    let r = api
        .patch(&url(&id), json!({"approver_id": "me", "approved_at": FUTURE, "decision_comment": "x", "revision": 9}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["approver_id"], Value::Null);
    assert_eq!(r.body["approved_at"], Value::Null);
    assert_eq!(r.body["decision_comment"], Value::Null);
    assert_eq!(r.body["status"], "pending");
    // Nothing the client may set changed, so nothing was written (API.md §8).
    assert_eq!(r.body["revision"], 3);
    // An empty body is a 400.
    let after = snapshot(&api, &id).await;
    let r = api.call("PATCH", &url(&id), &api.token(), None).await;
    assert_problem(&r, 400, "bad-request");
    assert_unchanged(&api, &after).await;
    assert_eq!(before.live, after.live);
}

#[tokio::test]
async fn edits_keep_the_access_type_rules() {
    let api = Api::new().await;
    let (_, eid) = aws_with_read_grant(&api).await;
    let revoke = create(&api, revoke_of("aws", &eid, json!({}))).await;
    let before = snapshot(&api, &id_of(&revoke)).await;
    for body in [
        json!({"entitlement_type": "write"}),
        json!({"expires_at": FUTURE}),
        json!({"expires_at": null}),
    ] {
        let r = api.patch(&url(&id_of(&revoke)), body).await;
        assert_invalid(&r, &["access_type"]);
    }
    assert_unchanged(&api, &before).await;
    let r = api
        .patch(&url(&id_of(&revoke)), json!({"justification": "left"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // modify: dropping the type leaves nothing to do unless an expiry change remains.
    let modify = create(
        &api,
        modify_of("aws", &eid, json!({"entitlement_type": "write"})),
    )
    .await;
    let mid = id_of(&modify);
    let before = snapshot(&api, &mid).await;
    let r = api
        .patch(&url(&mid), json!({"entitlement_type": null}))
        .await;
    assert_invalid(&r, &["entitlement_type"]);
    assert_unchanged(&api, &before).await;
    let edit = json!({"entitlement_type": null, "expires_at": FUTURE});
    let r = api.patch(&url(&mid), edit).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["entitlement_type"], Value::Null);
    assert_eq!(r.body["expires_at"], FUTURE_OUT);
    // Clearing the expiry is itself a change.
    let r = api.patch(&url(&mid), json!({"expires_at": null})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["expires_at"], Value::Null);
    // …and it is what provisioning does.
    approve(&api, &mid).await;
    provision(&api, &mid).await;
    let e = read_entitlement(&api, &eid).await;
    assert_eq!(e["expires_at"], Value::Null);
    assert_eq!(e["entitlement_type"], "read");
}

#[tokio::test]
async fn patch_cannot_clear_the_expiry_of_a_privileged_entitlement() {
    let api = Api::new().await;
    let aid = asset(&api, "vault").await;
    let privileged = grant_privileged_root(&api, &aid).await;
    let body = modify_of("vault", &id_of(&privileged), json!({"expires_at": LATER}));
    let mid = id_of(&create(&api, body).await);
    let before = snapshot(&api, &mid).await;
    let r = api.patch(&url(&mid), json!({"expires_at": null})).await;
    assert_invalid(&r, &["expires_at"]);
    assert_unchanged(&api, &before).await;
}

#[tokio::test]
async fn deleting_a_pending_request_withdraws_it_for_good() {
    let api = Api::new().await;
    let (aid, [keep, id]) = asset_with_requests(&api, "github").await;
    let r = api.delete(&url(&id)).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(r.text, "");
    let r = api.get(&url(&id)).await;
    assert_problem(&r, 404, "not-found");
    for (method, path) in [
        ("DELETE", url(&id)),
        ("POST", format!("{}/approve", url(&id))),
        ("POST", format!("{}/reject", url(&id))),
        ("POST", format!("{}/provision", url(&id))),
    ] {
        let r = api.call(method, &path, &approver(&api), None).await;
        assert_problem(&r, 404, "not-found");
    }
    let r = api.patch(&url(&id), json!({"justification": "y"})).await;
    assert_problem(&r, 404, "not-found");
    let r = complete(&api, &api.token(), &id).await;
    assert_problem(&r, 404, "not-found");
    // Gone from every list, including the status index and its filters.
    for q in [
        String::new(),
        "?status=pending".into(),
        "?system_id=github".into(),
        format!("?asset_id={aid}"),
        "?requester_id=user-1".into(),
    ] {
        assert_eq!(
            listed_ids(&api.get(&format!("{ARQ}{q}")).await),
            vec![keep.clone()],
            "{q}"
        );
    }
    // include_deleted=true shows it again (write scope), on get and in lists.
    let r = api.get(&format!("{}?include_deleted=true", url(&id))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["is_deleted"], true);
    let listed = api.get(&format!("{ARQ}?include_deleted=true")).await;
    assert!(listed_ids(&listed).contains(&id), "{}", listed.text);
    let read_only = api.token_with(&["access-requests:read"]);
    for uri in [url(&id), ARQ.to_string()] {
        let r = api
            .get_as(&format!("{uri}?include_deleted=true"), &read_only)
            .await;
        assert_problem(&r, 403, "forbidden");
    }
    // The stored item is a soft delete, stamped.
    let item = stored_request(&api, &id).await;
    assert_eq!(
        item.get("is_deleted"),
        Some(&aws_sdk_dynamodb::types::AttributeValue::Bool(true))
    );
    assert_eq!(shared::store::get_s(&item, "deleted_by"), Some("user-1"));
    assert_eq!(shared::store::get_n(&item, "revision"), Some(2));
}

#[tokio::test]
async fn decisions_record_the_clients_provenance() {
    let api = Api::new().await;
    let id = pending_request(&api, "aws").await;
    let before = snapshot(&api, &id).await;
    for body in [
        json!({"source_type": "robot"}),
        json!({"source": null}),
        json!({"source": ""}),
        json!({"status": "approved"}),
    ] {
        let r = decide(&api, &id, "approve", body.clone()).await;
        assert_problem(&r, 400, "validation-error");
        assert_eq!(bad_fields(&r).len(), 1, "{body}: {}", r.text);
    }
    assert_unchanged(&api, &before).await;
    let r = decide(
        &api,
        &id,
        "approve",
        json!({"comment": "ok", "source": "itsm", "source_type": "backend"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["source"], "itsm");
    assert_eq!(r.body["source_type"], "backend");
    assert_eq!(r.body["decision_comment"], "ok");
    // Provisioning and completing without provenance keep it.
    let p = provision(&api, &id).await;
    assert_eq!(p["source"], "itsm");
    assert_eq!(p["source_type"], "backend");
    assert_eq!(p["decision_comment"], "ok");
    let r = complete(&api, &api.token(), &id).await;
    assert_eq!(r.body["source"], "itsm");
    let id2 = id_of(&new_request(&api, "aws").await);
    let r = decide(&api, &id2, "reject", json!({"source_type": "frontend"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["source"], "edm");
    assert_eq!(r.body["source_type"], "frontend");
}

// ------------------------------------------------------------------------------------------
// DynamoDB request counts
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn each_operation_costs_a_fixed_number_of_requests() {
    let api = Api::new().await;
    let (aid, eid) = aws_with_read_grant(&api).await;

    // By name: the name guard, then the asset (its criticality fixes `approvals_required`).
    let n = api
        .expect_requests(
            &[("GetItem", 2), ("TransactWriteItems", 1)],
            new_request(&api, "aws"),
        )
        .await;
    let nid = id_of(&n);

    let direct = json!({"system_id": "aws", "asset_id": aid, "access_type": "new", "justification": "x", "entitlement_type": "y"});
    api.expect_requests(
        &[("GetItem", 1), ("TransactWriteItems", 1)],
        create(&api, direct),
    )
    .await;

    let modify = modify_of("aws", &eid, json!({"entitlement_type": "write"}));
    let m = api
        .expect_requests(
            &[("GetItem", 3), ("TransactWriteItems", 1)],
            create(&api, modify),
        )
        .await;

    api.expect_requests(&[("GetItem", 1)], read_request(&api, &nid))
        .await;

    // An edit reads the request, then its asset (the approvals start over, as many as its
    // criticality asks for now).
    api.expect_patch(
        READ_ASSET_TRANSACT,
        &url(&nid),
        json!({"justification": "y"}),
    )
    .await;
    // One that changes nothing writes nothing, and so reads no asset either.
    api.expect_patch(&[("GetItem", 1)], &url(&nid), json!({"justification": "y"}))
        .await;

    // A decision reads the request and its asset (its owner, now), then writes one
    // transaction: the request, its event and the asset's revision check.
    api.expect_requests(READ_ASSET_TRANSACT, approve(&api, &nid))
        .await;

    // A refused decision reads both and writes nothing.
    api.expect_answer(
        409,
        &[("GetItem", 2)],
        act(&api, &approver(&api), &nid, "reject"),
    )
    .await;

    api.expect_requests(READ_TRANSACT, provision(&api, &nid))
        .await;

    api.expect_answer(200, READ_TRANSACT, complete(&api, &api.token(), &nid))
        .await;

    let mid = id_of(&m);
    api.expect_answer(
        200,
        READ_ASSET_TRANSACT,
        act(&api, &approver(&api), &mid, "reject"),
    )
    .await;

    let m2 = create(&api, modify_of("aws", &eid, json!({"expires_at": FUTURE}))).await;
    approve(&api, &id_of(&m2)).await;
    api.expect_requests(
        &[("GetItem", 2), ("TransactWriteItems", 1)],
        provision(&api, &id_of(&m2)),
    )
    .await;

    let d = id_of(&new_request(&api, "aws").await);
    api.expect_answer(204, READ_TRANSACT, api.delete(&url(&d)))
        .await;
    for uri in [ARQ.to_string(), format!("{ARQ}?status=pending")] {
        let listed = api.expect_requests(&[("Query", 1)], api.get(&uri)).await;
        assert_eq!(listed.status, 200, "{uri}");
    }

    // Refused before the store: a missing scope, an id that is no request id, a bad body.
    api.counter.reset();
    let r = act(
        &api,
        &api.token_with(&["access-requests:write"]),
        &nid,
        "approve",
    )
    .await;
    assert_eq!(r.status, 403);
    let r = api.get(&url("ast_01JD3Q9Z8X4K2M7N5P6R8S0T1V")).await;
    assert_problem(&r, 404, "not-found");
    let r = api.post(ARQ, json!({"access_type": "new"})).await;
    assert_eq!(r.status, 400);
    assert_eq!(api.counter.total(), 0, "{:?}", api.counter.snapshot());
}

// ------------------------------------------------------------------------------------------
// If-Match
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_stale_if_match_changes_nothing() {
    let api = Api::new().await;
    let id = pending_request(&api, "github").await;
    let edited = api.patch(&url(&id), json!({"justification": "v2"})).await;
    assert_eq!(edited.status, 200);
    // revision is 2 now.
    let before = snapshot(&api, &id).await;
    let guarded = [
        (
            approver(&api),
            "POST",
            format!("{}/approve", url(&id)),
            None,
        ),
        (approver(&api), "POST", format!("{}/reject", url(&id)), None),
        (
            api.token(),
            "PATCH",
            url(&id),
            Some(json!({"justification": "v3"})),
        ),
        (api.token(), "DELETE", url(&id), None),
    ];
    for stale in ["\"1\"", "1", "W/\"1\"", "\"3\"", "\"0\""] {
        for (token, method, uri, body) in &guarded {
            let r = with_if_match(&api, token, method, uri, stale, body.clone()).await;
            assert_problem(&r, 412, "precondition-failed");
        }
    }
    assert_unchanged(&api, &before).await;
    let r = act_if_match(&api, &approver(&api), &id, "approve", "\"2\"").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("etag"), Some("\"3\""));

    // provision, and PATCH {"status":"completed"}.
    let before = snapshot(&api, &id).await;
    let r = act_if_match(&api, &provisioner(&api), &id, "provision", "\"2\"").await;
    assert_problem(&r, 412, "precondition-failed");
    assert_unchanged(&api, &before).await;
    let r = act_if_match(&api, &provisioner(&api), &id, "provision", "3").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let before = snapshot(&api, &id).await;
    let completed = json!({"status": "completed"});
    let r = patch_if_match(&api, &id, "\"3\"", completed.clone()).await;
    assert_problem(&r, 412, "precondition-failed");
    assert_unchanged(&api, &before).await;
    let r = patch_if_match(&api, &id, "*", completed).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["revision"], 5);

    // A matching If-Match on DELETE.
    let d = id_of(&new_request(&api, "github").await);
    let r = with_if_match(&api, &api.token(), "DELETE", &url(&d), "\"1\"", None).await;
    assert_eq!(r.status, 204, "{}", r.text);
}

#[tokio::test]
async fn new_request_is_approved_and_provisioned_into_an_entitlement() {
    let api = Api::new().await;
    let aid = asset(&api, "github").await;
    let r = api
        .post(
            ARQ,
            new_of("github", "maintainer", json!({"justification": "on-call"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["status"], "pending");
    assert_eq!(r.body["asset_id"], aid);
    assert_eq!(r.body["requester_id"], "user-1");
    assert_eq!(r.body["principal_id"], "user-1");
    assert_eq!(r.body["principal_type"], "person");
    assert_eq!(r.body["granted_at"], Value::Null);
    let id = r.body["id"].as_str().unwrap().to_string();

    let own = act(&api, &api.token(), &id, "approve").await;
    assert_problem(&own, 403, "forbidden");
    let own = act(&api, &api.token(), &id, "reject").await;
    assert_problem(&own, 403, "forbidden");

    let early = act(&api, &approver(&api), &id, "provision").await;
    assert_problem(&early, 409, "conflict");

    api.counter.reset();
    let ok = act(&api, &approver(&api), &id, "approve").await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.body["status"], "approved");
    assert_eq!(ok.body["approver_id"], "approver-1");
    let counts = api.counter.snapshot();
    // The request, then its asset (who owns it now).
    assert_eq!(counts.get("GetItem"), Some(&2));
    // The decision, its history event and the asset's revision check, in one transaction.
    assert_eq!(counts.get("TransactWriteItems"), Some(&1));
    assert_eq!(api.counter.total(), 3);

    api.counter.reset();
    let p = act(&api, &approver(&api), &id, "provision").await;
    assert_eq!(p.status, 200, "{}", p.text);
    assert_eq!(p.body["status"], "provisioned");
    assert_eq!(api.counter.snapshot().get("TransactWriteItems"), Some(&1));
    let eid = p.body["entitlement_id"].as_str().unwrap();
    let e = api.get(&format!("/api/v1/entitlements/{eid}")).await;
    assert_eq!(e.status, 200);
    assert_eq!(e.body["grant_source"], "provisioned");
    assert_eq!(e.body["granted_by_id"], "approver-1");
    assert_eq!(e.body["entitlement_type"], "maintainer");
    assert_eq!(e.body["access_request_id"], id.as_str());
    assert_eq!(p.body["granted_at"], e.body["granted_at"]);
    assert_eq!(live_count(&api, &aid).await, 1);

    let again = act(&api, &approver(&api), &id, "provision").await;
    assert_problem(&again, 409, "conflict");

    let done = api
        .patch(&format!("{ARQ}/{id}"), json!({"status": "completed"}))
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["status"], "completed");
    let edit = api
        .patch(&format!("{ARQ}/{id}"), json!({"justification": "x"}))
        .await;
    assert_problem(&edit, 409, "conflict");
    let del = api.delete(&format!("{ARQ}/{id}")).await;
    assert_problem(&del, 409, "conflict");
}

#[tokio::test]
async fn modify_and_revoke_requests_change_the_entitlement() {
    let api = Api::new().await;
    let aid = asset(&api, "aws").await;
    let e = api
        .post(ENTS, json!({"asset_id": aid, "principal_id": "p9", "principal_type": "person", "entitlement_type": "read"}))
        .await;
    let eid = e.body["id"].as_str().unwrap().to_string();

    let m = api
        .post(ARQ, modify_of("aws", &eid, json!({"justification": "more", "entitlement_type": "write", "expires_at": "2099-01-01T00:00:00Z"})))
        .await;
    assert_eq!(m.status, 201, "{}", m.text);
    assert_eq!(m.body["principal_id"], "p9");
    let mid = m.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        act(&api, &approver(&api), &mid, "approve").await.status,
        200
    );
    let p = act(&api, &approver(&api), &mid, "provision").await;
    assert_eq!(p.status, 200, "{}", p.text);
    let after = api.get(&format!("/api/v1/entitlements/{eid}")).await;
    assert_eq!(after.body["entitlement_type"], "write");
    assert_eq!(after.body["expires_at"], "2099-01-01T00:00:00.000Z");
    assert_eq!(after.body["status"], "active");
    assert_eq!(live_count(&api, &aid).await, 1);

    let r = api
        .post(
            ARQ,
            revoke_of("aws", &eid, json!({"justification": "left"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let rid = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        act(&api, &approver(&api), &rid, "approve").await.status,
        200
    );
    // The entitlement is revoked directly meanwhile: provisioning fails and changes nothing.
    let before = api.get(&format!("{ARQ}/{rid}")).await;
    assert_eq!(
        api.post(&format!("/api/v1/entitlements/{eid}/revoke"), json!({}))
            .await
            .status,
        200
    );
    let p = act(&api, &approver(&api), &rid, "provision").await;
    assert_problem(&p, 409, "conflict");
    let unchanged = api.get(&format!("{ARQ}/{rid}")).await;
    assert_eq!(unchanged.body, before.body);
    assert_eq!(live_count(&api, &aid).await, 0);
}
