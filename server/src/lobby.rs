//! The lobby: every room of the server, matchmaking, and room lifecycles.
//!
//! Rooms are created on demand and close themselves when they have been empty
//! for the grace period; the lobby forgets closed rooms as it goes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use thiserror::Error;
use tickwire_protocol::{ResumeToken, RoomId, RoomRequest};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::ServerConfig;
use crate::metrics::Metrics;
use crate::room::{self, RoomHandle};

/// Why no room could be found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum LobbyError {
    /// The room asked for does not exist (or has closed).
    #[error("room {} not found", .0.0)]
    NotFound(RoomId),
    /// The server holds its maximum number of rooms.
    #[error("no room for a new match: {0} rooms running")]
    TooManyRooms(usize),
    /// The server is shutting down.
    #[error("server shutting down")]
    ShuttingDown,
}

/// One line of `GET /rooms`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RoomSummary {
    /// Room id.
    pub id: u32,
    /// Players in the room (including dropped ones awaiting a resume).
    pub players: usize,
    /// Most players the room admits.
    pub capacity: usize,
    /// Seconds since the room was created.
    pub age_secs: f64,
    /// The room's tick.
    pub tick: u32,
    /// Mean tick duration over the last second, milliseconds.
    pub mean_tick_ms: f64,
    /// Longest tick over the last second, milliseconds.
    pub max_tick_ms: f64,
    /// Ticks that overran their budget since the room started.
    pub tick_overruns: u64,
}

/// All rooms of a server.
#[derive(Debug)]
pub struct Lobby {
    /// Where room tasks run: a runtime of their own, so that ticks never wait
    /// behind thousands of session tasks for a worker.
    rooms_runtime: tokio::runtime::Handle,
    /// Where sessions run; each room's snapshot relay runs there too.
    sessions_runtime: tokio::runtime::Handle,
    config: Arc<ServerConfig>,
    metrics: Arc<Metrics>,
    shutdown: watch::Receiver<bool>,
    state: Mutex<LobbyState>,
}

#[derive(Debug, Default)]
struct LobbyState {
    rooms: BTreeMap<RoomId, RoomHandle>,
    tasks: Vec<JoinHandle<()>>,
    next_id: u32,
}

impl Lobby {
    /// An empty lobby.
    pub fn new(
        rooms_runtime: tokio::runtime::Handle,
        sessions_runtime: tokio::runtime::Handle,
        config: Arc<ServerConfig>,
        metrics: Arc<Metrics>,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Self {
            rooms_runtime,
            sessions_runtime,
            config,
            metrics,
            shutdown,
            state: Mutex::new(LobbyState {
                next_id: 1,
                ..Default::default()
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, LobbyState> {
        // The lock guards plain bookkeeping that stays consistent even if a holder panicked.
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        state.rooms.retain(|_, room| !room.is_closed());
        state.tasks.retain(|task| !task.is_finished());
        state
    }

    /// The room a request should go to, creating one when needed.
    pub fn find(&self, request: RoomRequest) -> Result<RoomHandle, LobbyError> {
        if *self.shutdown.borrow() {
            return Err(LobbyError::ShuttingDown);
        }
        let mut state = self.lock();
        match request {
            RoomRequest::Join(id) => state
                .rooms
                .get(&id)
                .cloned()
                .ok_or(LobbyError::NotFound(id)),
            RoomRequest::Create => self.create(&mut state),
            RoomRequest::JoinOrCreate => {
                let fullest = state
                    .rooms
                    .values()
                    .filter(|r| r.occupancy() < r.capacity)
                    .max_by_key(|r| (r.occupancy(), std::cmp::Reverse(r.id)))
                    .cloned();
                match fullest {
                    Some(room) => Ok(room),
                    None => self.create(&mut state),
                }
            }
        }
    }

    /// The room a resume token belongs to (its first four bytes name it).
    pub fn room_of(&self, token: &ResumeToken) -> Option<RoomHandle> {
        let mut id = [0u8; 4];
        id.copy_from_slice(&token.0[..4]);
        self.lock()
            .rooms
            .get(&RoomId(u32::from_le_bytes(id)))
            .cloned()
    }

    fn create(&self, state: &mut LobbyState) -> Result<RoomHandle, LobbyError> {
        if state.rooms.len() >= self.config.max_rooms {
            return Err(LobbyError::TooManyRooms(state.rooms.len()));
        }
        let id = RoomId(state.next_id);
        state.next_id += 1;
        let (handle, task) = room::spawn_room(
            &self.rooms_runtime,
            &self.sessions_runtime,
            id,
            self.config.clone(),
            self.metrics.clone(),
            self.shutdown.clone(),
        );
        state.rooms.insert(id, handle.clone());
        state.tasks.push(task);
        Ok(handle)
    }

    /// Every open room, by id.
    pub fn list(&self) -> Vec<RoomSummary> {
        self.lock()
            .rooms
            .values()
            .map(|r| {
                let stats = *r.stats.borrow();
                RoomSummary {
                    id: r.id.0,
                    players: r.occupancy(),
                    capacity: r.capacity,
                    age_secs: r.created.elapsed().as_secs_f64(),
                    tick: stats.tick,
                    mean_tick_ms: stats.mean_tick_ms,
                    max_tick_ms: stats.max_tick_ms,
                    tick_overruns: stats.overruns,
                }
            })
            .collect()
    }

    /// The room tasks still running, for shutdown to wait on.
    pub fn take_tasks(&self) -> Vec<JoinHandle<()>> {
        std::mem::take(&mut self.lock().tasks)
    }
}
