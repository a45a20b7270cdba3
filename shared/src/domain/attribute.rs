//! Access-model-metadata attributes (API.md §4, after SailPoint's seeds 003–004): the tenant's
//! catalog of governance attributes and their allowed values. Fields, validation, PATCH merge.
//!
//! The catalog belongs to the tenant and is shared by all its apps: app tokens read and write it
//! like person tokens, so nothing here (or in the store) filters by app.

use crate::envelope::{Provenance, Record};
use crate::error::{ApiError, ApiResult};
use crate::input::{Field, Identifier, Input};
use crate::listing::{Filter, Spec};
use crate::vocab::Closed;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashMap;

pub const ID_PREFIX: &str = "amd";

crate::closed_set! { pub enum AttributeType { Governance = "governance", Custom = "custom" } }

crate::closed_set! {
    /// Of an attribute and of each of its values.
    pub enum Status { Active = "active", Inactive = "inactive" }
}
/// `object_types` is one of these lists, exactly.
pub const OBJECT_TYPES: &[&str] = &["entitlement", "all"];
pub const DEFAULT_OBJECT_TYPE: &str = "entitlement";
/// At most this many values per attribute.
pub const MAX_VALUES: usize = 500;

const NAME: usize = 200;
const DESCRIPTION: usize = 4000;

/// `^[A-Za-z][A-Za-z0-9_]{0,63}$`
pub const KEY: Identifier = Identifier {
    first: |c| c.is_ascii_alphabetic(),
    rest: |c| c.is_ascii_alphanumeric() || c == b'_',
    max_len: 64,
};
/// `^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`
pub const VALUE: Identifier = Identifier {
    first: |c| c.is_ascii_alphanumeric(),
    rest: |c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'),
    max_len: 64,
};

const KEY_RULE: &str =
    "must start with a letter and hold only letters, digits and '_', at most 64 characters";
const VALUE_RULE: &str = "must start with a letter or digit and hold only letters, digits, '_', '.' and '-', at most 64 characters";

/// The fields a client may send on an attribute (`key` only on create).
pub const FIELDS: &[&str] = &[
    "key",
    "name",
    "description",
    "type",
    "multiselect",
    "status",
    "object_types",
    "values",
];
/// The fields of one entry of `values`.
pub const VALUE_FIELDS: &[&str] = &["value", "name", "status"];

/// Whether `key` can name an attribute at all (a path `{key}` that cannot is simply not found).
pub fn is_valid_key(key: &str) -> bool {
    KEY.matches(key)
}

/// One allowed value of an attribute: `value` is its technical name, unique within the attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeValueDef {
    pub value: String,
    pub name: String,
    pub status: Status,
}

impl AttributeValueDef {
    pub fn is_active(&self) -> bool {
        self.status == Status::Active
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeFields {
    /// Technical name: unique in the tenant, immutable, the record's address.
    pub key: String,
    pub name: String,
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub attribute_type: AttributeType,
    pub multiselect: bool,
    pub status: Status,
    pub object_types: Vec<String>,
    pub values: Vec<AttributeValueDef>,
}

/// An attribute as stored and returned: the envelope (`amd_` id) and its fields.
pub type Attribute = Record<AttributeFields>;

impl Attribute {
    pub fn key(&self) -> &str {
        &self.fields.key
    }

    pub fn is_active(&self) -> bool {
        self.fields.status == Status::Active
    }

    /// The definition of one value, by its technical name (`None` when the catalog has no such
    /// value; check `is_active` on both the attribute and the value before assigning it).
    pub fn value(&self, value: &str) -> Option<&AttributeValueDef> {
        self.fields.values.iter().find(|v| v.value == value)
    }
}

impl super::Searchable for AttributeFields {
    fn searched(&self) -> Vec<Option<&str>> {
        vec![
            Some(&self.key),
            Some(&self.name),
            self.description.as_deref(),
        ]
    }
}

/// Every top-level field as read from a body: absent, null or a value.
struct Patch {
    name: Field<String>,
    description: Field<String>,
    attribute_type: Field<AttributeType>,
    multiselect: Field<bool>,
    status: Field<Status>,
    object_types: Field<Vec<String>>,
    values: Field<Vec<AttributeValueDef>>,
}

fn read(input: &mut Input, values: Option<Value>) -> Patch {
    let object_types = match input.string_list("object_types", 10, 100) {
        Field::Value(list) => {
            if list.len() == 1 && OBJECT_TYPES.contains(&list[0].as_str()) {
                Field::Value(list)
            } else {
                input.error("object_types", "must be [\"entitlement\"] or [\"all\"]");
                Field::Absent
            }
        }
        other => other,
    };
    Patch {
        name: input.string("name", NAME),
        description: input.string("description", DESCRIPTION),
        attribute_type: input.choice("type"),
        multiselect: input.boolean("multiselect"),
        status: input.choice("status"),
        object_types,
        values: read_values(input, values),
    }
}

/// `values`: an array of `{value, name, status?}`, every entry checked and named as
/// `values[i].field`; a value may appear once.
fn read_values(input: &mut Input, raw: Option<Value>) -> Field<Vec<AttributeValueDef>> {
    let items = match raw {
        None => return Field::Absent,
        Some(Value::Null) => return Field::Null,
        Some(Value::Array(items)) => items,
        Some(_) => {
            input.error(
                "values",
                "must be an array of {value, name, status} objects",
            );
            return Field::Absent;
        }
    };
    if items.len() > MAX_VALUES {
        input.error("values", format!("must hold at most {MAX_VALUES} values"));
        return Field::Absent;
    }
    let mut ok = true;
    let mut out = Vec::with_capacity(items.len());
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, item) in items.into_iter().enumerate() {
        let at = |field: &str| format!("values[{i}].{field}");
        let Value::Object(mut map) = item else {
            input.error(&format!("values[{i}]"), "must be an object");
            ok = false;
            continue;
        };
        // Strict: an entry has exactly these fields (no envelope fields to ignore here).
        let mut unknown: Vec<String> = map
            .keys()
            .filter(|k| !VALUE_FIELDS.contains(&k.as_str()))
            .cloned()
            .collect();
        unknown.sort();
        for k in unknown {
            map.remove(&k);
            input.error(&at(&k), "unknown field");
            ok = false;
        }
        let mut entry = Input::nested(map, VALUE_FIELDS);
        let value = entry.pattern("value", &VALUE, VALUE_RULE);
        let value = entry.required("value", value);
        let name = entry.string("name", NAME);
        let name = entry.required("name", name);
        let status = entry.choice("status");
        if matches!(status, Field::Null) {
            entry.error("status", "cannot be null");
        }
        if let Err(ApiError::Validation(errors)) = entry.finish() {
            for e in errors {
                input.error(&at(&e.field), e.message);
            }
            ok = false;
        }
        if let Some(v) = &value {
            if let Some(first) = seen.get(v) {
                input.error(
                    &at("value"),
                    format!("must be unique within the attribute (same as values[{first}].value)"),
                );
                ok = false;
            } else {
                seen.insert(v.clone(), i);
            }
        }
        if let (Some(value), Some(name)) = (value, name) {
            out.push(AttributeValueDef {
                value,
                name,
                status: status.value().unwrap_or(Status::Active),
            });
        }
    }
    if ok {
        Field::Value(out)
    } else {
        Field::Absent
    }
}

/// Fields that have a value or a default: `null` is never a way to set them.
fn reject_nulls(input: &mut Input, p: &Patch) {
    for (name, null) in [
        ("name", matches!(p.name, Field::Null)),
        ("type", matches!(p.attribute_type, Field::Null)),
        ("multiselect", matches!(p.multiselect, Field::Null)),
        ("status", matches!(p.status, Field::Null)),
        ("object_types", matches!(p.object_types, Field::Null)),
        ("values", matches!(p.values, Field::Null)),
    ] {
        if null {
            input.error(name, "cannot be null");
        }
    }
}

/// A create body → the attribute's fields (defaults applied) and the client's provenance.
pub fn parse_create(mut body: Map<String, Value>) -> ApiResult<(AttributeFields, Provenance)> {
    let values = body.remove("values");
    let mut input = Input::new(body, FIELDS);
    let provenance = input.provenance();
    let key = input.pattern("key", &KEY, KEY_RULE);
    let key = input.required("key", key);
    let p = read(&mut input, values);
    reject_nulls(&mut input, &p);
    let name = input.required("name", p.name);
    let attribute_type = input.required("type", p.attribute_type);
    input.finish()?;
    let (Some(key), Some(name), Some(attribute_type)) = (key, name, attribute_type) else {
        return Err(ApiError::Internal("a required field passed unread".into()));
    };
    Ok((
        AttributeFields {
            key,
            name,
            description: p.description.value(),
            attribute_type,
            multiselect: p.multiselect.value().unwrap_or(false),
            status: p.status.value().unwrap_or(Status::Active),
            object_types: p
                .object_types
                .value()
                .unwrap_or_else(|| vec![DEFAULT_OBJECT_TYPE.into()]),
            values: p.values.value().unwrap_or_default(),
        },
        provenance,
    ))
}

/// A PATCH body applied to the current fields (JSON merge patch): `description: null` clears,
/// `values` replaces the whole list, `key` may not be sent at all.
pub fn apply_patch(
    current: &AttributeFields,
    mut body: Map<String, Value>,
) -> ApiResult<(AttributeFields, Provenance)> {
    let values = body.remove("values");
    let mut input = Input::new(body, FIELDS);
    let provenance = input.provenance();
    if input.contains("key") {
        input.error(
            "key",
            "is immutable: it cannot be changed or sent in a PATCH",
        );
    }
    let p = read(&mut input, values);
    reject_nulls(&mut input, &p);
    input.finish()?;
    let c = current.clone();
    Ok((
        AttributeFields {
            key: c.key,
            name: p.name.value().unwrap_or(c.name),
            description: p.description.merge(c.description),
            attribute_type: p.attribute_type.value().unwrap_or(c.attribute_type),
            multiselect: p.multiselect.value().unwrap_or(c.multiselect),
            status: p.status.value().unwrap_or(c.status),
            object_types: p.object_types.value().unwrap_or(c.object_types),
            values: p.values.value().unwrap_or(c.values),
        },
        provenance,
    ))
}

/// List filters of API.md §5 for attributes (exact match), plus `q` (key, name, description).
/// Attributes are never deleted: `include_deleted` is accepted and changes nothing.
pub const LIST: Spec<'static> = Spec {
    filters: &[
        Filter::one_of("type", AttributeType::NAMES),
        Filter::one_of("status", Status::NAMES),
    ],
    search: true,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{obj, sorted_fields_of, with_envelope_mistakes};
    use serde_json::json;

    fn privacy() -> AttributeFields {
        parse_create(obj(json!({
            "key": "iscPrivacy",
            "name": "Privacy",
            "type": "governance",
            "description": "How private",
            "values": [
                {"value": "public", "name": "Public"},
                {"value": "secret", "name": "Secret", "status": "inactive"}
            ]
        })))
        .unwrap()
        .0
    }

    #[test]
    fn create_defaults() {
        let (f, p) = parse_create(obj(
            json!({"key": "iscFederalClassifications", "name": "Federal", "type": "custom"}),
        ))
        .unwrap();
        assert!(!f.multiselect);
        assert_eq!(f.status, Status::Active);
        assert_eq!(f.object_types, vec!["entitlement"]);
        assert!(f.values.is_empty());
        assert_eq!(f.description, None);
        assert_eq!(p, Provenance::default());
        assert_eq!(privacy().values[0].status, Status::Active);
    }

    #[test]
    fn create_names_every_bad_field() {
        let err = parse_create(with_envelope_mistakes(json!({
            "key": "1bad-key",
            "name": "",
            "description": 5,
            "type": "other",
            "multiselect": "yes",
            "status": "gone",
            "object_types": ["role"],
            "values": {"value": "x"}
        })))
        .unwrap_err();
        assert_eq!(
            sorted_fields_of(err),
            vec![
                "description",
                "extra",
                "key",
                "multiselect",
                "name",
                "object_types",
                "source_type",
                "status",
                "type",
                "values"
            ]
        );
    }

    #[test]
    fn required_fields_and_nulls() {
        assert_eq!(
            sorted_fields_of(parse_create(obj(json!({}))).unwrap_err()),
            vec!["key", "name", "type"]
        );
        let err = parse_create(obj(json!({
            "key": "k", "name": "n", "type": "custom",
            "multiselect": null, "status": null, "object_types": null, "values": null
        })))
        .unwrap_err();
        assert_eq!(
            sorted_fields_of(err),
            vec!["multiselect", "object_types", "status", "values"]
        );
    }

    #[test]
    fn key_pattern() {
        for ok in ["a", "iscPrivacy", "A_1", &format!("a{}", "b".repeat(63))] {
            assert!(is_valid_key(ok), "{ok}");
        }
        for bad in [
            "",
            "_a",
            "1a",
            "a-b",
            "a.b",
            "a b",
            &format!("a{}", "b".repeat(64)),
        ] {
            assert!(!is_valid_key(bad), "{bad}");
        }
    }

    #[test]
    fn object_types_are_one_of_two_lists() {
        let base = json!({"key": "k", "name": "n", "type": "custom"});
        for (types, ok) in [
            (json!(["all"]), true),
            (json!(["entitlement"]), true),
            (json!(["entitlement", "all"]), false),
            (json!([]), false),
            (json!("all"), false),
            (json!(["role"]), false),
        ] {
            let mut body = obj(base.clone());
            body.insert("object_types".into(), types.clone());
            assert_eq!(parse_create(body).is_ok(), ok, "{types}");
        }
    }

    #[test]
    fn values_are_checked_entry_by_entry() {
        let err = parse_create(obj(json!({
            "key": "k", "name": "n", "type": "custom",
            "values": [
                {"value": "ok", "name": "Ok"},
                {"value": "-bad", "name": "Bad"},
                {"value": "ok", "name": "Again"},
                {"value": "noname"},
                {"value": "blank", "name": "  ", "status": "maybe", "extra": 1},
                "not an object",
                {"name": "missing value", "status": null}
            ]
        })))
        .unwrap_err();
        assert_eq!(
            sorted_fields_of(err),
            vec![
                "values[1].value",
                "values[2].value",
                "values[3].name",
                "values[4].extra",
                "values[4].name",
                "values[4].status",
                "values[5]",
                "values[6].status",
                "values[6].value",
            ]
        );
    }

    #[test]
    fn at_most_500_values() {
        let many: Vec<Value> = (0..501)
            .map(|i| json!({"value": format!("v{i}"), "name": "n"}))
            .collect();
        let body = json!({"key": "k", "name": "n", "type": "custom", "values": many});
        assert_eq!(
            sorted_fields_of(parse_create(obj(body)).unwrap_err()),
            vec!["values"]
        );
    }

    #[test]
    fn patch_merges_replaces_and_clears() {
        let current = privacy();
        let (next, _) = apply_patch(
            &current,
            obj(json!({"description": null, "values": [{"value": "internal", "name": "Internal"}], "multiselect": true})),
        )
        .unwrap();
        assert_eq!(next.description, None);
        assert_eq!(next.values.len(), 1);
        assert_eq!(next.values[0].value, "internal");
        assert!(next.multiselect);
        assert_eq!(next.key, "iscPrivacy");
        assert_eq!(next.name, "Privacy");
        let (same, _) = apply_patch(&current, obj(json!({}))).unwrap();
        assert_eq!(same, current);
    }

    #[test]
    fn patch_rejects_key_and_nulls() {
        let current = privacy();
        let err = apply_patch(&current, obj(json!({"key": "iscPrivacy"}))).unwrap_err();
        assert_eq!(sorted_fields_of(err), vec!["key"]);
        let err = apply_patch(
            &current,
            obj(
                json!({"name": null, "type": null, "multiselect": null, "status": null,
                        "object_types": null, "values": null}),
            ),
        )
        .unwrap_err();
        assert_eq!(
            sorted_fields_of(err),
            vec![
                "multiselect",
                "name",
                "object_types",
                "status",
                "type",
                "values"
            ]
        );
    }

    #[test]
    fn value_lookup_and_search_text() {
        let env = crate::envelope::test_envelope("amd_1");
        let attr = Attribute {
            envelope: env,
            fields: privacy(),
        };
        assert!(attr.is_active());
        assert!(attr.value("public").is_some_and(|v| v.is_active()));
        assert!(attr.value("secret").is_some_and(|v| !v.is_active()));
        assert!(attr.value("Public").is_none());
        assert_eq!(
            attr.search_text(),
            "iscprivacy\u{1f}privacy\u{1f}how private"
        );
        let json = serde_json::to_value(&attr).unwrap();
        assert_eq!(json["type"], "governance");
        assert_eq!(json["id"], "amd_1");
        assert_eq!(json["values"][1]["status"], "inactive");
    }
}
