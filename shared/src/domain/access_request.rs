//! Access requests (seed 002): validation, defaults, what a request asks for (`AccessType`, a
//! modify's `ExpiryChange`), and the state machine `Status::transition`:
//! `pending → approved | rejected`, `approved → provisioned`, `provisioned → completed`.
//! Provisioning's effect on the entitlement is `domain::provision`.

use crate::domain::asset::{AssetFields, Criticality};
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
    "approvals",
    "approvals_required",
];

/// One approval of a request (API.md §10): who, when, and the comment they gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    pub approver_id: String,
    pub approved_at: Timestamp,
    pub comment: Option<String>,
}

/// How many distinct approvals a request on an asset of this criticality needs: two for a
/// `critical` asset (the two-person rule), else one.
pub fn approvals_required_for(criticality: Option<Criticality>) -> u8 {
    match criticality {
        Some(Criticality::Critical) => 2,
        _ => 1,
    }
}

/// The stored item attribute that tells a `modify` clearing the expiry (`ExpiryChange::Clear`)
/// from one keeping it: both answer `expires_at: null`, so the API never shows it and only the
/// store writes it (`FieldsWire` reads it back).
pub const CLEARS_EXPIRY: &str = "clears_expiry";

/// `AccessRequestFields` and its wire form `FieldsWire` differ only in how the access is held
/// (`AccessType` there, flat `access_type`, `entitlement_*` and `expires_at` fields here): the
/// fields they share in the middle are listed once, so the two and the copies between them
/// cannot drift apart. Doc comments go to the request's field, serde attributes to the wire's.
macro_rules! request_fields {
    ($($(#[doc = $doc:literal])* $(#[serde($($serde:tt)*)])? $field:ident: $ty:ty,)*) => {
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(into = "FieldsWire", try_from = "FieldsWire")]
        pub struct AccessRequestFields {
            pub requester_id: String,
            pub system_id: String,
            pub access: AccessType,
            $($(#[doc = $doc])* pub $field: $ty,)*
            pub granted_at: Option<Timestamp>,
            pub granted_by_id: Option<String>,
            pub tags: Option<Vec<String>>,
        }

        /// The request's fields as the API shows them and the table stores them: flat, in this
        /// order.
        #[derive(Serialize, Deserialize)]
        struct FieldsWire {
            requester_id: String,
            system_id: String,
            access_type: AccessKind,
            $($(#[serde($($serde)*)])? $field: $ty,)*
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
                FieldsWire {
                    requester_id: f.requester_id,
                    system_id: f.system_id,
                    access_type: f.access.kind(),
                    $($field: f.$field,)*
                    entitlement_type: f.access.entitlement_type().map(str::to_string),
                    entitlement_id: f.access.entitlement_id().map(str::to_string),
                    granted_at: f.granted_at,
                    granted_by_id: f.granted_by_id,
                    expires_at: f.access.expires_at(),
                    tags: f.tags,
                    clears_expiry: false,
                }
            }
        }

        impl TryFrom<FieldsWire> for AccessRequestFields {
            type Error = String;

            fn try_from(mut w: FieldsWire) -> Result<AccessRequestFields, String> {
                let access = w.take_access()?;
                Ok(AccessRequestFields {
                    requester_id: w.requester_id,
                    system_id: w.system_id,
                    access,
                    $($field: w.$field,)*
                    granted_at: w.granted_at,
                    granted_by_id: w.granted_by_id,
                    tags: w.tags,
                })
            }
        }
    };
}

request_fields! {
    status: Status,
    justification: String,
    approver_id: Option<String>,
    approved_at: Option<Timestamp>,
    rejected_at: Option<Timestamp>,
    provisioned_at: Option<Timestamp>,
    completed_at: Option<Timestamp>,
    decision_comment: Option<String>,
    // Requests stored before the two-person rule have neither: none given, one needed (what
    // deciding them meant then).
    /// The approvals given so far, oldest first (`[]` before any).
    #[serde(default)]
    approvals: Vec<Approval>,
    /// 1 or 2: set from the asset's criticality when the request is filed or edited.
    #[serde(default = "one")]
    approvals_required: u8,
    asset_id: String,
    principal_id: String,
    principal_type: PrincipalType,
}

fn one() -> u8 {
    1
}

impl FieldsWire {
    /// What serde cannot check, and the access the flat fields spell, taken out of them.
    fn take_access(&mut self) -> Result<AccessType, String> {
        if !(1..=2).contains(&self.approvals_required) {
            return Err(format!(
                "approvals_required {} is neither 1 nor 2",
                self.approvals_required
            ));
        }
        let kind = self.access_type;
        let missing = |field: &str| format!("a {kind} request without {field}");
        let entitlement_type = self.entitlement_type.take();
        let entitlement_id = self.entitlement_id.take();
        Ok(match kind {
            AccessKind::New => AccessType::New {
                entitlement_type: entitlement_type.ok_or_else(|| missing("entitlement_type"))?,
                expires_at: self.expires_at,
                entitlement_id,
            },
            AccessKind::Modify => AccessType::Modify {
                entitlement_id: entitlement_id.ok_or_else(|| missing("entitlement_id"))?,
                entitlement_type,
                change: match (self.expires_at, self.clears_expiry) {
                    (Some(at), _) => ExpiryChange::Set(at),
                    (None, true) => ExpiryChange::Clear,
                    (None, false) => ExpiryChange::Keep,
                },
            },
            AccessKind::Revoke => AccessType::Revoke {
                entitlement_id: entitlement_id.ok_or_else(|| missing("entitlement_id"))?,
                entitlement_type: entitlement_type.ok_or_else(|| missing("entitlement_type"))?,
            },
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

/// The request's fields once its asset (and, for modify/revoke, its entitlement) resolved;
/// `criticality` is the asset's now, which fixes how many approvals the request needs.
pub fn resolve(
    draft: Draft,
    asset_id: String,
    criticality: Option<Criticality>,
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
        approvals: Vec::new(),
        approvals_required: approvals_required_for(criticality),
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

/// Who is deciding, as the rules of API.md §10 see them.
#[derive(Debug, Clone, Copy)]
pub struct Decider<'a> {
    pub sub: &'a str,
    /// The token's `groups` claim.
    pub groups: &'a [String],
    /// Holds `access-requests:approve-any`: may decide whoever owns the asset.
    pub approve_any: bool,
}

/// Who governs access to a request's asset (seed 000's owner), as the asset is when the
/// decision is made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Governance<'a> {
    pub person_id: Option<&'a str>,
    pub group_id: Option<&'a str>,
    pub owner_id: Option<&'a str>,
}

impl<'a> Governance<'a> {
    pub fn of(asset: &'a AssetFields) -> Governance<'a> {
        Governance {
            person_id: asset.owner.as_ref().map(|o| o.person_id.as_str()),
            group_id: asset.owner.as_ref().and_then(|o| o.group_id.as_deref()),
            owner_id: asset.owner_id.as_deref(),
        }
    }

    /// Whether anyone owns the asset; an owner-less asset keeps the §3 rule.
    pub fn is_owned(&self) -> bool {
        self.person_id.is_some() || self.group_id.is_some() || self.owner_id.is_some()
    }
}

/// The owner rule (API.md §10): on an owned asset only its owner person (`owner.person_id` or
/// `owner_id`, matched against `sub`), a member of its owner group (matched against the
/// `groups` claim only: a `sub` that happens to equal the group id is not a member), or a
/// holder of `access-requests:approve-any` may decide.
pub fn check_owner_rule(owner: Governance<'_>, who: &Decider<'_>) -> Result<(), DomainError> {
    if !owner.is_owned() || who.approve_any {
        return Ok(());
    }
    let is_person = [owner.person_id, owner.owner_id].contains(&Some(who.sub));
    let in_group = owner
        .group_id
        .is_some_and(|g| who.groups.iter().any(|mine| mine == g));
    if is_person || in_group {
        Ok(())
    } else {
        Err(DomainError::NotTheOwner)
    }
}

/// Where an approval leaves a pending request: the approvals with this one added, and the
/// status they make (still `pending` until `required` distinct approvers have approved).
/// The same approver twice is refused (409): the two-person rule needs two people.
pub fn approval_step(
    approvals: &[Approval],
    required: u8,
    approval: Approval,
) -> Result<(Vec<Approval>, Status), DomainError> {
    if approvals
        .iter()
        .any(|a| a.approver_id == approval.approver_id)
    {
        return Err(DomainError::AlreadyApproved(approval.approver_id));
    }
    let mut next = approvals.to_vec();
    next.push(approval);
    let status = if next.len() >= usize::from(required) {
        Status::Approved
    } else {
        Status::Pending
    };
    Ok((next, status))
}

/// Approve or reject a pending request (API.md §3 and §10): neither the requester nor the
/// person who would hold the access may decide it, and on an owned asset only its owner (or
/// an approve-any holder) may (403, checked before the state: who may act is not a secret of
/// the request's status). An approval is one step of `approval_step`; a reject ends the
/// request whatever approvals it has, and leaves them as they were.
pub fn decide(
    current: &AccessRequest,
    decision: Decision,
    who: &Decider<'_>,
    owner: Governance<'_>,
    body: DecisionBody,
    now: Timestamp,
) -> ApiResult<AccessRequest> {
    let approver = who.sub;
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
    check_owner_rule(owner, who)?;
    let decided = current.fields.status.transition(event)?;
    let mut next = current.clone();
    match decision {
        Decision::Approve => {
            let approval = Approval {
                approver_id: approver.to_string(),
                approved_at: now,
                comment: body.comment.clone(),
            };
            let (approvals, status) = approval_step(
                &current.fields.approvals,
                current.fields.approvals_required,
                approval,
            )?;
            next.fields.approvals = approvals;
            next.fields.status = status;
            // Only the approval that decides stamps the request; a first of two is in
            // `approvals` alone.
            if status == decided {
                next.fields.approver_id = Some(approver.to_string());
                next.fields.approved_at = Some(now);
                next.fields.decision_comment = body.comment;
            }
        }
        Decision::Reject => {
            next.fields.status = decided;
            next.fields.approver_id = Some(approver.to_string());
            next.fields.rejected_at = Some(now);
            next.fields.decision_comment = body.comment;
        }
    }
    next.envelope.touch(approver, body.provenance, now);
    Ok(next)
}

/// An edited request starts its approvals over (API.md §10): none carried over, and as many
/// needed as its asset's criticality asks for now.
pub fn restart_approvals(fields: &mut AccessRequestFields, criticality: Option<Criticality>) {
    fields.approvals.clear();
    fields.approvals_required = approvals_required_for(criticality);
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

    use crate::envelope::{Actor, Envelope};

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    /// A pending `new` request filed by `user-1` for themselves, needing `required` approvals.
    fn pending(required: u8) -> AccessRequest {
        let actor = Actor {
            id: "user-1".into(),
            tenant_id: "t".into(),
            app_id: None,
        };
        let body = serde_json::json!({
            "system_id": "aws",
            "access_type": "new",
            "justification": "x",
            "entitlement_type": "read",
        });
        let Value::Object(body) = body else {
            unreachable!("an object literal")
        };
        let filed = at("2026-01-01T00:00:00Z");
        let draft = parse_create(body, "user-1", filed).unwrap();
        let criticality = (required == 2).then_some(Criticality::Critical);
        let (fields, _) = resolve(draft, "ast_1".into(), criticality, None).unwrap();
        Record {
            envelope: Envelope::new("arq_1".into(), &actor, Provenance::default(), filed),
            fields,
        }
    }

    fn decider<'a>(sub: &'a str, groups: &'a [String], approve_any: bool) -> Decider<'a> {
        Decider {
            sub,
            groups,
            approve_any,
        }
    }

    fn body(comment: &str) -> DecisionBody {
        DecisionBody {
            comment: Some(comment.into()),
            provenance: Provenance::default(),
        }
    }

    const OWNED: Governance<'static> = Governance {
        person_id: Some("alice"),
        group_id: Some("grp-ops"),
        owner_id: Some("olga"),
    };

    /// `decision` on `request` (of the `OWNED` asset) by `sub`, a member of `groups`.
    fn decide_owned(
        request: &AccessRequest,
        decision: Decision,
        sub: &str,
        groups: &[String],
        approve_any: bool,
        comment: &str,
        now: Timestamp,
    ) -> ApiResult<AccessRequest> {
        let who = decider(sub, groups, approve_any);
        decide(request, decision, &who, OWNED, body(comment), now)
    }

    /// A request needing two approvals, approved once by `alice` (any owner's approval counts).
    fn approved_by_alice(comment: &str, now: Timestamp) -> AccessRequest {
        decide_owned(
            &pending(2),
            Decision::Approve,
            "alice",
            &[],
            false,
            comment,
            now,
        )
        .unwrap()
    }

    fn status_of(result: ApiResult<AccessRequest>) -> u16 {
        match result {
            Ok(_) => 200,
            Err(e) => e.status(),
        }
    }

    #[test]
    fn the_owner_rule_admits_the_owner_person_owner_id_group_members_and_approve_any() {
        let ops = vec!["grp-x".to_string(), "grp-ops".to_string()];
        let others = vec!["grp-x".to_string()];
        let none: Vec<String> = Vec::new();
        let empty_name = vec![String::new()];
        let cases: [(Governance<'_>, Decider<'_>, bool); 12] = [
            (OWNED, decider("alice", &none, false), true),
            (OWNED, decider("olga", &none, false), true),
            (OWNED, decider("bob", &ops, false), true),
            (OWNED, decider("bob", &none, true), true),
            (OWNED, decider("bob", &none, false), false),
            (OWNED, decider("bob", &others, false), false),
            (OWNED, decider("bob", &empty_name, false), false),
            // A sub equal to the group's id is not membership: only the claim tells that.
            (OWNED, decider("grp-ops", &none, false), false),
            // owner_id alone, person alone, group alone each make the asset owned.
            (
                Governance {
                    owner_id: Some("olga"),
                    ..Governance::default()
                },
                decider("alice", &ops, false),
                false,
            ),
            (
                Governance {
                    person_id: Some("alice"),
                    ..Governance::default()
                },
                decider("alice", &none, false),
                true,
            ),
            (
                Governance {
                    group_id: Some("grp-ops"),
                    ..Governance::default()
                },
                decider("grp-ops", &others, false),
                false,
            ),
            // No owner: anyone the §3 rule lets decide.
            (Governance::default(), decider("bob", &none, false), true),
        ];
        for (i, (owner, who, admitted)) in cases.iter().enumerate() {
            let got = check_owner_rule(*owner, who);
            assert_eq!(got.is_ok(), *admitted, "case {i}: {owner:?} {who:?}");
            if !admitted {
                assert_eq!(got, Err(DomainError::NotTheOwner));
                assert_eq!(ApiError::from(DomainError::NotTheOwner).status(), 403);
            }
        }
    }

    #[test]
    fn governance_reads_the_assets_owner_fields() {
        let asset: AssetFields = serde_json::from_value(serde_json::json!({
            "name": "aws", "display_name": null, "description": null, "type": null,
            "category": null, "vendor": null, "version": null, "status": "active",
            "owner": {"person_id": "alice", "group_id": "grp-ops"}, "environment": null,
            "hosting": null, "cloud_provider": null, "region": null, "url": null, "tags": null,
            "criticality": "critical", "data_classification": null, "owner_id": "olga"
        }))
        .unwrap();
        assert_eq!(Governance::of(&asset), OWNED);
        let mut bare = asset.clone();
        bare.owner = None;
        bare.owner_id = None;
        assert!(!Governance::of(&bare).is_owned());
    }

    #[test]
    fn approvals_required_is_two_only_for_critical_assets() {
        assert_eq!(approvals_required_for(Some(Criticality::Critical)), 2);
        for c in [Criticality::High, Criticality::Medium, Criticality::Low] {
            assert_eq!(approvals_required_for(Some(c)), 1);
        }
        assert_eq!(approvals_required_for(None), 1);
    }

    #[test]
    fn approval_steps_need_distinct_approvers() {
        let t = at("2026-02-01T00:00:00Z");
        let a = |who: &str| Approval {
            approver_id: who.into(),
            approved_at: t,
            comment: None,
        };
        let (one, status) = approval_step(&[], 2, a("alice")).unwrap();
        assert_eq!((one.len(), status), (1, Status::Pending));
        assert_eq!(
            approval_step(&one, 2, a("alice")),
            Err(DomainError::AlreadyApproved("alice".into()))
        );
        let (two, status) = approval_step(&one, 2, a("bob")).unwrap();
        assert_eq!(two, vec![a("alice"), a("bob")]);
        assert_eq!(status, Status::Approved);
        let (single, status) = approval_step(&[], 1, a("bob")).unwrap();
        assert_eq!((single.len(), status), (1, Status::Approved));
    }

    #[test]
    fn a_first_of_two_approvals_leaves_the_request_pending_and_unstamped() {
        let none: Vec<String> = Vec::new();
        let t1 = at("2026-02-01T00:00:00Z");
        let first = approved_by_alice("ok by me", t1);
        assert_eq!(first.fields.status, Status::Pending);
        assert_eq!(
            first.fields.approvals,
            vec![Approval {
                approver_id: "alice".into(),
                approved_at: t1,
                comment: Some("ok by me".into())
            }]
        );
        assert_eq!(first.fields.approver_id, None);
        assert_eq!(first.fields.approved_at, None);
        assert_eq!(first.fields.decision_comment, None);
        assert_eq!(first.envelope.revision, 2);
        // The same person again: 409, whatever their eligibility.
        let again = decide_owned(&first, Decision::Approve, "alice", &none, true, "again", t1);
        assert_eq!(status_of(again), 409);
        let t2 = at("2026-02-02T00:00:00Z");
        let second = decide_owned(
            &first,
            Decision::Approve,
            "olga",
            &none,
            false,
            "second",
            t2,
        )
        .unwrap();
        assert_eq!(second.fields.status, Status::Approved);
        assert_eq!(second.fields.approvals.len(), 2);
        assert_eq!(second.fields.approver_id.as_deref(), Some("olga"));
        assert_eq!(second.fields.approved_at, Some(t2));
        assert_eq!(second.fields.decision_comment.as_deref(), Some("second"));
        // Approved: a third approval meets the state machine.
        let third = decide_owned(&second, Decision::Approve, "bob", &none, true, "third", t2);
        assert_eq!(status_of(third), 409);
    }

    #[test]
    fn a_reject_ends_the_request_and_leaves_its_approvals() {
        let ops = vec!["grp-ops".to_string()];
        let t = at("2026-02-01T00:00:00Z");
        let first = approved_by_alice("yes", t);
        // Even the one who approved first may reject it later.
        for rejecter in ["alice", "bob"] {
            let rejected =
                decide_owned(&first, Decision::Reject, rejecter, &ops, false, "no", t).unwrap();
            assert_eq!(rejected.fields.status, Status::Rejected);
            assert_eq!(rejected.fields.approvals, first.fields.approvals);
            assert_eq!(rejected.fields.approver_id.as_deref(), Some(rejecter));
            assert_eq!(rejected.fields.rejected_at, Some(t));
            assert_eq!(rejected.fields.approved_at, None);
        }
    }

    #[test]
    fn who_may_decide_is_judged_before_the_state() {
        let none: Vec<String> = Vec::new();
        let t = at("2026-02-01T00:00:00Z");
        let mut approved = pending(1);
        approved.fields.status = Status::Approved;
        for decision in [Decision::Approve, Decision::Reject] {
            // The requester, the beneficiary and a stranger: 403 even on a decided request.
            for (who, request) in [("user-1", pending(1)), ("stranger", approved.clone())] {
                let r = decide_owned(&request, decision, who, &none, false, "x", t);
                assert_eq!(status_of(r), 403, "{who} {decision:?}");
            }
            // approve-any does not lift separation of duties: the requester-owner is refused.
            let r = decide(
                &pending(1),
                decision,
                &decider("user-1", &none, true),
                Governance {
                    person_id: Some("user-1"),
                    ..Governance::default()
                },
                body("x"),
                t,
            );
            assert_eq!(status_of(r), 403);
            let r = decide_owned(&approved, decision, "alice", &none, false, "x", t);
            assert_eq!(status_of(r), 409);
        }
    }

    #[test]
    fn an_edit_restarts_the_approvals() {
        let mut fields = pending(1).fields;
        fields.approvals.push(Approval {
            approver_id: "alice".into(),
            approved_at: at("2026-02-01T00:00:00Z"),
            comment: None,
        });
        restart_approvals(&mut fields, Some(Criticality::Critical));
        assert!(fields.approvals.is_empty());
        assert_eq!(fields.approvals_required, 2);
        restart_approvals(&mut fields, None);
        assert_eq!(fields.approvals_required, 1);
    }

    #[test]
    fn stored_requests_read_back_their_approvals() {
        let mut request = pending(2);
        request.fields.approvals.push(Approval {
            approver_id: "alice".into(),
            approved_at: at("2026-02-01T00:00:00Z"),
            comment: None,
        });
        let json = serde_json::to_value(&request.fields).unwrap();
        assert_eq!(
            json["approvals"],
            serde_json::json!([{"approver_id": "alice", "approved_at": "2026-02-01T00:00:00.000Z", "comment": null}])
        );
        assert_eq!(json["approvals_required"], 2);
        let back: AccessRequestFields = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, request.fields);
        // Stored before the two-person rule: no approvals, one needed.
        let mut old = json.clone();
        let o = old.as_object_mut().unwrap();
        o.remove("approvals");
        o.remove("approvals_required");
        let back: AccessRequestFields = serde_json::from_value(old).unwrap();
        assert!(back.approvals.is_empty());
        assert_eq!(back.approvals_required, 1);
        for bad in [0, 3] {
            let mut wrong = json.clone();
            wrong["approvals_required"] = bad.into();
            assert!(serde_json::from_value::<AccessRequestFields>(wrong).is_err());
        }
    }
}
