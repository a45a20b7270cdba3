//! The domain's refusals, as its own type: what a rule or a failed write condition means for
//! the client. `ApiError` maps each to its HTTP problem once (`From<DomainError>`).

use super::access_request::Refusal;
use super::entitlement::PrincipalType;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Error)]
pub enum DomainError {
    #[error("an asset named '{0}' already exists in this tenant")]
    AssetNameTaken(String),
    #[error("an attribute with key '{0}' already exists in this tenant")]
    AttributeKeyTaken(String),
    #[error("{principal_type} {principal_id} already holds a live '{entitlement_type}' entitlement on asset {asset_id}")]
    LiveGrantTaken {
        asset_id: String,
        principal_type: PrincipalType,
        principal_id: String,
        entitlement_type: String,
    },
    /// The `asset_id` of a grant or request names no asset the caller may use.
    #[error("asset_id is not an asset of this tenant")]
    UnknownAsset,
    /// Neither `asset_id` nor `system_id` names an asset of the caller.
    #[error("system_id names no asset of this tenant")]
    NoAssetNamed,
    #[error("system_id names another asset than asset_id {asset_id} (whose name is '{name}')")]
    SystemIdNamesOtherAsset { asset_id: String, name: String },
    /// A grant without expiry on a critical asset (`asset::refused_criticality`).
    #[error("expires_at is required: the asset is critical, so access to it must expire")]
    CriticalNeedsExpiry,
    /// A `modify`/`revoke` names no active entitlement of the caller on the requested asset.
    #[error("entitlement_id is not an active entitlement of this tenant on the requested asset")]
    NotAnActiveEntitlement,
    /// A `modify` filed to clear a privileged entitlement's expiry
    /// (`entitlement::privileged_needs_expiry`).
    #[error("expires_at cannot be cleared: the entitlement is privileged")]
    PrivilegedCannotClear,
    /// The same rule when provisioning finds the entitlement privileged by then.
    #[error("the entitlement is privileged; its expiry cannot be cleared")]
    PrivilegedKeepsExpiry,
    #[error("the entitlement named by the request is no longer active")]
    EntitlementGone,
    /// Racing writers kept winning: the `what` ("asset", "request", …) is being changed.
    #[error("the {0} is being changed concurrently; retry the request")]
    Contended(&'static str),
    /// The owner rule of API.md §10 refuses the caller (403).
    #[error("only the asset's owner (owner.person_id or owner_id), a member of its owner.group_id (by the token's groups claim) or a holder of access-requests:approve-any may approve or reject requests for it")]
    NotTheOwner,
    /// The two-person rule needs a second, distinct approver (409).
    #[error("{0} has already approved this request; its second approval must come from another eligible person")]
    AlreadyApproved(String),
    #[error("the request is {}; it cannot {:?}", .0.from, .0.event)]
    Transition(Refusal),
}

impl From<Refusal> for DomainError {
    fn from(r: Refusal) -> DomainError {
        DomainError::Transition(r)
    }
}
