//! The JSON envelopes of the custom-handler protocol: the invocation request the host sends and
//! the response it expects. Pure functions, no I/O.
//!
//! The host's request is `{"Data": {...}, "Metadata": {...}}`: `Data` holds one value per input
//! binding (the trigger first), `Metadata` the trigger's binding data. [`decode_request`] turns it
//! into an [`Invocation`], undoing the host's encodings. The response is
//! `{"Outputs": {...}, "Logs": [...], "ReturnValue": ...}`; [`encode_response`] builds it from
//! [`Outputs`], working around the host's conversions.

use azfn_bindings::BindingDescription;
#[cfg(test)]
use azfn_bindings::DataType;
#[cfg(test)]
use azfn_bindings::RETURN_BINDING_NAME;
use azfn_wire::envelope;
#[cfg(test)]
use base64::Engine as _;
#[cfg(test)]
use base64::engine::general_purpose::STANDARD as BASE64;
use http::Method;
#[cfg(test)]
use http::{HeaderMap, HeaderValue};
#[cfg(test)]
use serde_json::json;
use serde_json::{Map, Value};

use super::direct;
#[cfg(test)]
use super::encoding::{body_text, header_text, output_error, return_value_passes_through};
use super::encoding::{decode_metadata_value, decode_value, identities, request_body};
use crate::data::BindingData;
use crate::error::InvocationError;
use crate::function::FunctionDescription;
use crate::http::HttpRequest;
#[cfg(test)]
use crate::http::HttpResponse;
#[cfg(test)]
use crate::invocation::OutputValue;
use crate::invocation::{Invocation, Outputs, RetryContext};

/// Reads the body of the host's invocation request for `function`.
///
/// Every value is decoded the way the host encoded it: the HTTP trigger's request object becomes
/// [`BindingData::Http`]; any other value arrives double JSON-encoded (a queue message `aaaaa`
/// as `"\"aaaaa\""`) and becomes [`BindingData::Text`] for text, [`BindingData::Json`] for
/// numbers, arrays and objects (objects such as `TimerInfo` arrive inline), and
/// [`BindingData::Bytes`] for a base64 value of a binding declared `dataType: binary`. Values
/// that are not JSON at all (ISO dates, base64 blobs) are kept as text. Metadata values are
/// unwrapped the same way into plain JSON (`"1"` → `1`, `"\"abc\""` → `"abc"`).
///
/// Binding names are matched case-insensitively and stored under the function's own spelling;
/// names the function does not declare are kept as the host sent them.
///
/// # Errors
///
/// [`InvocationError::MalformedRequest`] when the body is not a JSON object, `Data` is not an
/// object, or `Metadata` is neither an object nor absent; [`InvocationError::Binding`] when the
/// HTTP request object is not one (a `Method` that is not a method, a `Body` that should be
/// base64 and is not, …).
///
/// ```
/// use azfn::bindings::{BindingDescription, catalog};
/// use azfn::custom_handler::protocol::decode_request;
/// use azfn::{BindingData, FunctionDescription, Invocation, Outputs};
///
/// static BINDINGS: [BindingDescription; 1] = [BindingDescription {
///     kind: &catalog::QUEUE_TRIGGER,
///     name: "order",
///     data_type: None,
///     properties: &[],
/// }];
/// # use std::{future::Future, pin::Pin};
/// # type InvokeFuture = Pin<Box<dyn Future<Output = Result<Outputs, azfn::InvocationError>> + Send>>;
/// # fn never_called(_: Invocation) -> InvokeFuture {
/// #     Box::pin(async { Ok(Outputs::default()) })
/// # }
/// static AUDIT: FunctionDescription = FunctionDescription {
///     name: "audit",
///     rust_path: "app::audit",
///     location: ("src/main.rs", 1),
///     bindings: &BINDINGS,
///     return_bindings: &[],
///     retry: None,
///     streams_request_body: false,
///     invoke: never_called,
/// };
///
/// let body = br#"{"Data": {"order": "\"tea\""}, "Metadata": {"DequeueCount": "1"}}"#;
/// let invocation = decode_request(&AUDIT, "id-1".into(), body).unwrap();
/// assert_eq!(invocation.binding("order"), &BindingData::Text("tea".into()));
/// assert_eq!(invocation.metadata["DequeueCount"], 1);
/// ```
pub fn decode_request(
    function: &'static FunctionDescription,
    invocation_id: String,
    body: &[u8],
) -> Result<Invocation, InvocationError> {
    // One pass over the bytes for the shapes hosts send; anything else, errors included, is
    // decided by the reference decoder below (see `direct.rs`).
    let Some(decoded) = direct::decode(function, body) else {
        return decode_request_reference(function, invocation_id, body);
    };
    let mut invocation = Invocation::new(function, invocation_id);
    invocation.data = decoded.data;
    invocation.metadata = decoded.metadata;
    if decoded.retry_context_sent {
        invocation.retry = invocation.metadata.get("RetryContext").and_then(retry_context);
    }
    Ok(invocation)
}

/// The reference decoder: the whole body as a `serde_json::Value`, then each rule of the
/// protocol applied to it. [`decode_request`] uses it for whatever its one-pass decoder leaves.
fn decode_request_reference(
    function: &'static FunctionDescription,
    invocation_id: String,
    body: &[u8],
) -> Result<Invocation, InvocationError> {
    let envelope = parse_envelope(body)?;
    let mut invocation = Invocation::new(function, invocation_id);
    for (name, value) in envelope.data {
        let binding = function.binding(&name);
        // Invokers look values up by the declared name, whatever casing the host used.
        let key = binding.map_or(name, |b| b.name.to_owned());
        let data = decode_binding(binding, &key, value)?;
        invocation.data.insert(key, data);
    }
    invocation.metadata = envelope
        .metadata
        .into_iter()
        .map(|(key, value)| (key, decode_metadata_value(value)))
        .collect();
    invocation.retry = invocation.metadata.get("RetryContext").and_then(retry_context);
    Ok(invocation)
}

/// `Metadata.RetryContext` (`RetryCount`, `MaxRetryCount`, `Exception`), sent when a retry
/// policy applies.
fn retry_context(value: &Value) -> Option<RetryContext> {
    let object = value.as_object()?;
    let field = |name: &str| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    let number = |name: &str| field(name).and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()));
    Some(RetryContext {
        retry_count: number("RetryCount").unwrap_or(0),
        max_retry_count: number("MaxRetryCount").unwrap_or(0),
        exception: field("Exception").filter(|v| !v.is_null()).map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }),
    })
}

/// Builds the body of the response to the host: `{"Outputs": {...}, "Logs": [...],
/// "ReturnValue": ...}`, always a JSON object.
///
/// Each value is shaped so that the host's conversions hand the binding exactly what the
/// function wrote:
///
/// - an HTTP response becomes `{"statusCode": 201, "headers": {"name": "value"}, "body": "..."}`:
///   header values as strings (repeated headers joined with `, `), the body as text, and `body`
///   always present (a `$return` response is only recognised with one);
/// - text and bytes are sent as base64 strings, which the host decodes back to bytes. Text is
///   not sent as it is because the host base64-decodes *every* string output that happens to be
///   valid base64 (`"test"` would arrive as three unrelated bytes); the base64 of the text's
///   UTF-8 bytes always decodes to exactly those bytes;
/// - JSON numbers, booleans, objects and arrays pass through unchanged; an array writes one
///   message per element to collector bindings such as queues. Strings *inside* an array are
///   sent as they are, because the host only base64-decodes a top-level string.
///
/// Outputs are keyed by the function's own spelling of the binding name, since the host looks
/// them up case-sensitively. `ReturnValue` is `null` when there is no return value.
///
/// # Errors
///
/// [`InvocationError::Output`] when an HTTP response cannot be carried by the protocol: its body
/// or a header value is not UTF-8 text (the host writes the body string as it is, so there is no
/// way to send binary bodies through the envelope; forwarded and proxied requests, and the
/// native transport, carry them).
///
/// ```
/// use azfn::custom_handler::protocol::encode_response;
/// use azfn::{FunctionDescription, Invocation, LogLine, OutputValue, Outputs};
///
/// # use std::{future::Future, pin::Pin};
/// # type InvokeFuture = Pin<Box<dyn Future<Output = Result<Outputs, azfn::InvocationError>> + Send>>;
/// # fn never_called(_: Invocation) -> InvokeFuture {
/// #     Box::pin(async { Ok(Outputs::default()) })
/// # }
/// static COPY: FunctionDescription = FunctionDescription {
///     name: "copy",
///     rust_path: "app::copy",
///     location: ("src/main.rs", 1),
///     bindings: &[],
///     return_bindings: &[],
///     retry: None,
///     streams_request_body: false,
///     invoke: never_called,
/// };
///
/// let mut outputs = Outputs::default();
/// outputs.set("message", Some(OutputValue::Text("test".into())));
/// outputs.logs.push(LogLine::new(tracing::Level::INFO, "app", "copied"));
/// let body = encode_response(&COPY, &outputs).unwrap();
/// let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
/// assert_eq!(
///     json,
///     serde_json::json!({"Outputs": {"message": "dGVzdA=="}, "Logs": [" INFO app: copied"], "ReturnValue": null})
/// );
/// ```
pub fn encode_response(function: &FunctionDescription, outputs: &Outputs) -> Result<Vec<u8>, InvocationError> {
    direct::encode(function, outputs)
}

/// The reference encoder, through a `serde_json::Value`: what [`encode_response`] writes
/// without one, checked byte for byte by the tests.
#[cfg(test)]
fn encode_response_reference(function: &FunctionDescription, outputs: &Outputs) -> Result<Vec<u8>, InvocationError> {
    let logs: Vec<String> = outputs.logs.iter().map(ToString::to_string).collect();
    let mut named = Map::new();
    for (name, value) in &outputs.named {
        // The host finds each output under the exact `function.json` spelling.
        let key = function.binding(name).map_or(*name, |b| b.name);
        named.insert(key.to_owned(), encode_output(key, value)?);
    }
    let return_value = match &outputs.return_value {
        Some(value) if return_value_passes_through(function) => encode_passthrough(value)?,
        Some(value) => encode_output(RETURN_BINDING_NAME, value)?,
        None => Value::Null,
    };
    let body = Value::Object(Map::from_iter([
        (envelope::OUTPUTS.to_owned(), Value::Object(named)),
        (envelope::LOGS.to_owned(), Value::from(logs)),
        (envelope::RETURN_VALUE.to_owned(), return_value),
    ]));
    serde_json::to_vec(&body).map_err(|e| output_error("(response)", format!("cannot serialize the response ({e})")))
}

/// The two parts of the host's request body.
struct Envelope {
    data: Map<String, Value>,
    metadata: Map<String, Value>,
}

fn parse_envelope(body: &[u8]) -> Result<Envelope, InvocationError> {
    // .NET writers may start UTF-8 with a byte-order mark, which JSON parsers refuse.
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let value: Value =
        serde_json::from_slice(body).map_err(|e| malformed(format!("the body is not valid JSON ({e})")))?;
    let Value::Object(mut top) = value else {
        return Err(malformed(format!(
            "the body must be a JSON object with `Data` and `Metadata`, found {}",
            describe(&value)
        )));
    };
    let data = match take_field(&mut top, envelope::DATA) {
        Some(Value::Object(data)) => data,
        None => return Err(malformed("the body has no `Data` object".to_owned())),
        Some(other) => {
            return Err(malformed(format!(
                "`Data` must be a JSON object, found {}",
                describe(&other)
            )));
        }
    };
    let metadata = match take_field(&mut top, envelope::METADATA) {
        Some(Value::Object(metadata)) => metadata,
        Some(Value::Null) | None => Map::new(),
        Some(other) => {
            return Err(malformed(format!(
                "`Metadata` must be a JSON object, found {}",
                describe(&other)
            )));
        }
    };
    Ok(Envelope { data, metadata })
}

/// Removes the field `name` from `object`: the exact spelling if present, else the first key
/// equal to it ignoring ASCII case (the host's serializer is case-insensitive too).
fn take_field(object: &mut Map<String, Value>, name: &str) -> Option<Value> {
    if let Some(value) = object.remove(name) {
        return Some(value);
    }
    let key = object.keys().find(|key| key.eq_ignore_ascii_case(name))?.clone();
    object.remove(&key)
}

fn decode_binding(
    binding: Option<&BindingDescription>,
    name: &str,
    value: Value,
) -> Result<BindingData, InvocationError> {
    match binding {
        Some(binding) if binding.kind.is_http_trigger() => {
            decode_http_request(value)
                .map(BindingData::Http)
                .map_err(|message| InvocationError::Binding {
                    binding: name.to_owned(),
                    message,
                })
        }
        _ => Ok(decode_value(value, binding.and_then(|b| b.data_type))),
    }
}

/// Reads the host's PascalCase HTTP request object. Errors are messages for
/// [`InvocationError::Binding`].
fn decode_http_request(value: Value) -> Result<HttpRequest, String> {
    let Value::Object(mut fields) = value else {
        return Err(format!("expected the HTTP request object, found {}", describe(&value)));
    };
    let method = match take_field(&mut fields, "Method") {
        Some(Value::String(method)) => {
            Method::from_bytes(method.as_bytes()).map_err(|_| format!("`Method` {method:?} is not an HTTP method"))?
        }
        Some(other) => return Err(format!("`Method` must be a string, found {}", describe(&other))),
        None => return Err("the HTTP request object has no `Method`".to_owned()),
    };
    let url = match take_field(&mut fields, "Url") {
        Some(Value::String(url)) => url,
        Some(Value::Null) | None => String::new(),
        Some(other) => return Err(format!("`Url` must be a string, found {}", describe(&other))),
    };
    let headers = header_pairs(take_field(&mut fields, "Headers"))?;
    let content_type = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        .map(|(_, value)| value.as_str());
    let body = request_body(take_field(&mut fields, "Body"), content_type)?;

    let mut builder = HttpRequest::builder().method(method).url(url).body(body);
    for (name, value) in &headers {
        builder = builder.header(name, value);
    }
    for (name, value) in string_map("Query", take_field(&mut fields, "Query"))? {
        builder = builder.query(name, value);
    }
    for (name, value) in string_map("Params", take_field(&mut fields, "Params"))? {
        builder = builder.param(name, value);
    }
    for identity in identities(take_field(&mut fields, "Identities"))? {
        builder = builder.identity(identity);
    }
    Ok(builder.build())
}

/// `Headers`: an object of name → array of strings (a plain string is accepted too).
fn header_pairs(value: Option<Value>) -> Result<Vec<(String, String)>, String> {
    let headers = match value {
        Some(Value::Object(headers)) => headers,
        Some(Value::Null) | None => return Ok(Vec::new()),
        Some(other) => return Err(format!("`Headers` must be an object, found {}", describe(&other))),
    };
    let mut pairs = Vec::new();
    for (name, values) in headers {
        let values = match values {
            Value::Array(values) => values,
            single => vec![single],
        };
        for value in values {
            if let Some(text) = scalar_text(value, || format!("header `{name}`"))? {
                pairs.push((name.clone(), text));
            }
        }
    }
    Ok(pairs)
}

/// `Query` and `Params`: an object of name → value, or (old hosts) the JSON text of one. Values
/// that are not strings (route parameters typed `int`) are given as their JSON text.
fn string_map(field: &str, value: Option<Value>) -> Result<Vec<(String, String)>, String> {
    let entries = match value {
        Some(Value::Object(entries)) => entries,
        Some(Value::Null) | None => return Ok(Vec::new()),
        Some(Value::String(text)) => match serde_json::from_str(&text) {
            Ok(Value::Object(entries)) => entries,
            _ => {
                return Err(format!(
                    "`{field}` must be an object or the JSON text of one, found {text:?}"
                ));
            }
        },
        Some(other) => return Err(format!("`{field}` must be an object, found {}", describe(&other))),
    };
    let mut pairs = Vec::new();
    for (name, value) in entries {
        if let Some(text) = scalar_text(value, || format!("`{field}` entry `{name}`"))? {
            pairs.push((name, text));
        }
    }
    Ok(pairs)
}

/// The text of a string, number or boolean; `None` for null; an error for arrays and objects.
fn scalar_text(value: Value, what: impl FnOnce() -> String) -> Result<Option<String>, String> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) => Ok(Some(text)),
        Value::Number(_) | Value::Bool(_) => Ok(Some(value.to_string())),
        Value::Array(_) | Value::Object(_) => Err(format!("{} must be text, found {}", what(), describe(&value))),
    }
}

/// A return value no binding declares: text as a JSON string, JSON as it is.
#[cfg(test)]
fn encode_passthrough(value: &OutputValue) -> Result<Value, InvocationError> {
    match value {
        OutputValue::Text(text) => Ok(Value::String(text.clone())),
        OutputValue::Json(value) => Ok(value.clone()),
        other => encode_output(RETURN_BINDING_NAME, other),
    }
}

#[cfg(test)]
fn encode_output(binding: &str, value: &OutputValue) -> Result<Value, InvocationError> {
    match value {
        OutputValue::Http(response) => encode_http_response(binding, response),
        // Why text goes as base64: for every string output of a binding without
        // `dataType: binary`, the host tries `Convert.FromBase64String` and, if that succeeds,
        // writes the decoded bytes instead of the string. Text that happens to be valid base64
        // ("test", "abcd", "Hello123") would silently arrive as garbage. Sending the base64 of
        // the text's UTF-8 bytes makes that decoding always succeed and always yield exactly
        // the text's bytes, whatever the text is.
        OutputValue::Text(text) => Ok(base64_string(text.as_bytes())),
        // The same decoding turns these into the bytes (outputs never declare
        // `dataType: binary`, which would make the host pass the string through instead).
        OutputValue::Bytes(bytes) => Ok(base64_string(bytes)),
        // Not produced by azfn (a JSON string is `Text`), but it would meet the same quirk.
        OutputValue::Json(Value::String(text)) => Ok(base64_string(text.as_bytes())),
        // Numbers, booleans and objects are not strings, so the host passes them through. An
        // array writes one message per element to collector bindings; strings inside it are
        // left as they are, since the host does not base64-decode array elements.
        OutputValue::Json(value) => Ok(value.clone()),
    }
}

#[cfg(test)]
fn base64_string(bytes: &[u8]) -> Value {
    Value::String(BASE64.encode(bytes))
}

/// The response object the host's HTTP binding reads: `statusCode`, string `headers`, text
/// `body` (always present: a `$return` object without `body` would be sent as a JSON body).
#[cfg(test)]
fn encode_http_response(binding: &str, response: &HttpResponse) -> Result<Value, InvocationError> {
    let headers = encode_headers(binding, response.headers())?;
    let body = body_text(binding, response)?;
    Ok(json!({ "statusCode": response.status().as_u16(), "headers": headers, "body": body }))
}

/// Header values as single strings: the host writes each with `ToString()`, so an array would
/// arrive as its JSON text. Repeated headers are joined with `, `, as HTTP allows.
#[cfg(test)]
fn encode_headers(binding: &str, headers: &HeaderMap) -> Result<Map<String, Value>, InvocationError> {
    let mut encoded = Map::new();
    for name in headers.keys() {
        let mut values = Vec::new();
        for value in headers.get_all(name) {
            values.push(header_text(binding, name, value)?);
        }
        encoded.insert(name.as_str().to_owned(), Value::String(values.join(", ")));
    }
    Ok(encoded)
}

fn malformed(message: String) -> InvocationError {
    InvocationError::MalformedRequest(message)
}

/// How messages name the kind of a JSON value.
fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use azfn_bindings::PropertyValue;
    use azfn_bindings::catalog;
    use http::StatusCode;

    use crate::function::InvokeFuture;

    fn never_called(_: Invocation) -> InvokeFuture {
        Box::pin(async { Ok(Outputs::default()) })
    }

    static BINDINGS: [BindingDescription; 4] = [
        BindingDescription {
            kind: &catalog::HTTP_TRIGGER,
            name: "req",
            data_type: None,
            properties: &[("methods", PropertyValue::List(&["post"]))],
        },
        BindingDescription {
            kind: &catalog::BLOB_INPUT,
            name: "photo",
            data_type: Some(DataType::Binary),
            properties: &[("path", PropertyValue::Str("photos/{name}"))],
        },
        BindingDescription {
            kind: &catalog::BLOB_INPUT,
            name: "notes",
            data_type: Some(DataType::String),
            properties: &[("path", PropertyValue::Str("notes/{name}"))],
        },
        BindingDescription {
            kind: &catalog::QUEUE_OUTPUT,
            name: "outMsg",
            data_type: None,
            properties: &[("queueName", PropertyValue::Str("out"))],
        },
    ];

    static FUNCTION: FunctionDescription = FunctionDescription {
        name: "upload",
        rust_path: "tests::upload",
        location: (file!(), line!()),
        bindings: &BINDINGS,
        return_bindings: &[],
        retry: None,
        streams_request_body: false,
        invoke: never_called,
    };

    fn decode(body: Value) -> Result<Invocation, InvocationError> {
        decode_request(&FUNCTION, "id".to_owned(), body.to_string().as_bytes())
    }

    fn decode_http(request: Value) -> Result<HttpRequest, InvocationError> {
        let invocation = decode(json!({ "Data": { "req": request } }))?;
        match invocation.binding("req") {
            BindingData::Http(request) => Ok(request.clone()),
            other => panic!("expected an HTTP request, got {other:?}"),
        }
    }

    fn encode(outputs: &Outputs) -> Value {
        let body = encode_response(&FUNCTION, outputs).expect("encodes");
        serde_json::from_slice(&body).expect("the response is JSON")
    }

    fn data(value: Value, data_type: Option<DataType>) -> BindingData {
        decode_value(value, data_type)
    }

    #[test]
    fn data_values_are_unwrapped_once() {
        assert_eq!(data(json!("\"aaaaa\""), None), BindingData::Text("aaaaa".into()));
        assert_eq!(data(json!("1"), None), BindingData::Json(json!(1)));
        assert_eq!(
            data(json!("[{\"id\":1}]"), None),
            BindingData::Json(json!([{ "id": 1 }]))
        );
        assert_eq!(
            data(json!("2022-06-20T06:00:06+00:00"), None),
            BindingData::Text("2022-06-20T06:00:06+00:00".into())
        );
        assert_eq!(data(json!(""), None), BindingData::Text(String::new()));
        assert_eq!(data(json!("null"), None), BindingData::Null);
        assert_eq!(data(Value::Null, None), BindingData::Null);
        assert_eq!(
            data(json!({ "IsPastDue": true }), None),
            BindingData::Json(json!({ "IsPastDue": true }))
        );
        assert_eq!(data(json!(true), None), BindingData::Json(json!(true)));
    }

    #[test]
    fn binary_bindings_decode_base64_and_fall_back_to_text() {
        assert_eq!(
            data(json!("aGVsbG8="), Some(DataType::Binary)),
            BindingData::Bytes(b"hello".to_vec())
        );
        assert_eq!(data(json!(""), Some(DataType::Binary)), BindingData::Bytes(Vec::new()));
        assert_eq!(
            data(json!("\"not base64\""), Some(DataType::Binary)),
            BindingData::Text("not base64".into())
        );
        // Without `dataType: binary` base64 stays text: the function asked for a string.
        assert_eq!(
            data(json!("aGVsbG8="), Some(DataType::String)),
            BindingData::Text("aGVsbG8=".into())
        );
    }

    #[test]
    fn metadata_values_are_unwrapped_once() {
        let invocation = decode(json!({
            "Data": {},
            "Metadata": {
                "DequeueCount": "1", "Id": "\"abc\"", "When": "2022-06-13T06:00:18.1974545Z",
                "Flag": "true", "Obj": { "inner": "\"kept\"" }, "Nothing": null
            }
        }))
        .expect("decodes");
        assert_eq!(
            Value::Object(invocation.metadata.into_map()),
            json!({
                "DequeueCount": 1, "Id": "abc", "When": "2022-06-13T06:00:18.1974545Z",
                "Flag": true, "Obj": { "inner": "\"kept\"" }, "Nothing": null
            })
        );
    }

    #[test]
    fn envelope_keys_and_binding_names_match_case_insensitively() {
        let invocation = decode(json!({ "data": { "NOTES": "\"hi\"", "extra": "\"x\"" }, "metadata": { "k": "2" } }))
            .expect("decodes");
        assert_eq!(invocation.binding("notes"), &BindingData::Text("hi".into()));
        assert_eq!(invocation.binding("extra"), &BindingData::Text("x".into()));
        assert_eq!(invocation.metadata["k"], 2);
        assert_eq!(invocation.invocation_id, "id");
    }

    #[test]
    fn a_utf8_byte_order_mark_is_skipped() {
        let body = b"\xEF\xBB\xBF{\"Data\": {\"notes\": \"\\\"hi\\\"\"}}";
        let invocation = decode_request(&FUNCTION, "id".into(), body).expect("decodes");
        assert_eq!(invocation.binding("notes"), &BindingData::Text("hi".into()));
    }

    #[test]
    fn metadata_may_be_null_or_absent() {
        assert!(
            decode(json!({ "Data": {}, "Metadata": null }))
                .expect("decodes")
                .metadata
                .is_empty()
        );
        assert!(decode(json!({ "Data": {} })).expect("decodes").metadata.is_empty());
    }

    #[test]
    fn malformed_envelopes_are_rejected_with_a_reason() {
        let cases: [(&[u8], &str); 6] = [
            (b"{not json", "not valid JSON"),
            (
                b"[1, 2]",
                "must be a JSON object with `Data` and `Metadata`, found an array",
            ),
            (b"{\"Metadata\": {}}", "no `Data` object"),
            (b"{\"Data\": null}", "`Data` must be a JSON object, found null"),
            (b"{\"Data\": \"x\"}", "`Data` must be a JSON object, found a string"),
            (
                b"{\"Data\": {}, \"Metadata\": [1]}",
                "`Metadata` must be a JSON object, found an array",
            ),
        ];
        for (body, expected) in cases {
            match decode_request(&FUNCTION, "id".into(), body) {
                Err(InvocationError::MalformedRequest(message)) => {
                    assert!(message.contains(expected), "{message:?} should contain {expected:?}")
                }
                other => panic!("expected a malformed request for {body:?}, got {other:?}"),
            }
        }
    }

    #[test]
    fn http_request_accepts_old_and_new_host_shapes() {
        let request = decode_http(json!({
            "url": "http://localhost:7071/api/upload/7?x=1",
            "method": "PUT",
            "query": "{\"x\":\"1\"}",
            "headers": { "X-One": "single", "X-Many": ["a", "b"], "X-Null": null },
            "params": { "id": 7, "flag": true, "name": "n", "gone": null },
            "identities": "[{\"AuthenticationType\":\"aad\",\"IsAuthenticated\":true,\"Claims\":[{\"Type\":\"name\",\"Value\":\"Ann\",\"Issuer\":\"x\"}]}]",
            "body": "hello"
        }))
        .expect("decodes");
        assert_eq!(request.method(), Method::PUT);
        assert_eq!(request.url(), "http://localhost:7071/api/upload/7?x=1");
        assert_eq!(request.query("x"), Some("1"));
        assert_eq!(request.header("x-one"), Some("single"));
        let many: Vec<_> = request.headers().get_all("x-many").iter().collect();
        assert_eq!(many, ["a", "b"]);
        assert!(request.headers().get("x-null").is_none());
        assert_eq!(request.param("id"), Some("7"));
        assert_eq!(request.param("flag"), Some("true"));
        assert_eq!(request.param("name"), Some("n"));
        assert_eq!(request.param("gone"), None);
        assert_eq!(request.identities().len(), 1);
        assert_eq!(request.identities()[0].authentication_type.as_deref(), Some("aad"));
        assert_eq!(request.identities()[0].claims[0].value, "Ann");
        assert_eq!(request.body(), b"hello");
    }

    #[test]
    fn http_body_is_base64_for_octet_stream_and_multipart_only() {
        let body_of = |content_type: &str, body: &str| {
            decode_http(json!({ "Method": "POST", "Headers": { "Content-Type": [content_type] }, "Body": body }))
                .map(|request| request.body().to_vec())
        };
        assert_eq!(body_of("application/octet-stream", "AP8=").expect("decodes"), [0, 255]);
        assert_eq!(
            body_of("Multipart/Form-Data; boundary=x", "aGk=").expect("decodes"),
            b"hi"
        );
        assert_eq!(body_of("application/json", "{\"a\":1}").expect("decodes"), b"{\"a\":1}");
        assert_eq!(body_of("text/plain", "aGk=").expect("decodes"), b"aGk=");
        let error = body_of("application/octet-stream", "not base64!").expect_err("rejected");
        assert!(error.to_string().contains("must be base64"), "{error}");
    }

    #[test]
    fn http_request_without_optional_fields_is_empty() {
        let request = decode_http(json!({ "Method": "GET" })).expect("decodes");
        assert_eq!(request, HttpRequest::builder().method(Method::GET).build());
    }

    #[test]
    fn malformed_http_requests_are_binding_errors() {
        let cases = [
            (json!("GET /"), "expected the HTTP request object, found a string"),
            (json!({ "Url": "/" }), "has no `Method`"),
            (json!({ "Method": 1 }), "`Method` must be a string, found a number"),
            (json!({ "Method": "NOT A METHOD" }), "is not an HTTP method"),
            (json!({ "Method": "GET", "Url": 5 }), "`Url` must be a string"),
            (
                json!({ "Method": "GET", "Headers": ["a"] }),
                "`Headers` must be an object",
            ),
            (
                json!({ "Method": "GET", "Headers": { "A": [{}] } }),
                "header `A` must be text, found an object",
            ),
            (
                json!({ "Method": "GET", "Query": "nope" }),
                "`Query` must be an object or the JSON text of one",
            ),
            (
                json!({ "Method": "GET", "Params": [1] }),
                "`Params` must be an object, found an array",
            ),
            (
                json!({ "Method": "GET", "Identities": [1] }),
                "`Identities` is not a list of identities",
            ),
            (
                json!({ "Method": "GET", "Identities": "[" }),
                "`Identities` is a string that is not",
            ),
        ];
        for (request, expected) in cases {
            match decode_http(request.clone()) {
                Err(InvocationError::Binding { binding, message }) => {
                    assert_eq!(binding, "req");
                    assert!(message.contains(expected), "{message:?} should contain {expected:?}");
                }
                other => panic!("expected a binding error for {request}, got {other:?}"),
            }
        }
    }

    #[test]
    fn text_outputs_are_base64_of_their_utf8_bytes() {
        let mut outputs = Outputs::default();
        outputs.set("outMsg", Some(OutputValue::Text("héllo ✓".into())));
        let expected = BASE64.encode("héllo ✓".as_bytes());
        assert_eq!(encode(&outputs)["Outputs"]["outMsg"], json!(expected));
    }

    #[test]
    fn output_keys_take_the_declared_spelling() {
        let mut outputs = Outputs::default();
        outputs.set("OUTMSG", Some(OutputValue::Json(json!(1))));
        outputs.set("undeclared", Some(OutputValue::Json(json!(2))));
        assert_eq!(encode(&outputs)["Outputs"], json!({ "outMsg": 1, "undeclared": 2 }));
    }

    #[test]
    fn a_json_string_output_is_protected_like_text() {
        let mut outputs = Outputs::default();
        outputs.set("outMsg", Some(OutputValue::Json(json!("test"))));
        assert_eq!(encode(&outputs)["Outputs"]["outMsg"], json!("dGVzdA=="));
    }

    #[test]
    fn http_responses_carry_status_string_headers_and_a_text_body() {
        let response = HttpResponse::new(StatusCode::ACCEPTED).header("X-One", "1").text("ok");
        let mut outputs = Outputs::default();
        outputs.set("res", Some(OutputValue::Http(response)));
        assert_eq!(
            encode(&outputs)["Outputs"]["res"],
            json!({
                "statusCode": 202,
                "headers": { "x-one": "1", "content-type": "text/plain; charset=utf-8" },
                "body": "ok"
            })
        );
    }

    #[test]
    fn repeated_headers_are_joined_and_non_utf8_values_refused() {
        let mut headers = http::HeaderMap::new();
        headers.append("set-cookie", http::HeaderValue::from_static("a=1"));
        headers.append("set-cookie", http::HeaderValue::from_static("b=2"));
        headers.append(
            "x-utf8",
            http::HeaderValue::from_bytes("café".as_bytes()).expect("obs-text is allowed"),
        );
        assert_eq!(
            Value::Object(encode_headers("res", &headers).expect("encodes")),
            json!({ "set-cookie": "a=1, b=2", "x-utf8": "café" })
        );
        headers.append(
            "x-latin1",
            http::HeaderValue::from_bytes(&[0x63, 0xe9]).expect("obs-text is allowed"),
        );
        match encode_headers("res", &headers) {
            Err(InvocationError::Output { binding, message }) => {
                assert_eq!(binding, "res");
                assert!(message.contains("`x-latin1` is not UTF-8"), "{message}");
            }
            other => panic!("expected an output error, got {other:?}"),
        }
    }

    #[test]
    fn non_utf8_http_bodies_cannot_be_sent() {
        let outputs = Outputs {
            named: Vec::new(),
            return_value: Some(OutputValue::Http(HttpResponse::ok().bytes(vec![0xff, 0xfe]))),
            logs: Vec::new(),
        };
        match encode_response(&FUNCTION, &outputs) {
            Err(InvocationError::Output { binding, message }) => {
                assert_eq!(binding, "$return");
                assert!(message.contains("not UTF-8"), "{message}");
            }
            other => panic!("expected an output error, got {other:?}"),
        }
    }
}

#[cfg(test)]
mod retry_tests {
    use super::*;

    #[test]
    fn the_retry_context_is_read_from_metadata() {
        let value = json!({"RetryCount": 2, "MaxRetryCount": "5", "Exception": null});
        assert_eq!(
            retry_context(&value),
            Some(RetryContext {
                retry_count: 2,
                max_retry_count: 5,
                exception: None
            })
        );
        assert_eq!(retry_context(&json!("nope")), None);
    }
}

/// The one-pass decoder and the direct encoder against the reference ones they replace.
#[cfg(test)]
mod direct_tests {
    use super::*;
    use azfn_bindings::{PropertyValue, catalog};
    use http::StatusCode;

    use crate::function::InvokeFuture;
    use crate::invocation::LogLine;

    fn never_called(_: Invocation) -> InvokeFuture {
        Box::pin(async { Ok(Outputs::default()) })
    }

    static HTTP_BINDINGS: [BindingDescription; 4] = [
        BindingDescription {
            kind: &catalog::HTTP_TRIGGER,
            name: "req",
            data_type: None,
            properties: &[("route", PropertyValue::Str("items/{id}"))],
        },
        BindingDescription {
            kind: &catalog::BLOB_INPUT,
            name: "text",
            data_type: Some(DataType::String),
            properties: &[],
        },
        BindingDescription {
            kind: &catalog::BLOB_INPUT,
            name: "raw",
            data_type: Some(DataType::Binary),
            properties: &[],
        },
        BindingDescription {
            kind: &catalog::QUEUE_OUTPUT,
            name: "out",
            data_type: None,
            properties: &[],
        },
    ];

    static HTTP_FUNCTION: FunctionDescription = FunctionDescription {
        name: "fuzzed",
        rust_path: "tests::fuzzed",
        location: (file!(), line!()),
        bindings: &HTTP_BINDINGS,
        return_bindings: &[],
        retry: None,
        streams_request_body: false,
        invoke: never_called,
    };

    static QUEUE_BINDINGS: [BindingDescription; 1] = [BindingDescription {
        kind: &catalog::QUEUE_TRIGGER,
        name: "message",
        data_type: Some(DataType::String),
        properties: &[],
    }];

    static QUEUE_FUNCTION: FunctionDescription = FunctionDescription {
        name: "queued",
        rust_path: "tests::queued",
        location: (file!(), line!()),
        bindings: &QUEUE_BINDINGS,
        return_bindings: &[],
        retry: None,
        streams_request_body: false,
        invoke: never_called,
    };

    /// Everything an invocation carries from the body, `Debug`-formatted so that the order of
    /// header values and map entries counts too.
    fn outcome(result: Result<Invocation, InvocationError>) -> String {
        match result {
            Ok(invocation) => format!("{:?} {:?} {:?}", invocation.data, invocation.metadata, invocation.retry),
            Err(error) => format!("error: {error:?}"),
        }
    }

    /// Decodes `body` both ways; true when the one-pass decoder handled it itself.
    fn check_decoders_agree(body: &[u8]) -> bool {
        let mut direct_handled = false;
        for function in [&HTTP_FUNCTION, &QUEUE_FUNCTION] {
            let reference = outcome(decode_request_reference(function, "id".into(), body));
            assert_eq!(
                outcome(decode_request(function, "id".into(), body)),
                reference,
                "for {:?}",
                String::from_utf8_lossy(body)
            );
            direct_handled |= direct::decode(function, body).is_some();
        }
        direct_handled
    }

    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n.max(1) as u64) as usize
        }
    }

    const TOKENS: &[&[u8]] = &[
        b"{",
        b"}",
        b"[",
        b"]",
        b"\"",
        b",",
        b":",
        b"null",
        b"1e999",
        b"\"\\ud800\"",
        b"\"x\":1,",
        b"\"Data\"",
        b"\"data\"",
        b"\"Metadata\"",
        b"\"Headers\"",
        b"\"headers\"",
        b"\"Content-Type\"",
        b"\"Body\"",
        b"\"Identities\"",
        b"\"Query\"",
        b"\"Params\"",
        b"\"Method\"",
        b"\"Url\"",
        b"\"req\"",
        b"\"REQ\"",
        b"\"raw\"",
        b"[\"a\",null,\"b\"]",
        b"\"AP8=\"",
        b"\"application/octet-stream\"",
        b"7",
        b"\"RetryContext\"",
        b"{\"RetryCount\":2,\"MaxRetryCount\":\"5\"}",
    ];

    #[test]
    fn the_anonymous_callers_identities_are_read_once_and_shared() {
        let body = |identities: &str| {
            format!(r#"{{"Data": {{"req": {{"Method": "GET", "Identities": {identities}}}}}, "Metadata": {{}}}}"#)
        };
        let identities_of = |body: &str| match decode_request(&HTTP_FUNCTION, "id".into(), body.as_bytes()) {
            Ok(invocation) => match invocation.binding("req") {
                BindingData::Http(request) => request.identities().to_vec(),
                other => panic!("not a request: {other:?}"),
            },
            Err(error) => panic!("{error}"),
        };
        let anonymous = body(direct::ANONYMOUS_IDENTITIES);
        assert!(check_decoders_agree(anonymous.as_bytes()));
        let first = decode_request(&HTTP_FUNCTION, "a".into(), anonymous.as_bytes()).expect("decodes");
        let second = decode_request(&HTTP_FUNCTION, "b".into(), anonymous.as_bytes()).expect("decodes");
        let (BindingData::Http(first), BindingData::Http(second)) = (first.binding("req"), second.binding("req"))
        else {
            panic!("not requests");
        };
        assert_eq!(first.identities().as_ptr(), second.identities().as_ptr());
        assert_eq!(
            first.identities()[0].name_claim_type.as_deref(),
            Some("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name")
        );
        // Written another way, it is read like any other identity list, to the same result.
        let spaced = body(&direct::ANONYMOUS_IDENTITIES.replace(',', ", "));
        assert!(check_decoders_agree(spaced.as_bytes()));
        assert_eq!(identities_of(&spaced), identities_of(&anonymous));
    }

    #[test]
    fn metadata_is_checked_at_once_but_built_when_read() {
        let body = br#"{"Data": {"req": {"Method": "GET"}}, "Metadata": {"id": "\"m-1\"", "RetryContext": {"RetryCount": 2, "MaxRetryCount": 5}}}"#;
        let decoded = direct::decode(&HTTP_FUNCTION, body).expect("the one-pass decoder takes it");
        assert!(decoded.retry_context_sent);
        let invocation = decode_request(&HTTP_FUNCTION, "id".into(), body).expect("decodes");
        assert_eq!(invocation.retry.as_ref().map(|r| r.retry_count), Some(2));
        assert_eq!(invocation.metadata["id"], "m-1");
        // What `serde_json::Value` refuses inside `Metadata` is refused when the envelope is
        // read, not when a function reads its metadata.
        let deep = |levels: usize| format!("{}{}", "[".repeat(levels), "]".repeat(levels));
        let with = |value: &str| {
            format!(r#"{{"Data": {{"req": {{"Method": "GET"}}}}, "Metadata": {{"x": {{"y": {value}}}}}}}"#)
        };
        for bad in [
            r#""\ud800""#.to_owned(),
            "1e999".into(),
            "[1,]".into(),
            "9".repeat(400),
            deep(200),
        ] {
            let body = with(&bad);
            assert!(direct::decode(&HTTP_FUNCTION, body.as_bytes()).is_none(), "{body}");
            assert!(
                decode_request(&HTTP_FUNCTION, "id".into(), body.as_bytes()).is_err(),
                "{body}"
            );
        }
        // What a skip of the text may let through is read strictly; the rest needs no second look.
        for good in [
            r#""\ud83d\ude00 \"quoted\" \\u no escape""#.to_owned(),
            "[true, false, null, -0.5, 1.5e3, 2E-3]".into(),
            "9".repeat(250),
            deep(70),
            r#"{"RetryContext": "a value, not the key"}"#.into(),
        ] {
            let body = with(&good);
            assert!(check_decoders_agree(body.as_bytes()), "{body}");
        }
    }

    #[test]
    fn the_one_pass_decoder_agrees_with_the_reference_on_the_fuzz_corpus() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/invocation_payload");
        let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| std::fs::read(entry.expect("a corpus entry").path()).expect("a readable seed"))
            .collect();
        seeds.sort();
        let mut handled = 0;
        for seed in &seeds {
            handled += usize::from(check_decoders_agree(seed));
        }
        assert!(handled > 0, "the one-pass decoder handled no seed at all");
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        for _ in 0..20_000 {
            let mut body = seeds[rng.below(seeds.len())].clone();
            for _ in 0..=rng.below(3) {
                let at = rng.below(body.len() + 1);
                match rng.below(3) {
                    0 => {
                        let token = TOKENS[rng.below(TOKENS.len())];
                        body.splice(at..at, token.iter().copied());
                    }
                    1 => {
                        let end = (at + rng.below(8)).min(body.len());
                        body.drain(at..end);
                    }
                    _ => {
                        let end = (at + rng.below(24)).min(body.len());
                        let copy = body[at..end].to_vec();
                        let to = rng.below(body.len() + 1);
                        body.splice(to..to, copy);
                    }
                }
            }
            check_decoders_agree(&body);
        }
    }

    #[test]
    fn the_one_pass_decoder_agrees_on_shapes_it_leaves_to_the_reference() {
        let cases: &[&str] = &[
            // What hosts send: handled in one pass.
            r#"{"Data":{"req":{"Url":"http://h/api/items/1?name=x","Method":"GET","Query":{"name":"x"},"Headers":{"Accept":["*/*"],"Host":["h"],"X-Many":["a","b"]},"Params":{"id":"1"},"Identities":[{"AuthenticationType":null,"IsAuthenticated":false,"Actor":null,"BootstrapContext":null,"Claims":[{"Type":"name","Value":"Ann","Issuer":"x"}],"Label":null,"Name":null,"NameClaimType":"n","RoleClaimType":"r"}],"Body":"hi"},"text":"\"hello\"","raw":"AP8="},"Metadata":{"name":"\"x\"","Query":{"name":"x"},"sys":{"MethodName":"fuzzed","UtcNow":"2025-01-01T00:00:00Z","RandGuid":"g"},"RetryContext":{"RetryCount":1,"MaxRetryCount":"3","Exception":null}}}"#,
            r#"{"Data":{"message":"\"aaaaa\""},"Metadata":{"DequeueCount":"1","Id":"\"a\"","InsertionTime":"2022-06-13T06:00:06+00:00"}}"#,
            // Headers out of order, case variants of one name, nulls, an octet-stream body.
            r#"{"Data":{"req":{"Method":"POST","Headers":{"x-b":["2"],"X-A":["1",null,"3"],"x-a":"4","Content-Type":[null,"application/octet-stream"],"content-type":["text/plain"]},"Body":"AP8="}}}"#,
            r#"{"Data":{"req":{"Method":"POST","Headers":{"Content-Type":[],"content-type":["application/octet-stream"]},"Body":"not base64!"}}}"#,
            // Identities with every field set, in another order, an escaped key, unknown fields.
            r#"{"Data":{"req":{"Method":"GET","Identities":[{"RoleClaimType":"r","NameClaimType":"n","N\u0061me":"Ann","AuthenticationType":"aad","IsAuthenticated":true,"Claims":[{"Value":"v","Type":"t","Issuer":"i"},{"Type":"t2"}],"Label":null},{}]}}}"#,
            r#"{"Data":{"req":{"Method":"GET","Identities":null}}}"#,
            // Left to the reference: duplicates, case-ambiguous keys, unusual types.
            r#"{"Data":{"req":{"Method":"GET","Identities":[{"Name":"a","Name":"b"}]}}}"#,
            r#"{"Data":{"req":{"Method":"GET","Identities":[{"Claims":[{"Type":"a","Type":"b"}]}]}}}"#,
            r#"{"Data":{"req":{"Method":"GET","Identities":[["aad",true]]}}}"#,
            r#"{"Data":{"req":{"Method":"GET","Identities":[{"Claims":null}]}}}"#,
            r#"{"Data":{"req":{"Method":"GET","Identities":{"Name":"a"}}}}"#,
            r#"{"Data":{"req":{"Method":"GET","Identities":"[{\"Name\":\"a\"}]"}}}"#,
            r#"{"Data":{"req":{"Method":"GET","Headers":{"A":["1"],"A":["2"]}}}}"#,
            r#"{"Data":{"req":{"Method":"GET","method":"PUT"}}}"#,
            r#"{"Data":{"req":{"method":"PUT","url":"/x","query":"{\"x\":\"1\"}","identities":"[]"}}}"#,
            r#"{"Data":{"req":{"Method":"GET","Headers":{"A":[1,true]}}}}"#,
            r#"{"Data":{"req":{"Method":"GET","Query":{"a":"1","a":null}}}}"#,
            r#"{"Data":{"req":{"Method":"GET","Body":{"b":1,"a":2}}}}"#,
            r#"{"Data":{"req":{"Method":"GET"},"REQ":{"Method":"PUT"}}}"#,
            r#"{"Data":{"text":"\"1\"","TEXT":"\"2\""}}"#,
            r#"{"Data":{},"data":{"text":"\"1\""}}"#,
            r#"{"data":{"text":"\"1\""},"DATA":5}"#,
            r#"{"Data":{"text":"\"1\""},"Metadata":{"k":"1","k":"2"},"metadata":null}"#,
            r#"{"Data":{"text":"\"1\""},"Metadata":{"k":"1","k":"2"}}"#,
            // Values `Value` refuses but a skipping parser would not.
            r#"{"Data":{"text":"\"1\""},"Other":"\ud800"}"#,
            r#"{"Data":{"text":"\"1\""},"Other":1e999}"#,
            r#"{"Data":{"req":{"Method":"GET","Extra":"\udc00"}}}"#,
            r#"{"Data":{"req":{"Method":"GET","Identities":[{"Actor":1e999}]}}}"#,
            r#"{"Data":{"req":{"Method":"GET","Identities":[{"Claims":[{"Type":"t","Value":"v","Subject":"\ud800"}]}]}}}"#,
            // Errors.
            r#"{"Data":{"req":{"Method":"NOT A METHOD"}}}"#,
            r#"{"Data":{"req":{"Url":"/"}}}"#,
            r#"{"Data":{"req":"GET /"}}"#,
            r#"{"Data":null}"#,
            r#"{"Metadata":{}}"#,
            r#"[1,2]"#,
            r#"{"Data":{}} x"#,
            "\u{feff}{\"Data\":{\"text\":\"\\\"hi\\\"\"}}",
        ];
        let mut handled = 0;
        for case in cases {
            handled += usize::from(check_decoders_agree(case.as_bytes()));
        }
        assert!(handled >= 4, "the shapes hosts send take the one-pass decoder");
    }

    fn check_encoders_agree(outputs: &Outputs) {
        let render = |result: Result<Vec<u8>, InvocationError>| match result {
            Ok(bytes) => String::from_utf8(bytes).expect("JSON is UTF-8"),
            Err(error) => format!("error: {error:?}"),
        };
        assert_eq!(
            render(encode_response(&HTTP_FUNCTION, outputs)),
            render(encode_response_reference(&HTTP_FUNCTION, outputs)),
            "for {outputs:?}"
        );
    }

    #[test]
    fn the_direct_encoder_writes_the_reference_bytes() {
        let response = HttpResponse::new(StatusCode::CREATED)
            .header("X-B", "2")
            .append_header("set-cookie", "a=1")
            .append_header("set-cookie", "b=\"2\"")
            .header("a-first", "é")
            .text("héllo \"quoted\"\n");
        let lines = vec![
            LogLine::new(tracing::Level::INFO, "app", "one"),
            LogLine::new(tracing::Level::WARN, "app::x", "two \"quoted\" \u{1}"),
        ];
        let mut cases = vec![Outputs::default()];
        cases.push(Outputs {
            named: vec![
                ("res", OutputValue::Http(response.clone())),
                ("OUT", OutputValue::Text("test".into())),
                ("zeta", OutputValue::Json(json!([1, "a", {"b": null, "a": 2.5}]))),
                ("alpha", OutputValue::Bytes(vec![0, 255])),
                ("out", OutputValue::Json(json!("x"))),
                ("num", OutputValue::Json(json!(-7))),
            ],
            return_value: Some(OutputValue::Http(response.clone())),
            logs: lines.clone(),
        });
        cases.push(Outputs {
            named: Vec::new(),
            return_value: Some(OutputValue::Json(json!({"b": [true], "a": null}))),
            logs: lines,
        });
        cases.push(Outputs::http_response_for(&HTTP_FUNCTION, HttpResponse::ok()));
        // Failures: the first output that cannot be sent is the one reported.
        let binary = HttpResponse::ok().bytes(vec![0xff]);
        let mut latin1 = http::HeaderMap::new();
        latin1.insert("x-latin1", HeaderValue::from_bytes(&[0x63, 0xe9]).expect("obs-text"));
        let mut bad_header = http::Response::new(bytes::Bytes::new());
        *bad_header.headers_mut() = latin1;
        let bad_header = HttpResponse::from(bad_header);
        cases.push(Outputs {
            named: vec![
                ("a", OutputValue::Http(bad_header.clone())),
                ("b", OutputValue::Http(binary.clone())),
            ],
            return_value: Some(OutputValue::Http(binary.clone())),
            logs: Vec::new(),
        });
        cases.push(Outputs {
            named: vec![("a", OutputValue::Text("ok".into()))],
            return_value: Some(OutputValue::Http(binary)),
            logs: Vec::new(),
        });
        cases.push(Outputs {
            named: vec![
                ("a", OutputValue::Http(bad_header)),
                ("a", OutputValue::Text("shadowed".into())),
            ],
            return_value: None,
            logs: Vec::new(),
        });
        for outputs in &cases {
            check_encoders_agree(outputs);
        }
    }
}
