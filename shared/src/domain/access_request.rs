//! Access requests (seed 002): validation, defaults, what a request asks for (`AccessType`, a
//! modify's `ExpiryChange`), and the state machine `Status::transition`:
//! `pending → approved | rejected`, `approved → provisioned`, `provisioned → completed`.
//! Provisioning's effect on the entitlement is `domain::provision`.

use crate::domain::entitlement::{privileged_needs_expiry, PrincipalType};
use crate::domain::error::DomainError;
use crate::envelope::{Provenance, Record};
use crate::error::{ApiError, ApiResult};
use crate::input::{Field, Input};
use crate::listing::{Filter, Spec};
use crate::time::Timestamp;
use crate::vocab::Closed;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub const ID_PREFIX: &str = "arq";

crate::closed_set! {
    /// The `access_type` of a request, as the API names it.
    pub enum AccessKind { New = "new", Modify = "modify", Revoke = "revoke" }
}

/// How a `modify` treats the entitlement's expiry: `expires_at` absent, a time, or `null`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryChange {
    Keep,
    Set(Timestamp),
    Clear,
}

impl ExpiryChange {
    fn from_field(field: &Field<Timestamp>) -> ExpiryChange {
        match field {
            Field::Absent => ExpiryChange::Keep,
            Field::Null => ExpiryChange::Clear,
            Field::Value(at) => ExpiryChange::Set(*at),
        }
    }

    /// The expiry once the change is applied to `current`.
    pub fn apply(self, current: Option<Timestamp>) -> Option<Timestamp> {
        match self {
            ExpiryChange::Keep => current,
            ExpiryChange::Set(at) => Some(at),
            ExpiryChange::Clear => None,
        }
    }
}

/// What a request asks for, with what each kind of request carries.
#[derive(Debug, Clone, PartialEq)]
pub enum AccessType {
    /// A grant to start; `entitlement_id` names it once provisioned.
    New {
        entitlement_type: String,
        expires_at: Option<Timestamp>,
        entitlement_id: Option<String>,
    },
    /// A live grant to change: its type, its expiry, or both.
    Modify {
        entitlement_id: String,
        entitlement_type: Option<String>,
        change: ExpiryChange,
    },
    /// A live grant to end (its type is copied in when the request is filed).
    Revoke {
        entitlement_id: String,
        entitlement_type: String,
    },
}

impl AccessType {
    pub fn kind(&self) -> AccessKind {
        match self {
            AccessType::New { .. } => AccessKind::New,
            AccessType::Modify { .. } => AccessKind::Modify,
            AccessType::Revoke { .. } => AccessKind::Revoke,
        }
    }

    pub fn entitlement_type(&self) -> Option<&str> {
        match self {
            AccessType::New {
                entitlement_type, ..
            }
            | AccessType::Revoke {
                entitlement_type, ..
            } => Some(entitlement_type),
            AccessType::Modify {
                entitlement_type, ..
            } => entitlement_type.as_deref(),
        }
    }

    pub fn entitlement_id(&self) -> Option<&str> {
        match self {
            AccessType::New { entitlement_id, .. } => entitlement_id.as_deref(),
            AccessType::Modify { entitlement_id, .. }
            | AccessType::Revoke { entitlement_id, .. } => Some(entitlement_id),
        }
    }

    /// The expiry the request asks for, if it names one.
    pub fn expires_at(&self) -> Option<Timestamp> {
        match self {
            AccessType::New { expires_at, .. } => *expires_at,
            AccessType::Modify {
                change: ExpiryChange::Set(at),
                ..
            } => Some(*at),
            _ => None,
        }
    }

    /// The live entitlement a `modify`/`revoke` acts on.
    pub fn target_id(&self) -> Option<&str> {
        match self {
            AccessType::New { .. } => None,
            AccessType::Modify { entitlement_id, .. }
            | AccessType::Revoke { entitlement_id, .. } => Some(entitlement_id),
        }
    }

    pub fn clears_expiry(&self) -> bool {
        matches!(
            self,
            AccessType::Modify {
                change: ExpiryChange::Clear,
                ..
            }
        )
    }
}

crate::closed_set! {
    pub enum Status {
        Pending = "pending", Approved = "approved", Rejected = "rejected",
        Provisioned = "provisioned", Completed = "completed",
    }
}

/// What happens to a request; `Status::transition` says whether it may, and what it becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Approve,
    Reject,
    Provision,
    Complete,
    Edit,
    Delete,
}

/// An event the request's status does not allow (409).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub from: Status,
    pub event: Event,
}

impl Status {
    /// The state machine, in one place: `pending → approved | rejected`,
    /// `approved → provisioned`, `provisioned → completed`; edits and deletes only while
    /// pending (the status stays).
    pub fn transition(self, event: Event) -> Result<Status, Refusal> {
        use {Event as E, Status as S};
        match (self, event) {
            (S::Pending, E::Approve) => Ok(S::Approved),
            (S::Pending, E::Reject) => Ok(S::Rejected),
            (S::Pending, E::Edit | E::Delete) => Ok(S::Pending),
            (S::Approved, E::Provision) => Ok(S::Provisioned),
            (S::Provisioned, E::Complete) => Ok(S::Completed),
            (from, event) => Err(Refusal { from, event }),
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> ApiError {
        DomainError::from(r).into()
    }
}

const SHORT: usize = 200;
const TEXT: usize = 4000;

/// Fields a client may send on create; server-set fields are ignored like the envelope's.
const CREATE_FIELDS: &[&str] = &[
    "requester_id",
    "system_id",
    "access_type",
    "justification",
    "asset_id",
    "principal_id",
    "principal_type",
    "entitlement_type",
    "expires_at",
    "entitlement_id",
    "tags",
];

/// Set by the server only: ignored in bodies.
const SERVER_SET: &[&str] = &[
    "status",
    "approver_id",
    "approved_at",
    "rejected_at",
    "provisioned_at",
    "completed_at",
    "decision_comment",
    "granted_at",
    "granted_by_id",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "FieldsWire", try_from = "FieldsWire")]
pub struct AccessRequestFields {
    pub requester_id: String,
    pub system_id: String,
    pub access: AccessType,
    pub status: Status,
    pub justification: String,
    pub approver_id: Option<String>,
    pub approved_at: Option<Timestamp>,
    pub rejected_at: Option<Timestamp>,
    pub provisioned_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    pub decision_comment: Option<String>,
    pub asset_id: String,
    pub principal_id: String,
    pub principal_type: PrincipalType,
    pub granted_at: Option<Timestamp>,
    pub granted_by_id: Option<String>,
    pub tags: Option<Vec<String>>,
}

/// The stored item attribute that tells a `modify` clearing the expiry (`ExpiryChange::Clear`)
/// from one keeping it: both answer `expires_at: null`, so the API never shows it and only the
/// store writes it (`FieldsWire` reads it back).
pub const CLEARS_EXPIRY: &str = "clears_expiry";

/// The request's fields as the API shows them and the table stores them: flat, in this order.
#[derive(Serialize, Deserialize)]
struct FieldsWire {
    requester_id: String,
    system_id: String,
    access_type: AccessKind,
    status: Status,
    justification: String,
    approver_id: Option<String>,
    approved_at: Option<Timestamp>,
    rejected_at: Option<Timestamp>,
    provisioned_at: Option<Timestamp>,
    completed_at: Option<Timestamp>,
    decision_comment: Option<String>,
    asset_id: String,
    principal_id: String,
    principal_type: PrincipalType,
    entitlement_type: Option<String>,
    entitlement_id: Option<String>,
    granted_at: Option<Timestamp>,
    granted_by_id: Option<String>,
    expires_at: Option<Timestamp>,
    tags: Option<Vec<String>>,
    #[serde(default, skip_serializing)]
    clears_expiry: bool,
}

impl From<AccessRequestFields> for FieldsWire {
    fn from(f: AccessRequestFields) -> FieldsWire {
        let access_type = f.access.kind();
        let entitlement_type = f.access.entitlement_type().map(str::to_string);
        let entitlement_id = f.access.entitlement_id().map(str::to_string);
        let expires_at = f.access.expires_at();
        FieldsWire {
            requester_id: f.requester_id,
            system_id: f.system_id,
            access_type,
            status: f.status,
            justification: f.justification,
            approver_id: f.approver_id,
            approved_at: f.approved_at,
            rejected_at: f.rejected_at,
            provisioned_at: f.provisioned_at,
            completed_at: f.completed_at,
            decision_comment: f.decision_comment,
            asset_id: f.asset_id,
            principal_id: f.principal_id,
            principal_type: f.principal_type,
            entitlement_type,
            entitlement_id,
            granted_at: f.granted_at,
            granted_by_id: f.granted_by_id,
            expires_at,
            tags: f.tags,
            clears_expiry: false,
        }
    }
}

impl TryFrom<FieldsWire> for AccessRequestFields {
    type Error = String;

    fn try_from(w: FieldsWire) -> Result<AccessRequestFields, String> {
        let missing = |field: &str| format!("a {} request without {field}", w.access_type);
        let access = match w.access_type {
            AccessKind::New => AccessType::New {
                entitlement_type: w
                    .entitlement_type
                    .ok_or_else(|| missing("entitlement_type"))?,
                expires_at: w.expires_at,
                entitlement_id: w.entitlement_id,
            },
            AccessKind::Modify => AccessType::Modify {
                entitlement_id: w.entitlement_id.ok_or_else(|| missing("entitlement_id"))?,
                entitlement_type: w.entitlement_type,
                change: match (w.expires_at, w.clears_expiry) {
                    (Some(at), _) => ExpiryChange::Set(at),
                    (None, true) => ExpiryChange::Clear,
                    (None, false) => ExpiryChange::Keep,
                },
            },
            AccessKind::Revoke => AccessType::Revoke {
                entitlement_id: w.entitlement_id.ok_or_else(|| missing("entitlement_id"))?,
                entitlement_type: w
                    .entitlement_type
                    .ok_or_else(|| missing("entitlement_type"))?,
            },
        };
        Ok(AccessRequestFields {
            requester_id: w.requester_id,
            system_id: w.system_id,
            access,
            status: w.status,
            justification: w.justification,
            approver_id: w.approver_id,
            approved_at: w.approved_at,
            rejected_at: w.rejected_at,
            provisioned_at: w.provisioned_at,
            completed_at: w.completed_at,
            decision_comment: w.decision_comment,
            asset_id: w.asset_id,
            principal_id: w.principal_id,
            principal_type: w.principal_type,
            granted_at: w.granted_at,
            granted_by_id: w.granted_by_id,
            tags: w.tags,
        })
    }
}

pub type AccessRequest = Record<AccessRequestFields>;

impl super::Searchable for AccessRequestFields {
    fn searched(&self) -> Vec<Option<&str>> {
        vec![
            Some(&self.justification),
            Some(&self.system_id),
            self.access.entitlement_type(),
        ]
    }
}

/// A create body, validated but with its asset and entitlement not yet resolved.
#[derive(Debug, Clone)]
pub struct Draft {
    pub requester_id: String,
    pub system_id: String,
    pub access_type: AccessKind,
    pub justification: String,
    pub asset_id: Option<String>,
    pub principal_id: Option<String>,
    pub principal_type: Option<PrincipalType>,
    pub entitlement_type: Option<String>,
    pub expires_at: Field<Timestamp>,
    pub entitlement_id: Option<String>,
    pub tags: Option<Vec<String>>,
    pub provenance: Provenance,
}

impl Draft {
    /// A `modify` that asks to clear the expiry (`expires_at: null`).
    pub fn clears_expiry(&self) -> bool {
        self.access_type == AccessKind::Modify && matches!(self.expires_at, Field::Null)
    }
}

/// A `modify` may not clear the expiry of a privileged entitlement (API.md §3): the rule is
/// `entitlement::privileged_needs_expiry`, checked against the entitlement as read.
pub fn check_clearing(clears_expiry: bool, target_privileged: bool) -> ApiResult<()> {
    if clears_expiry && privileged_needs_expiry(target_privileged, None) {
        return Err(DomainError::PrivilegedCannotClear.into());
    }
    Ok(())
}

fn drop_server_set(body: &mut Map<String, Value>) {
    for f in SERVER_SET {
        body.remove(*f);
    }
}

pub fn parse_create(
    mut body: Map<String, Value>,
    caller_sub: &str,
    now: Timestamp,
) -> ApiResult<Draft> {
    drop_server_set(&mut body);
    let mut input = Input::new(body, CREATE_FIELDS);
    let provenance = input.provenance();
    let requester_id = input.string("requester_id", SHORT).value();
    let system_id = input.string("system_id", SHORT);
    let system_id = input.required("system_id", system_id);
    let access_type = input.choice::<AccessKind>("access_type");
    let access_type = input.required("access_type", access_type);
    let justification = input.string("justification", TEXT);
    let justification = input.required("justification", justification);
    let asset_id = input.string("asset_id", SHORT).value();
    let principal_id = input.string("principal_id", SHORT).value();
    let principal_type = input.choice::<PrincipalType>("principal_type").value();
    let entitlement_type = input.string("entitlement_type", SHORT).value();
    let expires_at = input.timestamp("expires_at");
    let entitlement_id = input.string("entitlement_id", SHORT).value();
    let tags = input.string_list("tags", 50, 100).value();
    if let Field::Value(at) = &expires_at {
        if *at <= now {
            input.error("expires_at", "must be in the future");
        }
    }
    match access_type {
        Some(AccessKind::New) => {
            if entitlement_type.is_none() && !input.has_error("entitlement_type") {
                input.error("entitlement_type", "is required when access_type is new");
            }
            if matches!(expires_at, Field::Null) {
                input.error("expires_at", "cannot be null");
            }
        }
        Some(AccessKind::Modify) => {
            if entitlement_type.is_none() && expires_at.is_absent() {
                input.error(
                    "entitlement_type",
                    "entitlement_type and/or expires_at is required when access_type is modify",
                );
            }
            if entitlement_id.is_none() && !input.has_error("entitlement_id") {
                input.error("entitlement_id", "is required when access_type is modify");
            }
        }
        Some(AccessKind::Revoke) => {
            if entitlement_id.is_none() && !input.has_error("entitlement_id") {
                input.error("entitlement_id", "is required when access_type is revoke");
            }
            if !expires_at.is_absent() {
                input.error("expires_at", "does not apply when access_type is revoke");
            }
        }
        None => {}
    }
    input.finish()?;
    let (Some(system_id), Some(access_type), Some(justification)) =
        (system_id, access_type, justification)
    else {
        return Err(ApiError::Internal("a required field passed unread".into()));
    };
    let requester_id = requester_id.unwrap_or_else(|| caller_sub.to_string());
    // For `new` it is the server's to set (after provisioning): ignored like other stamps.
    let entitlement_id = entitlement_id.filter(|_| access_type != AccessKind::New);
    Ok(Draft {
        requester_id,
        system_id,
        access_type,
        justification,
        asset_id,
        principal_id,
        principal_type,
        entitlement_type,
        expires_at,
        entitlement_id,
        tags,
        provenance,
    })
}

/// The entitlement a `modify`/`revoke` names, as the request sees it.
pub struct Target<'a> {
    pub asset_id: &'a str,
    pub principal_id: &'a str,
    pub principal_type: PrincipalType,
    pub entitlement_type: &'a str,
}

/// The request's fields once its asset (and, for modify/revoke, its entitlement) resolved.
pub fn resolve(
    draft: Draft,
    asset_id: String,
    target: Option<Target<'_>>,
) -> ApiResult<(AccessRequestFields, Provenance)> {
    let mut errors = Vec::new();
    let (principal_id, principal_type) = match &target {
        Some(t) => {
            if draft
                .principal_id
                .as_deref()
                .is_some_and(|p| p != t.principal_id)
            {
                errors.push(crate::error::FieldError::new(
                    "principal_id",
                    "does not match the entitlement's principal",
                ));
            }
            if draft.principal_type.is_some_and(|p| p != t.principal_type) {
                errors.push(crate::error::FieldError::new(
                    "principal_type",
                    "does not match the entitlement's principal",
                ));
            }
            (t.principal_id.to_string(), t.principal_type)
        }
        None => {
            let pid = draft
                .principal_id
                .clone()
                .unwrap_or_else(|| draft.requester_id.clone());
            let ptype = draft.principal_type.unwrap_or(PrincipalType::Person);
            (pid, ptype)
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let unresolved = || ApiError::Internal("a request resolved without its entitlement".into());
    let access = match draft.access_type {
        AccessKind::New => AccessType::New {
            entitlement_type: draft.entitlement_type.ok_or_else(unresolved)?,
            expires_at: draft.expires_at.value(),
            entitlement_id: None,
        },
        AccessKind::Modify => AccessType::Modify {
            entitlement_id: draft.entitlement_id.ok_or_else(unresolved)?,
            entitlement_type: draft.entitlement_type,
            change: ExpiryChange::from_field(&draft.expires_at),
        },
        AccessKind::Revoke => AccessType::Revoke {
            entitlement_id: draft.entitlement_id.ok_or_else(unresolved)?,
            entitlement_type: target
                .map(|t| t.entitlement_type.to_string())
                .ok_or_else(unresolved)?,
        },
    };
    let fields = AccessRequestFields {
        requester_id: draft.requester_id,
        system_id: draft.system_id,
        access,
        status: Status::Pending,
        justification: draft.justification,
        approver_id: None,
        approved_at: None,
        rejected_at: None,
        provisioned_at: None,
        completed_at: None,
        decision_comment: None,
        asset_id,
        principal_id,
        principal_type,
        granted_at: None,
        granted_by_id: None,
        tags: draft.tags,
    };
    Ok((fields, draft.provenance))
}

/// Fields a PATCH may change while the request is pending; `status` only to `completed`.
const PATCH_FIELDS: &[&str] = &[
    "justification",
    "entitlement_type",
    "expires_at",
    "tags",
    "status",
    "requester_id",
    "system_id",
    "access_type",
    "asset_id",
    "principal_id",
    "principal_type",
    "entitlement_id",
];

/// What a PATCH asks for.
pub enum PatchPlan {
    /// `{"status": "completed"}` (optionally with provenance): provisioned → completed.
    Complete(Provenance),
    /// New field values for a pending request.
    Edit(Box<AccessRequestFields>, Provenance),
}

pub fn plan_patch(
    current: &AccessRequest,
    mut body: Map<String, Value>,
    now: Timestamp,
) -> ApiResult<PatchPlan> {
    let status = body.remove("status");
    drop_server_set(&mut body);
    let mut input = Input::new(body, PATCH_FIELDS);
    let provenance = input.provenance();
    let c = &current.fields;
    for (name, value) in [
        ("requester_id", Some(c.requester_id.as_str())),
        ("system_id", Some(c.system_id.as_str())),
        ("access_type", Some(c.access.kind().as_str())),
        ("asset_id", Some(c.asset_id.as_str())),
        ("principal_id", Some(c.principal_id.as_str())),
        ("principal_type", Some(c.principal_type.as_str())),
        ("entitlement_id", c.access.entitlement_id()),
    ] {
        let f = input.string(name, SHORT);
        match f {
            Field::Absent => {}
            Field::Value(v) if Some(v.as_str()) == value => {}
            _ => input.error(name, "cannot be changed; create a new request"),
        }
    }
    let justification = input.string("justification", TEXT);
    if matches!(justification, Field::Null) {
        input.error("justification", "cannot be null");
    }
    let entitlement_type = input.string("entitlement_type", SHORT);
    let expires_at = input.timestamp("expires_at");
    let tags = input.string_list("tags", 50, 100);
    if let Field::Value(at) = &expires_at {
        if *at <= now {
            input.error("expires_at", "must be in the future");
        }
    }
    match c.access.kind() {
        AccessKind::New if matches!(entitlement_type, Field::Null) => {
            input.error("entitlement_type", "is required when access_type is new");
        }
        AccessKind::Revoke if !entitlement_type.is_absent() || !expires_at.is_absent() => {
            input.error(
                "access_type",
                "a revoke request changes neither type nor expiry",
            );
        }
        _ => {}
    }
    let edits = !justification.is_absent()
        || !entitlement_type.is_absent()
        || !expires_at.is_absent()
        || !tags.is_absent();
    let completing = match status {
        None => false,
        Some(Value::String(s)) if s == Status::Completed.as_str() => true,
        Some(_) => {
            input.error("status", "can only be set to completed");
            false
        }
    };
    if completing && edits {
        input.error(
            "status",
            "completing a request cannot be combined with other changes",
        );
    }
    input.finish()?;
    if completing {
        c.status.transition(Event::Complete)?;
        return Ok(PatchPlan::Complete(provenance));
    }
    c.status.transition(Event::Edit)?;
    let mut next = c.clone();
    next.justification = justification.value().unwrap_or(next.justification);
    next.tags = tags.merge(next.tags);
    match &mut next.access {
        AccessType::New {
            entitlement_type: etype,
            expires_at: at,
            ..
        } => {
            if let Some(t) = entitlement_type.value() {
                *etype = t;
            }
            *at = expires_at.merge(*at);
        }
        AccessType::Modify {
            entitlement_type: etype,
            change,
            ..
        } => {
            *etype = entitlement_type.merge(etype.take());
            if !expires_at.is_absent() {
                *change = ExpiryChange::from_field(&expires_at);
            }
            if etype.is_none() && *change == ExpiryChange::Keep {
                return Err(ApiError::field(
                    "entitlement_type",
                    "entitlement_type and/or expires_at is required when access_type is modify",
                ));
            }
        }
        AccessType::Revoke { .. } => {}
    }
    Ok(PatchPlan::Edit(Box::new(next), provenance))
}

/// The body of approve, reject and provision: `{"comment"?}`, and the client's provenance.
#[derive(Debug, Clone)]
pub struct DecisionBody {
    pub comment: Option<String>,
    pub provenance: Provenance,
}

pub fn parse_decision(body: Map<String, Value>) -> ApiResult<DecisionBody> {
    let mut input = Input::new(body, &["comment"]);
    let provenance = input.provenance();
    let comment = input.string("comment", TEXT).value();
    input.finish()?;
    Ok(DecisionBody {
        comment,
        provenance,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
}

/// Approve or reject a pending request; neither the requester nor the person who would hold
/// the access may decide it (403, API.md §3 and §10).
pub fn decide(
    current: &AccessRequest,
    decision: Decision,
    approver: &str,
    body: DecisionBody,
    now: Timestamp,
) -> ApiResult<AccessRequest> {
    let event = match decision {
        Decision::Approve => Event::Approve,
        Decision::Reject => Event::Reject,
    };
    // Whoever filed the request counts as its requester too, so naming someone else as
    // requester_id does not open a way to approve one's own request.
    let own = current.fields.requester_id == approver
        || current.envelope.created_by.as_deref() == Some(approver);
    if own {
        return Err(ApiError::Forbidden(
            "the requester cannot approve or reject their own request".into(),
        ));
    }
    // Whoever filed it: someone else filing for you does not let you grant yourself access.
    if current.fields.principal_type == PrincipalType::Person
        && current.fields.principal_id == approver
    {
        return Err(ApiError::Forbidden(
            "the beneficiary cannot approve or reject a request for their own access".into(),
        ));
    }
    let to = current.fields.status.transition(event)?;
    let mut next = current.clone();
    next.fields.status = to;
    next.fields.approver_id = Some(approver.to_string());
    next.fields.decision_comment = body.comment;
    match decision {
        Decision::Approve => next.fields.approved_at = Some(now),
        Decision::Reject => next.fields.rejected_at = Some(now),
    }
    next.envelope.touch(approver, body.provenance, now);
    Ok(next)
}

/// Provisioning may start only from `approved`, and never grants access that has already
/// expired.
pub fn ensure_provisionable(current: &AccessRequest, now: Timestamp) -> ApiResult<()> {
    current.fields.status.transition(Event::Provision)?;
    if current
        .fields
        .access
        .expires_at()
        .is_some_and(|at| at <= now)
    {
        return Err(ApiError::conflict(
            "the requested expires_at has passed; file a new request",
        ));
    }
    Ok(())
}

pub fn completed(
    current: &AccessRequest,
    actor: &str,
    provenance: Provenance,
    now: Timestamp,
) -> AccessRequest {
    let mut next = current.clone();
    next.fields.status = Status::Completed;
    next.fields.completed_at = Some(now);
    next.envelope.touch(actor, provenance, now);
    next
}

/// Deleting is allowed only while pending.
pub fn ensure_deletable(current: &AccessRequest) -> ApiResult<()> {
    current.fields.status.transition(Event::Delete)?;
    Ok(())
}

/// List filters of API.md §5 for access requests, plus `q`.
pub const LIST: Spec<'static> = Spec {
    filters: &[
        Filter::one_of("status", Status::NAMES),
        Filter::any("requester_id"),
        Filter::any("system_id"),
        Filter::any("asset_id"),
        Filter::any("principal_id"),
        Filter::one_of("access_type", AccessKind::NAMES),
    ],
    search: true,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_table_covers_every_state_and_event() {
        use {Event as E, Status as S};
        let events = [
            E::Approve,
            E::Reject,
            E::Provision,
            E::Complete,
            E::Edit,
            E::Delete,
        ];
        let allowed = |from: S, event: E| match (from, event) {
            (S::Pending, E::Approve) => Some(S::Approved),
            (S::Pending, E::Reject) => Some(S::Rejected),
            (S::Pending, E::Edit) | (S::Pending, E::Delete) => Some(S::Pending),
            (S::Approved, E::Provision) => Some(S::Provisioned),
            (S::Provisioned, E::Complete) => Some(S::Completed),
            _ => None,
        };
        for from in S::ALL.iter().copied() {
            for event in events {
                let got = from.transition(event);
                match allowed(from, event) {
                    Some(to) => assert_eq!(got, Ok(to), "{from} {event:?}"),
                    None => assert_eq!(got, Err(Refusal { from, event }), "{from} {event:?}"),
                }
            }
        }
        let err = ApiError::from(Refusal {
            from: S::Rejected,
            event: E::Approve,
        });
        assert_eq!(err.status(), 409);
    }
}
