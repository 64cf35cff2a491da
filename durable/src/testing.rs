//! Testing Durable Functions: the host's side of the trigger encodings, and [`MockSidecar`], a
//! mock of the Durable extension's gRPC endpoint for HTTP starters and other client code.
//!
//! The orchestrator and entity functions speak base64 of protobuf messages; these helpers are
//! the inverse of [`orchestration::decode_request`](crate::orchestration::decode_request) /
//! [`orchestration::encode_response`](crate::orchestration::encode_response) and
//! [`entity::decode_batch_request`](crate::entity::decode_batch_request) /
//! [`entity::encode_batch_result`](crate::entity::encode_batch_result): what the extension
//! sends, and how it reads the answer. The [driver](crate::driver) and `azfn::testing::Trigger`
//! use them, so a test's invocation is byte for byte what the host would send.
//!
//! ```
//! use azfn::durable::proto::{EntityBatchRequest, EntityBatchResult};
//! use azfn::durable::testing::{decode_entity_batch_result, encode_entity_batch_request};
//!
//! let request = EntityBatchRequest { instance_id: "@counter@a".into(), ..Default::default() };
//! let wire = encode_entity_batch_request(&request);
//! assert_eq!(azfn::durable::entity::decode_batch_request(&wire).unwrap(), request);
//! let result = EntityBatchResult { entity_state: Some("1".into()), ..Default::default() };
//! let text = azfn::durable::entity::encode_batch_result(&result);
//! assert_eq!(decode_entity_batch_result(&text).unwrap(), result);
//! ```

use base64::Engine as _;
use prost::Message;

use crate::proto::{EntityBatchRequest, EntityBatchResult, OrchestratorRequest, OrchestratorResponse};
use azfn_core::Error;

// The crate's hyper already has its server half (the workspace enables it), so the mock costs
// users no extra dependency.
#[path = "testing_sidecar.rs"]
mod sidecar;
pub use sidecar::{MockSidecar, MockSidecarBuilder, SidecarCall, SidecarReply};

/// The orchestration trigger's value for `request`, as the extension sends it: base64
/// (standard alphabet) of the protobuf bytes.
///
/// ```
/// use azfn::durable::proto::OrchestratorRequest;
/// let text = azfn::durable::testing::encode_orchestrator_request(&OrchestratorRequest { instance_id: "i1".into(), ..Default::default() });
/// assert_eq!(text, "CgJpMQ==");
/// ```
pub fn encode_orchestrator_request(request: &OrchestratorRequest) -> String {
    base64::engine::general_purpose::STANDARD.encode(request.encode_to_vec())
}

/// Reads an orchestrator function's return value (base64 of an [`OrchestratorResponse`]) as the
/// extension does.
///
/// ```
/// use azfn::durable::proto::OrchestratorResponse;
/// let response = azfn::durable::testing::decode_orchestrator_response("CgJpMQ==").unwrap();
/// assert_eq!(response, OrchestratorResponse { instance_id: "i1".into(), ..Default::default() });
/// assert!(azfn::durable::testing::decode_orchestrator_response("?").is_err());
/// ```
pub fn decode_orchestrator_response(text: &str) -> Result<OrchestratorResponse, Error> {
    decode_base64_message(text, "orchestrator response", "OrchestratorResponse")
}

/// The entity trigger's value for `request`, as the extension sends it: base64 (standard
/// alphabet) of the protobuf bytes.
pub fn encode_entity_batch_request(request: &EntityBatchRequest) -> String {
    base64::engine::general_purpose::STANDARD.encode(request.encode_to_vec())
}

/// Reads an entity function's return value (base64 of an [`EntityBatchResult`]) as the
/// extension does.
pub fn decode_entity_batch_result(text: &str) -> Result<EntityBatchResult, Error> {
    decode_base64_message(text, "entity batch result", "EntityBatchResult")
}

fn decode_base64_message<M: Message + Default>(text: &str, what: &str, message: &str) -> Result<M, Error> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| Error::msg(format!("the {what} is not base64 (standard alphabet, padded): {e}")))?;
    M::decode(bytes.as_slice()).map_err(|e| Error::msg(format!("the {what} is not a protobuf {message}: {e}")))
}
