use azfn::prelude::*;

#[function(blob_trigger(path = "inbox/{name}", source = "Polling"))]
async fn inbox(content: Vec<u8>) {
    let _ = content;
}

fn main() {}
