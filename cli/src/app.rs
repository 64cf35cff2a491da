//! A function app folder as the host reads it: `host.json`, one `<name>/function.json` per
//! function (the folder name is the function name), and the local settings (by default the
//! folder's `local.settings.json`; `cargo azfn start` reads the project root's).
//!
//! Keys are read ignoring case, as the host's .NET configuration binder and its function.json
//! reader do.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use azfn_bindings::route::{RouteTable, RouteTemplate, parse_route};
use azfn_bindings::schedule::{TimerSchedule, parse_timer_schedule, time_span_seconds};
use serde_json::{Map, Value};

use crate::error::{Context, Error, Result};
use crate::json_file::read_json;
use crate::settings::LocalSettings;

/// The route prefix when host.json does not set `extensions.http.routePrefix`.
pub const DEFAULT_ROUTE_PREFIX: &str = "api";

/// The setting in `local.settings.json` `Values` holding the function key (see the README).
pub const FUNCTION_KEY_SETTING: &str = "AzureWebJobs.FunctionKey";
/// The setting in `local.settings.json` `Values` holding the master (admin) key.
pub const MASTER_KEY_SETTING: &str = "AzureWebJobs.MasterKey";

/// The function timeout when host.json sets none: the host's default outside the Consumption
/// plan, which is what a local host is.
pub const DEFAULT_FUNCTION_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Where the local settings come from and how keys are treated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// The local.settings.json to read (default: the app folder's).
    pub settings_file: Option<PathBuf>,
    /// Check function keys (`--enable-auth`); by default every request is let through, as
    /// Core Tools does.
    pub enable_auth: bool,
}

/// Everything the local host needs to know about an app folder.
#[derive(Debug, Clone)]
pub struct FunctionApp {
    /// The app folder (the host's script root).
    pub root: PathBuf,
    /// `customHandler.description` of host.json.
    pub handler: HandlerDescription,
    /// `extensions.http.routePrefix`, without surrounding slashes.
    pub route_prefix: String,
    /// The local settings; their `Values` are given to the worker as environment variables.
    pub local: LocalSettings,
    /// Whether function keys are checked (`--enable-auth`).
    pub enable_auth: bool,
    /// host.json `functionTimeout`: `None` for `-1` (no limit).
    pub function_timeout: Option<Duration>,
    /// The functions that could be read, ordered by name.
    pub functions: Vec<Function>,
    /// The HTTP-triggered functions' routes under `route_prefix`, as indexes into `functions`:
    /// parsed once, in the host's precedence ([`FunctionApp::route_table`]).
    pub routes: RouteTable<usize>,
    /// Why the other function folders were skipped, one message each.
    pub problems: Vec<String>,
}

/// How host.json says the worker is started (its `customHandler.description`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerDescription {
    /// `defaultExecutablePath`.
    pub executable: String,
    /// `arguments`.
    pub arguments: Vec<String>,
    /// `defaultWorkerPath`, put after the arguments in double quotes.
    pub worker_path: Option<String>,
    /// `workerArguments`, put after the worker path.
    pub worker_arguments: Vec<String>,
    /// `workingDirectory`; empty means the app root.
    pub working_directory: String,
    /// `workerDirectory`; empty means the app root.
    pub worker_directory: String,
}

/// One function: its folder name and bindings.
#[derive(Debug, Clone)]
pub struct Function {
    /// The folder name, which is the function name.
    pub name: String,
    /// The bindings of function.json, in order.
    pub bindings: Vec<Binding>,
    /// What starts the function.
    pub trigger: Trigger,
}

/// A binding's direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `in`.
    In,
    /// `out`.
    Out,
    /// `inout`.
    InOut,
}

/// One entry of function.json `bindings`.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    /// `type`, such as `httpTrigger` or `queue`.
    pub kind: String,
    /// `direction`.
    pub direction: Direction,
    /// `name`.
    pub name: String,
    /// `dataType`, lowercased, if given.
    pub data_type: Option<String>,
    /// Every key of the binding, for the properties the host reads per type.
    pub properties: Map<String, Value>,
}

/// What starts a function.
#[derive(Debug, Clone)]
pub enum Trigger {
    /// `httpTrigger`.
    Http(HttpTrigger),
    /// `timerTrigger`.
    Timer(TimerTrigger),
    /// Any other trigger, such as `queueTrigger` or `blobTrigger`, by its type.
    Other {
        /// The trigger's `type`.
        kind: String,
        /// The trigger binding's `name`.
        binding: String,
    },
}

/// An HTTP trigger.
#[derive(Debug, Clone)]
pub struct HttpTrigger {
    /// The binding name (`req`).
    pub binding: String,
    /// The route template as written (the function name when function.json has none).
    pub route_text: String,
    /// The parsed template.
    pub route: RouteTemplate,
    /// Allowed methods in upper case; `None` allows every method.
    pub methods: Option<Vec<String>>,
    /// Who may call it.
    pub auth_level: AuthLevel,
}

/// `authLevel` of an HTTP trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthLevel {
    /// No key needed.
    Anonymous,
    /// The function key or the master key.
    Function,
    /// Only the master key.
    Admin,
}

/// A timer trigger.
#[derive(Debug, Clone)]
pub struct TimerTrigger {
    /// The binding name.
    pub binding: String,
    /// The schedule as written.
    pub schedule_text: String,
    /// The parsed schedule.
    pub schedule: TimerSchedule,
    /// `runOnStartup`.
    pub run_on_startup: bool,
}

impl FunctionApp {
    /// Reads the app folder at `root`. Function folders that cannot be read are skipped and
    /// explained in [`FunctionApp::problems`], as the host reports them as function errors.
    pub fn load(root: &Path) -> Result<FunctionApp> {
        FunctionApp::load_with(root, &LoadOptions::default())
    }

    /// [`FunctionApp::load`] with the settings of `options`.
    pub fn load_with(root: &Path, options: &LoadOptions) -> Result<FunctionApp> {
        // The worker gets the root as its working directory and in FUNCTIONS_APP_ROOT_PATH, so
        // it must not depend on this process's current folder.
        let root = std::fs::canonicalize(root).context(|| format!("cannot open the app folder {}", root.display()))?;
        let root = root.as_path();
        let host_path = root.join("host.json");
        let host = read_json(&host_path)?;
        let handler = handler_description(&host).map_err(|message| {
            Error::new(format!(
                "{}: {message} (is this a custom-handler app folder written by `cargo azfn build`?)",
                host_path.display()
            ))
        })?;
        let route_prefix = field_path(&host, &["extensions", "http", "routePrefix"])
            .and_then(Value::as_str)
            .unwrap_or(DEFAULT_ROUTE_PREFIX)
            .trim_matches('/')
            .to_owned();
        let function_timeout =
            function_timeout(&host).map_err(|message| Error::new(format!("{}: {message}", host_path.display())))?;
        let settings_file = options
            .settings_file
            .clone()
            .unwrap_or_else(|| root.join(crate::settings::FILE_NAME));
        let local = LocalSettings::read(&settings_file)?;
        let (functions, problems) = read_functions(root, &local.values)?;
        Ok(FunctionApp {
            root: root.to_owned(),
            handler,
            routes: FunctionApp::route_table(&route_prefix, &functions),
            route_prefix,
            local,
            enable_auth: options.enable_auth,
            function_timeout,
            functions,
            problems,
        })
    }

    /// The route table of `functions`' HTTP triggers under `prefix`, whose values are indexes
    /// into `functions`.
    pub fn route_table(prefix: &str, functions: &[Function]) -> RouteTable<usize> {
        RouteTable::new(
            prefix,
            functions
                .iter()
                .enumerate()
                .filter_map(|(index, function)| match &function.trigger {
                    Trigger::Http(trigger) => Some((trigger.route.clone(), trigger.methods.clone(), index)),
                    _ => None,
                }),
        )
    }

    /// The function named `name`, ignoring case as the host does.
    pub fn function(&self, name: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// The function key from the settings, if one is set and not empty.
    pub fn function_key(&self) -> Option<&str> {
        self.setting(FUNCTION_KEY_SETTING)
    }

    /// The master key from the settings, if one is set and not empty.
    pub fn master_key(&self) -> Option<&str> {
        self.setting(MASTER_KEY_SETTING)
    }

    fn setting(&self, name: &str) -> Option<&str> {
        self.local
            .values
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The public path of an HTTP route: `/api/greet/{name:alpha}`.
    pub fn route_path(&self, route: &str) -> String {
        let route = route.trim_matches('/');
        match (self.route_prefix.is_empty(), route.is_empty()) {
            (true, _) => format!("/{route}"),
            (false, true) => format!("/{}", self.route_prefix),
            (false, false) => format!("/{}/{route}", self.route_prefix),
        }
    }
}

impl Function {
    /// The input bindings other than the trigger, in order.
    pub fn other_inputs(&self) -> impl Iterator<Item = &Binding> {
        self.bindings
            .iter()
            .filter(|b| b.direction == Direction::In && !b.is_trigger())
    }

    /// The output bindings (`out` and `inout`), in order.
    pub fn outputs(&self) -> impl Iterator<Item = &Binding> {
        self.bindings.iter().filter(|b| b.direction != Direction::In)
    }

    /// The trigger binding.
    pub fn trigger_binding(&self) -> Option<&Binding> {
        self.bindings.iter().find(|b| b.is_trigger())
    }

    /// The trigger's type, such as `queueTrigger`.
    pub fn trigger_kind(&self) -> &str {
        match &self.trigger {
            Trigger::Http(_) => "httpTrigger",
            Trigger::Timer(_) => "timerTrigger",
            Trigger::Other { kind, .. } => kind,
        }
    }
}

impl Binding {
    /// Whether this is the trigger (its type ends with `Trigger`, as the host decides).
    pub fn is_trigger(&self) -> bool {
        self.direction == Direction::In && self.kind.to_ascii_lowercase().ends_with("trigger")
    }

    /// Whether the type is `kind`, ignoring case.
    pub fn is(&self, kind: &str) -> bool {
        self.kind.eq_ignore_ascii_case(kind)
    }

    /// A property by name, ignoring case.
    pub fn property(&self, name: &str) -> Option<&Value> {
        get_ignore_case(&self.properties, name)
    }

    /// A text property by name, ignoring case.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.property(name).and_then(Value::as_str)
    }

    /// Whether `dataType` is `binary`.
    pub fn is_binary(&self) -> bool {
        self.data_type.as_deref() == Some("binary")
    }

    /// What the binding writes to, for console lines: the queue name, the blob path, ...
    pub fn target(&self) -> Option<&str> {
        [
            "queueName",
            "path",
            "topicName",
            "eventHubName",
            "tableName",
            "containerName",
            "hubName",
        ]
        .iter()
        .find_map(|key| self.text(key))
    }
}

/// The value of `key` in `object`, by exact spelling first, then ignoring ASCII case.
pub fn get_ignore_case<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    object
        .get(key)
        .or_else(|| object.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

fn field_path<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter()
        .try_fold(value, |value, key| get_ignore_case(value.as_object()?, key))
}

fn handler_description(host: &Value) -> std::result::Result<HandlerDescription, String> {
    // `customHandler` wins over the older `httpWorker` name, as in the host.
    let section = field_path(host, &["customHandler"])
        .or_else(|| field_path(host, &["httpWorker"]))
        .ok_or("host.json has no `customHandler` section")?;
    let description = field_path(section, &["description"]).ok_or("`customHandler` has no `description`")?;
    let text = |key: &str| {
        field_path(description, &[key])
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let list = |key: &str| -> Vec<String> {
        field_path(description, &[key])
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    let executable = text("defaultExecutablePath")
        .filter(|e| !e.trim().is_empty())
        .ok_or("`customHandler.description.defaultExecutablePath` is missing or empty")?;
    Ok(HandlerDescription {
        executable,
        arguments: list("arguments"),
        worker_path: text("defaultWorkerPath").filter(|p| !p.is_empty()),
        worker_arguments: list("workerArguments"),
        working_directory: text("workingDirectory").unwrap_or_default(),
        worker_directory: text("workerDirectory").unwrap_or_default(),
    })
}

/// host.json `functionTimeout`: a TimeSpan, `-1` for no limit, absent or null for the default.
fn function_timeout(host: &Value) -> std::result::Result<Option<Duration>, String> {
    match field_path(host, &["functionTimeout"]) {
        None | Some(Value::Null) => Ok(Some(DEFAULT_FUNCTION_TIMEOUT)),
        Some(Value::String(text)) if text.trim() == "-1" => Ok(None),
        Some(Value::String(text)) => time_span_seconds(text)
            .map(|seconds| Some(Duration::from_secs(seconds)))
            .map_err(|problem| format!("`functionTimeout` `{text}`: {problem}")),
        Some(other) => Err(format!(
            "`functionTimeout` is {other}, not a TimeSpan such as \"00:05:00\""
        )),
    }
}

fn read_functions(root: &Path, settings: &BTreeMap<String, String>) -> Result<(Vec<Function>, Vec<String>)> {
    let mut functions = Vec::new();
    let mut problems = Vec::new();
    let entries = fs::read_dir(root).context(|| format!("cannot list {}", root.display()))?;
    for entry in entries.flatten() {
        let path = entry.path().join("function.json");
        if !path.is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        match read_json(&path).and_then(|json| parse_function(&name, &json, settings).map_err(Error::new)) {
            Ok(function) => functions.push(function),
            Err(e) => problems.push(format!("function '{name}' is skipped: {e}")),
        }
    }
    functions.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((functions, problems))
}

/// Reads one function.json.
pub fn parse_function(
    name: &str,
    json: &Value,
    settings: &BTreeMap<String, String>,
) -> std::result::Result<Function, String> {
    let list = json
        .as_object()
        .and_then(|o| get_ignore_case(o, "bindings"))
        .and_then(Value::as_array)
        .ok_or("function.json has no `bindings` list")?;
    let bindings = list
        .iter()
        .map(parse_binding)
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let mut triggers = bindings.iter().filter(|b| b.is_trigger());
    let trigger = triggers.next().ok_or("it has no trigger binding")?;
    if triggers.next().is_some() {
        return Err("it has more than one trigger binding".into());
    }
    let trigger = if trigger.is("httpTrigger") {
        Trigger::Http(http_trigger(name, trigger)?)
    } else if trigger.is("timerTrigger") {
        Trigger::Timer(timer_trigger(trigger, settings)?)
    } else {
        Trigger::Other {
            kind: trigger.kind.clone(),
            binding: trigger.name.clone(),
        }
    };
    Ok(Function {
        name: name.to_owned(),
        bindings,
        trigger,
    })
}

fn parse_binding(value: &Value) -> std::result::Result<Binding, String> {
    let object = value.as_object().ok_or("a binding is not a JSON object")?;
    let text = |key: &str| get_ignore_case(object, key).and_then(Value::as_str);
    let kind = text("type").ok_or("a binding has no `type`")?;
    let name = text("name").ok_or_else(|| format!("the `{kind}` binding has no `name`"))?;
    let direction = match text("direction").map(str::to_ascii_lowercase).as_deref() {
        Some("in") => Direction::In,
        Some("out") => Direction::Out,
        Some("inout") => Direction::InOut,
        other => {
            return Err(format!(
                "binding `{name}` has direction {other:?}; expected in, out or inout"
            ));
        }
    };
    Ok(Binding {
        kind: kind.to_owned(),
        direction,
        name: name.to_owned(),
        data_type: text("dataType").map(str::to_ascii_lowercase),
        properties: object.clone(),
    })
}

fn http_trigger(function: &str, binding: &Binding) -> std::result::Result<HttpTrigger, String> {
    // Without a route the host serves the function under its own name.
    let route_text = binding.text("route").unwrap_or(function).to_owned();
    let route = parse_route(&route_text).map_err(|p| format!("route `{route_text}` is invalid: {p}"))?;
    let methods = match binding.property("methods") {
        Some(Value::Array(items)) if !items.is_empty() => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_ascii_uppercase)
                .collect(),
        ),
        _ => None,
    };
    let auth_level = match binding.text("authLevel").map(str::to_ascii_lowercase).as_deref() {
        Some("anonymous") => AuthLevel::Anonymous,
        Some("admin") => AuthLevel::Admin,
        // `function` is the host's default.
        Some("function") | None => AuthLevel::Function,
        Some(other) => return Err(format!("authLevel `{other}` is not anonymous, function or admin")),
    };
    Ok(HttpTrigger {
        binding: binding.name.clone(),
        route_text,
        route,
        methods,
        auth_level,
    })
}

fn timer_trigger(binding: &Binding, settings: &BTreeMap<String, String>) -> std::result::Result<TimerTrigger, String> {
    let schedule_text = binding.text("schedule").ok_or("the timer trigger has no `schedule`")?;
    let mut schedule = parse_timer_schedule(schedule_text).map_err(|p| format!("schedule `{schedule_text}`: {p}"))?;
    if let TimerSchedule::AppSetting(setting) = schedule.clone() {
        // The host reads `%Name%` from the app settings, then parses the value.
        let value = settings
            .get(&setting)
            .cloned()
            .or_else(|| std::env::var(&setting).ok())
            .ok_or_else(|| format!("schedule `%{setting}%` names a setting that is not set"))?;
        schedule = parse_timer_schedule(&value).map_err(|p| format!("schedule `{value}` (from %{setting}%): {p}"))?;
        if matches!(schedule, TimerSchedule::AppSetting(_)) {
            return Err(format!("setting `{setting}` refers to another setting"));
        }
    }
    let run_on_startup = matches!(binding.property("runOnStartup"), Some(Value::Bool(true)));
    Ok(TimerTrigger {
        binding: binding.name.clone(),
        schedule_text: schedule_text.to_owned(),
        schedule,
        run_on_startup,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn function(name: &str, json: Value) -> Function {
        parse_function(name, &json, &BTreeMap::new()).unwrap()
    }

    #[test]
    fn http_trigger_defaults() {
        let f = function(
            "hello",
            json!({"bindings": [
                {"type": "httpTrigger", "direction": "in", "name": "req"},
                {"type": "http", "direction": "out", "name": "$return"}
            ]}),
        );
        let Trigger::Http(http) = &f.trigger else { panic!() };
        assert_eq!(http.route_text, "hello");
        assert_eq!(http.methods, None);
        assert_eq!(http.auth_level, AuthLevel::Function);
        assert_eq!(f.outputs().count(), 1);
    }

    #[test]
    fn keys_ignore_case_and_methods_are_upper_case() {
        let f = function(
            "greet",
            json!({"Bindings": [
                {"Type": "httpTrigger", "Direction": "IN", "Name": "req", "Methods": ["get", "Post"],
                 "Route": "greet/{name:alpha}", "AuthLevel": "Anonymous"}
            ]}),
        );
        let Trigger::Http(http) = &f.trigger else { panic!() };
        assert_eq!(
            http.methods.as_deref(),
            Some(&["GET".to_owned(), "POST".to_owned()][..])
        );
        assert_eq!(http.auth_level, AuthLevel::Anonymous);
        assert!(http.route.match_path("greet/Bob").is_some());
    }

    #[test]
    fn timer_schedule_from_a_setting() {
        let settings = BTreeMap::from([("Every".to_owned(), "*/2 * * * * *".to_owned())]);
        let json = json!({"bindings": [{"type": "timerTrigger", "direction": "in", "name": "t",
            "schedule": "%Every%", "runOnStartup": true}]});
        let f = parse_function("t", &json, &settings).unwrap();
        let Trigger::Timer(timer) = &f.trigger else { panic!() };
        assert!(timer.run_on_startup);
        assert!(matches!(timer.schedule, TimerSchedule::Cron(_)));
        assert!(parse_function("t", &json, &BTreeMap::new()).is_err());
    }

    #[test]
    fn bad_function_json_is_explained() {
        let no_trigger = json!({"bindings": [{"type": "queue", "direction": "out", "name": "q"}]});
        assert_eq!(
            parse_function("f", &no_trigger, &BTreeMap::new()).unwrap_err(),
            "it has no trigger binding"
        );
        let bad_route = json!({"bindings": [{"type": "httpTrigger", "direction": "in", "name": "r", "route": "a//b"}]});
        assert!(
            parse_function("f", &bad_route, &BTreeMap::new())
                .unwrap_err()
                .starts_with("route `a//b` is invalid")
        );
    }

    #[test]
    fn function_timeouts_are_read_as_the_host_reads_them() {
        assert_eq!(function_timeout(&json!({})), Ok(Some(DEFAULT_FUNCTION_TIMEOUT)));
        assert_eq!(
            function_timeout(&json!({"functionTimeout": null})),
            Ok(Some(DEFAULT_FUNCTION_TIMEOUT))
        );
        assert_eq!(
            function_timeout(&json!({"FunctionTimeout": "00:00:05"})),
            Ok(Some(Duration::from_secs(5)))
        );
        assert_eq!(function_timeout(&json!({"functionTimeout": "-1"})), Ok(None));
        assert!(function_timeout(&json!({"functionTimeout": "00:61:00"})).is_err());
        assert!(function_timeout(&json!({"functionTimeout": 5})).is_err());
    }

    #[test]
    fn route_paths_join_the_prefix() {
        let app = FunctionApp {
            root: PathBuf::new(),
            handler: HandlerDescription {
                executable: "x".into(),
                arguments: vec![],
                worker_path: None,
                worker_arguments: vec![],
                working_directory: String::new(),
                worker_directory: String::new(),
            },
            route_prefix: "api".into(),
            local: LocalSettings::default(),
            enable_auth: false,
            function_timeout: None,
            functions: vec![],
            routes: RouteTable::new::<&str>("api", []),
            problems: vec![],
        };
        assert_eq!(app.route_path("hello"), "/api/hello");
        assert_eq!(app.route_path(""), "/api");
        let bare = FunctionApp {
            route_prefix: String::new(),
            ..app
        };
        assert_eq!(bare.route_path("hello"), "/hello");
    }
}
