//! The app's host.json. The user's file beside Cargo.toml is the source: azfn adds what it owns
//! (the `customHandler` section that starts the app, and the extension bundle when the file sets
//! none), keeps every other key exactly as written, and checks the result against the published
//! host.json schema (`cli/schemas/`), so a mistake is a build error naming the file, the key path
//! and the rule, not a host that refuses to start in Azure.

use std::path::Path;
use std::sync::OnceLock;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::json_file::read_json;

/// The file name, at the package root and in the app folder.
pub const FILE_NAME: &str = "host.json";

/// The published schema (SchemaStore's host.json, see `cli/schemas/README.md`).
const SCHEMA: &str = include_str!("../schemas/host.schema.json");

/// Reads the user's host.json at `path`; `None` when there is no such file.
pub fn read_user(path: &Path) -> Result<Option<Map<String, Value>>> {
    if !path.exists() {
        return Ok(None);
    }
    match read_json(path)? {
        Value::Object(map) => Ok(Some(map)),
        _ => Err(Error::new(format!(
            "{}: host.json must be a JSON object",
            path.display()
        ))),
    }
}

/// Checks the user's host.json at `file` (if there is one) on its own, before anything is
/// built: that it is JSON and follows the schema, with the `version` azfn would add.
pub fn check_user(file: &Path) -> Result<()> {
    let Some(mut user) = read_user(file)? else {
        return Ok(());
    };
    if find_key(&user, "version").is_none() {
        user.insert("version".into(), "2.0".into());
    }
    validate(&Value::Object(user), file)
}

/// The app's host.json: the user's keys (from `file`, when it exists) with the sections azfn
/// owns taken from `generated` (what the app's `--write-app` wrote), whose executable becomes
/// `executable`. A user key that contradicts azfn's is an error naming the key.
pub fn merge(user: Option<Map<String, Value>>, generated: &Value, executable: &str, file: &Path) -> Result<Value> {
    let mut host = user.unwrap_or_default();
    if let Some(key) = find_key(&host, "httpWorker") {
        return Err(Error::new(format!(
            "{}: `{key}` is the old name of `customHandler`, which azfn writes to start the app: remove it",
            file.display()
        )));
    }
    if find_key(&host, "version").is_none() {
        host.insert("version".into(), "2.0".into());
    }
    let mut ours = generated
        .get("customHandler")
        .cloned()
        .ok_or_else(|| Error::new("the app wrote a host.json without `customHandler`"))?;
    if let Some(path) = ours.pointer_mut("/description/defaultExecutablePath") {
        *path = executable.into();
    }
    let Value::Object(ours) = ours else {
        return Err(Error::new("the app wrote a `customHandler` that is not an object"));
    };
    match find_key(&host, "customHandler") {
        Some(key) => match host.get_mut(&key) {
            Some(Value::Object(theirs)) => merge_owned(theirs, &ours, &key, file)?,
            _ => {
                return Err(Error::new(format!(
                    "{}: `{key}` must be an object; azfn writes this section to start the app, so it may be left out",
                    file.display()
                )));
            }
        },
        None => {
            host.insert("customHandler".into(), Value::Object(ours));
        }
    }
    if find_key(&host, "extensionBundle").is_none()
        && let Some(bundle) = generated.get("extensionBundle")
    {
        host.insert("extensionBundle".into(), bundle.clone());
    }
    Ok(Value::Object(host))
}

/// Puts azfn's keys into the user's section. A key the user set too (ignoring case, as the
/// host's configuration does) must have azfn's value; keys azfn does not write stay.
fn merge_owned(theirs: &mut Map<String, Value>, ours: &Map<String, Value>, path: &str, file: &Path) -> Result<()> {
    for (key, value) in ours {
        let Some(their_key) = find_key(theirs, key) else {
            theirs.insert(key.clone(), value.clone());
            continue;
        };
        let key_path = format!("{path}.{their_key}");
        match (theirs.get_mut(&their_key), value) {
            (Some(Value::Object(their_section)), Value::Object(our_section)) => {
                merge_owned(their_section, our_section, &key_path, file)?;
            }
            (Some(their_value), _) if their_value == value => {}
            (Some(their_value), _) => {
                return Err(Error::new(format!(
                    "{}: `{key_path}` is {their_value}, but azfn sets it to {value} to start this app{}: \
                     remove the key (azfn writes the `customHandler` section)",
                    file.display(),
                    why_owned(key)
                )));
            }
            (None, _) => {}
        }
    }
    Ok(())
}

/// Where the value azfn writes for a `customHandler` key comes from.
fn why_owned(key: &str) -> &'static str {
    match key {
        "defaultExecutablePath" => " (the package's executable)",
        "enableForwardingHttpRequest" => " (from `App::forward_http_requests()` in the app's code)",
        "enableProxyingHttpRequest" => " (from `App::proxy_http_requests()` in the app's code)",
        _ => "",
    }
}

/// The key of `object` equal to `key` ignoring ASCII case.
fn find_key(object: &Map<String, Value>, key: &str) -> Option<String> {
    object.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned()
}

/// The validator of version 2.0 host.json files. The published schema is a `oneOf` of the 1.0
/// and 2.0 formats; checking the 2.0 definition alone gives errors at the bad key rather than
/// "valid under neither format".
fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let mut schema: Value = serde_json::from_str(SCHEMA).expect("the vendored host.json schema is JSON");
        if let Some(root) = schema.as_object_mut() {
            root.remove("oneOf");
            root.insert("$ref".into(), "#/definitions/version-2".into());
        }
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft7)
            .build(&schema)
            .expect("the vendored host.json schema compiles")
    })
}

/// Checks `host` against the published schema; every violation is listed with its key path
/// (`extensions.queues.batchSize`) and the rule it breaks.
pub fn validate(host: &Value, file: &Path) -> Result<()> {
    let problems: Vec<String> = validator()
        .iter_errors(host)
        .map(|error| format!("  `{}`: {}", key_path(error.instance_path().as_str()), rule(&error)))
        .collect();
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::new(format!(
        "{} does not follow the host.json schema:\n{}",
        file.display(),
        problems.join("\n")
    )))
}

/// A JSON pointer as a key path: `/extensions/queues/batchSize` → `extensions.queues.batchSize`,
/// array items as `[0]`.
fn key_path(pointer: &str) -> String {
    let mut path = String::new();
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        if !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit()) {
            path.push_str(&format!("[{token}]"));
        } else {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&token);
        }
    }
    if path.is_empty() { "(top level)".into() } else { path }
}

/// The rule an error breaks; for `oneOf`/`anyOf`, what each alternative wanted.
fn rule(error: &jsonschema::ValidationError<'_>) -> String {
    use jsonschema::error::ValidationErrorKind;
    let alternatives = match error.kind() {
        ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } => context,
        _ => return error.to_string(),
    };
    let wanted: Vec<String> = alternatives
        .iter()
        .filter_map(|branch| branch.first().map(ToString::to_string))
        .collect();
    if wanted.is_empty() {
        error.to_string()
    } else {
        format!("{} (expected one of: {})", error.instance(), wanted.join("; or "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn generated() -> Value {
        json!({
            "version": "2.0",
            "customHandler": {
                "description": {"defaultExecutablePath": "host-name", "workingDirectory": "", "arguments": []},
                "enableForwardingHttpRequest": false,
                "enableProxyingHttpRequest": false
            },
            "extensionBundle": {"id": "Microsoft.Azure.Functions.ExtensionBundle", "version": "[4.*, 5.0.0)"}
        })
    }

    fn user(value: Value) -> Option<Map<String, Value>> {
        value.as_object().cloned()
    }

    const FILE: &str = "/app/host.json";

    #[test]
    fn user_keys_are_kept_and_azfn_adds_its_own() {
        let mine = json!({
            "version": "2.0",
            "functionTimeout": "00:10:00",
            "logging": {"logLevel": {"default": "Warning", "Function.hello": "Debug"}},
            "extensions": {"http": {"routePrefix": ""}, "queues": {"batchSize": 8}},
            "extensionBundle": {"id": "Microsoft.Azure.Functions.ExtensionBundle", "version": "[4.10.0, 5.0.0)"}
        });
        let merged = merge(user(mine.clone()), &generated(), "app", Path::new(FILE)).unwrap();
        for key in ["functionTimeout", "logging", "extensions", "extensionBundle", "version"] {
            assert_eq!(merged[key], mine[key], "{key}");
        }
        assert_eq!(merged["customHandler"]["description"]["defaultExecutablePath"], "app");
        validate(&merged, Path::new(FILE)).unwrap();
    }

    #[test]
    fn without_a_file_the_defaults_are_written() {
        let merged = merge(None, &generated(), "app", Path::new(FILE)).unwrap();
        assert_eq!(merged["version"], "2.0");
        assert_eq!(merged["extensionBundle"], generated()["extensionBundle"]);
        assert_eq!(merged["customHandler"]["description"]["defaultExecutablePath"], "app");
        validate(&merged, Path::new(FILE)).unwrap();
    }

    #[test]
    fn a_contradicting_key_is_named() {
        let mine = json!({"version": "2.0", "customHandler": {"description": {"defaultExecutablePath": "other.exe"}}});
        let error = merge(user(mine), &generated(), "app", Path::new(FILE)).unwrap_err();
        let message = error.message();
        assert!(message.starts_with("/app/host.json: "), "{message}");
        assert!(
            message.contains("`customHandler.description.defaultExecutablePath` is \"other.exe\""),
            "{message}"
        );
        let forwarding = json!({"customHandler": {"enableForwardingHttpRequest": true}});
        let message = merge(user(forwarding), &generated(), "app", Path::new(FILE))
            .unwrap_err()
            .message()
            .to_owned();
        assert!(message.contains("App::forward_http_requests()"), "{message}");
        let old = json!({"httpWorker": {}});
        assert!(
            merge(user(old), &generated(), "app", Path::new(FILE))
                .unwrap_err()
                .message()
                .contains("`httpWorker`")
        );
    }

    #[test]
    fn agreeing_and_extra_custom_handler_keys_stay() {
        let mine = json!({"customHandler": {"description": {"defaultExecutablePath": "app", "workerArguments": ["-v"]},
                                            "enableForwardingHttpRequest": false}});
        let merged = merge(user(mine), &generated(), "app", Path::new(FILE)).unwrap();
        assert_eq!(merged["customHandler"]["description"]["workerArguments"], json!(["-v"]));
        assert_eq!(merged["customHandler"]["enableProxyingHttpRequest"], false);
    }

    #[test]
    fn schema_violations_name_the_key_and_the_rule() {
        let mine = json!({"version": "2.0", "functionTimeout": "00:61:00",
                          "extensions": {"queues": {"batchSize": "many"}}});
        let merged = merge(user(mine), &generated(), "app", Path::new(FILE)).unwrap();
        let message = validate(&merged, Path::new(FILE)).unwrap_err().message().to_owned();
        assert!(
            message.starts_with("/app/host.json does not follow the host.json schema"),
            "{message}"
        );
        assert!(message.contains("`functionTimeout`: \"00:61:00\""), "{message}");
        assert!(message.contains("does not match"), "{message}");
        assert!(message.contains("`extensions.queues.batchSize`"), "{message}");
        let typo = merge(
            user(json!({"functionTimout": "00:01:00"})),
            &generated(),
            "app",
            Path::new(FILE),
        )
        .unwrap();
        let message = validate(&typo, Path::new(FILE)).unwrap_err().message().to_owned();
        assert!(message.contains("functionTimout"), "{message}");
    }

    #[test]
    fn key_paths_read_like_keys() {
        assert_eq!(key_path("/extensions/queues/batchSize"), "extensions.queues.batchSize");
        assert_eq!(key_path("/functions/0"), "functions[0]");
        assert_eq!(key_path(""), "(top level)");
    }

    #[test]
    fn bad_json_is_located() {
        let dir = std::env::temp_dir().join(format!("azfn-host-json-{}", crate::clock::new_guid()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("host.json");
        std::fs::write(&file, "{\n  \"version\": \"2.0\",\n}\n").unwrap();
        let message = read_user(&file).unwrap_err().message().to_owned();
        assert!(message.contains("host.json:3:"), "{message}");
        assert_eq!(read_user(&dir.join("none.json")).unwrap(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
