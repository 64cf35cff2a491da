//! Managing instances over HTTP: cancel or clean up an instance together with the
//! sub-orchestrations it started (the client's recursive terminate and purge).

use azfn::durable::DurableClient;
use azfn::prelude::*;

/// `POST /api/instances/{id}/{action}` with `action` one of:
///
/// - `terminate`: terminates the instance and, recursively, its sub-orchestrations, with the
///   request's text body as the reason; answers `202 Accepted` (termination is asynchronous).
/// - `purge`: deletes the history of the finished instance and of its sub-orchestrations;
///   answers `200` with `{"purged": <instances deleted>}`.
///
/// Answers `404` for an unknown action or instance.
#[function(http_trigger(route = "instances/{id}/{action}", methods = "post"))]
pub async fn manage_instance(
    req: HttpRequest,
    #[durable_client] client: DurableClient,
) -> Result<HttpResponse, azfn::Error> {
    let (Some(id), Some(action)) = (req.param("id"), req.param("action")) else {
        return Err(azfn::Error::bad_request("the route has no instance id or action"));
    };
    let not_found = |e: azfn::durable::client::ClientError| {
        if e.is_not_found() {
            azfn::Error::not_found(format!("no instance `{id}`"))
        } else {
            e.into()
        }
    };
    match action {
        "terminate" => {
            let reason = String::from_utf8_lossy(req.body()).into_owned();
            client.terminate_recursive(id, &reason).await.map_err(not_found)?;
            Ok(HttpResponse::new(StatusCode::ACCEPTED))
        }
        "purge" => {
            let purged = client.purge_recursive(id).await.map_err(not_found)?;
            Ok(HttpResponse::ok().json(&serde_json::json!({"purged": purged.deleted_instance_count})))
        }
        other => Err(azfn::Error::not_found(format!(
            "no action `{other}`: use `terminate` or `purge`"
        ))),
    }
}
