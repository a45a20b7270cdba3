//! Domain rules as plain functions: validation, defaults, merges. No AWS types here.

pub mod asset;
