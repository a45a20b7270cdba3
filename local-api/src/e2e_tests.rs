//! The server end to end: real sockets, the real route table, DynamoDB Local (from
//! `DYNAMODB_ENDPOINT`, as `make test` sets it; skipped without one).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use shared::auth::{mint_hs256, TokenSpec};
use shared::config::{AuthConfig, Config};
use shared::state::State;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const SECRET: &str = "local-api-test-secret-0123456789abcdef";
const ISSUER: &str = "https://issuer.local-api.test/";
const AUDIENCE: &str = "local-api-test";

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
    /// Asserts the status, showing the body when it is another.
    fn assert_status(&self, status: u16) {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
    }
}

/// One HTTP/1.1 request on its own connection (blocking std I/O, off the runtime's threads).
async fn send(address: SocketAddr, head: String, body: Vec<u8>) -> Reply {
    tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(address).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        stream.write_all(head.as_bytes()).expect("write head");
        // The server may answer (and stop reading) before the whole body is sent.
        let _ = stream.write_all(&body);
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw);
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a complete response head");
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            .collect();
        Reply {
            status,
            headers,
            body: raw[split + 4..].to_vec(),
        }
    })
    .await
    .unwrap()
}

fn token() -> String {
    let spec = TokenSpec {
        sub: "local-api-test".into(),
        tenant_id: format!("t-{}", ulid::Ulid::generate()),
        app_id: None,
        scopes: shared::auth::Scope::ALL
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect(),
        ttl_seconds: 600,
    };
    mint_hs256(SECRET, ISSUER, AUDIENCE, &spec).unwrap()
}

/// Tokens signed with `secret` (HS256) only, no JWKS.
pub(crate) fn hs256_auth(secret: &str, issuer: &str, audience: &str) -> AuthConfig {
    AuthConfig {
        hs256_secret: Some(secret.into()),
        jwks_url: None,
        issuer: issuer.into(),
        audience: audience.into(),
    }
}

/// A state on DynamoDB Local (`DYNAMODB_ENDPOINT`) with a fresh table `<table_prefix>-<ulid>`;
/// `None`, and a line saying the test is skipped, without an endpoint.
pub(crate) async fn local_state(
    table_prefix: &str,
    auth: AuthConfig,
    public_base_url: Option<String>,
) -> Option<State> {
    let Some(endpoint) = std::env::var("DYNAMODB_ENDPOINT")
        .ok()
        .filter(|e| !e.is_empty())
    else {
        eprintln!("skipped: DYNAMODB_ENDPOINT is not set (make test sets it)");
        return None;
    };
    let config = Config {
        table_name: format!("{table_prefix}-{}", ulid::Ulid::generate()),
        dynamodb_endpoint: Some(endpoint),
        dynamodb_trust: shared::config::TrustStore::Amazon,
        auth,
        cursor_secret: vec![7; 32],
        public_base_url,
    };
    let state = State::new(config).await.unwrap();
    shared::store::table::ensure_table(&state.db, &state.config.table_name)
        .await
        .unwrap();
    Some(state)
}

#[tokio::test]
async fn serves_the_route_table_over_http() {
    let auth = hs256_auth(SECRET, ISSUER, AUDIENCE);
    let Some(state) = local_state("local-api-test", auth, None).await else {
        return;
    };

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(crate::server::serve(listener, state, async {
        let _ = stopped.await;
    }));
    let bearer = format!("Bearer {}", token());

    // An unknown route: a problem document whose request_id is the x-request-id header.
    let reply = send(
        address,
        format!(
            "GET /api/v1/nothing-here?x=1 HTTP/1.1\r\nhost: {address}\r\n\
             authorization: {bearer}\r\nconnection: close\r\n\r\n"
        ),
        vec![],
    )
    .await;
    assert_eq!(reply.status, 404);
    let request_id = reply
        .header("x-request-id")
        .expect("x-request-id")
        .to_owned();
    assert_eq!(request_id.len(), 26, "a ULID: {request_id}");
    assert_eq!(reply.json()["request_id"], request_id.as_str());

    // An empty list through the real handler (query string carried over).
    let reply = send(
        address,
        format!(
            "GET /api/v1/technology?limit=5 HTTP/1.1\r\nhost: {address}\r\n\
             authorization: {bearer}\r\nconnection: close\r\n\r\n"
        ),
        vec![],
    )
    .await;
    reply.assert_status(200);
    assert_eq!(reply.json()["items"], serde_json::json!([]));

    // A body over 256 KiB: read only up to the limit, answered 413 by the handler.
    let big = vec![b' '; 300 * 1024];
    let reply = send(
        address,
        format!(
            "POST /api/v1/technology HTTP/1.1\r\nhost: {address}\r\n\
             authorization: {bearer}\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n",
            big.len()
        ),
        big,
    )
    .await;
    reply.assert_status(413);
    assert!(reply.header("x-request-id").is_some());

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(15), server)
        .await
        .expect("the server stops after the shutdown signal")
        .unwrap();
}
