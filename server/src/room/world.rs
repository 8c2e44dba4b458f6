//! The room's world: every entity, owned by the room task alone.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, OnceLock};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use slotmap::{SlotMap, new_key_type};
use tickwire_protocol::sim::Arena;
use tickwire_protocol::tuning::{MAX_HEALTH, PLAYER_RADIUS};
use tickwire_protocol::view::ViewEntry;
use tickwire_protocol::{EntityId, EntityKind, EntityState, InputFrame, ResumeToken};

use super::grid::Grid;
use super::snapshot::{PlayerInfo, Snapshot};

new_key_type! {
    /// A key into the world's entity map.
    pub struct EntityKey;
}

/// Grid cell size for the snapshot's area-of-interest index, units (256 px).
const SNAPSHOT_CELL: i32 = 256 * tickwire_protocol::tuning::UNITS_PER_PIXEL;

/// One entity: its wire id, replicated state, and server-only data.
#[derive(Debug)]
pub struct Entity {
    /// Wire id, unique for the room's life.
    pub id: EntityId,
    /// What clients see.
    pub state: EntityState,
    /// What only the server knows.
    pub role: Role,
}

/// Server-only data by kind.
#[derive(Debug)]
pub enum Role {
    /// A player.
    Player(Box<PlayerData>),
    /// A projectile, which vanishes at `expires_tick`.
    Projectile {
        /// Tick after which it is removed.
        expires_tick: u32,
    },
    /// An orb.
    Orb,
}

/// A player's server-only state.
#[derive(Debug)]
pub struct PlayerData {
    /// Display name.
    pub name: Arc<str>,
    /// Inputs received and not yet applied, oldest first.
    pub inputs: VecDeque<(u32, InputFrame)>,
    /// Sequence number of the last input applied.
    pub last_seq: u32,
    /// Inputs this player may still have applied (see [`MAX_INPUT_CREDIT`]).
    pub input_credit: u32,
    /// Inputs to go before this player may fire again.
    pub fire_cooldown: u32,
    /// Bumped each time a connection takes this player back; commands from an
    /// older connection carry an older generation and are ignored.
    pub generation: u32,
    /// The token that takes this player back after a drop.
    pub resume_token: ResumeToken,
    /// While no connection controls the player: the tick at which it leaves for good.
    pub detached_until: Option<u32>,
    /// The last tick at which inputs were applied after a tick with none: when
    /// the latest batch of a client that sends several inputs per message
    /// landed (see [`super::phases`]).
    pub batch_tick: u32,
    /// Whether any input was applied at the last tick.
    pub applied_last_tick: bool,
}

impl PlayerData {
    /// The input credit this player has at the next tick: one more than now,
    /// up to [`MAX_INPUT_CREDIT`].
    pub fn next_tick_credit(&self) -> u32 {
        (self.input_credit + 1).min(MAX_INPUT_CREDIT)
    }
}

/// Most inputs one player may have applied in a single tick.
///
/// Each tick gives every player one input of credit, up to this many, and each
/// input applied spends one. So a client that sends a tick's input per tick
/// plays at exactly the tick rate however it batches them: a batch of three
/// that arrives every three ticks is applied in full at the next tick instead
/// of trickling out over three (which would add up to two ticks of latency to
/// every batch), while a client that sends faster than the tick rate (a fast
/// clock, or a speed hack) still gets one input a tick on average; the rest
/// wait in its bounded queue. Like Source's `sv_maxusrcmdprocessticks`.
pub const MAX_INPUT_CREDIT: u32 = 8;

/// The world of one room.
#[derive(Debug)]
pub struct World {
    pub(super) entities: SlotMap<EntityKey, Entity>,
    pub(super) arena: Arena,
    pub(super) tick: u32,
    pub(super) rng: SmallRng,
    pub(super) max_queued_inputs: usize,
    next_id: u32,
    players: usize,
    /// Scratch space reused by the rules each tick.
    pub(super) scratch: Scratch,
}

/// Buffers the tick reuses so that it does not allocate in steady state.
#[derive(Debug, Default)]
pub(super) struct Scratch {
    pub grid_keys: Vec<EntityKey>,
    pub grid_points: Vec<(i32, i32)>,
    pub grid: Grid,
    pub hits: Vec<u32>,
    pub removals: Vec<EntityKey>,
    pub spawns: Vec<(EntityId, i32, i32, u8)>,
}

impl World {
    /// A world with `orbs` orbs scattered over `arena`.
    pub fn new(arena: Arena, orbs: usize, max_queued_inputs: usize, seed: u64) -> Self {
        let mut w = Self {
            entities: SlotMap::with_key(),
            arena,
            tick: 1,
            rng: SmallRng::seed_from_u64(seed),
            max_queued_inputs,
            next_id: 1,
            players: 0,
            scratch: Scratch {
                grid: Grid::new(arena, 128 * 16),
                ..Default::default()
            },
        };
        for _ in 0..orbs {
            let (x, y) = w.random_position(PLAYER_RADIUS);
            w.spawn(
                EntityState {
                    kind: EntityKind::Orb,
                    x,
                    y,
                    ..Default::default()
                },
                Role::Orb,
            );
        }
        w
    }

    /// The current tick.
    pub fn tick(&self) -> u32 {
        self.tick
    }

    /// Players in the world.
    pub fn player_count(&self) -> usize {
        self.players
    }

    /// Entities of every kind.
    pub fn entity_count(&self) -> usize {
        self.entities.len()
    }

    pub(super) fn spawn(&mut self, state: EntityState, role: Role) -> (EntityKey, EntityId) {
        let id = EntityId(self.next_id);
        self.next_id += 1;
        (self.entities.insert(Entity { id, state, role }), id)
    }

    pub(super) fn random_position(&mut self, margin: i32) -> (i32, i32) {
        (
            self.rng.random_range(margin..self.arena.width - margin),
            self.rng.random_range(margin..self.arena.height - margin),
        )
    }

    /// Adds a player at a random place.
    pub fn add_player(
        &mut self,
        name: Arc<str>,
        resume_token: ResumeToken,
    ) -> (EntityKey, EntityId) {
        let (x, y) = self.random_position(PLAYER_RADIUS * 4);
        let state = EntityState {
            kind: EntityKind::Player,
            x,
            y,
            health: MAX_HEALTH,
            ..Default::default()
        };
        let data = PlayerData {
            name,
            inputs: VecDeque::new(),
            last_seq: 0,
            input_credit: 0,
            fire_cooldown: 0,
            generation: 0,
            resume_token,
            detached_until: None,
            batch_tick: 0,
            applied_last_tick: false,
        };
        self.players += 1;
        self.spawn(state, Role::Player(Box::new(data)))
    }

    /// Removes a player; its projectiles fly on. Unknown keys are ignored.
    /// Returns the removed player's resume token.
    pub fn remove_player(&mut self, key: EntityKey) -> Option<ResumeToken> {
        if let Some(Entity {
            role: Role::Player(_),
            ..
        }) = self.entities.get(key)
        {
            self.players -= 1;
            if let Some(Entity {
                role: Role::Player(p),
                ..
            }) = self.entities.remove(key)
            {
                return Some(p.resume_token);
            }
        }
        None
    }

    /// The server-only data of a player.
    pub fn player_mut(&mut self, key: EntityKey) -> Option<&mut PlayerData> {
        match self.entities.get_mut(key) {
            Some(Entity {
                role: Role::Player(p),
                ..
            }) => Some(p),
            _ => None,
        }
    }

    /// Players no connection controls whose grace ran out by this tick.
    pub fn expired_detached(&self, out: &mut Vec<EntityKey>) {
        let tick = self.tick;
        out.extend(self.entities.iter().filter_map(|(k, e)| match &e.role {
            Role::Player(p) if p.detached_until.is_some_and(|t| t <= tick) => Some(k),
            _ => None,
        }));
    }

    /// Queues inputs `first_seq..` for a player, skipping any already queued or applied.
    /// If the queue is over its bound, the oldest inputs are dropped. Returns how
    /// many ticks after the next one the first of these will be applied, at the
    /// player's present input credit, if the player exists.
    pub fn queue_inputs(
        &mut self,
        key: EntityKey,
        first_seq: u32,
        frames: &[InputFrame],
    ) -> Option<usize> {
        let Some(Entity {
            role: Role::Player(p),
            ..
        }) = self.entities.get_mut(key)
        else {
            return None;
        };
        let ahead = (p.inputs.len() + 1).saturating_sub(p.next_tick_credit() as usize);
        let newest = p.inputs.back().map_or(p.last_seq, |(s, _)| *s);
        for (i, f) in frames.iter().enumerate() {
            let seq = first_seq.wrapping_add(i as u32);
            if seq.wrapping_sub(newest) as i32 > 0 {
                p.inputs.push_back((seq, *f));
            }
        }
        while p.inputs.len() > self.max_queued_inputs {
            p.inputs.pop_front();
        }
        Some(ahead)
    }

    /// The immutable snapshot of this tick. `previous` is the snapshot most of
    /// its sessions' baselines are (see [`super::phases`]): its shared change
    /// records are encoded against that one.
    pub fn snapshot(
        &self,
        leaderboard: Option<(u32, axum::body::Bytes)>,
        previous: Option<(u32, Arc<Vec<ViewEntry>>)>,
    ) -> Snapshot {
        let mut entities: Vec<_> = self
            .entities
            .values()
            .map(|e| {
                (
                    e.id,
                    EntityState {
                        dash_cooldown: 0,
                        ..e.state
                    },
                )
            })
            .collect();
        entities.sort_unstable_by_key(|(id, _)| *id);
        let mut players = HashMap::with_capacity(self.players);
        for e in self.entities.values() {
            if let Role::Player(p) = &e.role {
                let index = entities
                    .binary_search_by_key(&e.id, |(id, _)| *id)
                    .unwrap_or_default() as u32;
                let info = PlayerInfo {
                    index,
                    last_input_seq: p.last_seq,
                    batch_tick: p.batch_tick,
                    dash_cooldown: e.state.dash_cooldown,
                    name: p.name.clone(),
                };
                players.insert(e.id, info);
            }
        }
        let mut grid = Grid::new(self.arena, SNAPSHOT_CELL);
        let points: Vec<(i32, i32)> = entities.iter().map(|(_, s)| (s.x, s.y)).collect();
        grid.rebuild(&points);
        Snapshot {
            tick: self.tick,
            entities: Arc::new(entities),
            previous,
            records: OnceLock::new(),
            grid,
            players,
            leaderboard,
        }
    }

    /// The top `n` players by score: (id, name, score).
    pub fn top_players(&self, n: usize) -> Vec<(EntityId, Arc<str>, u32)> {
        let mut all: Vec<_> = self
            .entities
            .values()
            .filter_map(|e| match &e.role {
                Role::Player(p) => Some((e.id, p.name.clone(), e.state.score)),
                _ => None,
            })
            .collect();
        let n = n.min(all.len());
        if n > 0 && n < all.len() {
            all.select_nth_unstable_by(n - 1, |a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
        }
        all.truncate(n);
        all.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
        all
    }

    /// The state of one entity.
    pub fn get(&self, key: EntityKey) -> Option<&Entity> {
        self.entities.get(key)
    }
}
