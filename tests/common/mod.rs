//! End-to-end harness: requests go through the real route table and handlers, against the
//! DynamoDB Local that `make test` started (`DYNAMODB_ENDPOINT`). Each test gets its own random
//! tenant, so tests never depend on each other or on order; each test binary has its own table.
#![allow(dead_code)]

pub mod proxy;

use functions::{apigw, routes};
use http::{HeaderMap, HeaderValue, Method};
use lambda_http::Body;
use serde_json::{json, Value};
use shared::auth::{mint_hs256, Scope, TokenSpec};
use shared::config::{AuthConfig, Config, DEV_AUDIENCE, DEV_HS256_SECRET, DEV_ISSUER};
use shared::state::State;
use shared::store::{self, sweep, RequestCounter};
use shared::time::Timestamp;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

pub const CURSOR_SECRET: &str = "test-cursor-secret-0123456789abcdef";
/// The public origin the tests' API answers under (the AuthZEN metadata names it).
pub const PUBLIC_BASE_URL: &str = "https://pdp.example.test";

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
        dynamodb_trust: shared::config::TrustStore::Amazon,
        auth: AuthConfig::development(),
        cursor_secret: CURSOR_SECRET.as_bytes().to_vec(),
        public_base_url: Some(PUBLIC_BASE_URL.into()),
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

/// An app's token of this tenant with every scope.
pub fn app_token(api: &Api, sub: &str, app: &str) -> String {
    api.token_for(sub, Some(app), &all_scopes())
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
        self.call_with(method, uri, token, HeaderMap::new(), body)
            .await
    }

    /// `call` with extra headers (`If-Match`, a hand-made `Authorization` with an empty token).
    pub async fn call_with(
        &self,
        method: &str,
        uri: &str,
        token: &str,
        mut headers: HeaderMap,
        body: Option<Value>,
    ) -> Response {
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
        self.created_as(TECH, &self.token(), body).await
    }

    /// Creates `body` at `uri` with `token`, which must answer 201: the record.
    pub async fn created_as(&self, uri: &str, token: &str, body: Value) -> Value {
        let r = self.post_as(uri, token, body.clone()).await;
        assert_eq!(r.status, 201, "create {body} at {uri}: {}", r.text);
        r.body
    }

    /// Creates the asset `{"name": name}` with `token` (an app's, say): its id.
    pub async fn asset_as(&self, token: &str, name: &str) -> String {
        id_of(&self.created_as(TECH, token, json!({ "name": name })).await)
    }

    /// Grants `etype` on `asset_id` to the people `<prefix>0` … `<prefix>{n-1}`: their ids.
    pub async fn grants(&self, asset_id: &str, prefix: &str, n: usize, etype: &str) -> Vec<String> {
        let token = self.token();
        let mut ids = Vec::new();
        for i in 0..n {
            let body = grant_body(asset_id, &format!("{prefix}{i}"), etype);
            ids.push(id_of(&self.created_as(ENTS, &token, body).await));
        }
        ids
    }

    /// Creates the asset `{"name": name}`: its record and its id.
    pub async fn named_asset(&self, name: &str) -> (Value, String) {
        let asset = self.asset(json!({ "name": name })).await;
        let id = id_of(&asset);
        (asset, id)
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
        self.put_raw_request(item)
            .send()
            .await
            .expect("put raw item");
    }

    /// The `PutItem` of `put_raw`, not yet sent: for a test that expects the store to refuse it.
    pub fn put_raw_request(
        &self,
        item: store::Item,
    ) -> aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder {
        self.state
            .db
            .put_item()
            .table_name(self.state.table())
            .set_item(Some(item))
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

/// `assert_problem`, and the problem's detail says `needle`.
pub fn assert_problem_saying(r: &Response, status: u16, slug: &str, needle: &str) {
    assert_problem(r, status, slug);
    let detail = r.body["detail"].as_str().unwrap();
    assert!(detail.contains(needle), "no {needle:?} in {}", r.text);
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

// ---- Helpers shared by the test binaries ----

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

/// The envelope fields every record carries (API.md §2): the server's own and the client's
/// `source` and `source_type`.
pub static ENVELOPE_KEYS: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| [shared::envelope::SERVER_FIELDS, &["source", "source_type"]].concat());

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

/// The DynamoDB requests of a write that reads its item and then writes one transaction: the
/// change, its history event, and any guard or count it moves.
pub const READ_TRANSACT: &[(&str, u64)] = &[("GetItem", 1), ("TransactWriteItems", 1)];

/// The DynamoDB requests of a write that reads its record and then the asset it is about before
/// one transaction (an access request's decision or edit, API.md §10).
pub const READ_ASSET_TRANSACT: &[(&str, u64)] = &[("GetItem", 2), ("TransactWriteItems", 1)];

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

/// Headers with `name: value` when there is a value, none otherwise.
pub fn header_if(name: &'static str, value: Option<&str>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Some(v) = value {
        headers.insert(name, HeaderValue::from_str(v).unwrap());
    }
    headers
}

/// Sends with an optional `If-Match` header; `body` as JSON.
pub async fn send(
    api: &Api,
    token: &str,
    method: &str,
    uri: &str,
    if_match: Option<&str>,
    body: Option<Value>,
) -> Response {
    api.call_with(method, uri, token, header_if("if-match", if_match), body)
        .await
}

/// Sends a request with exactly this `Authorization` header value (none when `None`).
pub async fn with_authorization(
    api: &Api,
    method: &str,
    uri: &str,
    authorization: Option<&str>,
    body: Option<Value>,
) -> Response {
    let headers = header_if("authorization", authorization);
    api.call_with(method, uri, "", headers, body).await
}

/// Sends `body` as raw bytes with the given content type (none when `None`).
pub async fn send_bytes(
    api: &Api,
    method: &str,
    uri: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Response {
    let headers = header_if("content-type", content_type);
    api.raw(method, uri, &api.token(), headers, body.to_vec())
        .await
}

/// The asset as stored now (deleted ones too), read through the API.
pub async fn current_asset(api: &Api, id: &str) -> Value {
    let r = api
        .get(&format!("/api/v1/technology/{id}?include_deleted=true"))
        .await;
    assert_eq!(r.status, 200, "re-read {id}: {}", r.text);
    r.body
}

/// Asserts the asset is exactly `before` (same revision, same fields, same stamps).
pub async fn assert_asset_unchanged(api: &Api, before: &Value) {
    let now = current_asset(api, &id_of(before)).await;
    assert_eq!(&now, before, "the record changed after a rejected write");
}

/// A problem document without its request id: what two 404s must share.
pub fn shape(r: &Response) -> (u16, Option<String>, Value) {
    let mut body = r.body.clone();
    if let Some(o) = body.as_object_mut() {
        o.remove("request_id");
    }
    (r.status, r.header("content-type").map(String::from), body)
}

/// The ids of a list page.
pub fn ids(r: &Response) -> Vec<String> {
    r.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {}", r.text))
        .iter()
        .map(id_of)
        .collect()
}

/// The ids of a list page, asserting a 200 first.
pub fn listed_ids(r: &Response) -> Vec<String> {
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(id_of)
        .collect()
}

/// Asserts a validation problem naming exactly `fields`.
pub fn assert_invalid(r: &Response, fields: &[&str]) {
    assert_problem(r, 400, "validation-error");
    assert_eq!(bad_fields(r), fields, "{}", r.text);
}

/// `body` with the members of `extra` set on top.
pub fn with(mut body: Value, extra: Value) -> Value {
    if let (Some(b), Value::Object(e)) = (body.as_object_mut(), extra) {
        b.extend(e);
    }
    body
}

/// An RFC 3339 timestamp `days` from now.
pub fn in_days(days: i64) -> String {
    Timestamp::now().plus_seconds(days * 86_400).to_string()
}

/// A sweep run as if it were `days` from now, with `budget` to finish.
/// The request id of the test sweeps' runs (what their history events name).
pub const SWEEP_REQUEST_ID: &str = "test-sweep-run";

pub async fn sweep_at(api: &Api, days: i64, budget: Duration) -> sweep::Report {
    let now = Timestamp::now().plus_seconds(days * 86_400);
    // As the expiry-sweep function's: its DynamoDB actions are held to its IAM table.
    let run = sweep::run(&api.state, now, Instant::now() + budget, SWEEP_REQUEST_ID);
    shared::store::counter::as_function("expiry-sweep", run)
        .await
        .expect("sweep")
}

/// The minimal entitlement create body: a person's grant of `etype` on `asset_id`.
pub fn grant_body(asset_id: &str, principal: &str, etype: &str) -> Value {
    json!({"asset_id": asset_id, "principal_id": principal, "principal_type": "person", "entitlement_type": etype})
}

/// `grant_body` expiring `days` from now.
pub fn expiring_grant_body(asset_id: &str, principal: &str, etype: &str, days: i64) -> Value {
    with(
        grant_body(asset_id, principal, etype),
        json!({"expires_at": in_days(days)}),
    )
}

/// The path of the asset collection.
pub const TECH: &str = "/api/v1/technology";

/// The path of the entitlement collection.
pub const ENTS: &str = "/api/v1/entitlements";

/// The path of the access-request collection.
pub const ARQ: &str = "/api/v1/operations/access-requests";

/// The path of the attribute catalog.
pub const ATTRS: &str = "/api/v1/access-model-metadata/attributes";

/// Creates a metadata attribute (required fields plus `extra`).
pub async fn attribute(api: &Api, key: &str, extra: Value) -> Value {
    let body = with(
        json!({"key": key, "name": format!("Name of {key}"), "type": "governance"}),
        extra,
    );
    let r = api.post(ATTRS, body).await;
    assert_eq!(r.status, 201, "create attribute {key}: {}", r.text);
    r.body
}

/// An attribute body member `values` of active (value, name) pairs, for `attribute`'s `extra`.
pub fn with_values(values: &[(&str, &str)]) -> Value {
    let values: Vec<Value> = values
        .iter()
        .map(|(value, name)| json!({"value": value, "name": name}))
        .collect();
    json!({ "values": values })
}

/// A fresh, well-formed id with this prefix (`ast`, `ent`, `arq`) that exists nowhere.
pub fn missing(prefix: &str) -> String {
    format!("{prefix}_{}", ulid::Ulid::generate())
}

/// `include_deleted=true` on each of `uris` (a list and a get) needs `<resource>:write` as well
/// as read: a 403 naming the write scope with read alone, a 403 with write alone, and `false`
/// needs read only.
pub async fn assert_include_deleted_needs_write(api: &Api, resource: &str, uris: [String; 2]) {
    let read = api.token_with(&[&format!("{resource}:read")]);
    let write = api.token_with(&[&format!("{resource}:write")]);
    let write_scope = format!("{resource}:write");
    for uri in uris {
        let r = api.call("GET", &uri, &read, None).await;
        assert_problem(&r, 403, "forbidden");
        assert!(
            r.body["detail"]
                .as_str()
                .unwrap()
                .contains(write_scope.as_str()),
            "{}",
            r.text
        );
        // A write scope does not imply read.
        assert_problem(&api.call("GET", &uri, &write, None).await, 403, "forbidden");
        let false_uri = uri.replace("=true", "=false");
        let r = api.call("GET", &false_uri, &read, None).await;
        assert_eq!(r.status, 200, "{false_uri}: {}", r.text);
    }
}

/// The member names of a JSON object.
pub fn member_names(v: &Value) -> std::collections::BTreeSet<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

/// The status of every spawned request, in spawn order.
pub async fn join_statuses(tasks: Vec<tokio::task::JoinHandle<u16>>) -> Vec<u16> {
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("task"));
    }
    statuses
}

/// Runs `n` copies of `f` at once and returns their statuses.
pub async fn race<F, Fut>(n: usize, f: F) -> Vec<u16>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = u16> + Send + 'static,
{
    join_statuses((0..n).map(|i| tokio::spawn(f(i))).collect()).await
}

/// How many of `statuses` are `status`.
pub fn count_of(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

/// `call` with a given token, one method each: the body-less reads and actions, and the writes.
impl Api {
    pub async fn get_as(&self, uri: &str, token: &str) -> Response {
        self.call("GET", uri, token, None).await
    }

    pub async fn delete_as(&self, uri: &str, token: &str) -> Response {
        self.call("DELETE", uri, token, None).await
    }

    /// A POST without a body (an action route: approve, reject, revoke).
    pub async fn post_empty_as(&self, uri: &str, token: &str) -> Response {
        self.call("POST", uri, token, None).await
    }

    pub async fn post_as(&self, uri: &str, token: &str, body: Value) -> Response {
        self.call("POST", uri, token, Some(body)).await
    }

    pub async fn patch_as(&self, uri: &str, token: &str, body: Value) -> Response {
        self.call("PATCH", uri, token, Some(body)).await
    }
}

/// `assert_invalid`, saying which case failed.
pub fn assert_invalid_for(r: &Response, fields: &[&str], case: impl std::fmt::Display) {
    assert_problem(r, 400, "validation-error");
    assert_eq!(bad_fields(r), fields, "{case}: {}", r.text);
}

/// Asserts the envelope of a record this test's `user-1` has just created, with no app: this
/// tenant, created and updated by the caller, not deleted, revision 1.
pub fn assert_fresh_envelope(api: &Api, record: &Value) {
    assert_eq!(record["tenant_id"], api.tenant.as_str());
    assert_eq!(record["app_id"], Value::Null);
    assert_eq!(record["created_by"], "user-1");
    assert_eq!(record["updated_by"], "user-1");
    assert_eq!(record["is_deleted"], false);
    assert_eq!(record["deleted_at"], Value::Null);
    assert_eq!(record["deleted_by"], Value::Null);
    assert_eq!(record["revision"], 1);
}

impl Api {
    /// Awaits `request` on a reset request counter and asserts it made exactly the DynamoDB
    /// requests `expected` counts (as `counts` spells them); returns what it returned.
    pub async fn expect_requests<T>(
        &self,
        expected: &[(&str, u64)],
        request: impl std::future::Future<Output = T>,
    ) -> T {
        self.counter.reset();
        let out = request.await;
        assert_eq!(self.counter.snapshot(), counts(expected));
        out
    }
}

impl Api {
    /// A PATCH of `body` that must answer 200 and make exactly the DynamoDB requests `expected`.
    pub async fn expect_patch(&self, expected: &[(&str, u64)], uri: &str, body: Value) -> Response {
        self.expect_answer(200, expected, self.patch(uri, body))
            .await
    }
}

/// Asserts how many of `statuses` are each status: `&[(201, 1), (409, 19)]`.
pub fn assert_tally(statuses: &[u16], tally: &[(u16, usize)]) {
    for (status, n) in tally {
        assert_eq!(count_of(statuses, *status), *n, "{status}: {statuses:?}");
    }
}

/// Asserts `record` has exactly the members of `groups` together (the envelope's and a
/// resource's own), no more and no fewer.
pub fn assert_members(record: &Value, groups: &[&[&str]]) {
    let expected: std::collections::BTreeSet<&str> =
        groups.iter().flat_map(|g| g.iter().copied()).collect();
    assert_eq!(member_names(record), expected, "{record}");
}

impl Api {
    /// POSTs `body` as raw bytes with this content type (`send_bytes`).
    pub async fn post_bytes(&self, uri: &str, content_type: &str, body: &[u8]) -> Response {
        send_bytes(self, "POST", uri, Some(content_type), body).await
    }
}

/// A body-less POST (an action) with `If-Match: tag`.
pub async fn post_if_match(api: &Api, token: &str, uri: &str, tag: &str) -> Response {
    send(api, token, "POST", uri, Some(tag), None).await
}

impl Api {
    /// `expect_requests` for a request that must also answer `status`.
    pub async fn expect_answer(
        &self,
        status: u16,
        expected: &[(&str, u64)],
        request: impl std::future::Future<Output = Response>,
    ) -> Response {
        let r = self.expect_requests(expected, request).await;
        assert_eq!(r.status, status, "{}", r.text);
        r
    }
}

/// Asserts each member of `expected` (an object) is the record's member of that name, naming
/// the field that differs.
pub fn assert_fields(record: &Value, expected: Value) {
    for (field, value) in expected.as_object().expect("expected fields as an object") {
        assert_eq!(&record[field], value, "{field} in {record}");
    }
}

/// Asserts `after` is `before` but for the members `changed` (whatever `after` says they are
/// now): everything else as it was.
pub fn assert_only_changed(before: &Value, after: &Value, changed: &[&str]) {
    let mut expected = before.clone();
    for field in changed {
        expected[*field] = after[*field].clone();
    }
    assert_eq!(after, &expected, "more than {changed:?} changed");
}

/// Every server-owned envelope field, set to what a client must never get to set: the record
/// id `id`, another tenant and app, old stamps, a deleted flag, a schema version and revision.
pub fn foreign_envelope(id: &str) -> Value {
    json!({
        "id": id,
        "tenant_id": "someone-else",
        "app_id": "app-x",
        "created_at": "2001-01-01T00:00:00Z",
        "updated_at": "2001-01-01T00:00:00Z",
        "created_by": "mallory",
        "updated_by": "mallory",
        "is_deleted": true,
        "deleted_at": "2001-01-01T00:00:00Z",
        "deleted_by": "mallory",
        "schema_version": 99,
        "revision": 42,
    })
}

/// Asserts each `(query, field)` of `cases`, sent as `GET {uri}?{query}`, is a validation error
/// naming exactly `field`.
pub async fn assert_bad_queries(api: &Api, uri: &str, cases: &[(&str, &str)]) {
    for (query, field) in cases {
        let r = api.get(&format!("{uri}?{query}")).await;
        assert_invalid_for(&r, &[field], query);
    }
}
