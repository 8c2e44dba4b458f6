//! A client session and a server-side encoder driven together on a virtual clock.

use std::collections::VecDeque;

use super::*;
use crate::delta::DeltaEncoder;
use crate::entity::{EntityKind, EntityState};
use crate::message::{Notice, NoticeCode};
use crate::sim::step_player;
use crate::view::ViewEntry;

const ME: EntityId = EntityId(7);
const ARENA: Arena = Arena {
    width: 80_000,
    height: 80_000,
};

/// A tiny in-memory server: one player driven by the client's inputs, plus coasting projectiles.
struct FakeServer {
    tick: u32,
    me: EntityState,
    others: Vec<ViewEntry>,
    inputs: VecDeque<(u32, InputFrame)>,
    last_seq: u32,
    encoder: DeltaEncoder,
    baseline: Option<(u32, Vec<ViewEntry>)>,
    acked: u32,
    resyncs: u32,
    /// Whether the player is in its own view (false: it left the area of interest).
    me_in_view: bool,
}

impl FakeServer {
    fn new() -> Self {
        let me = EntityState {
            kind: EntityKind::Player,
            x: 40_000,
            y: 40_000,
            health: 100,
            ..Default::default()
        };
        let others = (0..5)
            .map(|i| {
                let s = EntityState {
                    kind: EntityKind::Projectile,
                    x: 1000 * i,
                    y: 500,
                    vx: 50,
                    vy: i,
                    ..Default::default()
                };
                (EntityId(100 + i as u32), s)
            })
            .collect();
        Self {
            tick: 1,
            me,
            others,
            inputs: VecDeque::new(),
            last_seq: 0,
            encoder: DeltaEncoder::new(),
            baseline: None,
            acked: 0,
            resyncs: 0,
            me_in_view: true,
        }
    }

    fn welcome(&self) -> Vec<u8> {
        let w = Welcome {
            protocol_version: PROTOCOL_VERSION,
            player: ME,
            tick_rate: 60,
            snapshot_interval_ticks: 3,
            arena_width: ARENA.width,
            arena_height: ARENA.height,
            view_width: 40_000,
            view_height: 30_000,
            tick: self.tick,
            room: crate::message::RoomId(1),
            resume_token: crate::message::ResumeToken([1; 16]),
            resume_window_ms: 15_000,
            resumed: false,
        };
        encode(&ServerMessage::Welcome(w))
    }

    fn receive(&mut self, bytes: &[u8]) -> Option<ServerMessage> {
        match codec::decode_client(bytes).expect("client sends valid messages") {
            ClientMessage::Inputs(b) => {
                for (i, f) in b.frames.iter().enumerate() {
                    self.inputs.push_back((b.first_seq + i as u32, *f));
                }
                self.acked = self.acked.max(b.ack_tick);
            }
            ClientMessage::Ack(a) => self.acked = self.acked.max(a.tick),
            ClientMessage::Ping(p) => return Some(ServerMessage::Pong(p)),
            ClientMessage::Resync(_) => {
                self.resyncs += 1;
                self.baseline = None;
            }
            ClientMessage::Hello(_) => {}
        }
        None
    }

    /// One simulation tick: at most one input for the player, everything else coasts.
    fn step(&mut self) {
        if let Some((seq, f)) = self.inputs.pop_front() {
            let mut m = self.me.motion();
            step_player(&mut m, f, ARENA);
            self.me.set_motion(m);
            self.last_seq = seq;
        }
        for (_, s) in &mut self.others {
            s.x += s.vx;
            s.y += s.vy;
        }
        self.tick += 1;
    }

    fn view(&self) -> Vec<ViewEntry> {
        let mut v = Vec::new();
        if self.me_in_view {
            v.push((ME, self.me));
        }
        v.extend(self.others.iter().copied());
        v.sort_by_key(|(id, _)| *id);
        v
    }

    fn snapshot(&mut self) -> Vec<u8> {
        let view = self.view();
        let baseline = self.baseline.as_ref().map(|(t, e)| (*t, e.as_slice()));
        let enc = self
            .encoder
            .encode(baseline, self.tick, &view, |_| Some("me"));
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

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Runs client and server for `ticks` ticks; messages take `latency_ticks` each way.
fn run(
    ticks: u32,
    latency_ticks: usize,
    mut corrupt_at: Option<u32>,
) -> (ClientSession, FakeServer, Vec<SessionEvent>) {
    let mut server = FakeServer::new();
    let mut client = ClientSession::new(
        SessionConfig {
            inputs_per_message: 2,
            ..SessionConfig::new("me")
        },
        ms(0),
    );
    let mut up: VecDeque<(usize, Vec<u8>)> = VecDeque::new();
    let mut down: VecDeque<(usize, Vec<u8>)> = VecDeque::from([(latency_ticks, server.welcome())]);
    let mut events = Vec::new();
    for t in 0..ticks as usize {
        let now = ms(t as u64 * 1000 / 60);
        while down.front().is_some_and(|(due, _)| *due <= t) {
            let (_, mut bytes) = down.pop_front().expect("front exists");
            if corrupt_at.is_some_and(|c| c as usize <= t)
                && let Ok(ServerMessage::Delta(mut d)) = codec::decode_server(&bytes)
                && d.baseline_age > 0
            {
                corrupt_at = None;
                d.payload[0] ^= 0x40; // the client's view no longer matches the checksum
                bytes = encode(&ServerMessage::Delta(d));
            }
            client
                .handle_bytes(&bytes, now)
                .expect("server sends valid messages");
        }
        let dir = [
            InputFrame::RIGHT,
            InputFrame::DOWN | InputFrame::DASH,
            InputFrame::LEFT,
        ][(t / 40) % 3];
        client.push_input(InputFrame::new(dir, (t % 256) as u8));
        client.handle_timeout(now);
        while let Some(bytes) = client.poll_transmit() {
            up.push_back((t + latency_ticks, bytes));
        }
        while let Some(e) = client.poll_event() {
            events.push(e);
        }
        while up.front().is_some_and(|(due, _)| *due <= t) {
            let (_, bytes) = up.pop_front().expect("front exists");
            if let Some(reply) = server.receive(&bytes) {
                down.push_back((t + latency_ticks, encode(&reply)));
            }
        }
        server.step();
        if t % 3 == 0 {
            down.push_back((t + latency_ticks, server.snapshot()));
        }
    }
    (client, server, events)
}

#[test]
fn the_client_view_tracks_the_server_exactly() {
    let (client, server, events) = run(600, 4, None);
    let snapshots = events
        .iter()
        .filter(|e| matches!(e, SessionEvent::Snapshot { .. }))
        .count();
    assert!(snapshots > 190, "{snapshots} snapshots");
    assert_eq!(client.desyncs(), 0);
    // The newest view the client holds equals what the server sent for that tick.
    let (tick, view) = server.baseline.as_ref().expect("sent");
    assert!(client.view().tick <= *tick && client.view().tick + 12 >= *tick);
    assert_eq!(
        client.view().get(ME).map(|s| s.kind),
        Some(EntityKind::Player)
    );
    assert_eq!(client.view().entities.len(), view.len());
    assert_eq!(client.name_of(ME), Some("me"));
    assert!(
        server.acked >= client.view().tick - 6,
        "acks reach the server: {} vs {}",
        server.acked,
        client.view().tick
    );
    assert!(matches!(events.first(), Some(SessionEvent::Welcomed(_))));
}

#[test]
fn names_of_players_gone_from_view_are_not_kept() {
    let mut server = FakeServer::new();
    let mut client = ClientSession::new(SessionConfig::new("me"), ms(0));
    client
        .handle_bytes(&server.welcome(), ms(0))
        .expect("welcome");
    let visitor = |id: u32| {
        let s = EntityState {
            kind: EntityKind::Player,
            x: 40_100,
            y: 40_100,
            health: 100,
            ..Default::default()
        };
        (EntityId(id), s)
    };
    // 300 players pass through the view, two at a time, each for a few deltas.
    for n in 0..600u32 {
        server.others = vec![visitor(1000 + n / 4), visitor(2000 + n / 4)];
        server.step();
        client
            .handle_bytes(&server.snapshot(), ms(u64::from(n) * 50))
            .expect("delta");
        assert_eq!(client.name_of(EntityId(1000 + n / 4)), Some("me"));
        assert!(
            client.names.len() <= 2 * 3 + 16 + 2,
            "{} names",
            client.names.len()
        );
    }
    assert_eq!(client.desyncs(), 0);
    assert_eq!(client.name_of(ME), Some("me"));
    assert_eq!(client.name_of(EntityId(1000)), None, "long gone");
}

#[test]
fn the_local_player_is_found_once_per_delta() {
    let mut server = FakeServer::new();
    let mut client = ClientSession::new(SessionConfig::new("me"), ms(0));
    client
        .handle_bytes(&server.welcome(), ms(0))
        .expect("valid");
    assert_eq!(client.me(), None, "no snapshot yet");
    client
        .handle_bytes(&server.snapshot(), ms(1))
        .expect("valid");
    assert_eq!(client.me(), client.view().get(ME));
    assert_eq!(client.me().map(|s| s.x), Some(40_000));
    // A delta that shifts the player's place in the view (an entity with a lower id enters).
    server.others.push((
        EntityId(1),
        EntityState {
            kind: EntityKind::Orb,
            ..Default::default()
        },
    ));
    server.me.x += 100;
    server.step();
    client
        .handle_bytes(&server.snapshot(), ms(2))
        .expect("valid");
    assert_eq!(client.view().entities[1].0, ME);
    assert_eq!(client.me().map(|s| s.x), Some(40_100));
    assert_eq!(client.me(), client.view().get(ME));
    // The player leaves its own view.
    server.me_in_view = false;
    server.step();
    client
        .handle_bytes(&server.snapshot(), ms(3))
        .expect("valid");
    assert_eq!(client.me(), None);
    assert_eq!(client.desyncs(), 0);
}

#[test]
fn prediction_equals_the_server_once_inputs_are_applied() {
    let (client, server, _) = run(400, 3, None);
    let predictor = client.predictor().expect("welcomed");
    // Replay what the server has not applied yet on the server's current state:
    // it must equal the client's prediction, bit for bit.
    assert!(predictor.pending_inputs() > 0);
    let mut m = server.me.motion();
    for (_, f) in &server.inputs {
        step_player(&mut m, *f, ARENA);
    }
    let unsent = predictor.next_seq() - 1 - server.last_seq - server.inputs.len() as u32;
    assert!(
        unsent <= 8,
        "only inputs still in flight are missing: {unsent}"
    );
    // Inputs still in flight are the last `unsent` ones the client made.
    let predicted = predictor.motion().expect("known");
    let mut replay = m;
    let t0 = 400 - unsent as usize;
    for t in t0..400 {
        let dir = [
            InputFrame::RIGHT,
            InputFrame::DOWN | InputFrame::DASH,
            InputFrame::LEFT,
        ][(t / 40) % 3];
        step_player(&mut replay, InputFrame::new(dir, (t % 256) as u8), ARENA);
    }
    assert_eq!(predicted, replay);
    assert_eq!(predictor.corrections(), 0);
}

#[test]
fn a_corrupted_delta_is_detected_and_repaired_by_a_full_snapshot() {
    let (client, server, events) = run(300, 2, Some(100));
    assert_eq!(client.desyncs(), 1);
    assert_eq!(server.resyncs, 1);
    let desync_at = events
        .iter()
        .position(|e| matches!(e, SessionEvent::Desync(_)))
        .expect("desync seen");
    let recovered = events[desync_at..]
        .iter()
        .any(|e| matches!(e, SessionEvent::Snapshot { full: true, .. }));
    assert!(recovered, "a full snapshot followed the desync");
    assert!(matches!(
        events.last(),
        Some(SessionEvent::Snapshot { full: false, .. }) | Some(SessionEvent::Rtt(_))
    ));
}

#[test]
fn ping_measures_the_round_trip() {
    let (client, _, events) = run(300, 6, None);
    let rtts: Vec<f64> = events
        .iter()
        .filter_map(|e| {
            if let SessionEvent::Rtt(r) = e {
                Some(*r)
            } else {
                None
            }
        })
        .collect();
    assert!(rtts.len() >= 3);
    // 6 ticks each way at 60 Hz ≈ 200 ms, give or take a tick of ordering.
    assert!(rtts.iter().all(|r| (180.0..=240.0).contains(r)), "{rtts:?}");
    assert!(client.rtt_ms().is_some());
}

#[test]
fn the_first_ping_is_due_at_the_welcome_even_if_the_timer_ran_before_it() {
    let config = SessionConfig {
        ping_interval: Duration::from_secs(5),
        ..SessionConfig::new("x")
    };
    let mut client = ClientSession::new(config, ms(0));
    while client.poll_transmit().is_some() {} // the Hello
    // The timer runs before the Welcome: nothing can be sent yet.
    client.handle_timeout(ms(1));
    assert!(client.poll_transmit().is_none());
    client
        .handle_bytes(&FakeServer::new().welcome(), ms(30))
        .expect("valid");
    assert_eq!(client.poll_timeout(), ms(30));
    client.handle_timeout(ms(30));
    let sent = client.poll_transmit().expect("a ping");
    assert!(matches!(
        codec::decode_client(&sent),
        Ok(ClientMessage::Ping(_))
    ));
}

#[test]
fn server_garbage_is_an_error_and_notices_are_events() {
    let mut client = ClientSession::new(SessionConfig::new("x"), ms(0));
    assert!(client.handle_bytes(&[0xff, 0, 1], ms(1)).is_err());
    let delta = encode(&ServerMessage::Delta(Delta {
        tick: 1,
        baseline_age: 0,
        last_input_seq: 0,
        payload: vec![],
    }));
    assert!(matches!(
        client.handle_bytes(&delta, ms(1)),
        Err(SessionError::Unexpected(_))
    ));
    let notice = Notice {
        code: NoticeCode::ServerFull,
        message: "full".into(),
    };
    client
        .handle_bytes(&encode(&ServerMessage::Notice(notice.clone())), ms(2))
        .expect("valid");
    assert_eq!(client.poll_event(), Some(SessionEvent::Notice(notice)));
    let hello = client.poll_transmit().expect("hello queued");
    assert!(matches!(
        codec::decode_client(&hello),
        Ok(ClientMessage::Hello(_))
    ));
}

#[test]
fn an_oversized_hello_is_a_local_error_not_a_message_the_server_refuses() {
    let mut config = SessionConfig::new("ada");
    config.auth_token = Some("t".repeat(250));
    let mut client = ClientSession::new(config, ms(0));
    assert!(
        client.poll_transmit().is_none(),
        "nothing over the codec limit goes out"
    );
    assert!(matches!(
        client.poll_event(),
        Some(SessionEvent::LocalError(_))
    ));
}

#[test]
fn a_hostile_player_state_is_not_a_panic() {
    let mut server = FakeServer::new();
    server.me.x = i32::MAX - 10;
    server.me.vx = 1000;
    let mut client = ClientSession::new(SessionConfig::new("me"), ms(0));
    client
        .handle_bytes(&server.welcome(), ms(0))
        .expect("valid");
    client.push_input(InputFrame::new(InputFrame::RIGHT, 0));
    client
        .handle_bytes(&server.snapshot(), ms(1))
        .expect("valid");
    server.me.x = i32::MIN + 5;
    server.step();
    client
        .handle_bytes(&server.snapshot(), ms(2))
        .expect("valid");
    client.push_input(InputFrame::new(InputFrame::LEFT, 0));
    assert!(client.predictor().and_then(|p| p.motion()).is_some());
}
