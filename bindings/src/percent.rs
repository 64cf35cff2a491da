//! Percent-coding: request paths and query strings decoded as the Functions host's ASP.NET Core
//! gives them to routing and to functions, plain `%XX` decoding (gRPC's `grpc-message`), and
//! the encoding of URL components. One decoder for the local host, the worker's forwarding and
//! proxying modes, the native transport, the Durable client and `cargo azfn new` (file URLs),
//! so they read text alike.

/// A request path percent-decoded as ASP.NET Core gives it to routing: every valid `%XX`
/// escape is decoded except `%2F` (a `/`), which stays as written (a decoded `/` would change
/// the segments); invalid escapes stay too, and bytes that do not form UTF-8 become U+FFFD.
///
/// ```
/// use azfn_bindings::percent::decode_path;
/// assert_eq!(decode_path("caf%C3%A9/a%2Fb/100%"), "café/a%2Fb/100%");
/// ```
pub fn decode_path(path: &str) -> String {
    decode(path, false, |byte| byte != b'/')
}

/// A query-string name or value decoded as a form value: `+` is a space and every valid `%XX`
/// escape is decoded; invalid escapes stay as written.
///
/// ```
/// use azfn_bindings::percent::decode_query_component;
/// assert_eq!(decode_query_component("green+tea%2C%20hot%zz"), "green tea, hot%zz");
/// ```
pub fn decode_query_component(text: &str) -> String {
    decode(text, true, |_| true)
}

/// A query string's parameters, decoded, in order, repeats kept; a parameter without `=` has
/// an empty value, and one without a name is dropped (as ASP.NET Core's query parser does).
///
/// ```
/// use azfn_bindings::percent::decode_query;
/// assert_eq!(
///     decode_query("name=J%C3%BCrgen+M&flag&=x&a=1&a=2"),
///     [("name", "Jürgen M"), ("flag", ""), ("a", "1"), ("a", "2")].map(|(n, v)| (n.to_owned(), v.to_owned()))
/// );
/// ```
pub fn decode_query(query: &str) -> Vec<(String, String)> {
    query_pairs(query).collect()
}

/// The decoded parameters of [`decode_query`], one at a time.
fn query_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query
        .split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            (decode_query_component(name), decode_query_component(value))
        })
        .filter(|(name, _)| !name.is_empty())
}

/// A query string's parameters as the host hands them to a function: decoded, the values of a
/// repeated name joined with `,` (ASP.NET's `StringValues.ToString()`).
///
/// ```
/// use azfn_bindings::percent::decode_query_joined;
/// let query = decode_query_joined("tag=a&tag=b&q=green+tea&empty=");
/// assert_eq!((query["tag"].as_str(), query["q"].as_str(), query["empty"].as_str()), ("a,b", "green tea", ""));
/// ```
pub fn decode_query_joined(query: &str) -> std::collections::BTreeMap<String, String> {
    let mut joined = std::collections::BTreeMap::<String, String>::new();
    // Straight into the map: the list `decode_query` makes would only be walked once.
    for (name, value) in query_pairs(query) {
        joined
            .entry(name)
            .and_modify(|existing| {
                existing.push(',');
                existing.push_str(&value);
            })
            .or_insert(value);
    }
    joined
}

/// The value [`decode_query_joined`] gives `name`, read from `query` as written when nothing
/// about it needs decoding: `Some(value)`, `Some(None)` when absent; `None` when the answer
/// needs the decoded map (a name with `%` or `+` anywhere, which might decode to `name`; the
/// value found has either; or `name` is repeated, whose values are joined).
///
/// ```
/// use azfn_bindings::percent::query_value_as_written;
/// assert_eq!(query_value_as_written("name=x&flag&=y", "name"), Some(Some("x")));
/// assert_eq!(query_value_as_written("name=x&flag", "flag"), Some(Some("")));
/// assert_eq!(query_value_as_written("name=x", "other"), Some(None));
/// assert_eq!(query_value_as_written("name=a+b", "name"), None);
/// assert_eq!(query_value_as_written("name=a&name=b", "name"), None);
/// assert_eq!(query_value_as_written("na%6De=a", "name"), None);
/// ```
pub fn query_value_as_written<'a>(query: &'a str, name: &str) -> Option<Option<&'a str>> {
    // Byte scans: read with every request that asks for a value, where `str` patterns cost
    // more than the short query itself.
    let position = |text: &str, wanted: u8| text.bytes().position(|byte| byte == wanted);
    let coded = |text: &str| text.bytes().any(|byte| byte == b'%' || byte == b'+');
    let mut found = None;
    let mut rest = query;
    loop {
        let (part, next) = match position(rest, b'&') {
            Some(at) => (&rest[..at], Some(&rest[at + 1..])),
            None => (rest, None),
        };
        let (key, value) = match position(part, b'=') {
            Some(at) => (&part[..at], &part[at + 1..]),
            None => (part, ""),
        };
        if coded(key) {
            return None;
        }
        if !key.is_empty() && key == name {
            if found.is_some() || coded(value) {
                return None;
            }
            found = Some(value);
        }
        match next {
            Some(next) => rest = next,
            None => return Some(found),
        }
    }
}

/// Text with every valid `%XX` escape decoded and nothing else changed (`+` stays `+`), as gRPC
/// percent-encodes `grpc-message`; invalid escapes stay as written, and bytes that do not form
/// UTF-8 become U+FFFD.
///
/// ```
/// use azfn_bindings::percent::decode_component;
/// assert_eq!(decode_component("no%20such+instance%3A%20%C3%A9%zz"), "no such+instance: é%zz");
/// ```
pub fn decode_component(text: &str) -> String {
    decode(text, false, |_| true)
}

/// Text percent-encoded as a URL path segment or query component: every byte of its UTF-8 but
/// RFC 3986's unreserved characters (`A-Z a-z 0-9 - _ . ~`) becomes `%XX`, upper-case.
///
/// ```
/// use azfn_bindings::percent::encode_component;
/// assert_eq!(encode_component("a b/c?d=é~"), "a%20b%2Fc%3Fd%3D%C3%A9~");
/// ```
pub fn encode_component(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
    out
}

fn decode(text: &str, plus_is_space: bool, keep_decoded: impl Fn(u8) -> bool) -> String {
    let needs_decoding = text.contains('%') || (plus_is_space && text.contains('+'));
    if !needs_decoding {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| Some((hex_digit(hex[0])? << 4) | hex_digit(hex[1])?))
            .filter(|&byte| keep_decoded(byte));
        match (escaped, bytes[i]) {
            (Some(byte), _) => {
                out.push(byte);
                i += 3;
                continue;
            }
            (None, b'+') if plus_is_space => out.push(b' '),
            (None, byte) => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_digit(byte: u8) -> Option<u8> {
    (byte as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_read_as_written_is_the_decoded_maps() {
        let queries = [
            "",
            "name=x",
            "name=x&name=y",
            "name",
            "name=",
            "=x&name=y",
            "&&name=y&&",
            "name=a+b",
            "name=%41",
            "n%61me=x&name=y",
            "na+me=x",
            "other=1&name=caf%C3%A9",
            "name=x=y&z=1",
            "NAME=x",
        ];
        let mut answered = 0;
        for query in queries {
            let decoded = decode_query_joined(query);
            for name in ["name", "other", "z", "NAME", "", "na me"] {
                if let Some(found) = query_value_as_written(query, name) {
                    answered += 1;
                    assert_eq!(found, decoded.get(name).map(String::as_str), "{name:?} in {query:?}");
                }
            }
        }
        assert!(answered > 40, "most are answered as written: {answered}");
    }

    #[test]
    fn paths_decode_everything_but_slashes() {
        assert_eq!(decode_path("plain"), "plain");
        assert_eq!(decode_path("a%20b%2fc%2Fd+e"), "a b%2fc%2Fd+e");
        assert_eq!(decode_path("%zz%4"), "%zz%4");
        assert_eq!(decode_path("%FF"), "\u{fffd}");
    }

    #[test]
    fn query_components_decode_like_forms() {
        assert_eq!(decode_query_component("a%20b%2Fc"), "a b/c");
        assert_eq!(decode_query_component("a+b"), "a b");
        assert_eq!(decode_query_component("100%"), "100%");
        assert_eq!(decode_query_component("%zz"), "%zz");
        assert_eq!(decode_query_component("caf%C3%A9"), "café");
    }

    #[test]
    fn components_decode_escapes_only() {
        assert_eq!(
            decode_component("no%20such%20instance%3A%20%C3%A9"),
            "no such instance: é"
        );
        assert_eq!(decode_component("a+b%2Fc"), "a+b/c");
        assert_eq!(decode_component("100%"), "100%");
        assert_eq!(decode_component("%zz"), "%zz");
        assert_eq!(decode_component("%+1"), "%+1");
        // A file URL's path, as cargo escapes it in `path+file://` sources.
        assert_eq!(decode_component("/a%20b/c%2"), "/a b/c%2");
    }

    #[test]
    fn components_encode_all_but_unreserved() {
        assert_eq!(encode_component("a b/c?d=é~"), "a%20b%2Fc%3Fd%3D%C3%A9~");
        assert_eq!(encode_component("AZaz09-_.~"), "AZaz09-_.~");
        assert_eq!(encode_component("%\n"), "%25%0A");
        for text in ["a b/c?d=é~", "@counter@key", "100% sure"] {
            assert_eq!(decode_component(&encode_component(text)), text);
        }
    }
}
