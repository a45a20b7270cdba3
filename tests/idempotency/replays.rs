//! A retried write with its key answers as the first did and changes nothing: creates, PATCH,
//! DELETE, revoke, approve, provision and metadata values.

use super::*;

#[tokio::test]
async fn a_replayed_create_is_the_first_answer_and_creates_nothing() {
    let api = Api::new().await;
    let key = fresh_key();
    let body = json!({"name": "billing", "tags": ["pci"]});
    let first = keyed_call(&api, "POST", ASSETS, &key, Some(body.clone())).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let id = id_of(&first.body);
    assert_eq!(
        first.header("location"),
        Some(format!("{ASSETS}/{id}").as_str())
    );
    assert_eq!(first.header("etag"), Some("\"1\""));
    // The body compared after parsing: member order and spacing do not make another request.
    let respelled: Value =
        serde_json::from_str(r#"{ "tags" : ["pci"], "name" : "billing" }"#).unwrap();
    let replay = keyed_call(&api, "POST", ASSETS, &key, Some(respelled)).await;
    assert_replayed(&first, &replay);
    assert_eq!(list_ids(&api, ASSETS).await, vec![id.clone()]);
    assert_eq!(history(&api, &format!("{ASSETS}/{id}")).await.len(), 1);
    // The answer is the record as created.
    let stored = api.get(&format!("{ASSETS}/{id}")).await;
    assert_eq!(stored.body, first.body);
}

#[tokio::test]
async fn creates_of_every_kind_replay() {
    let api = Api::new().await;
    let aid = asset_named(&api, "erp").await;
    for (collection, body) in [
        (ENTS, grant_body(&aid, "p1", "read")),
        (ARQ, request_body("erp")),
        (
            ATTRIBUTES,
            with(
                json!({"key": "tier", "name": "Tier", "type": "governance"}),
                with_values(&[("gold", "Gold")]),
            ),
        ),
    ] {
        let key = fresh_key();
        let first = keyed_call(&api, "POST", collection, &key, Some(body.clone())).await;
        assert_eq!(first.status, 201, "{collection}: {}", first.text);
        let before = api.get(collection).await.body["items"]
            .as_array()
            .unwrap()
            .len();
        let replay = keyed_call(&api, "POST", collection, &key, Some(body)).await;
        assert_replayed(&first, &replay);
        let after = api.get(collection).await.body["items"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(after, before, "{collection}: a replay created a record");
        let location = first.header("location").unwrap();
        let unkeyed = api.get(location).await;
        assert_eq!(unkeyed.status, 200, "{location}");
        assert_eq!(unkeyed.body, first.body, "{collection}");
    }
}

#[tokio::test]
async fn a_replayed_patch_answers_the_first_revision_and_writes_nothing() {
    let api = Api::new().await;
    let uri = asset_uri(&api, "crm").await;
    let key = fresh_key();
    let patch = |if_match: &str| {
        let mut h = keyed(&key, Some(if_match));
        h.insert("content-type", HeaderValue::from_static("application/json"));
        h
    };
    let body = br#"{"description": "the CRM"}"#.to_vec();
    let first = api
        .raw("PATCH", &uri, &api.token(), patch("\"1\""), body.clone())
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.header("etag"), Some("\"2\""));
    let replay = api
        .raw("PATCH", &uri, &api.token(), patch("\"1\""), body)
        .await;
    // A stale If-Match would be a 412 now: the replay is the kept 200.
    assert_replayed(&first, &replay);
    let now = api.get(&uri).await;
    assert_eq!(now.body["revision"], 2);
    assert_eq!(history(&api, &uri).await.len(), 2);
}

#[tokio::test]
async fn a_replayed_delete_answers_204_again_not_404() {
    let api = Api::new().await;
    for (uri, id) in [
        (ASSETS.to_string(), asset_named(&api, "old").await),
        (ARQ.to_string(), {
            asset_named(&api, "hr").await;
            let r = api.post(ARQ, request_body("hr")).await;
            assert_eq!(r.status, 201, "{}", r.text);
            id_of(&r.body)
        }),
    ] {
        let uri = format!("{uri}/{id}");
        let key = fresh_key();
        let first = keyed_call(&api, "DELETE", &uri, &key, None).await;
        assert_eq!(first.status, 204, "{uri}: {}", first.text);
        let replay = keyed_call(&api, "DELETE", &uri, &key, None).await;
        assert_replayed(&first, &replay);
        assert_eq!(replay.text, "");
        // Unkeyed, the record is gone.
        assert_eq!(api.delete(&uri).await.status, 404, "{uri}");
    }
}

#[tokio::test]
async fn a_replayed_revoke_and_metadata_change_answer_as_first() {
    let api = Api::new().await;
    let aid = asset_named(&api, "vault").await;
    attribute(&api, "tier", with_values(&[("gold", "Gold")])).await;
    let r = api.post(ENTS, grant_body(&aid, "p1", "read")).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let eid = id_of(&r.body);
    let uri = format!("{ENTS}/{eid}");
    let value_uri = format!("{uri}/access-model-metadata/tier/values/gold");
    for (method, action_uri) in [
        ("POST", value_uri.clone()),
        ("DELETE", value_uri.clone()),
        ("POST", format!("{uri}/revoke")),
    ] {
        let key = fresh_key();
        let first = keyed_call(&api, method, &action_uri, &key, None).await;
        assert_eq!(first.status, 200, "{method} {action_uri}: {}", first.text);
        let replay = keyed_call(&api, method, &action_uri, &key, None).await;
        assert_replayed(&first, &replay);
        // The answer is the entitlement as shown unkeyed (metadata rendered).
        let shown = api.get(&uri).await;
        assert_eq!(shown.body, first.body, "{method} {action_uri}");
    }
    assert_eq!(history(&api, &uri).await.len(), 4);
}

#[tokio::test]
async fn a_replayed_approval_and_provisioning_answer_as_first() {
    let api = Api::new().await;
    asset_named(&api, "ldap").await;
    let r = api.post(ARQ, request_body("ldap")).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = id_of(&r.body);
    let approver = api.token_for("approver-1", None, &all_scopes());
    for action in ["approve", "provision"] {
        let uri = format!("{ARQ}/{id}/{action}");
        let key = fresh_key();
        let first = send_keyed(&api, &approver, "POST", &uri, &key, None).await;
        assert_eq!(first.status, 200, "{action}: {}", first.text);
        let replay = send_keyed(&api, &approver, "POST", &uri, &key, None).await;
        assert_replayed(&first, &replay);
    }
    let uri = format!("{ARQ}/{id}");
    let now = api.get(&uri).await;
    assert_eq!(now.body["status"], "provisioned");
    // created, approved, provisioned: nothing twice.
    let events = history(&api, &uri).await;
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(list_ids(&api, ENTS).await.len(), 1);
}
