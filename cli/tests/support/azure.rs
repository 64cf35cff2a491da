//! A stand-in for the Azure endpoints `cargo azfn deploy` calls, on one https server at
//! 127.0.0.1 with the test CA of `runtime/tests/tls`: the Entra ID token endpoint
//! (`/{tenant}/oauth2/v2.0/token`, reached through `AZURE_AUTHORITY_HOST`), ARM (`Microsoft.Web`
//! sites, their settings, trigger sync and functions, with their real paths and `api-version`)
//! and the app's SCM site (`/api/publish`, `/api/zipdeploy`, `/api/deployments/…`). It records
//! every request, and can be told to throttle, fail or drop uploads and to fail a deployment.
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::{Value, json};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The token every request must carry.
pub const TOKEN: &str = "test-access-token";
/// The tenant of the test service principal.
pub const TENANT: &str = "00000000-0000-0000-0000-00000000000a";
/// The subscription holding the app.
pub const SUBSCRIPTION: &str = "00000000-0000-0000-0000-0000000000b1";
/// The app's resource group.
pub const GROUP: &str = "rg-azfn";
/// The Flex deployment id.
pub const DEPLOYMENT_ID: &str = "5f0c9d2e-deploy";

/// A file of `runtime/tests/tls`.
pub fn tls_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../runtime/tests/tls")
        .join(name)
}

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The method.
    pub method: String,
    /// The path.
    pub path: String,
    /// The query, or empty.
    pub query: String,
    /// The headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body (what arrived of it when the connection was dropped).
    pub body: Vec<u8>,
    /// When it arrived.
    pub at: Instant,
}

impl Recorded {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// How one upload is answered before the normal 202.
#[derive(Debug, Clone)]
pub enum UploadAnswer {
    /// This status, with this `Retry-After` if any.
    Status(u16, Option<String>),
    /// Read the first part of the body, then drop the connection.
    Drop,
}

/// The app the stand-in serves, and how it behaves.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The app's name.
    pub app: String,
    /// Flex Consumption (else Elastic Premium, or Linux Consumption with `dynamic`).
    pub flex: bool,
    /// Linux Consumption (SKU `Dynamic`), when not `flex`.
    pub dynamic: bool,
    /// Flex's `functionAppConfig.runtime.name`.
    pub flex_runtime: String,
    /// The app settings.
    pub settings: BTreeMap<String, String>,
    /// Answers to the first uploads, in order.
    pub upload_answers: VecDeque<UploadAnswer>,
    /// The deployment statuses the polls see, in order (the last repeats).
    pub statuses: Vec<i64>,
    /// How many function listings are empty before the functions appear.
    pub empty_function_lists: u32,
    /// Whether the token endpoint refuses the client secret.
    pub refuse_secret: bool,
}

impl Scenario {
    /// A Flex Consumption app on the native runtime (the Go stack) with its storage set up by
    /// identity, deploying well.
    pub fn flex_native(app: &str) -> Scenario {
        Scenario {
            app: app.to_owned(),
            flex: true,
            dynamic: false,
            flex_runtime: "go".to_owned(),
            settings: [
                ("AzureWebJobsStorage__accountName".to_owned(), "azfnstore".to_owned()),
                (
                    "APPLICATIONINSIGHTS_CONNECTION_STRING".to_owned(),
                    "InstrumentationKey=x".to_owned(),
                ),
            ]
            .into(),
            upload_answers: VecDeque::new(),
            statuses: vec![1, 2, 4],
            empty_function_lists: 1,
            refuse_secret: false,
        }
    }

    /// A Linux Elastic Premium app running a custom handler.
    pub fn premium_custom(app: &str) -> Scenario {
        let mut scenario = Scenario::flex_native(app);
        scenario.flex = false;
        scenario
            .settings
            .insert("FUNCTIONS_WORKER_RUNTIME".to_owned(), "custom".to_owned());
        scenario
    }

    /// A Linux Consumption app running a custom handler, its `AzureWebJobsStorage` being
    /// `storage` (no setting when `None`).
    pub fn linux_consumption(app: &str, storage: Option<&str>) -> Scenario {
        let mut scenario = Scenario::premium_custom(app);
        scenario.dynamic = true;
        scenario.settings.remove("AzureWebJobsStorage__accountName");
        if let Some(storage) = storage {
            scenario
                .settings
                .insert("AzureWebJobsStorage".to_owned(), storage.to_owned());
        }
        scenario
    }
}

struct State {
    scenario: Scenario,
    requests: Vec<Recorded>,
    polls: usize,
    function_lists: u32,
}

/// The running stand-in.
pub struct FakeAzure {
    /// Its address.
    pub address: SocketAddr,
    state: Arc<Mutex<State>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl FakeAzure {
    /// Starts it on a free port.
    pub fn start(scenario: Scenario) -> FakeAzure {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime for the stand-in");
        let certificates = CertificateDer::pem_file_iter(tls_file("server.pem"))
            .expect("server.pem")
            .collect::<Result<Vec<_>, _>>()
            .expect("server.pem");
        let key = PrivateKeyDer::from_pem_file(tls_file("server.key")).expect("server.key");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(certificates, key)
            .expect("the test certificate");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let state = Arc::new(Mutex::new(State {
            scenario,
            requests: Vec::new(),
            polls: 0,
            function_lists: 0,
        }));
        let shared = state.clone();
        runtime.spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let state = shared.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else { return };
                    let service = hyper::service::service_fn(move |request| handle(request, state.clone(), address));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        FakeAzure {
            address,
            state,
            runtime: Some(runtime),
        }
    }

    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("https://{}", self.address)
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).requests.clone()
    }

    /// The app settings now.
    pub fn settings(&self) -> BTreeMap<String, String> {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .scenario
            .settings
            .clone()
    }

    /// Runs `cargo-azfn deploy <args>` signed in as the test service principal, trusting the
    /// test CA, with ARM and Entra ID pointed here; killed if it runs over a minute.
    pub fn deploy(&self, args: &[&str]) -> Output {
        let mut command = Command::new(crate::support::CLI);
        command
            .arg("deploy")
            .args(args)
            .args(["--poll-interval", "0.05"])
            .env("AZURE_AUTHORITY_HOST", self.url())
            .env("AZURE_RESOURCE_MANAGER_ENDPOINT", self.url())
            .env("AZURE_TENANT_ID", TENANT)
            .env("AZURE_CLIENT_ID", "test-client")
            .env("AZURE_CLIENT_SECRET", "test-secret")
            .env("SSL_CERT_FILE", tls_file("ca.pem"))
            .env_remove("SSL_CERT_DIR")
            .env_remove("AZURE_SUBSCRIPTION_ID")
            .env_remove("AZURE_FEDERATED_TOKEN_FILE")
            .env_remove("IDENTITY_ENDPOINT")
            .env_remove("MSI_ENDPOINT")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = command.spawn().expect("run cargo-azfn deploy");
        let pid = child.id();
        let (done, waiting) = std::sync::mpsc::channel();
        let watchdog = std::thread::spawn(move || {
            if waiting.recv_timeout(Duration::from_secs(60)).is_err() {
                // Still running after a minute: end it so the test fails instead of hanging.
                let _ = Command::new("kill").arg(pid.to_string()).status();
            }
        });
        let output = child.wait_with_output().expect("wait for cargo-azfn deploy");
        let _ = done.send(());
        let _ = watchdog.join();
        output
    }
}

impl Drop for FakeAzure {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

type Reply = Response<Full<Bytes>>;

fn reply(status: u16, body: Value) -> Reply {
    let body = if body.is_null() {
        Vec::new()
    } else {
        body.to_string().into_bytes()
    };
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .expect("a response")
}

fn site_id(app: &str) -> String {
    format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/providers/Microsoft.Web/sites/{app}")
}

fn site_json(scenario: &Scenario, address: SocketAddr) -> Value {
    let app = &scenario.app;
    let mut properties = json!({
        "state": "Running",
        "reserved": true,
        "sku": match (scenario.flex, scenario.dynamic) {
            (true, _) => "FlexConsumption",
            (false, true) => "Dynamic",
            (false, false) => "ElasticPremium",
        },
        "defaultHostName": format!("{app}.azurewebsites.net"),
        "hostNameSslStates": [
            {"name": format!("{app}.azurewebsites.net"), "sslState": "Disabled", "hostType": "Standard"},
            {"name": address.to_string(), "sslState": "Disabled", "hostType": "Repository"}
        ],
    });
    if scenario.flex {
        properties["functionAppConfig"] = json!({
            "deployment": {"storage": {"type": "blobContainer", "value": "https://azfnstore.blob.core.windows.net/app-package"}},
            "runtime": {"name": scenario.flex_runtime, "version": "1.0"},
            "scaleAndConcurrency": {"maximumInstanceCount": 100, "instanceMemoryMB": 2048}
        });
    }
    json!({
        "id": site_id(app),
        "name": app,
        "type": "Microsoft.Web/sites",
        "kind": "functionapp,linux",
        "location": "westeurope",
        "properties": properties,
    })
}

fn functions_json(app: &str) -> Value {
    let function = |name: &str, trigger: Value, url: Option<String>| {
        json!({
            "id": format!("{}/functions/{name}", site_id(app)),
            "name": format!("{app}/{name}"),
            "type": "Microsoft.Web/sites/functions",
            "properties": {
                "name": name,
                "config": {"bindings": [trigger]},
                "invoke_url_template": url,
                "language": "custom",
                "isDisabled": false
            }
        })
    };
    json!({"value": [
        function("hello", json!({"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "function"}), Some(format!("https://{app}.azurewebsites.net/api/hello"))),
        function("forward", json!({"type": "queueTrigger", "direction": "in", "name": "order", "queueName": "orders"}), None),
    ]})
}

async fn handle(
    request: Request<Incoming>,
    state: Arc<Mutex<State>>,
    address: SocketAddr,
) -> Result<Reply, std::io::Error> {
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    let at = Instant::now();
    let is_upload = path == "/api/publish" || path == "/api/zipdeploy";
    let answer = if is_upload {
        state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .scenario
            .upload_answers
            .pop_front()
    } else {
        None
    };
    let mut body = request.into_body();
    let mut received = Vec::new();
    if matches!(answer, Some(UploadAnswer::Drop)) {
        // Take the first frames, then drop the connection in the middle of the body.
        while received.len() < 64 * 1024 {
            match body.frame().await {
                Some(Ok(frame)) => received.extend_from_slice(frame.data_ref().map(|d| d.as_ref()).unwrap_or_default()),
                _ => break,
            }
        }
        record(
            &state,
            Recorded {
                method,
                path,
                query,
                headers,
                body: received,
                at,
            },
        );
        return Err(std::io::Error::other("dropped mid-body on purpose"));
    }
    let collected = body.collect().await.map_err(std::io::Error::other)?.to_bytes();
    received.extend_from_slice(&collected);
    record(
        &state,
        Recorded {
            method: method.clone(),
            path: path.clone(),
            query,
            headers,
            body: received.clone(),
            at,
        },
    );

    if let Some(UploadAnswer::Status(status, retry_after)) = answer {
        let mut response = reply(status, json!({"Message": "busy"}));
        if let Some(value) = retry_after {
            response
                .headers_mut()
                .insert("retry-after", value.parse().expect("a header value"));
        }
        return Ok(response);
    }

    let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
    let app = state.scenario.app.clone();
    let site = site_id(&app);
    let ok = match (method.as_str(), path.as_str()) {
        ("POST", p) if p == format!("/{TENANT}/oauth2/v2.0/token") && state.scenario.refuse_secret => reply(
            401,
            json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided.", "error_codes": [7000215]}),
        ),
        ("POST", p) if p == format!("/{TENANT}/oauth2/v2.0/token") => reply(
            200,
            json!({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": TOKEN}),
        ),
        ("GET", "/subscriptions") => reply(
            200,
            json!({"value": [{"id": format!("/subscriptions/{SUBSCRIPTION}"), "subscriptionId": SUBSCRIPTION, "displayName": "azfn tests", "state": "Enabled"}]}),
        ),
        ("GET", p) if p == format!("/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Web/sites") => {
            reply(200, json!({"value": [site_json(&state.scenario, address)]}))
        }
        ("GET", p) if p == site => reply(200, site_json(&state.scenario, address)),
        ("GET", p)
            if p.strip_prefix(&format!(
                "/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/providers/Microsoft.Web/sites/"
            ))
            .is_some_and(|name| !name.contains('/')) =>
        {
            reply(
                404,
                json!({"error": {"code": "ResourceNotFound", "message": "The Resource 'Microsoft.Web/sites/x' was not found."}}),
            )
        }
        ("POST", p) if p == format!("{site}/config/appsettings/list") => reply(
            200,
            json!({"id": format!("{site}/config/appsettings"), "name": "appsettings", "type": "Microsoft.Web/sites/config", "properties": state.scenario.settings}),
        ),
        ("PUT", p) if p == format!("{site}/config/appsettings") => {
            let body: Value = serde_json::from_slice(&received).unwrap_or(Value::Null);
            let settings: BTreeMap<String, String> = body
                .get("properties")
                .and_then(|p| serde_json::from_value(p.clone()).ok())
                .unwrap_or_default();
            state.scenario.settings = settings;
            reply(200, json!({"properties": state.scenario.settings}))
        }
        ("POST", p) if p == format!("{site}/syncfunctiontriggers") => reply(200, Value::Null),
        ("GET", p) if p == format!("{site}/functions") => {
            state.function_lists += 1;
            if state.function_lists <= state.scenario.empty_function_lists {
                reply(200, json!({"value": []}))
            } else {
                reply(200, functions_json(&app))
            }
        }
        ("POST", p) if p == format!("{site}/functions/hello/listkeys") => reply(
            200,
            json!({"id": format!("{site}/functions/hello/keys"), "name": "hello", "properties": {"default": "fn-key-1=="}}),
        ),
        ("POST", "/api/publish") => Response::builder()
            .status(202)
            .body(Full::new(Bytes::from(DEPLOYMENT_ID)))
            .expect("a response"),
        ("POST", "/api/zipdeploy") => Response::builder()
            .status(202)
            .header(
                "location",
                format!("https://{address}/api/deployments/latest?deployer=cargo_azfn&time=2026-12-04_01-00-00Z"),
            )
            .body(Full::new(Bytes::new()))
            .expect("a response"),
        ("GET", p) if p == format!("/api/deployments/{DEPLOYMENT_ID}") || p == "/api/deployments/latest" => {
            let index = state.polls.min(state.scenario.statuses.len() - 1);
            state.polls += 1;
            let code = state.scenario.statuses[index];
            let ended = matches!(code, -1 | 3 | 4 | 5 | 6);
            let text = match code {
                1 => "Building",
                2 => "Deploying",
                3 => "Deployment failed",
                4 => "Deployment successful",
                _ => "",
            };
            let status = if p.ends_with("latest") && !ended { 202 } else { 200 };
            reply(
                status,
                json!({"id": DEPLOYMENT_ID, "status": code, "status_text": text, "complete": ended, "deployer": "cargo_azfn"}),
            )
        }
        ("GET", p) if p == format!("/api/deployments/{DEPLOYMENT_ID}/log") => reply(
            200,
            json!([
                {"log_time": "2026-12-04T01:00:01Z", "id": "l1", "message": "Received package", "type": 0, "details_url": null},
                {"log_time": "2026-12-04T01:00:05Z", "id": "l2", "message": "Deployment failed", "type": 2,
                 "details_url": format!("https://{address}/api/deployments/{DEPLOYMENT_ID}/log/l2")}
            ]),
        ),
        ("GET", p) if p == format!("/api/deployments/{DEPLOYMENT_ID}/log/l2") => reply(
            200,
            json!([{"log_time": "2026-12-04T01:00:05Z", "id": "d1", "message": "Host failed to start: app exited with code 127", "type": 2}]),
        ),
        _ => reply(
            404,
            json!({"error": {"code": "NotFound", "message": format!("the stand-in has no {method} {path}")}}),
        ),
    };
    Ok(ok)
}

fn record(state: &Arc<Mutex<State>>, recorded: Recorded) {
    state.lock().unwrap_or_else(|e| e.into_inner()).requests.push(recorded);
}
