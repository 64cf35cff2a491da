//! `cargo azfn new <name>`: a new app that builds and runs at once: Cargo.toml, an HTTP
//! function with a test, a README and a .gitignore.
//!
//! The app depends on the published `azfn` crate, or with `--azfn-path <dir>` on a local
//! checkout of its `runtime/` folder (how this repository tests the template).

use std::path::{Path, PathBuf};

use crate::error::{Context, Error, Result};

/// The version requirement of `azfn` in new apps.
pub const AZFN_VERSION: &str = env!("CARGO_PKG_VERSION");

/// What `new` creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOptions {
    /// The package name.
    pub name: String,
    /// The folder to create (default: `./<name>`).
    pub dir: Option<PathBuf>,
    /// A local azfn runtime folder to depend on instead of the published crate.
    pub azfn_path: Option<PathBuf>,
}

/// Creates the app and returns its folder.
pub fn create(options: &NewOptions) -> Result<PathBuf> {
    check_name(&options.name)?;
    let dir = options.dir.clone().unwrap_or_else(|| PathBuf::from(&options.name));
    if dir.exists()
        && std::fs::read_dir(&dir)
            .map(|mut entries| entries.next().is_some())
            .unwrap_or(true)
    {
        return Err(Error::new(format!("{} already exists and is not empty", dir.display())));
    }
    let dependency = azfn_dependency(options.azfn_path.as_deref())?;
    let mut files = files(&options.name, &dependency);
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
    Ok(dir)
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

/// The `azfn = ...` line of Cargo.toml.
fn azfn_dependency(path: Option<&Path>) -> Result<String> {
    match path {
        None => Ok(format!("azfn = \"{AZFN_VERSION}\"")),
        Some(path) => {
            let absolute = std::fs::canonicalize(path).context(|| format!("--azfn-path {}", path.display()))?;
            if !absolute.join("Cargo.toml").is_file() {
                return Err(Error::new(format!(
                    "--azfn-path {}: no Cargo.toml there (point it at azfn's runtime/ folder)",
                    path.display()
                )));
            }
            let text = absolute
                .to_str()
                .ok_or_else(|| Error::new("--azfn-path must be UTF-8"))?;
            Ok(format!("azfn = {{ path = {} }}", toml_string(text)))
        }
    }
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

[dev-dependencies]
tokio = { version = "1", features = ["macros", "rt"] }
"#;

const MAIN_RS: &str = r#"//! {{name}}: an Azure Functions app written in Rust with azfn.

use azfn::prelude::*;

/// `GET /api/hello?name=Ferris` answers `Hello, Ferris!`.
#[function(http_trigger(methods = "get", auth_level = "anonymous"))]
async fn hello(req: HttpRequest) -> String {
    format!("Hello, {}!", req.query("name").unwrap_or("world"))
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
}
"#;

const README_MD: &str = r#"# {{name}}

An Azure Functions app written in Rust with [azfn](https://github.com/azfn/azfn).

Run it locally (no .NET or Functions Core Tools needed), then call it:

```sh
cargo azfn start
curl 'http://localhost:7071/api/hello?name=Ferris'
```

`cargo azfn start --watch` rebuilds and restarts on every change under `src/`.

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

const GITIGNORE: &str = "/target\n";

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
        let created = create(&NewOptions {
            name: "inner".into(),
            dir: Some(root.join("members/inner")),
            azfn_path: None,
        })
        .unwrap();
        let manifest = std::fs::read_to_string(created.join("Cargo.toml")).unwrap();
        assert!(manifest.ends_with("[workspace]\n"), "{manifest}");
        assert!(manifest.contains(&format!("azfn = \"{AZFN_VERSION}\"")), "{manifest}");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn templates_are_filled() {
        let files = files("demo", "azfn = \"0.1.0\"");
        let cargo = &files[0].1;
        assert!(
            cargo.contains("name = \"demo\"") && cargo.contains("azfn = \"0.1.0\""),
            "{cargo}"
        );
        assert!(files.iter().all(|(_, text)| !text.contains("{{")));
        assert_eq!(toml_string("C:\\a \"b\""), "\"C:\\\\a \\\"b\\\"\"");
    }
}
