use azfn::prelude::*;

#[function(http_trigger(route = "stock"))]
async fn stock(#[table_input(table_name = "stock", row_key = "tea")] row: serde_json::Value) -> String {
    row.to_string()
}

fn main() {}
