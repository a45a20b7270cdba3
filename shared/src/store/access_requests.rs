//! Access requests in DynamoDB, and provisioning them into entitlements.
//!
//! Decisions (approve, reject, complete, edit, delete) are one read plus one write conditional
//! on the revision and status read, so of racing decisions exactly one wins. Provisioning is
//! one transaction: the request → `provisioned` (still `approved` at the revision read) together
//! with the start, change or end that `domain::provision` planned, built by `store::entitlements`.

use super::entitlements::{self as ents};
use super::history::{self, writer};
use super::list::{Collection, Filter, Source};
use super::rewrite::Rewrite;
use super::tx::{Role, Tx};
use super::Store;
use super::{from_item, retrying, s, Item};
use crate::auth::{Caller, Scope};
use crate::domain::access_request::{
    self as domain, AccessRequest, Decider, Decision, DecisionBody, Draft, Governance, PatchPlan,
    Target, CLEARS_EXPIRY,
};
use crate::domain::asset::Asset;
use crate::domain::entitlement::{self as ent_domain, Entitlement, Status as EntStatus};
use crate::domain::error::DomainError;
use crate::domain::history::Action;
use crate::domain::provision::{self, ProvisionPlan};
use crate::error::{ApiError, ApiResult};
use crate::http;
use crate::keys::{self, Kind};
use crate::listing::ListParams;
use crate::time::Timestamp;
use crate::vocab::Closed;
use aws_sdk_dynamodb::types::AttributeValue;

fn key(tenant: &str, id: &str) -> Item {
    super::key(tenant, Kind::AccessRequest, id)
}

fn record_item(req: &AccessRequest) -> ApiResult<Item> {
    let tenant = &req.envelope.tenant_id;
    let mut item = super::searchable_item(req)?;
    item.insert(
        CLEARS_EXPIRY.into(),
        AttributeValue::Bool(req.fields.access.clears_expiry()),
    );
    item.insert(
        keys::GSI1PK.into(),
        s(keys::access_requests_by_status(
            tenant,
            req.fields.status.as_str(),
        )),
    );
    item.insert(keys::GSI1SK.into(), s(&req.envelope.id));
    Ok(item)
}

/// The request rewritten, if it still has the revision and status it was read with.
fn rewrite(current: &AccessRequest, next: &AccessRequest) -> ApiResult<Rewrite> {
    Ok(Rewrite {
        key: key(&current.envelope.tenant_id, &current.envelope.id),
        item: record_item(next)?,
        remove_if_absent: &[],
        keep: &[],
        expect: vec![
            ("revision", super::n(current.envelope.revision)),
            ("status", s(current.fields.status.as_str())),
            ("is_deleted", AttributeValue::Bool(false)),
        ],
    })
}

/// Which asset the request is for: `asset_id` when given, else the asset named `system_id`.
/// With both, `system_id` may be a free-form system identifier that names no asset, but not the
/// name of another asset (API.md §3); only a name that differs costs the read that tells. The
/// asset itself is read either way: its criticality fixes how many approvals the request needs.
async fn resolve_asset(state: &Store, caller: &Caller, draft: &Draft) -> ApiResult<Asset> {
    match &draft.asset_id {
        Some(id) => {
            let asset = match super::assets::get(state, caller, id, false).await {
                Ok(a) => a,
                Err(ApiError::NotFound) => return Err(DomainError::UnknownAsset.into()),
                Err(e) => return Err(e),
            };
            if asset.fields.name != draft.system_id
                && super::assets::id_by_name(state, caller, &draft.system_id)
                    .await?
                    .is_some_and(|other| other != asset.envelope.id)
            {
                return Err(DomainError::SystemIdNamesOtherAsset {
                    asset_id: id.clone(),
                    name: asset.fields.name,
                }
                .into());
            }
            Ok(asset)
        }
        None => {
            let Some(id) = super::assets::id_by_name(state, caller, &draft.system_id).await? else {
                return Err(DomainError::NoAssetNamed.into());
            };
            // Deleted since its name guard was read: the name names nothing now.
            match super::assets::get(state, caller, &id, false).await {
                Ok(asset) => Ok(asset),
                Err(ApiError::NotFound) => Err(DomainError::NoAssetNamed.into()),
                Err(e) => Err(e),
            }
        }
    }
}

/// The live entitlement a modify/revoke names: one of the caller's active ones on the asset.
fn target(read: ApiResult<Entitlement>, asset_id: &str) -> ApiResult<Entitlement> {
    let not_one = || ApiError::from(DomainError::NotAnActiveEntitlement);
    let ent = match read {
        Ok(e) => e,
        Err(ApiError::NotFound) => return Err(not_one()),
        Err(e) => return Err(e),
    };
    if ent.fields.status != EntStatus::Active || ent.fields.asset_id != asset_id {
        return Err(not_one());
    }
    Ok(ent)
}

/// Files a request. A modify or revoke reads its entitlement beside its asset (one round trip
/// for both); the asset's refusals are reported first.
pub async fn create(state: &Store, caller: &Caller, draft: Draft) -> ApiResult<AccessRequest> {
    let (asset, entitlement) = match &draft.entitlement_id {
        None => (resolve_asset(state, caller, &draft).await?, None),
        Some(id) => {
            // Boxed: the two reads side by side make a future too large for a debug build's
            // stack.
            let (asset, ent) = tokio::join!(
                Box::pin(resolve_asset(state, caller, &draft)),
                Box::pin(ents::get(state, caller, id))
            );
            let asset = asset?;
            let ent = target(ent, &asset.envelope.id)?;
            (asset, Some(ent))
        }
    };
    let asset_id = asset.envelope.id;
    if let Some(e) = &entitlement {
        domain::check_clearing(draft.clears_expiry(), e.fields.privileged)?;
    }
    let t = entitlement.as_ref().map(|e| Target {
        asset_id: &e.fields.asset_id,
        principal_id: &e.fields.principal_id,
        principal_type: e.fields.principal_type,
        entitlement_type: &e.fields.entitlement_type,
    });
    let new = domain::resolve(draft, asset_id, asset.fields.criticality, t)?;
    let (request, event) = state.new_record(domain::ID_PREFIX, caller, new)?;
    let mut item = record_item(&request)?;
    item.extend(key(&caller.tenant_id, &request.envelope.id));
    let mut tx = Tx::new();
    tx.put_record(item, &event, None, state.table())?
        .answer_record(&request, state.table())?;
    // A fresh ULID: no other item can hold the key (the transaction's token covers our retries).
    match tx.send(&state.db).await? {
        Ok(()) => Ok(request),
        Err(refusal) => Err(refusal.unexpected()),
    }
}

/// The request, if the caller may see it.
async fn visible(state: &Store, caller: &Caller, id: &str) -> ApiResult<AccessRequest> {
    let req = any(state, caller, id).await?;
    if req.envelope.is_deleted {
        return Err(ApiError::NotFound);
    }
    Ok(req)
}

/// The request, deleted or not, if it is the caller's tenant's (and app's).
async fn any(state: &Store, caller: &Caller, id: &str) -> ApiResult<AccessRequest> {
    if !crate::envelope::is_id(id, domain::ID_PREFIX) {
        return Err(ApiError::NotFound);
    }
    let found = super::read(state, key(&caller.tenant_id, id)).await?;
    let Some(item) = found else {
        return Err(ApiError::NotFound);
    };
    let req: AccessRequest = from_item(item)?;
    if !req
        .envelope
        .visible_to(&caller.tenant_id, caller.app_id.as_deref())
    {
        return Err(ApiError::NotFound);
    }
    Ok(req)
}

pub async fn get(
    state: &Store,
    caller: &Caller,
    id: &str,
    include_deleted: bool,
) -> ApiResult<AccessRequest> {
    if include_deleted {
        any(state, caller, id).await
    } else {
        visible(state, caller, id).await
    }
}

/// A `modify` may not ask to clear the expiry of a privileged entitlement (API.md §3).
async fn refuse_clearing_privileged(
    state: &Store,
    caller: &Caller,
    request: &AccessRequest,
) -> ApiResult<()> {
    let Some(id) = request.fields.access.target_id() else {
        return Ok(());
    };
    match ents::get(state, caller, id).await {
        Ok(e) => domain::check_clearing(true, e.fields.privileged),
        Err(ApiError::NotFound) => Ok(()),
        Err(e) => Err(e),
    }
}

/// `next` written over `current` (still as read) by `caller` as `action`, with its event;
/// `None`: it lost a race (read again).
async fn write(
    state: &Store,
    caller: &Caller,
    action: Action,
    current: &AccessRequest,
    mut next: AccessRequest,
) -> ApiResult<Option<AccessRequest>> {
    let event = history::by(state, caller, action, Some(current), &mut next)?;
    rewrite(current, &next)?.apply(state, &event, next).await
}

/// PATCH: edits while pending, or `{"status":"completed"}` once provisioned.
pub async fn update<F>(
    state: &Store,
    caller: &Caller,
    target: &http::Target,
    plan: F,
) -> ApiResult<AccessRequest>
where
    F: Fn(&AccessRequest, Timestamp) -> ApiResult<PatchPlan>,
{
    let plan = &plan;
    retrying("request", move || async move {
        let current = visible(state, caller, &target.id).await?;
        let now = Timestamp::now();
        let planned = target.check_after(plan(&current, now), current.envelope.revision)?;
        let (action, next) = match planned {
            PatchPlan::Complete(provenance) => (
                Action::Completed,
                domain::completed(&current, &caller.sub, provenance, now),
            ),
            PatchPlan::Edit(fields, provenance) => {
                if fields.access.clears_expiry() && !current.fields.access.clears_expiry() {
                    refuse_clearing_privileged(state, caller, &current).await?;
                }
                let mut next = current.revised(*fields, &caller.sub, provenance, now);
                if !history::is_change(&current, &next)? {
                    return Ok(Some(current));
                }
                // A changed request is judged anew (API.md §10): its approvals start over, as
                // many as its asset's criticality asks for now.
                let asset =
                    super::assets::stored(state, &caller.tenant_id, &current.fields.asset_id)
                        .await?;
                let criticality = asset.and_then(|a| a.fields.criticality);
                domain::restart_approvals(&mut next.fields, criticality);
                (Action::Updated, next)
            }
        };
        write(state, caller, action, &current, next).await
    })
    .await
}

/// Soft-deletes a pending request: `If-Match` holds against the request as read, and the
/// rewrite holds only if no decision came in between.
pub async fn delete(state: &Store, caller: &Caller, target: &http::Target) -> ApiResult<()> {
    retrying("request", move || async move {
        let current = visible(state, caller, &target.id).await?;
        target.check(current.envelope.revision)?;
        domain::ensure_deletable(&current)?;
        let mut next = current.clone();
        next.envelope.soft_delete(&caller.sub, Timestamp::now());
        write(state, caller, Action::Deleted, &current, next).await
    })
    .await
    .map(|_| ())
}

/// Approve or reject (API.md §3, §10). The request is read, then its asset (whose id it holds),
/// and the decision is judged against both as read; the write is one transaction of the
/// request's rewrite (conditional on its revision and status), its history event, and a check
/// that the asset is still at the revision read. So of racing decisions exactly one holds (the
/// others re-read and meet the state machine or the two-person rule: 409), and an owner change
/// racing a decision makes it read the asset again and judge the new owner.
pub async fn decide(
    state: &Store,
    caller: &Caller,
    target: &http::Target,
    decision: Decision,
    body: DecisionBody,
) -> ApiResult<AccessRequest> {
    let action = match decision {
        Decision::Approve => Action::Approved,
        Decision::Reject => Action::Rejected,
    };
    let who = Decider {
        sub: &caller.sub,
        groups: &caller.groups,
        approve_any: caller.has(Scope::AccessRequestsApproveAny),
    };
    let (who, body) = (&who, &body);
    retrying("request", move || async move {
        let current = visible(state, caller, &target.id).await?;
        target.check(current.envelope.revision)?;
        let asset_id = &current.fields.asset_id;
        let asset = super::assets::stored(state, &caller.tenant_id, asset_id).await?;
        let owner = asset
            .as_ref()
            .map(|a| Governance::of(&a.fields))
            .unwrap_or_default();
        let mut next = domain::decide(
            &current,
            decision,
            who,
            owner,
            body.clone(),
            Timestamp::now(),
        )?;
        let event = history::by(state, caller, action, Some(&current), &mut next)?;
        let table = state.table();
        let mut tx = rewrite(&current, &next)?.tx(&event, None, table)?;
        tx.add(
            Role::AssetCheck,
            super::assets::revision_check(
                &caller.tenant_id,
                asset_id,
                asset.as_ref().map(|a| a.envelope.revision),
                table,
            )?,
        )
        .answer_record(&next, table)?;
        match tx.send(&state.db).await? {
            Ok(()) => Ok(Some(next)),
            // The request or its asset changed since they were read: read both again.
            Err(refusal) if refusal.failed(Role::Record) || refusal.failed(Role::AssetCheck) => {
                Ok(None)
            }
            Err(refusal) => Err(refusal.unexpected()),
        }
    })
    .await
}

/// A provisioning condition that no longer holds is a conflict, not bad input.
fn as_conflict(err: ApiError) -> ApiError {
    match err {
        ApiError::Validation(errors) => ApiError::conflict(
            errors
                .iter()
                .map(|e| format!("{} {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        other => other,
    }
}

/// Provisions an approved request into an entitlement, all in one transaction: the request
/// (still as read) and the plan of `domain::provision` for its entitlement.
pub async fn provision(
    state: &Store,
    caller: &Caller,
    target: &http::Target,
    body: DecisionBody,
) -> ApiResult<AccessRequest> {
    let body = &body;
    retrying("request", move || async move {
        let current = visible(state, caller, &target.id).await?;
        target.check(current.envelope.revision)?;
        let now = Timestamp::now();
        // Refused before the entitlement costs a read.
        domain::ensure_provisionable(&current, now)?;
        let entitlement = match current.fields.access.target_id() {
            Some(ent_id) => match ents::get(state, caller, ent_id).await {
                Ok(e) => Some(e),
                Err(ApiError::NotFound) => None,
                Err(e) => return Err(e),
            },
            None => None,
        };
        let new_id = state.ids.next(ent_domain::ID_PREFIX);
        let planned = provision::plan_provision(
            &current,
            entitlement.as_ref(),
            &caller.sub,
            new_id,
            body.clone(),
            now,
        )?;
        let mut next = planned.request;
        let mut plan = planned.plan;
        let table = state.table();
        let app = current.envelope.app_id.as_deref();
        // Two records change, so two events, under the one request id.
        let writer = writer(caller);
        let request_event = history::append(
            state,
            &writer,
            Action::Provisioned,
            Some(&current),
            &mut next,
        )?;
        let mut tx = Tx::new();
        tx.change(
            Role::Request,
            rewrite(&current, &next)?.transact_item(table)?,
            &request_event,
            None,
            table,
        )?;
        // A rewrite of the grant as read, with its event: it goes on, or it `ends`.
        let rewrite = |action, from: &Entitlement, to: &mut Entitlement, ends: bool| {
            let event = history::append(state, &writer, action, Some(from), to)?;
            let transition = ents::Transition {
                from,
                to,
                event: &event,
            };
            if ends {
                transition.end_grant(table)
            } else {
                transition.change_grant(table)
            }
        };
        let grant = match &mut plan {
            ProvisionPlan::Start(ent) => {
                let event = history::append(state, &writer, Action::Created, None, ent)?;
                ents::start_grant(ent, &event, app, table)?
            }
            ProvisionPlan::Change { from, to } => rewrite(Action::Updated, from, to, false)?,
            ProvisionPlan::End { from, to } => rewrite(Action::Revoked, from, to, true)?,
        };
        tx.append(grant);
        tx.answer_record(&next, table)?;
        let refusal = match tx.send(&state.db).await? {
            Ok(()) => return Ok(Some(next)),
            Err(refusal) => refusal,
        };
        if refusal.failed(Role::Request) {
            return Ok(None);
        }
        match &plan {
            ProvisionPlan::Start(ent) => {
                let err = ents::start_refusal(&refusal, ent, app)
                    .map_or_else(|| refusal.unexpected(), ApiError::from);
                Err(as_conflict(err))
            }
            // The entitlement changed since it was read (an edit, or its end): read both
            // again; a re-read that finds it inactive answers 409.
            _ if refusal.failed(Role::Record) => Ok(None),
            ProvisionPlan::End { .. } => Err(DomainError::EntitlementGone.into()),
            ProvisionPlan::Change { to, .. } => Err(match ents::change_refusal(refusal, to) {
                None => DomainError::EntitlementGone.into(),
                Some(err) => as_conflict(err),
            }),
        }
    })
    .await
}

/// Requests by status through the status index, else the tenant's collection.
impl Collection for AccessRequest {
    const NAME: &'static str = "access-requests";

    fn listing(caller: &Caller, params: &ListParams) -> (Source<'static>, Filter) {
        let tenant = &caller.tenant_id;
        let source = match params.filters.get("status") {
            Some(status) => Source::gsi1(keys::access_requests_by_status(tenant, status)),
            None => Source::table(keys::pk(tenant, Kind::AccessRequest)),
        };
        let mut filter = Filter::scoped(params, caller);
        for (name, value) in &params.filters {
            if name != "status" {
                filter.param(name, value);
            }
        }
        (source, filter)
    }
}
