//! Technology assets in DynamoDB: the asset item, its name guard, and the live-entitlement count.
//!
//! - create: one transaction (asset + name guard, both `attribute_not_exists`).
//! - update: one read, then one conditional write on the revision read (a transaction when the
//!   name moves its guard).
//! - delete: one read, then one transaction conditional on the revision and on the live count
//!   being 0, which also frees the name.

use super::expr::Expr;
use super::history;
use super::list::{Collection, Filter, Source};
use super::rewrite::Rewrite;
use super::tx::{Role, Tx};
use super::Store;
use super::{
    build_err, from_item, get_n, guard_action, patched, put_new_action, retrying, s, GuardChange,
    Item,
};
use crate::auth::Caller;
use crate::domain::asset::{self, Asset, AssetFields, Criticality};
use crate::domain::error::DomainError;
use crate::domain::history::Action;
use crate::envelope::New;
use crate::error::{ApiError, ApiResult};
use crate::http::{Patch, Target};
use crate::keys::{self, Kind};
use crate::listing::ListParams;
use crate::time::Timestamp;
use crate::vocab::Closed;
use aws_sdk_dynamodb::types::{
    AttributeValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};

/// The asset's count of `active`/`pending_approval` entitlements, kept beside the record.
pub const LIVE_ENTITLEMENTS: &str = "live_entitlements";

pub(crate) fn key(tenant: &str, id: &str) -> Item {
    super::key(tenant, Kind::Asset, id)
}

pub(crate) fn name_guard_key(tenant: &str, name: &str) -> Item {
    super::key(tenant, Kind::AssetName, name)
}

fn record_item(asset: &Asset) -> ApiResult<Item> {
    super::searchable_item(asset)
}

fn name_taken(name: &str) -> ApiError {
    DomainError::AssetNameTaken(name.to_string()).into()
}

fn put_name_guard(asset: &Asset, table: &str) -> ApiResult<TransactWriteItem> {
    let mut guard = name_guard_key(&asset.envelope.tenant_id, &asset.fields.name);
    guard.insert("asset_id".into(), s(&asset.envelope.id));
    // The owning app rides along, so resolving a name is one read that still respects apps.
    if let Some(app) = &asset.envelope.app_id {
        guard.insert("app_id".into(), s(app));
    }
    put_new_action(guard, table)
}

fn delete_name_guard(
    tenant: &str,
    name: &str,
    id: &str,
    table: &str,
) -> ApiResult<TransactWriteItem> {
    let key = name_guard_key(tenant, name);
    guard_action(GuardChange::Delete(key), "asset_id", id, table)
}

/// Creates an asset and claims its name, in one transaction.
pub async fn create(state: &Store, caller: &Caller, new: New<AssetFields>) -> ApiResult<Asset> {
    let (asset, event) = state.new_record(asset::ID_PREFIX, caller, new)?;
    let mut item = record_item(&asset)?;
    item.extend(key(&caller.tenant_id, &asset.envelope.id));
    item.insert(LIVE_ENTITLEMENTS.into(), super::n(0));
    let mut tx = Tx::new();
    tx.put_record(item, &event, None, state.table())?
        .add(Role::Guard, put_name_guard(&asset, state.table())?)
        .answer_record(&asset, state.table())?;
    match tx.send(&state.db).await? {
        Ok(()) => Ok(asset),
        Err(refusal) if refusal.failed(Role::Guard) => Err(name_taken(&asset.fields.name)),
        Err(refusal) => Err(refusal.unexpected()),
    }
}

/// The stored asset and its live-entitlement count, if it exists in the tenant at all.
async fn read(state: &Store, tenant: &str, id: &str) -> ApiResult<Option<(Asset, i64)>> {
    let found = super::read(state, key(tenant, id)).await?;
    match found {
        None => Ok(None),
        Some(item) => {
            let live = get_n(&item, LIVE_ENTITLEMENTS).unwrap_or(0);
            Ok(Some((from_item(item)?, live)))
        }
    }
}

/// The asset item as stored, deleted or not and whichever app holds it: a request's own asset,
/// read to judge a decision on the request (its owner and criticality as they are now).
pub async fn stored(state: &Store, tenant: &str, id: &str) -> ApiResult<Option<Asset>> {
    Ok(read(state, tenant, id).await?.map(|(asset, _)| asset))
}

/// A check (no write) that the asset item is still at the revision read (`None`: that it
/// still does not exist), so a decision judged against it cannot hold once it changed: an
/// owner change racing an approval makes the approval read the asset again.
pub fn revision_check(
    tenant: &str,
    asset_id: &str,
    revision: Option<i64>,
    table: &str,
) -> ApiResult<TransactWriteItem> {
    let check = aws_sdk_dynamodb::types::ConditionCheck::builder()
        .table_name(table)
        .set_key(Some(key(tenant, asset_id)));
    let check = match revision {
        Some(revision) => check
            .condition_expression("#r = :read")
            .expression_attribute_names("#r", "revision")
            .expression_attribute_values(":read", super::n(revision)),
        None => check.condition_expression("attribute_not_exists(PK)"),
    };
    Ok(TransactWriteItem::builder()
        .condition_check(check.build().map_err(build_err)?)
        .build())
}

/// An asset the caller may see: its tenant, its app (for app tokens), not deleted unless asked.
async fn visible(
    state: &Store,
    caller: &Caller,
    id: &str,
    include_deleted: bool,
) -> ApiResult<(Asset, i64)> {
    if !crate::envelope::is_id(id, asset::ID_PREFIX) {
        return Err(ApiError::NotFound);
    }
    match read(state, &caller.tenant_id, id).await? {
        Some((asset, live))
            if asset
                .envelope
                .visible_to(&caller.tenant_id, caller.app_id.as_deref())
                && (include_deleted || !asset.envelope.is_deleted) =>
        {
            Ok((asset, live))
        }
        _ => Err(ApiError::NotFound),
    }
}

/// The id of the caller's live asset with this name (one read of the name guard).
pub async fn id_by_name(state: &Store, caller: &Caller, name: &str) -> ApiResult<Option<String>> {
    let found = super::read(state, name_guard_key(&caller.tenant_id, name)).await?;
    let Some(item) = found else {
        return Ok(None);
    };
    if let Some(app) = &caller.app_id {
        if super::get_s(&item, "app_id") != Some(app.as_str()) {
            return Ok(None);
        }
    }
    Ok(super::get_s(&item, "asset_id").map(str::to_string))
}

pub async fn get(
    state: &Store,
    caller: &Caller,
    id: &str,
    include_deleted: bool,
) -> ApiResult<Asset> {
    visible(state, caller, id, include_deleted)
        .await
        .map(|(a, _)| a)
}

/// The asset item rewritten in place, conditional on the revision that was read (and, for a
/// delete, on having no live entitlements). The live count is never written here: entitlement
/// transactions own it.
fn rewrite(next: &Asset, expected_revision: i64, require_no_live: bool) -> ApiResult<Rewrite> {
    let mut expect = vec![
        ("revision", super::n(expected_revision)),
        ("is_deleted", AttributeValue::Bool(false)),
    ];
    if require_no_live {
        expect.push((LIVE_ENTITLEMENTS, super::n(0)));
    }
    Ok(Rewrite {
        key: key(&next.envelope.tenant_id, &next.envelope.id),
        item: record_item(next)?,
        remove_if_absent: &[],
        keep: &[LIVE_ENTITLEMENTS],
        expect,
    })
}

/// Applies a PATCH to the asset as read (`asset::apply_patch`, validation included; again on
/// each re-read after a lost race).
pub async fn update(state: &Store, caller: &Caller, patch: &Patch) -> ApiResult<Asset> {
    let id = patch.target.id.as_str();
    retrying("asset", move || async move {
        let (current, _) = visible(state, caller, id, false).await?;
        let planned = asset::apply_patch(&current.fields, patch.body.clone());
        let mut next = patched(&current, planned, &patch.target, caller, Timestamp::now())?;
        if !history::is_change(&current, &next)? {
            return Ok(Some(current));
        }
        let event = history::by(state, caller, Action::Updated, Some(&current), &mut next)?;
        let write = rewrite(&next, current.envelope.revision, false)?;
        let renamed = next.fields.name != current.fields.name;
        if !renamed {
            return write.apply(state, &event, next).await;
        }
        let mut tx = write.tx(&event, None, state.table())?;
        tx.add(Role::Guard, put_name_guard(&next, state.table())?)
            .add(
                Role::GuardRelease,
                delete_name_guard(&caller.tenant_id, &current.fields.name, id, state.table())?,
            )
            .answer_record(&next, state.table())?;
        match tx.send(&state.db).await? {
            Ok(()) => Ok(Some(next)),
            // Someone wrote in between; read again (a stale If-Match then answers 412).
            Err(refusal) if refusal.failed(Role::Record) => Ok(None),
            Err(refusal) if refusal.failed(Role::Guard) => Err(name_taken(&next.fields.name)),
            Err(refusal) => Err(refusal.unexpected()),
        }
    })
    .await
}

/// Why a delete is refused while `live` grants hold the asset. A person token sees every
/// grant of the tenant; an app token only its app's, so for it (and only on this refusal path)
/// one count query of the asset's grants tells how many of the `live` it may be told about.
async fn live_conflict(state: &Store, caller: &Caller, id: &str, live: i64) -> ApiError {
    let Some(app) = &caller.app_id else {
        return asset::still_granted(live, false);
    };
    match super::entitlements::live_count_of_app(state, &caller.tenant_id, id, app).await {
        // The index may lag the count a moment; never claim more than the count holds.
        Ok(visible) => {
            let visible = visible.min(live);
            asset::still_granted(visible, visible < live)
        }
        Err(e) => e,
    }
}

/// Soft-deletes an asset and frees its name, unless it has live entitlements.
pub async fn delete(state: &Store, caller: &Caller, target: &Target) -> ApiResult<()> {
    let id = target.id.as_str();
    retrying("asset", move || async move {
        let (current, live) = visible(state, caller, id, false).await?;
        target.check(current.envelope.revision)?;
        if live > 0 {
            return Err(live_conflict(state, caller, id, live).await);
        }
        let mut next = current.clone();
        next.envelope.soft_delete(&caller.sub, Timestamp::now());
        let event = history::by(state, caller, Action::Deleted, Some(&current), &mut next)?;
        // The count is checked by the write's own condition: a grant that lands first blocks it.
        let write = rewrite(&next, current.envelope.revision, true)?;
        let mut tx = write.tx(&event, None, state.table())?;
        tx.add(
            Role::GuardRelease,
            delete_name_guard(&caller.tenant_id, &current.fields.name, id, state.table())?,
        )
        .answer_record(&next, state.table())?;
        match tx.send(&state.db).await? {
            Ok(()) => return Ok(Some(())),
            Err(refusal) if refusal.failed(Role::Record) => {
                let live_now = refusal
                    .old_item(Role::Record)
                    .and_then(|item| get_n(item, LIVE_ENTITLEMENTS))
                    .unwrap_or(0);
                if live_now > 0 {
                    return Err(live_conflict(state, caller, id, live_now).await);
                }
            }
            Err(refusal) => return Err(refusal.unexpected()),
        }
        Ok(None)
    })
    .await
}

/// The tenant's assets (`tag`: the tags contain it).
impl Collection for Asset {
    const NAME: &'static str = "technology";

    fn listing(caller: &Caller, params: &ListParams) -> (Source<'static>, Filter) {
        let mut filter = Filter::scoped(params, caller);
        for (name, value) in &params.filters {
            match name.as_str() {
                "tag" => filter.contains("tags", s(value)),
                other => filter.param(other, value),
            };
        }
        (
            Source::table(keys::pk(&caller.tenant_id, Kind::Asset)),
            filter,
        )
    }
}

/// What an entitlement write requires of its asset, checked by the count update itself.
pub enum AssetGuard<'a> {
    /// A new live grant: the asset exists, is not deleted, belongs to the app (for app tokens)
    /// and does not have the criticality `asset::refused_criticality` refuses for the grant.
    Grantable {
        app_id: Option<&'a str>,
        refused: Option<Criticality>,
    },
    /// An ending grant: the asset item exists (it cannot be deleted while the count is > 0).
    Exists,
}

/// The asset's live count moved by `delta` in a transaction, under `guard`. The old item comes
/// back on a failed condition, so the caller can say which rule failed.
pub fn live_count_update(
    tenant: &str,
    asset_id: &str,
    delta: i64,
    guard: AssetGuard<'_>,
    table: &str,
) -> ApiResult<TransactWriteItem> {
    let mut expr = Expr::default();
    let live = expr.name(LIVE_ENTITLEMENTS);
    let d = expr.value(super::n(delta));
    let mut condition = "attribute_exists(PK)".to_string();
    if let AssetGuard::Grantable { app_id, refused } = guard {
        let del = expr.name("is_deleted");
        let f = expr.value(AttributeValue::Bool(false));
        condition.push_str(&format!(" AND {del} = {f}"));
        if let Some(app) = app_id {
            let a = expr.name("app_id");
            let v = expr.value(s(app));
            condition.push_str(&format!(" AND {a} = {v}"));
        }
        if let Some(refused) = refused {
            let c = expr.name("criticality");
            let v = expr.value(s(refused.as_str()));
            condition.push_str(&format!(" AND {c} <> {v}"));
        }
    }
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key(tenant, asset_id)))
        .update_expression(format!("SET {live} = {live} + {d}"))
        .condition_expression(condition)
        .set_expression_attribute_names(expr.names())
        .set_expression_attribute_values(expr.values())
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .build()
        .map_err(build_err)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// A check (no write) that an asset does not have the criticality `asset::refused_criticality`
/// refuses for a grant's new expiry.
pub fn criticality_check(
    tenant: &str,
    asset_id: &str,
    refused: Criticality,
    table: &str,
) -> ApiResult<TransactWriteItem> {
    let check = aws_sdk_dynamodb::types::ConditionCheck::builder()
        .table_name(table)
        .set_key(Some(key(tenant, asset_id)))
        .condition_expression("#c <> :refused")
        .expression_attribute_names("#c", "criticality")
        .expression_attribute_values(":refused", s(refused.as_str()))
        .build()
        .map_err(build_err)?;
    Ok(TransactWriteItem::builder().condition_check(check).build())
}

/// Why a new grant's asset condition failed, from the asset item as it was.
pub fn grant_refusal(old: Option<&Item>, app_id: Option<&str>) -> DomainError {
    let Some(item) = old else {
        return DomainError::UnknownAsset;
    };
    let deleted = matches!(item.get("is_deleted"), Some(AttributeValue::Bool(true)));
    let other_app = app_id.is_some_and(|app| super::get_s(item, "app_id") != Some(app));
    if deleted || other_app {
        return DomainError::UnknownAsset;
    }
    DomainError::CriticalNeedsExpiry
}
