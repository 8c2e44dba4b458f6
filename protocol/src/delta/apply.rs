//! Client side: apply a delta to the baseline view.

use crate::bits::BitReader;
use crate::delta::record::{Reference, extrapolate, read_change, read_entry, read_touch_code};
use crate::delta::{DeltaError, DeltaStats, MAX_VIEW_ENTITIES};
use crate::entity::{EntityId, EntityKind};
use crate::message::Delta;
use crate::tuning::MAX_NAME_BYTES;
use crate::view::{View, checksum};

/// Applies `delta` to `baseline`, returning the new view and what changed.
///
/// Names of players entering the view are pushed onto `names`. The result is
/// checked against the delta's checksum, so a divergence is an error, never
/// silent. For a full snapshot (`baseline_age == 0`) `baseline` is ignored.
pub fn apply_delta(
    baseline: &View,
    delta: &Delta,
    names: &mut Vec<(EntityId, String)>,
) -> Result<(View, DeltaStats), DeltaError> {
    let mut out = View::default();
    let stats = apply_delta_into(baseline, delta, names, &mut out)?;
    Ok((out, stats))
}

/// Like [`apply_delta`], but writes the new view into `out`, reusing its
/// allocation (a client can keep two views and swap them). On error `out`
/// holds nothing useful.
pub fn apply_delta_into(
    baseline: &View,
    delta: &Delta,
    names: &mut Vec<(EntityId, String)>,
    out: &mut View,
) -> Result<DeltaStats, DeltaError> {
    let base: &[_] = match delta.baseline_tick() {
        None => &[],
        Some(t) if t == baseline.tick && baseline.tick != 0 => &baseline.entities,
        expected => {
            return Err(DeltaError::BaselineMismatch {
                expected,
                held: baseline.tick,
            });
        }
    };
    let tick = delta.tick;
    let dt = u32::from(delta.baseline_age);
    let mut rd = BitReader::new(&delta.payload);
    let server_checksum = rd.read_bits(16)? as u16;
    let mut stats = DeltaStats::default();

    let touched = bounded_count(rd.read_golomb(2)?, base.len())?;
    let entities = &mut out.entities;
    entities.clear();
    entities.reserve(base.len());
    let mut cursor = 0usize;
    let keep_moving = |entities: &mut Vec<_>,
                       coasting: &mut u32,
                       from: usize,
                       to: usize|
     -> Result<(), DeltaError> {
        for (id, s) in &base[from..to] {
            let mut s = *s;
            *coasting += u32::from(s.vx != 0 || s.vy != 0);
            let (x, y) = extrapolate(&s, dt);
            s.x = i32::try_from(x).map_err(|_| DeltaError::Malformed("coordinate out of range"))?;
            s.y = i32::try_from(y).map_err(|_| DeltaError::Malformed("coordinate out of range"))?;
            entities.push((*id, s));
        }
        Ok(())
    };
    for _ in 0..touched {
        let skip = bounded_count(rd.read_golomb(0)?, base.len() - cursor)?;
        keep_moving(entities, &mut stats.coasting, cursor, cursor + skip)?;
        cursor += skip;
        let (id, old) = base
            .get(cursor)
            .ok_or(DeltaError::Malformed("touched entry past the baseline"))?;
        cursor += 1;
        match read_touch_code(&mut rd)? {
            None => stats.left += 1,
            Some(mask) => {
                let state = read_change(&mut rd, &Reference::baseline(*old, dt, tick), mask)?;
                entities.push((*id, state));
                stats.changed += 1;
            }
        }
    }
    keep_moving(entities, &mut stats.coasting, cursor, base.len())?;

    let entered = bounded_count(rd.read_golomb(2)?, MAX_VIEW_ENTITIES)?;
    let kept = entities.len();
    let mut next_id = 0u64;
    for _ in 0..entered {
        let id = next_id + rd.read_golomb(4)?;
        let id = u32::try_from(id).map_err(|_| DeltaError::Malformed("entity id out of range"))?;
        next_id = u64::from(id) + 1;
        let kind = EntityKind::from_code(rd.read_bits(2)? as u8)
            .ok_or(DeltaError::Malformed("unknown entity kind"))?;
        let state = read_entry(&mut rd, &Reference::entry(kind, tick))?;
        if kind == EntityKind::Player {
            let len = bounded_count(rd.read_golomb(2)?, MAX_NAME_BYTES)?;
            let bytes = rd.read_bytes(len)?;
            let name =
                String::from_utf8(bytes).map_err(|_| DeltaError::Malformed("name is not UTF-8"))?;
            names.push((EntityId(id), name));
        }
        entities.push((EntityId(id), state));
        stats.entered += 1;
    }
    if entities.len() > MAX_VIEW_ENTITIES {
        return Err(DeltaError::Malformed("view too large"));
    }
    if entered > 0 {
        merge_sorted(entities, kept)?;
    }
    let client = checksum(tick, entities);
    if client != server_checksum {
        return Err(DeltaError::ChecksumMismatch {
            server: server_checksum,
            client,
        });
    }
    out.tick = tick;
    Ok(stats)
}

fn bounded_count(n: u64, max: usize) -> Result<usize, DeltaError> {
    usize::try_from(n)
        .ok()
        .filter(|n| *n <= max)
        .ok_or(DeltaError::Malformed("count out of range"))
}

/// `v[..mid]` and `v[mid..]` are each sorted by id; merges them, refusing duplicates.
fn merge_sorted(v: &mut [crate::view::ViewEntry], mid: usize) -> Result<(), DeltaError> {
    if mid > 0 && mid < v.len() && v[mid - 1].0 >= v[mid].0 {
        v.sort_by_key(|(id, _)| *id);
    }
    if v.windows(2).any(|w| w[0].0 >= w[1].0) {
        return Err(DeltaError::Malformed("duplicate entity id"));
    }
    Ok(())
}
