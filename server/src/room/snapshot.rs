//! The immutable snapshot a room publishes, and each client's view of it.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use tickwire_protocol::view::ViewEntry;
use tickwire_protocol::{EntityId, EntityState};

use super::grid::Grid;

/// What a session needs to know about a player beyond its replicated state.
#[derive(Debug, Clone)]
pub struct PlayerInfo {
    /// Index of the player in [`Snapshot::entities`].
    pub index: u32,
    /// Last input of this player the room applied.
    pub last_input_seq: u32,
    /// Dash cooldown, which only the player itself is sent.
    pub dash_cooldown: u8,
    /// Display name.
    pub name: Arc<str>,
}

/// The world at one tick, shared by every session of a room.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The tick.
    pub tick: u32,
    /// Every entity, sorted by id, with `dash_cooldown` zeroed.
    pub entities: Vec<ViewEntry>,
    /// Spatial index over `entities`.
    pub grid: Grid,
    /// Players by id.
    pub players: HashMap<EntityId, PlayerInfo>,
    /// The encoded leaderboard message, and the tick it was made at.
    pub leaderboard: Option<(u32, Bytes)>,
}

impl Snapshot {
    /// Fills `out` with the entities within `half` (width, height) of `player`,
    /// sorted by id, and returns the player's last applied input. `None` if the
    /// player is not in this snapshot.
    pub fn view_for(
        &self,
        player: EntityId,
        half: (i32, i32),
        out: &mut Vec<ViewEntry>,
        scratch: &mut Vec<u32>,
    ) -> Option<u32> {
        let info = self.players.get(&player)?;
        let me = &self.entities[info.index as usize].1;
        let (min, max) = (
            (me.x - half.0, me.y - half.1),
            (me.x + half.0, me.y + half.1),
        );
        scratch.clear();
        self.grid.query(min, max, scratch);
        scratch.sort_unstable();
        out.clear();
        for &i in scratch.iter() {
            let (id, s) = &self.entities[i as usize];
            if (min.0..=max.0).contains(&s.x) && (min.1..=max.1).contains(&s.y) {
                let mut s: EntityState = *s;
                if *id == player {
                    s.dash_cooldown = info.dash_cooldown;
                }
                out.push((*id, s));
            }
        }
        Some(info.last_input_seq)
    }

    /// The name of a player in this snapshot.
    pub fn name_of(&self, id: EntityId) -> Option<&str> {
        self.players.get(&id).map(|p| &*p.name)
    }
}
