//! Rewriting a record in place under optimistic locking: every attribute of the new item is
//! SET (attributes owned by other writers, such as an asset's live count, are left alone), the
//! ones that no longer apply are REMOVEd, and the write holds only if the stored item still has
//! the values it was read with. Every rewrite rides in a transaction with its history event.

use super::expr::Expr;
use super::Item;
use crate::error::ApiResult;
use aws_sdk_dynamodb::types::{
    AttributeValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};

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
        let (update, condition, expr) = self.parts();
        let update = Update::builder()
            .table_name(table)
            .set_key(Some(self.key.clone()))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(super::build_err)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// A transaction that opens with this rewrite (the `Record`) and its history `event`
    /// (carrying `state`, the record after, for the kinds that keep it).
    pub fn tx(
        &self,
        event: &crate::domain::history::Event,
        state: Option<&str>,
        table: &str,
    ) -> ApiResult<super::tx::Tx> {
        let mut tx = super::tx::Tx::new();
        tx.change(
            super::tx::Role::Record,
            self.transact_item(table)?,
            event,
            state,
            table,
        )?;
        Ok(tx)
    }

    /// The rewrite and its history `event` as one transaction, answering with `next` (the
    /// record written) once it holds; `None`: the item changed since it was read (read again).
    pub async fn apply<F: serde::Serialize>(
        &self,
        store: &super::Store,
        event: &crate::domain::history::Event,
        next: crate::envelope::Record<F>,
    ) -> ApiResult<Option<crate::envelope::Record<F>>> {
        let mut tx = self.tx(event, None, store.table())?;
        tx.answer_record(&next, store.table())?;
        match tx.send(&store.db).await? {
            Ok(()) => Ok(Some(next)),
            Err(refusal) if refusal.failed(super::tx::Role::Record) => Ok(None),
            Err(refusal) => Err(refusal.unexpected()),
        }
    }
}
