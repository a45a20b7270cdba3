//! The DynamoDB actions each function's code issues: its IAM policy in `template.yaml` grants
//! exactly these (`scripts/check-template.sh` compares them), and the end-to-end tests fail when
//! a handler issues one that is not listed here (`tests/common`, through the request counter).
//! A transaction needs the item actions of its parts (Put → `PutItem`, Update → `UpdateItem`,
//! Delete → `DeleteItem`, ConditionCheck → `ConditionCheckItem`).
//!
//! Every write also reads its `Idempotency-Key` item back when the key is held (API.md §11),
//! so every write function has `GetItem`.
//!
//! Entries stay literal pairs of a function's name const and an array of actions:
//! check-template.sh reads this file as text (and the const's string in its module).

use crate::{
    access, access_requests, entitlements, history, metadata_attributes, sweep, technology,
};

// One row a function (rustfmt would spread each over lines), so a policy reads as one line.
#[rustfmt::skip]
pub const ACTIONS: &[(&str, &[&str])] = &[
    (technology::list::ROUTE.function, &["dynamodb:Query"]),
    (technology::create::ROUTE.function, &["dynamodb:GetItem", "dynamodb:PutItem"]),
    (technology::get::ROUTE.function, &["dynamodb:GetItem"]),
    (technology::update::ROUTE.function, &["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:DeleteItem"]),
    (technology::delete::ROUTE.function, &["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Query"]),
    (entitlements::list::ROUTE.function, &["dynamodb:Query", "dynamodb:BatchGetItem"]),
    (entitlements::create::ROUTE.function, &["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]),
    (entitlements::get::ROUTE.function, &["dynamodb:GetItem", "dynamodb:BatchGetItem"]),
    (entitlements::update::ROUTE.function, &["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:BatchGetItem"]),
    (entitlements::revoke::ROUTE.function, &["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:BatchGetItem"]),
    (entitlements::metadata::ADD.function, &["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem", "dynamodb:PutItem", "dynamodb:BatchGetItem"]),
    (entitlements::metadata::REMOVE.function, &["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem", "dynamodb:PutItem", "dynamodb:BatchGetItem"]),
    (access_requests::list::ROUTE.function, &["dynamodb:Query"]),
    (access_requests::create::ROUTE.function, &["dynamodb:GetItem", "dynamodb:PutItem"]),
    (access_requests::get::ROUTE.function, &["dynamodb:GetItem"]),
    (access_requests::update::ROUTE.function, &["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem"]),
    (access_requests::delete::ROUTE.function, &["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem"]),
    (access_requests::decide::APPROVE.function, &["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:ConditionCheckItem"]),
    (access_requests::decide::REJECT.function, &["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:ConditionCheckItem"]),
    (access_requests::provision::ROUTE.function, &["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"]),
    (metadata_attributes::list::ROUTE.function, &["dynamodb:Query"]),
    (metadata_attributes::create::ROUTE.function, &["dynamodb:GetItem", "dynamodb:PutItem"]),
    (metadata_attributes::get::ROUTE.function, &["dynamodb:GetItem"]),
    (metadata_attributes::update::ROUTE.function, &["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem"]),
    (history::TECHNOLOGY.function, &["dynamodb:GetItem", "dynamodb:Query"]),
    (history::TECHNOLOGY_VERIFY.function, &["dynamodb:GetItem", "dynamodb:Query"]),
    (history::TECHNOLOGY_ACCESS.function, &["dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchGetItem"]),
    (history::ENTITLEMENTS.function, &["dynamodb:GetItem", "dynamodb:Query"]),
    (history::ENTITLEMENTS_VERIFY.function, &["dynamodb:GetItem", "dynamodb:Query"]),
    (history::ACCESS_REQUESTS.function, &["dynamodb:GetItem", "dynamodb:Query"]),
    (history::ACCESS_REQUESTS_VERIFY.function, &["dynamodb:GetItem", "dynamodb:Query"]),
    (history::METADATA_ATTRIBUTES.function, &["dynamodb:GetItem", "dynamodb:Query"]),
    (history::METADATA_ATTRIBUTES_VERIFY.function, &["dynamodb:GetItem", "dynamodb:Query"]),
    (history::AUDIT_EVENTS.function, &["dynamodb:Query"]),
    (sweep::NAME, &["dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:PutItem"]),
    (access::EVALUATION.function, &["dynamodb:BatchGetItem"]),
    (access::EVALUATIONS.function, &["dynamodb:BatchGetItem"]),
    (access::SEARCH_SUBJECT.function, &["dynamodb:Query", "dynamodb:BatchGetItem"]),
    (access::SEARCH_RESOURCE.function, &["dynamodb:Query", "dynamodb:BatchGetItem"]),
    (access::SEARCH_ACTION.function, &["dynamodb:Query", "dynamodb:BatchGetItem"]),
    (access::CONFIGURATION.function, &[]),
];

/// The actions `function` may issue (none for a name this table does not know).
pub fn actions(function: &str) -> &'static [&'static str] {
    ACTIONS
        .iter()
        .find(|(name, _)| *name == function)
        .map(|(_, actions)| *actions)
        .unwrap_or(&[])
}
