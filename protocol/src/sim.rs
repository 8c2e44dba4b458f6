//! The deterministic simulation shared by server and clients.
//!
//! Integer arithmetic only (no floats), so a client replaying its inputs from
//! the server's state reaches exactly the server's result, native or wasm32.

use crate::input::InputFrame;
use crate::tuning::{
    DASH_COOLDOWN_TICKS, DASH_IMPULSE, FRICTION_DIVISOR, PLAYER_ACCEL, PLAYER_RADIUS,
};

/// Arena size in units; positions run from 0 to the size on each axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arena {
    /// Width in units.
    pub width: i32,
    /// Height in units.
    pub height: i32,
}

/// The part of a player's state that movement reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PlayerMotion {
    /// Position x, units.
    pub x: i32,
    /// Position y, units.
    pub y: i32,
    /// Velocity x, units per tick.
    pub vx: i32,
    /// Velocity y, units per tick.
    pub vy: i32,
    /// Ticks until the next dash is allowed.
    pub dash_cooldown: u8,
}

/// 1/√2 in 1/256ths, for diagonal movement.
const DIAGONAL_256: i32 = 181;

/// Advances a player by one tick under `input`.
///
/// Arithmetic saturates, so any state (even a hostile server's) steps without
/// overflow, identically on every platform.
pub fn step_player(m: &mut PlayerMotion, input: InputFrame, arena: Arena) {
    let (dx, dy) = input.direction();
    let scale = |v: i32| {
        if dx != 0 && dy != 0 {
            v * DIAGONAL_256 / 256
        } else {
            v
        }
    };
    if m.dash_cooldown > 0 {
        m.dash_cooldown -= 1;
    } else if input.held(InputFrame::DASH) && (dx, dy) != (0, 0) {
        m.vx = m.vx.saturating_add(dx * scale(DASH_IMPULSE));
        m.vy = m.vy.saturating_add(dy * scale(DASH_IMPULSE));
        m.dash_cooldown = DASH_COOLDOWN_TICKS;
    }
    m.vx = m.vx.saturating_add(dx * scale(PLAYER_ACCEL));
    m.vy = m.vy.saturating_add(dy * scale(PLAYER_ACCEL));
    m.vx -= friction(m.vx);
    m.vy -= friction(m.vy);
    m.x = m.x.saturating_add(m.vx);
    m.y = m.y.saturating_add(m.vy);
    clamp_axis(
        &mut m.x,
        &mut m.vx,
        PLAYER_RADIUS,
        arena.width.saturating_sub(PLAYER_RADIUS),
    );
    clamp_axis(
        &mut m.y,
        &mut m.vy,
        PLAYER_RADIUS,
        arena.height.saturating_sub(PLAYER_RADIUS),
    );
}

/// The speed friction takes this tick: `v / FRICTION_DIVISOR` rounded away
/// from zero, so that a released player comes to a full stop.
fn friction(v: i32) -> i32 {
    ((i64::from(v) + i64::from(v.signum()) * i64::from(FRICTION_DIVISOR - 1))
        / i64::from(FRICTION_DIVISOR)) as i32
}

fn clamp_axis(pos: &mut i32, vel: &mut i32, min: i32, max: i32) {
    if *pos < min {
        *pos = min;
        *vel = 0;
    } else if *pos > max {
        *pos = max;
        *vel = 0;
    }
}

/// Quarter sine wave in Q14 fixed point: `SIN_Q14[i] = round(sin(i·π/128) · 16384)`.
const SIN_Q14: [i32; 65] = [
    0, 402, 804, 1205, 1606, 2006, 2404, 2801, 3196, 3590, 3981, 4370, 4756, 5139, 5520, 5897,
    6270, 6639, 7005, 7366, 7723, 8076, 8423, 8765, 9102, 9434, 9760, 10080, 10394, 10702, 11003,
    11297, 11585, 11866, 12140, 12406, 12665, 12916, 13160, 13395, 13623, 13842, 14053, 14256,
    14449, 14635, 14811, 14978, 15137, 15286, 15426, 15557, 15679, 15791, 15893, 15986, 16069,
    16143, 16207, 16261, 16305, 16340, 16364, 16379, 16384,
];

fn sin_q14(angle: u8) -> i32 {
    let a = usize::from(angle);
    match a / 64 {
        0 => SIN_Q14[a],
        1 => SIN_Q14[128 - a],
        2 => -SIN_Q14[a - 128],
        _ => -SIN_Q14[256 - a],
    }
}

/// The unit vector of an aim angle (1/256 turns), in Q14 fixed point.
pub fn aim_vector_q14(aim: u8) -> (i32, i32) {
    (sin_q14(aim.wrapping_add(64)), sin_q14(aim))
}

/// A vector of length `speed` along `aim`, rounded toward zero.
pub fn velocity_along(aim: u8, speed: i32) -> (i32, i32) {
    let (cx, cy) = aim_vector_q14(aim);
    (cx * speed / 16384, cy * speed / 16384)
}

/// The aim angle (1/256 turns) closest to the direction (dx, dy); 0 for a zero vector.
///
/// Integer-only: a binary search over the sine table per octant.
pub fn angle_of(dx: i64, dy: i64) -> u8 {
    if dx == 0 && dy == 0 {
        return 0;
    }
    // Reduce to the first octant-pair (0..=64) with |dy| relative to |dx|.
    let (ax, ay) = (dx.unsigned_abs(), dy.unsigned_abs());
    let len = isqrt(ax * ax + ay * ay).max(1);
    let sin = (ay * 16384 / len) as i32;
    let base = match SIN_Q14.binary_search(&sin) {
        Ok(i) => i,
        Err(0) => 0,
        Err(i) if i >= SIN_Q14.len() => 64,
        Err(i) => {
            if sin - SIN_Q14[i - 1] < SIN_Q14[i] - sin {
                i - 1
            } else {
                i
            }
        }
    } as u8;
    match (dx >= 0, dy >= 0) {
        (true, true) => base,
        (false, true) => 128 - base,
        (false, false) => 128 + base,
        (true, false) => 0u8.wrapping_sub(base),
    }
}

/// Integer square root (floor).
pub fn isqrt(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let mut x = (n as f64).sqrt() as u64; // a starting guess only; corrected below
    while x * x > n {
        x -= 1;
    }
    while (x + 1) * (x + 1) <= n {
        x += 1;
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tuning::UNITS_PER_PIXEL;

    const ARENA: Arena = Arena {
        width: 4000 * UNITS_PER_PIXEL,
        height: 3000 * UNITS_PER_PIXEL,
    };

    fn start() -> PlayerMotion {
        PlayerMotion {
            x: 2000 * UNITS_PER_PIXEL,
            y: 1500 * UNITS_PER_PIXEL,
            ..Default::default()
        }
    }

    #[test]
    fn holding_right_reaches_a_steady_speed() {
        let mut m = start();
        let right = InputFrame::new(InputFrame::RIGHT, 0);
        for _ in 0..200 {
            step_player(&mut m, right, ARENA);
        }
        let v = m.vx;
        step_player(&mut m, right, ARENA);
        assert_eq!(
            m.vx, v,
            "velocity settles so steady motion is exactly predictable"
        );
        assert!(v > 60 && v < 90, "terminal speed {v}");
        assert_eq!(m.vy, 0);
    }

    #[test]
    fn friction_stops_a_released_player() {
        let mut m = start();
        m.vx = 77;
        m.vy = -40;
        for _ in 0..100 {
            step_player(&mut m, InputFrame::default(), ARENA);
        }
        assert_eq!((m.vx, m.vy), (0, 0));
    }

    #[test]
    fn dash_has_a_cooldown() {
        let mut m = start();
        let dash = InputFrame::new(InputFrame::LEFT | InputFrame::DASH, 0);
        step_player(&mut m, dash, ARENA);
        assert!(m.vx < -DASH_IMPULSE / 2);
        assert_eq!(m.dash_cooldown, DASH_COOLDOWN_TICKS);
        let v = m.vx;
        step_player(&mut m, dash, ARENA);
        assert!(m.vx > v, "no second dash during the cooldown");
    }

    #[test]
    fn walls_stop_the_player() {
        let mut m = start();
        m.x = PLAYER_RADIUS + 5;
        m.vx = -100;
        step_player(&mut m, InputFrame::new(InputFrame::LEFT, 0), ARENA);
        assert_eq!((m.x, m.vx), (PLAYER_RADIUS, 0));
    }

    #[test]
    fn aim_vectors_and_angles_agree() {
        assert_eq!(aim_vector_q14(0), (16384, 0));
        assert_eq!(aim_vector_q14(64), (0, 16384));
        assert_eq!(aim_vector_q14(128), (-16384, 0));
        assert_eq!(aim_vector_q14(192), (0, -16384));
        for a in 0..=255u8 {
            let (x, y) = aim_vector_q14(a);
            assert_eq!(angle_of(i64::from(x), i64::from(y)), a, "angle {a}");
        }
    }

    #[test]
    fn hostile_states_step_without_overflow() {
        let tiny = Arena {
            width: i32::MIN,
            height: 0,
        };
        for (x, vx) in [(i32::MAX - 10, 1000), (i32::MIN, i32::MIN), (0, i32::MAX)] {
            let mut m = PlayerMotion {
                x,
                y: x,
                vx,
                vy: vx,
                dash_cooldown: 0,
            };
            step_player(
                &mut m,
                InputFrame::new(InputFrame::RIGHT | InputFrame::DOWN | InputFrame::DASH, 0),
                ARENA,
            );
            step_player(&mut m, InputFrame::new(InputFrame::LEFT, 0), tiny);
        }
    }

    #[test]
    fn isqrt_is_exact() {
        for n in [
            0u64,
            1,
            2,
            3,
            4,
            15,
            16,
            17,
            1 << 40,
            u64::from(u32::MAX) * 3,
        ] {
            let r = isqrt(n);
            assert!(r * r <= n && (r + 1) * (r + 1) > n, "{n}");
        }
    }
}
