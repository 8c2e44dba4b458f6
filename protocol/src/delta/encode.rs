//! Server side: encode a client's current view against its baseline.

use crate::bits::BitWriter;
use crate::delta::record::{Reference, diff_mask, write_change, write_entry, write_left};
use crate::delta::shared::{SharedRecords, Span};
use crate::delta::{BaselineView, DeltaStats};
use crate::entity::{EntityId, EntityKind, EntityState};
use crate::tuning::MAX_NAME_BYTES;
use crate::view::{ViewEntry, checksum};

/// Reusable buffers for encoding deltas; keep one per client to avoid allocation.
#[derive(Debug, Default)]
pub struct DeltaEncoder {
    bits: BitWriter,
    /// (skip, what became of it), per touched baseline entry.
    touched: Vec<(u32, Touched)>,
    /// Indexes into current of entities entering the view.
    entered: Vec<usize>,
}

/// What became of a touched baseline entry.
#[derive(Debug, Clone, Copy)]
enum Touched {
    /// It left the view.
    Left,
    /// It changed these fields; the index is into the current view.
    Changed(usize, u8),
    /// It changed these fields, and its record is this shared one.
    Shared(Span, u8),
}

/// What a viewer's delta may take from its snapshot's [`SharedRecords`].
#[derive(Debug, Clone, Copy)]
pub struct SharedView<'a> {
    /// The records of the snapshot the view is cut from.
    pub records: &'a SharedRecords,
    /// For each entity of the view, its index in that snapshot.
    pub indices: &'a [u32],
    /// The viewer's own entity, encoded for it alone (its state differs from
    /// what others see).
    pub own: EntityId,
}

/// Where a delta's bits went, for tuning the format and for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeltaProfile {
    /// Bits of checksum and counts.
    pub header_bits: u32,
    /// Bits spent on entities leaving.
    pub left_bits: u32,
    /// Bits spent on entities changing.
    pub changed_bits: u32,
    /// Bits spent on entities entering.
    pub entered_bits: u32,
    /// Changes by record form: position+velocity, aim, position+velocity+aim, position,
    /// velocity, velocity+aim, any other mask.
    pub changed_by_form: [u32; 7],
    /// Entries by entity kind code (player, projectile, orb).
    pub entered_by_kind: [u32; 3],
    /// Entities that left.
    pub left_count: u32,
    /// Moving entities moved on by extrapolation alone (no record).
    pub coasting_count: u32,
}

/// One encoded delta, borrowing the encoder's buffer.
#[derive(Debug)]
pub struct EncodedDelta<'a> {
    /// `tick − baseline tick`, or 0 for a full snapshot. Goes into [`crate::message::Delta`].
    pub baseline_age: u16,
    /// Whether the changes were copied from shared records (the baseline is
    /// the snapshot those records' changes are against), not encoded here.
    pub shared_changes: bool,
    /// The bit-packed payload.
    pub payload: &'a [u8],
    /// What the payload carries.
    pub stats: DeltaStats,
    /// Where its bits went.
    pub profile: DeltaProfile,
}

impl DeltaEncoder {
    /// A new encoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Encodes `current` (the view at `tick`, sorted by id) against `baseline`
    /// (`(tick, entities)` the client holds; `None` for a full snapshot).
    ///
    /// A baseline older than `u16::MAX` ticks, or not older than `tick`, is
    /// ignored and a full snapshot is sent instead. `name_of` gives the names of
    /// players entering the view.
    pub fn encode<'n>(
        &mut self,
        baseline: Option<(u32, &[ViewEntry])>,
        tick: u32,
        current: &[ViewEntry],
        name_of: impl Fn(EntityId) -> Option<&'n str>,
    ) -> EncodedDelta<'_> {
        let baseline = baseline.map(|(t, e)| (t, BaselineView::Entries(e)));
        self.encode_shared(baseline, tick, current, name_of, None)
    }

    /// Like [`encode`](Self::encode), but copies the records it can from
    /// `shared` instead of encoding them again: every entry, and, when the
    /// baseline is the snapshot the records' changes are against, every
    /// change, except those of `shared.own`. The payload is the same bits.
    /// The baseline may be picked from a snapshot ([`BaselineView::Picked`]).
    pub fn encode_shared<'n>(
        &mut self,
        baseline: Option<(u32, BaselineView<'_>)>,
        tick: u32,
        current: &[ViewEntry],
        name_of: impl Fn(EntityId) -> Option<&'n str>,
        shared: Option<SharedView<'_>>,
    ) -> EncodedDelta<'_> {
        let shared =
            shared.filter(|s| s.records.tick() == tick && s.indices.len() == current.len());
        let baseline = baseline.and_then(|(base_tick, entities)| {
            let age = tick.wrapping_sub(base_tick);
            u16::try_from(age)
                .ok()
                .filter(|a| *a > 0)
                .map(|a| (a, entities))
        });
        let (baseline_age, base) = baseline.unwrap_or((0, BaselineView::Entries(&[])));
        let dt = u32::from(baseline_age);
        let changes = shared
            .filter(|s| baseline_age > 0 && s.records.base_tick() == Some(tick.wrapping_sub(dt)));
        let shared_record = |s: Option<SharedView<'_>>, ci: usize, id: EntityId| {
            s.filter(|s| s.own != id)
                .and_then(|s| s.records.get(s.indices[ci]))
                .copied()
        };

        self.touched.clear();
        self.entered.clear();
        let mut stats = DeltaStats::default();
        let (mut bi, mut ci, mut skip) = (0, 0, 0u32);
        while bi < base.len() || ci < current.len() {
            let b = base.get(bi);
            let c = current.get(ci);
            match (b, c) {
                (Some((bid, bs)), Some((cid, cs))) if bid == cid => {
                    let (mask, touched) =
                        match shared_record(changes, ci, *cid).filter(|r| r.in_base) {
                            Some(r) => (r.mask, Touched::Shared(r.change, r.mask)),
                            None => {
                                let mask = diff_mask(&Reference::baseline(*bs, dt, tick), cs);
                                (mask, Touched::Changed(ci, mask))
                            }
                        };
                    if mask == 0 {
                        skip += 1;
                        stats.coasting += u32::from(cs.vx != 0 || cs.vy != 0);
                    } else {
                        self.touched.push((skip, touched));
                        stats.changed += 1;
                        skip = 0;
                    }
                    bi += 1;
                    ci += 1;
                }
                (Some((bid, _)), Some((cid, _))) if cid < bid => {
                    self.entered.push(ci);
                    ci += 1;
                }
                (Some(_), _) => {
                    self.touched.push((skip, Touched::Left));
                    stats.left += 1;
                    skip = 0;
                    bi += 1;
                }
                (None, Some(_)) => {
                    self.entered.push(ci);
                    ci += 1;
                }
                (None, None) => unreachable!("loop condition"),
            }
        }
        stats.entered = self.entered.len() as u32;

        let mut profile = DeltaProfile {
            coasting_count: stats.coasting,
            ..DeltaProfile::default()
        };
        let w = &mut self.bits;
        w.clear();
        w.write_bits(u32::from(checksum(tick, current)), 16);
        w.write_golomb(self.touched.len() as u64, 2);
        profile.header_bits = w.bit_len() as u32;
        let mut base_cursor = 0usize;
        for &(skip, touched) in &self.touched {
            let start = w.bit_len();
            base_cursor += skip as usize;
            w.write_golomb(u64::from(skip), 0);
            let mask = match touched {
                Touched::Left => {
                    write_left(w);
                    profile.left_bits += (w.bit_len() - start) as u32;
                    profile.left_count += 1;
                    base_cursor += 1;
                    continue;
                }
                Touched::Changed(ci, mask) => {
                    let bs = base.get(base_cursor).map(|(_, s)| *s);
                    debug_assert!(bs.is_some(), "a changed entry is in the baseline");
                    let reference = Reference::baseline(bs.unwrap_or_default(), dt, tick);
                    write_change(w, &reference, &current[ci].1, mask);
                    mask
                }
                Touched::Shared(span, mask) => {
                    if let Some(s) = changes {
                        s.records.copy(span, w);
                    }
                    mask
                }
            };
            profile.changed_bits += (w.bit_len() - start) as u32;
            profile.changed_by_form[form_of(mask)] += 1;
            base_cursor += 1;
        }
        let start = w.bit_len();
        w.write_golomb(self.entered.len() as u64, 2);
        profile.header_bits += (w.bit_len() - start) as u32;
        let start = w.bit_len();
        let mut next_id = 0u64;
        for &ci in &self.entered {
            let (id, s) = &current[ci];
            w.write_golomb(u64::from(id.0) - next_id, 4);
            next_id = u64::from(id.0) + 1;
            match (shared_record(shared, ci, *id), shared) {
                (Some(r), Some(s)) => s.records.copy(r.entry, w),
                _ => write_entry_record(w, tick, s, name_of(*id)),
            }
            profile.entered_by_kind[usize::from(s.kind as u8).min(2)] += 1;
        }
        profile.entered_bits = (w.bit_len() - start) as u32;
        EncodedDelta {
            baseline_age,
            shared_changes: changes.is_some(),
            payload: w.finish(),
            stats,
            profile,
        }
    }
}

/// Writes the record of an entity entering a view, after its id gap: kind,
/// mask, fields against a zeroed entity, and a player's name.
pub(crate) fn write_entry_record(
    w: &mut BitWriter,
    tick: u32,
    s: &EntityState,
    name: Option<&str>,
) {
    w.write_bits(u32::from(s.kind as u8), 2);
    write_entry(w, &Reference::entry(s.kind, tick), s);
    if s.kind == EntityKind::Player {
        let name = truncate_name(name.unwrap_or(""));
        w.write_golomb(name.len() as u64, 2);
        w.write_bytes(name.as_bytes());
    }
}

fn form_of(mask: u8) -> usize {
    use crate::delta::record::{AIM, POS, VEL};
    match mask {
        m if m == POS | VEL => 0,
        AIM => 1,
        m if m == POS | VEL | AIM => 2,
        POS => 3,
        VEL => 4,
        m if m == VEL | AIM => 5,
        _ => 6,
    }
}

/// `name` cut to at most [`MAX_NAME_BYTES`] bytes on a character boundary.
pub fn truncate_name(name: &str) -> &str {
    let mut end = name.len().min(MAX_NAME_BYTES);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}
