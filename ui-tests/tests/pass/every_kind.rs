//! One function per binding kind of the catalog, each with its typed payload where azfn has one.

use azfn::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Serialize, Deserialize)]
struct Order {
    id: String,
}

#[function(warmup_trigger)]
async fn warmup(_context: azfn::WarmupContext) {}

#[function(
    name = "sb-queue",
    service_bus_trigger(
        queue_name = "orders",
        connection = "ServiceBus",
        is_sessions_enabled,
        auto_complete_messages = false
    ),
    service_bus_output(queue_or_topic_name = "audit", entity_type = "topic", connection = "ServiceBus")
)]
async fn sb_queue(order: Order, meta: azfn::ServiceBusMessageMetadata) -> Order {
    let _ = meta.delivery_count;
    order
}

#[function(
    service_bus_trigger(topic_name = "events", subscription_name = "audit", connection = "ServiceBus"),
    service_bus_output(queue_or_topic_name = "audit-log", connection = "ServiceBus")
)]
async fn sb_batch(orders: Vec<Order>, meta: azfn::ServiceBusBatchMetadata) -> Vec<Order> {
    let _ = meta.messages.len();
    orders
}

#[function(
    event_hub_trigger(event_hub_name = "telemetry", consumer_group = "$Default", connection = "EventHubs"),
    event_hub_output(event_hub_name = "alerts", connection = "EventHubs"),
    retry(fixed_delay, max_retry_count = 5, delay_interval = "00:00:10")
)]
async fn eh_batch(events: Vec<Value>, meta: azfn::EventHubBatchMetadata) -> Vec<Value> {
    let _ = meta.partition_context;
    events
}

#[function(event_hub_trigger(event_hub_name = "telemetry", connection = "EventHubs", cardinality = "one"))]
async fn eh_one(event: Value, meta: azfn::EventHubEventMetadata) {
    let _ = (event, meta.sequence_number);
}

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
        create_lease_container_if_not_exists,
        leases_container_throughput = 400,
        feed_poll_delay = 5000,
        max_items_per_invocation = 100,
        start_from_beginning = true,
        preferred_locations = "East US,West Europe",
        change_feed_mode = "latestversion"
    ),
    cosmos_db_output(database_name = "shop", container_name = "archive", connection = "Cosmos", create_if_not_exists = true, partition_key = "/id", container_throughput = 400),
    retry(exponential_backoff, max_retry_count = -1, minimum_interval = "00:00:04", maximum_interval = "00:15:00")
)]
async fn cosmos(documents: Vec<Order>) -> Vec<Order> {
    documents
}

#[function(http_trigger(route = "orders/{id}", methods = "get"))]
async fn cosmos_in(
    #[cosmos_db_input(
        database_name = "shop",
        container_name = "orders",
        connection = "Cosmos",
        id = "{id}",
        partition_key = "{id}"
    )]
    order: Option<Order>,
    #[table_input(table_name = "stock", partition_key = "shop-1", filter = "count gt 0", take = 50)] stock: Vec<
        azfn::TableEntity<Value>,
    >,
) -> String {
    format!("{} {}", order.is_some(), stock.len())
}

#[function(
    queue_trigger(queue_name = "stock"),
    table_output(table_name = "stock", partition_key = "shop-1")
)]
async fn table_out(message: String) -> azfn::TableEntity<Value> {
    azfn::TableEntity::new("shop-1", message, Value::Null)
}

#[function(
    signalr_trigger(hub_name = "chat", category = "messages", event = "send", parameter_names = ["message"], connection_string_setting = "SignalR"),
    signalr_output(hub_name = "chat", connection_string_setting = "SignalR")
)]
async fn signalr(invocation: azfn::SignalRInvocationContext) -> azfn::SignalRMessage {
    azfn::SignalRMessage::new("newMessage", invocation.arguments)
}

#[function(http_trigger(route = "negotiate", methods = "post"))]
async fn negotiate(
    #[signalr_connection_info_input(hub_name = "chat", user_id = "{headers.x-user}", claim_type_list = ["name", "role"])]
    info: azfn::SignalRConnectionInfo,
    #[signalr_negotiation_input(hub_name = "chat", connection_string_setting = "SignalR")] negotiation: Value,
    #[signalr_endpoints_input(hub_name = "chat")] endpoints: Value,
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
async fn sql(changes: Vec<azfn::SqlChange<Value>>) -> Vec<Value> {
    changes.into_iter().map(|c| c.item).collect()
}

#[function(http_trigger(route = "items/{status}"))]
async fn sql_in(
    #[sql_input(
        command_text = "SELECT * FROM dbo.Items WHERE Status = @Status",
        command_type = "text",
        parameters = "@Status={status}",
        connection_string_setting = "Sql"
    )]
    items: Vec<Value>,
    #[mysql_input(
        command_text = "GetItems",
        command_type = "StoredProcedure",
        connection_string_setting = "MySql"
    )]
    more: Vec<Value>,
) -> String {
    (items.len() + more.len()).to_string()
}

#[function(
    mysql_trigger(table_name = "orders", connection_string_setting = "MySql", leases_table_name = "OrderLeases"),
    mysql_output(command_text = "audit", connection_string_setting = "MySql")
)]
async fn mysql(changes: Vec<azfn::SqlChange<Value>>) -> Vec<Value> {
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
        lag_threshold = 1000
    ),
    kafka_output(
        broker_list = "%Brokers%",
        topic = "shipped",
        enable_idempotence = true,
        max_retries = 3
    ),
    retry(fixed_delay, max_retry_count = 2, delay_interval = "00:00:30")
)]
async fn kafka(events: Vec<azfn::KafkaEvent>) -> Vec<String> {
    events.into_iter().map(|e| e.topic).collect()
}

#[function(
    rabbitmq_trigger(queue_name = "orders", connection_string_setting = "RabbitMq"),
    rabbitmq_output(queue_name = "shipped", disable_certificate_validation = true)
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
        subject = "Order {id}"
    )
)]
async fn mail(order: Order) -> Value {
    serde_json::json!({ "content": [{ "type": "text/plain", "value": order.id }] })
}

#[function(
    generic_trigger(type = "webPubSubTrigger", hub = "chat", event_name = "message", event_type = "user"),
    generic_output(type = "webPubSub", hub = "chat"),
    retry(fixed_delay, max_retry_count = 1, delay_interval = "00:00:01")
)]
async fn pubsub(
    message: Value,
    #[generic_input(type = "webPubSubConnection", hub = "chat", user_id = "{query.userid}")] connection: Value,
) -> Value {
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

#[derive(FunctionOutput)]
struct Fanout {
    #[http_output]
    response: HttpResponse,
    #[service_bus_output(queue_or_topic_name = "orders")]
    orders: Vec<Order>,
    #[event_hub_output(event_hub_name = "telemetry")]
    telemetry: Option<Value>,
    #[cosmos_db_output(database_name = "shop", container_name = "orders", connection = "Cosmos")]
    document: Option<Order>,
    #[generic_output(type = "customOutput", target = "x")]
    custom: Option<String>,
}

#[function(http_trigger(methods = "post"))]
async fn fanout(Json(orders): Json<Vec<Order>>) -> Fanout {
    Fanout {
        response: HttpResponse::ok(),
        orders,
        telemetry: None,
        document: None,
        custom: None,
    }
}

fn main() {}
