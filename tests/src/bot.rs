//! One bot: a [`Connection`] played by a [`Mind`], counting what it sees,
//! until it is stopped or the connection ends.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tickwire_protocol::message::MAX_INPUTS_PER_BATCH;
use tickwire_protocol::session::{SessionConfig, SessionEvent};
use tokio::sync::watch;
use tokio::time::{Instant, Interval, MissedTickBehavior};

use crate::behavior::{Behavior, Mind};
use crate::connection::{Connection, Wake};
use crate::counters::BotCounters;
use crate::error::BotError;
use crate::stats::SwarmStats;
use crate::target::Target;

/// Inputs per message, and so per wake-up of a bot's input timer: a bot
/// wakes at half the tick rate (30 Hz at 60 Hz) and sends two ticks' inputs.
pub const INPUTS_PER_WAKE: u32 = 2;
/// Inputs awaiting acknowledgement that a bot remembers send times for.
const MAX_UNACKED: usize = 256;
/// How often a bot adds its counters to the swarm's.
const STATS_FLUSH_INTERVAL: Duration = Duration::from_millis(250);
/// Close code a bot sends when it stops by itself.
const CLOSE_NORMAL: u16 = 1000;
/// Close code a bot sends when the server's messages make no sense.
const CLOSE_INVALID_DATA: u16 = 1007;

/// How to run one bot.
#[derive(Debug, Clone)]
pub struct BotConfig {
    /// Name sent in `Hello`.
    pub name: String,
    /// What the bot does.
    pub behavior: Behavior,
    /// Seed of the bot's random choices.
    pub seed: u64,
    /// Stop by itself after applying this many snapshots (tests); `None` runs until stopped.
    pub max_snapshots: Option<u64>,
    /// Signed join token, for servers that require one.
    pub auth_token: Option<String>,
}

impl BotConfig {
    /// A bot called `name` running `behavior`.
    pub fn new(name: impl Into<String>, behavior: Behavior) -> Self {
        Self {
            name: name.into(),
            behavior,
            seed: 0,
            max_snapshots: None,
            auth_token: None,
        }
    }

    /// The session configuration bots use: no interpolation, two inputs per message.
    pub fn session_config(&self) -> SessionConfig {
        SessionConfig {
            interpolate: false,
            inputs_per_message: INPUTS_PER_WAKE as usize,
            auth_token: self.auth_token.clone(),
            ..SessionConfig::new(self.name.clone())
        }
    }
}

/// How a bot's run ended.
#[derive(Debug)]
pub enum BotEnd {
    /// It was told to stop and closed its connection.
    Stopped,
    /// It reached [`BotConfig::max_snapshots`] and closed its connection.
    Done,
    /// The connection could not be made.
    ConnectFailed(BotError),
    /// The connection ended, or broke, without the bot ending it.
    Lost(BotError),
}

/// What one bot did.
#[derive(Debug)]
pub struct BotOutcome {
    /// Whether the server welcomed it.
    pub welcomed: bool,
    /// How it ended.
    pub end: BotEnd,
    /// Its counters (latency samples are in the swarm's histograms).
    pub counters: BotCounters,
}

/// Runs one bot against `target` until `stop` turns true, the connection
/// ends, or it has seen [`BotConfig::max_snapshots`]. Its counters are added
/// to `stats` as it goes.
pub async fn run_bot(
    target: &Target,
    config: BotConfig,
    stats: Arc<SwarmStats>,
    mut stop: watch::Receiver<bool>,
) -> BotOutcome {
    stats.on_launch();
    let mut bot = match Connection::connect(target, config.session_config()).await {
        Ok(conn) => Bot::new(conn, config),
        Err(err) => {
            stats.on_connect_failure(&err.summary());
            return BotOutcome {
                welcomed: false,
                end: BotEnd::ConnectFailed(err),
                counters: BotCounters::new(),
            };
        }
    };
    let end = bot.run(&stats, &mut stop).await;
    bot.counters.flush_into(&stats);
    let lost = match &end {
        BotEnd::Lost(err) => Some(err.summary()),
        _ => None,
    };
    stats.on_end(bot.mind.is_some(), lost.as_deref());
    BotOutcome {
        welcomed: bot.mind.is_some(),
        end,
        counters: bot.counters,
    }
}

/// The running state of one connected bot.
struct Bot {
    conn: Connection,
    config: BotConfig,
    /// Set at the `Welcome`.
    mind: Option<Mind>,
    /// The input timer, for behaviours that send inputs, from the `Welcome` on.
    ticker: Option<Interval>,
    tick_rate: u32,
    /// When the first input tick began (the `Welcome`).
    ticks_origin: Instant,
    /// Simulation ticks accounted for since `ticks_origin` (inputs sent or skipped).
    ticks_done: u64,
    /// (sequence, send time) of inputs not yet acknowledged, oldest first.
    unacked: VecDeque<(u32, Duration)>,
    counters: BotCounters,
    next_stats_flush: Instant,
}

impl Bot {
    fn new(conn: Connection, config: BotConfig) -> Self {
        Self {
            conn,
            config,
            mind: None,
            ticker: None,
            tick_rate: 0,
            ticks_origin: Instant::now(),
            ticks_done: 0,
            unacked: VecDeque::with_capacity(MAX_UNACKED),
            counters: BotCounters::new(),
            next_stats_flush: Instant::now() + STATS_FLUSH_INTERVAL,
        }
    }

    async fn run(&mut self, stats: &SwarmStats, stop: &mut watch::Receiver<bool>) -> BotEnd {
        if *stop.borrow_and_update() {
            self.conn_close(CLOSE_NORMAL, "bot stopped").await;
            return BotEnd::Stopped;
        }
        if let Err(err) = self.conn.flush().await {
            return BotEnd::Lost(err);
        }
        loop {
            let reading = self.mind.is_none() || self.config.behavior.reads_socket();
            // A bot that sends inputs writes once per input wake-up: what a
            // message makes the session send (a standalone ack, redundant
            // next to the inputs' own ack) waits for it, halving its writes.
            let mut write_now = true;
            tokio::select! {
                biased;
                _ = stop.changed() => {
                    self.conn_close(CLOSE_NORMAL, "bot stopped").await;
                    return BotEnd::Stopped;
                }
                r = self.conn.recv(), if reading => match r {
                    Ok(Wake::Message) => write_now = self.ticker.is_none(),
                    Ok(Wake::Timer) => {}
                    Err(err) => {
                        if matches!(err, BotError::Session(_)) {
                            self.counters.counts.decode_errors += 1;
                            self.conn_close(CLOSE_INVALID_DATA, "undecodable message").await;
                        }
                        return BotEnd::Lost(err);
                    }
                },
                () = next_tick(&mut self.ticker) => self.push_inputs(),
            }
            if let Err(err) = self.drain_events(stats) {
                self.conn_close(CLOSE_NORMAL, "bot cannot proceed").await;
                return BotEnd::Lost(err);
            }
            if write_now && let Err(err) = self.conn.flush().await {
                return BotEnd::Lost(err);
            }
            self.count_traffic();
            let now = Instant::now();
            if now >= self.next_stats_flush || self.counters.wants_flush() {
                self.counters.flush_into(stats);
                self.next_stats_flush = now + STATS_FLUSH_INTERVAL;
            }
            if self
                .config
                .max_snapshots
                .is_some_and(|max| self.counters.counts.snapshots >= max)
            {
                self.conn_close(CLOSE_NORMAL, "bot done").await;
                return BotEnd::Done;
            }
        }
    }

    /// Closes the connection; the bot is over after this.
    async fn conn_close(&mut self, code: u16, reason: &str) {
        self.conn.close(code, reason).await;
        self.count_traffic();
    }

    fn count_traffic(&mut self) {
        let t = self.conn.traffic();
        self.counters.counts.down_bytes = t.down_bytes;
        self.counters.counts.up_bytes = t.up_bytes;
    }

    /// Handles the session's events; an error if the session cannot go on.
    fn drain_events(&mut self, stats: &SwarmStats) -> Result<(), BotError> {
        while let Some(event) = self.conn.poll_event() {
            match event {
                SessionEvent::Welcomed(w) => {
                    if self.mind.is_some() {
                        continue;
                    }
                    stats.on_welcome();
                    self.mind = Some(Mind::new(self.config.behavior, &w, self.config.seed));
                    self.tick_rate = u32::from(w.tick_rate.max(1));
                    if self.config.behavior.sends_inputs() {
                        let period = Duration::from_secs_f64(
                            f64::from(INPUTS_PER_WAKE) / f64::from(self.tick_rate),
                        );
                        let mut ticker = tokio::time::interval(period);
                        ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
                        self.ticker = Some(ticker);
                        self.ticks_origin = Instant::now();
                    }
                }
                SessionEvent::Snapshot {
                    stats: delta,
                    bytes,
                    last_input_seq,
                    full,
                    ..
                } => {
                    let c = &mut self.counters.counts;
                    c.snapshots += 1;
                    c.full_snapshots += u64::from(full);
                    c.delta_bytes += bytes as u64;
                    c.entity_updates += u64::from(delta.updates());
                    self.on_acked(last_input_seq);
                }
                SessionEvent::Desync(err) => {
                    self.counters.counts.desyncs += 1;
                    tracing::warn!(bot = %self.config.name, cause = %err, "desync");
                }
                SessionEvent::Rtt(ms) => self.counters.rtt_us((ms * 1000.0) as u64),
                SessionEvent::Notice(n) => {
                    self.counters.counts.notices += 1;
                    tracing::debug!(bot = %self.config.name, code = ?n.code, message = %n.message, "notice");
                }
                SessionEvent::Leaderboard(_) => {}
                SessionEvent::LocalError(err) => return Err(BotError::Local(err)),
            }
        }
        Ok(())
    }

    /// Records ack latency for every input up to `last_seq`.
    fn on_acked(&mut self, last_seq: u32) {
        if self.unacked.is_empty() {
            return;
        }
        let now = self.conn.now();
        while let Some(&(seq, sent)) = self.unacked.front() {
            if seq.wrapping_sub(last_seq) as i32 > 0 {
                break;
            }
            self.unacked.pop_front();
            self.counters
                .ack_latency_us(now.saturating_sub(sent).as_micros() as u64);
        }
    }

    /// Pushes one input per simulation tick due since the last wake-up
    /// (skipping ticks if the bot fell far behind), then sends them.
    fn push_inputs(&mut self) {
        let Some(mind) = self.mind.as_mut() else {
            return;
        };
        let elapsed = self.ticks_origin.elapsed();
        let due_total = (elapsed.as_secs_f64() * f64::from(self.tick_rate)) as u64 + 1;
        let due = due_total.saturating_sub(self.ticks_done);
        self.ticks_done = self.ticks_done.max(due_total);
        let frames = due.min(MAX_INPUTS_PER_BATCH as u64);
        let now = self.conn.now();
        for _ in 0..frames {
            let frame = mind.next_input(self.conn.session());
            let Some(seq) = self.conn.push_input(frame) else {
                return;
            };
            if self.unacked.len() == MAX_UNACKED {
                self.unacked.pop_front();
            }
            self.unacked.push_back((seq, now));
            self.counters.counts.inputs += 1;
        }
        self.conn.session_mut().flush_inputs();
    }
}

/// Waits for the next tick of an optional timer; never, without one.
async fn next_tick(ticker: &mut Option<Interval>) {
    match ticker {
        Some(t) => {
            t.tick().await;
        }
        None => std::future::pending().await,
    }
}
