//! `/api/v1/access-model-metadata/attributes`: the tenant's attribute catalog (API.md §4),
//! shared by all its apps.

pub mod create;
pub mod get;
pub mod list;
pub mod update;
