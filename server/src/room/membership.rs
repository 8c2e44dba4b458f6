//! Who is in a room: joins, resumes with once-only tokens, detaches and leaves.

use std::collections::HashMap;
use std::sync::Arc;

use tickwire_protocol::{ResumeToken, RoomId};
use tracing::{debug, info};

use super::world::{EntityKey, World};
use super::{JoinError, Joined};

/// Resume tokens of a room's players, and the room's capacity.
#[derive(Debug)]
pub struct Membership {
    room: RoomId,
    capacity: usize,
    /// Ticks a dropped player is kept for a resume.
    resume_ticks: u32,
    tokens: HashMap<ResumeToken, EntityKey>,
    expired: Vec<EntityKey>,
}

impl Membership {
    /// Membership for room `room` of `capacity` players, keeping dropped players `resume_ticks`.
    pub fn new(room: RoomId, capacity: usize, resume_ticks: u32) -> Self {
        Self {
            room,
            capacity,
            resume_ticks,
            tokens: HashMap::new(),
            expired: Vec::new(),
        }
    }

    /// A fresh, unguessable token; its first four bytes name the room so the
    /// lobby can route a resume without asking every room.
    fn new_token(&self) -> ResumeToken {
        let mut bytes: [u8; 16] = rand::random();
        bytes[..4].copy_from_slice(&self.room.0.to_le_bytes());
        ResumeToken(bytes)
    }

    /// Admits a new player, unless the room is full.
    pub fn join(&mut self, world: &mut World, name: Arc<str>) -> Result<Joined, JoinError> {
        if world.player_count() >= self.capacity {
            return Err(JoinError::Full(self.capacity));
        }
        let token = self.new_token();
        let (key, id) = world.add_player(name, token);
        self.tokens.insert(token, key);
        debug!(
            player_id = id.0,
            players = world.player_count(),
            "player joined"
        );
        Ok(Joined {
            key,
            id,
            tick: world.tick(),
            generation: 0,
            resume_token: token,
            resumed: false,
        })
    }

    /// Hands a player back to a new connection. The token is spent; the answer carries a new one.
    pub fn resume(&mut self, world: &mut World, token: ResumeToken) -> Result<Joined, JoinError> {
        let key = self
            .tokens
            .remove(&token)
            .ok_or(JoinError::ResumeRejected)?;
        let fresh = self.new_token();
        let tick = world.tick();
        let id = world
            .get(key)
            .map(|e| e.id)
            .ok_or(JoinError::ResumeRejected)?;
        let player = world.player_mut(key).ok_or(JoinError::ResumeRejected)?;
        player.generation += 1;
        player.detached_until = None;
        player.resume_token = fresh;
        // The new connection numbers its inputs from 1 again.
        player.inputs.clear();
        player.last_seq = 0;
        let generation = player.generation;
        self.tokens.insert(fresh, key);
        info!(player_id = id.0, generation, "player resumed");
        Ok(Joined {
            key,
            id,
            tick,
            generation,
            resume_token: fresh,
            resumed: true,
        })
    }

    /// Whether `generation` is the player's current connection.
    pub fn is_current(world: &mut World, key: EntityKey, generation: u32) -> bool {
        world
            .player_mut(key)
            .is_some_and(|p| p.generation == generation)
    }

    /// Removes a player for good.
    pub fn leave(&mut self, world: &mut World, key: EntityKey) {
        if let Some(token) = world.remove_player(key) {
            self.tokens.remove(&token);
            debug!(players = world.player_count(), "player left");
        }
    }

    /// Keeps a dropped player for the resume window, controlled by nothing.
    pub fn detach(&mut self, world: &mut World, key: EntityKey) {
        if self.resume_ticks == 0 {
            return self.leave(world, key);
        }
        let until = world.tick() + self.resume_ticks;
        if let Some(p) = world.player_mut(key) {
            p.detached_until = Some(until);
            p.inputs.clear();
        }
    }

    /// Removes dropped players whose resume window has passed.
    pub fn expire(&mut self, world: &mut World) {
        let mut expired = std::mem::take(&mut self.expired);
        expired.clear();
        world.expired_detached(&mut expired);
        for &key in &expired {
            debug!("resume window passed");
            self.leave(world, key);
        }
        self.expired = expired;
    }
}
