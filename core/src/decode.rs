//! How a binding's value is read as any `T: Deserialize`, whatever carried it: the serde
//! `Deserializer` over the four shapes a value can have (no value, text, bytes, JSON), and the
//! error it reports. [`BindingData`](crate::BindingData) reads through it, and so does one
//! route or query value read as a plain `T` (`Path<u32>`), so the conversions are the same.

use std::fmt;

use serde::de::{self, IntoDeserializer, Visitor};
use serde_json::Value;

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
    serde_json::from_slice(bytes).map_err(|e| DecodeError::new(format!("the value is not valid JSON ({e})")))
}

/// What a value holds: no value, text, bytes or JSON.
#[derive(Clone, Copy)]
pub(crate) enum Repr<'a> {
    Null,
    Text(&'a str),
    Bytes(&'a [u8]),
    Json(&'a Value),
}

impl<'a> Repr<'a> {
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
            let repr = self;
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

impl<'de> de::Deserializer<'de> for Repr<'de> {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self {
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
        match self {
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
        match self {
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
        match self {
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
        match self {
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
        if let Repr::Text(s) = self
            && serde_json::from_str::<Value>(s).is_err()
        {
            return visitor.visit_enum(s.into_deserializer());
        }
        match self {
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
