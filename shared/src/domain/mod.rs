//! Domain rules as plain functions: validation, defaults, merges, the request state machine and
//! the plans the store executes (`provision`). Refusals are `error::DomainError`. No AWS types here.

pub mod access_model;
pub mod access_request;
pub mod asset;
pub mod attribute;
pub mod authzen;
pub mod decision;
pub mod entitlement;
pub mod error;
pub mod history;
pub mod idempotency;
pub mod jcs;
pub mod provision;

use crate::envelope::Record;

/// Separates the fields of a search text; `q` may not contain it (nor any control character),
/// so a search never matches across two fields.
pub const SEARCH_SEPARATOR: char = '\u{1f}';

/// A kind of record whose lists `q` searches: which of its fields, in order.
pub trait Searchable {
    fn searched(&self) -> Vec<Option<&str>>;
}

impl<F: Searchable> Record<F> {
    /// The lower-cased text `q` searches: the searched fields that are set, separated.
    pub fn search_text(&self) -> String {
        self.fields
            .searched()
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(&SEARCH_SEPARATOR.to_string())
            .to_lowercase()
    }
}
