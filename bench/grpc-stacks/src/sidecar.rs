//! The server both clients call: a tonic `TaskHubSidecarService` answering `GetInstance` (every
//! other method is tonic's default `UNIMPLEMENTED`). It runs in its own process, so that the
//! clients' process holds nothing but the clients, and prints its port on stdout.

use std::io::Write;
use std::process::{Child, ChildStdout, Command, Stdio};

use azfn_wire::durable::{GetInstanceRequest, GetInstanceResponse, OrchestrationState, OrchestrationStatus};
use azfn_wire::wkt::{StringValue, Timestamp};
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

use crate::tonic_stubs::sidecar::task_hub_sidecar_service_server::{
    TaskHubSidecarService, TaskHubSidecarServiceServer,
};

/// The `sidecar` subcommand: serves until killed.
pub fn serve() -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        println!("{port}");
        std::io::stdout().flush().map_err(|e| e.to_string())?;
        tonic::transport::Server::builder()
            .add_service(TaskHubSidecarServiceServer::new(Sidecar))
            .serve_with_incoming(TcpIncoming::from(listener).with_nodelay(Some(true)))
            .await
            .map_err(|e| e.to_string())
    })
}

/// A running `sidecar` process; killed when dropped.
pub struct SidecarProcess {
    child: Child,
    _stdout: ChildStdout,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl SidecarProcess {
    pub fn start() -> Result<SidecarProcess, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut child = Command::new(exe)
            .arg("sidecar")
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start the sidecar: {e}"))?;
        let mut stdout = child.stdout.take().ok_or("the sidecar has no stdout")?;
        let port = read_line(&mut stdout)?
            .trim()
            .parse()
            .map_err(|e| format!("the sidecar did not print its port: {e}"))?;
        Ok(SidecarProcess {
            child,
            _stdout: stdout,
            port,
        })
    }
}

impl Drop for SidecarProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One line, byte by byte (a `BufReader` could read past it, and the pipe stays open).
pub fn read_line(stdout: &mut ChildStdout) -> Result<String, String> {
    use std::io::Read;
    let mut line = Vec::new();
    let mut byte = [0u8];
    loop {
        match stdout.read(&mut byte) {
            Ok(0) => return Err("the sidecar exited before printing its port".into()),
            Ok(_) if byte[0] == b'\n' => return String::from_utf8(line).map_err(|e| e.to_string()),
            Ok(_) => line.push(byte[0]),
            Err(e) => return Err(e.to_string()),
        }
    }
}

struct Sidecar;

#[tonic::async_trait]
impl TaskHubSidecarService for Sidecar {
    async fn get_instance(
        &self,
        request: Request<GetInstanceRequest>,
    ) -> Result<Response<GetInstanceResponse>, Status> {
        Ok(Response::new(instance(&request.into_inner())))
    }
}

/// A running orchestration with a small input, as a status poll sees it.
pub fn instance(request: &GetInstanceRequest) -> GetInstanceResponse {
    let at = Timestamp {
        seconds: 1_764_790_000,
        nanos: 0,
    };
    GetInstanceResponse {
        exists: true,
        orchestration_state: Some(OrchestrationState {
            instance_id: request.instance_id.clone(),
            name: "ProcessOrder".into(),
            orchestration_status: OrchestrationStatus::Running as i32,
            created_timestamp: Some(at),
            last_updated_timestamp: Some(at),
            input: request
                .get_inputs_and_outputs
                .then(|| StringValue::from(r#"{"order":7,"city":"Tokyo"}"#.to_owned())),
            ..OrchestrationState::default()
        }),
    }
}
