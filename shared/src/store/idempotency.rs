//! Idempotency key items (API.md §11). A key is its own item, `T#<t>#IDK#<hash of app, sub,
//! key>` / `KEY`, holding the request's fingerprint and the kept answer, with `purge_at` (epoch
//! seconds) as the table's TTL attribute.
//!
//! A request that writes puts its key in the write's own transaction (`Tx::answer`), so a key
//! never marks a write that did not happen; an answer that writes nothing is kept on its own
//! (`keep_alone`). Both puts hold only while no live key is there: a key past its 24 h counts as
//! absent, whether or not TTL has deleted it yet.

use super::{fault, get_n, get_s, n, s, Item, Store};
use crate::domain::idempotency::{purge_at, Kept, Stored, Success};
use crate::error::{ApiError, ApiResult};
use crate::keys;
use crate::time::Timestamp;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use std::sync::{Arc, Mutex};

tokio::task_local! {
    /// The key of the request being handled, while its handler runs.
    static CLAIM: Arc<Claim>;
}

/// A request's key, claimed while its handler runs: the write that carries it keeps the answer.
#[derive(Debug)]
pub struct Claim {
    pk: String,
    key: String,
    sub: String,
    app_id: Option<String>,
    pub fingerprint: String,
    /// How this route answers a write, so the answer can be kept before it is sent.
    pub success: Success,
    pub request_id: String,
    /// The answer kept by the transaction that committed, once one did.
    committed: Mutex<Option<Kept>>,
}

impl Claim {
    pub fn new(
        tenant: &str,
        app_id: Option<&str>,
        sub: &str,
        key: String,
        fingerprint: String,
        success: Success,
        request_id: String,
    ) -> Claim {
        Claim {
            pk: keys::idempotency_pk(tenant, app_id, sub, &key),
            key,
            sub: sub.to_string(),
            app_id: app_id.map(str::to_string),
            fingerprint,
            success,
            request_id,
            committed: Mutex::new(None),
        }
    }

    /// Runs `work` with this claim on: every transaction it sends carries the key.
    pub async fn scope<F: std::future::Future>(self: &Arc<Self>, work: F) -> F::Output {
        CLAIM.scope(self.clone(), work).await
    }

    /// The answer a committed transaction kept, if one did.
    pub fn committed(&self) -> Option<Kept> {
        self.committed.lock().ok().and_then(|k| k.clone())
    }

    pub(crate) fn commit(&self, kept: Kept) {
        if let Ok(mut slot) = self.committed.lock() {
            *slot = Some(kept);
        }
    }

    fn key_item(&self) -> Item {
        Item::from([
            (keys::PK.to_string(), s(&self.pk)),
            (keys::SK.to_string(), s(keys::IDEMPOTENCY_SK)),
        ])
    }

    fn item(&self, kept: &Kept, now: &Timestamp) -> ApiResult<Item> {
        let mut item = self.key_item();
        item.insert("fingerprint".into(), s(&self.fingerprint));
        item.insert(KEPT.into(), deflated(kept)?);
        item.insert("kept_at".into(), s(now.as_string()));
        item.insert(PURGE_AT.into(), n(purge_at(now)));
        item.insert("idempotency_key".into(), s(&self.key));
        item.insert("sub".into(), s(&self.sub));
        if let Some(app) = &self.app_id {
            item.insert("app_id".into(), s(app));
        }
        Ok(item)
    }

    /// The put of this key with `kept`, holding only while no live key is there.
    fn put(&self, kept: &Kept, table: &str) -> ApiResult<Put> {
        let now = Timestamp::now();
        Put::builder()
            .table_name(table)
            .set_item(Some(self.item(kept, &now)?))
            .condition_expression("attribute_not_exists(PK) OR #purge <= :now")
            .expression_attribute_names("#purge", PURGE_AT)
            .expression_attribute_values(":now", n(now.unix_millis() / 1000))
            .build()
            .map_err(super::build_err)
    }

    /// The put as one action of the write's transaction.
    pub(crate) fn put_action(&self, kept: &Kept, table: &str) -> ApiResult<TransactWriteItem> {
        Ok(TransactWriteItem::builder()
            .put(self.put(kept, table)?)
            .build())
    }

    /// Keeps an answer that wrote nothing (a no-op, a kept 4xx). `false`: a live key was there,
    /// or another request's transaction was putting one.
    pub async fn keep_alone(&self, store: &Store, kept: &Kept) -> ApiResult<bool> {
        let put = self.put(kept, store.table())?;
        let sent = store
            .db
            .put_item()
            .table_name(store.table())
            .set_item(Some(put.item))
            .set_condition_expression(put.condition_expression)
            .set_expression_attribute_names(put.expression_attribute_names)
            .set_expression_attribute_values(put.expression_attribute_values)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(true),
            // A live key, or a transaction committing one this moment: held either way (the
            // read that follows replays its answer, or answers 409 while it is not there yet).
            Err(SdkError::ServiceError(ctx))
                if matches!(
                    ctx.err(),
                    PutItemError::ConditionalCheckFailedException(_)
                        | PutItemError::TransactionConflictException(_)
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(fault("PutItem", e)),
        }
    }

    /// The key as stored, if it is live (strongly consistent: a key just put is seen).
    pub async fn read(&self, store: &Store) -> ApiResult<Option<Stored>> {
        let Some(item) = super::read(store, self.key_item()).await? else {
            return Ok(None);
        };
        let stored = stored(&item)?;
        Ok(Some(stored).filter(|s| s.live_at(&Timestamp::now())))
    }
}

/// The TTL attribute of key items (`template.yaml` enables TTL on it).
pub const PURGE_AT: &str = "purge_at";

/// The kept answer's attribute: its JSON, deflated (binary). A rendered entitlement joins the
/// definitions of its metadata, so an answer can outgrow the 400 KB item limit where the record
/// itself (at most 100 KiB) fits; its repetitive JSON deflates many times over.
pub const KEPT: &str = "kept";

/// The kept answer as stored.
pub fn deflated(kept: &Kept) -> ApiResult<AttributeValue> {
    use std::io::Write;
    let json = serde_json::to_vec(kept).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut encoder =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(&json)
        .map_err(|e| ApiError::Internal(format!("deflate: {e}")))?;
    let bytes = encoder
        .finish()
        .map_err(|e| ApiError::Internal(format!("deflate: {e}")))?;
    Ok(AttributeValue::B(Blob::new(bytes)))
}

/// The kept answer of a key item.
pub fn inflated(item: &Item) -> ApiResult<Kept> {
    let Some(AttributeValue::B(bytes)) = item.get(KEPT) else {
        return Err(ApiError::Internal(
            "idempotency key item without its answer".into(),
        ));
    };
    let json = flate2::read::DeflateDecoder::new(bytes.as_ref());
    serde_json::from_reader(json).map_err(|e| ApiError::Internal(format!("kept answer: {e}")))
}

fn stored(item: &Item) -> ApiResult<Stored> {
    let (Some(fingerprint), Some(purge_at)) = (get_s(item, "fingerprint"), get_n(item, PURGE_AT))
    else {
        return Err(ApiError::Internal(
            "idempotency key item without its parts".into(),
        ));
    };
    Ok(Stored {
        fingerprint: fingerprint.to_string(),
        kept: inflated(item)?,
        purge_at,
    })
}

/// The claim of the request being handled, if it sent a key.
pub fn current() -> Option<Arc<Claim>> {
    CLAIM.try_with(Arc::clone).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_answer_is_kept_deflated_and_comes_back_whole() {
        // An entitlement whose metadata joins many long definitions renders to ~600 KB.
        let value = format!("{{\"name\":\"{}\"}}", "é".repeat(200));
        let body = format!("[{}]", vec![value; 1000].join(","));
        assert!(body.len() > 400_000);
        let kept = Kept {
            status: 200,
            content_type: Some("application/json".into()),
            location: None,
            etag: Some("\"7\"".into()),
            body,
            request_id: "req".into(),
        };
        let stored = deflated(&kept).unwrap();
        let AttributeValue::B(bytes) = &stored else {
            panic!("not binary: {stored:?}");
        };
        assert!(
            bytes.as_ref().len() < 50_000,
            "{} bytes",
            bytes.as_ref().len()
        );
        let item = Item::from([(KEPT.to_string(), stored)]);
        assert_eq!(inflated(&item).unwrap(), kept);
    }
}
