use azfn::prelude::*;

#[function(cosmos_db_trigger(
    database_name = "shop",
    container_name = "orders",
    connection = "Cosmos",
    change_feed_mode = "FullFidelity"
))]
async fn changes(documents: Vec<serde_json::Value>) {
    let _ = documents;
}

fn main() {}
