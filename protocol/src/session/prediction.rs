//! Client-side prediction of the local player, with smooth reconciliation.

use std::collections::VecDeque;

use crate::entity::EntityState;
use crate::input::InputFrame;
use crate::sim::{Arena, PlayerMotion, step_player};
use crate::tuning::UNITS_PER_PIXEL;

/// Inputs kept for replay at most; older ones are forgotten (two seconds at 60 Hz).
const MAX_PENDING_INPUTS: usize = 120;
/// A correction larger than this is applied at once instead of smoothed (units).
const SNAP_DISTANCE: f32 = (150 * UNITS_PER_PIXEL) as f32;
/// Share of the smoothing offset kept per tick: corrections fade over about 10 ticks.
const CORRECTION_DECAY: f32 = 0.8;

/// Predicts the local player from the server state plus unacknowledged inputs.
#[derive(Debug, Clone)]
pub struct Predictor {
    arena: Arena,
    pending: VecDeque<(u32, InputFrame)>,
    next_seq: u32,
    motion: Option<PlayerMotion>,
    alive: bool,
    /// Render offset (units) that hides corrections; decays toward zero.
    offset: (f32, f32),
    corrections: u64,
}

impl Predictor {
    /// A predictor for an arena; sequence numbers start at 1.
    pub fn new(arena: Arena) -> Self {
        Self {
            arena,
            pending: VecDeque::new(),
            next_seq: 1,
            motion: None,
            alive: false,
            offset: (0.0, 0.0),
            corrections: 0,
        }
    }

    /// Records a new local input, applies it to the prediction and returns its sequence number.
    pub fn push_input(&mut self, frame: InputFrame) -> u32 {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        if self.pending.len() == MAX_PENDING_INPUTS {
            self.pending.pop_front();
        }
        self.pending.push_back((seq, frame));
        if let (Some(m), true) = (self.motion.as_mut(), self.alive) {
            step_player(m, frame, self.arena);
        }
        self.offset.0 *= CORRECTION_DECAY;
        self.offset.1 *= CORRECTION_DECAY;
        seq
    }

    /// Reconciles with the server: its state of our player after applying input `last_seq`.
    pub fn reconcile(&mut self, server: &EntityState, last_seq: u32) {
        while self
            .pending
            .front()
            .is_some_and(|(seq, _)| seq.wrapping_sub(last_seq) as i32 <= 0)
        {
            self.pending.pop_front();
        }
        let was_alive = self.alive;
        self.alive = server.health > 0;
        let mut fresh = server.motion();
        if self.alive {
            for (_, frame) in &self.pending {
                step_player(&mut fresh, *frame, self.arena);
            }
        }
        if let (Some(old), true) = (self.motion, was_alive && self.alive) {
            let err = (
                (i64::from(old.x) - i64::from(fresh.x)) as f32,
                (i64::from(old.y) - i64::from(fresh.y)) as f32,
            );
            if err != (0.0, 0.0) {
                self.corrections += 1;
                let off = (self.offset.0 + err.0, self.offset.1 + err.1);
                self.offset = if off.0.hypot(off.1) > SNAP_DISTANCE {
                    (0.0, 0.0)
                } else {
                    off
                };
            }
        } else {
            self.offset = (0.0, 0.0);
        }
        self.motion = Some(fresh);
    }

    /// The predicted movement state, once the server has shown us our player.
    pub fn motion(&self) -> Option<PlayerMotion> {
        self.motion
    }

    /// Where to draw the local player (units): the prediction plus the fading correction.
    pub fn render_position(&self) -> Option<(f32, f32)> {
        self.motion
            .map(|m| (m.x as f32 + self.offset.0, m.y as f32 + self.offset.1))
    }

    /// Inputs sent but not yet applied by the server.
    pub fn pending_inputs(&self) -> usize {
        self.pending.len()
    }

    /// Sequence number the next input will get.
    pub fn next_seq(&self) -> u32 {
        self.next_seq
    }

    /// Times the server disagreed with the prediction so far.
    pub fn corrections(&self) -> u64 {
        self.corrections
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::EntityKind;

    const ARENA: Arena = Arena {
        width: 100_000,
        height: 100_000,
    };

    #[test]
    fn replaying_unacked_inputs_matches_the_server_exactly() {
        // The server applies inputs 1..=n one per tick; the client predicted all of them.
        let inputs: Vec<InputFrame> = (0..90u32)
            .map(|i| {
                InputFrame::new(
                    [
                        InputFrame::RIGHT,
                        InputFrame::DOWN | InputFrame::DASH,
                        InputFrame::LEFT | InputFrame::UP,
                    ][(i / 20) as usize % 3],
                    0,
                )
            })
            .collect();
        let start = PlayerMotion {
            x: 50_000,
            y: 50_000,
            ..Default::default()
        };
        let mut server = start;
        let mut p = Predictor::new(ARENA);
        let mut state = EntityState {
            kind: EntityKind::Player,
            health: 100,
            ..Default::default()
        };
        state.set_motion(start);
        p.reconcile(&state, 0);
        for (i, f) in inputs.iter().enumerate() {
            p.push_input(*f);
            // The server lags 5 inputs behind and reports every 3 ticks.
            if i >= 5 && i % 3 == 0 {
                step_until(&mut server, &inputs, i - 5, &mut state);
                p.reconcile(&state, (i - 5 + 1) as u32);
            }
        }
        let mut expected = start;
        for f in &inputs {
            step_player(&mut expected, *f, ARENA);
        }
        assert_eq!(p.motion(), Some(expected));
        assert_eq!(
            p.corrections(),
            0,
            "an exact server never corrects the prediction"
        );
    }

    fn step_until(
        server: &mut PlayerMotion,
        inputs: &[InputFrame],
        last: usize,
        state: &mut EntityState,
    ) {
        *server = PlayerMotion {
            x: 50_000,
            y: 50_000,
            ..Default::default()
        };
        for f in &inputs[..=last] {
            step_player(server, *f, ARENA);
        }
        state.set_motion(*server);
    }

    #[test]
    fn a_disagreement_is_smoothed_not_snapped() {
        let mut p = Predictor::new(ARENA);
        let mut state = EntityState {
            kind: EntityKind::Player,
            health: 100,
            x: 1000,
            y: 1000,
            ..Default::default()
        };
        p.reconcile(&state, 0);
        state.x = 1400; // server says we are 25 px further right
        p.reconcile(&state, 0);
        assert_eq!(p.corrections(), 1);
        let (x, _) = p.render_position().expect("known");
        assert!((x - 1000.0).abs() < 1.0, "drawn where it was: {x}");
        for _ in 0..30 {
            p.push_input(InputFrame::default());
        }
        let (x, _) = p.render_position().expect("known");
        assert!((x - 1400.0).abs() < 2.0, "converged on the server: {x}");
    }
}
