//! Reading the JSON files of an app (host.json, function.json, local.settings.json, the staging
//! manifest) one way, below the modules that interpret them.

use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::error::{Context, Error, Result};

/// A JSON file, read as the host reads it (a leading byte-order mark, which .NET tools write, is
/// skipped); a syntax error names the file, line and column.
pub fn read_json(path: &Path) -> Result<Value> {
    let text = fs::read_to_string(path).context(|| format!("cannot read {}", path.display()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    serde_json::from_str(text).map_err(|e| {
        Error::new(format!(
            "{}:{}:{}: not valid JSON: {e}",
            path.display(),
            e.line(),
            e.column()
        ))
    })
}
