//! The app's SCM (Kudu) site: uploading the zip and following the deployment until it ends.
//!
//! Flex Consumption takes a one deploy, `POST /api/publish?RemoteBuild=false&Deployer=…`
//! (202, the body is the deployment id; 409 while another runs), followed at
//! `/api/deployments/<id>`; other plans take `POST /api/zipdeploy?isAsync=true&Deployer=…`
//! (202 and a `Location` to poll: 202 while running, 200 once done). Both report the Kudu
//! `DeployStatus` codes (Core Tools `Common/DeployStatus.cs`): −1 cancelled, 0 pending,
//! 1 building, 2 deploying, 3 failed, 4 success, 5 conflict, 6 partial success.

use std::sync::Arc;
use std::time::{Duration, Instant};

use azure_core::Bytes;
use azure_core::http::{Body, Method, Url};
use azure_core::stream::SeekableStream;
use serde_json::Value;

use crate::error::{Error, Result};

use super::http::{AzureClient, Reply};
use super::progress::{Progress, UploadBody};

/// The `Deployer` the SCM site records.
pub const DEPLOYER: &str = "cargo_azfn";

/// How the zip is deployed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeployMethod {
    /// Flex Consumption's `/api/publish`.
    Publish,
    /// `/api/zipdeploy`, asynchronous.
    ZipDeploy,
}

/// Where the deployment's status is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tracking {
    /// `/api/deployments/<id>` (Flex).
    Id(String),
    /// The `Location` of a zip deploy.
    Location(Url),
}

/// A deployment's status as Kudu reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The deployment id, when known.
    pub id: Option<String>,
    /// The `DeployStatus` code.
    pub code: i64,
    /// `status_text` or `progress`, for the console.
    pub text: String,
    /// `complete`.
    pub complete: bool,
}

impl Status {
    fn from_json(value: &Value) -> Status {
        let text = |key: &str| {
            value
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .trim()
                .to_owned()
        };
        let detail = [text("status_text"), text("progress")]
            .into_iter()
            .find(|t| !t.is_empty())
            .unwrap_or_default();
        Status {
            id: value.get("id").and_then(Value::as_str).map(str::to_owned),
            code: value.get("status").and_then(Value::as_i64).unwrap_or(0),
            text: detail,
            complete: value.get("complete").and_then(Value::as_bool).unwrap_or(false),
        }
    }

    /// The code's name.
    pub fn name(&self) -> &'static str {
        match self.code {
            -1 => "cancelled",
            0 => "pending",
            1 => "building",
            2 => "deploying",
            3 => "failed",
            4 => "succeeded",
            5 => "conflict",
            6 => "partially succeeded",
            _ => "unknown",
        }
    }

    /// Whether the deployment has ended, well or not.
    pub fn ended(&self) -> bool {
        matches!(self.code, -1 | 3 | 4 | 5 | 6) || self.complete
    }

    /// Whether it ended well.
    pub fn succeeded(&self) -> bool {
        self.code == 4
    }

    /// The console's line: the name and the remote text.
    pub fn describe(&self) -> String {
        if self.text.is_empty() || self.text.eq_ignore_ascii_case(self.name()) {
            self.name().to_owned()
        } else {
            format!("{} ({})", self.name(), self.text)
        }
    }
}

/// The SCM site of one app.
#[derive(Debug, Clone)]
pub struct Scm {
    client: AzureClient,
    base: Url,
}

impl Scm {
    /// The SCM site at `https://<host>/`.
    pub fn new(client: AzureClient, host: &str) -> Result<Scm> {
        let base = Url::parse(&format!("https://{host}/"))
            .map_err(|e| Error::new(format!("the SCM host `{host}` does not make a URL: {e}")))?;
        Ok(Scm { client, base })
    }

    fn url(&self, path_and_query: &str) -> Result<Url> {
        self.base
            .join(path_and_query)
            .map_err(|e| Error::new(format!("bad SCM path {path_and_query}: {e}")))
    }

    /// Uploads the zip; returns where to follow the deployment.
    pub async fn upload(&self, method: DeployMethod, zip: Bytes, progress: Arc<Progress>) -> Result<Tracking> {
        let url = match method {
            DeployMethod::Publish => self.url(&format!("/api/publish?RemoteBuild=false&Deployer={DEPLOYER}"))?,
            DeployMethod::ZipDeploy => self.url(&format!("/api/zipdeploy?isAsync=true&Deployer={DEPLOYER}"))?,
        };
        let headers = [
            ("content-type", "application/zip".to_owned()),
            ("content-length", zip.len().to_string()),
        ];
        let stream: Box<dyn SeekableStream> = Box::new(UploadBody::new(zip, progress.clone()));
        let reply = self
            .client
            .send(Method::Post, url, &headers, Some(Body::from(stream)))
            .await;
        progress.end_bar();
        let reply = reply?;
        if reply.status == 409 {
            return Err(Error::new(format!(
                "another deployment is already running on this app (HTTP 409: {}); wait for it to end (see the \
                 Deployment Center in the portal) and run `cargo azfn deploy` again",
                reply.text()
            )));
        }
        if !reply.is_success() {
            return Err(reply.error("the SCM site refused the upload"));
        }
        match method {
            DeployMethod::Publish => {
                let id = reply.text().trim_matches('"').to_owned();
                if id.is_empty() {
                    return Err(Error::new(
                        "the SCM site accepted the upload but returned no deployment id",
                    ));
                }
                Ok(Tracking::Id(id))
            }
            DeployMethod::ZipDeploy => match reply.header("location") {
                Some(location) => Ok(Tracking::Location(
                    self.base
                        .join(location)
                        .map_err(|e| Error::new(format!("bad Location `{location}`: {e}")))?,
                )),
                // A synchronous answer (200): the deployment is over.
                None => Ok(Tracking::Location(self.url("/api/deployments/latest")?)),
            },
        }
    }

    /// Reads the status once.
    pub async fn status(&self, tracking: &Tracking) -> Result<Status> {
        let url = match tracking {
            Tracking::Id(id) => self.url(&format!("/api/deployments/{id}"))?,
            Tracking::Location(url) => url.clone(),
        };
        let reply = self.client.send_json(Method::Get, url, None).await?;
        status_from_reply(&reply)
    }

    /// Polls every `interval` until the deployment ends, calling `changed` with each new status;
    /// gives up after `timeout`.
    pub async fn wait(
        &self,
        tracking: &Tracking,
        interval: Duration,
        timeout: Duration,
        mut changed: impl FnMut(&Status),
    ) -> Result<Status> {
        let started = Instant::now();
        let mut last: Option<Status> = None;
        loop {
            let status = self.status(tracking).await?;
            if last.as_ref() != Some(&status) {
                changed(&status);
            }
            if status.ended() {
                return Ok(status);
            }
            last = Some(status);
            if started.elapsed() >= timeout {
                return Err(Error::new(format!(
                    "the deployment has not ended after {} s (last status: {}); it goes on in Azure: see the \
                     Deployment Center in the portal, or raise --timeout",
                    timeout.as_secs(),
                    last.map(|s| s.describe()).unwrap_or_default()
                )));
            }
            tokio::time::sleep(interval).await;
        }
    }

    /// The deployment's log, with each entry's details, one line each.
    pub async fn log(&self, id: &str) -> Result<Vec<String>> {
        let entries = self
            .log_entries(self.url(&format!("/api/deployments/{id}/log"))?)
            .await?;
        let mut lines = Vec::new();
        for entry in entries {
            lines.push(entry_line(&entry));
            if let Some(details) = entry
                .get("details_url")
                .and_then(Value::as_str)
                .filter(|u| !u.is_empty())
            {
                let url = self
                    .base
                    .join(details)
                    .map_err(|e| Error::new(format!("bad details_url `{details}`: {e}")))?;
                for detail in self.log_entries(url).await? {
                    lines.push(format!("  {}", entry_line(&detail)));
                }
            }
        }
        Ok(lines)
    }

    async fn log_entries(&self, url: Url) -> Result<Vec<Value>> {
        let reply = self.client.send_json(Method::Get, url, None).await?;
        if !reply.is_success() {
            return Err(reply.error("cannot read the deployment log"));
        }
        Ok(reply
            .json("the deployment log")?
            .as_array()
            .cloned()
            .unwrap_or_default())
    }
}

fn status_from_reply(reply: &Reply) -> Result<Status> {
    // 202: still running; its body, when there is one, is the status so far.
    if reply.status == 202 && reply.body.is_empty() {
        return Ok(Status {
            id: None,
            code: 0,
            text: String::new(),
            complete: false,
        });
    }
    if !reply.is_success() {
        return Err(reply.error("cannot read the deployment's status"));
    }
    let status = Status::from_json(&reply.json("the deployment's status")?);
    Ok(if reply.status == 202 {
        Status {
            complete: false,
            ..status
        }
    } else {
        status
    })
}

fn entry_line(entry: &Value) -> String {
    let text = |key: &str| entry.get(key).and_then(Value::as_str).unwrap_or_default();
    let time = text("log_time");
    let message = text("message");
    if time.is_empty() {
        message.to_owned()
    } else {
        format!("{time} {message}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_end_and_read_as_kudu_writes_them() {
        let building = Status::from_json(&serde_json::json!({"id": "d1", "status": 1, "status_text": "Building"}));
        assert!(!building.ended());
        assert_eq!(building.describe(), "building");
        let failed =
            Status::from_json(&serde_json::json!({"status": 3, "status_text": "Deployment failed", "complete": true}));
        assert!(failed.ended() && !failed.succeeded());
        assert_eq!(failed.describe(), "failed (Deployment failed)");
        assert!(Status::from_json(&serde_json::json!({"status": 4, "complete": true})).succeeded());
    }
}
