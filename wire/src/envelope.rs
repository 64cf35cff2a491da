//! The custom handler's JSON envelope, as both sides of it write and read it: the field names,
//! and the host's encodings of single values. The worker (`azfn`'s custom-handler transport)
//! decodes what the host encodes here; `cargo azfn`'s local host encodes it, as the real host
//! does (`Script/Workers/Http/DefaultHttpWorkerService.cs` and `HttpScriptInvocationContext` in
//! the host's source).
//!
//! A request is `{"Data": {binding: value}, "Metadata": {key: value}}`; a response is
//! `{"Outputs": {binding: value}, "Logs": [line], "ReturnValue": value}`. The HTTP request
//! object and the HTTP response output have shapes of their own, read and written where they
//! are used.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::Value;

/// The request's input values, by binding name.
pub const DATA: &str = "Data";
/// The request's trigger metadata (binding data) and `sys`.
pub const METADATA: &str = "Metadata";
/// The response's output values, by binding name.
pub const OUTPUTS: &str = "Outputs";
/// The response's log lines, which the host writes to its log.
pub const LOGS: &str = "Logs";
/// The response's return value (the `$return` binding, or the trigger's result).
pub const RETURN_VALUE: &str = "ReturnValue";

/// Whether the host sends a request body of this content type as base64 rather than text (and
/// as bytes over gRPC): `application/octet-stream` and `multipart/*`, parameters and case aside.
pub fn is_binary_body(content_type: &str) -> bool {
    let media_type = content_type.split(';').next().unwrap_or_default().trim();
    media_type.eq_ignore_ascii_case("application/octet-stream")
        || media_type
            .get(..10)
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case("multipart/"))
}

/// The host's encoding of one `Data` value: an object inline, anything else (string, number,
/// array, boolean, null) as a JSON string holding its JSON text, as `JsonConvert.SerializeObject`
/// writes it. [`decode_text`] undoes it.
pub fn encode_value(value: &Value) -> Value {
    match value {
        Value::Object(_) => value.clone(),
        other => Value::String(other.to_string()),
    }
}

/// The host's encoding of a string value: a JSON string holding the string's JSON text
/// (`aaaaa` → `"\"aaaaa\""`).
pub fn encode_text(text: &str) -> Value {
    encode_value(&Value::String(text.to_owned()))
}

/// The host's encoding of bytes (a `dataType: binary` binding, a binary body): base64 text.
pub fn encode_bytes(bytes: &[u8]) -> Value {
    Value::String(BASE64.encode(bytes))
}

/// Reads base64 text as the host writes it ([`encode_bytes`]).
pub fn decode_bytes(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    BASE64.decode(text)
}

/// Reads base64 as .NET's `Convert.FromBase64String` does: whitespace ignored, padding
/// required, unused trailing bits not checked. The host reads a worker's output strings so
/// (`GetBindingValue`: a string that decodes becomes bytes), and the queue extension its
/// base64-encoded messages.
pub fn decode_dotnet_base64(text: &str) -> Option<Vec<u8>> {
    const DOTNET: GeneralPurpose = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
    );
    let compact: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '\t' | '\r' | '\n'))
        .collect();
    if !compact.len().is_multiple_of(4) {
        return None;
    }
    DOTNET.decode(compact).ok()
}

/// A `Data` string after [`decode_text`].
#[derive(Debug, Clone, PartialEq)]
pub enum DecodedText {
    /// The JSON text of `null`.
    Null,
    /// A string: double-encoded, or sent as it is (dates, base64 blobs).
    Text(String),
    /// The JSON text of a number, array or boolean (or an object someone double-encoded).
    Json(Value),
}

/// Undoes the host's encoding of a string `Data` value ([`encode_value`]): its JSON text is
/// parsed, and a string that is not JSON text is a plain one, as the host also sends.
pub fn decode_text(raw: String) -> DecodedText {
    match serde_json::from_str::<Value>(&raw) {
        Ok(Value::String(text)) => DecodedText::Text(text),
        Ok(Value::Null) => DecodedText::Null,
        Ok(value) => DecodedText::Json(value),
        Err(_) => DecodedText::Text(raw),
    }
}

/// Undoes the host's encoding of one `Metadata` value: double-encoded strings and numbers are
/// unwrapped; plain strings (ISO dates) and inline objects (`sys`, `RetryContext`) stay.
pub fn decode_metadata_value(value: Value) -> Value {
    match value {
        Value::String(raw) => match serde_json::from_str(&raw) {
            Ok(decoded) => decoded,
            Err(_) => Value::String(raw),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn what_the_host_encodes_decodes_to_the_same_value() {
        for value in [
            json!("aaaaa"),
            json!(""),
            json!("\"quoted\""),
            json!(42),
            json!([1, "two"]),
            json!(true),
        ] {
            let Value::String(encoded) = encode_value(&value) else {
                panic!("{value} is sent as a string");
            };
            let decoded = match decode_text(encoded) {
                DecodedText::Text(text) => Value::String(text),
                DecodedText::Json(json) => json,
                DecodedText::Null => Value::Null,
            };
            assert_eq!(decoded, value);
        }
        assert_eq!(encode_value(&json!({"a": 1})), json!({"a": 1}), "objects go inline");
        assert_eq!(
            decode_text(encode_value(&Value::Null).as_str().unwrap().to_owned()),
            DecodedText::Null
        );
        assert_eq!(encode_text("aaaaa"), json!("\"aaaaa\""));
        // Dates and base64 are sent plain: they are not JSON text, so they stay text.
        assert_eq!(
            decode_text("2024-05-01T12:00:00Z".into()),
            DecodedText::Text("2024-05-01T12:00:00Z".into())
        );
        assert_eq!(
            decode_bytes(encode_bytes(b"\x00\xffbin").as_str().unwrap()).unwrap(),
            b"\x00\xffbin"
        );
    }

    #[test]
    fn dotnet_base64_rules() {
        assert_eq!(decode_dotnet_base64("dGVz dA=="), Some(b"test".to_vec()));
        assert_eq!(decode_dotnet_base64(""), Some(Vec::new()));
        assert_eq!(decode_dotnet_base64("abc"), None);
        assert_eq!(decode_dotnet_base64("ab=c"), None);
        assert_eq!(
            decode_dotnet_base64("Hello123"),
            Some(vec![0x1d, 0xe9, 0x65, 0xa3, 0x5d, 0xb7])
        );
    }

    #[test]
    fn metadata_values_are_unwrapped_once() {
        assert_eq!(decode_metadata_value(json!("\"orders\"")), json!("orders"));
        assert_eq!(decode_metadata_value(json!("3")), json!(3));
        assert_eq!(
            decode_metadata_value(json!("2024-05-01T12:00:00Z")),
            json!("2024-05-01T12:00:00Z")
        );
        assert_eq!(
            decode_metadata_value(json!({"MethodName": "f"})),
            json!({"MethodName": "f"})
        );
    }

    #[test]
    fn binary_bodies_are_octet_streams_and_multipart() {
        assert!(is_binary_body("application/octet-stream"));
        assert!(is_binary_body("Application/Octet-Stream; charset=x"));
        assert!(is_binary_body("multipart/form-data; boundary=x"));
        assert!(is_binary_body(" MULTIPART/mixed"));
        assert!(!is_binary_body("application/json"));
        assert!(!is_binary_body("text/plain"));
        assert!(!is_binary_body("multipart"));
        assert!(!is_binary_body(""));
    }
}
