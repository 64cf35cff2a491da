use azfn::prelude::*;

#[derive(FunctionOutput)]
struct Fanout {
    #[queue_output(queue_name = "orders")]
    #[service_bus_output(queue_or_topic_name = "orders")]
    orders: Vec<String>,
}

fn main() {}
