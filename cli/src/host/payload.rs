//! The invocation request body the host sends to the worker:
//! `{"Data": {...}, "Metadata": {...}}`, built by the real host's rules. Pure functions.
//!
//! - Every value except the HTTP request object is encoded so: objects inline, everything
//!   else (strings, numbers, arrays) as a JSON string holding its JSON text, bytes as base64.
//! - The HTTP request object has PascalCase keys; its metadata has `Query`, `Headers`
//!   (single strings), each query parameter except `code`, the route parameters, the top-level
//!   properties of a JSON-object body, and `sys`.

use std::collections::BTreeMap;

use azfn_wire::envelope;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::app::{Binding, Function};
use crate::clock;

/// The host version this local host reports in `X-Azure-Functions-HostVersion`.
pub const HOST_VERSION: &str = "4.1037.0";

/// Content types whose request body the host sends as base64 instead of text (and as bytes over
/// gRPC).
pub use azfn_wire::envelope::is_binary_body as is_binary_content_type;
/// The host's value encodings, which the worker's decoder undoes.
pub use azfn_wire::envelope::{encode_bytes, encode_text, encode_value};

/// The body of one invocation request.
#[derive(Debug, Clone, PartialEq)]
pub struct InvocationPayload {
    /// One entry per input binding, the trigger first.
    pub data: Map<String, Value>,
    /// The trigger's binding data, with `sys`.
    pub metadata: Map<String, Value>,
    /// For an HTTP trigger, the request itself: the gRPC transport sends it as an `RpcHttp`
    /// rather than as the custom handler's JSON object.
    pub http: Option<HttpSource>,
    /// The trigger's binding data as plain values, every key kept (`queueTrigger` too): what
    /// `{expressions}` in the paths of other bindings resolve against.
    pub binding_data: Map<String, Value>,
}

/// The request behind an HTTP trigger's value.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpSource {
    /// The request as received (or synthesized by the admin API).
    pub request: IncomingRequest,
    /// The route values, defaults applied.
    pub route_values: Vec<(String, String)>,
}

impl InvocationPayload {
    /// `{"Data": ..., "Metadata": ...}`.
    pub fn to_json(&self) -> Value {
        Value::Object(Map::from_iter([
            (envelope::DATA.to_owned(), Value::Object(self.data.clone())),
            (envelope::METADATA.to_owned(), Value::Object(self.metadata.clone())),
        ]))
    }
}

/// `Metadata.sys`: `{"MethodName", "UtcNow", "RandGuid"}`.
pub fn system_data(function: &str) -> Value {
    json!({ "MethodName": function, "UtcNow": clock::utc_now_iso(), "RandGuid": clock::new_guid() })
}

/// An HTTP request as the local host received it.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingRequest {
    /// The method, such as `GET`.
    pub method: String,
    /// The `Host` header (or the address the host listens on).
    pub host: String,
    /// The path as received, percent-escapes included.
    pub path: String,
    /// The query string as received, without `?`.
    pub query: String,
    /// The headers in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Bytes,
}

impl IncomingRequest {
    /// The first value of a header, ignoring case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The query parameters, decoded, in order (repeats kept).
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        parse_query(&self.query)
    }

    /// The first value of a query parameter, ignoring case as ASP.NET does.
    pub fn query_value(&self, name: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// `Content-Length` as a number, if given.
    pub fn content_length(&self) -> Option<u64> {
        self.header("content-length").and_then(|v| v.trim().parse().ok())
    }
}

pub use azfn_bindings::percent::decode_query as parse_query;

/// Groups `pairs` by name ignoring case (the first spelling wins), keeping every value.
fn group_ignoring_case(pairs: impl IntoIterator<Item = (String, String)>) -> Vec<(String, Vec<String>)> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for (name, value) in pairs {
        match groups.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(&name)) {
            Some((_, values)) => values.push(value),
            None => groups.push((name, vec![value])),
        }
    }
    groups
}

/// The query as ASP.NET's `StringValues.ToString()` gives it: repeated values joined with `,`.
fn joined_query(request: &IncomingRequest) -> Map<String, Value> {
    group_ignoring_case(request.query_pairs())
        .into_iter()
        .map(|(name, values)| (name, Value::String(values.join(","))))
        .collect()
}

/// A header name in the canonical casing ASP.NET Core shows for well-known headers
/// (`content-type` → `Content-Type`). The original casing of other headers is not kept by the
/// HTTP server, so they get the same treatment.
pub fn canonical_header_name(name: &str) -> String {
    name.split('-')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + &chars.as_str().to_ascii_lowercase(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

fn grouped_headers(request: &IncomingRequest) -> Vec<(String, Vec<String>)> {
    group_ignoring_case(
        request
            .headers
            .iter()
            .map(|(name, value)| (canonical_header_name(name), value.clone())),
    )
}

/// The anonymous identity a request without authentication carries, as captured from a real
/// host (`runtime/tests/captures/http-with-blob-input.json`).
fn anonymous_identity() -> Value {
    json!({
        "AuthenticationType": null, "IsAuthenticated": false, "Actor": null, "BootstrapContext": null,
        "Claims": [], "Label": null, "Name": null,
        "NameClaimType": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
        "RoleClaimType": "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
    })
}

/// The HTTP trigger's `Data` value: `Url`, `Method`, `Query`, `Headers` (arrays),
/// `Params`, `Identities` and, only when `Content-Length` > 0, `Body`.
pub fn http_request_object(request: &IncomingRequest, route_values: &[(String, String)]) -> Value {
    let query_string = if request.query.is_empty() {
        String::new()
    } else {
        format!("?{}", request.query)
    };
    let headers: Map<String, Value> = grouped_headers(request)
        .into_iter()
        .map(|(name, values)| (name, Value::from(values)))
        .collect();
    let params: Map<String, Value> = route_values
        .iter()
        .map(|(name, value)| (name.clone(), Value::String(value.clone())))
        .collect();
    let mut object = Map::new();
    object.insert(
        "Url".into(),
        format!("http://{}{}{query_string}", request.host, request.path).into(),
    );
    object.insert("Method".into(), request.method.clone().into());
    object.insert("Query".into(), Value::Object(joined_query(request)));
    object.insert("Headers".into(), Value::Object(headers));
    object.insert("Params".into(), Value::Object(params));
    object.insert("Identities".into(), json!([anonymous_identity()]));
    // The host reads the body only when the request declares a length.
    if request.content_length().is_some_and(|length| length > 0) {
        object.insert("Body".into(), request_body_text(request).into());
    }
    Value::Object(object)
}

fn request_body_text(request: &IncomingRequest) -> String {
    match request.header("content-type") {
        Some(content_type) if is_binary_content_type(content_type) => BASE64.encode(&request.body),
        _ => String::from_utf8_lossy(&request.body).into_owned(),
    }
}

/// The HTTP trigger's `Metadata` without `sys`: the top-level properties of a JSON-object
/// body, then each query parameter except `code`, then the route values (later ones win, as in
/// the host's binding data), then `Query` and `Headers` (single strings).
pub fn http_metadata(request: &IncomingRequest, route_values: &[(String, String)]) -> Map<String, Value> {
    let mut metadata = Map::new();
    if request.content_length().is_some_and(|length| length > 0)
        && let Ok(Value::Object(properties)) = serde_json::from_slice::<Value>(&request.body)
    {
        for (name, value) in properties {
            if !value.is_null() {
                metadata.insert(name, encode_value(&value));
            }
        }
    }
    for (name, value) in joined_query(request) {
        if !name.eq_ignore_ascii_case("code") {
            metadata.insert(name, encode_value(&value));
        }
    }
    for (name, value) in route_values {
        metadata.insert(name.clone(), encode_text(value));
    }
    metadata.insert("Query".into(), Value::Object(joined_query(request)));
    let headers: Map<String, Value> = grouped_headers(request)
        .into_iter()
        .map(|(name, values)| (name, Value::String(values.join(","))))
        .collect();
    metadata.insert("Headers".into(), Value::Object(headers));
    metadata
}

/// Metadata entries the host leaves out: null values and keys ending in "trigger".
fn keep_metadata_entry(key: &str, value: &Value) -> bool {
    !value.is_null() && !key.to_ascii_lowercase().ends_with("trigger")
}

/// Assembles the payload: the trigger value first, `null` for the other input bindings (the
/// local host has no storage, so an input binding finds nothing, as for a missing blob), then
/// the filtered metadata with `sys`.
fn assemble(function: &Function, trigger_value: Value, metadata: Map<String, Value>) -> InvocationPayload {
    let mut data = Map::new();
    if let Some(trigger) = function.trigger_binding() {
        data.insert(trigger.name.clone(), trigger_value);
    }
    for input in function.other_inputs() {
        data.insert(input.name.clone(), Value::Null);
    }
    let binding_data = plain_values(&metadata);
    let mut metadata: Map<String, Value> = metadata
        .into_iter()
        .filter(|(key, value)| keep_metadata_entry(key, value))
        .collect();
    metadata.insert("sys".into(), system_data(&function.name));
    InvocationPayload {
        data,
        metadata,
        http: None,
        binding_data,
    }
}

/// Metadata values with the value encoding undone: `"\"42\""` → `"42"`, `"2"` → `2`.
fn plain_values(metadata: &Map<String, Value>) -> Map<String, Value> {
    metadata
        .iter()
        .map(|(key, value)| {
            let plain = match value {
                Value::String(text) => serde_json::from_str(text).unwrap_or_else(|_| value.clone()),
                other => other.clone(),
            };
            (key.clone(), plain)
        })
        .collect()
}

/// The payload for an HTTP-triggered invocation.
pub fn http_invocation(
    function: &Function,
    request: &IncomingRequest,
    route_values: &[(String, String)],
) -> InvocationPayload {
    let mut payload = assemble(
        function,
        http_request_object(request, route_values),
        http_metadata(request, route_values),
    );
    payload.http = Some(HttpSource {
        request: request.clone(),
        route_values: route_values.to_vec(),
    });
    payload
}

/// The `TimerInfo` a timer trigger receives: not past due, no monitor status.
pub fn timer_info() -> Value {
    json!({"Schedule": {"AdjustForDST": true}, "ScheduleStatus": null, "IsPastDue": false})
}

/// The payload for a timer firing: `TimerInfo` inline, metadata only `sys`.
pub fn timer_invocation(function: &Function) -> InvocationPayload {
    assemble(function, timer_info(), Map::new())
}

/// A message or blob content as the trigger value: base64 for `dataType: binary`, otherwise
/// the double-encoded text.
fn trigger_content(binding: Option<&Binding>, content: &str) -> Value {
    if binding.is_some_and(Binding::is_binary) {
        encode_bytes(content.as_bytes())
    } else {
        encode_text(content)
    }
}

/// The payload for a queue message with text `message`, with the metadata a freshly dequeued
/// message has (as in `runtime/tests/captures/queue.json`): `DequeueCount` 1, a new `Id` and `PopReceipt`, and its times.
pub fn queue_invocation(function: &Function, message: &str) -> InvocationPayload {
    let now = i64::try_from(clock::since_epoch().as_secs()).unwrap_or(0);
    queue_message_invocation(
        function,
        &QueueMessageData {
            content: message.as_bytes(),
            id: clock::new_guid(),
            pop_receipt: BASE64.encode(clock::new_guid().as_bytes()),
            dequeue_count: 1,
            insertion_time: now,
            expiration_time: now + 7 * 86_400,
            next_visible_time: now + 600,
        },
    )
}

/// A message taken from a queue, as the trigger passes it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueMessageData<'a> {
    /// The decoded content.
    pub content: &'a [u8],
    /// The message id.
    pub id: String,
    /// The receipt of this dequeue.
    pub pop_receipt: String,
    /// How often the message has been taken, this time included.
    pub dequeue_count: i64,
    /// Unix seconds.
    pub insertion_time: i64,
    /// Unix seconds.
    pub expiration_time: i64,
    /// Unix seconds.
    pub next_visible_time: i64,
}

/// The payload for a queue message: the content (text, or base64 for `dataType: binary`), and
/// the host's metadata (`QueueTrigger` only for text, left out of `Metadata` like every key
/// ending in "trigger", but kept for `{queueTrigger}`; the top-level properties of a JSON
/// object message are binding data too).
pub fn queue_message_invocation(function: &Function, message: &QueueMessageData<'_>) -> InvocationPayload {
    let mut metadata = Map::new();
    let text = std::str::from_utf8(message.content).ok();
    if let Some(text) = text {
        metadata.insert("QueueTrigger".into(), encode_text(text));
    }
    metadata.insert("DequeueCount".into(), encode_value(&json!(message.dequeue_count)));
    metadata.insert("Id".into(), encode_text(&message.id));
    metadata.insert("PopReceipt".into(), encode_text(&message.pop_receipt));
    metadata.insert("InsertionTime".into(), clock::iso_offset(message.insertion_time).into());
    metadata.insert(
        "ExpirationTime".into(),
        clock::iso_offset(message.expiration_time).into(),
    );
    metadata.insert(
        "NextVisibleTime".into(),
        clock::iso_offset(message.next_visible_time).into(),
    );
    let trigger = function.trigger_binding();
    let value = match (trigger.is_some_and(Binding::is_binary), text) {
        (false, Some(text)) => encode_text(text),
        _ => encode_bytes(message.content),
    };
    let mut payload = assemble(function, value, metadata);
    if let Some(Ok(Value::Object(properties))) = text.map(serde_json::from_str::<Value>) {
        for (name, value) in properties {
            payload.binding_data.entry(name).or_insert(value);
        }
    }
    payload
}

/// The value given to every `{parameter}` of a blob path pattern by a local blob invocation.
pub const SAMPLE_BLOB_NAME: &str = "sample";

/// The payload for a blob with content `content`. The blob is named after the trigger's
/// `path` pattern with each `{parameter}` set to [`SAMPLE_BLOB_NAME`]; the trigger value is the
/// content as base64 unless the binding says `dataType: string`.
pub fn blob_invocation(function: &Function, content: &str) -> InvocationPayload {
    let trigger = function.trigger_binding();
    let pattern = trigger.and_then(|b| b.text("path")).unwrap_or("samples/{name}");
    let (path, parameters) = fill_blob_pattern(pattern);
    blob_content_invocation(
        function,
        &BlobData {
            path: path.clone(),
            uri: format!("http://127.0.0.1:10000/devstoreaccount1/{path}"),
            captures: parameters.into_iter().collect(),
            content: content.as_bytes(),
            properties: json!({"ContentType": "application/octet-stream", "Length": content.len(), "BlobType": "BlockBlob"}),
            metadata: Map::new(),
        },
    )
}

/// A blob that fires a blob trigger.
#[derive(Debug, Clone, PartialEq)]
pub struct BlobData<'a> {
    /// `container/name`.
    pub path: String,
    /// The blob's URL (without any SAS).
    pub uri: String,
    /// The values of the path pattern's `{parameters}`.
    pub captures: Vec<(String, String)>,
    /// The content.
    pub content: &'a [u8],
    /// `Properties`: `ContentType`, `Length`, `ETag`, `LastModified`, `BlobType`.
    pub properties: Value,
    /// The blob's own metadata.
    pub metadata: Map<String, Value>,
}

/// The payload for a blob trigger: the content as base64 unless the binding says
/// `dataType: string`, with `BlobTrigger`, `Uri`, `Properties`, `Metadata` and the captures.
pub fn blob_content_invocation(function: &Function, blob: &BlobData<'_>) -> InvocationPayload {
    let trigger = function.trigger_binding();
    let mut metadata = Map::new();
    metadata.insert("BlobTrigger".into(), encode_text(&blob.path));
    metadata.insert("Uri".into(), encode_text(&blob.uri));
    metadata.insert("Properties".into(), blob.properties.clone());
    metadata.insert("Metadata".into(), Value::Object(blob.metadata.clone()));
    for (name, value) in &blob.captures {
        metadata.insert(name.clone(), encode_text(value));
    }
    let value = match trigger.and_then(|b| b.data_type.as_deref()) {
        Some("string") => encode_text(&String::from_utf8_lossy(blob.content)),
        _ => encode_bytes(blob.content),
    };
    assemble(function, value, metadata)
}

/// `samples/{name}.txt` → (`samples/sample.txt`, {name: sample}).
fn fill_blob_pattern(pattern: &str) -> (String, BTreeMap<String, String>) {
    let mut path = String::new();
    let mut parameters = BTreeMap::new();
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        path.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let name = &rest[open + 1..open + close];
        parameters.insert(name.to_owned(), SAMPLE_BLOB_NAME.to_owned());
        path.push_str(SAMPLE_BLOB_NAME);
        rest = &rest[open + close + 1..];
    }
    path.push_str(rest);
    (path, parameters)
}

/// The payload for any other trigger given `input`: the input as the double-encoded trigger
/// value (base64 for `dataType: binary`), metadata only `sys`.
pub fn generic_invocation(function: &Function, input: &str) -> InvocationPayload {
    assemble(function, trigger_content(function.trigger_binding(), input), Map::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::parse_function;

    fn function(json: Value) -> Function {
        parse_function("hello-blobInput", &json, &BTreeMap::new()).unwrap()
    }

    /// The request of the captured HTTP payload (`runtime/tests/captures/http-with-blob-input.json`).
    fn captured_request() -> IncomingRequest {
        IncomingRequest {
            method: "POST".into(),
            host: "bal-dev.azurewebsites.net".into(),
            path: "/hello/blobInput".into(),
            query: "name=hello.txt".into(),
            headers: vec![
                ("content-type".into(), "text/plain".into()),
                ("content-length".into(), "4".into()),
                ("host".into(), "bal-dev.azurewebsites.net".into()),
            ],
            body: Bytes::from_static(b"Jack"),
        }
    }

    #[test]
    fn double_encoding_rule() {
        assert_eq!(encode_text("aaaaa"), json!("\"aaaaa\""));
        assert_eq!(encode_value(&json!(1)), json!("1"));
        assert_eq!(encode_value(&json!([1, "a"])), json!("[1,\"a\"]"));
        assert_eq!(encode_value(&json!(true)), json!("true"));
        assert_eq!(encode_value(&json!({"a": 1})), json!({"a": 1}));
        assert_eq!(encode_bytes(b"hi"), json!("aGk="));
    }

    #[test]
    fn http_payload_matches_the_capture() {
        let f = function(json!({"bindings": [
            {"type": "httpTrigger", "direction": "in", "name": "httpPayload", "route": "hello/blobInput"},
            {"type": "blob", "direction": "in", "name": "blobIn", "path": "x/{Query.name}"},
            {"type": "http", "direction": "out", "name": "res"}
        ]}));
        let payload = http_invocation(&f, &captured_request(), &[]).to_json();
        let req = &payload["Data"]["httpPayload"];
        assert_eq!(
            req["Url"],
            "http://bal-dev.azurewebsites.net/hello/blobInput?name=hello.txt"
        );
        assert_eq!(req["Method"], "POST");
        assert_eq!(req["Query"], json!({"name": "hello.txt"}));
        assert_eq!(
            req["Headers"],
            json!({"Content-Type": ["text/plain"], "Content-Length": ["4"], "Host": ["bal-dev.azurewebsites.net"]})
        );
        assert_eq!(req["Params"], json!({}));
        assert_eq!(req["Identities"][0]["IsAuthenticated"], false);
        assert_eq!(
            req["Identities"][0]["NameClaimType"],
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
        );
        assert_eq!(req["Body"], "Jack");
        assert_eq!(payload["Data"]["blobIn"], Value::Null);

        let metadata = &payload["Metadata"];
        assert_eq!(metadata["name"], "\"hello.txt\"");
        assert_eq!(metadata["Query"], json!({"name": "hello.txt"}));
        assert_eq!(
            metadata["Headers"],
            json!({"Content-Type": "text/plain", "Content-Length": "4", "Host": "bal-dev.azurewebsites.net"})
        );
        assert_eq!(metadata["sys"]["MethodName"], "hello-blobInput");
        assert_eq!(metadata["sys"]["UtcNow"].as_str().unwrap().len(), 28);
        assert_eq!(metadata["sys"]["RandGuid"].as_str().unwrap().len(), 36);
        let keys: Vec<&str> = metadata.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["Headers", "Query", "name", "sys"]);
    }

    #[test]
    fn http_metadata_code_route_values_and_json_body() {
        let request = IncomingRequest {
            method: "POST".into(),
            host: "localhost:7071".into(),
            path: "/api/orders/42".into(),
            query: "code=secret&tag=a&tag=b&n=1".into(),
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("content-length".into(), "40".into()),
                ("x-custom".into(), "1".into()),
                ("X-Custom".into(), "2".into()),
            ],
            body: Bytes::from_static(br#"{"item": "tea", "qty": 2, "opts": {"a": 1}, "none": null}"#),
        };
        let route = [("id".to_owned(), "42".to_owned())];
        let object = http_request_object(&request, &route);
        assert_eq!(object["Query"], json!({"code": "secret", "tag": "a,b", "n": "1"}));
        assert_eq!(object["Params"], json!({"id": "42"}));
        assert_eq!(object["Headers"]["X-Custom"], json!(["1", "2"]));
        let metadata = http_metadata(&request, &route);
        assert_eq!(metadata.get("code"), None, "code stays out of the top level");
        assert_eq!(metadata["Query"]["code"], "secret");
        assert_eq!(metadata["tag"], "\"a,b\"");
        assert_eq!(metadata["n"], "\"1\"");
        assert_eq!(metadata["id"], "\"42\"");
        assert_eq!(metadata["item"], "\"tea\"");
        assert_eq!(metadata["qty"], "2");
        assert_eq!(metadata["opts"], json!({"a": 1}));
        assert_eq!(metadata.get("none"), None);
        assert_eq!(metadata["Headers"]["X-Custom"], "1,2");
    }

    #[test]
    fn body_only_with_a_length_and_base64_for_binary_types() {
        let mut request = captured_request();
        request.headers = vec![("transfer-encoding".into(), "chunked".into())];
        assert_eq!(http_request_object(&request, &[]).get("Body"), None);
        request.headers = vec![
            ("content-type".into(), "application/octet-stream".into()),
            ("content-length".into(), "4".into()),
        ];
        assert_eq!(http_request_object(&request, &[])["Body"], "SmFjaw==");
        request.headers[0].1 = "multipart/form-data; boundary=x".into();
        assert_eq!(http_request_object(&request, &[])["Body"], "SmFjaw==");
    }

    #[test]
    fn query_and_path_decoding() {
        assert_eq!(
            parse_query("name=J%C3%BCrgen+M&flag&=x&a=%zz"),
            vec![
                ("name".to_owned(), "Jürgen M".to_owned()),
                ("flag".to_owned(), String::new()),
                ("a".to_owned(), "%zz".to_owned())
            ]
        );
        assert_eq!(canonical_header_name("x-functions-key"), "X-Functions-Key");
        assert_eq!(canonical_header_name("HOST"), "Host");
    }

    #[test]
    fn queue_payload_matches_the_capture() {
        let f = function(json!({"bindings": [
            {"type": "queueTrigger", "direction": "in", "name": "inMsg", "queueName": "q"}
        ]}));
        let payload = queue_invocation(&f, "aaaaa").to_json();
        assert_eq!(payload["Data"], json!({"inMsg": "\"aaaaa\""}));
        let metadata = payload["Metadata"].as_object().unwrap();
        assert_eq!(metadata["DequeueCount"], "1");
        assert!(metadata["Id"].as_str().unwrap().starts_with('"'));
        assert!(metadata["PopReceipt"].as_str().unwrap().starts_with('"'));
        assert!(metadata["InsertionTime"].as_str().unwrap().ends_with("+00:00"));
        for key in ["ExpirationTime", "NextVisibleTime", "sys"] {
            assert!(metadata.contains_key(key), "{key}");
        }
    }

    #[test]
    fn binary_queue_messages_are_base64() {
        let f = function(json!({"bindings": [
            {"type": "queueTrigger", "direction": "in", "name": "m", "dataType": "binary"}
        ]}));
        assert_eq!(queue_invocation(&f, "hi").data["m"], "aGk=");
    }

    #[test]
    fn timer_payload() {
        let f = function(json!({"bindings": [
            {"type": "timerTrigger", "direction": "in", "name": "timer", "schedule": "0 */5 * * * *"}
        ]}));
        let payload = timer_invocation(&f).to_json();
        assert_eq!(
            payload["Data"]["timer"],
            json!({"Schedule": {"AdjustForDST": true}, "ScheduleStatus": null, "IsPastDue": false})
        );
        let keys: Vec<&String> = payload["Metadata"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["sys"]);
    }

    #[test]
    fn blob_payload() {
        let f = function(json!({"bindings": [
            {"type": "blobTrigger", "direction": "in", "name": "blob", "path": "samples/{name}.txt"}
        ]}));
        let payload = blob_invocation(&f, "Jack");
        assert_eq!(payload.data["blob"], "SmFjaw==");
        assert_eq!(payload.metadata["name"], "\"sample\"");
        assert_eq!(
            payload.metadata["Uri"],
            "\"http://127.0.0.1:10000/devstoreaccount1/samples/sample.txt\""
        );
        assert_eq!(payload.metadata["Properties"]["Length"], 4);
        assert!(
            !payload.metadata.contains_key("BlobTrigger"),
            "keys ending in trigger are left out"
        );
    }
}
