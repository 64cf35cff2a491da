//! Forwarding mode (`enableForwardingHttpRequest` in host.json): for HTTP-only functions the
//! host sends the client's request itself, at its original path (`/api/orders/7?full=1`), and
//! relays the worker's response as it is. No JSON envelope, no base64, any body.
//!
//! A function qualifies when the host would forward to it: exactly one input binding, an
//! `httpTrigger`, and exactly one output binding, an `http` (reference §2). Its route
//! template, under the host's route prefix, picks it; its `methods` filter it.

use std::collections::{BTreeMap, HashMap};

use azfn_bindings::validate::route::{RouteTemplate, parse_route};
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
    /// The routes whose template starts with a literal segment, by that segment's
    /// [`literal_key`], in registry order: only they can match a path starting with it.
    by_first_literal: HashMap<String, Vec<usize>>,
    /// The other routes (starting with a parameter), in registry order.
    unkeyed: Vec<usize>,
}

/// A route segment's text with every character mapped as the route matcher compares literals
/// (`RouteTemplate::match_path`: one-character uppercase mappings, case-insensitive as ASP.NET
/// is), so two texts have the same key exactly when the matcher finds them equal.
fn literal_key(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii() {
                return c.to_ascii_uppercase();
            }
            let mut upper = c.to_uppercase();
            match (upper.next(), upper.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        })
        .collect()
}

/// The first segment of a route template when it is plain literal text.
fn first_literal(route: &str) -> Option<&str> {
    let first = route.split('/').next()?;
    (!first.is_empty() && !first.contains(['{', '}'])).then_some(first)
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
                Some((
                    route,
                    ForwardRoute {
                        template,
                        methods,
                        function,
                    },
                ))
            })
            .collect();
        ForwardRoutes::from_routes(prefix, routes)
    }

    /// The routes, with the route template each was parsed from, in the order they are tried.
    fn from_routes(prefix: &str, routes: Vec<(&str, ForwardRoute)>) -> Self {
        let mut by_first_literal: HashMap<String, Vec<usize>> = HashMap::new();
        let mut unkeyed = Vec::new();
        for (index, (route, _)) in routes.iter().enumerate() {
            match first_literal(route) {
                Some(first) => by_first_literal.entry(literal_key(first)).or_default().push(index),
                None => unkeyed.push(index),
            }
        }
        ForwardRoutes {
            prefix: prefix.trim_matches('/').to_owned(),
            routes: routes.into_iter().map(|(_, route)| route).collect(),
            by_first_literal,
            unkeyed,
        }
    }

    /// The function and route values for a forwarded request, if one matches.
    pub(crate) fn find(
        &self,
        method: &Method,
        path: &str,
    ) -> Option<(&'static FunctionDescription, Vec<(String, String)>)> {
        self.matching(method, path)
            .map(|(index, values)| (self.routes[index].function, values))
    }

    /// The index of the first route matching the request, and its route values.
    fn matching(&self, method: &Method, path: &str) -> Option<(usize, Vec<(String, String)>)> {
        let rest = self.strip_prefix(path)?;
        let decoded = percent_decode(rest);
        // Only routes whose first literal is the path's first segment, or that start with a
        // parameter, can match; they are tried in registry order, as all routes would be.
        let first = decoded.strip_suffix('/').unwrap_or(&decoded).split('/').next();
        let keyed = first
            .filter(|first| !first.is_empty())
            .and_then(|first| self.by_first_literal.get(&literal_key(first)))
            .map_or(&[][..], Vec::as_slice);
        merged(keyed, &self.unkeyed).find_map(|index| {
            let route = &self.routes[index];
            let allowed = route.methods.as_ref().is_none_or(|methods| methods.contains(method));
            let values = route.template.match_path(&decoded)?;
            allowed.then_some((index, values))
        })
    }

    /// The request's path below the prefix: `None` if it is not under it.
    fn strip_prefix<'p>(&self, path: &'p str) -> Option<&'p str> {
        let path = path.trim_start_matches('/');
        if self.prefix.is_empty() {
            return Some(path);
        }
        let rest = path.strip_prefix(self.prefix.as_str())?;
        (rest.is_empty() || rest.starts_with('/')).then(|| rest.trim_start_matches('/'))
    }
}

/// The indices of two ascending lists, in ascending order.
fn merged<'a>(a: &'a [usize], b: &'a [usize]) -> impl Iterator<Item = usize> + 'a {
    let (mut a, mut b) = (a.iter().peekable(), b.iter().peekable());
    std::iter::from_fn(move || match (a.peek(), b.peek()) {
        (Some(&&x), Some(&&y)) if x < y => a.next().copied(),
        (_, Some(_)) => b.next().copied(),
        (Some(_), None) => a.next().copied(),
        (None, None) => None,
    })
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
    let params = route_values.into_iter().collect();
    let request = HttpRequest::from_parts(
        parts.method,
        url,
        parts.headers,
        query,
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

    #[test]
    fn components_decode_like_urls() {
        assert_eq!(decode_component("a%20b%2Fc", false), "a b/c");
        assert_eq!(decode_component("a+b", true), "a b");
        assert_eq!(decode_component("a+b", false), "a+b");
        assert_eq!(decode_component("100%", false), "100%");
        assert_eq!(decode_component("%zz", false), "%zz");
    }

    fn never_called(_: Invocation) -> crate::function::InvokeFuture {
        Box::pin(async { Ok(crate::invocation::Outputs::default()) })
    }

    static ANY: FunctionDescription = FunctionDescription {
        name: "any",
        rust_path: "tests::any",
        location: (file!(), line!()),
        bindings: &[],
        return_bindings: &[],
        retry: None,
        invoke: never_called,
    };

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

    /// Indexing routes by their first literal finds what trying every route in order finds.
    #[test]
    fn the_first_literal_index_finds_what_a_full_scan_finds() {
        let templates = [
            ("orders/{id:int}", None),
            ("{category}/{id}", Some(vec![Method::GET])),
            ("ORDERS/{*rest}", None),
            ("café/menu", None),
            ("straße", None),
            ("{{x}}/{id}", None),
            ("files/{name}.{ext?}", None),
            ("", None),
            ("{*all}", Some(vec![Method::DELETE])),
            ("hello", Some(vec![Method::GET])),
            ("Hello/{name?}", None),
            ("a/b/c", None),
        ];
        let paths = [
            "/api/orders/7",
            "/api/Orders/x/y",
            "/api/ORDERS/7/",
            "/api/CAFÉ/menu",
            "/api/caf%C3%A9/MENU",
            "/api/STRASSE",
            "/api/straße",
            "/api/%7Bx%7D/5",
            "/api/files/a.txt",
            "/api/files/a.",
            "/api",
            "/api/",
            "/api/hello",
            "/api/HELLO/",
            "/api/hello/bob",
            "/api/a/b/c",
            "/api/a/b",
            "/api/%2Fhello",
            "/api//hello",
            "/apix/hello",
            "/other/hello",
            "/api/x/y",
            "/api/x/y/z",
            "/api/hello%2Fbob",
        ];
        for prefix in ["api", ""] {
            let routes = ForwardRoutes::from_routes(
                prefix,
                templates
                    .iter()
                    .map(|(route, methods)| {
                        let template = parse_route(route).expect("a valid template");
                        let methods = methods.clone();
                        (
                            *route,
                            ForwardRoute {
                                template,
                                methods,
                                function: &ANY,
                            },
                        )
                    })
                    .collect(),
            );
            for path in paths {
                for method in [Method::GET, Method::DELETE] {
                    let full_scan = routes.strip_prefix(path).and_then(|rest| {
                        let decoded = percent_decode(rest);
                        routes.routes.iter().enumerate().find_map(|(index, route)| {
                            let allowed = route.methods.as_ref().is_none_or(|m| m.contains(&method));
                            let values = route.template.match_path(&decoded)?;
                            allowed.then_some((index, values))
                        })
                    });
                    assert_eq!(
                        routes.matching(&method, path),
                        full_scan,
                        "{method} {path} under {prefix:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn repeated_query_keys_join_with_commas() {
        let pairs = query_pairs("tag=a&tag=b&q=green+tea&empty=");
        assert_eq!(pairs["tag"], "a,b");
        assert_eq!(pairs["q"], "green tea");
        assert_eq!(pairs["empty"], "");
    }
}
