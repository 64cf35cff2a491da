//! Values that arrive through bindings, after the transport has undone its envelope.
//!
//! Every transport turns what the host sent into a [`BindingData`]: the custom-handler transport
//! undoes the host's double JSON encoding and base64, the gRPC transport maps `TypedData`. A
//! [`BindingData`] is then a serde `Deserializer`, so any `T: Deserialize` can be read from it,
//! with the conversions a user expects: a `String` gets the text as it is, a `Vec<u8>` the raw
//! bytes, and anything else parses the text as JSON.

use std::fmt;

use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde_json::Value;

use crate::http::HttpRequest;

/// One binding's value, independent of the transport that carried it.
#[derive(Debug, Clone, PartialEq)]
pub enum BindingData {
    /// No value (a missing blob, a `null`).
    Null,
    /// Text, as the host meant it (no JSON quoting left).
    Text(String),
    /// Raw bytes.
    Bytes(Vec<u8>),
    /// A structured value.
    Json(Value),
    /// An HTTP request (the HTTP trigger's value).
    Http(HttpRequest),
}

impl BindingData {
    /// Reads a `T` out of this value.
    ///
    /// ```
    /// use azfn::BindingData;
    /// #[derive(serde::Deserialize, Debug, PartialEq)]
    /// struct Order { id: u32 }
    /// let data = BindingData::Text(r#"{"id": 7}"#.into());
    /// assert_eq!(data.decode::<Order>().unwrap(), Order { id: 7 });
    /// assert_eq!(data.decode::<String>().unwrap(), r#"{"id": 7}"#);
    /// assert_eq!(data.decode::<Vec<u8>>().unwrap(), br#"{"id": 7}"#.to_vec());
    /// ```
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, DecodeError> {
        T::deserialize(self)
    }

    /// The value as JSON, the way the manifest-free parts of the runtime (logs, metadata) show it.
    pub fn to_json(&self) -> Value {
        match self {
            BindingData::Null => Value::Null,
            BindingData::Text(s) => Value::String(s.clone()),
            BindingData::Bytes(b) => Value::String(String::from_utf8_lossy(b).into_owned()),
            BindingData::Json(v) => v.clone(),
            BindingData::Http(req) => Value::String(req.text().unwrap_or_default().to_owned()),
        }
    }
}

/// A value that could not be converted to the type a function asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(String);

impl DecodeError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        DecodeError(message.into())
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

impl de::Error for DecodeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DecodeError(msg.to_string())
    }
}

fn parse_json(bytes: &[u8]) -> Result<Value, DecodeError> {
    serde_json::from_slice(bytes).map_err(|e| DecodeError(format!("the value is not valid JSON ({e})")))
}

/// What a value holds, once the HTTP request has given up its body.
enum Repr<'a> {
    Null,
    Text(&'a str),
    Bytes(&'a [u8]),
    Json(&'a Value),
}

impl<'a> Repr<'a> {
    fn of(data: &'a BindingData) -> Self {
        match data {
            BindingData::Null => Repr::Null,
            BindingData::Text(s) => Repr::Text(s),
            BindingData::Bytes(b) => Repr::Bytes(b),
            BindingData::Json(v) => Repr::Json(v),
            // A typed parameter of an HTTP function reads the request body.
            BindingData::Http(req) => Repr::Bytes(req.body()),
        }
    }

    fn raw(&self) -> &'a [u8] {
        match *self {
            Repr::Text(s) => s.as_bytes(),
            Repr::Bytes(b) => b,
            Repr::Null | Repr::Json(_) => &[],
        }
    }
}

/// Forwards the structured parts of serde's data model to the JSON reading of the value.
macro_rules! forward_to_json {
    ($($method:ident $(($($arg:ident: $ty:ty),*))?),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, $($($arg: $ty,)*)? visitor: V) -> Result<V::Value, DecodeError> {
            let repr = Repr::of(self);
            match repr {
                Repr::Null => Value::Null.$method($($($arg,)*)? visitor).map_err(de::Error::custom),
                Repr::Json(v) => v.$method($($($arg,)*)? visitor).map_err(de::Error::custom),
                Repr::Text(_) | Repr::Bytes(_) => parse_json(repr.raw())?
                    .$method($($($arg,)*)? visitor)
                    .map_err(de::Error::custom),
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for &'de BindingData {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match Repr::of(self) {
            Repr::Null => visitor.visit_unit(),
            Repr::Json(v) => v.deserialize_any(visitor).map_err(de::Error::custom),
            // Text that is JSON reads as JSON; any other text as a string.
            repr @ (Repr::Text(_) | Repr::Bytes(_)) => match serde_json::from_slice::<Value>(repr.raw()) {
                Ok(v) => v.deserialize_any(visitor).map_err(de::Error::custom),
                Err(_) => match std::str::from_utf8(repr.raw()) {
                    Ok(s) => visitor.visit_str(s),
                    Err(_) => visitor.visit_bytes(repr.raw()),
                },
            },
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match Repr::of(self) {
            Repr::Null => Err(DecodeError::new("expected text, found no value")),
            Repr::Json(Value::String(s)) => visitor.visit_str(s),
            // Structured values read as their JSON text.
            Repr::Json(v) => visitor.visit_string(v.to_string()),
            repr => match std::str::from_utf8(repr.raw()) {
                Ok(s) => visitor.visit_str(s),
                Err(e) => Err(DecodeError(format!("expected UTF-8 text ({e})"))),
            },
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match Repr::of(self) {
            Repr::Null => Err(DecodeError::new("expected bytes, found no value")),
            Repr::Json(Value::String(s)) => visitor.visit_bytes(s.as_bytes()),
            Repr::Json(v) => visitor.visit_byte_buf(v.to_string().into_bytes()),
            repr => visitor.visit_bytes(repr.raw()),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match Repr::of(self) {
            Repr::Null => Value::Null.deserialize_seq(visitor).map_err(de::Error::custom),
            Repr::Json(v) => v.deserialize_seq(visitor).map_err(de::Error::custom),
            // A JSON array reads as a list; any other payload is a list of its bytes, which is
            // what `Vec<u8>` asks for.
            repr => {
                let raw = repr.raw();
                if raw.trim_ascii_start().starts_with(b"[") {
                    parse_json(raw)?.deserialize_seq(visitor).map_err(de::Error::custom)
                } else {
                    visitor.visit_seq(de::value::SeqDeserializer::<_, DecodeError>::new(raw.iter().copied()))
                }
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match Repr::of(self) {
            Repr::Null | Repr::Json(Value::Null) => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_unit()
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_unit()
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        // A bare word (`Shipped`) names a unit variant; JSON text is a full enum value.
        if let Repr::Text(s) = Repr::of(self)
            && serde_json::from_str::<Value>(s).is_err()
        {
            return visitor.visit_enum(s.into_deserializer());
        }
        match Repr::of(self) {
            Repr::Json(v) => v.deserialize_enum(name, variants, visitor).map_err(de::Error::custom),
            repr => parse_json(repr.raw())?
                .deserialize_enum(name, variants, visitor)
                .map_err(de::Error::custom),
        }
    }

    forward_to_json! {
        deserialize_bool, deserialize_i8, deserialize_i16, deserialize_i32, deserialize_i64,
        deserialize_i128, deserialize_u8, deserialize_u16, deserialize_u32, deserialize_u64,
        deserialize_u128, deserialize_f32, deserialize_f64, deserialize_map, deserialize_identifier,
        deserialize_unit_struct(name: &'static str),
        deserialize_tuple(len: usize),
        deserialize_tuple_struct(name: &'static str, len: usize),
        deserialize_struct(name: &'static str, fields: &'static [&'static str]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug, PartialEq)]
    struct Order {
        id: u32,
        item: String,
    }

    #[derive(Deserialize, Debug, PartialEq)]
    enum Status {
        Open,
        Shipped,
    }

    #[test]
    fn text_reads_as_string_bytes_json_and_numbers() {
        let text = BindingData::Text("aaaaa".into());
        assert_eq!(text.decode::<String>().unwrap(), "aaaaa");
        assert_eq!(text.decode::<Vec<u8>>().unwrap(), b"aaaaa");
        assert!(
            text.decode::<Order>()
                .unwrap_err()
                .to_string()
                .contains("not valid JSON")
        );
        assert_eq!(BindingData::Text("42".into()).decode::<u64>().unwrap(), 42);
        assert_eq!(
            BindingData::Text("Shipped".into()).decode::<Status>().unwrap(),
            Status::Shipped
        );
        assert_eq!(
            BindingData::Text("\"Open\"".into()).decode::<Status>().unwrap(),
            Status::Open
        );
        let json = BindingData::Text(r#"{"id":1,"item":"tea"}"#.into());
        assert_eq!(
            json.decode::<Order>().unwrap(),
            Order {
                id: 1,
                item: "tea".into()
            }
        );
        assert_eq!(json.decode::<Value>().unwrap()["item"], "tea");
    }

    #[test]
    fn bytes_read_raw_or_as_json() {
        let bytes = BindingData::Bytes(vec![0, 159, 146, 150]);
        assert_eq!(bytes.decode::<Vec<u8>>().unwrap(), vec![0, 159, 146, 150]);
        assert!(bytes.decode::<String>().is_err());
        let json = BindingData::Bytes(br#"[{"id":1,"item":"a"}]"#.to_vec());
        assert_eq!(json.decode::<Vec<Order>>().unwrap().len(), 1);
    }

    #[test]
    fn json_reads_structured_and_as_text() {
        let v = BindingData::Json(serde_json::json!({"id": 2, "item": "b"}));
        assert_eq!(v.decode::<Order>().unwrap().id, 2);
        assert_eq!(v.decode::<String>().unwrap(), r#"{"id":2,"item":"b"}"#);
    }

    #[test]
    fn null_is_none_and_an_error_for_required_values() {
        assert_eq!(BindingData::Null.decode::<Option<Order>>().unwrap(), None);
        assert_eq!(BindingData::Json(Value::Null).decode::<Option<String>>().unwrap(), None);
        assert!(BindingData::Null.decode::<String>().is_err());
        assert_eq!(
            BindingData::Text("x".into())
                .decode::<Option<String>>()
                .unwrap()
                .as_deref(),
            Some("x")
        );
    }
}
