//! `/api/v1/operations/access-requests`: requests for access, their approval and provisioning.

pub mod create;
pub mod decide;
pub mod delete;
pub mod get;
pub mod list;
pub mod provision;
pub mod update;
