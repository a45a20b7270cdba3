//! Opaque list cursors: the position of the last item read, encrypted and authenticated with a
//! key derived from `CURSOR_SECRET`, and bound to who asked (tenant, app), what (collection) and
//! how (filters).
//!
//! The position is a DynamoDB key, which names the table's attributes and leads with the tenant
//! id: a client must learn neither, so it is encrypted (AES-256-GCM-SIV), not only signed. The
//! binding is the associated data, so a cursor that was tampered with, or made for another
//! tenant, app, collection or filter, fails authentication and is never decrypted.

use crate::error::{ApiError, ApiResult};
use aes_gcm_siv::aead::{Aead, KeyInit, Payload};
use aes_gcm_siv::{Aes256GcmSiv, Nonce};
use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hkdf::Hkdf;
use sha2::Sha256;
use std::collections::{BTreeMap, HashMap};

/// Bytes of the random nonce that leads every cursor.
const NONCE_LEN: usize = 12;
/// HKDF `info`: this key is for cursors only, whatever else `CURSOR_SECRET` may one day derive.
const KEY_INFO: &[u8] = b"technology-api list cursor v2";

/// What a cursor is valid for. Filters are kept sorted so their order in the URL doesn't matter.
#[derive(Debug, Clone)]
pub struct Binding {
    pub tenant_id: String,
    pub app_id: Option<String>,
    pub collection: &'static str,
    pub filters: BTreeMap<String, String>,
}

impl Binding {
    fn bytes(&self) -> Vec<u8> {
        // Length-prefixed parts: no value can be crafted to shift into the next one.
        let mut out = Vec::new();
        let mut push = |s: &str| {
            out.extend_from_slice(&(s.len() as u64).to_be_bytes());
            out.extend_from_slice(s.as_bytes());
        };
        push("v2");
        push(&self.tenant_id);
        push(self.app_id.as_deref().unwrap_or(""));
        push(if self.app_id.is_some() {
            "app"
        } else {
            "person"
        });
        push(self.collection);
        for (k, v) in &self.filters {
            push(k);
            push(v);
        }
        out
    }
}

fn cipher(secret: &[u8]) -> ApiResult<Aes256GcmSiv> {
    let mut key = [0u8; 32];
    Hkdf::<Sha256>::new(None, secret)
        .expand(KEY_INFO, &mut key)
        .map_err(|_| ApiError::Internal("cursor key derivation failed".into()))?;
    Aes256GcmSiv::new_from_slice(&key)
        .map_err(|_| ApiError::Internal("cursor secret unusable".into()))
}

/// Encodes a DynamoDB key (string attributes only, as all our keys are).
pub fn encode(
    secret: &[u8],
    binding: &Binding,
    key: &HashMap<String, AttributeValue>,
) -> ApiResult<String> {
    let mut plain = BTreeMap::new();
    for (name, value) in key {
        match value {
            AttributeValue::S(s) => {
                plain.insert(name.as_str(), s.as_str());
            }
            _ => return Err(ApiError::Internal("non-string key attribute".into())),
        }
    }
    let plaintext =
        serde_json::to_vec(&plain).map_err(|e| ApiError::Internal(format!("cursor: {e}")))?;
    // GCM-SIV stays safe even if a random nonce ever repeats (it then only shows that two
    // cursors are equal), so 96 random bits per cursor need no counter.
    let nonce: [u8; NONCE_LEN] = rand::random();
    let aad = binding.bytes();
    let sealed = cipher(secret)?
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: &plaintext,
                aad: &aad,
            },
        )
        .map_err(|_| ApiError::Internal("cursor encryption failed".into()))?;
    let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(URL_SAFE_NO_PAD.encode(out))
}

pub fn bad() -> ApiError {
    ApiError::field("cursor", "is not a valid cursor for this list")
}

/// Decodes a cursor, checking it against this request's binding and that every partition key
/// stays inside the caller's tenant.
pub fn decode(
    secret: &[u8],
    binding: &Binding,
    cursor: &str,
) -> ApiResult<HashMap<String, AttributeValue>> {
    let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    if raw.len() <= NONCE_LEN {
        return Err(bad());
    }
    let (nonce, sealed) = raw.split_at(NONCE_LEN);
    let aad = binding.bytes();
    let plaintext = cipher(secret)?
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: &aad,
            },
        )
        .map_err(|_| bad())?;
    let plain: BTreeMap<String, String> = serde_json::from_slice(&plaintext).map_err(|_| bad())?;
    // Authentication already ties the cursor to this tenant; this is the second lock, in case a
    // bug ever encrypts another tenant's key under this binding.
    let prefix = crate::keys::tenant_prefix(&binding.tenant_id);
    let mut key = HashMap::new();
    for (name, value) in plain {
        if name.ends_with("PK") && !value.starts_with(&prefix) {
            return Err(bad());
        }
        key.insert(name, AttributeValue::S(value));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn binding(tenant: &str, app: Option<&str>, filters: &[(&str, &str)]) -> Binding {
        Binding {
            tenant_id: tenant.into(),
            app_id: app.map(String::from),
            collection: "technology",
            filters: filters
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn key(tenant: &str) -> HashMap<String, AttributeValue> {
        HashMap::from([
            (
                "PK".to_string(),
                AttributeValue::S(format!("T#{tenant}#AST")),
            ),
            ("SK".to_string(), AttributeValue::S("ast_01".into())),
        ])
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn round_trip() {
        let b = binding("t1", None, &[("status", "active")]);
        let c = encode(SECRET, &b, &key("t1")).unwrap();
        assert_eq!(decode(SECRET, &b, &c).unwrap(), key("t1"));
    }

    #[test]
    fn reveals_neither_tenant_nor_key_layout() {
        let tenant = "acme-corporation";
        let b = binding(tenant, None, &[]);
        let mut k = key(tenant);
        k.insert(
            "GSI1PK".into(),
            AttributeValue::S(format!("T#{tenant}#AST#ast_01")),
        );
        k.insert("GSI1SK".into(), AttributeValue::S("ent_01".into()));
        let c = encode(SECRET, &b, &k).unwrap();
        let bytes = URL_SAFE_NO_PAD.decode(&c).unwrap();
        // Needles of 4 bytes and more: shorter ones turn up in random bytes by chance.
        for needle in [
            tenant, "\"PK\"", "\"SK\"", "GSI1PK", "T#acme", "#AST", "ast_01", "ent_01",
        ] {
            assert!(
                !contains(&bytes, needle.as_bytes()),
                "{needle:?} in {bytes:?}"
            );
            assert!(!c.contains(needle), "{needle:?} in {c}");
        }
        assert_eq!(decode(SECRET, &b, &c).unwrap(), k);
    }

    #[test]
    fn bound_to_tenant_app_collection_and_filters() {
        let b = binding("t1", None, &[("status", "active")]);
        let c = encode(SECRET, &b, &key("t1")).unwrap();
        for other in [
            binding("t2", None, &[("status", "active")]),
            binding("t1", Some("app"), &[("status", "active")]),
            binding("t1", None, &[("status", "deprecated")]),
            binding("t1", None, &[]),
        ] {
            assert!(decode(SECRET, &other, &c).is_err());
        }
        let mut other_collection = b.clone();
        other_collection.collection = "entitlements";
        assert!(decode(SECRET, &other_collection, &c).is_err());
    }

    #[test]
    fn tampering_is_detected() {
        let b = binding("t1", None, &[]);
        let c = encode(SECRET, &b, &key("t1")).unwrap();
        let mut raw = URL_SAFE_NO_PAD.decode(&c).unwrap();
        for i in [0, NONCE_LEN, raw.len() - 1] {
            raw[i] ^= 1;
            assert!(decode(SECRET, &b, &URL_SAFE_NO_PAD.encode(&raw)).is_err());
            raw[i] ^= 1;
        }
        assert!(decode(SECRET, &b, &URL_SAFE_NO_PAD.encode(&raw[..raw.len() - 1])).is_err());
        let forged = URL_SAFE_NO_PAD.encode(br#"{"PK":"T#t2#AST","SK":"x"}"#);
        assert!(decode(SECRET, &b, &forged).is_err());
        assert!(decode(SECRET, &b, "garbage!").is_err());
        assert!(decode(SECRET, &b, "").is_err());
        assert!(decode(SECRET, &b, "AAAA").is_err());
        assert!(decode(b"another-secret-another-secret-xx", &b, &c).is_err());
    }

    #[test]
    fn another_tenants_key_under_this_binding_is_refused() {
        let b = binding("t1", None, &[]);
        let c = encode(SECRET, &b, &key("t2")).unwrap();
        assert!(decode(SECRET, &b, &c).is_err());
    }
}
