//! Access-model metadata on entitlements (API.md §4): values must exist, are added, replaced, dropped, rendered from current definitions, capped, scoped.

use super::*;

// ------------------------------------------------------------------------------------------
// Access-model metadata on entitlements (§4)
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn metadata_attribute_and_value_must_exist_and_be_active() {
    let (api, aid) = api_with_crm().await;
    attribute(
        &api,
        "iscPrivacy",
        json!({"values": [{"value": "public", "name": "Public"},
                          {"value": "secret", "name": "Secret", "status": "inactive"}]}),
    )
    .await;
    attribute(
        &api,
        "iscRetired",
        json!({"status": "inactive", "values": [{"value": "x", "name": "X"}]}),
    )
    .await;
    let other = api.other_tenant();
    attribute(&other, "iscForeign", with_values(&[("x", "X")])).await;
    let e = create(&api, grant_body(&aid, "p1", "x")).await;
    let id = id_of(&e);
    for (key, value, field) in [
        ("iscMissing", "public", "attributeKey"),
        ("iscForeign", "x", "attributeKey"),
        ("iscRetired", "x", "attributeKey"),
        ("iscprivacy", "public", "attributeKey"),
        ("1bad", "public", "attributeKey"),
        ("iscPrivacy", "nope", "attributeValue"),
        ("iscPrivacy", "Public", "attributeValue"),
        ("iscPrivacy", "secret", "attributeValue"),
    ] {
        let r = add_value(&api, &id, key, value).await;
        assert_invalid_for(&r, &[field], format!("{key}/{value}"));
        assert_unchanged(&api, &e).await;
    }
    // The same refusals on an entitlement that already carries metadata leave it as it was.
    let ok = add_value(&api, &id, "iscPrivacy", "public").await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let r = add_value(&api, &id, "iscPrivacy", "secret").await;
    assert_problem(&r, 400, "validation-error");
    assert_unchanged(&api, &ok.body).await;
    // A missing entitlement is 404 (whatever the attribute).
    for key in ["iscPrivacy", "iscMissing"] {
        let r = add_value(&api, &missing_entitlement(), key, "public").await;
        assert_problem(&r, 404, "not-found");
    }
    assert_live(&api, &aid, 1).await;
}

#[tokio::test]
async fn metadata_values_replace_accumulate_and_drop() {
    let (api, aid) = api_with_crm().await;
    let single = attribute(
        &api,
        "iscPrivacy",
        json!({"name": "Privacy", "description": "How private the data is",
               "values": [{"value": "public", "name": "Public"}, {"value": "secret", "name": "Secret"}]}),
    )
    .await;
    assert_eq!(single["multiselect"], false);
    attribute(
        &api,
        "iscRegions",
        json!({"name": "Regions", "type": "custom", "multiselect": true, "object_types": ["all"],
               "values": [{"value": "eu", "name": "Europe"}, {"value": "us", "name": "United States"},
                          {"value": "apac", "name": "Asia Pacific"}]}),
    )
    .await;
    let e = create(&api, grant_body(&aid, "p1", "x")).await;
    let id = id_of(&e);

    let privacy = |values: Value| {
        json!({"key": "iscPrivacy", "name": "Privacy", "multiselect": false, "status": "active",
               "type": "governance", "object_types": ["entitlement"],
               "description": "How private the data is", "values": values})
    };
    let regions = |values: Value| {
        json!({"key": "iscRegions", "name": "Regions", "multiselect": true, "status": "active",
               "type": "custom", "object_types": ["all"], "description": null, "values": values})
    };
    let public = json!({"value": "public", "name": "Public", "status": "active"});
    let secret = json!({"value": "secret", "name": "Secret", "status": "active"});
    let eu = json!({"value": "eu", "name": "Europe", "status": "active"});
    let us = json!({"value": "us", "name": "United States", "status": "active"});

    let r = add_value(&api, &id, "iscPrivacy", "public").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("etag"), Some("\"2\""));
    assert_eq!(
        r.body["access_model_metadata"],
        json!({"attributes": [privacy(json!([public]))]})
    );
    assert_eq!(r.body["revision"], 2);
    assert_eq!(current(&api, &id).await, r.body);

    // Non-multiselect: replaces.
    let r = add_value(&api, &id, "iscPrivacy", "secret").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body["access_model_metadata"],
        json!({"attributes": [privacy(json!([secret]))]})
    );
    assert_eq!(r.body["revision"], 3);

    // Multiselect (object_types ["all"]): accumulates, in the order added.
    let r = add_value(&api, &id, "iscRegions", "us").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = add_value(&api, &id, "iscRegions", "eu").await;
    assert_eq!(
        r.body["access_model_metadata"],
        json!({"attributes": [privacy(json!([secret])), regions(json!([us, eu]))]})
    );
    assert_eq!(r.body["revision"], 5);
    let full = r.body.clone();

    // Re-adding is a no-op: same revision, same record, nothing written.
    for (key, value) in [
        ("iscRegions", "eu"),
        ("iscRegions", "us"),
        ("iscPrivacy", "secret"),
    ] {
        api.counter.reset();
        let r = add_value(&api, &id, key, value).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body, full);
        assert_eq!(r.header("etag"), Some("\"5\""));
        let writes: u64 = api
            .counter
            .snapshot()
            .iter()
            .filter(|(op, _)| op.contains("Write") || op.contains("Update") || op.contains("Put"))
            .map(|(_, n)| n)
            .sum();
        assert_eq!(writes, 0, "{:?}", api.counter.snapshot());
    }
    // Removing an absent value (of a present, an absent, an unknown attribute) is a no-op.
    for (key, value) in [
        ("iscRegions", "apac"),
        ("iscPrivacy", "public"),
        ("iscMissing", "x"),
        ("1bad", "x"),
    ] {
        let r = remove_value(&api, &id, key, value).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body, full, "{key}/{value}");
    }
    assert_eq!(current(&api, &id).await, full);

    // Removing values; the last one drops the attribute; none left → null.
    let r = remove_value(&api, &id, "iscRegions", "us").await;
    assert_eq!(
        r.body["access_model_metadata"],
        json!({"attributes": [privacy(json!([secret])), regions(json!([eu]))]})
    );
    let r = remove_value(&api, &id, "iscRegions", "eu").await;
    assert_eq!(
        r.body["access_model_metadata"],
        json!({"attributes": [privacy(json!([secret]))]})
    );
    let r = remove_value(&api, &id, "iscPrivacy", "secret").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["access_model_metadata"], Value::Null);
    assert_eq!(r.body["revision"], 8);
    let r = remove_value(&api, &id, "iscPrivacy", "secret").await;
    assert_eq!(r.body["revision"], 8);
    let stored = current(&api, &id).await;
    assert_eq!(stored, r.body);
    // Everything but metadata and the envelope's write stamps is as created.
    for k in ENTITLEMENT_KEYS.iter() {
        assert_eq!(stored[*k], e[*k], "{k}");
    }
    // A body, when sent, may hold only provenance.
    let payload = json!({"bogus": 1});
    let r = api
        .post_as(
            &meta_url(&id, "iscPrivacy", "public"),
            &api.token(),
            payload,
        )
        .await;
    assert_invalid(&r, &["bogus"]);
    assert_unchanged(&api, &stored).await;
    assert_live(&api, &aid, 1).await;
}

#[tokio::test]
async fn metadata_is_rendered_from_the_current_definitions() {
    let (api, aid) = api_with_crm().await;
    attribute(
        &api,
        "iscRegions",
        json!({"name": "Regions", "description": "Where", "multiselect": true,
               "values": [{"value": "eu", "name": "Europe"}, {"value": "us", "name": "USA"}]}),
    )
    .await;
    let e = create(&api, grant_body(&aid, "p1", "x")).await;
    let id = id_of(&e);
    assert_eq!(add_value(&api, &id, "iscRegions", "eu").await.status, 200);
    let r = add_value(&api, &id, "iscRegions", "us").await;
    assert_eq!(r.status, 200);
    let revision = r.body["revision"].clone();

    patch_attribute(
        &api,
        "iscRegions",
        json!({"name": "Data regions", "description": "Where data lives", "status": "inactive",
               "values": [{"value": "eu", "name": "European Union", "status": "inactive"},
                          {"value": "us", "name": "USA"}]}),
    )
    .await;
    let g = api
        .expect_answer(
            200,
            &[("GetItem", 1), ("BatchGetItem", 1)],
            api.get(&url(&id)),
        )
        .await;
    assert_eq!(
        g.body["access_model_metadata"],
        json!({"attributes": [{
            "key": "iscRegions", "name": "Data regions", "multiselect": true, "status": "inactive",
            "type": "governance", "object_types": ["entitlement"], "description": "Where data lives",
            "values": [
                {"value": "eu", "name": "European Union", "status": "inactive"},
                {"value": "us", "name": "USA", "status": "active"}
            ]
        }]})
    );
    // The entitlement itself was not written.
    assert_eq!(g.body["revision"], revision);
    // Lists render the same.
    let l = api.get(&format!("{BASE}?asset_id={aid}")).await;
    assert_eq!(l.body["items"][0], g.body);

    // An inactive attribute takes no new values, but its values can still be removed.
    let r = add_value(&api, &id, "iscRegions", "us").await;
    assert_invalid(&r, &["attributeKey"]);
    // A value taken out of the catalog shows with name null and status inactive.
    patch_attribute(
        &api,
        "iscRegions",
        json!({"status": "active", "description": null, "values": [{"value": "us", "name": "USA"}]}),
    )
    .await;
    let g = api.get(&url(&id)).await;
    assert_eq!(
        g.body["access_model_metadata"]["attributes"][0]["values"],
        json!([
            {"value": "eu", "name": null, "status": "inactive"},
            {"value": "us", "name": "USA", "status": "active"}
        ])
    );
    assert_eq!(
        g.body["access_model_metadata"]["attributes"][0]["description"],
        Value::Null
    );
    assert_eq!(
        g.body["access_model_metadata"]["attributes"][0]["status"],
        "active"
    );
    let r = remove_value(&api, &id, "iscRegions", "eu").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["access_model_metadata"]["attributes"][0]["values"],
        json!([{"value": "us", "name": "USA", "status": "active"}])
    );
}

#[tokio::test]
async fn metadata_changes_need_entitlements_write() {
    let api = Api::new().await;
    let (aid, e) = crm_with_privacy(&api).await;
    let id = id_of(&e);
    for scopes in [
        vec!["metadata:write"],
        vec!["metadata:write", "metadata:read", "entitlements:read"],
        vec!["technology:write"],
        vec![],
    ] {
        let token = api.token_with(&scopes);
        for method in ["POST", "DELETE"] {
            let r = api
                .call(method, &meta_url(&id, "iscPrivacy", "public"), &token, None)
                .await;
            assert_problem(&r, 403, "forbidden");
        }
        assert_unchanged(&api, &e).await;
    }
    let writer = api.token_with(&["entitlements:write"]);
    let r = api
        .post_empty_as(&meta_url(&id, "iscPrivacy", "public"), &writer)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["access_model_metadata"]["attributes"][0]["key"],
        "iscPrivacy"
    );
    // Reading the entitlement (metadata rendered) needs entitlements:read only.
    let reader = api.token_with(&["entitlements:read"]);
    let g = api.get_as(&url(&id), &reader).await;
    assert_eq!(g.status, 200);
    assert_eq!(g.body, r.body);
    let r = api
        .delete_as(&meta_url(&id, "iscPrivacy", "public"), &writer)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["access_model_metadata"], Value::Null);
    // The other entitlement routes: reads need :read, writes :write.
    let r = api.get_as(&url(&id), &writer).await;
    assert_problem(&r, 403, "forbidden");
    let r = api.get_as(BASE, &writer).await;
    assert_problem(&r, 403, "forbidden");
    let r = api
        .post_as(BASE, &reader, grant_body(&aid, "p2", "x"))
        .await;
    assert_problem(&r, 403, "forbidden");
    let r = api
        .patch_as(&url(&id), &reader, json!({"description": "x"}))
        .await;
    assert_problem(&r, 403, "forbidden");
    let r = api.post_empty_as(&revoke_url(&id), &reader).await;
    assert_problem(&r, 403, "forbidden");
    assert_live(&api, &aid, 1).await;
}

/// The values an entitlement holds of each attribute, by key.
fn held_values(ent: &Value) -> Vec<(String, usize)> {
    ent["access_model_metadata"]["attributes"]
        .as_array()
        .map(|attrs| {
            attrs
                .iter()
                .map(|a| {
                    let n = a["values"].as_array().map_or(0, Vec::len);
                    (a["key"].as_str().unwrap().to_string(), n)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// An entitlement carries at most 50 values of one attribute and at most 20 attributes
/// (README "Decisions"): past either, an add is a 409 naming the field and the limit, and
/// nothing is written. Before, values grew until DynamoDB refused the item (a 500).
#[tokio::test]
async fn metadata_per_entitlement_is_capped() {
    let (api, aid) = api_with_crm().await;
    let values: Vec<Value> = (0..52)
        .map(|i| json!({"value": format!("v{i}"), "name": format!("V{i}")}))
        .collect();
    attribute(&api, "many", json!({"multiselect": true, "values": values})).await;
    let e = create(&api, grant_body(&aid, "p1", "x")).await;
    let id = id_of(&e);
    for i in 0..48 {
        let r = add_value(&api, &id, "many", &format!("v{i}")).await;
        assert_eq!(r.status, 200, "v{i}: {}", r.text);
    }
    // Two racing adds for the last free place: exactly one lands, the cap holds.
    let r = add_value(&api, &id, "many", "v48").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let racing = join_all(["v49", "v50"].map(|v| add_value(&api, &id, "many", v))).await;
    let won = racing.iter().filter(|r| r.status == 200).count();
    assert_eq!(
        won,
        1,
        "{:?}",
        racing.iter().map(|r| &r.text).collect::<Vec<_>>()
    );
    for r in racing.iter().filter(|r| r.status != 200) {
        assert_problem(r, 409, "conflict");
    }
    let full = current(&api, &id).await;
    assert_eq!(held_values(&full), vec![("many".to_string(), 50)]);
    assert_eq!(full["revision"], 51);
    let r = add_value(&api, &id, "many", "v51").await;
    assert_problem(&r, 409, "conflict");
    assert_eq!(r.body["field"], "access_model_metadata");
    assert_eq!(r.body["limit"], 50);
    assert!(
        r.body["detail"].as_str().unwrap().contains("50"),
        "{}",
        r.text
    );
    assert_unchanged(&api, &full).await;
    // Re-adding a held value stays a no-op; removing one frees a place.
    let r = add_value(&api, &id, "many", "v0").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_unchanged(&api, &full).await;
    assert_eq!(remove_value(&api, &id, "many", "v0").await.status, 200);
    assert_eq!(add_value(&api, &id, "many", "v51").await.status, 200);

    // Attributes: 19 more single-valued ones make 20; the 21st is refused.
    let e2 = create(&api, grant_body(&aid, "p2", "x")).await;
    let id2 = id_of(&e2);
    for i in 0..21 {
        attribute(
            &api,
            &format!("k{i}"),
            with_values(&[("a", "A"), ("b", "B")]),
        )
        .await;
    }
    for i in 0..20 {
        let r = add_value(&api, &id2, &format!("k{i}"), "a").await;
        assert_eq!(r.status, 200, "k{i}: {}", r.text);
    }
    let full = current(&api, &id2).await;
    assert_eq!(held_values(&full).len(), 20);
    let r = add_value(&api, &id2, "k20", "a").await;
    assert_problem(&r, 409, "conflict");
    assert_eq!(r.body["field"], "access_model_metadata");
    assert_eq!(r.body["limit"], 20);
    assert_unchanged(&api, &full).await;
    // A held single-valued attribute still swaps its value at the cap.
    let r = add_value(&api, &id2, "k0", "b").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(held_values(&r.body).len(), 20);
    assert_live(&api, &aid, 2).await;
}

#[tokio::test]
async fn metadata_values_are_added_replaced_and_removed() {
    let api = Api::new().await;
    let body = json!({"key": "iscFederalClassifications", "name": "Federal", "type": "governance",
                   "values": [{"value": "secret", "name": "Secret"}, {"value": "topSecret", "name": "Top Secret"}]});
    let r = api.post(ATTRS, body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let asset = api.asset(json!({"name": "hr"})).await;
    let e = api
        .post(BASE, grant_body(asset["id"].as_str().unwrap(), "p1", "x"))
        .await;
    let id = e.body["id"].as_str().unwrap();
    let base =
        format!("/api/v1/entitlements/{id}/access-model-metadata/iscFederalClassifications/values");
    let a = api
        .post_empty_as(&format!("{base}/secret"), &api.token())
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let attrs = &a.body["access_model_metadata"]["attributes"];
    assert_eq!(attrs[0]["key"], "iscFederalClassifications");
    assert_eq!(attrs[0]["name"], "Federal");
    assert_eq!(attrs[0]["type"], "governance");
    assert_eq!(
        attrs[0]["values"],
        json!([{"value": "secret", "name": "Secret", "status": "active"}])
    );
    // Not multiselect: a second value replaces the first.
    let b = api
        .post_empty_as(&format!("{base}/topSecret"), &api.token())
        .await;
    assert_eq!(
        b.body["access_model_metadata"]["attributes"][0]["values"][0]["value"],
        "topSecret"
    );
    assert_eq!(
        b.body["access_model_metadata"]["attributes"][0]["values"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let missing = api
        .post_empty_as(&format!("{base}/nope"), &api.token())
        .await;
    assert_problem(&missing, 400, "validation-error");
    let c = api
        .delete_as(&format!("{base}/topSecret"), &api.token())
        .await;
    assert_eq!(c.status, 200, "{}", c.text);
    assert_eq!(c.body["access_model_metadata"], Value::Null);
    let noop = api
        .delete_as(&format!("{base}/topSecret"), &api.token())
        .await;
    assert_eq!(noop.status, 200);
    assert_eq!(noop.body["revision"], c.body["revision"]);
}
