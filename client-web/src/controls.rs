//! The input mapping: which keys press which buttons, and how the pointer aims.
//!
//! The shell tracks held keys by their `KeyboardEvent.code` (layout independent:
//! `KeyW` is the key where W sits on a US keyboard) and asks [`KEYMAP`] which
//! button each one holds. The mouse button fires; the pointer's offset from the
//! player on screen gives the aim.

use serde::Serialize;
use tickwire_protocol::InputFrame;
use tickwire_protocol::sim::angle_of;
use tickwire_protocol::tuning::UNITS_PER_PIXEL;

/// Keyboard codes and the button each holds.
pub const KEYMAP: &[(&str, u8)] = &[
    ("KeyW", InputFrame::UP),
    ("ArrowUp", InputFrame::UP),
    ("KeyS", InputFrame::DOWN),
    ("ArrowDown", InputFrame::DOWN),
    ("KeyA", InputFrame::LEFT),
    ("ArrowLeft", InputFrame::LEFT),
    ("KeyD", InputFrame::RIGHT),
    ("ArrowRight", InputFrame::RIGHT),
    ("Space", InputFrame::DASH),
    ("ShiftLeft", InputFrame::DASH),
];

/// The button that fires; the shell sets it while the primary mouse button is held.
pub const FIRE: u8 = InputFrame::FIRE;

/// Every button a frame may carry.
const KNOWN_BUTTONS: u8 = InputFrame::UP
    | InputFrame::DOWN
    | InputFrame::LEFT
    | InputFrame::RIGHT
    | InputFrame::FIRE
    | InputFrame::DASH;

/// The button a key holds, if it is bound.
pub fn button_for_key(code: &str) -> Option<u8> {
    KEYMAP.iter().find(|(c, _)| *c == code).map(|(_, b)| *b)
}

/// The buttons held by a set of keys, plus fire while the mouse button is down.
pub fn buttons_for_keys<'a>(codes: impl IntoIterator<Item = &'a str>, mouse_down: bool) -> u8 {
    let keys = codes
        .into_iter()
        .filter_map(button_for_key)
        .fold(0, |acc, b| acc | b);
    if mouse_down { keys | FIRE } else { keys }
}

/// The aim angle (1/256 turns) for a pointer `dx, dy` pixels from the player on screen.
///
/// `None` when the pointer sits on the player or is not a finite offset, so
/// the caller keeps the previous aim rather than snapping to angle 0.
pub fn aim_toward(dx_px: f64, dy_px: f64) -> Option<u8> {
    if !dx_px.is_finite() || !dy_px.is_finite() {
        return None;
    }
    // Sub-pixel resolution, kept within i64 for any sane screen offset.
    let scale = f64::from(UNITS_PER_PIXEL);
    let (dx, dy) = (
        (dx_px * scale).clamp(-1e9, 1e9) as i64,
        (dy_px * scale).clamp(-1e9, 1e9) as i64,
    );
    (dx != 0 || dy != 0).then(|| angle_of(dx, dy))
}

/// Tracks the aim between frames and builds this tick's [`InputFrame`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Controls {
    aim: u8,
}

impl Controls {
    /// The frame for held `buttons` (unknown bits dropped) and a pointer offset in pixels.
    pub fn frame(&mut self, buttons: u32, aim_dx_px: f64, aim_dy_px: f64) -> InputFrame {
        if let Some(aim) = aim_toward(aim_dx_px, aim_dy_px) {
            self.aim = aim;
        }
        InputFrame::new((buttons & u32::from(KNOWN_BUTTONS)) as u8, self.aim)
    }

    /// The last aim angle.
    pub fn aim(&self) -> u8 {
        self.aim
    }
}

/// The key map as the shell loads it, plus the fire bit.
#[derive(Debug, Serialize)]
pub struct KeymapJson {
    /// `KeyboardEvent.code` to button bit.
    pub keys: std::collections::BTreeMap<&'static str, u8>,
    /// The bit to set while the mouse button is held.
    pub fire: u8,
}

/// The key map for the shell.
pub fn keymap_json() -> KeymapJson {
    KeymapJson {
        keys: KEYMAP.iter().copied().collect(),
        fire: FIRE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasd_and_arrows_move_space_dashes_mouse_fires() {
        assert_eq!(buttons_for_keys(["KeyW", "KeyD"], false), {
            InputFrame::UP | InputFrame::RIGHT
        });
        assert_eq!(
            buttons_for_keys(["ArrowLeft", "ArrowDown", "Space"], true),
            InputFrame::LEFT | InputFrame::DOWN | InputFrame::DASH | InputFrame::FIRE
        );
        assert_eq!(buttons_for_keys(["KeyQ", "Enter"], false), 0);
        let f = InputFrame::new(buttons_for_keys(["KeyA", "KeyD"], false), 0);
        assert_eq!(f.direction(), (0, 0), "opposite keys cancel");
    }

    #[test]
    fn the_pointer_aims_in_screen_directions() {
        assert_eq!(aim_toward(100.0, 0.0), Some(0), "right");
        assert_eq!(aim_toward(0.0, 100.0), Some(64), "down the screen");
        assert_eq!(aim_toward(-100.0, 0.0), Some(128), "left");
        assert_eq!(aim_toward(0.0, -100.0), Some(192), "up the screen");
        assert_eq!(aim_toward(50.0, 50.0), Some(32), "down-right diagonal");
        assert_eq!(aim_toward(0.0, 0.0), None);
        assert_eq!(aim_toward(f64::NAN, 1.0), None);
    }

    #[test]
    fn aim_is_kept_while_the_pointer_sits_on_the_player() {
        let mut c = Controls::default();
        let f = c.frame(u32::from(InputFrame::FIRE), 0.0, -40.0);
        assert_eq!((f.buttons, f.aim), (InputFrame::FIRE, 192));
        let f = c.frame(0xffff_ff00 | u32::from(InputFrame::RIGHT), 0.0, 0.0);
        assert_eq!(
            (f.buttons, f.aim),
            (InputFrame::RIGHT, 192),
            "unknown bits dropped"
        );
    }

    #[test]
    fn the_keymap_json_lists_every_binding() {
        let json = serde_json::to_string(&keymap_json()).expect("serializes");
        assert!(json.contains("\"KeyD\":8"), "{json}");
        assert!(json.contains("\"fire\":16"), "{json}");
    }
}
