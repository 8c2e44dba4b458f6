//! find-max end to end against a real server: steps grow to `max`, each is
//! held and judged on the server's own figures, the memory probe is in the
//! report, and with `settle_seconds` each hold waits for the bots' latency
//! to settle first and says how long it waited.

mod common;

use common::*;
use tickwire_tests::find_max::{FindMaxConfig, FindMaxReport, SETTLED_INTERVALS, StepPhase};
use tickwire_tests::memory_probe::PROBE_MIB;
use tickwire_tests::{Behavior, run_find_max};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steps_are_held_up_to_max_after_settling() -> anyhow::Result<()> {
    init_tracing();
    let server = TestServer::start(small_world((3000, 3000), (800, 800))).await?;
    let config = FindMaxConfig {
        url: format!("ws://{}/ws", server.addr),
        start: 4,
        step: 4,
        max: 8,
        hold_seconds: 2.5,
        ramp_per_sec: 100.0,
        behavior: Behavior::Wander,
        threads: 1,
        settle_seconds: 5.0,
        ..FindMaxConfig::default()
    };
    let mut phases = Vec::new();
    let report = run_find_max(config, |p| phases.push((p.step, p.phase))).await?;

    assert_eq!(report.players_held, 8, "{}", report.stopped_because);
    assert_eq!(report.steps.len(), 2);
    for step in &report.steps {
        assert!(step.held, "{:?}", step.not_held_because);
        assert_eq!(
            step.settled,
            Some(true),
            "a handful of bots settles at once"
        );
        let waited = step.settle_seconds.expect("settle time reported");
        assert!(
            waited >= f64::from(SETTLED_INTERVALS) * 0.9 && waited < 5.0,
            "waited {waited} s"
        );
        assert!(
            step.server.tick_ms.ticks > 0,
            "judged on the server's ticks"
        );
        assert!(step.ack_latency_ms.samples > 0);
    }
    // Every step went ramp, settle, hold, in that order.
    for step in 1..=2 {
        let order: Vec<StepPhase> = phases
            .iter()
            .filter(|(s, _)| *s == step)
            .map(|(_, p)| *p)
            .fold(Vec::new(), |mut seen, p| {
                if seen.last() != Some(&p) {
                    seen.push(p);
                }
                seen
            });
        assert_eq!(
            order
                .iter()
                .filter(|p| **p != StepPhase::Ramp)
                .collect::<Vec<_>>(),
            vec![&StepPhase::Settle, &StepPhase::Hold],
            "step {step}: {order:?}"
        );
    }
    let mibs: Vec<u32> = report.memory_before.iter().map(|m| m.mib).collect();
    assert_eq!(mibs, PROBE_MIB);
    assert!(report.memory_after.iter().all(|m| m.ns_per_read > 0.0));
    // The report survives its JSON form (floats to within their last digit).
    let json = serde_json::to_string(&report)?;
    let back: FindMaxReport = serde_json::from_str(&json)?;
    assert_eq!(back.players_held, report.players_held);
    assert_eq!(back.memory_before.len(), PROBE_MIB.len());
    for (b, s) in back.steps.iter().zip(&report.steps) {
        assert_eq!((b.bots, b.held, b.settled), (s.bots, s.held, s.settled));
        assert!((b.settle_seconds.unwrap_or(0.0) - s.settle_seconds.unwrap_or(0.0)).abs() < 1e-9);
    }
    assert!(
        report
            .to_string()
            .contains("each hold began once the ack p99")
    );
    server.stop().await
}
