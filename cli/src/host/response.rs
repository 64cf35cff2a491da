//! Reading the worker's answer to an invocation, with the real
//! host's conversions. Pure functions.
//!
//! - The status must be 2xx and the content type JSON; the body must be a JSON object whose
//!   `Outputs`, `Logs` and `ReturnValue` are found ignoring case.
//! - A named `http` output must be an object; only its `statusCode` sets the status.
//! - Every other output, and `$return`, goes through the base64 quirk: a string that is valid
//!   base64 becomes the decoded bytes, unless the binding is `dataType: binary`.
//! - A `$return` of type `http` is a response object only if it has a `body` key.
//! - A `ReturnValue` object without a `$return` binding spreads over the outputs.

use azfn_wire::envelope::decode_dotnet_base64;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::app::{Binding, Function, get_ignore_case};

/// The name of the binding that receives the function's return value.
pub const RETURN_BINDING: &str = "$return";

/// Binding types that write one message per element when given an array.
const COLLECTOR_TYPES: &[&str] = &["queue", "serviceBus", "eventHub", "eventGrid", "signalR", "table"];

/// Why the host would fail the invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseError(pub String);

impl std::fmt::Display for ResponseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn fail<T>(message: impl Into<String>) -> Result<T, ResponseError> {
    Err(ResponseError(message.into()))
}

/// What an invocation produced, as the host would hand it to the bindings.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InvocationResult {
    /// The HTTP response, when the function has an `http` output binding.
    pub http: Option<HttpReply>,
    /// What went to every other output binding, one entry per message.
    pub messages: Vec<OutputMessage>,
    /// The `Logs` lines.
    pub logs: Vec<String>,
}

/// An HTTP response for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpReply {
    /// The status code.
    pub status: u16,
    /// Headers in the order given.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// One message (or blob, or document) written to an output binding.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputMessage {
    /// The binding name.
    pub binding: String,
    /// The binding type, such as `queue`.
    pub kind: String,
    /// The queue name, blob path, ... when the binding has one.
    pub target: Option<String>,
    /// The value.
    pub value: OutputValue,
}

/// A value after the host's conversion.
#[derive(Debug, Clone, PartialEq)]
pub enum OutputValue {
    /// Bytes, from a string that was valid base64 or a binary binding.
    Bytes(Vec<u8>),
    /// A JSON value passed through.
    Json(Value),
}

impl OutputValue {
    /// The value as one line of text: UTF-8 bytes and strings as they are, other JSON compact,
    /// non-text bytes as base64 with their length.
    pub fn display(&self) -> String {
        match self {
            OutputValue::Bytes(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => text.to_owned(),
                Err(_) => format!(
                    "<{} bytes, base64 {}>",
                    bytes.len(),
                    base64::engine::general_purpose::STANDARD.encode(bytes)
                ),
            },
            OutputValue::Json(Value::String(text)) => text.clone(),
            OutputValue::Json(other) => other.to_string(),
        }
    }
}

/// The host's `GetBindingValue`: binary bindings pass through, strings that are valid base64
/// become bytes, anything else stays JSON.
pub fn binding_value(value: &Value, binary: bool) -> OutputValue {
    if let (false, Value::String(text)) = (binary, value)
        && let Some(bytes) = decode_dotnet_base64(text)
    {
        return OutputValue::Bytes(bytes);
    }
    OutputValue::Json(value.clone())
}

/// Reads the worker's response to an invocation of `function`.
///
/// # Errors
///
/// A [`ResponseError`] saying why the real host would fail the invocation: a non-2xx status, a
/// content type that is not JSON, a body that is not a JSON object, or an output that cannot be
/// converted.
pub fn read_response(
    function: &Function,
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<InvocationResult, ResponseError> {
    if !(200..300).contains(&status) {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        return fail(if text.is_empty() {
            format!("the worker answered {status}")
        } else {
            format!("the worker answered {status}: {}", shorten(text, 400))
        });
    }
    check_json_content_type(content_type)?;
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let envelope = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(envelope)) => envelope,
        Ok(Value::Null) => {
            return fail("the worker answered with a null body; the real host would wait until the function timeout");
        }
        Ok(other) => {
            return fail(format!(
                "the worker's answer is not a JSON object: {}",
                shorten(&other.to_string(), 200)
            ));
        }
        Err(e) => return fail(format!("the worker's answer is not valid JSON ({e})")),
    };
    let logs = read_logs(get_ignore_case(&envelope, azfn_wire::envelope::LOGS));
    let outputs = output_values(function, &envelope)?;

    let mut result = InvocationResult {
        logs,
        ..InvocationResult::default()
    };
    for binding in function.outputs() {
        let value = outputs.get(&binding.name);
        if binding.is("http") {
            if result.http.is_some() {
                continue;
            }
            result.http = Some(if binding.name == RETURN_BINDING {
                return_http_reply(value.unwrap_or(&Value::Null))?
            } else {
                named_http_reply(&binding.name, value)?
            });
        } else if let Some(value) = value {
            result.messages.extend(messages(binding, value));
        }
    }
    Ok(result)
}

fn check_json_content_type(content_type: Option<&str>) -> Result<(), ResponseError> {
    let media = content_type
        .and_then(|c| c.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase());
    match media.as_deref() {
        Some("application/json" | "text/json") => Ok(()),
        Some(other) => fail(format!(
            "the worker's answer has content type `{other}`; the host reads only application/json (or text/json)"
        )),
        None => fail("the worker's answer has no content type; the host reads only application/json (or text/json)"),
    }
}

fn read_logs(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(lines)) => lines
            .iter()
            .filter(|line| !line.is_null())
            .map(|line| line.as_str().map_or_else(|| line.to_string(), str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// The output values by binding name: `Outputs` (exact keys), then `ReturnValue` as `$return`
/// when that binding exists, or spread over the outputs when it is an object and it does not.
fn output_values(function: &Function, envelope: &Map<String, Value>) -> Result<Map<String, Value>, ResponseError> {
    let mut outputs = match get_ignore_case(envelope, azfn_wire::envelope::OUTPUTS) {
        Some(Value::Object(outputs)) => outputs.clone(),
        Some(Value::Null) | None => Map::new(),
        Some(other) => return fail(format!("`Outputs` must be a JSON object, found {other}")),
    };
    let return_value = get_ignore_case(envelope, azfn_wire::envelope::RETURN_VALUE)
        .cloned()
        .unwrap_or(Value::Null);
    if function.outputs().any(|b| b.name == RETURN_BINDING) {
        outputs.insert(RETURN_BINDING.to_owned(), return_value);
    } else if let Value::Object(properties) = return_value {
        outputs.extend(properties);
    }
    Ok(outputs)
}

/// The messages one output binding receives from `value`.
fn messages(binding: &Binding, value: &Value) -> Vec<OutputMessage> {
    if value.is_null() {
        return Vec::new();
    }
    output_messages(binding, binding_value(value, binding.is_binary()))
}

/// The messages one output binding receives from a converted value: one per non-null element
/// of an array for the binding types that collect (queue, Service Bus, ...), else the value.
pub fn output_messages(binding: &Binding, value: OutputValue) -> Vec<OutputMessage> {
    let message = |value: OutputValue| OutputMessage {
        binding: binding.name.clone(),
        kind: binding.kind.clone(),
        target: binding.target().map(str::to_owned),
        value,
    };
    if value == OutputValue::Json(Value::Null) {
        return Vec::new();
    }
    let collector = COLLECTOR_TYPES.iter().any(|kind| binding.is(kind));
    match value {
        OutputValue::Json(Value::Array(items)) if collector => items
            .into_iter()
            .filter(|item| !item.is_null())
            .map(|item| message(OutputValue::Json(item)))
            .collect(),
        converted => vec![message(converted)],
    }
}

/// A named `http` output: a JSON object (or nothing, which is an empty 200).
fn named_http_reply(name: &str, value: Option<&Value>) -> Result<HttpReply, ResponseError> {
    match value {
        None | Some(Value::Null) => Ok(HttpReply {
            status: 200,
            headers: Vec::new(),
            body: Vec::new(),
        }),
        // `status` is ignored here: the intermediate object always has a `StatusCode` key.
        Some(Value::Object(object)) => response_object(object, false),
        Some(other) => fail(format!(
            "http output `{name}` must be a JSON object with statusCode, headers and body, found {}",
            shorten(&other.to_string(), 200)
        )),
    }
}

/// A `$return` http output, after the base64 quirk.
fn return_http_reply(value: &Value) -> Result<HttpReply, ResponseError> {
    http_reply_from_value(binding_value(value, false))
}

/// The HTTP response a converted `$return` value stands for: bytes as an octet stream, nothing
/// as 204, a JSON object with `body` as a response object, any other JSON as a JSON body, text
/// (unless it is JSON text) as plain text.
///
/// # Errors
///
/// A response object whose status or headers are not valid.
pub fn http_reply_from_value(value: OutputValue) -> Result<HttpReply, ResponseError> {
    match value {
        OutputValue::Bytes(body) => Ok(HttpReply {
            status: 200,
            headers: vec![("Content-Type".into(), "application/octet-stream".into())],
            body,
        }),
        // Without a value the result is an empty object result [inferred].
        OutputValue::Json(Value::Null) => Ok(HttpReply {
            status: 204,
            headers: Vec::new(),
            body: Vec::new(),
        }),
        OutputValue::Json(Value::String(text)) => match serde_json::from_str::<Value>(&text) {
            Ok(parsed @ (Value::Object(_) | Value::Array(_))) => json_return_reply(&parsed),
            _ => Ok(text_reply(200, text.into_bytes())),
        },
        OutputValue::Json(other) => json_return_reply(&other),
    }
}

/// A JSON `$return` value: a response object when it has `body`, else the value as JSON.
fn json_return_reply(value: &Value) -> Result<HttpReply, ResponseError> {
    match value {
        Value::Object(object) if get_ignore_case(object, "body").is_some() => response_object(object, true),
        other => Ok(HttpReply {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json; charset=utf-8".into())],
            body: other.to_string().into_bytes(),
        }),
    }
}

fn text_reply(status: u16, body: Vec<u8>) -> HttpReply {
    HttpReply {
        status,
        headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
        body,
    }
}

/// `{statusCode, headers, body}` as `HttpBinding` writes it; `status` counts only when
/// `allow_status` (a `$return` value).
fn response_object(object: &Map<String, Value>, allow_status: bool) -> Result<HttpReply, ResponseError> {
    let mut status_value = get_ignore_case(object, "statusCode").filter(|v| !v.is_null());
    if allow_status && status_value.is_none() {
        status_value = get_ignore_case(object, "status").filter(|v| !v.is_null());
    }
    let status = match status_value {
        None => 200,
        Some(value) => parse_status(value)?,
    };
    let mut headers = Vec::new();
    let mut has_content_type = false;
    if let Some(Value::Object(given)) = get_ignore_case(object, "headers") {
        for (name, value) in given {
            let is_content_type = name.eq_ignore_ascii_case("content-type");
            let text = match value {
                Value::Null if is_content_type => return fail("the response's Content-Type header is null"),
                Value::Null => continue,
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            has_content_type |= is_content_type;
            headers.push((name.clone(), text));
        }
    }
    let (body, default_type) = match get_ignore_case(object, "body") {
        None | Some(Value::Null) => (Vec::new(), "text/plain; charset=utf-8"),
        Some(Value::String(text)) => (text.clone().into_bytes(), "text/plain; charset=utf-8"),
        Some(other @ (Value::Object(_) | Value::Array(_))) => (
            serde_json::to_string_pretty(other).unwrap_or_default().into_bytes(),
            "application/json; charset=utf-8",
        ),
        Some(other) => (other.to_string().into_bytes(), "text/plain; charset=utf-8"),
    };
    if !has_content_type && !body.is_empty() {
        headers.push(("Content-Type".into(), default_type.into()));
    }
    Ok(HttpReply { status, headers, body })
}

fn parse_status(value: &Value) -> Result<u16, ResponseError> {
    let parsed = match value {
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Value::String(s) => s.trim().parse::<u16>().ok(),
        _ => None,
    };
    match parsed {
        Some(status @ 100..=999) => Ok(status),
        _ => fail(format!("statusCode {value} is not an HTTP status code")),
    }
}

fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::parse_function;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn function(bindings: Value) -> Function {
        parse_function("f", &json!({ "bindings": bindings }), &BTreeMap::new()).unwrap()
    }

    fn http_named() -> Function {
        function(json!([
            {"type": "httpTrigger", "direction": "in", "name": "req"},
            {"type": "http", "direction": "out", "name": "res"},
            {"type": "queue", "direction": "out", "name": "message", "queueName": "out"}
        ]))
    }

    fn http_return() -> Function {
        function(json!([
            {"type": "httpTrigger", "direction": "in", "name": "req"},
            {"type": "http", "direction": "out", "name": "$return"}
        ]))
    }

    fn queue_return(binary: bool) -> Function {
        let mut output = json!({"type": "queue", "direction": "out", "name": "$return", "queueName": "shipping"});
        if binary {
            output["dataType"] = "binary".into();
        }
        function(json!([{"type": "queueTrigger", "direction": "in", "name": "m"}, output]))
    }

    fn read(function: &Function, body: Value) -> Result<InvocationResult, ResponseError> {
        read_response(function, 200, Some("application/json"), body.to_string().as_bytes())
    }

    fn body_text(reply: &HttpReply) -> &str {
        std::str::from_utf8(&reply.body).unwrap()
    }

    #[test]
    fn non_2xx_fails_and_ignores_the_body() {
        let error = read_response(&http_named(), 500, Some("application/json"), br#"{"Outputs": {}}"#).unwrap_err();
        assert!(error.0.starts_with("the worker answered 500"), "{error}");
        assert!(read_response(&http_named(), 201, Some("application/json"), b"{}").is_ok());
    }

    #[test]
    fn content_type_must_be_json() {
        let f = http_named();
        assert!(read_response(&f, 200, Some("text/plain"), b"{}").is_err());
        assert!(read_response(&f, 200, None, b"{}").is_err());
        assert!(read_response(&f, 200, Some("text/json"), b"{}").is_ok());
        assert!(read_response(&f, 200, Some("Application/JSON; charset=utf-8"), b"{}").is_ok());
    }

    #[test]
    fn body_must_be_a_json_object() {
        let f = http_named();
        for bad in [&b"null"[..], b"[1]", b"not json", b""] {
            assert!(
                read_response(&f, 200, Some("application/json"), bad).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn envelope_keys_ignore_case_but_output_names_do_not() {
        let f = http_named();
        let result = read(
            &f,
            json!({"outputs": {"res": {"statusCode": 201, "body": "made"}, "Message": "x"}, "logs": ["one", 2]}),
        )
        .unwrap();
        let reply = result.http.unwrap();
        assert_eq!(reply.status, 201);
        assert_eq!(body_text(&reply), "made");
        assert!(result.messages.is_empty(), "`Message` is not `message`");
        assert_eq!(result.logs, ["one", "2"]);
    }

    #[test]
    fn named_http_output_rules() {
        let f = http_named();
        let reply = |outputs: Value| read(&f, json!({"Outputs": outputs})).map(|r| r.http.unwrap());
        let empty = reply(json!({})).unwrap();
        assert_eq!((empty.status, empty.body.len()), (200, 0));
        assert!(
            reply(json!({"res": "hello"})).is_err(),
            "a string is not a response object"
        );
        let status_ignored = reply(json!({"res": {"status": 404, "body": "x"}})).unwrap();
        assert_eq!(
            status_ignored.status, 200,
            "`status` alone is ignored for named outputs"
        );
        assert_eq!(reply(json!({"res": {"statusCode": "202"}})).unwrap().status, 202);
        let headers = reply(
            json!({"res": {"headers": {"Content-Type": "application/json", "X-N": 5, "X-A": ["a"]},
            "body": {"a": 1}}}),
        )
        .unwrap();
        assert_eq!(
            headers.headers,
            [
                ("Content-Type".to_owned(), "application/json".to_owned()),
                ("X-A".to_owned(), "[\"a\"]".to_owned()),
                ("X-N".to_owned(), "5".to_owned())
            ]
        );
        assert_eq!(body_text(&headers), "{\n  \"a\": 1\n}");
        assert!(reply(json!({"res": {"headers": {"content-type": null}}})).is_err());
        let verbatim = reply(json!({"res": {"body": "dGVzdA=="}})).unwrap();
        assert_eq!(body_text(&verbatim), "dGVzdA==", "no base64 decoding in the http path");
    }

    #[test]
    fn return_http_needs_body() {
        let f = http_return();
        let reply = |value: Value| read(&f, json!({"ReturnValue": value})).map(|r| r.http.unwrap());
        let full = reply(json!({"statusCode": 201, "headers": {"X-A": "1"}, "body": "Hello, Ferris!"})).unwrap();
        assert_eq!(full.status, 201);
        assert_eq!(body_text(&full), "Hello, Ferris!");
        assert!(full.headers.contains(&("X-A".to_owned(), "1".to_owned())));
        let status = reply(json!({"status": 404, "body": ""})).unwrap();
        assert_eq!(status.status, 404, "`status` counts for $return");
        let no_body = reply(json!({"statusCode": 500, "greeting": "hi"})).unwrap();
        assert_eq!(no_body.status, 200, "without `body` the object is the body");
        assert_eq!(
            serde_json::from_slice::<Value>(&no_body.body).unwrap(),
            json!({"statusCode": 500, "greeting": "hi"})
        );
        let json_text = reply(json!("{\"body\": \"inner\", \"statusCode\": 202}")).unwrap();
        assert_eq!((json_text.status, body_text(&json_text)), (202, "inner"));
        let plain = reply(json!("Hello, world!")).unwrap();
        assert_eq!(body_text(&plain), "Hello, world!");
        let base64 = reply(json!("dGVzdA==")).unwrap();
        assert_eq!(base64.body, b"test", "a base64-looking $return string is decoded");
        assert_eq!(reply(Value::Null).unwrap().status, 204);
    }

    #[test]
    fn base64_quirk_for_string_outputs() {
        let f = queue_return(false);
        let message = |value: Value| read(&f, json!({"ReturnValue": value})).unwrap().messages;
        assert_eq!(
            message(json!("dGVzdA=="))[0].value,
            OutputValue::Bytes(b"test".to_vec())
        );
        assert_eq!(
            message(json!("test"))[0].value,
            OutputValue::Bytes(vec![0xb5, 0xeb, 0x2d]),
            "`test` is valid base64"
        );
        assert_eq!(
            message(json!("hello world"))[0].value,
            OutputValue::Json(json!("hello world"))
        );
        let order = json!({"id": 1, "item": "tea"});
        let sent = message(order.clone());
        assert_eq!(sent[0].value, OutputValue::Json(order));
        assert_eq!(sent[0].target.as_deref(), Some("shipping"));
        let binary = queue_return(true);
        let passed = read(&binary, json!({"ReturnValue": "dGVzdA=="})).unwrap().messages;
        assert_eq!(passed[0].value, OutputValue::Json(json!("dGVzdA==")));
    }

    #[test]
    fn arrays_write_one_message_per_element() {
        let f = http_named();
        let result = read(&f, json!({"Outputs": {"message": ["dGVzdA==", {"a": 1}, null]}})).unwrap();
        let values: Vec<String> = result.messages.iter().map(|m| m.value.display()).collect();
        assert_eq!(values, ["dGVzdA==", "{\"a\":1}"], "elements are not base64-decoded");
    }

    #[test]
    fn return_value_without_return_binding_spreads_over_outputs() {
        let f = http_named();
        let result = read(
            &f,
            json!({"Outputs": {"message": "first"}, "ReturnValue": {"message": "second", "res": {"statusCode": 202}}}),
        )
        .unwrap();
        assert_eq!(result.messages[0].value.display(), "second");
        assert_eq!(result.http.unwrap().status, 202);
    }

    #[test]
    fn display_of_values() {
        assert_eq!(OutputValue::Bytes(b"text".to_vec()).display(), "text");
        assert_eq!(OutputValue::Bytes(vec![0xff]).display(), "<1 bytes, base64 /w==>");
        assert_eq!(OutputValue::Json(json!({"a": [1]})).display(), "{\"a\":[1]}");
    }
}
