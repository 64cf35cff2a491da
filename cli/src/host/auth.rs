//! Keys, as the local host checks them: not at all by default (as `func start`, which lets every
//! local request in as admin); with `--enable-auth`, the function and master keys of
//! local.settings.json, presented as the `x-functions-key` header or the `code` query parameter.

use super::payload::IncomingRequest;
use crate::app::{AuthLevel, FunctionApp};

/// The key a request presents: the `x-functions-key` header, else the `code` query parameter.
pub fn presented_key(request: &IncomingRequest) -> Option<String> {
    request
        .header("x-functions-key")
        .map(str::to_owned)
        .or_else(|| request.query_value("code"))
}

/// Whether the request may call a route of `level`. Unless keys are checked (`--enable-auth`)
/// every request may, as with `func start`; when they are, a level whose key is not set refuses
/// every request.
pub fn authorized(app: &FunctionApp, level: AuthLevel, request: &IncomingRequest) -> bool {
    let (function_key, master_key) = (app.function_key(), app.master_key());
    if level == AuthLevel::Anonymous || !app.enable_auth {
        return true;
    }
    let Some(key) = presented_key(request) else {
        return false;
    };
    let is_master = master_key == Some(key.as_str());
    match level {
        AuthLevel::Anonymous => true,
        AuthLevel::Function => is_master || function_key == Some(key.as_str()),
        AuthLevel::Admin => is_master,
    }
}

/// Anything unless keys are checked (`--enable-auth`); then the master key.
pub fn admin_authorized(app: &FunctionApp, request: &IncomingRequest) -> bool {
    if !app.enable_auth {
        return true;
    }
    app.master_key().is_some() && presented_key(request).as_deref() == app.master_key()
}
