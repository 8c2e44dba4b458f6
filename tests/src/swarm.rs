//! Many bots at once: ramp-up, a steady period, progress, a clean stop and a report.

use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};

use crate::behavior::Behavior;
use crate::bot::{BotConfig, run_bot};
use crate::error::BotError;
use crate::report::{Report, RunInfo};
use crate::stats::{StatsSnapshot, SwarmStats};
use crate::target::Target;

/// How often progress is reported.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(1);
/// How long after the last launch the swarm waits for connections still being made.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Seconds a minted join token outlives the planned run (ramp-up, reconnects, slack).
const TOKEN_SLACK_SECS: u64 = 3600;
/// Time between the last bot connecting and the start of the steady period:
/// longer than a bot's stats flush interval, so that connection set-up (first
/// full snapshots) is not counted as steady traffic.
const WARM_UP: Duration = Duration::from_secs(1);
/// How long bots get to close their connections once told to stop.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// What a swarm runs.
#[derive(Debug, Clone)]
pub struct SwarmConfig {
    /// The server's WebSocket URL, e.g. `ws://127.0.0.1:8080/ws`.
    pub url: String,
    /// Number of bots.
    pub bots: usize,
    /// Length of the steady period after ramp-up, seconds.
    pub seconds: f64,
    /// Bots started per second during ramp-up.
    pub ramp_per_sec: f64,
    /// What every bot does.
    pub behavior: Behavior,
    /// Bot names are this prefix followed by the bot's number.
    pub name_prefix: String,
    /// Seed of the bots' random choices (bot `i` uses `seed + i`).
    pub seed: u64,
    /// The server's join-token secret, when it requires tokens: each bot
    /// gets a token for its name, valid for an hour past the run.
    pub token_secret: Option<Vec<u8>>,
}

impl Default for SwarmConfig {
    fn default() -> Self {
        Self {
            url: "ws://127.0.0.1:8080/ws".into(),
            bots: 100,
            seconds: 10.0,
            ramp_per_sec: 200.0,
            behavior: Behavior::Wander,
            name_prefix: "bot".into(),
            seed: 1,
            token_secret: None,
        }
    }
}

/// Why a swarm could not run.
#[derive(Debug, Error)]
pub enum SwarmError {
    /// The URL is unusable.
    #[error(transparent)]
    Target(#[from] BotError),
    /// A setting is out of range.
    #[error("invalid setting: {0}")]
    Config(&'static str),
}

/// Which part of the run a progress line is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Bots are still being started or connecting.
    RampUp,
    /// Every bot is started; rates are being measured.
    Steady,
}

/// A progress line, about once a second.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// The phase.
    pub phase: Phase,
    /// Time since the swarm started.
    pub elapsed: Duration,
    /// Bots started so far.
    pub launched: u64,
    /// Bots connected now.
    pub connected: u64,
    /// Bots whose connection was lost so far.
    pub disconnected: u64,
    /// Snapshots per second over the last interval, all bots together.
    pub snapshots_per_sec: f64,
    /// Kilobytes per second received over the last interval, all bots together.
    pub down_kb_per_sec: f64,
    /// 99th percentile of input-to-ack latency so far, ms.
    pub ack_p99_ms: f64,
    /// Desyncs plus decode errors so far.
    pub errors: u64,
}

/// Runs a swarm to the end and reports. `on_progress` is called about once a second.
pub async fn run_swarm(
    config: SwarmConfig,
    mut on_progress: impl FnMut(&Progress),
) -> Result<Report, SwarmError> {
    if config.bots == 0 {
        return Err(SwarmError::Config("bots must be at least 1"));
    }
    if !config.ramp_per_sec.is_finite() || config.ramp_per_sec <= 0.0 {
        return Err(SwarmError::Config("ramp-per-sec must be positive"));
    }
    if !config.seconds.is_finite() || config.seconds < 0.0 {
        return Err(SwarmError::Config("seconds must not be negative"));
    }
    let target = Target::resolve(&config.url).await?;
    let stats = Arc::new(SwarmStats::new());
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let started = Instant::now();
    let mut meter = Meter::new(started, stats.snapshot());
    let token_expiry = tickwire_server::auth::unix_now() + config.seconds as u64 + TOKEN_SLACK_SECS;

    // Ramp-up: launch bots at the ramp rate, checking every few milliseconds.
    let mut launch = tokio::time::interval(Duration::from_millis(5));
    launch.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut launched = 0usize;
    while launched < config.bots {
        launch.tick().await;
        let due = (started.elapsed().as_secs_f64() * config.ramp_per_sec) as usize + 1;
        while launched < due.min(config.bots) {
            let name = format!("{}{}", config.name_prefix, launched);
            let bot = BotConfig {
                seed: config.seed.wrapping_add(launched as u64),
                auth_token: config
                    .token_secret
                    .as_deref()
                    .map(|secret| tickwire_server::auth::mint(secret, &name, token_expiry)),
                ..BotConfig::new(name, config.behavior)
            };
            let (target, stats, stop) = (target.clone(), stats.clone(), stop_rx.clone());
            tasks.spawn(async move { run_bot(&target, bot, stats, stop).await });
            launched += 1;
        }
        meter.maybe_report(&stats, Phase::RampUp, &mut on_progress);
    }

    // Let the last connections finish before measuring.
    let settle_deadline = Instant::now() + SETTLE_TIMEOUT;
    let mut poll = tokio::time::interval(Duration::from_millis(20));
    while stats.connecting() > 0 && Instant::now() < settle_deadline {
        poll.tick().await;
        meter.maybe_report(&stats, Phase::RampUp, &mut on_progress);
    }

    // Warm up: let the first full snapshots arrive and every bot's counters
    // reach the swarm's before the steady period starts.
    let warm_until = Instant::now() + WARM_UP;
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(warm_until) => break,
            _ = poll.tick() => meter.maybe_report(&stats, Phase::RampUp, &mut on_progress),
        }
    }

    // The steady period.
    let steady_start = stats.snapshot();
    let steady_from = Instant::now();
    let steady_until = steady_from + Duration::from_secs_f64(config.seconds);
    let mut progress = tokio::time::interval_at(steady_from + PROGRESS_INTERVAL, PROGRESS_INTERVAL);
    progress.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(steady_until) => break,
            _ = progress.tick() => meter.report(&stats, Phase::Steady, &mut on_progress),
        }
    }
    let steady_end = stats.snapshot();
    let steady_seconds = steady_from.elapsed().as_secs_f64();

    // Stop every bot; give them a while to close, then cut the rest.
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(STOP_TIMEOUT, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    let last = stats.snapshot();

    let info = RunInfo {
        url: config.url,
        behavior: config.behavior,
        bots: config.bots as u64,
        steady_seconds,
    };
    Ok(Report::build(info, &steady_start, &steady_end, &last))
}

/// Turns counter snapshots into progress lines.
struct Meter {
    started: Instant,
    last_at: Instant,
    last: StatsSnapshot,
}

impl Meter {
    fn new(started: Instant, first: StatsSnapshot) -> Self {
        Self {
            started,
            last_at: started,
            last: first,
        }
    }

    fn maybe_report(&mut self, stats: &SwarmStats, phase: Phase, f: &mut impl FnMut(&Progress)) {
        if self.last_at.elapsed() >= PROGRESS_INTERVAL {
            self.report(stats, phase, f);
        }
    }

    fn report(&mut self, stats: &SwarmStats, phase: Phase, f: &mut impl FnMut(&Progress)) {
        let now = Instant::now();
        let snap = stats.snapshot();
        let dt = now.duration_since(self.last_at).as_secs_f64().max(1e-3);
        let d = snap.counts_since(&self.last);
        f(&Progress {
            phase,
            elapsed: now.duration_since(self.started),
            launched: snap.launched,
            connected: snap.connected_now,
            disconnected: snap.disconnected,
            snapshots_per_sec: d.snapshots as f64 / dt,
            down_kb_per_sec: d.down_bytes as f64 / dt / 1000.0,
            ack_p99_ms: stats.ack_p99_ms(),
            errors: snap.counts.desyncs + snap.counts.decode_errors,
        });
        self.last = snap;
        self.last_at = now;
    }
}
