//! A find-max run's result: every step, and the most bots held, as JSON
//! and as a table.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::SETTLED_INTERVALS;
use super::judge::HeldLimits;
use crate::behavior::Behavior;
use crate::memory_probe::{MemoryLatency, describe};
use crate::report::{Latency, mib};
use crate::server_metrics::ServerFigures;

/// One step's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    /// Bots in the step.
    pub bots: u64,
    /// Whether the step was held.
    pub held: bool,
    /// Why not, when it was not.
    pub not_held_because: Vec<String>,
    /// Bots connected at the end of the hold.
    pub connected_at_end: u64,
    /// Bots that could not connect, whole run so far.
    pub connect_failures: u64,
    /// Bots whose connection was lost, whole run so far.
    pub disconnected: u64,
    /// Desyncs, whole run so far.
    pub desyncs: u64,
    /// Undecodable server messages, whole run so far.
    pub decode_errors: u64,
    /// Length of the hold, seconds.
    pub hold_seconds: f64,
    /// Deltas applied per second, per bot, over the hold.
    pub snapshots_per_sec: f64,
    /// Bytes received per second, per bot, over the hold.
    pub down_bytes_per_sec: f64,
    /// Bytes sent per second, per bot, over the hold.
    pub up_bytes_per_sec: f64,
    /// Delta bytes per moving-entity update over the hold (see
    /// [`crate::report::Report::bytes_per_entity_update`]).
    pub bytes_per_entity_update: f64,
    /// Delta bytes per record (entity entering, changing or leaving) over the hold.
    #[serde(default)]
    pub bytes_per_record: f64,
    /// Input-to-ack latency over the hold, ms.
    pub ack_latency_ms: Latency,
    /// CPU the bots' own process used over the hold, percent of one core.
    pub bots_cpu_percent: Option<f64>,
    /// Resident memory of the bots' own process at the end of the hold, bytes.
    #[serde(default)]
    pub bots_rss_bytes: Option<u64>,
    /// With `settle_seconds`: how long the step waited for the bots' ack p99
    /// to settle before the hold, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settle_seconds: Option<f64>,
    /// With `settle_seconds`: whether it settled (false: the wait ran out and
    /// the hold began anyway).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled: Option<bool>,
    /// The server's figures over the hold.
    #[serde(flatten)]
    pub server: ServerFigures,
}

/// A find-max run's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindMaxReport {
    /// The server's WebSocket URL.
    pub url: String,
    /// The behaviour the bots ran.
    pub behavior: Behavior,
    /// Inputs each bot sent per message.
    #[serde(default)]
    pub inputs_per_message: u32,
    /// Bots in the first step.
    pub start: u64,
    /// Bots added per step.
    pub step: u64,
    /// Most bots tried.
    pub max: u64,
    /// Seconds each step was held.
    pub hold_seconds: f64,
    /// The tick rate from the `Welcome`s.
    pub tick_rate: Option<u32>,
    /// The tick budget (1 / tick rate), ms.
    pub tick_budget_ms: Option<f64>,
    /// What "held" meant.
    pub limits: HeldLimits,
    /// Most seconds each step waited for latency to settle before its hold (0: none).
    #[serde(default)]
    pub settle_seconds: f64,
    /// The most bots held for a whole hold period (0 if not even the first step).
    pub players_held: u64,
    /// Why the run stopped: the first step not held and why, or the end of the steps.
    pub stopped_because: String,
    /// The server's figures at `players_held` (tick_ms, tick_overruns,
    /// rss_bytes, CPU): absent when no step was held.
    #[serde(flatten)]
    pub at_players_held: Option<ServerFigures>,
    /// Every step, in order.
    pub steps: Vec<StepResult>,
    /// How fast this machine's memory answered before the first step and
    /// after the last (see [`crate::memory_probe`]): runs on a shared host
    /// are comparable only when these are.
    #[serde(default)]
    pub memory_before: Vec<MemoryLatency>,
    /// See `memory_before`.
    #[serde(default)]
    pub memory_after: Vec<MemoryLatency>,
}

impl FindMaxReport {
    /// Whether every delta applied and every message decoded.
    pub fn is_clean(&self) -> bool {
        self.steps
            .last()
            .is_none_or(|s| s.desyncs == 0 && s.decode_errors == 0)
    }
}

impl fmt::Display for FindMaxReport {
    /// The report as a table for people.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "tickwire find-max: {} bots against {}, {} s per step, {} inputs per message",
            self.behavior, self.url, self.hold_seconds, self.inputs_per_message
        )?;
        if let (Some(rate), Some(budget)) = (self.tick_rate, self.tick_budget_ms) {
            writeln!(
                f,
                "  held = all connected, no desyncs, server tick p99 < {:.2} ms ({:.0}% of {budget:.2} ms at {rate} Hz), bot ack p99 < {:.0} ms",
                budget * self.limits.tick_p99_budget_share,
                self.limits.tick_p99_budget_share * 100.0,
                self.limits.ack_p99_ms
            )?;
        }
        if self.settle_seconds > 0.0 {
            let waits: Vec<String> = self
                .steps
                .iter()
                .map(|s| {
                    let wait = s.settle_seconds.unwrap_or(0.0);
                    let mark = if s.settled == Some(false) {
                        " (not settled)"
                    } else {
                        ""
                    };
                    format!("{} bots {wait:.0} s{mark}", s.bots)
                })
                .collect();
            writeln!(
                f,
                "  each hold began once the ack p99 was under the limit {SETTLED_INTERVALS} s running (at most {:.0} s after the ramp): {}",
                self.settle_seconds,
                waits.join(", ")
            )?;
        }
        writeln!(
            f,
            "  {:>6} {:>4} {:>6} {:>5} {:>6} {:>8} {:>8} {:>8} {:>8} {:>8} {:>5} {:>7} {:>6} {:>9} {:>7} {:>7} {:>6} {:>8} {:>6}",
            "bots",
            "held",
            "conn",
            "lost",
            "desync",
            "ack p50",
            "ack p99",
            "tick p50",
            "tick p99",
            "tick max",
            "over",
            "RSS MiB",
            "srv %",
            "µs/snap",
            "B/upd",
            "B/rec",
            "bots %",
            "bots MiB",
            "moves"
        )?;
        for s in &self.steps {
            let t = &s.server.tick_ms;
            writeln!(
                f,
                "  {:>6} {:>4} {:>6} {:>5} {:>6} {:>8.1} {:>8.1} {:>8.2} {:>8.2} {:>8.2} {:>5} {:>7.1} {:>6.0} {:>9} {:>7.2} {:>7.2} {:>6} {:>8} {:>6}",
                s.bots,
                if s.held { "yes" } else { "NO" },
                s.connected_at_end,
                s.connect_failures + s.disconnected,
                s.desyncs + s.decode_errors,
                s.ack_latency_ms.p50,
                s.ack_latency_ms.p99,
                t.p50,
                t.p99,
                t.max,
                s.server.tick_overruns,
                mib(s.server.rss_bytes),
                s.server.server_cpu_percent,
                s.server
                    .server_cpu_us_per_player_snapshot
                    .map_or_else(|| "n/a".to_owned(), |us| format!("{us:.2}")),
                s.bytes_per_entity_update,
                s.bytes_per_record,
                s.bots_cpu_percent
                    .map_or_else(|| "n/a".to_owned(), |p| format!("{p:.0}")),
                s.bots_rss_bytes
                    .map_or_else(|| "n/a".to_owned(), |b| format!("{:.1}", mib(b))),
                s.server
                    .server_phase_moves
                    .map_or_else(|| "n/a".to_owned(), |n| n.to_string()),
            )?;
        }
        if !self.memory_before.is_empty() {
            writeln!(
                f,
                "  memory before: {}; after: {}",
                describe(&self.memory_before),
                describe(&self.memory_after)
            )?;
        }
        writeln!(f, "  players held: {}", self.players_held)?;
        writeln!(f, "  stopped: {}", self.stopped_because)
    }
}
