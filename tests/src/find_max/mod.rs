//! `find-max`: how many bots a server holds. Bots are added step by step;
//! at each step every bot must stay connected with no desyncs, the server's
//! tick p99 must stay under half the tick budget, and the bots' p99
//! input-to-ack latency under 100 ms for the whole hold period. The run
//! stops at the first step that is not held and reports the last one that was.
//!
//! The hold starts a second after a step's last bot connects. A ramp leaves a
//! transient (new sessions' full snapshots, phase moves, queues draining) that
//! can take several seconds on a full machine; with `settle_seconds` the hold
//! waits, up to that long, until the bots' ack p99 has been under the limit
//! for [`SETTLED_INTERVALS`] progress intervals in a row, and each step
//! reports how long it waited. Off by default: the default measures from the
//! second after the ramp, transient included.
//!
//! - `judge.rs`: the limits and the held/not-held decision ([`judge`]).
//! - `report.rs`: the result, per step and overall ([`FindMaxReport`]).

mod judge;
mod report;

use std::sync::Arc;
use std::time::Duration;

use tokio::time::{Instant, MissedTickBehavior};

pub use judge::{HeldLimits, StepFigures, judge, step_counts};
pub use report::{FindMaxReport, StepResult};

use crate::behavior::Behavior;
use crate::bot::{DEFAULT_RECONNECT_CHANCE, INPUTS_PER_WAKE};
use crate::own_cpu::CpuMark;
use crate::report::{Latency, Report, RunInfo};
use crate::server_metrics::{ServerFigures, ServerProbe, ServerSample};
use crate::shards::Shards;
use crate::stats::StatsSnapshot;
use crate::swarm::{Fleet, FleetSpec, Meter, PROGRESS_INTERVAL, Phase, SwarmError, settle};
use crate::target::Target;

/// What a find-max run does.
#[derive(Debug, Clone)]
pub struct FindMaxConfig {
    /// The server's WebSocket URL; its `/metrics` is read on the same host and port.
    pub url: String,
    /// Bots in the first step.
    pub start: usize,
    /// Bots added at each step.
    pub step: usize,
    /// Most bots; the last step has exactly this many.
    pub max: usize,
    /// Seconds each step is held and measured, once its bots are connected.
    pub hold_seconds: f64,
    /// Bots started per second while growing to a step.
    pub ramp_per_sec: f64,
    /// What every bot does.
    pub behavior: Behavior,
    /// Bot names are this prefix followed by the bot's number.
    pub name_prefix: String,
    /// Seed of the bots' random choices (bot `i` uses `seed + i`).
    pub seed: u64,
    /// The server's join-token secret, when it requires tokens.
    pub token_secret: Option<Vec<u8>>,
    /// For `flaky` bots: the chance per second of dropping the connection.
    pub reconnect_chance: f64,
    /// Inputs each bot sends per message.
    pub inputs_per_message: u32,
    /// Threads the bots run on.
    pub threads: usize,
    /// What "held" means.
    pub limits: HeldLimits,
    /// Most seconds to wait after a step's ramp for the bots' ack p99 to
    /// settle under the limit before the hold (0: do not wait).
    pub settle_seconds: f64,
}

/// Progress intervals in a row whose ack p99 is under the limit for a step
/// to count as settled.
pub const SETTLED_INTERVALS: u32 = 2;

impl Default for FindMaxConfig {
    fn default() -> Self {
        Self {
            url: "ws://127.0.0.1:8080/ws".into(),
            start: 250,
            step: 250,
            max: 6000,
            hold_seconds: 20.0,
            ramp_per_sec: 200.0,
            behavior: Behavior::Wander,
            name_prefix: "bot".into(),
            seed: 1,
            token_secret: None,
            reconnect_chance: DEFAULT_RECONNECT_CHANCE,
            inputs_per_message: INPUTS_PER_WAKE,
            threads: crate::shards::default_threads(),
            limits: HeldLimits::default(),
            settle_seconds: 0.0,
        }
    }
}

/// Which part of a step a progress line is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepPhase {
    /// Bots are being added, or are connecting and warming up.
    Ramp,
    /// Waiting for the bots' latency to settle (with `settle_seconds`).
    Settle,
    /// The step is being held and measured.
    Hold,
}

/// A progress line, about once a second.
#[derive(Debug, Clone, Copy)]
pub struct StepProgress {
    /// Step number, from 1.
    pub step: usize,
    /// Bots in the step.
    pub bots: usize,
    /// The part of the step.
    pub phase: StepPhase,
    /// Time since this part of the step began.
    pub elapsed: Duration,
    /// Seconds each step is held.
    pub hold_seconds: f64,
    /// The swarm-wide counters: launched, connected, lost, rates, ack p99 so far.
    pub swarm: crate::swarm::Progress,
    /// During the hold: the bots' input-to-ack p99 over the hold so far, ms.
    pub hold_ack_p99_ms: Option<f64>,
    /// During the hold: the same over the last progress interval alone, ms,
    /// which tells one stall (a spike, then low again) from overload.
    pub last_ack_p99_ms: Option<f64>,
    /// During the hold: the server's CPU over the last progress interval, % of a core.
    pub last_server_cpu_percent: Option<f64>,
    /// During the hold: the server's tick p99 over the hold so far, ms.
    pub tick_p99_ms: Option<f64>,
    /// The server's resident memory, bytes (during the hold).
    pub rss_bytes: Option<u64>,
}

impl StepProgress {
    /// A line with the swarm's counters and none of the hold's figures.
    fn new(
        step: usize,
        bots: usize,
        phase: StepPhase,
        elapsed: Duration,
        hold_seconds: f64,
        swarm: crate::swarm::Progress,
    ) -> Self {
        Self {
            step,
            bots,
            phase,
            elapsed,
            hold_seconds,
            swarm,
            hold_ack_p99_ms: None,
            last_ack_p99_ms: None,
            last_server_cpu_percent: None,
            tick_p99_ms: None,
            rss_bytes: None,
        }
    }
}

/// Grows a swarm step by step until a step is not held (or `max` is
/// reached), and reports. `on_progress` is called about once a second.
pub async fn run_find_max(
    config: FindMaxConfig,
    mut on_progress: impl FnMut(&StepProgress),
) -> Result<FindMaxReport, SwarmError> {
    if config.start == 0 || config.max == 0 {
        return Err(SwarmError::Config("start and max must be at least 1"));
    }
    if !config.ramp_per_sec.is_finite() || config.ramp_per_sec <= 0.0 {
        return Err(SwarmError::Config("ramp-per-sec must be positive"));
    }
    if !config.hold_seconds.is_finite() || config.hold_seconds <= 0.0 {
        return Err(SwarmError::Config("hold-seconds must be positive"));
    }
    if !config.settle_seconds.is_finite() || config.settle_seconds < 0.0 {
        return Err(SwarmError::Config("settle-seconds must not be negative"));
    }
    crate::swarm::check_inputs_per_message(config.inputs_per_message)?;
    let counts = step_counts(config.start, config.step, config.max);
    let target = Target::resolve(&config.url).await?;
    let probe = ServerProbe::new(&target);
    // The judge needs the server's figures: fail now rather than after the first step.
    probe.sample().await?;
    let memory_before = probe_memory().await;
    let planned = counts.len() as f64
        * (config.hold_seconds + config.step.max(config.start) as f64 / config.ramp_per_sec);
    let mut fleet = Fleet::new(
        target,
        FleetSpec {
            behavior: config.behavior,
            name_prefix: config.name_prefix.clone(),
            seed: config.seed,
            token_secret: config.token_secret.clone(),
            token_expiry: FleetSpec::token_expiry_after(planned),
            reconnect_chance: config.reconnect_chance,
            inputs_per_message: config.inputs_per_message,
        },
        Arc::new(Shards::start(config.threads).map_err(SwarmError::Threads)?),
    );
    let stats = fleet.stats().clone();
    let mut steps: Vec<StepResult> = Vec::new();
    let mut stopped_because = format!("every step up to --max {} was held", config.max);
    let mut meter = Meter::new(Instant::now(), stats.snapshot());

    for (i, &goal) in counts.iter().enumerate() {
        // Grow to the step, and let the new bots connect and warm up.
        let ramp_from = Instant::now();
        let mut ramp_tick = || {
            if meter_due(&meter) {
                let (snap, swarm) = meter.progress(&stats, Phase::RampUp);
                on_progress(&StepProgress::new(
                    i + 1,
                    goal,
                    StepPhase::Ramp,
                    ramp_from.elapsed(),
                    config.hold_seconds,
                    swarm,
                ));
                meter.mark(snap);
            }
        };
        fleet
            .ramp_to(goal, config.ramp_per_sec, &mut ramp_tick)
            .await;
        settle(&[&stats], &mut ramp_tick).await;
        let settle_from = Instant::now();
        let settled = if config.settle_seconds > 0.0 {
            let limit = config.limits.ack_p99_ms;
            let give_up = settle_from + Duration::from_secs_f64(config.settle_seconds);
            let mut last = stats.snapshot();
            let mut in_a_row = 0;
            let mut poll =
                tokio::time::interval_at(settle_from + PROGRESS_INTERVAL, PROGRESS_INTERVAL);
            poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
            while in_a_row < SETTLED_INTERVALS && Instant::now() < give_up {
                poll.tick().await;
                let (snap, swarm) = meter.progress(&stats, Phase::RampUp);
                let p99 = Latency::from_us(&snap.ack_since(&last)).p99;
                in_a_row = if p99 < limit { in_a_row + 1 } else { 0 };
                on_progress(&StepProgress {
                    last_ack_p99_ms: Some(p99),
                    ..StepProgress::new(
                        i + 1,
                        goal,
                        StepPhase::Settle,
                        settle_from.elapsed(),
                        config.hold_seconds,
                        swarm,
                    )
                });
                last = snap.clone();
                meter.mark(snap);
            }
            Some(in_a_row >= SETTLED_INTERVALS)
        } else {
            None
        };
        let settle_seconds = settled.map(|_| settle_from.elapsed().as_secs_f64());

        // Hold, and measure.
        let server_start = probe.sample().await?;
        let own_cpu = CpuMark::now();
        let start = stats.snapshot();
        let hold_from = Instant::now();
        let hold_until = hold_from + Duration::from_secs_f64(config.hold_seconds);
        let mut tick = tokio::time::interval_at(hold_from + PROGRESS_INTERVAL, PROGRESS_INTERVAL);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let (mut last_bots, mut last_server) = (start.clone(), server_start.clone());
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(hold_until) => break,
                _ = tick.tick() => {
                    let (snap, swarm) = meter.progress(&stats, Phase::Steady);
                    let server = probe.sample().await.ok();
                    let window = server.as_ref().map(|s| ServerFigures::between(&server_start, s));
                    let last_cpu = server
                        .as_ref()
                        .map(|s| ServerFigures::between(&last_server, s).server_cpu_percent);
                    let last_ack = Latency::from_us(&snap.ack_since(&last_bots)).p99;
                    last_bots = snap.clone();
                    if let Some(s) = server {
                        last_server = s;
                    }
                    on_progress(&StepProgress {
                        hold_ack_p99_ms: Some(Latency::from_us(&snap.ack_since(&start)).p99),
                        last_ack_p99_ms: Some(last_ack),
                        last_server_cpu_percent: last_cpu,
                        tick_p99_ms: window.as_ref().map(|w| w.tick_ms.p99),
                        rss_bytes: window.as_ref().map(|w| w.rss_bytes),
                        ..StepProgress::new(
                            i + 1,
                            goal,
                            StepPhase::Hold,
                            hold_from.elapsed(),
                            config.hold_seconds,
                            swarm,
                        )
                    });
                    meter.mark(snap);
                }
            }
        }
        let end = stats.snapshot();
        let hold_seconds = hold_from.elapsed().as_secs_f64();
        let bots_cpu_percent = own_cpu.percent_since();
        let server_end = probe.sample().await?;
        let mut result = step_result(
            &config,
            goal,
            hold_seconds,
            (&start, &end),
            (&server_start, &server_end),
            stats.tick_rate(),
        );
        result.bots_cpu_percent = bots_cpu_percent;
        result.bots_rss_bytes = crate::own_cpu::resident_bytes();
        result.settle_seconds = settle_seconds;
        result.settled = settled;
        let held = result.held;
        if !held {
            stopped_because = format!(
                "{goal} bots not held: {}",
                result.not_held_because.join("; ")
            );
        }
        steps.push(result);
        if !held {
            break;
        }
    }
    fleet.stop().await;
    let memory_after = probe_memory().await;

    let tick_rate = stats.tick_rate();
    let best = steps.iter().rev().find(|s| s.held);
    Ok(FindMaxReport {
        url: config.url,
        behavior: config.behavior,
        inputs_per_message: config.inputs_per_message,
        start: config.start as u64,
        step: config.step as u64,
        max: config.max as u64,
        hold_seconds: config.hold_seconds,
        tick_rate,
        tick_budget_ms: tick_rate.map(|r| 1000.0 / f64::from(r.max(1))),
        limits: config.limits,
        settle_seconds: config.settle_seconds,
        players_held: best.map_or(0, |s| s.bots),
        stopped_because,
        at_players_held: best.map(|s| s.server.clone()),
        steps,
        memory_before,
        memory_after,
    })
}

/// The memory probe, off the runtime's threads; empty if it could not run.
async fn probe_memory() -> Vec<crate::memory_probe::MemoryLatency> {
    let figures = tokio::task::spawn_blocking(crate::memory_probe::probe)
        .await
        .unwrap_or_default();
    tracing::info!("memory: {}", crate::memory_probe::describe(&figures));
    figures
}

fn meter_due(meter: &Meter) -> bool {
    meter.since_mark() >= PROGRESS_INTERVAL
}

/// One step's figures and verdict.
fn step_result(
    config: &FindMaxConfig,
    goal: usize,
    hold_seconds: f64,
    (start, end): (&StatsSnapshot, &StatsSnapshot),
    (server_start, server_end): (&ServerSample, &ServerSample),
    tick_rate: Option<u32>,
) -> StepResult {
    let info = RunInfo {
        url: config.url.clone(),
        behavior: config.behavior,
        bots: goal as u64,
        inputs_per_message: config.inputs_per_message,
        steady_seconds: hold_seconds,
    };
    let bots = Report::build(info, start, end, end);
    let server = ServerFigures::between(server_start, server_end);
    let figures = StepFigures {
        bots: goal as u64,
        connected_at_end: end.connected_now,
        connect_failures: end.connect_failures,
        disconnected: end.disconnected,
        desyncs: end.counts.desyncs,
        decode_errors: end.counts.decode_errors,
        tick_rate,
        tick: server.tick_ms,
        sends_inputs: config.behavior.sends_inputs(),
        ack: bots.ack_latency_ms,
    };
    let why = judge(&figures, &config.limits);
    StepResult {
        bots: goal as u64,
        held: why.is_empty(),
        not_held_because: why,
        connected_at_end: end.connected_now,
        connect_failures: end.connect_failures,
        disconnected: end.disconnected,
        desyncs: end.counts.desyncs,
        decode_errors: end.counts.decode_errors,
        hold_seconds,
        snapshots_per_sec: bots.snapshots_per_sec,
        down_bytes_per_sec: bots.down_bytes_per_sec,
        up_bytes_per_sec: bots.up_bytes_per_sec,
        bytes_per_entity_update: bots.bytes_per_entity_update,
        bytes_per_record: bots.bytes_per_record,
        ack_latency_ms: bots.ack_latency_ms,
        bots_cpu_percent: None,
        bots_rss_bytes: None,
        settle_seconds: None,
        settled: None,
        server,
    }
}
