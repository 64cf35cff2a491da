//! The signed-in caller, as App Service authentication ("Easy Auth") and Static Web Apps
//! report it in the request's `x-ms-client-principal` headers.
//!
//! With authentication on, the platform's front end signs the user in, strips any copy of
//! these headers the client sent, and adds its own: the function can trust them. With it off
//! (locally, or an app without authentication) nothing strips them, and any client can send
//! any principal: trust [`ClientPrincipal`] only behind App Service authentication or Static
//! Web Apps.

use base64::Engine as _;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};
use http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::data::BindingData;
use crate::decode::DecodeError;
use crate::error::{Error, InvocationError};
use crate::extract::{Parameter, kind};
use crate::http::{Claim, ClaimsIdentity, HttpRequest, HttpRequestBuilder};
use crate::invocation::Invocation;

/// The header holding the principal: base64 of its JSON.
pub const CLIENT_PRINCIPAL: &str = "x-ms-client-principal";
/// App Service's header with the caller's id at the identity provider.
pub const CLIENT_PRINCIPAL_ID: &str = "x-ms-client-principal-id";
/// App Service's header with the caller's human-readable name (an email address, a UPN).
pub const CLIENT_PRINCIPAL_NAME: &str = "x-ms-client-principal-name";
/// App Service's header with the identity provider (`aad`, `github`, …).
pub const CLIENT_PRINCIPAL_IDP: &str = "x-ms-client-principal-idp";

/// The claim type .NET's `ClaimsIdentity` reads the name from by default (`ClaimTypes.Name`).
pub const NAME_CLAIM_TYPE: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name";
/// The claim type .NET's `ClaimsIdentity` reads roles from by default (`ClaimTypes.Role`).
pub const ROLE_CLAIM_TYPE: &str = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role";
/// The claim type Microsoft Entra ID gives app roles, whatever `role_typ` says.
const ENTRA_ROLES_CLAIM_TYPE: &str = "roles";

/// The signed-in caller of an HTTP function: identity provider, user id, name, claims and
/// roles, from the `x-ms-client-principal` headers App Service authentication (`auth_typ`,
/// `claims` JSON) or Static Web Apps (`identityProvider`, `userId`, `userDetails`,
/// `userRoles` JSON) adds.
///
/// As a parameter, `ClientPrincipal` answers `401` when there is no principal (an anonymous
/// caller), and [`OptionalClientPrincipal`] holds `None` then; a header that is not base64 JSON of
/// either shape answers `400`.
///
/// **What the platform guarantees.** With App Service authentication (or Static Web Apps) in
/// front of the app, the client cannot set these headers: the platform removes the client's
/// copies and writes its own after signing the user in. **What it does not.** Without it
/// (locally, or with authentication off) the headers are whatever the client sent; and the
/// platform does not say that the caller may do anything: roles are the identity provider's
/// claims, authorization is the function's. Compare with [`Identities`](crate::Identities):
/// what the host itself reports, the same on every transport but host-defined.
///
/// ```
/// use azfn::{ClientPrincipal, HttpRequest};
///
/// let alice = ClientPrincipal::new("aad", "0d2b9f1e").with_name("Zoë").with_role("Admin");
/// let req = HttpRequest::builder().client_principal(&alice).build();
/// let caller = ClientPrincipal::from_request(&req).unwrap().expect("a signed-in caller");
/// assert_eq!(caller, alice);
/// assert!(caller.has_role("Admin"));
/// assert_eq!(caller.name.as_deref(), Some("Zoë"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientPrincipal {
    /// The identity provider (`aad`, `github`, `google`, …; App Service's `auth_typ`, Static
    /// Web Apps' `identityProvider`).
    pub identity_provider: String,
    /// The caller's id (App Service's `x-ms-client-principal-id`, set by the identity
    /// provider; Static Web Apps' `userId`, unique per app). `None` when the platform did not
    /// send one.
    pub user_id: Option<String>,
    /// A human-readable name (App Service's `x-ms-client-principal-name`, else the claim of
    /// type [`name_claim_type`](Self::name_claim_type); Static Web Apps' `userDetails`).
    pub name: Option<String>,
    /// The claim type holding the name (App Service's `name_typ`).
    pub name_claim_type: String,
    /// The claim type holding roles (App Service's `role_typ`).
    pub role_claim_type: String,
    /// The claims (`typ` / `val`). Static Web Apps sends them only from a custom provider.
    pub claims: Vec<Claim>,
    /// The roles: the claims of type [`role_claim_type`](Self::role_claim_type) and of type
    /// `roles` (where Microsoft Entra ID puts app roles), or Static Web Apps' `userRoles`.
    pub roles: Vec<String>,
}

/// App Service authentication's JSON.
#[derive(Serialize, Deserialize)]
struct AppServiceJson {
    auth_typ: Option<String>,
    name_typ: Option<String>,
    role_typ: Option<String>,
    #[serde(default)]
    claims: Vec<ClaimJson>,
}

/// Static Web Apps' JSON.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StaticWebAppsJson {
    identity_provider: Option<String>,
    user_id: Option<String>,
    user_details: Option<String>,
    #[serde(default)]
    user_roles: Vec<String>,
    #[serde(default)]
    claims: Vec<ClaimJson>,
}

#[derive(Serialize, Deserialize)]
struct ClaimJson {
    typ: String,
    /// Text, though custom providers have been seen to send numbers.
    val: Value,
}

impl From<ClaimJson> for Claim {
    fn from(claim: ClaimJson) -> Self {
        let value = match claim.val {
            Value::String(text) => text,
            Value::Null => String::new(),
            other => other.to_string(),
        };
        Claim {
            claim_type: claim.typ,
            value,
        }
    }
}

/// Standard base64, padded or not.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        // UTF-8, not only the visible ASCII `to_str` takes: names are not all ASCII.
        .and_then(|value| std::str::from_utf8(value.as_bytes()).ok())
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

impl ClientPrincipal {
    /// A principal signed in with `identity_provider` as `user_id`, with no name, claims or
    /// roles, and .NET's default name and role claim types: for tests, with
    /// [`HttpRequestBuilder::client_principal`](crate::HttpRequestBuilder::client_principal).
    pub fn new(identity_provider: impl Into<String>, user_id: impl Into<String>) -> Self {
        ClientPrincipal {
            identity_provider: identity_provider.into(),
            user_id: Some(user_id.into()),
            name: None,
            name_claim_type: NAME_CLAIM_TYPE.to_owned(),
            role_claim_type: ROLE_CLAIM_TYPE.to_owned(),
            claims: Vec::new(),
            roles: Vec::new(),
        }
    }

    /// With this name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// With this role, and its claim.
    pub fn with_role(mut self, role: impl Into<String>) -> Self {
        let role = role.into();
        self.claims.push(Claim {
            claim_type: self.role_claim_type.clone(),
            value: role.clone(),
        });
        if !self.roles.contains(&role) {
            self.roles.push(role);
        }
        self
    }

    /// With this claim.
    pub fn with_claim(mut self, claim_type: impl Into<String>, value: impl Into<String>) -> Self {
        self.claims.push(Claim {
            claim_type: claim_type.into(),
            value: value.into(),
        });
        self
    }

    /// The principal of `request`, `None` for an anonymous caller (no `x-ms-client-principal`
    /// header).
    ///
    /// # Errors
    ///
    /// When the header is not base64 of App Service's or Static Web Apps' JSON.
    pub fn from_request(request: &HttpRequest) -> Result<Option<Self>, DecodeError> {
        Self::from_headers(request.headers())
    }

    /// The principal these headers carry; see [`ClientPrincipal::from_request`].
    ///
    /// # Errors
    ///
    /// When the header is not base64 of App Service's or Static Web Apps' JSON.
    pub fn from_headers(headers: &HeaderMap) -> Result<Option<Self>, DecodeError> {
        let Some(encoded) = headers.get(CLIENT_PRINCIPAL) else {
            return Ok(None);
        };
        let bad = |why: String| DecodeError::new(format!("the `{CLIENT_PRINCIPAL}` header {why}"));
        let bytes = BASE64
            .decode(encoded.as_bytes().trim_ascii())
            .map_err(|e| bad(format!("is not base64 ({e})")))?;
        let json: Value = serde_json::from_slice(&bytes).map_err(|e| bad(format!("is not base64 of JSON ({e})")))?;
        let Value::Object(object) = &json else {
            return Err(bad("is not base64 of a JSON object".to_owned()));
        };
        let static_web_apps = ["identityProvider", "userId", "userDetails", "userRoles"]
            .iter()
            .any(|key| object.contains_key(*key));
        let app_service = ["auth_typ", "claims"].iter().any(|key| object.contains_key(*key));
        let principal = if static_web_apps {
            let principal: StaticWebAppsJson =
                serde_json::from_value(json).map_err(|e| bad(format!("is not a Static Web Apps principal ({e})")))?;
            Self::of_static_web_apps(principal)
        } else if app_service {
            let principal: AppServiceJson = serde_json::from_value(json)
                .map_err(|e| bad(format!("is not an App Service authentication principal ({e})")))?;
            Self::of_app_service(principal, headers)
        } else {
            return Err(bad(
                "holds neither App Service authentication's principal (`auth_typ`, `claims`) nor Static Web \
                 Apps' (`identityProvider`, `userId`, `userDetails`, `userRoles`)"
                    .to_owned(),
            ));
        };
        Ok(Some(principal))
    }

    fn of_app_service(json: AppServiceJson, headers: &HeaderMap) -> Self {
        let name_claim_type = json.name_typ.unwrap_or_else(|| NAME_CLAIM_TYPE.to_owned());
        let role_claim_type = json.role_typ.unwrap_or_else(|| ROLE_CLAIM_TYPE.to_owned());
        let claims: Vec<Claim> = json.claims.into_iter().map(Claim::from).collect();
        let mut roles: Vec<String> = Vec::new();
        for claim in &claims {
            let is_role = claim.claim_type.eq_ignore_ascii_case(&role_claim_type)
                || claim.claim_type.eq_ignore_ascii_case(ENTRA_ROLES_CLAIM_TYPE);
            if is_role && !roles.contains(&claim.value) {
                roles.push(claim.value.clone());
            }
        }
        let name = header(headers, CLIENT_PRINCIPAL_NAME).map(str::to_owned).or_else(|| {
            claims
                .iter()
                .find(|c| c.claim_type.eq_ignore_ascii_case(&name_claim_type))
                .map(|c| c.value.clone())
        });
        ClientPrincipal {
            identity_provider: header(headers, CLIENT_PRINCIPAL_IDP)
                .map(str::to_owned)
                .or(json.auth_typ)
                .unwrap_or_default(),
            user_id: header(headers, CLIENT_PRINCIPAL_ID).map(str::to_owned),
            name,
            name_claim_type,
            role_claim_type,
            claims,
            roles,
        }
    }

    fn of_static_web_apps(json: StaticWebAppsJson) -> Self {
        ClientPrincipal {
            identity_provider: json.identity_provider.unwrap_or_default(),
            user_id: json.user_id,
            name: json.user_details,
            name_claim_type: NAME_CLAIM_TYPE.to_owned(),
            role_claim_type: ROLE_CLAIM_TYPE.to_owned(),
            claims: json.claims.into_iter().map(Claim::from).collect(),
            roles: json.user_roles,
        }
    }

    /// Whether the caller has the role `role` (compared exactly, as .NET's `IsInRole` does).
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// The value of the first claim of type `claim_type` (compared ignoring case, as .NET's
    /// `FindFirst` does).
    pub fn claim(&self, claim_type: &str) -> Option<&str> {
        self.claims
            .iter()
            .find(|c| c.claim_type.eq_ignore_ascii_case(claim_type))
            .map(|c| c.value.as_str())
    }

    /// The values of every claim of type `claim_type`.
    pub fn claims_of<'a>(&'a self, claim_type: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.claims
            .iter()
            .filter(move |c| c.claim_type.eq_ignore_ascii_case(claim_type))
            .map(|c| c.value.as_str())
    }

    /// The principal as a [`ClaimsIdentity`], the shape of the host's
    /// [`Identities`](crate::Identities): authenticated, by the identity provider.
    pub fn to_claims_identity(&self) -> ClaimsIdentity {
        ClaimsIdentity {
            authentication_type: Some(self.identity_provider.clone()),
            is_authenticated: true,
            name: self.name.clone(),
            name_claim_type: Some(self.name_claim_type.clone()),
            role_claim_type: Some(self.role_claim_type.clone()),
            claims: self.claims.clone(),
        }
    }

    /// The headers App Service authentication would send for this principal: its
    /// `x-ms-client-principal` (base64 of `auth_typ`, `name_typ`, `role_typ` and the claims,
    /// a claim added for each role no claim holds) and the `-id`, `-name` and `-idp` ones.
    pub fn to_headers(&self) -> Vec<(&'static str, String)> {
        let mut claims: Vec<ClaimJson> = self
            .claims
            .iter()
            .map(|c| ClaimJson {
                typ: c.claim_type.clone(),
                val: Value::String(c.value.clone()),
            })
            .collect();
        for role in &self.roles {
            let held = self.claims.iter().any(|c| {
                &c.value == role
                    && (c.claim_type.eq_ignore_ascii_case(&self.role_claim_type)
                        || c.claim_type.eq_ignore_ascii_case(ENTRA_ROLES_CLAIM_TYPE))
            });
            if !held {
                claims.push(ClaimJson {
                    typ: self.role_claim_type.clone(),
                    val: Value::String(role.clone()),
                });
            }
        }
        let json = AppServiceJson {
            auth_typ: Some(self.identity_provider.clone()),
            name_typ: Some(self.name_claim_type.clone()),
            role_typ: Some(self.role_claim_type.clone()),
            claims,
        };
        // Plain structs of strings: serializing them cannot fail.
        let json = serde_json::to_vec(&json).unwrap_or_default();
        let mut headers = vec![(CLIENT_PRINCIPAL, general_purpose::STANDARD.encode(json))];
        headers.extend(self.user_id.clone().map(|id| (CLIENT_PRINCIPAL_ID, id)));
        headers.extend(self.name.clone().map(|name| (CLIENT_PRINCIPAL_NAME, name)));
        headers.push((CLIENT_PRINCIPAL_IDP, self.identity_provider.clone()));
        headers
    }
}

/// The principal of an HTTP function's request, or a `400` naming what is wrong with it.
fn principal_of(invocation: &Invocation) -> Result<Option<ClientPrincipal>, InvocationError> {
    let trigger = invocation.function.trigger().name;
    let bad = |message: String| InvocationError::Binding {
        binding: trigger.to_owned(),
        message,
    };
    match invocation.trigger() {
        BindingData::Http(request) => ClientPrincipal::from_request(request).map_err(|e| bad(e.to_string())),
        other => Err(bad(format!("expected an HTTP request, found {}", other.to_json()))),
    }
}

impl Parameter for ClientPrincipal {
    type Owner = kind::http_trigger;

    fn read(invocation: &Invocation) -> Result<Self, InvocationError> {
        principal_of(invocation)?.ok_or_else(|| {
            InvocationError::Function(Error::with_status(
                StatusCode::UNAUTHORIZED,
                format!(
                    "this function needs a signed-in caller, and the request has no `{CLIENT_PRINCIPAL}` header \
                     (App Service authentication adds it)"
                ),
            ))
        })
    }
}

/// The signed-in caller of an HTTP function, or `None` for an anonymous one: the parameter
/// for functions that serve both.
///
/// (`Option<ClientPrincipal>` cannot be this parameter: an `Option` of a deserializable type
/// is the trigger's payload, and serde may one day make every `Option` one.)
///
/// ```no_run
/// use azfn::prelude::*;
/// use azfn::OptionalClientPrincipal;
///
/// #[function(http_trigger(methods = "get"))]
/// async fn hello(caller: OptionalClientPrincipal) -> String {
///     match caller.0 {
///         Some(principal) => format!("Hello, {}!", principal.name.as_deref().unwrap_or("you")),
///         None => "Hello, stranger!".to_owned(),
///     }
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OptionalClientPrincipal(pub Option<ClientPrincipal>);

impl std::ops::Deref for OptionalClientPrincipal {
    type Target = Option<ClientPrincipal>;
    fn deref(&self) -> &Option<ClientPrincipal> {
        &self.0
    }
}

impl Parameter for OptionalClientPrincipal {
    type Owner = kind::http_trigger;

    fn read(invocation: &Invocation) -> Result<Self, InvocationError> {
        principal_of(invocation).map(OptionalClientPrincipal)
    }
}

impl HttpRequestBuilder {
    /// Adds the headers App Service authentication sends for a signed-in `principal`
    /// (`x-ms-client-principal` and its `-id`, `-name`, `-idp` companions), which a
    /// [`ClientPrincipal`] parameter reads.
    pub fn client_principal(self, principal: &ClientPrincipal) -> Self {
        principal.to_headers().into_iter().fold(self, |builder, (name, value)| {
            builder.header_bytes(name, value.as_bytes())
        })
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
    use http::HeaderMap;
    use serde_json::json;

    use super::{ClientPrincipal, NAME_CLAIM_TYPE, ROLE_CLAIM_TYPE};
    use crate::http::Claim;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        map
    }

    fn claim(claim_type: &str, value: &str) -> Claim {
        Claim {
            claim_type: claim_type.into(),
            value: value.into(),
        }
    }

    #[test]
    fn app_service_principals_read_their_headers_and_claims() {
        let principal = json!({
            "auth_typ": "aad",
            "name_typ": "name",
            "role_typ": ROLE_CLAIM_TYPE,
            "claims": [
                {"typ": "name", "val": "Alice Liddell"},
                {"typ": ROLE_CLAIM_TYPE, "val": "Reader"},
                {"typ": "roles", "val": "Admin"},
                {"typ": "roles", "val": "Reader"},
                {"typ": "ver", "val": 2},
            ],
        });
        let encoded = STANDARD.encode(principal.to_string());
        let read = ClientPrincipal::from_headers(&headers(&[
            ("X-MS-CLIENT-PRINCIPAL", &encoded),
            ("X-MS-CLIENT-PRINCIPAL-ID", "0d2b"),
            ("X-MS-CLIENT-PRINCIPAL-IDP", "aad"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(read.identity_provider, "aad");
        assert_eq!(read.user_id.as_deref(), Some("0d2b"));
        // No name header: the claim of type `name_typ`.
        assert_eq!(read.name.as_deref(), Some("Alice Liddell"));
        assert_eq!(read.roles, ["Reader", "Admin"]);
        assert!(read.has_role("Admin") && !read.has_role("admin"));
        assert_eq!(read.claim("VER"), Some("2"));
        assert_eq!(read.claims_of("roles").collect::<Vec<_>>(), ["Admin", "Reader"]);

        let identity = read.to_claims_identity();
        assert!(identity.is_authenticated);
        assert_eq!(identity.authentication_type.as_deref(), Some("aad"));
        assert_eq!(identity.claims.len(), 5);
    }

    #[test]
    fn name_and_provider_headers_win_and_defaults_fill_in() {
        let encoded = STANDARD_NO_PAD.encode(json!({"auth_typ": "github", "claims": []}).to_string());
        let read = ClientPrincipal::from_headers(&headers(&[
            ("x-ms-client-principal", &encoded),
            ("x-ms-client-principal-name", "alice@contoso.com"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(read.identity_provider, "github");
        assert_eq!(read.user_id, None);
        assert_eq!(read.name.as_deref(), Some("alice@contoso.com"));
        assert_eq!(
            (read.name_claim_type.as_str(), read.role_claim_type.as_str()),
            (NAME_CLAIM_TYPE, ROLE_CLAIM_TYPE)
        );
        assert!(read.roles.is_empty());
    }

    #[test]
    fn static_web_apps_principals_have_their_own_shape() {
        let principal = json!({
            "identityProvider": "github",
            "userId": "d75b260a64504067bfc5b2905e3b8182",
            "userDetails": "octocat",
            "userRoles": ["anonymous", "authenticated"],
            "claims": [{"typ": "name", "val": "Mona"}],
        });
        let read = ClientPrincipal::from_headers(&headers(&[(
            "x-ms-client-principal",
            &STANDARD.encode(principal.to_string()),
        )]))
        .unwrap()
        .unwrap();
        assert_eq!(read.identity_provider, "github");
        assert_eq!(read.user_id.as_deref(), Some("d75b260a64504067bfc5b2905e3b8182"));
        assert_eq!(read.name.as_deref(), Some("octocat"));
        assert_eq!(read.roles, ["anonymous", "authenticated"]);
        assert_eq!(read.claims, [claim("name", "Mona")]);
    }

    #[test]
    fn no_header_is_an_anonymous_caller() {
        assert_eq!(ClientPrincipal::from_headers(&HeaderMap::new()).unwrap(), None);
        // The other headers alone are not a principal.
        assert_eq!(
            ClientPrincipal::from_headers(&headers(&[("x-ms-client-principal-id", "x")])).unwrap(),
            None
        );
    }

    #[test]
    fn malformed_headers_say_what_is_wrong() {
        let cases = [
            ("not base64!", "the `x-ms-client-principal` header is not base64"),
            (&*STANDARD.encode("{oops"), "is not base64 of JSON"),
            (&*STANDARD.encode("[1]"), "is not base64 of a JSON object"),
            (
                &*STANDARD.encode(r#"{"sub": "x"}"#),
                "holds neither App Service authentication's principal",
            ),
            (
                &*STANDARD.encode(r#"{"auth_typ": "aad", "claims": {}}"#),
                "is not an App Service authentication principal",
            ),
            (
                &*STANDARD.encode(r#"{"userRoles": "admin"}"#),
                "is not a Static Web Apps principal",
            ),
        ];
        for (value, expected) in cases {
            let error = ClientPrincipal::from_headers(&headers(&[("x-ms-client-principal", value)])).unwrap_err();
            assert!(error.to_string().contains(expected), "{value}: {error}");
        }
    }

    #[test]
    fn headers_written_for_a_principal_read_back_as_it() {
        let principal = ClientPrincipal::new("aad", "0d2b")
            .with_name("alice@contoso.com")
            .with_role("Admin")
            .with_claim("tid", "72f9");
        let mut map = HeaderMap::new();
        for (name, value) in principal.to_headers() {
            map.append(name, value.parse().unwrap());
        }
        assert_eq!(ClientPrincipal::from_headers(&map).unwrap(), Some(principal.clone()));

        // Roles set directly get a claim in the header, so that they read back too.
        let mut bare = ClientPrincipal::new("aad", "0d2b");
        bare.roles.push("Reader".into());
        let mut map = HeaderMap::new();
        for (name, value) in bare.to_headers() {
            map.append(name, value.parse().unwrap());
        }
        let read = ClientPrincipal::from_headers(&map).unwrap().unwrap();
        assert_eq!(read.roles, ["Reader"]);
        assert_eq!(read.claims, [claim(ROLE_CLAIM_TYPE, "Reader")]);
    }
}
