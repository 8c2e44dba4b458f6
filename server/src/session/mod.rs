//! One WebSocket connection: handshake, then inputs up and deltas down.
//!
//! A session is a single task. It reads client messages and forwards inputs to
//! its room through the room's bounded queue; it wakes on the room's `watch`
//! channel, takes the latest snapshot and writes this client's delta. A slow
//! client therefore skips snapshots (latest wins) and never queues them; a
//! client whose writes stall past the write timeout is dropped. Bad input
//! ends only this session, with a close code and a reason. Heartbeats (pings,
//! and the idle check) ride on snapshots rather than a timer per session.

mod align;
mod close;
mod handshake;
mod limits;
mod tally;
mod writer;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::SinkExt;
use tickwire_protocol::codec::{self, MAX_CLIENT_MESSAGE_BYTES};
use tickwire_protocol::message::{ClientMessage, MAX_INPUTS_PER_BATCH, NoticeCode, ServerMessage};
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until, timeout};
use tracing::{debug, info, warn};

use align::PhaseAligner;
pub use close::*;
use limits::{InputLimiter, Verdict};
use tally::Tally;
pub use writer::BaselineKind;
use writer::{DeltaWriter, Written};

use crate::config::ServerConfig;
use crate::link::DelayLine;
use crate::lobby::Lobby;
use crate::metrics::{Metrics, OutcomeLabel};
use crate::room::{Joined, PhaseSeat, PlayerGuard, RoomCommand, RoomHandle, Snapshot};

/// Input messages tracked for the latency metric; older ones are forgotten.
const MAX_TRACKED_INPUTS: usize = 32;
/// One delta in this many is timed for the encode-time metric: reading the
/// clock and taking the histogram's lock for every delta costs more than a
/// sample tells.
const ENCODE_SAMPLE: u32 = 8;

/// What a session needs from the server around it.
#[derive(Debug, Clone)]
pub struct SessionContext {
    /// Server settings.
    pub config: Arc<ServerConfig>,
    /// The server's rooms.
    pub lobby: Arc<Lobby>,
    /// The server's metrics.
    pub metrics: Arc<Metrics>,
    /// Turns true when the server shuts down.
    pub shutdown: watch::Receiver<bool>,
}

/// Serves one upgraded WebSocket until it ends, then closes it with a reason.
pub async fn serve(mut ws: WebSocket, peer: SocketAddr, ctx: SessionContext) {
    let ending = match handshake::accept(&mut ws, &ctx).await {
        Ok((room, joined)) => {
            let span =
                tracing::info_span!("session", player_id = joined.id.0, room = room.id.0, %peer);
            let mut guard = PlayerGuard::new(room.commands.clone(), &joined, ctx.metrics.clone());
            let mut session = Session::new(ws, joined, room, &ctx);
            let ending = tracing::Instrument::instrument(session.run(), span.clone()).await;
            session.tally.flush(&ctx.metrics);
            if ending.is_deliberate() {
                guard.leave_on_drop();
            }
            ws = session.ws;
            let _entered = span.enter();
            log_ending(&ending);
            ending
        }
        Err(ending) => {
            info!(%peer, code = ?ending.code(), reason = %ending.reason(), "connection refused");
            ending
        }
    };
    ctx.metrics.disconnected(ending.label());
    let lingering = ending.refused_unread_input();
    if let Some(code) = ending.code() {
        let frame = CloseFrame {
            code,
            reason: ending.reason().into(),
        };
        // Finish the close handshake: send ours, then read until the client's
        // close (or the end of the stream), so that a client writing at this
        // moment sees our close frame instead of a reset connection.
        let _ = timeout(CLOSE_HANDSHAKE_TIMEOUT, async {
            if ws.send(Message::Close(Some(frame))).await.is_ok() {
                while let Some(Ok(msg)) = ws.recv().await {
                    if matches!(msg, Message::Close(_)) {
                        break;
                    }
                }
                if lingering {
                    // Give the client time to read our close before the socket's
                    // unread input makes the kernel reset the connection.
                    tokio::time::sleep(CLOSE_LINGER).await;
                }
            }
        })
        .await;
    }
}

/// How long a refused connection stays open after our close frame when the
/// client may still be sending (see [`Ending::refused_unread_input`]).
const CLOSE_LINGER: std::time::Duration = std::time::Duration::from_millis(250);

/// How long the closing side waits for the client's close frame.
const CLOSE_HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

fn log_ending(ending: &Ending) {
    match ending {
        Ending::Close {
            code: GOING_AWAY, ..
        } => debug!("closed for shutdown"),
        Ending::Close { code, reason } => warn!(code, %reason, "closing session"),
        Ending::TimedOut(reason) => info!(%reason, "closing idle session"),
        Ending::Gone(cause) => debug!(%cause, "client gone"),
    }
}

/// The receiver back, with the snapshot it was changed to (an error once the room is gone).
async fn next_change(
    mut snapshots: watch::Receiver<Arc<Snapshot>>,
) -> (
    watch::Receiver<Arc<Snapshot>>,
    Result<Arc<Snapshot>, watch::error::RecvError>,
) {
    let changed = snapshots.changed().await;
    let snap = changed.map(|()| snapshots.borrow_and_update().clone());
    (snapshots, snap)
}

struct Session {
    ws: WebSocket,
    joined: Joined,
    room: RoomHandle,
    config: Arc<ServerConfig>,
    metrics: Arc<Metrics>,
    shutdown: watch::Receiver<bool>,
    writer: DeltaWriter,
    /// Counts for the shared metrics, handed over in batches.
    tally: Tally,
    limiter: InputLimiter,
    leaderboard_tick: u32,
    /// (first sequence number, receipt time) of input messages not yet reported applied.
    pending_inputs: std::collections::VecDeque<(u32, std::time::Instant)>,
    /// Whether anything arrived since the last snapshot.
    heard: bool,
    /// The tick of the first snapshot after something last arrived (or after
    /// the session began): silence is measured in ticks from there, to a
    /// snapshot's precision, so that messages need not read the clock. Both
    /// the idle timeout and the pause of deltas to silent clients use it.
    last_heard_tick: Option<u32>,
    /// Ticks between heartbeats: the ping interval at the room's tick rate.
    ping_ticks: u32,
    /// The snapshot tick at or after which the next heartbeat is due.
    next_ping_tick: Option<u32>,
    /// Deltas written, to time the encoding of one in [`ENCODE_SAMPLE`].
    deltas: u32,
    inbound: DelayLine<Message>,
    outbound: DelayLine<Bytes>,
    /// When to move to the phase where this client's input batches land.
    aligner: PhaseAligner,
}

impl Session {
    fn new(ws: WebSocket, joined: Joined, room: RoomHandle, ctx: &SessionContext) -> Self {
        let config = ctx.config.clone();
        Self {
            writer: DeltaWriter::new(joined.id, config.view_units()),
            tally: Tally::default(),
            limiter: InputLimiter::new(
                config.input_rate,
                config.input_burst,
                config.abuse_threshold,
            ),
            inbound: DelayLine::new(config.lag, config.jitter),
            outbound: DelayLine::new(config.lag, config.jitter),
            heard: false,
            last_heard_tick: None,
            ping_ticks: (config.ping_interval.as_secs_f64() * f64::from(config.tick_rate))
                .round()
                .max(1.0) as u32,
            next_ping_tick: None,
            deltas: 0,
            ws,
            joined,
            room,
            metrics: ctx.metrics.clone(),
            shutdown: ctx.shutdown.clone(),
            config,
            leaderboard_tick: 0,
            pending_inputs: std::collections::VecDeque::new(),
            aligner: PhaseAligner::new(ctx.config.phase_alignment),
        }
    }

    async fn run(&mut self) -> Ending {
        let welcome = handshake::welcome(&self.config, &self.room, &self.joined);
        if let Some(ending) = self.send(welcome).await {
            return ending;
        }
        // The shutdown and snapshot futures live across iterations: made anew
        // each time round, each would join and leave its channel's list of
        // waiters (a lock shared by every session) on every message.
        let mut shutdown = self.shutdown.clone();
        let stopping = shutdown.changed();
        let (snapshots, mut seat) = self.room.snapshots.subscribe();
        let next_snapshot = next_change(snapshots);
        tokio::pin!(stopping, next_snapshot);
        loop {
            let due = self
                .inbound
                .next_due()
                .into_iter()
                .chain(self.outbound.next_due())
                .min();
            let step = tokio::select! {
                _ = &mut stopping => Err(Ending::close(GOING_AWAY, "server shutting down")),
                msg = self.ws.recv() => match msg {
                    None => Err(Ending::Gone("connection closed".into())),
                    Some(Err(err)) => Err(Ending::from_read_error(err)),
                    Some(Ok(msg)) => {
                        self.heard = true;
                        if self.inbound.is_active() {
                            self.inbound
                                .push(Instant::now(), msg)
                                .map_err(|_| Ending::close(POLICY_VIOLATION, "too many messages in flight"))
                        } else {
                            self.on_message(msg).await
                        }
                    }
                },
                (snapshots, changed) = &mut next_snapshot => match changed {
                    Err(_) => Err(Ending::close(GOING_AWAY, "room closed")),
                    Ok(snap) => {
                        let snapshots = self.realign(&snap, &mut seat).unwrap_or(snapshots);
                        next_snapshot.set(next_change(snapshots));
                        self.on_snapshot(&snap).await
                    }
                },
                _ = sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => self.run_due().await,
            };
            if let Err(ending) = step {
                return ending;
            }
        }
    }

    /// The receiver of the phase this session moves to, if `snap` shows that
    /// its client's input batches keep landing in another phase (see
    /// [`crate::room::PhaseReceivers`]) and that phase has room.
    fn realign(
        &mut self,
        snap: &Snapshot,
        seat: &mut PhaseSeat,
    ) -> Option<watch::Receiver<Arc<Snapshot>>> {
        let phases = &self.room.snapshots;
        if phases.len() < 2 {
            return None;
        }
        let batch_tick = snap.batch_tick_of(self.joined.id)?;
        let phase = self
            .aligner
            .observe(snap.tick, batch_tick, seat.phase(), phases.len())?;
        let moved = phases.move_to(seat, phase, snap.tick);
        let outcome = if moved.is_some() { "moved" } else { "full" };
        self.metrics
            .phase_moves
            .get_or_create(&OutcomeLabel { outcome })
            .inc();
        moved
    }

    /// Pings the client, and closes a connection silent for `silent`, if that
    /// is past the idle timeout.
    async fn on_heartbeat(&mut self, silent: Duration) -> Result<(), Ending> {
        if silent > self.config.idle_timeout {
            let reason = format!("idle timeout: nothing received for {:.0?}", silent);
            self.notice(NoticeCode::IdleTimeout, &reason).await;
            return Err(Ending::timed_out(reason));
        }
        match timeout(
            self.config.write_timeout,
            self.ws.send(Message::Ping(Bytes::new())),
        )
        .await
        {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(Ending::Gone(err.to_string().into())),
            Err(_) => Err(Ending::Gone("stalled: ping write timed out".into())),
        }
    }

    /// Delivers delayed messages that are due (link conditioner only).
    async fn run_due(&mut self) -> Result<(), Ending> {
        let now = Instant::now();
        while let Some(msg) = self.inbound.pop_due(now) {
            self.on_message(msg).await?;
        }
        while let Some(bytes) = self.outbound.pop_due(now) {
            self.write(bytes).await?;
        }
        Ok(())
    }

    async fn on_message(&mut self, msg: Message) -> Result<(), Ending> {
        let bytes = match msg {
            Message::Binary(bytes) => {
                self.tally.received(bytes.len());
                bytes
            }
            Message::Text(_) => {
                return Err(Ending::close(
                    UNSUPPORTED_DATA,
                    "text frames are not supported: send binary protocol messages",
                ));
            }
            Message::Close(_) => return Err(Ending::Gone(CLIENT_CLOSED.into())),
            Message::Ping(_) | Message::Pong(_) => return Ok(()),
        };
        if bytes.len() > MAX_CLIENT_MESSAGE_BYTES {
            return Err(Ending::close(
                MESSAGE_TOO_BIG,
                format!(
                    "message of {} bytes exceeds the limit of {MAX_CLIENT_MESSAGE_BYTES}",
                    bytes.len()
                ),
            ));
        }
        let msg = codec::decode_client(&bytes)
            .map_err(|err| Ending::close(INVALID_PAYLOAD, err.to_string()))?;
        let frames = if let ClientMessage::Inputs(batch) = &msg {
            batch.frames.len() as u32
        } else {
            1
        };
        match self.limiter.check(frames) {
            Verdict::Accept => {}
            Verdict::Drop(n) => {
                self.metrics.inputs_dropped.inc_by(u64::from(n));
                return Ok(());
            }
            Verdict::Abuse => {
                self.notice(NoticeCode::PolicyViolation, "message rate limit exceeded")
                    .await;
                return Err(Ending::close(
                    POLICY_VIOLATION,
                    "message rate limit exceeded for too long",
                ));
            }
        }
        match msg {
            ClientMessage::Inputs(batch) => {
                if batch.frames.is_empty() || batch.frames.len() > MAX_INPUTS_PER_BATCH {
                    return Err(Ending::close(
                        POLICY_VIOLATION,
                        format!(
                            "input batch of {} frames; 1 to {MAX_INPUTS_PER_BATCH} allowed",
                            batch.frames.len()
                        ),
                    ));
                }
                let received = std::time::Instant::now();
                if self.pending_inputs.len() == MAX_TRACKED_INPUTS {
                    self.pending_inputs.pop_front();
                }
                self.pending_inputs.push_back((batch.first_seq, received));
                let cmd = RoomCommand::Inputs {
                    key: self.joined.key,
                    generation: self.joined.generation,
                    first_seq: batch.first_seq,
                    frames: batch.frames,
                    received,
                };
                self.room
                    .commands
                    .send(cmd)
                    .await
                    .map_err(|_| Ending::close(GOING_AWAY, "room closed"))
            }
            ClientMessage::Ack(_) => Ok(()),
            ClientMessage::Ping(ping) => {
                let mut buf = Vec::with_capacity(8);
                let _ = codec::encode_server(&ServerMessage::Pong(ping), &mut buf);
                self.send(Bytes::from(buf)).await.map_or(Ok(()), Err)
            }
            ClientMessage::Resync(reason) => {
                debug!(?reason, "client asked for a full snapshot");
                self.writer.reset();
                Ok(())
            }
            ClientMessage::Hello(_) => Err(Ending::close(POLICY_VIOLATION, "Hello sent twice")),
        }
    }

    async fn on_snapshot(&mut self, snap: &Snapshot) -> Result<(), Ending> {
        let heard = std::mem::take(&mut self.heard);
        let heard_tick = match self.last_heard_tick {
            Some(tick) if !heard => tick,
            _ => *self.last_heard_tick.insert(snap.tick),
        };
        let silent = self.config.tick_period() * snap.tick.wrapping_sub(heard_tick);
        // Heartbeats ride on snapshots, which a room publishes for as long as
        // it runs: no timer per session, polled at every wake-up.
        match self.next_ping_tick {
            None => self.next_ping_tick = Some(snap.tick.wrapping_add(self.ping_ticks)),
            Some(due) if snap.tick.wrapping_sub(due) as i32 >= 0 => {
                self.next_ping_tick = Some(snap.tick.wrapping_add(self.ping_ticks));
                self.on_heartbeat(silent).await?;
            }
            Some(_) => {}
        }
        let pause = self.config.pause_silent_after;
        if !pause.is_zero() && silent > pause {
            // Silent for that long: stalled or broken. The baseline stays the
            // last view written, so the next delta, once it speaks, is valid;
            // copied out, so that it does not keep that snapshot alive.
            self.writer.detach();
            self.metrics.deltas_withheld.inc();
            return Ok(());
        }
        self.deltas = self.deltas.wrapping_add(1);
        let started = self
            .deltas
            .is_multiple_of(ENCODE_SAMPLE)
            .then(std::time::Instant::now);
        let delta = self.writer.write(snap);
        if let Some(started) = started {
            self.metrics
                .encode_seconds
                .observe(started.elapsed().as_secs_f64());
        }
        let mut written = None;
        if let Some(Written {
            bytes,
            profile,
            last_input_seq,
            baseline,
        }) = delta
        {
            self.tally.delta(&profile, baseline, &self.metrics);
            let mut now = None;
            while let Some(&(seq, received)) = self.pending_inputs.front() {
                if seq.wrapping_sub(last_input_seq) as i32 > 0 {
                    break;
                }
                let now = *now.get_or_insert_with(std::time::Instant::now);
                self.metrics
                    .input_sent
                    .observe((now - received).as_secs_f64());
                self.pending_inputs.pop_front();
            }
            written = Some(bytes);
        }
        let mut leaderboard = None;
        if let Some((tick, bytes)) = &snap.leaderboard
            && *tick != self.leaderboard_tick
        {
            self.leaderboard_tick = *tick;
            leaderboard = Some(bytes.clone());
        }
        // Both go out with one flush: one write to the socket, not two.
        let (first, second) = match (written, leaderboard) {
            (Some(delta), leaderboard) => (delta, leaderboard),
            (None, Some(leaderboard)) => (leaderboard, None),
            (None, None) => return Ok(()),
        };
        self.send_two(first, second).await.map_or(Ok(()), Err)
    }

    async fn notice(&mut self, code: NoticeCode, message: &str) {
        handshake::send_notice(&mut self.ws, code, message).await;
    }

    /// Sends now, or through the link conditioner when it is on.
    async fn send(&mut self, bytes: Bytes) -> Option<Ending> {
        self.send_two(bytes, None).await
    }

    /// Sends `first`, then `second` if any, now (with one flush) or through
    /// the link conditioner when it is on.
    async fn send_two(&mut self, first: Bytes, second: Option<Bytes>) -> Option<Ending> {
        if self.outbound.is_active() {
            let now = Instant::now();
            let pushed = std::iter::once(first)
                .chain(second)
                .try_for_each(|bytes| self.outbound.push(now, bytes));
            return pushed
                .err()
                .map(|_| Ending::Gone("stalled: delay line full".into()));
        }
        self.write_two(first, second).await.err()
    }

    async fn write(&mut self, bytes: Bytes) -> Result<(), Ending> {
        self.write_two(bytes, None).await
    }

    /// Writes `first`, then `second` if any, and flushes once.
    async fn write_two(&mut self, first: Bytes, second: Option<Bytes>) -> Result<(), Ending> {
        self.tally.sent(first.len());
        if let Some(second) = &second {
            self.tally.sent(second.len());
        }
        let ws = &mut self.ws;
        let io = async {
            ws.feed(Message::Binary(first)).await?;
            if let Some(second) = second {
                ws.feed(Message::Binary(second)).await?;
            }
            ws.flush().await
        };
        match timeout(self.config.write_timeout, io).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(Ending::Gone(err.to_string().into())),
            Err(_) => Err(Ending::Gone("stalled: write timed out".into())),
        }
    }
}
