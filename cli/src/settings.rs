//! `local.settings.json` as Core Tools reads it: at the project root (beside Cargo.toml and
//! host.json), never deployed.
//!
//! - `Values`: app settings, given to the worker as environment variables. A variable already
//!   set (and not empty) in the environment wins, with a console line saying so, as in Core
//!   Tools. Numbers and booleans become text; an object or array is an error naming the key.
//! - `Host`: `LocalHttpPort` (the port of `start` and `invoke`, when `--port` is not given),
//!   `CORS` (origins allowed to call the HTTP functions from a browser, comma-separated, `*` for
//!   any) and `CORSCredentials`.
//! - `ConnectionStrings`: exported to the worker as `ConnectionStrings:<name>` variables (a
//!   string, or an object with `ConnectionString`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::json_file::read_json;

/// The file name.
pub const FILE_NAME: &str = "local.settings.json";

/// What a local.settings.json holds, with the environment already applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalSettings {
    /// The file they were read from, if it exists.
    pub file: Option<PathBuf>,
    /// `Values`, each overridden by a non-empty environment variable of the same name.
    pub values: BTreeMap<String, String>,
    /// `Values` keys whose environment variable won.
    pub overridden: Vec<String>,
    /// `Host.LocalHttpPort`.
    pub local_http_port: Option<u16>,
    /// `Host.CORS`, split at commas.
    pub cors: Vec<String>,
    /// `Host.CORSCredentials`.
    pub cors_credentials: bool,
    /// `ConnectionStrings`: name → connection string.
    pub connection_strings: BTreeMap<String, String>,
}

impl LocalSettings {
    /// Reads `path` (no file means no settings), applying the process environment.
    pub fn read(path: &Path) -> Result<LocalSettings> {
        Self::read_with_environment(path, |name| std::env::var(name).ok())
    }

    /// [`LocalSettings::read`] with the environment given as a lookup, for tests.
    pub fn read_with_environment(path: &Path, environment: impl Fn(&str) -> Option<String>) -> Result<LocalSettings> {
        if !path.exists() {
            return Ok(LocalSettings::default());
        }
        let json = read_json(path)?;
        let bad = |key: &str, why: &str| Error::new(format!("{}: `{key}` {why}", path.display()));
        let root = json
            .as_object()
            .ok_or_else(|| bad("(top level)", "must be a JSON object"))?;
        let mut settings = LocalSettings {
            file: Some(path.to_owned()),
            ..LocalSettings::default()
        };
        if let Some(values) = section(root, "Values", path)? {
            for (key, value) in values {
                let text = match value {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    Value::Number(_) | Value::Bool(_) => value.to_string(),
                    Value::Object(_) | Value::Array(_) => {
                        return Err(bad(
                            &format!("Values.{key}"),
                            "is an object or array; settings are text (Core Tools would drop every setting)",
                        ));
                    }
                };
                match environment(key).filter(|v| !v.is_empty()) {
                    Some(from_environment) => {
                        settings.overridden.push(key.clone());
                        settings.values.insert(key.clone(), from_environment);
                    }
                    None => {
                        settings.values.insert(key.clone(), text);
                    }
                }
            }
        }
        if let Some(host) = section(root, "Host", path)? {
            for (key, value) in host {
                match key.to_ascii_lowercase().as_str() {
                    "localhttpport" => {
                        let port = match value {
                            Value::Number(n) => n.as_u64(),
                            Value::String(s) => s.trim().parse().ok(),
                            _ => None,
                        };
                        let port = port
                            .and_then(|p| u16::try_from(p).ok())
                            .filter(|p| *p != 0)
                            .ok_or_else(|| bad(&format!("Host.{key}"), &format!("is {value}, not a port (1-65535)")))?;
                        settings.local_http_port = Some(port);
                    }
                    "cors" => {
                        let text = value
                            .as_str()
                            .ok_or_else(|| bad(&format!("Host.{key}"), "must be a comma-separated list of origins"))?;
                        settings.cors = text
                            .split(',')
                            .map(|origin| origin.trim().trim_end_matches('/').to_owned())
                            .filter(|origin| !origin.is_empty())
                            .collect();
                    }
                    "corscredentials" => {
                        settings.cors_credentials = match value {
                            Value::Bool(b) => *b,
                            Value::String(s) => s.eq_ignore_ascii_case("true"),
                            _ => return Err(bad(&format!("Host.{key}"), "must be true or false")),
                        };
                    }
                    _ => {}
                }
            }
        }
        if let Some(strings) = section(root, "ConnectionStrings", path)? {
            for (name, value) in strings {
                let text = match value {
                    Value::String(s) => Some(s.clone()),
                    Value::Object(object) => object
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("ConnectionString"))
                        .and_then(|(_, v)| v.as_str().map(str::to_owned)),
                    _ => None,
                };
                let text = text.ok_or_else(|| {
                    bad(
                        &format!("ConnectionStrings.{name}"),
                        "must be a string or an object with `ConnectionString`",
                    )
                })?;
                settings.connection_strings.insert(name.clone(), text);
            }
        }
        Ok(settings)
    }

    /// The variables the worker gets on top of the inherited environment: the values, and
    /// each connection string as `ConnectionStrings:<name>`.
    pub fn worker_environment(&self) -> BTreeMap<String, String> {
        let mut environment = self.values.clone();
        for (name, value) in &self.connection_strings {
            environment.insert(format!("ConnectionStrings:{name}"), value.clone());
        }
        environment
    }

    /// Whether a browser page from `origin` may call the functions.
    pub fn allows_origin(&self, origin: &str) -> bool {
        let origin = origin.trim_end_matches('/');
        self.cors
            .iter()
            .any(|allowed| allowed == "*" || allowed.eq_ignore_ascii_case(origin))
    }
}

/// The local.settings.json of the project around `start`: in the nearest folder, from `start`
/// upward, that holds a host.json or a local.settings.json, as Core Tools looks for it.
pub fn project_settings_file(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join(FILE_NAME).is_file() || dir.join(crate::host_json::FILE_NAME).is_file())
        .map(|dir| dir.join(FILE_NAME))
}

/// A top-level section found ignoring case; it must be an object.
fn section<'a>(root: &'a Map<String, Value>, name: &str, path: &Path) -> Result<Option<&'a Map<String, Value>>> {
    match root.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
        None | Some((_, Value::Null)) => Ok(None),
        Some((_, Value::Object(object))) => Ok(Some(object)),
        Some((key, _)) => Err(Error::new(format!("{}: `{key}` must be an object", path.display()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, environment: &[(&str, &str)]) -> Result<LocalSettings> {
        let dir = std::env::temp_dir().join(format!("azfn-settings-{}", crate::clock::new_guid()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(FILE_NAME);
        std::fs::write(&path, text).unwrap();
        let environment: BTreeMap<String, String> = environment
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let result = LocalSettings::read_with_environment(&path, |name| environment.get(name).cloned());
        std::fs::remove_dir_all(&dir).unwrap();
        result
    }

    #[test]
    fn every_section_is_read_and_the_environment_wins() {
        let settings = read(
            r#"{"IsEncrypted": false,
                "Values": {"A": "file", "B": "file", "C": "file", "N": 3, "T": true},
                "Host": {"LocalHttpPort": 7080, "CORS": "http://localhost:3000, https://app.example/", "CORSCredentials": true},
                "ConnectionStrings": {"Db": "Server=x", "Other": {"ConnectionString": "y", "ProviderName": "p"}}}"#,
            &[("A", "env"), ("B", "")],
        )
        .unwrap();
        assert_eq!(settings.values["A"], "env", "a set variable wins");
        assert_eq!(settings.values["B"], "file", "an empty variable does not");
        assert_eq!(settings.values["N"], "3");
        assert_eq!(settings.values["T"], "true");
        assert_eq!(settings.overridden, vec!["A".to_owned()]);
        assert_eq!(settings.local_http_port, Some(7080));
        assert!(settings.allows_origin("http://localhost:3000"));
        assert!(settings.allows_origin("https://app.example"));
        assert!(!settings.allows_origin("https://evil.example"));
        assert!(settings.cors_credentials);
        let environment = settings.worker_environment();
        assert_eq!(environment["ConnectionStrings:Db"], "Server=x");
        assert_eq!(environment["ConnectionStrings:Other"], "y");
        assert_eq!(environment["C"], "file");
    }

    #[test]
    fn mistakes_name_the_file_and_the_key() {
        let error = read(r#"{"Values": {"A": {"nested": 1}}}"#, &[]).unwrap_err();
        assert!(error.message().contains("`Values.A` is an object or array"), "{error}");
        assert!(error.message().contains(FILE_NAME), "{error}");
        let error = read(r#"{"Host": {"LocalHttpPort": 70000}}"#, &[]).unwrap_err();
        assert!(error.message().contains("`Host.LocalHttpPort` is 70000"), "{error}");
        let error = read("{\n\"Values\": }", &[]).unwrap_err();
        assert!(error.message().contains("local.settings.json:2:"), "{error}");
    }

    #[test]
    fn no_file_means_no_settings() {
        let settings = LocalSettings::read(Path::new("/nowhere/local.settings.json")).unwrap();
        assert_eq!(settings, LocalSettings::default());
        assert!(!settings.allows_origin("http://localhost"));
    }
}
