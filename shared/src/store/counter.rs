//! Counts DynamoDB requests per operation (every attempt, retries included), so tests can assert
//! how many round trips an API operation costs; and records which IAM actions each function's
//! code issued, so the tests can hold every function to exactly the actions its IAM policy
//! grants (`functions/src/iam.rs`, `template.yaml`).

use crate::metrics::Hooked;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef as Serializing,
    BeforeTransmitInterceptorContextRef as Transmitting,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents as Runtime;
use aws_smithy_types::config_bag::ConfigBag as Bag;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::{Arc, Mutex};

tokio::task_local! {
    /// The function (binary) whose handler is running: what its DynamoDB calls are charged to.
    static FUNCTION: &'static str;
}

/// Runs `work` as `function`'s: the IAM actions its DynamoDB calls need are recorded under that
/// name (by a client with a counter; a no-op otherwise).
pub async fn as_function<F: Future>(function: &'static str, work: F) -> F::Output {
    FUNCTION.scope(function, work).await
}

#[derive(Debug, Clone, Default)]
pub struct RequestCounter {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
    actions: Arc<Mutex<BTreeSet<(&'static str, String)>>>,
}

/// The IAM actions one request needs. A transaction is authorised item by item, as the item
/// actions its parts are (AWS: "Actions, resources, and condition keys for Amazon DynamoDB").
fn iam_actions(
    operation: &str,
    input: &aws_smithy_runtime_api::client::interceptors::context::Input,
) -> Vec<String> {
    match operation {
        "TransactWriteItems" => input
            .downcast_ref::<TransactWriteItemsInput>()
            .map(|tx| {
                tx.transact_items()
                    .iter()
                    .filter_map(|item| {
                        if item.put().is_some() {
                            Some("PutItem")
                        } else if item.update().is_some() {
                            Some("UpdateItem")
                        } else if item.delete().is_some() {
                            Some("DeleteItem")
                        } else if item.condition_check().is_some() {
                            Some("ConditionCheckItem")
                        } else {
                            None
                        }
                    })
                    .map(|a| format!("dynamodb:{a}"))
                    .collect()
            })
            .unwrap_or_default(),
        "TransactGetItems" => vec!["dynamodb:GetItem".into()],
        other => vec![format!("dynamodb:{other}")],
    }
}

impl RequestCounter {
    /// Counts so far, by operation name (`GetItem`, `TransactWriteItems`, …).
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.counts.lock().map(|m| m.clone()).unwrap_or_default()
    }

    pub fn reset(&self) {
        if let Ok(mut m) = self.counts.lock() {
            m.clear();
        }
    }

    pub fn total(&self) -> u64 {
        self.snapshot().values().sum()
    }

    /// (function, IAM action) pairs issued so far by code run under [`as_function`].
    pub fn actions(&self) -> BTreeSet<(&'static str, String)> {
        self.actions.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// The DynamoDB operation a request is for (`GetItem`, …), as the SDK names it.
fn operation_name(cfg: &Bag) -> String {
    cfg.load::<Metadata>()
        .map(|m| m.name().to_string())
        .unwrap_or_else(|| "unknown".into())
}

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_serialization(&self, c: &Serializing<'_>, _: &Runtime, cfg: &mut Bag) -> Hooked {
        let Ok(function) = FUNCTION.try_with(|f| *f) else {
            return Ok(());
        };
        let operation = operation_name(cfg);
        let actions = iam_actions(&operation, c.input());
        if let Ok(mut set) = self.actions.lock() {
            set.extend(actions.into_iter().map(|a| (function, a)));
        }
        Ok(())
    }

    fn read_before_transmit(&self, _: &Transmitting<'_>, _: &Runtime, cfg: &mut Bag) -> Hooked {
        let name = operation_name(cfg);
        if let Ok(mut m) = self.counts.lock() {
            *m.entry(name).or_default() += 1;
        }
        Ok(())
    }
}
