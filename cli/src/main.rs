//! The `cargo-azfn` binary: `cargo azfn <command>`.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use cargo_azfn::build::{self, BuildOptions};
use cargo_azfn::error::{Context, Error, Result};
use cargo_azfn::host::transport::Transport;
use cargo_azfn::host::{self, StartOptions, WatchPlan};
use cargo_azfn::invoke::{self, Example, Input, InvokeOptions};
use cargo_azfn::new::{self, NewOptions};
use cargo_azfn::pack;
use clap::{ArgGroup, Args, Parser, Subcommand};

/// Create, build, run locally, invoke and package Azure Functions apps written with azfn.
#[derive(Debug, Parser)]
#[command(name = "cargo azfn", bin_name = "cargo azfn", version)]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Debug, Subcommand)]
enum Commands {
    /// Build the app and write its function app folder (host.json, function.json files,
    /// local.settings.json and the executable).
    Build(BuildArgs),
    /// Build the app and run it under a local Functions host.
    Start(StartArgs),
    /// Send a trigger payload to a function of a running local host and print its outputs.
    Invoke(InvokeArgs),
    /// Create a new app that builds and runs at once.
    New(NewArgs),
    /// Build the app and zip its folder for zip deployment (optionally with a Dockerfile).
    Pack(PackArgs),
}

/// Which package to build, and how.
#[derive(Debug, Args)]
struct PackageArgs {
    /// The package to build (default: the package of the current folder, or the workspace's one
    /// azfn app).
    #[arg(short, long)]
    package: Option<String>,
    /// Build with the `dev` profile instead of the size- and start-time-tuned `azfn-release`.
    #[arg(long)]
    debug: bool,
}

impl PackageArgs {
    /// The build options, writing the app folder to `out` (default: <target dir>/azfn/<package>).
    fn options(&self, out: Option<PathBuf>) -> BuildOptions {
        BuildOptions {
            package: self.package.clone(),
            debug: self.debug,
            out,
            target: None,
        }
    }
}

#[derive(Debug, Args)]
struct BuildArgs {
    #[command(flatten)]
    package: PackageArgs,
    /// Write the app folder here (default: <target dir>/azfn/<package>).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct StartArgs {
    #[command(flatten)]
    package: PackageArgs,
    /// The port of the local host, on 127.0.0.1.
    #[arg(long, default_value_t = 7071)]
    port: u16,
    /// Serve an app folder that is already written instead of building (needs --dir).
    #[arg(long, requires = "dir", conflicts_with = "watch")]
    no_build: bool,
    /// The app folder to serve (with --no-build) or to build into.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Rebuild and restart the worker when the package's sources change.
    #[arg(long)]
    watch: bool,
    /// How the host talks to the worker: the custom handler's HTTP, or the native runtime's
    /// gRPC protocol (the app must enable azfn's `native` feature).
    #[arg(long, value_enum, default_value_t = Transport::CustomHandler)]
    transport: Transport,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("input").args(["data", "data_file", "stdin", "example"])))]
struct InvokeArgs {
    /// The function's name.
    function: String,
    /// The input: a queue message, blob content or HTTP body.
    #[arg(long)]
    data: Option<String>,
    /// Read the input from this file.
    #[arg(long, value_name = "FILE")]
    data_file: Option<PathBuf>,
    /// Read the input from standard input.
    #[arg(long)]
    stdin: bool,
    /// Use a built-in sample input.
    #[arg(long, value_enum)]
    example: Option<Example>,
    /// The local host's port.
    #[arg(long, default_value_t = 7071)]
    port: u16,
    /// A function or master key (`x-functions-key`); the admin API needs the master key when
    /// keys are set.
    #[arg(long)]
    key: Option<String>,
    /// The HTTP method, for HTTP functions (default: GET without input, POST with).
    #[arg(long)]
    method: Option<String>,
    /// A route parameter for HTTP functions, as name=value (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = parse_param)]
    params: Vec<(String, String)>,
}

fn parse_param(text: &str) -> std::result::Result<(String, String), String> {
    text.split_once('=')
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .ok_or_else(|| format!("`{text}` is not NAME=VALUE"))
}

#[derive(Debug, Args)]
struct NewArgs {
    /// The package name.
    name: String,
    /// The folder to create (default: ./<name>).
    #[arg(long, value_name = "DIR")]
    path: Option<PathBuf>,
    /// Depend on a local azfn runtime folder (a checkout's runtime/) instead of the published
    /// crate.
    #[arg(long, value_name = "DIR")]
    azfn_path: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct PackArgs {
    #[command(flatten)]
    package: PackageArgs,
    /// Pack an app folder that is already written instead of building (needs --dir).
    #[arg(long, requires = "dir")]
    no_build: bool,
    /// The app folder to pack (with --no-build) or to build into.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// The zip to write (default: <app folder>.zip).
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also write a Dockerfile (and .dockerignore) into the app folder.
    #[arg(long)]
    dockerfile: bool,
    /// Pack for the native runtime (Flex Consumption, gRPC): only `app` and host.json. The app
    /// must enable azfn's `native` feature.
    #[arg(long, conflicts_with = "dockerfile")]
    native: bool,
    /// Cross-compile for this target triple (it must be Linux x86-64).
    #[arg(long, value_name = "TRIPLE")]
    target: Option<String>,
}

fn main() -> ExitCode {
    // As a cargo subcommand we are started as `cargo-azfn azfn <args>`.
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "azfn") {
        args.remove(1);
    }
    let cli = Cli::parse_from(args);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Commands::Build(args) => build::build(&args.package.options(args.out)).map(|_| ()),
        Commands::Start(args) => start(args),
        Commands::Invoke(args) => run_invoke(args),
        Commands::New(args) => run_new(args),
        Commands::Pack(args) => run_pack(args),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context(|| "cannot start the async runtime".to_owned())
}

fn start(args: StartArgs) -> Result<()> {
    let (app_dir, watch) = if args.no_build {
        let dir = args
            .dir
            .ok_or_else(|| Error::new("--no-build needs --dir <app folder>"))?;
        (dir, None)
    } else {
        let options = args.package.options(args.dir.clone());
        let built = build::build(&options)?;
        let watch = args.watch.then(|| WatchPlan {
            sources: built.sources(),
            build: options.clone(),
        });
        (built.app_dir, watch)
    };
    runtime()?.block_on(host::run(StartOptions {
        app_dir,
        port: args.port,
        transport: args.transport,
        watch,
    }))
}

fn run_invoke(args: InvokeArgs) -> Result<()> {
    let input = if let Some(text) = args.data {
        Input::Text(text)
    } else if let Some(path) = args.data_file {
        Input::File(path)
    } else if args.stdin {
        Input::Stdin
    } else if let Some(example) = args.example {
        Input::Example(example)
    } else {
        Input::Empty
    };
    let options = InvokeOptions {
        function: args.function,
        input,
        port: args.port,
        key: args.key,
        method: args.method,
        params: args.params,
    };
    runtime()?.block_on(invoke::invoke(&options))
}

fn run_new(args: NewArgs) -> Result<()> {
    let dir = new::create(&NewOptions {
        name: args.name.clone(),
        dir: args.path,
        azfn_path: args.azfn_path,
    })?;
    build::status("Created", format!("the azfn app `{}` in {}", args.name, dir.display()));
    eprintln!("\nRun it with:\n    cd {}\n    cargo azfn start", dir.display());
    Ok(())
}

fn run_pack(args: PackArgs) -> Result<()> {
    let app_dir = if args.no_build {
        args.dir
            .ok_or_else(|| Error::new("--no-build needs --dir <app folder>"))?
    } else {
        let mut options = args.package.options(args.dir);
        options.target = args.target;
        build::build(&options)?.app_dir
    };
    let packed = if args.native {
        pack::pack_native(&app_dir, args.output.as_deref())?
    } else {
        pack::pack(&app_dir, args.output.as_deref(), args.dockerfile)?
    };
    build::status(
        "Packed",
        format!("{} ({} files)", packed.zip.display(), packed.entries.len()),
    );
    if let Some(dockerfile) = packed.dockerfile {
        build::status(
            "Wrote",
            format!(
                "{} (docker build -t <image> {})",
                dockerfile.display(),
                app_dir.display()
            ),
        );
    }
    Ok(())
}
