//! Technology assets: every field rule of API.md §3 and how a bad body is named (400s that write nothing).

use super::*;

/// A create (named `name`) and a PATCH of `asset` with `field` set to `bad` are each a 400
/// naming `field`.
async fn assert_refused_on_create_and_patch(
    api: &Api,
    asset: &Value,
    name: &str,
    field: &str,
    bad: &Value,
) {
    let r = api.post(BASE, json!({"name": name, field: bad})).await;
    assert_invalid_for(&r, &[field], bad);
    let r = api.patch(&url(&id_of(asset)), json!({ field: bad })).await;
    assert_invalid_for(&r, &[field], bad);
}

#[tokio::test]
async fn unknown_fields_are_named() {
    let api = Api::new().await;
    let body = json!({"name": "strict", "colour": "red", "Name": "x"});
    let r = api.post(BASE, body).await;
    assert_invalid(&r, &["Name", "colour"]);
    // Attributes of the item that are not fields of the record are unknown too.
    let body = json!({"name": "strict", "live_entitlements": 0, "search": "x", "PK": "T#x#AST"});
    let r = api.post(BASE, body).await;
    assert_invalid(&r, &["PK", "live_entitlements", "search"]);
    assert_eq!(api.get(BASE).await.body["items"], json!([]));

    let asset = api.asset(json!({"name": "strict"})).await;
    let edit = json!({"vendor": "v", "colour": "red"});
    let r = api.patch(&url(&id_of(&asset)), edit).await;
    assert_invalid(&r, &["colour"]);
    assert_asset_unchanged(&api, &asset).await;
}

#[tokio::test]
async fn every_bad_field_is_named_at_once() {
    let api = Api::new().await;
    let body = json!({
        "name": "Bad Name",
        "display_name": "",
        "description": 5,
        "type": [],
        "category": "x".repeat(201),
        "vendor": {"n": 1},
        "version": true,
        "status": "gone",
        "owner": {"group_id": "g"},
        "environment": "prod",
        "hosting": "aws",
        "cloud_provider": "aws",
        "region": 1,
        "url": "ftp://example.com",
        "tags": "pci",
        "criticality": "urgent",
        "data_classification": "secret",
        "owner_id": {},
        "source": "",
        "source_type": "robot",
        "extra": 1,
        "id": "ignored",
    });
    let expected = vec![
        "category",
        "cloud_provider",
        "criticality",
        "data_classification",
        "description",
        "display_name",
        "environment",
        "extra",
        "hosting",
        "name",
        "owner.person_id",
        "owner_id",
        "region",
        "source",
        "source_type",
        "status",
        "tags",
        "type",
        "url",
        "vendor",
        "version",
    ];
    let r = api.post(BASE, body.clone()).await;
    assert_invalid(&r, &expected);
    for e in r.body["errors"].as_array().unwrap() {
        assert!(!e["message"].as_str().unwrap().is_empty(), "{e}");
    }
    assert!(r.body["detail"]
        .as_str()
        .unwrap()
        .contains("owner.person_id"));
    assert_eq!(api.get(BASE).await.body["items"], json!([]));

    // The same on PATCH, plus the two fields that cannot be cleared.
    let asset = api
        .asset(json!({"name": "target", "owner": {"person_id": "p1"}}))
        .await;
    let mut patch = body;
    patch["owner"] = json!({"person_id": null});
    patch["name"] = Value::Null;
    patch["status"] = Value::Null;
    let r = api.patch(&url(&id_of(&asset)), patch).await;
    assert_invalid(&r, &expected);
    assert_asset_unchanged(&api, &asset).await;
}

#[tokio::test]
async fn enum_fields_accept_exactly_their_values() {
    let api = Api::new().await;
    let enums: &[(&str, &[&str])] = &[
        ("status", &["active", "deprecated", "decommissioned"]),
        (
            "environment",
            &["production", "staging", "development", "test", "dr"],
        ),
        ("hosting", &["saas", "cloud", "on_prem", "hybrid"]),
        ("criticality", &["critical", "high", "medium", "low"]),
        (
            "data_classification",
            &["public", "internal", "confidential", "restricted"],
        ),
    ];
    let (_, id) = api.named_asset("enum-target").await;
    let mut n = 0;
    for (field, values) in enums {
        for value in *values {
            n += 1;
            let r = api
                .post(BASE, json!({"name": format!("enum-{n}"), *field: value}))
                .await;
            assert_eq!(r.status, 201, "{field}={value}: {}", r.text);
            assert_eq!(r.body[*field], *value);
            let r = api.patch(&url(&id), json!({*field: value})).await;
            assert_eq!(r.status, 200, "{field}={value}: {}", r.text);
            assert_eq!(r.body[*field], *value);
        }
        let before = current_asset(&api, &id).await;
        let upper = values[0].to_uppercase();
        for bad in [
            json!("nope"),
            json!(upper),
            json!(""),
            json!(1),
            json!([values[0]]),
        ] {
            let r = api
                .post(BASE, json!({"name": "enum-bad", *field: bad.clone()}))
                .await;
            assert_invalid_for(&r, &[*field], format!("{field}={bad}"));
            let r = api.patch(&url(&id), json!({*field: bad.clone()})).await;
            assert_invalid_for(&r, &[*field], format!("{field}={bad}"));
        }
        assert_asset_unchanged(&api, &before).await;
    }
    // Optional enums clear with null; status cannot be null.
    for field in [
        "environment",
        "hosting",
        "criticality",
        "data_classification",
    ] {
        let r = api.patch(&url(&id), json!({field: null})).await;
        assert_eq!(r.status, 200, "{field}: {}", r.text);
        assert_eq!(r.body[field], Value::Null);
    }
    let before = current_asset(&api, &id).await;
    let r = api.patch(&url(&id), json!({"status": null})).await;
    assert_invalid(&r, &["status"]);
    let r = api
        .post(BASE, json!({"name": "null-status", "status": null}))
        .await;
    assert_invalid(&r, &["status"]);
    assert_asset_unchanged(&api, &before).await;
}

#[tokio::test]
async fn names_are_kebab_case_of_at_most_63_characters() {
    let api = Api::new().await;
    let good = [
        "a".to_string(),
        "0".to_string(),
        "payments-gateway".to_string(),
        "a-".to_string(),
        "a--b".to_string(),
        "9lives".to_string(),
        "a".repeat(63),
        format!("z{}", "-".repeat(62)),
    ];
    for name in &good {
        let r = api.post(BASE, json!({"name": name})).await;
        assert_eq!(r.status, 201, "{name}: {}", r.text);
        assert_eq!(r.body["name"], *name);
    }
    let bad: Vec<Value> = vec![
        json!(""),
        json!(" "),
        json!("Payments"),
        json!("payMents"),
        json!("pay ments"),
        json!(" payments"),
        json!("payments "),
        json!("-leading"),
        json!("a".repeat(64)),
        json!("a_b"),
        json!("a.b"),
        json!("a/b"),
        json!("ünïcode"),
        json!("a\n"),
        json!(12),
        json!(["a"]),
        json!(null),
    ];
    for name in &bad {
        let r = api.post(BASE, json!({"name": name})).await;
        assert_invalid_for(&r, &["name"], name);
    }
    let r = api.post(BASE, json!({"vendor": "no-name"})).await;
    assert_invalid(&r, &["name"]);
    let r = api.post(BASE, json!({})).await;
    assert_invalid(&r, &["name"]);

    // The same rules on PATCH (null included), record unchanged.
    let asset = api.asset(json!({"name": "renamable"})).await;
    for name in &bad {
        let r = api.patch(&url(&id_of(&asset)), json!({"name": name})).await;
        assert_invalid_for(&r, &["name"], name);
    }
    assert_asset_unchanged(&api, &asset).await;
    let list = api.get(&format!("{BASE}?limit=100")).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), good.len() + 1);
}

#[tokio::test]
async fn cloud_provider_only_with_cloud_or_hybrid_hosting() {
    let api = Api::new().await;
    for hosting in ["cloud", "hybrid"] {
        let sent =
            json!({"name": format!("cp-{hosting}"), "hosting": hosting, "cloud_provider": "aws"});
        let r = api.post(BASE, sent).await;
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.body["cloud_provider"], "aws");
    }
    for body in [
        json!({"name": "cp-bad", "hosting": "saas", "cloud_provider": "aws"}),
        json!({"name": "cp-bad", "hosting": "on_prem", "cloud_provider": "aws"}),
        json!({"name": "cp-bad", "cloud_provider": "aws"}),
        json!({"name": "cp-bad", "hosting": null, "cloud_provider": "aws"}),
    ] {
        let r = api.post(BASE, body.clone()).await;
        assert_invalid_for(&r, &["cloud_provider"], &body);
    }
    // Hosting without a provider is fine.
    let sent = json!({"name": "cp-none", "hosting": "saas", "cloud_provider": null});
    let r = api.post(BASE, sent).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let saas = r.body;

    // PATCH: the merged record is checked.
    let sent = json!({"name": "cp-patch", "hosting": "cloud", "cloud_provider": "gcp"});
    let r = api.post(BASE, sent).await;
    let asset = r.body;
    let id = id_of(&asset);
    for body in [
        json!({"hosting": "saas"}),
        json!({"hosting": "on_prem"}),
        json!({"hosting": null}),
    ] {
        let r = api.patch(&url(&id), body.clone()).await;
        assert_invalid_for(&r, &["cloud_provider"], &body);
    }
    assert_asset_unchanged(&api, &asset).await;
    let edit = json!({"cloud_provider": "azure"});
    let r = api.patch(&url(saas["id"].as_str().unwrap()), edit).await;
    assert_invalid(&r, &["cloud_provider"]);
    assert_asset_unchanged(&api, &saas).await;

    let r = api.patch(&url(&id), json!({"hosting": "hybrid"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["cloud_provider"], "gcp");
    let edit = json!({"hosting": "saas", "cloud_provider": null});
    let r = api.patch(&url(&id), edit).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["hosting"], "saas");
    assert_eq!(r.body["cloud_provider"], Value::Null);
    let edit = json!({"hosting": "cloud", "cloud_provider": "oci"});
    let r = api.patch(&url(&id), edit).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["cloud_provider"], "oci");
}

#[tokio::test]
async fn urls_must_be_absolute_http_or_https() {
    let api = Api::new().await;
    let mut n = 0;
    for u in [
        "https://example.com",
        "http://example.com/path?q=1#frag",
        "https://example.com:8443/x",
        "HTTPS://EXAMPLE.COM",
    ] {
        n += 1;
        let r = api
            .post(BASE, json!({"name": format!("url-{n}"), "url": u}))
            .await;
        assert_eq!(r.status, 201, "{u}: {}", r.text);
        assert_eq!(r.body["url"], u);
    }
    let asset = api
        .asset(json!({"name": "url-target", "url": "https://a.example"}))
        .await;
    for bad in [
        json!("ftp://example.com"),
        json!("javascript:alert(1)"),
        json!("example.com"),
        json!("/relative/path"),
        json!("mailto:a@example.com"),
        json!("file:///etc/passwd"),
        json!("http://"),
        json!("data:text/html,hi"),
        json!(""),
        json!(5),
        json!(format!("https://example.com/{}", "a".repeat(2048))),
    ] {
        assert_refused_on_create_and_patch(&api, &asset, "url-bad", "url", &bad).await;
    }
    assert_asset_unchanged(&api, &asset).await;
    let r = api.patch(&url(&id_of(&asset)), json!({"url": null})).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["url"], Value::Null);
}

#[tokio::test]
async fn tags_are_an_array_of_strings() {
    let api = Api::new().await;
    let fifty: Vec<String> = (0..50).map(|i| format!("t{i}")).collect();
    let mut n = 0;
    for tags in [
        json!([]),
        json!(["pci"]),
        json!(["pci", "PCI", "pci"]),
        json!(["x".repeat(100)]),
        json!(fifty),
    ] {
        n += 1;
        let body = json!({"name": format!("tags-{n}"), "tags": tags.clone()});
        let r = api.post(BASE, body).await;
        assert_eq!(r.status, 201, "{tags}: {}", r.text);
        assert_eq!(r.body["tags"], tags);
    }
    let asset = api
        .asset(json!({"name": "tag-target", "tags": ["keep"]}))
        .await;
    let fifty_one: Vec<String> = (0..51).map(|i| format!("t{i}")).collect();
    for bad in [
        json!("pci"),
        json!([1]),
        json!(["ok", 2]),
        json!([""]),
        json!(["  "]),
        json!([null]),
        json!([["nested"]]),
        json!({"a": "b"}),
        json!(["x".repeat(101)]),
        json!(fifty_one),
        json!(true),
    ] {
        assert_refused_on_create_and_patch(&api, &asset, "tags-bad", "tags", &bad).await;
    }
    assert_asset_unchanged(&api, &asset).await;
    let r = api
        .patch(&url(&id_of(&asset)), json!({"tags": ["a", "b"]}))
        .await;
    assert_eq!(r.body["tags"], json!(["a", "b"]));
    let r = api.patch(&url(&id_of(&asset)), json!({"tags": []})).await;
    assert_eq!(r.body["tags"], json!([]));
    let r = api.patch(&url(&id_of(&asset)), json!({"tags": null})).await;
    assert_eq!(r.body["tags"], Value::Null);
}

#[tokio::test]
async fn string_fields_have_length_limits() {
    let api = Api::new().await;
    let (_, id) = api.named_asset("lengths").await;
    let limits = [
        ("display_name", 200),
        ("description", 4000),
        ("type", 200),
        ("category", 200),
        ("vendor", 200),
        ("version", 200),
        ("cloud_provider", 200),
        ("region", 200),
        ("owner_id", 200),
    ];
    for (field, max) in limits {
        let mut ok = json!({field: "é".repeat(max)});
        if field == "cloud_provider" {
            ok["hosting"] = json!("cloud");
        }
        let r = api.patch(&url(&id), ok.clone()).await;
        assert_eq!(r.status, 200, "{field}: {}", r.text);
        assert_eq!(r.body[field], ok[field]);
        let before = r.body;
        let mut too_long = json!({field: "é".repeat(max + 1)});
        if field == "cloud_provider" {
            too_long["hosting"] = json!("cloud");
        }
        let r = api.patch(&url(&id), too_long).await;
        assert_invalid(&r, &[field]);
        for blank in [json!(""), json!("   "), json!(1), json!(false)] {
            let r = api.patch(&url(&id), json!({field: blank.clone()})).await;
            assert_invalid_for(&r, &[field], format!("{field}={blank}"));
        }
        assert_asset_unchanged(&api, &before).await;
    }
}

#[tokio::test]
async fn owner_needs_a_person_and_merges_on_patch() {
    let api = Api::new().await;
    for (owner, field) in [
        (json!({}), "owner.person_id"),
        (json!({"group_id": "g1"}), "owner.person_id"),
        (
            json!({"person_id": null, "group_id": "g1"}),
            "owner.person_id",
        ),
        (json!({"person_id": 5}), "owner.person_id"),
        (json!({"person_id": ""}), "owner.person_id"),
        (json!({"person_id": "p1", "group_id": 3}), "owner.group_id"),
        (json!({"person_id": "p1", "team": "x"}), "owner.team"),
        (json!("p1"), "owner"),
        (json!(["p1"]), "owner"),
    ] {
        let r = api
            .post(BASE, json!({"name": "owned", "owner": owner.clone()}))
            .await;
        assert_invalid_for(&r, &[field], &owner);
    }
    assert_eq!(api.get(BASE).await.body["items"], json!([]));

    let asset = api
        .asset(json!({"name": "owned", "owner": {"person_id": "p1", "group_id": "g1"}}))
        .await;
    let id = id_of(&asset);

    // Clearing the group keeps the person; setting the group keeps the person; setting the
    // person keeps the group; an empty or absent owner keeps it.
    let mut before = Value::Null;
    for (edit, owner) in [
        (
            json!({"owner": {"group_id": null}}),
            json!({"person_id": "p1", "group_id": null}),
        ),
        (
            json!({"owner": {"group_id": "g2"}}),
            json!({"person_id": "p1", "group_id": "g2"}),
        ),
        (
            json!({"owner": {"person_id": "p2"}}),
            json!({"person_id": "p2", "group_id": "g2"}),
        ),
        (
            json!({"owner": {}}),
            json!({"person_id": "p2", "group_id": "g2"}),
        ),
        (
            json!({"vendor": "v"}),
            json!({"person_id": "p2", "group_id": "g2"}),
        ),
    ] {
        let r = api.patch(&url(&id), edit.clone()).await;
        assert_eq!(r.status, 200, "{edit}: {}", r.text);
        assert_eq!(r.body["owner"], owner, "{edit}");
        before = r.body;
    }

    // The person cannot be cleared on its own.
    for (owner, field) in [
        (json!({"person_id": null}), "owner.person_id"),
        (json!({"person_id": "  "}), "owner.person_id"),
        (json!({"group_id": ""}), "owner.group_id"),
        (json!({"extra": 1}), "owner.extra"),
        (json!(7), "owner"),
    ] {
        let r = api.patch(&url(&id), json!({"owner": owner.clone()})).await;
        assert_invalid_for(&r, &[field], &owner);
    }
    assert_asset_unchanged(&api, &before).await;

    // null clears the whole owner; then a group alone is not an owner.
    let r = api.patch(&url(&id), json!({"owner": null})).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["owner"], Value::Null);
    let before = r.body;
    let r = api
        .patch(&url(&id), json!({"owner": {"group_id": "g9"}}))
        .await;
    assert_invalid(&r, &["owner.person_id"]);
    assert_asset_unchanged(&api, &before).await;
    let r = api
        .patch(&url(&id), json!({"owner": {"person_id": "p9"}}))
        .await;
    assert_eq!(
        r.body["owner"],
        json!({"person_id": "p9", "group_id": null})
    );
}

#[tokio::test]
async fn owner_rejects_source_members_like_any_unknown_member() {
    let api = Api::new().await;
    for member in ["source", "source_type", "id", "revision", "tenant_id"] {
        let body = json!({"name": "owner-src", "owner": {"person_id": "p1", member: "x"}});
        let r = api.post(BASE, body).await;
        assert_invalid(&r, &[format!("owner.{member}").as_str()]);
    }
}

#[tokio::test]
async fn validation_names_every_field() {
    let api = Api::new().await;
    let r = api
        .post(BASE, json!({"name": "Bad Name", "status": "x", "extra": 1}))
        .await;
    assert_invalid(&r, &["extra", "name", "status"]);
}
