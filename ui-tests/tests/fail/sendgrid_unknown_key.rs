use azfn::prelude::*;

#[function(queue_trigger(queue_name = "mails"), sendgrid_output(to = "ops@example.com", cc = "boss@example.com"))]
async fn mail(message: String) -> String {
    message
}

fn main() {}
