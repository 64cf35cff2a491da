//! Durable replay: the time to answer one orchestrator episode whose history has 10 to 10,000
//! events, for azfn's replay engine and for durabletask-python's executor on the same bytes.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant, UNIX_EPOCH};

use azfn::durable::OrchestrationContext;
use azfn::durable::orchestration::{decode_request, encode_response, run_orchestrator, try_when_all};
use azfn::durable::proto::{
    ExecutionStartedEvent, HistoryEvent, OrchestrationStatus, OrchestratorCompletedEvent, OrchestratorRequest,
    OrchestratorResponse, OrchestratorStartedEvent, TaskCompletedEvent, TaskScheduledEvent, history_event::EventType,
    orchestrator_action::OrchestratorActionType,
};
use azfn_wire::wkt::Timestamp;
use base64::Engine as _;
use prost::Message as _;

use crate::Settings;
use crate::binaries::WORKSPACE;
use crate::stats::median;
use crate::table::{self, Table};

/// The baseline's version, pinned so that figures of different runs compare.
const DURABLETASK_VERSION: &str = "1.12.0";
/// Activities per orchestration; each history has `4 × steps + 2` events (see [`history`]).
const STEPS: [usize; 4] = [2, 25, 250, 2500];
/// The target: azfn at least this many times faster per episode at 1,000 events.
const TARGET_RATIO: f64 = 20.0;
const TARGET_EVENTS: usize = 4 * 250 + 2;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// `Step` called `steps` times in a row, each on the previous result.
    Chain,
    /// `Step` called on `0..steps` at once, then all awaited and summed.
    FanOut,
}

impl Shape {
    fn label(self) -> &'static str {
        match self {
            Shape::Chain => "sequential chain",
            Shape::FanOut => "fan-out/fan-in",
        }
    }

    /// The orchestrator's name in the history (both sides register it under this name).
    fn orchestrator(self) -> &'static str {
        match self {
            Shape::Chain => "Chain",
            Shape::FanOut => "FanOut",
        }
    }

    /// The orchestration's output when `Step(x)` returns `x + 1`.
    fn expected_output(self, steps: usize) -> u64 {
        let steps = steps as u64;
        match self {
            Shape::Chain => steps,
            Shape::FanOut => steps * (steps + 1) / 2,
        }
    }
}

async fn chain(ctx: OrchestrationContext) -> Result<u64, azfn::Error> {
    let steps: u64 = ctx.input()?;
    let mut value = 0u64;
    for _ in 0..steps {
        value = ctx.call_activity("Step", &value).await?;
    }
    Ok(value)
}

async fn fan_out(ctx: OrchestrationContext) -> Result<u64, azfn::Error> {
    let steps: u64 = ctx.input()?;
    let results = try_when_all((0..steps).map(|i| ctx.call_activity::<u64, _>("Step", &i))).await?;
    Ok(results.iter().sum())
}

/// One episode as the orchestrator function answers it: the trigger's base64 text in, the
/// response's base64 text out.
fn azfn_episode(shape: Shape, request_base64: &str) -> String {
    let request = decode_request(request_base64).expect("the runner's own request decodes");
    let response = match shape {
        Shape::Chain => run_orchestrator(&request, chain),
        Shape::FanOut => run_orchestrator(&request, fan_out),
    };
    encode_response(&response)
}

fn event(seconds: i64, event_type: EventType) -> HistoryEvent {
    HistoryEvent {
        event_id: -1,
        timestamp: Some(Timestamp::from_system_time(
            UNIX_EPOCH + Duration::from_secs(seconds as u64),
        )),
        event_type: Some(event_type),
    }
}

fn scheduled(seconds: i64, id: usize, input: u64) -> HistoryEvent {
    HistoryEvent {
        event_id: id as i32,
        ..event(
            seconds,
            EventType::TaskScheduled(TaskScheduledEvent {
                name: "Step".into(),
                input: Some(input.to_string().as_str().into()),
                ..Default::default()
            }),
        )
    }
}

fn completed(seconds: i64, id: usize, result: u64) -> HistoryEvent {
    event(
        seconds,
        EventType::TaskCompleted(TaskCompletedEvent {
            task_scheduled_id: id as i32,
            result: Some(result.to_string().as_str().into()),
        }),
    )
}

/// The request of the episode that completes the orchestration: every earlier episode's events
/// in `past_events`, the last completion in `new_events`. Every completion arrives in an episode
/// of its own (`orchestratorStarted`, `taskCompleted`, … `orchestratorCompleted`), as when each
/// activity finishes apart, so both shapes have `4 × steps + 2` events:
///
/// - chain: the first episode starts and schedules task 0; episode `i` completes task `i − 1`
///   and schedules task `i`;
/// - fan-out: the first episode starts and schedules all tasks; each later one completes one.
///
/// Task ids are the executor's own: the history records the ids its orchestrator chose, and
/// azfn (as the .NET SDK) numbers tasks from 0, durabletask-python from 1. The two histories of
/// a case differ in those ids only.
fn history(shape: Shape, steps: usize, first_id: usize) -> OrchestratorRequest {
    const START: i64 = 1_780_000_000;
    let orchestrator_started = |t| event(t, EventType::OrchestratorStarted(OrchestratorStartedEvent {}));
    let orchestrator_completed = |t| event(t, EventType::OrchestratorCompleted(OrchestratorCompletedEvent {}));
    let mut past = vec![
        orchestrator_started(START),
        event(
            START,
            EventType::ExecutionStarted(ExecutionStartedEvent {
                name: shape.orchestrator().into(),
                input: Some(steps.to_string().as_str().into()),
                ..Default::default()
            }),
        ),
    ];
    match shape {
        Shape::Chain => {
            past.push(scheduled(START, first_id, 0));
            past.push(orchestrator_completed(START));
            for step in 1..steps {
                let t = START + step as i64;
                past.push(orchestrator_started(t));
                past.push(completed(t, first_id + step - 1, step as u64));
                past.push(scheduled(t, first_id + step, step as u64));
                past.push(orchestrator_completed(t));
            }
        }
        Shape::FanOut => {
            past.extend((0..steps).map(|step| scheduled(START, first_id + step, step as u64)));
            past.push(orchestrator_completed(START));
            for step in 0..steps - 1 {
                let t = START + 1 + step as i64;
                past.push(orchestrator_started(t));
                past.push(completed(t, first_id + step, step as u64 + 1));
                past.push(orchestrator_completed(t));
            }
        }
    }
    let last = START + steps as i64;
    // In both shapes the last task is `Step(k − 1)`, which returns k.
    let last_result = steps as u64;
    OrchestratorRequest {
        instance_id: format!("replay-{}-{steps}", shape.orchestrator()),
        past_events: past,
        new_events: vec![
            orchestrator_started(last),
            completed(last, first_id + steps - 1, last_result),
        ],
        ..Default::default()
    }
}

/// One history, as both sides read it.
struct Case {
    shape: Shape,
    steps: usize,
    events: usize,
    request_base64: String,
    /// The protobuf bytes of the same history with durabletask-python's task ids, for the
    /// Python side.
    file: PathBuf,
    azfn_episodes: usize,
    python_episodes: usize,
    /// Nanoseconds per episode, one per round.
    azfn_ns: Vec<f64>,
    /// Nanoseconds of `decode_request` alone (base64 and protobuf), one per round: what of
    /// azfn's episode is not replay.
    decode_ns: Vec<f64>,
    python_ns: Vec<f64>,
}

/// Whether `response` completes the orchestration with `expected` as its output.
fn check_response(response: &OrchestratorResponse, expected: u64) -> Result<(), String> {
    let completions: Vec<_> = response
        .actions
        .iter()
        .filter_map(|a| match &a.orchestrator_action_type {
            Some(OrchestratorActionType::CompleteOrchestration(done)) => Some(done),
            _ => None,
        })
        .collect();
    let [done] = completions.as_slice() else {
        return Err(format!(
            "expected one completeOrchestration action, got {} actions",
            response.actions.len()
        ));
    };
    if done.orchestration_status != OrchestrationStatus::Completed as i32 {
        return Err(format!(
            "status {}: {:?}",
            done.orchestration_status, done.failure_details
        ));
    }
    let output = done.result.as_ref().map(|r| r.value.as_str()).unwrap_or_default();
    if output != expected.to_string() {
        return Err(format!("output {output}, expected {expected}"));
    }
    Ok(())
}

/// Episodes per round so that a round lasts about `round_time`, from one timed episode.
fn episodes_for(round_time: Duration, one_episode: Duration) -> usize {
    (round_time.as_secs_f64() / one_episode.as_secs_f64().max(1e-9)).clamp(1.0, 1e7) as usize
}

fn time_azfn(case: &Case, episodes: usize) -> f64 {
    let started = Instant::now();
    for _ in 0..episodes {
        std::hint::black_box(azfn_episode(case.shape, std::hint::black_box(&case.request_base64)));
    }
    started.elapsed().as_nanos() as f64 / episodes as f64
}

fn time_decode(case: &Case, episodes: usize) -> f64 {
    let started = Instant::now();
    for _ in 0..episodes {
        std::hint::black_box(decode_request(std::hint::black_box(&case.request_base64)).ok());
    }
    started.elapsed().as_nanos() as f64 / episodes as f64
}

pub fn run(settings: &Settings) -> Result<Vec<Table>, String> {
    let target = target_dir()?;
    let python = python_env(&target)?;
    let histories = target.join("durable-replay");
    std::fs::create_dir_all(&histories).map_err(|e| format!("cannot create {}: {e}", histories.display()))?;

    let mut cases = Vec::new();
    for shape in [Shape::Chain, Shape::FanOut] {
        for steps in STEPS {
            let request = history(shape, steps, 0);
            let bytes = request.encode_to_vec();
            let file = histories.join(format!("{}-{steps}.pb", shape.orchestrator()));
            let python_bytes = history(shape, steps, 1).encode_to_vec();
            std::fs::write(&file, &python_bytes).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
            cases.push(Case {
                shape,
                steps,
                events: request.past_events.len() + request.new_events.len(),
                request_base64: base64::engine::general_purpose::STANDARD.encode(&bytes),
                file,
                azfn_episodes: 1,
                python_episodes: 1,
                azfn_ns: Vec::new(),
                decode_ns: Vec::new(),
                python_ns: Vec::new(),
            });
        }
    }

    let mut baseline = Baseline::start(&python)?;
    // Both sides must complete every history with the expected output before anything is timed;
    // the checked episode also sets how many episodes make a round.
    for case in &mut cases {
        let expected = case.shape.expected_output(case.steps);
        let started = Instant::now();
        let answer = azfn_episode(case.shape, &case.request_base64);
        let one = started.elapsed();
        let response = decode_response(&answer)?;
        check_response(&response, expected)
            .map_err(|e| format!("azfn, {} of {} events: {e}", case.shape.label(), case.events))?;
        case.azfn_episodes = episodes_for(settings.replay_round_time, one);
        baseline
            .ask(&format!("check {} {expected}", case.file.display()))
            .and_then(|answer| match answer.as_str() {
                "ok" => Ok(()),
                other => Err(other.to_owned()),
            })
            .map_err(|e| format!("durabletask, {} of {} events: {e}", case.shape.label(), case.events))?;
        let python_one = baseline.time(&case.file, 1)?;
        case.python_episodes = episodes_for(settings.replay_round_time, Duration::from_secs_f64(python_one));
    }
    eprintln!("azfn-bench: both sides complete every history with the expected output; timing…");

    for round in 0..settings.replay_rounds {
        for case in &mut cases {
            // The order alternates, so that neither side always runs right after the other.
            let azfn_first = round.is_multiple_of(2);
            if azfn_first {
                case.azfn_ns.push(time_azfn(case, case.azfn_episodes));
            }
            let seconds = baseline.time(&case.file, case.python_episodes)?;
            case.python_ns.push(seconds * 1e9 / case.python_episodes as f64);
            if !azfn_first {
                case.azfn_ns.push(time_azfn(case, case.azfn_episodes));
            }
            case.decode_ns.push(time_decode(case, case.azfn_episodes));
        }
    }
    baseline.stop();
    Ok(tabulate(&cases, settings))
}

fn decode_response(base64_text: &str) -> Result<OrchestratorResponse, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(base64_text)
        .map_err(|e| format!("azfn's response is not base64: {e}"))?;
    OrchestratorResponse::decode(bytes.as_slice()).map_err(|e| format!("azfn's response does not decode: {e}"))
}

/// A time given in nanoseconds, in µs below a millisecond (the small histories take microseconds).
fn time(ns: f64) -> String {
    if ns.abs() < 1e6 {
        format!("{:.1} µs", ns / 1000.0)
    } else {
        table::ms(ns / 1e6)
    }
}

/// The least-squares line through `(x, y)`: slope, intercept and R².
fn least_squares(points: &[(f64, f64)]) -> (f64, f64, f64) {
    let n = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    let syy: f64 = points.iter().map(|p| (p.1 - mean_y).powi(2)).sum();
    let slope = sxy / sxx;
    let intercept = mean_y - slope * mean_x;
    let r_squared = if syy == 0.0 { 1.0 } else { sxy * sxy / (sxx * syy) };
    (slope, intercept, r_squared)
}

fn tabulate(cases: &[Case], settings: &Settings) -> Vec<Table> {
    let method = format!(
        "One episode of an orchestrator function whose history has N events: the request that \
         completes the orchestration, every earlier episode in `past_events` and the last \
         activity completion in `new_events`, so the whole history is replayed and the answer is \
         `completeOrchestration`. Two shapes, each with `4 × k + 2` events for k activity calls \
         (one completion per episode): a sequential chain (`Step` k times in a row, each on the \
         previous result) and a fan-out/fan-in (`Step` on 0..k at once, then all awaited and \
         summed). The histories are built in Rust from the protocol's messages and both sides read \
         them as protobuf bytes; they differ only in the task ids, which each executor chooses \
         itself (azfn numbers tasks from 0, durabletask from 1). **azfn**: `decode_request` (base64, protobuf) + \
         `run_orchestrator` + `encode_response`, in process (\"of which decoding\": `decode_request` \
         alone, timed after each round). **durabletask** {DURABLETASK_VERSION} \
         (Python, PyPI): its worker's work item less the gRPC call: `OrchestratorRequest` \
         decoded, `_OrchestrationExecutor.execute(instanceId, pastEvents, newEvents)`, the \
         `OrchestratorResponse` built and serialized, driven by `bench/scripts/durable_replay.py` \
         (time.perf_counter around a loop) in a process kept for the whole run. Both sides' \
         answers are checked (completed, expected output) before timing. {} rounds; in each, \
         every history is timed on both sides in turn (order alternating by round), each side \
         running as many episodes as fill about {:.0?}; figures are medians over rounds.",
        settings.replay_rounds, settings.replay_round_time
    );
    let mut episodes = Table::new(
        "Durable replay: time per episode",
        &method,
        &[
            "shape",
            "events",
            "azfn per episode",
            "of which decoding",
            "durabletask per episode",
            "durabletask / azfn",
            "azfn per event",
            "durabletask per event",
            "target",
            "",
        ],
    );
    for case in cases {
        let azfn = median(&case.azfn_ns);
        let python = median(&case.python_ns);
        let at_target = case.events == TARGET_EVENTS;
        episodes.row(vec![
            case.shape.label().to_owned(),
            case.events.to_string(),
            time(azfn),
            time(median(&case.decode_ns)),
            time(python),
            table::ratio(python / azfn),
            format!("{:.0} ns", azfn / case.events as f64),
            format!("{:.0} ns", python / case.events as f64),
            if at_target {
                format!("≥ {TARGET_RATIO:.0}×")
            } else {
                String::new()
            },
            if at_target {
                table::verdict(python / azfn >= TARGET_RATIO)
            } else {
                String::new()
            },
        ]);
    }
    for case in cases {
        episodes.note(format!(
            "{}, {} events: {} and {} episodes per round (azfn, durabletask); azfn rounds {}; durabletask rounds {}.",
            case.shape.label(),
            case.events,
            case.azfn_episodes,
            case.python_episodes,
            table::rounds(&case.azfn_ns, time),
            table::rounds(&case.python_ns, time),
        ));
    }

    let mut linearity = Table::new(
        "Durable replay: growth with the history",
        "Least-squares line of the median time per episode against the number of events, over \
         the four sizes (its slope is the cost of one more event; R² near 1 means the points lie \
         on a line), and the cost per event at each size relative to its cost at 1,002 events \
         (1.0 throughout means linear; a quadratic cost gives 10× at 10,002).",
        &[
            "shape",
            "executor",
            "slope",
            "intercept",
            "R²",
            "per event, 10 / 100 / 1,000 / 10,000 events, relative to 1,000",
        ],
    );
    for shape in [Shape::Chain, Shape::FanOut] {
        let of_shape: Vec<&Case> = cases.iter().filter(|c| c.shape == shape).collect();
        for (executor, times) in [("azfn", 0), ("durabletask", 1)] {
            let points: Vec<(f64, f64)> = of_shape
                .iter()
                .map(|c| {
                    let ns = if times == 0 {
                        median(&c.azfn_ns)
                    } else {
                        median(&c.python_ns)
                    };
                    (c.events as f64, ns)
                })
                .collect();
            let (slope, intercept, r_squared) = least_squares(&points);
            let per_event: Vec<f64> = points.iter().map(|(events, ns)| ns / events).collect();
            let reference = of_shape
                .iter()
                .position(|c| c.events == TARGET_EVENTS)
                .map_or(f64::NAN, |i| per_event[i]);
            linearity.row(vec![
                shape.label().to_owned(),
                executor.to_owned(),
                format!("{slope:.0} ns/event"),
                time(intercept),
                format!("{r_squared:.4}"),
                per_event
                    .iter()
                    .map(|p| format!("{:.2}", p / reference))
                    .collect::<Vec<_>>()
                    .join(" / "),
            ]);
        }
    }
    vec![episodes, linearity]
}

/// The folder cargo builds into: the runner is `<target>/<profile>/azfn-bench`.
fn target_dir() -> Result<PathBuf, String> {
    let runner = std::env::current_exe().map_err(|e| format!("cannot find the runner's executable: {e}"))?;
    runner
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .ok_or_else(|| format!("{} is not in a target folder", runner.display()))
}

/// The version of durabletask `python` imports, if any.
fn installed_version(python: &Path) -> Option<String> {
    let output = Command::new(python)
        .args(["-c", "import importlib.metadata as m; print(m.version('durabletask'))"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The venv's Python with durabletask installed, made on first use in `<target>/bench-venv`.
fn python_env(target: &Path) -> Result<PathBuf, String> {
    let venv = target.join("bench-venv");
    let python = venv.join("bin").join("python");
    if installed_version(&python).as_deref() == Some(DURABLETASK_VERSION) {
        return Ok(python);
    }
    eprintln!(
        "azfn-bench: creating {} with durabletask=={DURABLETASK_VERSION} from PyPI (first use only)…",
        venv.display()
    );
    let status = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .map_err(|e| format!("the durabletask baseline needs python3 (3.10 or later) with its venv module: {e}"))?;
    if !status.success() {
        return Err(format!(
            "`python3 -m venv {}` failed ({status}); the durabletask baseline needs python3 with its venv module \
             (on Debian: apt-get install python3-venv)",
            venv.display()
        ));
    }
    let status = Command::new(&python)
        .args(["-m", "pip", "install", "--quiet"])
        .arg(format!("durabletask=={DURABLETASK_VERSION}"))
        .status()
        .map_err(|e| format!("cannot run pip in {}: {e}", venv.display()))?;
    if !status.success() {
        return Err(format!(
            "`pip install durabletask=={DURABLETASK_VERSION}` failed in {} ({status})",
            venv.display()
        ));
    }
    match installed_version(&python) {
        Some(version) if version == DURABLETASK_VERSION => Ok(python),
        other => Err(format!(
            "{} imports durabletask {other:?} after the install, not {DURABLETASK_VERSION}",
            venv.display()
        )),
    }
}

/// The Python side: `bench/scripts/durable_replay.py`, answering one command a line.
struct Baseline {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Baseline {
    fn start(python: &Path) -> Result<Baseline, String> {
        let script = Path::new(WORKSPACE).join("bench/scripts/durable_replay.py");
        let mut child = Command::new(python)
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", script.display()))?;
        let stdin = child.stdin.take().ok_or("the baseline has no stdin")?;
        let stdout = BufReader::new(child.stdout.take().ok_or("the baseline has no stdout")?);
        Ok(Baseline { child, stdin, stdout })
    }

    fn ask(&mut self, command: &str) -> Result<String, String> {
        writeln!(self.stdin, "{command}")
            .and_then(|()| self.stdin.flush())
            .map_err(|e| format!("the durabletask baseline stopped: {e}"))?;
        let mut answer = String::new();
        match self.stdout.read_line(&mut answer) {
            Ok(0) => Err("the durabletask baseline stopped (see its error above)".to_owned()),
            Ok(_) => Ok(answer.trim().to_owned()),
            Err(e) => Err(format!("cannot read the durabletask baseline's answer: {e}")),
        }
    }

    /// Seconds for `episodes` episodes of the history in `file`.
    fn time(&mut self, file: &Path, episodes: usize) -> Result<f64, String> {
        let answer = self.ask(&format!("time {} {episodes}", file.display()))?;
        answer
            .parse()
            .map_err(|_| format!("the durabletask baseline answered `{answer}` to a timing"))
    }

    fn stop(mut self) {
        drop(self.stdin);
        let _ = self.child.wait();
    }
}

/// `replay-loop <chain|fan-out> <steps> <episodes>`: answers one history's episode that many
/// times and nothing else, so that a profiler sees only azfn's episode (decoding, replay,
/// encoding). No baseline, no timing.
pub fn replay_loop(args: &[String]) -> Result<(), String> {
    let usage = "usage: azfn-bench replay-loop <chain|fan-out> <steps> <episodes>";
    let [shape, steps, episodes] = args else {
        return Err(usage.to_owned());
    };
    let shape = match shape.as_str() {
        "chain" => Shape::Chain,
        "fan-out" => Shape::FanOut,
        _ => return Err(usage.to_owned()),
    };
    let steps: usize = steps.parse().map_err(|_| usage.to_owned())?;
    let episodes: usize = episodes.parse().map_err(|_| usage.to_owned())?;
    let request = history(shape, steps, 0);
    let text = base64::engine::general_purpose::STANDARD.encode(request.encode_to_vec());
    for _ in 0..episodes {
        std::hint::black_box(azfn_episode(shape, std::hint::black_box(&text)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_history_has_four_events_per_step_plus_two_and_azfn_completes_it() {
        for shape in [Shape::Chain, Shape::FanOut] {
            for steps in [1, 2, 25] {
                let request = history(shape, steps, 0);
                assert_eq!(request.past_events.len() + request.new_events.len(), 4 * steps + 2);
                let text = base64::engine::general_purpose::STANDARD.encode(request.encode_to_vec());
                let response = decode_response(&azfn_episode(shape, &text)).unwrap();
                check_response(&response, shape.expected_output(steps)).unwrap();
            }
        }
    }

    #[test]
    fn a_history_with_the_other_executors_task_ids_is_refused() {
        let text = base64::engine::general_purpose::STANDARD.encode(history(Shape::Chain, 2, 1).encode_to_vec());
        let response = decode_response(&azfn_episode(Shape::Chain, &text)).unwrap();
        assert!(check_response(&response, 2).is_err());
    }

    #[test]
    fn least_squares_of_points_on_a_line() {
        let (slope, intercept, r_squared) = least_squares(&[(1.0, 3.0), (2.0, 5.0), (4.0, 9.0)]);
        assert!((slope - 2.0).abs() < 1e-12);
        assert!((intercept - 1.0).abs() < 1e-12);
        assert!((r_squared - 1.0).abs() < 1e-12);
    }
}
