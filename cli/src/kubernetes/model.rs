//! The Kubernetes objects `func kubernetes deploy` writes (Core Tools'
//! `Kubernetes/KubernetesHelper.cs`), as YAML trees: the settings Secret, the Deployments with
//! their container (port 80, the host's probes, the settings through `envFrom`, the functions
//! each runs through `AzureFunctionsJobHost__functions__<i>`), the HTTP Service, and KEDA's
//! `ScaledObject` (`keda.sh/v1alpha1`).

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::scalers::ScaleRule;
use super::yaml::Node;

/// The port the Functions host listens on in its images.
pub const HOST_PORT: i64 = 80;

/// What every object shares.
#[derive(Debug, Clone, Copy)]
pub struct Placement<'a> {
    /// `metadata.namespace`, if one is given.
    pub namespace: Option<&'a str>,
}

impl Placement<'_> {
    fn metadata(&self, name: &str, labels: bool) -> Node {
        let mut entries = vec![("name".to_owned(), Node::text(name))];
        if let Some(namespace) = self.namespace {
            entries.push(("namespace".to_owned(), Node::text(namespace)));
        }
        if labels {
            entries.push(("labels".to_owned(), app_label(name)));
        }
        Node::Map(entries)
    }
}

fn app_label(name: &str) -> Node {
    Node::text_map([("app", name)])
}

/// A `v1` Secret whose `data` holds `values`, base64-encoded.
pub fn secret(name: &str, placement: Placement<'_>, values: &BTreeMap<String, String>) -> Node {
    Node::map([
        ("apiVersion", Node::text("v1")),
        ("kind", Node::text("Secret")),
        ("metadata", placement.metadata(name, false)),
        (
            "data",
            Node::Map(
                values
                    .iter()
                    .map(|(key, value)| (key.clone(), Node::text(BASE64.encode(value))))
                    .collect(),
            ),
        ),
    ])
}

/// What a Deployment runs.
#[derive(Debug, Clone)]
pub struct DeploymentSpec<'a> {
    /// The Deployment's (and container's and label's) name.
    pub name: &'a str,
    /// The container image.
    pub image: &'a str,
    /// `spec.replicas`.
    pub replicas: u32,
    /// The functions this Deployment's host runs (the others are switched off).
    pub functions: &'a [String],
    /// Whether the container exposes the host's HTTP port (the HTTP Deployment).
    pub http: bool,
    /// The Secret given to the container through `envFrom`.
    pub settings_secret: &'a str,
    /// The Secret with the registry's credentials (`imagePullSecrets`), for a private registry.
    pub pull_secret: Option<&'a str>,
}

/// An `apps/v1` Deployment of the Functions host image.
pub fn deployment(spec: &DeploymentSpec<'_>, placement: Placement<'_>) -> Node {
    let environment = spec
        .functions
        .iter()
        .enumerate()
        .map(|(index, function)| {
            Node::map([
                ("name", Node::text(format!("AzureFunctionsJobHost__functions__{index}"))),
                ("value", Node::text(function.clone())),
            ])
        })
        .collect();
    let mut container = vec![
        ("name".to_owned(), Node::text(spec.name)),
        ("image".to_owned(), Node::text(spec.image)),
        ("env".to_owned(), Node::List(environment)),
    ];
    if spec.http {
        container.push((
            "ports".to_owned(),
            Node::List(vec![Node::map([("containerPort", Node::Integer(HOST_PORT))])]),
        ));
    }
    // The host answers `GET /` once it runs; its start may take a while (Core Tools' values).
    container.push(("readinessProbe".to_owned(), host_probe()));
    container.push(("startupProbe".to_owned(), host_probe()));
    container.push((
        "envFrom".to_owned(),
        Node::List(vec![Node::map([(
            "secretRef",
            Node::text_map([("name", spec.settings_secret)]),
        )])]),
    ));
    Node::map([
        ("apiVersion", Node::text("apps/v1")),
        ("kind", Node::text("Deployment")),
        ("metadata", placement.metadata(spec.name, true)),
        (
            "spec",
            Node::map([
                ("replicas", Node::Integer(i64::from(spec.replicas))),
                ("selector", Node::map([("matchLabels", app_label(spec.name))])),
                (
                    "template",
                    Node::map([
                        ("metadata", Node::map([("labels", app_label(spec.name))])),
                        ("spec", pod_spec(Node::Map(container), spec.pull_secret)),
                    ]),
                ),
            ]),
        ),
    ])
}

fn pod_spec(container: Node, pull_secret: Option<&str>) -> Node {
    let mut spec = vec![("containers".to_owned(), Node::List(vec![container]))];
    if let Some(secret) = pull_secret {
        spec.push((
            "imagePullSecrets".to_owned(),
            Node::List(vec![Node::text_map([("name", secret)])]),
        ));
    }
    Node::Map(spec)
}

fn host_probe() -> Node {
    Node::map([
        ("failureThreshold", Node::Integer(3)),
        (
            "httpGet",
            Node::map([
                ("path", Node::text("/")),
                ("port", Node::Integer(HOST_PORT)),
                ("scheme", Node::text("HTTP")),
            ]),
        ),
        ("periodSeconds", Node::Integer(10)),
        ("successThreshold", Node::Integer(1)),
        ("timeoutSeconds", Node::Integer(240)),
    ])
}

/// A `v1` Service of `service_type` in front of the Deployment `name`, port 80 to 80.
pub fn service(name: &str, placement: Placement<'_>, service_type: &str) -> Node {
    Node::map([
        ("apiVersion", Node::text("v1")),
        ("kind", Node::text("Service")),
        ("metadata", placement.metadata(name, false)),
        (
            "spec",
            Node::map([
                ("type", Node::text(service_type)),
                (
                    "ports",
                    Node::List(vec![Node::map([
                        ("port", Node::Integer(HOST_PORT)),
                        ("protocol", Node::text("TCP")),
                        ("targetPort", Node::Integer(HOST_PORT)),
                    ])]),
                ),
                ("selector", app_label(name)),
            ]),
        ),
    ])
}

/// How KEDA scales the non-HTTP Deployment.
#[derive(Debug, Clone)]
pub struct Scaling<'a> {
    /// The ScaledObject's and its target Deployment's name.
    pub name: &'a str,
    /// `pollingInterval`, seconds.
    pub polling_interval: u32,
    /// `cooldownPeriod`, seconds.
    pub cooldown_period: u32,
    /// `minReplicaCount`.
    pub min_replicas: u32,
    /// `maxReplicaCount`, if given (KEDA's default is 100).
    pub max_replicas: Option<u32>,
    /// One trigger each.
    pub rules: &'a [ScaleRule],
}

/// A KEDA `keda.sh/v1alpha1` ScaledObject for the Deployment of the same name.
pub fn scaled_object(scaling: &Scaling<'_>, placement: Placement<'_>) -> Node {
    let mut spec = vec![
        ("scaleTargetRef".to_owned(), Node::text_map([("name", scaling.name)])),
        (
            "pollingInterval".to_owned(),
            Node::Integer(i64::from(scaling.polling_interval)),
        ),
        (
            "cooldownPeriod".to_owned(),
            Node::Integer(i64::from(scaling.cooldown_period)),
        ),
        (
            "minReplicaCount".to_owned(),
            Node::Integer(i64::from(scaling.min_replicas)),
        ),
    ];
    if let Some(max) = scaling.max_replicas {
        spec.push(("maxReplicaCount".to_owned(), Node::Integer(i64::from(max))));
    }
    let triggers = scaling
        .rules
        .iter()
        .map(|rule| {
            Node::map([
                ("type", Node::text(rule.scaler)),
                // Named after the function, so KEDA's logs and metrics say which one it is.
                ("name", Node::text(rule.function.to_ascii_lowercase())),
                ("metadata", Node::text_map(rule.metadata.iter().cloned())),
            ])
        })
        .collect();
    spec.push(("triggers".to_owned(), Node::List(triggers)));
    Node::map([
        ("apiVersion", Node::text("keda.sh/v1alpha1")),
        ("kind", Node::text("ScaledObject")),
        ("metadata", placement.metadata(scaling.name, false)),
        ("spec", Node::Map(spec)),
    ])
}
