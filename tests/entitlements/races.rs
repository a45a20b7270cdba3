//! Entitlements under concurrency: identical creates, revokes, type moves, metadata adds, patch against revoke, asset deletes against creates.

use super::*;

// ------------------------------------------------------------------------------------------
// Concurrency
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn twenty_concurrent_identical_creates_yield_exactly_one() {
    let api = Api::new().await;
    let aid = asset_id(&api, json!({"name": "erp"})).await;
    let results = join_all((0..20).map(|_| api.post(BASE, grant_body(&aid, "p1", "admin")))).await;
    let statuses: Vec<u16> = results.iter().map(|r| r.status).collect();
    assert_tally(&statuses, &[(201, 1)]);
    for r in &results {
        if r.status != 201 {
            assert_problem(r, 409, "conflict");
        }
    }
    assert_live(&api, &aid, 1).await;
    assert_eq!(walk(&api, &format!("asset_id={aid}"), 100).await.len(), 1);
}

#[tokio::test]
async fn twenty_concurrent_revokes_agree() {
    let api = Api::new().await;
    let aid = asset_id(&api, json!({"name": "erp"})).await;
    let e = create(&api, grant_body(&aid, "p1", "admin")).await;
    create(&api, grant_body(&aid, "p2", "admin")).await;
    assert_live(&api, &aid, 2).await;
    let id = id_of(&e);
    let results = join_all(
        (0..20).map(|i| revoke(&api, &id, Some(json!({"reason": format!("reason {i}")})))),
    )
    .await;
    for r in &results {
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body, results[0].body);
        assert_eq!(r.header("etag"), Some("\"2\""));
    }
    assert_eq!(results[0].body["status"], "revoked");
    assert_eq!(results[0].body["revision"], 2);
    assert_eq!(current(&api, &id).await, results[0].body);
    assert_live(&api, &aid, 1).await;
}

// ------------------------------------------------------------------------------------------
// More races
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn concurrent_type_moves_to_one_type_yield_one() {
    let (api, aid) = api_with_crm().await;
    let mut records = Vec::new();
    for i in 0..10 {
        records.push(create(&api, grant_body(&aid, "p1", &format!("t{i}"))).await);
    }
    let urls: Vec<String> = records.iter().map(|e| url(&id_of(e))).collect();
    let results = join_all(
        urls.iter()
            .map(|u| api.patch(u, json!({"entitlement_type": "z"}))),
    )
    .await;
    let winners: Vec<usize> = (0..10).filter(|i| results[*i].status == 200).collect();
    assert_eq!(
        winners.len(),
        1,
        "{:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for (i, r) in results.iter().enumerate() {
        if i != winners[0] {
            assert_problem(r, 409, "conflict");
            assert_unchanged(&api, &records[i]).await;
            // The loser still holds its own tuple.
            assert_problem(
                &api.post(BASE, grant_body(&aid, "p1", &format!("t{i}")))
                    .await,
                409,
                "conflict",
            );
        }
    }
    assert_eq!(
        current(&api, &id_of(&records[winners[0]])).await["entitlement_type"],
        "z"
    );
    // The winner's old tuple is free, "z" is taken.
    create(&api, grant_body(&aid, "p1", &format!("t{}", winners[0]))).await;
    assert_create_conflicts(&api, grant_body(&aid, "p1", "z")).await;
    assert_live(&api, &aid, 11).await;
}

#[tokio::test]
async fn concurrent_metadata_adds_lose_no_update() {
    let (api, aid) = api_with_crm().await;
    let values: Vec<String> = (0..8).map(|i| format!("v{i}.x-Y_z")).collect();
    attribute(
        &api,
        "iscRegions",
        json!({"multiselect": true,
               "values": values.iter().map(|v| json!({"value": v, "name": v})).collect::<Vec<_>>()}),
    )
    .await;
    let e = create(&api, grant_body(&aid, "p1", "x")).await;
    let id = id_of(&e);
    let results = join_all(values.iter().map(|v| add_value(&api, &id, "iscRegions", v))).await;
    let mut added = BTreeSet::new();
    for (v, r) in values.iter().zip(&results) {
        match r.status {
            200 => {
                added.insert(v.clone());
            }
            _ => assert_problem(r, 409, "conflict"),
        }
    }
    assert!(!added.is_empty());
    let now = current(&api, &id).await;
    let held: BTreeSet<String> = now["access_model_metadata"]["attributes"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["value"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(held, added, "every acknowledged add is kept, nothing else");
    assert_eq!(now["revision"], 1 + added.len());
    assert_live(&api, &aid, 1).await;
}

#[tokio::test]
async fn concurrent_patch_and_revoke_leave_a_consistent_grant() {
    let (api, aid) = api_with_crm().await;
    for k in 0..8 {
        let e = create(&api, grant_body(&aid, "q", &format!("a{k}"))).await;
        let id = id_of(&e);
        let u = url(&id);
        let (p, r) = futures::join!(
            api.patch(&u, json!({"entitlement_type": format!("b{k}")})),
            revoke(&api, &id, None)
        );
        assert_eq!(r.status, 200, "{}", r.text);
        let now = current(&api, &id).await;
        assert_eq!(now["status"], "revoked");
        match p.status {
            // The PATCH landed first: the revoke ended the moved grant.
            200 => {
                assert_eq!(now["entitlement_type"], format!("b{k}"));
                assert_eq!(now["revision"], 3);
            }
            // The revoke landed first: the PATCH found it ended.
            _ => {
                assert_problem(&p, 409, "conflict");
                assert_eq!(now["entitlement_type"], format!("a{k}"));
                assert_eq!(now["revision"], 2);
            }
        }
        assert_eq!(now, r.body);
        // Both tuples are free again.
        create(&api, grant_body(&aid, "q", &format!("a{k}"))).await;
        create(&api, grant_body(&aid, "q", &format!("b{k}"))).await;
        assert_live(&api, &aid, 2 * (k + 1)).await;
    }
}

#[tokio::test]
async fn asset_delete_racing_a_create_has_exactly_one_winner() {
    let api = Api::new().await;
    for round in 0..8 {
        let aid = asset_id(&api, json!({"name": format!("race-{round}")})).await;
        let tech = format!("{TECH}/{aid}");
        let (c, d) = futures::join!(
            api.post(BASE, grant_body(&aid, "p1", "x")),
            api.delete(&tech)
        );
        match (c.status, d.status) {
            (201, 409) => {
                assert_eq!(d.body["live_entitlements"], 1);
                assert_live(&api, &aid, 1).await;
            }
            (400, 204) => {
                assert_eq!(bad_fields(&c), vec!["asset_id"]);
                assert_eq!(live_count(&api, &aid).await, 0);
                assert_eq!(walk(&api, &format!("asset_id={aid}"), 10).await.len(), 0);
            }
            other => panic!("round {round}: {other:?} {} {}", c.text, d.text),
        }
    }
}

#[tokio::test]
async fn twenty_concurrent_identical_creates_yield_one() {
    let api = Api::new().await;
    let aid = asset_id(&api, json!({"name": "erp"})).await;
    let statuses = race(20, |_| {
        let (api, body) = (api.clone(), grant_body(&aid, "p1", "admin"));
        async move { api.post(BASE, body).await.status }
    })
    .await;
    assert_tally(&statuses, &[(201, 1)]);
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
    assert_eq!(live_count(&api, &aid).await, 1);
}

#[tokio::test]
async fn asset_delete_racing_creates_stays_consistent() {
    let api = Api::new().await;
    let aid = asset_id(&api, json!({"name": "race"})).await;
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let (api, body) = (api.clone(), grant_body(&aid, &format!("p{i}"), "user"));
            tokio::spawn(async move { api.post(BASE, body).await.status })
        })
        .collect();
    let del = {
        let api = api.clone();
        let aid = aid.clone();
        tokio::spawn(async move {
            api.delete(&format!("/api/v1/technology/{aid}"))
                .await
                .status
        })
    };
    let mut created = 0;
    for t in tasks {
        if t.await.unwrap() == 201 {
            created += 1;
        }
    }
    let del = del.await.unwrap();
    let live = live_count(&api, &aid).await;
    assert_eq!(live, created);
    let listed = api
        .get(&format!("/api/v1/entitlements?asset_id={aid}&limit=100"))
        .await;
    assert_eq!(
        listed.body["items"].as_array().unwrap().len() as i64,
        created
    );
    if del == 204 {
        assert_eq!(
            created, 0,
            "no live entitlement may exist on a deleted asset"
        );
    } else {
        assert_eq!(del, 409);
        assert!(created > 0);
    }
}
