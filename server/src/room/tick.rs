//! The room task: a fixed-rate tick loop that owns the world.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use tickwire_protocol::codec;
use tickwire_protocol::message::{Leaderboard, LeaderboardEntry, ServerMessage};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tracing::{Instrument, debug, info, info_span, warn};

use super::world::World;
use super::{JoinError, Joined, RoomCommand, RoomHandle, Snapshot};
use crate::config::ServerConfig;
use crate::metrics::Metrics;

/// Most ticks run back to back to catch up after a stall; beyond this the
/// room skips ahead rather than fast-forwarding the game.
const MAX_CATCH_UP_TICKS: u32 = 5;
/// Ticks between leaderboard updates (about a second at 60 Hz).
const LEADERBOARD_TICKS: u32 = 60;

/// Tick timing over the last second or so, published for metrics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TickStats {
    /// The room's tick.
    pub tick: u32,
    /// Players in the room.
    pub players: usize,
    /// Entities in the world.
    pub entities: usize,
    /// Longest tick (simulation + snapshot) in the last window, milliseconds.
    pub max_tick_ms: f64,
    /// Mean tick duration in the last window, milliseconds.
    pub mean_tick_ms: f64,
    /// Ticks so far that took longer than the tick period.
    pub overruns: u64,
}

/// Starts a room's tick loop; it runs until `shutdown` turns true.
pub fn spawn_room(
    config: Arc<ServerConfig>,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) -> (RoomHandle, JoinHandle<()>) {
    let (commands, mut inbox) = mpsc::channel(config.room_queue);
    let world = World::new(
        config.arena(),
        config.orbs,
        config.max_queued_inputs,
        rand::random(),
    );
    let (snap_tx, snapshots) = watch::channel(Arc::new(world.snapshot(None)));
    let (stats_tx, stats) = watch::channel(TickStats::default());
    let task = async move {
        metrics.rooms.inc();
        let mut room = RoomLoop::new(world, config, metrics.clone());
        info!(tick_rate = room.config.tick_rate, "room started");
        let mut interval = tokio::time::interval(room.config.tick_period());
        interval.set_missed_tick_behavior(MissedTickBehavior::Burst);
        let mut behind = 0u32;
        loop {
            tokio::select! {
                biased;
                _ = shutdown.changed() => break,
                at = interval.tick() => {
                    // Skip ahead instead of replaying a long stall tick by tick.
                    let late = at.elapsed();
                    if late > room.config.tick_period() * MAX_CATCH_UP_TICKS {
                        behind += 1;
                        interval.reset();
                    }
                }
            }
            room.run_tick(&mut inbox, &snap_tx, &stats_tx);
        }
        metrics.rooms.dec();
        info!(skipped_stalls = behind, "room stopped");
    };
    let handle = tokio::spawn(task.instrument(info_span!("room", room = 1)));
    (
        RoomHandle {
            commands,
            snapshots,
            stats,
        },
        handle,
    )
}

struct RoomLoop {
    world: World,
    config: Arc<ServerConfig>,
    metrics: Arc<Metrics>,
    leaderboard: Option<(u32, Bytes)>,
    window_ticks: u32,
    window_total: Duration,
    window_max: Duration,
    overruns: u64,
}

impl RoomLoop {
    fn new(world: World, config: Arc<ServerConfig>, metrics: Arc<Metrics>) -> Self {
        Self {
            world,
            config,
            metrics,
            leaderboard: None,
            window_ticks: 0,
            window_total: Duration::ZERO,
            window_max: Duration::ZERO,
            overruns: 0,
        }
    }

    fn run_tick(
        &mut self,
        inbox: &mut mpsc::Receiver<RoomCommand>,
        snapshots: &watch::Sender<Arc<Snapshot>>,
        stats: &watch::Sender<TickStats>,
    ) {
        let started = Instant::now();
        let _span = tracing::trace_span!("tick", tick = self.world.tick() + 1).entered();
        while let Ok(cmd) = inbox.try_recv() {
            self.handle(cmd);
        }
        self.world.step();
        let tick = self.world.tick();
        if tick.is_multiple_of(LEADERBOARD_TICKS) || self.leaderboard.is_none() {
            self.leaderboard = Some((tick, self.encode_leaderboard()));
        }
        if tick.is_multiple_of(u32::from(self.config.snapshot_interval_ticks())) {
            snapshots.send_replace(Arc::new(self.world.snapshot(self.leaderboard.clone())));
        }
        self.record(started.elapsed(), stats);
    }

    fn handle(&mut self, cmd: RoomCommand) {
        match cmd {
            RoomCommand::Join { name, reply } => {
                let answer = if self.world.player_count() >= self.config.max_players {
                    Err(JoinError::Full(self.config.max_players))
                } else {
                    let (key, id) = self.world.add_player(name.clone());
                    debug!(player_id = id.0, %name, players = self.world.player_count(), "player joined");
                    Ok(Joined {
                        key,
                        id,
                        tick: self.world.tick(),
                    })
                };
                if let Err(Ok(joined)) = reply.send(answer) {
                    // The session went away while waiting: undo the join.
                    self.world.remove_player(joined.key);
                }
            }
            RoomCommand::Inputs {
                key,
                first_seq,
                frames,
            } => self.world.queue_inputs(key, first_seq, &frames),
            RoomCommand::Leave { key } => {
                self.world.remove_player(key);
                debug!(players = self.world.player_count(), "player left");
            }
        }
    }

    fn encode_leaderboard(&self) -> Bytes {
        let entries = self
            .world
            .top_players(10)
            .into_iter()
            .map(|(player, name, score)| LeaderboardEntry {
                player,
                name: name.to_string(),
                score,
            })
            .collect();
        let msg = ServerMessage::Leaderboard(Leaderboard {
            entries,
            players: self.world.player_count() as u32,
        });
        let mut buf = Vec::new();
        // Ten short names are far below the codec's limit.
        let _ = codec::encode_server(&msg, &mut buf);
        Bytes::from(buf)
    }

    fn record(&mut self, took: Duration, stats: &watch::Sender<TickStats>) {
        let budget = self.config.tick_period();
        self.metrics.tick_seconds.observe(took.as_secs_f64());
        if took > budget {
            self.overruns += 1;
            self.metrics.tick_overruns.inc();
            warn!(
                took_ms = took.as_secs_f64() * 1000.0,
                budget_ms = budget.as_secs_f64() * 1000.0,
                "tick overran its budget"
            );
        }
        self.window_ticks += 1;
        self.window_total += took;
        self.window_max = self.window_max.max(took);
        if self.window_ticks >= u32::from(self.config.tick_rate) {
            stats.send_replace(TickStats {
                tick: self.world.tick(),
                players: self.world.player_count(),
                entities: self.world.entity_count(),
                max_tick_ms: self.window_max.as_secs_f64() * 1000.0,
                mean_tick_ms: self.window_total.as_secs_f64() * 1000.0
                    / f64::from(self.window_ticks),
                overruns: self.overruns,
            });
            self.window_ticks = 0;
            self.window_total = Duration::ZERO;
            self.window_max = Duration::ZERO;
        }
    }
}
