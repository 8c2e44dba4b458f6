//! An honest player that keeps playing in its own task while a test abuses
//! the server, publishing what it sees on a `watch` channel, so that the test
//! can check the abuse cost only the abuser.

use std::time::Duration;

use anyhow::{Context, bail};
use tickwire_protocol::message::Welcome;
use tickwire_protocol::session::{SessionConfig, SessionEvent};
use tickwire_protocol::{EntityId, EntityKind};
use tickwire_tests::behavior::inputs_due;
use tickwire_tests::bot::INPUTS_PER_WAKE;
use tickwire_tests::{Behavior, BotConfig, BotError, Connection, Mind, Target};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::{WAIT, connect_with, next_snapshot, welcomed};

/// What an honest player has seen so far.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// Its own entity.
    pub me: EntityId,
    /// Its room.
    pub room: u32,
    /// Snapshots applied.
    pub snapshots: u64,
    /// Deltas that did not apply.
    pub desyncs: u64,
    /// The tick of its view.
    pub tick: u32,
    /// Player entities in its view (itself included), by id.
    pub players: Vec<EntityId>,
    /// The last input of its own the server reported applied.
    pub last_input_seq: u32,
    /// Why its connection ended, once it has.
    pub ended: Option<String>,
}

impl Seen {
    /// Whether `id` is in its view.
    pub fn sees(&self, id: EntityId) -> bool {
        self.players.contains(&id)
    }
}

/// A player that plays (or idles) honestly in a task of its own.
pub struct Honest {
    /// What it has seen; updated after every message.
    pub seen: watch::Receiver<Seen>,
    /// Its `Welcome`.
    pub welcome: Welcome,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Honest {
    /// Connects a player called `name` doing `behavior`; returns once it has
    /// been welcomed and has applied its first snapshot.
    pub async fn start(target: &Target, name: &str, behavior: Behavior) -> anyhow::Result<Self> {
        Self::start_with(
            target,
            BotConfig::new(name, behavior).session_config(),
            behavior,
        )
        .await
    }

    /// As [`Self::start`], with a session config of one's own (a token, a room).
    pub async fn start_with(
        target: &Target,
        config: SessionConfig,
        behavior: Behavior,
    ) -> anyhow::Result<Self> {
        let name = config.name.clone();
        let mut conn = connect_with(target, config).await?;
        let welcome = welcomed(&mut conn)
            .await
            .with_context(|| format!("honest player {name}"))?;
        next_snapshot(&mut conn).await?;
        let mut seen = Seen {
            me: welcome.player,
            room: welcome.room.0,
            ..Seen::default()
        };
        observe(&conn, &mut seen);
        seen.snapshots = 1;
        let (tx, rx) = watch::channel(seen);
        let (stop, stop_rx) = watch::channel(false);
        let mind = Mind::new(behavior, &welcome, u64::from(welcome.player.0));
        let task = tokio::spawn(play(conn, mind, behavior, welcome.tick_rate, tx, stop_rx));
        Ok(Self {
            seen: rx,
            welcome,
            stop,
            task,
        })
    }

    /// What it has seen so far.
    pub fn now(&self) -> Seen {
        self.seen.borrow().clone()
    }

    /// Waits (boundedly) until what it sees satisfies `f`; fails if its
    /// connection ends or it sees a desync first.
    pub async fn wait_until(
        &mut self,
        what: &str,
        mut f: impl FnMut(&Seen) -> bool,
    ) -> anyhow::Result<Seen> {
        let waited = tokio::time::timeout(
            WAIT,
            self.seen
                .wait_for(|s| f(s) || s.ended.is_some() || s.desyncs > 0),
        )
        .await
        .map(|r| r.map(|seen| seen.clone()));
        let seen = match waited {
            Ok(Ok(seen)) => seen,
            Ok(Err(_)) => bail!("honest player's task is gone while waiting until {what}"),
            Err(_) => bail!(
                "honest player: timed out waiting until {what}: {:?}",
                self.now()
            ),
        };
        if let Some(why) = &seen.ended {
            bail!("honest player's connection ended ({why}) while waiting until {what}");
        }
        if seen.desyncs > 0 {
            bail!("honest player saw a desync while waiting until {what}");
        }
        Ok(seen)
    }

    /// Waits until it has applied `n` more snapshots than now.
    pub async fn more_snapshots(&mut self, n: u64) -> anyhow::Result<Seen> {
        let target = self.now().snapshots + n;
        self.wait_until(&format!("{n} more snapshots"), |s| s.snapshots >= target)
            .await
    }

    /// Checks it is still connected, in sync, and receiving snapshots (ten
    /// more than now), then closes its connection cleanly. What it saw.
    pub async fn finish(mut self) -> anyhow::Result<Seen> {
        let seen = self.more_snapshots(10).await?;
        let _ = self.stop.send(true);
        tokio::time::timeout(WAIT, &mut self.task)
            .await
            .context("honest player did not stop")?
            .context("honest player's task panicked")?;
        Ok(seen)
    }
}

impl Drop for Honest {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Copies the connection's view into `seen`.
fn observe(conn: &Connection, seen: &mut Seen) {
    let view = conn.view();
    seen.tick = view.tick;
    seen.players.clear();
    seen.players.extend(
        view.entities
            .iter()
            .filter(|(_, e)| e.kind == EntityKind::Player)
            .map(|(id, _)| *id),
    );
    seen.desyncs = conn.session().desyncs();
}

/// Plays until told to stop (then closes cleanly) or the connection ends.
async fn play(
    mut conn: Connection,
    mut mind: Mind,
    behavior: Behavior,
    tick_rate: u16,
    seen: watch::Sender<Seen>,
    mut stop: watch::Receiver<bool>,
) {
    let period = Duration::from_secs_f64(f64::from(INPUTS_PER_WAKE) / f64::from(tick_rate.max(1)));
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let started = tokio::time::Instant::now();
    let mut ticks_done = 0u64;
    let end: Result<(), BotError> = async {
        loop {
            tokio::select! {
                biased;
                _ = stop.changed() => {
                    conn.close(1000, "honest player done").await;
                    return Ok(());
                }
                r = conn.recv() => {
                    r?;
                    let mut applied = 0;
                    let mut last_seq = None;
                    while let Some(event) = conn.poll_event() {
                        if let SessionEvent::Snapshot { last_input_seq, .. } = event {
                            applied += 1;
                            last_seq = Some(last_input_seq);
                        }
                    }
                    seen.send_modify(|s| {
                        observe(&conn, s);
                        s.snapshots += applied;
                        if let Some(seq) = last_seq {
                            s.last_input_seq = seq;
                        }
                    });
                    conn.flush().await?;
                }
                _ = ticker.tick(), if behavior.sends_inputs() => {
                    // One input per simulation tick due, as a real client sends.
                    let frames = inputs_due(started.elapsed(), f64::from(tick_rate), &mut ticks_done);
                    conn.send_inputs_from(&mut mind, frames).await?;
                }
            }
        }
    }
    .await;
    if let Err(err) = end {
        seen.send_modify(|s| s.ended = Some(err.to_string()));
    }
}
