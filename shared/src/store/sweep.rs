//! The expiry sweep (API.md §6): every live entitlement whose `expires_at` has passed becomes
//! `expired`, for all tenants.
//!
//! It reads only what is due: each shard of the sparse expiry index, `EXP_SK` below
//! `<now>#` (the sort key starts with the fixed-width expiry time). Each expiry is the same
//! `Transition::end_grant` transaction a revoke uses, conditional on the revision and status read, so a
//! concurrent revoke or extension wins and is counted as skipped, and two sweeps never expire
//! one entitlement twice or move a count twice.

use super::entitlements::Transition;
use super::history;
use super::Store;
use super::{fault, from_item, Item};
use crate::domain::entitlement::{self as domain, Entitlement};
use crate::domain::history::{Action, Writer};
use crate::error::{ApiError, ApiResult};
use crate::keys;
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
    /// Due entitlements it could not decode or expire, and index pages it could not read (one
    /// each), every one logged with its key; they wait for the next run, the rest went on.
    pub failed: u64,
    /// Expired per tenant.
    pub tenants: BTreeMap<String, u64>,
    /// Every shard of the expiry index was read to its end. False when the deadline came first
    /// or a page could not be read: due entitlements may be left for the next run.
    pub complete: bool,
}

enum Outcome {
    Expired(String),
    Skipped,
}

async fn expire(
    state: &Store,
    writer: &Writer,
    current: Entitlement,
    now: Timestamp,
) -> ApiResult<Outcome> {
    if !domain::is_due(&current, now) {
        return Ok(Outcome::Skipped);
    }
    let mut next = domain::expired(&current, now);
    let event = history::append(state, writer, Action::Expired, Some(&current), &mut next)?;
    let transition = Transition {
        from: &current,
        to: &next,
        event: &event,
    };
    match transition.end_grant(state.table())?.send(&state.db).await? {
        Ok(()) => Ok(Outcome::Expired(current.envelope.tenant_id)),
        // Revoked, extended or expired by another sweep since the index was read.
        Err(refusal) if refusal.any_failed() => Ok(Outcome::Skipped),
        Err(refusal) => Err(refusal.unexpected()),
    }
}

/// What the reading side hands the writing side.
enum Work {
    Expire(Box<Entitlement>),
    /// An index item that does not decode (the error names its key): counted, never fatal.
    Undecodable(ApiError),
    /// The deadline came before the index was read to the end.
    Stopped,
    /// Reading a page of a shard failed: the rest of that shard waits for the next run, the
    /// other shards go on.
    PageFailed {
        shard: u32,
        error: ApiError,
    },
}

/// What became of one piece of work.
enum Event {
    Done(Outcome),
    /// `key` is `<tenant>/<id>`.
    NotExpired {
        key: String,
        error: ApiError,
    },
    Undecodable(ApiError),
    PageFailed {
        shard: u32,
        error: ApiError,
    },
    Stopped,
}

async fn due_page(
    state: &Store,
    shard: u32,
    bound: &str,
    start: Option<Item>,
) -> ApiResult<(Vec<Work>, Option<Item>)> {
    let out = state
        .query_index(keys::EXPIRY)
        .key_condition_expression("#pk = :pk AND #sk < :bound")
        .expression_attribute_names("#pk", keys::EXP_PK)
        .expression_attribute_names("#sk", keys::EXP_SK)
        .expression_attribute_values(":pk", AttributeValue::S(keys::expiry_shard_pk(shard)))
        .expression_attribute_values(":bound", AttributeValue::S(bound.to_string()))
        .limit(PAGE)
        .set_exclusive_start_key(start)
        .send()
        .await
        .map_err(|e| fault("Query", e))?;
    let next = out.last_evaluated_key().cloned();
    // Item by item: one tenant's bad item must not hold back the rest of the page.
    let work = out
        .items
        .unwrap_or_default()
        .into_iter()
        .map(|item| match from_item::<Entitlement>(item) {
            Ok(ent) => Work::Expire(Box::new(ent)),
            Err(e) => Work::Undecodable(e),
        })
        .collect();
    Ok((work, next))
}

/// Runs one sweep. Reading the index and writing expiries overlap: up to `PARALLEL`
/// transactions are in flight while the next page is read. No page is read after `stop_at`
/// (except the first, so every run makes progress); the next run finds what is left. Nothing
/// about one item or one page stops the run: failures are logged and counted in `failed`.
///
/// Its expiries' history events name `system:expiry-sweep` and `request_id` (the invocation's).
pub async fn run(
    state: &Store,
    now: Timestamp,
    stop_at: Instant,
    request_id: &str,
) -> ApiResult<Report> {
    let writer = &Writer::system(domain::SWEEP_ACTOR, request_id);
    // `#` follows the expiry time in the sort key; `$` sorts right after it.
    let bound = format!("{now}$");
    let bound = &bound;
    let pages = stream::unfold(Some((0u32, None::<Item>, true)), move |cursor| async move {
        let (shard, start, first) = cursor?;
        if shard >= keys::EXPIRY_SHARDS {
            return None;
        }
        if !first && Instant::now() >= stop_at {
            return Some((vec![Work::Stopped], None));
        }
        match due_page(state, shard, bound, start).await {
            Err(error) => Some((
                vec![Work::PageFailed { shard, error }],
                Some((shard + 1, None, false)),
            )),
            Ok((work, next)) => {
                let cursor = match next {
                    Some(key) => (shard, Some(key), false),
                    None => (shard + 1, None, false),
                };
                Some((work, Some(cursor)))
            }
        }
    })
    // Boxed: the unboxed type nests too deeply for the compiler's layout queries downstream.
    .boxed();
    let events = pages
        .flat_map(stream::iter)
        .map(|work| async move {
            match work {
                Work::Expire(ent) => {
                    let key = format!("{}/{}", ent.envelope.tenant_id, ent.envelope.id);
                    match expire(state, writer, *ent, now).await {
                        Ok(outcome) => Event::Done(outcome),
                        Err(error) => Event::NotExpired { key, error },
                    }
                }
                Work::Undecodable(error) => Event::Undecodable(error),
                Work::PageFailed { shard, error } => Event::PageFailed { shard, error },
                Work::Stopped => Event::Stopped,
            }
        })
        .buffer_unordered(PARALLEL);
    let mut events = std::pin::pin!(events);
    let mut report = Report {
        complete: true,
        ..Report::default()
    };
    while let Some(event) = events.next().await {
        match event {
            Event::Done(Outcome::Expired(tenant)) => {
                report.expired += 1;
                *report.tenants.entry(tenant).or_default() += 1;
            }
            Event::Done(Outcome::Skipped) => report.skipped += 1,
            Event::NotExpired { key, error } => {
                tracing::error!(entitlement = %key, %error, "expiry sweep could not expire an entitlement; the next run retries");
                report.failed += 1;
            }
            Event::Undecodable(error) => {
                tracing::error!(%error, "expiry sweep met an undecodable index item");
                report.failed += 1;
            }
            Event::PageFailed { shard, error } => {
                tracing::error!(shard, %error, "expiry sweep could not read an index page; the next run retries");
                report.failed += 1;
                report.complete = false;
            }
            Event::Stopped => report.complete = false,
        }
    }
    Ok(report)
}
