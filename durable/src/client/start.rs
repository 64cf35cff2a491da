//! [`StartOrchestration`]: an orchestration start with options.

use std::collections::BTreeMap;
use std::fmt;
use std::time::SystemTime;

use serde::Serialize;

use crate::entity::guid_simple;
use crate::proto::{CreateInstanceRequest, CreateInstanceResponse, method};
use azfn_wire::wkt::{StringValue, Timestamp};

use super::{ClientError, DurableClient, json_text};

/// An orchestration start with options, from [`DurableClient::start`].
///
/// ```no_run
/// # async fn f(client: azfn::durable::client::DurableClient) -> Result<(), azfn::Error> {
/// let id = client.start("Hello").input(&"Tokyo").version("2").send().await?;
/// # Ok(()) }
/// ```
#[must_use = "a start does nothing until it is sent"]
pub struct StartOrchestration<'c> {
    pub(super) client: &'c DurableClient,
    pub(super) name: String,
    pub(super) instance_id: Option<String>,
    pub(super) input: Result<Option<String>, ClientError>,
    pub(super) start_at: Option<SystemTime>,
    pub(super) version: Option<String>,
    pub(super) tags: BTreeMap<String, String>,
}

impl fmt::Debug for StartOrchestration<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StartOrchestration")
            .field("name", &self.name)
            .field("instance_id", &self.instance_id)
            .field("input", &self.input)
            .field("start_at", &self.start_at)
            .finish_non_exhaustive()
    }
}

impl StartOrchestration<'_> {
    /// The instance id (a new random one when not set).
    ///
    /// ```no_run
    /// # async fn f(client: azfn::durable::client::DurableClient) -> Result<(), azfn::Error> {
    /// client.start("Hello").instance_id("hello-1").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn instance_id(mut self, instance_id: impl Into<String>) -> Self {
        self.instance_id = Some(instance_id.into());
        self
    }

    /// The input; `()` or `None` is none.
    ///
    /// ```no_run
    /// # async fn f(client: azfn::durable::client::DurableClient) -> Result<(), azfn::Error> {
    /// client.start("Hello").input(&vec![1, 2, 3]).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn input<I: Serialize + ?Sized>(self, input: &I) -> Self {
        self.input_json(json_text(input))
    }

    /// The input already serialized (or the error that serializing it gave), for the typed
    /// starts too.
    pub(super) fn input_json(mut self, input: Result<Option<String>, serde_json::Error>) -> Self {
        self.input = input.map_err(|e| ClientError::Payload(format!("the input does not serialize: {e}")));
        self
    }

    /// When the instance starts (now when not set).
    ///
    /// ```no_run
    /// # async fn f(client: azfn::durable::client::DurableClient) -> Result<(), azfn::Error> {
    /// use std::time::{Duration, SystemTime};
    /// client.start("Later").start_at(SystemTime::now() + Duration::from_secs(60)).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn start_at(mut self, at: SystemTime) -> Self {
        self.start_at = Some(at);
        self
    }

    /// The orchestrator's version.
    ///
    /// ```no_run
    /// # async fn f(client: azfn::durable::client::DurableClient) -> Result<(), azfn::Error> {
    /// client.start("Hello").version("1.1").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// A tag of the instance.
    ///
    /// ```no_run
    /// # async fn f(client: azfn::durable::client::DurableClient) -> Result<(), azfn::Error> {
    /// client.start("Hello").tag("tenant", "contoso").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn tag(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(name.into(), value.into());
        self
    }

    /// Starts the instance and returns its id.
    ///
    /// ```no_run
    /// # async fn f(client: azfn::durable::client::DurableClient) -> Result<(), azfn::Error> {
    /// let id = client.start("Hello").send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<String, ClientError> {
        let instance_id = self.instance_id.filter(|id| !id.is_empty()).unwrap_or_else(guid_simple);
        let request = CreateInstanceRequest {
            instance_id: instance_id.clone(),
            name: self.name,
            version: self.version.map(StringValue::from),
            input: self.input?.map(StringValue::from),
            scheduled_start_timestamp: self.start_at.map(Timestamp::from_system_time),
            tags: self.tags,
            request_time: Some(Timestamp::from_system_time(SystemTime::now())),
            ..Default::default()
        };
        let response: CreateInstanceResponse = self.client.call(method::START_INSTANCE, &request).await?;
        Ok(if response.instance_id.is_empty() {
            instance_id
        } else {
            response.instance_id
        })
    }
}
