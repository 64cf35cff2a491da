//! An invocation's `InvocationResponse`, encoded by hand straight into its frame: each nested
//! length computed once (prost computes a nested message's length again at every level above
//! it), and an HTTP response the function returned encoded from the [`HttpResponse`] itself,
//! its status, headers and body going into the bytes without an `RpcHttp` of owned strings,
//! maps and boxes built first and dropped after. The other parts (outputs, the result, any other
//! return value) are encoded by prost.
//!
//! Fields are written in the order prost writes them, and absent or empty ones left out as it
//! leaves them out, so a decoder reads exactly the message prost's types would hold (the tests
//! check it against `Answer::into_response`).

use bytes::{BufMut, Bytes};
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint, key_len, message};

use super::proto::{InvocationResponse, RpcHttpCookie};
#[cfg(test)]
use super::proto::{StreamingMessage, streaming_message::Content};
use super::typed_data;
use crate::grpc::codec;
use crate::http::HttpResponse;

/// Field numbers of the messages written by hand (`FunctionRpc.proto`).
mod field {
    /// `StreamingMessage.request_id`.
    pub(super) const REQUEST_ID: u32 = 1;
    /// `StreamingMessage.invocation_response`.
    pub(super) const INVOCATION_RESPONSE: u32 = 5;
    /// `InvocationResponse.invocation_id`, `output_data`, `result`, `return_value`.
    pub(super) const INVOCATION_ID: u32 = 1;
    pub(super) const OUTPUT_DATA: u32 = 2;
    pub(super) const RESULT: u32 = 3;
    pub(super) const RETURN_VALUE: u32 = 4;
    /// `TypedData.bytes`, `TypedData.http`.
    pub(super) const BYTES: u32 = 3;
    pub(super) const HTTP: u32 = 5;
    /// `RpcHttp.headers`, `body`, `status_code`, `cookies`.
    pub(super) const HEADERS: u32 = 3;
    pub(super) const BODY: u32 = 4;
    pub(super) const STATUS_CODE: u32 = 12;
    pub(super) const COOKIES: u32 = 19;
    /// A map entry's key and value.
    pub(super) const KEY: u32 = 1;
    pub(super) const VALUE: u32 = 2;
}

/// An invocation's answer: its `InvocationResponse`, with an HTTP return value kept as the
/// function's [`HttpResponse`] until it is encoded.
#[derive(Debug)]
pub(crate) struct Answer {
    /// The response; its `return_value` is unset while `http_return` holds it.
    pub(crate) response: InvocationResponse,
    /// The HTTP response the function returned (`$return`), its body whole.
    pub(crate) http_return: Option<HttpResponse>,
}

impl Answer {
    /// An answer with no HTTP return value kept aside.
    pub(crate) fn of(response: InvocationResponse) -> Self {
        Answer {
            response,
            http_return: None,
        }
    }

    /// The `InvocationResponse` as prost's types hold it.
    #[cfg(test)]
    pub(crate) fn into_response(self) -> InvocationResponse {
        let Answer {
            mut response,
            http_return,
        } = self;
        if let Some(http) = http_return {
            response.return_value = Some(typed_data::output(crate::invocation::OutputValue::Http(http)));
        }
        response
    }

    /// The `StreamingMessage` carrying the response, framed.
    pub(crate) fn framed(&self, request_id: &str) -> Bytes {
        let http = self.http_return.as_ref().map(HttpParts::of);
        let response = &self.response;
        let return_value_length = match (&http, &response.return_value) {
            (Some(http), _) => delimited_len(field::RETURN_VALUE, http.typed_data_length),
            (None, Some(value)) => message::encoded_len(field::RETURN_VALUE, value),
            (None, None) => 0,
        };
        let invocation_response_length = str_len(field::INVOCATION_ID, &response.invocation_id)
            + message::encoded_len_repeated(field::OUTPUT_DATA, &response.output_data)
            + response
                .result
                .as_ref()
                .map_or(0, |result| message::encoded_len(field::RESULT, result))
            + return_value_length;
        let length = str_len(field::REQUEST_ID, request_id)
            + delimited_len(field::INVOCATION_RESPONSE, invocation_response_length);
        codec::frame_with(length, |buffer| {
            put_str(field::REQUEST_ID, request_id, buffer);
            put_delimiter(field::INVOCATION_RESPONSE, invocation_response_length, buffer);
            put_str(field::INVOCATION_ID, &response.invocation_id, buffer);
            message::encode_repeated(field::OUTPUT_DATA, &response.output_data, buffer);
            if let Some(result) = &response.result {
                message::encode(field::RESULT, result, buffer);
            }
            match (&http, &response.return_value) {
                (Some(http), _) => {
                    put_delimiter(field::RETURN_VALUE, http.typed_data_length, buffer);
                    put_delimiter(field::HTTP, http.rpc_http_length, buffer);
                    http.encode(buffer);
                }
                (None, Some(value)) => message::encode(field::RETURN_VALUE, value, buffer),
                (None, None) => {}
            }
        })
    }
}

/// An HTTP response's parts as `RpcHttp` carries them, and the lengths they encode to.
struct HttpParts<'a> {
    response: &'a HttpResponse,
    /// Several `Set-Cookie` headers, which cannot be joined into one value.
    cookies: Vec<RpcHttpCookie>,
    /// The length of the `RpcHttp`, and of the `TypedData` holding it.
    rpc_http_length: usize,
    typed_data_length: usize,
}

impl<'a> HttpParts<'a> {
    fn of(response: &'a HttpResponse) -> Self {
        let mut headers_length = 0;
        let cookies = typed_data::each_response_header(response.headers(), |name, value| {
            headers_length += delimited_len(field::HEADERS, entry_len(name, &value));
        });
        let rpc_http_length = headers_length
            + delimited_len(field::BODY, body_len(response.body()))
            + str_len(field::STATUS_CODE, response.status().as_str())
            + message::encoded_len_repeated(field::COOKIES, &cookies);
        HttpParts {
            response,
            cookies,
            rpc_http_length,
            typed_data_length: delimited_len(field::HTTP, rpc_http_length),
        }
    }

    /// The `RpcHttp`'s fields, in prost's order: `headers`, `body`, `status_code`, `cookies`.
    fn encode(&self, buffer: &mut Vec<u8>) {
        typed_data::each_response_header(self.response.headers(), |name, value| {
            put_delimiter(field::HEADERS, entry_len(name, &value), buffer);
            put_str(field::KEY, name, buffer);
            put_str(field::VALUE, &value, buffer);
        });
        let body = self.response.body();
        put_delimiter(field::BODY, body_len(body), buffer);
        // A oneof's field is written even when empty.
        put_delimiter(field::BYTES, body.len(), buffer);
        buffer.put_slice(body);
        put_str(field::STATUS_CODE, self.response.status().as_str(), buffer);
        message::encode_repeated(field::COOKIES, &self.cookies, buffer);
    }
}

/// The length of a `map<string, string>` entry (an empty key or value is left out).
fn entry_len(name: &str, value: &str) -> usize {
    str_len(field::KEY, name) + str_len(field::VALUE, value)
}

/// The length of `TypedData { bytes: body }`.
fn body_len(body: &[u8]) -> usize {
    key_len(field::BYTES) + encoded_len_varint(body.len() as u64) + body.len()
}

/// The length of a length-delimited field holding `length` bytes.
fn delimited_len(tag: u32, length: usize) -> usize {
    key_len(tag) + encoded_len_varint(length as u64) + length
}

/// A length-delimited field's key and length.
fn put_delimiter(tag: u32, length: usize, buffer: &mut Vec<u8>) {
    encode_key(tag, WireType::LengthDelimited, buffer);
    encode_varint(length as u64, buffer);
}

/// The length of a `string` field; an empty one is left out.
fn str_len(tag: u32, text: &str) -> usize {
    if text.is_empty() {
        0
    } else {
        delimited_len(tag, text.len())
    }
}

/// A `string` field; an empty one is left out.
fn put_str(tag: u32, text: &str, buffer: &mut Vec<u8>) {
    if !text.is_empty() {
        put_delimiter(tag, text.len(), buffer);
        buffer.put_slice(text.as_bytes());
    }
}

/// The prost encoding of `response` as a frame, for the tests to compare with.
#[cfg(test)]
fn framed_by_prost(request_id: &str, response: InvocationResponse) -> Bytes {
    codec::encode(&StreamingMessage {
        request_id: request_id.to_owned(),
        content: Some(Content::InvocationResponse(response)),
    })
}

#[cfg(test)]
mod tests {
    use http::StatusCode;

    use prost::Message as _;

    use super::*;
    use crate::native::proto::{ParameterBinding, TypedData, parameter_binding::RpcData, typed_data::Data};
    use crate::native::responses::{failure, success, worker_exception};

    fn decoded(frame: &Bytes) -> StreamingMessage {
        let mut decoder = codec::FrameDecoder::new(usize::MAX);
        decoder.push(frame);
        let message = decoder.next_message().expect("a whole frame").expect("one frame");
        assert!(
            decoder.next_message().expect("nothing broken").is_none(),
            "one frame only"
        );
        StreamingMessage::decode(message).expect("a StreamingMessage")
    }

    fn answers() -> Vec<(HttpResponse, InvocationResponse)> {
        let responses = [
            HttpResponse::ok().text("Hello, x!"),
            HttpResponse::new(StatusCode::NO_CONTENT),
            HttpResponse::new(StatusCode::CREATED)
                .header("Location", "/api/orders/7")
                .header("x-empty", "")
                .append_header("vary", "accept")
                .append_header("vary", "origin")
                .json(&serde_json::json!({"id": 7})),
            HttpResponse::ok()
                .append_header("set-cookie", "a=1; Path=/; HttpOnly")
                .append_header("set-cookie", "b=2; Max-Age=60; SameSite=Lax")
                .bytes(vec![0u8, 159, 146, 150]),
            HttpResponse::ok().bytes(vec![7u8; 300]),
        ];
        let outputs = vec![ParameterBinding {
            name: "outMsg".into(),
            rpc_data: Some(RpcData::Data(TypedData {
                data: Some(Data::String("queued".into())),
            })),
        }];
        let mut answers = Vec::new();
        for (index, http) in responses.into_iter().enumerate() {
            let response = InvocationResponse {
                invocation_id: if index == 1 {
                    String::new()
                } else {
                    format!("inv-{index}")
                },
                output_data: if index == 2 { outputs.clone() } else { Vec::new() },
                result: if index == 3 {
                    Some(failure(worker_exception("Kind", "why")))
                } else {
                    Some(success())
                },
                return_value: None,
            };
            answers.push((http, response));
        }
        answers
    }

    #[test]
    fn an_http_return_value_encodes_to_the_message_prost_would_build() {
        for (http, response) in answers() {
            for request_id in ["", "req-1"] {
                let answer = Answer {
                    response: response.clone(),
                    http_return: Some(http.clone()),
                };
                let expected = Answer {
                    response: response.clone(),
                    http_return: Some(http.clone()),
                }
                .into_response();
                let by_hand = answer.framed(request_id);
                let message = decoded(&by_hand);
                assert_eq!(message.request_id, request_id);
                assert_eq!(message.content, Some(Content::InvocationResponse(expected.clone())));
                assert!(expected.return_value.is_some());
                // The same bytes as prost's when the headers are already in name order.
                if http
                    .headers()
                    .keys()
                    .zip(http.headers().keys().skip(1))
                    .all(|(a, b)| a.as_str() <= b.as_str())
                {
                    assert_eq!(by_hand, framed_by_prost(request_id, expected), "{http:?}");
                }
            }
        }
    }

    #[test]
    fn answers_without_an_http_return_value_are_the_bytes_prost_writes() {
        for (_, response) in answers() {
            for return_value in [
                None,
                Some(TypedData {
                    data: Some(Data::Json("[1]".into())),
                }),
            ] {
                let answer = Answer::of(InvocationResponse {
                    return_value,
                    ..response.clone()
                });
                for request_id in ["", "r"] {
                    let expected = framed_by_prost(request_id, answer.response.clone());
                    assert_eq!(answer.framed(request_id), expected);
                }
            }
        }
    }
}
