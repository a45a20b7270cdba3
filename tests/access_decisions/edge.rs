//! The edge of the §9 routes: the access:evaluate scope, the AuthZEN parsing rule (unknown members ignored, malformed ones a 400), X-Request-ID echo, and the PDP metadata document.

use super::*;

const ROUTES: [&str; 5] = [
    EVALUATION,
    EVALUATIONS,
    SEARCH_SUBJECT,
    SEARCH_RESOURCE,
    SEARCH_ACTION,
];

#[tokio::test]
async fn every_route_needs_access_evaluate() {
    let api = Api::new().await;
    let (_, a) = api.named_asset("scoped").await;
    let others: Vec<&str> = shared::auth::Scope::ALL
        .iter()
        .map(|s| s.as_str())
        .filter(|s| *s != "access:evaluate")
        .collect();
    let without = api.token_with(&others);
    let only = api.token_with(&["access:evaluate"]);
    for uri in ROUTES {
        let r = api.post_as(uri, &without, question("p", &a, "read")).await;
        assert_problem(&r, 403, "forbidden");
        assert!(r.text.contains("access:evaluate"), "{}", r.text);
        let r = api.post_as(uri, &only, question("p", &a, "read")).await;
        assert_eq!(r.status, 200, "{uri}: {}", r.text);
        assert_problem(
            &api.post_as(uri, "", question("p", &a, "read")).await,
            401,
            "unauthorized",
        );
    }
}

#[tokio::test]
async fn unknown_members_are_ignored_and_malformed_known_ones_named() {
    let api = Api::new().await;
    let (_, a) = api.named_asset("lenient").await;
    grant(&api, grant_body(&a, "u", "read")).await;
    let body = json!({
        "subject": {"type": "person", "id": "u", "properties": {"department": "ops"}, "extra": 1},
        "resource": {"type": "technology_asset", "id": a, "properties": {"owner": "x"}},
        "action": {"name": "read", "properties": {"method": "GET"}},
        "context": {"time": "2026-01-01T00:00:00Z"},
        "something_new": {"nested": true}
    });
    assert_eq!(verdict(&evaluate(&api, body).await), granted());
    let r = api
        .post(EVALUATION, json!({"subject": {"type": "robot", "id": "u"}, "resource": {"type": "technology_asset"}, "context": 5}))
        .await;
    assert_invalid(&r, &["action", "context", "resource.id", "subject.type"]);
    // §1 still holds for the body itself.
    assert_problem(
        &api.post_bytes(EVALUATION, "text/plain", b"{}").await,
        415,
        "unsupported-media-type",
    );
    let r = api.post_bytes(EVALUATION, "application/json", b"{").await;
    assert_eq!(r.status, 400, "{}", r.text);
}

#[tokio::test]
async fn a_valid_client_request_id_is_echoed() {
    let api = Api::new().await;
    let (_, a) = api.named_asset("echo").await;
    let send = |rid: &'static str, body: Value| {
        let api = api.clone();
        async move {
            api.call_with(
                "POST",
                EVALUATION,
                &api.token(),
                header_if("x-request-id", Some(rid)),
                Some(body),
            )
            .await
        }
    };
    let r = send("client-req-42", question("p", &a, "read")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-request-id"), Some("client-req-42"));
    let r = send("client-req-43", json!({})).await;
    assert_problem(&r, 400, "validation-error");
    assert_eq!(r.body["request_id"], "client-req-43");
    // Not 1–128 visible ASCII: ignored, our own id answers.
    let long: &'static str = Box::leak("x".repeat(129).into_boxed_str());
    for bad in [long, "has space"] {
        let r = send(bad, question("p", &a, "read")).await;
        assert_eq!(r.status, 200);
        assert_ne!(r.header("x-request-id"), Some(bad));
        assert!(!r.header("x-request-id").unwrap_or_default().is_empty());
    }
    // Other routes keep their own ids (§1).
    let r = api
        .call_with(
            "GET",
            TECH,
            &api.token(),
            header_if("x-request-id", Some("mine")),
            None,
        )
        .await;
    assert_ne!(r.header("x-request-id"), Some("mine"));
    // The metadata route echoes too.
    let r = api
        .call_with(
            "GET",
            METADATA,
            "",
            header_if("x-request-id", Some("meta-1")),
            None,
        )
        .await;
    assert_eq!(r.header("x-request-id"), Some("meta-1"));
}

#[tokio::test]
async fn the_metadata_document_names_every_endpoint_under_public_base_url() {
    let api = Api::new().await;
    let mut headers = http::HeaderMap::new();
    headers.insert("host", "evil.example".parse().unwrap());
    headers.insert("x-forwarded-host", "evil.example".parse().unwrap());
    headers.insert("x-forwarded-proto", "http".parse().unwrap());
    let r = api
        .expect_requests(&[], api.call_with("GET", METADATA, "", headers, None))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.body,
        json!({
            "policy_decision_point": PUBLIC_BASE_URL,
            "access_evaluation_endpoint": format!("{PUBLIC_BASE_URL}{EVALUATION}"),
            "access_evaluations_endpoint": format!("{PUBLIC_BASE_URL}{EVALUATIONS}"),
            "search_subject_endpoint": format!("{PUBLIC_BASE_URL}{SEARCH_SUBJECT}"),
            "search_resource_endpoint": format!("{PUBLIC_BASE_URL}{SEARCH_RESOURCE}"),
            "search_action_endpoint": format!("{PUBLIC_BASE_URL}{SEARCH_ACTION}"),
        })
    );
    // A token changes nothing (the document is public), and POST is not a method of it.
    assert_eq!(api.get(METADATA).await.body, r.body);
    assert_eq!(api.post(METADATA, json!({})).await.status, 405);
}
