//! Queue triggers with the host's semantics (WebJobs `QueueListener`/`QueueProcessor`):
//!
//! - Poll with randomized exponential backoff from 100 ms to `maxPollingInterval` (×2, ±20 %),
//!   back to 100 ms after a hit; an enqueue by this host wakes the poller at once.
//! - Take `batchSize` messages, invisible for 10 minutes; fetch again once `newBatchThreshold`
//!   or fewer are in flight.
//! - Success deletes the message. Failure makes it visible again after `visibilityTimeout`,
//!   or moves it to `<queue>-poison` once it has been taken `maxDequeueCount` times. A message
//!   taken more often than that, or not base64 when base64 is expected, is poisoned unrun.
//! - While the host stops, a message whose invocation did not succeed is made visible again at
//!   once: a restart loses nothing.

use std::sync::Arc;
use std::time::Duration;

use azure_storage_queue::models::ReceivedMessage;
use tokio::task::{JoinHandle, JoinSet};

use super::Host;
use super::payload::{self, QueueMessageData};
use super::storage::{HostStorage, storage_triggered};
use crate::app::FunctionApp;
use crate::clock;
use crate::console;
use azfn_bindings::catalog::QUEUE_TRIGGER;

/// How long a taken message stays invisible while its invocation runs.
const RUNNING_VISIBILITY: Duration = Duration::from_secs(600);
/// The first and reset polling interval.
const MIN_INTERVAL: Duration = crate::storage::options::MIN_POLLING_INTERVAL;
/// Queue names longer than this have no poison queue (63 is the limit, `-poison` is 7).
const MAX_POISONABLE_NAME: usize = 56;

/// Starts one listener per queue-triggered function of `app`.
pub fn spawn_all(host: &Arc<Host>, storage: &Arc<HostStorage>, app: &FunctionApp) -> Vec<JoinHandle<()>> {
    storage_triggered(app, storage, &QUEUE_TRIGGER, "queue_name")
        .map(|(function, queue, connection)| {
            tokio::spawn(listen(
                host.clone(),
                storage.clone(),
                function.name.clone(),
                queue.to_ascii_lowercase(),
                connection,
                storage.generation(),
            ))
        })
        .collect()
}

/// The next polling interval after an empty poll: twice the last, ±20 %, at most `max`.
pub fn next_interval(last: Duration, max: Duration, jitter: f64) -> Duration {
    let doubled = last.saturating_mul(2).min(max);
    // jitter in [0, 1) → factor in [0.8, 1.2).
    let factor = 0.8 + 0.4 * jitter.clamp(0.0, 1.0);
    doubled.mul_f64(factor).clamp(MIN_INTERVAL, max)
}

/// A number in [0, 1) from the host's random source.
fn jitter() -> f64 {
    let guid = clock::new_guid();
    let bits = u32::from_str_radix(&guid[..8], 16).unwrap_or(0);
    f64::from(bits) / f64::from(u32::MAX).max(1.0)
}

async fn listen(
    host: Arc<Host>,
    storage: Arc<HostStorage>,
    function: String,
    queue: String,
    connection: Option<String>,
    generation: u64,
) {
    let options = storage.queue_options.clone();
    let waker = storage.waker(&queue);
    let mut current = storage.watch_generation();
    let mut in_flight: JoinSet<()> = JoinSet::new();
    let mut interval = MIN_INTERVAL;
    let mut reported_error = false;
    while *current.borrow() == generation {
        while in_flight.try_join_next().is_some() {}
        let room = in_flight.len() <= options.new_batch_threshold as usize;
        let taken = if room {
            match storage
                .storage
                .receive(connection.as_deref(), &queue, options.batch_size, RUNNING_VISIBILITY)
                .await
            {
                Ok(messages) => {
                    reported_error = false;
                    messages
                }
                Err(e) => {
                    if !reported_error {
                        console::line(format!("error: queue '{queue}' of '{function}': {e}"));
                        reported_error = true;
                    }
                    Vec::new()
                }
            }
        } else {
            Vec::new()
        };
        if !taken.is_empty() {
            interval = MIN_INTERVAL;
            for message in taken {
                in_flight.spawn(process(
                    host.clone(),
                    storage.clone(),
                    function.clone(),
                    queue.clone(),
                    connection.clone(),
                    message,
                ));
            }
            continue;
        }
        if !room {
            // Wait for an invocation to finish before fetching more.
            tokio::select! {
                _ = in_flight.join_next() => {}
                _ = current.changed() => {}
            }
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => interval = next_interval(interval, options.max_polling_interval, jitter()),
            _ = waker.notified() => interval = MIN_INTERVAL,
            _ = current.changed() => {}
        }
    }
    // Retired (a reload) or stopping: the invocations under way finish (or fail as the worker
    // stops, and release their messages).
    while in_flight.join_next().await.is_some() {}
}

fn unix(time: Option<azure_core::time::OffsetDateTime>) -> i64 {
    time.map_or(0, |t| t.unix_timestamp())
}

async fn process(
    host: Arc<Host>,
    storage: Arc<HostStorage>,
    function: String,
    queue: String,
    connection: Option<String>,
    message: ReceivedMessage,
) {
    let connection = connection.as_deref();
    let (Some(id), Some(receipt)) = (message.message_id.clone(), message.pop_receipt.clone()) else {
        return;
    };
    let options = &storage.queue_options;
    let dequeue_count = message.dequeue_count.unwrap_or(1);
    let text = message.message_text.clone().unwrap_or_default();
    let Some(content) = storage.storage.decode_message(&text) else {
        console::line(format!(
            "Message {id} on queue '{queue}' is not base64 (host.json extensions.queues.messageEncoding is base64): \
             moving it to the poison queue"
        ));
        poison(&storage, connection, &queue, &id, &receipt, text.as_bytes()).await;
        return;
    };
    if dequeue_count > i64::from(options.max_dequeue_count) {
        poison(&storage, connection, &queue, &id, &receipt, &content).await;
        return;
    }
    let app = host.app();
    let Some(definition) = app.function(&function) else {
        release(&storage, connection, &queue, &id, &receipt, Duration::ZERO).await;
        return;
    };
    let data = QueueMessageData {
        content: &content,
        id: id.clone(),
        pop_receipt: receipt.clone(),
        dequeue_count,
        insertion_time: unix(message.insertion_time),
        expiration_time: unix(message.expiration_time),
        next_visible_time: unix(message.time_next_visible),
    };
    let payload = payload::queue_message_invocation(definition, &data);
    let reason = format!("New queue message detected on '{queue}'.");
    let invocation = host.invoke(&function, payload, &reason);
    tokio::pin!(invocation);
    // The message stays invisible while the function runs: renewed at half time, as the host
    // does; each renewal gives a new pop receipt.
    let mut receipt = receipt;
    let invocation = loop {
        tokio::select! {
            done = &mut invocation => break done,
            _ = tokio::time::sleep(RUNNING_VISIBILITY / 2) => {
                match storage.storage.set_visibility(connection, &queue, &id, &receipt, RUNNING_VISIBILITY).await {
                    Ok(renewed) => receipt = renewed,
                    Err(e) => console::line(format!("error: keeping message {id} of '{queue}' invisible: {e}")),
                }
            }
        }
    };
    let succeeded = invocation.outcome.is_ok();
    if succeeded {
        if let Err(e) = storage.storage.delete(connection, &queue, &id, &receipt).await {
            console::line(format!("error: deleting message {id} from '{queue}': {e}"));
        }
    } else if storage.stopping() {
        release(&storage, connection, &queue, &id, &receipt, Duration::ZERO).await;
    } else if dequeue_count >= i64::from(options.max_dequeue_count) {
        poison(&storage, connection, &queue, &id, &receipt, &content).await;
    } else {
        release(&storage, connection, &queue, &id, &receipt, options.visibility_timeout).await;
    }
}

async fn release(
    storage: &HostStorage,
    connection: Option<&str>,
    queue: &str,
    id: &str,
    receipt: &str,
    delay: Duration,
) {
    if let Err(e) = storage
        .storage
        .set_visibility(connection, queue, id, receipt, delay)
        .await
    {
        console::line(format!("error: returning message {id} to '{queue}': {e}"));
    }
}

/// Copies the message to `<queue>-poison` (created on demand) and deletes it; a queue that is
/// itself a poison queue, or whose name is too long for one, keeps it (invisible for now).
async fn poison(storage: &HostStorage, connection: Option<&str>, queue: &str, id: &str, receipt: &str, content: &[u8]) {
    if queue.ends_with("-poison") || queue.len() > MAX_POISONABLE_NAME {
        console::line(format!(
            "Message {id} on '{queue}' failed too often; it has no poison queue"
        ));
        return;
    }
    let poison_queue = format!("{queue}-poison");
    console::line(format!(
        "Message {id} has reached MaxDequeueCount of {}: moving it to queue '{poison_queue}'",
        storage.queue_options.max_dequeue_count
    ));
    match storage.storage.send(connection, &poison_queue, content).await {
        Ok(()) => {
            if let Err(e) = storage.storage.delete(connection, queue, id, receipt).await {
                console::line(format!("error: deleting poisoned message {id} from '{queue}': {e}"));
            }
        }
        Err(e) => console::line(format!("error: moving message {id} to '{poison_queue}': {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_maximum() {
        let max = Duration::from_secs(60);
        assert_eq!(next_interval(MIN_INTERVAL, max, 0.5), Duration::from_millis(200));
        assert_eq!(next_interval(MIN_INTERVAL, max, 0.0), Duration::from_millis(160));
        let high = next_interval(MIN_INTERVAL, max, 0.999);
        assert!(
            high > Duration::from_millis(239) && high < Duration::from_millis(240),
            "{high:?}"
        );
        assert_eq!(next_interval(Duration::from_secs(50), max, 0.5), max);
        assert_eq!(
            next_interval(Duration::from_secs(50), max, 0.0),
            Duration::from_secs(48)
        );
    }
}
