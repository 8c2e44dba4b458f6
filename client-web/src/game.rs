//! One connection's game client: the protocol session plus everything the
//! page needs around it (input clock, statistics, leaderboard, status).
//!
//! The shell calls [`Game::receive`] for each WebSocket message,
//! [`Game::update`] once per animation frame (it pushes the inputs that fell
//! due on the fixed 60 Hz clock and runs the session's timers), drains
//! [`Game::poll_transmit`] into the socket and [`Game::poll_event`] into the
//! page, and draws [`crate::render::RenderState`].

use std::collections::VecDeque;

use serde::Serialize;
use tickwire_protocol::message::{Leaderboard, Notice, NoticeCode};
use tickwire_protocol::session::{ClientSession, RenderEntity, SessionConfig, SessionEvent};
use tickwire_protocol::tuning::UNITS_PER_PIXEL;
use tickwire_protocol::{EntityId, ResumeToken, RoomId, RoomRequest};

use crate::clock::{TickClock, duration_from_ms};
use crate::controls::Controls;
use crate::netstats::{NetReport, NetStats};
use crate::palette::hue_of;
use crate::reconnect::{CloseKind, classify};
use crate::status::{CloseFacts, Phase, describe_close, resume_window_passed};

/// Events kept for the page at most; it drains them every frame.
const MAX_EVENTS: usize = 256;
/// Errors kept for the test hook at most.
const MAX_ERRORS: usize = 32;

/// Something the page should show once (not every frame).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum GameEvent {
    /// The server accepted us; sizes are in pixels.
    Welcome {
        /// Our player entity.
        player: u32,
        /// The room joined.
        room: u32,
        /// Whether this took back our player from a dropped connection.
        resumed: bool,
        /// Simulation ticks per second.
        tick_rate: u16,
        /// Ticks between snapshots.
        snapshot_interval_ticks: u16,
        /// Arena width, px.
        arena_width: f64,
        /// Arena height, px.
        arena_height: f64,
        /// Area of interest width, px.
        view_width: f64,
        /// Area of interest height, px.
        view_height: f64,
    },
    /// The room's best players.
    Leaderboard {
        /// Players in the room.
        players: u32,
        /// Best first.
        entries: Vec<LeaderRow>,
    },
    /// A message from the server about the session.
    Notice {
        /// The notice code in snake case, e.g. `version_mismatch` or `server_full`.
        code: &'static str,
        /// The server's words.
        message: String,
    },
    /// Something went wrong that the player may not see but a developer should.
    Error {
        /// What.
        message: String,
    },
}

/// One line of the leaderboard, ready to show.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeaderRow {
    /// The player's entity id.
    pub id: u32,
    /// The player's name.
    pub name: String,
    /// The player's score.
    pub score: u32,
    /// The player's colour.
    pub hue: u16,
    /// Whether this is us.
    pub me: bool,
}

/// How to join.
#[derive(Debug, Clone, Default)]
pub struct JoinOptions {
    /// The player's name.
    pub name: String,
    /// Announce this protocol version instead of ours (only to show what a
    /// version mismatch looks like).
    pub protocol_version: Option<u16>,
    /// Which room.
    pub room: RoomRequest,
    /// A join token, for servers that require one.
    pub auth_token: Option<String>,
    /// A token from an earlier `Welcome`, to take back a dropped player.
    pub resume: Option<ResumeToken>,
    /// Whether the page connects on its own, to take back a dropped player
    /// (not at the player's request).
    pub automatic: bool,
}

/// What a later join needs to take back this player after the connection dropped.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResumeOffer {
    /// The token from the `Welcome`.
    pub token: ResumeToken,
    /// The room the player is in.
    pub room: RoomId,
    /// Until when (ms, browser clock) the server keeps the player.
    pub valid_until_ms: f64,
    /// The server's resume window, ms.
    pub window_ms: f64,
}

/// A game client for one connection.
#[derive(Debug)]
pub struct Game {
    pub(crate) session: ClientSession,
    /// The protocol version announced in the `Hello`.
    protocol_version: u16,
    phase: Phase,
    opened: bool,
    notice: Option<Notice>,
    client_error: Option<String>,
    pub(crate) clock: Option<TickClock>,
    controls: Controls,
    stats: NetStats,
    events: VecDeque<GameEvent>,
    errors: VecDeque<String>,
    /// Where the local player was drawn before the newest input: drawing
    /// blends from here to the current prediction across the tick.
    pub(crate) prev_render: Option<(f32, f32)>,
    /// When the newest snapshot arrived, ms.
    pub(crate) last_snapshot_ms: f64,
    /// Scratch buffer for interpolated entities.
    pub(crate) scratch: Vec<RenderEntity>,
    /// Set when the connection closed after a `Welcome` (and the server
    /// keeps dropped players at all).
    resume: Option<ResumeOffer>,
    /// Whether this is the page's own reconnect attempt.
    automatic: bool,
}

impl Game {
    /// A new game; its `Hello` is ready to send once the socket opens.
    pub fn new(options: JoinOptions, now_ms: f64) -> Self {
        let mut config = SessionConfig::new(options.name.trim());
        if let Some(v) = options.protocol_version {
            config.protocol_version = v;
        }
        config.room = options.room;
        config.auth_token = options.auth_token;
        config.resume = options.resume;
        Self {
            protocol_version: config.protocol_version,
            session: ClientSession::new(config, duration_from_ms(now_ms)),
            phase: Phase::Connecting,
            opened: false,
            notice: None,
            client_error: None,
            clock: None,
            controls: Controls::default(),
            stats: NetStats::default(),
            events: VecDeque::new(),
            errors: VecDeque::new(),
            prev_render: None,
            last_snapshot_ms: now_ms,
            scratch: Vec::new(),
            resume: None,
            automatic: options.automatic,
        }
    }

    /// The socket is open: messages may flow.
    pub fn opened(&mut self) {
        self.opened = true;
    }

    /// Feeds one binary message from the server.
    ///
    /// An error means the server broke the protocol: the shell closes the socket.
    pub fn receive(&mut self, bytes: &[u8], now_ms: f64) -> Result<(), String> {
        self.stats.received(now_ms, bytes.len());
        if let Err(err) = self.session.handle_bytes(bytes, duration_from_ms(now_ms)) {
            let message = err.to_string();
            self.client_error = Some(message.clone());
            self.error(message.clone());
            return Err(message);
        }
        while let Some(event) = self.session.poll_event() {
            self.on_event(event, now_ms);
        }
        Ok(())
    }

    fn on_event(&mut self, event: SessionEvent, now_ms: f64) {
        match event {
            SessionEvent::Welcomed(w) => {
                self.phase = Phase::Playing;
                self.clock = Some(TickClock::new(w.tick_rate));
                let px = |u: i32| f64::from(u) / f64::from(UNITS_PER_PIXEL);
                self.push_event(GameEvent::Welcome {
                    player: w.player.0,
                    room: w.room.0,
                    resumed: w.resumed,
                    tick_rate: w.tick_rate,
                    snapshot_interval_ticks: w.snapshot_interval_ticks,
                    arena_width: px(w.arena_width),
                    arena_height: px(w.arena_height),
                    view_width: px(w.view_width),
                    view_height: px(w.view_height),
                });
            }
            SessionEvent::Snapshot { .. } => {
                self.stats.snapshot(now_ms);
                self.last_snapshot_ms = now_ms;
                if let Some(p) = self.session.predictor() {
                    self.stats.corrections_total(now_ms, p.corrections());
                }
            }
            SessionEvent::Desync(err) => {
                self.error(format!("desync, full snapshot requested: {err}"));
            }
            SessionEvent::Rtt(_) => {}
            SessionEvent::LocalError(message) => self.error(message),
            SessionEvent::Leaderboard(l) => {
                let event = self.leaderboard_event(&l);
                self.push_event(event);
            }
            SessionEvent::Notice(n) => {
                self.push_event(GameEvent::Notice {
                    code: notice_code(n.code),
                    message: n.message.clone(),
                });
                self.notice = Some(n);
            }
        }
    }

    fn leaderboard_event(&self, l: &Leaderboard) -> GameEvent {
        let me = self.me();
        GameEvent::Leaderboard {
            players: l.players,
            entries: l
                .entries
                .iter()
                .map(|e| LeaderRow {
                    id: e.player.0,
                    name: e.name.clone(),
                    score: e.score,
                    hue: hue_of(e.player.0),
                    me: Some(e.player) == me,
                })
                .collect(),
        }
    }

    /// Runs one animation frame's worth of work at `now_ms`: pushes one input
    /// per tick that fell due (held `buttons`, pointer `aim_dx, aim_dy` pixels
    /// from the player on screen) and runs the session's timers. Returns the
    /// inputs pushed.
    pub fn update(&mut self, now_ms: f64, buttons: u32, aim_dx: f64, aim_dy: f64) -> u32 {
        if self.phase != Phase::Playing {
            return 0;
        }
        let frame = self.controls.frame(buttons, aim_dx, aim_dy);
        let due = self.clock.as_mut().map_or(0, |c| c.due(now_ms));
        for _ in 0..due {
            self.prev_render = self.session.predictor().and_then(|p| p.render_position());
            self.session.push_input(frame);
        }
        let now = duration_from_ms(now_ms);
        if now >= self.session.poll_timeout() {
            self.session.handle_timeout(now);
        }
        due
    }

    /// The next message to send, if any (none until the socket is open).
    pub fn poll_transmit(&mut self, now_ms: f64) -> Option<Vec<u8>> {
        if !self.opened || matches!(self.phase, Phase::Closed(_)) {
            return None;
        }
        let bytes = self.session.poll_transmit()?;
        self.stats.sent(now_ms, bytes.len());
        Some(bytes)
    }

    /// The next event for the page, if any.
    pub fn poll_event(&mut self) -> Option<GameEvent> {
        self.events.pop_front()
    }

    /// The socket closed at `now_ms` with `code` and `reason`. Returns how
    /// it ended, as far as reconnecting goes.
    pub fn closed(&mut self, code: u16, reason: &str, now_ms: f64) -> CloseKind {
        let kind = classify(
            code,
            self.notice.as_ref().map(|n| n.code),
            self.client_error.is_some(),
        );
        if matches!(self.phase, Phase::Closed(_)) {
            return kind;
        }
        let welcomed = self.session.welcome().is_some();
        self.resume = self
            .session
            .welcome()
            .filter(|w| w.resume_window_ms > 0)
            .map(|w| ResumeOffer {
                token: w.resume_token,
                room: w.room,
                valid_until_ms: now_ms + f64::from(w.resume_window_ms),
                window_ms: f64::from(w.resume_window_ms),
            });
        self.phase = Phase::Closed(describe_close(&CloseFacts {
            code,
            reason,
            notice: self.notice.as_ref(),
            opened: self.opened,
            welcomed,
            client_error: self.client_error.as_deref(),
            client_version: self.protocol_version,
            automatic: self.automatic,
        }));
        kind
    }

    /// Reconnecting gave up: the resume window (`window_ms`) has passed.
    pub fn resume_expired(&mut self, window_ms: f64) {
        if let Phase::Closed(d) = &self.phase {
            self.phase = Phase::Closed(resume_window_passed(d.code, window_ms));
        }
    }

    /// Whether this is the page's own reconnect attempt.
    pub fn automatic(&self) -> bool {
        self.automatic
    }

    /// How to take back this player, once the connection has closed after a `Welcome`.
    pub fn resume_offer(&self) -> Option<ResumeOffer> {
        self.resume
    }

    /// Where the connection stands.
    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    /// Our player entity, once welcomed.
    pub fn me(&self) -> Option<EntityId> {
        self.session.welcome().map(|w| w.player)
    }

    /// The aim last sent, 1/256 turns.
    pub fn aim(&self) -> u8 {
        self.controls.aim()
    }

    /// Errors seen so far (protocol errors, desyncs), oldest first.
    pub fn errors(&self) -> impl Iterator<Item = &str> {
        self.errors.iter().map(String::as_str)
    }

    /// The network figures for the overlay.
    pub fn net_report(&mut self, now_ms: f64) -> NetReport {
        let mut r = self.stats.report(now_ms);
        r.rtt_ms = self.session.rtt_ms();
        r.interp_delay_ms = self.session.interpolator().map_or(0.0, |i| i.delay_ms());
        r.desyncs = self.session.desyncs();
        if let Some(p) = self.session.predictor() {
            r.pending_inputs = p.pending_inputs();
        }
        r
    }

    fn push_event(&mut self, event: GameEvent) {
        if self.events.len() == MAX_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }

    fn error(&mut self, message: String) {
        if self.errors.len() == MAX_ERRORS {
            self.errors.pop_front();
        }
        self.errors.push_back(message.clone());
        self.push_event(GameEvent::Error { message });
    }
}

fn notice_code(code: NoticeCode) -> &'static str {
    match code {
        NoticeCode::VersionMismatch { .. } => "version_mismatch",
        NoticeCode::ServerFull => "server_full",
        NoticeCode::Malformed => "malformed",
        NoticeCode::PolicyViolation => "policy_violation",
        NoticeCode::ShuttingDown => "shutting_down",
        NoticeCode::RoomFull => "room_full",
        NoticeCode::RoomNotFound => "room_not_found",
        NoticeCode::Unauthorized => "unauthorized",
        NoticeCode::ResumeRejected => "resume_rejected",
        NoticeCode::IdleTimeout => "idle_timeout",
    }
}

#[cfg(test)]
mod tests;
