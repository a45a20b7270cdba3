//! Transactions with named parts: every action is added with the role it plays, and a refusal
//! is read by role, so the code that builds a transaction and the code that explains its
//! refusal cannot disagree on the order of its items.
//!
//! A record's change is added together with its history event (`Tx::change`), and a
//! transaction that changes a record without its event is refused before it is sent: no write
//! path can forget the history (API.md §8).
//!
//! A request that sent an `Idempotency-Key` (API.md §11) has its key and answer ride in the
//! transaction of its write (`Tx::answer`); a keyed request's write sent without its answer is
//! refused the same way, and a key another request holds makes `send` answer
//! `ApiError::IdempotencyKeyTaken`.

use super::idempotency;
use super::{transact, CancelReason, Item, TxError};
use crate::domain::history::Event;
use crate::domain::idempotency::Kept;
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
    /// A guard kept but rewritten with what it carries (a live grant's status or expiry).
    GuardUpdate,
    /// The asset's live-entitlement count, moved under the asset's conditions.
    AssetCount,
    /// A condition on the asset that writes nothing.
    AssetCheck,
    /// The history event of the `Record`'s change.
    RecordEvent,
    /// The history event of the `Request`'s change.
    RequestEvent,
    /// The request's idempotency key and the answer it keeps.
    IdempotencyKey,
}

impl Role {
    /// The role of the event that must ride with a change in this role, if it changes a record.
    fn event_role(self) -> Option<Role> {
        match self {
            Role::Record => Some(Role::RecordEvent),
            Role::Request => Some(Role::RequestEvent),
            _ => None,
        }
    }
}

/// A transaction being built.
#[derive(Debug, Default)]
pub struct Tx {
    parts: Vec<(Role, TransactWriteItem)>,
    /// The answer the `IdempotencyKey` part keeps.
    kept: Option<Kept>,
}

impl Tx {
    pub fn new() -> Tx {
        Tx::default()
    }

    /// An action that changes no record (guards, counts, checks). A record's change goes
    /// through `change`; one added here makes `send` refuse the transaction.
    pub fn add(&mut self, role: Role, item: TransactWriteItem) -> &mut Tx {
        self.parts.push((role, item));
        self
    }

    /// A record's change (`Record`, or the `Request` beside it) and, in the same transaction,
    /// its history event (with the record it leaves, for entitlements: `state`).
    pub fn change(
        &mut self,
        role: Role,
        item: TransactWriteItem,
        event: &Event,
        state: Option<&str>,
        table: &str,
    ) -> ApiResult<&mut Tx> {
        let Some(event_role) = role.event_role() else {
            return Err(ApiError::Internal(format!(
                "{role:?} is not a record change"
            )));
        };
        let put = super::history::put_event(event, state, table)?;
        self.parts.push((role, item));
        self.parts.push((event_role, put));
        Ok(self)
    }

    /// A new record's item (its key must be free) and its `created` event.
    pub fn put_record(
        &mut self,
        item: Item,
        event: &Event,
        state: Option<&str>,
        table: &str,
    ) -> ApiResult<&mut Tx> {
        let put = super::put_new_action(item, table)?;
        self.change(Role::Record, put, event, state, table)
    }

    /// The answer this write gives once it holds (`body` at `revision`, located by
    /// `location_id`), kept with the request's idempotency key in this transaction. Without a
    /// key nothing is added (and `body` is not rendered).
    pub fn answer<T: serde::Serialize>(
        &mut self,
        body: &T,
        location_id: &str,
        revision: i64,
        table: &str,
    ) -> ApiResult<&mut Tx> {
        let Some(claim) = idempotency::current() else {
            return Ok(self);
        };
        let kept = claim
            .success
            .kept(body, location_id, revision, &claim.request_id)?;
        self.parts
            .push((Role::IdempotencyKey, claim.put_action(&kept, table)?));
        self.kept = Some(kept);
        Ok(self)
    }

    /// `answer` with a record as the body, located by its id.
    pub fn answer_record<F: serde::Serialize>(
        &mut self,
        record: &crate::envelope::Record<F>,
        table: &str,
    ) -> ApiResult<&mut Tx> {
        self.answer(record, &record.envelope.id, record.envelope.revision, table)
    }

    /// Adds the actions of `other` after these.
    pub fn append(&mut self, other: Tx) -> &mut Tx {
        self.parts.extend(other.parts);
        self
    }

    /// The actions in order, for callers that send them themselves (the sweep benchmark).
    pub fn into_items(self) -> Vec<TransactWriteItem> {
        self.parts.into_iter().map(|(_, item)| item).collect()
    }

    /// Sends the transaction as one logical write (one `ClientRequestToken`, see `transact`).
    /// `Ok(Err(refusal))`: a condition failed, and the refusal says whose.
    pub async fn send(self, db: &Client) -> ApiResult<Result<(), Refusal>> {
        let roles: Vec<Role> = self.parts.iter().map(|(role, _)| *role).collect();
        check_roles(&roles)?;
        let claim = idempotency::current();
        if claim.is_some() && !roles.contains(&Role::IdempotencyKey) {
            return Err(ApiError::Internal(
                "a keyed request's transaction was built without its answer".into(),
            ));
        }
        let items = self.parts.into_iter().map(|(_, item)| item).collect();
        match transact(db, items).await {
            Ok(()) => {
                if let (Some(claim), Some(kept)) = (claim, self.kept) {
                    claim.commit(kept);
                }
                Ok(Ok(()))
            }
            Err(TxError::Cancelled(reasons)) => {
                let refusal = Refusal {
                    parts: roles.into_iter().zip(reasons).collect(),
                };
                if refusal.failed(Role::IdempotencyKey) {
                    // Another request holds the key: whatever else failed, its answer is ours.
                    return Err(ApiError::IdempotencyKeyTaken);
                }
                Ok(Err(refusal))
            }
            Err(TxError::Fault(e)) => Err(e),
        }
    }
}

/// At most one action per role, and every record change with its event (and no event without
/// its change): a transaction built otherwise is a bug of ours, never sent.
fn check_roles(roles: &[Role]) -> ApiResult<()> {
    if let Some((_, twice)) = roles
        .iter()
        .enumerate()
        .find(|(i, r)| roles[..*i].contains(r))
    {
        return Err(ApiError::Internal(format!(
            "transaction built with two {twice:?} actions"
        )));
    }
    for change in [Role::Record, Role::Request] {
        let event = change.event_role();
        if roles.contains(&change) != event.is_some_and(|e| roles.contains(&e)) {
            return Err(ApiError::Internal(format!(
                "transaction built with a {change:?} action and no event for it, or the reverse"
            )));
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_without_its_event_is_never_sent() {
        assert!(check_roles(&[Role::Record, Role::RecordEvent, Role::Guard]).is_ok());
        assert!(check_roles(&[Role::Guard, Role::AssetCount]).is_ok());
        assert!(check_roles(&[Role::Record, Role::Guard]).is_err());
        assert!(check_roles(&[Role::RecordEvent]).is_err());
        assert!(check_roles(&[Role::Request, Role::RequestEvent, Role::Record]).is_err());
        assert!(check_roles(&[Role::Guard, Role::Guard]).is_err());
    }
}
