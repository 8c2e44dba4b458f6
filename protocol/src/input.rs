//! One tick of player input.

use serde::{Deserialize, Serialize};

/// The buttons and aim of one player for one tick.
///
/// `buttons` is a bit set of the `InputFrame::*` constants; unknown bits are ignored.
/// `aim` is an angle in 1/256 turns: 0 points along +x, 64 along +y (down on screen).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash, Serialize, Deserialize)]
pub struct InputFrame {
    /// Bit set of held buttons.
    pub buttons: u8,
    /// Aim angle in 1/256 turns.
    pub aim: u8,
}

impl InputFrame {
    /// Move up (−y).
    pub const UP: u8 = 1;
    /// Move down (+y).
    pub const DOWN: u8 = 1 << 1;
    /// Move left (−x).
    pub const LEFT: u8 = 1 << 2;
    /// Move right (+x).
    pub const RIGHT: u8 = 1 << 3;
    /// Fire toward `aim`.
    pub const FIRE: u8 = 1 << 4;
    /// Dash in the movement direction.
    pub const DASH: u8 = 1 << 5;

    /// A frame with these buttons and aim.
    pub fn new(buttons: u8, aim: u8) -> Self {
        Self { buttons, aim }
    }

    /// Whether every button in `mask` is held.
    pub fn held(self, mask: u8) -> bool {
        self.buttons & mask == mask
    }

    /// Movement direction as (-1..=1, -1..=1); opposite keys cancel.
    pub fn direction(self) -> (i32, i32) {
        let axis = |neg, pos| i32::from(self.held(pos)) - i32::from(self.held(neg));
        (axis(Self::LEFT, Self::RIGHT), axis(Self::UP, Self::DOWN))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opposite_keys_cancel() {
        let f = InputFrame::new(InputFrame::LEFT | InputFrame::RIGHT | InputFrame::DOWN, 0);
        assert_eq!(f.direction(), (0, 1));
        assert_eq!(InputFrame::default().direction(), (0, 0));
    }
}
