//! Access requests in DynamoDB, and provisioning them into entitlements.
//!
//! Decisions (approve, reject, complete, edit, delete) are one read plus one write conditional
//! on the revision and status read, so of racing decisions exactly one wins. Provisioning is
//! one transaction: the request → `provisioned` (still `approved` at the revision read) together
//! with the entitlement's start, change or end built by `store::entitlements`.

use super::entitlements::{self as ents};
use super::list::{self, Filter, ListPage, Listing, Source};
use super::rewrite::Rewrite;
use super::tx::{Role, Tx};
use super::{check_revision, from_item, s, Item, SEARCH, WRITE_ATTEMPTS};
use crate::auth::Caller;
use crate::domain::access_request::{
    self as domain, AccessRequest, AccessType, Decision, DecisionBody, Draft, PatchPlan, Target,
};
use crate::domain::entitlement::{
    self as ent_domain, Entitlement, EntitlementFields, GrantSource, Status as EntStatus,
};
use crate::envelope::{Actor, Envelope, Provenance};
use crate::error::{ApiError, ApiResult};
use crate::input::Field;
use crate::keys::{self, Kind};
use crate::listing::ListParams;
use crate::state::State;
use crate::time::Timestamp;
use crate::vocab::Closed;
use aws_sdk_dynamodb::types::AttributeValue;

/// Hidden marker: a `modify` that asks to clear the entitlement's expiry (`expires_at: null`),
/// which the record's `expires_at` alone cannot tell from "keep it".
const CLEARS_EXPIRY: &str = "clears_expiry";

fn key(tenant: &str, id: &str) -> Item {
    super::key(tenant, Kind::AccessRequest, id)
}

fn record_item(req: &AccessRequest, clears_expiry: bool) -> ApiResult<Item> {
    let tenant = &req.envelope.tenant_id;
    let mut item = super::searchable_item(req, req.search_text())?;
    item.insert(CLEARS_EXPIRY.into(), AttributeValue::Bool(clears_expiry));
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
fn rewrite(
    current: &AccessRequest,
    next: &AccessRequest,
    clears_expiry: bool,
) -> ApiResult<Rewrite> {
    Ok(Rewrite {
        key: key(&current.envelope.tenant_id, &current.envelope.id),
        item: record_item(next, clears_expiry)?,
        remove_if_absent: &[],
        keep: &[],
        expect: vec![
            ("revision", super::n(current.envelope.revision)),
            ("status", s(current.fields.status.as_str())),
            ("is_deleted", AttributeValue::Bool(false)),
        ],
    })
}

fn invalid_asset() -> ApiError {
    ApiError::Validation(vec![
        crate::error::FieldError::new("system_id", "names no asset of this tenant"),
        crate::error::FieldError::new("asset_id", "is not an asset of this tenant"),
    ])
}

/// Which asset the request is for: `asset_id` when given, else the asset named `system_id`.
/// With both, `system_id` may be a free-form system identifier that names no asset, but not the
/// name of another asset (API.md §3); only a name that differs costs the read that tells.
async fn resolve_asset(state: &State, caller: &Caller, draft: &Draft) -> ApiResult<String> {
    match &draft.asset_id {
        Some(id) => {
            let asset = match super::assets::get(state, caller, id, false).await {
                Ok(a) => a,
                Err(ApiError::NotFound) => {
                    return Err(ApiError::field(
                        "asset_id",
                        "is not an asset of this tenant",
                    ))
                }
                Err(e) => return Err(e),
            };
            if asset.fields.name != draft.system_id
                && super::assets::id_by_name(state, caller, &draft.system_id)
                    .await?
                    .is_some_and(|other| other != asset.envelope.id)
            {
                return Err(ApiError::field(
                    "system_id",
                    format!(
                        "names another asset than asset_id {id} (whose name is '{}')",
                        asset.fields.name
                    ),
                ));
            }
            Ok(asset.envelope.id)
        }
        None => super::assets::id_by_name(state, caller, &draft.system_id)
            .await?
            .ok_or_else(invalid_asset),
    }
}

/// The live entitlement a modify/revoke names: one of the caller's active ones on the asset.
async fn target(
    state: &State,
    caller: &Caller,
    id: &str,
    asset_id: &str,
) -> ApiResult<Entitlement> {
    let not_one = || {
        ApiError::field(
            "entitlement_id",
            "is not an active entitlement of this tenant on the requested asset",
        )
    };
    let ent = match ents::get(state, caller, id).await {
        Ok(e) => e,
        Err(ApiError::NotFound) => return Err(not_one()),
        Err(e) => return Err(e),
    };
    if ent.fields.status != EntStatus::Active || ent.fields.asset_id != asset_id {
        return Err(not_one());
    }
    Ok(ent)
}

pub async fn create(state: &State, caller: &Caller, draft: Draft) -> ApiResult<AccessRequest> {
    let asset_id = resolve_asset(state, caller, &draft).await?;
    let entitlement = match &draft.entitlement_id {
        Some(id) => Some(target(state, caller, id, &asset_id).await?),
        None => None,
    };
    if let Some(e) = &entitlement {
        let drops_expiry = matches!(draft.expires_at, Field::Null);
        if draft.access_type == AccessType::Modify && drops_expiry && e.fields.privileged {
            return Err(ApiError::field(
                "expires_at",
                "cannot be cleared: the entitlement is privileged",
            ));
        }
    }
    let t = entitlement.as_ref().map(|e| Target {
        asset_id: &e.fields.asset_id,
        principal_id: &e.fields.principal_id,
        principal_type: e.fields.principal_type,
        entitlement_type: &e.fields.entitlement_type,
    });
    let (fields, provenance, clears_expiry) = domain::resolve(draft, asset_id, t)?;
    let id = state.ids.next(domain::ID_PREFIX);
    let envelope = Envelope::new(id, &Actor::from(caller), provenance, Timestamp::now());
    let request = AccessRequest { envelope, fields };
    let mut item = record_item(&request, clears_expiry)?;
    item.extend(key(&caller.tenant_id, &request.envelope.id));
    // A fresh ULID: only our own earlier attempt can hold the key.
    if !super::put_new(&state.db, state.table(), item).await? {
        return Err(ApiError::Internal(format!(
            "access request id {} already taken",
            request.envelope.id
        )));
    }
    Ok(request)
}

/// The request and its hidden `clears_expiry` marker, if the caller may see it.
async fn visible(state: &State, caller: &Caller, id: &str) -> ApiResult<(AccessRequest, bool)> {
    let (req, clears) = any(state, caller, id).await?;
    if req.envelope.is_deleted {
        return Err(ApiError::NotFound);
    }
    Ok((req, clears))
}

/// The request, deleted or not, if it is the caller's tenant's (and app's).
async fn any(state: &State, caller: &Caller, id: &str) -> ApiResult<(AccessRequest, bool)> {
    if !crate::envelope::is_id(id, domain::ID_PREFIX) {
        return Err(ApiError::NotFound);
    }
    let found = super::read(state, key(&caller.tenant_id, id)).await?;
    let Some(item) = found else {
        return Err(ApiError::NotFound);
    };
    let clears = matches!(item.get(CLEARS_EXPIRY), Some(AttributeValue::Bool(true)));
    let req: AccessRequest = from_item(item)?;
    if !req
        .envelope
        .visible_to(&caller.tenant_id, caller.app_id.as_deref())
    {
        return Err(ApiError::NotFound);
    }
    Ok((req, clears))
}

pub async fn get(
    state: &State,
    caller: &Caller,
    id: &str,
    include_deleted: bool,
) -> ApiResult<AccessRequest> {
    if include_deleted {
        any(state, caller, id).await.map(|(r, _)| r)
    } else {
        visible(state, caller, id).await.map(|(r, _)| r)
    }
}

fn raced() -> ApiError {
    ApiError::conflict("the request is being changed concurrently; retry the request")
}

/// A `modify` may not ask to clear the expiry of a privileged entitlement (API.md §3).
async fn refuse_clearing_privileged(
    state: &State,
    caller: &Caller,
    request: &AccessRequest,
) -> ApiResult<()> {
    let Some(id) = &request.fields.entitlement_id else {
        return Ok(());
    };
    match ents::get(state, caller, id).await {
        Ok(e) if e.fields.privileged => Err(ApiError::field(
            "expires_at",
            "cannot be cleared: the entitlement is privileged",
        )),
        Ok(_) | Err(ApiError::NotFound) => Ok(()),
        Err(e) => Err(e),
    }
}

/// PATCH: edits while pending, or `{"status":"completed"}` once provisioned.
pub async fn update<F>(
    state: &State,
    caller: &Caller,
    id: &str,
    expected: Option<i64>,
    plan: F,
) -> ApiResult<AccessRequest>
where
    F: Fn(&AccessRequest, bool, Timestamp) -> ApiResult<PatchPlan>,
{
    for _ in 0..WRITE_ATTEMPTS {
        let (current, clears) = visible(state, caller, id).await?;
        check_revision(expected, current.envelope.revision)?;
        let now = Timestamp::now();
        let (next, next_clears) = match plan(&current, clears, now)? {
            PatchPlan::Complete(provenance) => (
                domain::completed(&current, &caller.sub, provenance, now),
                clears,
            ),
            PatchPlan::Edit(fields, provenance, next_clears) => {
                if next_clears && !clears {
                    refuse_clearing_privileged(state, caller, &current).await?;
                }
                let mut next = current.clone();
                next.fields = *fields;
                next.envelope.touch(&caller.sub, provenance, now);
                (next, next_clears)
            }
        };
        if rewrite(&current, &next, next_clears)?
            .send(&state.db, state.table())
            .await?
        {
            return Ok(next);
        }
    }
    Err(raced())
}

/// Soft-deletes a pending request.
pub async fn delete(
    state: &State,
    caller: &Caller,
    id: &str,
    expected: Option<i64>,
) -> ApiResult<()> {
    for _ in 0..WRITE_ATTEMPTS {
        let (current, clears) = visible(state, caller, id).await?;
        check_revision(expected, current.envelope.revision)?;
        domain::ensure_deletable(&current)?;
        let mut next = current.clone();
        next.envelope.soft_delete(&caller.sub, Timestamp::now());
        if rewrite(&current, &next, clears)?
            .send(&state.db, state.table())
            .await?
        {
            return Ok(());
        }
    }
    Err(raced())
}

/// Approve or reject: of racing decisions exactly one write holds; the others re-read and
/// find the request no longer pending (409).
pub async fn decide(
    state: &State,
    caller: &Caller,
    id: &str,
    expected: Option<i64>,
    decision: Decision,
    body: DecisionBody,
) -> ApiResult<AccessRequest> {
    for _ in 0..WRITE_ATTEMPTS {
        let (current, clears) = visible(state, caller, id).await?;
        check_revision(expected, current.envelope.revision)?;
        let next = domain::decide(
            &current,
            decision,
            &caller.sub,
            body.clone(),
            Timestamp::now(),
        )?;
        if rewrite(&current, &next, clears)?
            .send(&state.db, state.table())
            .await?
        {
            return Ok(next);
        }
    }
    Err(raced())
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

fn entitlement_gone() -> ApiError {
    ApiError::conflict("the entitlement named by the request is no longer active")
}

/// Provisions an approved request into an entitlement, all in one transaction.
pub async fn provision(
    state: &State,
    caller: &Caller,
    id: &str,
    expected: Option<i64>,
    body: DecisionBody,
) -> ApiResult<AccessRequest> {
    for _ in 0..WRITE_ATTEMPTS {
        let (current, clears) = visible(state, caller, id).await?;
        check_revision(expected, current.envelope.revision)?;
        let now = Timestamp::now();
        domain::ensure_provisionable(&current, now)?;
        // The grant belongs to the request's app (not the provisioner's), so the app that
        // asked sees it, and its asset must be that app's.
        let app = current.envelope.app_id.clone();
        let grantor = Actor {
            id: caller.sub.clone(),
            tenant_id: caller.tenant_id.clone(),
            app_id: app.clone(),
        };
        let f = &current.fields;
        let table = state.table();
        match f.access_type {
            AccessType::New => {
                let ent_id = state.ids.next(ent_domain::ID_PREFIX);
                let ent = Entitlement {
                    envelope: Envelope::new(ent_id.clone(), &grantor, Provenance::default(), now),
                    fields: EntitlementFields {
                        asset_id: f.asset_id.clone(),
                        principal_id: f.principal_id.clone(),
                        principal_type: f.principal_type,
                        entitlement_type: f.entitlement_type.clone().unwrap_or_default(),
                        granted_at: now,
                        granted_by_id: f.approver_id.clone(),
                        expires_at: f.expires_at,
                        grant_source: GrantSource::Provisioned,
                        status: EntStatus::Active,
                        privileged: false,
                        requestable: true,
                        description: None,
                        attributes: None,
                        access_model_metadata: None,
                        revoked_at: None,
                        revoked_by: None,
                        revoke_reason: None,
                        expired_at: None,
                        access_request_id: Some(current.envelope.id.clone()),
                    },
                };
                let next = domain::provisioned(
                    &current,
                    &caller.sub,
                    body.clone(),
                    &ent_id,
                    now,
                    f.approver_id.clone(),
                    now,
                )?;
                let mut tx = Tx::new();
                tx.add(
                    Role::Request,
                    rewrite(&current, &next, clears)?.transact_item(table)?,
                )
                .append(ents::start_grant(&ent, app.as_deref(), table)?);
                match tx.send(&state.db).await? {
                    Ok(()) => return Ok(next),
                    Err(refusal) if refusal.failed(Role::Request) => continue,
                    Err(refusal) => {
                        let err = ents::start_refusal(&refusal, &ent, app.as_deref())
                            .unwrap_or_else(|| refusal.unexpected());
                        return Err(as_conflict(err));
                    }
                }
            }
            kind => {
                let ent_id = f.entitlement_id.clone().unwrap_or_default();
                let ent = match ents::get(state, caller, &ent_id).await {
                    Ok(e) if e.fields.status == EntStatus::Active => e,
                    Ok(_) | Err(ApiError::NotFound) => return Err(entitlement_gone()),
                    Err(e) => return Err(e),
                };
                let next = domain::provisioned(
                    &current,
                    &caller.sub,
                    body.clone(),
                    &ent_id,
                    ent.fields.granted_at,
                    ent.fields.granted_by_id.clone(),
                    now,
                )?;
                let mut tx = Tx::new();
                tx.add(
                    Role::Request,
                    rewrite(&current, &next, clears)?.transact_item(table)?,
                );
                let changed = if kind == AccessType::Revoke {
                    let reason = Some(format!("access request {}", current.envelope.id));
                    let revoked =
                        ent_domain::revoked(&ent, &caller.sub, reason, Provenance::default(), now);
                    tx.append(ents::end_grant(&ent, &revoked, table)?);
                    revoked
                } else {
                    let mut changed = ent.clone();
                    if let Some(t) = &f.entitlement_type {
                        changed.fields.entitlement_type = t.clone();
                    }
                    if f.expires_at.is_some() {
                        changed.fields.expires_at = f.expires_at;
                    } else if clears {
                        changed.fields.expires_at = None;
                    }
                    if changed.fields.privileged && changed.fields.expires_at.is_none() {
                        return Err(ApiError::conflict(
                            "the entitlement is privileged; its expiry cannot be cleared",
                        ));
                    }
                    changed
                        .envelope
                        .touch(&caller.sub, Provenance::default(), now);
                    tx.append(ents::change_grant(&ent, &changed, table)?);
                    changed
                };
                match tx.send(&state.db).await? {
                    Ok(()) => return Ok(next),
                    Err(refusal) if refusal.failed(Role::Request) => continue,
                    // The entitlement changed since it was read (an edit, or its end):
                    // read both again; a re-read that finds it inactive answers 409.
                    Err(refusal) if refusal.failed(Role::Record) => continue,
                    Err(_) if kind == AccessType::Revoke => return Err(entitlement_gone()),
                    Err(refusal) => {
                        return Err(match ents::change_refusal(refusal, &changed) {
                            None => entitlement_gone(),
                            Some(err) => as_conflict(err),
                        })
                    }
                }
            }
        }
    }
    Err(raced())
}

/// Lists requests: by status through the status index, else the tenant's collection.
pub async fn list(
    state: &State,
    caller: &Caller,
    params: ListParams,
) -> ApiResult<ListPage<AccessRequest>> {
    let tenant = &caller.tenant_id;
    let source = match params.filters.get("status") {
        Some(status) => Source {
            index: Some(keys::GSI1),
            pk_attr: keys::GSI1PK,
            pk_value: keys::access_requests_by_status(tenant, status),
            key_attrs: &[keys::GSI1PK, keys::GSI1SK, keys::PK, keys::SK],
        },
        None => Source {
            index: None,
            pk_attr: keys::PK,
            pk_value: keys::pk(tenant, Kind::AccessRequest),
            key_attrs: &[keys::PK, keys::SK],
        },
    };
    let mut filter = Filter::default();
    if !params.include_deleted {
        filter.scope_eq("is_deleted", AttributeValue::Bool(false));
    }
    if let Some(app) = &caller.app_id {
        filter.scope_eq("app_id", s(app));
    }
    for (name, value) in &params.filters {
        match name.as_str() {
            "status" => {}
            "q" => {
                filter.contains(SEARCH, s(value));
            }
            other => {
                filter.eq(other, s(value));
            }
        }
    }
    let listing = Listing {
        collection: "access-requests",
        source,
        filter,
    };
    list::records(state, caller, &params, listing).await
}
