//! Server processes started the way the host starts a custom handler, and what can be read
//! from outside them: readiness, memory.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to answer its first `GET /` before the run is abandoned.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// The readiness poll interval: 1 ms, so the measured start-up is at most ~1 ms late (the host
/// itself polls every 25 ms).
const POLL_INTERVAL: Duration = Duration::from_millis(1);

/// A running server; killed when dropped.
pub struct Server {
    name: String,
    child: Child,
    pub address: SocketAddr,
    /// When `spawn` was called, for start-up times.
    pub spawned_at: Instant,
}

impl Server {
    /// Starts `binary` on a free loopback port, in `workdir` (where an azfn app would read
    /// `host.json`; the runner's is empty, so defaults apply).
    pub fn spawn(binary: &Path, workdir: &Path) -> Result<Server, String> {
        Server::spawn_with_env(binary, workdir, &[])
    }

    /// [`Server::spawn`], with `env` added to the environment.
    pub fn spawn_with_env(binary: &Path, workdir: &Path, env: &[(&str, &str)]) -> Result<Server, String> {
        let port = free_port()?;
        let name = binary
            .file_name()
            .map_or_else(|| binary.display().to_string(), |n| n.to_string_lossy().into_owned());
        let spawned_at = Instant::now();
        let child = Command::new(binary)
            .current_dir(workdir)
            .env("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string())
            .envs(env.iter().copied())
            // Keeps the servers' own log lines out of the tables.
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        Ok(Server {
            name,
            child,
            address: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            spawned_at,
        })
    }

    /// Polls `GET /` every millisecond until any answer comes back, as the host does; returns
    /// the time since spawn. Blocking, with plain sockets, so no client library's set-up is
    /// timed; the async scenarios call it before their load starts, when nothing else runs.
    pub fn wait_ready(&mut self) -> Result<Duration, String> {
        loop {
            match probe(self.address) {
                Ok(true) => return Ok(self.spawned_at.elapsed()),
                Ok(false) => {}
                Err(error) => return Err(format!("{}: readiness probe failed: {error}", self.name)),
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("{} exited before it was ready: {status}", self.name));
            }
            if self.spawned_at.elapsed() > READY_TIMEOUT {
                return Err(format!("{} was not ready after {READY_TIMEOUT:?}", self.name));
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// CPU time the process has used so far, user and system, from `/proc/<pid>/stat`.
    pub fn cpu_time(&self) -> Result<Duration, String> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))
            .map_err(|e| format!("{}: cannot read /proc stat: {e}", self.name))?;
        cpu_ticks(&stat)
            .map(|ticks| Duration::from_secs_f64(ticks as f64 / CLOCK_TICKS_PER_SECOND))
            .ok_or_else(|| format!("{}: no CPU times in /proc stat", self.name))
    }

    /// A field of `/proc/<pid>/status` in KiB: `VmRSS` (resident now) or `VmHWM` (peak).
    pub fn memory_kib(&self, field: &str) -> Result<u64, String> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .map_err(|e| format!("{}: cannot read /proc status: {e}", self.name))?;
        status_field_kib(&status, field).ok_or_else(|| format!("{}: no {field} in /proc status", self.name))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `<field>:   1234 kB` of a `/proc/<pid>/status` text.
pub fn status_field_kib(status: &str, field: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

/// The unit of `/proc/<pid>/stat`'s times: `USER_HZ`, which Linux fixes at 100 for user space
/// on every architecture it runs this runner on.
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

/// `utime + stime` of a `/proc/<pid>/stat` line. The command name (field 2) may hold spaces
/// and parentheses, so fields are counted after its closing `)`.
pub fn cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace();
    // After the name: state (3), ppid (4), … utime is field 14, stime field 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// A port nobody listens on now. (Another process could take it before the server binds it; on
/// this machine's loopback that does not happen in practice, and a failed start is reported.)
fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| format!("no free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// One `GET /`: `Ok(false)` while nothing listens, `Ok(true)` once a status line comes back.
fn probe(address: SocketAddr) -> io::Result<bool> {
    let mut stream = match TcpStream::connect(address) {
        Ok(stream) => stream,
        Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => return Ok(false),
        Err(error) => return Err(error),
    };
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head)?;
    Ok(head.starts_with(b"HTTP/1.1 "))
}

/// One request on a fresh connection (`Connection: close`), blocking; returns the status and
/// the raw response. Used where the first answer is timed, without a client library's set-up.
pub fn request_blocking(address: SocketAddr, head: &str, body: &[u8]) -> Result<(u16, String), String> {
    let exchange = || -> io::Result<Vec<u8>> {
        let mut stream = TcpStream::connect(address)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.write_all(head.as_bytes())?;
        stream.write_all(body)?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response)?;
        Ok(response)
    };
    let response = exchange().map_err(|e| format!("request to {address} failed: {e}"))?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no HTTP status in the answer from {address}: {text:?}"))?;
    Ok((status, text))
}

/// A scratch folder for the servers' working directory and written apps, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// A folder in the system's temporary directory.
    pub fn new(label: &str) -> Result<Scratch, String> {
        Scratch::under(&std::env::temp_dir(), label)
    }

    /// A folder in memory (`/dev/shm`, a tmpfs) where there is one, else [`Scratch::new`]: for
    /// file writing whose own cost is measured, not the disk's.
    pub fn in_memory(label: &str) -> Result<Scratch, String> {
        let shm = Path::new("/dev/shm");
        if shm.is_dir() {
            Scratch::under(shm, label)
        } else {
            Scratch::new(label)
        }
    }

    fn under(base: &Path, label: &str) -> Result<Scratch, String> {
        let path = base.join(format!("azfn-bench-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        Ok(Scratch(path))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_status_fields_read_in_kib() {
        let status = "Name:\tbench-app\nVmHWM:\t    9876 kB\nVmRSS:\t    5432 kB\n";
        assert_eq!(status_field_kib(status, "VmRSS"), Some(5432));
        assert_eq!(status_field_kib(status, "VmHWM"), Some(9876));
        assert_eq!(status_field_kib(status, "VmSwap"), None);
    }

    #[test]
    fn proc_stat_cpu_times_are_counted_after_the_command_name() {
        let stat = "4242 (bench app (x)) S 1 4242 4242 0 -1 4194560 300 0 0 0 1234 567 0 0 20 0 3 0 99 0 0";
        assert_eq!(cpu_ticks(stat), Some(1234 + 567));
        assert_eq!(cpu_ticks("4242 (truncated) S 1"), None);
    }
}
