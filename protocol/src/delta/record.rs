//! One entity's record: which fields differ from a reference, and by how much.

use crate::bits::{BitReader, BitWriter};
use crate::delta::DeltaError;
use crate::entity::{EntityId, EntityKind, EntityState};
use crate::sim::velocity_along;
use crate::tuning::PROJECTILE_SPEED;

pub(crate) const POS: u8 = 1;
pub(crate) const VEL: u8 = 1 << 1;
pub(crate) const HEALTH: u8 = 1 << 2;
pub(crate) const SCORE: u8 = 1 << 3;
pub(crate) const AIM: u8 = 1 << 4;
pub(crate) const DASH: u8 = 1 << 5;
pub(crate) const RESPAWN: u8 = 1 << 6;
pub(crate) const OWNER: u8 = 1 << 7;

/// Exp-Golomb order of position residuals in a change.
const POS_K: u32 = 2;
/// Exp-Golomb order of absolute positions on entry.
const ENTER_POS_K: u32 = 12;
const VEL_K: u32 = 3;
/// Exp-Golomb order of aim changes (players sweep their aim a few steps at a time).
const AIM_K: u32 = 1;

/// What became of a touched baseline entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Touch {
    /// It changed these fields.
    Mask(u8),
    /// It changed the fields of the 8-bit mask that follows.
    Other,
    /// It left the view.
    Left,
}

/// The prefix code that opens each touched entry, as (what, code, length in bits).
///
/// Lengths fit the frequencies measured with wander bots through
/// `tickwire_entity_updates_total` (aim sweeps 30%, accelerating 23%, left 16%,
/// velocity only 10%, accelerating and aiming 10%, other 6%, velocity and aim
/// 3%, position only 1%); the code is complete (Kraft sum 1).
const CODES: [(Touch, u32, u32); 8] = [
    (Touch::Mask(AIM), 0b00, 2),
    (Touch::Mask(POS | VEL), 0b01, 2),
    (Touch::Left, 0b100, 3),
    (Touch::Mask(VEL), 0b101, 3),
    (Touch::Mask(POS | VEL | AIM), 0b110, 3),
    (Touch::Other, 0b1110, 4),
    (Touch::Mask(VEL | AIM), 0b11110, 5),
    (Touch::Mask(POS), 0b11111, 5),
];

fn write_touch(w: &mut BitWriter, touch: Touch) {
    let known = if let Touch::Mask(m) = touch {
        CODES.iter().find(|(t, _, _)| *t == Touch::Mask(m))
    } else {
        None
    };
    match (known, touch) {
        (Some(&(_, code, len)), _) => w.write_bits(code, len),
        (None, Touch::Mask(mask)) => {
            write_touch(w, Touch::Other);
            w.write_bits(u32::from(mask), 8);
        }
        (None, other) => {
            let &(_, code, len) = CODES
                .iter()
                .find(|(t, _, _)| *t == other)
                .unwrap_or(&CODES[0]);
            w.write_bits(code, len);
        }
    }
}

/// What a record is written against.
pub(crate) struct Reference {
    /// The reference state (the baseline entry, or a zeroed entity on entry).
    pub state: EntityState,
    /// Ticks since the reference (0 on entry).
    pub dt: u32,
    /// Whether this is an entry (absolute positions, raw aim) rather than a change.
    pub entry: bool,
    /// The delta's tick, which respawn ticks are relative to.
    pub tick: u32,
}

impl Reference {
    /// The reference for an entity already in view.
    pub fn baseline(state: EntityState, dt: u32, tick: u32) -> Self {
        Self {
            state,
            dt,
            entry: false,
            tick,
        }
    }

    /// The reference for an entity entering the view.
    pub fn entry(kind: EntityKind, tick: u32) -> Self {
        Self {
            state: EntityState {
                kind,
                ..Default::default()
            },
            dt: 0,
            entry: true,
            tick,
        }
    }

    /// Where the position is predicted, given the velocity now.
    ///
    /// With velocity going from `v0` (reference) to `v1` over `dt` ticks, the
    /// trapezoid rule corrected for whole ticks, `(v0 + v1)·dt/2 + (v1 − v0)/2`,
    /// is exact for constant acceleration and equals `v0·dt` for steady motion,
    /// so both cost little or nothing.
    fn predicted(&self, vx: i32, vy: i32) -> (i64, i64) {
        let s = &self.state;
        let dt = i64::from(self.dt);
        let axis = |p: i32, v0: i32, v1: i32| {
            let (v0, v1) = (i64::from(v0), i64::from(v1));
            i64::from(p) + ((v0 + v1) * dt + (v1 - v0)).div_euclid(2)
        };
        if self.entry {
            (0, 0)
        } else {
            (axis(s.x, s.vx, vx), axis(s.y, s.vy, vy))
        }
    }
}

/// Where a baseline entity is when the delta does not touch it: moved on at its velocity.
pub(crate) fn extrapolate(s: &EntityState, dt: u32) -> (i64, i64) {
    let t = i64::from(dt);
    (
        i64::from(s.x) + i64::from(s.vx) * t,
        i64::from(s.y) + i64::from(s.vy) * t,
    )
}

/// Whether an entering projectile's velocity is the one its aim implies (then it is not sent).
fn velocity_from_aim(s: &EntityState) -> bool {
    s.kind == EntityKind::Projectile && (s.vx, s.vy) == velocity_along(s.aim, PROJECTILE_SPEED)
}

/// The mask of fields in which `cur` differs from the reference (0: nothing to send).
pub(crate) fn diff_mask(r: &Reference, cur: &EntityState) -> u8 {
    let b = &r.state;
    let mut mask = 0;
    if (i64::from(cur.x), i64::from(cur.y)) != r.predicted(cur.vx, cur.vy) {
        mask |= POS;
    }
    if (cur.vx, cur.vy) != (b.vx, b.vy) {
        mask |= VEL;
    }
    if cur.health != b.health {
        mask |= HEALTH;
    }
    if cur.score != b.score {
        mask |= SCORE;
    }
    if cur.aim != b.aim {
        mask |= AIM;
    }
    if cur.dash_cooldown != b.dash_cooldown {
        mask |= DASH;
    }
    if cur.respawn_tick != b.respawn_tick {
        mask |= RESPAWN;
    }
    if cur.owner != b.owner {
        mask |= OWNER;
    }
    mask
}

/// Writes the code for an entity that left the view.
pub(crate) fn write_left(w: &mut BitWriter) {
    write_touch(w, Touch::Left);
}

/// Reads the code of a touched baseline entry: `None` if it left, else its mask.
pub(crate) fn read_touch_code(rd: &mut BitReader<'_>) -> Result<Option<u8>, DeltaError> {
    let (mut code, mut len) = (0u32, 0u32);
    loop {
        code = (code << 1) | u32::from(rd.read_bool()?);
        len += 1;
        if let Some(&(touch, _, _)) = CODES.iter().find(|(_, c, l)| *l == len && *c == code) {
            return match touch {
                Touch::Mask(mask) => Ok(Some(mask)),
                Touch::Other => Ok(Some(rd.read_bits(8)? as u8)),
                Touch::Left => Ok(None),
            };
        }
        if len >= 5 {
            return Err(DeltaError::Malformed("unknown change code"));
        }
    }
}

/// Writes a change record (code included) of `cur` against a baseline reference.
pub(crate) fn write_change(w: &mut BitWriter, r: &Reference, cur: &EntityState, mask: u8) {
    write_touch(w, Touch::Mask(mask));
    write_fields(w, r, cur, mask);
}

/// Writes an entry record of `cur`: its mask, then its fields.
pub(crate) fn write_entry(w: &mut BitWriter, r: &Reference, cur: &EntityState) {
    let mask = diff_mask(r, cur);
    w.write_bits(u32::from(mask), 8);
    write_fields(w, r, cur, mask);
}

/// Reads an entry record written by [`write_entry`].
pub(crate) fn read_entry(rd: &mut BitReader<'_>, r: &Reference) -> Result<EntityState, DeltaError> {
    let mask = rd.read_bits(8)? as u8;
    read_fields(rd, r, mask)
}

fn write_fields(w: &mut BitWriter, r: &Reference, cur: &EntityState, mask: u8) {
    let b = &r.state;
    if mask & AIM != 0 {
        if r.entry {
            w.write_bits(u32::from(cur.aim), 8);
        } else {
            w.write_signed(i64::from(cur.aim.wrapping_sub(b.aim) as i8), AIM_K);
        }
    }
    if mask & VEL != 0 {
        let derived = r.entry && cur.kind == EntityKind::Projectile && velocity_from_aim(cur);
        if cur.kind == EntityKind::Projectile && r.entry {
            w.write_bool(derived);
        }
        if !derived {
            w.write_signed(i64::from(cur.vx) - i64::from(b.vx), VEL_K);
            w.write_signed(i64::from(cur.vy) - i64::from(b.vy), VEL_K);
        }
    }
    if mask & POS != 0 {
        let (px, py) = r.predicted(cur.vx, cur.vy);
        let k = if r.entry { ENTER_POS_K } else { POS_K };
        w.write_signed(i64::from(cur.x) - px, k);
        w.write_signed(i64::from(cur.y) - py, k);
    }
    if mask & HEALTH != 0 {
        w.write_bits(u32::from(cur.health), 8);
    }
    if mask & SCORE != 0 {
        w.write_signed(i64::from(cur.score) - i64::from(b.score), 1);
    }
    if mask & DASH != 0 {
        w.write_golomb(u64::from(cur.dash_cooldown), 2);
    }
    if mask & RESPAWN != 0 {
        w.write_bool(cur.respawn_tick != 0);
        if cur.respawn_tick != 0 {
            w.write_golomb(u64::from(cur.respawn_tick.wrapping_sub(r.tick)), 6);
        }
    }
    if mask & OWNER != 0 {
        w.write_golomb(u64::from(cur.owner.0), 8);
    }
}

/// Reads a change record's fields (its code already read) against a baseline reference.
pub(crate) fn read_change(
    rd: &mut BitReader<'_>,
    r: &Reference,
    mask: u8,
) -> Result<EntityState, DeltaError> {
    read_fields(rd, r, mask)
}

fn read_fields(rd: &mut BitReader<'_>, r: &Reference, mask: u8) -> Result<EntityState, DeltaError> {
    let mut s = r.state;
    if mask & AIM != 0 {
        s.aim = if r.entry {
            rd.read_bits(8)? as u8
        } else {
            let turn = i8::try_from(rd.read_signed(AIM_K)?)
                .map_err(|_| DeltaError::Malformed("aim out of range"))?;
            s.aim.wrapping_add(turn as u8)
        };
    }
    if mask & VEL != 0 {
        let derived = s.kind == EntityKind::Projectile && r.entry && rd.read_bool()?;
        if derived {
            (s.vx, s.vy) = velocity_along(s.aim, PROJECTILE_SPEED);
        } else {
            s.vx = to_i32(i64::from(s.vx), rd.read_signed(VEL_K)?)?;
            s.vy = to_i32(i64::from(s.vy), rd.read_signed(VEL_K)?)?;
        }
    }
    let (px, py) = r.predicted(s.vx, s.vy);
    // The prediction alone may leave the i32 range when a residual brings it back.
    let (dx, dy) = if mask & POS != 0 {
        let k = if r.entry { ENTER_POS_K } else { POS_K };
        (rd.read_signed(k)?, rd.read_signed(k)?)
    } else {
        (0, 0)
    };
    s.x = to_i32(px, dx)?;
    s.y = to_i32(py, dy)?;
    if mask & HEALTH != 0 {
        s.health = rd.read_bits(8)? as u8;
    }
    if mask & SCORE != 0 {
        let score = i64::from(s.score) + rd.read_signed(1)?;
        s.score = u32::try_from(score).map_err(|_| DeltaError::Malformed("score out of range"))?;
    }
    if mask & DASH != 0 {
        s.dash_cooldown = u8::try_from(rd.read_golomb(2)?)
            .map_err(|_| DeltaError::Malformed("dash out of range"))?;
    }
    if mask & RESPAWN != 0 {
        s.respawn_tick = if rd.read_bool()? {
            let after = u32::try_from(rd.read_golomb(6)?)
                .map_err(|_| DeltaError::Malformed("respawn out of range"))?;
            r.tick.wrapping_add(after)
        } else {
            0
        };
    }
    if mask & OWNER != 0 {
        let owner = u32::try_from(rd.read_golomb(8)?)
            .map_err(|_| DeltaError::Malformed("owner out of range"))?;
        s.owner = EntityId(owner);
    }
    Ok(s)
}

fn to_i32(base: i64, diff: i64) -> Result<i32, DeltaError> {
    base.checked_add(diff)
        .and_then(|v| i32::try_from(v).ok())
        .ok_or(DeltaError::Malformed("coordinate out of range"))
}
