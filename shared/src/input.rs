//! Reading a JSON object field by field, collecting every error at once.
//!
//! serde stops at the first bad field; the API names every bad field in one 400. So bodies are
//! parsed to a JSON object first and each field is read here, distinguishing absent (`Absent`),
//! explicit `null` (`Null`, which clears on PATCH) and a value.

use crate::envelope::Provenance;
use crate::envelope::{SourceType, SERVER_FIELDS};
use crate::error::{ApiError, FieldError};
use crate::time::Timestamp;
use crate::vocab::Closed;
use serde_json::{Map, Number, Value};

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

/// The largest magnitude of a free-form number: every integer up to 2^53 is exactly an
/// IEEE-754 double (what JCS hashes, API.md §3); beyond it most are not.
pub const MAX_EXACT_INTEGER: u64 = 1 << 53;

/// DynamoDB stores no number of magnitude below 1e-130 (other than 0).
const MIN_MAGNITUDE: f64 = 1e-130;

/// A free-form number as it will come back, or why it cannot. Integral values become JSON
/// integers (`1.0` → `1`), the form DynamoDB hands them back in; `-0` is refused because
/// DynamoDB keeps no sign on zero and would return `0`.
fn exact_number(n: &Number) -> Result<Number, String> {
    let too_big = || {
        format!(
            "must lie within ±{MAX_EXACT_INTEGER} (2^53): an IEEE-754 double does not hold every integer beyond exactly"
        )
    };
    if let Some(u) = n.as_u64() {
        return if u <= MAX_EXACT_INTEGER {
            Ok(n.clone())
        } else {
            Err(too_big())
        };
    }
    if let Some(i) = n.as_i64() {
        return if i.unsigned_abs() <= MAX_EXACT_INTEGER {
            Ok(n.clone())
        } else {
            Err(too_big())
        };
    }
    // JSON has no NaN or infinity; a number that is no finite double is out of range anyway.
    let Some(f) = n.as_f64().filter(|f| f.is_finite()) else {
        return Err(too_big());
    };
    if f == 0.0 && f.is_sign_negative() {
        return Err("must not be -0: it is stored and returned as 0; send 0".into());
    }
    // Every double beyond 2^53 is an integer, and most integers there are not doubles.
    if f.abs() > MAX_EXACT_INTEGER as f64 {
        return Err(too_big());
    }
    if f.fract() == 0.0 {
        // In range, so the cast is exact.
        return Ok(Number::from(f as i64));
    }
    if f.abs() < MIN_MAGNITUDE {
        return Err(format!(
            "must be 0 or of magnitude at least {MIN_MAGNITUDE:e} (DynamoDB's smallest number)"
        ));
    }
    Ok(n.clone())
}

/// Checks a free-form value against DynamoDB's limits on a document (nesting depth, non-empty
/// map keys) and the exact-number rule, and brings its numbers to the form they are returned
/// in. A problem is named by its path, e.g. `attributes.limits[2].max`.
fn storable(value: &mut Value, path: &str, depth: usize) -> Result<(), FieldError> {
    if depth > MAX_DEPTH {
        return Err(FieldError::new(
            path,
            format!("may nest at most {MAX_DEPTH} levels"),
        ));
    }
    match value {
        Value::Object(m) => storable_map(m, path, depth),
        Value::Array(items) => items
            .iter_mut()
            .enumerate()
            .try_for_each(|(i, v)| storable(v, &format!("{path}[{i}]"), depth + 1)),
        Value::Number(n) => {
            *n = exact_number(n).map_err(|why| FieldError::new(path, why))?;
            Ok(())
        }
        _ => Ok(()),
    }
}

fn storable_map(m: &mut Map<String, Value>, path: &str, depth: usize) -> Result<(), FieldError> {
    if m.keys().any(|k| k.is_empty()) {
        return Err(FieldError::new(path, "may not have empty keys"));
    }
    m.iter_mut()
        .try_for_each(|(k, v)| storable(v, &format!("{path}.{k}"), depth + 1))
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

    /// A present value as `read` makes it; a refusal is the field's error and reads as absent
    /// (so a bad field is reported once and never defaulted). Null and absence pass through.
    fn read<T>(&mut self, name: &str, read: impl FnOnce(&Value) -> Result<T, String>) -> Field<T> {
        let read = match self.raw(name) {
            Field::Value(v) => read(v),
            Field::Null => return Field::Null,
            Field::Absent => return Field::Absent,
        };
        match read {
            Ok(v) => Field::Value(v),
            Err(message) => {
                self.error(name, message);
                Field::Absent
            }
        }
    }

    /// A non-blank string of at most `max` characters.
    pub fn string(&mut self, name: &str, max: usize) -> Field<String> {
        self.read(name, |v| match v {
            Value::String(s) if s.trim().is_empty() => {
                Err("must not be blank (send null to clear)".into())
            }
            Value::String(s) if s.chars().count() > max => {
                Err(format!("must be at most {max} characters"))
            }
            Value::String(s) => Ok(s.clone()),
            _ => Err("must be a string".into()),
        })
    }

    pub fn pattern(&mut self, name: &str, rule: &Identifier, message: &str) -> Field<String> {
        match self.string(name, 1024) {
            Field::Value(s) if !rule.matches(&s) => {
                self.error(name, message);
                Field::Absent
            }
            other => other,
        }
    }

    pub fn one_of(&mut self, name: &str, allowed: &[&str]) -> Field<String> {
        self.read(name, |v| match v {
            Value::String(s) if allowed.contains(&s.as_str()) => Ok(s.clone()),
            _ => Err(format!("must be one of: {}", allowed.join(", "))),
        })
    }

    /// One name of the closed set `T`, as `T`.
    pub fn choice<T: Closed>(&mut self, name: &str) -> Field<T> {
        match self.one_of(name, T::NAMES) {
            Field::Value(v) => T::parse(&v).map_or(Field::Absent, Field::Value),
            Field::Null => Field::Null,
            Field::Absent => Field::Absent,
        }
    }

    pub fn boolean(&mut self, name: &str) -> Field<bool> {
        self.read(name, |v| match v {
            Value::Bool(b) => Ok(*b),
            _ => Err("must be a boolean".into()),
        })
    }

    pub fn timestamp(&mut self, name: &str) -> Field<Timestamp> {
        self.read(name, |v| match v {
            Value::String(s) => Timestamp::parse(s).map_err(|why| why.to_string()),
            _ => Err("must be an RFC 3339 date-time string".into()),
        })
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
        self.read(name, |v| {
            let Value::Array(items) = v else {
                return Err("must be an array of strings".into());
            };
            let fits = |item: &Value| match item {
                Value::String(s) if !s.trim().is_empty() && s.chars().count() <= max_len => {
                    Some(s.clone())
                }
                _ => None,
            };
            match items.iter().map(fits).collect::<Option<Vec<_>>>() {
                Some(out) if items.len() <= max_items => Ok(out),
                _ => Err(format!(
                    "must be an array of at most {max_items} non-blank strings of at most {max_len} characters"
                )),
            }
        })
    }

    /// Any JSON object of at most `max_bytes` serialised that DynamoDB can store and hand back
    /// as it is (numbers in the form they will come back in).
    pub fn object(&mut self, name: &str, max_bytes: usize) -> Field<Map<String, Value>> {
        match self.raw(name) {
            Field::Value(Value::Object(m)) => {
                let mut m = m.clone();
                let bytes = json_len(&m);
                if bytes > max_bytes {
                    self.error(name, format!("must be at most {max_bytes} bytes"));
                    Field::Absent
                } else if let Err(e) = storable_map(&mut m, name, 1) {
                    self.errors.push(e);
                    Field::Absent
                } else {
                    Field::Value(m)
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
        let source_type = self.choice::<SourceType>("source_type");
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

/// An identifier's spelling, all ASCII: one character that `first` accepts, then up to
/// `max_len - 1` that `rest` does. What a regex such as `^[a-z0-9][a-z0-9-]{0,62}$` says, without
/// linking a regex engine into every function for three such rules.
pub struct Identifier {
    pub first: fn(u8) -> bool,
    pub rest: fn(u8) -> bool,
    pub max_len: usize,
}

impl Identifier {
    pub fn matches(&self, s: &str) -> bool {
        match s.as_bytes() {
            [first, rest @ ..] => {
                s.len() <= self.max_len
                    && (self.first)(*first)
                    && rest.iter().all(|&c| (self.rest)(c))
            }
            [] => false,
        }
    }
}

/// The length of `value` as compact JSON, counted as it is written (nothing buffered);
/// `usize::MAX` if it does not serialize, so a size limit refuses it.
pub(crate) fn json_len<T: serde::Serialize + ?Sized>(value: &T) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, value).map_or(usize::MAX, |()| count.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_len_is_the_length_of_the_compact_text() {
        let v = json!({"a": [1, 2.5, null], "é": "quote \" and \n", "o": {}});
        assert_eq!(json_len(&v), serde_json::to_string(&v).unwrap().len());
    }

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
            json!({"ok": {"a": [1, {"b": 1e-100}]}, "deep": deep, "empty": {"": 1}, "big": {"n": 1e300}, "tiny": {"n": 1e-200}}),
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

    fn errors(i: Input) -> Vec<FieldError> {
        match i.finish() {
            Err(ApiError::Validation(errs)) => errs,
            other => panic!("{other:?}"),
        }
    }

    /// Issue 9: numbers changed on the way through DynamoDB (`18446744073709551615` came back
    /// `18446744073709552000`, `-0.0` as `0`).
    #[test]
    fn numbers_a_double_cannot_hold_are_named() {
        let body = r#"{"attributes": {"ok": 9007199254740992, "big": 18446744073709551615,
            "nested": {"list": [1, -9007199254740993]}, "huge": 1e300, "negzero": -0.0,
            "tiny": 1e-200}}"#;
        let body: Value = serde_json::from_str(body).unwrap();
        for bad in ["big", "nested", "huge", "negzero", "tiny"] {
            let mut one = body.clone();
            let attrs = one["attributes"].as_object_mut().unwrap();
            attrs.retain(|k, _| k == "ok" || k == bad);
            let mut i = input(one, &["attributes"]);
            assert_eq!(i.object("attributes", 10_000), Field::Absent, "{bad}");
            let expected = if bad == "nested" {
                "attributes.nested.list[1]".to_string()
            } else {
                format!("attributes.{bad}")
            };
            let errs = errors(i);
            assert_eq!(errs.len(), 1, "{errs:?}");
            assert_eq!(errs[0].field, expected);
        }
    }

    #[test]
    fn numbers_come_back_in_the_form_they_are_stored_in() {
        let body = r#"{"a": {"one": 1.0, "big": -9007199254740992.0, "e": 1e2, "f": 0.1, "g": -2.5e-7, "i": -3}}"#;
        let mut i = input(serde_json::from_str(body).unwrap(), &["a"]);
        let m = i.object("a", 10_000).value().unwrap();
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"one":1,"big":-9007199254740992,"e":100,"f":0.1,"g":-2.5e-7,"i":-3}"#
        );
        assert!(i.finish().is_ok());
    }

    /// Each identifier rule says what the regex in its doc comment says, on strings drawn from
    /// the characters around the rules' edges (and on every short one of them).
    #[test]
    fn identifiers_match_their_regexes() {
        use crate::domain::{asset, attribute};
        let rules = [
            (&asset::NAME, r"^[a-z0-9][a-z0-9-]{0,62}$"),
            (&attribute::KEY, r"^[A-Za-z][A-Za-z0-9_]{0,63}$"),
            (&attribute::VALUE, r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"),
        ];
        let alphabet: Vec<char> = "aZz09-_.A \n/@`{é".chars().collect();
        let mut cases: Vec<String> = vec![String::new()];
        for _ in 0..3 {
            let longer: Vec<String> = cases
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            cases.extend(longer);
        }
        for n in [62, 63, 64, 65] {
            cases.push("a".repeat(n));
            cases.push(format!("a{}", "-".repeat(n - 1)));
        }
        for (rule, pattern) in rules {
            let re = regex::Regex::new(pattern).unwrap();
            for case in &cases {
                assert_eq!(
                    rule.matches(case),
                    re.is_match(case),
                    "{pattern} on {case:?}"
                );
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Any double a client's serializer writes is accepted exactly when it is within the
        /// limits, and then comes back as the same number from DynamoDB (serde_dynamo's `N`)
        /// and from JSON text.
        #[test]
        fn accepted_numbers_round_trip(f in proptest::num::f64::ANY) {
            let Some(n) = Number::from_f64(f) else { return Ok(()) };
            let text = serde_json::to_string(&n).unwrap();
            let parsed: Number = serde_json::from_str(&text).unwrap();
            proptest::prop_assert_eq!(parsed.as_f64(), Some(f), "{}", text);
            match exact_number(&parsed) {
                Ok(kept) => {
                    proptest::prop_assert!(f.abs() <= MAX_EXACT_INTEGER as f64);
                    proptest::prop_assert!(!(f == 0.0 && f.is_sign_negative()));
                    let attr: aws_sdk_dynamodb::types::AttributeValue =
                        serde_dynamo::to_attribute_value(&kept).unwrap();
                    let back: Value = serde_dynamo::from_attribute_value(attr).unwrap();
                    let back_text = serde_json::to_string(&back).unwrap();
                    proptest::prop_assert_eq!(&back_text, &serde_json::to_string(&kept).unwrap());
                    let back_f: f64 = back_text.parse().unwrap();
                    proptest::prop_assert_eq!(back_f, f, "{}", back_text);
                }
                Err(_) => proptest::prop_assert!(
                    f.abs() > MAX_EXACT_INTEGER as f64
                        || (f == 0.0 && f.is_sign_negative())
                        || (f != 0.0 && f.abs() < MIN_MAGNITUDE)
                ),
            }
        }

        /// Integers: exactly those within ±2^53 are kept, unchanged.
        #[test]
        fn integers_within_two_to_the_53_are_kept(i in proptest::prelude::any::<i64>(), small in -(1i64 << 53)..=(1i64 << 53)) {
            for v in [i, small] {
                let n = Number::from(v);
                match exact_number(&n) {
                    Ok(kept) => {
                        proptest::prop_assert!(v.unsigned_abs() <= MAX_EXACT_INTEGER);
                        proptest::prop_assert_eq!(kept, n);
                    }
                    Err(_) => proptest::prop_assert!(v.unsigned_abs() > MAX_EXACT_INTEGER),
                }
            }
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
