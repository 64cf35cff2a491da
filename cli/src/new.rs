//! `cargo azfn new <name>`: a new app that builds and runs at once: Cargo.toml, an HTTP
//! function with a test, the user's own `host.json` and `local.settings.json`, a README and a
//! .gitignore.
//!
//! While azfn is not on a registry, the app depends on the azfn source this tool was built
//! from, so that a new project builds wherever the tool came from ([`AzfnSource::detect`]):
//! the git repository and commit of a `cargo install --git`, the checkout of a
//! `cargo install --path` or of a `cargo run` in the repository, else the tool's own version
//! from the registry. `--azfn-path`, `--git` (with `--rev`) and `--azfn-version` choose
//! explicitly.

use std::path::{Path, PathBuf};

use crate::error::{Context, Error, Result};

/// The version of this tool, which is the version of the azfn it was released with.
pub const AZFN_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Where a new app takes azfn from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AzfnSource {
    /// A local folder holding azfn's Cargo.toml (a checkout's `runtime/`).
    Path(PathBuf),
    /// A git repository holding the azfn workspace, at a commit (or the default branch).
    Git {
        /// The repository URL.
        url: String,
        /// The commit, if known.
        rev: Option<String>,
    },
    /// A registry version requirement.
    Registry(String),
}

impl AzfnSource {
    /// The source matching where this tool came from: how it was installed (cargo's install
    /// record, when the running executable is the installed one), else the azfn checkout it
    /// was compiled in, else the registry version of the same number.
    pub fn detect() -> AzfnSource {
        if let Some(installed) = installed_source() {
            return installed;
        }
        let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("../runtime");
        if is_azfn_package(&checkout) {
            return AzfnSource::Path(std::fs::canonicalize(&checkout).unwrap_or(checkout));
        }
        AzfnSource::Registry(AZFN_VERSION.to_owned())
    }

    /// The `azfn = ...` line of Cargo.toml.
    pub fn dependency_line(&self) -> Result<String> {
        Ok(match self {
            AzfnSource::Path(path) => {
                let text = path
                    .to_str()
                    .ok_or_else(|| Error::new(format!("the azfn path {} is not UTF-8", path.display())))?;
                format!("azfn = {{ path = {} }}", toml_string(text))
            }
            AzfnSource::Git { url, rev: Some(rev) } => {
                format!("azfn = {{ git = {}, rev = {} }}", toml_string(url), toml_string(rev))
            }
            AzfnSource::Git { url, rev: None } => format!("azfn = {{ git = {} }}", toml_string(url)),
            AzfnSource::Registry(version) => format!("azfn = {}", toml_string(version)),
        })
    }

    /// A few words for the console: where the app's azfn comes from.
    pub fn describe(&self) -> String {
        match self {
            AzfnSource::Path(path) => format!("azfn from {}", path.display()),
            AzfnSource::Git { url, rev: Some(rev) } => format!("azfn from {url} at {rev}"),
            AzfnSource::Git { url, rev: None } => format!("azfn from {url}"),
            AzfnSource::Registry(version) => format!("azfn {version} from crates.io"),
        }
    }
}

/// Whether `dir` holds the `azfn` package's Cargo.toml.
fn is_azfn_package(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("Cargo.toml"))
        .is_ok_and(|text| text.lines().any(|line| line.trim() == "name = \"azfn\""))
}

/// How cargo installed the running executable, when it is the one in cargo's `bin` folder.
fn installed_source() -> Option<AzfnSource> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::home_dir().map(|home| home.join(".cargo")))?;
    let running = std::fs::canonicalize(std::env::current_exe().ok()?).ok()?;
    let installed = std::fs::canonicalize(
        cargo_home
            .join("bin")
            .join(format!("cargo-azfn{}", std::env::consts::EXE_SUFFIX)),
    )
    .ok()?;
    if running != installed {
        return None;
    }
    let record = std::fs::read_to_string(cargo_home.join(".crates2.json")).ok()?;
    source_from_install_record(&record)
}

/// The source of `cargo-azfn` in cargo's install record (`.crates2.json`), whose keys read
/// `cargo-azfn 0.1.0 (git+https://host/repo?branch=main#<commit>)`, `(path+file:///…/cli)` or
/// `(registry+…)`.
pub fn source_from_install_record(record: &str) -> Option<AzfnSource> {
    let record: serde_json::Value = serde_json::from_str(record).ok()?;
    let key = record["installs"]
        .as_object()?
        .keys()
        .find(|key| key.starts_with("cargo-azfn "))?;
    let (_, rest) = key.split_once(" (")?;
    let source = rest.strip_suffix(')')?;
    if let Some(git) = source.strip_prefix("git+") {
        let (location, rev) = match git.split_once('#') {
            Some((location, rev)) => (location, Some(rev.to_owned())),
            None => (git, None),
        };
        let url = location.split_once('?').map_or(location, |(url, _)| url);
        return Some(AzfnSource::Git {
            url: url.to_owned(),
            rev,
        });
    }
    if let Some(path) = source.strip_prefix("path+file://") {
        let runtime = Path::new(&azfn_bindings::percent::decode_component(path)).join("../runtime");
        return is_azfn_package(&runtime).then(|| AzfnSource::Path(std::fs::canonicalize(&runtime).unwrap_or(runtime)));
    }
    let version = key.split(' ').nth(1)?;
    source
        .starts_with("registry+")
        .then(|| AzfnSource::Registry(version.to_owned()))
}

/// What `new` creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOptions {
    /// The package name.
    pub name: String,
    /// The folder to create (default: `./<name>`).
    pub dir: Option<PathBuf>,
    /// Where azfn comes from (default: [`AzfnSource::detect`]).
    pub source: Option<AzfnSource>,
}

/// Creates the app and returns its folder and the azfn source it depends on.
pub fn create(options: &NewOptions) -> Result<(PathBuf, AzfnSource)> {
    check_name(&options.name)?;
    let dir = options.dir.clone().unwrap_or_else(|| PathBuf::from(&options.name));
    if dir.exists()
        && std::fs::read_dir(&dir)
            .map(|mut entries| entries.next().is_some())
            .unwrap_or(true)
    {
        return Err(Error::new(format!("{} already exists and is not empty", dir.display())));
    }
    let source = match &options.source {
        Some(AzfnSource::Path(path)) => AzfnSource::Path(checked_azfn_path(path)?),
        Some(other) => other.clone(),
        None => AzfnSource::detect(),
    };
    let mut files = files(&options.name, &source.dependency_line()?);
    if let Some(outer) = enclosing_workspace(&dir) {
        // Cargo refuses a package inside a workspace that does not list it.
        files[0].1.push_str(&format!(
            "\n# Its own workspace, because it was created inside the workspace {}:\n\
             # remove this table and add the app to that workspace's members to join it.\n[workspace]\n",
            outer.display()
        ));
    }
    for (path, text) in files {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, text).context(|| format!("cannot write {}", path.display()))?;
    }
    Ok((dir, source))
}

/// The manifest of a workspace that `dir` would be inside of, if any.
fn enclosing_workspace(dir: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(dir).ok()?;
    absolute.ancestors().skip(1).find_map(|ancestor| {
        let manifest = ancestor.join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest).ok()?;
        text.lines()
            .any(|line| line.trim() == "[workspace]")
            .then_some(manifest)
    })
}

/// Package names cargo accepts: ASCII letters, digits, `-` and `_`, starting with a letter.
fn check_name(name: &str) -> Result<()> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(Error::new(format!(
            "`{name}` is not a package name: use ASCII letters, digits, `-` and `_`, starting with a letter"
        )))
    }
}

/// `--azfn-path`, made absolute and checked to hold azfn's Cargo.toml.
fn checked_azfn_path(path: &Path) -> Result<PathBuf> {
    let absolute = std::fs::canonicalize(path).context(|| format!("--azfn-path {}", path.display()))?;
    if !is_azfn_package(&absolute) {
        return Err(Error::new(format!(
            "--azfn-path {}: no Cargo.toml of the `azfn` package there (point it at azfn's runtime/ folder)",
            path.display()
        )));
    }
    Ok(absolute)
}

/// A TOML basic string.
fn toml_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The template: (relative path, content).
fn files(name: &str, azfn_dependency: &str) -> Vec<(&'static str, String)> {
    let fill = |template: &str| template.replace("{{name}}", name).replace("{{azfn}}", azfn_dependency);
    vec![
        ("Cargo.toml", fill(CARGO_TOML)),
        ("src/main.rs", fill(MAIN_RS)),
        ("host.json", fill(HOST_JSON)),
        ("local.settings.json", fill(LOCAL_SETTINGS_JSON)),
        ("README.md", fill(README_MD)),
        (".gitignore", fill(GITIGNORE)),
    ]
}

const CARGO_TOML: &str = r#"[package]
name = "{{name}}"
version = "0.1.0"
edition = "2024"
publish = false

[dependencies]
{{azfn}}
serde = { version = "1", features = ["derive"] }

[dev-dependencies]
tokio = { version = "1", features = ["macros", "rt"] }
"#;

const MAIN_RS: &str = r##"//! {{name}}: an Azure Functions app written in Rust with azfn.

use azfn::prelude::*;
use serde::{Deserialize, Serialize};

/// `GET /api/hello?name=Ferris` answers `Hello, Ferris!`.
#[function(http_trigger(methods = "get", auth_level = "anonymous"))]
async fn hello(req: HttpRequest) -> String {
    format!("Hello, {}!", req.query("name").unwrap_or("world"))
}

#[derive(Deserialize)]
struct Person {
    name: String,
}

#[derive(Serialize)]
struct Greeting {
    greeting: String,
}

/// `POST /api/greet` with `{"name":"Ferris"}` answers `{"greeting":"Hello, Ferris!"}`.
#[function(http_trigger(methods = "post", auth_level = "anonymous"))]
async fn greet(Json(person): Json<Person>) -> Json<Greeting> {
    Json(Greeting {
        greeting: format!("Hello, {}!", person.name),
    })
}

fn main() {
    azfn::App::new().run();
}

#[cfg(test)]
mod tests {
    use azfn::prelude::*;
    use azfn::testing::{TestApp, Trigger};

    #[tokio::test]
    async fn hello_greets_by_name() {
        let app = TestApp::new(azfn::App::new());
        let request = HttpRequest::builder().query("name", "Ferris").build();
        let outputs = app.invoke("hello", Trigger::http(request)).await.unwrap();
        assert_eq!(outputs.http_response().unwrap().body(), b"Hello, Ferris!");
    }

    #[tokio::test]
    async fn greet_reads_json() {
        let app = TestApp::new(azfn::App::new());
        let request = HttpRequest::builder().body(r#"{"name":"Ferris"}"#).build();
        let outputs = app.invoke("greet", Trigger::http(request)).await.unwrap();
        assert_eq!(outputs.http_response().unwrap().body(), br#"{"greeting":"Hello, Ferris!"}"#);
    }
}
"##;

/// The user's host.json: `cargo azfn build` adds the `customHandler` section (and the extension
/// bundle, when none is set) and keeps everything else as written.
const HOST_JSON: &str = r#"{
  "version": "2.0",
  "functionTimeout": "00:05:00",
  "logging": {
    "logLevel": {
      "default": "Information"
    }
  },
  "extensions": {
    "http": {
      "routePrefix": "api"
    }
  }
}
"#;

/// The local settings Core Tools would read; `cargo azfn start` and `invoke` read them here.
const LOCAL_SETTINGS_JSON: &str = r#"{
  "IsEncrypted": false,
  "Values": {
    "FUNCTIONS_WORKER_RUNTIME": "custom",
    "AzureWebJobsStorage": "UseDevelopmentStorage=true"
  },
  "Host": {
    "LocalHttpPort": 7071
  }
}
"#;

const README_MD: &str = r#"# {{name}}

An Azure Functions app written in Rust with azfn.

Run it locally (no .NET or Functions Core Tools needed), then call it:

```sh
cargo azfn start
curl 'http://localhost:7071/api/hello?name=Ferris'
curl -d '{"name":"Ferris"}' http://localhost:7071/api/greet
```

`cargo azfn start --watch` rebuilds and restarts on every change under `src/`, `host.json` or
`local.settings.json`.

- `host.json` is yours: timeouts, logging, `extensions` (HTTP route prefix, queues, Service Bus…),
  the extension bundle. `cargo azfn build` adds only the `customHandler` section that starts the
  app, and checks the file against the published host.json schema.
- `local.settings.json` holds the settings of local runs (`Values`, `Host.LocalHttpPort`,
  `Host.CORS`, `ConnectionStrings`); environment variables win over it. It is ignored by git and
  never packed: it may hold secrets.

Test it:

```sh
cargo test
```

Build the function app folder (`target/azfn/{{name}}`) and a zip for deployment:

```sh
cargo azfn build
cargo azfn pack
az functionapp deployment source config-zip -g <resource-group> -n <app-name> --src target/azfn/{{name}}.zip
```

`cargo azfn pack --dockerfile` also writes a Dockerfile for container (and KEDA) deployments.
"#;

const GITIGNORE: &str = "/target\nlocal.settings.json\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(check_name("my-app_2").is_ok());
        for bad in ["", "2app", "my app", "app!", "é"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn apps_inside_another_workspace_get_their_own() {
        let root = std::env::temp_dir().join(format!("azfn-new-{}", crate::clock::new_guid()));
        std::fs::create_dir_all(root.join("members")).unwrap();
        std::fs::write(root.join("Cargo.toml"), "[workspace]\nmembers = []\n").unwrap();
        assert_eq!(
            enclosing_workspace(&root.join("members/app")),
            Some(root.join("Cargo.toml"))
        );
        let (created, source) = create(&NewOptions {
            name: "inner".into(),
            dir: Some(root.join("members/inner")),
            source: Some(AzfnSource::Registry("0.1.0".into())),
        })
        .unwrap();
        assert_eq!(source, AzfnSource::Registry("0.1.0".into()));
        let manifest = std::fs::read_to_string(created.join("Cargo.toml")).unwrap();
        assert!(manifest.ends_with("[workspace]\n"), "{manifest}");
        assert!(manifest.contains("azfn = \"0.1.0\""), "{manifest}");
        for file in ["host.json", "local.settings.json", ".gitignore", "src/main.rs"] {
            assert!(created.join(file).is_file(), "{file}");
        }
        let ignored = std::fs::read_to_string(created.join(".gitignore")).unwrap();
        assert!(ignored.lines().any(|l| l == "local.settings.json"), "{ignored}");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_tool_built_in_a_checkout_depends_on_that_checkout() {
        // These tests run from the repository, as `cargo run -p cargo-azfn` would.
        let AzfnSource::Path(path) = AzfnSource::detect() else {
            panic!("expected the checkout's runtime/")
        };
        assert!(is_azfn_package(&path), "{}", path.display());
        let line = AzfnSource::Path(path.clone()).dependency_line().unwrap();
        assert_eq!(
            line,
            format!("azfn = {{ path = {} }}", toml_string(path.to_str().unwrap()))
        );
    }

    #[test]
    fn install_records_name_the_source() {
        let record = |key: &str| format!(r#"{{"installs": {{"other 1.0.0 (registry+x)": {{}}, "{key}": {{}}}}}}"#);
        assert_eq!(
            source_from_install_record(&record(
                "cargo-azfn 0.1.0 (git+https://example.org/azfn/azfn?branch=main#0123abcd)"
            )),
            Some(AzfnSource::Git {
                url: "https://example.org/azfn/azfn".into(),
                rev: Some("0123abcd".into())
            })
        );
        assert_eq!(
            source_from_install_record(&record(
                "cargo-azfn 0.2.0 (registry+https://github.com/rust-lang/crates.io-index)"
            )),
            Some(AzfnSource::Registry("0.2.0".into()))
        );
        let cli = Path::new(env!("CARGO_MANIFEST_DIR"))
            .to_str()
            .unwrap()
            .replace(' ', "%20");
        let Some(AzfnSource::Path(path)) =
            source_from_install_record(&record(&format!("cargo-azfn 0.1.0 (path+file://{cli})")))
        else {
            panic!("a path install of this checkout")
        };
        assert!(is_azfn_package(&path));
        assert_eq!(
            source_from_install_record(&record("cargo-azfn 0.1.0 (path+file:///nowhere/cli)")),
            None
        );
        assert_eq!(source_from_install_record("not json"), None);
    }

    #[test]
    fn dependency_lines() {
        let git = AzfnSource::Git {
            url: "https://example.org/a.git".into(),
            rev: Some("abc".into()),
        };
        assert_eq!(
            git.dependency_line().unwrap(),
            r#"azfn = { git = "https://example.org/a.git", rev = "abc" }"#
        );
        let branch = AzfnSource::Git {
            url: "https://example.org/a.git".into(),
            rev: None,
        };
        assert_eq!(
            branch.dependency_line().unwrap(),
            r#"azfn = { git = "https://example.org/a.git" }"#
        );
        assert_eq!(
            AzfnSource::Registry("0.3".into()).dependency_line().unwrap(),
            r#"azfn = "0.3""#
        );
    }

    #[test]
    fn templates_are_filled() {
        let files = files("demo", "azfn = \"0.1.0\"");
        let cargo = &files[0].1;
        assert!(
            cargo.contains("name = \"demo\"") && cargo.contains("azfn = \"0.1.0\"") && cargo.contains("serde = "),
            "{cargo}"
        );
        assert!(files.iter().all(|(_, text)| !text.contains("{{")));
        for (path, text) in &files {
            if path.ends_with(".json") {
                serde_json::from_str::<serde_json::Value>(text).unwrap_or_else(|e| panic!("{path}: {e}"));
            }
        }
        assert_eq!(toml_string("C:\\a \"b\""), "\"C:\\\\a \\\"b\\\"\"");
    }
}
