//! One entity's field record: which fields differ from a reference, and by how much.

use crate::bits::{BitReader, BitWriter};
use crate::delta::DeltaError;
use crate::entity::{EntityId, EntityState};

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
pub(crate) const ENTER_POS_K: u32 = 12;
const VEL_K: u32 = 3;

/// What a record is written against.
pub(crate) struct Reference {
    /// The reference state (the baseline entry, or a zeroed entity on entry).
    pub state: EntityState,
    /// Where the reference predicts the position (extrapolated by velocity).
    pub predicted: (i64, i64),
    /// Exp-Golomb order of the position residual.
    pub pos_k: u32,
    /// The delta's tick, which respawn ticks are relative to.
    pub tick: u32,
}

impl Reference {
    /// The reference for an entity already in view.
    pub fn baseline(state: EntityState, dt: u32, tick: u32) -> Self {
        Self {
            state,
            predicted: extrapolate(&state, dt),
            pos_k: POS_K,
            tick,
        }
    }

    /// The reference for an entity entering the view.
    pub fn entry(kind: crate::entity::EntityKind, tick: u32) -> Self {
        Self {
            state: EntityState {
                kind,
                ..Default::default()
            },
            predicted: (0, 0),
            pos_k: ENTER_POS_K,
            tick,
        }
    }
}

/// Where `s` would be after `dt` ticks at constant velocity.
pub(crate) fn extrapolate(s: &EntityState, dt: u32) -> (i64, i64) {
    let t = i64::from(dt);
    (
        i64::from(s.x) + i64::from(s.vx) * t,
        i64::from(s.y) + i64::from(s.vy) * t,
    )
}

/// The mask of fields in which `cur` differs from the reference.
pub(crate) fn diff_mask(r: &Reference, cur: &EntityState) -> u8 {
    let b = &r.state;
    let mut mask = 0;
    if (i64::from(cur.x), i64::from(cur.y)) != r.predicted {
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

/// Writes the record of `cur` against `r`, given its non-zero mask or zero for an entry.
pub(crate) fn write_record(w: &mut BitWriter, r: &Reference, cur: &EntityState, mask: u8) {
    match mask {
        POS => w.write_bool(true),
        m if m == POS | VEL => w.write_bits(0b01, 2),
        m => {
            w.write_bits(0b00, 2);
            w.write_bits(u32::from(m), 8);
        }
    }
    let b = &r.state;
    if mask & POS != 0 {
        w.write_signed(i64::from(cur.x) - r.predicted.0, r.pos_k);
        w.write_signed(i64::from(cur.y) - r.predicted.1, r.pos_k);
    }
    if mask & VEL != 0 {
        w.write_signed(i64::from(cur.vx) - i64::from(b.vx), VEL_K);
        w.write_signed(i64::from(cur.vy) - i64::from(b.vy), VEL_K);
    }
    if mask & HEALTH != 0 {
        w.write_bits(u32::from(cur.health), 8);
    }
    if mask & SCORE != 0 {
        w.write_signed(i64::from(cur.score) - i64::from(b.score), 1);
    }
    if mask & AIM != 0 {
        w.write_signed(i64::from(cur.aim.wrapping_sub(b.aim) as i8), 2);
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

/// Reads a record written by [`write_record`] against the same reference.
pub(crate) fn read_record(
    rd: &mut BitReader<'_>,
    r: &Reference,
) -> Result<EntityState, DeltaError> {
    let mask = if rd.read_bool()? {
        POS
    } else if rd.read_bool()? {
        POS | VEL
    } else {
        rd.read_bits(8)? as u8
    };
    let mut s = r.state;
    let (px, py) = r.predicted;
    // The extrapolation alone may leave the i32 range when a residual brings it back.
    let (dx, dy) = if mask & POS != 0 {
        (rd.read_signed(r.pos_k)?, rd.read_signed(r.pos_k)?)
    } else {
        (0, 0)
    };
    s.x = to_i32(px, dx)?;
    s.y = to_i32(py, dy)?;
    if mask & VEL != 0 {
        s.vx = to_i32(i64::from(s.vx), rd.read_signed(VEL_K)?)?;
        s.vy = to_i32(i64::from(s.vy), rd.read_signed(VEL_K)?)?;
    }
    if mask & HEALTH != 0 {
        s.health = rd.read_bits(8)? as u8;
    }
    if mask & SCORE != 0 {
        let score = i64::from(s.score) + rd.read_signed(1)?;
        s.score = u32::try_from(score).map_err(|_| DeltaError::Malformed("score out of range"))?;
    }
    if mask & AIM != 0 {
        let turn = i8::try_from(rd.read_signed(2)?)
            .map_err(|_| DeltaError::Malformed("aim out of range"))?;
        s.aim = s.aim.wrapping_add(turn as u8);
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
