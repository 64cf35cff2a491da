use azfn::prelude::*;

#[function(cosmos_db_trigger(
    database_name = "shop",
    container_name = "orders",
    connection = "Cosmos",
    create_lease_container_if_not_exists,
    leases_container_throughput = 100
))]
async fn changes(documents: Vec<serde_json::Value>) {
    let _ = documents;
}

fn main() {}
