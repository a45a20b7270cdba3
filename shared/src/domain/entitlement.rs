//! Access entitlements (seeds 000/001) with governance fields (seeds 003/004): validation,
//! defaults, PATCH merge, and the state rules of revoke.

use crate::envelope::{Provenance, Record};
use crate::error::{ApiError, ApiResult};
use crate::input::{Field, Input};
use crate::listing::{Filter, Spec};
use crate::time::Timestamp;
use crate::vocab::Closed;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub const ID_PREFIX: &str = "ent";

crate::closed_set! {
    /// Who holds an entitlement (and whom an access request is for).
    pub enum PrincipalType { Person = "person", Group = "group" }
}

crate::closed_set! {
    pub enum GrantSource { Provisioned = "provisioned", Inherited = "inherited", Direct = "direct" }
}

crate::closed_set! {
    pub enum Status {
        Active = "active", PendingApproval = "pending_approval",
        Expired = "expired", Revoked = "revoked",
    }
}

crate::closed_set! {
    /// The statuses a client may set; `revoked` is the revoke route's, `expired` the sweep's.
    pub enum ClientStatus { Active = "active", PendingApproval = "pending_approval" }
}

impl From<ClientStatus> for Status {
    fn from(s: ClientStatus) -> Status {
        match s {
            ClientStatus::Active => Status::Active,
            ClientStatus::PendingApproval => Status::PendingApproval,
        }
    }
}

impl Status {
    /// Held access (or about to be): these hold the grant guard and the asset's live count.
    pub fn is_live(self) -> bool {
        matches!(self, Status::Active | Status::PendingApproval)
    }
}

const SHORT: usize = 200;
const DESCRIPTION: usize = 4000;
const ATTRIBUTES_BYTES: usize = 16 * 1024;

/// Fields a client may send on create.
pub const CREATE_FIELDS: &[&str] = &[
    "asset_id",
    "principal_id",
    "principal_type",
    "entitlement_type",
    "granted_at",
    "granted_by_id",
    "expires_at",
    "grant_source",
    "status",
    "privileged",
    "requestable",
    "description",
    "attributes",
];

/// Fields a PATCH may name besides the create fields: server stamps and
/// `access_model_metadata` (its own routes), all refused with a reason rather than as unknown.
const READ_ONLY_FIELDS: &[&str] = &[
    "access_model_metadata",
    "revoked_at",
    "revoked_by",
    "revoke_reason",
    "expired_at",
];

/// One attribute's chosen values, as stored on the entitlement (definitions are joined on read).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetadataRef {
    pub key: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntitlementFields {
    pub asset_id: String,
    pub principal_id: String,
    pub principal_type: PrincipalType,
    pub entitlement_type: String,
    pub granted_at: Timestamp,
    pub granted_by_id: Option<String>,
    pub expires_at: Option<Timestamp>,
    pub grant_source: GrantSource,
    pub status: Status,
    pub privileged: bool,
    pub requestable: bool,
    pub description: Option<String>,
    pub attributes: Option<Map<String, Value>>,
    /// Stored as references; responses render the current attribute definitions.
    pub access_model_metadata: Option<Vec<MetadataRef>>,
    pub revoked_at: Option<Timestamp>,
    pub revoked_by: Option<String>,
    pub revoke_reason: Option<String>,
    pub expired_at: Option<Timestamp>,
    /// The access request that provisioned this grant, if any.
    pub access_request_id: Option<String>,
}

pub type Entitlement = Record<EntitlementFields>;

impl Entitlement {
    pub fn is_live(&self) -> bool {
        self.fields.status.is_live()
    }
}

impl super::Searchable for EntitlementFields {
    fn searched(&self) -> Vec<Option<&str>> {
        vec![
            Some(&self.entitlement_type),
            self.description.as_deref(),
            Some(&self.principal_id),
        ]
    }
}

impl EntitlementFields {
    /// A live grant with the defaults every new one starts from (a direct, active,
    /// non-privileged, requestable grant with nothing else set).
    pub fn granted(
        asset_id: String,
        principal_id: String,
        principal_type: PrincipalType,
        entitlement_type: String,
        granted_at: Timestamp,
    ) -> EntitlementFields {
        EntitlementFields {
            asset_id,
            principal_id,
            principal_type,
            entitlement_type,
            granted_at,
            granted_by_id: None,
            expires_at: None,
            grant_source: GrantSource::Direct,
            status: Status::Active,
            privileged: false,
            requestable: true,
            description: None,
            attributes: None,
            access_model_metadata: None,
            revoked_at: None,
            revoked_by: None,
            revoke_reason: None,
            expired_at: None,
            access_request_id: None,
        }
    }
}

/// The caller-independent facts a create needs.
pub struct Granter<'a> {
    pub sub: &'a str,
    pub is_app: bool,
}

/// The expiry rules of a grant's fields: a new expiry lies ahead and after the grant, and a
/// privileged grant always expires (`privileged_needs_expiry`).
struct Expiry {
    expires_at: Option<Timestamp>,
    granted_at: Timestamp,
    privileged: bool,
    changed: bool,
}

fn check_rules(e: Expiry, now: Timestamp, input: &mut Input) {
    if e.changed {
        if let Some(at) = e.expires_at {
            if at <= now && !input.has_error("expires_at") {
                input.error("expires_at", "must be in the future");
            } else if at <= e.granted_at && !input.has_error("expires_at") {
                input.error("expires_at", "must be after granted_at");
            }
        }
    }
    if privileged_needs_expiry(e.privileged, e.expires_at) && !input.has_error("expires_at") {
        input.error("expires_at", "is required for a privileged entitlement");
    }
}

/// A privileged grant must expire (API.md §3): the one place this rule is decided.
pub fn privileged_needs_expiry(privileged: bool, expires_at: Option<Timestamp>) -> bool {
    privileged && expires_at.is_none()
}

/// A create body → the entitlement's fields and the client's provenance. Whether the asset
/// exists, is the caller's and is critical is checked by the store, in the same transaction.
pub fn parse_create(
    body: Map<String, Value>,
    granter: &Granter<'_>,
    now: Timestamp,
) -> ApiResult<(EntitlementFields, Provenance)> {
    let mut input = Input::new(body, CREATE_FIELDS);
    let provenance = input.provenance();
    let asset_id = input.string("asset_id", SHORT);
    let asset_id = input.required("asset_id", asset_id);
    let principal_id = input.string("principal_id", SHORT);
    let principal_id = input.required("principal_id", principal_id);
    let principal_type = input.choice::<PrincipalType>("principal_type");
    let principal_type = input.required("principal_type", principal_type);
    let entitlement_type = input.string("entitlement_type", SHORT);
    let entitlement_type = input.required("entitlement_type", entitlement_type);
    let granted_at = input.timestamp("granted_at").value().unwrap_or(now);
    let granted_by_id = match input.string("granted_by_id", SHORT) {
        Field::Value(v) => Some(v),
        Field::Null => None,
        Field::Absent => (!granter.is_app).then(|| granter.sub.to_string()),
    };
    let expires_at = input.timestamp("expires_at").value();
    let grant_source = input.choice::<GrantSource>("grant_source");
    let status = input.choice::<ClientStatus>("status");
    let privileged = input.boolean("privileged");
    let requestable = input.boolean("requestable");
    let description = input.string("description", DESCRIPTION).value();
    let attributes = input.object("attributes", ATTRIBUTES_BYTES).value();
    for (name, null) in [
        ("grant_source", matches!(grant_source, Field::Null)),
        ("status", matches!(status, Field::Null)),
        ("privileged", matches!(privileged, Field::Null)),
        ("requestable", matches!(requestable, Field::Null)),
    ] {
        if null {
            input.error(name, "cannot be null");
        }
    }
    let privileged = privileged.value().unwrap_or(false);
    check_rules(
        Expiry {
            expires_at,
            granted_at,
            privileged,
            changed: true,
        },
        now,
        &mut input,
    );
    input.finish()?;
    let (Some(asset_id), Some(principal_id), Some(principal_type), Some(entitlement_type)) =
        (asset_id, principal_id, principal_type, entitlement_type)
    else {
        return Err(ApiError::Internal("a required field passed unread".into()));
    };
    let defaults = EntitlementFields::granted(
        asset_id,
        principal_id,
        principal_type,
        entitlement_type,
        granted_at,
    );
    let fields = EntitlementFields {
        granted_by_id,
        expires_at,
        grant_source: grant_source.value().unwrap_or(defaults.grant_source),
        status: status.value().map_or(defaults.status, Status::from),
        privileged,
        requestable: requestable.value().unwrap_or(defaults.requestable),
        description,
        attributes,
        ..defaults
    };
    Ok((fields, provenance))
}

/// Refuses a change to a field that is fixed after create (sending it unchanged is fine).
fn immutable<T: PartialEq>(input: &mut Input, name: &str, field: Field<T>, current: &T) {
    match field {
        Field::Absent => {}
        Field::Value(v) if &v == current => {}
        _ => input.error(name, "cannot be changed after create"),
    }
}

/// A PATCH applied to a live entitlement (JSON merge patch: null clears).
pub fn apply_patch(
    current: &EntitlementFields,
    body: Map<String, Value>,
    now: Timestamp,
) -> ApiResult<(EntitlementFields, Provenance)> {
    let fields: Vec<&str> = CREATE_FIELDS
        .iter()
        .chain(READ_ONLY_FIELDS)
        .copied()
        .collect();
    let mut input = Input::new(body, &fields);
    let provenance = input.provenance();
    let c = current.clone();
    let f = input.string("asset_id", SHORT);
    immutable(&mut input, "asset_id", f, &c.asset_id);
    let f = input.string("principal_id", SHORT);
    immutable(&mut input, "principal_id", f, &c.principal_id);
    let f = input.string("principal_type", SHORT);
    immutable(
        &mut input,
        "principal_type",
        f,
        &c.principal_type.as_str().to_string(),
    );
    let f = input.timestamp("granted_at");
    immutable(&mut input, "granted_at", f, &c.granted_at);
    let f = input.string("granted_by_id", SHORT);
    let granted_by = c.granted_by_id.clone();
    match f {
        Field::Absent => {}
        Field::Value(v) if Some(&v) == granted_by.as_ref() => {}
        Field::Null if granted_by.is_none() => {}
        _ => input.error("granted_by_id", "cannot be changed after create"),
    }
    let f = input.choice::<GrantSource>("grant_source");
    immutable(&mut input, "grant_source", f, &c.grant_source);
    for stamp in READ_ONLY_FIELDS {
        if input.contains(stamp) {
            let message = if *stamp == "access_model_metadata" {
                "is changed through /access-model-metadata/{key}/values/{value}"
            } else {
                "is set by the server"
            };
            input.error(stamp, message);
        }
    }
    let entitlement_type = input.string("entitlement_type", SHORT);
    if matches!(entitlement_type, Field::Null) {
        input.error("entitlement_type", "cannot be null");
    }
    let expires_at = input.timestamp("expires_at");
    let expires_changed = matches!(expires_at, Field::Value(_));
    let status = match input.choice::<Status>("status") {
        Field::Value(Status::Revoked) => {
            input.error(
                "status",
                "cannot be set to revoked: use POST /entitlements/{id}/revoke",
            );
            Field::Absent
        }
        Field::Value(Status::Expired) => {
            input.error("status", "cannot be set to expired: expiry is the sweep's");
            Field::Absent
        }
        other => other,
    };
    let privileged = input.boolean("privileged");
    let requestable = input.boolean("requestable");
    for (name, null) in [
        ("status", matches!(status, Field::Null)),
        ("privileged", matches!(privileged, Field::Null)),
        ("requestable", matches!(requestable, Field::Null)),
    ] {
        if null {
            input.error(name, "cannot be null");
        }
    }
    let description = input.string("description", DESCRIPTION);
    let attributes = input.object("attributes", ATTRIBUTES_BYTES);
    let fields = EntitlementFields {
        entitlement_type: entitlement_type
            .value()
            .unwrap_or(c.entitlement_type.clone()),
        expires_at: expires_at.merge(c.expires_at),
        status: status.value().unwrap_or(c.status),
        privileged: privileged.value().unwrap_or(c.privileged),
        requestable: requestable.value().unwrap_or(c.requestable),
        description: description.merge(c.description.clone()),
        attributes: attributes.merge(c.attributes.clone()),
        ..c
    };
    check_rules(
        Expiry {
            expires_at: fields.expires_at,
            granted_at: fields.granted_at,
            privileged: fields.privileged,
            changed: expires_changed,
        },
        now,
        &mut input,
    );
    input.finish()?;
    Ok((fields, provenance))
}

/// The revoke body: `{"reason"?}` (and the client's provenance).
pub fn parse_revoke(body: Map<String, Value>) -> ApiResult<(Option<String>, Provenance)> {
    let mut input = Input::new(body, &["reason"]);
    let provenance = input.provenance();
    let reason = input.string("reason", DESCRIPTION).value();
    input.finish()?;
    Ok((reason, provenance))
}

/// An action body that carries nothing but provenance (`{}` or empty).
pub fn parse_empty(body: Map<String, Value>) -> ApiResult<Provenance> {
    let mut input = Input::new(body, &[]);
    let provenance = input.provenance();
    input.finish()?;
    Ok(provenance)
}

/// Stamps a revoke onto a live entitlement.
pub fn revoked(
    current: &Entitlement,
    actor: &str,
    reason: Option<String>,
    provenance: Provenance,
    now: Timestamp,
) -> Entitlement {
    let mut next = current.clone();
    next.fields.status = Status::Revoked;
    next.fields.revoked_at = Some(now);
    next.fields.revoked_by = Some(actor.to_string());
    next.fields.revoke_reason = reason;
    next.envelope.touch(actor, provenance, now);
    next
}

/// Who the expiry sweep writes as.
pub const SWEEP_ACTOR: &str = "system:expiry-sweep";

/// Stamps an expiry onto a live entitlement that is due (the sweep's write).
pub fn expired(current: &Entitlement, now: Timestamp) -> Entitlement {
    let mut next = current.clone();
    next.fields.status = Status::Expired;
    next.fields.expired_at = Some(now);
    let provenance = Provenance {
        source: None,
        source_type: Some(crate::envelope::SourceType::System),
    };
    next.envelope.touch(SWEEP_ACTOR, provenance, now);
    next
}

/// Whether the sweep should expire it now.
pub fn is_due(ent: &Entitlement, now: Timestamp) -> bool {
    ent.is_live() && ent.fields.expires_at.is_some_and(|at| at <= now)
}

/// What revoking does given the current status.
pub enum RevokePlan {
    /// Already revoked: answer with it unchanged.
    Unchanged,
    Revoke,
}

pub fn plan_revoke(current: &Entitlement) -> ApiResult<RevokePlan> {
    match current.fields.status {
        Status::Revoked => Ok(RevokePlan::Unchanged),
        Status::Expired => Err(ApiError::conflict(
            "the entitlement has expired and cannot be revoked",
        )),
        _ => Ok(RevokePlan::Revoke),
    }
}

/// Entitlements that ended (revoked, expired) accept no further changes.
pub fn ensure_changeable(current: &Entitlement) -> ApiResult<()> {
    if current.is_live() {
        Ok(())
    } else {
        Err(ApiError::conflict(format!(
            "the entitlement is {} and can no longer change",
            current.fields.status
        )))
    }
}

/// List filters of API.md §5 for entitlements, plus `q`.
pub const LIST: Spec<'static> = Spec {
    filters: &[
        Filter::any("asset_id"),
        Filter::any("principal_id"),
        Filter::one_of("principal_type", PrincipalType::NAMES),
        Filter::one_of("status", Status::NAMES),
        Filter::any("entitlement_type"),
        Filter::one_of("grant_source", GrantSource::NAMES),
        Filter::one_of("privileged", &["true", "false"]),
        Filter::any("expires_before"),
    ],
    search: true,
};

/// `expires_before` is a timestamp: any RFC 3339 offset, compared in stored (UTC) form.
pub fn normalize_filters(params: &mut crate::listing::ListParams) -> ApiResult<()> {
    if let Some(v) = params.filters.get_mut("expires_before") {
        match Timestamp::parse(v) {
            Ok(t) => *v = t.to_string(),
            Err(why) => return Err(ApiError::field("expires_before", why.to_string())),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{fields_of, obj, sorted_fields_of};
    use serde_json::json;

    fn person() -> Granter<'static> {
        Granter {
            sub: "u1",
            is_app: false,
        }
    }

    fn now() -> Timestamp {
        Timestamp::parse("2026-06-01T00:00:00Z").unwrap()
    }

    fn base() -> Value {
        json!({"asset_id": "ast_1", "principal_id": "p1", "principal_type": "person", "entitlement_type": "admin"})
    }

    #[test]
    fn create_defaults() {
        let (f, _) = parse_create(obj(base()), &person(), now()).unwrap();
        assert_eq!(f.status, Status::Active);
        assert_eq!(f.grant_source, GrantSource::Direct);
        assert!(f.requestable);
        assert!(!f.privileged);
        assert_eq!(f.granted_by_id.as_deref(), Some("u1"));
        assert_eq!(f.granted_at, now());
        let app = Granter {
            sub: "svc",
            is_app: true,
        };
        let (f, _) = parse_create(obj(base()), &app, now()).unwrap();
        assert_eq!(f.granted_by_id, None);
    }

    #[test]
    fn create_requires_and_validates() {
        let err = parse_create(
            obj(json!({"principal_type": "robot", "status": "revoked"})),
            &person(),
            now(),
        )
        .unwrap_err();
        assert_eq!(
            sorted_fields_of(err),
            vec![
                "asset_id",
                "entitlement_type",
                "principal_id",
                "principal_type",
                "status"
            ]
        );
    }

    #[test]
    fn expiry_rules() {
        let mut b = base();
        b["expires_at"] = json!("2026-05-01T00:00:00Z");
        assert_eq!(
            fields_of(parse_create(obj(b), &person(), now()).unwrap_err()),
            vec!["expires_at"]
        );
        let mut b = base();
        b["privileged"] = json!(true);
        assert_eq!(
            fields_of(parse_create(obj(b), &person(), now()).unwrap_err()),
            vec!["expires_at"]
        );
        let mut b = base();
        b["privileged"] = json!(true);
        b["expires_at"] = json!("2026-07-01T02:00:00+02:00");
        let (f, _) = parse_create(obj(b), &person(), now()).unwrap();
        assert_eq!(
            f.expires_at.unwrap().to_string(),
            "2026-07-01T00:00:00.000Z"
        );
    }

    #[test]
    fn patch_refuses_immutables_and_terminal_statuses() {
        let (c, _) = parse_create(obj(base()), &person(), now()).unwrap();
        let err = apply_patch(
            &c,
            obj(json!({"asset_id": "ast_2", "principal_type": "group", "status": "revoked"})),
            now(),
        )
        .unwrap_err();
        assert_eq!(fields_of(err), vec!["asset_id", "principal_type", "status"]);
        let err = apply_patch(&c, obj(json!({"status": "expired"})), now()).unwrap_err();
        assert_eq!(fields_of(err), vec!["status"]);
        let (n, _) = apply_patch(
            &c,
            obj(json!({"asset_id": "ast_1", "entitlement_type": "read"})),
            now(),
        )
        .unwrap();
        assert_eq!(n.entitlement_type, "read");
    }

    #[test]
    fn patch_keeps_privileged_rule() {
        let mut b = base();
        b["privileged"] = json!(true);
        b["expires_at"] = json!("2026-07-01T00:00:00Z");
        let (c, _) = parse_create(obj(b), &person(), now()).unwrap();
        let err = apply_patch(&c, obj(json!({"expires_at": null})), now()).unwrap_err();
        assert_eq!(fields_of(err), vec!["expires_at"]);
        // An unchanged expiry that has since passed is not re-checked.
        let later = Timestamp::parse("2026-08-01T00:00:00Z").unwrap();
        assert!(apply_patch(&c, obj(json!({"description": "x"})), later).is_ok());
    }
}
