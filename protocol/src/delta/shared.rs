//! Records encoded once per snapshot and shared by every viewer's delta.
//!
//! Nearly every client's baseline is the previous snapshot the server
//! published (over an ordered stream, the last view written to its socket).
//! For every entity in view both then and now, the change record against that
//! baseline is then the same bits for every viewer; so is the entry record of
//! an entity entering a view (its id gap aside). [`SharedRecords`] encodes
//! each entity's change and entry once; [`DeltaEncoder::encode_shared`]
//! merges a viewer's view with its baseline and copies those bits, and
//! encodes per viewer only what differs: the viewer's own entity (it alone
//! sees its dash cooldown), and everything when its baseline is another tick.
//! The payload is bit for bit the one [`DeltaEncoder::encode`] writes.
//!
//! [`DeltaEncoder::encode_shared`]: crate::delta::DeltaEncoder::encode_shared
//! [`DeltaEncoder::encode`]: crate::delta::DeltaEncoder::encode

use crate::bits::BitWriter;
use crate::delta::encode::write_entry_record;
use crate::delta::record::{Reference, diff_mask, write_change};
use crate::entity::EntityId;
use crate::view::ViewEntry;

/// Bits of one record in the arena: `bits` bits from word `start` on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Span {
    start: u32,
    bits: u32,
}

/// One entity's shared records.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Shared {
    /// Its change record against the base snapshot (code included); empty
    /// when it is unchanged or was not in the base snapshot.
    pub change: Span,
    /// The fields that changed (0: unchanged, or not in the base snapshot).
    pub mask: u8,
    /// Whether it was in the base snapshot (else `change` and `mask` mean nothing).
    pub in_base: bool,
    /// Its entry record: kind, mask, fields and (players) name.
    pub entry: Span,
}

/// Every entity's change record (against the previous snapshot) and entry
/// record, for one snapshot, encoded once.
#[derive(Debug, Default)]
pub struct SharedRecords {
    tick: u32,
    /// The tick change records are against; `None`: entries only.
    base_tick: Option<u32>,
    /// Per entity of the snapshot, in its order.
    records: Vec<Shared>,
    /// Record bits, most significant first, 32 to a word; each record starts a word.
    words: Vec<u32>,
}

impl SharedRecords {
    /// Encodes the records of `entities` (the snapshot at `tick`, sorted by
    /// id, as every viewer but the entity's owner sees it) against `base`, the
    /// previous snapshot's entities at its tick (`None`: entries only).
    /// `name_of` gives players' names, as for [`crate::delta::DeltaEncoder::encode`].
    pub fn build<'n>(
        base: Option<(u32, &[ViewEntry])>,
        tick: u32,
        entities: &[ViewEntry],
        name_of: impl Fn(EntityId) -> Option<&'n str>,
    ) -> Self {
        let base = base.filter(|(t, _)| {
            let age = tick.wrapping_sub(*t);
            age > 0 && age <= u32::from(u16::MAX)
        });
        let mut out = Self {
            tick,
            base_tick: base.map(|(t, _)| t),
            records: Vec::with_capacity(entities.len()),
            words: Vec::with_capacity(entities.len() * 5),
        };
        let (dt, base) = base.map_or((0, &[][..]), |(t, b)| (tick.wrapping_sub(t), b));
        let mut w = BitWriter::new();
        let mut bi = 0;
        for (id, cur) in entities {
            while bi < base.len() && base[bi].0 < *id {
                bi += 1;
            }
            let mut shared = Shared::default();
            if let Some((_, old)) = base.get(bi).filter(|(bid, _)| bid == id) {
                shared.in_base = true;
                let reference = Reference::baseline(*old, dt, tick);
                shared.mask = diff_mask(&reference, cur);
                if shared.mask != 0 {
                    w.clear();
                    write_change(&mut w, &reference, cur, shared.mask);
                    shared.change = out.push(&mut w);
                }
            }
            w.clear();
            write_entry_record(&mut w, tick, cur, name_of(*id));
            shared.entry = out.push(&mut w);
            out.records.push(shared);
        }
        out
    }

    /// The tick these records are for.
    pub fn tick(&self) -> u32 {
        self.tick
    }

    /// The tick the change records are against, if any.
    pub fn base_tick(&self) -> Option<u32> {
        self.base_tick
    }

    /// Entities these records cover (the snapshot's length).
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether there are no records.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    pub(crate) fn get(&self, index: u32) -> Option<&Shared> {
        self.records.get(index as usize)
    }

    /// Moves the bits written to `w` into the arena.
    fn push(&mut self, w: &mut BitWriter) -> Span {
        let bits = w.bit_len() as u32;
        let start = self.words.len() as u32;
        for chunk in w.finish().chunks(4) {
            let mut word = [0u8; 4];
            word[..chunk.len()].copy_from_slice(chunk);
            self.words.push(u32::from_be_bytes(word));
        }
        Span { start, bits }
    }

    /// Appends a record's bits to `w`.
    pub(crate) fn copy(&self, span: Span, w: &mut BitWriter) {
        let mut left = span.bits;
        let mut i = span.start as usize;
        while left >= 32 {
            w.write_bits(self.words[i], 32);
            left -= 32;
            i += 1;
        }
        if left > 0 {
            w.write_bits(self.words[i] >> (32 - left), left);
        }
    }
}
