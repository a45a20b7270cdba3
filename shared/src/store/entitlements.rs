//! Access entitlements in DynamoDB.
//!
//! A live (`active`/`pending_approval`) entitlement holds three things that change together, in
//! one transaction: the entitlement item, its grant guard (one live grant per asset, principal
//! and entitlement type) and one unit of its asset's live count. `start_grant` and `Transition`
//! build those transactions for create, revoke, expiry and provisioning alike.

use super::assets::{self, AssetGuard};
use super::history;
use super::list::{Collection, Filter, Source};
use super::rewrite::Rewrite;
use super::tx::{Refusal, Role, Tx};
use super::Store;
use super::{from_item, guard_action, patched, put_new_action, retrying, s, GuardChange, Item};
use crate::auth::Caller;
use crate::domain::asset;
use crate::domain::attribute::Attribute;
use crate::domain::decision::LiveGrant;
use crate::domain::entitlement::{self as domain, Entitlement, EntitlementFields, Status};
use crate::domain::error::DomainError;
use crate::domain::history::{Action, Event};
use crate::envelope::{New, Provenance};
use crate::error::{ApiError, ApiResult};
use crate::http::Target;
use crate::keys::{self, Kind};
use crate::listing::ListParams;
use crate::time::Timestamp;
use crate::vocab::Closed;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use serde_json::Value;

/// Index attributes that exist only while the entitlement is live and expires.
const EXPIRY_ATTRS: &[&str] = &[keys::EXP_PK, keys::EXP_SK];

pub fn key(tenant: &str, id: &str) -> Item {
    super::key(tenant, Kind::Entitlement, id)
}

fn grant_key(tenant: &str, f: &EntitlementFields) -> Item {
    live_grant_key(
        tenant,
        &f.asset_id,
        f.principal_type.as_str(),
        &f.principal_id,
        &f.entitlement_type,
    )
}

/// The key of the live-grant guard of (asset, principal, entitlement type): what a decision
/// reads (`store::decisions`).
pub fn live_grant_key(
    tenant: &str,
    asset_id: &str,
    principal_type: &str,
    principal_id: &str,
    entitlement_type: &str,
) -> Item {
    let sk = keys::grant_sk(asset_id, principal_type, principal_id, entitlement_type);
    super::key(tenant, Kind::Grant, &sk)
}

/// The record's attributes plus its index keys (the expiry index only while it can expire).
fn record_item(ent: &Entitlement) -> ApiResult<Item> {
    let tenant = &ent.envelope.tenant_id;
    let id = &ent.envelope.id;
    let f = &ent.fields;
    let mut item = super::searchable_item(ent)?;
    item.insert(
        keys::GSI1PK.into(),
        s(keys::entitlements_by_asset(tenant, &f.asset_id)),
    );
    item.insert(keys::GSI1SK.into(), s(id));
    item.insert(
        keys::GSI2PK.into(),
        s(keys::entitlements_by_principal(tenant, &f.principal_id)),
    );
    item.insert(keys::GSI2SK.into(), s(id));
    if let (true, Some(at)) = (ent.is_live(), f.expires_at) {
        item.insert(keys::EXP_PK.into(), s(keys::expiry_pk(id)));
        item.insert(
            keys::EXP_SK.into(),
            s(keys::expiry_sk(&at.to_string(), tenant, id)),
        );
    }
    Ok(item)
}

fn live_grant_taken(f: &EntitlementFields) -> DomainError {
    DomainError::LiveGrantTaken {
        asset_id: f.asset_id.clone(),
        principal_type: f.principal_type,
        principal_id: f.principal_id.clone(),
        entitlement_type: f.entitlement_type.clone(),
    }
}

/// The guard item: its key and what a decision needs of the grant (`LiveGrant`), so that
/// deciding never reads the entitlement nor an index.
fn guard_item(ent: &Entitlement) -> ApiResult<Item> {
    let mut item = super::to_item(&LiveGrant::of(ent))?;
    item.extend(grant_key(&ent.envelope.tenant_id, &ent.fields));
    Ok(item)
}

fn put_guard(ent: &Entitlement, table: &str) -> ApiResult<TransactWriteItem> {
    put_new_action(guard_item(ent)?, table)
}

/// The guard of a grant that stays live under the same key, rewritten to carry its new
/// status or expiry; conditional on still being this entitlement's.
fn update_guard(ent: &Entitlement, table: &str) -> ApiResult<TransactWriteItem> {
    let change = GuardChange::Put(guard_item(ent)?);
    guard_action(change, "entitlement_id", &ent.envelope.id, table)
}

fn delete_guard(ent: &Entitlement, table: &str) -> ApiResult<TransactWriteItem> {
    let key = grant_key(&ent.envelope.tenant_id, &ent.fields);
    guard_action(
        GuardChange::Delete(key),
        "entitlement_id",
        &ent.envelope.id,
        table,
    )
}

/// The entitlement item rewritten, conditional on the revision and status it was read with.
fn rewrite(current: &Entitlement, next: &Entitlement) -> ApiResult<Rewrite> {
    Ok(Rewrite {
        key: key(&current.envelope.tenant_id, &current.envelope.id),
        item: record_item(next)?,
        remove_if_absent: EXPIRY_ATTRS,
        keep: &[],
        expect: vec![
            ("revision", super::n(current.envelope.revision)),
            ("status", s(current.fields.status.as_str())),
        ],
    })
}

/// The transaction that starts a live grant: the entitlement and its event, its guard, the
/// asset's count (+1, under the asset's conditions).
pub fn start_grant(
    ent: &Entitlement,
    event: &Event,
    app_id: Option<&str>,
    table: &str,
) -> ApiResult<Tx> {
    let mut item = record_item(ent)?;
    item.extend(key(&ent.envelope.tenant_id, &ent.envelope.id));
    let mut tx = Tx::new();
    tx.put_record(item, event, Some(&history::record_text(ent)?), table)?
        .add(Role::Guard, put_guard(ent, table)?)
        .add(
            Role::AssetCount,
            assets::live_count_update(
                &ent.envelope.tenant_id,
                &ent.fields.asset_id,
                1,
                AssetGuard::Grantable {
                    app_id,
                    refused: asset::refused_criticality(ent.fields.expires_at),
                },
                table,
            )?,
        );
    Ok(tx)
}

/// Explains a refused `start_grant`.
pub fn start_refusal(
    refusal: &Refusal,
    ent: &Entitlement,
    app_id: Option<&str>,
) -> Option<DomainError> {
    if refusal.failed(Role::Guard) {
        return Some(live_grant_taken(&ent.fields));
    }
    if !refusal.failed(Role::AssetCount) {
        return None;
    }
    Some(assets::grant_refusal(
        refusal.old_item(Role::AssetCount),
        app_id,
    ))
}

/// One entitlement rewritten from `from` (as read) to `to` under `event`: what the
/// transactions of a live grant's end or in-place change are built from.
pub struct Transition<'a> {
    pub from: &'a Entitlement,
    pub to: &'a Entitlement,
    pub event: &'a Event,
}

impl Transition<'_> {
    /// A transaction that opens with the entitlement rewritten (if still as read) and its
    /// event, which carries `to` as its `state` (for point-in-time reads).
    fn rewritten(&self, table: &str) -> ApiResult<Tx> {
        rewrite(self.from, self.to)?.tx(self.event, Some(&history::record_text(self.to)?), table)
    }

    /// Ends a live grant (revoke, expiry, a provisioned revoke): the entitlement rewritten,
    /// its guard freed, the asset's count −1.
    pub fn end_grant(&self, table: &str) -> ApiResult<Tx> {
        let current = self.from;
        let mut tx = self.rewritten(table)?;
        tx.add(Role::GuardRelease, delete_guard(current, table)?)
            .add(
                Role::AssetCount,
                assets::live_count_update(
                    &current.envelope.tenant_id,
                    &current.fields.asset_id,
                    -1,
                    AssetGuard::Exists,
                    table,
                )?,
            );
        Ok(tx)
    }

    /// Changes a live grant in place (PATCH, a provisioned modify): the entitlement, the guard
    /// moved when the type changes (else rewritten when what it carries changes), and a
    /// criticality check when the expiry is dropped.
    pub fn change_grant(&self, table: &str) -> ApiResult<Tx> {
        let (current, next) = (self.from, self.to);
        let mut tx = self.rewritten(table)?;
        if next.fields.entitlement_type != current.fields.entitlement_type {
            tx.add(Role::Guard, put_guard(next, table)?)
                .add(Role::GuardRelease, delete_guard(current, table)?);
        } else if LiveGrant::of(next) != LiveGrant::of(current) {
            // Status (active ↔ pending_approval) or expiry moved: the next decision must see it.
            tx.add(Role::GuardUpdate, update_guard(next, table)?);
        }
        // Checked on every write that leaves a grant so (the asset may have become critical
        // since the grant).
        if let Some(refused) = asset::refused_criticality(next.fields.expires_at) {
            tx.add(
                Role::AssetCheck,
                assets::criticality_check(
                    &current.envelope.tenant_id,
                    &current.fields.asset_id,
                    refused,
                    table,
                )?,
            );
        }
        Ok(tx)
    }
}

/// Explains a refused `Transition::change_grant`; `None` = lost a race.
pub fn change_refusal(refusal: Refusal, next: &Entitlement) -> Option<ApiError> {
    if refusal.failed(Role::Record) {
        return None;
    }
    if refusal.failed(Role::Guard) {
        return Some(live_grant_taken(&next.fields).into());
    }
    if refusal.failed(Role::AssetCheck) {
        return Some(DomainError::CriticalNeedsExpiry.into());
    }
    Some(refusal.unexpected())
}

/// A write's answer, the entitlement as it is shown (`view`): rendered, and its metadata
/// catalogue read, only for a request with an idempotency key (API.md §11).
async fn answer(state: &Store, tx: &mut Tx, ent: &Entitlement) -> ApiResult<()> {
    if super::idempotency::current().is_none() {
        return Ok(());
    }
    let view = view(state, &ent.envelope.tenant_id, ent).await?;
    tx.answer(
        &view,
        &ent.envelope.id,
        ent.envelope.revision,
        state.table(),
    )?;
    Ok(())
}

/// Creates an entitlement: one transaction, no reads.
pub async fn create(
    state: &Store,
    caller: &Caller,
    new: New<EntitlementFields>,
) -> ApiResult<Entitlement> {
    let (ent, event) = state.new_record(domain::ID_PREFIX, caller, new)?;
    let app = caller.app_id.as_deref();
    let mut tx = start_grant(&ent, &event, app, state.table())?;
    answer(state, &mut tx, &ent).await?;
    match tx.send(&state.db).await? {
        Ok(()) => Ok(ent),
        Err(refusal) => {
            Err(start_refusal(&refusal, &ent, app)
                .map_or_else(|| refusal.unexpected(), ApiError::from))
        }
    }
}

async fn read(state: &Store, tenant: &str, id: &str) -> ApiResult<Option<Entitlement>> {
    let found = super::read(state, key(tenant, id)).await?;
    found.map(from_item).transpose()
}

/// An entitlement the caller may see (entitlements are never deleted, only revoked).
pub async fn get(state: &Store, caller: &Caller, id: &str) -> ApiResult<Entitlement> {
    if !crate::envelope::is_id(id, domain::ID_PREFIX) {
        return Err(ApiError::NotFound);
    }
    match read(state, &caller.tenant_id, id).await? {
        Some(e)
            if e.envelope
                .visible_to(&caller.tenant_id, caller.app_id.as_deref()) =>
        {
            Ok(e)
        }
        _ => Err(ApiError::NotFound),
    }
}

/// Writes `Transition::change_grant` by `caller` as `action`: `next` as written, or `None`
/// when it lost a race (re-read and try again).
async fn write_change(
    state: &Store,
    caller: &Caller,
    action: Action,
    current: &Entitlement,
    mut next: Entitlement,
    view: Option<&Value>,
) -> ApiResult<Option<Entitlement>> {
    let event = history::by(state, caller, action, Some(current), &mut next)?;
    let mut tx = Transition {
        from: current,
        to: &next,
        event: &event,
    }
    .change_grant(state.table())?;
    match view {
        Some(view) => {
            tx.answer(
                view,
                &next.envelope.id,
                next.envelope.revision,
                state.table(),
            )?;
        }
        None => answer(state, &mut tx, &next).await?,
    }
    match tx.send(&state.db).await? {
        Ok(()) => Ok(Some(next)),
        Err(refusal) => match change_refusal(refusal, &next) {
            None => Ok(None),
            Some(err) => Err(err),
        },
    }
}

/// Applies a PATCH to a live entitlement. The body is validated before the state is judged
/// (API.md §3): a bad PATCH of an ended entitlement is a 400, a good one a 409.
pub async fn update<F>(
    state: &Store,
    caller: &Caller,
    target: &Target,
    patch: F,
) -> ApiResult<Entitlement>
where
    F: Fn(&EntitlementFields, Timestamp) -> ApiResult<(EntitlementFields, Provenance)>,
{
    let patch = &patch;
    retrying("entitlement", move || async move {
        let current = get(state, caller, &target.id).await?;
        let now = Timestamp::now();
        let planned = patch(&current.fields, now);
        let next = patched(&current, planned, target, caller, now)?;
        domain::ensure_changeable(&current)?;
        if !history::is_change(&current, &next)? {
            return Ok(Some(current));
        }
        write_change(state, caller, Action::Updated, &current, next, None).await
    })
    .await
}

/// Replaces the entitlement's metadata references (add/remove a value, the `action`),
/// conditional on the revision read: the entitlement as written and as shown. `attribute`, the
/// definition `change` judges by, is read beside the entitlement and joins the view without
/// being read again.
pub async fn set_metadata<F>(
    state: &Store,
    caller: &Caller,
    target: &Target,
    action: Action,
    provenance: Provenance,
    attribute: Option<&str>,
    change: F,
) -> ApiResult<(Entitlement, Value)>
where
    F: Fn(&Entitlement, Option<&Attribute>) -> ApiResult<Option<Vec<domain::MetadataRef>>>,
{
    let change = &change;
    let provenance = &provenance;
    retrying("entitlement", move || async move {
        let definition = async {
            match attribute {
                Some(key) => super::attributes::get(state, &caller.tenant_id, key).await,
                None => Ok(None),
            }
        };
        // Boxed: side by side, the two reads make a future too large for a debug build's stack.
        let (current, attr) = tokio::try_join!(
            Box::pin(get(state, caller, &target.id)),
            Box::pin(definition)
        )?;
        let known: Catalog = attr
            .iter()
            .map(|a| (a.fields.key.clone(), a.clone()))
            .collect();
        target.check(current.envelope.revision)?;
        let refs = change(&current, attr.as_ref())?;
        if refs == current.fields.access_model_metadata {
            let view = view_with(state, &current, known).await?;
            return Ok(Some((current, view)));
        }
        let mut next = current.clone();
        next.fields.access_model_metadata = refs;
        next.envelope
            .touch(&caller.sub, provenance.clone(), Timestamp::now());
        let view = view_with(state, &next, known).await?;
        let written = write_change(state, caller, action, &current, next, Some(&view)).await?;
        Ok(written.map(|next| (next, view)))
    })
    .await
}

/// Revokes an entitlement. Revoking a revoked one returns it unchanged (also for every loser of
/// racing revokes); an expired one is a conflict.
/// `If-Match` applies only when there is something to write.
pub async fn revoke(
    state: &Store,
    caller: &Caller,
    target: &Target,
    reason: Option<String>,
    provenance: Provenance,
) -> ApiResult<Entitlement> {
    let provenance = &provenance;
    let reason = &reason;
    retrying("entitlement", move || async move {
        let current = get(state, caller, &target.id).await?;
        match domain::plan_revoke(&current)? {
            domain::RevokePlan::Unchanged => return Ok(Some(current)),
            domain::RevokePlan::Revoke => {}
        }
        target.check(current.envelope.revision)?;
        let mut next = domain::revoked(
            &current,
            &caller.sub,
            reason.clone(),
            provenance.clone(),
            Timestamp::now(),
        );
        let event = history::by(state, caller, Action::Revoked, Some(&current), &mut next)?;
        let mut tx = Transition {
            from: &current,
            to: &next,
            event: &event,
        }
        .end_grant(state.table())?;
        answer(state, &mut tx, &next).await?;
        match tx.send(&state.db).await? {
            Ok(()) => Ok(Some(next)),
            Err(refusal) if refusal.failed(Role::Record) => Ok(None),
            Err(refusal) => Err(refusal.unexpected()),
        }
    })
    .await
}

/// Entitlements by asset or by principal through their indexes, else the tenant's
/// collection; every other filter is applied by DynamoDB.
impl Collection for Entitlement {
    const NAME: &'static str = "entitlements";

    fn listing(caller: &Caller, params: &ListParams) -> (Source<'static>, Filter) {
        let tenant = &caller.tenant_id;
        let f = &params.filters;
        let (source, indexed) = if let Some(asset_id) = f.get("asset_id") {
            (
                Source::gsi1(keys::entitlements_by_asset(tenant, asset_id)),
                "asset_id",
            )
        } else if let Some(principal_id) = f.get("principal_id") {
            (
                Source::gsi2(keys::entitlements_by_principal(tenant, principal_id)),
                "principal_id",
            )
        } else {
            (Source::table(keys::pk(tenant, Kind::Entitlement)), "")
        };
        let mut filter = Filter::default();
        if let Some(app) = &caller.app_id {
            filter.scope_eq("app_id", s(app));
        }
        for (name, value) in f {
            match name.as_str() {
                n if n == indexed => &mut filter,
                "privileged" => filter.eq("privileged", AttributeValue::Bool(value == "true")),
                "expires_before" => filter.lt("expires_at", s(value)),
                other => filter.param(other, value),
            };
        }
        (source, filter)
    }
}

/// How many live grants of `app` hold the asset: a count query of the asset's grants on GSI1
/// (eventually consistent; only a refused asset delete pays for it).
pub async fn live_count_of_app(
    state: &Store,
    tenant: &str,
    asset_id: &str,
    app: &str,
) -> ApiResult<i64> {
    let mut count = 0i64;
    let mut start: Option<Item> = None;
    loop {
        let out = state
            .query_index(keys::GSI1)
            .key_condition_expression("#pk = :pk")
            .filter_expression("#app = :app AND (#status = :active OR #status = :pending)")
            .expression_attribute_names("#pk", keys::GSI1PK)
            .expression_attribute_names("#app", "app_id")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pk", s(keys::entitlements_by_asset(tenant, asset_id)))
            .expression_attribute_values(":app", s(app))
            .expression_attribute_values(":active", s(Status::Active.as_str()))
            .expression_attribute_values(":pending", s(Status::PendingApproval.as_str()))
            .select(aws_sdk_dynamodb::types::Select::Count)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(|e| super::fault("Query", e))?;
        count += i64::from(out.count());
        match out.last_evaluated_key {
            Some(key) => start = Some(key),
            None => return Ok(count),
        }
    }
}

/// Entitlements as responses: the record with `access_model_metadata` joined to the current
/// attribute definitions (one BatchGetItem for the whole set, none when no metadata is set).
pub async fn views(state: &Store, tenant: &str, ents: &[Entitlement]) -> ApiResult<Vec<Value>> {
    views_with(state, tenant, ents, Catalog::new()).await
}

/// Attribute definitions by key.
type Catalog = std::collections::HashMap<String, Attribute>;

/// `views`, with the definitions in `known` already read: only the others are fetched.
async fn views_with(
    state: &Store,
    tenant: &str,
    ents: &[Entitlement],
    mut known: Catalog,
) -> ApiResult<Vec<Value>> {
    use crate::domain::access_model;
    let missing: Vec<String> =
        access_model::keys(ents.iter().map(|e| &e.fields.access_model_metadata))
            .into_iter()
            .filter(|k| !known.contains_key(k))
            .collect();
    if !missing.is_empty() {
        known.extend(super::attributes::get_many(state, tenant, &missing).await?);
    }
    ents.iter()
        .map(|e| {
            let mut v =
                serde_json::to_value(e).map_err(|err| ApiError::Internal(err.to_string()))?;
            if let Value::Object(map) = &mut v {
                map.insert(
                    "access_model_metadata".into(),
                    access_model::render(e.fields.access_model_metadata.as_deref(), &known),
                );
            }
            Ok(v)
        })
        .collect()
}

async fn view_with(state: &Store, ent: &Entitlement, known: Catalog) -> ApiResult<Value> {
    let mut v = views_with(
        state,
        &ent.envelope.tenant_id,
        std::slice::from_ref(ent),
        known,
    )
    .await?;
    v.pop()
        .ok_or_else(|| ApiError::Internal("empty view".into()))
}

pub async fn view(state: &Store, tenant: &str, ent: &Entitlement) -> ApiResult<Value> {
    let mut v = views(state, tenant, std::slice::from_ref(ent)).await?;
    v.pop()
        .ok_or_else(|| ApiError::Internal("empty view".into()))
}
