//! The `cargo-azfn` binary: `cargo azfn <command>`.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use cargo_azfn::app::LoadOptions;
use cargo_azfn::build::{self, BuildOptions};
use cargo_azfn::deploy::checks::PackageKind;
use cargo_azfn::deploy::credential::CredentialKind;
use cargo_azfn::deploy::{self, DeployOptions, Source};
use cargo_azfn::error::{Context, Error, Result};
use cargo_azfn::host::transport::Transport;
use cargo_azfn::host::{self, StartOptions, WatchPlan};
use cargo_azfn::invoke::{self, Example, Input, InvokeOptions};
use cargo_azfn::new::{self, AzfnSource, NewOptions};
use cargo_azfn::settings::{self, LocalSettings};
use cargo_azfn::{kubernetes, pack, watch};
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
    /// Write the Kubernetes objects that run the app's image with KEDA scaling (as
    /// `func kubernetes deploy`), and apply them with kubectl unless --dry-run.
    Kubernetes(KubernetesArgs),
    /// Build, check and deploy the app to a function app in Azure (Flex Consumption, Premium or
    /// Dedicated, on Linux), then list its functions and their URLs.
    Deploy(DeployArgs),
}

/// Which package to build, and how.
#[derive(Debug, Args)]
struct PackageArgs {
    /// The package to build (default: the package of the current folder, or the workspace's one
    /// azfn app).
    #[arg(short, long)]
    package: Option<String>,
    /// Build with the `dev` profile (fast to compile; the default of `start`).
    #[arg(long, conflicts_with = "release")]
    debug: bool,
    /// Build with the size- and start-time-tuned `azfn-release` profile (the default of `build`
    /// and `pack`).
    #[arg(long)]
    release: bool,
}

impl PackageArgs {
    /// The build options, writing the app folder to `out` (default: <target dir>/azfn/<package>),
    /// with the release profile unless asked otherwise when `release_by_default`.
    fn options(&self, out: Option<PathBuf>, release_by_default: bool) -> BuildOptions {
        BuildOptions {
            package: self.package.clone(),
            release: self.release || (release_by_default && !self.debug),
            out,
            target: None,
            features: Vec::new(),
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
    /// Cross-compile for this target triple; the manifest then comes from a second build for
    /// this machine, so the target's executable is never run.
    #[arg(long, value_name = "TRIPLE")]
    target: Option<String>,
}

#[derive(Debug, Args)]
struct StartArgs {
    #[command(flatten)]
    package: PackageArgs,
    /// The port of the local host, on 127.0.0.1 (default: local.settings.json
    /// `Host.LocalHttpPort`, else 7071).
    #[arg(long)]
    port: Option<u16>,
    /// Check function and master keys (from local.settings.json) as Azure does; by default,
    /// as with `func start`, every request is let through.
    #[arg(long)]
    enable_auth: bool,
    /// Serve an app folder that is already written instead of building (needs --dir).
    #[arg(long, requires = "dir", conflicts_with = "watch")]
    no_build: bool,
    /// The app folder to serve (with --no-build) or to build into.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Rebuild and restart the worker when the package's sources, host.json or
    /// local.settings.json change.
    #[arg(long)]
    watch: bool,
    /// How the host talks to the worker: the custom handler's HTTP, or the native runtime's
    /// gRPC protocol (the app is then built with azfn's `native` feature).
    #[arg(long, value_enum, default_value_t = Transport::CustomHandler)]
    transport: Transport,
    /// Use no storage even when AzureWebJobsStorage is set (no Azurite, no Node.js): queue
    /// and blob outputs are only shown, blob inputs are null, and queue and blob triggers run
    /// through `cargo azfn invoke`.
    #[arg(long)]
    no_storage: bool,
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
    /// The local host's port (default: local.settings.json `Host.LocalHttpPort`, else 7071).
    #[arg(long)]
    port: Option<u16>,
    /// A function or master key (`x-functions-key`; default: local.settings.json
    /// `AzureWebJobs.MasterKey`); needed only when the host checks keys (`--enable-auth`).
    #[arg(long)]
    key: Option<String>,
    /// The HTTP method, for HTTP functions (default: GET without input, POST with).
    #[arg(long)]
    method: Option<String>,
    /// A route parameter for HTTP functions, or a blob path parameter with --via-storage, as
    /// name=value (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = parse_param)]
    params: Vec<(String, String)>,
    /// For a queue or blob trigger: enqueue the input on its queue, or upload it as its blob,
    /// in the storage local.settings.json names (Azurite while `cargo azfn start` runs), and
    /// let the running host's trigger run it, instead of calling the admin API.
    #[arg(long)]
    via_storage: bool,
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
    /// Depend on a local azfn folder (a checkout's runtime/) instead of the azfn this tool was
    /// built from.
    #[arg(long, value_name = "DIR", group = "azfn")]
    azfn_path: Option<PathBuf>,
    /// Depend on azfn from this git repository instead.
    #[arg(long, value_name = "URL", group = "azfn")]
    git: Option<String>,
    /// With --git: the commit (or tag) to use.
    #[arg(long, value_name = "REV", requires = "git")]
    rev: Option<String>,
    /// Depend on this version of azfn from crates.io instead.
    #[arg(long, value_name = "VERSION", group = "azfn")]
    azfn_version: Option<String>,
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
    /// Write a multi-stage Dockerfile (and .dockerignore) at the workspace root that builds
    /// the app inside the image, instead of building and zipping here. With --no-build, the
    /// zip is written and the Dockerfile goes into the app folder and copies it as built.
    #[arg(long)]
    dockerfile: bool,
    /// Pack for the native runtime (Flex Consumption, gRPC): only `app` and host.json. The app
    /// is built with azfn's `native` feature.
    #[arg(long, conflicts_with = "dockerfile")]
    native: bool,
    /// Cross-compile for this target triple (it must be Linux x86-64); the manifest then comes
    /// from a second build for this machine, so the target's executable is never run.
    #[arg(long, value_name = "TRIPLE")]
    target: Option<String>,
    /// The newest glibc the executable may need (default: 2.31, the oldest Azure Functions
    /// Linux images; 2.36 with --native, Flex Consumption's). Raise it only when you deploy to
    /// images with that glibc.
    #[arg(long, value_name = "VERSION")]
    max_glibc: Option<cargo_azfn::elf::GlibcVersion>,
}

#[derive(Debug, Args)]
struct KubernetesArgs {
    #[command(flatten)]
    package: PackageArgs,
    /// Read an app folder that is already written instead of building (needs --dir).
    #[arg(long, requires = "dir")]
    no_build: bool,
    /// The app folder to read (with --no-build) or to build into.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// The base name of the objects: the Deployment `<NAME>` and ScaledObject for non-HTTP
    /// functions, `<NAME>-http` for HTTP ones, the settings Secret `<NAME>`.
    #[arg(long)]
    name: String,
    /// The image the Deployments run (built with `cargo azfn pack --dockerfile` and pushed).
    #[arg(long, value_name = "IMAGE")]
    image_name: String,
    /// The namespace of the objects (default: kubectl's current one).
    #[arg(long)]
    namespace: Option<String>,
    /// Print the objects instead of applying them.
    #[arg(long)]
    dry_run: bool,
    /// Write the objects to this file instead of applying them.
    #[arg(long, value_name = "FILE")]
    write_configs: Option<PathBuf>,
    /// The fewest replicas of the non-HTTP Deployment (default 0: KEDA scales it from zero).
    #[arg(long, value_name = "N")]
    min_replicas: Option<u32>,
    /// The most replicas of the non-HTTP Deployment (default: KEDA's, 100).
    #[arg(long, value_name = "N")]
    max_replicas: Option<u32>,
    /// How often KEDA checks each trigger, in seconds (default 30).
    #[arg(long, value_name = "SECONDS")]
    polling_interval: Option<u32>,
    /// How long KEDA waits after the last activity before scaling to zero, in seconds
    /// (default 300).
    #[arg(long, value_name = "SECONDS")]
    cooldown_period: Option<u32>,
    /// Use this existing Secret for the settings instead of writing one from
    /// local.settings.json.
    #[arg(long, value_name = "NAME")]
    secret_name: Option<String>,
    /// The type of the HTTP functions' Service: LoadBalancer (default), ClusterIP or NodePort.
    #[arg(long, value_name = "TYPE")]
    service_type: Option<String>,
    /// The Secret with the credentials of a private image registry (`imagePullSecrets`).
    #[arg(long, value_name = "NAME")]
    pull_secret: Option<String>,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("kind").args(["native", "custom_handler"])))]
struct DeployArgs {
    #[command(flatten)]
    package: PackageArgs,
    /// The function app's name.
    #[arg(long, value_name = "NAME")]
    app: String,
    /// Its resource group (default: looked up in every subscription the identity sees).
    #[arg(long, short = 'g', value_name = "GROUP")]
    resource_group: Option<String>,
    /// Its subscription id.
    #[arg(long, env = "AZURE_SUBSCRIPTION_ID", value_name = "ID")]
    subscription: Option<String>,
    /// Insist on a native-runtime package (default: what the app runs).
    #[arg(long)]
    native: bool,
    /// Insist on a custom-handler package (default: what the app runs).
    #[arg(long)]
    custom_handler: bool,
    /// Push the settings the functions' bindings need and the app lacks, from
    /// local.settings.json (never `UseDevelopmentStorage=true` or local-only keys).
    #[arg(long)]
    sync_settings: bool,
    /// Deploy an app folder that is already written instead of building (needs --dir).
    #[arg(long, requires = "dir")]
    no_build: bool,
    /// The app folder to deploy (with --no-build) or to build into.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Cross-compile for this target triple (Linux x86-64, e.g. x86_64-unknown-linux-musl).
    #[arg(long, value_name = "TRIPLE", conflicts_with = "no_build")]
    target: Option<String>,
    /// How to sign in to Entra ID.
    #[arg(long, value_enum, default_value_t = CredentialKind::Auto)]
    credential: CredentialKind,
    /// The Azure Resource Manager endpoint, for sovereign clouds.
    #[arg(long, env = "AZURE_RESOURCE_MANAGER_ENDPOINT", value_name = "URL", default_value = deploy::arm::PUBLIC_ENDPOINT)]
    arm_endpoint: String,
    /// Seconds between two reads of the deployment's status.
    #[arg(long, value_name = "SECONDS", default_value_t = 2.0)]
    poll_interval: f64,
    /// Seconds to wait for the deployment to end.
    #[arg(long, value_name = "SECONDS", default_value_t = 1200)]
    timeout: u64,
    /// The newest glibc the executable may need (default: the app's images: 2.36 on Flex
    /// Consumption, 2.31 on other plans, whose images may be older).
    #[arg(long, value_name = "VERSION")]
    max_glibc: Option<cargo_azfn::elf::GlibcVersion>,
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
        Commands::Build(args) => {
            let mut options = args.package.options(args.out, true);
            options.target = args.target;
            build::build(&options).map(|_| ())
        }
        Commands::Start(args) => start(args),
        Commands::Invoke(args) => run_invoke(args),
        Commands::New(args) => run_new(args),
        Commands::Pack(args) => run_pack(args),
        Commands::Kubernetes(args) => run_kubernetes(args),
        Commands::Deploy(args) => run_deploy(args),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context(|| "cannot start the async runtime".to_owned())
}

fn start(args: StartArgs) -> Result<()> {
    let grpc = args.transport == Transport::Grpc;
    let (app_dir, settings_file, watch) = if args.no_build {
        let dir = args
            .dir
            .ok_or_else(|| Error::new("--no-build needs --dir <app folder>"))?;
        let settings = dir.join(settings::FILE_NAME);
        (dir, settings, None)
    } else {
        let mut options = args.package.options(args.dir.clone(), false);
        if grpc {
            options = options.with_native();
        }
        let package = build::locate(options.package.as_deref())?;
        let built = if args.watch {
            build_until_it_succeeds(&package, &options)?
        } else {
            build::build_package(&package, &options)?
        };
        if grpc {
            pack::check_transport(&built.executable, true)?;
        }
        let watch = args.watch.then(|| WatchPlan {
            sources: package.sources(),
            build: options.clone(),
        });
        (built.app_dir, package.settings_file(), watch)
    };
    runtime()?.block_on(host::run(StartOptions {
        app_dir,
        port: args.port,
        load: LoadOptions {
            settings_file: Some(settings_file),
            enable_auth: args.enable_auth,
        },
        transport: args.transport,
        watch,
        storage: !args.no_storage,
    }))
}

/// `start --watch`: a first build that fails is shown, and the next save tries again.
fn build_until_it_succeeds(package: &build::Package, options: &BuildOptions) -> Result<build::BuiltApp> {
    let sources = package.sources();
    let mut snapshot = watch::snapshot(&sources);
    loop {
        match build::build_package(package, options) {
            Ok(built) => return Ok(built),
            Err(error) => {
                eprintln!("error: {error}");
                build::status("Watching", "for changes: the build runs again on the next save");
                runtime()?.block_on(watch::wait_for_change(&sources, &mut snapshot));
            }
        }
    }
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
    // As Core Tools finds it: the nearest folder up from here with host.json or
    // local.settings.json.
    let cwd = std::env::current_dir().context(|| "cannot read the current folder".to_owned())?;
    let settings_file = settings::project_settings_file(&cwd);
    let local = match &settings_file {
        Some(file) => LocalSettings::read(file)?,
        None => LocalSettings::default(),
    };
    let via_storage = if args.via_storage {
        // host.json beside local.settings.json says how queue messages are encoded.
        let host_json = match settings_file.as_deref().and_then(std::path::Path::parent) {
            Some(dir) => cargo_azfn::host_json::read_user(&dir.join("host.json"))?,
            None => None,
        };
        let queues =
            cargo_azfn::storage::options::QueueOptions::from_host_json(host_json.as_ref()).map_err(Error::new)?;
        Some(invoke::ViaStorage {
            values: cargo_azfn::storage::account::settings_with_environment(&local.values, std::env::vars()),
            encoding: queues.message_encoding,
        })
    } else {
        None
    };
    let options = InvokeOptions {
        function: args.function,
        input,
        port: args.port.or(local.local_http_port).unwrap_or(host::DEFAULT_PORT),
        key: args.key.or_else(|| {
            local
                .values
                .get(cargo_azfn::app::MASTER_KEY_SETTING)
                .cloned()
                .filter(|k| !k.is_empty())
        }),
        method: args.method,
        params: args.params,
        via_storage,
    };
    runtime()?.block_on(invoke::invoke(&options))
}

fn run_new(args: NewArgs) -> Result<()> {
    let source = if let Some(path) = args.azfn_path {
        Some(AzfnSource::Path(path))
    } else if let Some(url) = args.git {
        Some(AzfnSource::Git { url, rev: args.rev })
    } else {
        args.azfn_version.map(AzfnSource::Registry)
    };
    let (dir, source) = new::create(&NewOptions {
        name: args.name.clone(),
        dir: args.path,
        source,
    })?;
    build::status(
        "Created",
        format!(
            "the azfn app `{}` in {} ({})",
            args.name,
            dir.display(),
            source.describe()
        ),
    );
    eprintln!("\nRun it with:\n    cd {}\n    cargo azfn start", dir.display());
    Ok(())
}

fn run_pack(args: PackArgs) -> Result<()> {
    if args.dockerfile && !args.no_build {
        let context = cargo_azfn::dockerfile::locate(args.package.package.as_deref())?;
        let dockerfile = cargo_azfn::dockerfile::write(&context)?;
        build::status(
            "Wrote",
            format!(
                "{} (docker build -t <image> {})",
                dockerfile.display(),
                context.root.display()
            ),
        );
        return Ok(());
    }
    let app_dir = if args.no_build {
        args.dir
            .ok_or_else(|| Error::new("--no-build needs --dir <app folder>"))?
    } else {
        let mut options = args.package.options(args.dir, true);
        options.target = args.target;
        if args.native {
            options = options.with_native();
        }
        build::build(&options)?.app_dir
    };
    let limits = pack::ImageLimits {
        max_glibc: args.max_glibc,
    };
    let packed = if args.native {
        pack::pack_native(&app_dir, args.output.as_deref(), limits)?
    } else {
        pack::pack(&app_dir, args.output.as_deref(), args.dockerfile, limits)?
    };
    if let Some(glibc) = &packed.glibc {
        build::status("Checked", glibc);
    }
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

fn run_kubernetes(args: KubernetesArgs) -> Result<()> {
    let (app_dir, settings_file) = if args.no_build {
        let dir = args
            .dir
            .ok_or_else(|| Error::new("--no-build needs --dir <app folder>"))?;
        let settings = dir.join(settings::FILE_NAME);
        (dir, settings)
    } else {
        let options = args.package.options(args.dir, true);
        let package = build::locate(options.package.as_deref())?;
        let built = build::build_package(&package, &options)?;
        (built.app_dir, package.settings_file())
    };
    let app = cargo_azfn::app::FunctionApp::load(&app_dir)?;
    // The file's values only: this machine's environment is not the cluster's.
    let local = LocalSettings::read_with_environment(&settings_file, |_| None)?;
    let manifests = kubernetes::manifests(
        &app,
        &local,
        &kubernetes::KubernetesOptions {
            name: args.name,
            image: args.image_name,
            namespace: args.namespace,
            min_replicas: args.min_replicas,
            max_replicas: args.max_replicas,
            polling_interval: args.polling_interval,
            cooldown_period: args.cooldown_period,
            secret_name: args.secret_name,
            service_type: args.service_type,
            pull_secret: args.pull_secret,
        },
    )?;
    for warning in &manifests.warnings {
        eprintln!("warning: {warning}");
    }
    let yaml = manifests.to_yaml();
    if let Some(path) = &args.write_configs {
        std::fs::write(path, &yaml).context(|| format!("cannot write {}", path.display()))?;
        build::status(
            "Wrote",
            format!("{} ({} objects)", path.display(), manifests.documents.len()),
        );
    }
    if args.dry_run {
        print!("{yaml}");
        return Ok(());
    }
    if args.write_configs.is_some() {
        return Ok(());
    }
    kubernetes::apply(&yaml)
}

fn run_deploy(args: DeployArgs) -> Result<()> {
    let source = if args.no_build {
        Source::Dir(
            args.dir
                .ok_or_else(|| Error::new("--no-build needs --dir <app folder>"))?,
        )
    } else {
        let mut options = args.package.options(args.dir, true);
        options.target = args.target;
        Source::Build(options)
    };
    let arm_endpoint = deploy::arm::endpoint_url(&args.arm_endpoint)?;
    if !(args.poll_interval.is_finite() && args.poll_interval > 0.0) {
        return Err(Error::new("--poll-interval must be a positive number of seconds"));
    }
    let package_kind = if args.native {
        Some(PackageKind::Native)
    } else if args.custom_handler {
        Some(PackageKind::CustomHandler)
    } else {
        None
    };
    deploy::deploy(&DeployOptions {
        app: args.app,
        resource_group: args.resource_group,
        subscription: args.subscription.filter(|s| !s.trim().is_empty()),
        package_kind,
        sync_settings: args.sync_settings,
        source,
        credential: args.credential,
        arm_endpoint,
        poll_interval: std::time::Duration::from_secs_f64(args.poll_interval),
        timeout: std::time::Duration::from_secs(args.timeout),
        max_glibc: args.max_glibc,
    })
    .map(|_| ())
}
