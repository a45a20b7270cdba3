//! Bearer-token authentication (API.md §1): who is calling, for which tenant (and app), with which
//! scopes.
//!
//! The algorithm a token is checked with is chosen by the key, never by the token: HS256 for the
//! shared secret, RS256 for a JWKS RSA key, ES256 for a JWKS P-256 key. A token whose header says
//! anything else is refused before any cryptography runs.

mod jwks;
pub mod mint;
mod verified;

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use crate::config::{AuthConfig, ConfigError};
use crate::error::ApiError;
use jwks::JwksSource;
use verified::{Verified, VerifiedTokens};

pub use mint::{mint_hs256, TokenSpec};

pub(crate) const MIN_SECRET_BYTES: usize = 32;
/// The most clock skew we forgive on `exp` and `nbf`.
const LEEWAY_SECONDS: u64 = 60;
/// Far above any real token; stops us base64-decoding megabytes for a header.
const MAX_TOKEN_BYTES: usize = 16 * 1024;
const MAX_SUB_CHARS: usize = 256;
const MAX_ID_LEN: usize = 128;
/// Bounds of the `groups` claim (API.md §10): far above what identity providers put in a token
/// (they switch to an overage claim long before), small enough that a token cannot make us
/// hold and compare megabytes of group ids.
pub const MAX_GROUPS: usize = 256;
pub const MAX_GROUP_CHARS: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    TechnologyRead,
    TechnologyWrite,
    EntitlementsRead,
    EntitlementsWrite,
    AccessRequestsRead,
    AccessRequestsWrite,
    AccessRequestsApprove,
    AccessRequestsProvision,
    MetadataRead,
    MetadataWrite,
    AuditRead,
    AccessRequestsApproveAny,
    AccessEvaluate,
}

impl Scope {
    pub const ALL: [Scope; 13] = [
        Scope::TechnologyRead,
        Scope::TechnologyWrite,
        Scope::EntitlementsRead,
        Scope::EntitlementsWrite,
        Scope::AccessRequestsRead,
        Scope::AccessRequestsWrite,
        Scope::AccessRequestsApprove,
        Scope::AccessRequestsProvision,
        Scope::MetadataRead,
        Scope::MetadataWrite,
        Scope::AuditRead,
        Scope::AccessRequestsApproveAny,
        Scope::AccessEvaluate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::TechnologyRead => "technology:read",
            Scope::TechnologyWrite => "technology:write",
            Scope::EntitlementsRead => "entitlements:read",
            Scope::EntitlementsWrite => "entitlements:write",
            Scope::AccessRequestsRead => "access-requests:read",
            Scope::AccessRequestsWrite => "access-requests:write",
            Scope::AccessRequestsApprove => "access-requests:approve",
            Scope::AccessRequestsProvision => "access-requests:provision",
            Scope::MetadataRead => "metadata:read",
            Scope::MetadataWrite => "metadata:write",
            Scope::AuditRead => "audit:read",
            Scope::AccessRequestsApproveAny => "access-requests:approve-any",
            Scope::AccessEvaluate => "access:evaluate",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The authenticated caller, from a verified token.
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant_id: String,
    pub sub: String,
    /// Present only on tokens minted for an Application / integration key.
    pub app_id: Option<String>,
    /// Granted scopes exactly as in the token (unknown ones kept, never matched by prefix).
    pub scopes: BTreeSet<String>,
    /// The token's `groups` claim (group ids, as the identity provider issued them; empty when
    /// absent): used only to tell an asset's owner group (API.md §10).
    pub groups: Vec<String>,
    /// The request's `x-request-id`: what its writes' history events name (API.md §8).
    pub request_id: String,
}

impl Caller {
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(scope.as_str())
    }

    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.has(scope) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "missing scope {}",
                scope.as_str()
            )))
        }
    }
}

/// A verification key with the one algorithm it may be used with.
pub(crate) struct PinnedKey {
    pub(crate) alg: Algorithm,
    pub(crate) key: DecodingKey,
}

/// Verifies bearer tokens. Build once per cold start and share: it caches the JWKS.
pub struct Verifier {
    secret: Option<Arc<PinnedKey>>,
    jwks: Option<JwksSource>,
    issuer: String,
    audience: String,
    verified: VerifiedTokens,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("hs256_secret", &self.secret.as_ref().map(|_| "[redacted]"))
            .field("jwks_url", &self.jwks.as_ref().map(|j| j.url.as_str()))
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

fn unauthorized(reason: &str) -> ApiError {
    ApiError::Unauthorized(reason.to_owned())
}

const MALFORMED_HEADER: &str = "malformed Authorization header; expected: Bearer <token>";
const MALFORMED_TOKEN: &str = "malformed token";
const ALG_NOT_ALLOWED: &str = "token algorithm not allowed for its key";

impl Verifier {
    pub fn new(cfg: &AuthConfig) -> Result<Verifier, ConfigError> {
        if cfg.issuer.trim().is_empty() {
            return Err(ConfigError::Invalid("JWT_ISSUER must not be empty".into()));
        }
        if cfg.audience.trim().is_empty() {
            return Err(ConfigError::Invalid(
                "JWT_AUDIENCE must not be empty".into(),
            ));
        }
        let secret = match &cfg.hs256_secret {
            Some(secret) if secret.len() < MIN_SECRET_BYTES => {
                return Err(ConfigError::Invalid(format!(
                    "JWT_HS256_SECRET must be at least {MIN_SECRET_BYTES} bytes"
                )));
            }
            Some(secret) => Some(Arc::new(PinnedKey {
                alg: Algorithm::HS256,
                key: DecodingKey::from_secret(secret.as_bytes()),
            })),
            None => None,
        };
        let jwks = cfg.jwks_url.as_deref().map(JwksSource::new).transpose()?;
        if secret.is_none() && jwks.is_none() {
            return Err(ConfigError::Invalid(
                "set JWT_HS256_SECRET and/or JWT_JWKS_URL".into(),
            ));
        }
        Ok(Verifier {
            secret,
            jwks,
            issuer: cfg.issuer.clone(),
            audience: cfg.audience.clone(),
            verified: VerifiedTokens::default(),
        })
    }

    /// Reads `Authorization: Bearer <jwt>` (scheme case-insensitive) and verifies the token.
    pub async fn authenticate(&self, headers: &http::HeaderMap) -> Result<Caller, ApiError> {
        let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
        let value = values
            .next()
            .ok_or_else(|| unauthorized("missing bearer token"))?;
        if values.next().is_some() {
            return Err(unauthorized("more than one Authorization header"));
        }
        let value = value.to_str().map_err(|_| unauthorized(MALFORMED_HEADER))?;
        let (scheme, token) = value
            .trim()
            .split_once(' ')
            .ok_or_else(|| unauthorized(MALFORMED_HEADER))?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(unauthorized("authorization scheme must be Bearer"));
        }
        let token = token.trim();
        // By byte, not by char: a token is hundreds of bytes and this runs on every request.
        if token.is_empty() || token.bytes().any(|b| b.is_ascii_whitespace()) {
            return Err(unauthorized(MALFORMED_HEADER));
        }
        self.verify(token).await
    }

    pub async fn verify(&self, token: &str) -> Result<Caller, ApiError> {
        if let Some(seen) = self.verified.get(token) {
            // The key is selected as a first verification would select it: a JWKS that no
            // longer has it (or has new key objects) sends the token the whole way again.
            let key = self.select_key(seen.kid.as_deref()).await?;
            if Arc::ptr_eq(&key, &seen.key) && seen.current(jsonwebtoken::get_current_timestamp()) {
                return Ok(seen.caller.clone());
            }
        }
        let header = read_header(token)?;
        if header.contains_key("crit") {
            return Err(unauthorized("unsupported critical token header"));
        }
        let alg = match header.get("alg") {
            Some(Value::String(alg)) => alg.as_str(),
            _ => return Err(unauthorized(MALFORMED_TOKEN)),
        };
        // No key of ours speaks anything else; refusing here spares a JWKS fetch.
        if !PINNABLE.iter().any(|pinnable| alg_name(*pinnable) == alg) {
            return Err(unauthorized(ALG_NOT_ALLOWED));
        }
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(kid)) => Some(kid.as_str()),
            Some(_) => return Err(unauthorized(MALFORMED_TOKEN)),
        };

        let pinned = self.select_key(kid).await?;
        if alg != alg_name(pinned.alg) {
            return Err(unauthorized(ALG_NOT_ALLOWED));
        }

        let claims = decode::<Map<String, Value>>(token, &pinned.key, &self.validation(pinned.alg))
            .map_err(|e| unauthorized(reason_for(e.kind())))?
            .claims;
        let caller = caller_from_claims(&claims)?;
        // Only integer times are kept: the recheck of a kept token compares integers as the
        // crate does, and any other form is verified in full every time.
        let exp = claims.get("exp").and_then(Value::as_u64);
        let nbf = claims.get("nbf").map(Value::as_u64);
        if let (Some(exp), None | Some(Some(_))) = (exp, nbf) {
            self.verified.insert(Verified {
                token: verified::digest(token),
                kid: kid.map(Into::into),
                key: pinned,
                exp,
                nbf: nbf.flatten(),
                caller: caller.clone(),
            });
        }
        Ok(caller)
    }

    async fn select_key(&self, kid: Option<&str>) -> Result<Arc<PinnedKey>, ApiError> {
        match (kid, &self.jwks, &self.secret) {
            (Some(kid), Some(jwks), _) => jwks
                .key_for(kid)
                .await
                .ok_or_else(|| unauthorized("unknown signing key")),
            // Without a JWKS a `kid` carries no meaning; the secret is the only key there is.
            (_, None, Some(secret)) | (None, Some(_), Some(secret)) => Ok(Arc::clone(secret)),
            (None, Some(_), None) => Err(unauthorized("token has no key id (kid)")),
            (_, None, None) => Err(unauthorized("no verification key configured")),
        }
    }

    fn validation(&self, alg: Algorithm) -> Validation {
        let mut validation = Validation::new(alg);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.set_issuer(&[self.issuer.as_str()]);
        validation.set_audience(&[self.audience.as_str()]);
        validation
    }
}

const PINNABLE: [Algorithm; 3] = [Algorithm::HS256, Algorithm::RS256, Algorithm::ES256];

pub(crate) fn alg_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::HS256 => "HS256",
        Algorithm::RS256 => "RS256",
        Algorithm::ES256 => "ES256",
        // Never pinned; a name no token header can match keeps such a key unusable.
        _ => "unsupported",
    }
}

/// The header as raw JSON: we need to see members (`crit`) and values (`alg: "none"`) that the
/// crate's typed `Header` either drops or refuses to parse.
fn read_header(token: &str) -> Result<Map<String, Value>, ApiError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(unauthorized(MALFORMED_TOKEN));
    }
    let mut parts = token.split('.');
    let (Some(header), Some(_payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(unauthorized(MALFORMED_TOKEN));
    };
    if signature.is_empty() {
        // Unsigned tokens (`alg: none`) end here whatever else they claim.
        return Err(unauthorized(MALFORMED_TOKEN));
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| unauthorized(MALFORMED_TOKEN))?;
    serde_json::from_slice(&bytes).map_err(|_| unauthorized(MALFORMED_TOKEN))
}

fn reason_for(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::ExpiredSignature => "token expired",
        ErrorKind::ImmatureSignature => "token not yet valid",
        ErrorKind::InvalidIssuer => "invalid issuer",
        ErrorKind::InvalidAudience => "invalid audience",
        ErrorKind::InvalidSignature => "invalid signature",
        ErrorKind::InvalidAlgorithm => ALG_NOT_ALLOWED,
        ErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
            "exp" => "missing claim exp",
            "iss" => "missing claim iss",
            "aud" => "missing claim aud",
            "sub" => "missing claim sub",
            _ => "missing a required claim",
        },
        ErrorKind::InvalidClaimFormat(claim) => match claim.as_str() {
            "exp" => "invalid claim exp",
            "nbf" => "invalid claim nbf",
            _ => "invalid claim",
        },
        _ => "invalid token",
    }
}

/// Rechecks what the crate checked loosely (it reads an `exp` string as "absent" in some
/// versions and accepts an `iss` array) and validates our own claims.
fn caller_from_claims(claims: &Map<String, Value>) -> Result<Caller, ApiError> {
    match claims.get("exp") {
        Some(Value::Number(_)) => {}
        None => return Err(unauthorized("missing claim exp")),
        Some(_) => return Err(unauthorized("invalid claim exp")),
    }
    match claims.get("nbf") {
        None | Some(Value::Number(_)) => {}
        Some(_) => return Err(unauthorized("invalid claim nbf")),
    }
    if !matches!(claims.get("iss"), Some(Value::String(_))) {
        return Err(unauthorized("invalid issuer"));
    }

    let sub = match claims.get("sub") {
        Some(Value::String(sub)) if !sub.is_empty() && sub.chars().count() <= MAX_SUB_CHARS => {
            sub.clone()
        }
        None | Some(Value::Null) => return Err(unauthorized("missing claim sub")),
        Some(_) => return Err(unauthorized("invalid claim sub")),
    };
    let tenant_id = match claims.get("tenant_id") {
        Some(Value::String(id)) if is_key_safe_id(id) => id.clone(),
        None | Some(Value::Null) => return Err(unauthorized("missing claim tenant_id")),
        Some(_) => return Err(unauthorized("invalid claim tenant_id")),
    };
    let app_id = match claims.get("app_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) if is_key_safe_id(id) => Some(id.clone()),
        Some(_) => return Err(unauthorized("invalid claim app_id")),
    };
    let scopes = match claims.get("scope") {
        None | Some(Value::Null) => BTreeSet::new(),
        Some(Value::String(scope)) => scope
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Some(_) => return Err(unauthorized("invalid claim scope")),
    };
    let groups = groups_claim(claims.get("groups"))?;
    Ok(Caller {
        tenant_id,
        sub,
        app_id,
        scopes,
        groups,
        request_id: String::new(),
    })
}

/// `groups`: absent or `null` is no groups; else an array of non-empty strings within
/// `MAX_GROUPS`/`MAX_GROUP_CHARS`. Anything else is refused rather than read as "no groups",
/// so a token that means something we cannot read never decides anything (401).
fn groups_claim(value: Option<&Value>) -> Result<Vec<String>, ApiError> {
    let invalid = || unauthorized("invalid claim groups");
    let items = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) if items.len() <= MAX_GROUPS => items,
        Some(_) => return Err(invalid()),
    };
    items
        .iter()
        .map(|item| match item {
            Value::String(g) if !g.is_empty() && g.chars().count() <= MAX_GROUP_CHARS => {
                Ok(g.clone())
            }
            _ => Err(invalid()),
        })
        .collect()
}

/// `^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$`: tenant and app ids become parts of DynamoDB keys, whose
/// separator is `#`.
fn is_key_safe_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_ID_LEN
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'@' | b'-'))
}

#[cfg(test)]
mod tests;
