//! `/api/v1/operations/access-requests`: requests for access, their approval and provisioning.

mod create;
mod decide;
mod delete;
mod get;
mod list;
mod provision;
mod update;

pub use create::handle as create;
pub use decide::{approve, reject};
pub use delete::handle as delete;
pub use get::handle as get;
pub use list::handle as list;
pub use provision::handle as provision;
pub use update::handle as update;

fn location(id: &str) -> String {
    format!("/api/v1/operations/access-requests/{id}")
}
