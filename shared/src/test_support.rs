//! What the crate's unit tests of bodies and their validation share.

use crate::error::ApiError;
use serde_json::{Map, Value};

/// A `json!` object as the body map the parsers take.
pub(crate) fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("expected a JSON object, got {other}"),
    }
}

/// The fields a validation error names, in the order it names them.
pub(crate) fn fields_of(err: ApiError) -> Vec<String> {
    match err {
        ApiError::Validation(errs) => errs.into_iter().map(|e| e.field).collect(),
        other => panic!("expected validation, got {other:?}"),
    }
}

/// The fields a validation error names, sorted: for bodies wrong in many places at once.
pub(crate) fn sorted_fields_of(err: ApiError) -> Vec<String> {
    let mut fields = fields_of(err);
    fields.sort();
    fields
}

/// `body` with the two mistakes every create body is checked for besides its own, and names:
/// an unknown `source_type` and a member no resource has (`extra`).
pub(crate) fn with_envelope_mistakes(body: Value) -> Map<String, Value> {
    let mut body = obj(body);
    body.insert("source_type".into(), "robot".into());
    body.insert("extra".into(), true.into());
    body
}

/// Any JSON value: every kind, nested three deep, keys and strings of any characters.
pub(crate) fn json_values() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        proptest::num::f64::NORMAL.prop_map(Value::from),
        any::<String>().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            proptest::collection::btree_map(any::<String>(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
