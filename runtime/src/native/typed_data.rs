//! `TypedData` and `RpcHttp`, to and from azfn's transport-neutral values.
//!
//! Inputs tolerate every variant the host may send for a binding (which one depends on the
//! binding's `dataType`, the extension and the worker's capabilities): text, JSON, bytes,
//! numbers, collections, HTTP requests. Outputs use only the variants the host's
//! `TypedData.ToObject` reads back (`string`, `json`, `bytes`, `http`): collections and model
//! binding data are refused there.

use std::borrow::Cow;
use std::collections::BTreeMap;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde_json::{Value, json};

use super::proto::{
    NullableBool, NullableDouble, NullableString, RpcClaimsIdentity, RpcHttp, RpcHttpCookie, TypedData,
    rpc_http_cookie::SameSite, typed_data::Data,
};
use crate::data::BindingData;
use crate::http::{Claim, ClaimsIdentity, HttpRequest, HttpResponse, IdentityList};
use crate::invocation::OutputValue;

/// An input binding's value. `Err` only for an HTTP request that is not one.
pub(crate) fn binding_data(data: TypedData) -> Result<BindingData, String> {
    Ok(match data.data {
        None => BindingData::Null,
        Some(Data::String(text)) => BindingData::Text(text),
        // JSON text the host produced; if it is not JSON after all, it is still text.
        Some(Data::Json(text)) => match serde_json::from_str(&text) {
            Ok(value) => BindingData::Json(value),
            Err(_) => BindingData::Text(text),
        },
        Some(Data::Bytes(bytes) | Data::Stream(bytes)) => BindingData::Bytes(bytes),
        Some(Data::Http(http)) => BindingData::Http(http_request(*http)?),
        Some(other) => BindingData::Json(scalar_or_collection_json(other)),
    })
}

/// A trigger-metadata value as JSON; `None` for values that are not metadata (the HTTP request
/// itself, sent by hosts that ignore `RpcHttpTriggerMetadataRemoved`).
pub(crate) fn metadata_json(data: TypedData) -> Option<Value> {
    Some(match data.data {
        None => Value::Null,
        Some(Data::String(text)) => Value::String(text),
        Some(Data::Json(text)) => serde_json::from_str(&text).unwrap_or(Value::String(text)),
        Some(Data::Bytes(bytes) | Data::Stream(bytes)) => Value::String(String::from_utf8_lossy(&bytes).into_owned()),
        Some(Data::Http(_)) => return None,
        Some(other) => scalar_or_collection_json(other),
    })
}

/// Numbers, collections and model binding data, as JSON.
fn scalar_or_collection_json(data: Data) -> Value {
    match data {
        Data::Int(n) => Value::from(n),
        // Non-finite floats have no JSON form: null.
        Data::Double(n) => Value::from(n),
        Data::CollectionString(c) => Value::from(c.string),
        Data::CollectionDouble(c) => Value::from(c.double),
        Data::CollectionSint64(c) => Value::from(c.sint64),
        // Each item reads as `Vec<u8>` (an array of byte values).
        Data::CollectionBytes(c) => c.bytes.into_iter().map(Value::from).collect(),
        Data::ModelBindingData(m) => model_binding_json(m),
        Data::CollectionModelBindingData(c) => c.model_binding_data.into_iter().map(model_binding_json).collect(),
        Data::String(text) | Data::Json(text) => Value::String(text),
        Data::Bytes(bytes) | Data::Stream(bytes) => Value::from(bytes),
        Data::Http(_) => Value::Null,
    }
}

fn model_binding_json(m: super::proto::ModelBindingData) -> Value {
    let content = match String::from_utf8(m.content) {
        Ok(text) => Value::String(text),
        Err(error) => Value::from(error.into_bytes()),
    };
    json!({ "version": m.version, "source": m.source, "contentType": m.content_type, "content": content })
}

/// An output binding's value, in a variant the host reads back.
pub(crate) fn output(value: OutputValue) -> TypedData {
    let data = match value {
        OutputValue::Text(text) => Data::String(text),
        OutputValue::Bytes(bytes) => Data::Bytes(bytes),
        OutputValue::Json(value) => Data::Json(value.to_string()),
        OutputValue::Http(response) => Data::Http(Box::new(rpc_http_response(response))),
    };
    TypedData { data: Some(data) }
}

/// The HTTP request the host sent as `RpcHttp`.
///
/// With `UseNullableValueDictionaryForHttp` the host fills the `nullable_*` maps instead of the
/// plain ones; both are read. With `RpcHttpBodyOnly` the body is in `body` only; `rawBody` is
/// read when `body` is absent.
pub(crate) fn http_request(http: RpcHttp) -> Result<HttpRequest, String> {
    let method = Method::from_bytes(http.method.as_bytes())
        .map_err(|_| format!("the HTTP request's method {:?} is not an HTTP method", http.method))?;
    // The parts are built as the request holds them and moved in: the maps the host sent are
    // the request's own, not copied entry by entry.
    let mut headers = HeaderMap::new();
    for (name, value) in either_map(http.nullable_headers, http.headers) {
        // Names or values HTTP does not allow are skipped.
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            headers.append(name, value);
        }
    }
    let identities = http.identities.into_iter().map(claims_identity).collect();
    let body = http.body.or(http.raw_body).map(|body| body_bytes(*body));
    Ok(HttpRequest::from_parts(
        method,
        http.url,
        headers,
        either_map_owned(http.nullable_query, http.query),
        either_map_owned(http.nullable_params, http.params),
        IdentityList::Owned(identities),
        body.unwrap_or_default(),
    ))
}

/// [`either_map`], as a map: the plain one moved as it is when the host used it.
pub(crate) fn either_map_owned(
    nullable: BTreeMap<String, NullableString>,
    plain: BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    if nullable.is_empty() {
        plain
    } else {
        either_map(nullable, BTreeMap::new()).collect()
    }
}

/// The nullable map if the host used it, else the plain one; null values are left out.
fn either_map(
    nullable: BTreeMap<String, NullableString>,
    plain: BTreeMap<String, String>,
) -> impl Iterator<Item = (String, String)> {
    // When the nullable map is empty it yields nothing and the plain one is used; otherwise the
    // plain one is dropped.
    let plain = nullable.is_empty().then_some(plain).into_iter().flatten();
    let nullable = nullable
        .into_iter()
        .filter_map(|(name, value)| value.into_value().map(|v| (name, v)));
    plain.chain(nullable)
}

fn body_bytes(body: TypedData) -> Bytes {
    match body.data {
        None | Some(Data::Http(_)) => Bytes::new(),
        Some(Data::String(text) | Data::Json(text)) => Bytes::from(text),
        Some(Data::Bytes(bytes) | Data::Stream(bytes)) => Bytes::from(bytes),
        Some(Data::Int(n)) => Bytes::from(n.to_string()),
        Some(Data::Double(n)) => Bytes::from(n.to_string()),
        Some(other) => Bytes::from(scalar_or_collection_json(other).to_string()),
    }
}

/// .NET's `ClaimsIdentity`: authenticated when it has an authentication type; its name is the
/// value of the first claim of the name claim type.
fn claims_identity(identity: RpcClaimsIdentity) -> ClaimsIdentity {
    let text = |n: Option<NullableString>| n.and_then(NullableString::into_value);
    let authentication_type = text(identity.authentication_type);
    let name_claim_type = text(identity.name_claim_type);
    let name = name_claim_type.as_ref().and_then(|kind| {
        identity
            .claims
            .iter()
            .find(|claim| &claim.r#type == kind)
            .map(|claim| claim.value.clone())
    });
    ClaimsIdentity {
        is_authenticated: authentication_type.as_deref().is_some_and(|t| !t.is_empty()),
        authentication_type,
        name,
        name_claim_type,
        role_claim_type: text(identity.role_claim_type),
        claims: identity
            .claims
            .into_iter()
            .map(|claim| Claim {
                claim_type: claim.r#type,
                value: claim.value,
            })
            .collect(),
    }
}

/// An HTTP response as `RpcHttp`: the status as text, headers as single strings (repeated ones
/// joined with `, `), several `Set-Cookie`s as cookies (they cannot be joined), and the body
/// always set as bytes, since the host applies status and headers only when a body is present.
pub(crate) fn rpc_http_response(response: HttpResponse) -> RpcHttp {
    let (status, headers, body) = response.into_parts();
    let (headers, cookies) = response_headers(&headers);
    RpcHttp {
        status_code: status.as_str().to_owned(),
        headers,
        cookies,
        body: Some(Box::new(TypedData {
            // Without a copy when the body is the only owner of its buffer (a `String` or
            // `Vec` body).
            data: Some(Data::Bytes(Vec::from(body))),
        })),
        ..RpcHttp::default()
    }
}

fn response_headers(headers: &HeaderMap) -> (BTreeMap<String, String>, Vec<RpcHttpCookie>) {
    let mut joined = BTreeMap::new();
    let cookies = each_response_header(headers, |name, value| {
        joined.insert(name.to_owned(), value.into_owned());
    });
    (joined, cookies)
}

/// Gives `header` each response header as `RpcHttp.headers` holds it: the name, and its values
/// joined with `, ` (borrowed when there is one, in UTF-8); returns several `Set-Cookie`s as
/// cookies instead, since they cannot be joined. One source for the `RpcHttp` built here and the
/// one encoded by hand (`answer.rs`).
pub(crate) fn each_response_header<'a>(
    headers: &'a HeaderMap,
    mut header: impl FnMut(&'a str, Cow<'a, str>),
) -> Vec<RpcHttpCookie> {
    let text = |value: &'a HeaderValue| match value.to_str() {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(value.as_bytes()),
    };
    let mut cookies = Vec::new();
    // The map yields a name's values one after the other: no lookup by name is needed.
    let mut entries = headers.iter().peekable();
    while let Some((name, first)) = entries.next() {
        let mut more =
            std::iter::from_fn(|| entries.next_if(|(next, _)| *next == name).map(|(_, value)| value)).peekable();
        if more.peek().is_none() {
            header(name.as_str(), text(first));
        } else if name == http::header::SET_COOKIE {
            cookies.extend(
                std::iter::once(first)
                    .chain(more)
                    .filter_map(|v| parse_set_cookie(&text(v))),
            );
        } else {
            let mut joined = text(first).into_owned();
            for value in more {
                joined.push_str(", ");
                joined.push_str(&text(value));
            }
            header(name.as_str(), Cow::Owned(joined));
        }
    }
    cookies
}

/// A `Set-Cookie` value as an `RpcHttpCookie`. `Expires` is not carried (it needs a date
/// parser); `Max-Age` is.
fn parse_set_cookie(header: &str) -> Option<RpcHttpCookie> {
    let mut parts = header.split(';').map(str::trim);
    let (name, value) = parts.next()?.split_once('=')?;
    let mut cookie = RpcHttpCookie {
        name: name.trim().to_owned(),
        value: value.trim().to_owned(),
        ..RpcHttpCookie::default()
    };
    for attribute in parts {
        let (key, value) = attribute.split_once('=').unwrap_or((attribute, ""));
        let text = || Some(NullableString::new(value.trim()));
        match key.trim().to_ascii_lowercase().as_str() {
            "domain" => cookie.domain = text(),
            "path" => cookie.path = text(),
            "secure" => cookie.secure = Some(NullableBool::new(true)),
            "httponly" => cookie.http_only = Some(NullableBool::new(true)),
            "max-age" => cookie.max_age = value.trim().parse().ok().map(NullableDouble::new),
            "samesite" => {
                cookie.same_site = match value.trim().to_ascii_lowercase().as_str() {
                    "lax" => SameSite::Lax,
                    "strict" => SameSite::Strict,
                    "none" => SameSite::ExplicitNone,
                    _ => SameSite::None,
                } as i32;
            }
            _ => {}
        }
    }
    Some(cookie)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::native::proto::{
        CollectionBytes, CollectionDouble, CollectionSInt64, CollectionString, ModelBindingData, RpcClaim,
    };
    use http::StatusCode;

    fn typed(data: Data) -> TypedData {
        TypedData { data: Some(data) }
    }

    #[test]
    fn scalar_inputs_keep_their_kind() {
        let cases = [
            (TypedData::default(), BindingData::Null),
            (typed(Data::String("aaaaa".into())), BindingData::Text("aaaaa".into())),
            (
                typed(Data::Json("{\"a\":1}".into())),
                BindingData::Json(json!({"a": 1})),
            ),
            (
                typed(Data::Json("not json".into())),
                BindingData::Text("not json".into()),
            ),
            (typed(Data::Bytes(vec![0, 255])), BindingData::Bytes(vec![0, 255])),
            (typed(Data::Stream(vec![1])), BindingData::Bytes(vec![1])),
            (typed(Data::Int(-5)), BindingData::Json(json!(-5))),
            (typed(Data::Double(1.5)), BindingData::Json(json!(1.5))),
            (typed(Data::Double(f64::NAN)), BindingData::Json(Value::Null)),
        ];
        for (input, expected) in cases {
            assert_eq!(binding_data(input.clone()).expect("decodes"), expected, "{input:?}");
        }
    }

    #[test]
    fn collections_become_json_arrays() {
        let strings = typed(Data::CollectionString(CollectionString {
            string: vec!["a".into(), String::new()],
        }));
        assert_eq!(
            binding_data(strings)
                .expect("decodes")
                .decode::<Vec<String>>()
                .expect("strings"),
            ["a", ""]
        );
        let bytes = typed(Data::CollectionBytes(CollectionBytes {
            bytes: vec![vec![1, 2], vec![]],
        }));
        assert_eq!(
            binding_data(bytes)
                .expect("decodes")
                .decode::<Vec<Vec<u8>>>()
                .expect("bytes"),
            [vec![1, 2], vec![]]
        );
        let doubles = typed(Data::CollectionDouble(CollectionDouble { double: vec![0.5] }));
        assert_eq!(binding_data(doubles).expect("decodes"), BindingData::Json(json!([0.5])));
        let ints = typed(Data::CollectionSint64(CollectionSInt64 { sint64: vec![-1, 2] }));
        assert_eq!(
            binding_data(ints).expect("decodes").decode::<Vec<i64>>().expect("ints"),
            [-1, 2]
        );
        let model = typed(Data::ModelBindingData(ModelBindingData {
            version: "1.0".into(),
            source: "AzureStorageBlobs".into(),
            content_type: "application/json".into(),
            content: b"{}".to_vec(),
        }));
        assert_eq!(
            binding_data(model).expect("decodes"),
            BindingData::Json(json!({
                "version": "1.0", "source": "AzureStorageBlobs", "contentType": "application/json", "content": "{}"
            }))
        );
    }

    #[test]
    fn metadata_values_are_plain_json() {
        assert_eq!(metadata_json(typed(Data::Json("1".into()))), Some(json!(1)));
        assert_eq!(metadata_json(typed(Data::String("abc".into()))), Some(json!("abc")));
        assert_eq!(
            metadata_json(typed(Data::Json("2022-06-13T06:00:06+00:00".into()))),
            Some(json!("2022-06-13T06:00:06+00:00"))
        );
        assert_eq!(metadata_json(typed(Data::Bytes(b"hi".to_vec()))), Some(json!("hi")));
        assert_eq!(metadata_json(typed(Data::Http(Box::default()))), None);
        let query = metadata_json(typed(Data::Json("{\"name\":\"x\"}".into()))).expect("json");
        assert_eq!(query["name"], "x");
    }

    #[test]
    fn rpc_http_requests_read_plain_or_nullable_maps_identities_and_body() {
        let request = http_request(RpcHttp {
            method: "POST".into(),
            url: "https://app/api/orders/7?x=1".into(),
            headers: [("content-type".to_owned(), "text/plain".to_owned())].into(),
            query: [("x".to_owned(), "1".to_owned())].into(),
            params: [("id".to_owned(), "7".to_owned())].into(),
            body: Some(Box::new(typed(Data::Bytes(b"hello".to_vec())))),
            identities: vec![RpcClaimsIdentity {
                authentication_type: Some(NullableString::new("aad")),
                name_claim_type: Some(NullableString::new("name")),
                role_claim_type: None,
                claims: vec![RpcClaim {
                    value: "Ann".into(),
                    r#type: "name".into(),
                }],
            }],
            ..RpcHttp::default()
        })
        .expect("decodes");
        assert_eq!(request.method(), Method::POST);
        assert_eq!(request.url(), "https://app/api/orders/7?x=1");
        assert_eq!(request.header("content-type"), Some("text/plain"));
        assert_eq!((request.query("x"), request.param("id")), (Some("1"), Some("7")));
        assert_eq!(request.body(), b"hello");
        let identity = &request.identities()[0];
        assert!(identity.is_authenticated);
        assert_eq!(identity.name.as_deref(), Some("Ann"));
        assert_eq!(identity.claims[0].claim_type, "name");

        let nullable_request = http_request(RpcHttp {
            method: "GET".into(),
            nullable_headers: [
                ("x-empty".to_owned(), NullableString::new("")),
                ("x-null".to_owned(), NullableString::default()),
            ]
            .into(),
            nullable_query: [("q".to_owned(), NullableString::new(""))].into(),
            raw_body: Some(Box::new(typed(Data::String("raw".into())))),
            ..RpcHttp::default()
        })
        .expect("decodes");
        assert_eq!(nullable_request.header("x-empty"), Some(""));
        assert!(nullable_request.headers().get("x-null").is_none());
        assert_eq!(nullable_request.query("q"), Some(""));
        assert_eq!(nullable_request.body(), b"raw");

        let error = http_request(RpcHttp::default()).expect_err("no method");
        assert!(error.contains("is not an HTTP method"), "{error}");
    }

    #[test]
    fn outputs_use_the_variants_the_host_reads_back() {
        assert_eq!(output(OutputValue::Text("t".into())), typed(Data::String("t".into())));
        assert_eq!(output(OutputValue::Bytes(vec![1])), typed(Data::Bytes(vec![1])));
        assert_eq!(
            output(OutputValue::Json(json!([{"a": 1}]))),
            typed(Data::Json("[{\"a\":1}]".into()))
        );
    }

    #[test]
    fn http_responses_always_carry_a_body_and_text_status() {
        let response = HttpResponse::new(StatusCode::CREATED)
            .header("X-One", "1")
            .append_header("Vary", "a")
            .append_header("Vary", "b")
            .bytes(vec![0, 159]);
        let Data::Http(http) = output(OutputValue::Http(response)).data.expect("data") else {
            panic!("expected http");
        };
        assert_eq!(http.status_code, "201");
        assert_eq!(http.headers["x-one"], "1");
        assert_eq!(http.headers["vary"], "a, b");
        assert_eq!(http.body, Some(Box::new(typed(Data::Bytes(vec![0, 159])))));
        let empty = rpc_http_response(HttpResponse::new(StatusCode::NO_CONTENT));
        assert_eq!(empty.body, Some(Box::new(typed(Data::Bytes(Vec::new())))));
    }

    #[test]
    fn several_set_cookies_become_cookies() {
        let response = HttpResponse::ok()
            .append_header("Set-Cookie", "a=1; Path=/; HttpOnly; SameSite=Strict; Max-Age=60")
            .append_header("Set-Cookie", "b=2; Domain=example.com; Secure");
        let http = rpc_http_response(response);
        assert!(!http.headers.contains_key("set-cookie"));
        assert_eq!(http.cookies.len(), 2);
        assert_eq!(
            (http.cookies[0].name.as_str(), http.cookies[0].value.as_str()),
            ("a", "1")
        );
        assert_eq!(http.cookies[0].path, Some(NullableString::new("/")));
        assert_eq!(http.cookies[0].http_only, Some(NullableBool::new(true)));
        assert_eq!(http.cookies[0].same_site, SameSite::Strict as i32);
        assert_eq!(http.cookies[0].max_age, Some(NullableDouble::new(60.0)));
        assert_eq!(http.cookies[1].domain, Some(NullableString::new("example.com")));
        assert_eq!(http.cookies[1].secure, Some(NullableBool::new(true)));
        let one =
            rpc_http_response(HttpResponse::ok().header("Set-Cookie", "a=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT"));
        assert_eq!(one.headers["set-cookie"], "a=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT");
    }
}
