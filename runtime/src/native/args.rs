//! The command line the host starts a gRPC worker with.
//!
//! The host appends, after whatever its worker configuration says:
//!
//! ```text
//! --host 127.0.0.1 --port <P> --workerId <W> --requestId <R> --grpcMaxMessageLength 2147483647
//! --functions-uri http://127.0.0.1:<P>/ --functions-worker-id <W> --functions-request-id <R>
//! --functions-grpc-max-message-length 2147483647
//! ```
//!
//! The `--functions-` flags win; the older ones are the fallback (the native runtime's
//! placeholder proxy passes only the `--functions-` ones). Unknown flags are ignored, since the
//! worker configuration may add its own.

use std::time::Duration;

use http::Uri;

/// The largest message accepted when the host names no limit (what other workers assume).
pub const DEFAULT_MAX_MESSAGE_LENGTH: usize = 128 * 1024 * 1024;

/// How long in-flight invocations may run on after the process is told to stop (SIGTERM), as
/// long as the host gives with `WorkerTerminate`.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

pub use azfn_wire::DISABLE_HTTP_URI_VARIABLE;

/// How to reach the host, from the worker's command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeArgs {
    /// The host's gRPC endpoint, `http://127.0.0.1:<port>/`.
    pub uri: Uri,
    /// The worker id to send in `StartStream`.
    pub worker_id: String,
    /// The request id of the start-up (sent in `StartStream`).
    pub request_id: String,
    /// The largest gRPC message the worker accepts.
    pub max_message_length: usize,
    /// Whether to serve HTTP triggers from a loopback HTTP server (the `HttpUri` capability)
    /// when the app has any; otherwise they arrive as `RpcHttp` messages.
    pub http_uri: bool,
    /// How long in-flight invocations may finish when the `shutdown` future of
    /// [`run`](super::run) resolves (`WorkerTerminate` brings its own grace period).
    pub shutdown_grace: Duration,
}

/// The flags, newest spelling first.
const URI: &[&str] = &["--functions-uri"];
const HOST: &[&str] = &["--host"];
const PORT: &[&str] = &["--port"];
const WORKER_ID: &[&str] = &["--functions-worker-id", "--workerId"];
const REQUEST_ID: &[&str] = &["--functions-request-id", "--requestId"];
const MAX_MESSAGE_LENGTH: &[&str] = &["--functions-grpc-max-message-length", "--grpcMaxMessageLength"];

/// Flags that only the host's gRPC launch passes: any of them means "speak gRPC". `--host` and
/// `--port` alone do not, since a custom handler's own arguments may use them.
const GRPC_MARKERS: &[&str] = &[
    "--functions-uri",
    "--functions-worker-id",
    "--workerId",
    "--functions-request-id",
    "--requestId",
];

/// The host's gRPC arguments, if the process was started with them.
///
/// `None` when no gRPC-only flag is present (`--functions-uri`, `--functions-worker-id`,
/// `--workerId`, `--functions-request-id`, `--requestId`): the app then serves the custom-handler
/// protocol. `Some(Err(..))` when they are present but incomplete or invalid. Both `--flag value`
/// and `--flag=value` are read; unknown flags are ignored. `http_uri` is `true` unless the
/// environment variable `AZFN_DISABLE_HTTP_URI` is set to a non-empty value; `shutdown_grace` is
/// [`DEFAULT_SHUTDOWN_GRACE`].
///
/// ```
/// let args: Vec<String> = ["--functions-uri", "http://127.0.0.1:5000/", "--functions-worker-id=w-1"]
///     .iter().map(|s| s.to_string()).collect();
/// let parsed = azfn::native::parse_args(&args).unwrap().unwrap();
/// assert_eq!(parsed.uri, "http://127.0.0.1:5000/");
/// assert_eq!(parsed.worker_id, "w-1");
/// assert!(azfn::native::parse_args(&["--port".into(), "7071".into()]).is_none());
/// ```
pub fn parse_args(args: &[String]) -> Option<Result<NativeArgs, String>> {
    let flags = Flags::read(args);
    if !GRPC_MARKERS.iter().any(|marker| flags.has(marker)) {
        return None;
    }
    let http_uri = std::env::var_os(DISABLE_HTTP_URI_VARIABLE).is_none_or(|value| value.is_empty());
    Some(native_args(&flags, http_uri))
}

fn native_args(flags: &Flags<'_>, http_uri: bool) -> Result<NativeArgs, String> {
    let uri = host_uri(flags)?;
    let worker_id = flags
        .first(WORKER_ID)?
        .filter(|id| !id.is_empty())
        .ok_or("the host's gRPC arguments have no worker id (`--functions-worker-id` or `--workerId`)")?
        .to_owned();
    let request_id = flags.first(REQUEST_ID)?.unwrap_or_default().to_owned();
    let max_message_length = match flags.first(MAX_MESSAGE_LENGTH)? {
        None => DEFAULT_MAX_MESSAGE_LENGTH,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("the gRPC message length limit {text:?} is not a positive number"))?,
    };
    Ok(NativeArgs {
        uri,
        worker_id,
        request_id,
        max_message_length,
        http_uri,
        shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
    })
}

/// `--functions-uri`, else `http://<--host>:<--port>/`.
fn host_uri(flags: &Flags<'_>) -> Result<Uri, String> {
    if let Some(text) = flags.first(URI)? {
        return parse_host_uri(text);
    }
    match (flags.first(HOST)?, flags.first(PORT)?) {
        (Some(host), Some(port)) => {
            let port: u16 = port
                .parse()
                .map_err(|_| format!("`--port {port}` is not a TCP port number"))?;
            // An IPv6 address needs brackets in a URI.
            let host = if host.contains(':') && !host.starts_with('[') {
                format!("[{host}]")
            } else {
                host.to_owned()
            };
            parse_host_uri(&format!("http://{host}:{port}/"))
        }
        _ => Err("the host's gRPC arguments do not say where the host is \
                  (`--functions-uri`, or `--host` and `--port`)"
            .to_owned()),
    }
}

fn parse_host_uri(text: &str) -> Result<Uri, String> {
    let uri: Uri = text
        .parse()
        .map_err(|e| format!("`--functions-uri {text}` is not a URI ({e})"))?;
    if uri.scheme_str() != Some("http") {
        return Err(format!(
            "`--functions-uri {text}` must be an `http://` URI: the host speaks plaintext HTTP/2 on loopback"
        ));
    }
    if uri.authority().is_none() {
        return Err(format!("`--functions-uri {text}` has no host and port"));
    }
    Ok(uri)
}

/// The command line as flag/value pairs.
struct Flags<'a> {
    pairs: Vec<(&'a str, Option<&'a str>)>,
}

impl<'a> Flags<'a> {
    fn read(args: &'a [String]) -> Self {
        let mut pairs = Vec::new();
        let mut rest = args.iter().map(String::as_str).peekable();
        while let Some(arg) = rest.next() {
            if !arg.starts_with("--") {
                continue;
            }
            if let Some((flag, value)) = arg.split_once('=') {
                pairs.push((flag, Some(value)));
            } else {
                // A following flag is not this flag's value.
                let value = rest.next_if(|next| !next.starts_with("--"));
                pairs.push((arg, value));
            }
        }
        Flags { pairs }
    }

    fn has(&self, flag: &str) -> bool {
        self.pairs.iter().any(|(f, _)| *f == flag)
    }

    /// The value of the first of `spellings` that is present; an error if it has no value.
    fn first(&self, spellings: &[&str]) -> Result<Option<&'a str>, String> {
        for spelling in spellings {
            if let Some((_, value)) = self.pairs.iter().find(|(f, _)| f == spelling) {
                return value.map(Some).ok_or_else(|| format!("`{spelling}` needs a value"));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(list: &[&str]) -> Option<Result<NativeArgs, String>> {
        let args: Vec<String> = list.iter().map(|s| s.to_string()).collect();
        let flags = Flags::read(&args);
        GRPC_MARKERS
            .iter()
            .any(|m| flags.has(m))
            .then(|| native_args(&flags, true))
    }

    /// The exact argument list `RpcWorkerContext.GetFormattedArguments` builds.
    const HOST_ARGS: &[&str] = &[
        "--host",
        "127.0.0.1",
        "--port",
        "50051",
        "--workerId",
        "legacy-w",
        "--requestId",
        "legacy-r",
        "--grpcMaxMessageLength",
        "2147483647",
        "--functions-uri",
        "http://127.0.0.1:50052/",
        "--functions-worker-id",
        "w",
        "--functions-request-id",
        "r",
        "--functions-grpc-max-message-length",
        "2147483647",
    ];

    #[test]
    fn the_functions_flags_win_over_the_legacy_ones() {
        let args = parse(HOST_ARGS).expect("gRPC").expect("valid");
        assert_eq!(
            args,
            NativeArgs {
                uri: "http://127.0.0.1:50052/".parse().expect("uri"),
                worker_id: "w".into(),
                request_id: "r".into(),
                max_message_length: 2_147_483_647,
                http_uri: true,
                shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            }
        );
    }

    #[test]
    fn the_legacy_flags_alone_are_enough() {
        let args = parse(&HOST_ARGS[..10]).expect("gRPC").expect("valid");
        assert_eq!(args.uri, "http://127.0.0.1:50051/");
        assert_eq!(
            (args.worker_id.as_str(), args.request_id.as_str()),
            ("legacy-w", "legacy-r")
        );
        let ipv6 = parse(&["--host", "::1", "--port", "1", "--workerId", "w"]).expect("gRPC");
        assert_eq!(ipv6.expect("valid").uri, "http://[::1]:1/");
    }

    #[test]
    fn equals_signs_unknown_flags_and_stray_words_are_handled() {
        let args = parse(&[
            "worker.dll",
            "--verbose",
            "--functions-uri=http://127.0.0.1:7/",
            "--functions-worker-id=w",
            "--other",
            "x",
        ])
        .expect("gRPC")
        .expect("valid");
        assert_eq!(args.uri, "http://127.0.0.1:7/");
        assert_eq!(args.worker_id, "w");
        assert_eq!(args.request_id, "");
        assert_eq!(args.max_message_length, DEFAULT_MAX_MESSAGE_LENGTH);
    }

    #[test]
    fn without_grpc_flags_it_is_not_a_grpc_launch() {
        assert!(parse(&[]).is_none());
        assert!(parse(&["--port", "7071", "--host", "localhost"]).is_none());
        assert!(parse(&["--write-app", "out"]).is_none());
    }

    #[test]
    fn incomplete_or_invalid_arguments_say_what_is_wrong() {
        let cases: &[(&[&str], &str)] = &[
            (&["--functions-worker-id", "w"], "do not say where the host is"),
            (&["--functions-uri", "http://127.0.0.1:1/"], "no worker id"),
            (
                &["--functions-uri", "https://h:1/", "--workerId", "w"],
                "must be an `http://` URI",
            ),
            (
                &["--functions-uri", "/path", "--workerId", "w"],
                "must be an `http://` URI",
            ),
            (
                &["--functions-uri", "--workerId", "w"],
                "`--functions-uri` needs a value",
            ),
            (&["--host", "h", "--port", "x", "--workerId", "w"], "not a TCP port"),
            (
                &[
                    "--functions-uri",
                    "http://h:1/",
                    "--workerId",
                    "w",
                    "--grpcMaxMessageLength",
                    "-1",
                ],
                "not a positive number",
            ),
        ];
        for (args, expected) in cases {
            let error = parse(args).expect("gRPC").expect_err("invalid");
            assert!(
                error.contains(expected),
                "{args:?}: {error:?} should contain {expected:?}"
            );
        }
    }
}
