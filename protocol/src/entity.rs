//! What a client can see of an entity.

use serde::{Deserialize, Serialize};

use crate::sim::PlayerMotion;

/// An entity's id on the wire. Ids are never reused within a room.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct EntityId(pub u32);

/// The kinds of entity in the demo game.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum EntityKind {
    /// A player's body.
    #[default]
    Player = 0,
    /// A shot in flight.
    Projectile = 1,
    /// A collectable orb.
    Orb = 2,
}

impl EntityKind {
    /// The kind with this wire code, if any.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Self::Player),
            1 => Some(Self::Projectile),
            2 => Some(Self::Orb),
            _ => None,
        }
    }
}

/// The replicated state of one entity, as a client sees it.
///
/// Fields a kind does not use stay zero. Positions are in fixed-point units
/// (see [`crate::tuning::UNITS_PER_PIXEL`]), velocities in units per tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct EntityState {
    /// What the entity is. Never changes during its life.
    pub kind: EntityKind,
    /// Position x, units.
    pub x: i32,
    /// Position y, units.
    pub y: i32,
    /// Velocity x, units per tick.
    pub vx: i32,
    /// Velocity y, units per tick.
    pub vy: i32,
    /// Health of a player; 0 while dead.
    pub health: u8,
    /// Score of a player.
    pub score: u32,
    /// Aim angle of a player, 1/256 turns.
    pub aim: u8,
    /// Ticks until the player may dash again. Only sent to the player it belongs to.
    pub dash_cooldown: u8,
    /// Tick at which a dead player respawns; 0 while alive.
    pub respawn_tick: u32,
    /// The player who fired a projectile. Never changes during its life.
    pub owner: EntityId,
}

impl EntityState {
    /// The movement part of a player's state.
    pub fn motion(&self) -> PlayerMotion {
        PlayerMotion {
            x: self.x,
            y: self.y,
            vx: self.vx,
            vy: self.vy,
            dash_cooldown: self.dash_cooldown,
        }
    }

    /// Copies movement state into this entity.
    pub fn set_motion(&mut self, m: PlayerMotion) {
        self.x = m.x;
        self.y = m.y;
        self.vx = m.vx;
        self.vy = m.vy;
        self.dash_cooldown = m.dash_cooldown;
    }

    /// Where this entity would be after `ticks` ticks at constant velocity.
    ///
    /// Deltas encode positions relative to this guess, so steady motion costs nothing.
    pub fn extrapolated(&self, ticks: u32) -> (i32, i32) {
        let t = ticks as i32;
        (
            self.x.wrapping_add(self.vx.wrapping_mul(t)),
            self.y.wrapping_add(self.vy.wrapping_mul(t)),
        )
    }
}
