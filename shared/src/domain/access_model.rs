//! Access-model metadata on an entitlement (API.md §4, after SailPoint): which attribute values
//! it carries, and how that is shown.
//!
//! The entitlement stores references only (`[{key, values}]`); responses join the tenant's
//! current attribute definitions, so a renamed or deactivated attribute or value shows as it is
//! now. The cost of that choice: one BatchGetItem of the attributes an entitlement (or a page
//! of them) carries, and none when none carries metadata — against an unbounded fan-out of
//! writes to every carrying entitlement if the definitions were copied onto them.

use super::attribute::Attribute;
use super::entitlement::MetadataRef;
use crate::error::{ApiError, ApiResult};
use serde_json::{json, Value};
use std::collections::HashMap;

fn applies_to_entitlements(attr: &Attribute) -> bool {
    attr.fields
        .object_types
        .iter()
        .any(|t| t == "entitlement" || t == "all")
}

/// The references after adding `value` of `attr`: `None` inside = the attribute list is empty.
/// The attribute and the value must exist and be active; a non-multiselect attribute keeps one
/// value (the new one replaces it); adding a value already there changes nothing.
pub fn add_value(
    current: Option<&[MetadataRef]>,
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
    let mut refs: Vec<MetadataRef> = current.map(<[MetadataRef]>::to_vec).unwrap_or_default();
    match refs.iter_mut().find(|r| r.key == key) {
        Some(r) if r.values.iter().any(|v| v == value) => {}
        Some(r) if attr.fields.multiselect => r.values.push(value.to_string()),
        Some(r) => r.values = vec![value.to_string()],
        None => refs.push(MetadataRef {
            key: key.to_string(),
            values: vec![value.to_string()],
        }),
    }
    Ok(Some(refs))
}

/// The references after removing `value` of `key`; an absent value is a no-op, an attribute
/// left with no values is dropped, and with none left the metadata is `None`.
pub fn remove_value(
    current: Option<&[MetadataRef]>,
    key: &str,
    value: &str,
) -> Option<Vec<MetadataRef>> {
    let mut refs: Vec<MetadataRef> = current.map(<[MetadataRef]>::to_vec).unwrap_or_default();
    for r in refs.iter_mut().filter(|r| r.key == key) {
        r.values.retain(|v| v != value);
    }
    refs.retain(|r| !r.values.is_empty());
    (!refs.is_empty()).then_some(refs)
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
