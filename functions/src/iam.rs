//! The DynamoDB actions each function's code issues: its IAM policy in `template.yaml` grants
//! exactly these (`scripts/check-template.sh` compares them), and the end-to-end tests fail when
//! a handler issues one that is not listed here (`tests/common`, through the request counter).
//! A transaction needs the item actions of its parts (Put → `PutItem`, Update → `UpdateItem`,
//! Delete → `DeleteItem`, ConditionCheck → `ConditionCheckItem`).
//!
//! Entries stay literal pairs of a function's name const and an array of actions:
//! check-template.sh reads this file as text (and the const's string in its module).

use crate::{access_requests, entitlements, metadata_attributes, sweep, technology};

pub const ACTIONS: &[(&str, &[&str])] = &[
    (technology::list::NAME, &["dynamodb:Query"]),
    (technology::create::NAME, &["dynamodb:PutItem"]),
    (technology::get::NAME, &["dynamodb:GetItem"]),
    (
        technology::update::NAME,
        &[
            "dynamodb:GetItem",
            "dynamodb:UpdateItem",
            "dynamodb:PutItem",
            "dynamodb:DeleteItem",
        ],
    ),
    (
        technology::delete::NAME,
        &[
            "dynamodb:GetItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:Query",
        ],
    ),
    (
        entitlements::list::NAME,
        &["dynamodb:Query", "dynamodb:BatchGetItem"],
    ),
    (
        entitlements::create::NAME,
        &["dynamodb:PutItem", "dynamodb:UpdateItem"],
    ),
    (
        entitlements::get::NAME,
        &["dynamodb:GetItem", "dynamodb:BatchGetItem"],
    ),
    (
        entitlements::update::NAME,
        &[
            "dynamodb:GetItem",
            "dynamodb:UpdateItem",
            "dynamodb:ConditionCheckItem",
            "dynamodb:PutItem",
            "dynamodb:DeleteItem",
            "dynamodb:BatchGetItem",
        ],
    ),
    (
        entitlements::revoke::NAME,
        &[
            "dynamodb:GetItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:BatchGetItem",
        ],
    ),
    (
        entitlements::metadata::ADD_NAME,
        &[
            "dynamodb:GetItem",
            "dynamodb:UpdateItem",
            "dynamodb:ConditionCheckItem",
            "dynamodb:BatchGetItem",
        ],
    ),
    (
        entitlements::metadata::REMOVE_NAME,
        &[
            "dynamodb:GetItem",
            "dynamodb:UpdateItem",
            "dynamodb:ConditionCheckItem",
            "dynamodb:BatchGetItem",
        ],
    ),
    (access_requests::list::NAME, &["dynamodb:Query"]),
    (
        access_requests::create::NAME,
        &["dynamodb:GetItem", "dynamodb:PutItem"],
    ),
    (access_requests::get::NAME, &["dynamodb:GetItem"]),
    (
        access_requests::update::NAME,
        &["dynamodb:GetItem", "dynamodb:UpdateItem"],
    ),
    (
        access_requests::delete::NAME,
        &["dynamodb:GetItem", "dynamodb:UpdateItem"],
    ),
    (
        access_requests::decide::APPROVE_NAME,
        &["dynamodb:GetItem", "dynamodb:UpdateItem"],
    ),
    (
        access_requests::decide::REJECT_NAME,
        &["dynamodb:GetItem", "dynamodb:UpdateItem"],
    ),
    (
        access_requests::provision::NAME,
        &[
            "dynamodb:GetItem",
            "dynamodb:UpdateItem",
            "dynamodb:PutItem",
            "dynamodb:DeleteItem",
            "dynamodb:ConditionCheckItem",
        ],
    ),
    (metadata_attributes::list::NAME, &["dynamodb:Query"]),
    (metadata_attributes::create::NAME, &["dynamodb:PutItem"]),
    (metadata_attributes::get::NAME, &["dynamodb:GetItem"]),
    (
        metadata_attributes::update::NAME,
        &["dynamodb:GetItem", "dynamodb:UpdateItem"],
    ),
    (
        sweep::NAME,
        &[
            "dynamodb:Query",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        ],
    ),
];

/// The actions `function` may issue (none for a name this table does not know).
pub fn actions(function: &str) -> &'static [&'static str] {
    ACTIONS
        .iter()
        .find(|(name, _)| *name == function)
        .map(|(_, actions)| *actions)
        .unwrap_or(&[])
}
