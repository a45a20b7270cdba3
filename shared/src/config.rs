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

#[derive(Debug, Clone)]
pub struct Config {
    pub table_name: String,
    /// Set locally (DynamoDB Local); unset on AWS.
    pub dynamodb_endpoint: Option<String>,
    pub auth: AuthConfig,
    /// Signs list cursors, so a client cannot forge or retarget one.
    pub cursor_secret: Vec<u8>,
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
        Ok(Config {
            table_name: var("TABLE_NAME").unwrap_or_else(|| DEFAULT_TABLE_NAME.into()),
            dynamodb_endpoint: var("DYNAMODB_ENDPOINT"),
            auth,
            cursor_secret: cursor_secret.into_bytes(),
        })
    }
}
