//! A session's counts for the shared metrics, added up locally and handed
//! over in batches: each shared counter is an atomic that every session's
//! thread writes, so one update per delta per counter would keep their cache
//! lines moving between cores.

use tickwire_protocol::delta::DeltaProfile;

use super::writer::BaselineKind;
use crate::metrics::Metrics;

/// Deltas counted before the counts go to the shared metrics (about a second
/// at 20 snapshots a second); the rest goes when the session ends.
const FLUSH_EVERY_DELTAS: u32 = 20;

/// Counts not yet added to the shared metrics.
#[derive(Debug, Default)]
pub struct Tally {
    deltas: u32,
    profile: DeltaProfile,
    /// Deltas by what they were encoded against, in [`BaselineKind::ALL`] order.
    by_baseline: [u32; 3],
    messages_out: u32,
    bytes_out: u64,
    messages_in: u32,
    bytes_in: u64,
}

impl Tally {
    /// Counts a message received, of `bytes` bytes.
    pub fn received(&mut self, bytes: usize) {
        self.messages_in += 1;
        self.bytes_in += bytes as u64;
    }

    /// Counts a message sent, of `bytes` bytes.
    pub fn sent(&mut self, bytes: usize) {
        self.messages_out += 1;
        self.bytes_out += bytes as u64;
    }

    /// Counts a delta written, with what it carried and what it was encoded
    /// against; every [`FLUSH_EVERY_DELTAS`] deltas, hands the counts to `metrics`.
    pub fn delta(&mut self, p: &DeltaProfile, baseline: BaselineKind, metrics: &Metrics) {
        self.deltas += 1;
        self.by_baseline[baseline.index()] += 1;
        let sum = &mut self.profile;
        sum.header_bits += p.header_bits;
        sum.left_bits += p.left_bits;
        sum.changed_bits += p.changed_bits;
        sum.entered_bits += p.entered_bits;
        sum.left_count += p.left_count;
        sum.coasting_count += p.coasting_count;
        for (s, n) in sum.changed_by_form.iter_mut().zip(p.changed_by_form) {
            *s += n;
        }
        for (s, n) in sum.entered_by_kind.iter_mut().zip(p.entered_by_kind) {
            *s += n;
        }
        if self.deltas >= FLUSH_EVERY_DELTAS {
            self.flush(metrics);
        }
    }

    /// Hands every count to `metrics`, and starts again from zero.
    pub fn flush(&mut self, metrics: &Metrics) {
        let t = std::mem::take(self);
        if t.deltas > 0 {
            metrics.snapshots_sent.inc_by(u64::from(t.deltas));
            metrics.delta(&t.profile);
            metrics.deltas_by_baseline(&t.by_baseline);
        }
        if t.messages_out > 0 {
            metrics.messages_out.inc_by(u64::from(t.messages_out));
            metrics.bytes_out.inc_by(t.bytes_out);
        }
        if t.messages_in > 0 {
            metrics.messages_in.inc_by(u64::from(t.messages_in));
            metrics.bytes_in.inc_by(t.bytes_in);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(metrics: &Metrics, name: &str) -> f64 {
        let text = metrics.render();
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or(0.0)
    }

    #[test]
    fn counts_reach_the_metrics_in_batches_and_in_full() {
        let metrics = Metrics::new();
        let mut tally = Tally::default();
        let profile = DeltaProfile {
            header_bits: 20,
            changed_bits: 7,
            changed_by_form: [1, 0, 0, 2, 0, 0, 0],
            ..Default::default()
        };
        for i in 0..FLUSH_EVERY_DELTAS - 1 {
            tally.received(10);
            tally.sent(30);
            let baseline = if i == 0 {
                BaselineKind::None
            } else {
                BaselineKind::Phase
            };
            tally.delta(&profile, baseline, &metrics);
        }
        assert_eq!(value(&metrics, "tickwire_snapshots_sent_total"), 0.0);
        tally.delta(&profile, BaselineKind::Other, &metrics);
        let n = f64::from(FLUSH_EVERY_DELTAS);
        assert_eq!(value(&metrics, "tickwire_snapshots_sent_total"), n);
        assert_eq!(
            value(&metrics, "tickwire_delta_bits_total{part=\"header\"}"),
            20.0 * n
        );
        assert_eq!(
            value(
                &metrics,
                "tickwire_entity_updates_total{part=\"changed_pos\"}"
            ),
            2.0 * n
        );
        let by_baseline = |b: &str| {
            value(
                &metrics,
                &format!("tickwire_deltas_total{{baseline=\"{b}\"}}"),
            )
        };
        assert_eq!(by_baseline("none"), 1.0);
        assert_eq!(by_baseline("phase"), n - 2.0);
        assert_eq!(by_baseline("other"), 1.0);
        assert_eq!(value(&metrics, "tickwire_messages_in_total"), n - 1.0);
        assert_eq!(
            value(&metrics, "tickwire_bytes_out_total"),
            30.0 * (n - 1.0)
        );
        tally.received(5);
        tally.flush(&metrics);
        assert_eq!(value(&metrics, "tickwire_messages_in_total"), n);
        assert_eq!(
            value(&metrics, "tickwire_bytes_in_total"),
            10.0 * (n - 1.0) + 5.0
        );
    }
}
