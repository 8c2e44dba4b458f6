//! The room task: a fixed-rate tick loop that owns the world.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use tickwire_protocol::RoomId;
use tickwire_protocol::codec;
use tickwire_protocol::message::{Leaderboard, LeaderboardEntry, ServerMessage};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tracing::{Instrument, error, info, info_span, warn};

use super::membership::Membership;
use super::phases::{PhaseSenders, spawn_phases};
use super::world::World;
use super::{RoomCommand, RoomHandle};
use crate::config::ServerConfig;
use crate::metrics::Metrics;

/// Most ticks run back to back to catch up after a stall; beyond this the
/// room skips ahead rather than fast-forwarding the game.
const MAX_CATCH_UP_TICKS: u32 = 5;
/// Ticks between leaderboard updates (about a second at 60 Hz).
const LEADERBOARD_TICKS: u32 = 60;
/// Ticks between checks for dropped players whose resume window has passed.
const EXPIRY_CHECK_TICKS: u32 = 15;

/// Tick timing over the last second or so, published for `/rooms` and tests.
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

/// Starts room `id`'s tick loop on `runtime`. It runs until `shutdown` turns
/// true, or until it has been empty for the configured grace period. Snapshots
/// reach sessions through a relay on `sessions_runtime` (see [`super::relay`]).
pub fn spawn_room(
    runtime: &tokio::runtime::Handle,
    sessions_runtime: &tokio::runtime::Handle,
    id: RoomId,
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
    let (mut snap_tx, snapshots) =
        spawn_phases(sessions_runtime, config.snapshot_interval_ticks(), || {
            world.snapshot(None, None)
        });
    let (stats_tx, stats) = watch::channel(TickStats::default());
    let occupancy = Arc::new(AtomicUsize::new(0));
    let handle = RoomHandle {
        id,
        capacity: config.max_players,
        created: Instant::now(),
        commands,
        snapshots,
        stats,
        occupancy: occupancy.clone(),
    };
    let resume_ticks =
        (config.resume_window.as_secs_f64() * f64::from(config.tick_rate)).ceil() as u32;
    let empty_grace_ticks =
        (config.empty_room_grace.as_secs_f64() * f64::from(config.tick_rate)).ceil() as u32;
    let task = async move {
        metrics.rooms.inc();
        let membership = Membership::new(id, config.max_players, resume_ticks);
        let mut room = RoomLoop::new(world, membership, config, metrics.clone());
        info!(
            tick_rate = room.config.tick_rate,
            capacity = room.config.max_players,
            "room created"
        );
        let mut interval = tokio::time::interval(room.config.tick_period());
        interval.set_missed_tick_behavior(MissedTickBehavior::Burst);
        let mut empty_ticks = 0u32;
        let why = loop {
            tokio::select! {
                biased;
                _ = shutdown.changed() => break "server shutting down",
                at = interval.tick() => {
                    // Skip ahead instead of replaying a long stall tick by tick.
                    if at.elapsed() > room.config.tick_period() * MAX_CATCH_UP_TICKS {
                        interval.reset();
                    }
                }
            }
            room.run_tick(&mut inbox, &mut snap_tx, &stats_tx);
            occupancy.store(room.world.player_count(), Ordering::Relaxed);
            empty_ticks = if room.world.player_count() == 0 {
                empty_ticks + 1
            } else {
                0
            };
            if empty_ticks > empty_grace_ticks {
                break "empty past its grace period";
            }
        };
        inbox.close();
        // Anyone who asked to join in the meantime is told the room closed.
        while let Ok(cmd) = inbox.try_recv() {
            drop(cmd);
        }
        metrics.rooms.dec();
        info!(reason = why, ticks = room.world.tick(), "room closed");
    };
    let span = info_span!("room", room = id.0);
    let guarded = async move {
        // A panicking room takes only itself down: its sessions see the room close.
        if let Err(panic) =
            futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(task)).await
        {
            error!(panic = ?panic.downcast_ref::<&str>(), "room task panicked");
        }
    };
    (handle, runtime.spawn(guarded.instrument(span)))
}

struct RoomLoop {
    world: World,
    membership: Membership,
    config: Arc<ServerConfig>,
    metrics: Arc<Metrics>,
    leaderboard: Option<(u32, Bytes)>,
    window_ticks: u32,
    window_total: Duration,
    window_max: Duration,
    overruns: u64,
}

impl RoomLoop {
    fn new(
        world: World,
        membership: Membership,
        config: Arc<ServerConfig>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            world,
            membership,
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
        snapshots: &mut PhaseSenders,
        stats: &watch::Sender<TickStats>,
    ) {
        let started = Instant::now();
        let _span = tracing::trace_span!("tick", tick = self.world.tick() + 1).entered();
        while let Ok(cmd) = inbox.try_recv() {
            self.handle(cmd);
        }
        self.world.step();
        let tick = self.world.tick();
        if tick.is_multiple_of(EXPIRY_CHECK_TICKS) {
            self.membership.expire(&mut self.world);
        }
        if tick.is_multiple_of(LEADERBOARD_TICKS) || self.leaderboard.is_none() {
            self.leaderboard = Some((tick, self.encode_leaderboard()));
        }
        // Every tick, to one phase of the sessions in turn (see `phases`).
        let (world, leaderboard) = (&self.world, &self.leaderboard);
        snapshots.publish(tick, |previous| {
            world.snapshot(leaderboard.clone(), previous)
        });
        self.record(started.elapsed(), stats);
    }

    fn handle(&mut self, cmd: RoomCommand) {
        let world = &mut self.world;
        match cmd {
            RoomCommand::Join { name, reply } => {
                let answer = self.membership.join(world, name);
                if let Err(Ok(joined)) = reply.send(answer) {
                    // The session went away while waiting: undo the join.
                    self.membership.leave(world, joined.key);
                }
            }
            RoomCommand::Resume { token, reply } => {
                let answer = self.membership.resume(world, token);
                if let Err(Ok(joined)) = reply.send(answer) {
                    self.membership.detach(world, joined.key);
                }
            }
            RoomCommand::Inputs {
                key,
                generation,
                first_seq,
                frames,
                received,
            } => {
                if Membership::is_current(world, key, generation)
                    && let Some(ahead) = world.queue_inputs(key, first_seq, &frames)
                {
                    // Applied this tick, after one more tick per input queued ahead.
                    let wait = received.elapsed() + self.config.tick_period() * ahead as u32;
                    self.metrics.input_applied.observe(wait.as_secs_f64());
                }
            }
            RoomCommand::Leave { key, generation } => {
                if Membership::is_current(world, key, generation) {
                    self.membership.leave(world, key);
                }
            }
            RoomCommand::Detach { key, generation } => {
                if Membership::is_current(world, key, generation) {
                    self.membership.detach(world, key);
                }
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
