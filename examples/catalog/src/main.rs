//! An order pipeline across Azure services, each step a function with typed payloads:
//!
//! 1. `accept-order` (HTTP) puts the order on a Service Bus queue;
//! 2. `store-order` (Service Bus) writes it to Cosmos DB and tells Event Grid;
//! 3. `order-changes` (Cosmos DB change feed, retried with backoff) counts stock in a Table;
//! 4. `telemetry` (Event Hubs, batched) archives device readings to Azure SQL;
//! 5. `order-events` (Event Grid) and `price-changes` (SQL change tracking) log what happened;
//! 6. `stock` (HTTP) reads the Table;
//! 7. `triage-order` (Service Bus) settles each message itself: dead-letters what is not an
//!    order, defers orders for later, completes the rest (with the native gRPC transport; see
//!    `docs/servicebus-settlement.md`).
//!
//! `cargo run -p catalog -- --write-app ./app` writes the function app folder.

use azfn::prelude::*;
use azfn::{
    EventGridEvent, EventHubBatchMetadata, IntoHttpResponse, PropertiesToModify, ServiceBusMessageMetadata,
    ServiceBusSettlement, SqlChange, TableEntity,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An order as it travels between the services.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Order {
    id: String,
    item: String,
    quantity: u32,
}

#[derive(FunctionOutput)]
struct Accepted {
    #[http_output]
    response: HttpResponse,
    #[service_bus_output(queue_or_topic_name = "orders", connection = "ServiceBus")]
    queued: Order,
}

#[function(
    name = "accept-order",
    http_trigger(route = "orders", methods = "post", auth_level = "function")
)]
async fn accept_order(Json(order): Json<Order>) -> Accepted {
    Accepted {
        response: HttpResponse::new(StatusCode::ACCEPTED),
        queued: order,
    }
}

#[derive(FunctionOutput)]
struct Stored {
    #[cosmos_db_output(
        database_name = "shop",
        container_name = "orders",
        connection = "Cosmos",
        create_if_not_exists = true,
        partition_key = "/id"
    )]
    document: Order,
    #[event_grid_output(topic_endpoint_uri = "OrderTopicUri", topic_key_setting = "OrderTopicKey")]
    event: EventGridEvent,
}

#[function(
    name = "store-order",
    service_bus_trigger(queue_name = "orders", connection = "ServiceBus", auto_complete_messages = true)
)]
async fn store_order(order: Order, message: ServiceBusMessageMetadata) -> Stored {
    let event = EventGridEvent {
        id: message.message_id.clone(),
        subject: format!("orders/{}", order.id),
        event_type: "Shop.OrderStored".to_owned(),
        event_time: message.enqueued_time_utc.clone(),
        data: serde_json::json!({ "id": order.id, "deliveries": message.delivery_count }),
        data_version: "1".to_owned(),
        ..EventGridEvent::default()
    };
    Stored { document: order, event }
}

/// Settles each message by hand: a body that is not an order goes to the dead-letter queue with
/// the reason, an order of nothing is deferred with a note, any other order is completed. An
/// error from the host (the message's lock lost, say) fails the invocation, and the extension
/// then abandons the message unless it was settled.
#[function(
    name = "triage-order",
    service_bus_trigger(
        queue_name = "incoming-orders",
        connection = "ServiceBus",
        auto_complete_messages = false
    )
)]
async fn triage_order(body: String, settlement: ServiceBusSettlement) -> Result<(), azfn::Error> {
    match serde_json::from_str::<Order>(&body) {
        Err(error) => settlement.dead_letter("NotAnOrder", error.to_string()).await?,
        Ok(order) if order.quantity == 0 => {
            let note = PropertiesToModify::new().set("triage", "empty order");
            settlement.defer_with(note).await?;
        }
        Ok(_) => settlement.complete().await?,
    }
    Ok(())
}

/// The stock count of one item, in the `stock` table.
#[derive(Debug, Serialize, Deserialize)]
struct Stock {
    ordered: u32,
}

#[function(
    name = "order-changes",
    cosmos_db_trigger(
        database_name = "shop",
        container_name = "orders",
        connection = "Cosmos",
        lease_container_name = "leases",
        create_lease_container_if_not_exists = true,
        max_items_per_invocation = 100
    ),
    table_output(table_name = "stock", connection = "Tables"),
    retry(
        exponential_backoff,
        max_retry_count = 5,
        minimum_interval = "00:00:04",
        maximum_interval = "00:15:00"
    )
)]
async fn order_changes(orders: Vec<Order>) -> Vec<TableEntity<Stock>> {
    orders
        .into_iter()
        .map(|o| TableEntity::new("shop", o.item, Stock { ordered: o.quantity }))
        .collect()
}

#[function(http_trigger(route = "stock/{item}", methods = "get", auth_level = "anonymous"))]
async fn stock(
    #[table_input(
        table_name = "stock",
        partition_key = "shop",
        row_key = "{item}",
        connection = "Tables"
    )]
    entity: Option<TableEntity<Stock>>,
) -> HttpResponse {
    match entity {
        Some(entity) => Json(serde_json::json!({ "item": entity.row_key, "ordered": entity.properties.ordered }))
            .into_http_response(),
        None => HttpResponse::new(StatusCode::NOT_FOUND),
    }
}

/// A device reading from the event hub.
#[derive(Debug, Serialize, Deserialize)]
struct Reading {
    device: String,
    celsius: f64,
}

#[function(
    name = "telemetry",
    event_hub_trigger(event_hub_name = "telemetry", consumer_group = "archive", connection = "EventHubs"),
    sql_output(command_text = "dbo.Readings", connection_string_setting = "Sql"),
    retry(fixed_delay, max_retry_count = 3, delay_interval = "00:00:05")
)]
async fn telemetry(readings: Vec<Reading>, batch: EventHubBatchMetadata) -> Vec<Reading> {
    println!(
        "archiving {} readings of partition {}",
        readings.len(),
        batch.partition_context.partition_id
    );
    readings
}

#[function(name = "order-events", event_grid_trigger)]
async fn order_events(event: EventGridEvent) {
    println!("order event {}: {}", event.event_type, event.subject);
}

#[function(
    name = "price-changes",
    sql_trigger(table_name = "dbo.Prices", connection_string_setting = "Sql")
)]
async fn price_changes(changes: Vec<SqlChange<Value>>) {
    for change in changes {
        println!("price {:?}: {}", change.operation, change.item);
    }
}

fn main() {
    azfn::App::new().run();
}
