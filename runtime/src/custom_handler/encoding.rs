//! The host's encodings of single values, shared by the two decoders and encoders of the
//! envelope: the reference one in [`protocol`](super::protocol) and the one-pass one in
//! `direct.rs`. Both use these rules and neither depends on the other's, so the one-pass path
//! cannot drift from the reference on a value it accepts.

use azfn_bindings::DataType;
use azfn_wire::envelope::{DecodedText, decode_bytes, decode_text, is_binary_body};
use http::{HeaderName, HeaderValue};
use serde_json::{Map, Value};

use crate::data::BindingData;
use crate::error::InvocationError;
use crate::function::FunctionDescription;
use crate::http::{ClaimsIdentity, HttpResponse};

/// Undoes the host's encoding of one `Data` value (every value but the HTTP request).
pub(super) fn decode_value(value: Value, data_type: Option<DataType>) -> BindingData {
    match value {
        Value::Null => BindingData::Null,
        Value::String(raw) => {
            // The host sends the bytes of a `dataType: binary` binding as base64.
            if data_type == Some(DataType::Binary)
                && let Ok(bytes) = decode_bytes(&raw)
            {
                return BindingData::Bytes(bytes);
            }
            match decode_text(raw) {
                DecodedText::Null => BindingData::Null,
                DecodedText::Text(text) => BindingData::Text(text),
                DecodedText::Json(value) => BindingData::Json(value),
            }
        }
        // Objects (`TimerInfo`, blob properties) are the one thing the host sends inline.
        other => BindingData::Json(other),
    }
}

/// The `Metadata` map from its text, which the one-pass decoder has checked (so this cannot
/// fail), with every value decoded as the reference decoder decodes it
/// ([`decode_metadata_value`]).
pub(super) fn parse_metadata(json: &str) -> Map<String, Value> {
    serde_json::from_str::<Map<String, Value>>(json)
        .unwrap_or_default()
        .into_iter()
        .map(|(key, value)| (key, decode_metadata_value(value)))
        .collect()
}

pub(super) use azfn_wire::envelope::decode_metadata_value;

/// `Identities`: an array of `ClaimsIdentity` objects, or (old hosts) the JSON text of one.
pub(super) fn identities(value: Option<Value>) -> Result<Vec<ClaimsIdentity>, String> {
    let value = match value {
        Some(Value::Null) | None => return Ok(Vec::new()),
        Some(Value::String(text)) => serde_json::from_str(&text)
            .map_err(|e| format!("`Identities` is a string that is not the JSON text of a list ({e})"))?,
        Some(value) => value,
    };
    serde_json::from_value(value).map_err(|e| format!("`Identities` is not a list of identities ({e})"))
}

/// `Body`: text, except for `application/octet-stream` and `multipart/*` requests, whose raw
/// bytes the host sends as base64.
pub(super) fn request_body(value: Option<Value>, content_type: Option<&str>) -> Result<Vec<u8>, String> {
    match value {
        Some(Value::Null) | None => Ok(Vec::new()),
        Some(Value::String(text)) if content_type.is_some_and(is_binary_body) => decode_bytes(&text).map_err(|e| {
            format!(
                "`Body` of a `{}` request must be base64, as the host sends it ({e})",
                content_type.unwrap_or_default()
            )
        }),
        Some(Value::String(text)) => Ok(text.into_bytes()),
        // No host sends this, but a structured body has one faithful text form.
        Some(other) => Ok(other.to_string().into_bytes()),
    }
}

/// Whether the host hands the function's return value on as it is: when no `$return` binding is
/// declared, it skips the binding's conversion (and its base64 attempt) and passes the value to
/// the trigger, which is how Durable Functions' triggers receive their results (host PR #8874).
pub(super) fn return_value_passes_through(function: &FunctionDescription) -> bool {
    function.binding(azfn_bindings::RETURN_BINDING_NAME).is_none()
}

/// The body of an HTTP response output, which must be text.
///
/// The host reads an HTTP output's `body` as text only (its conversion of a custom handler's
/// output values): a JSON string is written verbatim, with no base64 decoding; an
/// object or array is written as its JSON text; there is no byte-array form. (A `$return` that
/// is a bare base64 string would be decoded to bytes, but only as a `200` with no headers, and
/// that path is inferred, not observed.) So a body that is not UTF-8 cannot be carried by the
/// envelope: it fails the invocation with an error that says which transports carry bytes.
pub(super) fn body_text<'a>(binding: &str, response: &'a HttpResponse) -> Result<&'a str, InvocationError> {
    std::str::from_utf8(response.body()).map_err(|_| {
        output_error(
            binding,
            "the HTTP response body is not UTF-8 text, and the custom handler's JSON envelope carries \
             response bodies only as text (the host writes the `body` string as it is); binary bodies \
             go out as they are when the host forwards the function's requests \
             (`App::forward_http_requests()`, or `App::proxy_http_requests()` on newer hosts; HTTP-only \
             functions) or over the native gRPC transport"
                .to_owned(),
        )
    })
}

/// One header value of an HTTP response output, which must be text.
pub(super) fn header_text<'a>(
    binding: &str,
    name: &HeaderName,
    value: &'a HeaderValue,
) -> Result<&'a str, InvocationError> {
    std::str::from_utf8(value.as_bytes())
        .map_err(|_| output_error(binding, format!("the value of header `{name}` is not UTF-8 text")))
}

pub(super) fn output_error(binding: &str, message: String) -> InvocationError {
    InvocationError::Output {
        binding: binding.to_owned(),
        message,
    }
}
