//! Reading a JSON object field by field, collecting every error at once.
//!
//! serde stops at the first bad field; the API names every bad field in one 400. So bodies are
//! parsed to a JSON object first and each field is read here, distinguishing absent (`Absent`),
//! explicit `null` (`Null`, which clears on PATCH) and a value.

use crate::envelope::Provenance;
use crate::envelope::{SERVER_FIELDS, SOURCE_TYPES};
use crate::error::{ApiError, FieldError};
use crate::time::Timestamp;
use regex::Regex;
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub enum Field<T> {
    Absent,
    Null,
    Value(T),
}

impl<T> Field<T> {
    pub fn value(self) -> Option<T> {
        match self {
            Field::Value(v) => Some(v),
            _ => None,
        }
    }

    pub fn is_absent(&self) -> bool {
        matches!(self, Field::Absent)
    }

    /// Merge-patch semantics: absent keeps `current`, null clears, a value replaces.
    pub fn merge(self, current: Option<T>) -> Option<T> {
        match self {
            Field::Absent => current,
            Field::Null => None,
            Field::Value(v) => Some(v),
        }
    }
}

/// Deepest nesting of a free-form object (DynamoDB refuses documents nested past 32 levels).
pub const MAX_DEPTH: usize = 16;

/// DynamoDB's limits on a document: nesting depth, non-empty map keys, and numbers of
/// magnitude 1e-130 to 1e125.
fn storable(value: &Value, depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("may nest at most {MAX_DEPTH} levels"));
    }
    match value {
        Value::Object(m) => {
            if m.keys().any(|k| k.is_empty()) {
                return Err("may not have empty keys".into());
            }
            m.values().try_for_each(|v| storable(v, depth + 1))
        }
        Value::Array(items) => items.iter().try_for_each(|v| storable(v, depth + 1)),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f != 0.0 && !(1e-130..=1e125).contains(&f.abs()) => {
                Err("may hold numbers of magnitude 1e-130 to 1e125 only".into())
            }
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

pub struct Input {
    map: Map<String, Value>,
    errors: Vec<FieldError>,
}

impl Input {
    /// `fields` are the record's own input fields; envelope server fields are dropped silently
    /// and anything else is an unknown field.
    pub fn new(mut map: Map<String, Value>, fields: &[&str]) -> Self {
        let mut errors = Vec::new();
        for name in SERVER_FIELDS {
            if !fields.contains(name) {
                map.remove(*name);
            }
        }
        let mut unknown: Vec<&String> = map
            .keys()
            .filter(|k| !fields.contains(&k.as_str()) && *k != "source" && *k != "source_type")
            .collect();
        unknown.sort();
        for k in unknown {
            errors.push(FieldError::new(k.as_str(), "unknown field"));
        }
        Input { map, errors }
    }

    /// A nested object (e.g. `owner`): only `fields`, nothing of the envelope.
    pub fn nested(map: Map<String, Value>, fields: &[&str]) -> Self {
        let mut unknown: Vec<&String> = map
            .keys()
            .filter(|k| !fields.contains(&k.as_str()))
            .collect();
        unknown.sort();
        let errors = unknown
            .into_iter()
            .map(|k| FieldError::new(k.as_str(), "unknown field"))
            .collect();
        Input { map, errors }
    }

    pub fn error(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    pub fn has_error(&self, field: &str) -> bool {
        self.errors.iter().any(|e| e.field == field)
    }

    pub fn contains(&self, field: &str) -> bool {
        self.map.contains_key(field)
    }

    fn raw(&self, name: &str) -> Field<&Value> {
        match self.map.get(name) {
            None => Field::Absent,
            Some(Value::Null) => Field::Null,
            Some(v) => Field::Value(v),
        }
    }

    /// A non-blank string of at most `max` characters.
    pub fn string(&mut self, name: &str, max: usize) -> Field<String> {
        match self.raw(name) {
            Field::Absent => Field::Absent,
            Field::Null => Field::Null,
            Field::Value(Value::String(s)) => {
                if s.trim().is_empty() {
                    self.error(name, "must not be blank (send null to clear)");
                    Field::Absent
                } else if s.chars().count() > max {
                    self.error(name, format!("must be at most {max} characters"));
                    Field::Absent
                } else {
                    Field::Value(s.clone())
                }
            }
            Field::Value(_) => {
                self.error(name, "must be a string");
                Field::Absent
            }
        }
    }

    pub fn pattern(&mut self, name: &str, re: &Regex, message: &str) -> Field<String> {
        match self.string(name, 1024) {
            Field::Value(s) if !re.is_match(&s) => {
                self.error(name, message);
                Field::Absent
            }
            other => other,
        }
    }

    pub fn one_of(&mut self, name: &str, allowed: &[&str]) -> Field<String> {
        match self.raw(name) {
            Field::Value(Value::String(s)) if allowed.contains(&s.as_str()) => {
                Field::Value(s.clone())
            }
            Field::Value(_) => {
                self.error(name, format!("must be one of: {}", allowed.join(", ")));
                Field::Absent
            }
            Field::Null => Field::Null,
            Field::Absent => Field::Absent,
        }
    }

    pub fn boolean(&mut self, name: &str) -> Field<bool> {
        match self.raw(name) {
            Field::Value(Value::Bool(b)) => Field::Value(*b),
            Field::Value(_) => {
                self.error(name, "must be a boolean");
                Field::Absent
            }
            Field::Null => Field::Null,
            Field::Absent => Field::Absent,
        }
    }

    pub fn timestamp(&mut self, name: &str) -> Field<Timestamp> {
        match self.raw(name) {
            Field::Value(Value::String(s)) => match Timestamp::parse(s) {
                Some(t) => Field::Value(t),
                None => {
                    self.error(
                        name,
                        "must be an RFC 3339 date-time, e.g. 2027-01-01T00:00:00Z",
                    );
                    Field::Absent
                }
            },
            Field::Value(_) => {
                self.error(name, "must be an RFC 3339 date-time string");
                Field::Absent
            }
            Field::Null => Field::Null,
            Field::Absent => Field::Absent,
        }
    }

    /// An absolute http(s) URL.
    pub fn url(&mut self, name: &str, max: usize) -> Field<String> {
        match self.string(name, max) {
            Field::Value(s) => match url::Url::parse(&s) {
                Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.has_host() => {
                    Field::Value(s)
                }
                _ => {
                    self.error(name, "must be an absolute http or https URL");
                    Field::Absent
                }
            },
            other => other,
        }
    }

    /// An array of non-blank strings.
    pub fn string_list(
        &mut self,
        name: &str,
        max_items: usize,
        max_len: usize,
    ) -> Field<Vec<String>> {
        match self.raw(name) {
            Field::Value(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                let mut ok = items.len() <= max_items;
                for item in items {
                    match item {
                        Value::String(s)
                            if !s.trim().is_empty() && s.chars().count() <= max_len =>
                        {
                            out.push(s.clone())
                        }
                        _ => ok = false,
                    }
                }
                if ok {
                    Field::Value(out)
                } else {
                    self.error(
                        name,
                        format!(
                            "must be an array of at most {max_items} non-blank strings of at most {max_len} characters"
                        ),
                    );
                    Field::Absent
                }
            }
            Field::Value(_) => {
                self.error(name, "must be an array of strings");
                Field::Absent
            }
            Field::Null => Field::Null,
            Field::Absent => Field::Absent,
        }
    }

    /// Any JSON object of at most `max_bytes` serialised that DynamoDB can store as it is.
    pub fn object(&mut self, name: &str, max_bytes: usize) -> Field<Map<String, Value>> {
        match self.raw(name) {
            Field::Value(Value::Object(m)) => {
                let value = Value::Object(m.clone());
                if value.to_string().len() > max_bytes {
                    self.error(name, format!("must be at most {max_bytes} bytes"));
                    Field::Absent
                } else if let Err(why) = storable(&value, 1) {
                    self.error(name, why);
                    Field::Absent
                } else {
                    Field::Value(m.clone())
                }
            }
            Field::Value(_) => {
                self.error(name, "must be an object");
                Field::Absent
            }
            Field::Null => Field::Null,
            Field::Absent => Field::Absent,
        }
    }

    /// `source` and `source_type`: the client's part of the envelope. Neither can be null.
    pub fn provenance(&mut self) -> Provenance {
        let source = self.string("source", 100);
        let source_type = self.one_of("source_type", SOURCE_TYPES);
        for (name, null) in [
            ("source", matches!(source, Field::Null)),
            ("source_type", matches!(source_type, Field::Null)),
        ] {
            if null {
                self.error(name, "cannot be null");
            }
        }
        Provenance {
            source: source.value(),
            source_type: source_type.value(),
        }
    }

    /// Reports a required field that is absent or null.
    pub fn required<T>(&mut self, name: &str, field: Field<T>) -> Option<T> {
        match field {
            Field::Value(v) => Some(v),
            _ => {
                if !self.has_error(name) {
                    self.error(name, "is required");
                }
                None
            }
        }
    }

    /// Every error found, or the go-ahead.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(v: Value, fields: &[&str]) -> Input {
        match v {
            Value::Object(m) => Input::new(m, fields),
            _ => unreachable!(),
        }
    }

    #[test]
    fn unknown_fields_are_named_and_server_fields_ignored() {
        let i = input(
            json!({"name": "a", "bogus": 1, "id": "x", "revision": 9}),
            &["name"],
        );
        match i.finish() {
            Err(ApiError::Validation(errs)) => {
                assert_eq!(errs, vec![FieldError::new("bogus", "unknown field")]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn collects_every_error() {
        let mut i = input(json!({"a": 1, "b": "", "c": "x"}), &["a", "b", "c", "d"]);
        assert_eq!(i.string("a", 10), Field::Absent);
        assert_eq!(i.string("b", 10), Field::Absent);
        assert_eq!(i.one_of("c", &["y"]), Field::Absent);
        let d = i.string("d", 10);
        assert_eq!(i.required("d", d), None);
        match i.finish() {
            Err(ApiError::Validation(errs)) => {
                let names: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(names, vec!["a", "b", "c", "d"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn null_and_absent_are_distinct() {
        let mut i = input(json!({"a": null}), &["a", "b"]);
        assert_eq!(i.string("a", 5), Field::Null);
        assert_eq!(i.string("b", 5), Field::Absent);
        assert_eq!(Field::<String>::Null.merge(Some("x".into())), None);
        assert_eq!(
            Field::<String>::Absent.merge(Some("x".into())),
            Some("x".into())
        );
    }

    #[test]
    fn urls_must_be_http() {
        let mut i = input(
            json!({"u1": "https://x.example/a", "u2": "ftp://x", "u3": "nope"}),
            &["u1", "u2", "u3"],
        );
        assert!(matches!(i.url("u1", 100), Field::Value(_)));
        assert_eq!(i.url("u2", 100), Field::Absent);
        assert_eq!(i.url("u3", 100), Field::Absent);
        assert!(i.finish().is_err());
    }

    #[test]
    fn objects_must_be_storable() {
        let mut deep = json!(1);
        for _ in 0..MAX_DEPTH {
            deep = json!({ "a": deep });
        }
        let mut i = input(
            json!({"ok": {"a": [1, {"b": 1e100}]}, "deep": deep, "empty": {"": 1}, "big": {"n": 1e300}, "tiny": {"n": 1e-200}}),
            &["ok", "deep", "empty", "big", "tiny"],
        );
        assert!(matches!(i.object("ok", 1000), Field::Value(_)));
        for name in ["deep", "empty", "big", "tiny"] {
            assert_eq!(i.object(name, 10_000), Field::Absent, "{name}");
        }
        match i.finish() {
            Err(ApiError::Validation(errs)) => assert_eq!(errs.len(), 4),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn provenance_cannot_be_null() {
        let mut i = input(json!({"source": null, "source_type": "bogus"}), &[]);
        let p = i.provenance();
        assert_eq!(p, Provenance::default());
        match i.finish() {
            Err(ApiError::Validation(errs)) => assert_eq!(errs.len(), 2),
            other => panic!("{other:?}"),
        }
    }
}
