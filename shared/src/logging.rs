//! Structured JSON logs, set up once per process.

use tracing_subscriber::EnvFilter;

/// JSON lines to stdout (CloudWatch), filtered by `RUST_LOG` (default `info`).
pub fn init(function: &'static str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_target(false)
        .try_init();
    tracing::info!(function, "cold start");
}
