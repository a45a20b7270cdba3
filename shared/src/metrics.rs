//! CloudWatch metrics as Embedded Metric Format (EMF): each request's one log line (`serve`'s
//! "response" line) carries its latency, status class and DynamoDB usage under [`namespace`],
//! dimensioned by `function`, and CloudWatch Logs extracts them as metrics; no API call, no
//! extra line. The expiry sweep's report line does the same for its counts
//! (`functions/src/sweep.rs`).
//!
//! DynamoDB usage is per request: [`measure`] scopes a tally to the request's task, and the store
//! client's [`DynamoUsage`] interceptor adds every attempt to it (retries included, as
//! `RequestCounter` counts them) and the capacity each response reports. The interceptor asks
//! every call for `ReturnConsumedCapacity: TOTAL` (free: one more response field), in this one
//! place rather than in each of the store's builders.

use crate::time::Timestamp;
use aws_sdk_dynamodb::operation::{
    batch_get_item::{BatchGetItemInput, BatchGetItemOutput},
    batch_write_item::{BatchWriteItemInput, BatchWriteItemOutput},
    delete_item::{DeleteItemInput, DeleteItemOutput},
    get_item::{GetItemInput, GetItemOutput},
    put_item::{PutItemInput, PutItemOutput},
    query::{QueryInput, QueryOutput},
    scan::{ScanInput, ScanOutput},
    transact_get_items::{TransactGetItemsInput, TransactGetItemsOutput},
    transact_write_items::{TransactWriteItemsInput, TransactWriteItemsOutput},
    update_item::{UpdateItemInput, UpdateItemOutput},
};
use aws_sdk_dynamodb::types::{ConsumedCapacity, ReturnConsumedCapacity};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef as Deserialized,
    BeforeSerializationInterceptorContextMut as Serializing,
    BeforeTransmitInterceptorContextRef as Transmitting, Input, Output,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents as Runtime;
use aws_smithy_types::config_bag::ConfigBag as Bag;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The CloudWatch namespace of every metric the functions emit, unless `METRICS_NAMESPACE` names
/// another: the template sets `TechnologyApi/<stack name>`, so two stacks in one account (and
/// their alarms) never share metrics.
pub const NAMESPACE: &str = "TechnologyApi";

/// `METRICS_NAMESPACE`, else [`NAMESPACE`]; read once per process.
pub fn namespace() -> &'static str {
    static NS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NS.get_or_init(|| {
        std::env::var("METRICS_NAMESPACE")
            .ok()
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| NAMESPACE.to_string())
    })
}
/// The one dimension: the function (binary) name, e.g. `technology-get`.
pub const DIMENSION: &str = "function";
/// The `tracing` target of events whose `line` field is a whole log line, written as it is by
/// the JSON subscriber (`logging.rs`) and kept at info whatever `RUST_LOG` says: metrics never
/// depend on the log level.
pub const LOG_TARGET: &str = "metrics";

/// What one request (or sweep run) cost in DynamoDB.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    /// HTTP requests to DynamoDB, every attempt (retries included).
    pub requests: u64,
    /// Capacity units the responses reported; `None` when none reported any.
    pub capacity: Option<f64>,
}

/// What [`measure`] saw of one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Measured {
    pub usage: Usage,
    /// The authenticated tenant, once `State::caller` knew it.
    pub tenant: Option<String>,
}

tokio::task_local! {
    static TALLY: Arc<Mutex<Measured>>;
}

/// Runs `work` with a tally of its own: the DynamoDB usage of the calls it makes (on this task;
/// `join`ed futures included) and the tenant it authenticated.
pub async fn measure<F: Future>(work: F) -> (F::Output, Measured) {
    let tally = Arc::new(Mutex::new(Measured::default()));
    let out = TALLY.scope(tally.clone(), work).await;
    let measured = std::mem::take(&mut *tally.lock().unwrap_or_else(|e| e.into_inner()));
    (out, measured)
}

fn with_tally(f: impl FnOnce(&mut Measured)) {
    let _ = TALLY.try_with(|tally| {
        if let Ok(mut t) = tally.lock() {
            f(&mut t)
        }
    });
}

/// Names the request's tenant in its metrics line and its log lines (a no-op outside
/// [`measure`]).
pub fn record_tenant(tenant: &str) {
    with_tally(|t| t.tenant = Some(tenant.to_string()));
}

/// The tenant of the request being measured, once authenticated.
pub fn tenant() -> Option<String> {
    let mut tenant = None;
    with_tally(|t| tenant = t.tenant.clone());
    tenant
}

/// The store client's interceptor: asks every data call for its consumed capacity and adds
/// attempts and capacity to the current [`measure`] tally (none: nothing is counted).
#[derive(Debug, Clone, Copy, Default)]
pub struct DynamoUsage;

/// `ReturnConsumedCapacity: TOTAL` on a data call that did not ask for something else.
fn ask_for_capacity(input: &mut Input) {
    macro_rules! set {
        ($($t:ty),*) => {$(
            if let Some(i) = input.downcast_mut::<$t>() {
                i.return_consumed_capacity.get_or_insert(ReturnConsumedCapacity::Total);
                return;
            }
        )*};
    }
    set!(
        GetItemInput,
        PutItemInput,
        UpdateItemInput,
        DeleteItemInput,
        QueryInput,
        ScanInput,
        BatchGetItemInput,
        BatchWriteItemInput,
        TransactGetItemsInput,
        TransactWriteItemsInput
    );
}

/// The capacity units a response reports, if it reports any.
fn capacity_of(output: &Output) -> Option<f64> {
    fn sum(list: &Option<Vec<ConsumedCapacity>>) -> Option<f64> {
        let list = list.as_ref()?;
        let units: Vec<f64> = list.iter().filter_map(|c| c.capacity_units).collect();
        (!units.is_empty()).then(|| units.iter().sum())
    }
    macro_rules! one {
        ($($t:ty),*) => {$(
            if let Some(o) = output.downcast_ref::<$t>() {
                return o.consumed_capacity.as_ref().and_then(|c| c.capacity_units);
            }
        )*};
    }
    macro_rules! many {
        ($($t:ty),*) => {$(
            if let Some(o) = output.downcast_ref::<$t>() {
                return sum(&o.consumed_capacity);
            }
        )*};
    }
    one!(
        GetItemOutput,
        PutItemOutput,
        UpdateItemOutput,
        DeleteItemOutput,
        QueryOutput,
        ScanOutput
    );
    many!(
        BatchGetItemOutput,
        BatchWriteItemOutput,
        TransactGetItemsOutput,
        TransactWriteItemsOutput
    );
    None
}

/// What an SDK interceptor hook returns. The short names keep each hook's signature on one line.
pub(crate) type Hooked = Result<(), BoxError>;

impl Intercept for DynamoUsage {
    fn name(&self) -> &'static str {
        "DynamoUsage"
    }

    fn modify_before_serialization(
        &self,
        c: &mut Serializing<'_>,
        _: &Runtime,
        _: &mut Bag,
    ) -> Hooked {
        ask_for_capacity(c.input_mut());
        Ok(())
    }

    fn read_before_transmit(&self, _: &Transmitting<'_>, _: &Runtime, _: &mut Bag) -> Hooked {
        with_tally(|t| t.usage.requests += 1);
        Ok(())
    }

    fn read_after_deserialization(&self, c: &Deserialized<'_>, _: &Runtime, _: &mut Bag) -> Hooked {
        if let Some(units) = c.output_or_error().ok().and_then(capacity_of) {
            with_tally(|t| *t.usage.capacity.get_or_insert(0.0) += units);
        }
        Ok(())
    }
}

/// A CloudWatch unit, as EMF names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Milliseconds,
    Count,
    None,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Milliseconds => "Milliseconds",
            Unit::Count => "Count",
            Unit::None => "None",
        }
    }
}

/// One metric value of a line: a top-level member named `name`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metric {
    pub name: &'static str,
    pub unit: Unit,
    pub value: f64,
}

impl Metric {
    pub fn count(name: &'static str, value: u64) -> Metric {
        Metric {
            name,
            unit: Unit::Count,
            value: value as f64,
        }
    }
}

/// A metric value as JSON: integers without a fraction, so counts read as counts.
fn number(v: f64) -> serde_json::Number {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        serde_json::Number::from(v as i64)
    } else {
        serde_json::Number::from_f64(v).unwrap_or_else(|| 0.into())
    }
}

/// The `_aws` member: `metrics` (their names and units) in [`namespace`], by [`DIMENSION`].
pub struct Directive<'a> {
    pub at: Timestamp,
    pub metrics: &'a [Metric],
}

impl Serialize for Directive<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("Timestamp", &self.at.unix_millis())?;
        match kept_set(self.metrics) {
            Some(text) => map.serialize_entry("CloudWatchMetrics", text)?,
            None => map.serialize_entry("CloudWatchMetrics", &[Set(self.metrics)])?,
        }
        map.end()
    }
}

/// The metric definitions of a directive, in [`namespace`], by [`DIMENSION`].
struct Set<'a>(&'a [Metric]);

impl Serialize for Set<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Definition {
            name: &'static str,
            unit: &'static str,
        }
        struct Names<'a>(&'a [Metric]);
        impl Serialize for Names<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut seq = s.serialize_seq(Some(self.0.len()))?;
                for m in self.0 {
                    let unit = m.unit.as_str();
                    seq.serialize_element(&Definition { name: m.name, unit })?;
                }
                seq.end()
            }
        }
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("Namespace", namespace())?;
        map.serialize_entry("Dimensions", &[[DIMENSION]])?;
        map.serialize_entry("Metrics", &Names(self.0))?;
        map.end()
    }
}

/// How many distinct `CloudWatchMetrics` texts a process keeps (a function writes two: with
/// and without `ConsumedCapacity`).
const KEPT_SETS: usize = 8;

/// `CloudWatchMetrics` for `metrics`, rendered once per process for each set of metric names
/// and units and kept: the same text is in every line, and rendering it was half the line's work.
fn kept_set(metrics: &[Metric]) -> Option<&'static serde_json::value::RawValue> {
    type Kept = (
        Vec<(&'static str, Unit)>,
        &'static serde_json::value::RawValue,
    );
    static KEPT: Mutex<Vec<Kept>> = Mutex::new(Vec::new());
    let mut kept = KEPT.lock().ok()?;
    let same = |names: &[(&str, Unit)]| {
        names.len() == metrics.len()
            && names
                .iter()
                .zip(metrics)
                .all(|((name, unit), m)| *name == m.name && *unit == m.unit)
    };
    if let Some((_, text)) = kept.iter().find(|(names, _)| same(names)) {
        return Some(text);
    }
    if kept.len() == KEPT_SETS {
        return None;
    }
    // Leaked on purpose: at most KEPT_SETS small texts, each alive as long as the process.
    let text = Box::leak(serde_json::value::to_raw_value(&[Set(metrics)]).ok()?);
    kept.push((metrics.iter().map(|m| (m.name, m.unit)).collect(), text));
    Some(text)
}

/// Writes the EMF members of a line into `map`: the dimension, each metric's value, `_aws`.
pub fn serialize_emf<M: SerializeMap>(
    map: &mut M,
    function: &str,
    metrics: &[Metric],
    at: Timestamp,
) -> Result<(), M::Error> {
    map.serialize_entry(DIMENSION, function)?;
    for m in metrics {
        map.serialize_entry(m.name, &number(m.value))?;
    }
    map.serialize_entry("_aws", &Directive { at, metrics })
}

/// The EMF members of a line built as a JSON object (the sweep's report): as
/// [`serialize_emf`] writes them.
pub fn insert_emf(
    object: &mut serde_json::Map<String, serde_json::Value>,
    function: &str,
    metrics: &[Metric],
    at: Timestamp,
) {
    object.insert(DIMENSION.into(), function.into());
    for m in metrics {
        object.insert(m.name.into(), number(m.value).into());
    }
    if let Ok(aws) = serde_json::to_value(Directive { at, metrics }) {
        object.insert("_aws".into(), aws);
    }
}

/// The DynamoDB metrics of a request or run: attempts, and the capacity when reported.
pub fn usage_metrics(usage: Usage) -> impl Iterator<Item = Metric> {
    let capacity = usage.capacity.map(|units| Metric {
        name: "ConsumedCapacity",
        unit: Unit::None,
        value: units,
    });
    std::iter::once(Metric::count("DynamoDBRequests", usage.requests)).chain(capacity)
}

/// The metrics of one API request.
pub fn request_metrics(status: u16, latency: Duration, usage: Usage) -> Vec<Metric> {
    let class = status / 100;
    let mut metrics = vec![
        Metric {
            name: "Latency",
            unit: Unit::Milliseconds,
            value: (latency.as_micros() as f64 / 1000.0),
        },
        Metric::count("Status2xx", (class == 2) as u64),
        Metric::count("Status4xx", (class == 4) as u64),
        Metric::count("Status5xx", (class == 5) as u64),
    ];
    metrics.extend(usage_metrics(usage));
    metrics
}

/// One request, as its log line tells it.
#[derive(Debug, Clone)]
pub struct RequestLine<'a> {
    pub request: &'a crate::logging::RequestContext,
    pub tenant: Option<&'a str>,
    pub status: u16,
    pub latency: Duration,
    pub usage: Usage,
    pub at: Timestamp,
}

impl Serialize for RequestLine<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Fields(u16);
        impl Serialize for Fields {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut map = s.serialize_map(Some(2))?;
                map.serialize_entry("message", "response")?;
                map.serialize_entry("status", &self.0)?;
                map.end()
            }
        }
        let span = crate::logging::RequestSpan {
            request: self.request,
            tenant: self.tenant,
        };
        let metrics = request_metrics(self.status, self.latency, self.usage);
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("timestamp", &self.at)?;
        map.serialize_entry("level", "INFO")?;
        map.serialize_entry("fields", &Fields(self.status))?;
        map.serialize_entry("span", &span)?;
        serialize_emf(&mut map, self.request.function, &metrics, self.at)?;
        map.end()
    }
}

/// The request's one log line, JSON shaped as the subscriber's lines are (`fields`, `span`)
/// plus the EMF members at the top level, where CloudWatch looks for them.
pub fn request_line(line: &RequestLine<'_>) -> String {
    serde_json::to_string(line).unwrap_or_default()
}

/// Logs `line` whole, as the request's (or run's) one line (see [`LOG_TARGET`]).
pub fn log_line(line: &str) {
    tracing::info!(target: LOG_TARGET, line);
}

/// Whether a line logged by [`log_line`] would be written (so it is built only then).
pub fn enabled() -> bool {
    tracing::enabled!(target: LOG_TARGET, tracing::Level::INFO)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn a_kept_metric_set_is_the_set_rendered_afresh() {
        let usage = Usage {
            requests: 2,
            capacity: Some(1.5),
        };
        for usage in [usage, Usage::default()] {
            let metrics = request_metrics(200, Duration::from_millis(3), usage);
            let fresh = serde_json::to_string(&[Set(&metrics)]).unwrap();
            for _ in 0..2 {
                assert_eq!(kept_set(&metrics).unwrap().get(), fresh);
            }
        }
        let other = [Metric::count("Other", 1)];
        assert_ne!(
            kept_set(&other).unwrap().get(),
            kept_set(&request_metrics(200, Duration::ZERO, Usage::default()))
                .unwrap()
                .get()
        );
    }

    /// What CloudWatch requires of an EMF document: every metric and dimension the directive
    /// names is a top-level member (numbers and strings); returns the metric names.
    fn emf_metrics(line: &Value) -> Vec<String> {
        let aws = &line["_aws"];
        assert!(aws["Timestamp"].as_i64().unwrap() > 1_600_000_000_000);
        let directives = aws["CloudWatchMetrics"].as_array().unwrap();
        assert_eq!(directives.len(), 1);
        let d = &directives[0];
        assert_eq!(d["Namespace"], namespace());
        assert_eq!(d["Dimensions"], json!([["function"]]));
        assert!(line["function"].is_string());
        d["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                let name = m["Name"].as_str().unwrap();
                assert!(line[name].is_number(), "{name} must be a top-level number");
                assert!(["Milliseconds", "Count", "None"].contains(&m["Unit"].as_str().unwrap()));
                name.to_string()
            })
            .collect()
    }

    /// The metrics of every request line, in order; `ConsumedCapacity` follows when it is known.
    const EVERY_LINE_METRICS: [&str; 5] = [
        "Latency",
        "Status2xx",
        "Status4xx",
        "Status5xx",
        "DynamoDBRequests",
    ];

    fn status_classes(line: &Value) -> [&Value; 3] {
        [&line["Status2xx"], &line["Status4xx"], &line["Status5xx"]]
    }

    fn line(status: u16, usage: Usage, tenant: Option<&str>) -> Value {
        let request = crate::logging::RequestContext {
            function: "technology-get",
            request_id: "req-1".into(),
            own_request_id: None,
            method: "GET".into(),
            path: "/api/v1/technology/x".into(),
        };
        let text = request_line(&RequestLine {
            request: &request,
            tenant,
            status,
            latency: Duration::from_micros(12_345),
            usage,
            at: Timestamp::now(),
        });
        assert!(!text.contains('\n'), "one line");
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn a_request_line_is_an_emf_document_with_the_log_fields() {
        let v = line(
            200,
            Usage {
                requests: 2,
                capacity: Some(1.5),
            },
            Some("acme"),
        );
        assert_eq!(
            emf_metrics(&v),
            [&EVERY_LINE_METRICS[..], &["ConsumedCapacity"]].concat()
        );
        assert_eq!(v["function"], "technology-get");
        assert_eq!(v["Latency"], json!(12.345));
        assert_eq!(status_classes(&v), [&json!(1), &json!(0), &json!(0)]);
        assert_eq!(v["DynamoDBRequests"], json!(2));
        assert_eq!(v["ConsumedCapacity"], json!(1.5));
        assert_eq!(v["fields"], json!({"message": "response", "status": 200}));
        assert_eq!(
            v["span"],
            json!({"name": "request", "function": "technology-get", "request_id": "req-1",
                   "tenant": "acme", "method": "GET", "path": "/api/v1/technology/x"})
        );
        assert_eq!(v["level"], "INFO");
        assert!(v["timestamp"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn status_classes_count_one_each_and_unknown_capacity_is_no_metric() {
        let v = line(503, Usage::default(), None);
        assert_eq!(emf_metrics(&v), EVERY_LINE_METRICS);
        assert_eq!(status_classes(&v), [&json!(0), &json!(0), &json!(1)]);
        assert!(v.get("ConsumedCapacity").is_none());
        assert!(v["span"].get("tenant").is_none(), "unauthenticated");
        assert_eq!(line(404, Usage::default(), None)["Status4xx"], json!(1));
    }

    #[tokio::test]
    async fn measure_keeps_each_task_its_own_tally() {
        let (_, outside) = measure(async {}).await;
        assert_eq!(outside, Measured::default());
        let (n, m) = measure(async {
            record_tenant("acme");
            with_tally(|t| t.usage.requests += 2);
            7
        })
        .await;
        assert_eq!(n, 7);
        assert_eq!(m.tenant.as_deref(), Some("acme"));
        assert_eq!(m.usage.requests, 2);
        record_tenant("nobody"); // outside any tally: ignored, no panic
    }
}
