//! Every key of the single table. Nothing else builds a PK, SK or index key.
//!
//! The tenant comes first in every partition key, so no query can cross tenants. Tenant and app
//! ids are checked by `auth` to contain no `#`, which keeps these keys unambiguous.

use sha2::{Digest, Sha256};

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const GSI1: &str = "GSI1";
pub const GSI1PK: &str = "GSI1PK";
pub const GSI1SK: &str = "GSI1SK";
pub const GSI2: &str = "GSI2";
pub const GSI2PK: &str = "GSI2PK";
pub const GSI2SK: &str = "GSI2SK";
pub const EXPIRY: &str = "EXPIRY";
pub const EXP_PK: &str = "EXP_PK";
pub const EXP_SK: &str = "EXP_SK";
/// Shards of the expiry index: spreads a burst of expiries over several partitions.
pub const EXPIRY_SHARDS: u32 = 16;

/// The kinds of record and guard item, each its own partition per tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Asset,
    AssetName,
    Entitlement,
    Grant,
    AccessRequest,
    MetadataAttribute,
}

impl Kind {
    fn tag(self) -> &'static str {
        match self {
            Kind::Asset => "AST",
            Kind::AssetName => "ASTNAME",
            Kind::Entitlement => "ENT",
            Kind::Grant => "GRANT",
            Kind::AccessRequest => "ARQ",
            Kind::MetadataAttribute => "AMD",
        }
    }
}

/// Partition key of a tenant's collection of one kind.
pub fn pk(tenant: &str, kind: Kind) -> String {
    format!("T#{tenant}#{}", kind.tag())
}

/// The prefix every key of a tenant starts with (cursor checks use it).
pub fn tenant_prefix(tenant: &str) -> String {
    format!("T#{tenant}#")
}

/// GSI1 partition of an asset's entitlements.
pub fn entitlements_by_asset(tenant: &str, asset_id: &str) -> String {
    format!("T#{tenant}#AST#{asset_id}")
}

/// GSI2 partition of a principal's entitlements. The principal type is not part of the key, so
/// listing by `principal_id` alone still reads one partition; the type is a filter.
pub fn entitlements_by_principal(tenant: &str, principal_id: &str) -> String {
    format!("T#{tenant}#PRN#{principal_id}")
}

/// Guard item of one live grant: (asset, principal, entitlement type) is unique while live.
pub fn grant_sk(asset_id: &str, principal_type: &str, principal_id: &str, etype: &str) -> String {
    // Principal ids and entitlement types are free-form: hash them so no separator can be forged.
    let mut h = Sha256::new();
    for part in [principal_id, etype] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    format!("{asset_id}#{principal_type}#{}", hex(&h.finalize()))
}

/// GSI1 partition of a tenant's access requests with one status.
pub fn access_requests_by_status(tenant: &str, status: &str) -> String {
    format!("T#{tenant}#ARQ#{status}")
}

/// GSI1 partition of a tenant's metadata attributes, sorted by their `amd_` id: the base
/// table keys them by `key`, but lists are newest first by creation (ULIDs sort by time).
pub fn attributes_by_creation(tenant: &str) -> String {
    format!("T#{tenant}#AMD#BY_ID")
}

/// A record's history: its own item collection, so it reads consistent and in revision order.
pub fn history_pk(tenant: &str, resource_id: &str) -> String {
    format!("T#{tenant}#HIS#{resource_id}")
}

/// A history event's sort key: the revision, zero-padded so string order is revision order.
pub fn history_sk(revision: i64) -> String {
    format!("{revision:010}")
}

/// GSI1 partition of a tenant's audit feed (sort key `<at>#<event id>`). One partition per
/// tenant: its index ceiling (about 1,000 event writes a second) is the tenant's write ceiling.
pub fn audit_feed(tenant: &str) -> String {
    format!("T#{tenant}#EVT")
}

/// An idempotency key's item (API.md §11): scoped to tenant, app and caller `sub`, each key its
/// own partition. App, sub and key are free-form, so they are hashed, length-prefixed, like a
/// grant's parts; the item also keeps them in the clear for operators.
pub fn idempotency_pk(tenant: &str, app_id: Option<&str>, sub: &str, key: &str) -> String {
    let mut h = Sha256::new();
    for part in [app_id.unwrap_or(""), sub, key] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    h.update([u8::from(app_id.is_some())]);
    format!("T#{tenant}#IDK#{}", hex(&h.finalize()))
}

/// The sort key of every idempotency key item (one item per partition).
pub const IDEMPOTENCY_SK: &str = "KEY";

/// Expiry index partition, spread over shards by a hash of the record id.
pub fn expiry_pk(id: &str) -> String {
    let digest = Sha256::digest(id.as_bytes());
    let shard = u32::from(digest[0]) % EXPIRY_SHARDS;
    expiry_shard_pk(shard)
}

pub fn expiry_shard_pk(shard: u32) -> String {
    format!("EXP#{shard}")
}

/// Expiry index sort key: due items sort first; `expires_at` is fixed-width UTC.
pub fn expiry_sk(expires_at: &str, tenant: &str, id: &str) -> String {
    format!("{expires_at}#{tenant}#{id}")
}

/// Lower-case hexadecimal, two digits a byte (hashes in keys and history).
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_leads_every_partition_key() {
        assert_eq!(pk("t1", Kind::Asset), "T#t1#AST");
        assert_eq!(pk("t1", Kind::AssetName), "T#t1#ASTNAME");
        assert!(entitlements_by_asset("t1", "ast_1").starts_with(&tenant_prefix("t1")));
        assert!(entitlements_by_principal("t1", "p").starts_with(&tenant_prefix("t1")));
        assert!(attributes_by_creation("t1").starts_with(&tenant_prefix("t1")));
        assert!(history_pk("t1", "ast_1").starts_with(&tenant_prefix("t1")));
        assert!(audit_feed("t1").starts_with(&tenant_prefix("t1")));
        assert!(idempotency_pk("t1", None, "s", "k").starts_with(&tenant_prefix("t1")));
        assert!(history_sk(9) < history_sk(10));
    }

    #[test]
    fn grant_keys_cannot_be_forged_with_separators() {
        let a = grant_sk("ast_1", "person", "a#b", "c");
        let b = grant_sk("ast_1", "person", "a", "b#c");
        assert_ne!(a, b);
        assert_eq!(a, grant_sk("ast_1", "person", "a#b", "c"));
    }

    #[test]
    fn idempotency_keys_are_scoped_and_unforgeable() {
        let k = |app, sub, key| idempotency_pk("t1", app, sub, key);
        assert_ne!(k(None, "a#b", "c"), k(None, "a", "b#c"));
        assert_ne!(k(None, "s", "k"), k(Some(""), "s", "k"));
        assert_ne!(k(Some("app"), "s", "k"), k(None, "s", "k"));
        assert_ne!(k(None, "s1", "k"), k(None, "s2", "k"));
        assert_ne!(
            idempotency_pk("t1", None, "s", "k"),
            idempotency_pk("t2", None, "s", "k")
        );
        assert_eq!(k(None, "s", "k"), k(None, "s", "k"));
    }

    #[test]
    fn expiry_shards_are_in_range_and_stable() {
        for i in 0..200 {
            let id = format!("ent_{i}");
            let pk = expiry_pk(&id);
            let shard: u32 = pk.trim_start_matches("EXP#").parse().unwrap();
            assert!(shard < EXPIRY_SHARDS);
            assert_eq!(pk, expiry_pk(&id));
        }
    }
}
