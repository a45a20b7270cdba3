//! DynamoDB faults injected with `aws-smithy-mocks`: how `store::fault` and `store::transact`
//! classify SDK errors, and what a client finally sees (status, `retry-after`, a problem body that
//! says nothing about DynamoDB). No real store and no network: every response is a mock.
//!
//! Errors are built the way the SDK's deserializer builds them, with an `ErrorMetadata` carrying
//! the wire code: `fault` (and the SDK's own retry classifier) read `code()`, which a bare
//! `Exception::builder().build()` leaves empty. One test feeds a raw wire response instead, to
//! prove the deserializer fills the code in.

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::error::{ConnectorError, ErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::get_item::{GetItemError, GetItemOutput};
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsError, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::types::error::{
    InternalServerError, ProvisionedThroughputExceededException, RequestLimitExceeded,
    ResourceNotFoundException, ThrottlingException, TransactionCanceledException,
};
use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use shared::auth::{mint_hs256, Caller, Scope, TokenSpec};
use shared::config::{AuthConfig, Config, DEV_AUDIENCE, DEV_HS256_SECRET, DEV_ISSUER};
use shared::error::ApiError;
use shared::state::State;
use shared::store::{self, TxError};
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

/// A table name that must never reach a response body.
const TABLE: &str = "faults-secret-table";
/// An SDK message that must never reach a response body.
const SDK_MESSAGE: &str =
    "The level of configured provisioned throughput for the table was exceeded";
const NOT_FOUND_MESSAGE: &str =
    "Requested resource not found: Table: faults-secret-table not found";
/// A well-formed asset id (ULID), so `assets::get` goes as far as its GetItem.
const ASSET_ID: &str = "ast_01HZZZZZZZZZZZZZZZZZZZZZZZ";
/// Bounds on the TransactWriteItems calls `store::transact` makes before giving up on
/// conflicts. Its own count is private (and being tuned), so the test pins the contract only:
/// it retries, and it stops well inside a Lambda's time.
const MIN_TRANSACT_ATTEMPTS: usize = 3;
const MAX_TRANSACT_ATTEMPTS: usize = 10;
const MAX_TRANSACT_TIME: Duration = Duration::from_secs(3);
/// Words of the store that a client must never read in a problem document.
const INTERNAL_WORDS: &[&str] = &[
    "dynamo",
    "getitem",
    "transactwriteitems",
    "provisionedthroughput",
    "throttl",
    "resourcenotfound",
    "transactionconflict",
    "conditionalcheck",
    "exception",
    TABLE,
];

// ---------------------------------------------------------------------------------------------
// Clients, state, requests

/// Which retry policy the mocked client runs with. Both are explicit: the SDK's own retries run
/// *before* `fault`/`transact` see an error, so they change how many calls a rule answers.
#[derive(Clone, Copy)]
enum Retries {
    /// One attempt per call: what `fault`/`transact` do with the first error.
    Disabled,
    /// Production's policy (`store::client`: standard, 3 attempts) with a 1 ms initial backoff so
    /// the test does not sleep for real.
    LikeProduction,
}

fn mocked(retries: Retries, mode: RuleMode, rules: &[&Rule]) -> Client {
    mock_client!(aws_sdk_dynamodb, mode, rules, move |builder| {
        let retry = match retries {
            Retries::Disabled => RetryConfig::disabled(),
            Retries::LikeProduction => RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(1)),
        };
        builder.retry_config(retry).timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(3))
                .operation_timeout(Duration::from_secs(8))
                .build(),
        )
    })
}

fn config() -> Config {
    Config {
        table_name: TABLE.into(),
        dynamodb_endpoint: None,
        dynamodb_trust: shared::config::TrustStore::Amazon,
        auth: AuthConfig::development(),
        cursor_secret: b"0123456789abcdef0123456789abcdef".to_vec(),
        public_base_url: None,
    }
}

fn state(client: Client) -> State {
    State::with_client(config(), client).expect("state")
}

fn caller() -> Caller {
    Caller {
        tenant_id: "tenant-faults".into(),
        sub: "user-1".into(),
        app_id: None,
        scopes: BTreeSet::from([Scope::TechnologyRead.as_str().to_string()]),
        groups: Vec::new(),
        request_id: "req-faults".into(),
    }
}

/// GET /api/v1/technology/{id} as API Gateway (HTTP API, v2) would hand it to the Lambda.
fn get_request(id: &str, request_id: &str) -> Request {
    let token = mint_hs256(
        DEV_HS256_SECRET,
        DEV_ISSUER,
        DEV_AUDIENCE,
        &TokenSpec {
            sub: "user-1".into(),
            tenant_id: "tenant-faults".into(),
            app_id: None,
            scopes: vec![Scope::TechnologyRead.as_str().into()],
            ttl_seconds: 300,
        },
    )
    .expect("token");
    let mut ctx = lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext::default();
    ctx.request_id = Some(request_id.into());
    let path = format!("/api/v1/technology/{id}");
    http::Request::builder()
        .method("GET")
        .uri(path.as_str())
        .header("authorization", format!("Bearer {token}"))
        .body(Body::Empty)
        .expect("request")
        .with_path_parameters(HashMap::from([("id".to_string(), id.to_string())]))
        .with_request_context(RequestContext::ApiGatewayV2(ctx))
}

/// The technology-get handler's shape (functions/src/technology/get.rs): authenticate, one store
/// read, respond; every error through the one problem mapping of `http::serve`.
async fn technology_get(state: &State, req: Request) -> Response<Body> {
    shared::http::serve("technology-get", req, |req| async move {
        let caller = state.caller(&req).await?;
        caller.require(Scope::TechnologyRead)?;
        let id = shared::http::path_param(&req, "id")?;
        let found = store::assets::get(state, &caller, &id, false).await?;
        shared::http::ok_record(&found, found.envelope.revision)
    })
    .await
}

/// The opaque 503 with `Retry-After: 1`, answering `request_id`.
fn assert_503_retry_after(resp: &Response<Body>, request_id: &str) {
    assert_opaque_problem(resp, 503, "service-unavailable", UNAVAILABLE_DETAIL);
    assert_eq!(header(resp, "retry-after"), Some("1"));
    assert_eq!(header(resp, "x-request-id"), Some(request_id));
}

/// A GetItem rule failing with `error` on every call.
fn always_failing_get(error: fn() -> GetItemError) -> Rule {
    mock!(Client::get_item)
        .sequence()
        .error(error)
        .repeatedly()
        .build()
}

/// `assets::get` through a client retrying like production, with `rule` answering GetItem,
/// asserting the SDK made `attempts` calls (`why`): the error it must end in.
async fn get_with_production_retries(rule: &Rule, attempts: usize, why: &str) -> ApiError {
    let state = state(mocked(
        Retries::LikeProduction,
        RuleMode::Sequential,
        &[rule],
    ));
    let err = store::assets::get(&state, &caller(), ASSET_ID, false)
        .await
        .expect_err(why);
    assert_eq!(rule.num_calls(), attempts, "{why}");
    err
}

/// `get_with_production_retries` against a GetItem that fails with `error` on every call.
async fn get_always_failing(error: fn() -> GetItemError, attempts: usize, why: &str) -> ApiError {
    get_with_production_retries(&always_failing_get(error), attempts, why).await
}

/// One transaction against `rule`, retrying like production, asserting a single call that ends
/// in a cancellation whose reasons carry `codes`: the reasons.
async fn cancelled_once(rule: &Rule, codes: &[Option<&str>]) -> Vec<store::CancelReason> {
    let result = transact_once_rule(rule, Retries::LikeProduction).await;
    assert_eq!(rule.num_calls(), 1);
    let Err(TxError::Cancelled(reasons)) = result else {
        panic!("expected Cancelled, got {result:?}");
    };
    let got: Vec<Option<&str>> = reasons.iter().map(|r| r.code.as_deref()).collect();
    assert_eq!(got, codes);
    reasons
}

/// The technology handler's GET with `rule` answering GetItem once, no retries.
async fn handler_get_once(rule: &Rule, request_id: &str) -> Response<Body> {
    let state = state(mocked(Retries::Disabled, RuleMode::Sequential, &[rule]));
    let resp = technology_get(&state, get_request(ASSET_ID, request_id)).await;
    assert_eq!(rule.num_calls(), 1);
    resp
}

/// `store::transact` of some items with `rule` answering TransactWriteItems.
async fn transact_once_rule(rule: &Rule, retries: Retries) -> Result<(), TxError> {
    let client = mocked(retries, RuleMode::Sequential, &[rule]);
    store::transact(&client, some_items()).await
}

/// A 400 from DynamoDB with `body`, for the real deserializer.
fn answer_400(body: impl Into<SdkBody>) -> HttpResponse {
    HttpResponse::new(StatusCode::try_from(400).unwrap(), body.into())
}

fn body_text(resp: &Response<Body>) -> String {
    match resp.body() {
        Body::Text(t) => t.clone(),
        Body::Binary(b) => String::from_utf8(b.clone()).expect("utf-8 body"),
        _ => String::new(),
    }
}

fn header<'a>(resp: &'a Response<Body>, name: &str) -> Option<&'a str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The body is a problem document of `status` and mentions nothing of the store.
fn assert_opaque_problem(resp: &Response<Body>, status: u16, slug: &str, detail: &str) {
    assert_eq!(resp.status().as_u16(), status);
    assert_eq!(
        header(resp, "content-type"),
        Some("application/problem+json")
    );
    let text = body_text(resp);
    let doc: serde_json::Value = serde_json::from_str(&text).expect("problem JSON");
    assert_eq!(doc["status"], status);
    assert_eq!(doc["type"], format!("/problems/{slug}"));
    assert_eq!(doc["detail"], detail);
    let lower = text.to_lowercase();
    for word in INTERNAL_WORDS {
        assert!(
            !lower.contains(&word.to_lowercase()),
            "problem body leaks {word:?}: {text}"
        );
    }
    assert!(!text.contains(SDK_MESSAGE), "SDK message leaked: {text}");
    assert!(
        !text.contains(NOT_FOUND_MESSAGE),
        "SDK message leaked: {text}"
    );
}

const UNAVAILABLE_DETAIL: &str = "the data store is temporarily unavailable; retry later";
const INTERNAL_DETAIL: &str = "an unexpected error occurred";

// ---------------------------------------------------------------------------------------------
// Errors as the SDK deserializes them

fn meta(code: &str, message: &str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).message(message).build()
}

/// The GetItem error `$kind` (variant and type share the name) with `$message`, coded as the
/// SDK's deserializer codes it.
macro_rules! get_item_error {
    ($kind:ident, $message:expr) => {
        GetItemError::$kind(
            $kind::builder()
                .message($message)
                .meta(meta(stringify!($kind), $message))
                .build(),
        )
    };
}

fn throughput_exceeded() -> GetItemError {
    get_item_error!(ProvisionedThroughputExceededException, SDK_MESSAGE)
}

fn resource_not_found() -> GetItemError {
    get_item_error!(ResourceNotFoundException, NOT_FOUND_MESSAGE)
}

fn reason(code: &str) -> CancellationReason {
    CancellationReason::builder()
        .code(code)
        .message(format!("{code} (SDK text)"))
        .build()
}

fn cancelled(reasons: Vec<CancellationReason>) -> TransactWriteItemsError {
    let codes: Vec<&str> = reasons.iter().filter_map(|r| r.code()).collect();
    let message = format!(
        "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
        codes.join(", ")
    );
    TransactWriteItemsError::TransactionCanceledException(
        TransactionCanceledException::builder()
            .message(&message)
            .set_cancellation_reasons(Some(reasons))
            .meta(meta("TransactionCanceledException", &message))
            .build(),
    )
}

fn conflict_on_second() -> TransactWriteItemsError {
    cancelled(vec![reason("None"), reason("TransactionConflict")])
}

fn some_items() -> Vec<TransactWriteItem> {
    let put = Put::builder()
        .table_name(TABLE)
        .item("PK", AttributeValue::S("T#t#AST".into()))
        .item("SK", AttributeValue::S(ASSET_ID.into()))
        .condition_expression("attribute_not_exists(PK)")
        .build()
        .expect("put");
    vec![
        TransactWriteItem::builder().put(put.clone()).build(),
        TransactWriteItem::builder().put(put).build(),
    ]
}

// ---------------------------------------------------------------------------------------------
// fault(): the SdkError kinds that never reach a service answer

#[test]
fn fault_maps_a_timeout_to_unavailable() {
    let err = SdkError::<GetItemError, HttpResponse>::timeout_error("operation timed out");
    assert!(matches!(
        store::fault("GetItem", err),
        ApiError::Unavailable(_)
    ));
}

#[test]
fn fault_maps_dispatch_failures_to_unavailable() {
    for connector in [
        ConnectorError::timeout("connect timed out".into()),
        ConnectorError::io("connection reset".into()),
        ConnectorError::other("dns failure".into(), None),
    ] {
        let err = SdkError::<GetItemError, HttpResponse>::dispatch_failure(connector);
        assert!(matches!(
            store::fault("GetItem", err),
            ApiError::Unavailable(_)
        ));
    }
}

/// A response cut off or garbled in transit is a passing fault: the client may retry.
#[test]
fn fault_maps_an_unreadable_response_to_unavailable() {
    let raw = HttpResponse::new(StatusCode::try_from(200).unwrap(), SdkBody::from("{"));
    let err = SdkError::<GetItemError, HttpResponse>::response_error("bad JSON", raw);
    assert!(matches!(
        store::fault("GetItem", err),
        ApiError::Unavailable(_)
    ));
}

// ---------------------------------------------------------------------------------------------
// fault() on service errors, through a mocked client

/// A GetItem through a client with `rule` and no retries: the error it must end in.
async fn get_item_error(rule: &Rule, why: &str) -> SdkError<GetItemError, HttpResponse> {
    let client = mocked(Retries::Disabled, RuleMode::Sequential, &[rule]);
    client
        .get_item()
        .table_name(TABLE)
        .key("PK", AttributeValue::S("k".into()))
        .send()
        .await
        .expect_err(why)
}

async fn get_item_fault(error: fn() -> GetItemError) -> ApiError {
    let rule = mock!(Client::get_item).then_error(error);
    let err = get_item_error(&rule, "mocked error").await;
    assert_eq!(rule.num_calls(), 1);
    store::fault("GetItem", err)
}

/// A wire code and the GetItem error that carries it.
type ErrorCase = (&'static str, fn() -> GetItemError);

#[tokio::test]
async fn throttling_and_transient_service_codes_are_unavailable() {
    let cases: [ErrorCase; 4] = [
        (
            "ProvisionedThroughputExceededException",
            throughput_exceeded,
        ),
        ("ThrottlingException", || {
            GetItemError::ThrottlingException(
                ThrottlingException::builder()
                    .message("Rate of requests exceeds the allowed throughput.")
                    .meta(meta("ThrottlingException", "Rate of requests exceeds"))
                    .build(),
            )
        }),
        ("RequestLimitExceeded", || {
            GetItemError::RequestLimitExceeded(
                RequestLimitExceeded::builder()
                    .message("Throughput exceeds the current account limit")
                    .meta(meta("RequestLimitExceeded", "Throughput exceeds"))
                    .build(),
            )
        }),
        ("InternalServerError", || {
            GetItemError::InternalServerError(
                InternalServerError::builder()
                    .message("Internal server error")
                    .meta(meta("InternalServerError", "Internal server error"))
                    .build(),
            )
        }),
    ];
    for (code, error) in cases {
        let fault = get_item_fault(error).await;
        assert!(
            matches!(fault, ApiError::Unavailable(_)),
            "{code} → {fault:?}"
        );
        assert_eq!(fault.status(), 503, "{code}");
    }
}

#[tokio::test]
async fn an_unexpected_service_code_is_internal() {
    let fault = get_item_fault(resource_not_found).await;
    assert!(matches!(fault, ApiError::Internal(_)), "{fault:?}");
    // The log text keeps the code, for the operator; the body will not (checked below).
    assert!(fault.to_string().contains("ResourceNotFoundException"));
}

#[tokio::test]
async fn a_throttling_answer_on_the_wire_is_decoded_and_unavailable() {
    // The real deserializer path: DynamoDB's JSON error body, namespace prefix and all.
    let rule = mock!(Client::get_item).then_http_response(|| {
        answer_400(format!(
                r#"{{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"{SDK_MESSAGE}"}}"#
            ))
    });
    let err = get_item_error(&rule, "throttled").await;
    assert!(matches!(
        err.as_service_error(),
        Some(GetItemError::ProvisionedThroughputExceededException(_))
    ));
    let fault = store::fault("GetItem", err);
    assert!(matches!(fault, ApiError::Unavailable(_)), "{fault:?}");
}

/// A `ValidationException` as DynamoDB sends it on the wire, through the real deserializer.
async fn put_validation_fault(message: &'static str) -> ApiError {
    let rule = mock!(Client::put_item).then_http_response(move || {
        answer_400(format!(
            r#"{{"__type":"com.amazon.coral.validate#ValidationException","message":"{message}"}}"#
        ))
    });
    let client = mocked(Retries::Disabled, RuleMode::Sequential, &[&rule]);
    let err = client
        .put_item()
        .table_name(TABLE)
        .item("PK", AttributeValue::S("k".into()))
        .send()
        .await
        .expect_err("validation");
    store::fault("PutItem", err)
}

#[tokio::test]
async fn only_the_item_size_validation_exception_is_a_400_record_too_large() {
    for message in [
        "Item size has exceeded the maximum allowed size",
        "Item size to update has exceeded the maximum allowed size",
    ] {
        let fault = put_validation_fault(message).await;
        assert!(
            matches!(fault, ApiError::RecordTooLarge(_)),
            "{message}: {fault:?}"
        );
        let resp = fault.into_response("req-too-large");
        assert_opaque_problem(
            &resp,
            400,
            "record-too-large",
            "the record this write would store is too large; nothing was changed",
        );
    }
    // Any other validation error is a request we built wrong: ours, a 500.
    let fault = put_validation_fault("One or more parameter values were invalid").await;
    assert!(matches!(fault, ApiError::Internal(_)), "{fault:?}");
}

// ---------------------------------------------------------------------------------------------
// What the client sees: assets::get and a handler, with GetItem failing

#[tokio::test]
async fn throttled_get_is_retried_by_the_sdk_then_answers_503_with_retry_after() {
    let err =
        get_always_failing(throughput_exceeded, 3, "the SDK retries throttling 3 times").await;
    assert!(matches!(err, ApiError::Unavailable(_)), "{err:?}");

    let resp = err.into_response("req-retried");
    assert_503_retry_after(&resp, "req-retried");
}

#[tokio::test]
async fn throttled_get_through_the_handler_answers_503_with_retry_after() {
    let rule = mock!(Client::get_item).then_error(throughput_exceeded);
    let resp = handler_get_once(&rule, "req-handler-503").await;
    assert_503_retry_after(&resp, "req-handler-503");
    let doc: serde_json::Value = serde_json::from_str(&body_text(&resp)).unwrap();
    assert_eq!(doc["request_id"], "req-handler-503");
}

#[tokio::test]
async fn unexpected_get_error_answers_500_saying_nothing_internal() {
    // Production retries: a non-transient code is not retried.
    let err = get_always_failing(resource_not_found, 1, "ResourceNotFound is not retried").await;
    assert!(matches!(err, ApiError::Internal(_)), "{err:?}");

    let resp = err.into_response("req-500");
    assert_opaque_problem(&resp, 500, "internal-error", INTERNAL_DETAIL);
    assert_eq!(header(&resp, "retry-after"), None);
}

#[tokio::test]
async fn unexpected_get_error_through_the_handler_answers_500() {
    let rule = mock!(Client::get_item).then_error(resource_not_found);
    let resp = handler_get_once(&rule, "req-handler-500").await;
    assert_opaque_problem(&resp, 500, "internal-error", INTERNAL_DETAIL);
    assert_eq!(header(&resp, "retry-after"), None);
}

#[tokio::test]
async fn a_missing_item_answers_404_not_a_fault() {
    // Sanity check of the harness: the same path answers 404 for a missing item, not a fault.
    let rule = mock!(Client::get_item).then_output(|| GetItemOutput::builder().build());
    let resp = handler_get_once(&rule, "req-404").await;
    assert_eq!(resp.status().as_u16(), 404);
}

// ---------------------------------------------------------------------------------------------
// transact(): cancellations

#[tokio::test]
async fn a_failed_condition_returns_the_reasons_in_order_without_retrying() {
    let rule = mock!(Client::transact_write_items)
        .sequence()
        .error(|| {
            cancelled(vec![
                CancellationReason::builder()
                    .code("ConditionalCheckFailed")
                    .message("The conditional request failed")
                    .item("revision", AttributeValue::N("7".into()))
                    .build(),
                reason("None"),
            ])
        })
        .repeatedly()
        .build();
    let reasons = cancelled_once(&rule, &[Some("ConditionalCheckFailed"), Some("None")]).await;
    assert!(reasons[0].condition_failed());
    assert!(!reasons[1].condition_failed());
    assert_eq!(
        reasons[0].item.as_ref().and_then(|i| i.get("revision")),
        Some(&AttributeValue::N("7".into())),
        "the AllOld item rides along"
    );
    assert!(reasons[1].item.is_none());
}

#[tokio::test]
async fn a_failed_condition_beside_a_conflict_is_not_retried() {
    let rule = mock!(Client::transact_write_items)
        .sequence()
        .error(|| {
            cancelled(vec![
                reason("TransactionConflict"),
                reason("ConditionalCheckFailed"),
            ])
        })
        .repeatedly()
        .build();
    let result = transact_once_rule(&rule, Retries::Disabled).await;
    assert_eq!(rule.num_calls(), 1);
    assert!(
        matches!(&result, Err(TxError::Cancelled(r)) if r[1].condition_failed()),
        "{result:?}"
    );
}

#[tokio::test]
async fn conflicts_are_retried_until_the_transaction_goes_through() {
    // Two conflicting cancellations, then success: three separate rules in sequence.
    let first = mock!(Client::transact_write_items).then_error(conflict_on_second);
    let second = mock!(Client::transact_write_items).then_error(conflict_on_second);
    let success = mock!(Client::transact_write_items)
        .then_output(|| TransactWriteItemsOutput::builder().build());
    let client = mocked(
        Retries::LikeProduction,
        RuleMode::Sequential,
        &[&first, &second, &success],
    );

    let result = store::transact(&client, some_items()).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(
        (first.num_calls(), second.num_calls(), success.num_calls()),
        (1, 1, 1),
        "3 attempts in all"
    );
}

#[tokio::test]
async fn conflicts_then_success_as_one_sequence_take_three_calls() {
    let rule = mock!(Client::transact_write_items)
        .sequence()
        .error(conflict_on_second)
        .times(2)
        .output(|| TransactWriteItemsOutput::builder().build())
        .build();
    let result = transact_once_rule(&rule, Retries::LikeProduction).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(rule.num_calls(), 3);
}

#[tokio::test]
async fn persistent_conflicts_give_up_with_503_after_bounded_attempts() {
    let rule = mock!(Client::transact_write_items)
        .sequence()
        .error(conflict_on_second)
        .repeatedly()
        .build();
    let client = mocked(Retries::LikeProduction, RuleMode::Sequential, &[&rule]);

    let started = std::time::Instant::now();
    let result = store::transact(&client, some_items()).await;
    let elapsed = started.elapsed();
    let calls = rule.num_calls();
    assert!(
        (MIN_TRANSACT_ATTEMPTS..=MAX_TRANSACT_ATTEMPTS).contains(&calls),
        "{calls} attempts"
    );
    assert!(elapsed < MAX_TRANSACT_TIME, "gave up after {elapsed:?}");
    eprintln!("persistent conflicts: 503 after {calls} attempts in {elapsed:?}");
    let Err(TxError::Fault(err)) = result else {
        panic!("expected a fault, got {result:?}");
    };
    assert!(matches!(err, ApiError::Unavailable(_)), "{err:?}");
    let resp = err.into_response("req-conflict");
    assert_opaque_problem(&resp, 503, "service-unavailable", UNAVAILABLE_DETAIL);
    assert_eq!(header(&resp, "retry-after"), Some("1"));
}

#[tokio::test]
async fn a_throttled_cancellation_is_503_without_retrying() {
    for code in ["ThrottlingError", "ProvisionedThroughputExceeded"] {
        let rule = mock!(Client::transact_write_items)
            .sequence()
            .error(move || cancelled(vec![reason("None"), reason(code)]))
            .repeatedly()
            .build();
        let result = transact_once_rule(&rule, Retries::LikeProduction).await;
        assert_eq!(rule.num_calls(), 1, "{code}");
        let Err(TxError::Fault(err)) = result else {
            panic!("{code}: expected a fault, got {result:?}");
        };
        assert!(matches!(err, ApiError::Unavailable(_)), "{code}: {err:?}");
        assert_eq!(ApiError::from(TxError::Fault(err)).status(), 503);
    }
}

#[tokio::test]
async fn another_cancellation_reason_is_returned_and_maps_to_500() {
    let rule = mock!(Client::transact_write_items)
        .then_error(|| cancelled(vec![reason("ValidationError"), reason("None")]));
    let result = transact_once_rule(&rule, Retries::Disabled).await;
    let Err(e @ TxError::Cancelled(_)) = result else {
        panic!("expected Cancelled, got {result:?}");
    };
    let err = ApiError::from(e);
    assert!(matches!(err, ApiError::Internal(_)), "{err:?}");
    assert_opaque_problem(
        &err.into_response("req-validation"),
        500,
        "internal-error",
        INTERNAL_DETAIL,
    );
}

#[tokio::test]
async fn a_throttled_transaction_call_is_retried_by_the_sdk_then_503() {
    let rule = mock!(Client::transact_write_items)
        .sequence()
        .error(|| {
            TransactWriteItemsError::ProvisionedThroughputExceededException(
                ProvisionedThroughputExceededException::builder()
                    .message(SDK_MESSAGE)
                    .meta(meta("ProvisionedThroughputExceededException", SDK_MESSAGE))
                    .build(),
            )
        })
        .repeatedly()
        .build();
    let result = transact_once_rule(&rule, Retries::LikeProduction).await;
    assert_eq!(
        rule.num_calls(),
        3,
        "SDK retries, transact does not add more"
    );
    assert!(
        matches!(result, Err(TxError::Fault(ApiError::Unavailable(_)))),
        "{result:?}"
    );
}

#[tokio::test]
async fn cancellation_reasons_on_the_wire_are_decoded_in_order() {
    // The real deserializer path for TransactionCanceledException and its reasons.
    let rule = mock!(Client::transact_write_items).then_http_response(|| {
        answer_400(
                r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed, None]","CancellationReasons":[{"Code":"ConditionalCheckFailed","Message":"The conditional request failed","Item":{"revision":{"N":"7"}}},{"Code":"None"}]}"#,
            )
    });
    let reasons = cancelled_once(&rule, &[Some("ConditionalCheckFailed"), Some("None")]).await;
    assert_eq!(
        reasons[0].item.as_ref().and_then(|i| i.get("revision")),
        Some(&AttributeValue::N("7".into()))
    );
}

// ---------------------------------------------------------------------------------------------
// Known wrong mapping (reported, not fixed here): run with `--ignored` to see it fail.

#[tokio::test]
async fn a_5xx_without_an_error_code_is_unavailable_after_sdk_retries() {
    // A gateway's 503 page: the SDK finds no error code, classifies the status as transient and
    // retries; what is left is still "the store is unavailable", so the client should get 503.
    let rule = mock!(Client::get_item)
        .sequence()
        .http_status(503, Some("Service Unavailable".into()))
        .repeatedly()
        .build();
    let err = get_with_production_retries(&rule, 3, "the SDK retried it as transient").await;
    assert!(matches!(err, ApiError::Unavailable(_)), "{err:?}");
}
