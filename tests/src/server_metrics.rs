//! The server's own figures over a measured period, read from its
//! `/metrics` page at the start and at the end: tick time, overruns,
//! resident memory, and CPU per player-snapshot.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::http_get::{HttpGetError, HttpGetter};
use crate::prom::{Buckets, PromError, Scrape};
use crate::target::Target;

/// How long one read of `/metrics` may take.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(3);

/// The metrics read (names as the server exports them).
const TICK_SECONDS: &str = "tickwire_tick_duration_seconds";
const TICK_OVERRUNS: &str = "tickwire_tick_overruns_total";
const RSS_BYTES: &str = "tickwire_process_resident_memory_bytes";
const CPU_SECONDS: &str = "tickwire_process_cpu_seconds";
const SNAPSHOTS_SENT: &str = "tickwire_snapshots_sent_total";
const PLAYERS: &str = "tickwire_players_connected";
const DISCONNECTS: &str = "tickwire_disconnects_total";
const INPUT_LATENCY: &str = "tickwire_input_latency_seconds";
const PHASE_MOVES: &str = "tickwire_phase_moves_total";

/// Why the server's figures could not be read.
#[derive(Debug, Error)]
pub enum ProbeError {
    /// The page could not be fetched.
    #[error("GET /metrics: {0}")]
    Http(#[from] HttpGetError),
    /// The page is not in the Prometheus text format.
    #[error(transparent)]
    Parse(#[from] PromError),
    /// A metric the bots need is not on the page.
    #[error("/metrics has no {0}")]
    Missing(&'static str),
}

/// Reads a server's `/metrics` on the host and port of its WebSocket URL.
#[derive(Debug, Clone)]
pub struct ServerProbe {
    http: HttpGetter,
    url: String,
}

impl ServerProbe {
    /// A probe for the server behind `target`.
    pub fn new(target: &Target) -> Self {
        Self {
            http: HttpGetter::new(SCRAPE_TIMEOUT),
            url: format!("http://{}/metrics", target.addr()),
        }
    }

    /// The metrics URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Reads the server's figures now.
    pub async fn sample(&self) -> Result<ServerSample, ProbeError> {
        let text = self.http.get_text(&self.url).await?;
        ServerSample::from_scrape(&Scrape::parse(&text)?, Instant::now())
    }
}

/// The server's counters at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerSample {
    /// When it was read.
    pub at: Instant,
    /// Tick durations so far, seconds.
    pub tick: Buckets,
    /// Ticks longer than the tick period so far.
    pub tick_overruns: u64,
    /// Resident memory, bytes.
    pub rss_bytes: u64,
    /// CPU time used so far (user and system), seconds.
    pub cpu_seconds: f64,
    /// Deltas written to clients so far (player-snapshots).
    pub snapshots_sent: u64,
    /// Players connected.
    pub players: u64,
    /// Connections ended so far, by the server's reason label.
    pub disconnects: BTreeMap<String, u64>,
    /// Server-added input latency so far, seconds: received → applied by a
    /// tick, and received → reported in a delta written (`None` from a server
    /// that does not export them).
    pub input_applied: Option<Buckets>,
    /// See [`Self::input_applied`].
    pub input_sent: Option<Buckets>,
    /// Sessions moved to another snapshot phase so far (`None` from a
    /// server that does not export it, or before any move).
    pub phase_moves: Option<u64>,
}

impl ServerSample {
    /// The figures in one scrape, read at `at`.
    pub fn from_scrape(s: &Scrape, at: Instant) -> Result<Self, ProbeError> {
        let num = |name: &'static str| s.value(name).ok_or(ProbeError::Missing(name));
        Ok(Self {
            at,
            tick: s
                .histogram(TICK_SECONDS)
                .ok_or(ProbeError::Missing(TICK_SECONDS))?,
            tick_overruns: num(TICK_OVERRUNS)? as u64,
            rss_bytes: num(RSS_BYTES)? as u64,
            cpu_seconds: num(CPU_SECONDS)?,
            snapshots_sent: num(SNAPSHOTS_SENT)? as u64,
            players: num(PLAYERS)? as u64,
            disconnects: s
                .by_label(DISCONNECTS, "reason")
                .into_iter()
                .map(|(k, v)| (k, v as u64))
                .collect(),
            input_applied: s.histogram_where(INPUT_LATENCY, "part", "applied"),
            input_sent: s.histogram_where(INPUT_LATENCY, "part", "sent"),
            phase_moves: s
                .by_label(PHASE_MOVES, "outcome")
                .get("moved")
                .map(|&n| n as u64),
        })
    }
}

/// A histogram bucket bound in seconds, in ms. Bounds are round in ms: this
/// drops the float noise of the conversion.
fn bound_ms(seconds: f64) -> f64 {
    (seconds * 1e6).round() / 1000.0
}

/// The median and 99th percentile of a latency over a period, ms: each the
/// upper bound of the histogram bucket it falls in (1 ms wide up to 20 ms,
/// 2.5 ms up to 100 ms).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyMs {
    /// Observations in the period.
    pub samples: u64,
    /// Median, ms.
    pub p50: f64,
    /// 99th percentile, ms.
    pub p99: f64,
}

impl LatencyMs {
    /// From a histogram of seconds; `None` when it is empty.
    pub fn from_buckets(b: &Buckets) -> Option<Self> {
        Some(Self {
            samples: b.count(),
            p50: bound_ms(b.quantile(0.50)?),
            p99: bound_ms(b.quantile(0.99)?),
        })
    }

    fn over(start: &Option<Buckets>, end: &Option<Buckets>) -> Option<Self> {
        let period = end.as_ref()?.since(start.as_ref()?)?;
        Self::from_buckets(&period)
    }
}

/// The latency the server adds to an input, by stage, over a period.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct InputLatencyMs {
    /// From its receipt to the tick that applies it.
    pub applied: LatencyMs,
    /// From its receipt to the delta that reports it applied being written.
    pub sent: LatencyMs,
}

/// Tick durations over a period, ms. Each figure is the upper bound of the
/// histogram bucket it falls in (0.25 ms wide up to 10 ms).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct TickMs {
    /// Ticks in the period (all rooms).
    pub ticks: u64,
    /// Median, ms.
    pub p50: f64,
    /// 99th percentile, ms.
    pub p99: f64,
    /// Upper bound of the highest non-empty bucket, ms.
    pub max: f64,
}

impl TickMs {
    /// From a histogram of seconds (all zero when it is empty).
    pub fn from_buckets(b: &Buckets) -> Self {
        let ms = |s: Option<f64>| s.map_or(0.0, bound_ms);
        Self {
            ticks: b.count(),
            p50: ms(b.quantile(0.50)),
            p99: ms(b.quantile(0.99)),
            max: ms(b.max()),
        }
    }
}

/// What the server did over a measured period, from its own metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerFigures {
    /// Tick durations over the period.
    pub tick_ms: TickMs,
    /// Ticks over the period that took longer than the tick period.
    pub tick_overruns: u64,
    /// Resident memory of the server at the end of the period, bytes.
    pub rss_bytes: u64,
    /// Server CPU time over the period divided by the deltas it sent to
    /// clients in it, µs (`null` when it sent none).
    pub server_cpu_us_per_player_snapshot: Option<f64>,
    /// Server CPU time over the period divided by its length, percent of
    /// one core (up to 100 × cores).
    pub server_cpu_percent: f64,
    /// Deltas the server sent over the period.
    pub server_snapshots_sent: u64,
    /// Connections the server ended over the period, by its reason label.
    pub server_disconnects: BTreeMap<String, u64>,
    /// The latency the server added to inputs over the period (`null`
    /// without inputs, or from a server that does not export it).
    #[serde(default)]
    pub server_input_latency_ms: Option<InputLatencyMs>,
    /// Sessions the server moved to another snapshot phase over the period
    /// (`null` from a server that does not export it). Many more than
    /// players joined is a sign of overload: late-read batches look like a
    /// client out of phase.
    #[serde(default)]
    pub server_phase_moves: Option<u64>,
}

impl ServerFigures {
    /// The figures between two samples of the same server.
    pub fn between(start: &ServerSample, end: &ServerSample) -> Self {
        let seconds = end.at.saturating_duration_since(start.at).as_secs_f64();
        let cpu = (end.cpu_seconds - start.cpu_seconds).max(0.0);
        let sent = end.snapshots_sent.saturating_sub(start.snapshots_sent);
        let tick = end.tick.since(&start.tick);
        Self {
            tick_ms: tick.as_ref().map(TickMs::from_buckets).unwrap_or_default(),
            tick_overruns: end.tick_overruns.saturating_sub(start.tick_overruns),
            rss_bytes: end.rss_bytes,
            server_cpu_us_per_player_snapshot: (sent > 0).then(|| cpu * 1e6 / sent as f64),
            server_cpu_percent: if seconds > 0.0 {
                cpu / seconds * 100.0
            } else {
                0.0
            },
            server_snapshots_sent: sent,
            server_disconnects: end
                .disconnects
                .iter()
                .filter_map(|(reason, &n)| {
                    let before = start.disconnects.get(reason).copied().unwrap_or(0);
                    (n > before).then(|| (reason.clone(), n - before))
                })
                .collect(),
            server_input_latency_ms: LatencyMs::over(&start.input_applied, &end.input_applied)
                .zip(LatencyMs::over(&start.input_sent, &end.input_sent))
                .map(|(applied, sent)| InputLatencyMs { applied, sent }),
            // Counters appear at their first move: none at the start is 0.
            server_phase_moves: end
                .phase_moves
                .map(|n| n.saturating_sub(start.phase_moves.unwrap_or(0))),
        }
    }

    /// Lines for the people's table.
    pub fn write_rows(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let row =
            |f: &mut std::fmt::Formatter<'_>, k: &str, v: String| writeln!(f, "  {k:<28} {v}");
        let t = &self.tick_ms;
        row(
            f,
            "server tick, ms",
            format!(
                "p50 {:.2}  p99 {:.2}  max {:.2}  ({} ticks, {} overruns)",
                t.p50, t.p99, t.max, t.ticks, self.tick_overruns
            ),
        )?;
        row(
            f,
            "server memory (RSS)",
            format!("{:.1} MiB", crate::report::mib(self.rss_bytes)),
        )?;
        let per_snapshot = self
            .server_cpu_us_per_player_snapshot
            .map_or_else(|| "n/a".to_owned(), |us| format!("{us:.2} µs"));
        row(
            f,
            "server CPU",
            format!(
                "{:.0}% of a core; {per_snapshot} per player-snapshot ({} sent)",
                self.server_cpu_percent, self.server_snapshots_sent
            ),
        )?;
        if let Some(l) = &self.server_input_latency_ms {
            row(
                f,
                "server-added input latency",
                format!(
                    "received → applied p50 ≤ {:.1}  p99 ≤ {:.1} ms; → sent in a delta p50 ≤ {:.1}  p99 ≤ {:.1} ms",
                    l.applied.p50, l.applied.p99, l.sent.p50, l.sent.p99
                ),
            )?;
        }
        if let Some(moves) = self.server_phase_moves {
            row(f, "server phase moves", format!("{moves}"))?;
        }
        for (reason, n) in &self.server_disconnects {
            row(f, "server disconnects", format!("{n} × {reason}"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at: Instant, text: &str) -> ServerSample {
        ServerSample::from_scrape(&Scrape::parse(text).expect("parses"), at).expect("complete")
    }

    fn page(ticks: [u64; 3], overruns: u64, cpu: f64, sent: u64, stalled: u64) -> String {
        format!(
            "tickwire_players_connected 10\n\
             tickwire_tick_duration_seconds_bucket{{le=\"0.001\"}} {}\n\
             tickwire_tick_duration_seconds_bucket{{le=\"0.002\"}} {}\n\
             tickwire_tick_duration_seconds_bucket{{le=\"+Inf\"}} {}\n\
             tickwire_tick_overruns_total {overruns}\n\
             tickwire_process_resident_memory_bytes 1048576\n\
             tickwire_process_cpu_seconds {cpu}\n\
             tickwire_snapshots_sent_total {sent}\n\
             tickwire_disconnects_total{{reason=\"client_closed\"}} 4\n\
             tickwire_disconnects_total{{reason=\"stalled\"}} {stalled}\n",
            ticks[0], ticks[1], ticks[2]
        )
    }

    /// `page` plus the input latency histograms: `applied` and `sent`
    /// cumulative counts at 10 ms, 50 ms and +Inf.
    fn page_with_latency(applied: [u64; 3], sent: [u64; 3]) -> String {
        let mut text = page([1, 1, 1], 0, 1.0, 1, 0);
        for (part, c) in [("applied", applied), ("sent", sent)] {
            for (le, n) in ["0.01", "0.05", "+Inf"].iter().zip(c) {
                text.push_str(&format!(
                    "tickwire_input_latency_seconds_bucket{{le=\"{le}\",part=\"{part}\"}} {n}\n"
                ));
            }
        }
        text
    }

    #[test]
    fn server_added_latency_is_read_per_stage_over_the_period() {
        let t0 = Instant::now();
        let start = sample(t0, &page_with_latency([50, 50, 50], [0, 50, 50]));
        // In the period: 100 applied, all within 10 ms; 100 sent, 98 within
        // 50 ms and 2 beyond.
        let end = sample(t0, &page_with_latency([150, 150, 150], [0, 148, 150]));
        let l = ServerFigures::between(&start, &end)
            .server_input_latency_ms
            .expect("both stages exported");
        assert_eq!(
            (l.applied.samples, l.applied.p50, l.applied.p99),
            (100, 10.0, 10.0)
        );
        // The p99 falls in the +Inf bucket: read as the largest finite bound.
        assert_eq!((l.sent.samples, l.sent.p50, l.sent.p99), (100, 50.0, 50.0));
        let f = ServerFigures::between(&start, &start);
        assert_eq!(f.server_input_latency_ms, None, "no inputs in the period");
        let old = sample(t0, &page([1, 1, 1], 0, 1.0, 1, 0));
        assert_eq!(
            ServerFigures::between(&old, &old).server_input_latency_ms,
            None
        );
    }

    #[test]
    fn figures_are_the_difference_over_the_period() {
        let t0 = Instant::now();
        let start = sample(t0, &page([10, 10, 10], 1, 5.0, 1000, 0));
        let end = sample(
            t0 + Duration::from_secs(10),
            &page([1000, 1210, 1210], 3, 10.0, 11_000, 2),
        );
        let f = ServerFigures::between(&start, &end);
        assert_eq!(f.tick_ms.ticks, 1200);
        assert_eq!(f.tick_ms.p50, 1.0);
        assert_eq!(f.tick_ms.p99, 2.0);
        assert_eq!(f.tick_ms.max, 2.0);
        assert_eq!(f.tick_overruns, 2);
        assert_eq!(f.rss_bytes, 1 << 20);
        assert_eq!(f.server_snapshots_sent, 10_000);
        let per = f.server_cpu_us_per_player_snapshot.expect("snapshots sent");
        assert!(
            (per - 500.0).abs() < 1e-9,
            "5 s of CPU over 10,000 snapshots: {per}"
        );
        assert!((f.server_cpu_percent - 50.0).abs() < 1e-9);
        assert_eq!(f.server_disconnects.len(), 1, "only reasons that grew");
        assert_eq!(f.server_disconnects.get("stalled"), Some(&2));
        assert_eq!(f.server_phase_moves, None, "not exported by this page");
        let json = serde_json::to_value(&f).expect("serializes");
        for key in [
            "tick_ms",
            "tick_overruns",
            "rss_bytes",
            "server_cpu_us_per_player_snapshot",
            "server_cpu_percent",
        ] {
            assert!(json.get(key).is_some(), "missing {key}");
        }
    }

    #[test]
    fn phase_moves_are_counted_over_the_period_from_their_first_appearance() {
        let t0 = Instant::now();
        let base = page([1, 1, 1], 0, 1.0, 1, 0);
        let with_moves = |moved: u64| {
            format!(
                "{base}tickwire_phase_moves_total{{outcome=\"full\"}} 7\n\
                 tickwire_phase_moves_total{{outcome=\"moved\"}} {moved}\n"
            )
        };
        let none_yet = sample(t0, &base);
        let some = sample(t0, &with_moves(40));
        let more = sample(t0, &with_moves(65));
        let moves =
            |a: &ServerSample, b: &ServerSample| ServerFigures::between(a, b).server_phase_moves;
        assert_eq!(moves(&some, &more), Some(25), "only `moved` counts");
        assert_eq!(
            moves(&none_yet, &some),
            Some(40),
            "no counter yet reads as 0"
        );
        assert_eq!(moves(&none_yet, &none_yet), None);
    }

    #[test]
    fn a_missing_metric_is_an_error() {
        let text = page([0, 0, 0], 0, 0.0, 0, 0).replace("tickwire_process_cpu_seconds", "x");
        let err = ServerSample::from_scrape(&Scrape::parse(&text).expect("parses"), Instant::now())
            .expect_err("incomplete");
        assert!(matches!(err, ProbeError::Missing(CPU_SECONDS)), "{err}");
    }

    #[test]
    fn no_snapshots_means_no_cost_per_snapshot() {
        let t0 = Instant::now();
        let a = sample(t0, &page([0, 0, 0], 0, 1.0, 0, 0));
        let b = sample(t0 + Duration::from_secs(1), &page([0, 0, 0], 0, 1.0, 0, 0));
        let f = ServerFigures::between(&a, &b);
        assert_eq!(f.server_cpu_us_per_player_snapshot, None);
        assert_eq!(f.tick_ms, TickMs::default());
    }

    /// The real server's page has every metric the bots read.
    #[tokio::test]
    async fn reads_the_real_servers_metrics() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds");
        let addr = listener.local_addr().expect("address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(tickwire_server::run(
            listener,
            tickwire_server::ServerConfig::default(),
            async move {
                let _ = stopped.await;
            },
        ));
        let probe = ServerProbe::new(&Target::local(addr));
        assert_eq!(probe.url(), format!("http://{addr}/metrics"));
        let s = probe.sample().await.expect("reads /metrics");
        assert!(s.rss_bytes > 0);
        assert_eq!(s.players, 0);
        let _ = stop.send(());
        server.await.expect("no panic").expect("runs");
    }

    #[tokio::test]
    async fn a_server_without_metrics_is_an_error() {
        // A port that accepts TCP and closes at once: no HTTP answer.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                drop(s);
            }
        });
        let err = ServerProbe::new(&Target::local(addr))
            .sample()
            .await
            .expect_err("no page");
        assert!(matches!(err, ProbeError::Http(_)), "{err}");
    }
}
