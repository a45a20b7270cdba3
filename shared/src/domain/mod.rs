//! Domain rules as plain functions: validation, defaults, merges. No AWS types here.

pub mod access_model;
pub mod access_request;
pub mod asset;
pub mod attribute;
pub mod entitlement;
