//! Prometheus metrics for one server instance, served at `GET /metrics`.
//!
//! The registry belongs to the server instance (not a process global), so
//! several servers in one process, as in the integration tests, report apart.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

/// Tick duration buckets, seconds: 0.25 ms steps up to 10 ms (so a p99 against
/// a 16.7 ms budget reads accurately), then coarser up to 100 ms.
const TICK_BUCKETS: [f64; 46] = {
    let mut b = [0.0; 46];
    let mut i = 0;
    while i < 40 {
        b[i] = (i as f64 + 1.0) * 0.000_25;
        i += 1;
    }
    let tail = [0.0125, 0.015, 0.02, 0.03, 0.05, 0.1];
    let mut j = 0;
    while j < tail.len() {
        b[40 + j] = tail[j];
        j += 1;
    }
    b
};

/// Parts of a delta payload, as labels of `tickwire_delta_bits_total`.
const DELTA_PARTS: [&str; 4] = ["header", "left", "changed", "entered"];
/// Kinds of entity update, as labels of `tickwire_entity_updates_total`.
const UPDATE_KINDS: [&str; 12] = [
    "changed_pos_vel",
    "changed_aim",
    "changed_pos_vel_aim",
    "changed_pos",
    "changed_vel",
    "changed_vel_aim",
    "changed_other",
    "left",
    "entered_player",
    "entered_projectile",
    "entered_orb",
    "coasting",
];

/// Input latency buckets, seconds: 1 ms steps to 20 ms, 2.5 ms steps to
/// 100 ms (so "one tick plus one snapshot interval", 66.7 ms at 60/20 Hz,
/// reads accurately), then coarser up to a second.
fn latency_buckets() -> impl Iterator<Item = f64> {
    let fine = (1..=20).map(|ms| f64::from(ms) / 1000.0);
    let medium = (1..=32).map(|i| 0.02 + f64::from(i) * 0.0025);
    fine.chain(medium).chain([0.15, 0.2, 0.3, 0.5, 0.75, 1.0])
}

/// Why a connection ended, as a metric label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    /// A short machine-readable reason.
    pub reason: &'static str,
}

/// How an attempt came out, as a metric label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    /// A short machine-readable outcome.
    pub outcome: &'static str,
}

/// Which part of a delta, or which kind of entity update, as a metric label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PartLabel {
    /// The part or update kind.
    pub part: &'static str,
}

/// What a delta was encoded against, as a metric label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BaselineLabel {
    /// "phase", "other" or "none" (see `session::BaselineKind`).
    pub baseline: &'static str,
}

/// Every metric the server exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Players connected (past the handshake).
    pub players: Gauge,
    /// Rooms running.
    pub rooms: Gauge,
    /// Duration of each tick (simulation and snapshot), seconds.
    pub tick_seconds: Histogram,
    /// Ticks that took longer than the tick period.
    pub tick_overruns: Counter,
    /// Time to build and encode one client's delta, seconds (one delta in eight is timed).
    pub encode_seconds: Histogram,
    /// Deltas written to clients (player-snapshots).
    pub snapshots_sent: Counter,
    /// Bytes of WebSocket message payload sent.
    pub bytes_out: Counter,
    /// Bytes of WebSocket message payload received.
    pub bytes_in: Counter,
    /// Messages sent.
    pub messages_out: Counter,
    /// Messages received.
    pub messages_in: Counter,
    /// Connections ended or refused, by reason.
    pub disconnects: Family<ReasonLabel, Counter>,
    /// Input frames dropped by the per-connection rate limit.
    pub inputs_dropped: Counter,
    /// Snapshots not sent to clients that had gone silent (see `ServerConfig::pause_silent_after`).
    pub deltas_withheld: Counter,
    /// Sessions that asked to move to the snapshot phase where their inputs
    /// land, by outcome ("moved", or "full": that phase had no room).
    pub phase_moves: Family<OutcomeLabel, Counter>,
    /// Server-added input latency, seconds, by stage: from receipt to the tick
    /// that applies the input ("applied"), and to the delta that reports it written ("sent").
    pub input_latency: Family<PartLabel, Histogram, fn() -> Histogram>,
    /// Deltas written, by what they were encoded against: the phase's previous
    /// snapshot (records shared), another snapshot, or none (full).
    pub deltas: Family<BaselineLabel, Counter>,
    /// Handles to the series of `deltas`, in `BaselineKind::ALL` order.
    deltas_by_baseline: Vec<Counter>,
    /// Delta payload bits, by part (header, left, changed, entered).
    pub delta_bits: Family<PartLabel, Counter>,
    /// Entity updates carried by deltas, by kind.
    pub entity_updates: Family<PartLabel, Counter>,
    /// Handles to the series of `delta_bits`, in `DELTA_PARTS` order (no lookup per delta).
    delta_bits_by_part: Vec<Counter>,
    /// Handles to the series of `entity_updates`, in `UPDATE_KINDS` order.
    updates_by_kind: Vec<Counter>,
    /// Input latency from receipt to the tick that applies it.
    pub input_applied: Histogram,
    /// Input latency from receipt to the delta that reports it, written.
    pub input_sent: Histogram,
    resident_bytes: Gauge,
    cpu_seconds: Gauge<f64, AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh set of metrics in its own registry.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("tickwire");
        let m = Self {
            players: Gauge::default(),
            rooms: Gauge::default(),
            tick_seconds: Histogram::new(TICK_BUCKETS),
            tick_overruns: Counter::default(),
            encode_seconds: Histogram::new([
                1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 5e-3,
            ]),
            snapshots_sent: Counter::default(),
            bytes_out: Counter::default(),
            bytes_in: Counter::default(),
            messages_out: Counter::default(),
            messages_in: Counter::default(),
            disconnects: Family::default(),
            inputs_dropped: Counter::default(),
            deltas_withheld: Counter::default(),
            phase_moves: Family::default(),
            input_latency: Family::new_with_constructor(|| Histogram::new(latency_buckets())),
            deltas: Family::default(),
            deltas_by_baseline: Vec::new(),
            delta_bits: Family::default(),
            entity_updates: Family::default(),
            delta_bits_by_part: Vec::new(),
            updates_by_kind: Vec::new(),
            input_applied: Histogram::new([]),
            input_sent: Histogram::new([]),

            resident_bytes: Gauge::default(),
            cpu_seconds: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register("players_connected", "Players connected", m.players.clone());
        registry.register("rooms", "Rooms running", m.rooms.clone());
        registry.register(
            "tick_duration_seconds",
            "Duration of each room tick",
            m.tick_seconds.clone(),
        );
        registry.register(
            "tick_overruns",
            "Ticks longer than the tick period",
            m.tick_overruns.clone(),
        );
        registry.register(
            "snapshot_encode_seconds",
            "Time to build and encode one client's delta (one delta in eight is timed)",
            m.encode_seconds.clone(),
        );
        registry.register(
            "snapshots_sent",
            "Deltas written to clients",
            m.snapshots_sent.clone(),
        );
        registry.register(
            "bytes_out",
            "WebSocket payload bytes sent",
            m.bytes_out.clone(),
        );
        registry.register(
            "bytes_in",
            "WebSocket payload bytes received",
            m.bytes_in.clone(),
        );
        registry.register(
            "messages_out",
            "WebSocket messages sent",
            m.messages_out.clone(),
        );
        registry.register(
            "messages_in",
            "WebSocket messages received",
            m.messages_in.clone(),
        );
        registry.register(
            "disconnects",
            "Connections ended or refused, by reason",
            m.disconnects.clone(),
        );
        registry.register(
            "inputs_dropped",
            "Input frames dropped by the rate limit",
            m.inputs_dropped.clone(),
        );
        registry.register(
            "deltas_withheld",
            "Snapshots not sent to clients silent for longer than the pause threshold",
            m.deltas_withheld.clone(),
        );
        registry.register(
            "phase_moves",
            "Sessions moved to the snapshot phase where their input batches land, by outcome",
            m.phase_moves.clone(),
        );
        registry.register(
            "deltas",
            "Deltas written, by baseline: the phase's previous snapshot (records shared), another, or none (full)",
            m.deltas.clone(),
        );
        registry.register(
            "delta_bits",
            "Delta payload bits by part",
            m.delta_bits.clone(),
        );
        registry.register(
            "input_latency_seconds",
            "Server-added input latency by stage",
            m.input_latency.clone(),
        );
        registry.register(
            "entity_updates",
            "Entity updates carried by deltas, by kind",
            m.entity_updates.clone(),
        );
        registry.register(
            "process_resident_memory_bytes",
            "Resident memory of the server process",
            m.resident_bytes.clone(),
        );
        registry.register(
            "process_cpu_seconds",
            "CPU time used by the server process",
            m.cpu_seconds.clone(),
        );
        let deltas_by_baseline = crate::session::BaselineKind::ALL
            .iter()
            .map(|b| {
                let baseline = b.label();
                m.deltas.get_or_create(&BaselineLabel { baseline }).clone()
            })
            .collect();
        let delta_bits_by_part = DELTA_PARTS
            .iter()
            .map(|&part| m.delta_bits.get_or_create(&PartLabel { part }).clone())
            .collect();
        let updates_by_kind = UPDATE_KINDS
            .iter()
            .map(|&part| m.entity_updates.get_or_create(&PartLabel { part }).clone())
            .collect();
        let input_applied = m
            .input_latency
            .get_or_create(&PartLabel { part: "applied" })
            .clone();
        let input_sent = m
            .input_latency
            .get_or_create(&PartLabel { part: "sent" })
            .clone();
        Self {
            registry,
            deltas_by_baseline,
            delta_bits_by_part,
            updates_by_kind,
            input_applied,
            input_sent,
            ..m
        }
    }

    /// Accounts one delta's profile.
    pub fn delta(&self, p: &tickwire_protocol::delta::DeltaProfile) {
        let bits = [p.header_bits, p.left_bits, p.changed_bits, p.entered_bits];
        for (counter, n) in self.delta_bits_by_part.iter().zip(bits) {
            counter.inc_by(u64::from(n));
        }
        let [pos_vel, aim, pos_vel_aim, pos, vel, vel_aim, other] = p.changed_by_form;
        let [player, projectile, orb] = p.entered_by_kind;
        let updates = [
            pos_vel,
            aim,
            pos_vel_aim,
            pos,
            vel,
            vel_aim,
            other,
            p.left_count,
            player,
            projectile,
            orb,
            p.coasting_count,
        ];
        for (counter, n) in self.updates_by_kind.iter().zip(updates) {
            if n > 0 {
                counter.inc_by(u64::from(n));
            }
        }
    }

    /// Counts deltas by baseline, `counts` in `BaselineKind::ALL` order.
    pub fn deltas_by_baseline(&self, counts: &[u32; 3]) {
        for (counter, &n) in self.deltas_by_baseline.iter().zip(counts) {
            if n > 0 {
                counter.inc_by(u64::from(n));
            }
        }
    }

    /// Counts a connection that ended for `reason`.
    pub fn disconnected(&self, reason: &'static str) {
        self.disconnects
            .get_or_create(&ReasonLabel { reason })
            .inc();
    }

    /// The metrics in the Prometheus (OpenMetrics) text format.
    pub fn render(&self) -> String {
        if let Some(p) = process_figures() {
            self.resident_bytes.set(p.resident_bytes as i64);
            self.cpu_seconds.set(p.cpu_seconds);
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// Resident memory and CPU time of this process, from /proc (Linux only).
struct ProcessFigures {
    resident_bytes: u64,
    cpu_seconds: f64,
}

fn process_figures() -> Option<ProcessFigures> {
    const PAGE_BYTES: u64 = 4096;
    // Linux reports CPU time in clock ticks of USER_HZ, which is 100 on every mainstream platform.
    const USER_HZ: f64 = 100.0;
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let resident_pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some(ProcessFigures {
        resident_bytes: resident_pages * PAGE_BYTES,
        cpu_seconds: (utime + stime) / USER_HZ,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_metric_with_process_figures() {
        let m = Metrics::new();
        m.players.set(3);
        m.tick_seconds.observe(0.002);
        m.disconnected("stalled");
        let text = m.render();
        for name in [
            "tickwire_players_connected 3",
            "tickwire_tick_duration_seconds_bucket{le=\"0.002\"} 1",
            "tickwire_disconnects_total{reason=\"stalled\"} 1",
            "tickwire_process_resident_memory_bytes",
            "tickwire_process_cpu_seconds",
        ] {
            assert!(text.contains(name), "missing {name} in:\n{text}");
        }
        let rss: f64 = text
            .lines()
            .find(|l| l.starts_with("tickwire_process_resident_memory_bytes "))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .expect("rss value");
        assert!(
            rss > 1e6,
            "a running test process has more than 1 MB resident: {rss}"
        );
    }
}
