//! The access-model-metadata attribute catalog in DynamoDB: one item per attribute at
//! PK `T#<T>#AMD`, SK = the attribute's `key` (its unique, immutable technical name).
//!
//! - create: one `PutItem` conditional on `attribute_not_exists(PK)` (a taken key → 409).
//! - get: one consistent `GetItem`; `get_many`: one `BatchGetItem` per 100 keys.
//! - update: one read, then one `UpdateItem` conditional on the revision read.
//! - list: a query of GSI1's partition of the tenant's attributes, by `amd_` id (newest first:
//!   ULIDs sort by creation time, as in every other list).
//!
//! The catalog is the tenant's, shared by all its apps: no read or list filters by app.

use super::history;
use super::list::{Collection, Filter, Source};
use super::rewrite::Rewrite;
use super::tx::{Role, Tx};
use super::Store;
use super::{from_item, patched, retrying, s, Item};
use crate::auth::Caller;
use crate::domain::attribute::{self, Attribute, AttributeFields};
use crate::domain::error::DomainError;
use crate::domain::history::Action;
use crate::envelope::New;
use crate::error::{ApiError, ApiResult};
use crate::http::Patch;
use crate::keys::{self, Kind};
use crate::listing::ListParams;
use crate::time::Timestamp;
use std::collections::{BTreeSet, HashMap};

fn key(tenant: &str, attribute_key: &str) -> Item {
    super::key(tenant, Kind::MetadataAttribute, attribute_key)
}

fn record_item(attr: &Attribute) -> ApiResult<Item> {
    let mut item = super::searchable_item(attr)?;
    item.insert(
        keys::GSI1PK.into(),
        s(keys::attributes_by_creation(&attr.envelope.tenant_id)),
    );
    item.insert(keys::GSI1SK.into(), s(&attr.envelope.id));
    Ok(item)
}

fn key_taken(attribute_key: &str) -> ApiError {
    DomainError::AttributeKeyTaken(attribute_key.to_string()).into()
}

/// Creates an attribute; its key must be free in the tenant (409 otherwise).
pub async fn create(
    state: &Store,
    caller: &Caller,
    new: New<AttributeFields>,
) -> ApiResult<Attribute> {
    let mut tx = Tx::new();
    let (attr, event) = state.new_record(attribute::ID_PREFIX, caller, new)?;
    let mut item = record_item(&attr)?;
    item.extend(key(&caller.tenant_id, attr.key()));
    tx.put_record(item, &event, None, state.table())?.answer(
        &attr,
        attr.key(),
        attr.envelope.revision,
        state.table(),
    )?;
    match tx.send(&state.db).await? {
        Ok(()) => Ok(attr),
        Err(refusal) if refusal.failed(Role::Record) => Err(key_taken(attr.key())),
        Err(refusal) => Err(refusal.unexpected()),
    }
}

/// The tenant's attribute with this key, if there is one (one consistent `GetItem`; a key that
/// breaks the key pattern cannot exist and costs no read).
pub async fn get(state: &Store, tenant: &str, attribute_key: &str) -> ApiResult<Option<Attribute>> {
    if !attribute::is_valid_key(attribute_key) {
        return Ok(None);
    }
    let found = super::read(state, key(tenant, attribute_key)).await?;
    match found {
        None => Ok(None),
        Some(item) => {
            let attr: Attribute = from_item(item)?;
            Ok((attr.envelope.tenant_id == tenant).then_some(attr))
        }
    }
}

/// The tenant's attributes with these keys, by key, with their current definitions: what an
/// entitlement's `access_model_metadata` is rendered from (join on read). Keys that name no
/// attribute are simply absent from the map; duplicates are read once.
///
/// One consistent `BatchGetItem` per 100 distinct keys (none for an empty list), `batch::get`.
pub async fn get_many(
    state: &Store,
    tenant: &str,
    keys: &[String],
) -> ApiResult<HashMap<String, Attribute>> {
    let wanted: BTreeSet<&str> = keys
        .iter()
        .map(String::as_str)
        .filter(|k| attribute::is_valid_key(k))
        .collect();
    let items =
        super::batch::get(state, wanted.iter().map(|k| key(tenant, k)).collect(), None).await?;
    let mut found = HashMap::with_capacity(items.len());
    for item in items {
        let attr: Attribute = from_item(item)?;
        if attr.envelope.tenant_id == tenant {
            found.insert(attr.fields.key.clone(), attr);
        }
    }
    Ok(found)
}

/// Applies a PATCH (`patch.target.id` is the attribute's key) to the attribute as read
/// (`attribute::apply_patch`, validation included). One read and one write conditional on the
/// revision read; a write that loses a race re-reads (then a stale `If-Match` answers 412).
pub async fn update(state: &Store, caller: &Caller, patch: &Patch) -> ApiResult<Attribute> {
    let attribute_key = patch.target.id.as_str();
    retrying("attribute", move || async move {
        let current = get(state, &caller.tenant_id, attribute_key)
            .await?
            .ok_or(ApiError::NotFound)?;
        let planned = attribute::apply_patch(&current.fields, patch.body.clone());
        let mut next = patched(&current, planned, &patch.target, caller, Timestamp::now())?;
        if !history::is_change(&current, &next)? {
            return Ok(Some(current));
        }
        let event = history::by(state, caller, Action::Updated, Some(&current), &mut next)?;
        let write = Rewrite {
            key: key(&caller.tenant_id, attribute_key),
            item: record_item(&next)?,
            remove_if_absent: &[],
            keep: &[],
            expect: vec![("revision", super::n(current.envelope.revision))],
        };
        write.apply(state, &event, next).await
    })
    .await
}

/// The catalog newest first, through the creation-ordered index (the table keys it by name).
impl Collection for Attribute {
    const NAME: &'static str = "access-model-metadata-attributes";

    fn listing(caller: &Caller, params: &ListParams) -> (Source<'static>, Filter) {
        let mut filter = Filter::default();
        for (name, value) in &params.filters {
            filter.param(name, value);
        }
        let by_creation = keys::attributes_by_creation(&caller.tenant_id);
        (Source::gsi1(by_creation), filter)
    }
}
