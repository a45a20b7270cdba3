//! Strongly consistent reads of many items by key: `BatchGetItem` in chunks of its 100-key
//! limit, all chunks at once (one round trip, however many chunks), and the keys DynamoDB
//! leaves unprocessed (throttling) asked for again with backoff, 503 if they stay so.

use super::{backoff, build_err, fault, get_s, Item, Store};
use crate::error::{ApiError, ApiResult};
use crate::keys;
use aws_sdk_dynamodb::types::KeysAndAttributes;
use futures::future::try_join_all;
use std::collections::{BTreeSet, HashMap};

/// `BatchGetItem` takes at most 100 keys per request.
pub const BATCH_KEYS: usize = 100;
/// Rounds of re-asking for `UnprocessedKeys` before answering 503.
const BATCH_ATTEMPTS: u32 = 5;

/// Which attributes to read of each item: a `ProjectionExpression` of `#name` placeholders
/// and what they stand for (so reserved words such as `status` can be named).
#[derive(Debug, Clone, Copy)]
pub struct Projection {
    pub expression: &'static str,
    pub names: &'static [(&'static str, &'static str)],
}

/// The items found under `keys` (table keys `PK`/`SK`), read consistently, in no particular
/// order; a key that names no item is simply absent. Duplicate keys are read once (DynamoDB
/// refuses a request that names one twice); no keys cost no request.
pub async fn get(
    state: &Store,
    keys: Vec<Item>,
    projection: Option<Projection>,
) -> ApiResult<Vec<Item>> {
    let mut seen = BTreeSet::new();
    let keys: Vec<Item> = keys
        .into_iter()
        .filter(|k| {
            seen.insert((
                get_s(k, keys::PK).map(str::to_string),
                get_s(k, keys::SK).map(str::to_string),
            ))
        })
        .collect();
    let chunks = keys
        .chunks(BATCH_KEYS)
        .map(|chunk| chunk_items(state, chunk.to_vec(), projection));
    Ok(try_join_all(chunks).await?.into_iter().flatten().collect())
}

async fn chunk_items(
    state: &Store,
    chunk: Vec<Item>,
    projection: Option<Projection>,
) -> ApiResult<Vec<Item>> {
    let mut request = KeysAndAttributes::builder()
        .set_keys(Some(chunk))
        .consistent_read(true);
    if let Some(p) = projection {
        request = request.projection_expression(p.expression);
        for (placeholder, name) in p.names {
            request = request.expression_attribute_names(*placeholder, *name);
        }
    }
    let request = request.build().map_err(build_err)?;
    let mut pending = HashMap::from([(state.table().to_string(), request)]);
    let mut found = Vec::new();
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let out = state
            .db
            .batch_get_item()
            .set_request_items(Some(pending))
            .send()
            .await
            .map_err(|e| fault("BatchGetItem", e))?;
        if let Some(mut responses) = out.responses {
            found.extend(responses.remove(state.table()).unwrap_or_default());
        }
        match out.unprocessed_keys {
            Some(left) if left.values().any(|k| !k.keys().is_empty()) => {
                if attempt >= BATCH_ATTEMPTS {
                    return Err(ApiError::Unavailable(
                        "BatchGetItem: keys left unprocessed".into(),
                    ));
                }
                backoff(attempt).await;
                pending = left;
            }
            _ => return Ok(found),
        }
    }
}
