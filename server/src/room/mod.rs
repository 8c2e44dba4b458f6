//! A room: one match, one world, one tick loop.
//!
//! Sessions talk to a room only through its [`RoomHandle`]: commands go in on a
//! bounded channel, snapshots come out on a `watch` channel (latest wins). The
//! room task alone owns the [`World`].

mod grid;
mod rules;
mod snapshot;
mod tick;
mod world;

use std::sync::Arc;

use thiserror::Error;

use crate::metrics::Metrics;

use tickwire_protocol::{EntityId, InputFrame};
use tokio::sync::{mpsc, oneshot, watch};

pub use grid::Grid;
pub use snapshot::{PlayerInfo, Snapshot};
pub use tick::{TickStats, spawn_room};
pub use world::{EntityKey, World};

/// A request from a session to its room.
#[derive(Debug)]
pub enum RoomCommand {
    /// Add a player; the reply says who it is, or why not.
    Join {
        /// Display name, already cut to the protocol's limit.
        name: Arc<str>,
        /// Where the answer goes.
        reply: oneshot::Sender<Result<Joined, JoinError>>,
    },
    /// Inputs for a player, `first_seq` onward.
    Inputs {
        /// The player.
        key: EntityKey,
        /// Sequence number of `frames[0]`.
        first_seq: u32,
        /// The inputs, oldest first.
        frames: Vec<InputFrame>,
    },
    /// Remove a player (its connection ended).
    Leave {
        /// The player.
        key: EntityKey,
    },
}

/// A player admitted to a room.
#[derive(Debug, Clone, Copy)]
pub struct Joined {
    /// The player's key in the room's world.
    pub key: EntityKey,
    /// The player's wire id.
    pub id: EntityId,
    /// The room's tick at the join.
    pub tick: u32,
}

/// Why a join was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum JoinError {
    /// The room holds its maximum of players.
    #[error("room is full ({0} players)")]
    Full(usize),
    /// The room is shutting down.
    #[error("room is closed")]
    Closed,
}

/// How sessions reach a room.
#[derive(Debug, Clone)]
pub struct RoomHandle {
    /// Commands into the room.
    pub commands: mpsc::Sender<RoomCommand>,
    /// The latest snapshot.
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    /// The latest tick timing figures.
    pub stats: watch::Receiver<TickStats>,
}

impl RoomHandle {
    /// Asks the room to admit a player.
    pub async fn join(&self, name: Arc<str>) -> Result<Joined, JoinError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(RoomCommand::Join { name, reply })
            .await
            .map_err(|_| JoinError::Closed)?;
        answer.await.unwrap_or(Err(JoinError::Closed))
    }
}

/// Removes its player from the room when dropped: on a clean exit, an error
/// or a panic in the session task alike, so no entity is ever orphaned.
#[derive(Debug)]
pub struct PlayerGuard {
    commands: mpsc::Sender<RoomCommand>,
    key: EntityKey,
    metrics: Arc<Metrics>,
}

impl PlayerGuard {
    /// A guard for `key` in the room behind `commands`; counts the player as connected.
    pub fn new(commands: mpsc::Sender<RoomCommand>, key: EntityKey, metrics: Arc<Metrics>) -> Self {
        metrics.players.inc();
        Self {
            commands,
            key,
            metrics,
        }
    }
}

impl Drop for PlayerGuard {
    fn drop(&mut self) {
        self.metrics.players.dec();
        let cmd = RoomCommand::Leave { key: self.key };
        if let Err(mpsc::error::TrySendError::Full(cmd)) = self.commands.try_send(cmd) {
            // The queue is momentarily full: hand the leave to a task that waits for room.
            let commands = self.commands.clone();
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move {
                    let _ = commands.send(cmd).await;
                });
            }
        }
    }
}
