//! Entity states and id-sorted entity lists.

use tickwire_protocol::entity::{EntityId, EntityKind, EntityState};
use tickwire_protocol::view::ViewEntry;

use crate::bytes::{Reader, Writer};

/// Coordinates of "sane" states stay within ±2^24 units (the arena is far smaller).
pub const SANE_POSITION: i32 = 1 << 24;
/// Velocities of "sane" states stay within ±2^16 units per tick.
pub const SANE_VELOCITY: i32 = 1 << 16;
/// Largest baseline age used with sane states: `SANE_POSITION + SANE_VELOCITY × age`
/// then stays below 2^31, so velocity extrapolation cannot overflow `i32`.
pub const SANE_MAX_AGE: u16 = 1 << 14;

/// Reads an entity state, every field as sent (any value).
pub fn read_state(r: &mut Reader<'_>) -> EntityState {
    EntityState {
        kind: EntityKind::from_code(r.u8() % 3).unwrap_or_default(),
        x: r.i32(),
        y: r.i32(),
        vx: r.i32(),
        vy: r.i32(),
        health: r.u8(),
        score: r.u32(),
        aim: r.u8(),
        dash_cooldown: r.u8(),
        respawn_tick: r.u32(),
        owner: EntityId(r.u32()),
    }
}

/// Writes what [`read_state`] reads.
pub fn write_state(w: &mut Writer, s: &EntityState) {
    w.u8(s.kind as u8);
    w.i32(s.x);
    w.i32(s.y);
    w.i32(s.vx);
    w.i32(s.vy);
    w.u8(s.health);
    w.u32(s.score);
    w.u8(s.aim);
    w.u8(s.dash_cooldown);
    w.u32(s.respawn_tick);
    w.u32(s.owner.0);
}

/// `s` with position and velocity folded into the sane ranges (other fields kept).
pub fn sane(mut s: EntityState) -> EntityState {
    s.x %= SANE_POSITION;
    s.y %= SANE_POSITION;
    s.vx %= SANE_VELOCITY;
    s.vy %= SANE_VELOCITY;
    s
}

/// Whether `s` is within the sane ranges.
pub fn is_sane(s: &EntityState) -> bool {
    let within = |v: i32, limit: i32| v.unsigned_abs() <= limit.unsigned_abs();
    within(s.x, SANE_POSITION)
        && within(s.y, SANE_POSITION)
        && within(s.vx, SANE_VELOCITY)
        && within(s.vy, SANE_VELOCITY)
}

/// Reads a count (one byte) and then that many entities, each an id gap and a
/// state, giving ids in strictly ascending order (the first id is its gap,
/// then each is the previous + 1 + gap). Stops early at the end of the input or
/// when ids would pass `u32::MAX`.
pub fn read_entities(r: &mut Reader<'_>) -> Vec<ViewEntry> {
    let n = r.u8();
    let mut out = Vec::with_capacity(usize::from(n));
    let mut next_id = 0u64;
    for _ in 0..n {
        if r.is_empty() {
            break;
        }
        let id = next_id + u64::from(r.u32());
        let Ok(id) = u32::try_from(id) else {
            break;
        };
        out.push((EntityId(id), read_state(r)));
        next_id = u64::from(id) + 1;
    }
    out
}

/// Writes what [`read_entities`] reads; `entities` must be sorted by id, without duplicates.
pub fn write_entities(w: &mut Writer, entities: &[ViewEntry]) {
    w.u8(u8::try_from(entities.len()).expect("at most 255 entities"));
    let mut next_id = 0u32;
    for (id, s) in entities {
        w.u32(id.0 - next_id);
        write_state(w, s);
        next_id = id.0 + 1;
    }
}

/// Whether ids are strictly ascending (sorted, no duplicates).
pub fn ids_strictly_ascending(entities: &[ViewEntry]) -> bool {
    entities.windows(2).all(|w| w[0].0 < w[1].0)
}
