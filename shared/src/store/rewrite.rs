//! Rewriting a record in place under optimistic locking: every attribute of the new item is
//! SET (attributes owned by other writers, such as an asset's live count, are left alone), the
//! ones that no longer apply are REMOVEd, and the write holds only if the stored item still has
//! the values it was read with.

use super::expr::Expr;
use super::Item;
use crate::error::ApiResult;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;

/// The rewrite's UpdateItem on either builder the SDK has for one (a transaction's `Update`, a
/// single `update_item`): they share these setters but no trait, so a function cannot take both.
macro_rules! on_builder {
    ($builder:expr, $rewrite:expr, $table:expr) => {{
        let (update, condition, expr) = $rewrite.parts();
        $builder
            .table_name($table)
            .set_key(Some($rewrite.key.clone()))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
    }};
}

pub struct Rewrite {
    pub key: Item,
    /// The new attributes (key attributes are skipped).
    pub item: Item,
    /// Attributes to delete when absent from `item` (sparse index keys).
    pub remove_if_absent: &'static [&'static str],
    /// Attributes left untouched by this write.
    pub keep: &'static [&'static str],
    /// `attr = value` conditions, all required.
    pub expect: Vec<(&'static str, AttributeValue)>,
}

impl Rewrite {
    fn parts(&self) -> (String, String, Expr) {
        let mut expr = Expr::default();
        let mut skip: Vec<&str> = vec![crate::keys::PK, crate::keys::SK];
        skip.extend_from_slice(self.keep);
        let mut update = expr.set_all(&self.item, &skip);
        let gone: Vec<&str> = self
            .remove_if_absent
            .iter()
            .copied()
            .filter(|a| !self.item.contains_key(*a))
            .collect();
        update.push_str(&expr.remove(&gone));
        let condition = self
            .expect
            .iter()
            .map(|(attr, value)| {
                let n = expr.name(attr);
                let v = expr.value(value.clone());
                format!("{n} = {v}")
            })
            .collect::<Vec<_>>()
            .join(" AND ");
        (update, condition, expr)
    }

    /// As one action of a transaction; the old item comes back if its condition fails.
    pub fn transact_item(&self, table: &str) -> ApiResult<TransactWriteItem> {
        let update = on_builder!(Update::builder(), self, table)
            .build()
            .map_err(super::build_err)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// As a single UpdateItem. `Ok(false)`: the item changed since it was read.
    ///
    /// When the stored item already is this rewrite's result, the write happened (see
    /// `super::conditional_write`): an attempt committed and its answer was lost.
    pub async fn send(&self, db: &Client, table: &str) -> ApiResult<bool> {
        let result = on_builder!(db.update_item(), self, table).send().await;
        super::conditional_write(
            "UpdateItem",
            result,
            |e| match e {
                UpdateItemError::ConditionalCheckFailedException(failed) => Some(failed),
                _ => None,
            },
            |stored| self.is_result(stored),
        )
    }

    /// `next`, the record this rewrite writes, once it holds; `None`: lost a race (read again).
    pub async fn apply<T>(&self, store: &super::Store, next: T) -> ApiResult<Option<T>> {
        Ok(self.send(&store.db, store.table()).await?.then_some(next))
    }

    /// Whether `stored` holds every attribute this rewrite sets, with its value, and none it
    /// removes. The new item carries the new revision and `updated_at` (milliseconds), so no
    /// other write leaves it so.
    fn is_result(&self, stored: &Item) -> bool {
        let owned = |name: &String| {
            name != crate::keys::PK
                && name != crate::keys::SK
                && !self.keep.contains(&name.as_str())
        };
        self.item
            .iter()
            .filter(|(name, _)| owned(name))
            .all(|(name, value)| stored.get(name) == Some(value))
            && self
                .remove_if_absent
                .iter()
                .filter(|a| !self.item.contains_key(**a))
                .all(|a| !stored.contains_key(*a))
    }
}
