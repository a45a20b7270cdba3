//! Domain rules as plain functions: validation, defaults, merges, the request state machine and
//! the plans the store executes (`provision`). Refusals are `error::DomainError`. No AWS types here.

pub mod access_model;
pub mod access_request;
pub mod asset;
pub mod attribute;
pub mod entitlement;
pub mod error;
pub mod history;
pub mod provision;

/// Separates the fields of a search text; `q` may not contain it (nor any control character),
/// so a search never matches across two fields.
pub const SEARCH_SEPARATOR: char = '\u{1f}';

/// The lower-cased text `q` searches, from a record's searchable fields.
pub fn search_text<'a>(fields: impl IntoIterator<Item = Option<&'a str>>) -> String {
    fields
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(&SEARCH_SEPARATOR.to_string())
        .to_lowercase()
}
