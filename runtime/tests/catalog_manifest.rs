//! Every binding kind of the catalog, as `function.json` receives it: each function below is
//! written once and its emitted manifest compared with a reviewed snapshot, validated against
//! the published schema, and checked to cover every kind of the catalog.
//!
//! The service families and Durable Functions are cargo features, so this file needs them all:
//! it runs with `cargo test -p azfn --all-features` (as `scripts/test` does).
#![cfg(all(feature = "all", feature = "durable"))]

use std::collections::BTreeSet;
use std::path::PathBuf;

use azfn::prelude::*;
use serde_json::Value;

type Doc = Value;

#[function(warmup_trigger)]
async fn warmup(_context: azfn::WarmupContext) {}

#[function(
    service_bus_trigger(
        queue_name = "orders",
        connection = "ServiceBus",
        is_sessions_enabled,
        auto_complete_messages = false
    ),
    service_bus_output(queue_or_topic_name = "audit", entity_type = "topic", connection = "ServiceBus")
)]
async fn sb(order: Doc, _meta: azfn::ServiceBusMessageMetadata) -> Doc {
    order
}

#[function(
    service_bus_trigger(topic_name = "events", subscription_name = "audit"),
    service_bus_output(queue_or_topic_name = "audit-log")
)]
async fn sb_batch(orders: Vec<Doc>, _meta: azfn::ServiceBusBatchMetadata) -> Vec<Doc> {
    orders
}

#[function(
    event_hub_trigger(event_hub_name = "telemetry", consumer_group = "$Default", connection = "EventHubs"),
    event_hub_output(event_hub_name = "alerts", connection = "EventHubs"),
    retry(fixed_delay, max_retry_count = 5, delay_interval = "00:00:10")
)]
async fn eh(events: Vec<Doc>) -> Vec<Doc> {
    events
}

#[function(event_hub_trigger(event_hub_name = "telemetry"))]
async fn eh_bytes(_event: Vec<u8>) {}

#[function(event_hub_trigger(event_hub_name = "telemetry"))]
async fn eh_no_payload(_meta: azfn::EventHubBatchMetadata) {}

#[function(
    event_grid_trigger,
    event_grid_output(topic_endpoint_uri = "TopicUri", topic_key_setting = "TopicKey")
)]
async fn eg(event: azfn::EventGridEvent) -> azfn::EventGridEvent {
    event
}

#[function(
    event_grid_trigger(cardinality = "many"),
    event_grid_output(connection = "EventGrid")
)]
async fn eg_batch(events: Vec<azfn::CloudEvent>) -> Vec<azfn::CloudEvent> {
    events
}

#[function(
    cosmos_db_trigger(
        database_name = "shop",
        container_name = "orders",
        connection = "Cosmos",
        lease_container_name = "leases",
        lease_database_name = "shop",
        lease_connection = "CosmosLeases",
        create_lease_container_if_not_exists,
        leases_container_throughput = 400,
        lease_container_prefix = "fn1",
        feed_poll_delay = 5000,
        lease_renew_interval = 17000,
        lease_acquire_interval = 13000,
        lease_expiration_interval = 60000,
        max_items_per_invocation = 100,
        start_from_time = "2024-01-01T00:00:00Z",
        preferred_locations = "East US,West Europe",
        change_feed_mode = "allversionsanddeletes"
    ),
    cosmos_db_output(
        database_name = "shop",
        container_name = "archive",
        connection = "Cosmos",
        create_if_not_exists = true,
        partition_key = "/id",
        container_throughput = 400,
        preferred_locations = "East US"
    ),
    retry(exponential_backoff, max_retry_count = -1, minimum_interval = "00:00:04", maximum_interval = "00:15:00")
)]
async fn cosmos(changes: Vec<azfn::ChangeFeedItem<Doc>>) -> Vec<Doc> {
    changes.into_iter().filter_map(|c| c.current).collect()
}

#[function(http_trigger(route = "orders/{id}", methods = "get"))]
async fn lookup(
    #[cosmos_db_input(
        database_name = "shop",
        container_name = "orders",
        connection = "Cosmos",
        id = "{id}",
        partition_key = "{id}",
        preferred_locations = "East US"
    )]
    order: Option<Doc>,
    #[cosmos_db_input(
        database_name = "shop",
        container_name = "orders",
        sql_query = "SELECT * FROM c WHERE c.id = {id}"
    )]
    same: Vec<Doc>,
    // Named apart from the `stock` entity below, whose item is a unit struct (a parameter
    // `stock` would be a pattern naming it); the binding keeps its name.
    #[table_input(
        name = "stock",
        table_name = "stock",
        partition_key = "shop-1",
        filter = "count gt 0",
        take = 50,
        connection = "Tables"
    )]
    stock_rows: Vec<azfn::TableEntity<Doc>>,
    #[table_input(table_name = "stock", partition_key = "shop-1", row_key = "{id}")] one: Option<Doc>,
) -> String {
    format!(
        "{} {} {} {}",
        order.is_some(),
        same.len(),
        stock_rows.len(),
        one.is_some()
    )
}

#[function(
    queue_trigger(queue_name = "stock"),
    table_output(
        table_name = "stock",
        partition_key = "shop-1",
        row_key = "{rand-guid}",
        connection = "Tables"
    )
)]
async fn table_out(message: String) -> azfn::TableEntity<Doc> {
    azfn::TableEntity::new("shop-1", message, Value::Null)
}

#[function(
    signalr_trigger(hub_name = "chat", category = "messages", event = "send", parameter_names = ["message", "to"], connection_string_setting = "SignalR"),
    signalr_output(hub_name = "chat", connection_string_setting = "SignalR")
)]
async fn signalr(invocation: azfn::SignalRInvocationContext) -> azfn::SignalRMessage {
    azfn::SignalRMessage::new("newMessage", invocation.arguments)
}

#[function(http_trigger(route = "negotiate", methods = "post"))]
async fn negotiate(
    #[signalr_connection_info_input(hub_name = "chat", user_id = "{headers.x-user}", id_token = "{headers.authorization}", claim_type_list = ["name", "role"])]
    info: azfn::SignalRConnectionInfo,
    #[signalr_negotiation_input(hub_name = "chat", connection_string_setting = "SignalR")] negotiation: Doc,
    #[signalr_endpoints_input(hub_name = "chat", connection_string_setting = "SignalR")] endpoints: Doc,
) -> Json<azfn::SignalRConnectionInfo> {
    let _ = (negotiation, endpoints);
    Json(info)
}

#[function(
    sql_trigger(
        table_name = "dbo.Orders",
        connection_string_setting = "Sql",
        leases_table_name = "Leases"
    ),
    sql_output(command_text = "dbo.Audit", connection_string_setting = "Sql")
)]
async fn sql(changes: Vec<azfn::SqlChange<Doc>>) -> Vec<Doc> {
    changes.into_iter().map(|c| c.item).collect()
}

#[function(http_trigger(route = "items/{status}"))]
async fn sql_in(
    #[sql_input(
        command_text = "SELECT * FROM dbo.Items WHERE Status = @Status",
        command_type = "Text",
        parameters = "@Status={status}",
        connection_string_setting = "Sql"
    )]
    items: Vec<Doc>,
    #[mysql_input(
        command_text = "GetItems",
        command_type = "storedprocedure",
        connection_string_setting = "MySql"
    )]
    more: Vec<Doc>,
) -> String {
    (items.len() + more.len()).to_string()
}

#[function(
    mysql_trigger(
        table_name = "orders",
        connection_string_setting = "MySql",
        leases_table_name = "OrderLeases"
    ),
    mysql_output(command_text = "audit", connection_string_setting = "MySql")
)]
async fn mysql(changes: Vec<azfn::SqlChange<Doc>>) -> Vec<Doc> {
    changes.into_iter().map(|c| c.item).collect()
}

#[function(
    kafka_trigger(
        broker_list = "%Brokers%",
        topic = "orders",
        consumer_group = "functions",
        authentication_mode = "plain",
        protocol = "saslssl",
        username = "%KafkaUser%",
        password = "%KafkaPassword%",
        ssl_ca_location = "certs/ca.pem",
        schema_registry_url = "%SchemaRegistry%",
        oauth_bearer_method = "oidc",
        key_data_type = "string",
        lag_threshold = 1000
    ),
    kafka_output(
        broker_list = "%Brokers%",
        topic = "shipped",
        enable_idempotence = true,
        max_retries = 3,
        linger_ms = 5,
        batch_size = 100
    ),
    retry(fixed_delay, max_retry_count = 2, delay_interval = "00:00:30")
)]
async fn kafka(events: Vec<azfn::KafkaEvent>) -> Vec<String> {
    events.into_iter().map(|e| e.topic).collect()
}

#[function(
    rabbitmq_trigger(queue_name = "orders", disable_certificate_validation),
    rabbitmq_output(queue_name = "shipped", connection_string_setting = "RabbitMq")
)]
async fn rabbit(message: String, meta: azfn::RabbitMqMessageMetadata) -> String {
    format!("{message} {}", meta.delivery_tag)
}

#[function(
    queue_trigger(queue_name = "mails"),
    sendgrid_output(
        api_key = "SendGridKey",
        to = "ops@example.com",
        from = "shop@example.com",
        subject = "Order {id}",
        text = "see {id}"
    )
)]
async fn mail(order: Doc) -> Doc {
    order
}

#[function(
    generic_trigger(type = "webPubSubTrigger", hub = "chat", event_name = "message", event_type = "user", enabled),
    generic_output(type = "webPubSub", hub = "chat", retries = 3, groups = ["a", "b"]),
    retry(fixed_delay, max_retry_count = 1, delay_interval = "00:00:01")
)]
async fn pubsub(
    message: Doc,
    #[generic_input(type = "webPubSubConnection", hub = "chat", userId = "{query.userid}")] connection: Doc,
) -> Doc {
    let _ = connection;
    message
}

#[function(
    blob_trigger(path = "inbox/{name}", source = "EventGrid", connection = "Storage"),
    blob_output(path = "outbox/{name}")
)]
async fn blob_copy(content: Vec<u8>) -> Vec<u8> {
    content
}

#[function(
    timer_trigger(schedule = "0 0 * * * *"),
    queue_output(queue_name = "reports", connection = "Storage")
)]
async fn report(_timer: TimerInfo, #[blob_input(path = "templates/report.txt")] template: String) -> String {
    template
}

#[function(orchestration_trigger(orchestration = "ship_order"))]
async fn ship(ctx: azfn::durable::OrchestrationContext) -> Result<(), azfn::Error> {
    let items: Vec<String> = ctx.input()?;
    for item in &items {
        ctx.call_activity::<String, _>("pack", item).await?;
    }
    Ok(())
}

#[function(activity_trigger(activity = "pack"))]
fn pack(item: String) -> String {
    format!("packed {item}")
}

#[function(entity_trigger(entity_name = "stock"))]
fn stock(ctx: &mut azfn::durable::EntityContext<i64>) -> i64 {
    *ctx.state()
}

#[function(http_trigger(route = "ship", methods = "post"))]
async fn ship_starter(
    #[durable_client(task_hub = "Shop", connection_name = "Storage")] client: azfn::durable::DurableClient,
) -> String {
    client.task_hub_name().to_owned()
}

fn registry() -> &'static azfn::Registry {
    azfn::Registry::global().expect("no duplicate names")
}

fn manifest() -> Value {
    registry()
        .functions()
        .map(|f| (f.name.to_owned(), azfn::manifest::function_json(f)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

#[test]
fn every_catalog_kind_is_covered() {
    let used: BTreeSet<&str> = registry()
        .functions()
        .flat_map(|f| f.all_bindings())
        .map(|b| b.kind.attr)
        .collect();
    let all: BTreeSet<&str> = azfn::bindings::catalog::ALL.iter().map(|k| k.attr).collect();
    assert_eq!(used, all);
}

/// What the macros actually emitted, read as the host reads it (`azfn_bindings::extension`):
/// every binding reaches a constructor of its extension attribute and keeps every key.
#[test]
fn every_emitted_binding_is_read_whole_by_the_host() {
    let mut read = 0;
    for function in registry().functions() {
        for binding in function.all_bindings() {
            let json = azfn::manifest::binding_json(binding);
            let keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
            let dropped = binding.kind.host.read(&keys);
            assert_eq!(dropped, Ok(vec![]), "{} of {}: {json:#}", binding.name, function.name);
            read += 1;
        }
    }
    assert!(read >= 55, "{read}");
}

#[test]
fn every_function_json_is_valid_against_the_published_schema() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/function.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .build(&schema)
        .unwrap();
    for (name, function_json) in manifest().as_object().unwrap() {
        let errors: Vec<String> = validator
            .iter_errors(function_json)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}\n{function_json:#}");
    }
}

#[test]
fn every_function_json_matches_its_snapshot() {
    let expected: Value = serde_json::from_str(EXPECTED).unwrap();
    let actual = manifest();
    for (name, want) in expected.as_object().unwrap() {
        assert_eq!(&actual[name], want, "{name}:\n{:#}", actual[name]);
    }
    assert_eq!(actual.as_object().unwrap().len(), expected.as_object().unwrap().len());
}

/// Prints the manifest, to review and paste into [`EXPECTED`] after an intended change:
/// `AZFN_PRINT_MANIFEST=1 cargo test -p azfn --all-features --test catalog_manifest -- --nocapture print`.
#[test]
fn print_manifest_for_review() {
    if std::env::var_os("AZFN_PRINT_MANIFEST").is_some() {
        println!("{:#}", manifest());
    }
}

/// The reviewed manifests, by function name.
const EXPECTED: &str = r#"{
  "blob_copy": {
    "bindings": [
      {
        "connection": "Storage",
        "dataType": "binary",
        "direction": "in",
        "name": "blob",
        "path": "inbox/{name}",
        "source": "EventGrid",
        "type": "blobTrigger"
      },
      {
        "direction": "out",
        "name": "$return",
        "path": "outbox/{name}",
        "type": "blob"
      }
    ]
  },
  "cosmos": {
    "bindings": [
      {
        "changeFeedMode": "AllVersionsAndDeletes",
        "connection": "Cosmos",
        "containerName": "orders",
        "createLeaseContainerIfNotExists": true,
        "dataType": "string",
        "databaseName": "shop",
        "direction": "in",
        "feedPollDelay": 5000,
        "leaseAcquireInterval": 13000,
        "leaseConnection": "CosmosLeases",
        "leaseContainerName": "leases",
        "leaseContainerPrefix": "fn1",
        "leaseDatabaseName": "shop",
        "leaseExpirationInterval": 60000,
        "leaseRenewInterval": 17000,
        "leasesContainerThroughput": 400,
        "maxItemsPerInvocation": 100,
        "name": "documents",
        "preferredLocations": "East US,West Europe",
        "startFromTime": "2024-01-01T00:00:00Z",
        "type": "cosmosDBTrigger"
      },
      {
        "connection": "Cosmos",
        "containerName": "archive",
        "containerThroughput": 400,
        "createIfNotExists": true,
        "databaseName": "shop",
        "direction": "out",
        "name": "$return",
        "partitionKey": "/id",
        "preferredLocations": "East US",
        "type": "cosmosDB"
      }
    ],
    "retry": {
      "maxRetryCount": -1,
      "maximumInterval": "00:15:00",
      "minimumInterval": "00:00:04",
      "strategy": "exponentialBackoff"
    }
  },
  "eg": {
    "bindings": [
      {
        "cardinality": "one",
        "direction": "in",
        "name": "event",
        "type": "eventGridTrigger"
      },
      {
        "direction": "out",
        "name": "$return",
        "topicEndpointUri": "TopicUri",
        "topicKeySetting": "TopicKey",
        "type": "eventGrid"
      }
    ]
  },
  "eg_batch": {
    "bindings": [
      {
        "cardinality": "many",
        "direction": "in",
        "name": "event",
        "type": "eventGridTrigger"
      },
      {
        "connection": "EventGrid",
        "direction": "out",
        "name": "$return",
        "type": "eventGrid"
      }
    ]
  },
  "eh": {
    "bindings": [
      {
        "cardinality": "many",
        "connection": "EventHubs",
        "consumerGroup": "$Default",
        "dataType": "string",
        "direction": "in",
        "eventHubName": "telemetry",
        "name": "events",
        "type": "eventHubTrigger"
      },
      {
        "connection": "EventHubs",
        "direction": "out",
        "eventHubName": "alerts",
        "name": "$return",
        "type": "eventHub"
      }
    ],
    "retry": {
      "delayInterval": "00:00:10",
      "maxRetryCount": 5,
      "strategy": "fixedDelay"
    }
  },
  "eh_bytes": {
    "bindings": [
      {
        "cardinality": "one",
        "dataType": "binary",
        "direction": "in",
        "eventHubName": "telemetry",
        "name": "events",
        "type": "eventHubTrigger"
      }
    ]
  },
  "eh_no_payload": {
    "bindings": [
      {
        "cardinality": "many",
        "dataType": "string",
        "direction": "in",
        "eventHubName": "telemetry",
        "name": "events",
        "type": "eventHubTrigger"
      }
    ]
  },
  "kafka": {
    "bindings": [
      {
        "authenticationMode": "Plain",
        "brokerList": "%Brokers%",
        "cardinality": "many",
        "consumerGroup": "functions",
        "dataType": "string",
        "direction": "in",
        "keyDataType": "String",
        "lagThreshold": 1000,
        "name": "event",
        "oAuthBearerMethod": "Oidc",
        "password": "%KafkaPassword%",
        "protocol": "SaslSsl",
        "schemaRegistryUrl": "%SchemaRegistry%",
        "sslCaLocation": "certs/ca.pem",
        "topic": "orders",
        "type": "kafkaTrigger",
        "username": "%KafkaUser%"
      },
      {
        "batchSize": 100,
        "brokerList": "%Brokers%",
        "direction": "out",
        "enableIdempotence": true,
        "lingerMs": 5,
        "maxRetries": 3,
        "name": "$return",
        "topic": "shipped",
        "type": "kafka"
      }
    ],
    "retry": {
      "delayInterval": "00:00:30",
      "maxRetryCount": 2,
      "strategy": "fixedDelay"
    }
  },
  "lookup": {
    "bindings": [
      {
        "direction": "in",
        "methods": [
          "get"
        ],
        "name": "req",
        "route": "orders/{id}",
        "type": "httpTrigger"
      },
      {
        "connection": "Cosmos",
        "containerName": "orders",
        "dataType": "string",
        "databaseName": "shop",
        "direction": "in",
        "id": "{id}",
        "name": "order",
        "partitionKey": "{id}",
        "preferredLocations": "East US",
        "type": "cosmosDB"
      },
      {
        "containerName": "orders",
        "dataType": "string",
        "databaseName": "shop",
        "direction": "in",
        "name": "same",
        "sqlQuery": "SELECT * FROM c WHERE c.id = {id}",
        "type": "cosmosDB"
      },
      {
        "connection": "Tables",
        "direction": "in",
        "filter": "count gt 0",
        "name": "stock",
        "partitionKey": "shop-1",
        "tableName": "stock",
        "take": "50",
        "type": "table"
      },
      {
        "direction": "in",
        "name": "one",
        "partitionKey": "shop-1",
        "rowKey": "{id}",
        "tableName": "stock",
        "type": "table"
      },
      {
        "direction": "out",
        "name": "$return",
        "type": "http"
      }
    ]
  },
  "mail": {
    "bindings": [
      {
        "dataType": "string",
        "direction": "in",
        "name": "message",
        "queueName": "mails",
        "type": "queueTrigger"
      },
      {
        "apiKey": "SendGridKey",
        "direction": "out",
        "from": "shop@example.com",
        "name": "$return",
        "subject": "Order {id}",
        "text": "see {id}",
        "to": "ops@example.com",
        "type": "sendGrid"
      }
    ]
  },
  "mysql": {
    "bindings": [
      {
        "connectionStringSetting": "MySql",
        "direction": "in",
        "leasesTableName": "OrderLeases",
        "name": "changes",
        "tableName": "orders",
        "type": "mysqlTrigger"
      },
      {
        "commandText": "audit",
        "connectionStringSetting": "MySql",
        "direction": "out",
        "name": "$return",
        "type": "mysql"
      }
    ]
  },
  "negotiate": {
    "bindings": [
      {
        "direction": "in",
        "methods": [
          "post"
        ],
        "name": "req",
        "route": "negotiate",
        "type": "httpTrigger"
      },
      {
        "claimTypeList": [
          "name",
          "role"
        ],
        "direction": "in",
        "hubName": "chat",
        "idToken": "{headers.authorization}",
        "name": "info",
        "type": "signalRConnectionInfo",
        "userId": "{headers.x-user}"
      },
      {
        "connectionStringSetting": "SignalR",
        "direction": "in",
        "hubName": "chat",
        "name": "negotiation",
        "type": "signalRNegotiation"
      },
      {
        "connectionStringSetting": "SignalR",
        "direction": "in",
        "hubName": "chat",
        "name": "endpoints",
        "type": "signalREndpoints"
      },
      {
        "direction": "out",
        "name": "$return",
        "type": "http"
      }
    ]
  },
  "pubsub": {
    "bindings": [
      {
        "direction": "in",
        "enabled": true,
        "eventName": "message",
        "eventType": "user",
        "hub": "chat",
        "name": "trigger",
        "type": "webPubSubTrigger"
      },
      {
        "direction": "in",
        "hub": "chat",
        "name": "connection",
        "type": "webPubSubConnection",
        "userId": "{query.userid}"
      },
      {
        "direction": "out",
        "groups": [
          "a",
          "b"
        ],
        "hub": "chat",
        "name": "$return",
        "retries": 3,
        "type": "webPubSub"
      }
    ],
    "retry": {
      "delayInterval": "00:00:01",
      "maxRetryCount": 1,
      "strategy": "fixedDelay"
    }
  },
  "rabbit": {
    "bindings": [
      {
        "dataType": "string",
        "direction": "in",
        "disableCertificateValidation": true,
        "name": "message",
        "queueName": "orders",
        "type": "rabbitMQTrigger"
      },
      {
        "connectionStringSetting": "RabbitMq",
        "direction": "out",
        "name": "$return",
        "queueName": "shipped",
        "type": "rabbitMQ"
      }
    ]
  },
  "report": {
    "bindings": [
      {
        "direction": "in",
        "name": "timer",
        "schedule": "0 0 * * * *",
        "type": "timerTrigger"
      },
      {
        "dataType": "string",
        "direction": "in",
        "name": "template",
        "path": "templates/report.txt",
        "type": "blob"
      },
      {
        "connection": "Storage",
        "direction": "out",
        "name": "$return",
        "queueName": "reports",
        "type": "queue"
      }
    ]
  },
  "sb": {
    "bindings": [
      {
        "autoCompleteMessages": false,
        "cardinality": "one",
        "connection": "ServiceBus",
        "dataType": "string",
        "direction": "in",
        "isSessionsEnabled": true,
        "name": "message",
        "queueName": "orders",
        "type": "serviceBusTrigger"
      },
      {
        "connection": "ServiceBus",
        "direction": "out",
        "entityType": "Topic",
        "name": "$return",
        "queueOrTopicName": "audit",
        "type": "serviceBus"
      }
    ]
  },
  "sb_batch": {
    "bindings": [
      {
        "cardinality": "many",
        "dataType": "string",
        "direction": "in",
        "name": "message",
        "subscriptionName": "audit",
        "topicName": "events",
        "type": "serviceBusTrigger"
      },
      {
        "direction": "out",
        "entityType": "Queue",
        "name": "$return",
        "queueOrTopicName": "audit-log",
        "type": "serviceBus"
      }
    ]
  },
  "signalr": {
    "bindings": [
      {
        "category": "messages",
        "connectionStringSetting": "SignalR",
        "direction": "in",
        "event": "send",
        "hubName": "chat",
        "name": "invocation",
        "parameterNames": [
          "message",
          "to"
        ],
        "type": "signalRTrigger"
      },
      {
        "connectionStringSetting": "SignalR",
        "direction": "out",
        "hubName": "chat",
        "name": "$return",
        "type": "signalR"
      }
    ]
  },
  "sql": {
    "bindings": [
      {
        "connectionStringSetting": "Sql",
        "direction": "in",
        "leasesTableName": "Leases",
        "name": "changes",
        "tableName": "dbo.Orders",
        "type": "sqlTrigger"
      },
      {
        "commandText": "dbo.Audit",
        "connectionStringSetting": "Sql",
        "direction": "out",
        "name": "$return",
        "type": "sql"
      }
    ]
  },
  "sql_in": {
    "bindings": [
      {
        "direction": "in",
        "name": "req",
        "route": "items/{status}",
        "type": "httpTrigger"
      },
      {
        "commandText": "SELECT * FROM dbo.Items WHERE Status = @Status",
        "commandType": "text",
        "connectionStringSetting": "Sql",
        "direction": "in",
        "name": "items",
        "parameters": "@Status={status}",
        "type": "sql"
      },
      {
        "commandText": "GetItems",
        "commandType": "storedProcedure",
        "connectionStringSetting": "MySql",
        "direction": "in",
        "name": "more",
        "parameters": "",
        "type": "mysql"
      },
      {
        "direction": "out",
        "name": "$return",
        "type": "http"
      }
    ]
  },
  "table_out": {
    "bindings": [
      {
        "dataType": "string",
        "direction": "in",
        "name": "message",
        "queueName": "stock",
        "type": "queueTrigger"
      },
      {
        "connection": "Tables",
        "direction": "out",
        "name": "$return",
        "partitionKey": "shop-1",
        "rowKey": "{rand-guid}",
        "tableName": "stock",
        "type": "table"
      }
    ]
  },
  "pack": {
    "bindings": [
      {
        "activity": "pack",
        "direction": "in",
        "name": "input",
        "type": "activityTrigger"
      }
    ]
  },
  "ship": {
    "bindings": [
      {
        "direction": "in",
        "name": "context",
        "orchestration": "ship_order",
        "type": "orchestrationTrigger"
      }
    ]
  },
  "ship_starter": {
    "bindings": [
      {
        "direction": "in",
        "methods": ["post"],
        "name": "req",
        "route": "ship",
        "type": "httpTrigger"
      },
      {
        "connectionName": "Storage",
        "direction": "in",
        "name": "client",
        "taskHub": "Shop",
        "type": "durableClient"
      },
      {
        "direction": "out",
        "name": "$return",
        "type": "http"
      }
    ]
  },
  "stock": {
    "bindings": [
      {
        "direction": "in",
        "entityName": "stock",
        "name": "context",
        "type": "entityTrigger"
      }
    ]
  },
  "warmup": {
    "bindings": [
      {
        "direction": "in",
        "name": "warmupContext",
        "type": "warmupTrigger"
      }
    ]
  }
}"#;
