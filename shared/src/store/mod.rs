//! The DynamoDB side: the client, fault classification, transactions, and one module per
//! record kind with its calls and conditions.

pub mod access_requests;
pub mod assets;
pub mod attributes;
pub mod counter;
pub mod entitlements;
pub mod expr;
pub mod list;
pub mod rewrite;
pub mod sweep;
pub mod table;

use crate::config::Config;
use crate::error::ApiError;
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

/// One client per cold start, with explicit retries and timeouts so a sick store answers 503
/// well inside the Lambda timeout instead of hanging.
pub async fn client(config: &Config, counter: Option<RequestCounter>) -> Client {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(3))
                .operation_timeout(Duration::from_secs(8))
                .build(),
        );
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
    let mut builder = aws_sdk_dynamodb::config::Builder::from(&sdk);
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
/// (the client may retry), anything else → 500. The SDK's message goes to the log only.
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
            if TRANSIENT.contains(&code) || ctx.raw().status().is_server_error() {
                ApiError::Unavailable(format!("{operation}: {code} {}", ctx.raw().status()))
            } else {
                ApiError::Internal(format!("{operation}: {code} {:?}", ctx.err().message()))
            }
        }
        _ => ApiError::Internal(format!("{operation}: {err:?}")),
    }
}

/// Why one action of a cancelled transaction failed, in the transaction's order.
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
pub async fn transact(db: &Client, items: Vec<TransactWriteItem>) -> Result<(), TxError> {
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let result = db
            .transact_write_items()
            .set_transact_items(Some(items.clone()))
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
pub async fn read(state: &crate::state::State, key: Item) -> Result<Option<Item>, ApiError> {
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

/// `If-Match` against the revision read: a mismatch is 412.
pub fn check_revision(expected: Option<i64>, current: i64) -> Result<(), ApiError> {
    match expected {
        Some(rev) if rev != current => Err(ApiError::PreconditionFailed { current }),
        _ => Ok(()),
    }
}

/// `If-Match` after a write's plan was checked: a body that is invalid at any revision is a 400
/// before a stale revision is a 412 (validation is decided before state); any other outcome of
/// the plan (a 409, or the change) comes after the precondition.
pub fn precondition_after_validation<T>(
    planned: Result<T, ApiError>,
    expected: Option<i64>,
    current: i64,
) -> Result<T, ApiError> {
    match planned {
        Err(e @ (ApiError::Validation(_) | ApiError::BadRequest(_))) => Err(e),
        planned => {
            check_revision(expected, current)?;
            planned
        }
    }
}

/// A request that the SDK's builders refuse to build is a bug of ours, never the client's.
pub(crate) fn build_err(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(format!("build request: {e}"))
}

/// A record's item: its public fields plus its lower-cased search text for `q`.
pub fn searchable_item<T: serde::Serialize>(record: &T, search: String) -> Result<Item, ApiError> {
    let mut item = to_item(record)?;
    item.insert(SEARCH.into(), s(search));
    Ok(item)
}

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

/// A typed record from an item; extra attributes (keys, counters) are ignored.
pub fn from_item<T: serde::de::DeserializeOwned>(item: Item) -> Result<T, ApiError> {
    serde_dynamo::from_item(item).map_err(|e| ApiError::Internal(format!("decode item: {e}")))
}

pub fn to_item<T: serde::Serialize>(record: &T) -> Result<Item, ApiError> {
    serde_dynamo::to_item(record).map_err(|e| ApiError::Internal(format!("encode item: {e}")))
}
