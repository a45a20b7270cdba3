//! Who may decide a request (API.md §10): the owner rule, the two-person rule on critical assets, their races and history.

use super::*;
use shared::config::{DEV_AUDIENCE, DEV_ISSUER};

/// What a decider holds without `access-requests:approve-any`: the owner rule applies to them.
const DECIDER_SCOPES: &[&str] = &[
    "access-requests:read",
    "access-requests:approve",
    "access-requests:write",
];

/// A token of `sub` with the decider scopes (plus `extra`) and, unless `None`, this exact
/// `groups` claim (any JSON, so malformed ones too).
fn token_with_groups(api: &Api, sub: &str, groups: Option<Value>, extra: &[&str]) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    let scopes: Vec<&str> = DECIDER_SCOPES.iter().chain(extra).copied().collect();
    let mut claims = json!({
        "iss": DEV_ISSUER, "aud": DEV_AUDIENCE, "sub": sub, "tenant_id": api.tenant,
        "scope": scopes.join(" "), "iat": now, "exp": now + 3600,
    });
    if let Some(groups) = groups {
        claims["groups"] = groups;
    }
    sign_claims(&claims)
}

/// A decider without groups and without approve-any.
fn person(api: &Api, sub: &str) -> String {
    token_with_groups(api, sub, None, &[])
}

/// A member of `groups`, without approve-any.
fn member(api: &Api, sub: &str, groups: &[&str]) -> String {
    token_with_groups(api, sub, Some(json!(groups)), &[])
}

/// A holder of `access-requests:approve-any`, with no tie to the asset.
fn approve_any(api: &Api, sub: &str) -> String {
    token_with_groups(api, sub, None, &["access-requests:approve-any"])
}

/// Owned by person `alice` and group `grp-ops`, with `owner_id` `olga`.
fn owned(name: &str, extra: Value) -> Value {
    with(
        json!({"name": name, "owner": {"person_id": "alice", "group_id": "grp-ops"}, "owner_id": "olga"}),
        extra,
    )
}

/// gina, a member of `owned`'s owner group `grp-ops`.
fn ops_member(api: &Api) -> String {
    member(api, "gina", &["grp-ops"])
}

/// An asset made of `body` and a pending `new_request` of user-1 on it: the request's id.
async fn request_on(api: &Api, body: Value) -> String {
    let name = body["name"].as_str().expect("name").to_string();
    api.asset(body).await;
    id_of(&new_request(api, &name).await)
}

/// `action` by `token` is refused with 403 by the owner rule, and nothing changed.
async fn assert_owner_refused(api: &Api, token: &str, id: &str, action: &str, case: &str) {
    let before = snapshot(api, id).await;
    let r = act(api, token, id, action).await;
    assert_problem(&r, 403, "forbidden");
    let detail = r.body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("owner") && detail.contains("access-requests:approve-any"),
        "{case}: {}",
        r.text
    );
    assert_unchanged(api, &before).await;
}

/// `action` by `token` answers 200 with `status`.
async fn assert_decides(api: &Api, token: &str, id: &str, action: &str, status: &str) -> Value {
    let r = act(api, token, id, action).await;
    assert_eq!(r.status, 200, "{action}: {}", r.text);
    assert_eq!(r.body["status"], status, "{}", r.text);
    r.body
}

/// The approvers of a request, in order.
fn approvers(request: &Value) -> Vec<&str> {
    request["approvals"]
        .as_array()
        .unwrap_or_else(|| panic!("no approvals: {request}"))
        .iter()
        .map(|a| a["approver_id"].as_str().expect("approver_id"))
        .collect()
}

/// The request's history events, oldest first.
async fn history(api: &Api, id: &str) -> Vec<Value> {
    let r = api.get(&format!("{}/history", url(id))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"].as_array().expect("items").clone()
}

#[tokio::test]
async fn each_kind_of_owner_may_decide() {
    let api = Api::new().await;
    let cases = [
        ("owner.person_id", person(&api, "alice")),
        ("owner_id", person(&api, "olga")),
        ("group member", member(&api, "gina", &["grp-x", "grp-ops"])),
        ("approve-any", approve_any(&api, "root-approver")),
    ];
    for (i, (kind, token)) in cases.iter().enumerate() {
        for action in ["approve", "reject"] {
            let id = request_on(&api, owned(&format!("owned-{i}-{action}"), json!({}))).await;
            let status = if action == "approve" {
                "approved"
            } else {
                "rejected"
            };
            let r = assert_decides(&api, token, &id, action, status).await;
            assert_eq!(r["approvals_required"], 1, "{kind}");
            if action == "approve" {
                assert_eq!(r["approvals"].as_array().map(Vec::len), Some(1), "{kind}");
                assert_eq!(r["approvals"][0]["approver_id"], r["approver_id"], "{kind}");
                assert_eq!(r["approvals"][0]["approved_at"], r["approved_at"], "{kind}");
            } else {
                assert_eq!(r["approvals"], json!([]), "{kind}");
            }
            assert_eq!(read_request(&api, &id).await, r, "{kind}");
        }
    }
}

#[tokio::test]
async fn an_owner_group_alone_or_an_owner_id_alone_makes_an_asset_owned() {
    let api = Api::new().await;
    let group_only = request_on(
        &api,
        json!({"name": "group-owned", "owner": {"person_id": "alice", "group_id": "grp-ops"}}),
    )
    .await;
    assert_owner_refused(&api, &person(&api, "olga"), &group_only, "approve", "olga").await;
    assert_decides(&api, &ops_member(&api), &group_only, "approve", "approved").await;
    let id_only = request_on(&api, json!({"name": "id-owned", "owner_id": "olga"})).await;
    assert_owner_refused(&api, &ops_member(&api), &id_only, "approve", "gina").await;
    assert_decides(&api, &person(&api, "olga"), &id_only, "reject", "rejected").await;
}

#[tokio::test]
async fn strangers_to_an_owned_asset_get_403_and_change_nothing() {
    let api = Api::new().await;
    let id = request_on(&api, owned("guarded", json!({}))).await;
    let strangers = [
        ("no groups claim", person(&api, "mallory")),
        (
            "null groups",
            token_with_groups(&api, "mallory", Some(Value::Null), &[]),
        ),
        (
            "other groups",
            member(&api, "mallory", &["grp-x", "grp-OPS"]),
        ),
        ("empty groups", member(&api, "mallory", &[])),
        // A sub equal to the group's id is not membership.
        ("sub equal to the group id", person(&api, "grp-ops")),
        // Every scope but approve-any.
        (
            "all other scopes",
            api.token_for(
                "mallory",
                None,
                &all_scopes()
                    .into_iter()
                    .filter(|s| s != "access-requests:approve-any")
                    .collect::<Vec<_>>(),
            ),
        ),
    ];
    for (case, token) in &strangers {
        for action in ["approve", "reject"] {
            assert_owner_refused(&api, token, &id, action, case).await;
        }
    }
    assert_eq!(stored_revision(&api, &id).await, Some(1));
    assert_eq!(history(&api, &id).await.len(), 1);
}

#[tokio::test]
async fn the_requester_or_beneficiary_may_not_decide_even_as_owner_or_approve_any() {
    let api = Api::new().await;
    // user-1 files for themselves on an asset they own.
    let id = request_on(
        &api,
        json!({"name": "mine", "owner": {"person_id": "user-1", "group_id": "grp-ops"}, "owner_id": "user-1"}),
    )
    .await;
    let owner_requester = token_with_groups(
        &api,
        "user-1",
        Some(json!(["grp-ops"])),
        &["access-requests:approve-any"],
    );
    for action in ["approve", "reject"] {
        let before = snapshot(&api, &id).await;
        let r = act(&api, &owner_requester, &id, action).await;
        assert_problem(&r, 403, "forbidden");
        assert_unchanged(&api, &before).await;
    }
    // Filed by user-1 for alice, the owner: alice is the beneficiary, and may not decide.
    api.asset(owned("for-alice", json!({}))).await;
    let for_alice = id_of(
        &create(
            &api,
            new_of(
                "for-alice",
                "member",
                json!({"principal_id": "alice", "principal_type": "person"}),
            ),
        )
        .await,
    );
    let before = snapshot(&api, &for_alice).await;
    let r = act(&api, &person(&api, "alice"), &for_alice, "approve").await;
    assert_problem_saying(&r, 403, "forbidden", "beneficiary");
    assert_unchanged(&api, &before).await;
    assert_decides(
        &api,
        &person(&api, "olga"),
        &for_alice,
        "approve",
        "approved",
    )
    .await;
}

#[tokio::test]
async fn an_asset_without_owner_keeps_the_approve_scope_rule() {
    let api = Api::new().await;
    for action in ["approve", "reject"] {
        let id = pending_request(&api, &format!("unowned-{action}")).await;
        let status = if action == "approve" {
            "approved"
        } else {
            "rejected"
        };
        // Anyone with access-requests:approve, no groups, no approve-any.
        assert_decides(&api, &person(&api, "mallory"), &id, action, status).await;
    }
    let own = pending_request(&api, "unowned-own").await;
    let before = snapshot(&api, &own).await;
    let r = act(&api, &person(&api, "user-1"), &own, "approve").await;
    assert_problem(&r, 403, "forbidden");
    assert_unchanged(&api, &before).await;
}

#[tokio::test]
async fn the_owner_is_judged_as_the_asset_is_at_decision_time() {
    let api = Api::new().await;
    let asset = api.asset(owned("moving", json!({}))).await;
    let id = id_of(&new_request(&api, "moving").await);
    let r = api
        .patch(
            &format!("{TECH}/{}", id_of(&asset)),
            json!({"owner": {"person_id": "bruno", "group_id": null}, "owner_id": null}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // The old owners are strangers now; the new one decides.
    assert_owner_refused(&api, &person(&api, "alice"), &id, "approve", "old person").await;
    assert_owner_refused(&api, &person(&api, "olga"), &id, "approve", "old owner_id").await;
    assert_owner_refused(&api, &ops_member(&api), &id, "approve", "old group").await;
    assert_decides(&api, &person(&api, "bruno"), &id, "approve", "approved").await;
}

#[tokio::test]
async fn a_critical_asset_needs_two_distinct_approvals() {
    let api = Api::new().await;
    let id = request_on(&api, owned("vault", json!({"criticality": "critical"}))).await;
    let fresh = read_request(&api, &id).await;
    assert_eq!(fresh["approvals_required"], 2);
    assert_eq!(fresh["approvals"], json!([]));

    // First approval: recorded, the request stays pending and unstamped.
    let r = act_with(
        &api,
        &person(&api, "alice"),
        &id,
        "approve",
        json!({"comment": "fine by me"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let first = r.body;
    assert_only_changed(
        &fresh,
        &first,
        &["approvals", "updated_at", "updated_by", "revision"],
    );
    assert_eq!(first["status"], "pending");
    assert_eq!(first["approver_id"], Value::Null);
    assert_eq!(first["approved_at"], Value::Null);
    assert_eq!(first["decision_comment"], Value::Null);
    assert_eq!(first["revision"], 2);
    let approval = &first["approvals"][0];
    assert_eq!(
        member_names(approval),
        ["approved_at", "approver_id", "comment"].into()
    );
    assert_eq!(approval["approver_id"], "alice");
    assert_eq!(approval["approved_at"], first["updated_at"]);
    assert_eq!(approval["comment"], "fine by me");
    assert_indexed_as(&api, &id, "pending").await;
    // Still pending, so not provisionable.
    assert_problem(
        &act(&api, &provisioner(&api), &id, "provision").await,
        409,
        "conflict",
    );

    // The same person again, even with approve-any: 409, nothing changes.
    for again in [
        person(&api, "alice"),
        token_with_groups(
            &api,
            "alice",
            Some(json!(["grp-ops"])),
            &["access-requests:approve-any"],
        ),
    ] {
        let before = snapshot(&api, &id).await;
        let r = act(&api, &again, &id, "approve").await;
        assert_problem(&r, 409, "conflict");
        assert_eq!(r.body["approver_id"], "alice", "{}", r.text);
        assert_unchanged(&api, &before).await;
    }
    // A stranger is still refused by the owner rule.
    assert_owner_refused(&api, &person(&api, "mallory"), &id, "approve", "stranger").await;

    // The second distinct eligible approver decides it.
    let second = assert_decides(&api, &ops_member(&api), &id, "approve", "approved").await;
    assert_eq!(approvers(&second), ["alice", "gina"]);
    assert_eq!(second["approver_id"], "gina");
    assert_eq!(second["approved_at"], second["approvals"][1]["approved_at"]);
    assert_eq!(second["approvals"][0], first["approvals"][0]);
    assert_indexed_as(&api, &id, "approved").await;
    // Approved: neither approval nor reject moves it.
    for action in ["approve", "reject"] {
        let before = snapshot(&api, &id).await;
        let r = act(&api, &person(&api, "olga"), &id, action).await;
        assert_transition_conflict(&r, "approved");
        assert_unchanged(&api, &before).await;
    }
    // And it provisions as any approved request does (with the expiry a critical asset needs
    // it would grant; without one it is refused as before).
    assert_provision_refused(&api, &id).await;
}

#[tokio::test]
async fn a_reject_ends_a_two_person_request_at_any_stage_and_keeps_its_approvals() {
    let api = Api::new().await;
    api.asset(owned("ledger", json!({"criticality": "critical"})))
        .await;
    // Before any approval.
    let none = id_of(&new_request(&api, "ledger").await);
    let r = assert_decides(&api, &person(&api, "olga"), &none, "reject", "rejected").await;
    assert_eq!(r["approvals"], json!([]));
    assert_eq!(r["approver_id"], "olga");
    // After the first approval, by another eligible caller and by the first approver alike.
    for rejecter in ["olga", "alice"] {
        let id = id_of(&new_request(&api, "ledger").await);
        let first = assert_decides(&api, &person(&api, "alice"), &id, "approve", "pending").await;
        let r = act_with(
            &api,
            &person(&api, rejecter),
            &id,
            "reject",
            json!({"comment": "no"}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_only_changed(
            &first,
            &r.body,
            &[
                "status",
                "approver_id",
                "rejected_at",
                "decision_comment",
                "updated_at",
                "updated_by",
                "revision",
            ],
        );
        assert_eq!(r.body["status"], "rejected");
        assert_eq!(r.body["approvals"], first["approvals"]);
        assert_eq!(r.body["approved_at"], Value::Null);
        // Rejected: the second approval that would have decided it is a 409 now.
        let before = snapshot(&api, &id).await;
        let late = act(&api, &ops_member(&api), &id, "approve").await;
        assert_transition_conflict(&late, "rejected");
        assert_unchanged(&api, &before).await;
    }
    // After both: too late.
    let done = id_of(&new_request(&api, "ledger").await);
    assert_decides(&api, &person(&api, "alice"), &done, "approve", "pending").await;
    assert_decides(&api, &person(&api, "olga"), &done, "approve", "approved").await;
    let before = snapshot(&api, &done).await;
    let r = act(&api, &ops_member(&api), &done, "reject").await;
    assert_transition_conflict(&r, "approved");
    assert_unchanged(&api, &before).await;
}

#[tokio::test]
async fn each_approval_is_one_approved_event() {
    let api = Api::new().await;
    let id = request_on(&api, owned("audited", json!({"criticality": "critical"}))).await;
    let first = assert_decides(&api, &person(&api, "alice"), &id, "approve", "pending").await;
    let second = assert_decides(&api, &person(&api, "olga"), &id, "approve", "approved").await;
    let events = history(&api, &id).await;
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["created", "approved", "approved"]);
    let created = &events[0]["changes"];
    assert_eq!(created["approvals"], json!({"from": null, "to": []}));
    assert_eq!(
        created["approvals_required"],
        json!({"from": null, "to": 2})
    );
    let one = &events[1];
    assert_eq!(one["revision"], 2);
    assert_eq!(one["actor"]["sub"], "alice");
    assert_eq!(
        one["changes"]["approvals"],
        json!({"from": [], "to": first["approvals"]})
    );
    // The status did not change with the first approval, so its event does not name it.
    assert_eq!(one["changes"].get("status"), None, "{one}");
    assert_eq!(one["changes"].get("approver_id"), None, "{one}");
    let two = &events[2];
    assert_eq!(two["actor"]["sub"], "olga");
    assert_eq!(
        two["changes"]["approvals"],
        json!({"from": first["approvals"], "to": second["approvals"]})
    );
    assert_eq!(
        two["changes"]["status"],
        json!({"from": "pending", "to": "approved"})
    );
    let verify = api.get(&format!("{}/history/verify", url(&id))).await;
    assert_eq!(verify.body["valid"], true, "{}", verify.text);
    assert_eq!(verify.body["revisions"], 3);
}

#[tokio::test]
async fn an_edit_clears_the_approvals_and_counts_them_anew_from_the_asset_now() {
    let api = Api::new().await;
    let asset = api
        .asset(owned("rekeyed", json!({"criticality": "critical"})))
        .await;
    let aid = id_of(&asset);
    let id = id_of(&new_request(&api, "rekeyed").await);
    assert_decides(&api, &person(&api, "alice"), &id, "approve", "pending").await;

    // The asset is no longer critical: an edit asks for one approval, none carried over.
    let r = api
        .patch(&format!("{TECH}/{aid}"), json!({"criticality": "low"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let edited = api
        .patch(&url(&id), json!({"justification": "changed"}))
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    assert_eq!(edited.body["approvals"], json!([]));
    assert_eq!(edited.body["approvals_required"], 1);
    assert_eq!(edited.body["status"], "pending");
    // alice's earlier approval does not count: hers now is the first (and only needed) one.
    let r = assert_decides(&api, &person(&api, "alice"), &id, "approve", "approved").await;
    assert_eq!(approvers(&r), ["alice"]);

    // A request filed while the asset was low, edited once it is critical, needs two.
    let later = id_of(&new_request(&api, "rekeyed").await);
    assert_eq!(read_request(&api, &later).await["approvals_required"], 1);
    let r = api
        .patch(&format!("{TECH}/{aid}"), json!({"criticality": "critical"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Set at create: the asset's change alone does not move it.
    assert_eq!(read_request(&api, &later).await["approvals_required"], 1);
    let edited = api.patch(&url(&later), json!({"tags": ["t"]})).await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    assert_eq!(edited.body["approvals_required"], 2);
    assert_decides(&api, &person(&api, "alice"), &later, "approve", "pending").await;
    // An edit that changes nothing keeps the approval it has.
    let same = api.patch(&url(&later), json!({"tags": ["t"]})).await;
    assert_eq!(same.status, 200, "{}", same.text);
    assert_eq!(approvers(&same.body), ["alice"]);
    // One that changes something starts over.
    let edited = api.patch(&url(&later), json!({"tags": ["u"]})).await;
    assert_eq!(edited.body["approvals"], json!([]), "{}", edited.text);
    assert_eq!(edited.body["approvals_required"], 2);
    let events = history(&api, &later).await;
    let last = events.last().expect("events");
    assert_eq!(last["action"], "updated");
    assert_eq!(last["changes"]["approvals"]["to"], json!([]));
}

/// 20 members of `grp-ops` approve `id` at once: one wins, and the request is approved (as read
/// after).
async fn twenty_group_members_race_to_approve(api: &Api, id: &str) -> Value {
    let statuses = race_on(api, id, 20, |i, api, id| async move {
        let token = member(&api, &format!("member-{i}"), &["grp-ops"]);
        act(&api, &token, &id, "approve").await.status
    })
    .await;
    assert_tally(&statuses, &[(200, 1), (409, 19)]);
    let after = read_request(api, id).await;
    assert_eq!(after["status"], "approved");
    after
}

#[tokio::test]
async fn racing_approvers_have_one_winner_per_step() {
    let api = Api::new().await;
    // One step: 20 eligible group members at once.
    let id = request_on(&api, owned("hot", json!({}))).await;
    let after = twenty_group_members_race_to_approve(&api, &id).await;
    assert_eq!(after["approvals"].as_array().map(Vec::len), Some(1));
    assert_eq!(after["revision"], 2);
    assert_eq!(history(&api, &id).await.len(), 2);

    // The second step of a two-person request: one of 20 makes it approved.
    let id = request_on(&api, owned("hotter", json!({"criticality": "critical"}))).await;
    assert_decides(&api, &person(&api, "alice"), &id, "approve", "pending").await;
    let after = twenty_group_members_race_to_approve(&api, &id).await;
    assert_eq!(approvers(&after).len(), 2);
    assert_eq!(approvers(&after)[0], "alice");
    assert_eq!(after["revision"], 3);

    // Both steps raced at once: every 200 is one step, so at most two, each an approval kept.
    let id = request_on(&api, owned("hottest", json!({"criticality": "critical"}))).await;
    let statuses = race_on(&api, &id, 20, |i, api, id| async move {
        let token = member(&api, &format!("member-{i}"), &["grp-ops"]);
        act(&api, &token, &id, "approve").await.status
    })
    .await;
    let won = count_of(&statuses, 200);
    assert!((1..=2).contains(&won), "{statuses:?}");
    assert_eq!(count_of(&statuses, 409), 20 - won, "{statuses:?}");
    let after = read_request(&api, &id).await;
    assert_eq!(approvers(&after).len(), won);
    assert_eq!(after["revision"], 1 + won as i64);
    let expected = if won == 2 { "approved" } else { "pending" };
    assert_eq!(after["status"], expected);
}

#[tokio::test]
async fn a_malformed_groups_claim_is_401_before_anything_is_read() {
    let api = Api::new().await;
    let id = request_on(&api, owned("claims", json!({}))).await;
    let before = snapshot(&api, &id).await;
    for bad in [
        json!("grp-ops"),
        json!([1]),
        json!([""]),
        json!({"grp-ops": true}),
    ] {
        api.counter.reset();
        let token = token_with_groups(&api, "gina", Some(bad.clone()), &[]);
        let r = act(&api, &token, &id, "approve").await;
        assert_problem(&r, 401, "unauthorized");
        assert_eq!(api.counter.total(), 0, "{bad}");
    }
    assert_unchanged(&api, &before).await;
}
