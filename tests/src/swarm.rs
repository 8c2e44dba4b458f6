//! Many bots at once: ramp-up, a steady period, progress, a clean stop and a report.
//!
//! `Fleet` is the machinery: bots of one kind, launched at a ramp rate,
//! counted in their own [`SwarmStats`], and stopped together. [`run_swarm`]
//! runs one fleet (plus, with `stall`, a second fleet of stalled bots whose
//! figures stay apart); `find_max` grows one fleet step by step.

use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};

use crate::behavior::Behavior;
use crate::bot::{BotConfig, BotOutcome, DEFAULT_RECONNECT_CHANCE, INPUTS_PER_WAKE, run_bot};
use crate::error::BotError;
use crate::own_cpu::CpuMark;
use crate::report::{Report, RunInfo, Stalled};
use crate::server_metrics::{ProbeError, ServerFigures, ServerProbe, ServerSample};
use crate::shards::{Shards, default_threads};
use crate::stats::{StatsSnapshot, SwarmStats};
use crate::target::Target;

/// How often progress is reported.
pub(crate) const PROGRESS_INTERVAL: Duration = Duration::from_secs(1);
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
/// Added to the seed of stalled bots, so that they draw apart from the normal ones.
const STALL_SEED_OFFSET: u64 = 1 << 32;
/// How often the ramp checks whether more bots are due.
const LAUNCH_CHECK: Duration = Duration::from_millis(5);

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
    /// Stalled bots (connect, then stop reading) started after the others,
    /// alongside them; the report keeps their figures apart.
    pub stall: usize,
    /// For `flaky` bots: the chance per second that a bot drops its connection.
    pub reconnect_chance: f64,
    /// Inputs each bot sends per message (it wakes this many ticks apart).
    pub inputs_per_message: u32,
    /// Threads the bots run on (see [`Shards`]).
    pub threads: usize,
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
            stall: 0,
            reconnect_chance: DEFAULT_RECONNECT_CHANCE,
            inputs_per_message: INPUTS_PER_WAKE,
            threads: default_threads(),
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
    /// The server's `/metrics`, which this run needs, could not be read.
    #[error("reading the server's figures: {0}")]
    Probe(#[from] ProbeError),
    /// The bots' threads could not be started.
    #[error("starting the bots' threads: {0}")]
    Threads(#[source] std::io::Error),
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
    /// Stalled bots connected now (not counted in the other figures).
    pub stalled: u64,
}

/// The settings bots of one fleet share.
#[derive(Debug, Clone)]
pub(crate) struct FleetSpec {
    pub behavior: Behavior,
    pub name_prefix: String,
    pub seed: u64,
    pub token_secret: Option<Vec<u8>>,
    /// Unix time at which minted join tokens expire.
    pub token_expiry: u64,
    pub reconnect_chance: f64,
    pub inputs_per_message: u32,
}

impl FleetSpec {
    /// A token expiry for a run planned to last `seconds`.
    pub fn token_expiry_after(seconds: f64) -> u64 {
        tickwire_server::auth::unix_now() + seconds.max(0.0) as u64 + TOKEN_SLACK_SECS
    }
}

/// Bots of one kind, launched and stopped together, counted in their own stats.
pub(crate) struct Fleet {
    target: Target,
    spec: FleetSpec,
    /// The threads bots run on (fleets of one run share them).
    shards: Arc<Shards>,
    stats: Arc<SwarmStats>,
    stop_tx: watch::Sender<bool>,
    tasks: JoinSet<BotOutcome>,
    launched: usize,
}

impl Fleet {
    pub fn new(target: Target, spec: FleetSpec, shards: Arc<Shards>) -> Self {
        Self {
            target,
            spec,
            shards,
            stats: Arc::new(SwarmStats::new()),
            stop_tx: watch::channel(false).0,
            tasks: JoinSet::new(),
            launched: 0,
        }
    }

    /// The fleet's counters.
    pub fn stats(&self) -> &Arc<SwarmStats> {
        &self.stats
    }

    fn launch_one(&mut self) {
        let i = self.launched;
        let name = format!("{}{i}", self.spec.name_prefix);
        let bot =
            BotConfig {
                seed: self.spec.seed.wrapping_add(i as u64),
                auth_token: self.spec.token_secret.as_deref().map(|secret| {
                    tickwire_server::auth::mint(secret, &name, self.spec.token_expiry)
                }),
                reconnect_chance: self.spec.reconnect_chance,
                inputs_per_message: self.spec.inputs_per_message,
                ..BotConfig::new(name, self.spec.behavior)
            };
        let (target, stats, stop) = (
            self.target.clone(),
            self.stats.clone(),
            self.stop_tx.subscribe(),
        );
        self.tasks.spawn_on(
            async move { run_bot(&target, bot, stats, stop).await },
            self.shards.next(),
        );
        self.launched += 1;
    }

    /// Launches bots until `goal` have been started, `ramp_per_sec` a
    /// second from now on, calling `on_tick` every few milliseconds.
    pub async fn ramp_to(&mut self, goal: usize, ramp_per_sec: f64, mut on_tick: impl FnMut()) {
        let from = self.launched;
        let started = Instant::now();
        let mut launch = tokio::time::interval(LAUNCH_CHECK);
        launch.set_missed_tick_behavior(MissedTickBehavior::Delay);
        while self.launched < goal {
            launch.tick().await;
            let due = from + (started.elapsed().as_secs_f64() * ramp_per_sec) as usize + 1;
            while self.launched < due.min(goal) {
                self.launch_one();
            }
            on_tick();
        }
    }

    /// Tells every bot to stop; gives them a while to close, then cuts the rest.
    pub async fn stop(&mut self) {
        let _ = self.stop_tx.send(true);
        let tasks = &mut self.tasks;
        let _ = tokio::time::timeout(STOP_TIMEOUT, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Waits until no bot of `fleets` is still connecting (at most
/// [`SETTLE_TIMEOUT`]), then for [`WARM_UP`], calling `on_tick` now and then.
pub(crate) async fn settle(fleets: &[&SwarmStats], mut on_tick: impl FnMut()) {
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    let mut poll = tokio::time::interval(Duration::from_millis(20));
    while fleets.iter().any(|s| s.connecting() > 0) && Instant::now() < deadline {
        poll.tick().await;
        on_tick();
    }
    // Warm up: let the first full snapshots arrive and every bot's counters
    // reach the swarm's before measuring.
    let warm_until = Instant::now() + WARM_UP;
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(warm_until) => break,
            _ = poll.tick() => on_tick(),
        }
    }
}

/// Refuses an inputs-per-message setting outside what one message may carry.
pub(crate) fn check_inputs_per_message(n: u32) -> Result<(), SwarmError> {
    if n == 0 || n as usize > tickwire_protocol::message::MAX_INPUTS_PER_BATCH {
        return Err(SwarmError::Config(
            "inputs-per-message must be from 1 to the protocol's batch limit",
        ));
    }
    Ok(())
}

/// Reads the server's figures, or says once (at `warn`) why it cannot.
pub(crate) async fn sample_or_warn(probe: &ServerProbe) -> Option<ServerSample> {
    match probe.sample().await {
        Ok(s) => Some(s),
        Err(err) => {
            tracing::warn!(url = probe.url(), cause = %err, "no server figures");
            None
        }
    }
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
    if !(0.0..=1.0).contains(&config.reconnect_chance) {
        return Err(SwarmError::Config("reconnect-chance must be from 0 to 1"));
    }
    check_inputs_per_message(config.inputs_per_message)?;
    let target = Target::resolve(&config.url).await?;
    let probe = ServerProbe::new(&target);
    let spec = FleetSpec {
        behavior: config.behavior,
        name_prefix: config.name_prefix.clone(),
        seed: config.seed,
        token_secret: config.token_secret.clone(),
        token_expiry: FleetSpec::token_expiry_after(config.seconds),
        reconnect_chance: config.reconnect_chance,
        inputs_per_message: config.inputs_per_message,
    };
    let stalled_spec = FleetSpec {
        behavior: Behavior::Stall,
        name_prefix: format!("{}stall", config.name_prefix),
        seed: config.seed.wrapping_add(STALL_SEED_OFFSET),
        ..spec.clone()
    };
    let shards = Arc::new(Shards::start(config.threads).map_err(SwarmError::Threads)?);
    let mut bots = Fleet::new(target.clone(), spec, shards.clone());
    let mut stalled = Fleet::new(target, stalled_spec, shards);
    let stats = bots.stats().clone();
    let stalled_stats = stalled.stats().clone();
    let started = Instant::now();
    let mut meter = Meter::new(started, stats.snapshot());
    let mut tick = |phase| meter.maybe_report(&stats, &stalled_stats, phase, &mut on_progress);

    // Ramp-up: the normal bots, then the stalled ones.
    bots.ramp_to(config.bots, config.ramp_per_sec, || tick(Phase::RampUp))
        .await;
    stalled
        .ramp_to(config.stall, config.ramp_per_sec, || tick(Phase::RampUp))
        .await;
    settle(&[&stats, &stalled_stats], || tick(Phase::RampUp)).await;

    // The steady period.
    let server_start = sample_or_warn(&probe).await;
    let own_cpu = CpuMark::now();
    let steady_start = stats.snapshot();
    let steady_from = Instant::now();
    let steady_until = steady_from + Duration::from_secs_f64(config.seconds);
    let mut progress = tokio::time::interval_at(steady_from + PROGRESS_INTERVAL, PROGRESS_INTERVAL);
    progress.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(steady_until) => break,
            _ = progress.tick() => meter.report(&stats, &stalled_stats, Phase::Steady, &mut on_progress),
        }
    }
    let steady_end = stats.snapshot();
    let steady_seconds = steady_from.elapsed().as_secs_f64();
    let bots_cpu_percent = own_cpu.percent_since();
    let bots_rss_bytes = crate::own_cpu::resident_bytes();
    let server_end = match server_start {
        Some(_) => sample_or_warn(&probe).await,
        None => None,
    };

    bots.stop().await;
    stalled.stop().await;
    let last = stats.snapshot();

    let info = RunInfo {
        url: config.url,
        behavior: config.behavior,
        bots: config.bots as u64,
        inputs_per_message: config.inputs_per_message,
        steady_seconds,
    };
    let mut report = Report::build(info, &steady_start, &steady_end, &last);
    report.set_bots_cpu(
        bots_cpu_percent,
        steady_end.counts_since(&steady_start).snapshots,
    );
    report.bots_rss_bytes = bots_rss_bytes;
    report.server = server_start
        .zip(server_end)
        .map(|(a, b)| ServerFigures::between(&a, &b));
    if config.stall > 0 {
        report.stalled = Some(Stalled::from_stats(
            config.stall as u64,
            &stalled_stats.snapshot(),
        ));
    }
    Ok(report)
}

/// Turns counter snapshots into progress lines.
pub(crate) struct Meter {
    started: Instant,
    last_at: Instant,
    last: StatsSnapshot,
}

impl Meter {
    pub fn new(started: Instant, first: StatsSnapshot) -> Self {
        Self {
            started,
            last_at: started,
            last: first,
        }
    }

    fn maybe_report(
        &mut self,
        stats: &SwarmStats,
        stalled: &SwarmStats,
        phase: Phase,
        f: &mut impl FnMut(&Progress),
    ) {
        if self.since_mark() >= PROGRESS_INTERVAL {
            self.report(stats, stalled, phase, f);
        }
    }

    fn report(
        &mut self,
        stats: &SwarmStats,
        stalled: &SwarmStats,
        phase: Phase,
        f: &mut impl FnMut(&Progress),
    ) {
        let (snap, progress) = self.progress(stats, phase);
        f(&Progress {
            stalled: stalled.connected_now(),
            ..progress
        });
        self.last = snap;
        self.last_at = Instant::now();
    }

    /// The progress since the last call, with the counters read for it.
    pub fn progress(&self, stats: &SwarmStats, phase: Phase) -> (StatsSnapshot, Progress) {
        let now = Instant::now();
        let snap = stats.snapshot();
        let dt = now.duration_since(self.last_at).as_secs_f64().max(1e-3);
        let d = snap.counts_since(&self.last);
        let p = Progress {
            phase,
            elapsed: now.duration_since(self.started),
            launched: snap.launched,
            connected: snap.connected_now,
            disconnected: snap.disconnected,
            snapshots_per_sec: d.snapshots as f64 / dt,
            down_kb_per_sec: d.down_bytes as f64 / dt / 1000.0,
            ack_p99_ms: stats.ack_p99_ms(),
            errors: snap.counts.desyncs + snap.counts.decode_errors,
            stalled: 0,
        };
        (snap, p)
    }

    /// Time since the last progress line.
    pub fn since_mark(&self) -> Duration {
        self.last_at.elapsed()
    }

    /// Starts the next interval at `snap`.
    pub fn mark(&mut self, snap: StatsSnapshot) {
        self.last = snap;
        self.last_at = Instant::now();
    }
}
