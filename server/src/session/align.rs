//! Choosing a session's snapshot phase from where its client's input batches
//! land (see [`crate::room::PhaseReceivers`]).
//!
//! A batch that lands at tick `t` is acknowledged by the first snapshot of
//! the session's phase at or after `t`: its lateness is how many ticks that
//! is. Two ways to aim (`ServerConfig::phase_alignment`):
//!
//! - **Landing** (the default): as described next, acknowledgements a tick
//!   sooner; near saturation it holds as many players as Margin within the
//!   machine's noise (bench/README.md).
//! - **Margin**: a session whose batches keep waiting more than a tick moves
//!   to the phase a tick after they land, so that a batch delayed by up to a
//!   tick is still acknowledged by the same snapshot; lateness 0 and 1 are
//!   left alone.
//!
//! With Landing a session first aims at lateness 0: while its batches keep waiting, it
//! moves to the phase they land in, so that the snapshot of the very tick
//! that applies them acknowledges them. If a batch then slips (lands a tick
//! late, on a busy client, network or server, and so waits for the next
//! snapshot), the session moves at once to the phase a tick after where its
//! batches land, and keeps that tick of margin from then on: a batch delayed
//! by up to a tick is still acknowledged by the same snapshot. With margin it
//! moves again only if its batches keep waiting more than a tick. A client
//! whose batches land steadily thus gets its acknowledgements a tick sooner,
//! and one whose batches wander loses nothing to it.

use crate::config::PhaseAlignment;

/// Snapshots in a row that must find the latest batch waiting too long, for
/// the same phase, before the session moves there: a client whose batches
/// land near a tick boundary does not hop about.
pub const MOVE_AFTER: u32 = 3;

/// How far a session is in aligning with its client's batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Looking for the phase the batches land in.
    Seeking,
    /// In the phase the batches land in.
    AtLanding,
    /// A tick after where the batches land (after a slip).
    WithMargin,
}

/// Watches the ticks at which a client's input batches land and says when
/// its session should move phase.
#[derive(Debug)]
pub struct PhaseAligner {
    candidate: Option<usize>,
    streak: u32,
    stage: Stage,
}

impl PhaseAligner {
    /// An aligner that aims as `mode` says: at the landing phase first, or
    /// straight away with a tick of margin.
    pub fn new(mode: PhaseAlignment) -> Self {
        let stage = match mode {
            PhaseAlignment::Landing => Stage::Seeking,
            PhaseAlignment::Margin => Stage::WithMargin,
        };
        Self {
            candidate: None,
            streak: 0,
            stage,
        }
    }

    /// Reads a snapshot of `tick` in which the player's latest batch landed at
    /// `batch_tick`, the session being in `phase` of `interval`. Returns the
    /// phase to move to: the one the batches land in once [`MOVE_AFTER`]
    /// snapshots running have found them waiting (while seeking); the one a
    /// tick after a batch that slipped (at once, when in the landing phase);
    /// or, with margin, the one a tick after batches that keep waiting more
    /// than a tick ([`MOVE_AFTER`] running). Only batches landed since the
    /// session's previous snapshot count.
    pub fn observe(
        &mut self,
        tick: u32,
        batch_tick: u32,
        phase: usize,
        interval: usize,
    ) -> Option<usize> {
        let n = interval.max(1) as u32;
        if n < 2 {
            return None;
        }
        let age = tick.wrapping_sub(batch_tick);
        let lateness = (phase as u32 + n - batch_tick % n) % n;
        if self.stage == Stage::AtLanding {
            // A slip: the batch due at this tick is not here (the last came
            // a whole interval ago), or the batches now land a tick after it.
            let slipped = age == n || (age < n && lateness == n - 1);
            if slipped {
                self.stage = Stage::WithMargin;
                return Some((phase + 1) % n as usize);
            }
            return None;
        }
        if age >= n {
            self.forget_candidate();
            return None;
        }
        let landed = (batch_tick % n) as usize;
        match self.stage {
            Stage::Seeking if lateness == 0 => {
                self.stage = Stage::AtLanding;
                self.forget_candidate();
                None
            }
            Stage::Seeking => self
                .after_streak(landed)
                .inspect(|_| self.stage = Stage::AtLanding),
            Stage::AtLanding => None,
            Stage::WithMargin if lateness <= 1 => {
                self.forget_candidate();
                None
            }
            Stage::WithMargin => self.after_streak((landed + 1) % n as usize),
        }
    }

    /// Counts another snapshot wanting `want`; `Some(want)` at [`MOVE_AFTER`] in a row.
    fn after_streak(&mut self, want: usize) -> Option<usize> {
        if self.candidate == Some(want) {
            self.streak += 1;
        } else {
            self.candidate = Some(want);
            self.streak = 1;
        }
        if self.streak < MOVE_AFTER {
            return None;
        }
        self.forget_candidate();
        Some(want)
    }

    fn forget_candidate(&mut self) {
        self.candidate = None;
        self.streak = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A session in `interval` phases, starting in phase 0, that moves when
    /// told to, over `ticks` ticks; `batch_at(t)` is the tick its client's
    /// latest batch landed at, as of tick `t`. Returns its moves.
    fn follow(interval: u32, ticks: u32, batch_at: impl Fn(u32) -> u32) -> Vec<usize> {
        follow_as(PhaseAlignment::Landing, interval, ticks, batch_at)
    }

    /// [`follow`], aiming as `mode` says.
    fn follow_as(
        mode: PhaseAlignment,
        interval: u32,
        ticks: u32,
        batch_at: impl Fn(u32) -> u32,
    ) -> Vec<usize> {
        let mut a = PhaseAligner::new(mode);
        let mut phase = 0;
        let mut moves = Vec::new();
        for t in interval..ticks {
            if t % interval == phase as u32
                && let Some(p) = a.observe(t, batch_at(t), phase, interval as usize)
            {
                moves.push(p);
                phase = p;
            }
        }
        moves
    }

    /// The latest tick at or before `t` that is `r` modulo `n`.
    fn landing(n: u32, r: u32, t: u32) -> u32 {
        t - (t + n - r) % n
    }

    #[test]
    fn moves_once_to_where_steady_batches_land() {
        for r in [1, 2] {
            assert_eq!(follow(3, 300, |t| landing(3, r, t)), vec![r as usize]);
        }
        assert!(
            follow(3, 300, |t| landing(3, 0, t)).is_empty(),
            "already there"
        );
    }

    #[test]
    fn one_slip_moves_it_to_a_tick_after_where_batches_land_for_good() {
        // Batches land at 1 (mod 3); the one due at tick 151 lands at 152.
        let batch = |t| match t {
            151 => 148,
            152 | 153 => 152,
            _ => landing(3, 1, t),
        };
        // To phase 1 first; after the slip to phase 2; then batches at 1 wait
        // a tick, within the margin, and it stays.
        assert_eq!(follow(3, 600, batch), vec![1, 2]);
    }

    #[test]
    fn with_margin_it_follows_batches_that_keep_waiting_two_ticks() {
        // At 1 (mod 3) until tick 150, one slip, then at 0 (mod 3) for good.
        let batch = |t: u32| match t {
            ..150 => landing(3, 1, t),
            150..153 => landing(3, 2, t),
            _ => landing(3, 0, t),
        };
        // 1 (landing), 2 (the slip: margin), then 1 = a tick after 0.
        assert_eq!(follow(3, 600, batch), vec![1, 2, 1]);
    }

    #[test]
    fn wandering_batches_do_not_move_it_while_seeking() {
        // One and two ticks early in turn: the phase wanted changes each time.
        let batch = |t: u32| landing(3, 1 + (t / 3) % 2, t);
        assert!(follow(3, 300, batch).is_empty());
    }

    #[test]
    fn a_client_sending_every_tick_never_moves() {
        // Its inputs land every tick, so its latest batch began long ago.
        assert!(follow(3, 300, |_| 1).is_empty());
    }

    #[test]
    fn a_stale_batch_breaks_the_streak() {
        let mut a = PhaseAligner::new(PhaseAlignment::Landing);
        assert_eq!(a.observe(3, 1, 0, 3), None);
        assert_eq!(a.observe(6, 4, 0, 3), None);
        assert_eq!(
            a.observe(9, 4, 0, 3),
            None,
            "no batch since the last snapshot"
        );
        assert_eq!(a.observe(12, 10, 0, 3), None);
        assert_eq!(a.observe(15, 13, 0, 3), None);
        assert_eq!(a.observe(18, 16, 0, 3), Some(1));
    }

    #[test]
    fn with_two_phases_it_moves_to_the_landing_then_at_most_once_more() {
        assert_eq!(follow(2, 300, |t| landing(2, 1, t)), vec![1]);
        // The batch due at 151 lands at 152: to phase 0, and batches at 1
        // then wait one tick, within the margin.
        let batch = |t| match t {
            151 => 149,
            152 => 152,
            _ => landing(2, 1, t),
        };
        assert_eq!(follow(2, 600, batch), vec![1, 0]);
    }

    #[test]
    fn one_phase_never_moves() {
        assert!(follow(1, 100, |t| t).is_empty());
    }

    #[test]
    fn with_margin_only_batches_waiting_two_ticks_move_it_a_tick_after_them() {
        let margin = |r| follow_as(PhaseAlignment::Margin, 3, 300, move |t| landing(3, r, t));
        assert_eq!(margin(1), vec![2], "two ticks' wait: to a tick after");
        assert!(margin(2).is_empty(), "a tick's wait is the margin");
        assert!(margin(0).is_empty());
        let mut a = PhaseAligner::new(PhaseAlignment::Margin);
        let seen: Vec<_> = [(3, 1), (6, 4), (9, 4), (12, 10), (15, 13), (18, 16)]
            .into_iter()
            .map(|(t, b)| a.observe(t, b, 0, 3))
            .collect();
        assert_eq!(seen, vec![None, None, None, None, None, Some(2)]);
    }

    #[test]
    fn with_margin_two_phases_and_clients_sending_every_tick_never_move() {
        assert!(follow_as(PhaseAlignment::Margin, 2, 300, |t| landing(2, 1, t)).is_empty());
        assert!(follow_as(PhaseAlignment::Margin, 3, 300, |_| 1).is_empty());
    }
}
