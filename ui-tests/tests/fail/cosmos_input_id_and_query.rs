use azfn::prelude::*;

#[function(http_trigger(route = "orders/{id}"))]
async fn order(
    #[cosmos_db_input(
        database_name = "shop",
        container_name = "orders",
        connection = "Cosmos",
        id = "{id}",
        sql_query = "SELECT * FROM c"
    )]
    order: serde_json::Value,
) -> Json<serde_json::Value> {
    Json(order)
}

fn main() {}
