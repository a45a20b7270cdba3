//! Tokens this process has verified, so a warm function does not verify the same token again.
//!
//! A client sends one token for many requests (it lives minutes to hours), and verifying it
//! (base64, two JSON parses, the signature, the claims) was a fifth of technology-get's own CPU
//! per request. An entry answers only for the very same token, checked against the very key
//! object that verified it (`Arc::ptr_eq`: a refreshed JWKS builds new keys, so a rotated key is
//! verified afresh), and only while its `exp`/`nbf` still pass as the verifier would check them
//! now; anything else goes the whole way through `Verifier::verify`. Refusals are never kept:
//! every error a client sees comes from the full check.
//!
//! Entries are found by the token's SHA-256, never by comparing token text: a comparison that
//! stops at the first differing byte would tell a caller, by its time, how much of a kept token
//! it has guessed.

use super::{Caller, PinnedKey, LEEWAY_SECONDS};
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Far above the distinct tokens one warm function sees between two cold starts in practice; a
/// bound on memory and on the scan of a miss.
const CAPACITY: usize = 16;

/// One verified token and what it proved.
pub(crate) struct Verified {
    /// SHA-256 of the token.
    pub(crate) token: [u8; 32],
    /// The header's `kid`, to select the key again.
    pub(crate) kid: Option<Box<str>>,
    pub(crate) key: Arc<PinnedKey>,
    pub(crate) exp: u64,
    pub(crate) nbf: Option<u64>,
    pub(crate) caller: Caller,
}

impl Verified {
    /// Whether `exp` and `nbf` pass at `now` (seconds since the epoch) as `jsonwebtoken`'s
    /// validation checks them, with our leeway: `exp < now - leeway` is expired, `nbf > now +
    /// leeway` not yet valid.
    pub(crate) fn current(&self, now: u64) -> bool {
        self.exp >= now.saturating_sub(LEEWAY_SECONDS)
            && self
                .nbf
                .is_none_or(|nbf| nbf <= now.saturating_add(LEEWAY_SECONDS))
    }
}

/// What a token is kept and found under.
pub(crate) fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The most recently verified tokens, newest first.
#[derive(Default)]
pub(crate) struct VerifiedTokens {
    entries: Mutex<VecDeque<Arc<Verified>>>,
}

impl VerifiedTokens {
    pub(crate) fn get(&self, token: &str) -> Option<Arc<Verified>> {
        let digest = digest(token);
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.iter().find(|v| v.token == digest).cloned()
    }

    /// Keeps `verified`, replacing an entry for the same token and dropping the oldest when full.
    pub(crate) fn insert(&self, verified: Verified) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|v| v.token != verified.token);
        if entries.len() == CAPACITY {
            entries.pop_back();
        }
        entries.push_front(Arc::new(verified));
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{Algorithm, DecodingKey};

    fn verified(token: &str, exp: u64, nbf: Option<u64>) -> Verified {
        Verified {
            token: digest(token),
            kid: None,
            key: Arc::new(PinnedKey {
                alg: Algorithm::HS256,
                key: DecodingKey::from_secret(b"k"),
            }),
            exp,
            nbf,
            caller: Caller {
                tenant_id: "t".into(),
                sub: "s".into(),
                app_id: None,
                scopes: Default::default(),
                groups: vec![],
                request_id: String::new(),
            },
        }
    }

    #[test]
    fn current_is_the_verifiers_exp_and_nbf_rule_with_its_leeway() {
        let now = 1_000_000;
        let l = LEEWAY_SECONDS;
        for (exp, nbf, current) in [
            (now + 1, None, true),
            (now, None, true),
            (now - l, None, true),
            (now - l - 1, None, false),
            (now + 10, Some(now + l), true),
            (now + 10, Some(now + l + 1), false),
            (now + 10, Some(0), true),
        ] {
            assert_eq!(
                verified("x", exp, nbf).current(now),
                current,
                "{exp} {nbf:?}"
            );
        }
    }

    #[test]
    fn answers_only_the_same_token_and_keeps_the_newest_sixteen() {
        let cache = VerifiedTokens::default();
        cache.insert(verified("a.b.c", 1, None));
        assert!(cache.get("a.b.c").is_some());
        assert!(cache.get("a.b.d").is_none());
        assert!(cache.get("a.b.c ").is_none());
        cache.insert(verified("a.b.c", 2, None));
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.get("a.b.c").map(|v| v.exp), Some(2));
        for i in 0..CAPACITY {
            cache.insert(verified(&format!("t{i}"), 1, None));
        }
        assert_eq!(cache.len(), CAPACITY);
        assert!(cache.get("a.b.c").is_none(), "the oldest goes first");
        assert!(cache.get("t0").is_some());
    }
}
