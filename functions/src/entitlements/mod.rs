//! `/api/v1/entitlements`: who holds access to which asset.

pub mod create;
pub mod get;
pub mod list;
pub mod metadata;
pub mod revoke;
pub mod update;
