//! The Azure Resource Manager calls of a deploy: finding the function app, its settings, trigger
//! sync and the deployed functions. Paths and shapes are those of the ARM REST reference for
//! `Microsoft.Web/sites` (`Web Apps - Get`, `List Application Settings`, `Update Application
//! Settings`, `Sync Function Triggers`, `List Functions`) and `Subscriptions - List`.

use std::collections::BTreeMap;

use azure_core::http::{Method, Url};
use serde_json::{Value, json};

use crate::error::{Error, Result};

use super::http::{AzureClient, Reply};

/// The public cloud's ARM endpoint.
pub const PUBLIC_ENDPOINT: &str = "https://management.azure.com";
/// The `api-version` of `Microsoft.Web` calls (the first with `functionAppConfig` is 2023-12-01).
pub const WEB_API_VERSION: &str = "2024-04-01";
/// The `api-version` of `Subscriptions - List`.
pub const SUBSCRIPTIONS_API_VERSION: &str = "2022-12-01";

/// Parses `--arm-endpoint`: an https URL.
///
/// # Errors
///
/// When it is not an https URL.
pub fn endpoint_url(text: &str) -> Result<Url> {
    let url = Url::parse(text).map_err(|e| Error::new(format!("--arm-endpoint `{text}` is not a URL: {e}")))?;
    if url.scheme() != "https" {
        return Err(Error::new(format!("--arm-endpoint `{text}` must be https")));
    }
    Ok(url)
}

/// A function app as ARM describes it.
#[derive(Debug, Clone)]
pub struct Site {
    /// The resource id (`/subscriptions/…/resourceGroups/…/providers/Microsoft.Web/sites/<name>`).
    pub id: String,
    /// The app's name.
    pub name: String,
    /// `kind`, e.g. `functionapp,linux`.
    pub kind: String,
    /// `properties`.
    pub properties: Value,
}

/// The plan kinds a deploy tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Flex Consumption: one deploy through `/api/publish`.
    FlexConsumption,
    /// Linux Consumption (SKU `Dynamic`): no zip deploy; the package runs from a blob URL.
    LinuxConsumption,
    /// Premium (Elastic Premium) or Dedicated (App Service plan): zip deploy.
    PremiumOrDedicated,
}

impl Site {
    /// A site from ARM's JSON (`id`, `name`, `kind`, `properties`).
    ///
    /// # Errors
    ///
    /// When `id` or `name` is missing.
    pub fn from_json(value: &Value) -> Result<Site> {
        let text = |key: &str| value.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        let site = Site {
            id: text("id"),
            name: text("name"),
            kind: text("kind"),
            properties: value.get("properties").cloned().unwrap_or(Value::Null),
        };
        if site.id.is_empty() || site.name.is_empty() {
            return Err(Error::new(format!("ARM returned a site without id or name: {value}")));
        }
        Ok(site)
    }

    fn property(&self, key: &str) -> Option<&str> {
        self.properties.get(key).and_then(Value::as_str)
    }

    /// `properties.sku` (`FlexConsumption`, `Dynamic`, `ElasticPremium`, `PremiumV3`, …).
    pub fn sku(&self) -> &str {
        self.property("sku").unwrap_or_default()
    }

    /// Whether the app runs on Linux (`reserved`, or `linux` in `kind`).
    pub fn is_linux(&self) -> bool {
        self.properties.get("reserved").and_then(Value::as_bool) == Some(true)
            || self.kind.to_ascii_lowercase().split(',').any(|k| k.trim() == "linux")
    }

    /// Whether this is a function app at all (`kind` has `functionapp`).
    pub fn is_function_app(&self) -> bool {
        self.kind.to_ascii_lowercase().contains("functionapp")
    }

    /// The hosting plan's kind.
    pub fn plan(&self) -> Plan {
        if self.sku().eq_ignore_ascii_case("FlexConsumption")
            || self.properties.get("functionAppConfig").is_some_and(|c| !c.is_null())
        {
            Plan::FlexConsumption
        } else if self.sku().eq_ignore_ascii_case("Dynamic") {
            Plan::LinuxConsumption
        } else {
            Plan::PremiumOrDedicated
        }
    }

    /// Flex Consumption's `functionAppConfig.runtime` name and version.
    pub fn flex_runtime(&self) -> Option<(String, String)> {
        let runtime = self.properties.get("functionAppConfig")?.get("runtime")?;
        let field = |key: &str| runtime.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        Some((field("name"), field("version")))
    }

    /// The SCM (Kudu) host: the `hostNameSslStates` entry of `hostType` `Repository`.
    pub fn scm_host(&self) -> Result<String> {
        self.properties
            .get("hostNameSslStates")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|state| {
                state
                    .get("hostType")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.eq_ignore_ascii_case("Repository"))
            })
            .and_then(|state| state.get("name").and_then(Value::as_str))
            .map(str::to_owned)
            .ok_or_else(|| {
                Error::new(format!(
                    "the app {} has no SCM (Kudu) host name (no `hostNameSslStates` entry of type Repository)",
                    self.name
                ))
            })
    }

    /// The resource group, from the id.
    pub fn resource_group(&self) -> &str {
        id_segment(&self.id, "resourceGroups").unwrap_or_default()
    }

    /// The subscription, from the id.
    pub fn subscription(&self) -> &str {
        id_segment(&self.id, "subscriptions").unwrap_or_default()
    }
}

/// The segment after `key` in a resource id (case-insensitively, as ARM compares them).
fn id_segment<'a>(id: &'a str, key: &str) -> Option<&'a str> {
    let mut segments = id.split('/');
    while let Some(segment) = segments.next() {
        if segment.eq_ignore_ascii_case(key) {
            return segments.next();
        }
    }
    None
}

/// A function of the deployed app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFunction {
    /// Its name.
    pub name: String,
    /// The trigger's `type`.
    pub trigger: String,
    /// `invoke_url_template`, for HTTP functions.
    pub invoke_url: Option<String>,
    /// The trigger's `authLevel`, for HTTP functions.
    pub auth_level: Option<String>,
}

impl RemoteFunction {
    /// Whether calling it takes a function key (`authLevel` `function`), so its URL is printed
    /// with `?code=`, as Core Tools does.
    pub fn needs_key(&self) -> bool {
        self.invoke_url.is_some()
            && self
                .auth_level
                .as_deref()
                .is_some_and(|l| l.eq_ignore_ascii_case("function"))
    }
}

/// An ARM client.
#[derive(Debug, Clone)]
pub struct Arm {
    client: AzureClient,
    endpoint: Url,
}

impl Arm {
    /// A client for the ARM endpoint `endpoint` (its token scope is `<endpoint>/.default`).
    pub fn new(client: AzureClient, endpoint: Url) -> Arm {
        Arm { client, endpoint }
    }

    /// The token scope of an ARM endpoint.
    pub fn scope(endpoint: &Url) -> String {
        format!("{}/.default", endpoint.as_str().trim_end_matches('/'))
    }

    fn url(&self, path: &str, api_version: &str) -> Result<Url> {
        let mut url = self
            .endpoint
            .join(path)
            .map_err(|e| Error::new(format!("bad ARM path {path}: {e}")))?;
        url.query_pairs_mut().append_pair("api-version", api_version);
        Ok(url)
    }

    async fn call(&self, method: Method, url: Url, body: Option<&Value>) -> Result<Reply> {
        self.client.send_json(method, url, body).await
    }

    /// GETs every page of a list (`value`, following `nextLink`).
    async fn list(&self, first: Url, what: &str) -> Result<Vec<Value>> {
        let mut items = Vec::new();
        let mut next = Some(first);
        while let Some(url) = next.take() {
            let reply = self.call(Method::Get, url, None).await?;
            if !reply.is_success() {
                return Err(reply.error(what));
            }
            let page = reply.json(what)?;
            items.extend(page.get("value").and_then(Value::as_array).cloned().unwrap_or_default());
            next = match page.get("nextLink").and_then(Value::as_str) {
                Some(link) if !link.is_empty() => {
                    Some(Url::parse(link).map_err(|e| Error::new(format!("{what}: bad nextLink {link}: {e}")))?)
                }
                _ => None,
            };
        }
        Ok(items)
    }

    /// The app `name`: directly with a resource group and subscription, else by looking through
    /// every subscription the identity sees (as Core Tools does).
    pub async fn find_site(
        &self,
        name: &str,
        resource_group: Option<&str>,
        subscription: Option<&str>,
    ) -> Result<Site> {
        match (resource_group, subscription) {
            (Some(group), Some(subscription)) => self.get_site(subscription, group, name).await,
            _ => self.search_site(name, resource_group, subscription).await,
        }
    }

    async fn get_site(&self, subscription: &str, group: &str, name: &str) -> Result<Site> {
        let path = format!("/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Web/sites/{name}");
        let reply = self.call(Method::Get, self.url(&path, WEB_API_VERSION)?, None).await?;
        if reply.status == 404 {
            return Err(Error::new(format!(
                "no function app `{name}` in the resource group `{group}` of the subscription {subscription} \
                 ({}); check the names, or leave out --resource-group to look through every subscription",
                reply.error("ARM").message()
            )));
        }
        if !reply.is_success() {
            return Err(reply.error(&format!("cannot read the app `{name}`")));
        }
        Site::from_json(&reply.json("the app")?)
    }

    async fn search_site(&self, name: &str, group: Option<&str>, subscription: Option<&str>) -> Result<Site> {
        let subscriptions = match subscription {
            Some(id) => vec![id.to_owned()],
            None => {
                let url = self.url("/subscriptions", SUBSCRIPTIONS_API_VERSION)?;
                self.list(url, "cannot list the subscriptions")
                    .await?
                    .iter()
                    .filter_map(|s| s.get("subscriptionId").and_then(Value::as_str).map(str::to_owned))
                    .collect()
            }
        };
        if subscriptions.is_empty() {
            return Err(Error::new(
                "the signed-in identity sees no subscription; pass --subscription, or sign in with an account that has one",
            ));
        }
        let mut found = Vec::new();
        for subscription in &subscriptions {
            let path = format!("/subscriptions/{subscription}/providers/Microsoft.Web/sites");
            let sites = self
                .list(
                    self.url(&path, WEB_API_VERSION)?,
                    &format!("cannot list the apps of {subscription}"),
                )
                .await?;
            for value in &sites {
                let site = Site::from_json(value)?;
                if site.name.eq_ignore_ascii_case(name)
                    && group.is_none_or(|g| site.resource_group().eq_ignore_ascii_case(g))
                {
                    found.push(site);
                }
            }
        }
        match found.len() {
            0 => Err(Error::new(format!(
                "no function app named `{name}` in the {} subscription(s) the signed-in identity sees ({}); check the \
                 name, or pass --subscription",
                subscriptions.len(),
                subscriptions.join(", ")
            ))),
            1 => {
                // The list's entries may be abridged: read the app itself.
                let site = found.remove(0);
                self.get_site(site.subscription(), site.resource_group(), &site.name)
                    .await
            }
            _ => Err(Error::new(format!(
                "several apps are named `{name}`: {}; pass --resource-group and --subscription",
                found
                    .iter()
                    .map(|s| format!("{} (subscription {})", s.resource_group(), s.subscription()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// The app's settings (`POST …/config/appsettings/list`).
    pub async fn app_settings(&self, site: &Site) -> Result<BTreeMap<String, String>> {
        let url = self.url(&format!("{}/config/appsettings/list", site.id), WEB_API_VERSION)?;
        let reply = self.call(Method::Post, url, None).await?;
        if !reply.is_success() {
            return Err(reply.error(&format!("cannot read the settings of {}", site.name)));
        }
        let body = reply.json("the app settings")?;
        Ok(body
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
            .collect())
    }

    /// Replaces the app's settings with `settings` (`PUT …/config/appsettings`; ARM has no
    /// partial update, so the caller passes the current ones with its additions).
    pub async fn put_app_settings(&self, site: &Site, settings: &BTreeMap<String, String>) -> Result<()> {
        let url = self.url(&format!("{}/config/appsettings", site.id), WEB_API_VERSION)?;
        let body = json!({ "properties": settings });
        let reply = self.call(Method::Put, url, Some(&body)).await?;
        if !reply.is_success() {
            return Err(reply.error(&format!("cannot update the settings of {}", site.name)));
        }
        Ok(())
    }

    /// Asks the platform to read the app's triggers again (`POST …/syncfunctiontriggers`).
    pub async fn sync_triggers(&self, site: &Site) -> Result<()> {
        let url = self.url(&format!("{}/syncfunctiontriggers", site.id), WEB_API_VERSION)?;
        let reply = self.call(Method::Post, url, None).await?;
        if !reply.is_success() {
            return Err(reply.error(&format!("cannot sync the triggers of {}", site.name)));
        }
        Ok(())
    }

    /// A function's `default` key (`POST …/functions/<name>/listkeys`). The REST reference
    /// documents a `StringDictionary` (`properties.default`); a flat `default` is read too.
    pub async fn function_key(&self, site: &Site, function: &str) -> Result<Option<String>> {
        let url = self.url(&format!("{}/functions/{function}/listkeys", site.id), WEB_API_VERSION)?;
        let reply = self.call(Method::Post, url, None).await?;
        if !reply.is_success() {
            return Err(reply.error(&format!("cannot read the keys of {function}")));
        }
        let body = reply.json("the function keys")?;
        Ok(body
            .get("properties")
            .and_then(|p| p.get("default"))
            .or_else(|| body.get("default"))
            .and_then(Value::as_str)
            .map(str::to_owned))
    }

    /// The app's functions (`GET …/functions`), sorted by name.
    pub async fn functions(&self, site: &Site) -> Result<Vec<RemoteFunction>> {
        let url = self.url(&format!("{}/functions", site.id), WEB_API_VERSION)?;
        let items = self
            .list(url, &format!("cannot list the functions of {}", site.name))
            .await?;
        let mut functions: Vec<RemoteFunction> = items.iter().map(remote_function).collect();
        functions.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(functions)
    }
}

fn remote_function(item: &Value) -> RemoteFunction {
    let properties = item.get("properties").unwrap_or(&Value::Null);
    // `name` is `<app>/<function>` at the top and the function's own in `properties`.
    let name = properties
        .get("name")
        .and_then(Value::as_str)
        .or_else(|| {
            item.get("name")
                .and_then(Value::as_str)
                .map(|n| n.rsplit('/').next().unwrap_or(n))
        })
        .unwrap_or_default()
        .to_owned();
    let trigger_binding = properties
        .get("config")
        .and_then(|c| c.get("bindings"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|b| {
            b.get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.to_ascii_lowercase().ends_with("trigger"))
        });
    let binding_text = |key: &str| {
        trigger_binding
            .and_then(|b| b.get(key))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let trigger = binding_text("type").unwrap_or_default();
    let auth_level = binding_text("authLevel");
    let invoke_url = properties
        .get("invoke_url_template")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
        .map(str::to_owned);
    RemoteFunction {
        name,
        trigger,
        invoke_url,
        auth_level,
    }
}

/// A site `app1` in `rg1` of subscription `s1`, as ARM describes it, for unit tests.
#[cfg(test)]
pub(crate) fn test_site(kind: &str, properties: Value) -> Site {
    Site::from_json(&serde_json::json!({
        "id": "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Web/sites/app1",
        "name": "app1",
        "kind": kind,
        "properties": properties,
    }))
    .expect("a well-formed site")
}

#[cfg(test)]
mod tests {
    use super::*;

    use test_site as site;

    #[test]
    fn plans_and_hosts_are_read_from_the_site() {
        let flex = site(
            "functionapp,linux",
            json!({
                "sku": "FlexConsumption",
                "reserved": true,
                "functionAppConfig": {"runtime": {"name": "custom", "version": "1.0"}},
                "hostNameSslStates": [
                    {"name": "app1.azurewebsites.net", "hostType": "Standard"},
                    {"name": "app1.scm.azurewebsites.net", "hostType": "Repository"}
                ]
            }),
        );
        assert_eq!(flex.plan(), Plan::FlexConsumption);
        assert!(flex.is_linux() && flex.is_function_app());
        assert_eq!(flex.flex_runtime(), Some(("custom".into(), "1.0".into())));
        assert_eq!(flex.scm_host().unwrap(), "app1.scm.azurewebsites.net");
        assert_eq!((flex.subscription(), flex.resource_group()), ("s1", "rg1"));
        assert_eq!(
            site("functionapp,linux", json!({"sku": "Dynamic"})).plan(),
            Plan::LinuxConsumption
        );
        let windows = site("functionapp", json!({"sku": "ElasticPremium"}));
        assert_eq!(windows.plan(), Plan::PremiumOrDedicated);
        assert!(!windows.is_linux());
        assert!(windows.scm_host().unwrap_err().to_string().contains("Repository"));
    }

    #[test]
    fn functions_keep_their_trigger_and_url() {
        let function = remote_function(&json!({
            "name": "app1/Hello",
            "properties": {
                "config": {"bindings": [{"type": "httpTrigger", "authLevel": "function"}, {"type": "http"}]},
                "invoke_url_template": "https://app1.azurewebsites.net/api/hello"
            }
        }));
        assert_eq!(
            function,
            RemoteFunction {
                name: "Hello".into(),
                trigger: "httpTrigger".into(),
                invoke_url: Some("https://app1.azurewebsites.net/api/hello".into()),
                auth_level: Some("function".into()),
            }
        );
        assert!(function.needs_key());
    }
}
