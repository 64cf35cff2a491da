//! Forwarding mode (`enableForwardingHttpRequest` in host.json): for HTTP-only functions the
//! host sends the client's request itself, at its original path (`/api/orders/7?full=1`), and
//! relays the worker's response as it is. No JSON envelope, no base64, any body.
//!
//! A function qualifies when the host would forward to it: exactly one input binding, an
//! `httpTrigger`, and exactly one output binding, an `http` (reference §2). Its route
//! template, under the host's route prefix, picks it; its `methods` filter it.

use std::collections::BTreeMap;

use azfn_bindings::validate::route::{RouteTemplate, parse_route};
use azfn_bindings::{Direction, PropertyValue};
use bytes::Bytes;
use http::Method;

use crate::data::BindingData;
use crate::function::{FunctionDescription, Registry};
use crate::http::HttpRequest;
use crate::invocation::Invocation;

/// The route prefix when host.json sets none.
const DEFAULT_ROUTE_PREFIX: &str = "api";

/// One forwardable function.
struct ForwardRoute {
    template: RouteTemplate,
    methods: Option<Vec<Method>>,
    function: &'static FunctionDescription,
}

/// The routes of every function the host may forward requests to.
pub(crate) struct ForwardRoutes {
    prefix: String,
    routes: Vec<ForwardRoute>,
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
                    Some(PropertyValue::List(list)) => Some(
                        list.iter()
                            .filter_map(|m| m.to_ascii_uppercase().parse().ok())
                            .collect(),
                    ),
                    _ => None,
                };
                // Templates were checked at compile time; one that fails here is skipped.
                let template = parse_route(route).ok()?;
                Some(ForwardRoute {
                    template,
                    methods,
                    function,
                })
            })
            .collect();
        ForwardRoutes {
            prefix: prefix.trim_matches('/').to_owned(),
            routes,
        }
    }

    /// The function and route values for a forwarded request, if one matches.
    pub(crate) fn find(
        &self,
        method: &Method,
        path: &str,
    ) -> Option<(&'static FunctionDescription, Vec<(String, String)>)> {
        let path = path.trim_start_matches('/');
        let rest = if self.prefix.is_empty() {
            path
        } else {
            let rest = path.strip_prefix(self.prefix.as_str())?;
            if !(rest.is_empty() || rest.starts_with('/')) {
                return None;
            }
            rest.trim_start_matches('/')
        };
        let decoded = percent_decode(rest);
        self.routes.iter().find_map(|route| {
            let allowed = route.methods.as_ref().is_none_or(|methods| methods.contains(method));
            let values = route.template.match_path(&decoded)?;
            allowed.then_some((route.function, values))
        })
    }
}

/// `%XX` escapes decoded; invalid ones kept as they are. `plus_is_space` for query strings.
fn decode_component(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn percent_decode(path: &str) -> String {
    decode_component(path, false)
}

/// Query parameters as the host gives them: decoded, repeated keys joined with `,`.
fn query_pairs(query: &str) -> BTreeMap<String, String> {
    let mut pairs: BTreeMap<String, String> = BTreeMap::new();
    for part in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = part.split_once('=').unwrap_or((part, ""));
        let (key, value) = (decode_component(key, true), decode_component(value, true));
        pairs
            .entry(key)
            .and_modify(|v| {
                v.push(',');
                v.push_str(&value);
            })
            .or_insert(value);
    }
    pairs
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
    let query = parts.uri.query().map(query_pairs).unwrap_or_default();
    let mut invocation = Invocation::new(function, invocation_id);
    for (name, value) in query.iter().chain(route_values.iter().map(|(k, v)| (k, v))) {
        invocation.metadata.insert(name.clone(), value.clone().into());
    }
    let params = route_values.into_iter().collect();
    let request = HttpRequest::from_parts(parts.method, url, parts.headers, query, params, body);
    invocation
        .data
        .insert(function.trigger().name.to_owned(), BindingData::Http(Box::new(request)));
    invocation
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_decode_like_urls() {
        assert_eq!(decode_component("a%20b%2Fc", false), "a b/c");
        assert_eq!(decode_component("a+b", true), "a b");
        assert_eq!(decode_component("a+b", false), "a+b");
        assert_eq!(decode_component("100%", false), "100%");
        assert_eq!(decode_component("%zz", false), "%zz");
    }

    #[test]
    fn repeated_query_keys_join_with_commas() {
        let pairs = query_pairs("tag=a&tag=b&q=green+tea&empty=");
        assert_eq!(pairs["tag"], "a,b");
        assert_eq!(pairs["q"], "green tea");
        assert_eq!(pairs["empty"], "");
    }
}
