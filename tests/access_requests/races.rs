//! Access requests under concurrency: racing decisions, provisions, completions, deletes and revokes each have one winner.

use super::*;

// ------------------------------------------------------------------------------------------
// Races
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn ten_racing_completions_have_one_winner() {
    let api = Api::new().await;
    let p = at_status(&api, "provisioned").await;
    let id = id_of(&p);
    let rev = p["revision"].as_i64().unwrap();
    let statuses = race_on(&api, &id, 10, |_, api, id| async move {
        complete(&api, &api.token(), &id).await.status
    })
    .await;
    assert_tally(&statuses, &[(200, 1), (409, 9)]);
    let now = read_request(&api, &id).await;
    assert_eq!(now["status"], "completed");
    assert_eq!(now["revision"], rev + 1);
}

#[tokio::test]
async fn ten_racing_deletes_have_one_winner() {
    let api = Api::new().await;
    let id = pending_request(&api, "github").await;
    let statuses = race_on(&api, &id, 10, |_, api, id| async move {
        api.delete(&url(&id)).await.status
    })
    .await;
    assert_tally(&statuses, &[(204, 1), (404, 9)]);
    assert_eq!(stored_revision(&api, &id).await, Some(2));
}

#[tokio::test]
async fn racing_approvals_and_withdrawals_have_one_winner() {
    let api = Api::new().await;
    let id = pending_request(&api, "github").await;
    let statuses = race_on(&api, &id, 20, |i, api, id| async move {
        if i % 2 == 0 {
            act(&api, &approver(&api), &id, "approve").await.status
        } else {
            api.delete(&url(&id)).await.status
        }
    })
    .await;
    let wins = count_of(&statuses, 200) + count_of(&statuses, 204);
    assert_eq!(wins, 1, "{statuses:?}");
    assert_eq!(stored_revision(&api, &id).await, Some(2));
    if count_of(&statuses, 200) == 1 {
        // Approved: every delete and every other approve is a 409.
        assert_eq!(count_of(&statuses, 409), 19, "{statuses:?}");
        assert_eq!(read_request(&api, &id).await["status"], "approved");
    } else {
        // Withdrawn: the others find nothing, or lost their write to the withdrawal.
        assert_eq!(
            count_of(&statuses, 404) + count_of(&statuses, 409),
            19,
            "{statuses:?}"
        );
        assert_problem(&api.get(&url(&id)).await, 404, "not-found");
    }
}

#[tokio::test]
async fn racing_provisions_of_two_requests_for_one_grant_make_one_entitlement() {
    let api = Api::new().await;
    let aid = asset(&api, "github").await;
    let mut reqs = Vec::new();
    for _ in 0..5 {
        let id = id_of(&new_request(&api, "github").await);
        approve(&api, &id).await;
        reqs.push(id);
    }
    let ids_ = reqs.clone();
    let statuses = race(5, |i| {
        let api = api.clone();
        let id = ids_[i].clone();
        async move { act(&api, &provisioner(&api), &id, "provision").await.status }
    })
    .await;
    assert_tally(&statuses, &[(200, 1), (409, 4)]);
    assert_eq!(live_count(&api, &aid).await, 1);
    let list = api.get(&format!("{ENTS}?asset_id={aid}")).await;
    assert_eq!(listed_ids(&list).len(), 1);
    let mut provisioned = 0;
    for id in &reqs {
        let r = read_request(&api, id).await;
        match r["status"].as_str() {
            Some("provisioned") => provisioned += 1,
            Some("approved") => {
                assert_eq!(r["entitlement_id"], Value::Null);
                assert_eq!(r["revision"], 2);
            }
            other => panic!("unexpected status {other:?}"),
        }
    }
    assert_eq!(provisioned, 1);
}

#[tokio::test]
async fn ten_racing_revoke_provisions_end_the_grant_once() {
    let api = Api::new().await;
    let (aid, eid) = aws_with_read_grant(&api).await;
    grant_read(&api, &aid, "p8").await;
    let id = id_of(&create(&api, revoke_of("aws", &eid, json!({}))).await);
    approve(&api, &id).await;
    assert_eq!(live_count(&api, &aid).await, 2);
    let statuses = race_on(&api, &id, 10, |_, api, id| async move {
        act(&api, &provisioner(&api), &id, "provision").await.status
    })
    .await;
    assert_tally(&statuses, &[(200, 1), (409, 9)]);
    assert_eq!(live_count(&api, &aid).await, 1);
    let e = read_entitlement(&api, &eid).await;
    assert_eq!(e["status"], "revoked");
    assert_eq!(e["revision"], 2);
    assert_eq!(read_request(&api, &id).await["revision"], 3);
}

#[tokio::test]
async fn a_revoke_provision_racing_a_direct_revoke_ends_the_grant_once() {
    for _ in 0..5 {
        let api = Api::new().await;
        let (aid, eid) = aws_with_read_grant(&api).await;
        let id = id_of(&create(&api, revoke_of("aws", &eid, json!({}))).await);
        approve(&api, &id).await;
        let token = provisioner(&api);
        let revoke_url = format!("{ENTS}/{eid}/revoke");
        let (a, b) = tokio::join!(
            act(&api, &token, &id, "provision"),
            api.post(&revoke_url, json!({}))
        );
        assert_eq!(b.status, 200, "{}", b.text);
        assert_eq!(live_count(&api, &aid).await, 0);
        let e = read_entitlement(&api, &eid).await;
        assert_eq!(e["status"], "revoked");
        assert_eq!(e["revision"], 2);
        let req = read_request(&api, &id).await;
        match a.status {
            200 => {
                assert_eq!(req["status"], "provisioned");
                assert_eq!(e["revoked_by"], "provisioner-1");
            }
            409 => {
                assert_eq!(req["status"], "approved");
                assert_eq!(req["revision"], 2);
                assert_eq!(e["revoked_by"], "user-1");
            }
            s => panic!("provision: {s} {}", a.text),
        }
    }
}

#[tokio::test]
async fn twenty_racing_decisions_have_one_winner() {
    let api = Api::new().await;
    api.asset(json!({"name": "slack"})).await;
    let r = api.post(ARQ, new_of("slack", "member", json!({}))).await;
    let id = r.body["id"].as_str().unwrap().to_string();
    let statuses = race(20, |i| {
        let (api, id, token) = (api.clone(), id.clone(), approver(&api));
        let action = if i % 2 == 0 { "approve" } else { "reject" };
        async move { act(&api, &token, &id, action).await.status }
    })
    .await;
    assert_tally(&statuses, &[(200, 1), (409, 19)]);
}

#[tokio::test]
async fn twenty_racing_provisions_create_one_entitlement() {
    let api = Api::new().await;
    let asset = api.asset(json!({"name": "jira"})).await;
    let aid = asset["id"].as_str().unwrap().to_string();
    let r = api.post(ARQ, new_of("jira", "member", json!({}))).await;
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(act(&api, &approver(&api), &id, "approve").await.status, 200);
    let statuses = race(20, |_| {
        let (api, id, token) = (api.clone(), id.clone(), approver(&api));
        async move { act(&api, &token, &id, "provision").await.status }
    })
    .await;
    assert_tally(&statuses, &[(200, 1), (409, 19)]);
    let ents = api
        .get(&format!("/api/v1/entitlements?asset_id={aid}"))
        .await;
    assert_eq!(ents.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(live_count(&api, &aid).await, 1);
}
