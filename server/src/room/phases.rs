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
//!
//! A client that sends its inputs in batches (the bots send three ticks'
//! inputs every third tick) has them applied at one tick in every
//! `interval`, and in a phase dealt at random they may wait up to
//! `interval - 1` ticks for the snapshot that acknowledges them. A session
//! may move to a phase that acknowledges them sooner
//! ([`PhaseReceivers::move_to`]; the session's `align` module picks which)
//! while the phases stay balanced.

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
    /// Sessions seated in each phase.
    seated: Arc<[AtomicUsize]>,
}

/// A session's place in one phase; counted in that phase until dropped.
#[derive(Debug)]
pub struct PhaseSeat {
    phase: usize,
    seated: Arc<[AtomicUsize]>,
}

impl PhaseSeat {
    /// The phase: this session gets the snapshots of ticks `t` with
    /// `t % interval == phase`.
    pub fn phase(&self) -> usize {
        self.phase
    }
}

impl Drop for PhaseSeat {
    fn drop(&mut self) {
        self.seated[self.phase].fetch_sub(1, Ordering::Relaxed);
    }
}

/// Sessions a phase may hold beyond an even share before none may move in:
/// this many, or an eighth of the share ([`PHASE_SLACK_FRACTION`]) if more.
const PHASE_SLACK: usize = 8;
/// See [`PHASE_SLACK`].
const PHASE_SLACK_FRACTION: usize = 8;

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
        seated: receivers.iter().map(|_| AtomicUsize::new(0)).collect(),
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
    /// A receiver for a new session, of the next phase in turn, and its seat.
    pub fn subscribe(&self) -> (watch::Receiver<Arc<Snapshot>>, PhaseSeat) {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.phases.len();
        self.seated[i].fetch_add(1, Ordering::Relaxed);
        let seat = PhaseSeat {
            phase: i,
            seated: self.seated.clone(),
        };
        (self.phases[i].clone(), seat)
    }

    /// Moves `seat` to `phase` and returns that phase's receiver, unless the
    /// move would leave `phase` more than [`PHASE_SLACK`] sessions above an
    /// even share (so one tick never takes much more than its share of the
    /// fan-out). The receiver's latest snapshot counts as seen unless it is
    /// newer than `seen_tick` (the last snapshot the session had), so that no
    /// snapshot older than that one is handed out.
    pub fn move_to(
        &self,
        seat: &mut PhaseSeat,
        phase: usize,
        seen_tick: u32,
    ) -> Option<watch::Receiver<Arc<Snapshot>>> {
        if phase >= self.phases.len() || phase == seat.phase {
            return None;
        }
        let total: usize = self.seated.iter().map(|s| s.load(Ordering::Relaxed)).sum();
        let share = total.div_ceil(self.phases.len());
        let room = share + PHASE_SLACK.max(share / PHASE_SLACK_FRACTION);
        self.seated[phase]
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < room).then_some(n + 1)
            })
            .ok()?;
        self.seated[seat.phase].fetch_sub(1, Ordering::Relaxed);
        seat.phase = phase;
        let mut rx = self.phases[phase].clone();
        let newer = rx.borrow_and_update().tick.wrapping_sub(seen_tick) as i32 > 0;
        if newer {
            rx.mark_changed();
        }
        Some(rx)
    }

    /// Sessions seated in each phase.
    #[cfg(test)]
    pub fn seated(&self) -> Vec<usize> {
        self.seated
            .iter()
            .map(|s| s.load(Ordering::Relaxed))
            .collect()
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
        let mut sessions: Vec<_> = (0..6).map(|_| receivers.subscribe().0).collect();
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
        let (mut rx, _seat) = receivers.subscribe();
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

    #[tokio::test]
    async fn moves_keep_phases_within_their_slack_and_seats_count_until_dropped() {
        let rt = tokio::runtime::Handle::current();
        let (_senders, receivers) = spawn_phases(&rt, 3, || snapshot(0, None));
        let mut seats: Vec<_> = (0..30).map(|_| receivers.subscribe().1).collect();
        assert_eq!(receivers.seated(), vec![10, 10, 10]);
        // An even share is 10; phase 1 may take PHASE_SLACK more, no further.
        let mut moved = 0;
        for seat in seats.iter_mut().filter(|s| s.phase() != 1) {
            if receivers.move_to(seat, 1, 0).is_some() {
                assert_eq!(seat.phase(), 1);
                moved += 1;
            }
        }
        assert_eq!(moved, PHASE_SLACK);
        let seated = receivers.seated();
        assert_eq!(seated[1], 10 + PHASE_SLACK);
        assert_eq!(seated.iter().sum::<usize>(), 30);
        // A refused move leaves the seat where it was.
        let seat = seats
            .iter_mut()
            .find(|s| s.phase() == 0)
            .expect("a seat in phase 0");
        assert!(receivers.move_to(seat, 1, 0).is_none());
        assert_eq!(seat.phase(), 0);
        assert!(receivers.move_to(seat, 0, 0).is_none(), "already there");
        assert!(receivers.move_to(seat, 3, 0).is_none(), "no such phase");
        seats.retain(|s| s.phase() != 1);
        assert_eq!(receivers.seated()[1], 0);
    }

    #[tokio::test]
    async fn a_moved_session_is_handed_only_snapshots_newer_than_its_last() {
        let rt = tokio::runtime::Handle::current();
        let (mut senders, receivers) = spawn_phases(&rt, 3, || snapshot(0, None));
        let (mut probe, _probe_seat) = (0..3)
            .map(|_| receivers.subscribe())
            .find(|(_, seat)| seat.phase() == 2)
            .expect("a seat in phase 2");
        senders.publish(5, |previous| snapshot(5, previous));
        while probe.borrow_and_update().tick != 5 {
            probe.changed().await.expect("relay alive");
        }
        let (_, mut seat) = receivers.subscribe();
        let rx = receivers.move_to(&mut seat, 2, 6).expect("room in phase 2");
        assert!(
            !rx.has_changed().expect("relay alive"),
            "tick 5 is older than 6"
        );
        let (_, mut seat) = receivers.subscribe();
        let rx = receivers.move_to(&mut seat, 2, 4).expect("room in phase 2");
        assert!(
            rx.has_changed().expect("relay alive"),
            "tick 5 is newer than 4"
        );
    }
}
