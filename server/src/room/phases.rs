//! Staggered snapshots: each session gets a snapshot every `interval` ticks,
//! but not all sessions at the same tick.
//!
//! With one snapshot every third tick for everyone, every session wakes at
//! once: thousands of deltas are encoded and written in one burst that takes
//! most of a snapshot interval, while ticks and inputs wait behind it, and the
//! client written last waits the longest. Instead sessions are dealt round
//! robin into `interval` phases, and the room publishes a snapshot every tick
//! to one phase in turn (tick `t` to phase `t % interval`). Each client still
//! gets the snapshot rate, every `interval` ticks; the server's work and the
//! clients' traffic are spread evenly over the ticks, so the burst is a third
//! as long (at 60 Hz ticks and 20 Hz snapshots). This is what the Source
//! engine does with its per-client update times.
//!
//! A phase's baselines are its own previous snapshot, `interval` ticks back,
//! so each snapshot's shared delta records are encoded against that one.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tickwire_protocol::view::ViewEntry;
use tokio::sync::watch;

use super::Snapshot;
use super::relay::spawn_relay;

/// The tick and entities of a published snapshot.
pub type Published = (u32, Arc<Vec<ViewEntry>>);

/// The tick loop's side: one sender per phase, and each phase's last snapshot.
#[derive(Debug)]
pub struct PhaseSenders {
    phases: Vec<(watch::Sender<Arc<Snapshot>>, Option<Published>)>,
}

/// The sessions' side: one receiver per phase, dealt out round robin.
#[derive(Debug, Clone)]
pub struct PhaseReceivers {
    phases: Arc<[watch::Receiver<Arc<Snapshot>>]>,
    next: Arc<AtomicUsize>,
}

/// Starts one relay per phase (`interval` of them, at least one) on
/// `runtime`, each starting from `first()`.
pub fn spawn_phases(
    runtime: &tokio::runtime::Handle,
    interval: u16,
    mut first: impl FnMut() -> Snapshot,
) -> (PhaseSenders, PhaseReceivers) {
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..interval.max(1))
        .map(|_| {
            let snapshot = first();
            let published = (snapshot.tick, snapshot.entities.clone());
            let (tx, rx) = spawn_relay(runtime, Arc::new(snapshot));
            ((tx, Some(published)), rx)
        })
        .unzip();
    let receivers = PhaseReceivers {
        phases: receivers.into(),
        next: Arc::new(AtomicUsize::new(0)),
    };
    (PhaseSenders { phases: senders }, receivers)
}

impl PhaseSenders {
    /// Publishes the snapshot of `tick` to its phase. `build` is given that
    /// phase's previous snapshot (the baseline of most of its sessions).
    pub fn publish(&mut self, tick: u32, build: impl FnOnce(Option<Published>) -> Snapshot) {
        let n = self.phases.len() as u32;
        let (sender, last) = &mut self.phases[(tick % n) as usize];
        let previous = last.take().filter(|(t, _)| *t != tick);
        let snapshot = build(previous);
        *last = Some((snapshot.tick, snapshot.entities.clone()));
        sender.send_replace(Arc::new(snapshot));
    }
}

impl PhaseReceivers {
    /// A receiver for a new session, of the next phase in turn.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Snapshot>> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.phases.len();
        self.phases[i].clone()
    }

    /// The number of phases.
    pub fn len(&self) -> usize {
        self.phases.len()
    }

    /// Whether there are no phases (never: there is at least one).
    pub fn is_empty(&self) -> bool {
        self.phases.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(tick: u32, previous: Option<Published>) -> Snapshot {
        Snapshot {
            tick,
            entities: Arc::new(vec![(
                tickwire_protocol::EntityId(tick),
                Default::default(),
            )]),
            previous,
            ..Snapshot::default()
        }
    }

    #[tokio::test]
    async fn each_phase_gets_every_interval_th_tick_against_its_own_last_snapshot() {
        let rt = tokio::runtime::Handle::current();
        let (mut senders, receivers) = spawn_phases(&rt, 3, || snapshot(0, None));
        assert_eq!(receivers.len(), 3);
        // Six sessions, dealt round robin: two per phase.
        let mut sessions: Vec<_> = (0..6).map(|_| receivers.subscribe()).collect();
        for tick in 1..=9u32 {
            senders.publish(tick, |previous| {
                if tick > 3 {
                    // A phase's baseline is its own snapshot, 3 ticks back.
                    let (t, entities) = previous.clone().expect("a previous snapshot");
                    assert_eq!(t, tick - 3);
                    assert_eq!(entities[0].0.0, tick - 3);
                }
                snapshot(tick, previous)
            });
        }
        for (i, rx) in sessions.iter_mut().enumerate() {
            // The relay may still be on its way: wait for the phase's last tick.
            let phase = i % 3;
            let last = (7..=9).find(|t| *t as usize % 3 == phase).expect("a tick");
            while rx.borrow_and_update().tick != last {
                rx.changed().await.expect("relay alive");
            }
        }
    }

    #[tokio::test]
    async fn one_phase_when_every_tick_is_a_snapshot() {
        let rt = tokio::runtime::Handle::current();
        let (mut senders, receivers) = spawn_phases(&rt, 1, || snapshot(0, None));
        let mut rx = receivers.subscribe();
        senders.publish(1, |previous| {
            assert_eq!(previous.map(|(t, _)| t), Some(0));
            snapshot(1, None)
        });
        senders.publish(2, |previous| {
            assert_eq!(previous.map(|(t, _)| t), Some(1));
            snapshot(2, None)
        });
        while rx.borrow_and_update().tick != 2 {
            rx.changed().await.expect("relay alive");
        }
    }
}
