//! The resource every span carries: what the .NET worker's `FunctionsResourceDetector` sets,
//! read from the same App Service variables.

use opentelemetry::KeyValue;
use opentelemetry_sdk::Resource;

/// The resource for this process, reading the environment through `lookup`.
///
/// `service.name`: `OTEL_SERVICE_NAME` or `service.name` in `OTEL_RESOURCE_ATTRIBUTES` (the SDK
/// reads both), else `WEBSITE_SITE_NAME`, else the executable's name. In Azure (where
/// `WEBSITE_SITE_NAME` is set): `cloud.provider`, `cloud.platform`, `cloud.region`
/// (`REGION_NAME`), `cloud.resource_id` (from `WEBSITE_OWNER_NAME` and
/// `WEBSITE_RESOURCE_GROUP`), `deployment.environment.name` (`WEBSITE_SLOT_NAME`),
/// `azure.functions.site.update_id` (`FUNCTIONS_SITE_UPDATE_ID`). Always `process.pid`.
pub(crate) fn detect(lookup: impl Fn(&str) -> Option<String>) -> Resource {
    let lookup = |name: &str| lookup(name).filter(|value| !value.is_empty());
    let site = lookup("WEBSITE_SITE_NAME");
    let mut builder = Resource::builder();
    let configured = lookup("OTEL_SERVICE_NAME").is_some()
        || lookup("OTEL_RESOURCE_ATTRIBUTES").is_some_and(|attributes| names_service(&attributes));
    if !configured {
        builder = builder.with_service_name(site.clone().unwrap_or_else(executable_name));
    }
    let mut attributes = vec![KeyValue::new("process.pid", i64::from(std::process::id()))];
    if let Some(site) = &site {
        attributes.push(KeyValue::new("cloud.provider", "azure"));
        attributes.push(KeyValue::new("cloud.platform", "azure_functions"));
        if let Some(region) = lookup("REGION_NAME") {
            attributes.push(KeyValue::new("cloud.region", region));
        }
        if let (Some(group), Some(owner)) = (lookup("WEBSITE_RESOURCE_GROUP"), lookup("WEBSITE_OWNER_NAME")) {
            // The owner is `<subscription id>+<webspace>`.
            let subscription = owner.split_once('+').map_or(owner.as_str(), |(id, _)| id);
            attributes.push(KeyValue::new(
                "cloud.resource_id",
                format!("/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Web/sites/{site}"),
            ));
        }
        if let Some(slot) = lookup("WEBSITE_SLOT_NAME") {
            attributes.push(KeyValue::new("deployment.environment.name", slot));
        }
        if let Some(update) = lookup("FUNCTIONS_SITE_UPDATE_ID") {
            attributes.push(KeyValue::new("azure.functions.site.update_id", update));
        }
    }
    builder.with_attributes(attributes).build()
}

/// Whether `OTEL_RESOURCE_ATTRIBUTES` (`key=value,key=value`) names `service.name`.
fn names_service(attributes: &str) -> bool {
    attributes
        .split(',')
        .filter_map(|pair| pair.split_once('='))
        .any(|(key, _)| key.trim() == "service.name")
}

fn executable_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|path| path.file_stem().map(|stem| stem.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "unknown_service".to_owned())
}

#[cfg(test)]
mod tests {
    use opentelemetry::{Key, Value};

    use super::*;

    fn detect_with(variables: &[(&str, &str)]) -> Resource {
        detect(|name| {
            variables
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    fn get(resource: &Resource, key: &'static str) -> Option<String> {
        resource.get(&Key::from_static_str(key)).map(|value| match value {
            Value::String(text) => text.to_string(),
            other => other.to_string(),
        })
    }

    #[test]
    fn in_azure_the_site_names_the_service_and_the_cloud_attributes_are_set() {
        let resource = detect_with(&[
            ("WEBSITE_SITE_NAME", "shop"),
            ("REGION_NAME", "West Europe"),
            ("WEBSITE_OWNER_NAME", "sub-1+rg-WestEuropewebspace"),
            ("WEBSITE_RESOURCE_GROUP", "rg"),
            ("WEBSITE_SLOT_NAME", "staging"),
        ]);
        assert_eq!(get(&resource, "service.name").as_deref(), Some("shop"));
        assert_eq!(get(&resource, "cloud.provider").as_deref(), Some("azure"));
        assert_eq!(get(&resource, "cloud.platform").as_deref(), Some("azure_functions"));
        assert_eq!(get(&resource, "cloud.region").as_deref(), Some("West Europe"));
        assert_eq!(
            get(&resource, "cloud.resource_id").as_deref(),
            Some("/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.Web/sites/shop")
        );
        assert_eq!(
            get(&resource, "deployment.environment.name").as_deref(),
            Some("staging")
        );
        assert_eq!(get(&resource, "process.pid"), Some(std::process::id().to_string()));
    }

    #[test]
    fn outside_azure_the_executable_names_the_service_and_no_cloud_attribute_is_set() {
        let resource = detect_with(&[]);
        assert_eq!(get(&resource, "service.name"), Some(executable_name()));
        assert_eq!(get(&resource, "cloud.provider"), None);
    }

    #[test]
    fn a_configured_service_name_is_left_to_the_sdk() {
        assert!(names_service("deployment.environment=prod, service.name=orders"));
        assert!(!names_service("service.version=1"));
    }
}
