//! `/api/v1/access-model-metadata/attributes`: the tenant's attribute catalog (API.md §4),
//! shared by all its apps.

mod create;
mod get;
mod list;
mod update;

pub use create::handle as create;
pub use get::handle as get;
pub use list::handle as list;
pub use update::handle as update;

/// Where an attribute lives, for `Location`.
fn location(key: &str) -> String {
    format!("/api/v1/access-model-metadata/attributes/{key}")
}
