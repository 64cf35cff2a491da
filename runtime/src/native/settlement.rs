//! Service Bus settlement over the connection to the host: the [`MessageSettler`] this transport
//! attaches to every Service Bus invocation.
//!
//! The host's Service Bus extension serves its `Settlement` gRPC service on the same endpoint as
//! `EventStream` (as the .NET isolated worker's extension calls it, through the channel it
//! already has), so each settlement is one unary call on the worker's HTTP/2 connection:
//! `/Settlement/<Method>`, the request message of `settlement.proto`, `google.protobuf.Empty`
//! back. A `grpc-status` other than 0 is the host's refusal, returned as
//! [`SettlementError::Status`] for the function to handle.

use std::time::{SystemTime, UNIX_EPOCH};

use azfn_wire::settlement::{
    ABANDON_PATH, AbandonRequest, COMPLETE_PATH, CompleteRequest, DEADLETTER_PATH, DEFER_PATH, DeadletterRequest,
    DeferRequest, RENEW_MESSAGE_LOCK_PATH, RenewMessageLockRequest, amqp,
};
use azfn_wire::wkt::StringValue;

use super::stream::{HostConnection, UnaryError};
use crate::triggers::servicebus::settlement::{
    MessagePropertyValue, MessageSettler, PropertiesToModify, SettleFuture, SettlementError, SettlementOperation,
    SettlementRequest,
};

/// Settles messages through the host's `Settlement` service.
#[derive(Debug, Clone)]
pub(crate) struct HostSettler {
    host: HostConnection,
}

impl HostSettler {
    /// A settler calling the host over `host`.
    pub(crate) fn new(host: HostConnection) -> Self {
        HostSettler { host }
    }

    async fn call(&self, request: SettlementRequest) -> Result<(), SettlementError> {
        let SettlementRequest { lock_token, operation } = request;
        let answer = match operation {
            SettlementOperation::Complete => {
                let message = CompleteRequest { locktoken: lock_token };
                self.host.unary(COMPLETE_PATH, &message).await
            }
            SettlementOperation::Abandon { properties } => {
                let message = AbandonRequest {
                    locktoken: lock_token,
                    properties_to_modify: encode_properties(&properties)?,
                };
                self.host.unary(ABANDON_PATH, &message).await
            }
            SettlementOperation::DeadLetter {
                properties,
                reason,
                description,
            } => {
                let message = DeadletterRequest {
                    locktoken: lock_token,
                    properties_to_modify: encode_properties(&properties)?,
                    deadletter_reason: reason.map(|value| StringValue { value }),
                    deadletter_error_description: description.map(|value| StringValue { value }),
                };
                self.host.unary(DEADLETTER_PATH, &message).await
            }
            SettlementOperation::Defer { properties } => {
                let message = DeferRequest {
                    locktoken: lock_token,
                    properties_to_modify: encode_properties(&properties)?,
                };
                self.host.unary(DEFER_PATH, &message).await
            }
            SettlementOperation::RenewLock => {
                let message = RenewMessageLockRequest { locktoken: lock_token };
                self.host.unary(RENEW_MESSAGE_LOCK_PATH, &message).await
            }
            // The core's enum is non-exhaustive; every operation it has today is above.
            other => {
                return Err(SettlementError::Transport(format!(
                    "{other:?} is not an operation of the host's settlement service"
                )));
            }
        };
        // The answer is `google.protobuf.Empty`: nothing in it to read.
        answer.map(drop).map_err(|error| match error {
            UnaryError::Status(status) => SettlementError::Status {
                code: status.code,
                message: status.message,
            },
            UnaryError::Transport(why) => SettlementError::Transport(why),
        })
    }
}

impl MessageSettler for HostSettler {
    fn settle(&self, request: SettlementRequest) -> SettleFuture<'_> {
        Box::pin(self.call(request))
    }
}

/// `propertiesToModify`: nothing for no properties (the host then passes none to Service Bus, as
/// for .NET's `null`), else the AMQP map of them.
fn encode_properties(properties: &PropertiesToModify) -> Result<Vec<u8>, SettlementError> {
    if properties.is_empty() {
        return Ok(Vec::new());
    }
    let entries = properties.iter().map(|(key, value)| (key, amqp_value(value)));
    amqp::encode_map(entries).map_err(|e| SettlementError::Transport(e.to_string()))
}

fn amqp_value(value: &MessagePropertyValue) -> amqp::Value<'_> {
    match value {
        MessagePropertyValue::String(text) => amqp::Value::String(text),
        MessagePropertyValue::Bool(b) => amqp::Value::Bool(*b),
        MessagePropertyValue::Int(n) => amqp::Value::Int(*n),
        MessagePropertyValue::Long(n) => amqp::Value::Long(*n),
        MessagePropertyValue::UInt(n) => amqp::Value::UInt(*n),
        MessagePropertyValue::ULong(n) => amqp::Value::ULong(*n),
        MessagePropertyValue::Double(x) => amqp::Value::Double(*x),
        MessagePropertyValue::Timestamp(time) => amqp::Value::Timestamp(unix_millis(*time)),
    }
}

/// Milliseconds since the Unix epoch, negative before it (saturating far outside AMQP's range).
fn unix_millis(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn no_properties_are_no_bytes_and_some_are_an_amqp_map() {
        assert_eq!(encode_properties(&PropertiesToModify::new()), Ok(Vec::new()));
        let bytes = encode_properties(&PropertiesToModify::new().set("n", 1)).expect("encodes");
        assert_eq!(
            bytes,
            [0xd1, 0, 0, 0, 15, 0, 0, 0, 2, 0xb1, 0, 0, 0, 1, b'n', 0x71, 0, 0, 0, 1]
        );
    }

    #[test]
    fn timestamps_are_milliseconds_either_side_of_the_epoch() {
        assert_eq!(unix_millis(UNIX_EPOCH + Duration::from_millis(1_500)), 1_500);
        assert_eq!(unix_millis(UNIX_EPOCH - Duration::from_millis(2_000)), -2_000);
    }
}
