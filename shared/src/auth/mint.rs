//! HS256 tokens for local development (`make token`, `make dev`) and tests.
//!
//! Deliberately permissive about claim contents (and a negative `ttl_seconds` gives an already
//! expired token), so tests can mint the bad tokens the verifier must refuse.

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::MIN_SECRET_BYTES;
use crate::config::ConfigError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSpec {
    pub sub: String,
    pub tenant_id: String,
    pub app_id: Option<String>,
    pub scopes: Vec<String>,
    pub ttl_seconds: i64,
}

/// Signs `spec` with the shared secret. The header carries no `kid`, so a verifier with both a
/// secret and a JWKS checks it against the secret.
pub fn mint_hs256(
    secret: &str,
    issuer: &str,
    audience: &str,
    spec: &TokenSpec,
) -> Result<String, ConfigError> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(ConfigError::Invalid(format!(
            "the HS256 secret must be at least {MIN_SECRET_BYTES} bytes"
        )));
    }
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let exp = now
        .checked_add(spec.ttl_seconds)
        .filter(|exp| *exp >= 0)
        .ok_or_else(|| ConfigError::Invalid("ttl_seconds is out of range".into()))?;

    let mut claims = Map::new();
    claims.insert("iss".into(), Value::from(issuer));
    claims.insert("aud".into(), Value::from(audience));
    claims.insert("sub".into(), Value::from(spec.sub.as_str()));
    claims.insert("tenant_id".into(), Value::from(spec.tenant_id.as_str()));
    if let Some(app_id) = &spec.app_id {
        claims.insert("app_id".into(), Value::from(app_id.as_str()));
    }
    if !spec.scopes.is_empty() {
        claims.insert("scope".into(), Value::from(spec.scopes.join(" ")));
    }
    claims.insert("iat".into(), Value::from(now));
    claims.insert("exp".into(), Value::from(exp));

    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .map_err(|e| ConfigError::Invalid(format!("cannot sign the token: {e}")))
}
