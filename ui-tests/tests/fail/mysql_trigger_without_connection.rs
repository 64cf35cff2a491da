use azfn::prelude::*;

#[function(mysql_trigger(table_name = "orders"))]
async fn changes(changes: Vec<azfn::SqlChange<serde_json::Value>>) {
    let _ = changes;
}

fn main() {}
