//! Hello world with a client: the floor a function binary is measured against (`benches/lambda.rs`).
//!
//! A `lambda_http` binary that starts as a function does (`lambda_http::run_concurrent`, the
//! DynamoDB client built by `shared::store::client` from `Config::from_env`, so the same SDK
//! config, retries, timeouts and interceptors) and answers every event with the very DynamoDB
//! requests the function it stands for sends, then a fixed small JSON body. It parses nothing of
//! the event, verifies no token, logs nothing and renders no record: what a function costs over
//! this is its own work.
//!
//! The requests are not written here: the bench records the function's own requests on the wire
//! (a proxy in front of DynamoDB Local) and hands them over as JSON in the file named by
//! `BASELINE_CALLS` (`[{"operation": "GetItem", "body": {…}}, …]`), read once at start. Each
//! binary replays one operation only, so it links that operation's code only. A transaction's
//! new items get a fresh suffix on their `SK` (and the transaction a fresh token) per event, so
//! every replayed `attribute_not_exists` put writes a new item as the function's does.

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, KeysAndAttributes, Put, ReturnConsumedCapacity,
    ReturnValuesOnConditionCheckFailure, Select, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use base64::Engine;
use lambda_http::{service_fn, Body, Request, Response};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;

/// The file of recorded requests to replay.
pub const CALLS_VAR: &str = "BASELINE_CALLS";
/// What every event is answered with.
pub const ANSWER: &str = r#"{"ok":true}"#;

pub type Item = HashMap<String, AttributeValue>;
type Wire = Map<String, Value>;

/// One recorded DynamoDB request of one operation, ready to send again.
pub trait Call: Sized + Send + Sync + 'static {
    /// The operation as `X-Amz-Target` names it (`DynamoDB_20120810.<OPERATION>`).
    const OPERATION: &'static str;
    fn from_wire(body: &Wire) -> Result<Self, String>;
    fn send<'a>(&'a self, db: &'a Client) -> impl Future<Output = Result<(), String>> + Send + 'a;
}

/// The `main` of a baseline binary.
pub async fn run<C: Call>() -> Result<(), lambda_http::Error> {
    let config = shared::config::Config::from_env()?;
    let db = shared::store::client(&config, None).await;
    let calls = load::<C>()?;
    let state: &'static (Client, Vec<C>) = Box::leak(Box::new((db, calls)));
    lambda_http::run_concurrent(service_fn(move |_req: Request| async move {
        Ok::<Response<Body>, Infallible>(answer(state).await)
    }))
    .await
}

async fn answer<C: Call>((db, calls): &(Client, Vec<C>)) -> Response<Body> {
    let mut result = Ok(());
    for call in calls {
        result = call.send(db).await;
        if result.is_err() {
            break;
        }
    }
    let (status, body) = match result {
        Ok(()) => (200, ANSWER.to_string()),
        Err(e) => (500, serde_json::json!({ "error": e }).to_string()),
    };
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap_or_default()
}

fn load<C: Call>() -> Result<Vec<C>, String> {
    let path = std::env::var(CALLS_VAR).map_err(|_| format!("{CALLS_VAR} is not set"))?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let recorded: Vec<Value> = serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    recorded
        .iter()
        .map(|r| {
            let op = r["operation"].as_str().unwrap_or_default();
            if op != C::OPERATION {
                return Err(format!(
                    "{path}: a {op} request; this binary replays {}",
                    C::OPERATION
                ));
            }
            let body = r["body"].as_object().ok_or("a request without a body")?;
            C::from_wire(body)
        })
        .collect()
}

fn sdk_err(e: impl std::fmt::Debug) -> String {
    format!("{e:?}")
}

// ---------------------------------------------------------------- DynamoDB's JSON to SDK values

/// Fails on a member this replayer does not know, so a request it would send differently from
/// the recorded one is noticed at start instead of measured.
fn only(m: &Wire, known: &[&str]) -> Result<(), String> {
    match m.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(format!("unsupported request member {k}")),
        None => Ok(()),
    }
}

fn attr(v: &Value) -> Result<AttributeValue, String> {
    let (tag, v) = v
        .as_object()
        .and_then(|m| m.iter().next())
        .ok_or_else(|| format!("not an attribute value: {v}"))?;
    let text = |v: &Value| v.as_str().map(str::to_string).ok_or("not a string");
    let texts = |v: &Value| -> Result<Vec<String>, String> {
        v.as_array()
            .ok_or("not a set")?
            .iter()
            .map(|s| text(s).map_err(String::from))
            .collect()
    };
    let blob = |v: &Value| -> Result<Blob, String> {
        let b = base64::engine::general_purpose::STANDARD
            .decode(text(v)?)
            .map_err(|e| e.to_string())?;
        Ok(Blob::new(b))
    };
    Ok(match tag.as_str() {
        "S" => AttributeValue::S(text(v)?),
        "N" => AttributeValue::N(text(v)?),
        "BOOL" => AttributeValue::Bool(v.as_bool().ok_or("not a bool")?),
        "NULL" => AttributeValue::Null(true),
        "B" => AttributeValue::B(blob(v)?),
        "M" => AttributeValue::M(item(v)?),
        "L" => AttributeValue::L(
            v.as_array()
                .ok_or("not a list")?
                .iter()
                .map(attr)
                .collect::<Result<_, _>>()?,
        ),
        "SS" => AttributeValue::Ss(texts(v)?),
        "NS" => AttributeValue::Ns(texts(v)?),
        "BS" => AttributeValue::Bs(
            v.as_array()
                .ok_or("not a set")?
                .iter()
                .map(blob)
                .collect::<Result<_, _>>()?,
        ),
        other => return Err(format!("unknown attribute type {other}")),
    })
}

fn item(v: &Value) -> Result<Item, String> {
    v.as_object()
        .ok_or_else(|| format!("not an item: {v}"))?
        .iter()
        .map(|(k, v)| Ok((k.clone(), attr(v)?)))
        .collect()
}

fn opt_item(m: &Wire, key: &str) -> Result<Option<Item>, String> {
    m.get(key).map(item).transpose()
}

fn opt_str(m: &Wire, key: &str) -> Option<String> {
    m.get(key).and_then(Value::as_str).map(str::to_string)
}

fn names(m: &Wire) -> Option<HashMap<String, String>> {
    m.get("ExpressionAttributeNames")
        .and_then(Value::as_object)
        .map(|n| {
            n.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
}

fn capacity(m: &Wire) -> Option<ReturnConsumedCapacity> {
    opt_str(m, "ReturnConsumedCapacity").map(|c| ReturnConsumedCapacity::from(c.as_str()))
}

// ---------------------------------------------------------------- GetItem

pub struct GetItem {
    table: Option<String>,
    key: Option<Item>,
    consistent: Option<bool>,
    projection: Option<String>,
    names: Option<HashMap<String, String>>,
    capacity: Option<ReturnConsumedCapacity>,
}

impl Call for GetItem {
    const OPERATION: &'static str = "GetItem";

    fn from_wire(m: &Wire) -> Result<Self, String> {
        only(
            m,
            &[
                "TableName",
                "Key",
                "ConsistentRead",
                "ProjectionExpression",
                "ExpressionAttributeNames",
                "ReturnConsumedCapacity",
            ],
        )?;
        Ok(GetItem {
            table: opt_str(m, "TableName"),
            key: opt_item(m, "Key")?,
            consistent: m.get("ConsistentRead").and_then(Value::as_bool),
            projection: opt_str(m, "ProjectionExpression"),
            names: names(m),
            capacity: capacity(m),
        })
    }

    async fn send<'a>(&'a self, db: &'a Client) -> Result<(), String> {
        db.get_item()
            .set_table_name(self.table.clone())
            .set_key(self.key.clone())
            .set_consistent_read(self.consistent)
            .set_projection_expression(self.projection.clone())
            .set_expression_attribute_names(self.names.clone())
            .set_return_consumed_capacity(self.capacity.clone())
            .send()
            .await
            .map(drop)
            .map_err(sdk_err)
    }
}

// ---------------------------------------------------------------- TransactWriteItems

/// The members every kind of transaction action may have.
struct Action {
    kind: &'static str,
    table: Option<String>,
    item: Option<Item>,
    key: Option<Item>,
    update: Option<String>,
    condition: Option<String>,
    names: Option<HashMap<String, String>>,
    values: Option<Item>,
    on_failure: Option<ReturnValuesOnConditionCheckFailure>,
}

pub struct TransactWrite {
    actions: Vec<Action>,
    capacity: Option<ReturnConsumedCapacity>,
}

impl Action {
    fn from_wire(v: &Value) -> Result<Action, String> {
        let (kind, m) = v
            .as_object()
            .and_then(|m| m.iter().next())
            .ok_or("not a transaction action")?;
        let kind = match kind.as_str() {
            "Put" => "Put",
            "Update" => "Update",
            "Delete" => "Delete",
            "ConditionCheck" => "ConditionCheck",
            other => return Err(format!("unknown transaction action {other}")),
        };
        let m = m.as_object().ok_or("not a transaction action")?;
        only(
            m,
            &[
                "TableName",
                "Item",
                "Key",
                "UpdateExpression",
                "ConditionExpression",
                "ExpressionAttributeNames",
                "ExpressionAttributeValues",
                "ReturnValuesOnConditionCheckFailure",
            ],
        )?;
        Ok(Action {
            kind,
            table: opt_str(m, "TableName"),
            item: opt_item(m, "Item")?,
            key: opt_item(m, "Key")?,
            update: opt_str(m, "UpdateExpression"),
            condition: opt_str(m, "ConditionExpression"),
            names: names(m),
            values: opt_item(m, "ExpressionAttributeValues")?,
            on_failure: opt_str(m, "ReturnValuesOnConditionCheckFailure")
                .map(|r| ReturnValuesOnConditionCheckFailure::from(r.as_str())),
        })
    }

    /// The action as the SDK sends it; a put's item under a new `SK` (`suffix` appended).
    fn build(&self, suffix: &str) -> Result<TransactWriteItem, String> {
        let a = TransactWriteItem::builder();
        Ok(match self.kind {
            "Put" => {
                let mut item = self.item.clone();
                if let Some(AttributeValue::S(sk)) = item.as_mut().and_then(|i| i.get_mut("SK")) {
                    sk.push('~');
                    sk.push_str(suffix);
                }
                a.put(
                    Put::builder()
                        .set_table_name(self.table.clone())
                        .set_item(item)
                        .set_condition_expression(self.condition.clone())
                        .set_expression_attribute_names(self.names.clone())
                        .set_expression_attribute_values(self.values.clone())
                        .set_return_values_on_condition_check_failure(self.on_failure.clone())
                        .build()
                        .map_err(sdk_err)?,
                )
            }
            "Update" => a.update(
                Update::builder()
                    .set_table_name(self.table.clone())
                    .set_key(self.key.clone())
                    .set_update_expression(self.update.clone())
                    .set_condition_expression(self.condition.clone())
                    .set_expression_attribute_names(self.names.clone())
                    .set_expression_attribute_values(self.values.clone())
                    .set_return_values_on_condition_check_failure(self.on_failure.clone())
                    .build()
                    .map_err(sdk_err)?,
            ),
            "Delete" => a.delete(
                Delete::builder()
                    .set_table_name(self.table.clone())
                    .set_key(self.key.clone())
                    .set_condition_expression(self.condition.clone())
                    .set_expression_attribute_names(self.names.clone())
                    .set_expression_attribute_values(self.values.clone())
                    .set_return_values_on_condition_check_failure(self.on_failure.clone())
                    .build()
                    .map_err(sdk_err)?,
            ),
            _ => a.condition_check(
                ConditionCheck::builder()
                    .set_table_name(self.table.clone())
                    .set_key(self.key.clone())
                    .set_condition_expression(self.condition.clone())
                    .set_expression_attribute_names(self.names.clone())
                    .set_expression_attribute_values(self.values.clone())
                    .set_return_values_on_condition_check_failure(self.on_failure.clone())
                    .build()
                    .map_err(sdk_err)?,
            ),
        }
        .build())
    }
}

impl Call for TransactWrite {
    const OPERATION: &'static str = "TransactWriteItems";

    fn from_wire(m: &Wire) -> Result<Self, String> {
        only(
            m,
            &[
                "TransactItems",
                "ClientRequestToken",
                "ReturnConsumedCapacity",
            ],
        )?;
        let actions = m
            .get("TransactItems")
            .and_then(Value::as_array)
            .ok_or("no TransactItems")?
            .iter()
            .map(Action::from_wire)
            .collect::<Result<_, _>>()?;
        Ok(TransactWrite {
            actions,
            capacity: capacity(m),
        })
    }

    async fn send<'a>(&'a self, db: &'a Client) -> Result<(), String> {
        let fresh = ulid::Ulid::generate().to_string();
        let items = self
            .actions
            .iter()
            .map(|a| a.build(&fresh))
            .collect::<Result<Vec<_>, _>>()?;
        db.transact_write_items()
            .set_transact_items(Some(items))
            .client_request_token(fresh)
            .set_return_consumed_capacity(self.capacity.clone())
            .send()
            .await
            .map(drop)
            .map_err(sdk_err)
    }
}

// ---------------------------------------------------------------- Query

pub struct Query {
    table: Option<String>,
    index: Option<String>,
    key_condition: Option<String>,
    filter: Option<String>,
    projection: Option<String>,
    names: Option<HashMap<String, String>>,
    values: Option<Item>,
    limit: Option<i32>,
    start: Option<Item>,
    forward: Option<bool>,
    consistent: Option<bool>,
    select: Option<Select>,
    capacity: Option<ReturnConsumedCapacity>,
}

impl Call for Query {
    const OPERATION: &'static str = "Query";

    fn from_wire(m: &Wire) -> Result<Self, String> {
        only(
            m,
            &[
                "TableName",
                "IndexName",
                "KeyConditionExpression",
                "FilterExpression",
                "ProjectionExpression",
                "ExpressionAttributeNames",
                "ExpressionAttributeValues",
                "Limit",
                "ExclusiveStartKey",
                "ScanIndexForward",
                "ConsistentRead",
                "Select",
                "ReturnConsumedCapacity",
            ],
        )?;
        Ok(Query {
            table: opt_str(m, "TableName"),
            index: opt_str(m, "IndexName"),
            key_condition: opt_str(m, "KeyConditionExpression"),
            filter: opt_str(m, "FilterExpression"),
            projection: opt_str(m, "ProjectionExpression"),
            names: names(m),
            values: opt_item(m, "ExpressionAttributeValues")?,
            limit: m
                .get("Limit")
                .and_then(Value::as_i64)
                .and_then(|l| i32::try_from(l).ok()),
            start: opt_item(m, "ExclusiveStartKey")?,
            forward: m.get("ScanIndexForward").and_then(Value::as_bool),
            consistent: m.get("ConsistentRead").and_then(Value::as_bool),
            select: opt_str(m, "Select").map(|s| Select::from(s.as_str())),
            capacity: capacity(m),
        })
    }

    async fn send<'a>(&'a self, db: &'a Client) -> Result<(), String> {
        db.query()
            .set_table_name(self.table.clone())
            .set_index_name(self.index.clone())
            .set_key_condition_expression(self.key_condition.clone())
            .set_filter_expression(self.filter.clone())
            .set_projection_expression(self.projection.clone())
            .set_expression_attribute_names(self.names.clone())
            .set_expression_attribute_values(self.values.clone())
            .set_limit(self.limit)
            .set_exclusive_start_key(self.start.clone())
            .set_scan_index_forward(self.forward)
            .set_consistent_read(self.consistent)
            .set_select(self.select.clone())
            .set_return_consumed_capacity(self.capacity.clone())
            .send()
            .await
            .map(drop)
            .map_err(sdk_err)
    }
}

// ---------------------------------------------------------------- BatchGetItem

pub struct BatchGet {
    requests: HashMap<String, KeysAndAttributes>,
    capacity: Option<ReturnConsumedCapacity>,
}

impl Call for BatchGet {
    const OPERATION: &'static str = "BatchGetItem";

    fn from_wire(m: &Wire) -> Result<Self, String> {
        only(m, &["RequestItems", "ReturnConsumedCapacity"])?;
        let mut requests = HashMap::new();
        let tables = m
            .get("RequestItems")
            .and_then(Value::as_object)
            .ok_or("no RequestItems")?;
        for (table, r) in tables {
            let r = r.as_object().ok_or("not a table's keys")?;
            only(
                r,
                &[
                    "Keys",
                    "ConsistentRead",
                    "ProjectionExpression",
                    "ExpressionAttributeNames",
                ],
            )?;
            let keys = r
                .get("Keys")
                .and_then(Value::as_array)
                .ok_or("no Keys")?
                .iter()
                .map(item)
                .collect::<Result<Vec<_>, _>>()?;
            let request = KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .set_consistent_read(r.get("ConsistentRead").and_then(Value::as_bool))
                .set_projection_expression(opt_str(r, "ProjectionExpression"))
                .set_expression_attribute_names(names(r))
                .build()
                .map_err(sdk_err)?;
            requests.insert(table.clone(), request);
        }
        Ok(BatchGet {
            requests,
            capacity: capacity(m),
        })
    }

    async fn send<'a>(&'a self, db: &'a Client) -> Result<(), String> {
        db.batch_get_item()
            .set_request_items(Some(self.requests.clone()))
            .set_return_consumed_capacity(self.capacity.clone())
            .send()
            .await
            .map(drop)
            .map_err(sdk_err)
    }
}
