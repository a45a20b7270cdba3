//! What every route shares at the HTTP edge: authentication (the `Authorization` header and the token), request bodies (content types, empty, malformed, oversized) and the 503 of an unreachable store.

use super::common::*;
use http::{HeaderMap, HeaderValue};
use serde_json::{json, Value};

const BASE: &str = "/api/v1/technology";

fn url(id: &str) -> String {
    format!("{BASE}/{id}")
}

fn assert_401(r: &Response) {
    assert_problem(r, 401, "unauthorized");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"), "{}", r.text);
}

/// Unpadded base64url (RFC 4648 §5), enough to forge an unsigned token.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

// ------------------------------------------------------------------------------------------
// Authentication
// ------------------------------------------------------------------------------------------

/// Asserts `asset` is unchanged and still the tenant's only asset.
async fn assert_only_asset(api: &Api, asset: &Value) {
    assert_asset_unchanged(api, asset).await;
    assert_eq!(
        api.get(BASE).await.body["items"].as_array().unwrap().len(),
        1
    );
}

#[tokio::test]
async fn missing_authorization_is_401_with_a_challenge_on_every_route() {
    let api = Api::new().await;
    let (asset, id) = api.named_asset("guarded").await;
    let cases = [
        ("GET", BASE.to_string(), None),
        ("POST", BASE.to_string(), Some(json!({"name": "sneaky"}))),
        ("GET", url(&id), None),
        ("PATCH", url(&id), Some(json!({"description": "x"}))),
        ("DELETE", url(&id), None),
    ];
    for (method, uri, body) in cases {
        let r = with_authorization(&api, method, &uri, None, body).await;
        assert_401(&r);
        assert!(r.body.get("errors").is_none());
    }
    assert_asset_unchanged(&api, &asset).await;
    let list = api.get(BASE).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn malformed_authorization_is_401() {
    let api = Api::new().await;
    let good = api.token();
    let (h, p, _) = {
        let mut parts = good.split('.');
        (
            parts.next().unwrap().to_string(),
            parts.next().unwrap().to_string(),
            parts.next().unwrap().to_string(),
        )
    };
    let cases = vec![
        "".to_string(),
        "Bearer".to_string(),
        "Bearer ".to_string(),
        "Basic dXNlcjpwYXNz".to_string(),
        format!("Token {good}"),
        "Bearer not-a-jwt".to_string(),
        "Bearer a.b".to_string(),
        "Bearer a.b.c".to_string(),
        format!("Bearer {h}.{p}"),
        format!("Bearer {h}.{p}."),
        format!("Bearer {good} extra"),
        format!("Bearer {good}x"),
    ];
    for auth in cases {
        let r = with_authorization(&api, "GET", BASE, Some(&auth), None).await;
        assert_401(&r);
    }
    // Two Authorization headers, even both good.
    let mut headers = HeaderMap::new();
    headers.append(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {good}")).unwrap(),
    );
    headers.append(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {good}")).unwrap(),
    );
    let r = api.raw("GET", BASE, "", headers, Vec::new()).await;
    assert_401(&r);
    // The scheme is case-insensitive.
    let r = with_authorization(&api, "GET", BASE, Some(&format!("bearer {good}")), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn expired_token_is_401_but_small_skew_is_forgiven() {
    let api = Api::new().await;
    let mut opts = api.mint_options();
    opts.ttl_seconds = -3600;
    let expired = mint_with(&opts);
    let r = api.get_as(BASE, &expired).await;
    assert_401(&r);
    assert!(r.body["detail"].as_str().unwrap().contains("expired"));
    let r = api.post_as(BASE, &expired, json!({"name": "late"})).await;
    assert_401(&r);

    // Within the ≤ 60 s leeway.
    opts.ttl_seconds = -20;
    let r = api.get_as(BASE, &mint_with(&opts)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let list = api.get(BASE).await;
    assert_eq!(list.body["items"], json!([]));
}

#[tokio::test]
async fn wrong_issuer_audience_or_secret_is_401() {
    let api = Api::new().await;
    let (asset, id) = api.named_asset("keyed").await;

    let mut tokens = Vec::new();
    let mut o = api.mint_options();
    o.issuer = "https://evil.example/";
    tokens.push(mint_with(&o));
    let mut o = api.mint_options();
    o.audience = "another-api";
    tokens.push(mint_with(&o));
    let mut o = api.mint_options();
    o.secret = "another-secret-that-is-long-enough-0123456789";
    tokens.push(mint_with(&o));

    for token in &tokens {
        assert_401(&api.get_as(&url(&id), token).await);
        assert_401(&api.get_as(BASE, token).await);
        assert_401(&api.patch_as(&url(&id), token, json!({"vendor": "x"})).await);
        assert_401(&api.delete_as(&url(&id), token).await);
        assert_401(&api.post_as(BASE, token, json!({"name": "forged"})).await);
    }
    assert_only_asset(&api, &asset).await;
}

#[tokio::test]
async fn tokens_missing_claims_not_yet_valid_or_unsigned_are_401() {
    let api = Api::new().await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let base = json!({
        "iss": shared::config::DEV_ISSUER,
        "aud": shared::config::DEV_AUDIENCE,
        "sub": "user-1",
        "tenant_id": api.tenant,
        "scope": "technology:read technology:write",
        "iat": now,
        "exp": now + 600,
    });
    // The base itself is good.
    let r = api.get_as(BASE, &sign_claims(&base)).await;
    assert_eq!(r.status, 200, "{}", r.text);

    for missing in ["sub", "tenant_id", "exp", "iss", "aud"] {
        let mut c = base.clone();
        c.as_object_mut().unwrap().remove(missing);
        let r = api.get_as(BASE, &sign_claims(&c)).await;
        assert_401(&r);
    }
    let mut c = base.clone();
    c["nbf"] = json!(now + 3600);
    assert_401(&api.get_as(BASE, &sign_claims(&c)).await);

    // alg "none": header {"alg":"none"}, no signature.
    let b64 = |v: &Value| base64url(&serde_json::to_vec(v).unwrap());
    let unsigned = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&base)
    );
    assert_401(&api.get_as(BASE, &unsigned).await);
}

// ------------------------------------------------------------------------------------------
// Bodies
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn content_types() {
    let api = Api::new().await;
    let body = br#"{"name": "typed"}"#;
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/merge-patch+json"),
        Some("application/json-patch+json"),
        Some("application/jsonx"),
    ] {
        let r = send_bytes(&api, "POST", BASE, ct, body).await;
        assert_problem(&r, 415, "unsupported-media-type");
    }
    assert_eq!(api.get(BASE).await.body["items"], json!([]));

    let r = api
        .post_bytes(BASE, "Application/JSON; charset=utf-8", body)
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let asset = r.body;
    let id = id_of(&asset);

    let patch = br#"{"vendor": "acme"}"#;
    for ct in [
        None,
        Some("text/plain"),
        Some("application/json-patch+json"),
    ] {
        let r = send_bytes(&api, "PATCH", &url(&id), ct, patch).await;
        assert_problem(&r, 415, "unsupported-media-type");
    }
    assert_asset_unchanged(&api, &asset).await;

    let r = send_bytes(
        &api,
        "PATCH",
        &url(&id),
        Some("application/merge-patch+json"),
        patch,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["vendor"], "acme");
    let r = send_bytes(
        &api,
        "PATCH",
        &url(&id),
        Some("application/merge-patch+json; charset=utf-8"),
        br#"{"vendor": "acme2"}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["revision"], 3);
}

#[tokio::test]
async fn empty_bodies_are_400() {
    let api = Api::new().await;
    for ct in [Some("application/json"), None] {
        let r = send_bytes(&api, "POST", BASE, ct, b"").await;
        assert_problem(&r, 400, "bad-request");
    }
    assert_eq!(api.get(BASE).await.body["items"], json!([]));

    let (asset, id) = api.named_asset("bodiless").await;
    for ct in [
        Some("application/json"),
        Some("application/merge-patch+json"),
        None,
    ] {
        let r = send_bytes(&api, "PATCH", &url(&id), ct, b"").await;
        assert_problem(&r, 400, "bad-request");
    }
    assert_asset_unchanged(&api, &asset).await;
}

/// POSTs `body` as JSON to the collection and PATCHes it onto the asset `id`: both must answer
/// the problem `status` `slug`. The POST's answer.
async fn assert_json_refused(
    api: &Api,
    id: &str,
    body: &[u8],
    status: u16,
    slug: &str,
) -> Response {
    let r = api.post_bytes(BASE, "application/json", body).await;
    assert_problem(&r, status, slug);
    let patched = send_bytes(api, "PATCH", &url(id), Some("application/json"), body).await;
    assert_problem(&patched, status, slug);
    r
}

#[tokio::test]
async fn malformed_json_is_400() {
    let api = Api::new().await;
    let (asset, id) = api.named_asset("parsed").await;
    let deep = format!(
        "{{\"name\":\"deep\",\"x\":{}{}}}",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let bodies: Vec<Vec<u8>> = vec![
        b"{".to_vec(),
        b"{\"name\": \"x\",}".to_vec(),
        b"   ".to_vec(),
        b"[]".to_vec(),
        br#"[{"name": "in-array"}]"#.to_vec(),
        b"null".to_vec(),
        b"\"name\"".to_vec(),
        b"42".to_vec(),
        b"true".to_vec(),
        vec![0xff, 0xfe, 0x7b, 0x7d],
        deep.into_bytes(),
    ];
    for body in &bodies {
        let r = assert_json_refused(&api, &id, body, 400, "bad-request").await;
        assert!(r.body.get("errors").is_none(), "{}", r.text);
    }
    assert_only_asset(&api, &asset).await;
}

#[tokio::test]
async fn bodies_over_256_kib_are_413() {
    let api = Api::new().await;
    let (asset, id) = api.named_asset("bounded").await;
    // A valid JSON object one byte over the limit.
    let prefix = br#"{"description":""#;
    let suffix = br#""}"#;
    let fill = 256 * 1024 + 1 - prefix.len() - suffix.len();
    let mut big = prefix.to_vec();
    big.extend(std::iter::repeat_n(b'x', fill));
    big.extend_from_slice(suffix);
    assert_eq!(big.len(), 256 * 1024 + 1);
    assert_json_refused(&api, &id, &big, 413, "payload-too-large").await;
    assert_only_asset(&api, &asset).await;

    // Exactly 256 KiB is read (and then refused field by field, not by size).
    let fill = 256 * 1024 - prefix.len() - suffix.len();
    let mut limit = prefix.to_vec();
    limit.extend(std::iter::repeat_n(b'x', fill));
    limit.extend_from_slice(suffix);
    let r = send_bytes(&api, "PATCH", &url(&id), Some("application/json"), &limit).await;
    assert_invalid(&r, &["description"]);
    assert_asset_unchanged(&api, &asset).await;
}

#[tokio::test]
async fn unreachable_store_is_503() {
    let api = Api::unreachable().await;
    let r = api
        .get("/api/v1/technology/ast_01JD3Q9Z8X4K2M7N5P6R8S0T1V")
        .await;
    assert_problem(&r, 503, "service-unavailable");
    assert_eq!(r.header("retry-after"), Some("1"));
}

#[tokio::test]
async fn bodies_need_json() {
    let api = Api::new().await;
    const BASE: &str = ATTRS;
    let r = api
        .post_bytes(
            BASE,
            "text/plain",
            br#"{"key":"k","name":"n","type":"custom"}"#,
        )
        .await;
    assert_problem(&r, 415, "unsupported-media-type");
    let r = api.post_bytes(BASE, "application/json", b"{not json").await;
    assert_problem(&r, 400, "bad-request");
}
