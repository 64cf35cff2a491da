//! Forwarding mode (`enableForwardingHttpRequest` in host.json): for HTTP-only functions the
//! host sends the client's request itself, at its original path (`/api/orders/7?full=1`), and
//! relays the worker's response as it is. No JSON envelope, no base64, any body.
//!
//! A function qualifies when the host would forward to it: exactly one input binding, an
//! `httpTrigger`, and exactly one output binding, an `http`; any other function still gets the JSON envelope. Its route
//! template, under the host's route prefix, picks it; its `methods` filter it.

use azfn_bindings::route::{RouteLookup, RouteTable, parse_route};
use azfn_bindings::{Direction, PropertyValue};
use bytes::Bytes;
use http::Method;
use serde_json::{Map, Value};

use crate::data::BindingData;
use crate::function::{FunctionDescription, Registry};
use crate::http::{HttpRequest, IdentityList};
use crate::invocation::{Invocation, Metadata};

/// The route prefix when host.json sets none.
const DEFAULT_ROUTE_PREFIX: &str = "api";

/// The routes of every function the host may forward requests to, in the host's route table
/// (precedence, case-insensitive prefix and literals, `%2F` kept).
pub(crate) struct ForwardRoutes {
    table: RouteTable<&'static FunctionDescription>,
}

/// Whether the host forwards this function's requests (`IsHttpInAndOutFunction`).
pub(crate) fn is_http_in_and_out(function: &FunctionDescription) -> bool {
    let (inputs, outputs): (Vec<_>, Vec<_>) = function.all_bindings().partition(|b| b.direction() == Direction::In);
    matches!(inputs.as_slice(), [only] if only.kind.is_http_trigger())
        && matches!(outputs.as_slice(), [only] if only.kind.is_http_output())
}

/// host.json's `extensions.http.routePrefix`, read from the working directory the host starts
/// the worker in; `api` when unset.
pub(crate) fn route_prefix_from_host_json() -> String {
    std::fs::read("host.json")
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|host| {
            host.pointer("/extensions/http/routePrefix")?
                .as_str()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| DEFAULT_ROUTE_PREFIX.to_owned())
}

impl ForwardRoutes {
    /// The forwardable functions of `registry`, under `prefix`.
    pub(crate) fn new(registry: &Registry, prefix: &str) -> Self {
        let routes = registry
            .functions()
            .filter(|f| is_http_in_and_out(f))
            .filter_map(|function| {
                let trigger = function.trigger();
                let route = match trigger.property("route") {
                    Some(PropertyValue::Str(route)) => route,
                    _ => function.name,
                };
                let methods = match trigger.property("methods") {
                    Some(PropertyValue::List(list)) => Some(list.to_vec()),
                    _ => None,
                };
                // Templates were checked at compile time; one that fails here is skipped.
                let template = parse_route(route).ok()?;
                Some((template, methods, function))
            });
        ForwardRoutes {
            table: RouteTable::new(prefix, routes),
        }
    }

    /// The function and route values for a forwarded request, if one matches.
    pub(crate) fn find(
        &self,
        method: &Method,
        path: &str,
    ) -> Option<(&'static FunctionDescription, Vec<(String, String)>)> {
        match self.table.find(method.as_str(), path) {
            RouteLookup::Found { value, values } => Some((*value, values)),
            RouteLookup::WrongMethod { .. } | RouteLookup::NotFound => None,
        }
    }
}

/// The invocation of `function` for a forwarded request: the request's parts are moved into
/// the [`HttpRequest`] as they are.
pub(crate) fn invocation(
    function: &'static FunctionDescription,
    invocation_id: String,
    parts: http::request::Parts,
    route_values: Vec<(String, String)>,
    body: Bytes,
) -> Invocation {
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let path_and_query = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let url = format!("http://{host}{path_and_query}");
    // The query is the URL's end.
    let query_start = parts.uri.query().map(|query| url.len() - query.len());
    let mut invocation = Invocation::new(function, invocation_id);
    let params = route_values.into_iter().collect();
    let request = HttpRequest::from_forwarded_parts(
        parts.method,
        url,
        query_start,
        parts.headers,
        params,
        IdentityList::default(),
        body,
    );
    // Made from the request when something reads it: most functions never do.
    invocation.metadata = Metadata::of_request(request.clone(), forwarded_metadata);
    invocation
        .data
        .insert(function.trigger().name.to_owned(), BindingData::Http(request));
    invocation
}

/// The metadata the host gives a forwarded request: its query values, then its route values
/// (which win over a query value of the same name), as text.
fn forwarded_metadata(request: &HttpRequest) -> Map<String, Value> {
    request
        .query_pairs()
        .iter()
        .chain(request.params())
        .map(|(name, value)| (name.clone(), Value::String(value.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn never_called(_: Invocation) -> crate::function::InvokeFuture {
        Box::pin(async { Ok(crate::invocation::Outputs::default()) })
    }

    #[test]
    fn a_forwarded_requests_metadata_holds_its_query_then_its_route_values() {
        use azfn_bindings::{BindingDescription, PropertyValue, catalog};
        static BINDINGS: [BindingDescription; 1] = [BindingDescription {
            kind: &catalog::HTTP_TRIGGER,
            name: "req",
            data_type: None,
            properties: &[("route", PropertyValue::Str("items/{id}"))],
        }];
        static ITEMS: FunctionDescription = FunctionDescription {
            name: "items",
            rust_path: "tests::items",
            location: (file!(), line!()),
            bindings: &BINDINGS,
            return_bindings: &[],
            retry: None,
            streams_request_body: false,
            invoke: never_called,
        };
        let request = http::Request::get("/api/items/7?id=q&x=a%20b&x=c")
            .header("host", "example.org")
            .body(())
            .expect("a valid request");
        let (parts, ()) = request.into_parts();
        let route_values = vec![("id".to_owned(), "7".to_owned())];
        let invocation = invocation(&ITEMS, "id-1".into(), parts, route_values, Bytes::new());
        let expected = serde_json::json!({ "id": "7", "x": "a b,c" });
        assert_eq!(Some(&*invocation.metadata), expected.as_object());
        let BindingData::Http(request) = invocation.binding("req") else {
            panic!("the trigger holds the request");
        };
        assert_eq!(request.url(), "http://example.org/api/items/7?id=q&x=a%20b&x=c");
        assert_eq!((request.query("id"), request.param("id")), (Some("q"), Some("7")));
    }

    #[test]
    fn repeated_query_keys_join_with_commas() {
        let pairs = azfn_bindings::percent::decode_query_joined("tag=a&tag=b&q=green+tea&empty=");
        assert_eq!(pairs["tag"], "a,b");
        assert_eq!(pairs["q"], "green tea");
        assert_eq!(pairs["empty"], "");
    }
}
