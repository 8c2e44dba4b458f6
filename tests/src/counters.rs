//! One bot's counters: plain numbers on the hot path, added to the swarm's
//! shared [`SwarmStats`] now and then.

use crate::stats::SwarmStats;

/// Latency samples a bot gathers before it hands them to the swarm's histogram.
const MAX_PENDING_SAMPLES: usize = 512;

/// Cumulative counts of one bot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Deltas applied (`SessionEvent::Snapshot`).
    pub snapshots: u64,
    /// Of those, full snapshots.
    pub full_snapshots: u64,
    /// Deltas that failed to apply (`SessionEvent::Desync`).
    pub desyncs: u64,
    /// Server messages that could not be decoded.
    pub decode_errors: u64,
    /// Binary message bytes received.
    pub down_bytes: u64,
    /// Bytes of the delta messages among them.
    pub delta_bytes: u64,
    /// Binary message bytes sent.
    pub up_bytes: u64,
    /// Entities entering, changing or leaving the view (the records deltas
    /// carried), summed over deltas.
    pub entity_updates: u64,
    /// Moving-entity updates: those records plus the moving entities the
    /// deltas moved on by extrapolation alone ([`DeltaStats::moving_updates`]).
    ///
    /// [`DeltaStats::moving_updates`]: tickwire_protocol::delta::DeltaStats::moving_updates
    pub moving_updates: u64,
    /// Inputs sent.
    pub inputs: u64,
    /// Notices received.
    pub notices: u64,
    /// Connections a flaky bot dropped on purpose (each followed by a reconnection).
    pub reconnects: u64,
    /// Reconnections the server welcomed back as the same player.
    pub resumes_ok: u64,
    /// Reconnections whose resume token the server refused.
    pub resumes_refused: u64,
}

impl Counts {
    /// Each count minus `o`'s (`o` is an earlier reading).
    pub(crate) fn minus(&self, o: &Self) -> Self {
        Self {
            snapshots: self.snapshots - o.snapshots,
            full_snapshots: self.full_snapshots - o.full_snapshots,
            desyncs: self.desyncs - o.desyncs,
            decode_errors: self.decode_errors - o.decode_errors,
            down_bytes: self.down_bytes - o.down_bytes,
            delta_bytes: self.delta_bytes - o.delta_bytes,
            up_bytes: self.up_bytes - o.up_bytes,
            entity_updates: self.entity_updates - o.entity_updates,
            moving_updates: self.moving_updates - o.moving_updates,
            inputs: self.inputs - o.inputs,
            notices: self.notices - o.notices,
            reconnects: self.reconnects - o.reconnects,
            resumes_ok: self.resumes_ok - o.resumes_ok,
            resumes_refused: self.resumes_refused - o.resumes_refused,
        }
    }
}

/// One bot's counters and the latency samples it has not handed on yet.
#[derive(Debug, Clone, Default)]
pub struct BotCounters {
    /// Everything counted so far.
    pub counts: Counts,
    flushed: Counts,
    ack_us: Vec<u64>,
    rtt_us: Vec<u64>,
}

impl BotCounters {
    /// Empty counters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the time from sending an input until a snapshot acknowledged it.
    pub fn ack_latency_us(&mut self, us: u64) {
        self.ack_us.push(us);
    }

    /// Records a round-trip time measured by the session's pings.
    pub fn rtt_us(&mut self, us: u64) {
        self.rtt_us.push(us);
    }

    /// Whether enough samples are waiting that they should be handed on.
    pub fn wants_flush(&self) -> bool {
        self.ack_us.len() >= MAX_PENDING_SAMPLES
    }

    /// Adds what was counted since the last flush to the swarm's counters.
    pub fn flush_into(&mut self, swarm: &SwarmStats) {
        let d = self.counts.minus(&self.flushed);
        self.flushed = self.counts;
        swarm.add(&d, &mut self.ack_us, &mut self.rtt_us);
    }
}
