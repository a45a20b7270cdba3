//! The identity provider's JWKS: fetched lazily, cached for at most an hour, refetched (at most
//! once per 10 s) when a token names a key we do not know.
//!
//! Each key's algorithm is fixed here, from the key itself (RSA → RS256, EC P-256 → ES256), so a
//! token's header can never choose how it is verified.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext};
use aws_smithy_http_client::Connector;
use aws_smithy_runtime_api::client::http::HttpConnector;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_types::body::SdkBody;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http_body_util::BodyExt;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use tokio::sync::{Mutex, RwLock};
use url::{Host, Url};

use super::PinnedKey;
use crate::config::ConfigError;

/// Keys older than this are not trusted any more, so a rotated-out (or compromised) key stops
/// working within the hour even if the provider is unreachable.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(3600);
/// Unknown `kid`s are attacker-controlled; this bounds how often they can make us call the IdP.
pub(crate) const MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(10);
pub(crate) const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Default)]
pub(crate) struct Cache {
    pub(crate) keys: HashMap<String, Arc<PinnedKey>>,
    /// Last successful fetch: the age of `keys`.
    pub(crate) fetched_at: Option<Instant>,
    /// Last attempt, failed or not: the refetch rate limit counts from here.
    pub(crate) attempted_at: Option<Instant>,
}

impl Cache {
    fn lookup(&self, kid: &str, now: Instant) -> Option<Arc<PinnedKey>> {
        let fresh = self
            .fetched_at
            .is_some_and(|at| now.duration_since(at) < MAX_AGE);
        if fresh {
            self.keys.get(kid).cloned()
        } else {
            None
        }
    }

    fn recently_attempted(&self, now: Instant) -> bool {
        self.attempted_at
            .is_some_and(|at| now.duration_since(at) < MIN_REFETCH_INTERVAL)
    }
}

/// The HTTP client of the JWKS fetch: the SDK's own connector type (hyper and rustls), built with
/// the system's roots. A client of its own, even on the same hyper, would be a second copy of
/// the HTTP/1 and HTTP/2 client code in every function (≈ 300 KiB that each cold start maps).
/// It follows no redirect (one would let whoever controls the first host pick where keys come
/// from) and has no proxy (key material goes direct).
type HttpClient = Connector;

pub(crate) struct JwksSource {
    pub(crate) url: Url,
    client: HttpClient,
    pub(crate) cache: RwLock<Cache>,
    /// Held for the whole fetch, so concurrent requests with the same unknown `kid` wait for one
    /// fetch instead of each starting their own.
    refresh: Mutex<()>,
}

#[derive(Debug, thiserror::Error)]
pub(super) enum FetchError {
    #[error("request failed: {0}")]
    Http(#[from] ConnectorError),
    #[error("reading the body failed: {0}")]
    Body(aws_smithy_types::body::Error),
    #[error("not a request: {0}")]
    Request(String),
    #[error("unexpected status {0}")]
    Status(u16),
    #[error("response larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error("timed out after {FETCH_TIMEOUT:?}")]
    Timeout,
    #[error("not a JWK set: {0}")]
    Parse(#[from] serde_json::Error),
}

impl JwksSource {
    pub(crate) fn new(raw_url: &str) -> Result<Self, ConfigError> {
        let url = validate_url(raw_url)?;
        let client = http_client()?;
        Ok(Self {
            url,
            client,
            cache: RwLock::new(Cache::default()),
            refresh: Mutex::new(()),
        })
    }

    /// The usable key named `kid`, fetching the set when it is missing, stale or lacks `kid`
    /// (subject to the refetch rate limit). `None` means the token cannot be verified.
    pub(crate) async fn key_for(&self, kid: &str) -> Option<Arc<PinnedKey>> {
        if let Some(key) = self.cache.read().await.lookup(kid, Instant::now()) {
            return Some(key);
        }
        let _refreshing = self.refresh.lock().await;
        {
            // Whoever held the lock before us may have fetched exactly what we need.
            let cache = self.cache.read().await;
            let now = Instant::now();
            if let Some(key) = cache.lookup(kid, now) {
                return Some(key);
            }
            if cache.recently_attempted(now) {
                return None;
            }
        }
        let fetched = self.fetch().await;
        let mut cache = self.cache.write().await;
        let now = Instant::now();
        cache.attempted_at = Some(now);
        match fetched {
            Ok(keys) => {
                tracing::info!(jwks_url = %self.url, keys = keys.len(), "JWKS fetched");
                cache.keys = keys;
                cache.fetched_at = Some(now);
            }
            Err(error) => {
                tracing::warn!(jwks_url = %self.url, %error, "JWKS fetch failed; keeping the cached keys");
            }
        }
        cache.lookup(kid, now)
    }

    async fn fetch(&self) -> Result<HashMap<String, Arc<PinnedKey>>, FetchError> {
        // The client timeout should cover the body too; this makes sure of it.
        let body = tokio::time::timeout(FETCH_TIMEOUT, self.fetch_body())
            .await
            .map_err(|_| FetchError::Timeout)??;
        parse_jwks(&body)
    }

    async fn fetch_body(&self) -> Result<Vec<u8>, FetchError> {
        let request = http::Request::get(self.url.as_str())
            .header(http::header::ACCEPT, "application/json")
            .body(SdkBody::empty())
            .map_err(|e| FetchError::Request(e.to_string()))?;
        let request = aws_smithy_runtime_api::http::Request::try_from(request)
            .map_err(|e| FetchError::Request(e.to_string()))?;
        let response = self.client.call(request).await?;
        if !response.status().is_success() {
            return Err(FetchError::Status(response.status().as_u16()));
        }
        let declared = response
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > MAX_BODY_BYTES as u64) {
            return Err(FetchError::TooLarge);
        }
        // Content-Length may be absent or wrong: count what actually arrives.
        let mut body = Vec::new();
        let mut stream = response.into_body();
        while let Some(frame) = stream.frame().await {
            if let Ok(chunk) = frame.map_err(FetchError::Body)?.into_data() {
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(FetchError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
        }
        Ok(body)
    }
}

/// HTTPS with the system's trust store (an identity provider can be anywhere), or plain HTTP
/// (`validate_url` allows it for loopback only).
fn http_client() -> Result<HttpClient, ConfigError> {
    let context = TlsContext::builder()
        .with_trust_store(tls::TrustStore::empty().with_native_roots(true))
        .build()
        .map_err(|e| ConfigError::Invalid(format!("cannot build the JWKS HTTP client: {e}")))?;
    Ok(Connector::builder()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build())
}

fn validate_url(raw: &str) -> Result<Url, ConfigError> {
    let invalid = |why: &str| ConfigError::Invalid(format!("JWT_JWKS_URL {why}"));
    let url = Url::parse(raw).map_err(|_| invalid("is not a valid URL"))?;
    if !url.username().is_empty() || url.password().is_some() {
        // The URL is logged on fetch failures.
        return Err(invalid("must not contain credentials"));
    }
    let loopback = match url.host() {
        Some(Host::Domain(domain)) => domain == "localhost",
        Some(Host::Ipv4(ip)) => ip == Ipv4Addr::LOCALHOST,
        Some(Host::Ipv6(_)) => false,
        None => return Err(invalid("has no host")),
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(invalid(
            "must use https (http is allowed only for 127.0.0.1 and localhost)",
        )),
    }
}

#[derive(Deserialize)]
struct RawSet {
    keys: Vec<serde_json::Value>,
}

/// The members of a JWK we look at; anything else is ignored.
#[derive(Deserialize)]
struct RawJwk {
    kty: String,
    kid: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    key_ops: Option<Vec<String>>,
    alg: Option<String>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

/// A set whose document is broken is a failed fetch; a single odd key in a good document is
/// skipped, so one key we cannot use does not take the others down with it.
pub(super) fn parse_jwks(body: &[u8]) -> Result<HashMap<String, Arc<PinnedKey>>, FetchError> {
    let set: RawSet = serde_json::from_slice(body)?;
    let mut keys = HashMap::new();
    for value in set.keys {
        let raw: RawJwk = match serde_json::from_value(value) {
            Ok(raw) => raw,
            Err(error) => {
                tracing::debug!(%error, "skipping an unreadable JWK");
                continue;
            }
        };
        let Some(kid) = raw.kid.clone() else {
            // Only tokens with a `kid` are checked against the JWKS, so this key is unreachable.
            continue;
        };
        match pin(&raw) {
            Ok(key) => {
                // The first of duplicate `kid`s wins; later ones cannot be told apart by a token.
                keys.entry(kid).or_insert_with(|| Arc::new(key));
            }
            Err(why) => tracing::debug!(kid, why, "skipping an unusable JWK"),
        }
    }
    Ok(keys)
}

fn pin(raw: &RawJwk) -> Result<PinnedKey, &'static str> {
    if raw.use_.as_deref().is_some_and(|u| u != "sig") {
        return Err("use is not sig");
    }
    if let Some(ops) = &raw.key_ops {
        if !ops.iter().any(|op| op == "verify") {
            return Err("key_ops lacks verify");
        }
    }
    let (alg, key) = match raw.kty.as_str() {
        "RSA" => {
            let (Some(n), Some(e)) = (&raw.n, &raw.e) else {
                return Err("RSA key without n or e");
            };
            let modulus = URL_SAFE_NO_PAD
                .decode(n)
                .map_err(|_| "RSA n is not base64url")?;
            let exponent = URL_SAFE_NO_PAD
                .decode(e)
                .map_err(|_| "RSA e is not base64url")?;
            let bits = significant_bits(&modulus);
            // The range aws-lc accepts for RS256; outside it every verification would fail.
            if !(2048..=8192).contains(&bits) || exponent.is_empty() {
                return Err("RSA key size outside 2048..=8192 bits");
            }
            (
                Algorithm::RS256,
                DecodingKey::from_rsa_raw_components(&modulus, &exponent),
            )
        }
        "EC" => {
            if raw.crv.as_deref() != Some("P-256") {
                return Err("EC curve is not P-256");
            }
            let (Some(x), Some(y)) = (&raw.x, &raw.y) else {
                return Err("EC key without x or y");
            };
            let coordinate_len = |c: &str| URL_SAFE_NO_PAD.decode(c).map(|bytes| bytes.len());
            if coordinate_len(x) != Ok(32) || coordinate_len(y) != Ok(32) {
                return Err("EC coordinates are not 32 bytes of base64url");
            }
            let key = DecodingKey::from_ec_components(x, y).map_err(|_| "EC key is unreadable")?;
            (Algorithm::ES256, key)
        }
        _ => return Err("unsupported key type"),
    };
    if raw
        .alg
        .as_deref()
        .is_some_and(|declared| declared != super::alg_name(alg))
    {
        return Err("alg disagrees with the key type");
    }
    Ok(PinnedKey { alg, key })
}

fn significant_bits(big_endian: &[u8]) -> usize {
    match big_endian.iter().position(|b| *b != 0) {
        Some(first) => (big_endian.len() - first) * 8 - big_endian[first].leading_zeros() as usize,
        None => 0,
    }
}
