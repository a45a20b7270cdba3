//! One page of a filtered, newest-first list, read within a fixed budget.
//!
//! Filters are applied by DynamoDB (`FilterExpression`); a page keeps querying until it holds
//! `limit` items, the collection ends, or the read budget is spent. The cursor is the key of the
//! last item returned (or, when the budget ran out, of the last item read), so walking the
//! cursor returns every match exactly once.

use super::expr::Expr;
use super::Store;
use super::{fault, from_item, Item};
use crate::auth::Caller;
use crate::cursor::{self, Binding};
use crate::error::{ApiError, ApiResult};
use crate::keys;
use crate::listing::ListParams;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;

/// Queries per page at most; with `MAX_READ` items each, a page evaluates at most 1,200 items.
pub const MAX_QUERIES: usize = 3;
const MAX_READ: i32 = 400;

/// A conjunction of conditions for a `FilterExpression`.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    terms: Vec<String>,
    expr: Expr,
    /// Whether any term can drop many items (anything beyond the deleted flag and app scope).
    selective: bool,
}

impl Filter {
    fn placeholders(&mut self, attr: &str, value: AttributeValue) -> (String, String) {
        (self.expr.name(attr), self.expr.value(value))
    }

    /// One term; `term` turns the placeholders of name and value into the condition.
    fn push(
        &mut self,
        attr: &str,
        value: AttributeValue,
        selective: bool,
        term: fn(&str, &str) -> String,
    ) -> &mut Self {
        let (n, v) = self.placeholders(attr, value);
        self.terms.push(term(&n, &v));
        self.selective |= selective;
        self
    }

    pub fn eq(&mut self, attr: &str, value: AttributeValue) -> &mut Self {
        self.push(attr, value, true, |n, v| format!("{n} = {v}"))
    }

    /// String contains a substring, or list contains an element.
    pub fn contains(&mut self, attr: &str, value: AttributeValue) -> &mut Self {
        self.push(attr, value, true, |n, v| format!("contains({n}, {v})"))
    }

    pub fn lt(&mut self, attr: &str, value: AttributeValue) -> &mut Self {
        self.push(attr, value, true, |n, v| format!("{n} < {v}"))
    }

    /// Scoping terms that rarely drop items: not deleted, same app.
    pub fn scope_eq(&mut self, attr: &str, value: AttributeValue) -> &mut Self {
        self.push(attr, value, false, |n, v| format!("{n} = {v}"))
    }

    /// The scope of a list of records that are soft-deleted and owned by apps: deleted ones
    /// only when asked for, and only the app's own for an app token.
    pub fn scoped(params: &ListParams, caller: &Caller) -> Filter {
        let mut filter = Filter::default();
        if !params.include_deleted {
            filter.scope_eq("is_deleted", AttributeValue::Bool(false));
        }
        if let Some(app) = &caller.app_id {
            filter.scope_eq("app_id", super::s(app));
        }
        filter
    }

    /// A list parameter as a term: `q` searches the search text, any other matches exactly.
    pub fn param(&mut self, name: &str, value: &str) -> &mut Self {
        match name {
            "q" => self.contains(super::SEARCH, super::s(value)),
            other => self.eq(other, super::s(value)),
        }
    }

    fn expression(&self) -> Option<String> {
        (!self.terms.is_empty()).then(|| self.terms.join(" AND "))
    }
}

/// Where to read: the base table or an index, with its key attributes.
pub struct Source<'a> {
    pub index: Option<&'a str>,
    pub pk_attr: &'a str,
    pub pk_value: String,
    /// Attributes that form a position (the index's keys plus the table's).
    pub key_attrs: &'a [&'a str],
    /// Bounds on the sort key, if any.
    pub range: SortRange,
}

/// Inclusive bounds on a source's sort key, read as its key condition; none by default.
#[derive(Debug, Clone, Default)]
pub struct SortRange {
    pub sk_attr: &'static str,
    pub from: Option<String>,
    pub through: Option<String>,
}

impl SortRange {
    /// The key condition and its values, with `pk` the partition's condition.
    fn condition(&self, pk: &str) -> (String, Vec<(&'static str, String)>) {
        let (range, values) = match (&self.from, &self.through) {
            (Some(from), Some(through)) => (
                " AND #sk BETWEEN :from AND :through",
                vec![(":from", from.clone()), (":through", through.clone())],
            ),
            (Some(from), None) => (" AND #sk >= :from", vec![(":from", from.clone())]),
            (None, Some(through)) => (" AND #sk <= :through", vec![(":through", through.clone())]),
            (None, None) => ("", vec![]),
        };
        (format!("{pk}{range}"), values)
    }
}

impl Source<'static> {
    /// A partition of the table itself.
    pub fn table(pk_value: String) -> Self {
        Source {
            index: None,
            pk_attr: keys::PK,
            pk_value,
            key_attrs: &[keys::PK, keys::SK],
            range: SortRange::default(),
        }
    }

    /// A partition of GSI1.
    pub fn gsi1(pk_value: String) -> Self {
        Source {
            index: Some(keys::GSI1),
            pk_attr: keys::GSI1PK,
            pk_value,
            key_attrs: &[keys::GSI1PK, keys::GSI1SK, keys::PK, keys::SK],
            range: SortRange::default(),
        }
    }

    /// A partition of GSI1, within `range` of its sort key.
    pub fn gsi1_range(pk_value: String, from: Option<String>, through: Option<String>) -> Self {
        Source {
            range: SortRange {
                sk_attr: keys::GSI1SK,
                from,
                through,
            },
            ..Source::gsi1(pk_value)
        }
    }

    /// A partition of GSI2.
    pub fn gsi2(pk_value: String) -> Self {
        Source {
            index: Some(keys::GSI2),
            pk_attr: keys::GSI2PK,
            pk_value,
            key_attrs: &[keys::GSI2PK, keys::GSI2SK, keys::PK, keys::SK],
            range: SortRange::default(),
        }
    }
}

pub struct Page {
    pub items: Vec<Item>,
    pub next: Option<Item>,
}

/// A page in descending sort-key order: newest first, since every list's sort key is a ULID.
pub async fn page(
    db: &Client,
    table: &str,
    source: &Source<'_>,
    filter: &Filter,
    limit: usize,
    start: Option<Item>,
) -> Result<Page, ApiError> {
    let mut items: Vec<Item> = Vec::with_capacity(limit);
    let mut start = start;
    // Unselective lists read about a page; selective ones read ahead to fill the page sooner.
    let read_size = if filter.selective {
        MAX_READ
    } else {
        (limit as i32 + 5).min(MAX_READ)
    };
    for _ in 0..MAX_QUERIES {
        let (key_condition, bounds) = source.range.condition("#pk = :pk");
        let mut q = db
            .query()
            .table_name(table)
            .key_condition_expression(key_condition)
            .expression_attribute_names("#pk", source.pk_attr)
            .expression_attribute_values(":pk", AttributeValue::S(source.pk_value.clone()))
            .scan_index_forward(false)
            .limit(read_size)
            .set_exclusive_start_key(start.take());
        if !bounds.is_empty() {
            q = q.expression_attribute_names("#sk", source.range.sk_attr);
        }
        for (placeholder, bound) in &bounds {
            q = q.expression_attribute_values(*placeholder, AttributeValue::S(bound.clone()));
        }
        match source.index {
            Some(index) => q = q.index_name(index),
            None => q = q.consistent_read(true),
        }
        if let Some(expr) = filter.expression() {
            q = q.filter_expression(expr);
            for (k, v) in &filter.expr.names {
                q = q.expression_attribute_names(k, v);
            }
            for (k, v) in &filter.expr.values {
                q = q.expression_attribute_values(k, v.clone());
            }
        }
        let out = q.send().await.map_err(|e| fault("Query", e))?;
        let last_read = out.last_evaluated_key;
        let read = out.items.unwrap_or_default();
        let room = limit - items.len();
        let more_read = read.len() > room;
        // Moved, not cloned: the response is dropped here anyway.
        items.extend(read.into_iter().take(room));
        if items.len() == limit {
            let more = more_read || last_read.is_some();
            let next = if more {
                items.last().map(|last| position(last, source.key_attrs))
            } else {
                None
            };
            // Items past the page in this batch are re-read from the cursor next time.
            return Ok(Page { items, next });
        }
        match last_read {
            Some(key) => start = Some(key),
            None => return Ok(Page { items, next: None }),
        }
    }
    Ok(Page { items, next: start })
}

fn position(item: &Item, key_attrs: &[&str]) -> Item {
    key_attrs
        .iter()
        .filter_map(|k| item.get(*k).map(|v| (k.to_string(), v.clone())))
        .collect()
}

/// One page of typed records and the cursor to the next.
pub struct ListPage<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// A kind of record the list routes read: what its list reads for a caller, the rest of a
/// page (cursor, budget, decoding) being `records`'.
pub trait Collection: super::FromItem {
    /// The collection's name in cursors (a cursor of one collection never works in another).
    const NAME: &'static str;

    /// Where the caller's list reads, and the filter DynamoDB applies there.
    fn listing(caller: &Caller, params: &ListParams) -> (Source<'static>, Filter);
}

/// A page of a collection for this caller: the cursor checked against the caller and the
/// filters, the page read, the items decoded and the next cursor signed.
pub async fn records<T: Collection>(
    state: &Store,
    caller: &Caller,
    params: &ListParams,
) -> ApiResult<ListPage<T>> {
    let (source, filter) = T::listing(caller, params);
    let page = items(state, caller, params, T::NAME, source, filter).await?;
    Ok(ListPage {
        items: page
            .items
            .into_iter()
            .map(from_item::<T>)
            .collect::<ApiResult<Vec<_>>>()?,
        next_cursor: page.next_cursor,
    })
}

/// A page of stored items of `collection` (its name in cursors) read from `source` through
/// `filter`: what `records` decodes, and the audit feed serves as events.
pub async fn items(
    state: &Store,
    caller: &Caller,
    params: &ListParams,
    collection: &'static str,
    source: Source<'_>,
    filter: Filter,
) -> ApiResult<ListPage<Item>> {
    let mut filters = params.filters.clone();
    if params.include_deleted {
        filters.insert("include_deleted".into(), "true".into());
    }
    let binding = Binding {
        tenant_id: caller.tenant_id.clone(),
        app_id: caller.app_id.clone(),
        collection,
        filters,
    };
    let secret = state.cursor_secret();
    let start = match &params.cursor {
        Some(c) => Some(cursor::decode(secret, &binding, c)?),
        None => None,
    };
    let page = page(
        &state.db,
        state.table(),
        &source,
        &filter,
        params.limit,
        start,
    )
    .await?;
    let next_cursor = match page.next {
        Some(key) => Some(cursor::encode(secret, &binding, &key)?),
        None => None,
    };
    Ok(ListPage {
        items: page.items,
        next_cursor,
    })
}
