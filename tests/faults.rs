//! Store faults end to end (API.md §1: 503 with `Retry-After`, a write happens entirely or not
//! at all): the real handlers, a fault-injecting proxy (`common::proxy`) and DynamoDB Local
//! behind it. Every test checks what the client was told against what was stored.

mod common;

use common::proxy::{Fault, FaultProxy};
use common::*;
use serde_json::{json, Value};
use shared::error::ApiError;
use shared::keys::{self, Kind};
use shared::store::{self, sweep, TxError};
use shared::time::Timestamp;
use std::time::{Duration, Instant};

const WRITE: &str = "TransactWriteItems";

/// A test's tenant reached directly (to check what was stored) and through a fresh proxy.
/// The ids of a list answer's items, in order.
fn item_ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect()
}

async fn setup() -> (Api, Api, FaultProxy) {
    let direct = Api::new().await;
    let proxy = FaultProxy::start(&endpoint()).await;
    let faulty = direct.through(&proxy).await;
    (direct, faulty, proxy)
}

/// Past the SDK's attempt timeout: the SDK gives up on the attempt and retries.
fn late() -> Duration {
    FAULT_CLIENT.attempt_timeout + Duration::from_millis(300)
}

fn assert_unavailable(r: &Response) {
    assert_problem(r, 503, "service-unavailable");
    assert_eq!(r.header("retry-after"), Some("1"), "{:?}", r.headers);
}

/// The `ClientRequestToken` of every transaction the proxy saw, in order.
fn tokens(proxy: &FaultProxy) -> Vec<String> {
    proxy
        .seen(WRITE)
        .iter()
        .map(|s| {
            s.body["ClientRequestToken"]
                .as_str()
                .unwrap_or_else(|| panic!("a transaction without a token: {}", s.body))
                .to_string()
        })
        .collect()
}

/// The tenant's assets as stored: the record items and the name guards.
async fn stored_assets(api: &Api, name: &str) -> (Vec<Value>, Option<store::Item>) {
    let list = api.get("/api/v1/technology?limit=100").await;
    assert_eq!(list.status, 200, "{}", list.text);
    let records = list.body["items"].as_array().cloned().unwrap_or_default();
    let guard = api
        // The name guard's sort key is the name itself.
        .stored(&keys::pk(&api.tenant, Kind::AssetName), name)
        .await;
    (records, guard)
}

/// Exactly one asset called `name`, with its name guard pointing at it.
async fn assert_one_asset(api: &Api, name: &str, id: &str) {
    let (records, guard) = stored_assets(api, name).await;
    let ids: Vec<String> = records.iter().map(id_of).collect();
    assert_eq!(ids, [id.to_string()], "exactly one asset");
    let guard = guard.expect("name guard");
    assert_eq!(store::get_s(&guard, "asset_id"), Some(id));
}

#[tokio::test]
async fn a_dropped_answer_of_a_committed_create_is_201_and_creates_once() {
    let (direct, faulty, proxy) = setup().await;
    proxy.inject(WRITE, [Fault::DropAnswer]);
    let r = faulty.post(TECH, json!({"name": "db"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_one_asset(&direct, "db", &id_of(&r.body)).await;
    // The SDK's retry carried the first attempt's token; DynamoDB answered it as the success.
    let sent = tokens(&proxy);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[0], sent[1]);
    assert!(sent[0].len() <= 36);

    // The same for an entitlement, whose transaction also moves the asset's live count.
    let aid = id_of(&r.body);
    proxy.inject(WRITE, [Fault::DropAnswer]);
    let body = json!({"asset_id": aid, "principal_id": "p", "principal_type": "person", "entitlement_type": "user"});
    let g = faulty.post(ENTS, body).await;
    assert_eq!(g.status, 201, "{}", g.text);
    assert_eq!(live_count(&direct, &aid).await, 1, "counted once");
    let l = direct
        .get(&format!("/api/v1/entitlements?asset_id={aid}"))
        .await;
    let ids = item_ids(&l.body);
    assert_eq!(ids, [id_of(&g.body)]);
    let sent = tokens(&proxy);
    assert_eq!(sent.len(), 4, "{sent:?}");
    assert_eq!(sent[2], sent[3]);
    assert_ne!(
        sent[0], sent[2],
        "every logical write has a token of its own"
    );
    assert_eq!(proxy.pending(), 0);
}

#[tokio::test]
async fn a_late_answer_of_a_committed_create_is_201_and_creates_once() {
    let (direct, faulty, proxy) = setup().await;
    proxy.inject(WRITE, [Fault::Delay(late())]);
    let r = faulty.post(TECH, json!({"name": "db"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_one_asset(&direct, "db", &id_of(&r.body)).await;
    let sent = tokens(&proxy);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0], sent[1]);
}

#[tokio::test]
async fn one_failed_attempt_is_retried_and_answered_201() {
    for fault in [Fault::ServerError, Fault::Throttle] {
        let (direct, faulty, proxy) = setup().await;
        proxy.inject(WRITE, [fault.clone()]);
        let r = faulty.post(TECH, json!({"name": "db"})).await;
        assert_eq!(r.status, 201, "{fault:?}: {}", r.text);
        assert_one_asset(&direct, "db", &id_of(&r.body)).await;
        assert_eq!(proxy.seen(WRITE).len(), 2, "{fault:?}");
    }
}

/// `fault` once for each attempt the client makes.
fn every_attempt(fault: Fault) -> Vec<Fault> {
    vec![fault; FAULT_CLIENT.max_attempts as usize]
}

/// A fresh `setup()` where every attempt of the client's create of `db` meets `fault`: the 503
/// checked, the direct caller, the faulty one and the proxy returned.
async fn create_db_failing_every_attempt(fault: &Fault) -> (Api, Api, FaultProxy) {
    let (direct, faulty, proxy) = setup().await;
    proxy.inject(WRITE, every_attempt(fault.clone()));
    let r = faulty.post(TECH, json!({"name": "db"})).await;
    assert_unavailable(&r);
    (direct, faulty, proxy)
}

#[tokio::test]
async fn a_store_that_keeps_failing_is_503_with_retry_after_and_nothing_is_written() {
    for fault in [Fault::ServerError, Fault::Throttle] {
        let (direct, faulty, proxy) = create_db_failing_every_attempt(&fault).await;
        assert_eq!(proxy.pending(), 0, "{fault:?}: every attempt met the fault");
        let (records, guard) = stored_assets(&direct, "db").await;
        assert!(
            records.is_empty() && guard.is_none(),
            "{fault:?}: {records:?} {guard:?}"
        );
        // Nothing half-written blocks the client's retry.
        let again = faulty.post(TECH, json!({"name": "db"})).await;
        assert_eq!(again.status, 201, "{fault:?}: {}", again.text);
        assert_one_asset(&direct, "db", &id_of(&again.body)).await;
    }
}

#[tokio::test]
async fn answers_that_never_come_are_503_and_the_write_is_whole() {
    // Every attempt reaches the store and commits (the first) or is answered as the same write
    // (the retries, by their token), but no answer comes back in time.
    for fault in [Fault::DropAnswer, Fault::Delay(late())] {
        let (direct, _, proxy) = create_db_failing_every_attempt(&fault).await;
        let (records, guard) = stored_assets(&direct, "db").await;
        assert_eq!(records.len(), 1, "{fault:?}: written once, entirely");
        let guard = guard.expect("the name guard was written with its asset");
        assert_eq!(
            store::get_s(&guard, "asset_id"),
            Some(id_of(&records[0]).as_str())
        );
        let sent = tokens(&proxy);
        assert!(sent.iter().all(|t| *t == sent[0]), "{fault:?}: {sent:?}");
    }
}

#[tokio::test]
async fn a_conflict_is_retried_with_the_same_token_and_the_next_write_gets_a_new_one() {
    let (direct, faulty, proxy) = setup().await;
    let conflict = json!({
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons [None, TransactionConflict]",
        "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}],
    });
    proxy.inject(WRITE, [Fault::Answer(400, conflict.to_string())]);
    let r = faulty.post(TECH, json!({"name": "db"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_one_asset(&direct, "db", &id_of(&r.body)).await;
    let next = faulty.post(TECH, json!({"name": "web"})).await;
    assert_eq!(next.status, 201, "{}", next.text);
    let sent = tokens(&proxy);
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert_eq!(sent[0], sent[1], "our retry of one write keeps its token");
    assert_ne!(sent[1], sent[2], "the next write has its own");
}

/// A table of its own with an asset `app` and `n` grants on it expiring in a day: the caller, the
/// asset's id and the grants' ids.
async fn expiring_grants(n: usize) -> (Api, String, Vec<String>) {
    let direct = Api::with_own_table().await;
    let asset = direct.asset(json!({"name": "app"})).await;
    let aid = id_of(&asset);
    let expires = Timestamp::now().plus_seconds(86_400).to_string();
    let mut ids = Vec::new();
    for i in 0..n {
        let body = json!({"asset_id": aid, "principal_id": format!("p{i}"), "principal_type": "person", "entitlement_type": "user", "expires_at": expires});
        let r = direct.post(ENTS, body).await;
        assert_eq!(r.status, 201, "{}", r.text);
        ids.push(id_of(&r.body));
    }
    (direct, aid, ids)
}

/// The expiry sweep through `api` as of two days from now, with 30 s to run.
async fn sweep_after_expiry(api: &Api) -> sweep::Report {
    let later = Timestamp::now().plus_seconds(2 * 86_400);
    let deadline = Instant::now() + Duration::from_secs(30);
    sweep::run(&api.state, later, deadline, "test-sweep-run")
        .await
        .expect("sweep")
}

#[tokio::test]
async fn an_expiry_the_store_refuses_is_counted_failed_and_the_rest_expire() {
    let (direct, aid, ids) = expiring_grants(5).await;
    let proxy = FaultProxy::start(&endpoint()).await;
    let faulty = direct.through(&proxy).await;
    // Every attempt to expire the third one fails.
    proxy.inject_matching(WRITE, &ids[2], every_attempt(Fault::ServerError));
    let report = sweep_after_expiry(&faulty).await;
    assert_eq!(
        (report.expired, report.failed, report.complete),
        (4, 1, true),
        "{report:?}"
    );
    assert_eq!(live_count(&direct, &aid).await, 1);
    let left = direct
        .get(&format!("/api/v1/entitlements/{}", ids[2]))
        .await;
    assert_eq!(left.body["status"], "active");
    let again = sweep_after_expiry(&faulty).await;
    assert_eq!((again.expired, again.failed), (1, 0), "{again:?}");
    assert_eq!(live_count(&direct, &aid).await, 0);
}

#[tokio::test]
async fn an_index_page_that_cannot_be_read_is_counted_and_the_other_shards_go_on() {
    let (direct, _, ids) = expiring_grants(6).await;
    let proxy = FaultProxy::start(&endpoint()).await;
    let faulty = direct.through(&proxy).await;
    // Shard 0's query fails on every attempt.
    proxy.inject("Query", every_attempt(Fault::ServerError));
    let report = sweep_after_expiry(&faulty).await;
    let in_shard_0 = ids
        .iter()
        .filter(|id| keys::expiry_pk(id) == keys::expiry_shard_pk(0))
        .count() as u64;
    assert_eq!(
        (report.expired, report.failed, report.complete),
        (6 - in_shard_0, 1, false),
        "{report:?}"
    );
    let first_query = &proxy.seen("Query")[0].body;
    assert_eq!(
        first_query["ExpressionAttributeValues"][":pk"]["S"],
        keys::expiry_shard_pk(0)
    );
}

// ---------------------------------------------------------------------------------------------
// Items over DynamoDB's 400 KB limit: a 400 "record too large", never a 500.

fn big_put(api: &Api, sk: &str, bytes: usize) -> aws_sdk_dynamodb::types::TransactWriteItem {
    let mut item = store::key(&api.tenant, Kind::Asset, sk);
    item.insert("big".into(), store::s("a".repeat(bytes)));
    let put = aws_sdk_dynamodb::types::Put::builder()
        .table_name(api.state.table())
        .set_item(Some(item))
        .build()
        .unwrap();
    aws_sdk_dynamodb::types::TransactWriteItem::builder()
        .put(put)
        .build()
}

fn assert_too_large(err: &ApiError) {
    assert!(matches!(err, ApiError::RecordTooLarge(_)), "{err:?}");
    assert_eq!(err.status(), 400);
}

#[tokio::test]
async fn every_way_dynamodb_refuses_an_oversized_item_is_record_too_large() {
    let api = Api::new().await;
    // A put in a transaction: ValidationException.
    let Err(TxError::Fault(err)) =
        store::transact(&api.state.db, vec![big_put(&api, "a", 410_000)]).await
    else {
        panic!("an oversized put must fail");
    };
    assert_too_large(&err);
    // An update in a transaction that grows an item past the limit: a ValidationError reason.
    store::transact(&api.state.db, vec![big_put(&api, "b", 300_000)])
        .await
        .expect("a 300 KB item fits");
    let grow = aws_sdk_dynamodb::types::Update::builder()
        .table_name(api.state.table())
        .set_key(Some(store::key(&api.tenant, Kind::Asset, "b")))
        .update_expression("SET more = :v")
        .expression_attribute_values(":v", store::s("b".repeat(150_000)))
        .build()
        .unwrap();
    let grow = aws_sdk_dynamodb::types::TransactWriteItem::builder()
        .update(grow)
        .build();
    let Err(TxError::Fault(err)) = store::transact(&api.state.db, vec![grow]).await else {
        panic!("an update past the limit must fail");
    };
    assert_too_large(&err);
    // The same update as a single UpdateItem, and a single PutItem.
    let e = api
        .state
        .db
        .update_item()
        .table_name(api.state.table())
        .set_key(Some(store::key(&api.tenant, Kind::Asset, "b")))
        .update_expression("SET more = :v")
        .expression_attribute_values(":v", store::s("b".repeat(150_000)))
        .send()
        .await
        .expect_err("too large");
    assert_too_large(&store::fault("UpdateItem", e));
    let mut item = store::key(&api.tenant, Kind::Asset, "c");
    item.insert("big".into(), store::s("c".repeat(410_000)));
    let e = api
        .put_raw_request(item)
        .send()
        .await
        .expect_err("too large");
    assert_too_large(&store::fault("PutItem", e));
}

#[tokio::test]
async fn an_asset_whose_item_would_exceed_the_store_limit_is_a_400_and_nothing_is_stored() {
    let api = Api::new().await;
    // A body under 256 KiB whose item (the description plus its lower-cased search copy) is
    // over 400 KB.
    let sent = json!({"name": "big", "description": "d".repeat(230_000)});
    let r = api.post(TECH, sent).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    // A record-size cap in the domain (API.md §8) may refuse it first, naming the field.
    let slug = r.body["type"].as_str().unwrap_or_default();
    assert!(
        slug == "/problems/record-too-large" || slug == "/problems/validation-error",
        "{}",
        r.text
    );
    let (records, guard) = stored_assets(&api, "big").await;
    assert!(records.is_empty() && guard.is_none());
}

// ---------------------------------------------------------------------------------------------
// Single-item writes: a retry that meets its own committed attempt is that attempt's success.

#[tokio::test]
async fn a_dropped_answer_of_a_committed_single_item_create_is_201_and_creates_once() {
    let (direct, faulty, proxy) = setup().await;
    proxy.inject("TransactWriteItems", [Fault::DropAnswer]);
    let body = json!({"key": "tier", "name": "Tier", "type": "custom"});
    let r = faulty.post(ATTRS, body).await;
    assert_eq!(r.status, 201, "an attribute: {}", r.text);
    let g = direct
        .get("/api/v1/access-model-metadata/attributes/tier")
        .await;
    assert_eq!((g.status, &g.body["id"]), (200, &r.body["id"]));

    direct.asset(json!({"name": "db"})).await;
    proxy.inject("TransactWriteItems", [Fault::DropAnswer]);
    let body = json!({"system_id": "db", "justification": "on call", "access_type": "new", "entitlement_type": "user"});
    let r = faulty
        .post("/api/v1/operations/access-requests", body)
        .await;
    assert_eq!(r.status, 201, "an access request: {}", r.text);
    let l = direct.get("/api/v1/operations/access-requests").await;
    let ids = item_ids(&l.body);
    assert_eq!(ids, [id_of(&r.body)]);
    assert_eq!(
        proxy.seen("TransactWriteItems").len(),
        4,
        "each create (with its history event) retried once"
    );
}

#[tokio::test]
async fn a_dropped_answer_of_a_committed_update_is_200_and_writes_once() {
    let (direct, faulty, proxy) = setup().await;
    let asset = direct.asset(json!({"name": "db"})).await;
    let aid = id_of(&asset);
    // With If-Match: the retry must not read its own write as someone else's (412).
    proxy.inject("TransactWriteItems", [Fault::DropAnswer]);
    let mut headers = http::HeaderMap::new();
    headers.insert("content-type", "application/json".parse().unwrap());
    headers.insert("if-match", "\"1\"".parse().unwrap());
    let r = faulty
        .raw(
            "PATCH",
            &format!("/api/v1/technology/{aid}"),
            &faulty.token(),
            headers,
            br#"{"vendor": "acme"}"#.to_vec(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["revision"], 2);
    let g = direct.get(&format!("/api/v1/technology/{aid}")).await;
    assert_eq!(
        (&g.body["vendor"], &g.body["revision"]),
        (&json!("acme"), &json!(2))
    );

    // An approval: the retry must not find the request approved and call it a conflict (409).
    let body = json!({"system_id": "db", "justification": "on call", "access_type": "new", "entitlement_type": "user"});
    let req = direct
        .post("/api/v1/operations/access-requests", body)
        .await;
    assert_eq!(req.status, 201, "{}", req.text);
    let rid = id_of(&req.body);
    proxy.inject("TransactWriteItems", [Fault::DropAnswer]);
    let approver = faulty.token_for("approver-1", None, &common::all_scopes());
    let a = faulty
        .post_empty_as(
            &format!("/api/v1/operations/access-requests/{rid}/approve"),
            &approver,
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(
        (&a.body["status"], &a.body["revision"]),
        (&json!("approved"), &json!(2))
    );
    let g = direct
        .get(&format!("/api/v1/operations/access-requests/{rid}"))
        .await;
    assert_eq!(
        (&g.body["status"], &g.body["revision"]),
        (&json!("approved"), &json!(2))
    );
    assert_eq!(proxy.pending(), 0);
}

/// What the fault tests rely on: DynamoDB Local answers a repeat of a committed transaction
/// (same token, same items) as a success without writing again, and the same token with other
/// items as `IdempotentParameterMismatchException` (a bug of ours: a 500).
#[tokio::test]
async fn dynamodb_local_honours_client_request_tokens() {
    let api = Api::new().await;
    let add = |by: i64| {
        let update = aws_sdk_dynamodb::types::Update::builder()
            .table_name(api.state.table())
            .set_key(Some(store::key(&api.tenant, Kind::Asset, "counter")))
            .update_expression("ADD n :by")
            .expression_attribute_values(":by", store::n(by))
            .build()
            .unwrap();
        aws_sdk_dynamodb::types::TransactWriteItem::builder()
            .update(update)
            .build()
    };
    let send = |item, token: &str| {
        api.state
            .db
            .transact_write_items()
            .transact_items(item)
            .client_request_token(token)
            .send()
    };
    // Tokens are remembered across tables: a fresh one per run.
    let token = ulid::Ulid::generate().to_string();
    let token = token.as_str();
    send(add(1), token).await.expect("first");
    send(add(1), token).await.expect("the repeat is a success");
    let item = api
        .stored(&keys::pk(&api.tenant, Kind::Asset), "counter")
        .await
        .unwrap();
    assert_eq!(store::get_n(&item, "n"), Some(1), "written once");
    let e = send(add(2), token)
        .await
        .expect_err("other items, same token");
    let err = store::fault("TransactWriteItems", e);
    assert!(matches!(err, ApiError::Internal(_)), "{err:?}");
    assert!(
        err.to_string().contains("IdempotentParameterMismatch"),
        "{err}"
    );
}
