//! A client's view of the world: the entities in its area of interest.

use crate::entity::{EntityId, EntityState};

/// One entity in a view.
pub type ViewEntry = (EntityId, EntityState);

/// The entities one client sees at one tick, sorted by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct View {
    /// The tick this view shows; 0 before the first snapshot.
    pub tick: u32,
    /// Entities sorted by ascending id, without duplicates.
    pub entities: Vec<ViewEntry>,
}

impl View {
    /// The state of `id`, if it is in view.
    pub fn get(&self, id: EntityId) -> Option<&EntityState> {
        self.entities
            .binary_search_by_key(&id, |(eid, _)| *eid)
            .ok()
            .map(|i| &self.entities[i].1)
    }

    /// The checksum a delta carries for this view.
    pub fn checksum(&self) -> u16 {
        checksum(self.tick, &self.entities)
    }
}

/// A 16-bit checksum over a tick and its sorted entities (FNV-1a, folded).
///
/// Deltas carry it so that a client whose view diverged from the server's
/// finds out at once and asks for a full snapshot.
pub fn checksum(tick: u32, entities: &[ViewEntry]) -> u16 {
    let mut h = Fnv::new();
    h.word(tick);
    for (id, s) in entities {
        h.word(id.0);
        h.word(s.kind as u32);
        h.word(s.x as u32);
        h.word(s.y as u32);
        h.word(s.vx as u32);
        h.word(s.vy as u32);
        h.word(u32::from(s.health) | u32::from(s.aim) << 8 | u32::from(s.dash_cooldown) << 16);
        h.word(s.score);
        h.word(s.respawn_tick);
        h.word(s.owner.0);
    }
    let full = h.0;
    (full ^ (full >> 16)) as u16
}

struct Fnv(u32);

impl Fnv {
    fn new() -> Self {
        Self(0x811c_9dc5)
    }

    fn word(&mut self, w: u32) {
        for b in w.to_le_bytes() {
            self.0 = (self.0 ^ u32::from(b)).wrapping_mul(0x0100_0193);
        }
    }
}
