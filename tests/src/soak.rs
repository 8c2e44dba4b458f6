//! A soak run: bots join, play a short while and leave (some with a clean
//! close, some by dropping the connection), over and over with about
//! `concurrency` connected at once, for a while or for a number of joins.
//! Then, once the server has had time to settle, a check that it let go of
//! every session and every player it held, read from `/metrics` and `/rooms`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use thiserror::Error;
use tickwire_protocol::message::Welcome;
use tickwire_protocol::session::SessionEvent;
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};

use crate::behavior::{Behavior, Mind, inputs_due};
use crate::bot::BotConfig;
use crate::connection::Connection;
use crate::error::BotError;
use crate::report::mib;
use crate::scrape::{self, ScrapeError};
use crate::target::Target;

/// How often progress is reported.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(1);
/// Longest a bot may take to connect and be welcomed.
const WELCOME_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the server is asked whether it has settled.
const SETTLE_POLL: Duration = Duration::from_millis(250);
/// Extra time bots get to finish once launching has stopped, beyond their play time.
const DRAIN_SLACK: Duration = Duration::from_secs(15);
/// Seconds a minted join token outlives the planned run.
const TOKEN_SLACK_SECS: u64 = 3600;
/// Close code a bot leaving on purpose sends.
const CLOSE_NORMAL: u16 = 1000;

/// What a soak run does.
#[derive(Debug, Clone)]
pub struct SoakConfig {
    /// The server's WebSocket URL, e.g. `ws://127.0.0.1:8080/ws`; `/metrics`
    /// and `/rooms` are read from the same host and port.
    pub url: String,
    /// Launch bots for this long, seconds.
    pub seconds: f64,
    /// Bots connected (or connecting) at once.
    pub concurrency: usize,
    /// Stop launching after this many bots, even before `seconds`.
    pub joins: Option<u64>,
    /// Share of bots that leave by dropping their connection (no close frame)
    /// rather than with a clean close. Dropped players stay in the world for
    /// the server's resume window.
    pub drop_fraction: f64,
    /// Shortest time a bot plays after its `Welcome`.
    pub min_play: Duration,
    /// Longest time a bot plays after its `Welcome`.
    pub max_play: Duration,
    /// Time the server gets to settle at the end, beyond its resume window
    /// (as announced in `Welcome`), before leaks are counted.
    pub settle_margin: Duration,
    /// What the bots do while they play.
    pub behavior: Behavior,
    /// Bot names are this prefix followed by the bot's number.
    pub name_prefix: String,
    /// Seed of the run's random choices (play times, who drops, bots' moves).
    pub seed: u64,
    /// The server's join-token secret, when it requires tokens.
    pub token_secret: Option<Vec<u8>>,
}

impl Default for SoakConfig {
    fn default() -> Self {
        Self {
            url: "ws://127.0.0.1:8080/ws".into(),
            seconds: 60.0,
            concurrency: 50,
            joins: None,
            drop_fraction: 0.5,
            min_play: Duration::from_millis(500),
            max_play: Duration::from_secs(5),
            settle_margin: Duration::from_secs(3),
            behavior: Behavior::Wander,
            name_prefix: "soak".into(),
            seed: 1,
            token_secret: None,
        }
    }
}

/// Why a soak could not run.
#[derive(Debug, Error)]
pub enum SoakError {
    /// The URL is unusable.
    #[error(transparent)]
    Target(#[from] BotError),
    /// `/metrics` or `/rooms` could not be read.
    #[error("cannot read the server's figures")]
    Scrape(#[from] ScrapeError),
    /// A setting is out of range.
    #[error("invalid setting: {0}")]
    Config(&'static str),
}

/// A progress line, about once a second.
#[derive(Debug, Clone, Copy)]
pub struct SoakProgress {
    /// Time since the run started.
    pub elapsed: Duration,
    /// Whether bots are still being launched (false while the last ones finish).
    pub launching: bool,
    /// Bots launched so far.
    pub launched: u64,
    /// Bots the server welcomed so far.
    pub joins: u64,
    /// Bots connected now.
    pub connected: u64,
    /// Deltas that did not apply, so far.
    pub desyncs: u64,
    /// Bots that failed (could not connect or join, or lost their connection), so far.
    pub errors: u64,
}

/// The result of a soak run.
#[derive(Debug, Clone, Serialize)]
pub struct SoakReport {
    /// The endpoint.
    pub url: String,
    /// Seconds from the first bot to the last one leaving.
    pub run_seconds: f64,
    /// Bots connected at once.
    pub concurrency: usize,
    /// Bots launched.
    pub launched: u64,
    /// Bots the server welcomed.
    pub joins: u64,
    /// Bots that left with a clean close.
    pub left_clean: u64,
    /// Bots that left by dropping their connection.
    pub left_dropped: u64,
    /// Bots that failed: could not connect or join, or lost their connection.
    pub errors: u64,
    /// Failures by reason.
    pub error_reasons: BTreeMap<String, u64>,
    /// Deltas that did not apply (summed over bots).
    pub desyncs: u64,
    /// Deltas applied (summed over bots).
    pub snapshots: u64,
    /// The server's resume window, as its `Welcome` announced it, seconds.
    pub resume_window_secs: f64,
    /// How long the run waited at the end for the server to settle, seconds.
    pub settle_seconds: f64,
    /// `tickwire_players_connected` after settling: sessions the server still holds.
    pub leaked_sessions: i64,
    /// Players in `/rooms` after settling: player entities the server still holds.
    pub leaked_players: u64,
    /// Rooms still open after settling (empty rooms close after their grace period).
    pub rooms_open: usize,
    /// Server resident memory before the first bot, bytes.
    pub rss_start_bytes: u64,
    /// Server resident memory after settling, bytes.
    pub rss_end_bytes: u64,
    /// `tickwire_disconnects_total` by reason, counted during the run.
    pub server_disconnects: BTreeMap<String, u64>,
}

impl SoakReport {
    /// No leaked session or player, and no desync.
    pub fn is_clean(&self) -> bool {
        self.leaked_sessions == 0 && self.leaked_players == 0 && self.desyncs == 0
    }
}

impl fmt::Display for SoakReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = |ok: bool| if ok { "ok" } else { "LEAK" };
        writeln!(f, "soak against {}", self.url)?;
        writeln!(f, "  {:<28} {:.1} s", "bots ran for", self.run_seconds)?;
        writeln!(f, "  {:<28} {}", "concurrency", self.concurrency)?;
        writeln!(f, "  {:<28} {}", "bots launched", self.launched)?;
        writeln!(f, "  {:<28} {}", "joins (welcomed)", self.joins)?;
        writeln!(f, "  {:<28} {}", "left with a clean close", self.left_clean)?;
        writeln!(f, "  {:<28} {}", "left by dropping", self.left_dropped)?;
        writeln!(f, "  {:<28} {}", "snapshots applied", self.snapshots)?;
        writeln!(f, "  {:<28} {}", "desyncs", self.desyncs)?;
        writeln!(f, "  {:<28} {}", "errors", self.errors)?;
        for (reason, n) in &self.error_reasons {
            writeln!(f, "    {n:>8}  {reason}")?;
        }
        writeln!(
            f,
            "  {:<28} {:.1} s (resume window {:.1} s)",
            "settled for", self.settle_seconds, self.resume_window_secs
        )?;
        writeln!(
            f,
            "  {:<28} {} ({})",
            "leaked sessions",
            self.leaked_sessions,
            verdict(self.leaked_sessions == 0)
        )?;
        writeln!(
            f,
            "  {:<28} {} ({})",
            "leaked players",
            self.leaked_players,
            verdict(self.leaked_players == 0)
        )?;
        writeln!(f, "  {:<28} {}", "rooms still open", self.rooms_open)?;
        writeln!(
            f,
            "  {:<28} {:.1} MiB -> {:.1} MiB ({:+.1} MiB)",
            "server RSS",
            mib(self.rss_start_bytes),
            mib(self.rss_end_bytes),
            mib(self.rss_end_bytes) - mib(self.rss_start_bytes)
        )?;
        writeln!(f, "  server disconnects by reason:")?;
        for (reason, n) in &self.server_disconnects {
            writeln!(f, "    {n:>8}  {reason}")?;
        }
        Ok(())
    }
}

/// Counters shared by the run's bots.
#[derive(Debug, Default)]
struct Live {
    launched: AtomicU64,
    joins: AtomicU64,
    connected: AtomicU64,
    left_clean: AtomicU64,
    left_dropped: AtomicU64,
    desyncs: AtomicU64,
    snapshots: AtomicU64,
    errors: AtomicU64,
    /// Longest resume window a `Welcome` announced, ms.
    resume_window_ms: AtomicU64,
    reasons: Mutex<BTreeMap<String, u64>>,
}

impl Live {
    fn fail(&self, reason: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        *self
            .reasons
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(reason)
            .or_default() += 1;
    }

    fn progress(&self, elapsed: Duration, launching: bool) -> SoakProgress {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        SoakProgress {
            elapsed,
            launching,
            launched: get(&self.launched),
            joins: get(&self.joins),
            connected: get(&self.connected),
            desyncs: get(&self.desyncs),
            errors: get(&self.errors),
        }
    }
}

/// Counts a bot as connected while it lives.
struct Connected<'a>(&'a Live);

impl<'a> Connected<'a> {
    fn new(live: &'a Live) -> Self {
        live.connected.fetch_add(1, Ordering::Relaxed);
        Self(live)
    }
}

impl Drop for Connected<'_> {
    fn drop(&mut self) {
        self.0.connected.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What one bot of the run does.
#[derive(Debug, Clone)]
struct Plan {
    bot: BotConfig,
    play: Duration,
    drop: bool,
}

/// Runs a soak to the end and reports. `on_progress` is called about once a second.
pub async fn run_soak(
    config: SoakConfig,
    mut on_progress: impl FnMut(&SoakProgress),
) -> Result<SoakReport, SoakError> {
    if config.concurrency == 0 {
        return Err(SoakError::Config("concurrency must be at least 1"));
    }
    if !config.seconds.is_finite() || config.seconds < 0.0 {
        return Err(SoakError::Config("seconds must not be negative"));
    }
    if !(0.0..=1.0).contains(&config.drop_fraction) {
        return Err(SoakError::Config("drop-fraction must be between 0 and 1"));
    }
    if config.min_play > config.max_play {
        return Err(SoakError::Config("min-play must not exceed max-play"));
    }
    let target = Target::resolve(&config.url).await?;
    let before = scrape::metrics(target.addr()).await?;
    let live = Arc::new(Live::default());
    let mut rng = SmallRng::seed_from_u64(config.seed);
    let token_expiry = tickwire_server::auth::unix_now() + config.seconds as u64 + TOKEN_SLACK_SECS;

    let started = Instant::now();
    let launch_until = started + Duration::from_secs_f64(config.seconds);
    let mut progress = tokio::time::interval_at(started + PROGRESS_INTERVAL, PROGRESS_INTERVAL);
    progress.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut bots = JoinSet::new();
    let mut launched = 0u64;
    let mut launching = true;
    // Once launching stops, the last bots get their play time and some slack to finish.
    let mut drain_deadline: Option<Instant> = None;
    let mut aborted = false;
    loop {
        if launching
            && (Instant::now() >= launch_until || config.joins.is_some_and(|n| launched >= n))
        {
            launching = false;
            drain_deadline = Some(Instant::now() + config.max_play + WELCOME_TIMEOUT + DRAIN_SLACK);
        }
        while launching && bots.len() < config.concurrency {
            let name = format!("{}{launched}", config.name_prefix);
            let bot = BotConfig {
                seed: config.seed.wrapping_add(launched),
                auth_token: config
                    .token_secret
                    .as_deref()
                    .map(|secret| tickwire_server::auth::mint(secret, &name, token_expiry)),
                ..BotConfig::new(name, config.behavior)
            };
            let plan = Plan {
                bot,
                play: rng.random_range(config.min_play..=config.max_play),
                drop: rng.random_bool(config.drop_fraction),
            };
            live.launched.fetch_add(1, Ordering::Relaxed);
            bots.spawn(soak_bot(target.clone(), plan, live.clone()));
            launched += 1;
            if config.joins.is_some_and(|n| launched >= n) {
                break;
            }
        }
        if !launching && bots.is_empty() {
            break;
        }
        tokio::select! {
            joined = bots.join_next() => {
                if let Some(Err(err)) = joined
                    && err.is_panic()
                {
                    live.fail("bot task panicked".into());
                }
            }
            _ = progress.tick() => on_progress(&live.progress(started.elapsed(), launching)),
            () = tokio::time::sleep_until(launch_until), if launching => {}
            () = tokio::time::sleep_until(drain_deadline.unwrap_or(launch_until)), if drain_deadline.is_some() => {
                let stuck = bots.len();
                aborted = stuck > 0;
                bots.abort_all();
                while bots.join_next().await.is_some() {}
                for _ in 0..stuck {
                    live.fail("bot still running at the end (aborted)".into());
                }
                break;
            }
        }
    }
    let run_seconds = started.elapsed().as_secs_f64();
    on_progress(&live.progress(started.elapsed(), false));

    // Let the server settle: dropped players stay for the resume window.
    let resume_window = Duration::from_millis(live.resume_window_ms.load(Ordering::Relaxed));
    // Aborted bots dropped their connections too.
    let dropped = aborted || live.left_dropped.load(Ordering::Relaxed) > 0;
    let settle_from = Instant::now();
    let settle_until = settle_from
        + config.settle_margin
        + if dropped {
            resume_window
        } else {
            Duration::ZERO
        };
    let mut poll = tokio::time::interval(SETTLE_POLL);
    let (after, rooms) = loop {
        poll.tick().await;
        let after = scrape::metrics(target.addr()).await?;
        let rooms = scrape::rooms(target.addr()).await?;
        let settled = after.value("tickwire_players_connected") == 0.0
            && rooms.iter().all(|r| r.players == 0);
        if settled || Instant::now() >= settle_until {
            break (after, rooms);
        }
    };
    let settle_seconds = settle_from.elapsed().as_secs_f64();

    let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let rss = "tickwire_process_resident_memory_bytes";
    let earlier = before.disconnects();
    let server_disconnects = after
        .disconnects()
        .into_iter()
        .map(|(reason, n)| {
            let since = n - earlier.get(&reason).copied().unwrap_or(0.0);
            (reason, since.max(0.0) as u64)
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    let error_reasons = live
        .reasons
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    Ok(SoakReport {
        url: config.url,
        run_seconds,
        concurrency: config.concurrency,
        launched: get(&live.launched),
        joins: get(&live.joins),
        left_clean: get(&live.left_clean),
        left_dropped: get(&live.left_dropped),
        errors: get(&live.errors),
        error_reasons,
        desyncs: get(&live.desyncs),
        snapshots: get(&live.snapshots),
        resume_window_secs: resume_window.as_secs_f64(),
        settle_seconds,
        leaked_sessions: after.value("tickwire_players_connected") as i64,
        leaked_players: rooms.iter().map(|r| r.players as u64).sum(),
        rooms_open: rooms.len(),
        rss_start_bytes: before.value(rss) as u64,
        rss_end_bytes: after.value(rss) as u64,
        server_disconnects,
    })
}

/// One bot: connects, plays for its planned time, then leaves as planned.
/// Failures are counted in `live`.
async fn soak_bot(target: Target, plan: Plan, live: Arc<Live>) {
    if let Err(reason) = play(&target, plan, &live).await {
        live.fail(reason);
    }
}

async fn play(target: &Target, plan: Plan, live: &Live) -> Result<(), String> {
    let joining = async {
        let mut conn = Connection::connect(target, plan.bot.session_config()).await?;
        conn.flush().await?;
        loop {
            conn.recv().await?;
            conn.flush().await?;
            while let Some(event) = conn.poll_event() {
                match event {
                    SessionEvent::Welcomed(w) => return Ok((conn, w)),
                    SessionEvent::Notice(n) => {
                        return Err(BotError::Local(format!("refused: {:?}", n.code)));
                    }
                    _ => {}
                }
            }
        }
    };
    let (mut conn, welcome): (Connection, Welcome) =
        match tokio::time::timeout(WELCOME_TIMEOUT, joining).await {
            Ok(Ok(joined)) => joined,
            Ok(Err(err)) => return Err(format!("join: {}", err.summary())),
            Err(_) => return Err(format!("join: no Welcome within {WELCOME_TIMEOUT:?}")),
        };
    live.joins.fetch_add(1, Ordering::Relaxed);
    live.resume_window_ms
        .fetch_max(u64::from(welcome.resume_window_ms), Ordering::Relaxed);
    let _connected = Connected::new(live);

    let mut mind = Mind::new(plan.bot.behavior, &welcome, plan.bot.seed);
    let tick_rate = f64::from(welcome.tick_rate.max(1));
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(
        f64::from(plan.bot.inputs_per_wake()) / tick_rate,
    ));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let sends_inputs = plan.bot.behavior.sends_inputs();
    let origin = Instant::now();
    let leave_at = origin + plan.play;
    let mut ticks_done = 0u64;
    let played: Result<(), BotError> = async {
        loop {
            tokio::select! {
                biased;
                () = tokio::time::sleep_until(leave_at) => return Ok(()),
                r = conn.recv() => {
                    r?;
                    while let Some(event) = conn.poll_event() {
                        match event {
                            SessionEvent::Snapshot { .. } => {
                                live.snapshots.fetch_add(1, Ordering::Relaxed);
                            }
                            SessionEvent::Desync(err) => {
                                live.desyncs.fetch_add(1, Ordering::Relaxed);
                                tracing::warn!(bot = %plan.bot.name, cause = %err, "desync");
                            }
                            SessionEvent::LocalError(err) => return Err(BotError::Local(err)),
                            _ => {}
                        }
                    }
                    conn.flush().await?;
                }
                _ = ticker.tick(), if sends_inputs => {
                    let frames = inputs_due(origin.elapsed(), tick_rate, &mut ticks_done);
                    conn.send_inputs_from(&mut mind, frames).await?;
                }
            }
        }
    }
    .await;
    if let Err(err) = played {
        return Err(format!("play: {}", err.summary()));
    }
    if plan.drop {
        // No close frame: the server sees the connection end and keeps the
        // player for its resume window.
        drop(conn);
        live.left_dropped.fetch_add(1, Ordering::Relaxed);
    } else {
        conn.close(CLOSE_NORMAL, "soak: leaving").await;
        live.left_clean.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}
