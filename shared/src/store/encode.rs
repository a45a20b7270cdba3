//! Records into items, serialized straight into the SDK's attribute values.
//!
//! The representation is `serde_dynamo`'s (`to_item`, which the decode side reads back; a test
//! holds the two equal over every record kind and generated JSON): strings `S`, numbers `N`,
//! `bool` `BOOL`, `None` and units `NULL`, sequences `L`, maps and structs `M`, a unit variant its
//! name, any other variant `{"<variant>": <its value>}`. `serde_dynamo` builds a map of its own
//! type and converts it twice (into its `Item`, then into the SDK's map), hashing every attribute
//! name three times; that was a third of a create's item work.

use super::Item;
use aws_sdk_dynamodb::types::AttributeValue as Av;
use serde::ser::{self, Serialize};
use std::collections::HashMap;
use std::fmt::Display;

/// Room for a record's attributes and the keys, indexes and counters the store adds to them,
/// when a map does not say its size (a record's flattened envelope and fields).
const ITEM_CAPACITY: usize = 40;

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("{0}")]
    Custom(String),
    #[error("a map key must be a string, a number or a bool")]
    Key,
    #[error("only a map or a struct is an item")]
    NotAnItem,
}

impl ser::Error for EncodeError {
    fn custom<T: Display>(msg: T) -> EncodeError {
        EncodeError::Custom(msg.to_string())
    }
}

/// `value` as an item (it must serialize as a map or a struct).
pub fn to_item<T: Serialize + ?Sized>(value: &T) -> Result<Item, EncodeError> {
    match value.serialize(Attr)? {
        Av::M(item) => Ok(item),
        _ => Err(EncodeError::NotAnItem),
    }
}

/// What a serializer's methods answer: a value, or that a part of one was taken.
type Out = Result<Av, EncodeError>;
type Done = Result<(), EncodeError>;

/// Serializes one value as an attribute value.
struct Attr;

/// The `serialize_<integer>` methods: `N`, the number's decimal digits.
macro_rules! integers {
    ($($method:ident($t:ty)),*) => {$(
        fn $method(self, v: $t) -> Out {
            Ok(Av::N(itoa::Buffer::new().format(v).to_owned()))
        }
    )*};
}

impl ser::Serializer for Attr {
    type Ok = Av;
    type Error = EncodeError;
    type SerializeSeq = List;
    type SerializeTuple = List;
    type SerializeTupleStruct = List;
    type SerializeTupleVariant = Variant<List>;
    type SerializeMap = Map;
    type SerializeStruct = Map;
    type SerializeStructVariant = Variant<Map>;

    fn serialize_bool(self, v: bool) -> Out {
        Ok(Av::Bool(v))
    }
    integers!(
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64)
    );
    // Floats as `Display` prints them, as serde_dynamo writes them.
    fn serialize_f32(self, v: f32) -> Out {
        Ok(Av::N(v.to_string()))
    }
    fn serialize_f64(self, v: f64) -> Out {
        Ok(Av::N(v.to_string()))
    }
    fn serialize_char(self, v: char) -> Out {
        Ok(Av::S(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Out {
        Ok(Av::S(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Out {
        Ok(Av::B(aws_smithy_types::Blob::new(v)))
    }
    fn serialize_none(self) -> Out {
        Ok(Av::Null(true))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Out {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Out {
        Ok(Av::Null(true))
    }
    fn serialize_unit_struct(self, _: &'static str) -> Out {
        Ok(Av::Null(true))
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Out {
        Ok(Av::S(variant.to_owned()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Out {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Out {
        Ok(self::variant(variant, value.serialize(Attr)?))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<List, EncodeError> {
        Ok(List(Vec::with_capacity(len.unwrap_or(0))))
    }
    fn serialize_tuple(self, len: usize) -> Result<List, EncodeError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<List, EncodeError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Variant<List>, EncodeError> {
        Ok(Variant(variant, self.serialize_seq(Some(len))?))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Map, EncodeError> {
        Ok(Map::new(len.unwrap_or(ITEM_CAPACITY)))
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Map, EncodeError> {
        Ok(Map::new(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Variant<Map>, EncodeError> {
        Ok(Variant(variant, Map::new(len)))
    }
}

struct List(Vec<Av>);

impl List {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
        self.0.push(value.serialize(Attr)?);
        Ok(())
    }
}

/// `SerializeSeq`, `SerializeTuple` and `SerializeTupleStruct` differ only in their method's name.
macro_rules! list {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for List {
            type Ok = Av;
            type Error = EncodeError;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
                self.push(value)
            }
            fn end(self) -> Out {
                Ok(Av::L(self.0))
            }
        }
    )*};
}

list!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field
);

struct Map {
    item: Item,
    key: Option<String>,
}

impl Map {
    fn new(capacity: usize) -> Map {
        Map {
            item: HashMap::with_capacity(capacity),
            key: None,
        }
    }

    fn insert<T: Serialize + ?Sized>(&mut self, key: String, value: &T) -> Done {
        self.item.insert(key, value.serialize(Attr)?);
        Ok(())
    }
}

/// A map key, serialized as a value: a string, or a number or bool as its text.
fn key<K: Serialize + ?Sized>(key: &K) -> Result<String, EncodeError> {
    match key.serialize(Attr)? {
        Av::S(text) | Av::N(text) => Ok(text),
        Av::Bool(b) => Ok(b.to_string()),
        _ => Err(EncodeError::Key),
    }
}

impl ser::SerializeMap for Map {
    type Ok = Av;
    type Error = EncodeError;
    fn serialize_key<K: Serialize + ?Sized>(&mut self, k: &K) -> Done {
        self.key = Some(key(k)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
        let k = self
            .key
            .take()
            .ok_or_else(|| EncodeError::Custom("map value before its key".into()))?;
        self.insert(k, value)
    }
    fn serialize_entry<K, T>(&mut self, k: &K, value: &T) -> Done
    where
        K: Serialize + ?Sized,
        T: Serialize + ?Sized,
    {
        self.insert(key(k)?, value)
    }
    fn end(self) -> Out {
        Ok(Av::M(self.item))
    }
}

impl ser::SerializeStruct for Map {
    type Ok = Av;
    type Error = EncodeError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, name: &'static str, value: &T) -> Done {
        self.insert(name.to_owned(), value)
    }
    fn end(self) -> Out {
        Ok(Av::M(self.item))
    }
}

/// A tuple or struct variant: `{"<variant>": <its list or map>}`, the list or map built as any
/// other.
struct Variant<T>(&'static str, T);

fn variant(name: &'static str, inner: Av) -> Av {
    Av::M(HashMap::from([(name.to_owned(), inner)]))
}

impl ser::SerializeTupleVariant for Variant<List> {
    type Ok = Av;
    type Error = EncodeError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
        self.1.push(value)
    }
    fn end(self) -> Out {
        Ok(variant(self.0, ser::SerializeSeq::end(self.1)?))
    }
}

impl ser::SerializeStructVariant for Variant<Map> {
    type Ok = Av;
    type Error = EncodeError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, name: &'static str, value: &T) -> Done {
        ser::SerializeStruct::serialize_field(&mut self.1, name, value)
    }
    fn end(self) -> Out {
        Ok(variant(self.0, ser::SerializeStruct::end(self.1)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::json_values;
    use proptest::prelude::*;
    use serde::Serialize;
    use serde_json::{json, Value};

    fn oracle<T: Serialize>(value: &T) -> Item {
        serde_dynamo::to_item(value).unwrap()
    }

    #[derive(Serialize)]
    enum Shape {
        Unit,
        Newtype(u8),
        Tuple(i32, String),
        Struct { a: Option<bool>, b: Vec<f64> },
    }

    #[derive(Serialize)]
    struct Everything {
        shapes: Vec<Shape>,
        keys: std::collections::BTreeMap<u32, char>,
        flags: std::collections::BTreeMap<bool, ()>,
        bytes: serde_bytes_like::Bytes,
        unit: (),
        min: i64,
        max: u64,
        small: (i8, i16, u16, f32),
    }

    mod serde_bytes_like {
        pub struct Bytes(pub Vec<u8>);
        impl serde::Serialize for Bytes {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(&self.0)
            }
        }
    }

    #[test]
    fn every_shape_is_written_as_serde_dynamo_writes_it() {
        let value = Everything {
            shapes: vec![
                Shape::Unit,
                Shape::Newtype(7),
                Shape::Tuple(-3, "t".into()),
                Shape::Struct {
                    a: None,
                    b: vec![1.5, -0.0, 1e300],
                },
            ],
            keys: [(1, 'x'), (20, 'é')].into(),
            flags: [(true, ()), (false, ())].into(),
            bytes: serde_bytes_like::Bytes(vec![0, 255]),
            unit: (),
            min: i64::MIN,
            max: u64::MAX,
            small: (-128, 300, 65535, 0.1),
        };
        assert_eq!(to_item(&value).unwrap(), oracle(&value));
    }

    #[test]
    fn what_is_not_an_item_is_refused() {
        assert!(matches!(to_item(&json!([1])), Err(EncodeError::NotAnItem)));
        let unit_key: std::collections::BTreeMap<(), u8> = [((), 1)].into();
        assert!(matches!(to_item(&json!({})).map(|i| i.len()), Ok(0)));
        assert!(matches!(
            to_item(&json!({ "m": Value::Null })).map(|i| i.len()),
            Ok(1)
        ));
        #[derive(Serialize)]
        struct K {
            m: std::collections::BTreeMap<(), u8>,
        }
        assert!(matches!(to_item(&K { m: unit_key }), Err(EncodeError::Key)));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn any_json_object_is_written_as_serde_dynamo_writes_it(
            fields in prop::collection::btree_map(any::<String>(), json_values(), 0..6)
        ) {
            let object = Value::Object(fields.into_iter().collect());
            prop_assert_eq!(to_item(&object).unwrap(), oracle(&object));
        }
    }
}
