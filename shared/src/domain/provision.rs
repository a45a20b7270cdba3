//! Provisioning an approved access request: what it does to the entitlement, decided here as a
//! plan; `store::access_requests::provision` writes the plan and the request in one transaction.

use super::access_request::{self as request, AccessRequest, AccessType, DecisionBody, Event};
use super::entitlement::{self, Entitlement, EntitlementFields, GrantSource, Status};
use super::error::DomainError;
use crate::envelope::{Actor, Envelope, Provenance};
use crate::error::ApiResult;
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
                return Err(DomainError::PrivilegedKeepsExpiry.into());
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
        _ => Err(DomainError::EntitlementGone.into()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access_request::{parse_create, resolve, Status as RequestStatus, Target};
    use crate::domain::entitlement::PrincipalType;
    use crate::error::ApiError;
    use serde_json::{json, Value};

    fn now() -> Timestamp {
        Timestamp::parse("2026-06-01T00:00:00Z").unwrap()
    }

    fn actor() -> Actor {
        Actor {
            id: "filer".into(),
            tenant_id: "t1".into(),
            app_id: None,
        }
    }

    fn grant(privileged: bool, expires_at: Option<Timestamp>) -> Entitlement {
        let mut fields = EntitlementFields::granted(
            "ast_1".into(),
            "p1".into(),
            PrincipalType::Person,
            "read".into(),
            now(),
        );
        fields.privileged = privileged;
        fields.expires_at = expires_at;
        let envelope = Envelope::new("ent_1".into(), &actor(), Provenance::default(), now());
        Entitlement { envelope, fields }
    }

    fn approved(body: Value, target: Option<&Entitlement>) -> AccessRequest {
        let Value::Object(body) = body else {
            unreachable!()
        };
        let draft = parse_create(body, "filer", now()).unwrap();
        let t = target.map(|e| Target {
            asset_id: &e.fields.asset_id,
            principal_id: &e.fields.principal_id,
            principal_type: e.fields.principal_type,
            entitlement_type: &e.fields.entitlement_type,
        });
        let (mut fields, provenance) = resolve(draft, "ast_1".into(), None, t).unwrap();
        fields.status = RequestStatus::Approved;
        fields.approver_id = Some("approver".into());
        let envelope = Envelope::new("arq_1".into(), &actor(), provenance, now());
        AccessRequest { envelope, fields }
    }

    fn body() -> DecisionBody {
        DecisionBody {
            comment: None,
            provenance: Provenance::default(),
        }
    }

    #[test]
    fn new_starts_a_provisioned_grant() {
        let req = approved(
            json!({"system_id": "crm", "access_type": "new", "justification": "j",
                   "principal_id": "p1", "entitlement_type": "read"}),
            None,
        );
        let p = plan_provision(&req, None, "prov", "ent_9".into(), body(), now()).unwrap();
        let ProvisionPlan::Start(ent) = &p.plan else {
            panic!("{p:?}")
        };
        assert_eq!(ent.envelope.id, "ent_9");
        assert_eq!(ent.fields.grant_source, GrantSource::Provisioned);
        assert_eq!(ent.fields.granted_by_id.as_deref(), Some("approver"));
        assert_eq!(ent.fields.access_request_id.as_deref(), Some("arq_1"));
        assert_eq!(p.request.fields.status, RequestStatus::Provisioned);
        assert_eq!(p.request.fields.access.entitlement_id(), Some("ent_9"));
    }

    #[test]
    fn modify_applies_the_expiry_change_and_keeps_privileged_grants_expiring() {
        let later = Timestamp::parse("2026-07-01T00:00:00Z").unwrap();
        let ent = grant(false, Some(later));
        let clear = json!({"system_id": "crm", "access_type": "modify", "justification": "j",
                           "entitlement_id": "ent_1", "expires_at": null});
        let req = approved(clear.clone(), Some(&ent));
        let p = plan_provision(&req, Some(&ent), "prov", "x".into(), body(), now()).unwrap();
        let ProvisionPlan::Change { to, .. } = &p.plan else {
            panic!("{p:?}")
        };
        assert_eq!(to.fields.expires_at, None);

        let privileged = grant(true, Some(later));
        let req = approved(clear, Some(&privileged));
        let err = plan_provision(&req, Some(&privileged), "prov", "x".into(), body(), now());
        assert_eq!(
            err.unwrap_err().status(),
            ApiError::from(DomainError::PrivilegedKeepsExpiry).status()
        );
    }

    #[test]
    fn revoke_ends_the_live_grant_and_needs_one() {
        let ent = grant(false, None);
        let req = approved(
            json!({"system_id": "crm", "access_type": "revoke", "justification": "j",
                   "entitlement_id": "ent_1"}),
            Some(&ent),
        );
        let p = plan_provision(&req, Some(&ent), "prov", "x".into(), body(), now()).unwrap();
        assert!(
            matches!(&p.plan, ProvisionPlan::End { to, .. } if to.fields.status == Status::Revoked)
        );
        let gone = plan_provision(&req, None, "prov", "x".into(), body(), now()).unwrap_err();
        assert_eq!(gone.status(), 409);
    }
}
