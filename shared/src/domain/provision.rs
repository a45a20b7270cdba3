//! Provisioning an approved access request: what it does to the entitlement, decided here as a
//! plan; `store::access_requests::provision` writes the plan and the request in one transaction.

use super::access_request::{self as request, AccessRequest, AccessType, DecisionBody, Event};
use super::entitlement::{self, Entitlement, EntitlementFields, GrantSource, Status};
use crate::envelope::{Actor, Envelope, Provenance};
use crate::error::{ApiError, ApiResult};
use crate::time::Timestamp;

/// What provisioning does to the entitlement.
#[derive(Debug, Clone, PartialEq)]
pub enum ProvisionPlan {
    /// A `new` request: this grant starts.
    Start(Entitlement),
    /// A `modify`: the live grant `from` becomes `to`.
    Change { from: Entitlement, to: Entitlement },
    /// A `revoke`: the live grant `from` ends as `to`.
    End { from: Entitlement, to: Entitlement },
}

/// The request as provisioned and the plan for its entitlement.
#[derive(Debug, Clone, PartialEq)]
pub struct Provisioning {
    pub request: AccessRequest,
    pub plan: ProvisionPlan,
}

pub fn entitlement_gone() -> ApiError {
    ApiError::conflict("the entitlement named by the request is no longer active")
}

/// Plans provisioning `current` by `actor` at `now`. `target` is the live entitlement a
/// `modify`/`revoke` names as read (`None`: it no longer exists for the caller); `new_id` the id
/// a `new` grant gets.
pub fn plan_provision(
    current: &AccessRequest,
    target: Option<&Entitlement>,
    actor: &str,
    new_id: String,
    body: DecisionBody,
    now: Timestamp,
) -> ApiResult<Provisioning> {
    request::ensure_provisionable(current, now)?;
    let f = &current.fields;
    let (entitlement_id, granted_at, granted_by_id, plan) = match &f.access {
        AccessType::New {
            entitlement_type,
            expires_at,
            ..
        } => {
            // The grant belongs to the request's app (not the provisioner's), so the app that
            // asked sees it, and its asset must be that app's.
            let grantor = Actor {
                id: actor.to_string(),
                tenant_id: current.envelope.tenant_id.clone(),
                app_id: current.envelope.app_id.clone(),
            };
            let fields = EntitlementFields {
                granted_by_id: f.approver_id.clone(),
                expires_at: *expires_at,
                grant_source: GrantSource::Provisioned,
                access_request_id: Some(current.envelope.id.clone()),
                ..EntitlementFields::granted(
                    f.asset_id.clone(),
                    f.principal_id.clone(),
                    f.principal_type,
                    entitlement_type.clone(),
                    now,
                )
            };
            let envelope = Envelope::new(new_id.clone(), &grantor, Provenance::default(), now);
            let ent = Entitlement { envelope, fields };
            (
                new_id,
                now,
                f.approver_id.clone(),
                ProvisionPlan::Start(ent),
            )
        }
        AccessType::Modify {
            entitlement_type,
            change,
            ..
        } => {
            let from = live(target)?;
            let mut to = from.clone();
            if let Some(t) = entitlement_type {
                to.fields.entitlement_type = t.clone();
            }
            to.fields.expires_at = change.apply(to.fields.expires_at);
            if entitlement::privileged_needs_expiry(to.fields.privileged, to.fields.expires_at) {
                return Err(ApiError::conflict(
                    "the entitlement is privileged; its expiry cannot be cleared",
                ));
            }
            to.envelope.touch(actor, Provenance::default(), now);
            let stamps = (from.fields.granted_at, from.fields.granted_by_id.clone());
            (
                from.envelope.id.clone(),
                stamps.0,
                stamps.1,
                ProvisionPlan::Change { from, to },
            )
        }
        AccessType::Revoke { .. } => {
            let from = live(target)?;
            let reason = Some(format!("access request {}", current.envelope.id));
            let to = entitlement::revoked(&from, actor, reason, Provenance::default(), now);
            let stamps = (from.fields.granted_at, from.fields.granted_by_id.clone());
            (
                from.envelope.id.clone(),
                stamps.0,
                stamps.1,
                ProvisionPlan::End { from, to },
            )
        }
    };
    let request = provisioned(
        current,
        actor,
        body,
        &entitlement_id,
        granted_at,
        granted_by_id,
        now,
    )?;
    Ok(Provisioning { request, plan })
}

fn live(target: Option<&Entitlement>) -> ApiResult<Entitlement> {
    match target {
        Some(e) if e.fields.status == Status::Active => Ok(e.clone()),
        _ => Err(entitlement_gone()),
    }
}

/// The request once provisioned (the entitlement's id and grant stamps copied in).
fn provisioned(
    current: &AccessRequest,
    actor: &str,
    body: DecisionBody,
    entitlement_id: &str,
    granted_at: Timestamp,
    granted_by_id: Option<String>,
    now: Timestamp,
) -> ApiResult<AccessRequest> {
    let to = current.fields.status.transition(Event::Provision)?;
    let mut next = current.clone();
    next.fields.status = to;
    next.fields.provisioned_at = Some(now);
    if let AccessType::New {
        entitlement_id: id, ..
    } = &mut next.fields.access
    {
        *id = Some(entitlement_id.to_string());
    }
    next.fields.granted_at = Some(granted_at);
    next.fields.granted_by_id = granted_by_id;
    if body.comment.is_some() {
        next.fields.decision_comment = body.comment;
    }
    next.envelope.touch(actor, body.provenance, now);
    Ok(next)
}
