//! SignalR Service: the invocation context of a trigger, connection info, and messages.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What a `signalr_trigger` function receives: who called which hub method with what.
///
/// ```
/// use azfn::SignalRInvocationContext;
/// let context: SignalRInvocationContext = azfn::BindingData::Text(r#"{
///     "Arguments": ["hello"], "Error": null, "Category": "messages", "Event": "send",
///     "Hub": "chat", "ConnectionId": "c1", "UserId": "u1",
///     "Headers": {"x-trace": "t"}, "Query": {}, "Claims": {"name": "ana"}
/// }"#.into()).decode().unwrap();
/// assert_eq!(context.event, "send");
/// assert_eq!(context.arguments[0], "hello");
/// ```
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SignalRInvocationContext {
    /// The arguments of the hub method (category `messages`).
    pub arguments: Vec<Value>,
    /// The error of a `disconnected` event.
    pub error: Option<String>,
    /// `connections` or `messages`.
    pub category: String,
    /// `connected`, `disconnected`, or the hub method.
    pub event: String,
    /// The hub.
    pub hub: String,
    /// The client's connection.
    pub connection_id: String,
    /// The client's user id.
    pub user_id: Option<String>,
    /// The client's request headers.
    pub headers: Map<String, Value>,
    /// The client's query parameters.
    pub query: Map<String, Value>,
    /// The client's claims.
    pub claims: Map<String, Value>,
}

/// What `signalr_connection_info_input` gives a client to connect with.
///
/// ```
/// let info: azfn::SignalRConnectionInfo = azfn::BindingData::Text(
///     r#"{"url": "https://x.service.signalr.net/client/?hub=chat", "accessToken": "eyJ"}"#.into(),
/// ).decode().unwrap();
/// assert_eq!(info.access_token, "eyJ");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SignalRConnectionInfo {
    /// The client endpoint.
    pub url: String,
    /// The access token.
    pub access_token: String,
}

/// A message `signalr_output` sends to clients (all of them, a user, a group or a connection).
///
/// ```
/// let message = azfn::SignalRMessage::new("newMessage", vec![serde_json::json!("hi")]);
/// assert_eq!(serde_json::to_value(&message).unwrap(),
///     serde_json::json!({"target": "newMessage", "arguments": ["hi"]}));
/// ```
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignalRMessage {
    /// The client method to call.
    pub target: String,
    /// Its arguments.
    pub arguments: Vec<Value>,
    /// Only this user.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub user_id: Option<String>,
    /// Only this group.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub group_name: Option<String>,
    /// Only this connection.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub connection_id: Option<String>,
}

impl SignalRMessage {
    /// A message to every client of the hub.
    pub fn new(target: impl Into<String>, arguments: Vec<Value>) -> Self {
        SignalRMessage {
            target: target.into(),
            arguments,
            ..SignalRMessage::default()
        }
    }
}
