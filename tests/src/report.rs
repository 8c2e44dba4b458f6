//! A swarm's result: [`Report`], as JSON for machines and a table for people.

use std::collections::BTreeMap;
use std::fmt;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::behavior::Behavior;
use crate::server_metrics::ServerFigures;
use crate::stats::StatsSnapshot;

/// `bytes` in MiB, for the tables people read.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Latency percentiles, ms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Samples recorded.
    pub samples: u64,
    /// Median, ms.
    pub p50: f64,
    /// 90th percentile, ms.
    pub p90: f64,
    /// 99th percentile, ms.
    pub p99: f64,
    /// Largest sample, ms.
    pub max: f64,
}

impl Latency {
    /// Percentiles of a histogram of microseconds (all zero when it is empty).
    pub fn from_us(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Self {
            samples: h.len(),
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p99: ms(h.value_at_quantile(0.99)),
            max: ms(h.max()),
        }
    }
}

/// What a swarm run measured. Rates are per connected bot, over the steady
/// period after ramp-up; counts of trouble cover the whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The server's WebSocket URL.
    pub url: String,
    /// The behaviour the bots ran.
    pub behavior: Behavior,
    /// Bots asked for.
    pub bots: u64,
    /// Inputs each bot sent per message.
    #[serde(default)]
    pub inputs_per_message: u32,
    /// Bots the server welcomed.
    pub connected: u64,
    /// Bots still connected when the run ended.
    pub connected_at_end: u64,
    /// Bots that could not open a WebSocket.
    pub connect_failures: u64,
    /// Bots whose connection ended without the bot ending it (closed by the server, reset, ...).
    pub disconnected: u64,
    /// Why connections failed or ended, with counts.
    pub disconnect_reasons: BTreeMap<String, u64>,
    /// Deltas that did not apply or failed their checksum, summed over bots.
    pub desyncs: u64,
    /// Server messages that could not be decoded, summed over bots.
    pub decode_errors: u64,
    /// Length of the steady period the rates are measured over, seconds.
    pub steady_seconds: f64,
    /// Deltas applied per second, per bot.
    pub snapshots_per_sec: f64,
    /// Binary message bytes received per second, per bot.
    pub down_bytes_per_sec: f64,
    /// Binary message bytes sent per second, per bot.
    pub up_bytes_per_sec: f64,
    /// Moving-entity updates per second, per bot: entities entering, changing
    /// or leaving views, plus moving entities the deltas moved on by
    /// extrapolation alone.
    pub entity_updates_per_sec: f64,
    /// Bytes of delta messages received divided by the moving-entity updates
    /// they brought (the issue's `bytes_per_entity_update`: entities at rest
    /// that nothing touched do not count; moving ones predicted exactly do).
    pub bytes_per_entity_update: f64,
    /// Records (entities entering, changing or leaving) per second, per bot.
    #[serde(default)]
    pub records_per_sec: f64,
    /// Bytes of delta messages received divided by the records they carried:
    /// the cost of each entity the delta had to say something about.
    #[serde(default)]
    pub bytes_per_record: f64,
    /// Full snapshots (deltas without a baseline) received in the steady period, all bots.
    pub full_snapshots: u64,
    /// Time from sending an input until a snapshot reports it applied, ms.
    pub ack_latency_ms: Latency,
    /// Ping round-trip time measured by the sessions, ms.
    pub rtt_ms: Latency,
    /// Connections that flaky bots dropped on purpose and made again, whole run.
    #[serde(default)]
    pub reconnects: u64,
    /// Reconnections the server welcomed back as the same player, whole run.
    #[serde(default)]
    pub resumes_ok: u64,
    /// Reconnections whose resume token the server refused, whole run.
    #[serde(default)]
    pub resumes_refused: u64,
    /// CPU the bots' own process used over the steady period, percent of one
    /// core (`null` where it cannot be read).
    #[serde(default)]
    pub bots_cpu_percent: Option<f64>,
    /// That CPU time divided by the snapshots the bots applied in the steady
    /// period, µs: the bots' cost per bot-snapshot, comparable across bot counts.
    #[serde(default)]
    pub bots_cpu_us_per_snapshot: Option<f64>,
    /// Resident memory of the bots' own process at the end of the steady
    /// period, bytes (`null` where it cannot be read).
    #[serde(default)]
    pub bots_rss_bytes: Option<u64>,
    /// The server's own figures over the steady period, from its `/metrics`
    /// (absent when they could not be read).
    #[serde(flatten)]
    pub server: Option<ServerFigures>,
    /// The stalled bots run alongside (`--stall`); every other figure is the
    /// normal bots' alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stalled: Option<Stalled>,
}

/// Stalled bots: they connect, are welcomed, then stop reading their sockets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stalled {
    /// Stalled bots asked for.
    pub bots: u64,
    /// Of those, bots the server welcomed.
    pub connected: u64,
    /// Of those, bots that could not open a WebSocket.
    pub connect_failures: u64,
}

impl Stalled {
    /// The stalled bots' figures from their own counters after the run.
    pub fn from_stats(bots: u64, last: &StatsSnapshot) -> Self {
        Self {
            bots,
            connected: last.welcomed,
            connect_failures: last.connect_failures,
        }
    }
}

/// What a report is built from, besides the counters.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// The server's WebSocket URL.
    pub url: String,
    /// The behaviour the bots ran.
    pub behavior: Behavior,
    /// Bots asked for.
    pub bots: u64,
    /// Inputs each bot sent per message.
    pub inputs_per_message: u32,
    /// Length of the steady period, seconds.
    pub steady_seconds: f64,
}

impl Report {
    /// Builds a report from the counters at the start (`start`) and end
    /// (`end`) of the steady period, and after every bot stopped (`last`).
    pub fn build(
        info: RunInfo,
        start: &StatsSnapshot,
        end: &StatsSnapshot,
        last: &StatsSnapshot,
    ) -> Self {
        let window = end.counts_since(start);
        let secs = info.steady_seconds.max(1e-6);
        // Bots connected on average over the window: per-bot rates divide by this.
        let per_bot = ((start.connected_now + end.connected_now) as f64 / 2.0).max(1.0);
        let rate = |v: u64| v as f64 / secs / per_bot;
        let per = |bytes: u64, n: u64| if n == 0 { 0.0 } else { bytes as f64 / n as f64 };
        Self {
            url: info.url,
            behavior: info.behavior,
            bots: info.bots,
            inputs_per_message: info.inputs_per_message,
            connected: last.welcomed,
            connected_at_end: end.connected_now,
            connect_failures: last.connect_failures,
            disconnected: last.disconnected,
            disconnect_reasons: last.reasons.clone(),
            desyncs: last.counts.desyncs,
            decode_errors: last.counts.decode_errors,
            steady_seconds: info.steady_seconds,
            snapshots_per_sec: rate(window.snapshots),
            down_bytes_per_sec: rate(window.down_bytes),
            up_bytes_per_sec: rate(window.up_bytes),
            entity_updates_per_sec: rate(window.moving_updates),
            bytes_per_entity_update: per(window.delta_bytes, window.moving_updates),
            records_per_sec: rate(window.entity_updates),
            bytes_per_record: per(window.delta_bytes, window.entity_updates),
            full_snapshots: window.full_snapshots,
            ack_latency_ms: Latency::from_us(&last.ack_since(start)),
            rtt_ms: Latency::from_us(&last.rtt_since(start)),
            reconnects: last.counts.reconnects,
            resumes_ok: last.counts.resumes_ok,
            resumes_refused: last.counts.resumes_refused,
            bots_cpu_percent: None,
            bots_cpu_us_per_snapshot: None,
            bots_rss_bytes: None,
            server: None,
            stalled: None,
        }
    }

    /// Whether every delta applied and every message decoded.
    pub fn is_clean(&self) -> bool {
        self.desyncs == 0 && self.decode_errors == 0
    }

    /// Sets the bots' own CPU over the steady period (percent of a core),
    /// and from it the CPU per snapshot, given the snapshots applied then.
    pub fn set_bots_cpu(&mut self, percent: Option<f64>, steady_snapshots: u64) {
        self.bots_cpu_percent = percent;
        self.bots_cpu_us_per_snapshot = percent
            .filter(|_| steady_snapshots > 0)
            .map(|p| p / 100.0 * self.steady_seconds * 1e6 / steady_snapshots as f64);
    }
}

impl fmt::Display for Report {
    /// The report as a table for people.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let row = |f: &mut fmt::Formatter<'_>, k: &str, v: String| writeln!(f, "  {k:<28} {v}");
        writeln!(
            f,
            "tickwire bots: {} × {} against {}, {} inputs per message",
            self.bots, self.behavior, self.url, self.inputs_per_message
        )?;
        row(
            f,
            "connected",
            format!("{} of {}", self.connected, self.bots),
        )?;
        row(f, "connected at end", self.connected_at_end.to_string())?;
        row(f, "connect failures", self.connect_failures.to_string())?;
        row(f, "disconnected", self.disconnected.to_string())?;
        for (reason, n) in &self.disconnect_reasons {
            row(f, "", format!("{n} × {reason}"))?;
        }
        row(f, "desyncs", self.desyncs.to_string())?;
        row(f, "decode errors", self.decode_errors.to_string())?;
        writeln!(f, "  per bot, over {:.1} s steady:", self.steady_seconds)?;
        row(f, "snapshots/s", format!("{:.1}", self.snapshots_per_sec))?;
        row(f, "down", format!("{:.0} B/s", self.down_bytes_per_sec))?;
        row(f, "up", format!("{:.0} B/s", self.up_bytes_per_sec))?;
        row(
            f,
            "entity updates/s",
            format!("{:.1}", self.entity_updates_per_sec),
        )?;
        row(
            f,
            "bytes per entity update",
            format!("{:.2}", self.bytes_per_entity_update),
        )?;
        row(
            f,
            "records/s, bytes per record",
            format!("{:.1}, {:.2}", self.records_per_sec, self.bytes_per_record),
        )?;
        row(
            f,
            "full snapshots (all bots)",
            self.full_snapshots.to_string(),
        )?;
        let lat = |l: &Latency| {
            format!(
                "p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}  ({} samples)",
                l.p50, l.p90, l.p99, l.max, l.samples
            )
        };
        row(f, "input→ack latency, ms", lat(&self.ack_latency_ms))?;
        row(f, "ping rtt, ms", lat(&self.rtt_ms))?;
        if self.behavior.drops_connection() || self.reconnects > 0 {
            row(
                f,
                "reconnects (whole run)",
                format!(
                    "{}: {} resumed, {} refused",
                    self.reconnects, self.resumes_ok, self.resumes_refused
                ),
            )?;
        }
        match (self.bots_cpu_percent, self.bots_cpu_us_per_snapshot) {
            (Some(cpu), Some(us)) => row(
                f,
                "bots' own CPU",
                format!("{cpu:.0}% of a core; {us:.2} µs per bot-snapshot"),
            )?,
            (Some(cpu), None) => row(f, "bots' own CPU", format!("{cpu:.0}% of a core"))?,
            _ => {}
        }
        if let Some(rss) = self.bots_rss_bytes {
            row(f, "bots' own memory (RSS)", format!("{:.1} MiB", mib(rss)))?;
        }
        match &self.server {
            Some(server) => server.write_rows(f)?,
            None => row(f, "server figures", "unavailable (no /metrics)".into())?,
        }
        if let Some(s) = &self.stalled {
            row(
                f,
                "stalled bots (apart)",
                format!(
                    "{} asked, {} welcomed, {} connect failures",
                    s.bots, s.connected, s.connect_failures
                ),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counters::BotCounters;
    use crate::stats::SwarmStats;

    #[test]
    fn rates_are_per_bot_over_the_window_and_json_has_the_keys() {
        let swarm = SwarmStats::new();
        let mut bots: Vec<BotCounters> = (0..4).map(|_| BotCounters::new()).collect();
        for _ in &bots {
            swarm.on_launch();
            swarm.on_welcome(60);
        }
        for b in &mut bots {
            b.counts.snapshots = 10; // during ramp-up: not in the rates
            b.flush_into(&swarm);
        }
        let start = swarm.snapshot();
        for b in &mut bots {
            b.counts.snapshots += 40;
            b.counts.down_bytes += 4000;
            b.counts.delta_bytes += 3000;
            b.counts.up_bytes += 800;
            b.counts.entity_updates += 1000;
            b.counts.moving_updates += 1500;
            b.ack_latency_us(30_000);
            b.flush_into(&swarm);
        }
        let end = swarm.snapshot();
        let info = RunInfo {
            url: "ws://x/ws".into(),
            behavior: Behavior::Wander,
            bots: 4,
            inputs_per_message: 2,
            steady_seconds: 2.0,
        };
        let mut r = Report::build(info, &start, &end, &end);
        // 50% of a core for 2 s over 160 snapshots: 6250 µs each.
        r.set_bots_cpu(Some(50.0), 160);
        assert_eq!(r.bots_cpu_us_per_snapshot, Some(6250.0));
        assert_eq!(r.snapshots_per_sec, 20.0);
        assert_eq!(r.down_bytes_per_sec, 2000.0);
        assert_eq!(r.up_bytes_per_sec, 400.0);
        assert_eq!(r.entity_updates_per_sec, 750.0);
        assert_eq!(r.bytes_per_entity_update, 2.0);
        assert_eq!(r.records_per_sec, 500.0);
        assert_eq!(r.bytes_per_record, 3.0);
        assert_eq!(r.ack_latency_ms.samples, 4);
        assert!((r.ack_latency_ms.p99 - 30.0).abs() < 0.1);
        assert!(r.is_clean());

        let json = serde_json::to_value(&r).expect("serializes");
        for key in [
            "bots",
            "connected",
            "disconnected",
            "desyncs",
            "decode_errors",
            "snapshots_per_sec",
            "down_bytes_per_sec",
            "up_bytes_per_sec",
            "entity_updates_per_sec",
            "bytes_per_entity_update",
            "records_per_sec",
            "bytes_per_record",
        ] {
            assert!(json.get(key).is_some(), "missing {key}");
        }
        for key in ["p50", "p99", "max"] {
            assert!(json["ack_latency_ms"].get(key).is_some(), "missing {key}");
        }
        assert_eq!(json["behavior"], "wander");
        assert_eq!(json["inputs_per_message"], 2);
        assert_eq!(json["bots_cpu_us_per_snapshot"], 6250.0);
        assert!(json.get("stalled").is_none(), "no stalled bots, no key");
        assert!(json.get("tick_ms").is_none(), "no server figures, no keys");
        let table = r.to_string();
        assert!(table.contains("bytes per entity update"), "{table}");
        assert!(table.contains("2 inputs per message"), "{table}");
        assert!(table.contains("6250.00 µs per bot-snapshot"), "{table}");
        let back: Report = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, r);
    }

    #[test]
    fn server_figures_and_stalled_bots_are_flat_keys_and_read_back() {
        use std::time::{Duration, Instant};

        use crate::prom::Scrape;
        use crate::server_metrics::{ServerFigures, ServerSample};
        let page = |cpu: f64, sent: u64, ticks: u64| {
            format!(
                "tickwire_players_connected 1\n\
                 tickwire_tick_duration_seconds_bucket{{le=\"0.001\"}} {ticks}\n\
                 tickwire_tick_duration_seconds_bucket{{le=\"+Inf\"}} {ticks}\n\
                 tickwire_tick_overruns_total 0\n\
                 tickwire_process_resident_memory_bytes 4096\n\
                 tickwire_process_cpu_seconds {cpu}\n\
                 tickwire_snapshots_sent_total {sent}\n"
            )
        };
        let t0 = Instant::now();
        let sample = |at, text: String| {
            ServerSample::from_scrape(&Scrape::parse(&text).expect("parses"), at).expect("complete")
        };
        let a = sample(t0, page(1.0, 0, 0));
        let b = sample(t0 + Duration::from_secs(2), page(2.0, 100, 120));
        let swarm = SwarmStats::new();
        let snap = swarm.snapshot();
        let info = RunInfo {
            url: "ws://x/ws".into(),
            behavior: Behavior::Wander,
            bots: 1,
            inputs_per_message: 3,
            steady_seconds: 2.0,
        };
        let mut r = Report::build(info, &snap, &snap, &snap);
        r.server = Some(ServerFigures::between(&a, &b));
        r.stalled = Some(Stalled::from_stats(50, &snap));
        let json = serde_json::to_value(&r).expect("serializes");
        assert_eq!(json["server_cpu_us_per_player_snapshot"], 10_000.0);
        assert_eq!(json["server_cpu_percent"], 50.0);
        assert_eq!(json["tick_ms"]["p99"], 1.0);
        assert_eq!(json["rss_bytes"], 4096);
        assert_eq!(json["stalled"]["bots"], 50);
        let back: Report = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, r);
        let table = r.to_string();
        assert!(table.contains("per player-snapshot"), "{table}");
        assert!(table.contains("stalled bots"), "{table}");
    }
}
