//! One route table: the local host and the worker's forwarding mode pick the same function for
//! every request, with the host's rules (precedence, case-insensitive prefix and literals, `%2F`
//! kept, the method checked after the route).

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{LocalHost, free_port, http, routes_app};

/// The app's executable serving as a worker in forwarding mode; killed when dropped.
struct ForwardingWorker {
    child: Child,
    port: u16,
}

impl ForwardingWorker {
    fn start() -> ForwardingWorker {
        let app = routes_app();
        let port = free_port();
        let child = Command::new(app.join("routes"))
            .current_dir(app)
            .env("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string())
            .env("ROUTES_FORWARD", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the worker");
        let worker = ForwardingWorker { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the worker did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        worker
    }
}

impl Drop for ForwardingWorker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn overlapping_routes_are_answered_alike_by_the_local_host_and_a_forwarding_worker() {
    let host = LocalHost::start(routes_app());
    let worker = ForwardingWorker::start();
    let cases: &[(&str, &str, u16, &str)] = &[
        ("GET", "/api/orders/special", 200, "special "),
        ("GET", "/api/ORDERS/Special", 200, "special "),
        ("GET", "/API/orders/7", 200, "by_id id=7"),
        ("GET", "/api/orders/abc", 200, "by_name name=abc"),
        ("GET", "/api/orders/report.pdf", 200, "file ext=pdf,name=report"),
        ("GET", "/api/orders/a/b", 200, "rest rest=a/b"),
        ("GET", "/api/orders/a%2Fb", 200, "by_name name=a%2Fb"),
        ("GET", "/api/orders/caf%C3%A9", 200, "by_name name=café"),
        ("POST", "/api/things/special", 200, "thing_post id=special"),
        ("GET", "/api/things/special", 200, "thing_special "),
        ("GET", "/api/things/x", 404, ""),
        ("GET", "/api/nothing", 404, ""),
        ("GET", "/apix/orders/7", 404, ""),
    ];
    for &(method, path, status, body) in cases {
        let local = host.request(method, path, &[], "");
        let forwarded = http(worker.port, method, path, &[], "");
        assert_eq!(local.status, status, "local host: {method} {path}: {local:?}");
        assert_eq!(
            forwarded.status, status,
            "forwarding worker: {method} {path}: {forwarded:?}"
        );
        if status == 200 {
            assert_eq!(local.body, body, "local host: {method} {path}");
            assert_eq!(forwarded.body, body, "forwarding worker: {method} {path}");
        }
    }
}
