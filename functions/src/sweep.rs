//! The scheduled `expiry-sweep` function (API.md §6).

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;
use shared::state::State;
use shared::store::sweep;
use shared::time::Timestamp;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Time kept back before the Lambda deadline to finish in-flight writes and report.
pub const MARGIN: Duration = Duration::from_secs(3);
/// The run's cap when the deadline is unknown or absurd (`cargo lambda watch` sends a fixed
/// deadline in 1970; a real one is at most 15 minutes away).
pub const UNKNOWN_DEADLINE_CAP: Duration = Duration::from_secs(60);
const MAX_LAMBDA_RUN: Duration = Duration::from_secs(15 * 60);

/// How long this run may start new work, from the invocation's deadline (ms since the epoch).
pub fn budget(deadline_ms: u64, now: SystemTime) -> Duration {
    let now_ms = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    match deadline_ms.checked_sub(now_ms).map(Duration::from_millis) {
        Some(left) if left <= MAX_LAMBDA_RUN => left.saturating_sub(MARGIN),
        _ => UNKNOWN_DEADLINE_CAP,
    }
}

/// One sweep within `budget`, logged and returned as API.md §6 describes.
pub async fn sweep_once(
    state: &State,
    budget: Duration,
) -> Result<sweep::Report, lambda_runtime::Error> {
    let run = sweep::run(state, Timestamp::now(), Instant::now() + budget);
    let report = shared::store::counter::as_function("expiry-sweep", run).await?;
    tracing::info!(
        expired = report.expired,
        skipped = report.skipped,
        complete = report.complete,
        tenants = %serde_json::to_string(&report.tenants).unwrap_or_default(),
        "expiry sweep"
    );
    if report.failed {
        // Failing the invocation makes the fault visible (retries, the failure destination).
        return Err(format!(
            "expiry sweep stopped on a store fault after expiring {}",
            report.expired
        )
        .into());
    }
    Ok(report)
}

pub async fn run() -> Result<(), lambda_runtime::Error> {
    shared::logging::init("expiry-sweep");
    let state: &'static State = Box::leak(Box::new(State::from_env().await?));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let budget = budget(event.context.deadline, SystemTime::now());
        let report = sweep_once(state, budget).await?;
        Ok::<Value, lambda_runtime::Error>(serde_json::to_value(report)?)
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_follows_a_real_deadline_with_a_margin() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let deadline = 1_800_000_000_000 + 60_000;
        assert_eq!(budget(deadline, now), Duration::from_secs(57));
        assert_eq!(budget(1_800_000_000_000 + 1_000, now), Duration::ZERO);
    }

    #[test]
    fn unknown_or_absurd_deadlines_are_capped() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        assert_eq!(budget(600_000, now), UNKNOWN_DEADLINE_CAP);
        assert_eq!(budget(u64::MAX, now), UNKNOWN_DEADLINE_CAP);
    }
}
