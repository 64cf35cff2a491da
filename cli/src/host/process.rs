//! Facts about worker processes that the launch, the gRPC start and the restart logic share:
//! why a process ended, and a free port for it.

use std::process::ExitStatus;

/// Why the worker exited, in words.
pub fn exit_reason(status: ExitStatus) -> String {
    match status.code() {
        Some(0) => "the worker process exited with code 0 (the real host would not restart it)".to_owned(),
        Some(code) => format!("the worker process exited with code {code}"),
        None => {
            #[cfg(unix)]
            {
                use std::os::unix::process::ExitStatusExt;
                if let Some(signal) = status.signal() {
                    return format!("the worker process was killed by signal {signal}");
                }
            }
            "the worker process was killed".to_owned()
        }
    }
}

/// A port nobody listens on, found the host's way: bind `127.0.0.1:0` and let it go.
pub fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}
