use azfn::prelude::*;

#[function(cosmos_db_trigger(database_name = "shop", connection = "Cosmos"))]
async fn changes(documents: Vec<serde_json::Value>) {
    let _ = documents;
}

fn main() {}
