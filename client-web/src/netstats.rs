//! Rolling network statistics for the overlay: rates over the last second.

use std::collections::VecDeque;

use serde::Serialize;

/// The window rates are measured over, ms.
const WINDOW_MS: f64 = 1000.0;
/// Samples one meter keeps at most. A second holds about 60 inputs, 20
/// snapshots and a ping per direction; the cap only guards against a flood.
const MAX_SAMPLES: usize = 1024;

/// Sums amounts recorded over the last second.
#[derive(Debug, Clone, Default)]
pub struct RateMeter {
    samples: VecDeque<(f64, f64)>,
    total: f64,
}

impl RateMeter {
    /// Records `amount` at `now_ms`.
    pub fn add(&mut self, now_ms: f64, amount: f64) {
        if self.samples.len() == MAX_SAMPLES {
            self.samples.pop_front();
        }
        self.samples.push_back((now_ms, amount));
        self.total += amount;
    }

    /// The sum of the amounts recorded within the last second before `now_ms`.
    pub fn per_second(&mut self, now_ms: f64) -> f64 {
        while self
            .samples
            .front()
            .is_some_and(|(t, _)| *t <= now_ms - WINDOW_MS)
        {
            self.samples.pop_front();
        }
        self.samples.iter().map(|(_, a)| a).sum()
    }

    /// The sum of everything ever recorded.
    pub fn total(&self) -> f64 {
        self.total
    }
}

/// What the network overlay and the test hook show.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NetReport {
    /// Smoothed round-trip time, ms (`null` before the first pong).
    pub rtt_ms: Option<f64>,
    /// Snapshots applied over the last second.
    pub snapshots_per_s: f64,
    /// Payload received over the last second, kilobits.
    pub kbps_down: f64,
    /// Payload sent over the last second, kilobits.
    pub kbps_up: f64,
    /// How far behind the newest snapshot remote entities are drawn, ms.
    pub interp_delay_ms: f64,
    /// Predictions the server corrected over the last second.
    pub corrections_per_s: f64,
    /// Predictions the server corrected since joining.
    pub corrections: u64,
    /// Deltas that failed to apply (each one asks for a full snapshot).
    pub desyncs: u64,
    /// Inputs sent that the server has not applied yet.
    pub pending_inputs: usize,
    /// Bytes received since joining.
    pub bytes_down: u64,
    /// Bytes sent since joining.
    pub bytes_up: u64,
}

/// The meters of one connection.
#[derive(Debug, Clone, Default)]
pub struct NetStats {
    down: RateMeter,
    up: RateMeter,
    snapshots: RateMeter,
    corrections: RateMeter,
    corrections_seen: u64,
}

impl NetStats {
    /// A message of `bytes` arrived.
    pub fn received(&mut self, now_ms: f64, bytes: usize) {
        self.down.add(now_ms, bytes as f64);
    }

    /// A message of `bytes` went out.
    pub fn sent(&mut self, now_ms: f64, bytes: usize) {
        self.up.add(now_ms, bytes as f64);
    }

    /// A snapshot was applied.
    pub fn snapshot(&mut self, now_ms: f64) {
        self.snapshots.add(now_ms, 1.0);
    }

    /// The predictor's running count of corrections, read after a snapshot.
    pub fn corrections_total(&mut self, now_ms: f64, total: u64) {
        if total > self.corrections_seen {
            self.corrections
                .add(now_ms, (total - self.corrections_seen) as f64);
            self.corrections_seen = total;
        }
    }

    /// Fills the rates of `report` as of `now_ms`; the session's own figures are the caller's.
    pub fn report(&mut self, now_ms: f64) -> NetReport {
        NetReport {
            snapshots_per_s: self.snapshots.per_second(now_ms),
            kbps_down: self.down.per_second(now_ms) * 8.0 / 1000.0,
            kbps_up: self.up.per_second(now_ms) * 8.0 / 1000.0,
            corrections_per_s: self.corrections.per_second(now_ms),
            corrections: self.corrections_seen,
            bytes_down: self.down.total() as u64,
            bytes_up: self.up.total() as u64,
            ..NetReport::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_cover_the_last_second_only() {
        let mut m = RateMeter::default();
        for i in 0..40 {
            m.add(f64::from(i) * 50.0, 100.0); // 20 per second for 2 s
        }
        assert_eq!(m.per_second(1950.0), 2000.0);
        assert_eq!(m.per_second(2940.0), 100.0);
        assert_eq!(m.per_second(5000.0), 0.0);
        assert_eq!(m.total(), 4000.0);
    }

    #[test]
    fn the_report_converts_bytes_to_kilobits_and_counts_corrections() {
        let mut s = NetStats::default();
        for i in 0..20 {
            let t = f64::from(i) * 50.0;
            s.received(t, 125);
            s.snapshot(t);
            s.sent(t, 25);
        }
        s.corrections_total(100.0, 2);
        s.corrections_total(200.0, 2);
        s.corrections_total(300.0, 3);
        let r = s.report(999.0);
        assert_eq!(r.snapshots_per_s, 20.0);
        assert_eq!(r.kbps_down, 20.0);
        assert_eq!(r.kbps_up, 4.0);
        assert_eq!((r.corrections, r.corrections_per_s), (3, 3.0));
        assert_eq!(s.report(1400.0).corrections_per_s, 0.0);
    }
}
