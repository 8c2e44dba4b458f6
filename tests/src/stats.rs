//! The swarm's shared counters. Each bot keeps its own
//! ([`crate::counters::BotCounters`]) and adds them here now and then, so
//! that the hot path touches no shared memory.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use hdrhistogram::Histogram;

use crate::counters::Counts;

/// Smallest latency a histogram tells apart, µs.
const HISTOGRAM_LOW_US: u64 = 1;
/// Largest latency a histogram records, µs (larger values are clamped to it): one minute.
const HISTOGRAM_HIGH_US: u64 = 60_000_000;
/// Significant decimal digits a histogram keeps.
const HISTOGRAM_DIGITS: u8 = 3;

/// An empty latency histogram in microseconds (1 µs to 60 s, 3 digits).
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(HISTOGRAM_LOW_US, HISTOGRAM_HIGH_US, HISTOGRAM_DIGITS)
        .expect("constant histogram bounds are valid")
}

fn record_all(hist: &Mutex<Histogram<u64>>, samples: &mut Vec<u64>) {
    if samples.is_empty() {
        return;
    }
    let mut h = hist.lock().unwrap_or_else(PoisonError::into_inner);
    for &us in samples.iter() {
        h.saturating_record(us.max(HISTOGRAM_LOW_US));
    }
    samples.clear();
}

/// Counters shared by every bot of a swarm.
#[derive(Debug)]
pub struct SwarmStats {
    launched: AtomicU64,
    welcomed: AtomicU64,
    connected_now: AtomicI64,
    settled: AtomicU64,
    connect_failures: AtomicU64,
    disconnected: AtomicU64,
    snapshots: AtomicU64,
    full_snapshots: AtomicU64,
    desyncs: AtomicU64,
    decode_errors: AtomicU64,
    down_bytes: AtomicU64,
    delta_bytes: AtomicU64,
    up_bytes: AtomicU64,
    entity_updates: AtomicU64,
    moving_updates: AtomicU64,
    inputs: AtomicU64,
    notices: AtomicU64,
    reconnects: AtomicU64,
    resumes_ok: AtomicU64,
    resumes_refused: AtomicU64,
    /// The tick rate of the last `Welcome` (0 before any).
    tick_rate: AtomicU64,
    ack: Mutex<Histogram<u64>>,
    rtt: Mutex<Histogram<u64>>,
    reasons: Mutex<BTreeMap<String, u64>>,
}

impl Default for SwarmStats {
    fn default() -> Self {
        Self::new()
    }
}

impl SwarmStats {
    /// All zero.
    pub fn new() -> Self {
        Self {
            launched: AtomicU64::new(0),
            welcomed: AtomicU64::new(0),
            connected_now: AtomicI64::new(0),
            settled: AtomicU64::new(0),
            connect_failures: AtomicU64::new(0),
            disconnected: AtomicU64::new(0),
            snapshots: AtomicU64::new(0),
            full_snapshots: AtomicU64::new(0),
            desyncs: AtomicU64::new(0),
            decode_errors: AtomicU64::new(0),
            down_bytes: AtomicU64::new(0),
            delta_bytes: AtomicU64::new(0),
            up_bytes: AtomicU64::new(0),
            entity_updates: AtomicU64::new(0),
            moving_updates: AtomicU64::new(0),
            inputs: AtomicU64::new(0),
            notices: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            resumes_ok: AtomicU64::new(0),
            resumes_refused: AtomicU64::new(0),
            tick_rate: AtomicU64::new(0),
            ack: Mutex::new(latency_histogram()),
            rtt: Mutex::new(latency_histogram()),
            reasons: Mutex::new(BTreeMap::new()),
        }
    }

    /// Adds a bot's counts and hands over its latency samples (emptying the buffers).
    pub(crate) fn add(&self, d: &Counts, ack_us: &mut Vec<u64>, rtt_us: &mut Vec<u64>) {
        let add = |a: &AtomicU64, v: u64| {
            if v != 0 {
                a.fetch_add(v, Ordering::Relaxed);
            }
        };
        add(&self.snapshots, d.snapshots);
        add(&self.full_snapshots, d.full_snapshots);
        add(&self.desyncs, d.desyncs);
        add(&self.decode_errors, d.decode_errors);
        add(&self.down_bytes, d.down_bytes);
        add(&self.delta_bytes, d.delta_bytes);
        add(&self.up_bytes, d.up_bytes);
        add(&self.entity_updates, d.entity_updates);
        add(&self.moving_updates, d.moving_updates);
        add(&self.inputs, d.inputs);
        add(&self.notices, d.notices);
        add(&self.reconnects, d.reconnects);
        add(&self.resumes_ok, d.resumes_ok);
        add(&self.resumes_refused, d.resumes_refused);
        record_all(&self.ack, ack_us);
        record_all(&self.rtt, rtt_us);
    }

    /// A bot was started.
    pub fn on_launch(&self) {
        self.launched.fetch_add(1, Ordering::Relaxed);
    }

    /// A bot received its first `Welcome`, from a room running at `tick_rate`.
    pub fn on_welcome(&self, tick_rate: u16) {
        self.tick_rate
            .store(u64::from(tick_rate), Ordering::Relaxed);
        self.welcomed.fetch_add(1, Ordering::Relaxed);
        self.connected_now.fetch_add(1, Ordering::Relaxed);
        self.settled.fetch_add(1, Ordering::Relaxed);
    }

    /// A bot that dropped its connection on purpose was welcomed again.
    pub fn on_rewelcome(&self) {
        self.connected_now.fetch_add(1, Ordering::Relaxed);
    }

    /// A bot dropped its connection on purpose (it is about to reconnect).
    pub fn on_drop(&self) {
        self.connected_now.fetch_sub(1, Ordering::Relaxed);
    }

    /// A bot could not open its WebSocket at all.
    pub fn on_connect_failure(&self, reason: &str) {
        self.connect_failures.fetch_add(1, Ordering::Relaxed);
        self.settled.fetch_add(1, Ordering::Relaxed);
        self.add_reason(format!("connect: {reason}"));
    }

    /// A bot's run ended. `connected`: whether it was welcomed on the
    /// connection that ended; `ever_welcomed`: whether it was ever welcomed
    /// (a reconnecting bot may end between connections). `lost` is
    /// `Some(reason)` unless the bot itself ended it (stopped by the swarm, or done).
    pub fn on_end(&self, connected: bool, ever_welcomed: bool, lost: Option<&str>) {
        if connected {
            self.connected_now.fetch_sub(1, Ordering::Relaxed);
        }
        if !ever_welcomed {
            self.settled.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(reason) = lost {
            self.disconnected.fetch_add(1, Ordering::Relaxed);
            self.add_reason(reason.to_owned());
        }
    }

    fn add_reason(&self, reason: String) {
        let mut reasons = self.reasons.lock().unwrap_or_else(PoisonError::into_inner);
        *reasons.entry(reason).or_default() += 1;
    }

    /// Bots connected right now (welcomed and not yet ended).
    pub fn connected_now(&self) -> u64 {
        self.connected_now.load(Ordering::Relaxed).max(0) as u64
    }

    /// The tick rate the server announced in its `Welcome`s (`None` before the first).
    pub fn tick_rate(&self) -> Option<u32> {
        match self.tick_rate.load(Ordering::Relaxed) {
            0 => None,
            r => Some(r as u32),
        }
    }

    /// Bots started that have neither been welcomed nor failed yet.
    pub fn connecting(&self) -> u64 {
        let launched = self.launched.load(Ordering::Relaxed);
        launched.saturating_sub(self.settled.load(Ordering::Relaxed))
    }

    /// A copy of every counter now, with the latency histograms.
    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        StatsSnapshot {
            launched: get(&self.launched),
            welcomed: get(&self.welcomed),
            connected_now: self.connected_now(),
            connect_failures: get(&self.connect_failures),
            disconnected: get(&self.disconnected),
            counts: Counts {
                snapshots: get(&self.snapshots),
                full_snapshots: get(&self.full_snapshots),
                desyncs: get(&self.desyncs),
                decode_errors: get(&self.decode_errors),
                down_bytes: get(&self.down_bytes),
                delta_bytes: get(&self.delta_bytes),
                up_bytes: get(&self.up_bytes),
                entity_updates: get(&self.entity_updates),
                moving_updates: get(&self.moving_updates),
                inputs: get(&self.inputs),
                notices: get(&self.notices),
                reconnects: get(&self.reconnects),
                resumes_ok: get(&self.resumes_ok),
                resumes_refused: get(&self.resumes_refused),
            },
            ack_us: self
                .ack
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            rtt_us: self
                .rtt
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            reasons: self
                .reasons
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        }
    }

    /// The 99th percentile of ack latency recorded so far, ms (0 without samples).
    pub fn ack_p99_ms(&self) -> f64 {
        let h = self.ack.lock().unwrap_or_else(PoisonError::into_inner);
        if h.is_empty() {
            0.0
        } else {
            h.value_at_quantile(0.99) as f64 / 1000.0
        }
    }
}

/// The swarm's counters at one moment.
#[derive(Debug, Clone)]
pub struct StatsSnapshot {
    /// Bots started.
    pub launched: u64,
    /// Bots that received a `Welcome`.
    pub welcomed: u64,
    /// Bots connected at this moment.
    pub connected_now: u64,
    /// Bots that could not open a WebSocket.
    pub connect_failures: u64,
    /// Bots whose connection ended without the bot ending it.
    pub disconnected: u64,
    /// Traffic and protocol counts, summed over bots.
    pub counts: Counts,
    /// Input-to-acknowledgement latency, µs.
    pub ack_us: Histogram<u64>,
    /// Ping round-trip time, µs.
    pub rtt_us: Histogram<u64>,
    /// How connections were lost or failed, with counts.
    pub reasons: BTreeMap<String, u64>,
}

impl StatsSnapshot {
    /// Counts gained since `earlier`.
    pub fn counts_since(&self, earlier: &StatsSnapshot) -> Counts {
        self.counts.minus(&earlier.counts)
    }

    /// Latency samples recorded since `earlier`, µs.
    pub fn ack_since(&self, earlier: &StatsSnapshot) -> Histogram<u64> {
        since(&self.ack_us, &earlier.ack_us)
    }

    /// Round-trip samples recorded since `earlier`, µs.
    pub fn rtt_since(&self, earlier: &StatsSnapshot) -> Histogram<u64> {
        since(&self.rtt_us, &earlier.rtt_us)
    }
}

fn since(now: &Histogram<u64>, earlier: &Histogram<u64>) -> Histogram<u64> {
    let mut h = now.clone();
    // `earlier` is a prefix of `now` with the same bounds, so this cannot fail;
    // if it somehow did, the whole run's samples are the better answer.
    if h.subtract(earlier).is_err() {
        return now.clone();
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counters::BotCounters;

    #[test]
    fn bot_counters_add_up_across_flushes() {
        let swarm = SwarmStats::new();
        let mut a = BotCounters::new();
        let mut b = BotCounters::new();
        a.counts.snapshots = 5;
        a.counts.down_bytes = 500;
        a.ack_latency_us(10_000);
        a.flush_into(&swarm);
        a.counts.snapshots = 7;
        a.ack_latency_us(20_000);
        a.flush_into(&swarm);
        a.flush_into(&swarm); // nothing new: adds nothing
        b.counts.snapshots = 1;
        b.counts.desyncs = 1;
        b.flush_into(&swarm);
        let s = swarm.snapshot();
        assert_eq!(s.counts.snapshots, 8);
        assert_eq!(s.counts.down_bytes, 500);
        assert_eq!(s.counts.desyncs, 1);
        assert_eq!(s.ack_us.len(), 2);
        assert_eq!(s.ack_us.max() / 1000, 20);
    }

    #[test]
    fn connection_gauges_follow_the_lifecycle() {
        let swarm = SwarmStats::new();
        for _ in 0..4 {
            swarm.on_launch();
        }
        assert_eq!(swarm.connecting(), 4);
        assert_eq!(swarm.tick_rate(), None);
        swarm.on_welcome(60);
        swarm.on_welcome(60);
        assert_eq!(swarm.tick_rate(), Some(60));
        swarm.on_connect_failure("refused");
        assert_eq!(swarm.connecting(), 1);
        assert_eq!(swarm.connected_now(), 2);
        // A flaky bot drops and comes back: connected, not welcomed twice.
        swarm.on_drop();
        assert_eq!(swarm.connected_now(), 1);
        swarm.on_rewelcome();
        assert_eq!(swarm.connected_now(), 2);
        swarm.on_end(true, true, Some("close 1001"));
        swarm.on_end(true, true, None);
        swarm.on_end(false, false, Some("close 1013: full"));
        let s = swarm.snapshot();
        assert_eq!(swarm.connecting(), 0);
        assert_eq!(s.connected_now, 0);
        assert_eq!(s.welcomed, 2);
        assert_eq!(s.disconnected, 2);
        assert_eq!(s.connect_failures, 1);
        assert_eq!(s.reasons.get("close 1001"), Some(&1));
        assert_eq!(s.reasons.get("connect: refused"), Some(&1));
    }

    #[test]
    fn histograms_subtract_to_a_window() {
        let swarm = SwarmStats::new();
        let mut bot = BotCounters::new();
        bot.ack_latency_us(1_000);
        bot.flush_into(&swarm);
        let early = swarm.snapshot();
        bot.ack_latency_us(50_000);
        bot.ack_latency_us(60_000);
        bot.flush_into(&swarm);
        let window = swarm.snapshot().ack_since(&early);
        assert_eq!(window.len(), 2);
        assert!(window.min() >= 49_000);
    }
}
