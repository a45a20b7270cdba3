//! End-to-end harness: requests go through the real route table and handlers, against the
//! DynamoDB Local that `make test` started (`DYNAMODB_ENDPOINT`). Each test gets its own random
//! tenant, so tests never depend on each other or on order; each test binary has its own table.
#![allow(dead_code)]

pub mod proxy;

use functions::{apigw, routes};
use http::{HeaderMap, HeaderValue, Method};
use lambda_http::Body;
use serde_json::Value;
use shared::auth::{mint_hs256, Scope, TokenSpec};
use shared::config::{AuthConfig, Config, DEV_AUDIENCE, DEV_HS256_SECRET, DEV_ISSUER};
use shared::state::State;
use shared::store::{self, RequestCounter};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;

pub const CURSOR_SECRET: &str = "test-cursor-secret-0123456789abcdef";

static TABLE: OnceCell<String> = OnceCell::const_new();

/// Production's retry policy (3 attempts) on a faster clock, for clients behind the fault proxy.
/// The attempt timeout stays well above DynamoDB Local's slowest answers on a loaded machine, so
/// only the proxy's delays make attempts time out.
pub const FAULT_CLIENT: store::ClientOptions = store::ClientOptions {
    connect_timeout: Duration::from_secs(1),
    attempt_timeout: Duration::from_millis(1500),
    operation_timeout: Duration::from_secs(6),
    max_attempts: 3,
    initial_backoff: Duration::from_millis(20),
};

pub fn endpoint() -> String {
    std::env::var("DYNAMODB_ENDPOINT").unwrap_or_else(|_| {
        panic!("DYNAMODB_ENDPOINT is not set: run the end-to-end tests with `make test`")
    })
}

pub fn config(table: &str, endpoint: &str) -> Config {
    Config {
        table_name: table.to_string(),
        dynamodb_endpoint: Some(endpoint.to_string()),
        auth: AuthConfig {
            hs256_secret: Some(DEV_HS256_SECRET.into()),
            jwks_url: None,
            issuer: DEV_ISSUER.into(),
            audience: DEV_AUDIENCE.into(),
        },
        cursor_secret: CURSOR_SECRET.as_bytes().to_vec(),
    }
}

/// One table per test binary, created once.
async fn table() -> String {
    TABLE
        .get_or_init(|| async {
            let name = format!("t_{}", ulid::Ulid::generate().to_string().to_lowercase());
            let cfg = config(&name, &endpoint());
            let db = store::client(&cfg, None).await;
            store::table::ensure_table(&db, &name)
                .await
                .expect("create the test table in DynamoDB Local");
            name
        })
        .await
        .clone()
}

pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A test's view of the API: its own tenant, its own request counter.
#[derive(Clone)]
pub struct Api {
    pub state: Arc<State>,
    pub counter: RequestCounter,
    pub tenant: String,
}

pub fn all_scopes() -> Vec<String> {
    Scope::ALL.iter().map(|s| s.as_str().to_string()).collect()
}

impl Api {
    pub async fn new() -> Api {
        let table = table().await;
        let cfg = config(&table, &endpoint());
        let counter = RequestCounter::default();
        let db = store::client(&cfg, Some(counter.clone())).await;
        let state = State::with_client(cfg, db).expect("state");
        Api {
            state: Arc::new(state),
            counter,
            tenant: format!("tenant-{}", ulid::Ulid::generate()),
        }
    }

    /// A test with a table of its own, for work that spans every tenant (the expiry sweep).
    pub async fn with_own_table() -> Api {
        let name = format!("t_{}", ulid::Ulid::generate().to_string().to_lowercase());
        let cfg = config(&name, &endpoint());
        let counter = RequestCounter::default();
        let db = store::client(&cfg, Some(counter.clone())).await;
        store::table::ensure_table(&db, &name)
            .await
            .expect("create a test table in DynamoDB Local");
        Api {
            state: Arc::new(State::with_client(cfg, db).expect("state")),
            counter,
            tenant: format!("tenant-{}", ulid::Ulid::generate()),
        }
    }

    /// The same table and tenant, through a fault proxy (`proxy::FaultProxy`), with the
    /// timeouts of `FAULT_CLIENT` so that a delayed answer costs a test milliseconds.
    pub async fn through(&self, proxy: &proxy::FaultProxy) -> Api {
        let cfg = config(self.state.table(), &proxy.endpoint);
        let counter = RequestCounter::default();
        let db = store::client_with(&cfg, Some(counter.clone()), FAULT_CLIENT).await;
        Api {
            state: Arc::new(State::with_client(cfg, db).expect("state")),
            counter,
            tenant: self.tenant.clone(),
        }
    }

    /// The same table, another tenant.
    pub fn other_tenant(&self) -> Api {
        Api {
            state: self.state.clone(),
            counter: self.counter.clone(),
            tenant: format!("tenant-{}", ulid::Ulid::generate()),
        }
    }

    /// A state whose store is unreachable (a closed port), for 503 tests.
    pub async fn unreachable() -> Api {
        let cfg = config("missing", "http://127.0.0.1:9");
        let counter = RequestCounter::default();
        let db = store::client(&cfg, Some(counter.clone())).await;
        Api {
            state: Arc::new(State::with_client(cfg, db).expect("state")),
            counter,
            tenant: format!("tenant-{}", ulid::Ulid::generate()),
        }
    }

    /// A token for this test's tenant with every scope.
    pub fn token(&self) -> String {
        self.token_for("user-1", None, &all_scopes())
    }

    pub fn token_with(&self, scopes: &[&str]) -> String {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        self.token_for("user-1", None, &scopes)
    }

    pub fn token_for(&self, sub: &str, app: Option<&str>, scopes: &[String]) -> String {
        self.token_in(&self.tenant, sub, app, scopes)
    }

    pub fn token_in(
        &self,
        tenant: &str,
        sub: &str,
        app: Option<&str>,
        scopes: &[String],
    ) -> String {
        mint_hs256(
            DEV_HS256_SECRET,
            DEV_ISSUER,
            DEV_AUDIENCE,
            &TokenSpec {
                sub: sub.into(),
                tenant_id: tenant.into(),
                app_id: app.map(String::from),
                scopes: scopes.to_vec(),
                ttl_seconds: 3600,
            },
        )
        .expect("mint")
    }

    /// Sends a request; `body` is sent as JSON with `content-type: application/json`.
    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        token: &str,
        body: Option<Value>,
    ) -> Response {
        let mut headers = HeaderMap::new();
        let bytes = match body {
            Some(v) => {
                headers.insert("content-type", HeaderValue::from_static("application/json"));
                serde_json::to_vec(&v).expect("json")
            }
            None => Vec::new(),
        };
        self.raw(method, uri, token, headers, bytes).await
    }

    pub async fn raw(
        &self,
        method: &str,
        uri: &str,
        token: &str,
        mut headers: HeaderMap,
        body: Vec<u8>,
    ) -> Response {
        if !token.is_empty() {
            headers.insert(
                "authorization",
                HeaderValue::from_str(&format!("Bearer {token}")).expect("header"),
            );
        }
        let method: Method = method.parse().expect("method");
        let incoming = apigw::Incoming {
            method,
            uri: uri.parse().expect("uri"),
            headers,
            body,
            peer: std::net::Ipv4Addr::LOCALHOST.into(),
        };
        let req = apigw::request(incoming, &ulid::Ulid::generate().to_string());
        let resp = routes::dispatch(&self.state, req).await;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = match resp.body() {
            Body::Text(t) => t.clone(),
            Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
            _ => String::new(),
        };
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::Null)
        };
        Response {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn get(&self, uri: &str) -> Response {
        self.call("GET", uri, &self.token(), None).await
    }

    pub async fn post(&self, uri: &str, body: Value) -> Response {
        self.call("POST", uri, &self.token(), Some(body)).await
    }

    pub async fn patch(&self, uri: &str, body: Value) -> Response {
        self.call("PATCH", uri, &self.token(), Some(body)).await
    }

    pub async fn delete(&self, uri: &str) -> Response {
        self.call("DELETE", uri, &self.token(), None).await
    }

    /// Creates an asset and returns its record.
    pub async fn asset(&self, body: Value) -> Value {
        let r = self.post("/api/v1/technology", body).await;
        assert_eq!(r.status, 201, "create asset: {}", r.text);
        r.body
    }

    /// Reads an item straight from the table (PK, SK), bypassing the API.
    pub async fn stored(&self, pk: &str, sk: &str) -> Option<store::Item> {
        self.state
            .db
            .get_item()
            .table_name(self.state.table())
            .key("PK", store::s(pk))
            .key("SK", store::s(sk))
            .consistent_read(true)
            .send()
            .await
            .expect("get item")
            .item
    }
}

impl Api {
    /// Writes an item straight into the table, bypassing the API: data no route would write
    /// (a poisoned record), to prove what readers do with it.
    pub async fn put_raw(&self, item: store::Item) {
        self.state
            .db
            .put_item()
            .table_name(self.state.table())
            .set_item(Some(item))
            .send()
            .await
            .expect("put raw item");
    }
}

/// Every DynamoDB action a test's requests made a function issue must be one its IAM policy
/// grants (`functions::iam`, which `template.yaml` must equal). Checked when a test's `Api` goes
/// away, so no test has to remember it; each new (function, action) pair is also written to
/// `target/tmp/iam-observed/`, from which `scripts/check-template.sh` finds granted actions that
/// no test ever saw issued.
impl Drop for Api {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let observed = self.counter.actions();
        record_observed(&observed);
        let undeclared: Vec<String> = observed
            .iter()
            .filter(|(function, action)| {
                !functions::iam::actions(function).contains(&action.as_str())
            })
            .map(|(function, action)| format!("{function}: {action}"))
            .collect();
        assert!(
            undeclared.is_empty(),
            "DynamoDB actions issued but not in functions/src/iam.rs (and so not granted): {undeclared:?}"
        );
    }
}

fn record_observed(observed: &std::collections::BTreeSet<(&'static str, String)>) {
    use std::io::Write;
    static SEEN: std::sync::Mutex<std::collections::BTreeSet<(&'static str, String)>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let Ok(mut seen) = SEEN.lock() else { return };
    let new: Vec<_> = observed
        .iter()
        .filter(|p| !seen.contains(*p))
        .cloned()
        .collect();
    if new.is_empty() {
        return;
    }
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("iam-observed");
    let _ = std::fs::create_dir_all(&dir);
    let file = dir.join(format!("{}.txt", std::process::id()));
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
    {
        for (function, action) in &new {
            let _ = writeln!(f, "{function} {action}");
        }
    }
    seen.extend(new);
}

/// Asserts a problem document: status, content type, type slug, request id echoed.
pub fn assert_problem(r: &Response, status: u16, slug: &str) {
    assert_eq!(r.status, status, "body: {}", r.text);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    assert_eq!(
        r.body["type"],
        format!("/problems/{slug}"),
        "body: {}",
        r.text
    );
    assert_eq!(r.body["status"], status);
    let rid = r.header("x-request-id").expect("x-request-id");
    assert_eq!(r.body["request_id"], rid);
}

/// The field names of a validation problem, sorted.
pub fn bad_fields(r: &Response) -> Vec<String> {
    let mut v: Vec<String> = r.body["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["field"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

// ---- Added for tests/technology_rules.rs and tests/technology_lists.rs ----

/// How to mint a token that may be bad on purpose: another secret, issuer or audience, or a
/// negative `ttl_seconds` (already expired).
pub struct MintOptions<'a> {
    pub secret: &'a str,
    pub issuer: &'a str,
    pub audience: &'a str,
    pub tenant: &'a str,
    pub sub: &'a str,
    pub app: Option<&'a str>,
    pub scopes: Vec<String>,
    pub ttl_seconds: i64,
}

impl Api {
    /// Options for a good token of this test's tenant with every scope; change what the test needs.
    pub fn mint_options(&self) -> MintOptions<'_> {
        MintOptions {
            secret: DEV_HS256_SECRET,
            issuer: DEV_ISSUER,
            audience: DEV_AUDIENCE,
            tenant: &self.tenant,
            sub: "user-1",
            app: None,
            scopes: all_scopes(),
            ttl_seconds: 3600,
        }
    }
}

/// Mints an HS256 token exactly as `opts` says.
pub fn mint_with(opts: &MintOptions<'_>) -> String {
    mint_hs256(
        opts.secret,
        opts.issuer,
        opts.audience,
        &TokenSpec {
            sub: opts.sub.into(),
            tenant_id: opts.tenant.into(),
            app_id: opts.app.map(String::from),
            scopes: opts.scopes.clone(),
            ttl_seconds: opts.ttl_seconds,
        },
    )
    .expect("mint")
}

/// Signs arbitrary claims with HS256 and the development secret (tokens missing a claim, `nbf`).
pub fn sign_claims(claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(DEV_HS256_SECRET.as_bytes()),
    )
    .expect("sign")
}

/// The envelope fields every record carries (API.md §2).
pub const ENVELOPE_KEYS: &[&str] = &[
    "id",
    "tenant_id",
    "app_id",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
    "source",
    "source_type",
    "is_deleted",
    "deleted_at",
    "deleted_by",
    "schema_version",
    "revision",
];

/// The asset's stored count of live entitlements, read straight from the table.
pub async fn live_count(api: &Api, asset_id: &str) -> i64 {
    let item = api
        .stored(&format!("T#{}#AST", api.tenant), asset_id)
        .await
        .expect("asset item");
    store::get_n(&item, "live_entitlements").expect("live_entitlements")
}

/// A record's `id`.
pub fn id_of(record: &Value) -> String {
    record["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {record}"))
        .to_string()
}

/// Expected DynamoDB request counts, as `RequestCounter::snapshot` reports them.
pub fn counts(pairs: &[(&str, u64)]) -> std::collections::BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// Percent-encodes a query value (`+` would otherwise decode to a space).
pub fn enc(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
