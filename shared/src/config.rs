//! Configuration, read from the environment once per cold start.

use std::env;

/// Development defaults: `make dev`, `make token` and the tests use the same ones.
pub const DEV_HS256_SECRET: &str = "dev-only-secret-change-me-0123456789abcdef";
pub const DEV_ISSUER: &str = "https://auth.local.test/";
pub const DEV_AUDIENCE: &str = "technology-api";
pub const DEFAULT_TABLE_NAME: &str = "technology";

#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// HS256 secret for local development (at least 32 bytes).
    pub hs256_secret: Option<String>,
    /// An identity provider's JWKS (https, or http on 127.0.0.1/localhost).
    pub jwks_url: Option<String>,
    pub issuer: String,
    pub audience: String,
}

impl AuthConfig {
    /// The development token setup (`DEV_*` above): what `make dev`, the tests and the benches
    /// verify their tokens with.
    pub fn development() -> AuthConfig {
        AuthConfig {
            hs256_secret: Some(DEV_HS256_SECRET.into()),
            jwks_url: None,
            issuer: DEV_ISSUER.into(),
            audience: DEV_AUDIENCE.into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub table_name: String,
    /// Set locally (DynamoDB Local); unset on AWS.
    pub dynamodb_endpoint: Option<String>,
    /// Whom the DynamoDB client's TLS trusts (`DYNAMODB_TRUST_STORE`; `store/trust.rs`).
    pub dynamodb_trust: TrustStore,
    pub auth: AuthConfig,
    /// Signs list cursors, so a client cannot forge or retarget one.
    pub cursor_secret: Vec<u8>,
    /// The API's public origin (`PUBLIC_BASE_URL`, no trailing `/`): what the AuthZEN metadata
    /// document names its endpoints under (API.md §9). Never taken from a request's `Host`.
    pub public_base_url: Option<String>,
}

/// The certificate authorities the DynamoDB client trusts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustStore {
    /// The compiled-in Amazon Trust Services roots: what AWS's endpoints chain to.
    Amazon,
    /// The system's store, read at the client's first connection (the SDK's default).
    System,
}

impl TrustStore {
    /// `DYNAMODB_TRUST_STORE` (`amazon` or `system`) when set; otherwise the Amazon roots for
    /// AWS's own endpoint or a plain-HTTP one (where no certificate is checked), and the
    /// system's for an `https://` endpoint of one's own (a proxy, a TLS-inspecting gateway).
    pub fn choose(setting: Option<&str>, endpoint: Option<&str>) -> Result<Self, ConfigError> {
        match setting.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
            Some("amazon") => Ok(TrustStore::Amazon),
            Some("system") => Ok(TrustStore::System),
            Some(other) => Err(ConfigError::Invalid(format!(
                "DYNAMODB_TRUST_STORE {other:?} is neither \"amazon\" nor \"system\""
            ))),
            None => match endpoint {
                Some(url) if !url.trim().to_ascii_lowercase().starts_with("http://") => {
                    Ok(TrustStore::System)
                }
                _ => Ok(TrustStore::Amazon),
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Invalid(String),
}

fn var(name: &str) -> Option<String> {
    env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let auth = AuthConfig {
            hs256_secret: var("JWT_HS256_SECRET"),
            jwks_url: var("JWT_JWKS_URL"),
            issuer: var("JWT_ISSUER")
                .ok_or_else(|| ConfigError::Invalid("JWT_ISSUER is required".into()))?,
            audience: var("JWT_AUDIENCE")
                .ok_or_else(|| ConfigError::Invalid("JWT_AUDIENCE is required".into()))?,
        };
        if auth.hs256_secret.is_none() && auth.jwks_url.is_none() {
            return Err(ConfigError::Invalid(
                "set JWT_HS256_SECRET and/or JWT_JWKS_URL".into(),
            ));
        }
        let cursor_secret = var("CURSOR_SECRET")
            .ok_or_else(|| ConfigError::Invalid("CURSOR_SECRET is required".into()))?;
        if cursor_secret.len() < 32 {
            return Err(ConfigError::Invalid(
                "CURSOR_SECRET must be at least 32 bytes".into(),
            ));
        }
        let public_base_url = var("PUBLIC_BASE_URL")
            .map(|url| public_base_url(&url))
            .transpose()?;
        let dynamodb_endpoint = var("DYNAMODB_ENDPOINT");
        let dynamodb_trust = TrustStore::choose(
            var("DYNAMODB_TRUST_STORE").as_deref(),
            dynamodb_endpoint.as_deref(),
        )?;
        Ok(Config {
            table_name: var("TABLE_NAME").unwrap_or_else(|| DEFAULT_TABLE_NAME.into()),
            dynamodb_endpoint,
            dynamodb_trust,
            auth,
            cursor_secret: cursor_secret.into_bytes(),
            public_base_url,
        })
    }
}

/// `PUBLIC_BASE_URL` as an origin: http(s), a host, no query or fragment; a trailing `/` is
/// dropped so endpoint paths join it with exactly one.
pub fn public_base_url(raw: &str) -> Result<String, ConfigError> {
    let invalid =
        || ConfigError::Invalid(format!("PUBLIC_BASE_URL {raw:?} is not an http(s) origin"));
    let url = url::Url::parse(raw.trim()).map_err(|_| invalid())?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host_str().is_none()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(invalid());
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::{public_base_url, TrustStore};

    #[test]
    fn only_an_https_endpoint_of_ones_own_keeps_the_system_roots_unless_told() {
        let choose = |setting, endpoint| TrustStore::choose(setting, endpoint).unwrap();
        assert_eq!(choose(None, None), TrustStore::Amazon);
        assert_eq!(
            choose(None, Some("http://127.0.0.1:8000")),
            TrustStore::Amazon
        );
        assert_eq!(choose(None, Some("HTTP://localhost")), TrustStore::Amazon);
        assert_eq!(
            choose(None, Some("https://ddb.example.internal")),
            TrustStore::System
        );
        assert_eq!(choose(Some("system"), None), TrustStore::System);
        assert_eq!(
            choose(Some(" Amazon "), Some("https://x")),
            TrustStore::Amazon
        );
        let err = TrustStore::choose(Some("none"), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("DYNAMODB_TRUST_STORE \"none\""), "{err}");
    }

    #[test]
    fn public_base_url_is_an_origin_without_trailing_slash() {
        assert_eq!(
            public_base_url("http://127.0.0.1:3000").unwrap(),
            "http://127.0.0.1:3000"
        );
        assert_eq!(
            public_base_url("https://api.example.com/").unwrap(),
            "https://api.example.com"
        );
        assert_eq!(
            public_base_url("https://example.com/tech/").unwrap(),
            "https://example.com/tech"
        );
        for bad in [
            "ftp://x",
            "not a url",
            "https://x/?q=1",
            "https://x/#f",
            "/relative",
        ] {
            assert!(public_base_url(bad).is_err(), "{bad}");
        }
    }
}
