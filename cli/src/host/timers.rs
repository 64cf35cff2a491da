//! Timer triggers: each fires on its NCRONTAB schedule (evaluated in UTC with the shared
//! parser's `next_after`) or `TimeSpan` interval, and once at start with `runOnStartup`.
//!
//! Like the real timer extension, a timer never overlaps itself: the next occurrence is
//! computed after the previous run has finished. `IsPastDue` is always false: the local host
//! keeps no schedule monitor.

use std::sync::Arc;
use std::time::Duration;

use azfn_bindings::schedule::{CivilTime, TimerSchedule};
use tokio::task::JoinHandle;

use super::{Host, payload};
use crate::app::{FunctionApp, TimerTrigger, Trigger};
use crate::clock;
use crate::console;

/// Starts one task per timer-triggered function of `app`.
pub fn spawn_all(host: &Arc<Host>, app: &FunctionApp) -> Vec<JoinHandle<()>> {
    app.functions
        .iter()
        .filter_map(|function| match &function.trigger {
            Trigger::Timer(timer) => Some(tokio::spawn(run_timer(
                host.clone(),
                function.name.clone(),
                timer.clone(),
            ))),
            _ => None,
        })
        .collect()
}

async fn run_timer(host: Arc<Host>, name: String, timer: TimerTrigger) {
    if timer.run_on_startup {
        fire(&host, &name, "This function was invoked at startup (runOnStartup)").await;
    }
    loop {
        let now = clock::since_epoch();
        let Some(delay) = next_delay(&timer.schedule, now) else {
            console::line(format!("The '{name}' schedule has no further occurrence"));
            return;
        };
        tokio::time::sleep(delay).await;
        let reason = format!("Timer fired at {}", clock::utc_now_iso());
        fire(&host, &name, &reason).await;
    }
}

async fn fire(host: &Host, name: &str, reason: &str) {
    let app = host.app();
    let Some(function) = app.function(name) else { return };
    let payload = payload::timer_invocation(function);
    host.invoke(name, payload, reason).await;
}

/// How long from `now` (since the Unix epoch) until the schedule next fires.
pub fn next_delay(schedule: &TimerSchedule, now: Duration) -> Option<Duration> {
    match schedule {
        TimerSchedule::Cron(cron) => {
            let seconds = i64::try_from(now.as_secs()).ok()?;
            let next = cron.next_after(&CivilTime::from_unix(seconds))?.to_unix();
            let next = Duration::from_secs(u64::try_from(next).ok()?);
            Some(next.saturating_sub(now))
        }
        TimerSchedule::Interval { seconds } => Some(Duration::from_secs(*seconds)),
        // Resolved when the app folder is read.
        TimerSchedule::AppSetting(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use azfn_bindings::validate::parse_timer_schedule;

    #[test]
    fn delays_follow_the_schedule_in_utc() {
        let every_five_minutes = parse_timer_schedule("0 */5 * * * *").unwrap();
        // 2024-02-29T23:58:00.250Z → 2024-03-01T00:00:00Z.
        let now = Duration::from_millis(1_709_251_080_250);
        assert_eq!(
            next_delay(&every_five_minutes, now),
            Some(Duration::from_millis(119_750))
        );
        let every_second = parse_timer_schedule("* * * * * *").unwrap();
        assert_eq!(next_delay(&every_second, now), Some(Duration::from_millis(750)));
        let interval = parse_timer_schedule("00:00:30").unwrap();
        assert_eq!(next_delay(&interval, now), Some(Duration::from_secs(30)));
    }
}
