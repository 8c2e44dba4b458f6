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

/// A 16-bit checksum over a tick and its sorted entities.
///
/// Deltas carry it so that a client whose view diverged from the server's
/// finds out at once and asks for a full snapshot. Each entity is folded in as
/// five 64-bit words with a multiply-rotate step (as FxHash does), then the
/// total is avalanched and folded to 16 bits: about four times cheaper than a
/// byte-wise hash, which matters because every client checks every delta.
pub fn checksum(tick: u32, entities: &[ViewEntry]) -> u16 {
    let mut h = Mix(u64::from(tick) ^ 0x243f_6a88_85a3_08d3);
    for (id, s) in entities {
        h.word(
            u64::from(id.0)
                | u64::from(s.kind as u8) << 32
                | u64::from(s.health) << 40
                | u64::from(s.aim) << 48
                | u64::from(s.dash_cooldown) << 56,
        );
        h.word(u64::from(s.x as u32) | u64::from(s.y as u32) << 32);
        h.word(u64::from(s.vx as u32) | u64::from(s.vy as u32) << 32);
        h.word(u64::from(s.score) | u64::from(s.respawn_tick) << 32);
        h.word(u64::from(s.owner.0));
    }
    let mut x = h.0;
    // The murmur3 finaliser: every input bit affects every output bit.
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^= x >> 33;
    (x ^ (x >> 16) ^ (x >> 32) ^ (x >> 48)) as u16
}

struct Mix(u64);

impl Mix {
    fn word(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::{EntityId, EntityKind, EntityState};

    #[test]
    fn any_single_field_change_changes_the_checksum() {
        let s = EntityState {
            kind: EntityKind::Player,
            x: 5,
            y: 6,
            vx: 7,
            vy: 8,
            health: 9,
            score: 10,
            aim: 11,
            dash_cooldown: 12,
            respawn_tick: 13,
            owner: EntityId(14),
        };
        let base = checksum(3, &[(EntityId(1), s)]);
        let variants = [
            EntityState { x: 6, ..s },
            EntityState { y: 7, ..s },
            EntityState { vx: 8, ..s },
            EntityState { vy: 9, ..s },
            EntityState { health: 10, ..s },
            EntityState { score: 11, ..s },
            EntityState { aim: 12, ..s },
            EntityState {
                dash_cooldown: 13,
                ..s
            },
            EntityState {
                respawn_tick: 14,
                ..s
            },
            EntityState {
                owner: EntityId(15),
                ..s
            },
            EntityState {
                kind: EntityKind::Orb,
                ..s
            },
        ];
        for v in variants {
            assert_ne!(checksum(3, &[(EntityId(1), v)]), base, "{v:?}");
        }
        assert_ne!(checksum(4, &[(EntityId(1), s)]), base);
        assert_ne!(checksum(3, &[(EntityId(2), s)]), base);
    }
}
