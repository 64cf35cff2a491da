//! Worker indexing: the functions described to the host (`FunctionMetadataResponse`), built from
//! the same static descriptions and the same JSON functions that write `function.json`, so the
//! two transports can never describe a function differently.

use std::time::Duration;

use serde_json::Value;

use super::proto::{
    self, BindingInfo, FunctionMetadataResponse, RpcFunctionMetadata, RpcRetryOptions, binding_info,
    rpc_retry_options::RetryStrategy,
};
use super::responses::success;
use crate::function::{FunctionDescription, Registry, RetryPolicy};
use crate::manifest;

/// Every function of `registry`.
pub(crate) fn metadata_response(registry: &Registry, function_app_directory: &str) -> FunctionMetadataResponse {
    FunctionMetadataResponse {
        function_metadata_results: registry
            .functions()
            .map(|function| function_metadata(function, function_app_directory))
            .collect(),
        result: Some(success()),
        use_default_metadata_indexing: false,
    }
}

/// The id the host uses for `function` in loads and invocations: its name, which the registry
/// keeps unique (case-insensitively, as the host compares names).
pub(crate) fn function_id(function: &FunctionDescription) -> String {
    function.name.to_owned()
}

/// One function: `raw_bindings` are the objects of its `function.json`, as JSON text; the
/// `bindings` map says the same in `BindingInfo` form; the retry policy is the one
/// `function.json` would carry.
pub(crate) fn function_metadata(function: &FunctionDescription, function_app_directory: &str) -> RpcFunctionMetadata {
    let binding_objects: Vec<Value> = function.all_bindings().map(manifest::binding_json).collect();
    RpcFunctionMetadata {
        name: function.name.to_owned(),
        function_id: function_id(function),
        directory: function_app_directory.to_owned(),
        script_file: function.location.0.to_owned(),
        entry_point: function.rust_path.to_owned(),
        language: "rust".to_owned(),
        raw_bindings: binding_objects.iter().map(Value::to_string).collect(),
        bindings: binding_objects.iter().filter_map(binding_info).collect(),
        retry_options: function.retry.map(retry_options),
        ..RpcFunctionMetadata::default()
    }
}

/// A `function.json` binding object as `(name, BindingInfo)`.
fn binding_info(binding: &Value) -> Option<(String, BindingInfo)> {
    let text = |key: &str| binding.get(key).and_then(Value::as_str);
    let direction = match text("direction")? {
        "out" => binding_info::Direction::Out,
        "inout" => binding_info::Direction::Inout,
        _ => binding_info::Direction::In,
    };
    let data_type = match text("dataType") {
        Some("string") => binding_info::DataType::String,
        Some("binary") => binding_info::DataType::Binary,
        Some("stream") => binding_info::DataType::Stream,
        _ => binding_info::DataType::Undefined,
    };
    let info = BindingInfo {
        r#type: text("type")?.to_owned(),
        direction: direction as i32,
        data_type: data_type as i32,
        ..BindingInfo::default()
    };
    Some((text("name")?.to_owned(), info))
}

fn retry_options(policy: RetryPolicy) -> RpcRetryOptions {
    let interval = |text: &str| Some(proto::Duration::from_std(parse_time_span(text).unwrap_or_default()));
    match policy {
        RetryPolicy::FixedDelay {
            max_retry_count,
            delay_interval,
        } => RpcRetryOptions {
            max_retry_count,
            delay_interval: interval(delay_interval),
            retry_strategy: RetryStrategy::FixedDelay as i32,
            ..RpcRetryOptions::default()
        },
        RetryPolicy::ExponentialBackoff {
            max_retry_count,
            minimum_interval,
            maximum_interval,
        } => RpcRetryOptions {
            max_retry_count,
            minimum_interval: interval(minimum_interval),
            maximum_interval: interval(maximum_interval),
            retry_strategy: RetryStrategy::ExponentialBackoff as i32,
            ..RpcRetryOptions::default()
        },
    }
}

/// A .NET `TimeSpan` as `function.json` writes it (`hh:mm:ss`, `d.hh:mm:ss`, fractions).
fn parse_time_span(text: &str) -> Option<Duration> {
    azfn_bindings::schedule::parse_time_span(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use azfn_bindings::{BindingDescription, DataType, PropertyValue, catalog};

    use crate::function::InvokeFuture;
    use crate::invocation::{Invocation, Outputs};

    fn never_called(_: Invocation) -> InvokeFuture {
        Box::pin(async { Ok(Outputs::default()) })
    }

    static BINDINGS: [BindingDescription; 2] = [
        BindingDescription {
            kind: &catalog::QUEUE_TRIGGER,
            name: "order",
            data_type: Some(DataType::Binary),
            properties: &[("queueName", PropertyValue::Str("orders"))],
        },
        BindingDescription {
            kind: &catalog::QUEUE_OUTPUT,
            name: "$return",
            data_type: None,
            properties: &[("queueName", PropertyValue::Str("done"))],
        },
    ];

    static FUNCTION: FunctionDescription = FunctionDescription {
        name: "ship",
        rust_path: "app::ship",
        location: ("src/main.rs", 3),
        bindings: &BINDINGS,
        return_bindings: &[],
        retry: Some(RetryPolicy::ExponentialBackoff {
            max_retry_count: 5,
            minimum_interval: "00:00:04",
            maximum_interval: "1.00:15:00.5",
        }),
        streams_request_body: false,
        invoke: never_called,
    };

    #[test]
    fn raw_bindings_are_the_function_json_bindings() {
        let metadata = function_metadata(&FUNCTION, "/home/site/wwwroot");
        let raw: Vec<Value> = metadata
            .raw_bindings
            .iter()
            .map(|text| serde_json::from_str(text).expect("JSON"))
            .collect();
        assert_eq!(Value::from(raw), manifest::function_json(&FUNCTION)["bindings"]);
        assert_eq!(
            (metadata.name.as_str(), metadata.function_id.as_str()),
            ("ship", "ship")
        );
        assert_eq!(metadata.entry_point, "app::ship");
        let order = &metadata.bindings["order"];
        assert_eq!(order.r#type, "queueTrigger");
        assert_eq!(order.direction, binding_info::Direction::In as i32);
        assert_eq!(order.data_type, binding_info::DataType::Binary as i32);
        assert_eq!(
            metadata.bindings["$return"].direction,
            binding_info::Direction::Out as i32
        );
    }

    #[test]
    fn retry_policies_become_retry_options() {
        let options = function_metadata(&FUNCTION, "").retry_options.expect("retry");
        assert_eq!(options.max_retry_count, 5);
        assert_eq!(options.retry_strategy, RetryStrategy::ExponentialBackoff as i32);
        assert_eq!(options.minimum_interval, Some(proto::Duration { seconds: 4, nanos: 0 }));
        assert_eq!(
            options.maximum_interval,
            Some(proto::Duration {
                seconds: 86_400 + 900,
                nanos: 500_000_000
            })
        );
        let fixed = retry_options(RetryPolicy::FixedDelay {
            max_retry_count: -1,
            delay_interval: "00:00:10",
        });
        assert_eq!(fixed.retry_strategy, RetryStrategy::FixedDelay as i32);
        assert_eq!(fixed.delay_interval, Some(proto::Duration { seconds: 10, nanos: 0 }));
        assert_eq!(fixed.max_retry_count, -1);
    }

    #[test]
    fn time_spans_parse_as_dotnet_writes_them() {
        assert_eq!(parse_time_span("00:05:00"), Some(Duration::from_secs(300)));
        assert_eq!(
            parse_time_span("2.01:00:00"),
            Some(Duration::from_secs(2 * 86_400 + 3600))
        );
        assert_eq!(parse_time_span("00:00:01.25"), Some(Duration::from_millis(1250)));
        assert_eq!(parse_time_span("1:00:00:00"), Some(Duration::from_secs(86_400)));
        for bad in ["", "x", "00:61:00", "25:00", "00:00:00:00:00", "a.00:00:00"] {
            assert_eq!(parse_time_span(bad), None, "{bad}");
        }
    }
}
