//! Opaque list cursors: the position of the last item read, signed with `CURSOR_SECRET` and bound
//! to who asked (tenant, app), what (collection) and how (filters). A cursor that was tampered
//! with, or made for another tenant, app, collection or filter, fails the signature check.

use crate::error::{ApiError, ApiResult};
use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::{BTreeMap, HashMap};

type HmacSha256 = Hmac<Sha256>;

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
        push("v1");
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

fn mac(secret: &[u8], binding: &Binding, payload: &[u8]) -> ApiResult<HmacSha256> {
    let mut mac = HmacSha256::new_from_slice(secret)
        .map_err(|_| ApiError::Internal("cursor secret unusable".into()))?;
    mac.update(&binding.bytes());
    mac.update(payload);
    Ok(mac)
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
                plain.insert(name.clone(), s.clone());
            }
            _ => return Err(ApiError::Internal("non-string key attribute".into())),
        }
    }
    let payload =
        serde_json::to_vec(&plain).map_err(|e| ApiError::Internal(format!("cursor: {e}")))?;
    let tag = mac(secret, binding, &payload)?.finalize().into_bytes();
    Ok(format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&payload),
        URL_SAFE_NO_PAD.encode(tag)
    ))
}

fn bad() -> ApiError {
    ApiError::field("cursor", "is not a valid cursor for this list")
}

/// Decodes a cursor, checking its signature against this request's binding and that every key
/// stays inside the caller's tenant.
pub fn decode(
    secret: &[u8],
    binding: &Binding,
    cursor: &str,
) -> ApiResult<HashMap<String, AttributeValue>> {
    let (payload_b64, tag_b64) = cursor.split_once('.').ok_or_else(bad)?;
    let payload = URL_SAFE_NO_PAD.decode(payload_b64).map_err(|_| bad())?;
    let tag = URL_SAFE_NO_PAD.decode(tag_b64).map_err(|_| bad())?;
    mac(secret, binding, &payload)?
        .verify_slice(&tag)
        .map_err(|_| bad())?;
    let plain: BTreeMap<String, String> = serde_json::from_slice(&payload).map_err(|_| bad())?;
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

    #[test]
    fn round_trip() {
        let b = binding("t1", None, &[("status", "active")]);
        let c = encode(SECRET, &b, &key("t1")).unwrap();
        assert_eq!(decode(SECRET, &b, &c).unwrap(), key("t1"));
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
        let (p, t) = c.split_once('.').unwrap();
        let forged_payload = URL_SAFE_NO_PAD.encode(br#"{"PK":"T#t2#AST","SK":"x"}"#);
        assert!(decode(SECRET, &b, &format!("{forged_payload}.{t}")).is_err());
        assert!(decode(SECRET, &b, &format!("{p}.AAAA")).is_err());
        assert!(decode(SECRET, &b, "garbage").is_err());
        assert!(decode(SECRET, &b, "").is_err());
        assert!(decode(b"another-secret-another-secret-xx", &b, &c).is_err());
    }
}
