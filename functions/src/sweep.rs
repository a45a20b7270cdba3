//! The scheduled `expiry-sweep` function (API.md §6).

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::{json, Value};
use shared::metrics::{self, Metric, Usage};
use shared::state::State;
use shared::store::{counter, sweep};
use shared::time::Timestamp;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The function (binary) name.
pub const NAME: &str = "expiry-sweep";

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
///
/// The invocation fails when anything failed (`failed > 0`), after the run has done all it
/// could: the error (with the report) reaches the failure queue and the function's error
/// metric, so a bad item or a sick store is seen, while every other due entitlement has
/// already been expired. Nothing is retried by Lambda; the next scheduled run is the retry.
///
/// `request_id` (the invocation's) is what its expiries' history events name.
pub async fn sweep_once(
    state: &State,
    budget: Duration,
    request_id: &str,
) -> Result<sweep::Report, lambda_runtime::Error> {
    let run = sweep::run(state, Timestamp::now(), Instant::now() + budget, request_id);
    let (report, measured) = metrics::measure(counter::as_function(NAME, run)).await;
    let report = report?;
    println!("{}", report_line(&report, measured.usage, Timestamp::now()));
    if report.failed > 0 {
        return Err(format!(
            "expiry sweep: {} item(s) or page(s) failed, logged with their keys: {}",
            report.failed,
            serde_json::to_string(&report)?
        )
        .into());
    }
    Ok(report)
}

/// The run's log line, shaped as the JSON subscriber's lines are. Written here rather than
/// through `tracing`, whose fields hold only scalars: `tenants` stays a JSON object that log
/// queries can read, not a string of JSON. Its EMF members make the counts metrics
/// (`SweepExpired`, `SweepSkipped`, `SweepFailed`, with the run's DynamoDB usage) of
/// `function` `expiry-sweep`, which the template's sweep alarm watches.
pub fn report_line(report: &sweep::Report, usage: Usage, at: Timestamp) -> Value {
    let mut line = json!({
        "timestamp": at.to_string(),
        "level": if report.failed > 0 { "ERROR" } else { "INFO" },
        "fields": {
            "message": "expiry sweep",
            "expired": report.expired,
            "skipped": report.skipped,
            "failed": report.failed,
            "tenants": report.tenants,
            "complete": report.complete,
        },
    });
    let mut counts = vec![
        Metric::count("SweepExpired", report.expired),
        Metric::count("SweepSkipped", report.skipped),
        Metric::count("SweepFailed", report.failed),
    ];
    counts.extend(metrics::usage_metrics(usage));
    if let Some(object) = line.as_object_mut() {
        metrics::insert_emf(object, NAME, &counts, at);
    }
    line
}

pub async fn run() -> Result<(), lambda_runtime::Error> {
    shared::logging::init(NAME);
    let state: &'static State = Box::leak(Box::new(State::from_env().await?));
    // Sequential unless AWS_LAMBDA_MAX_CONCURRENCY > 1, like the API's functions (lib.rs `run`).
    lambda_runtime::run_concurrent(service_fn(move |event: LambdaEvent<Value>| async move {
        let budget = budget(event.context.deadline, SystemTime::now());
        let report = sweep_once(state, budget, &event.context.request_id).await?;
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
    fn the_log_line_carries_tenants_as_an_object_and_every_count() {
        let report = sweep::Report {
            expired: 3,
            skipped: 1,
            failed: 2,
            tenants: [("acme".to_string(), 2), ("globex".to_string(), 1)].into(),
            complete: true,
        };
        let usage = Usage {
            requests: 5,
            capacity: None,
        };
        let line = report_line(&report, usage, Timestamp::now());
        let fields = &line["fields"];
        assert_eq!(fields["tenants"], json!({"acme": 2, "globex": 1}));
        assert_eq!(
            (
                &fields["expired"],
                &fields["skipped"],
                &fields["failed"],
                &fields["complete"]
            ),
            (&json!(3), &json!(1), &json!(2), &json!(true))
        );
        assert_eq!(
            line["level"], "ERROR",
            "a run with failures logs at error level"
        );
        // The EMF members: the counts as metrics of the expiry-sweep function.
        let aws = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(aws["Namespace"], metrics::namespace());
        assert_eq!(aws["Dimensions"], json!([["function"]]));
        let names: Vec<&str> = aws["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "SweepExpired",
                "SweepSkipped",
                "SweepFailed",
                "DynamoDBRequests"
            ]
        );
        assert_eq!(line["function"], NAME);
        assert_eq!(
            (
                &line["SweepExpired"],
                &line["SweepSkipped"],
                &line["SweepFailed"],
                &line["DynamoDBRequests"]
            ),
            (&json!(3), &json!(1), &json!(2), &json!(5))
        );
        assert!(line["_aws"]["Timestamp"].as_i64().unwrap() > 1_600_000_000_000);
    }

    #[test]
    fn the_report_serializes_as_api_md_section_6_says() {
        let report = sweep::Report {
            expired: 1,
            skipped: 0,
            failed: 4,
            tenants: [("t".to_string(), 1)].into(),
            complete: false,
        };
        assert_eq!(
            serde_json::to_value(&report).unwrap(),
            json!({"expired": 1, "skipped": 0, "failed": 4, "tenants": {"t": 1}, "complete": false})
        );
    }

    #[test]
    fn unknown_or_absurd_deadlines_are_capped() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        assert_eq!(budget(600_000, now), UNKNOWN_DEADLINE_CAP);
        assert_eq!(budget(u64::MAX, now), UNKNOWN_DEADLINE_CAP);
    }
}
