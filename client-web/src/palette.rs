//! Colours derived from entity ids, so every client paints a player alike.

/// The golden angle, degrees: successive ids get hues far apart.
const GOLDEN_ANGLE: f64 = 137.507_764;

/// The hue (0..360 degrees) of the player with this id.
pub fn hue_of(id: u32) -> u16 {
    // Multiply in f64 so that large ids keep spreading rather than overflowing.
    ((f64::from(id) * GOLDEN_ANGLE) % 360.0) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hues_are_stable_in_range_and_spread() {
        assert_eq!(hue_of(7), hue_of(7));
        assert!((0..5000).all(|id| hue_of(id) < 360));
        // Neighbouring ids differ clearly.
        for id in 0..100 {
            let d = (i32::from(hue_of(id)) - i32::from(hue_of(id + 1))).rem_euclid(360);
            assert!((30..=330).contains(&d), "{id}: {d}");
        }
    }
}
