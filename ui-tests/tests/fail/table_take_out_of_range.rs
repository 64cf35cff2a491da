use azfn::prelude::*;

#[function(http_trigger(route = "stock"))]
async fn stock(#[table_input(table_name = "stock", partition_key = "shop-1", take = 0)] rows: Vec<serde_json::Value>) -> String {
    rows.len().to_string()
}

fn main() {}
