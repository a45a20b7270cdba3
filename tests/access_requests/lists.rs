//! Access request lists (API.md §5): filters alone and combined, the status index, bad parameters, cursor walks.

use super::*;

// ------------------------------------------------------------------------------------------
// Lists
// ------------------------------------------------------------------------------------------

/// Five requests of two requesters on two assets, in every access type, with three statuses.
struct Fixture {
    api: Api,
    alpha: String,
    beta: String,
    r1: String,
    r2: String,
    r3: String,
    r4: String,
    r5: String,
}

async fn fixture() -> Fixture {
    let api = Api::new().await;
    let alpha = asset(&api, "alpha").await;
    let beta = asset(&api, "beta").await;
    let ent = id_of(
        &grant(
            &api,
            json!({"asset_id": alpha, "principal_id": "p9", "principal_type": "person", "entitlement_type": "viewer"}),
        )
        .await,
    );
    let user2 = token_of(&api, "user-2");
    let r1 = id_of(
        &create(
            &api,
            new_of(
                "alpha",
                "Reader",
                json!({"justification": "Quarterly AUDIT"}),
            ),
        )
        .await,
    );
    let r2 = id_of(
        &create_as(
            &api,
            &user2,
            new_of("beta", "writer", json!({"justification": "deploys"})),
        )
        .await,
    );
    let r3 = id_of(
        &create(
            &api,
            new_of("beta", "admin", json!({"justification": "break glass", "principal_id": "grp-1", "principal_type": "group"})),
        )
        .await,
    );
    let r4 = id_of(
        &create_as(
            &api,
            &user2,
            modify_of(
                "alpha",
                &ent,
                json!({"justification": "promotion", "entitlement_type": "editor"}),
            ),
        )
        .await,
    );
    let r5 = id_of(
        &create(
            &api,
            revoke_of("alpha", &ent, json!({"justification": "left the team"})),
        )
        .await,
    );
    approve(&api, &r2).await;
    let r = act(&api, &approver(&api), &r3, "reject").await;
    assert_eq!(r.status, 200);
    Fixture {
        api,
        alpha,
        beta,
        r1,
        r2,
        r3,
        r4,
        r5,
    }
}

#[tokio::test]
async fn lists_filter_exactly_and_in_combination() {
    let f = fixture().await;
    let api = &f.api;
    let (r1, r2, r3, r4, r5) = (&f.r1, &f.r2, &f.r3, &f.r4, &f.r5);
    let cases: Vec<(String, Vec<&String>)> = vec![
        (String::new(), vec![r5, r4, r3, r2, r1]),
        ("status=pending".into(), vec![r5, r4, r1]),
        ("status=approved".into(), vec![r2]),
        ("status=rejected".into(), vec![r3]),
        ("status=provisioned".into(), vec![]),
        ("status=completed".into(), vec![]),
        ("requester_id=user-1".into(), vec![r5, r3, r1]),
        ("requester_id=user-2".into(), vec![r4, r2]),
        ("requester_id=USER-1".into(), vec![]),
        ("system_id=alpha".into(), vec![r5, r4, r1]),
        ("system_id=ALPHA".into(), vec![]),
        (format!("asset_id={}", f.beta), vec![r3, r2]),
        (format!("asset_id={}", f.alpha), vec![r5, r4, r1]),
        ("principal_id=p9".into(), vec![r5, r4]),
        ("principal_id=user-1".into(), vec![r1]),
        ("principal_id=user-2".into(), vec![r2]),
        ("principal_id=grp-1".into(), vec![r3]),
        ("access_type=new".into(), vec![r3, r2, r1]),
        ("access_type=modify".into(), vec![r4]),
        ("access_type=revoke".into(), vec![r5]),
        // q: justification, system_id, entitlement_type; case-insensitive substrings.
        ("q=audit".into(), vec![r1]),
        ("q=GLASS".into(), vec![r3]),
        ("q=bet".into(), vec![r3, r2]),
        ("q=EDIT".into(), vec![r4]),
        ("q=viewer".into(), vec![r5]),
        ("q=reader".into(), vec![r1]),
        ("q=user-2".into(), vec![]),
        ("q=p9".into(), vec![]),
        // Combined.
        ("status=pending&requester_id=user-1".into(), vec![r5, r1]),
        (
            "status=pending&system_id=alpha&access_type=modify".into(),
            vec![r4],
        ),
        (
            format!("requester_id=user-1&asset_id={}&q=glass", f.beta),
            vec![r3],
        ),
        ("status=approved&requester_id=user-1".into(), vec![]),
        ("status=pending&q=team".into(), vec![r5]),
        (
            "access_type=new&principal_id=user-1&system_id=alpha".into(),
            vec![r1],
        ),
        (
            "access_type=new&principal_id=user-1&system_id=beta".into(),
            vec![],
        ),
    ];
    for (q, expected) in cases {
        let r = api.get(&format!("{ARQ}?{q}")).await;
        let expected: Vec<String> = expected.into_iter().cloned().collect();
        assert_eq!(listed_ids(&r), expected, "?{q}");
        assert_eq!(r.body["next_cursor"], Value::Null, "?{q}");
    }
    // Statuses move with the request.
    approve(api, r1).await;
    let r = api.get(&format!("{ARQ}?status=pending")).await;
    assert_eq!(listed_ids(&r), vec![r5.clone(), r4.clone()]);
    let r = api.get(&format!("{ARQ}?status=approved")).await;
    assert_eq!(listed_ids(&r), vec![r2.clone(), r1.clone()]);
    provision(api, r2).await;
    let r = api.get(&format!("{ARQ}?status=provisioned")).await;
    assert_eq!(listed_ids(&r), vec![r2.clone()]);
    let r = api.get(&format!("{ARQ}?status=approved")).await;
    assert_eq!(listed_ids(&r), vec![r1.clone()]);
    // A PATCH is searched by its new text.
    let r = api
        .patch(&url(r4), json!({"justification": "Re-org"}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        listed_ids(&api.get(&format!("{ARQ}?q=promotion")).await),
        Vec::<String>::new()
    );
    assert_eq!(
        listed_ids(&api.get(&format!("{ARQ}?q=re-org")).await),
        vec![r4.clone()]
    );
    // Another tenant's list is its own.
    let other = api.other_tenant();
    assert_eq!(listed_ids(&other.get(ARQ).await), Vec::<String>::new());
    assert_eq!(
        listed_ids(&other.get(&format!("{ARQ}?status=pending")).await),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn status_lists_read_through_the_status_index() {
    let f = fixture().await;
    let api = &f.api;
    let pk = format!("T#{}#ARQ", api.tenant);
    for (id, status) in [
        (&f.r1, "pending"),
        (&f.r2, "approved"),
        (&f.r3, "rejected"),
        (&f.r4, "pending"),
        (&f.r5, "pending"),
    ] {
        assert_indexed_as(api, id, status).await;
        let item = api.stored(&pk, id).await.unwrap();
        assert_eq!(shared::store::get_s(&item, "GSI1SK"), Some(id.as_str()));
    }
    // Move r1's index entry by hand: the status list follows the index, the full list does not.
    api.state
        .db
        .update_item()
        .table_name(api.state.table())
        .key("PK", shared::store::s(pk.clone()))
        .key("SK", shared::store::s(f.r1.clone()))
        .update_expression("SET GSI1PK = :p")
        .expression_attribute_values(
            ":p",
            shared::store::s(format!("T#{}#ARQ#completed", api.tenant)),
        )
        .send()
        .await
        .expect("move the index entry");
    let r = api.get(&format!("{ARQ}?status=pending")).await;
    assert_eq!(listed_ids(&r), vec![f.r5.clone(), f.r4.clone()]);
    let r = api.get(&format!("{ARQ}?status=completed")).await;
    assert_eq!(listed_ids(&r), vec![f.r1.clone()]);
    let r = api
        .get(&format!("{ARQ}?access_type=new&requester_id=user-1"))
        .await;
    assert_eq!(listed_ids(&r), vec![f.r3.clone(), f.r1.clone()]);
}

#[tokio::test]
async fn list_parameters_are_validated() {
    let api = Api::new().await;
    for (q, field) in [
        ("status=open", "status"),
        ("status=Pending", "status"),
        ("access_type=grant", "access_type"),
        ("include_deleted=yes", "include_deleted"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=x", "limit"),
        ("requester=user-1", "requester"),
        ("entitlement_type=x", "entitlement_type"),
        ("system_id=", "system_id"),
        ("cursor=garbage", "cursor"),
        ("status=pending&status=approved", "status"),
    ] {
        let r = api.get(&format!("{ARQ}?{q}")).await;
        assert_invalid(&r, &[field]);
    }
    let r = api
        .get(&format!("{ARQ}?status=open&access_type=x&limit=0"))
        .await;
    assert_invalid(&r, &["access_type", "limit", "status"]);
    let r = api.get(&format!("{ARQ}?limit=100")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({"items": [], "next_cursor": null}));
}

#[tokio::test]
async fn walking_the_cursor_returns_every_request_exactly_once() {
    let api = Api::new().await;
    asset(&api, "alpha").await;
    let mut all = Vec::new();
    let mut pending = Vec::new();
    let mut approved = Vec::new();
    for i in 0..9 {
        let id = id_of(&new_request(&api, "alpha").await);
        if i % 3 == 0 {
            approve(&api, &id).await;
            approved.push(id.clone());
        } else {
            pending.push(id.clone());
        }
        all.push(id);
    }
    all.reverse();
    pending.reverse();
    approved.reverse();
    let walk = |query: String| {
        let api = api.clone();
        async move {
            let mut seen = Vec::new();
            let mut cursor: Option<String> = None;
            let mut pages = 0;
            loop {
                let mut q = query.clone();
                if let Some(c) = &cursor {
                    q.push_str(&format!("&cursor={c}"));
                }
                let r = api.get(&format!("{ARQ}?{q}")).await;
                assert_eq!(r.status, 200, "{}", r.text);
                let page = listed_ids(&r);
                assert!(page.len() <= 2, "{q}: {page:?}");
                seen.extend(page);
                pages += 1;
                match r.body["next_cursor"].as_str() {
                    Some(c) => cursor = Some(c.to_string()),
                    None => break,
                }
                assert!(pages < 20, "runaway cursor");
            }
            seen
        }
    };
    assert_eq!(walk("limit=2".into()).await, all);
    assert_eq!(walk("limit=2&status=pending".into()).await, pending);
    assert_eq!(walk("limit=2&status=approved".into()).await, approved);
    assert_eq!(
        walk("limit=2&access_type=new&system_id=alpha".into()).await,
        all
    );

    // A cursor is bound to its filters and its tenant.
    let r = api.get(&format!("{ARQ}?limit=2&status=pending")).await;
    let c = r.body["next_cursor"].as_str().unwrap().to_string();
    let r = api
        .get(&format!("{ARQ}?limit=2&status=approved&cursor={c}"))
        .await;
    assert_invalid(&r, &["cursor"]);
    let r = api.get(&format!("{ARQ}?limit=2&cursor={c}")).await;
    assert_invalid(&r, &["cursor"]);
    let other = api.other_tenant();
    let r = other
        .get(&format!("{ARQ}?limit=2&status=pending&cursor={c}"))
        .await;
    assert_invalid(&r, &["cursor"]);
    // Another collection's cursor is refused too.
    let r = api.get(&format!("{ENTS}?limit=1")).await;
    assert_eq!(r.status, 200);
    let r = api.get(&format!("{TECH}?limit=1")).await;
    assert_eq!(r.status, 200);
    let tc = r.body["next_cursor"].as_str().map(str::to_string);
    assert!(tc.is_none(), "one asset, one page");
}
