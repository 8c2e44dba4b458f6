//! The immutable snapshot a room publishes, and each client's view of it.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use axum::body::Bytes;
use tickwire_protocol::EntityId;
use tickwire_protocol::delta::SharedRecords;
use tickwire_protocol::view::ViewEntry;

use super::grid::Grid;

mod index_set;

use index_set::IndexSet;

thread_local! {
    /// The entities in the view being built, by index: one set per thread,
    /// since it grows with the snapshot and is empty between views.
    static IN_VIEW: std::cell::RefCell<IndexSet> = std::cell::RefCell::new(IndexSet::new());
}

/// What a session needs to know about a player beyond its replicated state.
#[derive(Debug, Clone)]
pub struct PlayerInfo {
    /// Index of the player in [`Snapshot::entities`].
    pub index: u32,
    /// Last input of this player the room applied.
    pub last_input_seq: u32,
    /// When this player's latest batch of inputs landed ([`crate::room::world::PlayerData::batch_tick`]).
    pub batch_tick: u32,
    /// Dash cooldown, which only the player itself is sent.
    pub dash_cooldown: u8,
    /// Display name.
    pub name: Arc<str>,
}

/// What [`Snapshot::view_for`] found besides the view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewOf {
    /// The player's last applied input.
    pub last_input_seq: u32,
    /// The player's own position in the view (it is in it unless its view is empty).
    pub own: Option<usize>,
}

/// The world at one tick, shared by every session of a room.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The tick.
    pub tick: u32,
    /// Every entity, sorted by id, with `dash_cooldown` zeroed. Shared with
    /// the next snapshot, whose change records are against it.
    pub entities: Arc<Vec<ViewEntry>>,
    /// The previous snapshot's tick and entities: what most sessions' baselines
    /// are cut from.
    pub previous: Option<(u32, Arc<Vec<ViewEntry>>)>,
    /// Every entity's change record (against `previous`) and entry record,
    /// encoded by the first session that needs them and copied by all.
    pub records: OnceLock<SharedRecords>,
    /// Spatial index over `entities`.
    pub grid: Grid,
    /// Players by id.
    pub players: HashMap<EntityId, PlayerInfo>,
    /// The encoded leaderboard message, and the tick it was made at.
    pub leaderboard: Option<(u32, Bytes)>,
}

impl Snapshot {
    /// Fills `out` with the entities within `half` (width, height) of `player`,
    /// sorted by id, and `indices` with their indices in [`Self::entities`];
    /// returns the player's last applied input and its place in the view.
    /// `None` if the player is not in this snapshot.
    pub fn view_for(
        &self,
        player: EntityId,
        half: (i32, i32),
        out: &mut Vec<ViewEntry>,
        indices: &mut Vec<u32>,
    ) -> Option<ViewOf> {
        let info = self.players.get(&player)?;
        let me = &self.entities[info.index as usize].1;
        let (min, max) = (
            (me.x - half.0, me.y - half.1),
            (me.x + half.0, me.y + half.1),
        );
        // Entities are sorted by id, so walking the marked indices in order
        // yields the view sorted by id without a sort.
        IN_VIEW.with_borrow_mut(|marked| {
            for row in self.grid.rows_overlapping(min, max) {
                for &i in row {
                    let s = &self.entities[i as usize].1;
                    if (min.0..=max.0).contains(&s.x) && (min.1..=max.1).contains(&s.y) {
                        marked.insert(i);
                    }
                }
            }
            out.clear();
            indices.clear();
            marked.drain(|i| {
                out.push(self.entities[i as usize]);
                indices.push(i);
            });
        });
        let own = out.binary_search_by_key(&player, |(id, _)| *id).ok();
        if let Some(mine) = own {
            out[mine].1.dash_cooldown = info.dash_cooldown;
        }
        Some(ViewOf {
            last_input_seq: info.last_input_seq,
            own,
        })
    }

    /// The tick at which `player`'s latest batch of inputs was applied
    /// (see [`PlayerInfo::batch_tick`]), if the player is in this snapshot.
    pub fn batch_tick_of(&self, player: EntityId) -> Option<u32> {
        self.players.get(&player).map(|p| p.batch_tick)
    }

    /// The name of a player in this snapshot.
    pub fn name_of(&self, id: EntityId) -> Option<&str> {
        self.players.get(&id).map(|p| &*p.name)
    }

    /// The shared records of this snapshot, encoded on first use.
    pub fn records(&self) -> &SharedRecords {
        self.records.get_or_init(|| {
            let base = self.previous.as_ref().map(|(t, e)| (*t, e.as_slice()));
            SharedRecords::build(base, self.tick, &self.entities, |id| self.name_of(id))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};
    use tickwire_protocol::sim::Arena;
    use tickwire_protocol::{EntityKind, EntityState};

    /// A snapshot of `n` entities at random places (some outside the arena),
    /// every third a player, ids ascending with gaps.
    fn random_snapshot(rng: &mut SmallRng, arena: Arena, n: usize) -> Snapshot {
        let mut id = 0;
        let entities: Vec<ViewEntry> = (0..n)
            .map(|i| {
                id += rng.random_range(1..4);
                let state = EntityState {
                    kind: if i % 3 == 0 {
                        EntityKind::Player
                    } else {
                        EntityKind::Orb
                    },
                    x: rng.random_range(-500..arena.width + 500),
                    y: rng.random_range(-500..arena.height + 500),
                    ..Default::default()
                };
                (EntityId(id), state)
            })
            .collect();
        let players = (0..n)
            .step_by(3)
            .map(|i| {
                let info = PlayerInfo {
                    index: i as u32,
                    last_input_seq: i as u32 * 7,
                    batch_tick: 0,
                    dash_cooldown: (i % 5) as u8 + 1,
                    name: Arc::from("p"),
                };
                (entities[i].0, info)
            })
            .collect();
        let mut grid = Grid::new(arena, 700);
        let points: Vec<(i32, i32)> = entities.iter().map(|(_, s)| (s.x, s.y)).collect();
        grid.rebuild(&points);
        Snapshot {
            tick: 9,
            entities: Arc::new(entities),
            grid,
            players,
            leaderboard: None,
            ..Snapshot::default()
        }
    }

    #[test]
    fn views_hold_exactly_the_entities_in_range_sorted_by_id() {
        let mut rng = SmallRng::seed_from_u64(11);
        let arena = Arena {
            width: 20_000,
            height: 15_000,
        };
        let (mut out, mut indices) = (Vec::new(), Vec::new());
        for _ in 0..20 {
            let n = rng.random_range(1..600);
            let snap = random_snapshot(&mut rng, arena, n);
            let half = (rng.random_range(0..6000), rng.random_range(0..6000));
            for (&player, info) in &snap.players {
                let of = snap.view_for(player, half, &mut out, &mut indices);
                assert_eq!(of.map(|v| v.last_input_seq), Some(info.last_input_seq));
                let own = of.and_then(|v| v.own).map(|at| out[at].0);
                assert_eq!(own, Some(player), "the player is where it says");
                let me = snap.entities[info.index as usize].1;
                let expected: Vec<ViewEntry> = snap
                    .entities
                    .iter()
                    .filter(|(_, s)| (s.x - me.x).abs() <= half.0 && (s.y - me.y).abs() <= half.1)
                    .map(|&(id, mut s)| {
                        if id == player {
                            s.dash_cooldown = info.dash_cooldown;
                        }
                        (id, s)
                    })
                    .collect();
                assert_eq!(out, expected);
                let at_indices: Vec<EntityId> = indices
                    .iter()
                    .map(|&i| snap.entities[i as usize].0)
                    .collect();
                let ids: Vec<EntityId> = out.iter().map(|(id, _)| *id).collect();
                assert_eq!(at_indices, ids);
            }
        }
        let snap = random_snapshot(&mut rng, arena, 10);
        assert_eq!(
            snap.view_for(EntityId(u32::MAX), (10, 10), &mut out, &mut indices),
            None
        );
    }
}
