//! Access-model metadata on an entitlement (API.md §4, after SailPoint): which attribute values
//! it carries, and how that is shown.
//!
//! The entitlement stores references only (`[{key, values}]`); responses join the tenant's
//! current attribute definitions, so a renamed or deactivated attribute or value shows as it is
//! now. The cost of that choice: one BatchGetItem of the attributes an entitlement (or a page
//! of them) carries, and none when none carries metadata — against an unbounded fan-out of
//! writes to every carrying entitlement if the definitions were copied onto them.

use super::attribute::Attribute;
use super::entitlement::{ensure_changeable, Entitlement, MetadataRef};
use crate::error::{ApiError, ApiResult};
use serde_json::{json, Value};
use std::collections::HashMap;

/// At most this many attributes on one entitlement, and this many values of one attribute:
/// bounds the item (20 × 50 values of ≤ 64 characters stay far below DynamoDB's 400 KB).
pub const MAX_ATTRIBUTES: usize = 20;
pub const MAX_VALUES: usize = 50;

/// The 409 of an entitlement that already carries as much metadata as it may.
fn full(what: String, limit: usize) -> ApiError {
    ApiError::conflict_with(
        what,
        [
            ("field", Value::String("access_model_metadata".into())),
            ("limit", Value::from(limit)),
        ],
    )
}

fn applies_to_entitlements(attr: &Attribute) -> bool {
    attr.fields
        .object_types
        .iter()
        .any(|t| t == "entitlement" || t == "all")
}

/// The references after adding `value` of `attr` to `ent`: `None` inside = the attribute list
/// is empty. The attribute and the value must exist and be active (400, judged first); the
/// entitlement must be live (409); a non-multiselect attribute keeps one value (the new one
/// replaces it); adding a value already there changes nothing; past `MAX_ATTRIBUTES` or
/// `MAX_VALUES` it is a 409. Racing adds cannot overshoot: the store writes conditionally on the
/// revision this was computed from.
pub fn add_value(
    ent: &Entitlement,
    attr: Option<&Attribute>,
    key: &str,
    value: &str,
) -> ApiResult<Option<Vec<MetadataRef>>> {
    let Some(attr) = attr else {
        return Err(ApiError::field(
            "attributeKey",
            format!("no metadata attribute '{key}' exists in this tenant"),
        ));
    };
    if !attr.is_active() {
        return Err(ApiError::field(
            "attributeKey",
            format!("attribute '{key}' is inactive"),
        ));
    }
    if !applies_to_entitlements(attr) {
        return Err(ApiError::field(
            "attributeKey",
            format!("attribute '{key}' does not apply to entitlements"),
        ));
    }
    match attr.value(value) {
        None => {
            return Err(ApiError::field(
                "attributeValue",
                format!("attribute '{key}' has no value '{value}'"),
            ))
        }
        Some(v) if !v.is_active() => {
            return Err(ApiError::field(
                "attributeValue",
                format!("value '{value}' of attribute '{key}' is inactive"),
            ))
        }
        Some(_) => {}
    }
    ensure_changeable(ent)?;
    let current = ent.fields.access_model_metadata.as_deref();
    let mut refs: Vec<MetadataRef> = current.map(<[MetadataRef]>::to_vec).unwrap_or_default();
    match refs.iter_mut().find(|r| r.key == key) {
        Some(r) if r.values.iter().any(|v| v == value) => {}
        Some(r) if attr.fields.multiselect => {
            if r.values.len() >= MAX_VALUES {
                return Err(full(
                    format!(
                        "attribute '{key}' already holds {MAX_VALUES} values on this \
                         entitlement, the most it may; remove one first"
                    ),
                    MAX_VALUES,
                ));
            }
            r.values.push(value.to_string())
        }
        Some(r) => r.values = vec![value.to_string()],
        None => {
            if refs.len() >= MAX_ATTRIBUTES {
                return Err(full(
                    format!(
                        "the entitlement already carries {MAX_ATTRIBUTES} metadata attributes, \
                         the most it may; remove one first"
                    ),
                    MAX_ATTRIBUTES,
                ));
            }
            refs.push(MetadataRef {
                key: key.to_string(),
                values: vec![value.to_string()],
            })
        }
    }
    Ok(Some(refs))
}

/// The references after removing `value` of `key` from a live `ent` (409 when it ended); an
/// absent value is a no-op, an attribute left with no values is dropped, and with none left
/// the metadata is `None`.
pub fn remove_value(
    ent: &Entitlement,
    key: &str,
    value: &str,
) -> ApiResult<Option<Vec<MetadataRef>>> {
    ensure_changeable(ent)?;
    let current = ent.fields.access_model_metadata.as_deref();
    let mut refs: Vec<MetadataRef> = current.map(<[MetadataRef]>::to_vec).unwrap_or_default();
    for r in refs.iter_mut().filter(|r| r.key == key) {
        r.values.retain(|v| v != value);
    }
    refs.retain(|r| !r.values.is_empty());
    Ok((!refs.is_empty()).then_some(refs))
}

/// Every attribute key a set of references names.
pub fn keys<'a>(refs: impl IntoIterator<Item = &'a Option<Vec<MetadataRef>>>) -> Vec<String> {
    let mut keys: Vec<String> = refs
        .into_iter()
        .flatten()
        .flat_map(|r| r.iter().map(|m| m.key.clone()))
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// `{"attributes": [...]}` with the current definitions, or `null` when there are none.
pub fn render(refs: Option<&[MetadataRef]>, catalog: &HashMap<String, Attribute>) -> Value {
    let Some(refs) = refs.filter(|r| !r.is_empty()) else {
        return Value::Null;
    };
    let attributes: Vec<Value> = refs
        .iter()
        .map(|r| {
            let attr = catalog.get(&r.key);
            let values: Vec<Value> = r
                .values
                .iter()
                .map(|v| match attr.and_then(|a| a.value(v)) {
                    Some(def) => {
                        json!({"value": def.value, "name": def.name, "status": def.status})
                    }
                    // A value since taken out of the catalog: shown, but no longer in force.
                    None => json!({"value": v, "name": null, "status": "inactive"}),
                })
                .collect();
            match attr {
                Some(a) => json!({
                    "key": a.fields.key,
                    "name": a.fields.name,
                    "multiselect": a.fields.multiselect,
                    "status": a.fields.status,
                    "type": a.fields.attribute_type,
                    "object_types": a.fields.object_types,
                    "description": a.fields.description,
                    "values": values,
                }),
                None => json!({
                    "key": r.key, "name": null, "multiselect": null, "status": "inactive",
                    "type": null, "object_types": null, "description": null, "values": values,
                }),
            }
        })
        .collect();
    json!({ "attributes": attributes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::attribute::{parse_create, Attribute};
    use crate::domain::entitlement::{self, Granter};
    use crate::envelope::test_envelope as envelope;
    use crate::time::Timestamp;

    fn attribute(key: &str, multiselect: bool, values: usize) -> Attribute {
        let values: Vec<Value> = (0..values)
            .map(|i| json!({"value": format!("v{i}"), "name": "n"}))
            .collect();
        let body = json!({"key": key, "name": key, "type": "custom",
                          "multiselect": multiselect, "values": values});
        let Value::Object(map) = body else {
            unreachable!()
        };
        Attribute {
            envelope: envelope("amd_1"),
            fields: parse_create(map).unwrap().0,
        }
    }

    fn grant(status: &str) -> Entitlement {
        let body = json!({"asset_id": "ast_1", "principal_id": "p", "principal_type": "person",
                          "entitlement_type": "x"});
        let Value::Object(map) = body else {
            unreachable!()
        };
        let granter = Granter {
            sub: "u",
            is_app: false,
        };
        let (mut fields, _) = entitlement::parse_create(map, &granter, Timestamp::now()).unwrap();
        fields.status = crate::vocab::Closed::parse(status).unwrap();
        Entitlement {
            envelope: envelope("ent_1"),
            fields,
        }
    }

    fn conflict_limit(err: ApiError) -> Value {
        match err {
            ApiError::Conflict { extra, .. } => {
                assert_eq!(extra["field"], "access_model_metadata");
                extra["limit"].clone()
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
    }

    #[test]
    fn values_of_one_attribute_stop_at_the_cap() {
        let attr = attribute("many", true, MAX_VALUES + 1);
        let mut ent = grant("active");
        for i in 0..MAX_VALUES {
            ent.fields.access_model_metadata =
                add_value(&ent, Some(&attr), "many", &format!("v{i}")).unwrap();
        }
        let held = ent.fields.access_model_metadata.clone().unwrap();
        assert_eq!(held[0].values.len(), MAX_VALUES);
        let last = format!("v{MAX_VALUES}");
        let err = add_value(&ent, Some(&attr), "many", &last).unwrap_err();
        assert_eq!(conflict_limit(err), MAX_VALUES);
        // Re-adding a held value is still a no-op, not a refusal.
        assert_eq!(
            add_value(&ent, Some(&attr), "many", "v0").unwrap(),
            Some(held)
        );
    }

    #[test]
    fn attributes_of_one_entitlement_stop_at_the_cap() {
        let mut ent = grant("active");
        for i in 0..MAX_ATTRIBUTES {
            let attr = attribute(&format!("a{i}"), false, 2);
            ent.fields.access_model_metadata =
                add_value(&ent, Some(&attr), &format!("a{i}"), "v0").unwrap();
        }
        let extra = attribute("extra", false, 1);
        let err = add_value(&ent, Some(&extra), "extra", "v0").unwrap_err();
        assert_eq!(conflict_limit(err), MAX_ATTRIBUTES);
        // A single-valued attribute already held still swaps its value at the cap.
        let a0 = attribute("a0", false, 2);
        let swapped = add_value(&ent, Some(&a0), "a0", "v1").unwrap().unwrap();
        assert_eq!(swapped.len(), MAX_ATTRIBUTES);
        assert_eq!(swapped[0].values, vec!["v1"]);
    }

    #[test]
    fn bad_values_are_400_before_an_ended_entitlement_is_409() {
        let attr = attribute("a", false, 1);
        let ended = grant("revoked");
        for (attr, value) in [(None, "v0"), (Some(&attr), "nope")] {
            let err = add_value(&ended, attr, "a", value).unwrap_err();
            assert_eq!(err.status(), 400, "{err:?}");
        }
        assert_eq!(
            add_value(&ended, Some(&attr), "a", "v0")
                .unwrap_err()
                .status(),
            409
        );
        assert_eq!(remove_value(&ended, "a", "v0").unwrap_err().status(), 409);
    }
}
