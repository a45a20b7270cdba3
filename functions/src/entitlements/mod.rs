//! `/api/v1/entitlements`: who holds access to which asset.

mod create;
mod get;
mod list;
mod metadata;
mod revoke;
mod update;

pub use create::handle as create;
pub use get::handle as get;
pub use list::handle as list;
pub use metadata::{add as metadata_add, remove as metadata_remove};
pub use revoke::handle as revoke;
pub use update::handle as update;

fn location(id: &str) -> String {
    format!("/api/v1/entitlements/{id}")
}
