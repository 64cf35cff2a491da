use azfn::prelude::*;

#[function(http_trigger(route = "stock"))]
async fn stock(
    #[table_input(table_name = "stock", partition_key = "shop-1", row_key = "tea", filter = "count gt 0")] row: serde_json::Value,
) -> String {
    row.to_string()
}

fn main() {}
