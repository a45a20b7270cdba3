//! RFC 8785 (JCS) canonical JSON of a `serde_json::Value`, streamed into a writer: the form
//! history events and idempotency fingerprints are hashed in (`history::digest_of`).
//!
//! `serde_json_canonicalizer` writes the same bytes (its tests here are the oracle, over a fixed
//! corpus and generated values), but boxes a writer for every token and parses every object key
//! back from JSON to sort it: 50 µs of technology-create's 80 µs of history work per request.
//! The rules, as that crate applies them: members sorted by the UTF-16 code units of their
//! names, strings escaped as `JSON.stringify` does (which is `serde_json`'s escaping), every
//! number written as the ECMAScript form of its `f64` (`ryu_js`, the crate's own formatter), no
//! NaN or infinity, no whitespace.

use serde_json::{Map, Number, Value};
use std::io::{self, Write};

/// Writes `value` in canonical form.
pub fn write<W: Write>(value: &Value, out: &mut W) -> io::Result<()> {
    match value {
        Value::Null => out.write_all(b"null"),
        Value::Bool(true) => out.write_all(b"true"),
        Value::Bool(false) => out.write_all(b"false"),
        Value::Number(n) => number(n, out),
        Value::String(s) => string(s, out),
        Value::Array(items) => {
            out.write_all(b"[")?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                write(item, out)?;
            }
            out.write_all(b"]")
        }
        Value::Object(map) => object(map, |_| true, out),
    }
}

/// Writes the members of `map` that `keep` keeps, as one canonical object.
pub fn object<W: Write>(
    map: &Map<String, Value>,
    keep: impl Fn(&str) -> bool,
    out: &mut W,
) -> io::Result<()> {
    let mut members: Vec<(&String, &Value)> = map.iter().filter(|(k, _)| keep(k)).collect();
    members.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
    out.write_all(b"{")?;
    for (i, (name, value)) in members.into_iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        string(name, out)?;
        out.write_all(b":")?;
        write(value, out)?;
    }
    out.write_all(b"}")
}

pub(crate) fn string<W: Write>(s: &str, out: &mut W) -> io::Result<()> {
    serde_json::to_writer(out, s).map_err(io::Error::from)
}

fn number<W: Write>(n: &Number, out: &mut W) -> io::Result<()> {
    match n.as_f64().filter(|f| f.is_finite()) {
        Some(f) => out.write_all(ryu_js::Buffer::new().format_finite(f).as_bytes()),
        None => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "NaN and +/-Infinity are not permitted in JSON",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::json_values;
    use proptest::prelude::*;
    use serde_json::json;

    fn ours(value: &Value) -> String {
        let mut out = Vec::new();
        write(value, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn oracle(value: &Value) -> String {
        serde_json_canonicalizer::to_string(value).unwrap()
    }

    #[test]
    fn writes_what_the_canonicalizer_writes() {
        let corpus = [
            json!(null),
            json!({"b": 1, "a": [true, false, null], "": "empty name"}),
            json!({"numbers": [0, -0.0, 1, -1, 1.5, 1e21, 1e-7, 123456789012345678_u64,
                -9007199254740993_i64, 0.1, 1e300, 5e-324, 4.35, 100.0]}),
            json!({"esc": "quote \" back \\ slash / nl \n tab \t cr \r bs \u{8} ff \u{c} nul \u{0} us \u{1f} del \u{7f}"}),
            json!({"unicode": "é 日本 😀 \u{2028}\u{2029}", "é": 1, "e": 2, "😀": 3, "\u{ffff}": 4, "z": 5}),
            json!({"nested": {"y": {"b": [], "a": {}}, "x": [{"d": 1, "c": 2}]}}),
            json!({"\u{10000}": "astral sorts before", "\u{e000}": "private use, by UTF-16 units"}),
        ];
        for value in &corpus {
            assert_eq!(ours(value), oracle(value), "{value}");
        }
    }

    #[test]
    fn a_filtered_object_leaves_out_what_keep_refuses() {
        let map = json!({"hash": "h", "b": 2, "a": 1});
        let mut out = Vec::new();
        object(map.as_object().unwrap(), |k| k != "hash", &mut out).unwrap();
        assert_eq!(out, br#"{"a":1,"b":2}"#);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn any_value_is_written_as_the_canonicalizer_writes_it(value in json_values()) {
            prop_assert_eq!(ours(&value), oracle(&value));
        }
    }
}
