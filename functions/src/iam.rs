//! The DynamoDB actions each function's code issues: its IAM policy in `template.yaml` grants
//! exactly these (`scripts/check-template.sh` compares them), and the end-to-end tests fail when
//! a handler issues one that is not listed here (`tests/common`, through the request counter).
//! A transaction needs the item actions of its parts (Put → `PutItem`, Update → `UpdateItem`,
//! Delete → `DeleteItem`, ConditionCheck → `ConditionCheckItem`).
//!
//! Entries stay literal pairs of a function name and an array of actions: check-template.sh
//! reads this file as text.

pub const ACTIONS: &[(&str, &[&str])] = &[
    ("technology-list", &["dynamodb:Query"]),
    ("technology-create", &["dynamodb:PutItem"]),
    ("technology-get", &["dynamodb:GetItem"]),
    (
        "technology-update",
        &[
            "dynamodb:GetItem",
            "dynamodb:UpdateItem",
            "dynamodb:PutItem",
            "dynamodb:DeleteItem",
        ],
    ),
    (
        "technology-delete",
        &[
            "dynamodb:GetItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:Query",
        ],
    ),
    (
        "entitlements-list",
        &["dynamodb:Query", "dynamodb:BatchGetItem"],
    ),
    (
        "entitlements-create",
        &["dynamodb:PutItem", "dynamodb:UpdateItem"],
    ),
    (
        "entitlements-get",
        &["dynamodb:GetItem", "dynamodb:BatchGetItem"],
    ),
    (
        "entitlements-update",
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
        "entitlements-revoke",
        &[
            "dynamodb:GetItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:BatchGetItem",
        ],
    ),
    (
        "entitlements-metadata-add",
        &[
            "dynamodb:GetItem",
            "dynamodb:UpdateItem",
            "dynamodb:ConditionCheckItem",
            "dynamodb:BatchGetItem",
        ],
    ),
    (
        "entitlements-metadata-remove",
        &[
            "dynamodb:GetItem",
            "dynamodb:UpdateItem",
            "dynamodb:ConditionCheckItem",
            "dynamodb:BatchGetItem",
        ],
    ),
    ("access-requests-list", &["dynamodb:Query"]),
    (
        "access-requests-create",
        &["dynamodb:GetItem", "dynamodb:PutItem"],
    ),
    ("access-requests-get", &["dynamodb:GetItem"]),
    (
        "access-requests-update",
        &["dynamodb:GetItem", "dynamodb:UpdateItem"],
    ),
    (
        "access-requests-delete",
        &["dynamodb:GetItem", "dynamodb:UpdateItem"],
    ),
    (
        "access-requests-approve",
        &["dynamodb:GetItem", "dynamodb:UpdateItem"],
    ),
    (
        "access-requests-reject",
        &["dynamodb:GetItem", "dynamodb:UpdateItem"],
    ),
    (
        "access-requests-provision",
        &[
            "dynamodb:GetItem",
            "dynamodb:UpdateItem",
            "dynamodb:PutItem",
            "dynamodb:DeleteItem",
            "dynamodb:ConditionCheckItem",
        ],
    ),
    ("metadata-attributes-list", &["dynamodb:Query"]),
    ("metadata-attributes-create", &["dynamodb:PutItem"]),
    ("metadata-attributes-get", &["dynamodb:GetItem"]),
    (
        "metadata-attributes-update",
        &["dynamodb:GetItem", "dynamodb:UpdateItem"],
    ),
    (
        "expiry-sweep",
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
