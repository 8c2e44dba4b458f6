//! A [`Game`] driven against a tiny in-memory server on a virtual clock.

use std::collections::VecDeque;

use tickwire_protocol::codec;
use tickwire_protocol::delta::DeltaEncoder;
use tickwire_protocol::message::{
    ClientMessage, Delta, Leaderboard, LeaderboardEntry, Notice, NoticeCode, PROTOCOL_VERSION,
    ServerMessage, Welcome,
};
use tickwire_protocol::sim::{Arena, step_player};
use tickwire_protocol::view::ViewEntry;
use tickwire_protocol::{EntityId, EntityKind, EntityState, InputFrame, ResumeToken, RoomId};

use super::*;
use crate::render::render_state;
use crate::status::Action;

const ME: EntityId = EntityId(3);
const OTHER: EntityId = EntityId(9);
const ORB: EntityId = EntityId(20);
const ARENA: Arena = Arena {
    width: 64_000,
    height: 64_000,
};
const TICK_MS: f64 = 1000.0 / 60.0;

/// One player driven by the client's inputs (one per tick, like the real
/// room), another walking right at a steady speed, and an orb.
struct FakeServer {
    tick: u32,
    me: EntityState,
    other: EntityState,
    inputs: VecDeque<(u32, InputFrame)>,
    last_seq: u32,
    encoder: DeltaEncoder,
    baseline: Option<(u32, Vec<ViewEntry>)>,
    /// Ticks since the last snapshot; one goes out every third tick.
    since_snapshot: u32,
}

impl FakeServer {
    fn new() -> Self {
        let player = |x| EntityState {
            kind: EntityKind::Player,
            x,
            y: 30_000,
            health: 100,
            ..Default::default()
        };
        Self {
            tick: 10,
            me: player(30_000),
            other: EntityState {
                vx: 40,
                ..player(20_000)
            },
            inputs: VecDeque::new(),
            last_seq: 0,
            encoder: DeltaEncoder::new(),
            baseline: None,
            since_snapshot: 0,
        }
    }

    fn welcome(&self) -> Vec<u8> {
        encode(&ServerMessage::Welcome(Welcome {
            protocol_version: PROTOCOL_VERSION,
            player: ME,
            tick_rate: 60,
            snapshot_interval_ticks: 3,
            arena_width: ARENA.width,
            arena_height: ARENA.height,
            view_width: 32_000,
            view_height: 20_000,
            tick: self.tick,
            room: RoomId(4),
            resume_token: ResumeToken([7; 16]),
            resume_window_ms: 10_000,
            resumed: false,
        }))
    }

    fn receive(&mut self, bytes: &[u8]) -> Option<ServerMessage> {
        match codec::decode_client(bytes).expect("the client sends valid messages") {
            ClientMessage::Inputs(b) => {
                for (i, f) in b.frames.iter().enumerate() {
                    self.inputs.push_back((b.first_seq + i as u32, *f));
                }
                None
            }
            ClientMessage::Ping(p) => Some(ServerMessage::Pong(p)),
            _ => None,
        }
    }

    /// One tick; true when a snapshot is due after it.
    fn step(&mut self) -> bool {
        if let Some((seq, f)) = self.inputs.pop_front() {
            let mut m = self.me.motion();
            step_player(&mut m, f, ARENA);
            self.me.set_motion(m);
            self.last_seq = seq;
        }
        self.other.x += self.other.vx;
        self.tick += 1;
        self.since_snapshot = (self.since_snapshot + 1) % 3;
        self.since_snapshot == 0
    }

    fn snapshot(&mut self) -> Vec<u8> {
        let orb = EntityState {
            kind: EntityKind::Orb,
            x: 31_000,
            y: 31_000,
            ..Default::default()
        };
        let view = vec![(ME, self.me), (OTHER, self.other), (ORB, orb)];
        let base = self.baseline.as_ref().map(|(t, e)| (*t, e.as_slice()));
        let enc = self.encoder.encode(base, self.tick, &view, |id| {
            Some(if id == ME { "ada" } else { "bob" })
        });
        let delta = Delta {
            tick: self.tick,
            baseline_age: enc.baseline_age,
            last_input_seq: self.last_seq,
            payload: enc.payload.to_vec(),
        };
        self.baseline = Some((self.tick, view));
        encode(&ServerMessage::Delta(delta))
    }
}

fn encode(msg: &ServerMessage) -> Vec<u8> {
    let mut buf = Vec::new();
    codec::encode_server(msg, &mut buf).expect("encodes");
    buf
}

/// The game and server wired together with `latency_ms` each way; the page
/// renders at `frame_ms` intervals. `on_frame` sees every rendered frame.
struct Harness {
    game: Game,
    server: FakeServer,
    now: f64,
    up: VecDeque<(f64, Vec<u8>)>,
    down: VecDeque<(f64, Vec<u8>)>,
    latency_ms: f64,
    next_server_tick: f64,
}

impl Harness {
    fn new(latency_ms: f64) -> Self {
        let server = FakeServer::new();
        let mut game = Game::new(
            JoinOptions {
                name: "ada".into(),
                ..JoinOptions::default()
            },
            0.0,
        );
        game.opened();
        let down = VecDeque::from([(latency_ms, server.welcome())]);
        Self {
            game,
            server,
            now: 0.0,
            up: VecDeque::new(),
            down,
            latency_ms,
            next_server_tick: 0.0,
        }
    }

    /// Runs until `until_ms`, holding `buttons`, one frame every `frame_ms`.
    fn run(
        &mut self,
        until_ms: f64,
        frame_ms: f64,
        buttons: u32,
        mut on_frame: impl FnMut(&mut Game, f64),
    ) {
        while self.now < until_ms {
            self.now += frame_ms;
            let now = self.now;
            // The server ticks on its own clock.
            while self.next_server_tick <= now {
                let t = self.next_server_tick;
                while self.up.front().is_some_and(|(due, _)| *due <= t) {
                    let (_, bytes) = self.up.pop_front().expect("front");
                    if let Some(reply) = self.server.receive(&bytes) {
                        self.down.push_back((t + self.latency_ms, encode(&reply)));
                    }
                }
                if self.server.step() {
                    let snap = self.server.snapshot();
                    self.down.push_back((t + self.latency_ms, snap));
                }
                self.next_server_tick += TICK_MS;
            }
            while self.down.front().is_some_and(|(due, _)| *due <= now) {
                let (_, bytes) = self.down.pop_front().expect("front");
                self.game
                    .receive(&bytes, now)
                    .expect("valid server messages");
            }
            self.game.update(now, buttons, 100.0, 0.0);
            while let Some(bytes) = self.game.poll_transmit(now) {
                self.up.push_back((now + self.latency_ms, bytes));
            }
            on_frame(&mut self.game, now);
        }
    }
}

#[test]
fn joining_shows_the_world_in_pixels() {
    let mut h = Harness::new(20.0);
    h.run(1500.0, 16.0, 0, |_, _| {});
    let events: Vec<GameEvent> = std::iter::from_fn(|| h.game.poll_event()).collect();
    assert!(matches!(
        events.first(),
        Some(GameEvent::Welcome {
            player: 3,
            arena_width: 4000.0,
            ..
        })
    ));
    assert_eq!(h.game.phase(), &Phase::Playing);
    let state = render_state(&mut h.game, h.now);
    let me = state.me.expect("own player shown");
    assert_eq!(
        (me.id, me.name.as_str(), me.health, me.alive),
        (3, "ada", 100, true)
    );
    assert_eq!((me.x, me.y), (1875.0, 1875.0), "30 000 units = 1875 px");
    assert_eq!(state.arena.w, 4000.0);
    assert_eq!(state.view.h, 1250.0);
    let kinds: Vec<(u32, &str)> = state.entities.iter().map(|s| (s.id, s.kind)).collect();
    assert_eq!(
        kinds,
        vec![(9, "player"), (20, "orb")],
        "own player drawn apart"
    );
    assert_eq!(state.entities[0].name.as_deref(), Some("bob"));
    assert_eq!(state.entities[1].name, None);
    assert!(
        (19.0..=21.0).contains(&state.net.snapshots_per_s),
        "{}",
        state.net.snapshots_per_s
    );
    assert!(state.net.rtt_ms.is_some_and(|r| (35.0..=80.0).contains(&r)));
    assert!(state.net.kbps_down > 0.0 && state.net.kbps_up > 0.0);
    assert!(h.game.errors().next().is_none());
}

#[test]
fn prediction_replays_to_exactly_the_servers_positions() {
    let mut h = Harness::new(75.0);
    let right = u32::from(InputFrame::RIGHT);
    h.run(3000.0, 16.0, right, |_, _| {});
    // The server's state plus the inputs it has not applied yet (queued, or
    // still on the wire) must give the client's prediction, bit for bit.
    let mut m = h.server.me.motion();
    let predictor = h.game.session.predictor().expect("welcomed");
    let unapplied = predictor.next_seq() - 1 - h.server.last_seq;
    let aim = h.game.aim();
    for _ in 0..unapplied {
        step_player(&mut m, InputFrame::new(InputFrame::RIGHT, aim), ARENA);
    }
    assert_eq!(predictor.motion(), Some(m));
    assert_eq!(predictor.corrections(), 0, "an exact server never corrects");
    assert!(m.x > 30_000 + 100 * 60, "moved right: {}", m.x);
}

#[test]
fn own_and_remote_motion_is_smooth_at_any_frame_rate() {
    for frame_ms in [16.6667, 7.0, 13.0, 33.0] {
        let mut h = Harness::new(75.0);
        let right = u32::from(InputFrame::RIGHT);
        h.run(600.0, frame_ms, right, |_, _| {});
        let mut last_me = f32::MIN;
        let mut last_other = f32::MIN;
        let mut still_ms = 0.0;
        let mut worst_still_ms: f64 = 0.0;
        h.run(3000.0, frame_ms, right, |g, now| {
            let s = render_state(g, now);
            let me = s.me.expect("shown");
            assert!(
                me.x >= last_me,
                "{frame_ms} ms frames: own x went back {last_me} → {}",
                me.x
            );
            last_me = me.x;
            let other = s
                .entities
                .iter()
                .find(|e| e.id == OTHER.0)
                .expect("in view");
            assert!(other.x >= last_other, "remote x went back");
            if other.x == last_other {
                still_ms += frame_ms;
            } else {
                still_ms = 0.0;
            }
            worst_still_ms = worst_still_ms.max(still_ms);
            last_other = other.x;
        });
        assert!(
            worst_still_ms < 100.0,
            "{frame_ms} ms frames: remote stood still {worst_still_ms} ms"
        );
    }
}

#[test]
fn the_leaderboard_marks_our_row() {
    let mut h = Harness::new(10.0);
    h.run(200.0, 16.0, 0, |_, _| {});
    while h.game.poll_event().is_some() {}
    let board = Leaderboard {
        entries: vec![
            LeaderboardEntry {
                player: OTHER,
                name: "bob".into(),
                score: 12,
            },
            LeaderboardEntry {
                player: ME,
                name: "ada".into(),
                score: 3,
            },
        ],
        players: 2,
    };
    h.game
        .receive(&encode(&ServerMessage::Leaderboard(board)), 210.0)
        .expect("valid");
    let Some(GameEvent::Leaderboard { players, entries }) = h.game.poll_event() else {
        panic!("a leaderboard event");
    };
    assert_eq!(players, 2);
    assert_eq!(
        entries
            .iter()
            .map(|r| (r.name.as_str(), r.me))
            .collect::<Vec<_>>(),
        vec![("bob", false), ("ada", true)]
    );
}

#[test]
fn a_version_mismatch_closes_with_a_clear_message() {
    let mut game = Game::new(
        JoinOptions {
            name: "ada".into(),
            protocol_version: Some(99),
            ..JoinOptions::default()
        },
        0.0,
    );
    game.opened();
    let hello = game.poll_transmit(0.0).expect("hello");
    assert!(matches!(
        codec::decode_client(&hello),
        Ok(ClientMessage::Hello(h)) if h.protocol_version == 99
    ));
    let notice = Notice {
        code: NoticeCode::VersionMismatch {
            server_version: PROTOCOL_VERSION,
        },
        message: "protocol version 99 is not supported".into(),
    };
    game.receive(&encode(&ServerMessage::Notice(notice)), 5.0)
        .expect("valid");
    game.closed(1002, "version mismatch", 6.0);
    assert_eq!(
        game.resume_offer(),
        None,
        "never welcomed: nothing to resume"
    );
    let Phase::Closed(d) = game.phase() else {
        panic!("closed");
    };
    assert_eq!(d.title, "Version mismatch");
    assert!(
        d.detail
            .contains("version 99 but the server speaks version 1"),
        "{}",
        d.detail
    );
    assert_eq!(d.code, 1002);
    assert_eq!(game.update(10.0, 0, 0.0, 0.0), 0, "no inputs after a close");
}

#[test]
fn a_dead_player_sees_a_respawn_countdown() {
    let mut h = Harness::new(10.0);
    h.run(300.0, 16.0, 0, |_, _| {});
    h.server.me.health = 0;
    h.server.me.respawn_tick = h.server.tick + 120; // two seconds away
    h.run(400.0, 16.0, 0, |_, _| {});
    let me = render_state(&mut h.game, h.now).me.expect("shown");
    assert!(!me.alive);
    assert!((1.5..=2.0).contains(&me.respawn_in), "{}", me.respawn_in);
}

#[test]
fn a_dropped_connection_offers_the_player_back() {
    let mut h = Harness::new(10.0);
    h.run(300.0, 16.0, 0, |_, _| {});
    assert_eq!(h.game.closed(1006, "", 300.0), CloseKind::Dropped);
    let offer = h.game.resume_offer().expect("welcomed, so resumable");
    assert_eq!(offer.token, ResumeToken([7; 16]));
    assert_eq!(offer.room, RoomId(4));
    assert_eq!(offer.valid_until_ms, 10_300.0);
    assert_eq!(offer.window_ms, 10_000.0);
    let Phase::Closed(d) = h.game.phase() else {
        panic!("closed");
    };
    assert_eq!(d.title, "Connection lost");
    h.game.resume_expired(offer.window_ms);
    let Phase::Closed(d) = h.game.phase() else {
        panic!("closed");
    };
    assert_eq!(
        (d.title.as_str(), d.action, d.code),
        ("Could not take back your player", Action::JoinNew, 1006)
    );
}

#[test]
fn a_shutdown_is_deliberate_and_a_notice_explains_a_close() {
    let mut h = Harness::new(10.0);
    h.run(100.0, 16.0, 0, |_, _| {});
    assert_eq!(h.game.closed(1001, "bye", 100.0), CloseKind::Deliberate);
    assert!(h.game.resume_offer().is_some(), "kept for a Rejoin");

    let mut game = Game::new(
        JoinOptions {
            name: "ada".into(),
            automatic: true,
            ..Default::default()
        },
        0.0,
    );
    game.opened();
    let notice = encode(&ServerMessage::Notice(Notice {
        code: NoticeCode::ResumeRejected,
        message: "resume token not valid".into(),
    }));
    game.receive(&notice, 5.0).expect("a notice is fine");
    assert_eq!(game.closed(1008, "", 6.0), CloseKind::ResumeRefused);
    assert!(game.automatic());
    assert!(game.resume_offer().is_none(), "never welcomed");
    let Phase::Closed(d) = game.phase() else {
        panic!("closed");
    };
    assert_eq!(d.action, Action::JoinNew);
}
