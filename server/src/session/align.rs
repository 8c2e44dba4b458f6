//! Choosing a session's snapshot phase from where its client's input batches
//! land (see [`crate::room::PhaseReceivers`]).
//!
//! A batch that lands at tick `t` is acknowledged by the first snapshot of
//! the session's phase at or after `t`: its lateness is how many ticks that
//! is. A session whose batches keep waiting more than one tick moves to the
//! phase one tick after they land, not the one they land in: a batch delayed
//! by up to a tick on its way (a busy client, a busy network) is then still
//! acknowledged by the same snapshot instead of missing it and waiting a
//! whole snapshot interval. Lateness 0 and 1 are both left alone.

/// Snapshots in a row that must find the latest batch waiting too long, for
/// the same phase, before the session moves there: a client whose batches
/// land near a tick boundary does not hop about.
pub const MOVE_AFTER: u32 = 3;

/// Watches the ticks at which a client's input batches land and says when
/// its session should move phase.
#[derive(Debug, Default)]
pub struct PhaseAligner {
    candidate: Option<usize>,
    streak: u32,
}

impl PhaseAligner {
    /// Reads a snapshot of `tick` in which the player's latest batch landed at
    /// `batch_tick`, the session being in `phase` of `interval`. Returns the
    /// phase to move to once [`MOVE_AFTER`] snapshots running have found a
    /// batch, landed since the session's previous snapshot, that waited more
    /// than a tick for its acknowledgement, with the same phase one tick after
    /// it.
    pub fn observe(
        &mut self,
        tick: u32,
        batch_tick: u32,
        phase: usize,
        interval: usize,
    ) -> Option<usize> {
        let n = interval.max(1) as u32;
        let fresh = tick.wrapping_sub(batch_tick) < n;
        let lateness = (phase as u32 + n - batch_tick % n) % n;
        if !fresh || lateness <= 1 {
            *self = Self::default();
            return None;
        }
        let want = (batch_tick.wrapping_add(1) % n) as usize;
        if self.candidate == Some(want) {
            self.streak += 1;
        } else {
            self.candidate = Some(want);
            self.streak = 1;
        }
        if self.streak < MOVE_AFTER {
            return None;
        }
        *self = Self::default();
        Some(want)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Snapshots every 3rd tick in phase 0, the latest batch landed at `batch_at(tick)`.
    fn run(a: &mut PhaseAligner, snapshots: u32, batch_at: impl Fn(u32) -> u32) -> Vec<usize> {
        (1..=snapshots)
            .filter_map(|i| a.observe(i * 3, batch_at(i * 3), 0, 3))
            .collect()
    }

    #[test]
    fn moves_to_a_tick_after_batches_that_keep_waiting_two_ticks() {
        let mut a = PhaseAligner::default();
        // Landing at ticks = 1 (mod 3): acknowledged two ticks later, at 0.
        assert!(run(&mut a, 2, |t| t - 2).is_empty());
        assert_eq!(run(&mut a, 1, |t| t - 2), vec![2]);
    }

    #[test]
    fn stays_while_batches_wait_at_most_a_tick_or_wander() {
        let mut a = PhaseAligner::default();
        assert!(
            run(&mut a, 20, |t| t).is_empty(),
            "acknowledged where they land"
        );
        assert!(run(&mut a, 20, |t| t - 1).is_empty(), "a tick later");
        // Two ticks early only every other snapshot: never three in a row.
        assert!(run(&mut a, 20, |t| t - 1 - (t / 3) % 2).is_empty());
    }

    #[test]
    fn a_client_sending_every_tick_never_moves() {
        // Its inputs land every tick, so its latest batch began long ago.
        let mut a = PhaseAligner::default();
        assert!(run(&mut a, 50, |_| 1).is_empty());
    }

    #[test]
    fn a_stale_batch_breaks_the_streak() {
        let mut a = PhaseAligner::default();
        assert_eq!(a.observe(3, 1, 0, 3), None);
        assert_eq!(a.observe(6, 4, 0, 3), None);
        assert_eq!(
            a.observe(9, 4, 0, 3),
            None,
            "no batch since the last snapshot"
        );
        assert_eq!(a.observe(12, 10, 0, 3), None);
        assert_eq!(a.observe(15, 13, 0, 3), None);
        assert_eq!(a.observe(18, 16, 0, 3), Some(2));
    }

    #[test]
    fn two_phases_never_move() {
        let mut a = PhaseAligner::default();
        assert!((1..50).all(|i| a.observe(i * 2, i * 2 - 1, 0, 2).is_none()));
    }
}
