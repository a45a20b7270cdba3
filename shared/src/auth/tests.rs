//! Unit tests of `auth`, compiled only under #[cfg(test)] (declared in auth/mod.rs).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http::{HeaderMap, HeaderValue};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{json, Value};

use super::*;

const ISS: &str = "https://issuer.test/";
const AUD: &str = "technology-api";
const SECRET: &str = "test-only-secret-0123456789abcdef0123";

/// A file of `shared/tests/fixtures/`, compiled in.
macro_rules! fixture {
    ($file:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/",
            $file
        ))
    };
}

const RSA_PRIVATE: &str = fixture!("rsa_private.pem");
const RSA_PUBLIC_PEM: &str = fixture!("rsa_public.pem");
const RSA_JWK: &str = fixture!("rsa_public.jwk.json");
const EC_PRIVATE: &str = fixture!("ec_private.pem");
const EC_JWK: &str = fixture!("ec_public.jwk.json");

// ---------------------------------------------------------------- helpers

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn claims() -> Value {
    json!({
        "iss": ISS,
        "aud": AUD,
        "sub": "person-1",
        "tenant_id": "tenant-a",
        "scope": "technology:read entitlements:write",
        "iat": now(),
        "exp": now() + 300,
    })
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().unwrap().remove(key);
    claims
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

/// Signs exactly the header given, so tests can send headers the crate's `Header` cannot express.
fn sign(header: Value, claims: &Value, alg: Algorithm, key: &EncodingKey) -> String {
    let message = format!("{}.{}", b64(&header), b64(claims));
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, alg).unwrap();
    format!("{message}.{signature}")
}

fn hs_key() -> EncodingKey {
    EncodingKey::from_secret(SECRET.as_bytes())
}

fn rsa_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(RSA_PRIVATE.as_bytes()).unwrap()
}

fn ec_key() -> EncodingKey {
    EncodingKey::from_ec_pem(EC_PRIVATE.as_bytes()).unwrap()
}

/// Signs `claims` with this suite's key for `alg`, under a JWT header naming `alg` and, if
/// given, `kid`.
fn signed(alg: Algorithm, kid: Option<&str>, claims: &Value) -> String {
    let (name, key) = match alg {
        Algorithm::HS256 => ("HS256", hs_key()),
        Algorithm::RS256 => ("RS256", rsa_key()),
        Algorithm::ES256 => ("ES256", ec_key()),
        other => panic!("no test key for {other:?}"),
    };
    let mut header = json!({"alg": name, "typ": "JWT"});
    if let Some(kid) = kid {
        header["kid"] = json!(kid);
    }
    sign(header, claims, alg, &key)
}

fn hs(claims: &Value) -> String {
    signed(Algorithm::HS256, None, claims)
}

fn rs(kid: &str, claims: &Value) -> String {
    signed(Algorithm::RS256, Some(kid), claims)
}

fn es(kid: &str, claims: &Value) -> String {
    signed(Algorithm::ES256, Some(kid), claims)
}

/// The standard claims under the header `{"alg": alg, "kid": kid}`, whatever it claims, signed
/// by `signer` with `key`.
fn signed_under(alg: &str, kid: &str, signer: Algorithm, key: &EncodingKey) -> String {
    sign(json!({"alg": alg, "kid": kid}), &claims(), signer, key)
}

/// The standard claims under `header`, with a signature that is no signature (`c2ln`): what
/// an algorithm check must refuse before any key is tried.
fn forge(header: Value) -> String {
    format!("{}.{}.c2ln", b64(&header), b64(&claims()))
}

fn jwk(fixture: &str, extra: Value) -> Value {
    let mut key: Value = serde_json::from_str(fixture).unwrap();
    for (k, v) in extra.as_object().unwrap() {
        key[k] = v.clone();
    }
    key
}

fn rsa_jwk(kid: &str) -> Value {
    jwk(RSA_JWK, json!({"kid": kid, "use": "sig", "alg": "RS256"}))
}

fn ec_jwk(kid: &str) -> Value {
    jwk(EC_JWK, json!({"kid": kid, "use": "sig"}))
}

fn jwks(keys: &[Value]) -> String {
    json!({ "keys": keys }).to_string()
}

fn config(secret: Option<&str>, jwks_url: Option<&str>) -> AuthConfig {
    AuthConfig {
        hs256_secret: secret.map(str::to_owned),
        jwks_url: jwks_url.map(str::to_owned),
        issuer: ISS.into(),
        audience: AUD.into(),
    }
}

fn secret_verifier() -> Verifier {
    Verifier::new(&config(Some(SECRET), None)).unwrap()
}

fn jwks_verifier(server: &JwksServer) -> Verifier {
    Verifier::new(&config(None, Some(&server.url))).unwrap()
}

fn assert_401(result: Result<Caller, ApiError>, reason: &str) {
    match result {
        Err(ApiError::Unauthorized(got)) => assert_eq!(got, reason),
        other => panic!("expected 401 {reason:?}, got {other:?}"),
    }
}

/// The HS256 token of `claims` is refused with 401 `reason`.
async fn assert_hs_refused(v: &Verifier, claims: Value, reason: &str) {
    assert_401(v.verify(&hs(&claims)).await, reason);
}

/// The default claims without `key` are refused as missing it, and with `key` set to each of
/// `bad` with 401 `reason`.
async fn assert_claim_checked(v: &Verifier, key: &str, bad: &[Value], reason: &str) {
    let missing = format!("missing claim {key}");
    assert_hs_refused(v, without(claims(), key), &missing).await;
    for value in bad {
        assert_hs_refused(v, with(claims(), key, value.clone()), reason).await;
    }
}

/// The HS256 token of `claims` is accepted.
async fn assert_hs_ok(v: &Verifier, claims: Value) {
    assert!(v.verify(&hs(&claims)).await.is_ok(), "{claims}");
}

fn bearer(value: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::AUTHORIZATION,
        HeaderValue::from_str(value).unwrap(),
    );
    headers
}

/// Moves the verifier's JWKS clock back, instead of sleeping through the rate limit or TTL.
async fn age_jwks(verifier: &Verifier, attempted_by: Duration, fetched_by: Duration) {
    let mut cache = verifier.jwks.as_ref().unwrap().cache.write().await;
    let back = |at: Option<Instant>, by| at.map(|at: Instant| at.checked_sub(by).unwrap());
    cache.attempted_at = back(cache.attempted_at, attempted_by);
    cache.fetched_at = back(cache.fetched_at, fetched_by);
}

#[derive(Clone)]
struct Canned {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
    content_length: bool,
}

impl Canned {
    fn ok(body: String) -> Self {
        Canned {
            status: 200,
            headers: vec![],
            body,
            content_length: true,
        }
    }
}

/// A one-response-per-connection HTTP/1.1 server on 127.0.0.1 that counts requests. Plain std
/// threads: it needs no runtime and no tokio features.
struct JwksServer {
    url: String,
    hits: Arc<AtomicUsize>,
    canned: Arc<StdMutex<Canned>>,
}

impl JwksServer {
    fn start(canned: Canned) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://127.0.0.1:{}/.well-known/jwks.json",
            listener.local_addr().unwrap().port()
        );
        let hits = Arc::new(AtomicUsize::new(0));
        let canned = Arc::new(StdMutex::new(canned));
        let (thread_hits, thread_canned) = (Arc::clone(&hits), Arc::clone(&canned));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                thread_hits.fetch_add(1, Ordering::SeqCst);
                let canned = thread_canned.lock().unwrap().clone();
                let mut head = format!(
                    "HTTP/1.1 {} Canned\r\nContent-Type: application/json\r\nConnection: close\r\n",
                    canned.status
                );
                if canned.content_length {
                    head.push_str(&format!("Content-Length: {}\r\n", canned.body.len()));
                }
                for (name, value) in &canned.headers {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                head.push_str("\r\n");
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(canned.body.as_bytes());
                let _ = stream.flush();
            }
        });
        JwksServer { url, hits, canned }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn respond(&self, canned: Canned) {
        *self.canned.lock().unwrap() = canned;
    }
}

// ---------------------------------------------------------------- scopes and callers

#[test]
fn scope_names_are_the_documented_ones() {
    let names: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(
        names,
        [
            "technology:read",
            "technology:write",
            "entitlements:read",
            "entitlements:write",
            "access-requests:read",
            "access-requests:write",
            "access-requests:approve",
            "access-requests:provision",
            "metadata:read",
            "metadata:write",
            "audit:read",
            "access-requests:approve-any",
            "access:evaluate",
        ]
    );
    assert_eq!(Scope::MetadataWrite.to_string(), "metadata:write");
}

#[test]
fn groups_claim_is_an_optional_bounded_array_of_group_ids() {
    let caller =
        |groups: Value| caller_from_claims(with(claims(), "groups", groups).as_object().unwrap());
    // Absent and null: no groups (most tokens carry none).
    let none = caller_from_claims(claims().as_object().unwrap()).unwrap();
    assert!(none.groups.is_empty());
    assert!(caller(Value::Null).unwrap().groups.is_empty());
    assert!(caller(json!([])).unwrap().groups.is_empty());
    assert_eq!(
        caller(json!(["grp-a", "grp-b"])).unwrap().groups,
        ["grp-a", "grp-b"]
    );
    let longest = "g".repeat(MAX_GROUP_CHARS);
    assert_eq!(caller(json!([&longest])).unwrap().groups, vec![longest]);
    let most: Vec<String> = (0..MAX_GROUPS).map(|i| format!("g{i}")).collect();
    assert_eq!(caller(json!(most)).unwrap().groups.len(), MAX_GROUPS);
}

#[test]
fn a_malformed_groups_claim_is_401() {
    let caller =
        |groups: Value| caller_from_claims(with(claims(), "groups", groups).as_object().unwrap());
    let too_many: Vec<String> = (0..=MAX_GROUPS).map(|i| format!("g{i}")).collect();
    for bad in [
        json!("grp-a"),
        json!("grp-a grp-b"),
        json!(42),
        json!(true),
        json!({"grp-a": true}),
        json!([42]),
        json!(["grp-a", null]),
        json!([["grp-a"]]),
        json!([{"id": "grp-a"}]),
        json!([""]),
        json!(["g".repeat(MAX_GROUP_CHARS + 1)]),
        json!(too_many),
    ] {
        assert_401(caller(bad.clone()), "invalid claim groups");
    }
}

#[tokio::test]
async fn a_verified_token_carries_its_groups() {
    let v = secret_verifier();
    let caller = v
        .verify(&hs(&with(claims(), "groups", json!(["grp-ops"]))))
        .await
        .unwrap();
    assert_eq!(caller.groups, ["grp-ops"]);
    assert_hs_refused(
        &v,
        with(claims(), "groups", json!("grp-ops")),
        "invalid claim groups",
    )
    .await;
}

#[test]
fn require_is_forbidden_for_a_missing_scope() {
    let caller = Caller {
        tenant_id: "t".into(),
        sub: "s".into(),
        app_id: None,
        scopes: ["technology:read".to_owned()].into(),
        groups: Vec::new(),
        request_id: "r".into(),
    };
    assert!(caller.require(Scope::TechnologyRead).is_ok());
    match caller.require(Scope::TechnologyWrite) {
        Err(ApiError::Forbidden(reason)) => assert_eq!(reason, "missing scope technology:write"),
        other => panic!("expected 403, got {other:?}"),
    }
    assert_eq!(
        caller.require(Scope::TechnologyWrite).unwrap_err().status(),
        403
    );
}

#[test]
fn verifier_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Verifier>();
}

#[test]
fn debug_output_hides_the_secret() {
    let text = format!("{:?}", secret_verifier());
    assert!(!text.contains(SECRET));
    assert!(text.contains("[redacted]"));
}

// ---------------------------------------------------------------- configuration

#[test]
fn new_rejects_bad_configuration() {
    let invalid = |cfg: AuthConfig| match Verifier::new(&cfg) {
        Err(ConfigError::Invalid(reason)) => reason,
        Ok(_) => panic!("expected a configuration error"),
    };
    assert!(invalid(config(None, None)).contains("JWT_HS256_SECRET and/or JWT_JWKS_URL"));
    assert!(invalid(config(Some("31-bytes-is-one-too-few-0123456"), None)).contains("32 bytes"));
    for url in [
        "http://idp.example.com/jwks.json",
        "http://10.0.0.1/jwks.json",
        "http://[::1]/jwks.json",
        "ftp://localhost/jwks.json",
        "not a url",
        "https://user:pw@idp.example.com/jwks.json",
    ] {
        assert!(
            invalid(config(None, Some(url))).starts_with("JWT_JWKS_URL"),
            "{url}"
        );
    }
    let mut cfg = config(Some(SECRET), None);
    cfg.audience = " ".into();
    assert!(invalid(cfg).contains("JWT_AUDIENCE"));
    let mut cfg = config(Some(SECRET), None);
    cfg.issuer = String::new();
    assert!(invalid(cfg).contains("JWT_ISSUER"));
}

#[test]
fn new_accepts_good_configuration() {
    assert!(Verifier::new(&config(Some(&"x".repeat(32)), None)).is_ok());
    for url in [
        "https://idp.example.com/.well-known/jwks.json",
        "http://127.0.0.1:8080/jwks.json",
        "http://localhost:8080/jwks.json",
    ] {
        assert!(Verifier::new(&config(None, Some(url))).is_ok(), "{url}");
        assert!(
            Verifier::new(&config(Some(SECRET), Some(url))).is_ok(),
            "{url}"
        );
    }
}

// ---------------------------------------------------------------- HS256 and the header

#[tokio::test]
async fn valid_hs256_token_gives_the_caller() {
    let spec = TokenSpec {
        sub: "person-7".into(),
        tenant_id: "tenant-a".into(),
        app_id: Some("app.crm".into()),
        scopes: vec!["technology:read".into(), "metadata:write".into()],
        ttl_seconds: 300,
    };
    let token = mint_hs256(SECRET, ISS, AUD, &spec).unwrap();
    let caller = secret_verifier()
        .authenticate(&bearer(&format!("Bearer {token}")))
        .await
        .unwrap();
    assert_eq!(caller.sub, "person-7");
    assert_eq!(caller.tenant_id, "tenant-a");
    assert_eq!(caller.app_id.as_deref(), Some("app.crm"));
    assert_eq!(
        caller.scopes,
        ["metadata:write".to_owned(), "technology:read".to_owned()].into()
    );
    assert!(caller.has(Scope::TechnologyRead));
    assert!(caller.has(Scope::MetadataWrite));
    assert!(!caller.has(Scope::TechnologyWrite));
}

#[tokio::test]
async fn person_token_without_scope_or_app_id() {
    let token = hs(&without(without(claims(), "scope"), "app_id"));
    let caller = secret_verifier().verify(&token).await.unwrap();
    assert_eq!(caller.app_id, None);
    assert!(caller.scopes.is_empty());
}

#[tokio::test]
async fn scopes_are_split_on_spaces_and_matched_exactly() {
    let token = hs(&with(
        claims(),
        "scope",
        json!("  technology:read   technology:write:extra technology "),
    ));
    let caller = secret_verifier().verify(&token).await.unwrap();
    assert_eq!(
        caller.scopes,
        [
            "technology".to_owned(),
            "technology:read".to_owned(),
            "technology:write:extra".to_owned()
        ]
        .into()
    );
    assert!(!caller.has(Scope::TechnologyWrite));
    assert_401(
        secret_verifier()
            .verify(&hs(&with(claims(), "scope", json!(["technology:read"]))))
            .await,
        "invalid claim scope",
    );
}

#[tokio::test]
async fn missing_authorization_header() {
    assert_401(
        secret_verifier().authenticate(&HeaderMap::new()).await,
        "missing bearer token",
    );
}

#[tokio::test]
async fn malformed_authorization_headers() {
    let v = secret_verifier();
    let token = hs(&claims());
    for (value, reason) in [
        ("", MALFORMED_HEADER),
        ("Bearer", MALFORMED_HEADER),
        ("Bearer    ", MALFORMED_HEADER),
        ("garbage", MALFORMED_HEADER),
        ("Bearer a b", MALFORMED_HEADER),
        ("Basic dXNlcjpwYXNz", "authorization scheme must be Bearer"),
        (
            &format!("Token {token}"),
            "authorization scheme must be Bearer",
        ),
        ("Bearer garbage", MALFORMED_TOKEN),
        ("Bearer a.b.c", MALFORMED_TOKEN),
        ("Bearer ....", MALFORMED_TOKEN),
    ] {
        assert_401(v.authenticate(&bearer(value)).await, reason);
    }
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::AUTHORIZATION,
        HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap(),
    );
    assert_401(v.authenticate(&headers).await, MALFORMED_HEADER);

    let mut twice = bearer(&format!("Bearer {token}"));
    twice.append(
        http::header::AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    assert_401(
        v.authenticate(&twice).await,
        "more than one Authorization header",
    );
}

#[tokio::test]
async fn bearer_scheme_is_case_insensitive() {
    let v = secret_verifier();
    let token = hs(&claims());
    for scheme in ["bearer", "BEARER", "bEaReR"] {
        let caller = v
            .authenticate(&bearer(&format!("{scheme} {token}")))
            .await
            .unwrap();
        assert_eq!(caller.sub, "person-1");
    }
}

#[tokio::test]
async fn alg_none_is_refused() {
    let v = secret_verifier();
    let message = format!(
        "{}.{}",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims())
    );
    // Unsigned as the spec writes it, and with a signature tacked on to get past the shape check.
    assert_401(v.verify(&format!("{message}.")).await, MALFORMED_TOKEN);
    assert_401(v.verify(&format!("{message}.c2ln")).await, ALG_NOT_ALLOWED);
    for alg in ["None", "NONE", "HS384", "HS512", "RS256"] {
        let forged = forge(json!({"alg": alg, "typ": "JWT"}));
        assert_401(v.verify(&forged).await, ALG_NOT_ALLOWED);
    }
    // A header without `alg` is not a JWS at all.
    let forged = forge(json!({"typ": "JWT"}));
    assert_401(v.verify(&forged).await, MALFORMED_TOKEN);
}

#[tokio::test]
async fn bad_signature() {
    let v = secret_verifier();
    let other = EncodingKey::from_secret(b"another-secret-0123456789abcdef-0123");
    let forged = sign(
        json!({"alg": "HS256", "typ": "JWT"}),
        &claims(),
        Algorithm::HS256,
        &other,
    );
    assert_401(v.verify(&forged).await, "invalid signature");

    // A valid signature over different claims.
    let good = hs(&claims());
    let evil = hs(&with(claims(), "tenant_id", json!("tenant-b")));
    let spliced = format!(
        "{}.{}",
        evil.rsplit_once('.').unwrap().0,
        good.rsplit_once('.').unwrap().1
    );
    assert_401(v.verify(&spliced).await, "invalid signature");
}

#[tokio::test]
async fn expired_token_and_leeway() {
    let v = secret_verifier();
    assert_hs_refused(
        &v,
        with(claims(), "exp", json!(now() - 120)),
        "token expired",
    )
    .await;
    // Within the 60 s leeway.
    assert_hs_ok(&v, with(claims(), "exp", json!(now() - 30))).await;
    let spec = TokenSpec {
        sub: "p".into(),
        tenant_id: "t".into(),
        app_id: None,
        scopes: vec![],
        ttl_seconds: -3600,
    };
    assert_401(
        v.verify(&mint_hs256(SECRET, ISS, AUD, &spec).unwrap())
            .await,
        "token expired",
    );
}

#[tokio::test]
async fn nbf_in_the_future() {
    let v = secret_verifier();
    assert_hs_refused(
        &v,
        with(claims(), "nbf", json!(now() + 300)),
        "token not yet valid",
    )
    .await;
    assert_hs_ok(&v, with(claims(), "nbf", json!(now() + 30))).await;
    assert_hs_ok(&v, with(claims(), "nbf", json!(now() - 30))).await;
}

#[tokio::test]
async fn wrong_issuer() {
    let v = secret_verifier();
    // The crate accepts an array containing the issuer; `iss` is a single string.
    let bad = [
        json!("https://evil.test/"),
        json!([ISS, "https://evil.test/"]),
    ];
    assert_claim_checked(&v, "iss", &bad, "invalid issuer").await;
}

#[tokio::test]
async fn wrong_audience() {
    let v = secret_verifier();
    let bad = [json!("other-api"), json!(["other-api"])];
    assert_claim_checked(&v, "aud", &bad, "invalid audience").await;
    // An audience list naming us is fine (RFC 7519 §4.1.3).
    assert_hs_ok(&v, with(claims(), "aud", json!(["other-api", AUD]))).await;
}

#[tokio::test]
async fn missing_sub() {
    let v = secret_verifier();
    let bad = [json!(""), json!("x".repeat(257))];
    assert_claim_checked(&v, "sub", &bad, "invalid claim sub").await;
    assert_hs_ok(&v, with(claims(), "sub", json!("é".repeat(256)))).await;
}

#[tokio::test]
async fn missing_tenant_id() {
    let v = secret_verifier();
    assert_claim_checked(&v, "tenant_id", &[Value::Null], "missing claim tenant_id").await;
}

#[tokio::test]
async fn missing_exp() {
    assert_401(
        secret_verifier()
            .verify(&hs(&without(claims(), "exp")))
            .await,
        "missing claim exp",
    );
}

#[tokio::test]
async fn exp_or_nbf_as_a_string() {
    let v = secret_verifier();
    let later = (now() + 300).to_string();
    // The crate reports an unparseable required `exp` as missing; either way it is refused.
    assert_hs_refused(&v, with(claims(), "exp", json!(later)), "missing claim exp").await;
    assert_hs_refused(
        &v,
        with(claims(), "nbf", json!((now() - 10).to_string())),
        "invalid claim nbf",
    )
    .await;
    assert_hs_refused(&v, with(claims(), "exp", json!(-1)), "missing claim exp").await;
}

#[test]
fn claims_check_refuses_non_numeric_times_itself() {
    // Our own check, independent of the crate's (which has skipped string times before).
    let caller = |c: Value| caller_from_claims(c.as_object().unwrap());
    assert_401(
        caller(with(claims(), "exp", json!("9999999999"))),
        "invalid claim exp",
    );
    assert_401(caller(without(claims(), "exp")), "missing claim exp");
    assert_401(
        caller(with(claims(), "nbf", json!("0"))),
        "invalid claim nbf",
    );
    assert!(caller(claims()).is_ok());
}

#[tokio::test]
async fn crit_header_is_refused() {
    let v = secret_verifier();
    for crit in [json!(["exp"]), json!([]), json!("exp")] {
        let token = sign(
            json!({"alg": "HS256", "typ": "JWT", "crit": crit}),
            &claims(),
            Algorithm::HS256,
            &hs_key(),
        );
        assert_401(v.verify(&token).await, "unsupported critical token header");
    }
}

#[tokio::test]
async fn unusual_ids_are_refused() {
    let v = secret_verifier();
    for bad in [
        "tenant#a",
        "T#tenant-a#AST",
        "-tenant",
        "",
        "tenant a",
        "ténant",
        &"t".repeat(129),
    ] {
        assert_hs_refused(
            &v,
            with(claims(), "tenant_id", json!(bad)),
            "invalid claim tenant_id",
        )
        .await;
        assert_hs_refused(
            &v,
            with(claims(), "app_id", json!(bad)),
            "invalid claim app_id",
        )
        .await;
    }
    assert_hs_refused(
        &v,
        with(claims(), "tenant_id", json!(42)),
        "invalid claim tenant_id",
    )
    .await;
    for good in ["a", "Tenant_1.eu:prod@corp-x", &"t".repeat(128)] {
        let caller = v
            .verify(&hs(&with(
                with(claims(), "tenant_id", json!(good)),
                "app_id",
                json!(good),
            )))
            .await
            .unwrap();
        assert_eq!(caller.tenant_id, good);
        assert_eq!(caller.app_id.as_deref(), Some(good));
    }
}

#[tokio::test]
async fn oversized_token_is_refused_unread() {
    let token = hs(&with(claims(), "pad", json!("x".repeat(20_000))));
    assert_401(secret_verifier().verify(&token).await, MALFORMED_TOKEN);
}

#[test]
fn mint_rejects_a_short_secret() {
    let spec = TokenSpec {
        sub: "p".into(),
        tenant_id: "t".into(),
        app_id: None,
        scopes: vec![],
        ttl_seconds: 60,
    };
    assert!(matches!(
        mint_hs256("short", ISS, AUD, &spec),
        Err(ConfigError::Invalid(_))
    ));
    assert!(matches!(
        mint_hs256(
            SECRET,
            ISS,
            AUD,
            &TokenSpec {
                ttl_seconds: i64::MAX,
                ..spec
            }
        ),
        Err(ConfigError::Invalid(_))
    ));
}

// ---------------------------------------------------------------- JWKS

#[tokio::test]
async fn rs256_valid_via_jwks() {
    let server = JwksServer::start(Canned::ok(jwks(&[rsa_jwk("rsa-1"), ec_jwk("ec-1")])));
    let v = jwks_verifier(&server);
    assert_eq!(server.hits(), 0, "the JWKS is fetched lazily");
    let caller = v.verify(&rs("rsa-1", &claims())).await.unwrap();
    assert_eq!(caller.sub, "person-1");
    assert_eq!(caller.tenant_id, "tenant-a");
    assert!(caller.has(Scope::EntitlementsWrite));
    v.verify(&rs("rsa-1", &claims())).await.unwrap();
    assert_eq!(server.hits(), 1, "the second token uses the cached set");
}

#[tokio::test]
async fn es256_valid_via_jwks() {
    let server = JwksServer::start(Canned::ok(jwks(&[ec_jwk("ec-1")])));
    let v = jwks_verifier(&server);
    let caller = v.verify(&es("ec-1", &claims())).await.unwrap();
    assert_eq!(caller.tenant_id, "tenant-a");
    assert_eq!(server.hits(), 1);
    // An ES256 JWK may also say so.
    let server = JwksServer::start(Canned::ok(jwks(&[jwk(
        EC_JWK,
        json!({"kid": "ec-2", "alg": "ES256"}),
    )])));
    let verified = jwks_verifier(&server).verify(&es("ec-2", &claims())).await;
    assert!(verified.is_ok(), "{verified:?}");
}

#[tokio::test]
async fn jwks_tokens_get_the_same_claim_checks() {
    let server = JwksServer::start(Canned::ok(jwks(&[rsa_jwk("rsa-1")])));
    let v = jwks_verifier(&server);
    assert_401(
        v.verify(&rs("rsa-1", &with(claims(), "exp", json!(now() - 120))))
            .await,
        "token expired",
    );
    assert_401(
        v.verify(&rs("rsa-1", &with(claims(), "aud", json!("x"))))
            .await,
        "invalid audience",
    );
    assert_401(
        v.verify(&rs("rsa-1", &without(claims(), "tenant_id")))
            .await,
        "missing claim tenant_id",
    );
    // Signed by the EC key but claiming the RSA key's kid.
    let forged = signed_under("RS256", "rsa-1", Algorithm::ES256, &ec_key());
    assert_401(v.verify(&forged).await, "invalid signature");
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn hs256_with_the_rsa_public_key_as_secret_is_refused() {
    let server = JwksServer::start(Canned::ok(jwks(&[rsa_jwk("rsa-1")])));
    let v = jwks_verifier(&server);
    let as_secret = |secret: &[u8]| {
        sign(
            json!({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}),
            &claims(),
            Algorithm::HS256,
            &EncodingKey::from_secret(secret),
        )
    };
    assert_401(
        v.verify(&as_secret(RSA_PUBLIC_PEM.as_bytes())).await,
        ALG_NOT_ALLOWED,
    );
    assert_401(
        v.verify(&as_secret(RSA_JWK.as_bytes())).await,
        ALG_NOT_ALLOWED,
    );
    // Nor may an RSA key be used with another RSA algorithm, nor the EC one.
    for alg in ["RS384", "PS256", "ES256", "none"] {
        let forged = forge(json!({"alg": alg, "kid": "rsa-1"}));
        assert_401(v.verify(&forged).await, ALG_NOT_ALLOWED);
    }
    assert_eq!(server.hits(), 1);
    // Algorithms no key of ours can have are refused before any JWKS fetch.
    let server = JwksServer::start(Canned::ok(jwks(&[rsa_jwk("rsa-1")])));
    let v = jwks_verifier(&server);
    for alg in ["none", "RS512", "PS256", "EdDSA", "HS512"] {
        let forged = forge(json!({"alg": alg, "kid": "rsa-1"}));
        assert_401(v.verify(&forged).await, ALG_NOT_ALLOWED);
    }
    assert_eq!(server.hits(), 0);
    // An RS256 token presented to an EC key.
    let server = JwksServer::start(Canned::ok(jwks(&[ec_jwk("ec-1")])));
    let v = jwks_verifier(&server);
    let forged = signed_under("RS256", "ec-1", Algorithm::RS256, &rsa_key());
    assert_401(v.verify(&forged).await, ALG_NOT_ALLOWED);
}

#[tokio::test]
async fn jwks_only_needs_a_kid() {
    let server = JwksServer::start(Canned::ok(jwks(&[rsa_jwk("rsa-1")])));
    let v = jwks_verifier(&server);
    let no_kid = sign(
        json!({"alg": "RS256"}),
        &claims(),
        Algorithm::RS256,
        &rsa_key(),
    );
    assert_401(v.verify(&no_kid).await, "token has no key id (kid)");
    assert_hs_refused(&v, claims(), "token has no key id (kid)").await;
    let numeric_kid = sign(
        json!({"alg": "RS256", "kid": 1}),
        &claims(),
        Algorithm::RS256,
        &rsa_key(),
    );
    assert_401(v.verify(&numeric_kid).await, MALFORMED_TOKEN);
    assert_eq!(server.hits(), 0);
}

#[tokio::test]
async fn unknown_kid_refetches_at_most_once_per_10s() {
    let server = JwksServer::start(Canned::ok(jwks(&[rsa_jwk("rsa-1")])));
    let v = Arc::new(jwks_verifier(&server));

    assert_401(
        v.verify(&rs("rsa-2", &claims())).await,
        "unknown signing key",
    );
    assert_eq!(server.hits(), 1, "first need fetches");
    assert_401(
        v.verify(&rs("rsa-2", &claims())).await,
        "unknown signing key",
    );
    assert_eq!(server.hits(), 1, "within 10 s: no refetch");
    // Known keys keep working without a fetch.
    v.verify(&rs("rsa-1", &claims())).await.unwrap();
    assert_eq!(server.hits(), 1);

    // The provider rotates in rsa-2; once 10 s have passed one request refetches, and the
    // concurrent ones wait for that fetch instead of starting their own.
    server.respond(Canned::ok(jwks(&[rsa_jwk("rsa-1"), rsa_jwk("rsa-2")])));
    age_jwks(&v, Duration::from_secs(11), Duration::from_secs(11)).await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let v = Arc::clone(&v);
            tokio::spawn(async move { v.verify(&rs("rsa-2", &claims())).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().sub, "person-1");
    }
    assert_eq!(server.hits(), 2);

    // Still unknown: 10 s later one more fetch, and none before.
    age_jwks(&v, Duration::from_secs(5), Duration::ZERO).await;
    assert_401(
        v.verify(&rs("rsa-3", &claims())).await,
        "unknown signing key",
    );
    assert_eq!(server.hits(), 2);
    age_jwks(&v, Duration::from_secs(6), Duration::ZERO).await;
    assert_401(
        v.verify(&rs("rsa-3", &claims())).await,
        "unknown signing key",
    );
    assert_eq!(server.hits(), 3);
}

#[tokio::test]
async fn keys_expire_after_an_hour() {
    let server = JwksServer::start(Canned::ok(jwks(&[rsa_jwk("rsa-1")])));
    let v = jwks_verifier(&server);
    v.verify(&rs("rsa-1", &claims())).await.unwrap();
    age_jwks(&v, Duration::from_secs(3599), Duration::from_secs(3599)).await;
    v.verify(&rs("rsa-1", &claims())).await.unwrap();
    assert_eq!(server.hits(), 1);

    // The provider dropped rsa-1: after the hour it stops working.
    server.respond(Canned::ok(jwks(&[ec_jwk("ec-1")])));
    age_jwks(&v, Duration::from_secs(2), Duration::from_secs(2)).await;
    assert_401(
        v.verify(&rs("rsa-1", &claims())).await,
        "unknown signing key",
    );
    assert_eq!(server.hits(), 2);
    v.verify(&es("ec-1", &claims())).await.unwrap();
}

#[tokio::test]
async fn failed_fetch_keeps_the_cached_keys() {
    let server = JwksServer::start(Canned::ok(jwks(&[rsa_jwk("rsa-1")])));
    let v = jwks_verifier(&server);
    v.verify(&rs("rsa-1", &claims())).await.unwrap();

    for failure in [
        Canned {
            status: 503,
            ..Canned::ok("{}".into())
        },
        Canned::ok("not json".into()),
        Canned::ok(r#"{"keys": "nope"}"#.into()),
    ] {
        server.respond(failure);
        age_jwks(&v, Duration::from_secs(11), Duration::ZERO).await;
        let before = server.hits();
        assert_401(
            v.verify(&rs("rsa-9", &claims())).await,
            "unknown signing key",
        );
        assert_eq!(server.hits(), before + 1);
        v.verify(&rs("rsa-1", &claims())).await.unwrap();
    }
}

#[tokio::test]
async fn first_fetch_failing_gives_401() {
    let server = JwksServer::start(Canned {
        status: 500,
        ..Canned::ok(jwks(&[rsa_jwk("rsa-1")]))
    });
    let v = jwks_verifier(&server);
    assert_401(
        v.verify(&rs("rsa-1", &claims())).await,
        "unknown signing key",
    );
    assert_eq!(server.hits(), 1);

    // Nothing listening at all.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let v = Verifier::new(&config(
        None,
        Some(&format!("http://127.0.0.1:{port}/jwks.json")),
    ))
    .unwrap();
    assert_401(
        v.verify(&rs("rsa-1", &claims())).await,
        "unknown signing key",
    );
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let target = JwksServer::start(Canned::ok(jwks(&[rsa_jwk("rsa-1")])));
    let server = JwksServer::start(Canned {
        status: 302,
        headers: vec![("Location", target.url.clone())],
        ..Canned::ok(String::new())
    });
    let v = jwks_verifier(&server);
    assert_401(
        v.verify(&rs("rsa-1", &claims())).await,
        "unknown signing key",
    );
    assert_eq!(server.hits(), 1);
    assert_eq!(target.hits(), 0);
}

#[tokio::test]
async fn oversized_jwks_is_refused_without_trusting_content_length() {
    // A valid set padded past 64 KiB, sent without Content-Length (read until close).
    let padded = format!(
        "{}{}",
        jwks(&[rsa_jwk("rsa-1")]),
        " ".repeat(jwks::MAX_BODY_BYTES)
    );
    let server = JwksServer::start(Canned {
        content_length: false,
        ..Canned::ok(padded.clone())
    });
    let v = jwks_verifier(&server);
    assert_401(
        v.verify(&rs("rsa-1", &claims())).await,
        "unknown signing key",
    );
    assert_eq!(server.hits(), 1);

    // With an honest Content-Length it is refused too; just under the cap is fine.
    let server = JwksServer::start(Canned::ok(padded));
    assert_401(
        jwks_verifier(&server).verify(&rs("rsa-1", &claims())).await,
        "unknown signing key",
    );
    let fits = jwks(&[rsa_jwk("rsa-1")]);
    let fits = format!("{fits}{}", " ".repeat(jwks::MAX_BODY_BYTES - fits.len()));
    let server = JwksServer::start(Canned {
        content_length: false,
        ..Canned::ok(fits)
    });
    let verified = jwks_verifier(&server).verify(&rs("rsa-1", &claims())).await;
    assert!(verified.is_ok(), "{verified:?}");
}

#[tokio::test]
async fn jwk_alg_disagreeing_with_its_key_type_is_unusable() {
    let server = JwksServer::start(Canned::ok(jwks(&[
        jwk(RSA_JWK, json!({"kid": "rsa-es", "alg": "ES256"})),
        jwk(RSA_JWK, json!({"kid": "rsa-hs", "alg": "HS256"})),
        jwk(RSA_JWK, json!({"kid": "rsa-ps", "alg": "PS256"})),
        jwk(EC_JWK, json!({"kid": "ec-rs", "alg": "RS256"})),
    ])));
    let v = jwks_verifier(&server);
    assert_401(
        v.verify(&rs("rsa-es", &claims())).await,
        "unknown signing key",
    );
    assert_401(
        v.verify(&rs("rsa-ps", &claims())).await,
        "unknown signing key",
    );
    assert_401(
        v.verify(&es("ec-rs", &claims())).await,
        "unknown signing key",
    );
    let hs_forged = sign(
        json!({"alg": "HS256", "kid": "rsa-hs"}),
        &claims(),
        Algorithm::HS256,
        &EncodingKey::from_secret(RSA_PUBLIC_PEM.as_bytes()),
    );
    assert_401(v.verify(&hs_forged).await, "unknown signing key");
}

#[test]
fn only_signing_keys_of_supported_types_are_kept() {
    let ec_p384 = json!({
        "kty": "EC", "crv": "P-384", "kid": "p384",
        "x": URL_SAFE_NO_PAD.encode([1u8; 48]), "y": URL_SAFE_NO_PAD.encode([2u8; 48]),
    });
    let ec_short = jwk(
        EC_JWK,
        json!({"kid": "ec-short", "x": URL_SAFE_NO_PAD.encode([1u8; 31])}),
    );
    let rsa_small = json!({
        "kty": "RSA", "kid": "rsa-1024",
        "n": URL_SAFE_NO_PAD.encode([0xffu8; 128]), "e": "AQAB",
    });
    let body = jwks(&[
        rsa_jwk("good-rsa"),
        ec_jwk("good-ec"),
        jwk(RSA_JWK, json!({"kid": "no-use"})),
        jwk(RSA_JWK, json!({"kid": "enc", "use": "enc"})),
        jwk(RSA_JWK, json!({"kid": "ops-sign", "key_ops": ["sign"]})),
        jwk(RSA_JWK, json!({"kid": "ops-verify", "key_ops": ["verify"]})),
        json!({"kty": "oct", "kid": "oct", "k": "c2VjcmV0"}),
        json!({"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": "AAAA"}),
        json!({"kty": "RSA", "kid": "rsa-no-n", "e": "AQAB"}),
        json!({"kid": "no-kty"}),
        json!("not an object"),
        ec_p384,
        ec_short,
        rsa_small,
        jwk(RSA_JWK, json!({})),
    ]);
    let keys = jwks::parse_jwks(body.as_bytes()).unwrap();
    let mut kids: Vec<&str> = keys.keys().map(String::as_str).collect();
    kids.sort_unstable();
    assert_eq!(kids, ["good-ec", "good-rsa", "no-use", "ops-verify"]);
    assert_eq!(keys["good-rsa"].alg, Algorithm::RS256);
    assert_eq!(keys["good-ec"].alg, Algorithm::ES256);

    // The document itself must be a JWK set.
    assert!(jwks::parse_jwks(b"[]").is_err());
    assert!(jwks::parse_jwks(br#"{"keys": {}}"#).is_err());
    assert!(jwks::parse_jwks(br#"{"keys": []}"#).unwrap().is_empty());
}

#[tokio::test]
async fn both_sources_route_by_kid() {
    let server = JwksServer::start(Canned::ok(jwks(&[rsa_jwk("rsa-1")])));
    let v = Verifier::new(&config(Some(SECRET), Some(&server.url))).unwrap();

    // No kid: the secret, and the JWKS is never fetched.
    let caller = v.verify(&hs(&claims())).await.unwrap();
    assert_eq!(caller.sub, "person-1");
    assert_eq!(server.hits(), 0);
    let token = mint_hs256(
        SECRET,
        ISS,
        AUD,
        &TokenSpec {
            sub: "dev".into(),
            tenant_id: "t1".into(),
            app_id: None,
            scopes: vec!["technology:read".into()],
            ttl_seconds: 60,
        },
    )
    .unwrap();
    assert_eq!(v.verify(&token).await.unwrap().sub, "dev");
    assert_eq!(server.hits(), 0);

    // A kid: the JWKS.
    v.verify(&rs("rsa-1", &claims())).await.unwrap();
    assert_eq!(server.hits(), 1);

    // HS256 with a kid goes to the JWKS, where the secret is no use.
    let with_kid = signed_under("HS256", "rsa-1", Algorithm::HS256, &hs_key());
    assert_401(v.verify(&with_kid).await, ALG_NOT_ALLOWED);
    let unknown_kid = signed_under("HS256", "dev", Algorithm::HS256, &hs_key());
    assert_401(v.verify(&unknown_kid).await, "unknown signing key");
    // RS256 without a kid goes to the secret, which only speaks HS256.
    let rs_no_kid = sign(
        json!({"alg": "RS256"}),
        &claims(),
        Algorithm::RS256,
        &rsa_key(),
    );
    assert_401(v.verify(&rs_no_kid).await, ALG_NOT_ALLOWED);
}

#[tokio::test]
async fn secret_only_ignores_kid() {
    let token = signed_under("HS256", "anything", Algorithm::HS256, &hs_key());
    assert!(secret_verifier().verify(&token).await.is_ok());
}

#[tokio::test]
async fn a_kept_token_answers_as_its_first_verification_and_a_new_signature_is_checked() {
    let v = secret_verifier();
    let token = hs(&with(claims(), "groups", json!(["grp-ops"])));
    let first = v.verify(&token).await.unwrap();
    let kept = v.verify(&token).await.unwrap();
    assert_eq!(
        (
            kept.sub,
            kept.tenant_id,
            kept.app_id,
            kept.scopes,
            kept.groups
        ),
        (
            first.sub,
            first.tenant_id,
            first.app_id,
            first.scopes,
            first.groups
        )
    );
    // The same header and claims under another signature are another token: checked in full.
    let (signed_part, _) = token.rsplit_once('.').unwrap();
    let forged = format!("{signed_part}.{}", URL_SAFE_NO_PAD.encode([7u8; 32]));
    assert_401(v.verify(&forged).await, "invalid signature");
    assert!(v.verify(&token).await.is_ok());
}

#[tokio::test]
async fn a_kept_token_of_a_key_the_provider_dropped_is_refused() {
    let server = JwksServer::start(Canned::ok(jwks(&[rsa_jwk("rsa-1")])));
    let v = jwks_verifier(&server);
    let token = rs("rsa-1", &claims());
    v.verify(&token).await.unwrap();
    v.verify(&token).await.unwrap();
    assert_eq!(server.hits(), 1);
    // The provider rotates rsa-1 out; once the set is stale it is fetched again, and the kept
    // token is judged by the keys there are now.
    server.respond(Canned::ok(jwks(&[rsa_jwk("rsa-2")])));
    let stale = jwks::MAX_AGE + Duration::from_secs(1);
    age_jwks(&v, stale, stale).await;
    assert_401(v.verify(&token).await, "unknown signing key");
    assert_eq!(server.hits(), 2);
}
