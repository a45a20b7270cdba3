//! The expiry sweep (API.md §6): every live entitlement whose `expires_at` has passed becomes
//! `expired`, for all tenants.
//!
//! It reads only what is due: each shard of the sparse expiry index, `EXP_SK` below
//! `<now>#` (the sort key starts with the fixed-width expiry time). Each expiry is the same
//! `end_grant` transaction a revoke uses, conditional on the revision and status read, so a
//! concurrent revoke or extension wins and is counted as skipped, and two sweeps never expire
//! one entitlement twice or move a count twice.

use super::entitlements::end_grant;
use super::{fault, from_item, transact, CancelReason, Item, TxError};
use crate::domain::entitlement::{self as domain, Entitlement};
use crate::error::ApiResult;
use crate::keys;
use crate::state::State;
use crate::time::Timestamp;
use aws_sdk_dynamodb::types::AttributeValue;
use futures::stream::{self, StreamExt};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Instant;

/// Index items read per query.
const PAGE: i32 = 100;
/// Expiry transactions in flight at once.
const PARALLEL: usize = 8;

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub expired: u64,
    pub skipped: u64,
    /// Expired per tenant.
    pub tenants: BTreeMap<String, u64>,
    /// False when the run stopped at its deadline (or on a store fault) with due entitlements
    /// possibly left.
    pub complete: bool,
    /// A store fault stopped the run early (logged); the invocation should report failure.
    #[serde(skip)]
    pub failed: bool,
}

enum Outcome {
    Expired(String),
    Skipped,
}

async fn expire(state: &State, current: Entitlement, now: Timestamp) -> ApiResult<Outcome> {
    if !domain::is_due(&current, now) {
        return Ok(Outcome::Skipped);
    }
    let next = domain::expired(&current, now);
    match transact(&state.db, end_grant(&current, &next, state.table())?).await {
        Ok(()) => Ok(Outcome::Expired(current.envelope.tenant_id)),
        // Revoked, extended or expired by another sweep since the index was read.
        Err(TxError::Cancelled(reasons)) if reasons.iter().any(CancelReason::condition_failed) => {
            Ok(Outcome::Skipped)
        }
        Err(e) => Err(e.into()),
    }
}

/// Runs one sweep. It starts no new page after `stop_at` (but always finishes the first page,
/// so every run makes progress); what is left is found by the next run.
pub async fn run(state: &State, now: Timestamp, stop_at: Instant) -> ApiResult<Report> {
    let mut report = Report {
        complete: true,
        ..Report::default()
    };
    // `#` follows the expiry time in the sort key; `$` sorts right after it.
    let bound = format!("{}$", now);
    let mut first_page = true;
    'shards: for shard in 0..keys::EXPIRY_SHARDS {
        let mut start: Option<Item> = None;
        loop {
            if !first_page && Instant::now() >= stop_at {
                report.complete = false;
                break 'shards;
            }
            first_page = false;
            let out = match state
                .db
                .query()
                .table_name(state.table())
                .index_name(keys::EXPIRY)
                .key_condition_expression("#pk = :pk AND #sk < :bound")
                .expression_attribute_names("#pk", keys::EXP_PK)
                .expression_attribute_names("#sk", keys::EXP_SK)
                .expression_attribute_values(":pk", AttributeValue::S(keys::expiry_shard_pk(shard)))
                .expression_attribute_values(":bound", AttributeValue::S(bound.clone()))
                .limit(PAGE)
                .set_exclusive_start_key(start.take())
                .send()
                .await
            {
                Ok(out) => out,
                Err(e) => {
                    tracing::error!(error = %fault("Query", e), "reading the expiry index failed");
                    report.failed = true;
                    report.complete = false;
                    break 'shards;
                }
            };
            let due: Vec<Entitlement> = out
                .items()
                .iter()
                .cloned()
                .map(from_item)
                .collect::<ApiResult<_>>()?;
            let outcomes: Vec<ApiResult<Outcome>> = stream::iter(due)
                .map(|ent| expire(state, ent, now))
                .buffer_unordered(PARALLEL)
                .collect()
                .await;
            for outcome in outcomes {
                match outcome {
                    Ok(Outcome::Expired(tenant)) => {
                        report.expired += 1;
                        *report.tenants.entry(tenant).or_default() += 1;
                    }
                    Ok(Outcome::Skipped) => report.skipped += 1,
                    Err(e) => {
                        tracing::error!(error = %e, "expiry failed; the next run retries it");
                        report.failed = true;
                    }
                }
            }
            if report.failed {
                report.complete = false;
                break 'shards;
            }
            match out.last_evaluated_key() {
                Some(key) => start = Some(key.clone()),
                None => break,
            }
        }
    }
    Ok(report)
}
