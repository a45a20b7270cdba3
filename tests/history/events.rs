//! One event per write for every record kind: action, changes, actor, request id, time, revision; no-ops, provisioning and the sweep.

use super::*;

#[tokio::test]
async fn an_assets_writes_are_its_history_event_for_event() {
    let api = Api::new().await;
    let bot = app_token(&api, "bot-1", "app-a");
    let created = api
        .post_as(
            TECH,
            &bot,
            json!({"name": "hist-a", "vendor": "acme", "tags": ["x"], "source": "cmdb", "source_type": "backend"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = id_of(&created.body);
    let mut writes = vec![Write::answered("created", "bot-1", Some("app-a"), &created)];
    // A person's token writes the app's record: the event's app is the record's, the actor's
    // app the token's.
    let r = api
        .patch_as(
            &format!("{TECH}/{id}"),
            &person(&api, "user-2"),
            json!({"vendor": "globex", "tags": ["x", "y"], "owner": {"person_id": "p-1"}}),
        )
        .await;
    writes.push(Write::answered("updated", "user-2", None, &r));
    let r = api
        .patch_as(
            &format!("{TECH}/{id}"),
            &person(&api, "user-3"),
            json!({"vendor": null, "source_type": "frontend", "source": "ui"}),
        )
        .await;
    writes.push(Write::answered("updated", "user-3", None, &r));
    let r = api
        .delete_as(&format!("{TECH}/{id}"), &app_token(&api, "bot-2", "app-a"))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let deleted = read(&api, &format!("{TECH}/{id}")).await;
    assert_eq!(deleted["is_deleted"], true);
    writes.push(Write::new("deleted", "bot-2", Some("app-a"), &r, deleted));

    let events = history(&api, &asset_history(&id)).await;
    assert_trail(&api, &events, "technology_asset", &writes);
    // Spelled out once, independently of the diff helper.
    assert_eq!(
        events[2]["changes"],
        json!({"vendor": {"from": "globex", "to": null}, "source": {"from": "cmdb", "to": "ui"}, "source_type": {"from": "backend", "to": "frontend"}})
    );
    let deleted = &writes[3].record;
    assert_eq!(
        events[3]["changes"],
        json!({"is_deleted": {"from": false, "to": true}, "deleted_at": {"from": null, "to": deleted["deleted_at"]}, "deleted_by": {"from": null, "to": "bot-2"}})
    );
    let created_changes = events[0]["changes"].as_object().unwrap();
    assert_eq!(
        created_changes["name"],
        json!({"from": null, "to": "hist-a"})
    );
    assert_eq!(
        created_changes["is_deleted"],
        json!({"from": null, "to": false})
    );
    assert!(!created_changes.contains_key("updated_at"));
    assert!(!created_changes.contains_key("revision"));
    assert!(
        !created_changes.contains_key("description"),
        "null fields are left out"
    );
}

#[tokio::test]
async fn an_entitlements_writes_are_its_history_event_for_event() {
    let api = Api::new().await;
    let (_, aid) = api.named_asset("ent-hist").await;
    attribute(
        &api,
        "region",
        with(
            with_values(&[("eu", "Europe"), ("us", "USA")]),
            json!({"multiselect": true}),
        ),
    )
    .await;
    let created = api
        .post(
            ENTS,
            with(
                grant_body(&aid, "p1", "read"),
                json!({"description": "first", "attributes": {"k": 1}}),
            ),
        )
        .await;
    let id = id_of(&created.body);
    let url = format!("{ENTS}/{id}");
    let meta = |v: &str| format!("{url}/access-model-metadata/region/values/{v}");
    let mut writes = vec![Write::answered("created", "user-1", None, &created)];
    let u2 = person(&api, "user-2");
    let r = api
        .patch_as(
            &url,
            &u2,
            json!({"entitlement_type": "write", "description": null, "attributes": {"k": 2}}),
        )
        .await;
    writes.push(Write::answered("updated", "user-2", None, &r));
    let bot = app_token(&api, "bot-1", "app-b");
    // An app token cannot see a non-app grant; a person adds the metadata.
    let r = api
        .post_empty_as(&meta("eu"), &person(&api, "user-3"))
        .await;
    writes.push(Write::answered("metadata_added", "user-3", None, &r));
    let r = api.post_empty_as(&meta("us"), &u2).await;
    writes.push(Write::answered("metadata_added", "user-2", None, &r));
    let r = api.delete_as(&meta("eu"), &u2).await;
    writes.push(Write::answered("metadata_removed", "user-2", None, &r));
    assert_eq!(api.post_empty_as(&meta("eu"), &bot).await.status, 404);
    let r = api
        .post_as(
            &format!("{url}/revoke"),
            &person(&api, "user-4"),
            json!({"reason": "left"}),
        )
        .await;
    writes.push(Write::answered("revoked", "user-4", None, &r));

    let events = history(&api, &ent_history(&id)).await;
    assert_trail(&api, &events, "entitlement", &writes);
    assert_eq!(
        events[2]["changes"],
        json!({"access_model_metadata": {"from": null, "to": [{"key": "region", "values": ["eu"]}]}})
    );
    assert_eq!(
        events[4]["changes"]["access_model_metadata"],
        json!({"from": [{"key": "region", "values": ["eu", "us"]}], "to": [{"key": "region", "values": ["us"]}]})
    );
    let revoked = &events[5]["changes"];
    assert_eq!(
        revoked["status"],
        json!({"from": "active", "to": "revoked"})
    );
    assert_eq!(
        revoked["revoke_reason"],
        json!({"from": null, "to": "left"})
    );
    // The grant's writes are not the asset's: its history holds its own create only.
    assert_eq!(history(&api, &asset_history(&aid)).await.len(), 1);
}

#[tokio::test]
async fn an_access_requests_writes_are_its_history_event_for_event() {
    let api = Api::new().await;
    api.named_asset("aws").await;
    let (u1, approver, provisioner) = (
        person(&api, "user-1"),
        person(&api, "approver-1"),
        person(&api, "provisioner-1"),
    );

    // created → updated → approved → provisioned → completed
    let r = api.post_as(ARQ, &u1, new_request("aws", "member")).await;
    let id = id_of(&r.body);
    let url = format!("{ARQ}/{id}");
    let mut writes = vec![Write::answered("created", "user-1", None, &r)];
    let r = api
        .patch_as(&url, &u1, json!({"justification": "on call"}))
        .await;
    writes.push(Write::answered("updated", "user-1", None, &r));
    let r = api
        .post_as(
            &format!("{url}/approve"),
            &approver,
            json!({"comment": "ok"}),
        )
        .await;
    writes.push(Write::answered("approved", "approver-1", None, &r));
    let r = api
        .post_empty_as(&format!("{url}/provision"), &provisioner)
        .await;
    writes.push(Write::answered("provisioned", "provisioner-1", None, &r));
    let r = api
        .patch_as(
            &url,
            &u1,
            json!({"status": "completed", "source": "jira", "source_type": "server"}),
        )
        .await;
    writes.push(Write::answered("completed", "user-1", None, &r));
    let events = history(&api, &arq_history(&id)).await;
    assert_trail(&api, &events, "access_request", &writes);
    assert_eq!(
        events[2]["changes"]["status"],
        json!({"from": "pending", "to": "approved"})
    );

    // created → rejected
    let r = api.post_as(ARQ, &u1, new_request("aws", "viewer")).await;
    let id = id_of(&r.body);
    let mut writes = vec![Write::answered("created", "user-1", None, &r)];
    let r = api
        .post_empty_as(&format!("{ARQ}/{id}/reject"), &approver)
        .await;
    writes.push(Write::answered("rejected", "approver-1", None, &r));
    assert_trail(
        &api,
        &history(&api, &arq_history(&id)).await,
        "access_request",
        &writes,
    );

    // created → deleted, by an app's token on the app's request
    let bot = app_token(&api, "bot-1", "app-c");
    api.asset_as(&bot, "app-sys").await;
    let r = api
        .post_as(ARQ, &bot, new_request("app-sys", "viewer"))
        .await;
    let id = id_of(&r.body);
    let mut writes = vec![Write::answered("created", "bot-1", Some("app-c"), &r)];
    let r = api.delete_as(&format!("{ARQ}/{id}"), &bot).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let gone = read(&api, &format!("{ARQ}/{id}")).await;
    writes.push(Write::new("deleted", "bot-1", Some("app-c"), &r, gone));
    assert_trail(
        &api,
        &history(&api, &arq_history(&id)).await,
        "access_request",
        &writes,
    );
}

#[tokio::test]
async fn an_attributes_writes_are_its_history_under_its_amd_id() {
    let api = Api::new().await;
    let r = api
        .post_as(
            ATTRS,
            &app_token(&api, "bot-1", "app-d"),
            json!({"key": "tier", "name": "Tier", "type": "custom", "values": [{"value": "gold", "name": "Gold"}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let amd = id_of(&r.body);
    assert!(amd.starts_with("amd_"), "{amd}");
    let mut writes = vec![Write::answered("created", "bot-1", Some("app-d"), &r)];
    let url = format!("{ATTRS}/tier");
    let r = api
        .patch_as(
            &url,
            &person(&api, "user-2"),
            json!({"name": "Service tier", "description": "how much"}),
        )
        .await;
    writes.push(Write::answered("updated", "user-2", None, &r));
    let r = api
        .patch_as(
            &url,
            &person(&api, "user-3"),
            json!({"values": [{"value": "gold", "name": "Gold"}, {"value": "silver", "name": "Silver"}], "status": "inactive"}),
        )
        .await;
    writes.push(Write::answered("updated", "user-3", None, &r));
    let events = history(&api, &attr_history("tier")).await;
    assert_trail(&api, &events, "metadata_attribute", &writes);
    assert!(events.iter().all(|e| e["resource_id"] == amd.as_str()));
}

/// Asserts the record at `uri` and its history are as they were.
async fn assert_untouched(api: &Api, uri: &str, history_uri: &str, before: &Value, events: usize) {
    assert_eq!(&read(api, uri).await, before, "{uri} changed");
    assert_eq!(
        history(api, history_uri).await.len(),
        events,
        "{history_uri}"
    );
}

#[tokio::test]
async fn writes_that_change_nothing_append_nothing() {
    let api = Api::new().await;
    let asset = api
        .asset(json!({"name": "noop", "vendor": "acme", "tags": ["a"]}))
        .await;
    let aid = id_of(&asset);
    let aurl = format!("{TECH}/{aid}");
    for body in [
        json!({}),
        json!({"vendor": "acme"}),
        json!({"tags": ["a"], "name": "noop", "source": "edm"}),
    ] {
        let r = api.patch(&aurl, body.clone()).await;
        assert_eq!(r.status, 200, "{body}: {}", r.text);
        assert_eq!(r.body, asset, "{body}: answered as it is");
        assert_untouched(&api, &aurl, &asset_history(&aid), &asset, 1).await;
    }

    attribute(&api, "region", with_values(&[("eu", "Europe")])).await;
    let g = api.post(ENTS, grant_body(&aid, "p1", "read")).await;
    let eid = id_of(&g.body);
    let eurl = format!("{ENTS}/{eid}");
    let meta = format!("{eurl}/access-model-metadata/region/values/eu");
    let r = api.delete(&meta).await;
    assert_eq!(r.status, 200, "removing an absent value: {}", r.text);
    assert_untouched(&api, &eurl, &ent_history(&eid), &g.body, 1).await;
    let added = api.post_empty_as(&meta, &api.token()).await;
    assert_eq!(added.status, 200, "{}", added.text);
    let r = api.post_empty_as(&meta, &api.token()).await;
    assert_eq!(r.status, 200, "re-adding a present value: {}", r.text);
    assert_eq!(r.body, added.body);
    assert_untouched(&api, &eurl, &ent_history(&eid), &added.body, 2).await;
    let r = api
        .patch(
            &eurl,
            json!({"entitlement_type": "read", "status": "active"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, added.body);
    let revoked = api
        .post_empty_as(&format!("{eurl}/revoke"), &api.token())
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    let again = api
        .post_empty_as(&format!("{eurl}/revoke"), &api.token())
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body, revoked.body);
    assert_untouched(&api, &eurl, &ent_history(&eid), &revoked.body, 3).await;

    let req = api.post(ARQ, new_request("noop", "member")).await;
    let rid = id_of(&req.body);
    let rurl = format!("{ARQ}/{rid}");
    let r = api.patch(&rurl, json!({"justification": "needed"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_untouched(&api, &rurl, &arq_history(&rid), &req.body, 1).await;

    let attr = read(&api, &format!("{ATTRS}/region")).await;
    let r = api
        .patch(&format!("{ATTRS}/region"), json!({"name": attr["name"]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_untouched(
        &api,
        &format!("{ATTRS}/region"),
        &attr_history("region"),
        &attr,
        1,
    )
    .await;
}

/// Provisions an approved request of `body` as provisioner-1; asserts the request gained one
/// `provisioned` event and the grant `eid` (the request's after it when `None`) one `action`
/// event, both under the provisioning's request id, and returns the grant's id.
async fn provision_and_check(api: &Api, body: Value, eid: Option<&str>, action: &str) -> String {
    let r = api.post(ARQ, body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = id_of(&r.body);
    let url = format!("{ARQ}/{id}");
    let a = api
        .post_empty_as(&format!("{url}/approve"), &person(api, "approver-1"))
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let grant_before = match eid {
        Some(e) => Some(read(api, &format!("{ENTS}/{e}")).await),
        None => None,
    };
    let grant_events_before = match eid {
        Some(e) => history(api, &ent_history(e)).await.len(),
        None => 0,
    };
    let p = api
        .post_empty_as(&format!("{url}/provision"), &person(api, "provisioner-1"))
        .await;
    assert_eq!(p.status, 200, "{}", p.text);
    let rid = request_id(&p);
    let events = history(api, &arq_history(&id)).await;
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["created", "approved", "provisioned"]);
    assert_eq!(events[2]["request_id"], rid.as_str());
    assert_eq!(
        events[2]["changes"],
        expected_changes(Some(&a.body), &p.body)
    );
    let eid = eid.map(String::from).unwrap_or_else(|| {
        p.body["entitlement_id"]
            .as_str()
            .expect("entitlement_id")
            .to_string()
    });
    let grant = read(api, &format!("{ENTS}/{eid}")).await;
    let grant_events = history(api, &ent_history(&eid)).await;
    assert_eq!(
        grant_events.len(),
        grant_events_before + 1,
        "{grant_events:#?}"
    );
    let last = grant_events.last().unwrap();
    assert_eq!(last["action"], action);
    assert_eq!(
        last["request_id"],
        rid.as_str(),
        "one request id for both events"
    );
    assert_eq!(last["actor"]["sub"], "provisioner-1");
    assert_eq!(last["at"], grant["updated_at"]);
    assert_eq!(last["revision"], grant["revision"]);
    assert_eq!(
        last["changes"],
        expected_changes(grant_before.as_ref(), &grant)
    );
    assert_chain(&grant_events);
    assert_chain(&events);
    eid
}

#[tokio::test]
async fn provisioning_appends_one_event_to_the_request_and_one_to_the_grant() {
    let api = Api::new().await;
    api.named_asset("aws").await;
    let eid = provision_and_check(&api, new_request("aws", "member"), None, "created").await;
    let modify = json!({"system_id": "aws", "access_type": "modify", "justification": "x", "entitlement_id": eid, "entitlement_type": "admin"});
    provision_and_check(&api, modify, Some(&eid), "updated").await;
    let revoke = json!({"system_id": "aws", "access_type": "revoke", "justification": "x", "entitlement_id": eid});
    provision_and_check(&api, revoke, Some(&eid), "revoked").await;
    assert_eq!(
        read(&api, &format!("{ENTS}/{eid}")).await["status"],
        "revoked"
    );
}

#[tokio::test]
async fn the_sweeps_expiry_is_an_event_of_the_system() {
    // The sweep reads every tenant of its table: a table of this test's own.
    let api = Api::with_own_table().await;
    let (_, aid) = api.named_asset("sweep").await;
    let g = api
        .post(ENTS, expiring_grant_body(&aid, "p1", "read", 1))
        .await;
    assert_eq!(g.status, 201, "{}", g.text);
    let eid = id_of(&g.body);
    let report = sweep_at(&api, 2, Duration::from_secs(20)).await;
    assert_eq!(report.expired, 1, "{report:?}");
    let expired = read(&api, &format!("{ENTS}/{eid}")).await;
    assert_eq!(expired["status"], "expired");
    let events = history(&api, &ent_history(&eid)).await;
    let writes = [
        Write::answered("created", "user-1", None, &g),
        Write {
            action: "expired",
            sub: "system:expiry-sweep".into(),
            app: None,
            request_id: SWEEP_REQUEST_ID.into(),
            record: expired.clone(),
        },
    ];
    assert_trail(&api, &events, "entitlement", &writes);
    assert_eq!(events[1]["actor"]["source_type"], "system");
    assert_eq!(
        events[1]["changes"]["status"],
        json!({"from": "active", "to": "expired"})
    );
    // A second run finds nothing due and appends nothing.
    sweep_at(&api, 2, Duration::from_secs(20)).await;
    assert_eq!(history(&api, &ent_history(&eid)).await.len(), 2);
}
