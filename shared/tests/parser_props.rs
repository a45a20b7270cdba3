//! Issue 9: no panic is reachable from a request. Bounded property tests over every parser that
//! reads client input — bodies and their field readers (through each resource's create/PATCH
//! parser), query parameters and list filters, `If-Match`, the JWT header and claims, and list
//! cursors — using only their public functions. Each property also checks what an accepted input
//! means (a stored record reads back, a cursor decodes to its key), so a parser that accepts
//! garbage fails too.

use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use lambda_http::{Body, Request, RequestExt};
use proptest::prelude::*;
use serde_json::{Map, Number, Value};
use sha2::Sha256;
use shared::auth::{Caller, Scope, Verifier};
use shared::config::AuthConfig;
use shared::cursor::{self, Binding};
use shared::domain::{access_request, asset, attribute, entitlement};
use shared::error::ApiError;
use shared::time::Timestamp;
use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

const CASES: u32 = 400;

// ------------------------------------------------------------------------------------------
// Strategies
// ------------------------------------------------------------------------------------------

/// Strings a client might send for any field: values the parsers know, timestamps at and past
/// the range ends, and anything printable.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "active",
            "person",
            "group",
            "critical",
            "cloud",
            "saas",
            "new",
            "modify",
            "revoke",
            "pending",
            "completed",
            "entitlement",
            "all",
            "governance",
            "crm",
            "ast_01JD3Q9Z8X4K2M7N5P6R8S0T1V",
            "https://x.example/a",
            "0000-01-01T00:00:00+00:01",
            "9999-12-31T23:59:59-01:00",
            "9999-12-31T23:59:59.999Z",
            "0001-01-01T00:00:00Z",
            "2030-01-01T00:00:00Z",
            "2000-01-01T00:00:00Z",
            "",
            " ",
            "true",
            "false",
            "*",
            "W/\"1\"",
        ])
        .prop_map(String::from),
        "\\PC{0,24}",
        "[0-9:.+\\-TZ]{0,30}",
    ]
}

fn any_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        prop::sample::select(vec![0.0, -0.0, 1.0, 1e-200, 1e300, 9007199254740993.0])
            .prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
    ]
}

/// Any JSON value, nested a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any_number(),
        any_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(any_text(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A body whose members are mostly the resource's own fields (and the envelope's), with any value.
fn body(fields: &'static [&'static str]) -> impl Strategy<Value = Map<String, Value>> {
    let name = prop_oneof![
        4 => prop::sample::select(fields).prop_map(String::from),
        1 => prop::sample::select(vec!["source", "source_type", "id", "revision", "tenant_id"])
            .prop_map(String::from),
        1 => any_text(),
    ];
    prop::collection::btree_map(name, any_json(), 0..10).prop_map(|m| m.into_iter().collect())
}

/// What a client may send on create, and two fields only the server sets.
static ENTITLEMENT_FIELDS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    [
        entitlement::CREATE_FIELDS,
        &["access_model_metadata", "revoked_at"],
    ]
    .concat()
});
const ASSET_FIELDS: &[&str] = &[
    "name",
    "display_name",
    "description",
    "status",
    "owner",
    "environment",
    "hosting",
    "cloud_provider",
    "url",
    "tags",
    "criticality",
    "data_classification",
    "owner_id",
];
const ATTRIBUTE_FIELDS: &[&str] = attribute::FIELDS;
const REQUEST_FIELDS: &[&str] = &[
    "requester_id",
    "principal_id",
    "principal_type",
    "system_id",
    "asset_id",
    "access_type",
    "entitlement_type",
    "entitlement_id",
    "expires_at",
    "justification",
    "status",
];

fn now() -> Timestamp {
    Timestamp::parse("2026-06-01T00:00:00Z").unwrap()
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

/// A refusal from a body parser is a 400 naming fields, never anything else.
fn assert_validation<T: std::fmt::Debug>(r: &Result<T, ApiError>) -> Result<(), TestCaseError> {
    if let Err(e) = r {
        prop_assert!(
            matches!(e, ApiError::Validation(errs) if !errs.is_empty()),
            "{e:?}"
        );
    }
    Ok(())
}

/// A parse result is either a validation error or fields that round-trip.
fn assert_parsed<T, U>(r: &Result<(T, U), ApiError>) -> Result<(), TestCaseError>
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    U: std::fmt::Debug,
{
    assert_validation(r)?;
    if let Ok((fields, _)) = r {
        assert_round_trip(fields)?;
    }
    Ok(())
}

/// A record that is accepted is stored and read back unchanged, through DynamoDB's attribute
/// form (written as `serde_dynamo` writes it, which the store reads back) and through JSON.
fn assert_round_trip<T>(fields: &T) -> Result<(), TestCaseError>
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let item = shared::store::to_item(fields).unwrap();
    let dynamo: HashMap<String, AttributeValue> = serde_dynamo::to_item(fields).unwrap();
    prop_assert_eq!(&item, &dynamo);
    let stored: T = serde_dynamo::from_item(item).unwrap();
    prop_assert_eq!(&stored, fields);
    let text = serde_json::to_string(fields).unwrap();
    let read: T = serde_json::from_str(&text).unwrap();
    prop_assert_eq!(&read, fields);
    Ok(())
}

// ------------------------------------------------------------------------------------------
// Bodies and the field reader
// ------------------------------------------------------------------------------------------

fn caller(scopes: &[Scope]) -> Caller {
    Caller {
        tenant_id: "t1".into(),
        sub: "alice".into(),
        app_id: None,
        scopes: scopes.iter().map(|s| s.as_str().to_string()).collect(),
        groups: Vec::new(),
        request_id: "req-props".into(),
    }
}

/// A valid asset for the PATCH properties to start from.
fn current_asset() -> asset::AssetFields {
    let body = serde_json::json!({"name": "crm", "owner": {"person_id": "p"}, "hosting": "cloud",
        "cloud_provider": "aws"});
    asset::parse_create(obj(body)).unwrap().0
}

/// A valid attribute (one value) for the PATCH properties to start from.
fn current_attribute() -> attribute::AttributeFields {
    let body = serde_json::json!({"key": "tier", "name": "Tier", "type": "governance",
        "values": [{"value": "gold", "name": "Gold"}]});
    attribute::parse_create(obj(body)).unwrap().0
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn entitlement_bodies(create in body(&ENTITLEMENT_FIELDS), patch in body(&ENTITLEMENT_FIELDS)) {
        let granter = entitlement::Granter { sub: "user-1", is_app: false };
        let r = entitlement::parse_create(create, &granter, now());
        assert_parsed(&r)?;
        let current = entitlement::parse_create(
            obj(serde_json::json!({"asset_id": "ast_1", "principal_id": "p", "principal_type": "person",
                "entitlement_type": "admin", "expires_at": "2027-01-01T00:00:00Z"})),
            &granter,
            now(),
        )
        .unwrap()
        .0;
        let r = entitlement::apply_patch(&current, patch, now());
        assert_parsed(&r)?;
    }

    #[test]
    fn entitlement_attributes(attributes in any_json()) {
        let granter = entitlement::Granter { sub: "user-1", is_app: true };
        let body = obj(serde_json::json!({"asset_id": "ast_1", "principal_id": "p",
            "principal_type": "person", "entitlement_type": "admin", "attributes": attributes}));
        let r = entitlement::parse_create(body, &granter, now());
        assert_parsed(&r)?;
    }

    #[test]
    fn asset_bodies(create in body(ASSET_FIELDS), patch in body(ASSET_FIELDS)) {
        assert_parsed(&asset::parse_create(create))?;
        assert_parsed(&asset::apply_patch(&current_asset(), patch))?;
    }

    #[test]
    fn attribute_bodies(create in body(ATTRIBUTE_FIELDS), patch in body(ATTRIBUTE_FIELDS)) {
        assert_parsed(&attribute::parse_create(create))?;
        assert_parsed(&attribute::apply_patch(&current_attribute(), patch))?;
    }

    #[test]
    fn access_request_bodies(create in body(REQUEST_FIELDS)) {
        let r = access_request::parse_create(create, "user-1", now());
        assert_validation(&r)?;
    }

    #[test]
    fn decision_and_revoke_bodies(b in body(&["comment", "reason"])) {
        assert_validation(&access_request::parse_decision(b.clone()))?;
        assert_validation(&entitlement::parse_revoke(b.clone()))?;
        assert_validation(&entitlement::parse_empty(b))?;
    }
}

// ------------------------------------------------------------------------------------------
// The HTTP edge: bodies, query parameters, list filters, If-Match
// ------------------------------------------------------------------------------------------

fn request(
    headers: &[(&str, Vec<u8>)],
    body: Vec<u8>,
    query: HashMap<String, Vec<String>>,
) -> Request {
    let mut b = http::Request::builder().method("POST").uri("/x");
    for (name, value) in headers {
        if let Ok(v) = http::HeaderValue::from_bytes(value) {
            b = b.header(*name, v);
        }
    }
    let body = if body.is_empty() {
        Body::Empty
    } else {
        match String::from_utf8(body) {
            Ok(text) => Body::Text(text),
            Err(e) => Body::Binary(e.into_bytes()),
        }
    };
    b.body(body).unwrap().with_query_string_parameters(query)
}

fn json_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any_json().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        prop::collection::vec(any::<u8>(), 0..64),
        Just(b"{\"a\": 18446744073709551616, \"b\": -0.0, \"c\": 1e400}".to_vec()),
        Just(vec![b' '; 3]),
    ]
}

fn content_type() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"application/json".to_vec()),
        Just(b"application/merge-patch+json; charset=utf-8".to_vec()),
        prop::collection::vec(any::<u8>(), 0..24),
    ]
}

fn query() -> impl Strategy<Value = HashMap<String, Vec<String>>> {
    let name = prop_oneof![
        prop::sample::select(vec![
            "limit",
            "cursor",
            "include_deleted",
            "q",
            "status",
            "expires_before",
            "privileged",
            "principal_type",
            "asset_id",
            "tag",
        ])
        .prop_map(String::from),
        any_text(),
    ];
    let value = prop_oneof![
        any_text(),
        any::<i64>().prop_map(|n| n.to_string()),
        Just("18446744073709551616".to_string()),
    ];
    prop::collection::hash_map(name, prop::collection::vec(value, 1..3), 0..6)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn bodies_are_parsed_without_panic(bytes in json_bytes(), ct in content_type()) {
        let req = request(&[("content-type", ct)], bytes.clone(), HashMap::new());
        for r in [
            shared::http::json_object(&req, true),
            shared::http::json_object(&req, false),
            shared::http::optional_json_object(&req),
        ] {
            if r.is_ok() {
                prop_assert!(bytes.len() <= shared::http::MAX_BODY_BYTES);
            }
        }
    }

    #[test]
    fn list_parameters_are_parsed_without_panic(q in query()) {
        let req = request(&[], Vec::new(), q);
        for spec in [&entitlement::LIST, &asset::LIST, &attribute::LIST, &access_request::LIST] {
            // With the write scope a refusal is a 400; without it, also a 403 for include_deleted.
            for (caller, forbidden_ok) in [(caller(&[Scope::EntitlementsWrite]), false), (caller(&[]), true)] {
                match shared::listing::parse(&req, spec, &caller, Scope::EntitlementsWrite) {
                    Ok(mut params) => {
                        prop_assert!((1..=shared::listing::MAX_LIMIT).contains(&params.limit));
                        if let Err(e) = entitlement::normalize_filters(&mut params) {
                            prop_assert!(matches!(e, ApiError::Validation(_)), "{e:?}");
                        }
                    }
                    Err(ApiError::Forbidden(_)) if forbidden_ok => {}
                    Err(e) => prop_assert!(matches!(e, ApiError::Validation(_)), "{e:?}"),
                }
            }
        }
    }

    #[test]
    fn if_match_is_parsed_without_panic(
        value in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..24),
            any_text().prop_map(String::into_bytes),
            any::<i64>().prop_map(|n| format!("\"{n}\"").into_bytes()),
            Just(b"W/\"99999999999999999999\"".to_vec()),
        ],
    ) {
        let req = request(&[("if-match", value)], Vec::new(), HashMap::new());
        let _ = shared::http::if_match(&req);
    }
}

// ------------------------------------------------------------------------------------------
// The JWT header and claims
// ------------------------------------------------------------------------------------------

const SECRET: &str = "property-test-secret-0123456789abcdef";
const ISSUER: &str = "https://issuer.test/";
const AUDIENCE: &str = "technology-api";

fn verifier() -> Verifier {
    Verifier::new(&AuthConfig {
        hs256_secret: Some(SECRET.into()),
        jwks_url: None,
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
    })
    .unwrap()
}

fn sign(header: &Value, claims: &Value) -> String {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).unwrap()),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap())
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(message.as_bytes());
    let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{message}.{tag}")
}

fn claim_value() -> impl Strategy<Value = Value> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    prop_oneof![
        3 => any_json(),
        1 => prop::sample::select(vec![
            Value::from(now + 3600),
            Value::from(now - 3600),
            Value::from(u64::MAX),
            Value::from(i64::MIN),
            serde_json::json!(1e300),
            serde_json::json!(-1.5),
            Value::from(ISSUER),
            Value::from(AUDIENCE),
            serde_json::json!([AUDIENCE]),
            Value::from("acme"),
            Value::from("technology:read entitlements:write"),
        ]),
    ]
}

fn header() -> impl Strategy<Value = Value> {
    let alg = prop_oneof![
        3 => Just(Value::from("HS256")),
        1 => prop::sample::select(vec!["none", "RS256", "ES256", "HS512"]).prop_map(Value::from),
        1 => any_json(),
    ];
    (
        alg,
        prop::option::of(any_json()),
        prop::option::of(any_json()),
        prop::option::of(any_json()),
    )
        .prop_map(|(alg, kid, crit, typ)| {
            let mut h = Map::new();
            h.insert("alg".into(), alg);
            for (name, v) in [("kid", kid), ("crit", crit), ("typ", typ)] {
                if let Some(v) = v {
                    h.insert(name.into(), v);
                }
            }
            Value::Object(h)
        })
}

/// Good claims with up to four members replaced or added, so that both refusals and accepted
/// tokens are explored.
fn claims() -> impl Strategy<Value = Value> {
    let name = prop::sample::select(vec![
        "sub",
        "tenant_id",
        "app_id",
        "scope",
        "exp",
        "nbf",
        "iat",
        "iss",
        "aud",
        "groups",
    ]);
    let exp = time::OffsetDateTime::now_utc().unix_timestamp() + 3600;
    prop::collection::btree_map(name, claim_value(), 0..4).prop_map(move |changes| {
        let mut claims = obj(serde_json::json!({"sub": "alice", "tenant_id": "acme",
            "exp": exp, "iss": ISSUER, "aud": AUDIENCE, "scope": "technology:read"}));
        for (k, v) in changes {
            claims.insert(k.to_string(), v);
        }
        Value::Object(claims)
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    /// Signed tokens with any header and claims: a 401 or a caller whose identity is exactly
    /// what the claims say.
    #[test]
    fn signed_tokens_with_any_claims(header in header(), claims in claims()) {
        let token = sign(&header, &claims);
        let r = runtime().block_on(verifier().verify(&token));
        match r {
            Ok(caller) => {
                prop_assert_eq!(&header["alg"], "HS256");
                prop_assert_eq!(Value::from(caller.sub), claims["sub"].clone());
                prop_assert_eq!(Value::from(caller.tenant_id), claims["tenant_id"].clone());
                prop_assert_eq!(&claims["iss"], ISSUER);
            }
            Err(e) => prop_assert!(matches!(e, ApiError::Unauthorized(_)), "{e:?}"),
        }
    }

    /// Anything in the Authorization header is a 401, never a panic.
    #[test]
    fn any_authorization_header(
        value in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..80),
            "(Bearer |bearer |Basic )?[A-Za-z0-9_\\-.=+/ ]{0,120}".prop_map(String::into_bytes),
        ],
    ) {
        let mut headers = http::HeaderMap::new();
        if let Ok(v) = http::HeaderValue::from_bytes(&value) {
            headers.insert(http::header::AUTHORIZATION, v);
        }
        let r = runtime().block_on(verifier().authenticate(&headers));
        prop_assert!(matches!(r, Err(ApiError::Unauthorized(_))), "{r:?}");
    }
}

// ------------------------------------------------------------------------------------------
// Cursors
// ------------------------------------------------------------------------------------------

const CURSOR_SECRET: &[u8] = b"cursor-property-secret-0123456789abcdef";

fn binding(tenant: &str) -> Binding {
    Binding {
        tenant_id: tenant.into(),
        app_id: None,
        collection: "technology",
        filters: BTreeMap::from([("status".to_string(), "active".to_string())]),
    }
}

fn key(tenant: &str, sk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (
            "PK".to_string(),
            AttributeValue::S(format!("T#{tenant}#AST")),
        ),
        ("SK".to_string(), AttributeValue::S(sk.to_string())),
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    /// Any text given as `cursor` is refused as a 400 naming `cursor`, or is a key of the
    /// caller's own tenant.
    #[test]
    fn any_cursor_text(text in prop_oneof![
        "\\PC{0,80}",
        "[A-Za-z0-9_\\-]{0,60}\\.[A-Za-z0-9_\\-]{0,60}",
    ]) {
        match cursor::decode(CURSOR_SECRET, &binding("t1"), &text) {
            Ok(key) => {
                if let Some(AttributeValue::S(pk)) = key.get("PK") {
                    prop_assert!(pk.starts_with("T#t1#"));
                }
            }
            Err(e) => prop_assert!(
                matches!(&e, ApiError::Validation(errs) if errs.iter().all(|f| f.field == "cursor")),
                "{e:?}"
            ),
        }
    }

    /// A cursor decodes to the key it was made from, for its own binding only, and any change
    /// to its text is refused (or, at worst, decodes to the same key).
    #[test]
    fn cursors_round_trip_and_resist_tampering(
        sk in "\\PC{1,40}",
        at in any::<prop::sample::Index>(),
        with in prop::sample::select(vec!['A', 'b', '0', '-', '_', '.', '~']),
    ) {
        let b = binding("t1");
        let k = key("t1", &sk);
        let Ok(c) = cursor::encode(CURSOR_SECRET, &b, &k) else { return Ok(()) };
        prop_assert_eq!(cursor::decode(CURSOR_SECRET, &b, &c).unwrap(), k.clone());
        prop_assert!(cursor::decode(CURSOR_SECRET, &binding("t2"), &c).is_err());
        let mut chars: Vec<char> = c.chars().collect();
        let i = at.index(chars.len());
        if chars[i] != with {
            chars[i] = with;
            let forged: String = chars.into_iter().collect();
            if let Ok(decoded) = cursor::decode(CURSOR_SECRET, &b, &forged) {
                prop_assert_eq!(decoded, k);
            }
        }
    }
}
