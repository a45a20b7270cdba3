//! Structured JSON logs, set up once per process.

use std::fmt;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// JSON lines to stdout (CloudWatch), filtered by `RUST_LOG` (default `info`); the metrics
/// lines (`metrics::LOG_TARGET`) always.
pub fn init(function: &'static str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = subscriber(filter, std::io::stdout).try_init();
    tracing::info!(function, "cold start");
}

/// The JSON subscriber `init` installs, writing to `writer` (tests capture lines with it).
pub fn subscriber<W>(filter: EnvFilter, writer: W) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let metrics = format!("{}=info", crate::metrics::LOG_TARGET);
    let filter = match metrics.parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    };
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_target(false)
        .with_writer(writer)
        .map_event_format(WholeLines)
        .finish()
}

/// The JSON format, except for events of `metrics::LOG_TARGET`: their `line` field is the whole
/// line (built once, with the EMF members at the top level where CloudWatch reads them).
struct WholeLines<F>(F);

impl<S, N, F> FormatEvent<S, N> for WholeLines<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        if event.metadata().target() == crate::metrics::LOG_TARGET {
            let mut whole = WriteLine {
                writer: &mut writer,
                written: None,
            };
            event.record(&mut whole);
            if let Some(result) = whole.written {
                return result;
            }
        }
        self.0.format_event(ctx, writer, event)
    }
}

struct WriteLine<'a, 'w> {
    writer: &'a mut Writer<'w>,
    written: Option<fmt::Result>,
}

impl Visit for WriteLine<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "line" && self.written.is_none() {
            self.written = Some(writeln!(self.writer, "{value}"));
        }
    }

    fn record_debug(&mut self, _field: &Field, _value: &dyn fmt::Debug) {}
}
