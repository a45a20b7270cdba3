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
/// `ExpressionAttributeNames`.
type Names = HashMap<String, String>;
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

/// A request sent: whether it succeeded is all a baseline keeps of the answer.
fn sent<T, E: std::fmt::Debug>(answer: Result<T, E>) -> Result<(), String> {
    answer.map(drop).map_err(sdk_err)
}

// ---------------------------------------------------------------- DynamoDB's JSON to SDK values

/// A list, each element read by `each`; `not` is the error when `v` is no list.
fn array<T>(
    v: Option<&Value>,
    not: &str,
    each: impl FnMut(&Value) -> Result<T, String>,
) -> Result<Vec<T>, String> {
    v.and_then(Value::as_array)
        .ok_or(not)?
        .iter()
        .map(each)
        .collect()
}

fn attr(v: &Value) -> Result<AttributeValue, String> {
    let (tag, v) = v
        .as_object()
        .and_then(|m| m.iter().next())
        .ok_or_else(|| format!("not an attribute value: {v}"))?;
    let text = |v: &Value| v.as_str().map(str::to_string).ok_or("not a string");
    let texts = |v| array(Some(v), "not a set", |s| text(s).map_err(String::from));
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
        "L" => AttributeValue::L(array(Some(v), "not a list", attr)?),
        "SS" => AttributeValue::Ss(texts(v)?),
        "NS" => AttributeValue::Ns(texts(v)?),
        "BS" => AttributeValue::Bs(array(Some(v), "not a set", blob)?),
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

/// A request member as the replayer keeps it. The bodies are the SDK's own, so a member of
/// another JSON type than its own is not looked for: it reads as absent (an item's fails).
trait Member: Sized {
    fn from_json(v: &Value) -> Result<Option<Self>, String>;
}

impl Member for String {
    fn from_json(v: &Value) -> Result<Option<Self>, String> {
        Ok(v.as_str().map(str::to_string))
    }
}

impl Member for bool {
    fn from_json(v: &Value) -> Result<Option<Self>, String> {
        Ok(v.as_bool())
    }
}

impl Member for i32 {
    fn from_json(v: &Value) -> Result<Option<Self>, String> {
        Ok(v.as_i64().and_then(|l| i32::try_from(l).ok()))
    }
}

impl Member for Item {
    fn from_json(v: &Value) -> Result<Option<Self>, String> {
        item(v).map(Some)
    }
}

impl Member for Names {
    fn from_json(v: &Value) -> Result<Option<Self>, String> {
        Ok(v.as_object().map(|n| {
            n.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        }))
    }
}

/// The SDK's enums, named on the wire as the SDK names their values.
macro_rules! named_members {
    ($($enum:ty),*) => {$(
        impl Member for $enum {
            fn from_json(v: &Value) -> Result<Option<Self>, String> {
                Ok(v.as_str().map(<$enum>::from))
            }
        }
    )*};
}

named_members!(
    ReturnConsumedCapacity,
    ReturnValuesOnConditionCheckFailure,
    Select
);

/// A request's (or a part's) members, as `read` takes them one by one; then fails on a member
/// it did not take, so a request this replayer would send differently from the recorded one is
/// noticed at start instead of measured, and what it accepts cannot drift from what it reads.
fn members<'a, T>(
    body: &'a Wire,
    read: impl FnOnce(&mut Members<'a>) -> Result<T, String>,
) -> Result<T, String> {
    let mut m = Members {
        body,
        taken: Vec::new(),
    };
    let read = read(&mut m)?;
    match body.keys().find(|k| !m.taken.contains(&k.as_str())) {
        Some(k) => Err(format!("unsupported request member {k}")),
        None => Ok(read),
    }
}

struct Members<'a> {
    body: &'a Wire,
    taken: Vec<&'static str>,
}

impl<'a> Members<'a> {
    fn raw(&mut self, key: &'static str) -> Option<&'a Value> {
        self.taken.push(key);
        self.body.get(key)
    }

    fn take<T: Member>(&mut self, key: &'static str) -> Result<Option<T>, String> {
        Ok(self.raw(key).map(T::from_json).transpose()?.flatten())
    }
}

// ---------------------------------------------------------------- GetItem, Query

/// Requests of plain members only, sent again member for member. Each request's list names a
/// member's field, wire name and setter together, so a member the replayer accepts is one it
/// sends; the members both reads have (`shared`) are listed once.
macro_rules! reads {
    (
        shared $shared:tt
        $($name:ident = $operation:literal, $method:ident $own:tt)*
    ) => {
        $(reads!(@call $name = $operation, $method $own $shared);)*
    };
    (
        @call $name:ident = $operation:literal, $method:ident
        { $($own:tt)* } { $($shared:tt)* }
    ) => {
        reads!(@flat $name = $operation, $method { $($own)* $($shared)* });
    };
    (
        @flat $name:ident = $operation:literal, $method:ident {
            $($field:ident: $ty:ty = $member:literal => $setter:ident,)*
        }
    ) => {
        pub struct $name {
            $($field: Option<$ty>,)*
        }

        impl Call for $name {
            const OPERATION: &'static str = $operation;

            fn from_wire(m: &Wire) -> Result<Self, String> {
                members(m, |m| Ok($name {
                    $($field: m.take($member)?,)*
                }))
            }

            async fn send<'a>(&'a self, db: &'a Client) -> Result<(), String> {
                sent(db.$method()$(.$setter(self.$field.clone()))*.send().await)
            }
        }
    };
}

reads! {
    shared {
        table: String = "TableName" => set_table_name,
        consistent: bool = "ConsistentRead" => set_consistent_read,
        projection: String = "ProjectionExpression" => set_projection_expression,
        names: Names = "ExpressionAttributeNames" => set_expression_attribute_names,
        capacity: ReturnConsumedCapacity = "ReturnConsumedCapacity" => set_return_consumed_capacity,
    }
    GetItem = "GetItem", get_item {
        key: Item = "Key" => set_key,
    }
    Query = "Query", query {
        index: String = "IndexName" => set_index_name,
        key_condition: String = "KeyConditionExpression" => set_key_condition_expression,
        filter: String = "FilterExpression" => set_filter_expression,
        values: Item = "ExpressionAttributeValues" => set_expression_attribute_values,
        limit: i32 = "Limit" => set_limit,
        start: Item = "ExclusiveStartKey" => set_exclusive_start_key,
        forward: bool = "ScanIndexForward" => set_scan_index_forward,
        select: Select = "Select" => set_select,
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
    names: Option<Names>,
    values: Option<Item>,
    on_failure: Option<ReturnValuesOnConditionCheckFailure>,
}

pub struct TransactWrite {
    actions: Vec<Action>,
    capacity: Option<ReturnConsumedCapacity>,
}

/// The members the four kinds of action share, set on any of their builders: the SDK's builders
/// are distinct types with no trait in common, and a macro keeps each call what it was (no boxing,
/// no dispatch) in the replayed hot path.
macro_rules! conditional {
    ($builder:expr, $action:expr) => {
        $builder
            .set_table_name($action.table.clone())
            .set_condition_expression($action.condition.clone())
            .set_expression_attribute_names($action.names.clone())
            .set_expression_attribute_values($action.values.clone())
            .set_return_values_on_condition_check_failure($action.on_failure.clone())
            .build()
            .map_err(sdk_err)
    };
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
        members(m, |m| {
            Ok(Action {
                kind,
                table: m.take("TableName")?,
                item: m.take("Item")?,
                key: m.take("Key")?,
                update: m.take("UpdateExpression")?,
                condition: m.take("ConditionExpression")?,
                names: m.take("ExpressionAttributeNames")?,
                values: m.take("ExpressionAttributeValues")?,
                on_failure: m.take("ReturnValuesOnConditionCheckFailure")?,
            })
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
                a.put(conditional!(Put::builder().set_item(item), self)?)
            }
            "Update" => a.update(conditional!(
                Update::builder()
                    .set_key(self.key.clone())
                    .set_update_expression(self.update.clone()),
                self
            )?),
            "Delete" => a.delete(conditional!(
                Delete::builder().set_key(self.key.clone()),
                self
            )?),
            _ => a.condition_check(conditional!(
                ConditionCheck::builder().set_key(self.key.clone()),
                self
            )?),
        }
        .build())
    }
}

impl Call for TransactWrite {
    const OPERATION: &'static str = "TransactWriteItems";

    fn from_wire(m: &Wire) -> Result<Self, String> {
        members(m, |m| {
            let actions = array(
                m.raw("TransactItems"),
                "no TransactItems",
                Action::from_wire,
            )?;
            // Each event sends a fresh token of its own, as each of the function's requests does.
            m.raw("ClientRequestToken");
            Ok(TransactWrite {
                actions,
                capacity: m.take("ReturnConsumedCapacity")?,
            })
        })
    }

    async fn send<'a>(&'a self, db: &'a Client) -> Result<(), String> {
        let fresh = ulid::Ulid::generate().to_string();
        let items = self
            .actions
            .iter()
            .map(|a| a.build(&fresh))
            .collect::<Result<Vec<_>, _>>()?;
        sent(
            db.transact_write_items()
                .set_transact_items(Some(items))
                .client_request_token(fresh)
                .set_return_consumed_capacity(self.capacity.clone())
                .send()
                .await,
        )
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
        members(m, |m| {
            let tables = m
                .raw("RequestItems")
                .and_then(Value::as_object)
                .ok_or("no RequestItems")?;
            let mut requests = HashMap::new();
            for (table, r) in tables {
                let r = r.as_object().ok_or("not a table's keys")?;
                let request = members(r, |r| {
                    KeysAndAttributes::builder()
                        .set_keys(Some(array(r.raw("Keys"), "no Keys", item)?))
                        .set_consistent_read(r.take("ConsistentRead")?)
                        .set_projection_expression(r.take("ProjectionExpression")?)
                        .set_expression_attribute_names(r.take("ExpressionAttributeNames")?)
                        .build()
                        .map_err(sdk_err)
                })?;
                requests.insert(table.clone(), request);
            }
            Ok(BatchGet {
                requests,
                capacity: m.take("ReturnConsumedCapacity")?,
            })
        })
    }

    async fn send<'a>(&'a self, db: &'a Client) -> Result<(), String> {
        sent(
            db.batch_get_item()
                .set_request_items(Some(self.requests.clone()))
                .set_return_consumed_capacity(self.capacity.clone())
                .send()
                .await,
        )
    }
}
