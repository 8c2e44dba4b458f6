//! The sans-IO client session: bytes and the time go in; events, bytes to
//! send and the next timer come out.
//!
//! The driver (a WebSocket task, a browser shell, a test) owns the socket and
//! the clock:
//!
//! ```text
//! let mut s = ClientSession::new(SessionConfig::new("ada"), now);
//! loop {
//!     while let Some(bytes) = s.poll_transmit() { socket.send_binary(bytes) }
//!     while let Some(event) = s.poll_event() { ... }
//!     select! {
//!         frame = socket.recv() => s.handle_bytes(&frame, now())?,
//!         _ = sleep_until(s.poll_timeout()) => s.handle_timeout(now()),
//!         _ = game_tick.tick() => { s.push_input(frame, now()); }
//!     }
//! }
//! ```
//! Time is a [`Duration`] since any fixed origin the driver chooses.

mod event;
mod interpolation;
mod prediction;

use std::collections::VecDeque;
use std::time::Duration;

pub use event::{SessionError, SessionEvent};
pub use interpolation::{Interpolator, RenderEntity};
pub use prediction::Predictor;

use crate::codec;
use crate::delta::apply_delta_into;
use crate::entity::{EntityId, EntityState};
use crate::input::InputFrame;
use crate::message::{
    Ack, ClientMessage, Delta, Hello, InputBatch, MAX_INPUTS_PER_BATCH, PROTOCOL_VERSION, Ping,
    ResumeToken, Resync, RoomRequest, ServerMessage, Welcome,
};
use crate::sim::Arena;
use crate::view::View;

/// How a session behaves.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The player's name.
    pub name: String,
    /// The protocol version announced in `Hello` (change only to test refusals).
    pub protocol_version: u16,
    /// Inputs gathered into one message (1 sends each tick's input at once).
    pub inputs_per_message: usize,
    /// Time between round-trip pings.
    pub ping_interval: Duration,
    /// Whether to keep an interpolation buffer (bots that never draw can skip it).
    pub interpolate: bool,
    /// Which room to join.
    pub room: RoomRequest,
    /// A signed join token, if the server requires one.
    pub auth_token: Option<String>,
    /// A resume token from an earlier `Welcome`, to take back a dropped player.
    pub resume: Option<ResumeToken>,
}

impl SessionConfig {
    /// Defaults for a player called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            protocol_version: PROTOCOL_VERSION,
            inputs_per_message: 1,
            ping_interval: Duration::from_secs(1),
            interpolate: true,
            room: RoomRequest::JoinOrCreate,
            auth_token: None,
            resume: None,
        }
    }
}

/// A client's protocol state machine. See the [module docs](self).
#[derive(Debug)]
pub struct ClientSession {
    config: SessionConfig,
    welcome: Option<Welcome>,
    view: View,
    /// Where the local player is in `view.entities`, if in view (found once per delta).
    me_index: Option<usize>,
    /// The previous view's allocation, reused for the next delta.
    spare: View,
    names: std::collections::HashMap<EntityId, String>,
    entered_names: Vec<(EntityId, String)>,
    predictor: Option<Predictor>,
    interpolator: Option<Interpolator>,
    batch: Vec<InputFrame>,
    batch_first_seq: u32,
    awaiting_full: bool,
    last_input_seq: u32,
    transmit: VecDeque<Vec<u8>>,
    events: VecDeque<SessionEvent>,
    next_ping: Duration,
    ping_nonce: u32,
    ping_sent: Option<(u32, Duration)>,
    rtt_ms: Option<f64>,
    desyncs: u64,
    deltas_since_ack: u32,
}

/// Names held per entity in view before those of players out of view are dropped.
const MAX_NAMES_PER_ENTITY: usize = 2;

/// A client that sends no inputs acknowledges every this many deltas (about twice a second at 20 Hz).
const STANDALONE_ACK_EVERY: u32 = 10;

impl ClientSession {
    /// A new session; its `Hello` is ready in [`Self::poll_transmit`].
    pub fn new(config: SessionConfig, now: Duration) -> Self {
        let mut s = Self {
            welcome: None,
            view: View::default(),
            me_index: None,
            spare: View::default(),
            names: Default::default(),
            entered_names: Vec::new(),
            predictor: None,
            interpolator: None,
            batch: Vec::new(),
            batch_first_seq: 1,
            awaiting_full: false,
            last_input_seq: 0,
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            next_ping: now,
            ping_nonce: 0,
            ping_sent: None,
            rtt_ms: None,
            desyncs: 0,
            deltas_since_ack: 0,
            config,
        };
        let name = crate::delta::truncate_name(&s.config.name).to_owned();
        s.send(&ClientMessage::Hello(Hello {
            protocol_version: s.config.protocol_version,
            name,
            room: s.config.room,
            auth_token: s.config.auth_token.clone(),
            resume: s.config.resume,
        }));
        s
    }

    /// Feeds one binary message from the server.
    ///
    /// An error means the server broke the protocol; close the connection.
    /// A delta that does not apply is not an error: it becomes a
    /// [`SessionEvent::Desync`] and a request for a full snapshot.
    pub fn handle_bytes(&mut self, bytes: &[u8], now: Duration) -> Result<(), SessionError> {
        match codec::decode_server(bytes)? {
            ServerMessage::Welcome(w) => {
                if self.welcome.is_some() {
                    return Err(SessionError::Unexpected("second Welcome"));
                }
                let arena = Arena {
                    width: w.arena_width,
                    height: w.arena_height,
                };
                self.predictor = Some(Predictor::new(arena));
                if self.config.interpolate {
                    self.interpolator =
                        Some(Interpolator::new(w.tick_rate, w.snapshot_interval_ticks));
                }
                self.welcome = Some(w.clone());
                self.events.push_back(SessionEvent::Welcomed(w));
                // A ping can only go out once welcomed: the first is due now,
                // whatever the timer did while the session waited.
                self.next_ping = now;
            }
            ServerMessage::Delta(d) => {
                if self.welcome.is_none() {
                    return Err(SessionError::Unexpected("Delta before Welcome"));
                }
                self.on_delta(d, bytes.len(), now);
            }
            ServerMessage::Pong(p) => {
                if let Some((nonce, sent)) = self.ping_sent
                    && nonce == p.nonce
                {
                    let rtt = now.saturating_sub(sent).as_secs_f64() * 1000.0;
                    self.rtt_ms = Some(match self.rtt_ms {
                        None => rtt,
                        Some(old) => old * 0.875 + rtt * 0.125,
                    });
                    self.ping_sent = None;
                    self.events.push_back(SessionEvent::Rtt(rtt));
                }
            }
            ServerMessage::Notice(n) => self.events.push_back(SessionEvent::Notice(n)),
            ServerMessage::Leaderboard(l) => self.events.push_back(SessionEvent::Leaderboard(l)),
        }
        Ok(())
    }

    fn on_delta(&mut self, delta: Delta, bytes: usize, now: Duration) {
        let full = delta.baseline_age == 0;
        if self.awaiting_full && !full {
            return; // deltas against a baseline we no longer trust: wait for the full one
        }
        self.entered_names.clear();
        match apply_delta_into(&self.view, &delta, &mut self.entered_names, &mut self.spare) {
            Ok(stats) => {
                self.awaiting_full = false;
                std::mem::swap(&mut self.view, &mut self.spare);
                if !self.entered_names.is_empty() {
                    self.names.extend(self.entered_names.drain(..));
                }
                // A player's name comes again whenever it enters the view, so
                // names of players out of view can go. Without this a client
                // in a busy room would keep the name of everyone it ever saw.
                if full || self.names.len() > MAX_NAMES_PER_ENTITY * self.view.entities.len() + 16 {
                    self.names.retain(|id, _| self.view.get(*id).is_some());
                }
                self.last_input_seq = delta.last_input_seq;
                self.me_index = self.welcome.as_ref().and_then(|w| {
                    self.view
                        .entities
                        .binary_search_by_key(&w.player, |(id, _)| *id)
                        .ok()
                });
                if let (Some(p), Some(i)) = (self.predictor.as_mut(), self.me_index) {
                    p.reconcile(&self.view.entities[i].1, delta.last_input_seq);
                }
                if let Some(i) = self.interpolator.as_mut() {
                    i.push(self.view.tick, &self.view.entities, now);
                }
                // Inputs carry acknowledgements; a client that sends none acks
                // now and then, so that the server still learns what it holds.
                self.deltas_since_ack += 1;
                if self.batch.is_empty() && self.deltas_since_ack >= STANDALONE_ACK_EVERY {
                    self.send(&ClientMessage::Ack(Ack {
                        tick: self.view.tick,
                    }));
                }
                self.events.push_back(SessionEvent::Snapshot {
                    tick: self.view.tick,
                    stats,
                    bytes,
                    last_input_seq: delta.last_input_seq,
                    full,
                });
            }
            Err(err) => {
                self.desyncs += 1;
                self.awaiting_full = true;
                let reason = match err {
                    crate::delta::DeltaError::ChecksumMismatch { .. } => Resync::ChecksumMismatch,
                    crate::delta::DeltaError::BaselineMismatch { .. } => Resync::BaselineMismatch,
                    _ => Resync::BadDelta,
                };
                self.send(&ClientMessage::Resync(reason));
                self.events.push_back(SessionEvent::Desync(err));
            }
        }
    }

    /// Records this tick's input: predicts it at once and sends it (batched per
    /// [`SessionConfig::inputs_per_message`]). Returns its sequence number, or
    /// `None` before the `Welcome`.
    pub fn push_input(&mut self, frame: InputFrame) -> Option<u32> {
        let predictor = self.predictor.as_mut()?;
        let seq = predictor.push_input(frame);
        if self.batch.is_empty() {
            self.batch_first_seq = seq;
        }
        self.batch.push(frame);
        if self.batch.len()
            >= self
                .config
                .inputs_per_message
                .clamp(1, MAX_INPUTS_PER_BATCH)
        {
            self.flush_inputs();
        }
        Some(seq)
    }

    /// Sends any inputs gathered but not yet sent.
    pub fn flush_inputs(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let msg = ClientMessage::Inputs(InputBatch {
            first_seq: self.batch_first_seq,
            ack_tick: self.view.tick,
            frames: std::mem::take(&mut self.batch),
        });
        self.send(&msg);
        // Keep the batch's allocation for the next one.
        if let ClientMessage::Inputs(InputBatch { mut frames, .. }) = msg {
            frames.clear();
            self.batch = frames;
        }
    }

    /// When [`Self::handle_timeout`] wants to run next.
    pub fn poll_timeout(&self) -> Duration {
        self.next_ping
    }

    /// Runs timers that are due at `now` (round-trip pings).
    pub fn handle_timeout(&mut self, now: Duration) {
        if now >= self.next_ping && self.welcome.is_some() {
            self.ping_nonce = self.ping_nonce.wrapping_add(1);
            self.ping_sent = Some((self.ping_nonce, now));
            self.send(&ClientMessage::Ping(Ping {
                nonce: self.ping_nonce,
            }));
            self.next_ping = now + self.config.ping_interval;
        } else if now >= self.next_ping {
            self.next_ping = now + self.config.ping_interval;
        }
    }

    /// The next message to send, if any.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.pop_front()
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    fn send(&mut self, msg: &ClientMessage) {
        let mut buf = Vec::with_capacity(16);
        if matches!(msg, ClientMessage::Ack(_) | ClientMessage::Inputs(_)) {
            self.deltas_since_ack = 0;
        }
        match codec::encode_client(msg, &mut buf) {
            Ok(()) => self.transmit.push_back(buf),
            // Only a `Hello` built from an oversized config can fail (e.g. a huge auth token).
            Err(err) => self
                .events
                .push_back(SessionEvent::LocalError(err.to_string())),
        }
    }

    /// The `Welcome`, once received.
    pub fn welcome(&self) -> Option<&Welcome> {
        self.welcome.as_ref()
    }

    /// The current view (the baseline for the next delta).
    pub fn view(&self) -> &View {
        &self.view
    }

    /// The local player's state in the current view, if it is in view (no search).
    pub fn me(&self) -> Option<&EntityState> {
        self.me_index.map(|i| &self.view.entities[i].1)
    }

    /// The name of a player that has been in view.
    pub fn name_of(&self, id: EntityId) -> Option<&str> {
        self.names.get(&id).map(String::as_str)
    }

    /// The local player's predictor, after the `Welcome`.
    pub fn predictor(&self) -> Option<&Predictor> {
        self.predictor.as_ref()
    }

    /// Remote entities blended for drawing at `now` (empty without interpolation).
    pub fn interpolate(&mut self, now: Duration, out: &mut Vec<RenderEntity>) {
        match self.interpolator.as_mut() {
            Some(i) => i.sample(now, out),
            None => out.clear(),
        }
    }

    /// The interpolator, if enabled.
    pub fn interpolator(&self) -> Option<&Interpolator> {
        self.interpolator.as_ref()
    }

    /// The last input the server reported applied.
    pub fn last_input_seq(&self) -> u32 {
        self.last_input_seq
    }

    /// Smoothed round-trip time, ms.
    pub fn rtt_ms(&self) -> Option<f64> {
        self.rtt_ms
    }

    /// Deltas that failed to apply so far.
    pub fn desyncs(&self) -> u64 {
        self.desyncs
    }
}

#[cfg(test)]
mod tests;
