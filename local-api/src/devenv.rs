//! The local development environment: defaults for unset variables, and `dev-env`'s shell exports.
//!
//! The defaults come from `shared::config` (one source of truth shared with the tests); the Makefile
//! and scripts never repeat them, they ask `local-api dev-env`.

use std::env;

use shared::config::{DEFAULT_TABLE_NAME, DEV_AUDIENCE, DEV_HS256_SECRET, DEV_ISSUER};

/// Signs list cursors locally (at least 32 bytes, as `Config::from_env` requires).
pub const DEV_CURSOR_SECRET: &str = "dev-only-cursor-secret-change-me-0123456789";

/// Variables that get a default when unset, in the order `dev-env` prints them.
pub const DEFAULTS: [(&str, &str); 5] = [
    ("TABLE_NAME", DEFAULT_TABLE_NAME),
    ("JWT_HS256_SECRET", DEV_HS256_SECRET),
    ("JWT_ISSUER", DEV_ISSUER),
    ("JWT_AUDIENCE", DEV_AUDIENCE),
    ("CURSOR_SECRET", DEV_CURSOR_SECRET),
];

/// Variables `dev-env` passes through when they are set (no default).
const PASSED_THROUGH: [&str; 8] = [
    "PUBLIC_BASE_URL",
    "JWT_JWKS_URL",
    "DYNAMODB_ENDPOINT",
    "AWS_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_EC2_METADATA_DISABLED",
    "RUST_LOG",
];

/// Sets every unset variable of [`DEFAULTS`]. Call it before any other thread exists.
pub fn apply_defaults() {
    for (name, value) in DEFAULTS {
        if env::var_os(name).is_none() {
            env::set_var(name, value);
        }
    }
}

/// `export NAME='value'` lines for the defaulted and passed-through variables that are set.
pub fn render() -> String {
    DEFAULTS
        .iter()
        .map(|(name, _)| *name)
        .chain(PASSED_THROUGH)
        .filter_map(|name| {
            env::var(name)
                .ok()
                .map(|value| format!("export {name}={}\n", shell_quote(&value)))
        })
        .collect()
}

/// Single-quotes a value for POSIX shells.
pub fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r#"'\''"#))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_for_the_shell() {
        assert_eq!(shell_quote("plain"), "'plain'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("it's $HOME"), r#"'it'\''s $HOME'"#);
    }

    #[test]
    fn defaults_satisfy_the_config_rules() {
        for secret in ["CURSOR_SECRET", "JWT_HS256_SECRET"] {
            let (_, value) = DEFAULTS.iter().find(|(n, _)| *n == secret).unwrap();
            assert!(value.len() >= 32, "{secret}");
        }
    }
}
