//! SIGTERM with an invocation in flight: the worker stops taking requests, cancels the running
//! invocation's token, lets it answer, and exits 0.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const EXE: &str = env!("CARGO_BIN_EXE_shop");

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn post(port: u16, function: &str, body: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let raw = format!(
        "POST /{function} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(raw.as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}

#[test]
fn sigterm_cancels_in_flight_invocations_and_exits_cleanly() {
    let port = free_port();
    let mut child = Command::new(EXE)
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the worker never listened");
        std::thread::sleep(Duration::from_millis(25));
    }

    let body = r#"{"Data":{"req":{"Url":"http://localhost/api/report","Method":"POST","Headers":{}}},"Metadata":{}}"#;
    let in_flight = std::thread::spawn(move || post(port, "report", body));
    // Give the invocation time to start before the signal.
    std::thread::sleep(Duration::from_millis(300));
    let signalled = Instant::now();
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());

    let response = in_flight.join().unwrap().expect("the in-flight request is answered");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#""statusCode":503"#), "{response}");
    assert!(response.contains("shutting down, try again"), "{response}");

    let exit = child.wait().unwrap();
    assert!(exit.success(), "exit status {exit:?}");
    assert!(
        signalled.elapsed() < Duration::from_secs(10),
        "took {:?}",
        signalled.elapsed()
    );
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(stderr.contains("shutting down; 1 invocation(s) in flight"), "{stderr}");
    // The worker no longer takes requests.
    assert!(post(port, "report", body).is_err());
}
