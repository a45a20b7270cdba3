//! Structured JSON logs, set up once per process: one JSON line per event, each field formatted
//! once, when its line is written.
//!
//! A request's context (function, request id, method, path, and its tenant once known) is not a
//! tracing span. A JSON layer formats a span's fields into a string when the span is created,
//! and parses, merges and prints them again whenever one is recorded, for every request whether
//! or not anything is logged in it: about as much CPU as a handler's own logic. The context is a
//! [`RequestContext`] in a task-local for the request's duration ([`in_request`]), written into a
//! line only when a line is written. Spans of other crates are kept by the registry for the
//! filter's sake and never formatted; lambda_runtime's one per invocation is filtered out at
//! `info` ([`filter`]).

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};
use std::fmt;
use std::future::Future;
use std::io::Write;
use std::sync::Arc;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// JSON lines to stdout (CloudWatch), filtered by `RUST_LOG`; the metrics lines
/// (`metrics::LOG_TARGET`) always.
pub fn init(function: &'static str) {
    let filter = filter(std::env::var("RUST_LOG").ok().as_deref());
    let _ = subscriber(filter, std::io::stdout).try_init();
    tracing::info!(function, "cold start");
}

/// `RUST_LOG`'s `target=level` directives (`info`, `warn,shared=debug`, `off`; `info` when
/// unset or unreadable), with the metrics lines always on. A target filter, not
/// `EnvFilter`: its span and field directives would link a regex engine into every function.
///
/// At a default of `info`, `lambda_runtime` is held at `warn` unless the setting names it: at
/// `info` it has spans only (one per invocation), which no line here prints, and a span the
/// filter lets through is still created, entered and closed in the registry on every request.
pub fn filter(setting: Option<&str>) -> Targets {
    use tracing::level_filters::LevelFilter;
    const RUNTIME: &str = "lambda_runtime";
    let targets = setting
        .and_then(|s| s.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    let info = targets.default_level() == Some(LevelFilter::INFO);
    let named = targets.iter().any(|(target, _)| target == RUNTIME);
    let targets = if info && !named {
        targets.with_target(RUNTIME, LevelFilter::WARN)
    } else {
        targets
    };
    targets.with_target(crate::metrics::LOG_TARGET, tracing::Level::INFO)
}

/// The subscriber `init` installs, writing to `writer` (tests capture lines with it).
pub fn subscriber<W>(filter: Targets, writer: W) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::registry()
        .with(filter)
        .with(JsonLines { writer })
}

/// What every line logged while a request is served says of it (its `span` member).
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub function: &'static str,
    /// The id the response carries.
    pub request_id: String,
    /// Ours, when the response carries the client's id instead: both are in the log.
    pub own_request_id: Option<String>,
    pub method: String,
    pub path: String,
}

tokio::task_local! {
    static REQUEST: Arc<RequestContext>;
}

/// Runs `work` as the request `context` tells: every line it logs (on this task) names it.
pub async fn in_request<F: Future>(context: Arc<RequestContext>, work: F) -> F::Output {
    REQUEST.scope(context, work).await
}

/// A line's `span` member: the request and, once authenticated, its tenant.
pub struct RequestSpan<'a> {
    pub request: &'a RequestContext,
    pub tenant: Option<&'a str>,
}

impl Serialize for RequestSpan<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.request;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("name", "request")?;
        map.serialize_entry("function", r.function)?;
        map.serialize_entry("request_id", &r.request_id)?;
        if let Some(own) = &r.own_request_id {
            map.serialize_entry("own_request_id", own)?;
        }
        if let Some(tenant) = self.tenant {
            map.serialize_entry("tenant", tenant)?;
        }
        map.serialize_entry("method", &r.method)?;
        map.serialize_entry("path", &r.path)?;
        map.end()
    }
}

/// Writes each enabled event as one JSON line: `metrics::LOG_TARGET` events are their `line`
/// field, whole (built once, with the EMF members at the top level where CloudWatch reads
/// them); others `{timestamp, level, fields, span}`, `span` while a request is served.
struct JsonLines<W> {
    writer: W,
}

impl<S, W> Layer<S> for JsonLines<W>
where
    S: Subscriber,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut line = if event.metadata().target() == crate::metrics::LOG_TARGET {
            let mut whole = WholeLine(None);
            event.record(&mut whole);
            match whole.0 {
                Some(line) => line,
                None => return,
            }
        } else {
            let mut fields = Fields(Map::new());
            event.record(&mut fields);
            let render = |request: Option<&RequestContext>| {
                let tenant = request.and_then(|_| crate::metrics::tenant());
                serde_json::to_string(&EventLine {
                    at: crate::time::Timestamp::now(),
                    level: event.metadata().level().as_str(),
                    fields: &fields.0,
                    span: request.map(|request| RequestSpan {
                        request,
                        tenant: tenant.as_deref(),
                    }),
                })
            };
            let line = REQUEST
                .try_with(|request| render(Some(request)))
                .unwrap_or_else(|_| render(None));
            match line {
                Ok(line) => line,
                Err(_) => return,
            }
        };
        line.push('\n');
        // A log line that cannot be written is lost; the request it tells of goes on.
        let _ = self
            .writer
            .make_writer_for(event.metadata())
            .write_all(line.as_bytes());
    }
}

struct EventLine<'a> {
    at: crate::time::Timestamp,
    level: &'a str,
    fields: &'a Map<String, Value>,
    span: Option<RequestSpan<'a>>,
}

impl Serialize for EventLine<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("timestamp", &self.at)?;
        map.serialize_entry("level", self.level)?;
        map.serialize_entry("fields", self.fields)?;
        if let Some(span) = &self.span {
            map.serialize_entry("span", span)?;
        }
        map.end()
    }
}

/// An event's fields as JSON values: numbers and booleans as such, the rest as their text.
struct Fields(Map<String, Value>);

impl Fields {
    fn put(&mut self, field: &Field, value: Value) {
        self.0.insert(field.name().to_string(), value);
    }
}

impl Visit for Fields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::from(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::from(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::from(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Value::from(value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, Value::from(format!("{value:?}")));
    }
}

/// The `line` field of a metrics event.
struct WholeLine(Option<String>);

impl Visit for WholeLine {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "line" && self.0.is_none() {
            self.0 = Some(value.to_string());
        }
    }

    fn record_debug(&mut self, _field: &Field, _value: &dyn fmt::Debug) {}
}

/// Lines kept in memory instead of written out: what tests read back (`subscriber(filter,
/// captured.clone())`).
#[derive(Clone, Default)]
pub struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl Captured {
    /// The lines written since the last call, each parsed as JSON; a line that is not JSON is a
    /// `Value::String` of itself.
    pub fn take(&self) -> Vec<Value> {
        let bytes = match self.0.lock() {
            Ok(mut kept) => std::mem::take(&mut *kept),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        };
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|_| Value::from(l)))
            .collect()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0.lock() {
            Ok(mut kept) => kept.extend_from_slice(buf),
            Err(poisoned) => poisoned.into_inner().extend_from_slice(buf),
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'w> MakeWriter<'w> for Captured {
    type Writer = Captured;

    fn make_writer(&'w self) -> Captured {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture() -> (Captured, tracing::subscriber::DefaultGuard) {
        let lines = Captured::default();
        let subscriber = subscriber(filter(Some("info")), lines.clone());
        (lines, tracing::subscriber::set_default(subscriber))
    }

    #[tokio::test]
    async fn a_line_in_a_request_names_it_and_its_tenant() {
        let (lines, _guard) = capture();
        let context = Arc::new(RequestContext {
            function: "technology-get",
            request_id: "req-1".into(),
            own_request_id: Some("own-1".into()),
            method: "GET".into(),
            path: "/api/v1/technology/x".into(),
        });
        crate::metrics::measure(in_request(context, async {
            crate::metrics::record_tenant("acme");
            let error = std::io::Error::other("boom");
            tracing::error!(status = 503_u16, ok = false, %error, "request failed");
            tracing::debug!("filtered out");
        }))
        .await;
        tracing::warn!(attempt = -1_i64, "outside");
        let logged = lines.take();
        assert_eq!(logged.len(), 2, "{logged:?}");
        let first = &logged[0];
        assert_eq!(first["level"], "ERROR");
        assert_eq!(
            first["fields"],
            serde_json::json!({"message": "request failed", "status": 503, "ok": false,
                               "error": "boom"})
        );
        assert_eq!(
            first["span"],
            serde_json::json!({"name": "request", "function": "technology-get",
                               "request_id": "req-1", "own_request_id": "own-1",
                               "tenant": "acme", "method": "GET",
                               "path": "/api/v1/technology/x"})
        );
        assert!(first["timestamp"].as_str().unwrap().ends_with('Z'));
        assert_eq!(logged[1]["fields"]["attempt"], -1);
        assert!(logged[1].get("span").is_none(), "no request: no span");
    }

    #[tokio::test]
    async fn a_metrics_event_is_its_line_whole() {
        let (lines, _guard) = capture();
        crate::metrics::log_line(r#"{"a":1}"#);
        assert_eq!(lines.take(), vec![serde_json::json!({"a": 1})]);
    }

    #[test]
    fn rust_log_filters_by_target_and_never_the_metrics_lines() {
        use tracing::Level;
        let enabled = |setting, target, level| filter(setting).would_enable(target, &level);
        assert!(enabled(None, "shared::http", Level::INFO));
        assert!(!enabled(None, "shared::http", Level::DEBUG));
        assert!(
            enabled(Some("shared=loud"), "shared", Level::INFO),
            "unreadable: info"
        );
        assert!(!enabled(Some("off"), "shared", Level::ERROR));
        assert!(enabled(
            Some("off"),
            crate::metrics::LOG_TARGET,
            Level::INFO
        ));
        assert!(enabled(
            Some("warn,shared=debug"),
            "shared::store",
            Level::DEBUG
        ));
        assert!(!enabled(
            Some("warn,shared=debug"),
            "aws_smithy_runtime",
            Level::INFO
        ));
    }

    #[test]
    fn the_runtimes_invocation_spans_are_off_at_info_unless_asked_for() {
        use tracing::Level;
        let enabled = |setting, level| filter(setting).would_enable("lambda_runtime", &level);
        for setting in [
            None,
            Some("info"),
            Some("warn"),
            Some("off"),
            Some("shared=debug"),
        ] {
            assert!(!enabled(setting, Level::INFO), "{setting:?}");
        }
        assert!(enabled(None, Level::WARN));
        assert!(enabled(Some("info"), Level::ERROR));
        assert!(!enabled(Some("off"), Level::ERROR), "off stays off");
        assert!(enabled(Some("debug"), Level::INFO));
        assert!(enabled(Some("info,lambda_runtime=info"), Level::INFO));
        assert!(enabled(Some("warn,lambda_runtime=trace"), Level::DEBUG));
    }
}
