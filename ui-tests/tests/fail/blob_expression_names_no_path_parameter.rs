use azfn::prelude::*;

#[function(blob_trigger(path = "inbox/{name}"), blob_output(path = "outbox/{filename}"))]
async fn copy(content: Vec<u8>) -> Vec<u8> {
    content
}

fn main() {}
