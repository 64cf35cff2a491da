//! The route table: which HTTP function a request reaches, as the Functions host decides.
//!
//! The host registers every HTTP function's template under the route prefix with ASP.NET Core
//! routing, so:
//!
//! * the prefix and literal segments compare ignoring case;
//! * the request path is percent-decoded before matching, except `%2F`, which stays as it is
//!   (a decoded `/` would change the segments), as Kestrel leaves it;
//! * among the templates that match the path, the most specific wins: segment by segment, a
//!   literal before a mixed segment before a constrained parameter before a plain parameter
//!   before a catch-all (ASP.NET's inbound precedence); templates of equal precedence keep
//!   the order they were given in;
//! * the method is checked after the route: the first template in that order that matches the
//!   path and accepts the method answers; when templates match the path but none accepts the
//!   method, the host answers 404 as for no match, and [`RouteLookup::WrongMethod`] says which
//!   methods would have worked.
//!
//! The local host of `cargo azfn start` and the worker's forwarding and proxying modes both
//! route with this table, so they cannot disagree.

use std::collections::HashMap;

use super::{RouteTemplate, eq_ignore_case, literal_key};
use crate::percent::decode_path;

/// Templates with the methods they accept and a value each (a function, an index).
#[derive(Debug, Clone)]
pub struct RouteTable<T> {
    /// The route prefix, without surrounding slashes (`api`, or empty).
    prefix: String,
    /// In precedence order.
    routes: Vec<Route<T>>,
    /// The routes whose first segment is a literal, by its [`literal_key`], in precedence
    /// order: only they can match a path starting with that segment.
    by_first_literal: HashMap<String, Vec<usize>>,
    /// The routes starting with a parameter, in precedence order.
    unkeyed: Vec<usize>,
}

#[derive(Debug, Clone)]
struct Route<T> {
    template: RouteTemplate,
    /// Upper case; `None` accepts every method.
    methods: Option<Vec<String>>,
    value: T,
}

/// What a request leads to.
#[derive(Debug, PartialEq, Eq)]
pub enum RouteLookup<'a, T> {
    /// The route that answers, with its route values (defaults applied).
    Found {
        /// The route's value.
        value: &'a T,
        /// The route values, in template order.
        values: Vec<(String, String)>,
    },
    /// Routes match the path, but none accepts the method.
    WrongMethod {
        /// The values of the routes that match the path, in precedence order.
        matched: Vec<&'a T>,
        /// The methods they accept, sorted.
        allowed: Vec<String>,
    },
    /// No route matches the path (or it is not under the prefix).
    NotFound,
}

impl<T> RouteTable<T> {
    /// A table of `routes` (template, accepted methods or `None` for all, value) under `prefix`.
    pub fn new<M: AsRef<str>>(
        prefix: &str,
        routes: impl IntoIterator<Item = (RouteTemplate, Option<Vec<M>>, T)>,
    ) -> RouteTable<T> {
        let mut routes: Vec<(Vec<u8>, Route<T>)> = routes
            .into_iter()
            .map(|(template, methods, value)| {
                let methods = methods.map(|methods| methods.iter().map(|m| m.as_ref().to_ascii_uppercase()).collect());
                (
                    template.precedence(),
                    Route {
                        template,
                        methods,
                        value,
                    },
                )
            })
            .collect();
        // Stable: equal precedence keeps the given order.
        routes.sort_by(|a, b| a.0.cmp(&b.0));
        let routes: Vec<Route<T>> = routes.into_iter().map(|(_, route)| route).collect();
        let mut by_first_literal: HashMap<String, Vec<usize>> = HashMap::new();
        let mut unkeyed = Vec::new();
        for (index, route) in routes.iter().enumerate() {
            match route.template.first_literal() {
                Some(first) => by_first_literal.entry(literal_key(first)).or_default().push(index),
                None => unkeyed.push(index),
            }
        }
        RouteTable {
            prefix: prefix.trim_matches('/').to_owned(),
            routes,
            by_first_literal,
            unkeyed,
        }
    }

    /// The route prefix, without surrounding slashes.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether the table has no routes.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// The route for a request: `method` (any case) and `raw_path`, the path as it arrived
    /// (percent-encoded, with the prefix, without the query).
    ///
    /// ```
    /// use azfn_bindings::route::{RouteLookup, RouteTable, parse_route};
    /// let route = |t: &str| parse_route(t).unwrap();
    /// let table = RouteTable::new("api", [
    ///     (route("orders/{id}"), None, "by_id"),
    ///     (route("orders/special"), Some(vec!["GET"]), "special"),
    /// ]);
    /// let RouteLookup::Found { value, .. } = table.find("GET", "/API/Orders/special") else { panic!() };
    /// assert_eq!(*value, "special");
    /// let RouteLookup::Found { value, values } = table.find("POST", "/api/orders/special") else { panic!() };
    /// assert_eq!((*value, values), ("by_id", vec![("id".to_owned(), "special".to_owned())]));
    /// assert_eq!(table.find("GET", "/orders/7"), RouteLookup::NotFound);
    /// ```
    pub fn find(&self, method: &str, raw_path: &str) -> RouteLookup<'_, T> {
        let Some(rest) = strip_prefix(&self.prefix, raw_path) else {
            return RouteLookup::NotFound;
        };
        let path = decode_path(rest);
        let first = path.strip_suffix('/').unwrap_or(&path).split('/').next();
        let keyed = first
            .filter(|first| !first.is_empty())
            .and_then(|first| self.by_first_literal.get(&literal_key(first)))
            .map_or(&[][..], Vec::as_slice);
        let accepts = |route: &Route<T>| {
            route
                .methods
                .as_ref()
                .is_none_or(|methods| methods.iter().any(|m| m.eq_ignore_ascii_case(method)))
        };
        // The candidates in precedence order; the method is cheaper to check than the path.
        let found = merged(keyed, &self.unkeyed).find_map(|index| {
            let route = &self.routes[index];
            if !accepts(route) {
                return None;
            }
            let values = route.template.match_path(&path)?;
            Some(RouteLookup::Found {
                value: &route.value,
                values,
            })
        });
        if let Some(found) = found {
            return found;
        }
        let matched: Vec<&Route<T>> = merged(keyed, &self.unkeyed)
            .map(|index| &self.routes[index])
            .filter(|route| route.template.match_path(&path).is_some())
            .collect();
        if matched.is_empty() {
            return RouteLookup::NotFound;
        }
        let mut allowed: Vec<String> = matched
            .iter()
            .flat_map(|route| route.methods.iter().flatten().cloned())
            .collect();
        allowed.sort();
        allowed.dedup();
        RouteLookup::WrongMethod {
            matched: matched.into_iter().map(|route| &route.value).collect(),
            allowed,
        }
    }
}

/// The path under the route prefix, without its leading `/`; `None` if the path is not under
/// the prefix. The prefix compares ignoring case, like literals.
fn strip_prefix<'p>(prefix: &str, path: &'p str) -> Option<&'p str> {
    let path = path.strip_prefix('/').unwrap_or(path);
    if prefix.is_empty() {
        return Some(path);
    }
    let head = path.get(..prefix.len())?;
    if !eq_ignore_case(head, prefix) {
        return None;
    }
    let rest = &path[prefix.len()..];
    if rest.is_empty() {
        Some(rest)
    } else {
        rest.strip_prefix('/')
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::parse_route;

    fn table(prefix: &str, routes: &[(&'static str, Option<&[&str]>)]) -> RouteTable<&'static str> {
        RouteTable::new(
            prefix,
            routes
                .iter()
                .map(|&(template, methods)| (parse_route(template).unwrap(), methods.map(|m| m.to_vec()), template)),
        )
    }

    fn found<'a>(table: &'a RouteTable<&'static str>, method: &str, path: &str) -> Option<(&'a str, String)> {
        match table.find(method, path) {
            RouteLookup::Found { value, values } => Some((
                *value,
                values
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(","),
            )),
            _ => None,
        }
    }

    #[test]
    fn the_most_specific_route_wins_whatever_the_order() {
        let routes: &[(&str, Option<&[&str]>)] = &[
            ("orders/{*rest}", None),
            ("orders/{name}", None),
            ("orders/{id:int}", None),
            ("orders/special", None),
            ("orders/{name}.{ext}", None),
        ];
        let forward = table("api", routes);
        let mut reversed_routes = routes.to_vec();
        reversed_routes.reverse();
        let reversed = table("api", &reversed_routes);
        for table in [&forward, &reversed] {
            let cases = [
                ("/api/orders/special", "orders/special", ""),
                ("/api/ORDERS/Special", "orders/special", ""),
                ("/API/orders/7", "orders/{id:int}", "id=7"),
                ("/api/orders/abc", "orders/{name}", "name=abc"),
                ("/api/orders/report.pdf", "orders/{name}.{ext}", "name=report,ext=pdf"),
                ("/api/orders/a/b", "orders/{*rest}", "rest=a/b"),
                ("/api/orders/a%2Fb", "orders/{name}", "name=a%2Fb"),
                ("/api/orders/caf%C3%A9", "orders/{name}", "name=café"),
            ];
            for (path, route, values) in cases {
                assert_eq!(found(table, "GET", path), Some((route, values.to_owned())), "{path}");
            }
        }
    }

    #[test]
    fn the_method_is_checked_after_the_route() {
        let table = table(
            "api",
            &[
                ("things/special", Some(&["get"][..])),
                ("things/{id}", Some(&["POST"][..])),
            ],
        );
        assert_eq!(
            found(&table, "post", "/api/things/special"),
            Some(("things/{id}", "id=special".to_owned()))
        );
        assert_eq!(
            table.find("GET", "/api/things/x"),
            RouteLookup::WrongMethod {
                matched: vec![&"things/{id}"],
                allowed: vec!["POST".to_owned()]
            }
        );
        assert_eq!(
            table.find("DELETE", "/api/things/special"),
            RouteLookup::WrongMethod {
                matched: vec![&"things/special", &"things/{id}"],
                allowed: vec!["GET".to_owned(), "POST".to_owned()]
            }
        );
        assert_eq!(table.find("GET", "/api/nothing"), RouteLookup::NotFound);
    }

    #[test]
    fn the_prefix_ignores_case_and_may_be_empty() {
        let routes: &[(&str, Option<&[&str]>)] = &[("hello", None), ("", None)];
        let api = table("/api/", routes);
        assert_eq!(api.prefix(), "api");
        assert!(found(&api, "GET", "/Api/hello").is_some());
        assert_eq!(found(&api, "GET", "/api"), Some(("", String::new())));
        assert_eq!(found(&api, "GET", "/apis/hello"), None);
        assert_eq!(found(&api, "GET", "/hello"), None);
        let bare = table("", routes);
        assert_eq!(found(&bare, "GET", "/hello"), Some(("hello", String::new())));
        let nested = table("v1/api", routes);
        assert!(found(&nested, "GET", "/V1/API/hello").is_some());
    }

    /// Indexing routes by their first literal finds what trying every route in precedence
    /// order finds.
    #[test]
    fn the_first_literal_index_finds_what_a_full_scan_finds() {
        let templates: &[(&str, Option<&[&str]>)] = &[
            ("orders/{id:int}", None),
            ("{category}/{id}", Some(&["GET"][..])),
            ("ORDERS/{*rest}", None),
            ("café/menu", None),
            ("straße", None),
            ("{{x}}/{id}", None),
            ("files/{name}.{ext?}", None),
            ("", None),
            ("{*all}", Some(&["DELETE"][..])),
            ("hello", Some(&["GET"][..])),
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
            let table = table(prefix, templates);
            for path in paths {
                for method in ["GET", "DELETE"] {
                    let full_scan = strip_prefix(&table.prefix, path).and_then(|rest| {
                        let decoded = decode_path(rest);
                        table.routes.iter().find_map(|route| {
                            let allowed = route.methods.as_ref().is_none_or(|m| m.iter().any(|m| m == method));
                            let values = route.template.match_path(&decoded)?;
                            allowed.then_some((route.value, values))
                        })
                    });
                    let indexed = match table.find(method, path) {
                        RouteLookup::Found { value, values } => Some((*value, values)),
                        _ => None,
                    };
                    assert_eq!(indexed, full_scan, "{method} {path} under {prefix:?}");
                }
            }
        }
    }
}
