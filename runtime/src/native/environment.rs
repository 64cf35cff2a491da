//! Placeholder specialization in this process, the fallback when the app cannot be restarted
//! with the host's environment (see `relay.rs`, the normal path).
//!
//! The working directory is changed. The variables are *not* written into the process
//! environment: `setenv` while other threads may read the environment is undefined behaviour
//! (which is why `std::env::set_var` is `unsafe` in Rust 2024, and azfn forbids `unsafe`), and
//! this worker is multi-threaded. They are kept instead, and [`env_var`] reads them first.

use std::collections::BTreeMap;
use std::sync::{OnceLock, RwLock};

use super::proto::FunctionEnvironmentReloadRequest;

fn reloaded() -> &'static RwLock<BTreeMap<String, String>> {
    static RELOADED: OnceLock<RwLock<BTreeMap<String, String>>> = OnceLock::new();
    RELOADED.get_or_init(Default::default)
}

/// An environment variable: the value the host sent at specialization, else the process's.
///
/// ```
/// assert_eq!(azfn::native::env_var("AZFN_SURELY_UNSET_VARIABLE"), None);
/// ```
pub fn env_var(name: &str) -> Option<String> {
    let from_host = reloaded().read().unwrap_or_else(|e| e.into_inner()).get(name).cloned();
    from_host.or_else(|| std::env::var(name).ok())
}

/// Applies a reload: keeps the variables, changes the working directory.
pub(crate) fn apply(request: &FunctionEnvironmentReloadRequest) -> Result<(), String> {
    {
        let mut variables = reloaded().write().unwrap_or_else(|e| e.into_inner());
        // The host sends the whole environment: it replaces, not amends, what came before.
        variables.clone_from(&request.environment_variables);
    }
    if !request.function_app_directory.is_empty() {
        std::env::set_current_dir(&request.function_app_directory).map_err(|e| {
            format!(
                "cannot change the working directory to {}: {e}",
                request.function_app_directory
            )
        })?;
    }
    Ok(())
}
