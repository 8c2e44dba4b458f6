//! Whether a find-max step was held: the limits, the figures they apply
//! to, and the verdict with its reasons.

use serde::{Deserialize, Serialize};

use crate::report::Latency;
use crate::server_metrics::TickMs;

/// The limits a step must stay under to count as held.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HeldLimits {
    /// The server's tick p99 must be under this share of the tick budget (1 / tick rate).
    pub tick_p99_budget_share: f64,
    /// The bots' p99 input-to-ack latency must be under this, ms.
    pub ack_p99_ms: f64,
}

impl Default for HeldLimits {
    fn default() -> Self {
        Self {
            tick_p99_budget_share: 0.5,
            ack_p99_ms: 100.0,
        }
    }
}

/// What the held/not-held decision looks at, for one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepFigures {
    /// Bots in the step.
    pub bots: u64,
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
    /// The tick rate from the `Welcome`s (`None` if no bot was welcomed).
    pub tick_rate: Option<u32>,
    /// Server tick durations over the hold.
    pub tick: TickMs,
    /// Whether the bots send inputs (and so must have their latency measured).
    pub sends_inputs: bool,
    /// The bots' input-to-ack latency over the hold.
    pub ack: Latency,
}

/// Why a step was not held; empty when it was.
pub fn judge(f: &StepFigures, limits: &HeldLimits) -> Vec<String> {
    let mut why = Vec::new();
    if f.connected_at_end < f.bots {
        why.push(format!(
            "{} of {} bots connected at the end of the hold",
            f.connected_at_end, f.bots
        ));
    }
    if f.connect_failures > 0 {
        why.push(format!("{} bots could not connect", f.connect_failures));
    }
    if f.disconnected > 0 {
        why.push(format!("{} bots lost their connection", f.disconnected));
    }
    if f.desyncs + f.decode_errors > 0 {
        why.push(format!(
            "{} desyncs and {} decode errors",
            f.desyncs, f.decode_errors
        ));
    }
    match f.tick_rate {
        None => why.push("no bot was welcomed: the tick rate is unknown".into()),
        Some(_) if f.tick.ticks == 0 => {
            why.push("the server reported no ticks during the hold".into());
        }
        Some(rate) => {
            let budget_ms = 1000.0 / f64::from(rate.max(1));
            let limit_ms = budget_ms * limits.tick_p99_budget_share;
            if f.tick.p99 >= limit_ms {
                why.push(format!(
                    "server tick p99 {:.2} ms ≥ {limit_ms:.2} ms ({:.0}% of the {budget_ms:.2} ms budget at {rate} Hz)",
                    f.tick.p99,
                    limits.tick_p99_budget_share * 100.0
                ));
            }
        }
    }
    if f.sends_inputs && f.ack.samples == 0 {
        why.push("no input was acknowledged during the hold".into());
    } else if f.ack.p99 >= limits.ack_p99_ms {
        why.push(format!(
            "bot input→ack p99 {:.1} ms ≥ {:.0} ms",
            f.ack.p99, limits.ack_p99_ms
        ));
    }
    why
}

/// The bot counts of the steps: `start`, `start + step`, ..., then `max`.
pub fn step_counts(start: usize, step: usize, max: usize) -> Vec<usize> {
    let mut counts = Vec::new();
    let mut n = start.clamp(1, max.max(1));
    loop {
        counts.push(n);
        if n >= max || step == 0 {
            return counts;
        }
        n = (n + step).min(max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fine() -> StepFigures {
        StepFigures {
            bots: 1000,
            connected_at_end: 1000,
            connect_failures: 0,
            disconnected: 0,
            desyncs: 0,
            decode_errors: 0,
            tick_rate: Some(60),
            tick: TickMs {
                ticks: 1200,
                p50: 2.0,
                p99: 8.25,
                max: 9.0,
            },
            sends_inputs: true,
            ack: Latency {
                samples: 500_000,
                p50: 30.0,
                p90: 50.0,
                p99: 99.9,
                max: 150.0,
            },
        }
    }

    #[test]
    fn a_step_within_every_limit_is_held() {
        assert!(judge(&fine(), &HeldLimits::default()).is_empty());
    }

    #[test]
    fn each_limit_alone_fails_a_step() {
        let limits = HeldLimits::default();
        let cases: Vec<(StepFigures, &str)> = vec![
            (
                StepFigures {
                    connected_at_end: 999,
                    ..fine()
                },
                "999 of 1000 bots connected",
            ),
            (
                StepFigures {
                    connect_failures: 2,
                    ..fine()
                },
                "2 bots could not connect",
            ),
            (
                StepFigures {
                    disconnected: 1,
                    ..fine()
                },
                "1 bots lost",
            ),
            (
                StepFigures {
                    desyncs: 1,
                    ..fine()
                },
                "1 desyncs",
            ),
            (
                StepFigures {
                    tick: TickMs {
                        p99: 8.5,
                        ..fine().tick
                    },
                    ..fine()
                },
                "server tick p99 8.50 ms ≥ 8.33 ms (50% of the 16.67 ms budget at 60 Hz)",
            ),
            (
                StepFigures {
                    ack: Latency {
                        p99: 100.0,
                        ..fine().ack
                    },
                    ..fine()
                },
                "input→ack p99 100.0 ms ≥ 100 ms",
            ),
            (
                StepFigures {
                    tick_rate: None,
                    ..fine()
                },
                "tick rate is unknown",
            ),
            (
                StepFigures {
                    tick: TickMs::default(),
                    ..fine()
                },
                "no ticks",
            ),
            (
                StepFigures {
                    ack: Latency::default(),
                    ..fine()
                },
                "no input was acknowledged",
            ),
        ];
        for (figures, expected) in cases {
            let why = judge(&figures, &limits);
            assert_eq!(why.len(), 1, "{why:?}");
            assert!(why[0].contains(expected), "{why:?} should say {expected:?}");
        }
    }

    #[test]
    fn the_budget_follows_the_tick_rate_and_the_limits() {
        // At 30 Hz the budget is 33.3 ms, so 8.5 ms is well inside half of it.
        let slow = StepFigures {
            tick_rate: Some(30),
            tick: TickMs {
                p99: 16.0,
                ..fine().tick
            },
            ..fine()
        };
        assert!(judge(&slow, &HeldLimits::default()).is_empty());
        let strict = HeldLimits {
            tick_p99_budget_share: 0.25,
            ack_p99_ms: 50.0,
        };
        assert_eq!(judge(&slow, &strict).len(), 2);
        // Bots that send no inputs have no latency to judge.
        let idle = StepFigures {
            sends_inputs: false,
            ack: Latency::default(),
            ..fine()
        };
        assert!(judge(&idle, &HeldLimits::default()).is_empty());
    }

    #[test]
    fn steps_rise_by_step_and_end_at_max() {
        assert_eq!(step_counts(250, 250, 1000), vec![250, 500, 750, 1000]);
        assert_eq!(step_counts(250, 300, 1000), vec![250, 550, 850, 1000]);
        assert_eq!(step_counts(5000, 250, 1000), vec![1000]);
        assert_eq!(step_counts(100, 0, 1000), vec![100]);
        assert_eq!(step_counts(0, 10, 20), vec![1, 11, 20]);
    }
}
