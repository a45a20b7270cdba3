//! `/api/v1/technology`: technology assets.

mod create;
mod delete;
mod get;
mod list;
mod update;

pub use create::handle as create;
pub use delete::handle as delete;
pub use get::handle as get;
pub use list::handle as list;
pub use update::handle as update;

/// Where an asset lives, for `Location`.
fn location(id: &str) -> String {
    format!("/api/v1/technology/{id}")
}
