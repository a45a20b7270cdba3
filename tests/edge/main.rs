//! What every route shares at the HTTP edge: authentication and request bodies
//! (`auth_and_bodies`), and `If-Match` syntax, `405` with `Allow`, opaque cursors (`http`); each
//! request's one log line with its CloudWatch metrics (`metrics`).

mod auth_and_bodies;
#[path = "../common/mod.rs"]
mod common;
mod http;
mod metrics;
