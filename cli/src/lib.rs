//! `cargo azfn`: create, build, run locally, invoke and package function apps written with
//! azfn, with no .NET and no Azure Functions Core Tools installed.
//!
//! | module | command or concern |
//! |---|---|
//! | [`build`] | `cargo azfn build`: compile and write the function app folder |
//! | [`host`] | `cargo azfn start`: the local Functions host |
//! | [`invoke`] | `cargo azfn invoke`: send a trigger payload to a running local host |
//! | [`new`] | `cargo azfn new`: a new app from the template |
//! | [`pack`] | `cargo azfn pack`: a zip for zip deployment, and a Dockerfile |
//! | [`dockerfile`] | `cargo azfn pack --dockerfile`: a multi-stage Dockerfile building the app inside |
//! | [`kubernetes`] | `cargo azfn kubernetes`: Deployments, Secret, Service and KEDA ScaledObject |
//! | [`deploy`] | `cargo azfn deploy`: the package to a function app in Azure |
//! | [`app`] | reading an app folder (host.json, function.json) and its local settings |
//! | [`host_json`] | the user's host.json, merged with what azfn owns and checked against the schema |
//! | [`settings`] | local.settings.json as Core Tools reads it |
//! | [`elf`] | what a Linux executable needs (glibc) and holds (the transport marker) |
//! | [`watch`] | `--watch`: noticing source changes |
//! | [`client`] | the small HTTP client used to reach the worker and the host |
#![forbid(unsafe_code)]

pub mod app;
pub mod build;
pub mod client;
pub mod clock;
pub mod console;
pub mod deploy;
pub mod dockerfile;
pub mod elf;
pub mod error;
pub mod host;
pub mod host_json;
pub mod invoke;
pub mod json_file;
pub mod kubernetes;
pub mod new;
pub mod pack;
pub mod settings;
pub mod storage;
pub mod watch;

pub use error::{Error, Result};
