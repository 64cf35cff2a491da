//! Two functions with the same name (case-insensitively) in one binary: refused at start with
//! a message naming both.

use azfn::prelude::*;

mod first {
    use super::*;
    #[function(name = "Orders", http_trigger(methods = "get"))]
    pub async fn list(req: HttpRequest) -> String {
        req.url().to_owned()
    }
}

mod second {
    use super::*;
    #[function(name = "orders", queue_trigger(queue_name = "orders"))]
    pub async fn drain(message: String) {
        let _ = message;
    }
}

#[test]
fn duplicate_function_names_are_refused_with_both_locations() {
    let error = azfn::Registry::global().unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("`Orders`") || message.contains("`orders`"),
        "{message}"
    );
    assert!(
        message.contains("first::list") && message.contains("second::drain"),
        "{message}"
    );
    assert!(message.contains("duplicate_names.rs"), "{message}");
    assert!(message.contains("#[function(name = "), "{message}");
}

#[test]
fn the_app_refuses_to_start_or_write_with_duplicates() {
    let code = azfn::App::new().run_with_args(["--list".to_owned()]);
    assert_eq!(code, std::process::ExitCode::FAILURE);
}
