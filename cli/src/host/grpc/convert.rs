//! The host's side of the gRPC data mapping (the messages of
//! `wire/proto/functions/FunctionRpc.proto`). Pure functions.
//!
//! The local host builds every invocation as an [`InvocationPayload`]: the real host's binding
//! data, rendered the custom-handler way (values double-encoded, bytes as base64). This module
//! turns that into an `InvocationRequest` as the real host's `ToRpcInvocationRequest` would
//! build it, and reads an `InvocationResponse` back into the same [`InvocationResult`] the
//! custom-handler path produces, so routing, keys, timers, the admin API and the console are
//! shared by both transports.
//!
//! - The HTTP trigger is an `RpcHttp` shaped by the worker's capabilities:
//!   `UseNullableValueDictionaryForHttp`, `RpcHttpBodyOnly`, `RawHttpBodyBytes`,
//!   `IgnoreEmptyValuedRpcHttpHeaders`, `RpcHttpTriggerMetadataRemoved`.
//! - Other values: objects as `json`, text as `string`, bytes (binary bindings, blobs)
//!   as `bytes`, other JSON as `json`, null as an empty `TypedData`.
//! - `trigger_metadata` is the binding data without `sys`.
//! - Outputs: `string`, `json`, `bytes`, `int`, `double` and `http` are read; collection
//!   types fail the invocation, as in the host. There is no base64 quirk on this path.

use std::collections::BTreeMap;

use azfn_wire::rpc::{
    BindingInfo, FunctionLoadRequest, InvocationRequest, InvocationResponse, NullableString, ParameterBinding,
    RpcClaimsIdentity, RpcFunctionMetadata, RpcHttp, RpcHttpCookie, RpcTraceContext, TypedData, binding_info,
    parameter_binding::RpcData, rpc_http_cookie::SameSite, status_result::Status, typed_data::Data,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value, json};

use crate::app::{Binding, Direction, Function, parse_function};
use crate::clock;
use crate::host::payload::{HttpSource, InvocationPayload, is_binary_content_type, parse_query};
use crate::host::response::{
    HttpReply, InvocationResult, OutputValue, RETURN_BINDING, http_reply_from_value, output_messages,
};

/// The capabilities a worker announced. As in the host, any non-empty value switches one on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities(pub BTreeMap<String, String>);

impl Capabilities {
    /// Whether the capability `name` is on.
    pub fn has(&self, name: &str) -> bool {
        self.0.get(name).is_some_and(|value| !value.is_empty())
    }
}

/// The `InvocationRequest` for `payload`: the trigger first, then the other input bindings (an
/// empty `TypedData` when the local host has nothing for them), the trigger metadata, and a
/// fresh W3C trace context.
pub fn invocation_request(
    function: &Function,
    function_id: &str,
    invocation_id: &str,
    payload: &InvocationPayload,
    capabilities: &Capabilities,
) -> InvocationRequest {
    let http = payload.http.as_ref().map(|source| TypedData {
        data: Some(Data::Http(Box::new(rpc_http(source, capabilities)))),
    });
    let trigger = function.trigger_binding();
    // In binding order, the trigger first (the payload's map is ordered by name).
    let inputs = trigger.into_iter().chain(function.other_inputs());
    let input_data = inputs
        .filter_map(|binding| {
            let value = payload.data.get(&binding.name)?;
            let data = match &http {
                Some(http) if binding.is_trigger() => http.clone(),
                // As the host: a reference instead of the content, when the binding asks.
                _ => match deferred_blob_reference(function, binding, payload) {
                    Some(reference) => reference,
                    None => typed_value(Some(binding), value),
                },
            };
            Some(ParameterBinding {
                name: binding.name.clone(),
                rpc_data: Some(RpcData::Data(data)),
            })
        })
        .collect();
    let mut trigger_metadata = trigger_metadata(&payload.metadata);
    // Without `RpcHttpTriggerMetadataRemoved` the host also puts the request itself in the
    // metadata, under the binding's name and `$request`.
    if let (Some(http), Some(trigger)) = (&http, trigger)
        && !capabilities.has("RpcHttpTriggerMetadataRemoved")
    {
        trigger_metadata.insert(trigger.name.clone(), http.clone());
        trigger_metadata.insert("$request".to_owned(), http.clone());
    }
    InvocationRequest {
        invocation_id: invocation_id.to_owned(),
        function_id: function_id.to_owned(),
        input_data,
        trigger_metadata,
        trace_context: Some(trace_context()),
        retry_context: None,
    }
}

/// Whether `binding` asks for deferred binding: `"properties": {"SupportsDeferredBinding":
/// "True"}` (read as the host's `BindingMetadataExtensions` does: a boolean or its text).
fn supports_deferred_binding(binding: &Binding) -> bool {
    let Some(Value::Object(properties)) = binding.property("properties") else {
        return false;
    };
    match crate::app::get_ignore_case(properties, azfn_bindings::description::SUPPORTS_DEFERRED_BINDING) {
        Some(Value::Bool(on)) => *on,
        Some(Value::String(text)) => text.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// Whether the host skips deferred binding for the trigger of `function`
/// (`WorkerFunctionDescriptorProvider.BindingAttributeContainsExpression`): it looks at the
/// first binding that is not the trigger, and skips when one of its string values holds a
/// `{expression}`, since resolving it needs the trigger's content.
fn skips_deferred_trigger(function: &Function) -> bool {
    function
        .bindings
        .iter()
        .find(|b| !b.is_trigger())
        .is_some_and(|binding| {
            binding.properties.values().any(|value| {
                value
                    .as_str()
                    .and_then(|text| text.find('{').map(|open| text[open..].contains('}')))
                    .unwrap_or(false)
            })
        })
}

/// The `model_binding_data` the host sends for a blob trigger or blob input with deferred
/// binding: source `AzureStorageBlobs`, JSON `{Connection, ContainerName, BlobName}`
/// (`azfn_storage::reference`). `None` when the binding takes its content.
fn deferred_blob_reference(function: &Function, binding: &Binding, payload: &InvocationPayload) -> Option<TypedData> {
    use azfn_storage::reference::{BLOB_SOURCE, BlobReference, JSON_CONTENT_TYPE, MODEL_BINDING_DATA_VERSION};
    let blob_kind = binding.is("blobTrigger") || binding.is("blob");
    if !blob_kind || !supports_deferred_binding(binding) || (binding.is_trigger() && skips_deferred_trigger(function)) {
        return None;
    }
    let path = if binding.is_trigger() {
        crate::app::get_ignore_case(&payload.binding_data, "BlobTrigger")?
            .as_str()?
            .to_owned()
    } else {
        crate::host::storage::resolve_expressions(binding.text("path")?, &payload.binding_data).ok()?
    };
    let (container, blob) = path.split_once('/').unwrap_or((path.as_str(), ""));
    let reference = BlobReference {
        connection: binding.text("connection").map(str::to_owned),
        container_name: container.to_owned(),
        blob_name: Some(blob.to_owned()),
    };
    Some(typed(Data::ModelBindingData(azfn_wire::rpc::ModelBindingData {
        version: MODEL_BINDING_DATA_VERSION.to_owned(),
        source: BLOB_SOURCE.to_owned(),
        content_type: JSON_CONTENT_TYPE.to_owned(),
        content: reference.to_json(),
    })))
}

/// A new W3C `traceparent`, as the host's `Activity` for the invocation would have.
fn trace_context() -> RpcTraceContext {
    let trace = clock::new_guid().replace('-', "");
    let span = clock::new_guid().replace('-', "");
    RpcTraceContext {
        trace_parent: format!("00-{trace}-{}-00", &span[..16]),
        trace_state: String::new(),
        attributes: BTreeMap::new(),
    }
}

/// An empty `TypedData`: the protocol's null.
fn null() -> TypedData {
    TypedData { data: None }
}

fn typed(data: Data) -> TypedData {
    TypedData { data: Some(data) }
}

/// Whether the custom-handler form of `binding`'s value is base64 bytes: `dataType: binary`,
/// and blob triggers unless `dataType: string` (see `payload::blob_invocation`).
fn carries_bytes(binding: Option<&Binding>) -> bool {
    binding.is_some_and(|b| b.is_binary() || (b.is("blobTrigger") && b.data_type.as_deref() != Some("string")))
}

/// A custom-handler value (double-encoded, bytes as base64: see `host/payload.rs`) as the `TypedData` the real host sends:
/// objects as `json`, double-encoded text as `string` (or `json` when the text is other JSON),
/// base64 of a byte-carrying binding as `bytes`, null as empty.
pub fn typed_value(binding: Option<&Binding>, value: &Value) -> TypedData {
    match value {
        Value::Null => null(),
        Value::Object(_) | Value::Array(_) | Value::Bool(_) | Value::Number(_) => typed(Data::Json(value.to_string())),
        Value::String(text) => {
            if carries_bytes(binding)
                && let Ok(bytes) = BASE64.decode(text)
            {
                return typed(Data::Bytes(bytes));
            }
            match serde_json::from_str::<Value>(text) {
                Ok(Value::String(inner)) => typed(Data::String(inner)),
                Ok(_) => typed(Data::Json(text.clone())),
                Err(_) => typed(Data::String(text.clone())),
            }
        }
    }
}

/// The trigger metadata: the binding data without `sys` (which the host never sends), each
/// value decoded from its custom-handler form. Text that was not double-encoded (dates) goes as
/// a JSON string, as the host serializes dates.
pub fn trigger_metadata(metadata: &Map<String, Value>) -> BTreeMap<String, TypedData> {
    metadata
        .iter()
        .filter(|(key, value)| key.as_str() != "sys" && !value.is_null())
        .map(|(key, value)| {
            let data = match value {
                Value::String(text) => match serde_json::from_str::<Value>(text) {
                    Ok(Value::String(inner)) => typed(Data::String(inner)),
                    Ok(_) => typed(Data::Json(text.clone())),
                    Err(_) => typed(Data::Json(Value::String(text.clone()).to_string())),
                },
                other => typed(Data::Json(other.to_string())),
            };
            (key.clone(), data)
        })
        .collect()
}

/// The identity of an anonymous caller, as the host sends it.
fn anonymous_identity() -> RpcClaimsIdentity {
    let text = |s: &str| Some(NullableString::new(s));
    RpcClaimsIdentity {
        authentication_type: None,
        name_claim_type: text("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"),
        role_claim_type: text("http://schemas.microsoft.com/ws/2008/06/identity/claims/role"),
        claims: Vec::new(),
    }
}

/// The host's `ToRpcHttp`: the request as the worker's capabilities want it.
pub fn rpc_http(source: &HttpSource, capabilities: &Capabilities) -> RpcHttp {
    let request = &source.request;
    let nullable = capabilities.has("UseNullableValueDictionaryForHttp");
    let skip_empty_headers = capabilities.has("IgnoreEmptyValuedRpcHttpHeaders");
    let query_string = if request.query.is_empty() {
        String::new()
    } else {
        format!("?{}", request.query)
    };
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in &request.headers {
        if skip_empty_headers && value.is_empty() {
            continue;
        }
        headers
            .entry(name.to_ascii_lowercase())
            .and_modify(|joined| {
                joined.push(',');
                joined.push_str(value);
            })
            .or_insert_with(|| value.clone());
    }
    let mut query: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in parse_query(&request.query) {
        match query.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(&name)) {
            Some((_, joined)) => {
                joined.push(',');
                joined.push_str(&value);
            }
            None => {
                query.insert(name, value);
            }
        }
    }
    let params: BTreeMap<String, String> = source.route_values.iter().cloned().collect();
    let mut http = RpcHttp {
        method: request.method.clone(),
        url: format!("http://{}{}{query_string}", request.host, request.path),
        identities: vec![anonymous_identity()],
        ..RpcHttp::default()
    };
    if nullable {
        let wrap = |map: BTreeMap<String, String>| map.into_iter().map(|(k, v)| (k, NullableString::new(v))).collect();
        http.nullable_headers = wrap(headers);
        http.nullable_query = wrap(query);
        http.nullable_params = wrap(params);
    } else {
        http.headers = headers;
        http.query = query.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        http.params = params;
    }
    // The host reads the body only when the request declares a length.
    if request.content_length().is_some_and(|length| length > 0) {
        let (body, raw_body) = http_bodies(request.header("content-type"), &request.body, capabilities);
        http.body = Some(Box::new(body));
        http.raw_body = raw_body.map(Box::new);
    }
    http
}

/// `body` and `rawBody` of a request by the host's rules.
fn http_bodies(content_type: Option<&str>, body: &[u8], capabilities: &Capabilities) -> (TypedData, Option<TypedData>) {
    let raw_bytes = capabilities.has("RawHttpBodyBytes");
    let binary = content_type.is_some_and(is_binary_content_type);
    let text = || typed(Data::String(String::from_utf8_lossy(body).into_owned()));
    let bytes = || typed(Data::Bytes(body.to_vec()));
    if capabilities.has("RpcHttpBodyOnly") {
        return (if binary || raw_bytes { bytes() } else { text() }, None);
    }
    let raw = if raw_bytes { bytes() } else { text() };
    let media = content_type
        .and_then(|c| c.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase());
    if binary {
        (bytes(), Some(raw))
    } else if media.as_deref() == Some("application/json") {
        let parsed = match serde_json::from_slice::<Value>(body) {
            Ok(value) => typed(Data::Json(value.to_string())),
            Err(_) => text(),
        };
        (parsed, Some(raw))
    } else {
        (text(), Some(raw))
    }
}

/// Reads the worker's `InvocationResponse` (outputs, return value, result) into what the host hands to the
/// bindings. `logs` are the invocation's `RpcLog` lines.
///
/// # Errors
///
/// Why the host fails the invocation: a `Failure` or `Cancelled` result (with the exception's
/// message), an output of a type the host cannot read, or an HTTP response it cannot build.
pub fn read_response(
    function: &Function,
    response: InvocationResponse,
    logs: Vec<String>,
) -> Result<InvocationResult, String> {
    let result = response.result.ok_or("the worker's InvocationResponse has no result")?;
    match Status::try_from(result.status) {
        Ok(Status::Success) => {}
        status => {
            let what = if status == Ok(Status::Cancelled) {
                "cancelled"
            } else {
                "failed"
            };
            let message = result
                .exception
                .map(|e| e.message)
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| result.result.clone());
            return Err(if message.is_empty() {
                format!("the worker reported the invocation {what}")
            } else {
                format!("the worker reported the invocation {what}: {message}")
            });
        }
    }
    let mut outputs: BTreeMap<String, TypedData> = BTreeMap::new();
    for binding in response.output_data {
        match binding.rpc_data {
            Some(RpcData::Data(data)) => {
                outputs.insert(binding.name, data);
            }
            Some(RpcData::RpcSharedMemory(_)) => {
                return Err(format!(
                    "output `{}` came in shared memory, which the local host does not offer",
                    binding.name
                ));
            }
            None => {}
        }
    }
    let return_value = response.return_value.unwrap_or_else(null);
    if function.outputs().any(|b| b.name == RETURN_BINDING) {
        outputs.insert(RETURN_BINDING.to_owned(), return_value);
    } else if let Some(Data::Json(text)) = &return_value.data
        && let Ok(Value::Object(properties)) = serde_json::from_str::<Value>(text)
    {
        // A returned object without a `$return` binding spreads over the named outputs.
        for (name, value) in properties {
            outputs.insert(name, typed(Data::Json(value.to_string())));
        }
    }

    let mut read = InvocationResult {
        logs,
        ..InvocationResult::default()
    };
    for binding in function.outputs() {
        let value = outputs.remove(&binding.name).unwrap_or_else(null);
        if binding.is("http") {
            if read.http.is_none() {
                read.http = Some(http_reply(&binding.name, value)?);
            }
        } else {
            let value = output_value(value).map_err(|e| format!("output `{}`: {e}", binding.name))?;
            read.messages.extend(output_messages(binding, value));
        }
    }
    Ok(read)
}

/// `TypedData.ToObject`: the value of an output, or why the host refuses it.
pub fn output_value(data: TypedData) -> Result<OutputValue, String> {
    Ok(match data.data {
        None => OutputValue::Json(Value::Null),
        Some(Data::String(text)) => OutputValue::Json(Value::String(text)),
        Some(Data::Json(text)) => OutputValue::Json(serde_json::from_str(&text).unwrap_or(Value::String(text))),
        Some(Data::Bytes(bytes) | Data::Stream(bytes)) => OutputValue::Bytes(bytes),
        Some(Data::Int(n)) => OutputValue::Json(Value::from(n)),
        Some(Data::Double(n)) => OutputValue::Json(Value::from(n)),
        Some(Data::Http(http)) => OutputValue::Json(http_expando(&http)),
        Some(_) => return Err("collections and model binding data cannot be outputs (Unknown RpcDataType)".into()),
    })
}

/// An `RpcHttp` as the object the host makes of it when it is not used as a response.
fn http_expando(http: &RpcHttp) -> Value {
    let body = http.body.as_ref().and_then(|b| output_value((**b).clone()).ok());
    json!({
        "statusCode": http.status_code,
        "headers": http.headers,
        "body": body.map(|b| match b {
            OutputValue::Json(value) => value,
            bytes @ OutputValue::Bytes(_) => Value::String(bytes.display()),
        }),
    })
}

/// The HTTP response of an `http` output named `name`.
fn http_reply(name: &str, value: TypedData) -> Result<HttpReply, String> {
    match value.data {
        Some(Data::Http(http)) => rpc_http_reply(*http),
        // No value: an empty 200 for a named output, 204 for `$return`, as on the other path.
        None if name != RETURN_BINDING => Ok(HttpReply {
            status: 200,
            headers: Vec::new(),
            body: Vec::new(),
        }),
        data => http_reply_from_value(output_value(TypedData { data })?).map_err(|e| e.0),
    }
}

/// An `RpcHttp` response: status and headers count only when `body` is set; without it the
/// whole object is the body of a 200.
fn rpc_http_reply(http: RpcHttp) -> Result<HttpReply, String> {
    let Some(body) = http.body.clone() else {
        return Ok(HttpReply {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json; charset=utf-8".into())],
            body: http_expando(&http).to_string().into_bytes(),
        });
    };
    let status = match http.status_code.trim() {
        "" => 200,
        text => text
            .parse::<u16>()
            .ok()
            .filter(|s| (100..=999).contains(s))
            .ok_or_else(|| format!("status code {text:?} is not an HTTP status code"))?,
    };
    let mut headers: Vec<(String, String)> = http.headers.into_iter().collect();
    headers.extend(http.cookies.iter().map(|c| ("Set-Cookie".to_owned(), set_cookie(c))));
    let has_content_type = headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
    let (bytes, default_type) = match output_value(*body)? {
        OutputValue::Bytes(bytes) => (bytes, "application/octet-stream"),
        OutputValue::Json(Value::Null) => (Vec::new(), "text/plain; charset=utf-8"),
        OutputValue::Json(Value::String(text)) => (text.into_bytes(), "text/plain; charset=utf-8"),
        OutputValue::Json(other @ (Value::Object(_) | Value::Array(_))) => {
            (other.to_string().into_bytes(), "application/json; charset=utf-8")
        }
        OutputValue::Json(other) => (other.to_string().into_bytes(), "text/plain; charset=utf-8"),
    };
    if !has_content_type && !bytes.is_empty() {
        headers.push(("Content-Type".into(), default_type.into()));
    }
    Ok(HttpReply {
        status,
        headers,
        body: bytes,
    })
}

/// A `Set-Cookie` header value for an `RpcHttpCookie`.
fn set_cookie(cookie: &RpcHttpCookie) -> String {
    let mut text = format!("{}={}", cookie.name, cookie.value);
    let mut attribute = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            text.push_str(&format!("; {name}={value}"));
        }
    };
    attribute(
        "Domain",
        cookie.domain.as_ref().and_then(|d| d.value()).map(str::to_owned),
    );
    attribute("Path", cookie.path.as_ref().and_then(|p| p.value()).map(str::to_owned));
    attribute(
        "Max-Age",
        cookie
            .max_age
            .as_ref()
            .and_then(|m| m.value())
            .map(|seconds| format!("{}", seconds.round())),
    );
    attribute(
        "SameSite",
        match SameSite::try_from(cookie.same_site) {
            Ok(SameSite::Lax) => Some("Lax".into()),
            Ok(SameSite::Strict) => Some("Strict".into()),
            Ok(SameSite::ExplicitNone) => Some("None".into()),
            _ => None,
        },
    );
    if cookie.secure.as_ref().and_then(|s| s.value()) == Some(true) {
        text.push_str("; Secure");
    }
    if cookie.http_only.as_ref().and_then(|h| h.value()) == Some(true) {
        text.push_str("; HttpOnly");
    }
    text
}

/// Whether `name` is a valid function name for the host (`^[a-z][a-z0-9_-]{0,127}$`, ignoring
/// case, and not `host`).
pub fn valid_function_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && name.len() <= 128
        && !name.eq_ignore_ascii_case("host")
}

/// A worker-indexed function (from `FunctionMetadataResponse`): its `raw_bindings` read like a function.json, after the
/// host's validation (name, per-function status, unique binding names, `$return` out).
///
/// # Errors
///
/// Why the host would drop the function.
pub fn function_from_metadata(
    metadata: &RpcFunctionMetadata,
    settings: &BTreeMap<String, String>,
) -> Result<Function, String> {
    if !valid_function_name(&metadata.name) {
        return Err(format!("'{}' is not a valid function name", metadata.name));
    }
    if let Some(status) = &metadata.status
        && status.status != Status::Success as i32
    {
        let message = status
            .exception
            .as_ref()
            .map(|e| e.message.as_str())
            .unwrap_or_default();
        return Err(format!("the worker could not index it: {message}"));
    }
    if metadata.function_id.is_empty() {
        return Err("it has no function_id".into());
    }
    let bindings = metadata
        .raw_bindings
        .iter()
        .map(|raw| serde_json::from_str::<Value>(raw).map_err(|e| format!("a raw binding is not JSON ({e}): {raw}")))
        .collect::<Result<Vec<_>, _>>()?;
    let function = parse_function(&metadata.name, &json!({ "bindings": bindings }), settings)?;
    let mut names: Vec<String> = function.bindings.iter().map(|b| b.name.to_ascii_lowercase()).collect();
    names.sort();
    if names.windows(2).any(|pair| pair[0] == pair[1]) {
        return Err("two bindings have the same name".into());
    }
    if function
        .bindings
        .iter()
        .any(|b| b.name == RETURN_BINDING && b.direction != Direction::Out)
    {
        return Err("`$return` must be an `out` binding".into());
    }
    Ok(function)
}

/// The `FunctionLoadRequest` the host sends for an indexed function: its name and files and, per
/// binding, only type, direction and data type.
pub fn load_request(metadata: &RpcFunctionMetadata, function: &Function) -> FunctionLoadRequest {
    let bindings = function
        .bindings
        .iter()
        .map(|binding| {
            let direction = match binding.direction {
                Direction::In => binding_info::Direction::In,
                Direction::Out => binding_info::Direction::Out,
                Direction::InOut => binding_info::Direction::Inout,
            };
            let data_type = match binding.data_type.as_deref() {
                Some("string") => binding_info::DataType::String,
                Some("binary") => binding_info::DataType::Binary,
                Some("stream") => binding_info::DataType::Stream,
                _ => binding_info::DataType::Undefined,
            };
            let info = BindingInfo {
                r#type: binding.kind.clone(),
                direction: direction as i32,
                data_type: data_type as i32,
                properties: BTreeMap::new(),
            };
            (binding.name.clone(), info)
        })
        .collect();
    FunctionLoadRequest {
        function_id: metadata.function_id.clone(),
        metadata: Some(RpcFunctionMetadata {
            name: metadata.name.clone(),
            directory: metadata.directory.clone(),
            script_file: metadata.script_file.clone(),
            entry_point: metadata.entry_point.clone(),
            bindings,
            properties: metadata.properties.clone(),
            ..RpcFunctionMetadata::default()
        }),
        managed_dependency_enabled: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::payload::{self, IncomingRequest};
    use azfn_wire::rpc::{RpcException, StatusResult};
    use bytes::Bytes;

    fn function(bindings: Value) -> Function {
        parse_function("f", &json!({ "bindings": bindings }), &BTreeMap::new()).unwrap()
    }

    fn caps(names: &[&str]) -> Capabilities {
        Capabilities(names.iter().map(|n| (n.to_string(), "true".to_owned())).collect())
    }

    fn request(headers: &[(&str, &str)], query: &str, body: &'static [u8]) -> IncomingRequest {
        IncomingRequest {
            method: "POST".into(),
            host: "localhost:7071".into(),
            path: "/api/orders/42".into(),
            query: query.into(),
            headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
            body: Bytes::from_static(body),
        }
    }

    fn source(request: IncomingRequest) -> HttpSource {
        HttpSource {
            request,
            route_values: vec![("id".into(), "42".into())],
        }
    }

    fn text(data: &TypedData) -> &str {
        match &data.data {
            Some(Data::String(s) | Data::Json(s)) => s,
            other => panic!("not text: {other:?}"),
        }
    }

    fn success(outputs: Vec<(&str, TypedData)>, return_value: Option<TypedData>) -> InvocationResponse {
        InvocationResponse {
            invocation_id: "i".into(),
            output_data: outputs
                .into_iter()
                .map(|(name, data)| ParameterBinding {
                    name: name.into(),
                    rpc_data: Some(RpcData::Data(data)),
                })
                .collect(),
            result: Some(StatusResult {
                status: Status::Success as i32,
                ..StatusResult::default()
            }),
            return_value,
        }
    }

    #[test]
    fn rpc_http_with_plain_maps() {
        let request = request(
            &[
                ("Content-Type", "application/json"),
                ("content-length", "9"),
                ("X-Tag", "a"),
                ("x-tag", "b"),
                ("X-Empty", ""),
            ],
            "code=k&tag=a&Tag=b&empty=",
            br#"{"n": 1} "#,
        );
        let http = rpc_http(&source(request), &Capabilities::default());
        assert_eq!(http.method, "POST");
        assert_eq!(
            http.url,
            "http://localhost:7071/api/orders/42?code=k&tag=a&Tag=b&empty="
        );
        assert_eq!(http.headers["x-tag"], "a,b", "lower-cased, values joined");
        assert_eq!(http.headers["x-empty"], "");
        assert_eq!(http.query["tag"], "a,b");
        assert_eq!(http.query["code"], "k");
        assert!(!http.query.contains_key("empty"), "empty query values are dropped");
        assert_eq!(http.params["id"], "42");
        assert!(http.nullable_headers.is_empty());
        assert_eq!(http.identities.len(), 1);
        // Without RpcHttpBodyOnly a JSON body is parsed, and rawBody is the text.
        assert_eq!(http.body.as_deref().map(text), Some(r#"{"n":1}"#));
        assert!(matches!(
            http.body.as_deref().and_then(|b| b.data.as_ref()),
            Some(Data::Json(_))
        ));
        assert_eq!(http.raw_body.as_deref().map(text), Some(r#"{"n": 1} "#));
    }

    #[test]
    fn rpc_http_follows_the_capabilities() {
        let request = request(
            &[("content-type", "text/plain"), ("content-length", "2"), ("x-empty", "")],
            "empty=&a=1",
            b"hi",
        );
        let azfn = caps(&[
            "UseNullableValueDictionaryForHttp",
            "RpcHttpBodyOnly",
            "RawHttpBodyBytes",
            "IgnoreEmptyValuedRpcHttpHeaders",
        ]);
        let http = rpc_http(&source(request.clone()), &azfn);
        assert!(http.headers.is_empty() && http.query.is_empty() && http.params.is_empty());
        assert_eq!(http.nullable_query["empty"].value(), Some(""), "empty values kept");
        assert_eq!(http.nullable_params["id"].value(), Some("42"));
        assert!(!http.nullable_headers.contains_key("x-empty"));
        assert_eq!(
            http.body.as_deref().and_then(|b| b.data.clone()),
            Some(Data::Bytes(b"hi".to_vec()))
        );
        assert!(http.raw_body.is_none(), "body only");

        let text_only = rpc_http(&source(request), &caps(&["RpcHttpBodyOnly"]));
        assert_eq!(text_only.body.as_deref().map(text), Some("hi"));
    }

    #[test]
    fn bodies_need_a_length_and_binary_types_go_as_bytes() {
        let chunked = request(&[("content-type", "text/plain")], "", b"hi");
        assert!(rpc_http(&source(chunked), &Capabilities::default()).body.is_none());
        let binary = request(
            &[("content-type", "application/octet-stream"), ("content-length", "2")],
            "",
            b"\xff\x00",
        );
        let http = rpc_http(&source(binary), &caps(&["RpcHttpBodyOnly"]));
        assert_eq!(
            http.body.as_deref().and_then(|b| b.data.clone()),
            Some(Data::Bytes(vec![0xff, 0]))
        );
    }

    #[test]
    fn custom_handler_values_become_typed_data() {
        let binary = Binding {
            kind: "queueTrigger".into(),
            direction: Direction::In,
            name: "m".into(),
            data_type: Some("binary".into()),
            properties: Map::new(),
        };
        let data = |binding: Option<&Binding>, value: Value| typed_value(binding, &value).data;
        assert_eq!(data(None, json!("\"aaaaa\"")), Some(Data::String("aaaaa".into())));
        assert_eq!(data(None, json!("1")), Some(Data::Json("1".into())));
        assert_eq!(data(None, json!({"a": 1})), Some(Data::Json(r#"{"a":1}"#.into())));
        assert_eq!(data(None, Value::Null), None);
        assert_eq!(data(Some(&binary), json!("aGk=")), Some(Data::Bytes(b"hi".to_vec())));
    }

    #[test]
    fn deferred_blob_bindings_get_references() {
        let reference = |request: &InvocationRequest, i: usize| match &request.input_data[i].rpc_data {
            Some(RpcData::Data(TypedData {
                data: Some(Data::ModelBindingData(m)),
            })) => Some((
                m.source.clone(),
                m.content_type.clone(),
                String::from_utf8(m.content.clone()).unwrap(),
            )),
            _ => None,
        };
        let deferred = json!({"SupportsDeferredBinding": "True"});
        let blob = function(json!([
            {"type": "blobTrigger", "direction": "in", "name": "b", "path": "in/{name}", "connection": "Uploads",
             "properties": deferred},
            {"type": "blob", "direction": "in", "name": "side", "path": "side", "properties": deferred},
        ]));
        let mut payload = payload::blob_invocation(&blob, "hi");
        payload.binding_data.insert("BlobTrigger".into(), json!("in/a b.txt"));
        let request = invocation_request(&blob, "f", "i", &payload, &Capabilities::default());
        assert_eq!(
            reference(&request, 0),
            Some((
                "AzureStorageBlobs".to_owned(),
                "application/json".to_owned(),
                r#"{"Connection":"Uploads","ContainerName":"in","BlobName":"a b.txt"}"#.to_owned()
            ))
        );
        assert_eq!(
            reference(&request, 1).unwrap().2,
            r#"{"Connection":null,"ContainerName":"side","BlobName":""}"#
        );

        // An output with an expression: the host skips deferred binding for the trigger.
        let skipped = function(json!([
            {"type": "blobTrigger", "direction": "in", "name": "b", "path": "in/{name}", "properties": deferred},
            {"type": "blob", "direction": "out", "name": "$return", "path": "out/{name}"},
        ]));
        let request = invocation_request(&skipped, "f", "i", &payload, &Capabilities::default());
        assert_eq!(reference(&request, 0), None);
        assert!(supports_deferred_binding(&skipped.bindings[0]));
        assert!(!supports_deferred_binding(&skipped.bindings[1]));
    }

    #[test]
    fn invocation_requests_of_each_kind() {
        let queue = function(json!([
            {"type": "queueTrigger", "direction": "in", "name": "order", "queueName": "orders"},
            {"type": "blob", "direction": "in", "name": "extra", "path": "x/y"},
            {"type": "queue", "direction": "out", "name": "$return", "queueName": "shipping"}
        ]));
        let payload = payload::queue_invocation(&queue, r#"{"id": 1}"#);
        let request = invocation_request(&queue, "fid", "iid", &payload, &Capabilities::default());
        assert_eq!(
            (request.function_id.as_str(), request.invocation_id.as_str()),
            ("fid", "iid")
        );
        let names: Vec<&str> = request.input_data.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["order", "extra"], "the trigger first");
        assert_eq!(
            request.input_data[0].rpc_data,
            Some(RpcData::Data(typed(Data::String(r#"{"id": 1}"#.into()))))
        );
        assert_eq!(request.input_data[1].rpc_data, Some(RpcData::Data(null())));
        let metadata = &request.trigger_metadata;
        assert_eq!(metadata["DequeueCount"].data, Some(Data::Json("1".into())));
        assert!(matches!(&metadata["Id"].data, Some(Data::String(id)) if id.len() == 36));
        assert!(matches!(&metadata["InsertionTime"].data, Some(Data::Json(t)) if t.starts_with('"')));
        assert!(!metadata.contains_key("sys"), "sys is never sent");
        let trace = request.trace_context.unwrap().trace_parent;
        assert_eq!(trace.len(), 55, "{trace}");

        let timer =
            function(json!([{"type": "timerTrigger", "direction": "in", "name": "t", "schedule": "0 0 * * * *"}]));
        let request = invocation_request(
            &timer,
            "t",
            "i",
            &payload::timer_invocation(&timer),
            &Capabilities::default(),
        );
        assert!(
            matches!(&request.input_data[0].rpc_data, Some(RpcData::Data(TypedData { data: Some(Data::Json(t)) })) if t.contains("IsPastDue"))
        );

        let http = function(json!([
            {"type": "httpTrigger", "direction": "in", "name": "req", "route": "orders/{id}"},
            {"type": "http", "direction": "out", "name": "$return"}
        ]));
        let incoming = self::request(&[("content-length", "0")], "n=1", b"");
        let payload = payload::http_invocation(&http, &incoming, &[("id".into(), "42".into())]);
        let plain = invocation_request(&http, "h", "i", &payload, &Capabilities::default());
        assert!(
            matches!(&plain.input_data[0].rpc_data, Some(RpcData::Data(TypedData { data: Some(Data::Http(h)) })) if h.params["id"] == "42")
        );
        assert_eq!(plain.trigger_metadata["id"].data, Some(Data::String("42".into())));
        assert_eq!(plain.trigger_metadata["n"].data, Some(Data::String("1".into())));
        assert!(matches!(&plain.trigger_metadata["Query"].data, Some(Data::Json(q)) if q == r#"{"n":"1"}"#));
        assert!(plain.trigger_metadata.contains_key("$request") && plain.trigger_metadata.contains_key("req"));
        let removed = invocation_request(&http, "h", "i", &payload, &caps(&["RpcHttpTriggerMetadataRemoved"]));
        assert!(!removed.trigger_metadata.contains_key("$request"));
    }

    #[test]
    fn responses_become_results() {
        let f = function(json!([
            {"type": "httpTrigger", "direction": "in", "name": "req"},
            {"type": "http", "direction": "out", "name": "res"},
            {"type": "queue", "direction": "out", "name": "orders", "queueName": "orders"}
        ]));
        let response = RpcHttp {
            status_code: "202".into(),
            headers: BTreeMap::from([("X-A".to_owned(), "1".to_owned())]),
            body: Some(Box::new(typed(Data::Json(r#"{"accepted":2}"#.into())))),
            ..RpcHttp::default()
        };
        let read = read_response(
            &f,
            success(
                vec![
                    ("res", typed(Data::Http(Box::new(response)))),
                    ("orders", typed(Data::Json(r#"[{"id":1},null,{"id":2}]"#.into()))),
                ],
                None,
            ),
            vec!["a log".into()],
        )
        .unwrap();
        let reply = read.http.unwrap();
        assert_eq!(reply.status, 202);
        assert_eq!(reply.body, br#"{"accepted":2}"#);
        assert!(reply.headers.contains(&("X-A".into(), "1".into())));
        assert!(
            reply
                .headers
                .contains(&("Content-Type".into(), "application/json; charset=utf-8".into()))
        );
        let messages: Vec<String> = read.messages.iter().map(|m| m.value.display()).collect();
        assert_eq!(messages, [r#"{"id":1}"#, r#"{"id":2}"#], "one message per element");
        assert_eq!(read.logs, ["a log"]);
    }

    #[test]
    fn return_values_and_http_rules() {
        let http_return = function(json!([
            {"type": "httpTrigger", "direction": "in", "name": "req"},
            {"type": "http", "direction": "out", "name": "$return"}
        ]));
        let read = |value: TypedData| read_response(&http_return, success(vec![], Some(value)), vec![]);
        let text = read(typed(Data::String("Hello, x!".into()))).unwrap().http.unwrap();
        assert_eq!((text.status, text.body.as_slice()), (200, &b"Hello, x!"[..]));
        let not_base64 = read(typed(Data::String("dGVzdA==".into()))).unwrap().http.unwrap();
        assert_eq!(not_base64.body, b"dGVzdA==", "no base64 quirk over gRPC");
        let bodiless = RpcHttp {
            status_code: "500".into(),
            ..RpcHttp::default()
        };
        let bodiless = read(typed(Data::Http(Box::new(bodiless)))).unwrap().http.unwrap();
        assert_eq!(bodiless.status, 200, "status counts only with a body");
        let bad = RpcHttp {
            status_code: "abc".into(),
            body: Some(Box::new(typed(Data::String(String::new())))),
            ..RpcHttp::default()
        };
        assert!(read(typed(Data::Http(Box::new(bad)))).is_err());
        assert_eq!(read(null()).unwrap().http.unwrap().status, 204);

        let queue_spread = function(json!([
            {"type": "queueTrigger", "direction": "in", "name": "m"},
            {"type": "queue", "direction": "out", "name": "out", "queueName": "q"}
        ]));
        let spread = read_response(
            &queue_spread,
            success(vec![], Some(typed(Data::Json(r#"{"out":"x"}"#.into())))),
            vec![],
        )
        .unwrap();
        assert_eq!(spread.messages[0].value.display(), "x");
        let collection = success(
            vec![(
                "out",
                typed(Data::CollectionString(azfn_wire::rpc::CollectionString {
                    string: vec!["a".into()],
                })),
            )],
            None,
        );
        assert!(read_response(&queue_spread, collection, vec![]).is_err());
    }

    #[test]
    fn failures_carry_the_exception() {
        let f = function(json!([{"type": "queueTrigger", "direction": "in", "name": "m"}]));
        let mut response = success(vec![], None);
        response.result = Some(StatusResult {
            status: Status::Failure as i32,
            exception: Some(RpcException {
                message: "order 4 has no items".into(),
                ..RpcException::default()
            }),
            ..StatusResult::default()
        });
        let error = read_response(&f, response.clone(), vec![]).unwrap_err();
        assert!(error.contains("failed: order 4 has no items"), "{error}");
        response.result = Some(StatusResult {
            status: Status::Cancelled as i32,
            ..StatusResult::default()
        });
        assert!(read_response(&f, response, vec![]).unwrap_err().contains("cancelled"));
    }

    #[test]
    fn indexed_functions_are_validated_and_loaded() {
        let metadata = RpcFunctionMetadata {
            name: "greet".into(),
            function_id: "id-1".into(),
            raw_bindings: vec![
                r#"{"name":"req","type":"httpTrigger","direction":"in","route":"greet/{name:alpha}","methods":["get"]}"#.into(),
                r#"{"name":"$return","type":"http","direction":"out"}"#.into(),
            ],
            ..RpcFunctionMetadata::default()
        };
        let function = function_from_metadata(&metadata, &BTreeMap::new()).unwrap();
        assert_eq!(function.name, "greet");
        assert!(matches!(&function.trigger, crate::app::Trigger::Http(h) if h.route_text == "greet/{name:alpha}"));
        let load = load_request(&metadata, &function);
        assert_eq!(load.function_id, "id-1");
        let loaded = load.metadata.unwrap();
        assert_eq!(loaded.bindings["req"].r#type, "httpTrigger");
        assert_eq!(
            loaded.bindings["$return"].direction,
            binding_info::Direction::Out as i32
        );
        assert!(loaded.raw_bindings.is_empty());

        let mut bad = metadata.clone();
        bad.name = "1st".into();
        assert!(function_from_metadata(&bad, &BTreeMap::new()).is_err());
        let mut dup = metadata.clone();
        dup.raw_bindings
            .push(r#"{"name":"REQ","type":"blob","direction":"in"}"#.into());
        assert!(function_from_metadata(&dup, &BTreeMap::new()).is_err());
        let mut no_id = metadata;
        no_id.function_id.clear();
        assert!(function_from_metadata(&no_id, &BTreeMap::new()).is_err());
        assert!(!valid_function_name("host") && valid_function_name("a-b_c1"));
    }
}
