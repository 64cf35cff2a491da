//! The fast path of [`protocol`](super::protocol): the host's envelope decoded straight from
//! its bytes into what dispatch needs, and the response envelope serialized straight to bytes,
//! with no `serde_json::Value` tree of the whole body in between.
//!
//! The reference decoder in `protocol.rs` defines the protocol's rules. This one agrees with it
//! by construction: it handles the shapes current hosts send and gives up (`None`) on anything
//! else — a JSON error, a duplicated or case-ambiguous key, a value of an unusual type, a
//! binding the reference would refuse — and then the reference decoder runs on the same bytes
//! and gives the answer, error messages included. Parts the reference reads through
//! `serde_json::Value` are read as `Value` here too (never skipped with `IgnoredAny`, which
//! accepts lone surrogates and out-of-range numbers that `Value` refuses), so whatever this
//! path accepts, the reference accepts with the same result. A test in `protocol.rs` checks
//! the two against the fuzz corpus.

use azfn_wire::envelope;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use azfn_bindings::RETURN_BINDING_NAME;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::encoding::{
    body_text, decode_value, header_text, identities as read_identities, output_error, parse_metadata, request_body,
    return_value_passes_through,
};
use crate::data::BindingData;
use crate::error::InvocationError;
use crate::function::FunctionDescription;
use crate::http::{Claim, ClaimsIdentity, HttpRequest, HttpResponse, IdentityList};
use crate::invocation::{LogLine, Metadata, OutputValue, Outputs};

/// What the envelope holds, decoded.
pub(super) struct Decoded {
    pub(super) data: BTreeMap<String, BindingData>,
    /// Checked, and kept as text until something reads it.
    pub(super) metadata: Metadata,
    /// Whether `Metadata` has a `RetryContext`, which is read at once.
    pub(super) retry_context_sent: bool,
}

/// Decodes the envelope in one pass, or `None` when the reference decoder must decide.
pub(super) fn decode(function: &'static FunctionDescription, body: &[u8]) -> Option<Decoded> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let text = std::str::from_utf8(body).ok()?;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let decoded = EnvelopeSeed(function).deserialize(&mut deserializer).ok()?;
    deserializer.end().ok()?;
    Some(decoded)
}

/// Whether `serde_json::Map` iterates in key order (its default) rather than insertion order
/// (its `preserve_order` feature, which another crate of the app may turn on). The reference
/// decoder walks its maps in that order, so the order values are applied in follows it.
pub(super) fn maps_are_sorted() -> bool {
    static SORTED: OnceLock<bool> = OnceLock::new();
    *SORTED.get_or_init(|| {
        let mut map = Map::new();
        map.insert("b".to_owned(), Value::Null);
        map.insert("a".to_owned(), Value::Null);
        map.keys().next().is_some_and(|first| first == "a")
    })
}

/// The error that sends a request to the reference decoder; its text is never shown.
fn give_up<E: de::Error>() -> E {
    E::custom("left to the reference decoder")
}

/// A string, borrowed from the body when it has no escapes.
struct Text<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Text<'de> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// Which of `names` a key is, ignoring ASCII case (`None`: another key).
struct Field(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for Field {
    type Value = Option<usize>;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Option<usize>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for Field {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|name| name.eq_ignore_ascii_case(v)))
    }
}

/// `{"Data": {...}, "Metadata": {...}}`, each key at most once in any casing.
struct EnvelopeSeed(&'static FunctionDescription);

impl<'de> DeserializeSeed<'de> for EnvelopeSeed {
    type Value = Decoded;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Decoded, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EnvelopeSeed {
    type Value = Decoded;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the invocation envelope")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Decoded, A::Error> {
        let mut data = None;
        let mut metadata = None;
        while let Some(field) = map.next_key_seed(Field(&[envelope::DATA, envelope::METADATA]))? {
            match field {
                Some(0) if data.is_none() => data = Some(map.next_value_seed(DataSeed(self.0))?),
                Some(1) if metadata.is_none() => metadata = Some(read_metadata(map.next_value()?)?),
                Some(_) => return Err(give_up()),
                None => {
                    map.next_value::<Value>()?;
                }
            }
        }
        let (metadata, retry_context_sent) = metadata.unwrap_or_default();
        Ok(Decoded {
            data: data.ok_or_else(give_up)?,
            metadata,
            retry_context_sent,
        })
    }
}

/// `Data`: one value per binding, under the function's spelling of its name.
struct DataSeed(&'static FunctionDescription);

impl<'de> DeserializeSeed<'de> for DataSeed {
    type Value = BTreeMap<String, BindingData>;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DataSeed {
    type Value = BTreeMap<String, BindingData>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the `Data` object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut data = BTreeMap::new();
        while let Some(Text(name)) = map.next_key::<Text<'de>>()? {
            let binding = self.0.binding(&name);
            let key = binding.map_or_else(|| name.into_owned(), |b| b.name.to_owned());
            // Two values for one binding: which one wins is the reference's business.
            if data.contains_key(&key) {
                return Err(give_up());
            }
            let value = match binding {
                Some(binding) if binding.kind.is_http_trigger() => {
                    BindingData::Http(map.next_value_seed(HttpRequestSeed)?)
                }
                _ => decode_value(map.next_value::<Value>()?, binding.and_then(|b| b.data_type)),
            };
            data.insert(key, value);
        }
        Ok(data)
    }
}

/// `Metadata`: an object, or null. Its text is checked as strictly as `serde_json::Value`
/// reads it (so the map parsed from it later cannot fail) but nothing is built: most functions
/// never read it. Returns it, and whether it holds a `RetryContext`.
fn read_metadata<E: de::Error>(raw: &RawValue) -> Result<(Metadata, bool), E> {
    let text = raw.get();
    if text == "null" {
        return Ok((Metadata::default(), false));
    }
    if !text.starts_with('{') {
        return Err(give_up());
    }
    // serde_json has read the text as a `RawValue`, which checks its syntax. Unless it holds
    // something that check lets through and `Value` refuses, that is enough.
    let retry_context_sent = if may_be_refused_by_value(text.as_bytes()) {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        MetadataKeys
            .deserialize(&mut deserializer)
            .and_then(|sent| deserializer.end().map(|()| sent))
            .map_err(|_| give_up::<E>())?
    } else {
        // A string value spelled so reads the map for nothing, and finds no retry context.
        text.contains("\"RetryContext\"")
    };
    Ok((Metadata::lazy(text.into(), parse_metadata), retry_context_sent))
}

/// Whether JSON text that serde_json has skipped as a `RawValue` (which checks its syntax) may
/// still be refused by `serde_json::Value`: a `\u` escape (it may be a lone surrogate), a
/// number that may overflow `f64` (one with an exponent or with hundreds of digits), or nesting
/// near `Value`'s depth limit. Anything else `Value` reads as surely as the skip did.
fn may_be_refused_by_value(json: &[u8]) -> bool {
    let (mut in_string, mut escaped) = (false, false);
    let (mut depth, mut digits) = (0usize, 0usize);
    for &byte in json {
        if in_string {
            match byte {
                b'u' if escaped => return true,
                b'\\' if !escaped => escaped = true,
                b'"' if !escaped => in_string = false,
                _ => escaped = false,
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            // An exponent follows a digit; the `e` of `true` and `false` does not.
            b'e' | b'E' if digits > 0 => return true,
            _ => {}
        }
        digits = if byte.is_ascii_digit() { digits + 1 } else { 0 };
        if depth > 64 || digits > 300 {
            return true;
        }
    }
    false
}

/// The `Metadata` object checked key by key; its value is whether a `RetryContext` key is there.
struct MetadataKeys;

impl<'de> DeserializeSeed<'de> for MetadataKeys {
    type Value = bool;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MetadataKeys {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the `Metadata` object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut retry_context_sent = false;
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            retry_context_sent |= key == "RetryContext";
            map.next_value::<Checked>()?;
        }
        Ok(retry_context_sent)
    }
}

/// Any JSON value, read exactly as `serde_json::Value` reads it (the same types through
/// `deserialize_any`, so the same texts are refused) and then forgotten.
struct Checked;

impl<'de> de::Deserialize<'de> for Checked {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(Checked)
    }
}

impl<'de> Visitor<'de> for Checked {
    type Value = Checked;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        while map.next_key::<Checked>()?.is_some() {
            map.next_value::<Checked>()?;
        }
        Ok(Checked)
    }
}

/// The host's PascalCase HTTP request object (any casing, each field at most once).
struct HttpRequestSeed;

const HTTP_FIELDS: &[&str] = &["Method", "Url", "Headers", "Body", "Query", "Params", "Identities"];

impl<'de> DeserializeSeed<'de> for HttpRequestSeed {
    type Value = HttpRequest;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<HttpRequest, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for HttpRequestSeed {
    type Value = HttpRequest;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the HTTP request object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<HttpRequest, A::Error> {
        let mut seen = [false; HTTP_FIELDS.len()];
        let mut method = None;
        let mut url = None;
        let mut headers = Vec::new();
        let mut body = None;
        let mut query = BTreeMap::new();
        let mut params = BTreeMap::new();
        let mut identities = IdentityList::default();
        while let Some(field) = map.next_key_seed(Field(HTTP_FIELDS))? {
            let Some(index) = field else {
                map.next_value::<Value>()?;
                continue;
            };
            if std::mem::replace(&mut seen[index], true) {
                return Err(give_up());
            }
            match index {
                0 => {
                    let Text(text) = map.next_value::<Text<'de>>()?;
                    method = Some(http::Method::from_bytes(text.as_bytes()).map_err(|_| give_up())?);
                }
                1 => url = map.next_value::<Option<String>>()?,
                2 => headers = map.next_value_seed(HeadersSeed)?,
                3 => body = Some(map.next_value::<Value>()?),
                4 => query = map.next_value_seed(TextMapSeed)?,
                5 => params = map.next_value_seed(TextMapSeed)?,
                _ => identities = read_identities_of(map.next_value()?)?,
            }
        }
        let method = method.ok_or_else(give_up)?;
        let content_type = headers
            .iter()
            .filter(|(Text(name), _)| name.eq_ignore_ascii_case("content-type"))
            .find_map(|(_, values)| values.first())
            .map(|Text(value)| &**value);
        let body = request_body(body, content_type).map_err(|_| give_up())?;
        Ok(HttpRequest::from_parts(
            method,
            url.unwrap_or_default(),
            header_map(&headers),
            query,
            params,
            identities,
            body.into(),
        ))
    }
}

/// `Identities` as the host writes them for every anonymous caller: one unauthenticated
/// identity with .NET's default claim types.
pub(super) const ANONYMOUS_IDENTITIES: &str = r#"[{"AuthenticationType":null,"IsAuthenticated":false,"Actor":null,"BootstrapContext":null,"Claims":[],"Label":null,"Name":null,"NameClaimType":"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name","RoleClaimType":"http://schemas.microsoft.com/ws/2008/06/identity/claims/role"}]"#;

/// The request's `Identities`. The anonymous caller's, the most common by far, is read once
/// per process (from the same text, by the same reader) and shared.
fn read_identities_of<E: de::Error>(raw: &RawValue) -> Result<IdentityList, E> {
    static ANONYMOUS: OnceLock<Option<Vec<ClaimsIdentity>>> = OnceLock::new();
    let read = |text: &str| {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        IdentitiesSeed
            .deserialize(&mut deserializer)
            .and_then(|identities| deserializer.end().map(|()| identities))
            .ok()
    };
    if raw.get() == ANONYMOUS_IDENTITIES
        && let Some(anonymous) = ANONYMOUS.get_or_init(|| read(ANONYMOUS_IDENTITIES))
    {
        return Ok(IdentityList::Shared(anonymous));
    }
    read(raw.get()).map(IdentityList::Owned).ok_or_else(give_up)
}

/// `Identities`: an array of `ClaimsIdentity` objects read as the reference's
/// `serde_json::from_value` reads them (known fields by exact name, others parsed and
/// dropped), or null. The old hosts' JSON-text form goes through the reference's reader.
struct IdentitiesSeed;

const IDENTITY_FIELDS: &[&str] = &[
    "AuthenticationType",
    "IsAuthenticated",
    "Name",
    "NameClaimType",
    "RoleClaimType",
    "Claims",
];

impl<'de> DeserializeSeed<'de> for IdentitiesSeed {
    type Value = Vec<ClaimsIdentity>;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for IdentitiesSeed {
    type Value = Vec<ClaimsIdentity>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the `Identities` array")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        read_identities(Some(Value::String(v.to_owned()))).map_err(|_| give_up())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut identities = Vec::with_capacity(seq.size_hint().unwrap_or(1));
        while let Some(identity) = seq.next_element_seed(IdentitySeed)? {
            identities.push(identity);
        }
        Ok(identities)
    }
}

/// One `ClaimsIdentity` object; anything but an object, a repeated field or a field of another
/// type is left to the reference.
struct IdentitySeed;

impl<'de> DeserializeSeed<'de> for IdentitySeed {
    type Value = ClaimsIdentity;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<ClaimsIdentity, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for IdentitySeed {
    type Value = ClaimsIdentity;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an identity object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ClaimsIdentity, A::Error> {
        let mut identity = ClaimsIdentity::default();
        let mut seen = [false; IDENTITY_FIELDS.len()];
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            let Some(index) = IDENTITY_FIELDS.iter().position(|name| *name == key) else {
                map.next_value::<Value>()?;
                continue;
            };
            if std::mem::replace(&mut seen[index], true) {
                return Err(give_up());
            }
            match index {
                0 => identity.authentication_type = map.next_value()?,
                1 => identity.is_authenticated = map.next_value()?,
                2 => identity.name = map.next_value()?,
                3 => identity.name_claim_type = map.next_value()?,
                4 => identity.role_claim_type = map.next_value()?,
                _ => identity.claims = map.next_value_seed(ClaimsSeed)?,
            }
        }
        Ok(identity)
    }
}

/// An identity's `Claims`: an array of `{"Type", "Value", ...}` objects.
struct ClaimsSeed;

impl<'de> DeserializeSeed<'de> for ClaimsSeed {
    type Value = Vec<Claim>;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Vec<Claim>, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ClaimsSeed {
    type Value = Vec<Claim>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of claims")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Claim>, A::Error> {
        let mut claims = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(claim) = seq.next_element_seed(ClaimSeed)? {
            claims.push(claim);
        }
        Ok(claims)
    }
}

struct ClaimSeed;

impl<'de> DeserializeSeed<'de> for ClaimSeed {
    type Value = Claim;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Claim, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ClaimSeed {
    type Value = Claim;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a claim object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Claim, A::Error> {
        let mut claim = Claim::default();
        let (mut seen_type, mut seen_value) = (false, false);
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            let seen = match &*key {
                "Type" => &mut seen_type,
                "Value" => &mut seen_value,
                _ => {
                    map.next_value::<Value>()?;
                    continue;
                }
            };
            if std::mem::replace(seen, true) {
                return Err(give_up());
            }
            let text = map.next_value::<String>()?;
            if key == "Type" {
                claim.claim_type = text;
            } else {
                claim.value = text;
            }
        }
        Ok(claim)
    }
}

/// `Headers`: name → array of strings (or one string), or null; in the order the reference
/// applies them.
struct HeadersSeed;

/// One header's name and values, borrowed from the body where they have no escapes.
type HeaderEntry<'de> = (Text<'de>, HeaderValues<'de>);

impl<'de> DeserializeSeed<'de> for HeadersSeed {
    type Value = Vec<HeaderEntry<'de>>;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for HeadersSeed {
    type Value = Vec<HeaderEntry<'de>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the `Headers` object")
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut headers: Vec<HeaderEntry<'de>> = Vec::with_capacity(map.size_hint().unwrap_or(8));
        while let Some(name) = map.next_key::<Text<'de>>()? {
            let values = map.next_value_seed(HeaderValuesSeed)?;
            headers.push((name, values));
        }
        // The reference reads them through a map: in key order (when maps are sorted), and a
        // repeated name collapsed, which is left to it.
        let by_name = |a: &HeaderEntry<'_>, b: &HeaderEntry<'_>| a.0.0.cmp(&b.0.0);
        if maps_are_sorted() {
            headers.sort_by(by_name);
            if headers.windows(2).any(|pair| pair[0].0.0 == pair[1].0.0) {
                return Err(give_up());
            }
        } else {
            let mut names: Vec<&str> = headers.iter().map(|(Text(name), _)| &**name).collect();
            names.sort_unstable();
            if names.windows(2).any(|pair| pair[0] == pair[1]) {
                return Err(give_up());
            }
        }
        Ok(headers)
    }
}

/// The request's headers, each value that HTTP allows (as `HttpRequestBuilder::header` adds them).
fn header_map(headers: &[HeaderEntry<'_>]) -> HeaderMap {
    let mut map = HeaderMap::with_capacity(headers.len());
    for (Text(name), values) in headers {
        let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else {
            continue;
        };
        for Text(value) in values.iter() {
            if let Ok(value) = HeaderValue::from_str(value) {
                map.append(&name, value);
            }
        }
    }
    map
}

/// One header's values: the first apart, since most headers have one and it needs no list.
#[derive(Default)]
struct HeaderValues<'de> {
    first: Option<Text<'de>>,
    more: Vec<Text<'de>>,
}

impl<'de> HeaderValues<'de> {
    fn push(&mut self, value: Text<'de>) {
        match self.first {
            None => self.first = Some(value),
            Some(_) => self.more.push(value),
        }
    }

    fn first(&self) -> Option<&Text<'de>> {
        self.first.as_ref()
    }

    fn iter(&self) -> impl Iterator<Item = &Text<'de>> {
        self.first.iter().chain(&self.more)
    }
}

/// One header's values: an array of strings (nulls skipped), one string, or null.
struct HeaderValuesSeed;

impl<'de> DeserializeSeed<'de> for HeaderValuesSeed {
    type Value = HeaderValues<'de>;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for HeaderValuesSeed {
    type Value = HeaderValues<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("header values")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(HeaderValues::default())
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(HeaderValues {
            first: Some(Text(Cow::Borrowed(v))),
            more: Vec::new(),
        })
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(HeaderValues {
            first: Some(Text(Cow::Owned(v.to_owned()))),
            more: Vec::new(),
        })
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut values = HeaderValues::default();
        // Numbers and booleans get their JSON text from the reference.
        while let Some(value) = seq.next_element::<Option<Text<'de>>>()? {
            if let Some(value) = value {
                values.push(value);
            }
        }
        Ok(values)
    }
}

/// `Query` or `Params`: an object of strings (nulls skipped), or null. Other values, and the old
/// hosts' JSON-text form, are left to the reference.
struct TextMapSeed;

impl<'de> DeserializeSeed<'de> for TextMapSeed {
    type Value = BTreeMap<String, String>;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for TextMapSeed {
    type Value = BTreeMap<String, String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of strings")
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }
    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = BTreeMap::new();
        while let Some(name) = map.next_key::<String>()? {
            // A repeated key: the last value wins, a null one included, as in the reference's map.
            match map.next_value::<Option<String>>()? {
                Some(value) => entries.insert(name, value),
                None => entries.remove(&name),
            };
        }
        Ok(entries)
    }
}

/// The response envelope `{"Outputs": {...}, "Logs": [...], "ReturnValue": ...}` written
/// straight to bytes, byte for byte what the reference encoder writes through a `Value`: keys
/// in the order `serde_json::Map` would hold them, and for a binding written twice, the last
/// value.
///
/// Every output is checked first, in the reference's order, so the first output that cannot
/// be sent is the one reported.
pub(super) fn encode(function: &FunctionDescription, outputs: &Outputs) -> Result<Vec<u8>, InvocationError> {
    let mut named: Vec<(&str, &OutputValue)> = Vec::with_capacity(outputs.named.len());
    for (name, value) in &outputs.named {
        // The host finds each output under the exact `function.json` spelling.
        let key = function.binding(name).map_or(*name, |b| b.name);
        check_output(key, value)?;
        match named.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => named.push((key, value)),
        }
    }
    if let Some(value) = &outputs.return_value {
        check_output(RETURN_BINDING_NAME, value)?;
    }
    let sorted = maps_are_sorted();
    if sorted {
        named.sort_by(|a, b| a.0.cmp(b.0));
    }
    let envelope = Envelope {
        named: &named,
        logs: &outputs.logs,
        return_value: outputs.return_value.as_ref(),
        // Only looked up when there is a return value: most invocations have none.
        return_passthrough: outputs.return_value.is_some() && return_value_passes_through(function),
        sorted,
    };
    let mut body = Vec::with_capacity(256);
    serde::Serialize::serialize(&envelope, &mut serde_json::Serializer::new(&mut body))
        .map_err(|e| output_error("(response)", format!("cannot serialize the response ({e})")))?;
    Ok(body)
}

/// The checks of the reference's `encode_output`: header values and the body of an HTTP
/// response must be UTF-8 text.
fn check_output(binding: &str, value: &OutputValue) -> Result<(), InvocationError> {
    if let OutputValue::Http(response) = value {
        for name in response.headers().keys() {
            for value in response.headers().get_all(name) {
                header_text(binding, name, value)?;
            }
        }
        body_text(binding, response)?;
    }
    Ok(())
}

struct Envelope<'a> {
    named: &'a [(&'a str, &'a OutputValue)],
    logs: &'a [LogLine],
    return_value: Option<&'a OutputValue>,
    return_passthrough: bool,
    sorted: bool,
}

impl Serialize for Envelope<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        let return_value = self.return_value.map(|value| Output {
            value,
            passthrough: self.return_passthrough,
        });
        if self.sorted {
            map.serialize_entry(envelope::LOGS, &Logs(self.logs))?;
            map.serialize_entry(envelope::OUTPUTS, &Named(self.named))?;
        } else {
            map.serialize_entry(envelope::OUTPUTS, &Named(self.named))?;
            map.serialize_entry(envelope::LOGS, &Logs(self.logs))?;
        }
        map.serialize_entry(envelope::RETURN_VALUE, &return_value)?;
        map.end()
    }
}

struct Logs<'a>(&'a [LogLine]);

impl Serialize for Logs<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for line in self.0 {
            seq.serialize_element(&Display(line))?;
        }
        seq.end()
    }
}

/// A value written as the JSON string of its `Display` text, without building the text first.
struct Display<'a, T>(&'a T);

impl<T: fmt::Display> Serialize for Display<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self.0)
    }
}

struct Named<'a>(&'a [(&'a str, &'a OutputValue)]);

impl Serialize for Named<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in self.0 {
            map.serialize_entry(
                name,
                &Output {
                    value,
                    passthrough: false,
                },
            )?;
        }
        map.end()
    }
}

/// One output value, shaped as the reference's `encode_output` shapes it (see there why), or
/// as `encode_passthrough` does for a return value no binding declares.
struct Output<'a> {
    value: &'a OutputValue,
    passthrough: bool,
}

impl Serialize for Output<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.value {
            OutputValue::Http(response) => HttpObject(response).serialize(serializer),
            OutputValue::Text(text) if self.passthrough => serializer.serialize_str(text),
            OutputValue::Json(value) if self.passthrough => value.serialize(serializer),
            OutputValue::Text(text) => serializer.serialize_str(&BASE64.encode(text.as_bytes())),
            OutputValue::Bytes(bytes) => serializer.serialize_str(&BASE64.encode(bytes)),
            OutputValue::Json(Value::String(text)) => serializer.serialize_str(&BASE64.encode(text.as_bytes())),
            OutputValue::Json(value) => value.serialize(serializer),
        }
    }
}

/// `{"statusCode": 201, "headers": {"name": "value"}, "body": "..."}`.
struct HttpObject<'a>(&'a HttpResponse);

impl Serialize for HttpObject<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let response = self.0;
        let body = std::str::from_utf8(response.body()).map_err(serde::ser::Error::custom)?;
        let status = response.status().as_u16();
        let headers = Headers(response.headers());
        let mut map = serializer.serialize_map(Some(3))?;
        if maps_are_sorted() {
            map.serialize_entry("body", body)?;
            map.serialize_entry("headers", &headers)?;
            map.serialize_entry("statusCode", &status)?;
        } else {
            map.serialize_entry("statusCode", &status)?;
            map.serialize_entry("headers", &headers)?;
            map.serialize_entry("body", body)?;
        }
        map.end()
    }
}

/// Header values as single strings, repeated headers joined with `, `.
struct Headers<'a>(&'a HeaderMap);

impl Serialize for Headers<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut names: Vec<&HeaderName> = self.0.keys().collect();
        if maps_are_sorted() {
            names.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
        }
        let mut map = serializer.serialize_map(Some(names.len()))?;
        for name in names {
            let mut values = self.0.get_all(name).iter();
            let text = utf8::<S::Error>;
            let first = values.next().map(text).transpose()?.unwrap_or_default();
            match values.next() {
                None => map.serialize_entry(name.as_str(), first)?,
                Some(second) => {
                    let mut joined = format!("{first}, {}", text(second)?);
                    for value in values {
                        joined.push_str(", ");
                        joined.push_str(text(value)?);
                    }
                    map.serialize_entry(name.as_str(), &joined)?;
                }
            }
        }
        map.end()
    }
}

fn utf8<E: serde::ser::Error>(value: &HeaderValue) -> Result<&str, E> {
    std::str::from_utf8(value.as_bytes()).map_err(E::custom)
}
