//! The DynamoDB side: the client, fault classification, transactions, and one module per
//! record kind with its calls and conditions.
//!
//! Every transaction is built with `tx::Tx`, each action under its role, and its refusal is
//! read by role; `transact` below is the wire underneath (retries, the request token).

pub mod access_at;
pub mod access_requests;
pub mod assets;
pub mod attributes;
pub mod batch;
pub mod counter;
pub mod decisions;
mod encode;
pub mod entitlements;
pub mod expr;
pub mod history;
pub mod idempotency;
pub mod list;
pub mod rewrite;
pub mod sweep;
pub mod table;
pub mod trust;
pub mod tx;

use crate::config::Config;
use crate::envelope::{Envelope, IdGenerator, Record};
use crate::error::{ApiError, ApiResult};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;
use std::time::Duration;

pub use counter::RequestCounter;

pub type Item = HashMap<String, AttributeValue>;

/// What the store works with: the client and table, the ids of the records it creates, and
/// the key that signs its list cursors. Nothing else of the Lambda's state.
pub struct Store {
    pub db: Client,
    table: String,
    pub ids: IdGenerator,
    cursor_secret: Vec<u8>,
}

impl Store {
    pub fn new(db: Client, config: &Config) -> Store {
        Store {
            db,
            table: config.table_name.clone(),
            ids: IdGenerator::default(),
            cursor_secret: config.cursor_secret.clone(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// A query on one of the table's secondary indexes.
    pub(crate) fn query_index(
        &self,
        index: &str,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.db.query().table_name(self.table()).index_name(index)
    }

    pub(crate) fn cursor_secret(&self) -> &[u8] {
        &self.cursor_secret
    }

    /// A record of `fields` the caller creates now, with a fresh id of `prefix`, and the
    /// `created` event its transaction appends.
    pub(crate) fn new_record<F: serde::Serialize + crate::domain::history::Tracked>(
        &self,
        prefix: &str,
        caller: &crate::auth::Caller,
        (fields, provenance): crate::envelope::New<F>,
    ) -> ApiResult<(crate::envelope::Record<F>, crate::domain::history::Event)> {
        let id = self.ids.next(prefix);
        let actor = crate::envelope::Actor::from(caller);
        let now = crate::time::Timestamp::now();
        let mut record = crate::envelope::Record {
            envelope: crate::envelope::Envelope::new(id, &actor, provenance, now),
            fields,
        };
        let event = history::by(
            self,
            caller,
            crate::domain::history::Action::Created,
            None,
            &mut record,
        )?;
        Ok((record, event))
    }
}

/// A transaction action that puts `item` under a key that must be new.
pub(crate) fn put_new_action(item: Item, table: &str) -> Result<TransactWriteItem, ApiError> {
    let put = aws_sdk_dynamodb::types::Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(PK)")
        .build()
        .map_err(build_err)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// What a record does to a guard item it holds: rewrites it (the whole item) or releases it
/// (by key).
pub(crate) enum GuardChange {
    Put(Item),
    Delete(Item),
}

/// A guard is its record's while its `owner` attribute holds the record's id: every rewrite or
/// release of a guard is conditional on that, so one record never touches another's guard.
/// `Put` and `Delete` builders share no trait, hence a macro to write the condition once; it
/// builds the action (`?` on a builder error).
macro_rules! built_if_owned {
    ($builder:expr, $owner:expr, $id:expr) => {
        $builder
            .condition_expression(format!("{} = :id", $owner))
            .expression_attribute_values(":id", s($id))
            .build()
            .map_err(build_err)?
    };
}

/// A transaction action that applies `change` to a guard, conditional on its `owner`
/// attribute being `id`.
pub(crate) fn guard_action(
    change: GuardChange,
    owner: &str,
    id: &str,
    table: &str,
) -> Result<TransactWriteItem, ApiError> {
    use aws_sdk_dynamodb::types::{Delete, Put};
    let action = TransactWriteItem::builder();
    let action = match change {
        GuardChange::Put(item) => {
            let put = Put::builder().table_name(table).set_item(Some(item));
            action.put(built_if_owned!(put, owner, id))
        }
        GuardChange::Delete(key) => {
            let delete = Delete::builder().table_name(table).set_key(Some(key));
            action.delete(built_if_owned!(delete, owner, id))
        }
    };
    Ok(action.build())
}

/// The client's timeouts and retries. `default()` is production's; fault tests shorten them
/// through `client_with` so a delayed answer costs them milliseconds, not seconds.
#[derive(Debug, Clone, Copy)]
pub struct ClientOptions {
    pub connect_timeout: Duration,
    /// One attempt (one HTTP exchange); the SDK retries after it.
    pub attempt_timeout: Duration,
    /// All attempts of one call together.
    pub operation_timeout: Duration,
    pub max_attempts: u32,
    /// The SDK's first retry backoff (jittered, doubling).
    pub initial_backoff: Duration,
}

impl Default for ClientOptions {
    /// Well inside the API functions' 10 s Lambda timeout: a sick store answers 503, never hangs.
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(2),
            attempt_timeout: Duration::from_secs(3),
            operation_timeout: Duration::from_secs(8),
            max_attempts: 3,
            initial_backoff: Duration::from_secs(1),
        }
    }
}

/// One client per cold start, with explicit retries and timeouts.
pub async fn client(config: &Config, counter: Option<RequestCounter>) -> Client {
    client_with(config, counter, ClientOptions::default()).await
}

pub async fn client_with(
    config: &Config,
    counter: Option<RequestCounter>,
    options: ClientOptions,
) -> Client {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(options.max_attempts)
                .with_initial_backoff(options.initial_backoff),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(options.connect_timeout)
                .operation_attempt_timeout(options.attempt_timeout)
                .operation_timeout(options.operation_timeout)
                .build(),
        );
    if let Some(http) = trust::http_client(config.dynamodb_trust) {
        loader = loader.http_client(http);
    }
    if let Some(endpoint) = &config.dynamodb_endpoint {
        // Local: static credentials and a fixed region, so the SDK never probes instance metadata.
        let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
        loader = loader
            .endpoint_url(endpoint)
            .region(Region::new(region))
            .credentials_provider(aws_credential_types::Credentials::new(
                "local", "local", None, None, "static",
            ));
    }
    let sdk = loader.load().await;
    // Every request's DynamoDB usage, for its metrics line (`metrics.rs`).
    let mut builder =
        aws_sdk_dynamodb::config::Builder::from(&sdk).interceptor(crate::metrics::DynamoUsage);
    if let Some(counter) = counter {
        builder = builder.interceptor(counter);
    }
    Client::from_conf(builder.build())
}

/// Error codes that mean "busy or briefly broken, try again" (DynamoDB's and the SDK's own
/// throttling and transient lists).
const TRANSIENT: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "LimitExceededException",
    "InternalServerError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "RequestTimeout",
    "RequestTimeoutException",
    "TransactionInProgressException",
    "TransactionConflictException",
];

/// A store error that no condition explains: unreachable, throttled, timed out or a 5xx → 503
/// (the client may retry); an item over DynamoDB's size limit → 400 (the client's record is too
/// large; nothing was written); anything else → 500. The SDK's message goes to the log only.
/// `IdempotentParameterMismatchException` lands in the 500s: `transact` never reuses a token
/// for other items, so it can only be a bug of ours.
pub fn fault<E>(
    operation: &str,
    err: SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> ApiError
where
    E: ProvideErrorMetadata + std::fmt::Debug,
{
    match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            ApiError::Unavailable(format!("{operation}: {err:?}"))
        }
        SdkError::ServiceError(ctx) => {
            let code = ctx.err().code().unwrap_or("");
            if code == "ValidationException" && is_item_too_large(ctx.err().message()) {
                return ApiError::RecordTooLarge(format!("{operation}: {code}"));
            }
            if TRANSIENT.contains(&code) || ctx.raw().status().is_server_error() {
                ApiError::Unavailable(format!("{operation}: {code} {}", ctx.raw().status()))
            } else {
                ApiError::Internal(format!("{operation}: {code} {:?}", ctx.err().message()))
            }
        }
        _ => ApiError::Internal(format!("{operation}: {err:?}")),
    }
}

/// DynamoDB's words for an item over its 400 KB limit: "Item size has exceeded the maximum
/// allowed size" (a put) and "Item size to update has exceeded the maximum allowed size" (an
/// update), as a `ValidationException` or a transaction's `ValidationError` reason. Other
/// validation errors are bugs of ours and stay 500s.
fn is_item_too_large(message: Option<&str>) -> bool {
    message.is_some_and(|m| {
        m.starts_with("Item size") && m.contains("exceeded the maximum allowed size")
    })
}

/// Why one action of a cancelled transaction failed, in the transaction's order (`tx::Refusal`
/// pairs each with its role).
#[derive(Debug, Clone)]
pub struct CancelReason {
    pub code: Option<String>,
    /// The item as it was, for actions sent with `ReturnValuesOnConditionCheckFailure::AllOld`.
    pub item: Option<Item>,
}

impl CancelReason {
    pub fn condition_failed(&self) -> bool {
        self.code.as_deref() == Some("ConditionalCheckFailed")
    }
}

#[derive(Debug)]
pub enum TxError {
    /// A condition failed: the reasons say which.
    Cancelled(Vec<CancelReason>),
    Fault(ApiError),
}

impl From<TxError> for ApiError {
    fn from(e: TxError) -> Self {
        match e {
            TxError::Fault(e) => e,
            TxError::Cancelled(reasons) => {
                ApiError::Internal(format!("unexpected transaction cancellation: {reasons:?}"))
            }
        }
    }
}

/// `TransactWriteItems`, retrying transaction conflicts (two transactions on one item, e.g. an
/// asset's live count) a few times with jitter. Conditions that fail are returned, not retried.
///
/// One call is one logical write with one `ClientRequestToken`, sent on every attempt (the SDK's
/// retries of a timeout or a dropped connection, and ours of a conflict): when an attempt
/// committed but its answer was lost, DynamoDB answers the repeat as the success it was instead
/// of failing its conditions against our own write (a 409 for a write that happened). A caller
/// that re-reads and builds a new write calls again and gets a new token.
pub async fn transact(db: &Client, items: Vec<TransactWriteItem>) -> Result<(), TxError> {
    let token = request_token();
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let result = db
            .transact_write_items()
            .set_transact_items(Some(items.clone()))
            .client_request_token(&token)
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(()),
            Err(err) => err,
        };
        if let SdkError::ServiceError(ctx) = &err {
            if let TransactWriteItemsError::TransactionCanceledException(e) = ctx.err() {
                let reasons: Vec<CancelReason> = e
                    .cancellation_reasons()
                    .iter()
                    .map(|r| CancelReason {
                        code: r.code().map(str::to_string),
                        item: r.item().cloned(),
                    })
                    .collect();
                if e.cancellation_reasons()
                    .iter()
                    .any(|r| r.code() == Some("ValidationError") && is_item_too_large(r.message()))
                {
                    return Err(TxError::Fault(ApiError::RecordTooLarge(
                        "TransactWriteItems: ValidationError".into(),
                    )));
                }
                let conflict = reasons
                    .iter()
                    .any(|r| r.code.as_deref() == Some("TransactionConflict"));
                let condition = reasons.iter().any(CancelReason::condition_failed);
                if conflict && !condition && attempt < TRANSACTION_ATTEMPTS {
                    backoff(attempt).await;
                    continue;
                }
                if condition {
                    return Err(TxError::Cancelled(reasons));
                }
                if conflict {
                    return Err(TxError::Fault(ApiError::Unavailable(
                        "transaction conflicts persisted".into(),
                    )));
                }
                let throttled = reasons.iter().any(|r| {
                    matches!(
                        r.code.as_deref(),
                        Some("ThrottlingError") | Some("ProvisionedThroughputExceeded")
                    )
                });
                if throttled {
                    return Err(TxError::Fault(ApiError::Unavailable(
                        "transaction throttled".into(),
                    )));
                }
                return Err(TxError::Cancelled(reasons));
            }
        }
        return Err(TxError::Fault(fault("TransactWriteItems", err)));
    }
}

/// A fresh `ClientRequestToken` (a ULID: 26 characters, DynamoDB allows 36), unique per logical
/// write; DynamoDB remembers it for 10 minutes, far longer than any of our retries take.
fn request_token() -> String {
    ulid::Ulid::generate().to_string()
}

/// Attempts of a transaction that keeps meeting conflicts (a hot asset's live count) before
/// answering 503; with the backoff below they span about a second.
const TRANSACTION_ATTEMPTS: u32 = 8;

/// Exponential backoff with jitter (10 ms doubling, capped at 200 ms): retries of conflicts
/// and throttling spread out instead of colliding again.
pub(crate) async fn backoff(attempt: u32) {
    let ceiling = (10u64 << attempt.min(5)).min(200);
    let delay = rand::random_range(ceiling / 2..=ceiling);
    tokio::time::sleep(Duration::from_millis(delay)).await;
}

/// The attribute that holds a record's lower-cased search text (`q`).
pub const SEARCH: &str = "search";
/// How often a write without `If-Match` re-reads after losing an optimistic-locking race.
pub const WRITE_ATTEMPTS: usize = 3;

/// An optimistic-lock write, attempt by attempt: `Ok(Some(_))` is done, `Ok(None)` lost a race
/// (the next attempt reads again; a stale `If-Match` then answers 412). After `WRITE_ATTEMPTS`
/// losses the record, named `what`, is contended (409). Each attempt is a fresh future over
/// borrowed arguments, so callers lend owned ones first (`let body = &body;`).
pub(crate) async fn retrying<T, F, Fut>(what: &'static str, attempt: F) -> Result<T, ApiError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, ApiError>>,
{
    for _ in 0..WRITE_ATTEMPTS {
        // Boxed: an attempt (reads, plan, transaction) is a large future in a debug build.
        if let Some(done) = Box::pin(attempt()).await? {
            return Ok(done);
        }
    }
    Err(crate::domain::error::DomainError::Contended(what).into())
}

/// The primary key of a record: its tenant's partition of `kind`, and `sk`.
pub fn key(tenant: &str, kind: crate::keys::Kind, sk: &str) -> Item {
    Item::from([
        (
            crate::keys::PK.to_string(),
            s(crate::keys::pk(tenant, kind)),
        ),
        (crate::keys::SK.to_string(), s(sk)),
    ])
}

/// One item by key, strongly consistent (a read right after a write sees it).
pub async fn read(state: &Store, key: Item) -> Result<Option<Item>, ApiError> {
    let out = state
        .db
        .get_item()
        .table_name(state.table())
        .set_key(Some(key))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| fault("GetItem", e))?;
    Ok(out.item)
}

/// A PATCH of `current`'s fields as `planned` (400 before 412: `Target::check_after`): the record with the
/// new fields, stamped as the caller's write.
pub(crate) fn patched<F: serde::Serialize>(
    current: &crate::envelope::Record<F>,
    planned: Result<(F, crate::envelope::Provenance), ApiError>,
    target: &crate::http::Target,
    caller: &crate::auth::Caller,
    now: crate::time::Timestamp,
) -> Result<crate::envelope::Record<F>, ApiError> {
    // A record too large for its history event is bad input, decided before the revision.
    let planned = planned.and_then(|(fields, provenance)| {
        let next = current.revised(fields, &caller.sub, provenance, now);
        crate::domain::history::ensure_fits(&crate::domain::history::record_json(&next)?)?;
        Ok(next)
    });
    target.check_after(planned, current.envelope.revision)
}

/// A request that the SDK's builders refuse to build is a bug of ours, never the client's.
pub(crate) fn build_err(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(format!("build request: {e}"))
}

/// A record's item: its public fields, its lower-cased search text for `q`, and the hash of its
/// last history event (which its JSON never shows).
pub fn searchable_item<F>(record: &crate::envelope::Record<F>) -> Result<Item, ApiError>
where
    F: serde::Serialize + crate::domain::Searchable,
{
    let mut item = to_item(record)?;
    item.insert(SEARCH.into(), s(record.search_text()));
    if let Some(head) = &record.envelope.head {
        item.insert(HISTORY_HEAD.into(), s(head));
    }
    Ok(item)
}

/// The item attribute of `Envelope::head`.
pub const HISTORY_HEAD: &str = "history_head";

/// Item attribute helpers.
pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub fn get_n(item: &Item, name: &str) -> Option<i64> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

pub fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v.as_str()),
        _ => None,
    }
}

/// A typed record from an item; extra attributes (keys, counters) are ignored. An item that does
/// not decode is a 500 whose log names its key, so the bad item can be found and repaired.
pub fn from_item<T: FromItem>(mut item: Item) -> Result<T, ApiError> {
    // The key is set aside (no record reads it), and named only if the item does not decode.
    let pk = item.remove(crate::keys::PK);
    let sk = item.remove(crate::keys::SK);
    T::from_item(item).map_err(|e| {
        let part = |v: &Option<AttributeValue>| match v {
            Some(AttributeValue::S(v)) => v.clone(),
            _ => "?".to_string(),
        };
        ApiError::Internal(format!("decode item {}/{}: {e}", part(&pk), part(&sk)))
    })
}

/// What an item decodes into. A [`Record`] splits its item in two, the envelope's attributes
/// and the rest, and decodes each part straight into its struct: the derived `Deserialize` of
/// its two `#[serde(flatten)]` members would copy every attribute into a buffer and search it
/// once per field, a third of a get's decoding. Both read the same attributes the same way
/// (the envelope takes its own, the fields see the others), as a test checks.
pub trait FromItem: Sized {
    fn from_item(item: Item) -> Result<Self, serde_dynamo::Error>;
}

impl<F: serde::de::DeserializeOwned> FromItem for Record<F> {
    fn from_item(mut item: Item) -> Result<Self, serde_dynamo::Error> {
        use serde::de::value::MapDeserializer;
        use serde::Deserialize;
        // The envelope's attributes are taken out of the item as they are decoded, and the
        // fields decode from what is left: no second collection of either half.
        let envelope = Envelope::deserialize(MapDeserializer::new(
            item.extract_if(|name, _| Envelope::reads(name))
                .map(|(name, value)| (name, Attr(value))),
        ))?;
        let fields = F::deserialize(MapDeserializer::new(
            item.into_iter().map(|(name, value)| (name, Attr(value))),
        ))?;
        Ok(Record { envelope, fields })
    }
}

/// One attribute of an item as a record's two halves read it: `serde_dynamo` decodes it, and
/// the item itself is never rebuilt as a second map.
struct Attr(AttributeValue);

impl<'de> serde::de::IntoDeserializer<'de, serde_dynamo::Error> for Attr {
    type Deserializer = serde_dynamo::Deserializer;

    fn into_deserializer(self) -> Self::Deserializer {
        serde_dynamo::Deserializer::from_attribute_value(self.0.into())
    }
}

/// Items of one flat struct decode with its derived `Deserialize`.
macro_rules! flat_items {
    ($($t:ty),*) => {$(
        impl FromItem for $t {
            fn from_item(item: Item) -> Result<Self, serde_dynamo::Error> {
                serde_dynamo::from_item(item)
            }
        }
    )*};
}
flat_items!(
    crate::domain::decision::LiveGrant,
    crate::domain::decision::AssetState
);

/// An item's table key as `PK/SK`, for logs.
pub fn item_key(item: &Item) -> String {
    format!(
        "{}/{}",
        get_s(item, crate::keys::PK).unwrap_or("?"),
        get_s(item, crate::keys::SK).unwrap_or("?")
    )
}

pub fn to_item<T: serde::Serialize>(record: &T) -> Result<Item, ApiError> {
    encode::to_item(record).map_err(|e| ApiError::Internal(format!("encode item: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::asset::Asset;
    use serde_json::json;

    fn item(value: serde_json::Value) -> Item {
        serde_dynamo::to_item(value).unwrap()
    }

    #[test]
    fn the_envelope_reads_every_envelope_field_and_nothing_else() {
        let envelope = json!({
            "id": "ast_1", "tenant_id": "t", "app_id": "a",
            "created_at": "2026-01-01T00:00:00.000Z", "updated_at": "2026-01-01T00:00:00.000Z",
            "created_by": "u", "updated_by": "u", "source": "edm", "source_type": "api",
            "is_deleted": true, "deleted_at": "2026-01-01T00:00:00.000Z", "deleted_by": "u",
            "schema_version": 1, "revision": 2, "history_head": "h",
        });
        let decoded: Envelope = serde_dynamo::from_item(item(envelope.clone())).unwrap();
        let written: Vec<String> = serde_dynamo::to_item::<_, Item>(&decoded)
            .unwrap()
            .into_keys()
            .chain([HISTORY_HEAD.to_string()])
            .collect();
        assert_eq!(written.len(), 15);
        assert!(
            written.iter().all(|name| Envelope::reads(name)),
            "{written:?}"
        );
        for field in ["name", "type", "status", "owner", "PK", "SK"] {
            assert!(!Envelope::reads(field), "{field}");
        }
        assert_eq!(decoded.head.as_deref(), Some("h"));
    }

    #[test]
    fn a_record_decodes_as_its_derived_deserialize_reads_it() {
        let stored = json!({
            "PK": "TENANT#t", "SK": "ASSET#ast_1", "GSI1PK": "x", "search": "ledger",
            "id": "ast_1", "tenant_id": "t", "app_id": null,
            "created_at": "2026-01-01T00:00:00.000Z", "updated_at": "2026-01-02T00:00:00.000Z",
            "created_by": "u1", "updated_by": "u2", "source": "edm", "source_type": "api",
            "is_deleted": false, "deleted_at": null, "deleted_by": null,
            "schema_version": 1, "revision": 3, "history_head": "abc",
            "name": "ledger", "type": "saas", "status": "active", "tags": ["a", "b"],
            "owner": {"person_id": "p1", "group_id": null}, "criticality": "high",
        });
        let derived: Asset = serde_dynamo::from_item(item(stored.clone())).unwrap();
        let split: Asset = from_item(item(stored)).unwrap();
        assert_eq!(split, derived);
        assert_eq!(split.envelope.revision, 3);
        assert_eq!(split.fields.name, "ledger");
        let broken = item(json!({"PK": "TENANT#t", "SK": "ASSET#ast_1", "name": "ledger"}));
        match from_item::<Asset>(broken) {
            Err(ApiError::Internal(why)) => {
                assert!(
                    why.starts_with("decode item TENANT#t/ASSET#ast_1: "),
                    "{why}"
                )
            }
            other => panic!("{other:?}"),
        }
        match from_item::<Asset>(item(json!({"id": "ast_1"}))) {
            Err(ApiError::Internal(why)) => assert!(why.starts_with("decode item ?/?: "), "{why}"),
            other => panic!("{other:?}"),
        }
    }
}
