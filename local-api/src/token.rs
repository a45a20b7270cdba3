//! `local-api token`: a development HS256 token for the local stack.

use shared::auth::{mint_hs256, Scope, TokenSpec};

use crate::cli::TokenOptions;

/// The scopes to put in the token: the requested ones (each checked), or all of them.
pub fn scopes(requested: Option<&[String]>) -> Result<Vec<String>, String> {
    let known: Vec<&str> = Scope::ALL.iter().map(|scope| scope.as_str()).collect();
    match requested {
        None => Ok(known.iter().map(|s| s.to_string()).collect()),
        Some(requested) => requested
            .iter()
            .map(|scope| {
                if known.contains(&scope.as_str()) {
                    Ok(scope.clone())
                } else {
                    Err(format!(
                        "unknown scope {scope:?}; the scopes are: {}",
                        known.join(" ")
                    ))
                }
            })
            .collect(),
    }
}

pub fn mint(options: &TokenOptions) -> Result<String, String> {
    // Defaults were applied in main(); an empty secret means HS256 is switched off.
    let secret = std::env::var("JWT_HS256_SECRET").unwrap_or_default();
    if secret.is_empty() {
        return Err(
            "JWT_HS256_SECRET is empty: the API accepts no HS256 token, \
                    so there is nothing to sign a development token with"
                .into(),
        );
    }
    let issuer = std::env::var("JWT_ISSUER").unwrap_or_default();
    let audience = std::env::var("JWT_AUDIENCE").unwrap_or_default();
    let spec = TokenSpec {
        sub: options.sub.clone(),
        tenant_id: options.tenant.clone(),
        app_id: options.app.clone(),
        scopes: scopes(options.scopes.as_deref())?,
        ttl_seconds: options.ttl_seconds.into(),
    };
    mint_hs256(&secret, &issuer, &audience, &spec).map_err(|e| e.to_string())
}

pub fn print_token(options: &TokenOptions) -> Result<(), String> {
    println!("{}", mint(options)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_scopes_by_default() {
        let all = scopes(None).unwrap();
        assert_eq!(all.len(), Scope::ALL.len());
        assert!(all.iter().any(|s| s == "technology:read"));
    }

    #[test]
    fn requested_scopes_are_checked() {
        assert_eq!(
            scopes(Some(&["technology:read".to_string()])).unwrap(),
            vec!["technology:read".to_string()]
        );
        assert_eq!(scopes(Some(&[])).unwrap(), Vec::<String>::new());
        assert!(scopes(Some(&["technology:admin".to_string()])).is_err());
    }
}
