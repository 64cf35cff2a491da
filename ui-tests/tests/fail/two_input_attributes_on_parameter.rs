use azfn::prelude::*;

#[function(http_trigger(route = "orders/{id}"))]
async fn order(
    #[table_input(table_name = "orders", partition_key = "all", row_key = "{id}")]
    #[cosmos_db_input(database_name = "shop", container_name = "orders", connection = "Cosmos", id = "{id}")]
    order: serde_json::Value,
) -> Json<serde_json::Value> {
    Json(order)
}

fn main() {}
