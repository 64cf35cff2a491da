//! Which KEDA scaler watches each trigger, and the scaler's metadata.
//!
//! Core Tools (`Kubernetes/KEDA/V2/KedaV2Resource.cs`) copies every string property of the
//! trigger binding into the metadata and renames a few. That leaves out what KEDA's scalers
//! need (`kedacore/keda` `pkg/scalers/*_scaler.go`): `blobContainerName` for `azure-blob`, the
//! checkpoint storage for `azure-eventhub`, and it fails on a missing `connection`. Here each
//! scaler gets exactly the keys it reads:
//!
//! | trigger | scaler | metadata |
//! |---|---|---|
//! | `queueTrigger` | `azure-queue` | `queueName`, `connectionFromEnv` (`connection`, else `AzureWebJobsStorage`) |
//! | `blobTrigger` | `azure-blob` | `blobContainerName` and `blobPrefix` from `path`, `connectionFromEnv` (as above) |
//! | `serviceBusTrigger` | `azure-servicebus` | `queueName`, or `topicName` and `subscriptionName`; `connectionFromEnv` (`connection`, else `AzureWebJobsServiceBus`) |
//! | `eventHubTrigger` | `azure-eventhub` | `connectionFromEnv`, `eventHubName`, `consumerGroup`, `storageConnectionFromEnv` (`AzureWebJobsStorage`, where the host checkpoints), `checkpointStrategy: azureFunction` |
//! | `kafkaTrigger` | `kafka` | `bootstrapServers` (the binding's `brokerList`, or the setting it names), `topic`, `consumerGroup` (default `$Default`) |
//! | `rabbitMQTrigger` | `rabbitmq` | `hostFromEnv` (the binding's `connectionStringSetting`), `queueName` |
//!
//! Connections are always named (`…FromEnv`: the setting that holds them, `AzureWebJobs<name>`
//! before `<name>` as the host looks them up), never copied, so no secret lands in the
//! ScaledObject. Other values may say `%Setting%`; those are resolved from
//! local.settings.json, and a setting that is not there is an error. Triggers with no scaler
//! here (timers, Event Grid, Cosmos DB, Durable Functions' triggers, …) get none:
//! [`scale_rule`] says so and the caller decides.

use std::collections::BTreeMap;

use azfn_bindings::expression::resolve_app_settings;

use crate::app::{Binding, Direction, Function};
use crate::error::{Error, Result};

/// The storage connection the host uses when a storage binding names none.
pub const DEFAULT_STORAGE_CONNECTION: &str = "AzureWebJobsStorage";
/// The Service Bus connection the host uses when a Service Bus binding names none.
pub const DEFAULT_SERVICE_BUS_CONNECTION: &str = "AzureWebJobsServiceBus";

/// The consumer group of a Kafka trigger that names none.
pub const KAFKA_DEFAULT_CONSUMER_GROUP: &str = "$Default";

/// One trigger of the ScaledObject: the KEDA scaler and its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleRule {
    /// The function the rule scales for.
    pub function: String,
    /// KEDA's scaler `type`, such as `azure-queue`.
    pub scaler: &'static str,
    /// The scaler's metadata, in the order written.
    pub metadata: Vec<(String, String)>,
    /// The settings the metadata names with `…FromEnv`: the container must have them.
    pub settings: Vec<String>,
    /// What the user should know (TLS or SASL the scaler cannot see, a name KEDA must find
    /// elsewhere).
    pub notes: Vec<String>,
}

/// The trigger binding of `function` and its KEDA scale rule: `Ok(None)` when KEDA has no
/// scaler for the trigger, an error when the binding lacks what the scaler needs or names a
/// `%Setting%` that `values` does not have.
pub fn scale_rule(function: &Function, values: &BTreeMap<String, String>) -> Result<Option<ScaleRule>> {
    let Some(trigger) = trigger_binding(function) else {
        return Ok(None);
    };
    let reader = BindingReader {
        function: &function.name,
        binding: trigger,
        values,
    };
    let mut rule = ScaleRule {
        function: function.name.clone(),
        scaler: "",
        metadata: Vec::new(),
        settings: Vec::new(),
        notes: Vec::new(),
    };
    match trigger.kind.to_ascii_lowercase().as_str() {
        "queuetrigger" => {
            rule.scaler = "azure-queue";
            rule.push("queueName", reader.required("queueName")?);
            rule.push_setting(
                "connectionFromEnv",
                reader.connection("connection", DEFAULT_STORAGE_CONNECTION),
            );
        }
        "blobtrigger" => {
            rule.scaler = "azure-blob";
            let (container, prefix) = blob_container_and_prefix(&reader.required("path")?)
                .map_err(|why| reader.error(&format!("`path` {why}")))?;
            rule.push("blobContainerName", container);
            if !prefix.is_empty() {
                rule.push("blobPrefix", prefix);
            }
            rule.push_setting(
                "connectionFromEnv",
                reader.connection("connection", DEFAULT_STORAGE_CONNECTION),
            );
            rule.notes.push(format!(
                "{}: KEDA's azure-blob scaler counts the blobs in the container, and a blob trigger leaves them \
                 there: move or delete processed blobs, or the Deployment never scales back to zero",
                function.name
            ));
        }
        "servicebustrigger" => {
            rule.scaler = "azure-servicebus";
            match (reader.optional("queueName")?, reader.optional("topicName")?) {
                (Some(queue), None) => rule.push("queueName", queue),
                (None, Some(topic)) => {
                    let subscription = reader.required("subscriptionName")?;
                    rule.push("topicName", topic);
                    rule.push("subscriptionName", subscription);
                }
                _ => {
                    return Err(reader.error("needs either `queueName` or `topicName` (with `subscriptionName`)"));
                }
            }
            rule.push_setting(
                "connectionFromEnv",
                reader.connection("connection", DEFAULT_SERVICE_BUS_CONNECTION),
            );
        }
        "eventhubtrigger" => {
            rule.scaler = "azure-eventhub";
            if reader.setting_name("connection").is_none() {
                return Err(reader.error("needs `connection` (the setting with the Event Hubs connection string)"));
            }
            rule.push_setting("connectionFromEnv", reader.connection("connection", ""));
            match reader.optional("eventHubName")? {
                Some(hub) => rule.push("eventHubName", hub),
                None => rule.notes.push(format!(
                    "{}: no `eventHubName`: KEDA reads the hub from the connection string's EntityPath",
                    function.name
                )),
            }
            if let Some(group) = reader.optional("consumerGroup")? {
                rule.push("consumerGroup", group);
            }
            // The host keeps its checkpoints in the app's storage, where KEDA must read them.
            rule.push_setting("storageConnectionFromEnv", DEFAULT_STORAGE_CONNECTION.to_owned());
            rule.push("checkpointStrategy", "azureFunction".to_owned());
        }
        "kafkatrigger" => {
            rule.scaler = "kafka";
            let brokers = reader
                .secure_setting("brokerList")?
                .ok_or_else(|| reader.error("has no `brokerList`, which its KEDA scaler needs"))?;
            rule.push("bootstrapServers", brokers);
            rule.push("topic", reader.required("topic")?);
            // The extension's own default (`KafkaListener`); KEDA needs it written.
            let group = reader.optional("consumerGroup")?;
            rule.push(
                "consumerGroup",
                group.unwrap_or_else(|| KAFKA_DEFAULT_CONSUMER_GROUP.to_owned()),
            );
            let secured = ["authenticationMode", "protocol", "username", "password"]
                .iter()
                .any(|key| {
                    reader
                        .raw(key)
                        .is_some_and(|v| !v.is_empty() && !v.eq_ignore_ascii_case("notset"))
                });
            if secured {
                rule.notes.push(format!(
                    "{}: the Kafka trigger uses SASL or TLS; KEDA's kafka scaler takes those from a \
                     TriggerAuthentication, which is not written: add one and its `authenticationRef`",
                    function.name
                ));
            }
        }
        "rabbitmqtrigger" => {
            rule.scaler = "rabbitmq";
            let host = reader.setting_name("connectionStringSetting").ok_or_else(|| {
                reader.error(
                    "needs `connectionStringSetting`: KEDA's rabbitmq scaler reads the broker's amqp:// URL \
                     from a setting (hostName, userNameSetting and passwordSetting are not enough)",
                )
            })?;
            rule.push_setting("hostFromEnv", host);
            rule.push("queueName", reader.required("queueName")?);
        }
        _ => return Ok(None),
    }
    Ok(Some(rule))
}

/// The function's trigger binding: the `in` binding whose type ends with `Trigger`.
pub fn trigger_binding(function: &Function) -> Option<&Binding> {
    function
        .bindings
        .iter()
        .find(|b| b.direction == Direction::In && b.kind.to_ascii_lowercase().ends_with("trigger"))
}

/// The container and the literal prefix of a blob trigger's `path` (`container/in/{name}.txt`
/// gives `container` and `in/`): KEDA needs the container's name, and counts only the blobs
/// under the prefix.
pub fn blob_container_and_prefix(path: &str) -> Result<(String, String), String> {
    let path = path.trim_start_matches('/');
    let (container, rest) = path.split_once('/').unwrap_or((path, ""));
    if container.is_empty() || container.contains('{') {
        return Err(format!(
            "is `{path}`: its first segment must be the container's name, not a {{pattern}}"
        ));
    }
    let prefix = rest.find('{').map_or(rest, |open| &rest[..open]);
    Ok((container.to_owned(), prefix.to_owned()))
}

impl ScaleRule {
    fn push(&mut self, key: &str, value: String) {
        self.metadata.push((key.to_owned(), value));
    }

    fn push_setting(&mut self, key: &str, setting: String) {
        self.settings.push(setting.clone());
        self.metadata.push((key.to_owned(), setting));
    }
}

/// Reads a trigger binding's properties as the host does: keys ignoring case, `%Setting%`
/// resolved from the app settings.
struct BindingReader<'a> {
    function: &'a str,
    binding: &'a Binding,
    values: &'a BTreeMap<String, String>,
}

impl BindingReader<'_> {
    /// The property as written, if it is a string.
    fn raw(&self, key: &str) -> Option<&str> {
        self.binding
            .properties
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .and_then(|(_, v)| v.as_str())
    }

    /// The property with its `%Setting%` references resolved; empty counts as absent.
    fn optional(&self, key: &str) -> Result<Option<String>> {
        let Some(raw) = self.raw(key).filter(|v| !v.trim().is_empty()) else {
            return Ok(None);
        };
        let lookup = |name: &str| {
            self.values
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        resolve_app_settings(raw, lookup).map(Some).map_err(|why| {
            self.error(&format!(
                "`{key}`: {why} in local.settings.json `Values`, so its scaler cannot be written"
            ))
        })
    }

    fn required(&self, key: &str) -> Result<String> {
        self.optional(key)?
            .ok_or_else(|| self.error(&format!("has no `{key}`, which its KEDA scaler needs")))
    }

    /// The name of the setting a connection property names (`%Name%` or `Name`).
    fn setting_name(&self, key: &str) -> Option<String> {
        let raw = self.raw(key)?.trim().trim_matches('%');
        (!raw.is_empty()).then(|| raw.to_owned())
    }

    /// The setting a `connection` property names, found as the WebJobs SDK finds it
    /// (`IConfigurationExtensions.GetWebJobsConnectionString`): `AzureWebJobs<name>` first,
    /// then `<name>`.
    fn connection(&self, key: &str, default: &str) -> String {
        let name = self.setting_name(key).unwrap_or_else(|| default.to_owned());
        let prefixed = format!("AzureWebJobs{name}");
        match self.values.keys().find(|k| k.eq_ignore_ascii_case(&prefixed)) {
            Some(found) => found.clone(),
            None => name,
        }
    }

    /// A value the Kafka extension resolves as `ResolveSecureSetting` does: `%Setting%`
    /// references first, then, if the result names a setting, that setting's value.
    fn secure_setting(&self, key: &str) -> Result<Option<String>> {
        let Some(value) = self.optional(key)? else {
            return Ok(None);
        };
        let named = self
            .values
            .iter()
            .find(|(k, v)| k.eq_ignore_ascii_case(&value) && !v.is_empty())
            .map(|(_, v)| v.clone());
        Ok(Some(named.unwrap_or(value)))
    }

    fn error(&self, what: &str) -> Error {
        Error::new(format!(
            "function `{}`: its {} binding {what}",
            self.function, self.binding.kind
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::Trigger;
    use serde_json::{Map, Value, json};

    fn function(kind: &str, properties: Value) -> Function {
        let Value::Object(mut properties) = properties else {
            unreachable!("the tests give objects")
        };
        properties.insert("type".to_owned(), json!(kind));
        Function {
            name: "f".to_owned(),
            bindings: vec![Binding {
                kind: kind.to_owned(),
                direction: Direction::In,
                name: "msg".to_owned(),
                data_type: None,
                properties: properties.into_iter().collect::<Map<String, Value>>(),
            }],
            trigger: Trigger::Other {
                kind: kind.to_owned(),
                binding: "msg".to_owned(),
            },
        }
    }

    fn metadata(rule: &ScaleRule) -> Vec<(&str, &str)> {
        rule.metadata.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    #[test]
    fn queue_names_its_connection_and_resolves_settings() {
        let values = BTreeMap::from([("QueueName".to_owned(), "orders".to_owned())]);
        let rule = scale_rule(&function("queueTrigger", json!({"queueName": "%QueueName%"})), &values)
            .unwrap()
            .unwrap();
        assert_eq!(rule.scaler, "azure-queue");
        assert_eq!(
            metadata(&rule),
            [("queueName", "orders"), ("connectionFromEnv", "AzureWebJobsStorage")]
        );
        let error = scale_rule(&function("queueTrigger", json!({"queueName": "%Nope%"})), &values).unwrap_err();
        assert!(error.message().contains("`Nope`"), "{error}");
        let error = scale_rule(&function("queueTrigger", json!({})), &values).unwrap_err();
        assert!(error.message().contains("no `queueName`"), "{error}");
    }

    #[test]
    fn blob_paths_give_the_container_and_prefix() {
        assert_eq!(
            blob_container_and_prefix("uploads/in/{name}.txt").unwrap(),
            ("uploads".to_owned(), "in/".to_owned())
        );
        assert_eq!(
            blob_container_and_prefix("uploads/{name}").unwrap(),
            ("uploads".to_owned(), String::new())
        );
        assert_eq!(
            blob_container_and_prefix("uploads").unwrap(),
            ("uploads".to_owned(), String::new())
        );
        assert!(blob_container_and_prefix("{container}/x").is_err());
        let rule = scale_rule(
            &function(
                "blobTrigger",
                json!({"path": "samples/{name}", "connection": "Storage"}),
            ),
            &BTreeMap::new(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            metadata(&rule),
            [("blobContainerName", "samples"), ("connectionFromEnv", "Storage")]
        );
    }

    #[test]
    fn service_bus_needs_a_queue_or_a_topic_and_subscription() {
        let values = BTreeMap::new();
        let topic = scale_rule(
            &function("serviceBusTrigger", json!({"topicName": "t", "subscriptionName": "s"})),
            &values,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            metadata(&topic),
            [
                ("topicName", "t"),
                ("subscriptionName", "s"),
                ("connectionFromEnv", "AzureWebJobsServiceBus")
            ]
        );
        assert!(scale_rule(&function("serviceBusTrigger", json!({"topicName": "t"})), &values).is_err());
        assert!(scale_rule(&function("serviceBusTrigger", json!({})), &values).is_err());
    }

    #[test]
    fn triggers_without_a_scaler_get_none() {
        let values = BTreeMap::new();
        assert_eq!(
            scale_rule(&function("timerTrigger", json!({"schedule": "0 * * * * *"})), &values).unwrap(),
            None
        );
        assert_eq!(
            scale_rule(&function("eventGridTrigger", json!({})), &values).unwrap(),
            None
        );
    }

    #[test]
    fn connections_are_found_as_the_host_finds_them() {
        let values = BTreeMap::from([("AzureWebJobsOrders".to_owned(), "x".to_owned())]);
        let rule = scale_rule(
            &function("queueTrigger", json!({"queueName": "q", "connection": "Orders"})),
            &values,
        )
        .unwrap()
        .unwrap();
        assert_eq!(metadata(&rule)[1], ("connectionFromEnv", "AzureWebJobsOrders"));
        assert_eq!(rule.settings, ["AzureWebJobsOrders"]);
    }

    #[test]
    fn kafka_resolves_its_brokers_and_defaults_its_group() {
        let values = BTreeMap::from([("Brokers".to_owned(), "kafka:9092".to_owned())]);
        let rule = scale_rule(
            &function(
                "kafkaTrigger",
                json!({"brokerList": "Brokers", "topic": "t", "protocol": "SaslSsl"}),
            ),
            &values,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            metadata(&rule),
            [
                ("bootstrapServers", "kafka:9092"),
                ("topic", "t"),
                ("consumerGroup", "$Default")
            ]
        );
        assert!(rule.notes[0].contains("TriggerAuthentication"), "{:?}", rule.notes);
    }

    #[test]
    fn rabbit_mq_needs_a_connection_setting() {
        let error = scale_rule(
            &function("rabbitMQTrigger", json!({"queueName": "q", "hostName": "localhost"})),
            &BTreeMap::new(),
        )
        .unwrap_err();
        assert!(error.message().contains("connectionStringSetting"), "{error}");
    }
}
