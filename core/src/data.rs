//! Values that arrive through bindings, after the transport has undone its envelope.
//!
//! Every transport turns what the host sent into a [`BindingData`]: the custom-handler transport
//! undoes the host's double JSON encoding and base64, the gRPC transport maps `TypedData`. A
//! [`BindingData`] is then a serde `Deserializer`, so any `T: Deserialize` can be read from it,
//! with the conversions a user expects: a `String` gets the text as it is, a `Vec<u8>` the raw
//! bytes, and anything else parses the text as JSON.

use serde::de::{self, DeserializeOwned, Visitor};
use serde_json::Value;

pub use crate::decode::DecodeError;
use crate::decode::Repr;
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

/// Reads the value through [`Repr`], the one reading of a value's shapes.
macro_rules! forward_to_repr {
    ($($method:ident $(($($arg:ident: $ty:ty),*))?),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, $($($arg: $ty,)*)? visitor: V) -> Result<V::Value, DecodeError> {
            repr(self).$method($($($arg,)*)? visitor)
        }
    )*};
}

/// What a value holds, once the HTTP request has given up its body.
fn repr(data: &BindingData) -> Repr<'_> {
    match data {
        BindingData::Null => Repr::Null,
        BindingData::Text(s) => Repr::Text(s),
        BindingData::Bytes(b) => Repr::Bytes(b),
        BindingData::Json(v) => Repr::Json(v),
        // A typed parameter of an HTTP function reads the request body.
        BindingData::Http(req) => Repr::Bytes(req.body()),
    }
}

impl<'de> de::Deserializer<'de> for &'de BindingData {
    type Error = DecodeError;

    forward_to_repr! {
        deserialize_any, deserialize_bool, deserialize_i8, deserialize_i16, deserialize_i32,
        deserialize_i64, deserialize_i128, deserialize_u8, deserialize_u16, deserialize_u32,
        deserialize_u64, deserialize_u128, deserialize_f32, deserialize_f64, deserialize_char,
        deserialize_str, deserialize_string, deserialize_bytes, deserialize_byte_buf,
        deserialize_option, deserialize_unit, deserialize_seq, deserialize_map,
        deserialize_identifier, deserialize_ignored_any,
        deserialize_unit_struct(name: &'static str),
        deserialize_newtype_struct(name: &'static str),
        deserialize_tuple(len: usize),
        deserialize_tuple_struct(name: &'static str, len: usize),
        deserialize_struct(name: &'static str, fields: &'static [&'static str]),
        deserialize_enum(name: &'static str, variants: &'static [&'static str]),
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
