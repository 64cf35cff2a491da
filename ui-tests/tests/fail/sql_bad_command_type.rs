use azfn::prelude::*;

#[function(http_trigger(route = "items"))]
async fn items(
    #[sql_input(command_text = "SELECT * FROM dbo.Items", command_type = "query", connection_string_setting = "Sql")]
    items: Vec<serde_json::Value>,
) -> Json<Vec<serde_json::Value>> {
    Json(items)
}

fn main() {}
