//! One key under concurrency and faults, and what a key costs in DynamoDB requests.

use super::*;
use common::proxy::{Fault, FaultProxy};

#[tokio::test]
async fn ten_concurrent_creates_with_one_key_make_one_record_and_one_answer() {
    let api = Api::new().await;
    let key = fresh_key();
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (api, key) = (api.clone(), key.clone());
            tokio::spawn(async move {
                keyed_call(&api, "POST", ASSETS, &key, Some(json!({"name": "raced"}))).await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("task"));
    }
    let listed = list_ids(&api, ASSETS).await;
    assert_eq!(listed.len(), 1, "one record: {listed:?}");
    let first = answers
        .iter()
        .find(|r| r.header("idempotent-replayed").is_none())
        .expect("one answer is the write's own");
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(id_of(&first.body), listed[0]);
    for r in &answers {
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.text, first.text);
        assert_eq!(r.header("location"), first.header("location"));
        assert_eq!(r.header("x-request-id"), first.header("x-request-id"));
    }
    let own = answers
        .iter()
        .filter(|r| r.header("idempotent-replayed").is_none())
        .count();
    assert_eq!(own, 1, "the others are replays");
    assert_eq!(
        history(&api, &format!("{ASSETS}/{}", listed[0]))
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn concurrent_grants_with_one_key_make_one_entitlement() {
    let api = Api::new().await;
    let aid = asset_named(&api, "db").await;
    let key = fresh_key();
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let (api, key, body) = (api.clone(), key.clone(), grant_body(&aid, "p1", "read"));
            tokio::spawn(async move { keyed_call(&api, "POST", ENTS, &key, Some(body)).await })
        })
        .collect();
    let mut texts = Vec::new();
    for task in tasks {
        let r = task.await.expect("task");
        assert_eq!(r.status, 201, "{}", r.text);
        texts.push(r.text);
    }
    texts.dedup();
    assert_eq!(texts.len(), 1, "one answer for all");
    assert_eq!(list_ids(&api, ENTS).await.len(), 1);
    assert_eq!(live_count(&api, &aid).await, 1);
}

async fn behind_proxy() -> (Api, Api, FaultProxy) {
    let direct = Api::new().await;
    let proxy = FaultProxy::start(&endpoint()).await;
    let faulty = direct.through(&proxy).await;
    (direct, faulty, proxy)
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_answers_201_on_the_retry_with_its_key() {
    let (direct, faulty, proxy) = behind_proxy().await;
    let key = fresh_key();
    let body = Some(json!({"name": "lost"}));
    // The transaction commits on its first attempt; every answer to it, and to the read of the
    // key that follows, is lost: the client is told 503.
    proxy.inject(
        "TransactWriteItems",
        [Fault::DropAnswer, Fault::DropAnswer, Fault::DropAnswer],
    );
    proxy.inject(
        "GetItem",
        [Fault::DropAnswer, Fault::DropAnswer, Fault::DropAnswer],
    );
    let lost = keyed_call(&faulty, "POST", ASSETS, &key, body.clone()).await;
    assert_problem(&lost, 503, "service-unavailable");
    assert_eq!(proxy.pending(), 0, "every fault was met");
    let listed = list_ids(&direct, ASSETS).await;
    assert_eq!(listed.len(), 1, "the write happened: {listed:?}");
    // The client retries with its key: the original 201, and still one asset.
    let retry = keyed_call(&faulty, "POST", ASSETS, &key, body).await;
    assert_eq!(retry.status, 201, "{}", retry.text);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(id_of(&retry.body), listed[0]);
    assert_eq!(
        retry.header("location"),
        Some(format!("{ASSETS}/{}", listed[0]).as_str())
    );
    assert_eq!(
        direct.get(&format!("{ASSETS}/{}", listed[0])).await.body,
        retry.body
    );
    assert_eq!(list_ids(&direct, ASSETS).await, listed);
}

#[tokio::test]
async fn a_write_whose_store_answer_was_lost_answers_its_own_201() {
    let (direct, faulty, proxy) = behind_proxy().await;
    let key = fresh_key();
    proxy.inject(
        "TransactWriteItems",
        [Fault::DropAnswer, Fault::DropAnswer, Fault::DropAnswer],
    );
    let r = keyed_call(&faulty, "POST", ASSETS, &key, Some(json!({"name": "mine"}))).await;
    // The key it kept is read back: its own answer, not a replay.
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.header("idempotent-replayed"), None);
    let listed = list_ids(&direct, ASSETS).await;
    assert_eq!(listed, vec![id_of(&r.body)]);
}

#[tokio::test]
async fn a_key_costs_no_request_on_a_write_and_one_read_on_a_retry() {
    let api = Api::new().await;
    let write = [("TransactWriteItems", 1)];
    api.expect_answer(201, &write, api.post(ASSETS, json!({"name": "plain"})))
        .await;
    let key = fresh_key();
    let keyed_create = || keyed_call(&api, "POST", ASSETS, &key, Some(json!({"name": "keyed"})));
    api.expect_answer(201, &write, keyed_create()).await;
    let retry = [("TransactWriteItems", 1), ("GetItem", 1)];
    api.expect_answer(201, &retry, keyed_create()).await;
    let aid = asset_named(&api, "granted").await;
    let grant_key = fresh_key();
    let grant = keyed_call(
        &api,
        "POST",
        ENTS,
        &grant_key,
        Some(grant_body(&aid, "p", "read")),
    );
    api.expect_answer(201, &write, grant).await;
}
