//! The quickstart binary, run the way the Functions host runs it: its app folder is written,
//! it starts on the port the host gives it, answers the readiness probe, and serves invocations.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const EXE: &str = env!("CARGO_BIN_EXE_quickstart");

struct Worker(Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts the worker with the host's variables and polls `GET /` as the host does.
fn start() -> (Worker, u16) {
    let port = free_port();
    let child = Command::new(EXE)
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string())
        .env(
            "FUNCTIONS_CUSTOMHANDLER_WORKER_ID",
            "3f2a6b0e-0000-4000-8000-000000000000",
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let worker = Worker(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if request(port, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").is_some() {
            return (worker, port);
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("the worker did not answer GET / within 30 s");
}

fn request(port: u16, raw: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.write_all(raw.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

fn invoke(port: u16, function: &str, body: Value) -> (u16, Value) {
    let body = body.to_string();
    let raw = format!(
        "POST /{function} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let response = request(port, &raw).expect("the worker answers");
    let status = response[9..12].parse().unwrap();
    let (_, body) = response.split_once("\r\n\r\n").unwrap();
    (
        status,
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}")),
    )
}

fn http(url: &str, method: &str, params: Value, body: Option<&str>) -> Value {
    let mut request = json!({"Url": url, "Method": method, "Query": {}, "Headers": {}, "Params": params});
    if let Some(body) = body {
        request["Body"] = body.into();
    }
    json!({"Data": {"req": request}, "Metadata": {}})
}

#[test]
fn the_quickstart_serves_every_function() {
    let (_worker, port) = start();

    let mut hello = http("http://localhost:7071/api/hello?name=Ferris", "GET", json!({}), None);
    hello["Data"]["req"]["Query"] = json!({"name": "Ferris"});
    let (status, body) = invoke(port, "hello", hello);
    assert_eq!(status, 200);
    assert_eq!(body["ReturnValue"]["body"], "Hello, Ferris!");

    let (_, body) = invoke(
        port,
        "greet",
        http("http://localhost/api/greet/Bob", "GET", json!({"name": "Bob"}), None),
    );
    assert_eq!(body["ReturnValue"]["statusCode"], 200);
    assert_eq!(body["ReturnValue"]["body"], r#"{"greeting":"Hello, Bob!"}"#);

    let orders = r#"[{"id":1,"item":"tea","quantity":2}]"#;
    let (status, body) = invoke(
        port,
        "accept",
        http("http://localhost/api/orders", "POST", json!({}), Some(orders)),
    );
    assert_eq!(status, 200);
    assert_eq!(body["Outputs"]["response"]["statusCode"], 202);
    assert_eq!(
        body["Outputs"]["orders"],
        json!([{"id": 1, "item": "tea", "quantity": 2}])
    );

    let message = |quantity: u32| {
        let order = json!({"id": 7, "item": "tea", "quantity": quantity}).to_string();
        json!({"Data": {"message": serde_json::to_string(&order).unwrap()},
               "Metadata": {"Id": "\"m-1\"", "DequeueCount": "1"}})
    };
    let (status, body) = invoke(port, "ship", message(3));
    assert_eq!(status, 200);
    assert_eq!(body["ReturnValue"], json!({"id": 7, "item": "tea", "quantity": 3}));
    let (status, body) = invoke(port, "ship", message(0));
    assert_eq!(status, 500);
    assert_eq!(
        body["error"],
        "the function returned an error: order 7 (message m-1) has no items"
    );

    let timer = json!({"Data": {"timer": {"Schedule": {"AdjustForDST": true}, "ScheduleStatus": null, "IsPastDue": false}},
                       "Metadata": {}});
    assert_eq!(invoke(port, "tick", timer).0, 200);
}

#[test]
fn the_quickstart_writes_its_app_folder() {
    let dir = std::env::temp_dir().join(format!("azfn-quickstart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let output = Command::new(EXE).arg("--write-app").arg(&dir).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    for function in ["accept", "greet", "hello", "ship", "tick"] {
        assert!(dir.join(function).join("function.json").is_file(), "{function}");
    }
    let host: Value = serde_json::from_slice(&std::fs::read(dir.join("host.json")).unwrap()).unwrap();
    assert_eq!(
        host["customHandler"]["description"]["defaultExecutablePath"],
        "quickstart"
    );
    assert!(dir.join("quickstart").is_file());
    assert!(dir.join("local.settings.json").is_file());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_the_host_the_worker_says_what_is_missing() {
    let output = Command::new(EXE)
        .env_remove("FUNCTIONS_CUSTOMHANDLER_PORT")
        .env_remove("FUNCTIONS_HTTPWORKER_PORT")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("FUNCTIONS_CUSTOMHANDLER_PORT"), "{stderr}");
}
