//! Transactions with named parts: every action is added with the role it plays, and a refusal
//! is read by role, so the code that builds a transaction and the code that explains its
//! refusal cannot disagree on the order of its items.
//!
//! The next kinds of parts (a history event, an idempotency key) are new roles here.

use super::{transact, CancelReason, Item, TxError};
use crate::error::{ApiError, ApiResult};
use aws_sdk_dynamodb::types::TransactWriteItem;
use aws_sdk_dynamodb::Client;

/// What an action of a transaction is there for; at most one action per role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The record the operation is about (an asset, an entitlement), conditional on its state.
    Record,
    /// The access request a provisioning moves on, beside the entitlement it provisions.
    Request,
    /// A uniqueness guard claimed (an asset's name, a live grant).
    Guard,
    /// A guard given up (the old name, the grant that ends or changes type).
    GuardRelease,
    /// The asset's live-entitlement count, moved under the asset's conditions.
    AssetCount,
    /// A condition on the asset that writes nothing.
    AssetCheck,
}

/// A transaction being built.
#[derive(Debug, Default)]
pub struct Tx {
    parts: Vec<(Role, TransactWriteItem)>,
}

impl Tx {
    pub fn new() -> Tx {
        Tx::default()
    }

    pub fn add(&mut self, role: Role, item: TransactWriteItem) -> &mut Tx {
        self.parts.push((role, item));
        self
    }

    /// Adds the actions of `other` after these.
    pub fn append(&mut self, other: Tx) -> &mut Tx {
        self.parts.extend(other.parts);
        self
    }

    pub fn len(&self) -> usize {
        self.parts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// The actions in order, for callers that send them themselves (the sweep benchmark).
    pub fn into_items(self) -> Vec<TransactWriteItem> {
        self.parts.into_iter().map(|(_, item)| item).collect()
    }

    /// Sends the transaction as one logical write (one `ClientRequestToken`, see `transact`).
    /// `Ok(Err(refusal))`: a condition failed, and the refusal says whose.
    pub async fn send(self, db: &Client) -> ApiResult<Result<(), Refusal>> {
        let roles: Vec<Role> = self.parts.iter().map(|(role, _)| *role).collect();
        if let Some(twice) = roles
            .iter()
            .enumerate()
            .find(|(i, r)| roles[..*i].contains(r))
        {
            return Err(ApiError::Internal(format!(
                "transaction built with two {:?} actions",
                twice.1
            )));
        }
        let items = self.parts.into_iter().map(|(_, item)| item).collect();
        match transact(db, items).await {
            Ok(()) => Ok(Ok(())),
            Err(TxError::Cancelled(reasons)) => Ok(Err(Refusal {
                parts: roles.into_iter().zip(reasons).collect(),
            })),
            Err(TxError::Fault(e)) => Err(e),
        }
    }
}

/// Why a transaction was cancelled, by role.
#[derive(Debug)]
pub struct Refusal {
    parts: Vec<(Role, CancelReason)>,
}

impl Refusal {
    fn reason(&self, role: Role) -> Option<&CancelReason> {
        self.parts.iter().find(|(r, _)| *r == role).map(|(_, c)| c)
    }

    /// Whether the condition of the action in `role` failed.
    pub fn failed(&self, role: Role) -> bool {
        self.reason(role)
            .is_some_and(CancelReason::condition_failed)
    }

    /// Whether any condition failed (rather than some other cancellation reason).
    pub fn any_failed(&self) -> bool {
        self.parts.iter().any(|(_, c)| c.condition_failed())
    }

    /// The item as it was when the condition of the action in `role` failed (for actions sent
    /// with `ReturnValuesOnConditionCheckFailure::AllOld`).
    pub fn old_item(&self, role: Role) -> Option<&Item> {
        self.reason(role)
            .filter(|c| c.condition_failed())
            .and_then(|c| c.item.as_ref())
    }

    /// A refusal no rule explains: a bug of ours, 500.
    pub fn unexpected(self) -> ApiError {
        ApiError::Internal(format!("unexpected transaction cancellation: {self:?}"))
    }
}
