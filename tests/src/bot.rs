//! One bot: a [`Connection`] played by a [`Mind`], counting what it sees,
//! until it is stopped or the connection ends. A `flaky` bot drops its
//! connection now and then and resumes its player on a new one.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tickwire_protocol::message::{MAX_INPUTS_PER_BATCH, NoticeCode, ResumeToken, Welcome};
use tickwire_protocol::session::{SessionConfig, SessionEvent};
use tokio::sync::watch;
use tokio::time::{Instant, Interval, MissedTickBehavior};

use crate::behavior::{Behavior, Mind, inputs_due};
use crate::connection::{Connection, Traffic, Wake};
use crate::counters::BotCounters;
use crate::error::BotError;
use crate::stats::SwarmStats;
use crate::target::Target;

/// Inputs per message unless set ([`BotConfig::inputs_per_message`]), and so
/// per wake-up of a bot's input timer: a bot wakes at a third of the tick
/// rate (20 Hz at 60 Hz) and sends three ticks' inputs.
pub const INPUTS_PER_WAKE: u32 = 3;
/// Chance per second that a `flaky` bot drops its connection, unless set.
pub const DEFAULT_RECONNECT_CHANCE: f64 = 0.05;
/// Time between a bot's round-trip pings (the session's default is 1 s).
pub const BOT_PING_INTERVAL: Duration = Duration::from_secs(5);
/// Inputs awaiting acknowledgement that a bot remembers send times for.
const MAX_UNACKED: usize = 256;
/// How often a bot adds its counters to the swarm's.
const STATS_FLUSH_INTERVAL: Duration = Duration::from_millis(250);
/// Close code a bot sends when it stops by itself.
const CLOSE_NORMAL: u16 = 1000;
/// Close code a bot sends when the server's messages make no sense.
const CLOSE_INVALID_DATA: u16 = 1007;
/// Mixed into a bot's seed for its connection-dropping dice, so that they
/// leave its behaviour's random choices as they are.
const DROP_SEED_SALT: u64 = 0x9e37_79b9_7f4a_7c15;
/// Mixed into a bot's seed for the offset of its input clock.
const INPUT_PHASE_SEED_SALT: u64 = 0xc2b2_ae3d_27d4_eb4f;

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
    /// For behaviours that drop their connection (`flaky`): the chance per
    /// second of dropping it (0 to 1).
    pub reconnect_chance: f64,
    /// Inputs sent per message (1 to `MAX_INPUTS_PER_BATCH`): the bot wakes
    /// this many simulation ticks apart to send them.
    pub inputs_per_message: u32,
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
            reconnect_chance: DEFAULT_RECONNECT_CHANCE,
            inputs_per_message: INPUTS_PER_WAKE,
        }
    }

    /// The inputs per message this bot sends, within what a batch may hold.
    pub fn inputs_per_wake(&self) -> u32 {
        self.inputs_per_message
            .clamp(1, MAX_INPUTS_PER_BATCH as u32)
    }

    /// The session configuration bots use: no interpolation,
    /// [`Self::inputs_per_message`] inputs per message.
    pub fn session_config(&self) -> SessionConfig {
        SessionConfig {
            interpolate: false,
            // Round-trip pings are for the report only: one every 5 s gives
            // thousands of samples per run at a twentieth of a message a second.
            ping_interval: BOT_PING_INTERVAL,
            inputs_per_message: self.inputs_per_wake() as usize,
            auth_token: self.auth_token.clone(),
            ..SessionConfig::new(self.name.clone())
        }
    }

    /// The session configuration of a reconnection that presents `resume`.
    pub fn session_config_resuming(&self, resume: Option<ResumeToken>) -> SessionConfig {
        SessionConfig {
            resume,
            ..self.session_config()
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
    /// The connection ended, or broke, without the bot ending it (or a
    /// reconnection could not be made).
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
/// to `stats` as it goes. A `flaky` bot reconnects after each drop, resuming
/// its player with the token from its last `Welcome` (or joining afresh if
/// the server refuses the token).
pub async fn run_bot(
    target: &Target,
    config: BotConfig,
    stats: Arc<SwarmStats>,
    mut stop: watch::Receiver<bool>,
) -> BotOutcome {
    stats.on_launch();
    let mut bot = Bot::new(config);
    let mut resume = None;
    let (end, connected) = loop {
        let session = bot.config.session_config_resuming(resume);
        let conn = match Connection::connect(target, session).await {
            Ok(conn) => conn,
            Err(err) if bot.ever_welcomed => break (BotEnd::Lost(err), false),
            Err(err) => {
                stats.on_connect_failure(&err.summary());
                return BotOutcome {
                    welcomed: false,
                    end: BotEnd::ConnectFailed(err),
                    counters: bot.counters,
                };
            }
        };
        let mut link = Link::new(conn, resume.is_some());
        let played = bot.play(&mut link, &stats, &mut stop).await;
        bot.end_link(&link);
        match played {
            Played::Over(end) => break (end, link.welcomed),
            Played::Dropped => {
                // Dropping the link closes the socket without a close frame.
                drop(link);
                stats.on_drop();
                bot.counters.counts.reconnects += 1;
                resume = bot.resume_token;
            }
            Played::ResumeRefused => {
                bot.counters.counts.resumes_refused += 1;
                resume = None;
            }
        }
    };
    bot.counters.flush_into(&stats);
    let lost = match &end {
        BotEnd::Lost(err) => Some(err.summary()),
        _ => None,
    };
    stats.on_end(connected, bot.ever_welcomed, lost.as_deref());
    BotOutcome {
        welcomed: bot.ever_welcomed,
        end,
        counters: bot.counters,
    }
}

/// How one connection of a bot ended.
#[derive(Debug)]
enum Played {
    /// The bot's run is over.
    Over(BotEnd),
    /// The bot dropped the connection on purpose, to reconnect.
    Dropped,
    /// The server refused the resume token before welcoming the bot.
    ResumeRefused,
}

/// What a bot keeps across its connections.
struct Bot {
    config: BotConfig,
    /// Set at the first `Welcome` (and again at a `Welcome` that is not a resume).
    mind: Option<Mind>,
    ever_welcomed: bool,
    /// The token from the last `Welcome`.
    resume_token: Option<ResumeToken>,
    /// Chance of dropping the connection at each input wake-up (0 unless flaky).
    drop_chance_per_wake: f64,
    /// The dice for dropping.
    rng: SmallRng,
    counters: BotCounters,
    /// Traffic of the bot's earlier connections.
    earlier_traffic: Traffic,
    next_stats_flush: Instant,
}

/// One connection of a bot, and what is only valid on it.
struct Link {
    conn: Connection,
    /// Whether this connection presents a resume token.
    resuming: bool,
    /// Whether the server welcomed this connection.
    welcomed: bool,
    /// Whether the server refused the resume token on it.
    resume_refused: bool,
    /// The input timer, for behaviours that send inputs, from the `Welcome` on.
    ticker: Option<Interval>,
    tick_rate: u32,
    /// When the first input tick began (the `Welcome`), on the session's clock.
    ticks_origin: Duration,
    /// Simulation ticks accounted for since `ticks_origin` (inputs sent or skipped).
    ticks_done: u64,
    /// (sequence, send time) of inputs not yet acknowledged, oldest first.
    unacked: VecDeque<(u32, Duration)>,
}

impl Link {
    fn new(conn: Connection, resuming: bool) -> Self {
        Self {
            conn,
            resuming,
            welcomed: false,
            resume_refused: false,
            ticker: None,
            tick_rate: 0,
            ticks_origin: Duration::ZERO,
            ticks_done: 0,
            // Grown as needed (a few dozen at most while connected): a ring of
            // MAX_UNACKED would cycle through 6 KiB per bot, in the cache the
            // server shares.
            unacked: VecDeque::new(),
        }
    }
}

impl Bot {
    fn new(config: BotConfig) -> Self {
        Self {
            rng: SmallRng::seed_from_u64(config.seed ^ DROP_SEED_SALT),
            config,
            mind: None,
            ever_welcomed: false,
            resume_token: None,
            drop_chance_per_wake: 0.0,
            counters: BotCounters::new(),
            earlier_traffic: Traffic::default(),
            next_stats_flush: Instant::now() + STATS_FLUSH_INTERVAL,
        }
    }

    /// Plays one connection until the bot's run is over or it drops the connection.
    async fn play(
        &mut self,
        link: &mut Link,
        stats: &SwarmStats,
        stop: &mut watch::Receiver<bool>,
    ) -> Played {
        if *stop.borrow_and_update() {
            self.close(link, CLOSE_NORMAL, "bot stopped").await;
            return Played::Over(BotEnd::Stopped);
        }
        if let Err(err) = link.conn.flush().await {
            return self.lost(link, err);
        }
        // One waiter on the stop signal for the whole connection: a new one
        // per wake-up would lock the channel's waiter list, which every bot
        // shares, twice per message.
        let stopped = stop.changed();
        tokio::pin!(stopped);
        loop {
            let reading = !link.welcomed || self.config.behavior.reads_socket();
            // With an input timer, the bot runs the session's timer (pings)
            // at its input wake-ups: one timer per bot instead of two.
            let own_timer = link.ticker.is_some();
            // A bot that sends inputs writes once per input wake-up: what a
            // message makes the session send (a standalone ack, redundant
            // next to the inputs' own ack) waits for it, halving its writes.
            let mut write_now = true;
            // The session's clock at this wake-up.
            let now;
            tokio::select! {
                biased;
                _ = &mut stopped => {
                    self.close(link, CLOSE_NORMAL, "bot stopped").await;
                    return Played::Over(BotEnd::Stopped);
                }
                r = recv(&mut link.conn, own_timer), if reading => match r {
                    Ok(Wake::Message) => {
                        write_now = !own_timer;
                        now = link.conn.last_message_at();
                    }
                    Ok(Wake::Timer) => now = link.conn.now(),
                    Err(err) => {
                        if matches!(err, BotError::Session(_)) {
                            self.counters.counts.decode_errors += 1;
                            self.close(link, CLOSE_INVALID_DATA, "undecodable message").await;
                        }
                        // The session may have queued events (a Notice) before the close.
                        let _ = self.drain_events(link, stats);
                        return self.lost(link, err);
                    }
                },
                () = next_tick(&mut link.ticker) => {
                    if self.rolls_a_drop() {
                        return Played::Dropped;
                    }
                    now = link.conn.now();
                    link.conn.run_timers(now);
                    self.push_inputs(link, now);
                }
            }
            if let Err(err) = self.drain_events(link, stats) {
                self.close(link, CLOSE_NORMAL, "bot cannot proceed").await;
                return Played::Over(BotEnd::Lost(err));
            }
            if write_now && let Err(err) = link.conn.flush().await {
                return self.lost(link, err);
            }
            self.count_traffic(link);
            let at = link.conn.instant_at(now);
            if at >= self.next_stats_flush || self.counters.wants_flush() {
                self.counters.flush_into(stats);
                self.next_stats_flush = at + STATS_FLUSH_INTERVAL;
            }
            if self
                .config
                .max_snapshots
                .is_some_and(|max| self.counters.counts.snapshots >= max)
            {
                self.close(link, CLOSE_NORMAL, "bot done").await;
                return Played::Over(BotEnd::Done);
            }
        }
    }

    /// The connection ended without the bot ending it.
    fn lost(&mut self, link: &Link, err: BotError) -> Played {
        if link.resume_refused && !link.welcomed {
            Played::ResumeRefused
        } else {
            Played::Over(BotEnd::Lost(err))
        }
    }

    /// Whether a flaky bot drops its connection at this input wake-up.
    fn rolls_a_drop(&mut self) -> bool {
        self.drop_chance_per_wake > 0.0 && self.rng.random_bool(self.drop_chance_per_wake)
    }

    /// Closes the connection; the link is over after this.
    async fn close(&mut self, link: &mut Link, code: u16, reason: &str) {
        link.conn.close(code, reason).await;
        self.count_traffic(link);
    }

    fn count_traffic(&mut self, link: &Link) {
        let t = link.conn.traffic();
        self.counters.counts.down_bytes = self.earlier_traffic.down_bytes + t.down_bytes;
        self.counters.counts.up_bytes = self.earlier_traffic.up_bytes + t.up_bytes;
    }

    /// Adds a finished link's traffic to the bot's earlier traffic.
    fn end_link(&mut self, link: &Link) {
        self.count_traffic(link);
        self.earlier_traffic.down_bytes = self.counters.counts.down_bytes;
        self.earlier_traffic.up_bytes = self.counters.counts.up_bytes;
    }

    fn on_welcome(&mut self, link: &mut Link, w: &Welcome, stats: &SwarmStats) {
        if link.welcomed {
            return;
        }
        link.welcomed = true;
        if self.ever_welcomed {
            stats.on_rewelcome();
        } else {
            stats.on_welcome(w.tick_rate);
            self.ever_welcomed = true;
        }
        if link.resuming && w.resumed {
            self.counters.counts.resumes_ok += 1;
        }
        self.resume_token = Some(w.resume_token);
        if self.mind.is_none() || !w.resumed {
            self.mind = Some(Mind::new(self.config.behavior, w, self.config.seed));
        }
        link.tick_rate = u32::from(w.tick_rate.max(1));
        if self.config.behavior.sends_inputs() {
            let wake = f64::from(self.config.inputs_per_wake()) / f64::from(link.tick_rate);
            // A real client's input clock has no relation to the server's
            // ticks. Starting every bot's at its Welcome, which a session
            // sends just after a tick, would lock them all to land just after
            // ticks (waiting a whole tick, and arriving together with the
            // deltas of that tick): each bot starts at its own offset instead.
            let offset = SmallRng::seed_from_u64(self.config.seed ^ INPUT_PHASE_SEED_SALT)
                .random_range(0.0..wake);
            let mut ticker = tokio::time::interval_at(
                Instant::now() + Duration::from_secs_f64(offset),
                Duration::from_secs_f64(wake),
            );
            ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
            link.ticker = Some(ticker);
            link.ticks_origin = link.conn.last_message_at();
            if self.config.behavior.drops_connection() {
                self.drop_chance_per_wake = chance_per_interval(self.config.reconnect_chance, wake);
            }
        }
    }

    /// Handles the session's events; an error if the session cannot go on.
    fn drain_events(&mut self, link: &mut Link, stats: &SwarmStats) -> Result<(), BotError> {
        while let Some(event) = link.conn.poll_event() {
            match event {
                SessionEvent::Welcomed(w) => self.on_welcome(link, &w, stats),
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
                    c.moving_updates += u64::from(delta.moving_updates());
                    self.on_acked(link, last_input_seq);
                }
                SessionEvent::Desync(err) => {
                    self.counters.counts.desyncs += 1;
                    tracing::warn!(bot = %self.config.name, cause = %err, "desync");
                }
                SessionEvent::Rtt(ms) => self.counters.rtt_us((ms * 1000.0) as u64),
                SessionEvent::Notice(n) => {
                    self.counters.counts.notices += 1;
                    if n.code == NoticeCode::ResumeRejected {
                        link.resume_refused = true;
                    }
                    tracing::debug!(bot = %self.config.name, code = ?n.code, message = %n.message, "notice");
                }
                SessionEvent::Leaderboard(_) => {}
                SessionEvent::LocalError(err) => return Err(BotError::Local(err)),
            }
        }
        Ok(())
    }

    /// Records ack latency for every input up to `last_seq`, acknowledged
    /// by the message just handled.
    fn on_acked(&mut self, link: &mut Link, last_seq: u32) {
        if link.unacked.is_empty() {
            return;
        }
        let now = link.conn.last_message_at();
        while let Some(&(seq, sent)) = link.unacked.front() {
            if seq.wrapping_sub(last_seq) as i32 > 0 {
                break;
            }
            link.unacked.pop_front();
            self.counters
                .ack_latency_us(now.saturating_sub(sent).as_micros() as u64);
        }
    }

    /// Pushes one input per simulation tick due at `now` since the last
    /// wake-up (skipping ticks if the bot fell far behind), then sends them.
    fn push_inputs(&mut self, link: &mut Link, now: Duration) {
        let Some(mind) = self.mind.as_mut() else {
            return;
        };
        let frames = inputs_due(
            now.saturating_sub(link.ticks_origin),
            f64::from(link.tick_rate),
            &mut link.ticks_done,
        );
        for _ in 0..frames {
            let frame = mind.next_input(link.conn.session());
            let Some(seq) = link.conn.push_input(frame) else {
                return;
            };
            if link.unacked.len() == MAX_UNACKED {
                link.unacked.pop_front();
            }
            link.unacked.push_back((seq, now));
            self.counters.counts.inputs += 1;
        }
        link.conn.session_mut().flush_inputs();
    }
}

/// The chance of at least one event in `seconds`, for events that come at
/// random with `per_second` chance in each second.
pub fn chance_per_interval(per_second: f64, seconds: f64) -> f64 {
    let p = per_second.clamp(0.0, 1.0);
    if p >= 1.0 {
        return 1.0;
    }
    (1.0 - (1.0 - p).powf(seconds.max(0.0))).clamp(0.0, 1.0)
}

/// Waits for the next message, and with `own_timer` unset also for the
/// session's timer (see [`Connection::recv_message`]). Cancel-safe.
async fn recv(conn: &mut Connection, own_timer: bool) -> Result<Wake, BotError> {
    if own_timer {
        conn.recv_message().await.map(|()| Wake::Message)
    } else {
        conn.recv().await
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chance_per_second_spreads_over_wake_ups() {
        assert_eq!(chance_per_interval(0.0, 1.0 / 30.0), 0.0);
        assert_eq!(chance_per_interval(1.0, 1.0 / 30.0), 1.0);
        assert!((chance_per_interval(0.05, 1.0) - 0.05).abs() < 1e-12);
        // 30 wake-ups a second at p each make 5% a second.
        let p = chance_per_interval(0.05, 1.0 / 30.0);
        assert!((1.0 - (1.0 - p).powi(30) - 0.05).abs() < 1e-12, "{p}");
        assert!(p > 0.0017 && p < 0.0018, "{p}");
    }
}
