//! The orchestrations run to their end by the in-process test driver, against the app's own
//! activities (or mocks standing in for them) and the real `counter` entity, in virtual time:
//! timers of hours take no time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use azfn::durable::Orchestration;
use azfn::durable::driver::{AppActivities, AppEntities, DriverResult, MockActivities, OrchestrationDriver};
use azfn::durable::proto::HistoryEvent;
use azfn::durable::proto::OrchestrationStatus;
use azfn::durable::proto::history_event::EventType;
use durable_example::{
    APPROVAL_TIMEOUT, APPROVED_EVENT, ApprovalOutcome, ApprovalRequest, Approved, COOLING_OFF, HEALTH_TOKEN_RESOURCE,
    HealthReport, Order, OrderLine, OrderProgress, OrderSummary, TallyInput, TallyReport,
};

/// The app's registry, which `AppActivities` runs the activities from.
fn app() -> azfn::testing::TestApp {
    azfn::testing::TestApp::new(durable_example::app())
}

fn new_driver(activities: AppActivities) -> OrchestrationDriver {
    OrchestrationDriver::new(activities)
        .orchestrator("process_order", |ctx| durable_example::process_order.run(ctx))
        .orchestrator("approval", |ctx| durable_example::approval.run(ctx))
        .orchestrator("tally", |ctx| durable_example::tally.run(ctx))
}

fn order(lines: &[(&str, u32)]) -> Order {
    Order {
        order_id: "order-7".into(),
        lines: lines
            .iter()
            .map(|(sku, quantity)| OrderLine {
                sku: (*sku).into(),
                quantity: *quantity,
            })
            .collect(),
    }
}

/// The activities the orchestration scheduled, in order: (name, input).
fn scheduled(history: &[HistoryEvent]) -> Vec<(String, String)> {
    history
        .iter()
        .filter_map(|e| match &e.event_type {
            Some(EventType::TaskScheduled(task)) => Some((
                task.name.clone(),
                task.input.as_ref().map(|i| i.value.clone()).unwrap_or_default(),
            )),
            _ => None,
        })
        .collect()
}

fn timers(history: &[HistoryEvent]) -> usize {
    history
        .iter()
        .filter(|e| matches!(e.event_type, Some(EventType::TimerCreated(_))))
        .count()
}

fn elapsed(driver: &OrchestrationDriver, result: &DriverResult) -> Duration {
    result.finished_at.duration_since(driver.start()).unwrap()
}

fn completed<T: serde::de::DeserializeOwned>(result: &DriverResult) -> T {
    assert_eq!(result.status, OrchestrationStatus::Completed, "{:?}", result.failure);
    result.output().unwrap()
}

#[tokio::test]
async fn an_order_is_priced_in_parallel_then_waits_out_the_cooling_off() {
    let _app = app();
    let driver = new_driver(AppActivities::new());
    let result = driver
        .run("process_order", &order(&[("tea", 2), ("scones", 4), ("jam", 1)]))
        .await;
    let summary: OrderSummary = completed(&result);
    assert_eq!(
        summary,
        OrderSummary {
            order_id: "order-7".into(),
            line_totals: vec![900, 1200, 525],
            total_cents: 2625,
        }
    );
    // Fan-out: all three activities were scheduled in the first episode, before any result;
    // fan-in: one more episode saw them all. Then the timer, and the final episode.
    let calls = scheduled(&result.history);
    assert_eq!(calls.len(), 3);
    assert!(calls.iter().all(|(name, _)| name == "price_line"));
    assert_eq!(result.episodes, 3);
    assert_eq!(timers(&result.history), 1);
    assert_eq!(elapsed(&driver, &result), COOLING_OFF);
    assert_eq!(
        result.custom_status::<OrderProgress>().unwrap(),
        OrderProgress {
            stage: "done".into(),
            lines: 3
        }
    );
}

#[tokio::test]
async fn every_custom_status_change_is_kept_with_its_time_and_episode() {
    let _app = app();
    let driver = new_driver(AppActivities::new());
    let result = driver.run("process_order", &order(&[("tea", 1), ("jam", 2)])).await;
    let changes: Vec<(String, Duration, usize)> = result
        .custom_status_history()
        .iter()
        .map(|change| {
            let progress: OrderProgress = change.decode().unwrap();
            assert_eq!(progress.lines, 2);
            let after = change.at.duration_since(driver.start()).unwrap();
            (progress.stage, after, change.episode)
        })
        .collect();
    // Pricing from the first episode, cooling-off once the prices are in (same instant: the
    // activities take no virtual time), done when the timer fires.
    assert_eq!(
        changes,
        [
            ("pricing".to_owned(), Duration::ZERO, 1),
            ("cooling-off".to_owned(), Duration::ZERO, 2),
            ("done".to_owned(), COOLING_OFF, 3),
        ]
    );
    assert_eq!(result.custom_status::<OrderProgress>().unwrap().stage, "done");
}

#[tokio::test]
async fn the_custom_status_shows_the_cooling_off_while_the_timer_runs() {
    let _app = app();
    // Stop after the fan-in episode: the instance is waiting on its timer.
    let result = new_driver(AppActivities::new())
        .max_episodes(2)
        .run("process_order", &order(&[("tea", 1)]))
        .await;
    assert_eq!(result.status, OrchestrationStatus::Running);
    assert_eq!(
        result.custom_status::<OrderProgress>().unwrap(),
        OrderProgress {
            stage: "cooling-off".into(),
            lines: 1
        }
    );
    assert_eq!(timers(&result.history), 1);
}

#[tokio::test]
async fn a_line_whose_pricing_fails_once_is_retried_after_the_policy_delay() {
    let _app = app();
    // A flaky stand-in for `price_line`: the first attempt for scones fails.
    let attempts: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let seen = attempts.clone();
    let mocks = MockActivities::new().activity("price_line", move |line: OrderLine| {
        let mut seen = seen.lock().unwrap();
        let attempt = seen.entry(line.sku.clone()).or_insert(0);
        *attempt += 1;
        if line.sku == "scones" && *attempt == 1 {
            return Err("the price service is busy".to_owned());
        }
        let unit = durable_example::unit_price(&line.sku).ok_or("unknown sku")?;
        Ok(unit * u64::from(line.quantity))
    });
    let driver = new_driver(AppActivities::with_mocks(mocks));
    let result = driver.run("process_order", &order(&[("tea", 1), ("scones", 2)])).await;
    let summary: OrderSummary = completed(&result);
    assert_eq!(summary.line_totals, [450, 600]);
    assert_eq!(summary.total_cents, 1050);

    let attempts = attempts.lock().unwrap().clone();
    assert_eq!(attempts, HashMap::from([("tea".into(), 1), ("scones".into(), 2)]));
    let calls = scheduled(&result.history);
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert_eq!(calls[2].1, r#"{"sku":"scones","quantity":2}"#);
    // The retry waited on a durable timer (5 s), then the cooling-off one.
    assert_eq!(timers(&result.history), 2);
    assert_eq!(elapsed(&driver, &result), Duration::from_secs(5) + COOLING_OFF);
}

#[tokio::test]
async fn an_unknown_sku_fails_the_order_after_every_attempt() {
    let _app = app();
    let driver = new_driver(AppActivities::new());
    let result = driver.run("process_order", &order(&[("tea", 1), ("caviar", 1)])).await;
    assert_eq!(result.status, OrchestrationStatus::Failed);
    let failure = result.failure.clone().unwrap();
    assert!(failure.error_message.contains("unknown sku `caviar`"), "{failure:?}");
    // 3 attempts for caviar, 5 s and 10 s apart; the cooling-off timer never started.
    let caviar = scheduled(&result.history)
        .into_iter()
        .filter(|(_, input)| input.contains("caviar"))
        .count();
    assert_eq!(caviar, 3);
    assert_eq!(timers(&result.history), 2);
    assert_eq!(elapsed(&driver, &result), Duration::from_secs(15));
}

fn approval_request() -> ApprovalRequest {
    ApprovalRequest {
        subject: "order-7".into(),
        approver: "ana".into(),
    }
}

#[tokio::test]
async fn an_approval_that_arrives_wins_the_race() {
    let _app = app();
    let driver =
        new_driver(AppActivities::new()).raise_event_when_waiting(APPROVED_EVENT, &Approved { by: "ana".into() });
    let result = driver.run("approval", &approval_request()).await;
    assert_eq!(
        completed::<ApprovalOutcome>(&result),
        ApprovalOutcome::Approved { by: "ana".into() }
    );
    assert_eq!(elapsed(&driver, &result), Duration::ZERO);
    // The request went out through the app's own activity.
    assert_eq!(
        result.custom_status::<String>().unwrap(),
        "asked ana to approve order-7"
    );
    assert_eq!(
        scheduled(&result.history),
        [(
            "send_approval_request".to_owned(),
            r#"{"subject":"order-7","approver":"ana"}"#.to_owned()
        )]
    );

    // An approval late but before the deadline also wins, at the time it came.
    let an_hour = Duration::from_secs(3600);
    let driver = driver_with_event_at(an_hour);
    let result = driver.run("approval", &approval_request()).await;
    assert_eq!(
        completed::<ApprovalOutcome>(&result),
        ApprovalOutcome::Approved { by: "bo".into() }
    );
    assert_eq!(elapsed(&driver, &result), an_hour);
}

fn driver_with_event_at(after: Duration) -> OrchestrationDriver {
    new_driver(AppActivities::new()).raise_event_at(after, "approved", &Approved { by: "bo".into() })
}

#[tokio::test]
async fn without_an_approval_the_deadline_wins() {
    let _app = app();
    let driver = new_driver(AppActivities::new());
    let result = driver.run("approval", &approval_request()).await;
    assert_eq!(completed::<ApprovalOutcome>(&result), ApprovalOutcome::TimedOut);
    assert_eq!(elapsed(&driver, &result), APPROVAL_TIMEOUT);
    assert_eq!(result.output.as_deref(), Some(r#"{"outcome":"timed_out"}"#));

    // Too late: the instance had already timed out.
    let driver = driver_with_event_at(APPROVAL_TIMEOUT + Duration::from_secs(1));
    let result = driver.run("approval", &approval_request()).await;
    assert_eq!(completed::<ApprovalOutcome>(&result), ApprovalOutcome::TimedOut);
    assert_eq!(elapsed(&driver, &result), APPROVAL_TIMEOUT);
}

/// The app's real `counter` entity function, run by the driver as the host runs it: a batch
/// request (the operation, the state the driver kept) in, the batch result out.
fn with_counter_entity(driver: OrchestrationDriver) -> OrchestrationDriver {
    driver.entities(AppEntities::new())
}

#[tokio::test]
async fn tally_signals_and_calls_the_counter_entity() {
    let _app = app();
    let driver = with_counter_entity(new_driver(AppActivities::new()));
    let input = TallyInput {
        key: "daily".into(),
        amounts: vec![2, 5, -3],
    };
    let result = driver.run("tally", &input).await;
    assert_eq!(
        completed::<TallyReport>(&result),
        TallyReport {
            total: 4,
            after_reset: 0
        }
    );
    // Three signals and three calls, all to @counter@daily.
    let sent: Vec<&str> = result
        .history
        .iter()
        .filter_map(|e| match &e.event_type {
            Some(EventType::EventSent(sent)) => Some(sent.instance_id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(sent, ["@counter@daily"; 6]);
    // The driver kept the entity's state between operations; the reset deleted it.
    let counter = azfn::durable::EntityId::new("counter", "daily");
    assert!(result.entity_state::<i64>(&counter).is_none());

    // Without the entity, the call fails, and so does the orchestration.
    let result = new_driver(AppActivities::new()).run("tally", &input).await;
    assert_eq!(result.status, OrchestrationStatus::Failed);
}

#[tokio::test]
async fn an_entity_operation_that_fails_fails_the_call_with_the_entitys_error() {
    let _app = app();
    // The counter's `add` takes an integer: the real entity function rejects a string, the
    // state stays as it was, and the orchestration's call fails with that error.
    async fn bad_add(ctx: azfn::durable::OrchestrationContext) -> Result<i64, azfn::Error> {
        let counter = azfn::durable::EntityId::new("counter", "bad");
        ctx.call_entity::<i64, _>(&counter, "add", &3).await?;
        match ctx.call_entity::<i64, _>(&counter, "add", &"four").await {
            Ok(_) => Err(azfn::Error::msg("a string was added")),
            Err(failed) => {
                assert!(failed.to_string().contains("does not deserialize"), "{failed}");
                Ok(ctx.call_entity(&counter, "get", &()).await?)
            }
        }
    }
    let driver = with_counter_entity(OrchestrationDriver::new(MockActivities::new())).orchestrator("bad_add", bad_add);
    let result = driver.run("bad_add", &()).await;
    assert_eq!(completed::<i64>(&result), 3);
}

/// The extension's `BuiltIn::HttpActivity`, played by a mock: the first call answers `202`
/// with a location to poll in 60 s, the poll answers `200`. Records each request it got.
fn http_activity(requests: Arc<Mutex<Vec<serde_json::Value>>>) -> MockActivities {
    MockActivities::new().activity("BuiltIn::HttpActivity", move |input: serde_json::Value| {
        let mut seen = requests.lock().unwrap();
        seen.push(input[0].clone());
        Ok::<_, String>(if seen.len() == 1 {
            serde_json::json!({"statusCode": 202, "headers": {"Location": "https://status.example/1", "Retry-After": "60"}})
        } else {
            serde_json::json!({"statusCode": 200, "headers": {}, "content": "{\"healthy\":true}"})
        })
    })
}

#[tokio::test]
async fn health_check_polls_the_http_call_and_schedules_the_reset() {
    let requests = Arc::new(Mutex::new(Vec::new()));
    let driver = with_counter_entity(
        OrchestrationDriver::new(http_activity(requests.clone()))
            .orchestrator("health_check", |ctx| durable_example::health_check.run(ctx)),
    );
    let result = driver.run("health_check", &"https://service.example/health").await;
    assert_eq!(result.status, OrchestrationStatus::Completed, "{:?}", result.failure);
    assert_eq!(
        result.output::<HealthReport>().unwrap(),
        HealthReport {
            status: 200,
            checks_today: 1,
            version: None
        }
    );
    // The 202 was polled after its Retry-After, by a GET of the location.
    assert_eq!(
        result.finished_at.duration_since(driver.start()).unwrap(),
        Duration::from_secs(60)
    );
    let requests = requests.lock().unwrap().clone();
    assert_eq!(requests[0]["uri"], "https://service.example/health");
    assert_eq!(requests[1]["uri"], "https://status.example/1");
    assert!(requests[0].get("tokenSource").is_none(), "no token before version 2");
    // The reset goes to the counter at the next midnight (the driver starts 2024-01-01T00:00Z).
    let resets: Vec<&str> = result
        .history
        .iter()
        .filter_map(|e| match &e.event_type {
            Some(EventType::EventSent(sent)) if sent.name.starts_with("op@") => Some(sent.name.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(resets, ["op@2024-01-02T00:00:00.0000000Z"]);
    // The real counter counted the check; the reset, due at midnight, never came (the run
    // ended first).
    let health = azfn::durable::EntityId::new("counter", "health");
    assert_eq!(result.entity_state::<i64>(&health).unwrap().unwrap(), 1);
}

#[tokio::test]
async fn health_check_at_version_2_sends_a_managed_identity_token() {
    let requests = Arc::new(Mutex::new(Vec::new()));
    let driver = with_counter_entity(
        OrchestrationDriver::new(http_activity(requests.clone()))
            .orchestrator("health_check", |ctx| durable_example::health_check.run(ctx)),
    );
    let result = driver
        .run_versioned("check-2", "health_check", Some("2"), &"https://service.example/health")
        .await;
    assert_eq!(result.output::<HealthReport>().unwrap().version.as_deref(), Some("2"));
    let requests = requests.lock().unwrap().clone();
    for request in &requests {
        assert_eq!(
            request["tokenSource"],
            serde_json::json!({"kind": "AzureManagedIdentity", "resource": HEALTH_TOKEN_RESOURCE})
        );
    }
    assert_eq!(requests.len(), 2);
}
