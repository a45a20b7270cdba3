//! Everything two Lambda functions would otherwise both write: configuration, auth, the error
//! mapping, HTTP parsing and responses, the record envelope, the table's key layout, list
//! cursors, the DynamoDB store and the domain rules.

pub mod auth;
pub mod config;
pub mod cursor;
pub mod domain;
pub mod envelope;
pub mod error;
pub mod http;
pub mod idempotency;
pub mod input;
pub mod keys;
pub mod listing;
pub mod logging;
pub mod metrics;
pub mod state;
pub mod store;
#[cfg(test)]
pub(crate) mod test_support;
pub mod time;
pub mod vocab;
