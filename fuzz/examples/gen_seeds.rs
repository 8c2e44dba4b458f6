//! Writes the committed seed corpus under `fuzz/seeds/<target>/`: valid
//! messages, deltas and session scripts, so fuzzing starts from inputs that
//! reach deep into the code instead of being refused at the first byte.
//!
//! `cargo run --manifest-path fuzz/Cargo.toml --example gen_seeds`

use std::fs;
use std::path::{Path, PathBuf};

use tickwire_protocol::codec;
use tickwire_protocol::delta::DeltaEncoder;
use tickwire_protocol::entity::{EntityId, EntityKind, EntityState};
use tickwire_protocol::input::InputFrame;
use tickwire_protocol::message::*;
use tickwire_protocol::view::{View, ViewEntry};
use tickwire_protocol_fuzz::delta_input::{Change, DeltaCase, Entering, RawCase, RoundTripCase};
use tickwire_protocol_fuzz::session_input::{DeltaOp, Op, Script, ScriptConfig};

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let deltas = delta_seeds();
    let sessions = session_seeds();
    // The structured seeds must read back as written, or the fuzzer starts elsewhere.
    for (name, bytes) in &deltas {
        assert_eq!(&DeltaCase::parse(bytes).to_bytes(), bytes, "{name}");
    }
    for (name, bytes) in &sessions {
        assert_eq!(&Script::parse(bytes).to_bytes(), bytes, "{name}");
    }
    write_all(&root.join("decode_client"), &client_seeds())?;
    write_all(&root.join("decode_server"), &server_seeds())?;
    write_all(&root.join("apply_delta"), &deltas)?;
    write_all(&root.join("session_bytes"), &sessions)?;
    Ok(())
}

/// Replaces the seeds of one target.
fn write_all(dir: &PathBuf, seeds: &[(&str, Vec<u8>)]) -> std::io::Result<()> {
    if dir.exists() {
        fs::remove_dir_all(dir)?;
    }
    fs::create_dir_all(dir)?;
    for (name, bytes) in seeds {
        fs::write(dir.join(name), bytes)?;
    }
    eprintln!("{}: {} seeds", dir.display(), seeds.len());
    Ok(())
}

fn client_bytes(msg: &ClientMessage) -> Vec<u8> {
    let mut out = Vec::new();
    codec::encode_client(msg, &mut out).expect("encodes");
    out
}

fn server_bytes(msg: &ServerMessage) -> Vec<u8> {
    let mut out = Vec::new();
    codec::encode_server(msg, &mut out).expect("encodes");
    out
}

fn hello(version: u16, name: &str) -> ClientMessage {
    ClientMessage::Hello(Hello {
        protocol_version: version,
        name: name.into(),
        room: RoomRequest::default(),
        auth_token: None,
        resume: None,
    })
}

fn client_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let inputs = ClientMessage::Inputs(InputBatch {
        first_seq: 70_000,
        ack_tick: 12_345,
        frames: vec![
            InputFrame::new(InputFrame::UP | InputFrame::FIRE, 3),
            InputFrame::new(InputFrame::RIGHT | InputFrame::DASH, 200),
            InputFrame::new(0, 0),
        ],
    });
    vec![
        ("hello", client_bytes(&hello(PROTOCOL_VERSION, "ada"))),
        ("hello_v999_utf8", client_bytes(&hello(999, "zoë ☃"))),
        (
            "hello_join_resume",
            client_bytes(&ClientMessage::Hello(Hello {
                protocol_version: PROTOCOL_VERSION,
                name: "Grace Hopper!!!!".into(),
                room: RoomRequest::Join(RoomId(7)),
                auth_token: Some("v1.123.YWRh.sig".into()),
                resume: Some(ResumeToken([9; 16])),
            })),
        ),
        ("inputs", client_bytes(&inputs)),
        ("ack", client_bytes(&ClientMessage::Ack(Ack { tick: 9 }))),
        (
            "ping",
            client_bytes(&ClientMessage::Ping(Ping { nonce: u32::MAX })),
        ),
        (
            "resync_checksum",
            client_bytes(&ClientMessage::Resync(Resync::ChecksumMismatch)),
        ),
        (
            "resync_bad_delta",
            client_bytes(&ClientMessage::Resync(Resync::BadDelta)),
        ),
    ]
}

fn welcome(player: u32) -> Welcome {
    Welcome {
        protocol_version: PROTOCOL_VERSION,
        player: EntityId(player),
        tick_rate: 60,
        snapshot_interval_ticks: 3,
        arena_width: 80_000,
        arena_height: 80_000,
        view_width: 24_000,
        view_height: 16_000,
        tick: 100,
        room: RoomId(1),
        resume_token: ResumeToken([9; 16]),
        resume_window_ms: 15_000,
        resumed: false,
    }
}

fn player(x: i32, y: i32, vx: i32, vy: i32) -> EntityState {
    EntityState {
        kind: EntityKind::Player,
        x,
        y,
        vx,
        vy,
        health: 100,
        score: 3,
        aim: 64,
        ..Default::default()
    }
}

fn projectile(x: i32, y: i32, owner: u32) -> EntityState {
    EntityState {
        kind: EntityKind::Projectile,
        x,
        y,
        vx: 192,
        vy: -7,
        owner: EntityId(owner),
        ..Default::default()
    }
}

fn orb(x: i32, y: i32) -> EntityState {
    EntityState {
        kind: EntityKind::Orb,
        x,
        y,
        ..Default::default()
    }
}

/// A small world at tick 100 and the same world three ticks later.
fn views() -> (View, View) {
    let a = View {
        tick: 100,
        entities: vec![
            (EntityId(7), player(40_000, 40_000, 10, 0)),
            (EntityId(9), player(41_000, 39_000, 0, 0)),
            (EntityId(12), projectile(40_500, 40_000, 7)),
            (EntityId(20), orb(30_000, 30_000)),
            (
                EntityId(33),
                EntityState {
                    health: 0,
                    respawn_tick: 250,
                    ..player(0, 0, 0, 0)
                },
            ),
        ],
    };
    let b = View {
        tick: 103,
        entities: vec![
            (EntityId(7), player(40_032, 40_000, 11, 0)),
            (
                EntityId(9),
                EntityState {
                    health: 80,
                    aim: 10,
                    ..player(41_000, 39_000, 0, 0)
                },
            ),
            (EntityId(12), projectile(40_500 + 3 * 192, 40_000 - 21, 7)),
            (
                EntityId(33),
                EntityState {
                    health: 0,
                    respawn_tick: 250,
                    ..player(0, 0, 0, 0)
                },
            ),
            (EntityId(40), projectile(41_000, 39_000, 9)),
            (EntityId(41), player(45_000, 41_000, -5, 5)),
        ],
    };
    (a, b)
}

fn name_for(id: EntityId) -> Option<&'static str> {
    const NAMES: [&str; 3] = ["ada", "Grace Hopper!!!!", "zoë"];
    Some(NAMES[id.0 as usize % 3])
}

fn delta(baseline: Option<&View>, current: &View) -> Delta {
    let mut encoder = DeltaEncoder::new();
    let enc = encoder.encode(
        baseline.map(|v| (v.tick, v.entities.as_slice())),
        current.tick,
        &current.entities,
        name_for,
    );
    Delta {
        tick: current.tick,
        baseline_age: enc.baseline_age,
        last_input_seq: 42,
        payload: enc.payload.to_vec(),
    }
}

fn server_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let (a, b) = views();
    let notice = |code| {
        ServerMessage::Notice(Notice {
            code,
            message: "nope".into(),
        })
    };
    vec![
        ("welcome", server_bytes(&ServerMessage::Welcome(welcome(7)))),
        (
            "delta_full",
            server_bytes(&ServerMessage::Delta(delta(None, &a))),
        ),
        (
            "delta",
            server_bytes(&ServerMessage::Delta(delta(Some(&a), &b))),
        ),
        (
            "pong",
            server_bytes(&ServerMessage::Pong(Ping { nonce: 77 })),
        ),
        (
            "notice_version",
            server_bytes(&notice(NoticeCode::VersionMismatch { server_version: 1 })),
        ),
        ("notice_full", server_bytes(&notice(NoticeCode::ServerFull))),
        (
            "leaderboard",
            server_bytes(&ServerMessage::Leaderboard(Leaderboard {
                entries: vec![
                    LeaderboardEntry {
                        player: EntityId(4),
                        name: "b".into(),
                        score: 7,
                    },
                    LeaderboardEntry {
                        player: EntityId(700),
                        name: "zoë".into(),
                        score: 3,
                    },
                ],
                players: 3,
            })),
        ),
    ]
}

fn delta_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let (a, b) = views();
    let raw = |baseline: View, delta: Delta| DeltaCase::Raw(RawCase { baseline, delta }).to_bytes();
    let coasting = View {
        tick: 104,
        entities: a
            .entities
            .iter()
            .map(|(id, s)| {
                (
                    *id,
                    EntityState {
                        x: s.x + 4 * s.vx,
                        y: s.y + 4 * s.vy,
                        ..*s
                    },
                )
            })
            .collect(),
    };
    let round_trip = RoundTripCase {
        base_tick: 100,
        age: 3,
        a: a.entities.clone(),
        changes: vec![
            Change::Nudge(3, -2),
            Change::Tweak(0, 80),
            Change::Coast,
            Change::Leave,
            Change::Replace(player(1000, 2000, 5, -5)),
        ],
        entering: vec![
            Entering {
                id: 40,
                state: projectile(41_000, 39_000, 9),
                name: String::new(),
            },
            Entering {
                id: 41,
                state: player(45_000, 41_000, -5, 5),
                name: "Grace Hopper!!!!".into(),
            },
            Entering {
                id: 50,
                state: player(46_000, 42_000, 0, 0),
                name: "Grace Hopper!!!ë".into(), // 17 bytes: cut inside the ë
            },
        ],
    };
    let still = RoundTripCase {
        base_tick: 1,
        age: 1,
        a: a.entities.clone(),
        changes: vec![
            Change::StandStill,
            Change::Coast,
            Change::Tweak(4, 500),
            Change::Coast,
            Change::Coast,
        ],
        entering: Vec::new(),
    };
    vec![
        ("raw_full", raw(View::default(), delta(None, &a))),
        ("raw_delta", raw(a.clone(), delta(Some(&a), &b))),
        ("raw_coasting", raw(a.clone(), delta(Some(&a), &coasting))),
        ("round_trip", DeltaCase::RoundTrip(round_trip).to_bytes()),
        ("round_trip_still", DeltaCase::RoundTrip(still).to_bytes()),
    ]
}

/// The world a server shows player 7 at `step` (three ticks per step).
fn world(step: i32) -> Vec<ViewEntry> {
    let mut v = vec![
        (EntityId(7), player(40_000 + 30 * step, 40_000, 10, 0)),
        (EntityId(9), player(41_000, 39_000 - 5 * step, 0, -2)),
        (EntityId(20), orb(30_000, 30_000)),
    ];
    if step % 4 != 3 {
        v.push((
            EntityId(100 + step as u32 / 4),
            projectile(40_000 + 576 * (step % 4), 40_000, 7),
        ));
    }
    v.sort_by_key(|(id, _)| *id);
    v
}

fn session_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let config = ScriptConfig {
        name: "ada".into(),
        inputs_per_message: 1,
        ping_interval_ms: 1000,
        interpolate: true,
        room: RoomRequest::JoinOrCreate,
        auth_token: None,
        resume: None,
    };
    let delta_op = |step: i32, full: bool| {
        Op::Delta(DeltaOp {
            advance: 3,
            full,
            corrupt: None,
            last_input_seq: (3 * step).max(0) as u32,
            entities: world(step),
        })
    };
    let mut play = vec![Op::Welcome(welcome(7)), Op::Timeout, delta_op(0, true)];
    for step in 1..12 {
        play.push(Op::Input(InputFrame::RIGHT, 0));
        play.push(Op::Advance(16));
        play.push(Op::Input(InputFrame::RIGHT | InputFrame::FIRE, 10));
        play.push(Op::Advance(17));
        play.push(Op::Input(InputFrame::DOWN | InputFrame::DASH, 20));
        play.push(Op::Advance(17));
        play.push(delta_op(step, false));
        play.push(Op::Interpolate);
        if step % 4 == 0 {
            play.push(Op::Timeout);
            play.push(Op::Advance(30));
            play.push(Op::Pong(0));
        }
    }
    let mut desync = vec![Op::Welcome(welcome(7)), delta_op(0, true), Op::Advance(50)];
    desync.push(Op::Delta(DeltaOp {
        advance: 3,
        full: false,
        corrupt: Some((1, 0x40)),
        last_input_seq: 0,
        entities: world(1),
    }));
    desync.push(delta_op(2, false));
    desync.push(delta_op(3, true));
    desync.push(Op::Interpolate);

    // The same kind of session as raw bytes, as they arrive from a socket.
    let (a, b) = views();
    let raw = vec![
        Op::Raw(server_bytes(&ServerMessage::Welcome(welcome(7)))),
        Op::Raw(server_bytes(&ServerMessage::Delta(delta(None, &a)))),
        Op::Input(InputFrame::LEFT, 0),
        Op::Advance(50),
        Op::Raw(server_bytes(&ServerMessage::Delta(delta(Some(&a), &b)))),
        Op::Interpolate,
        Op::Raw(server_bytes(&ServerMessage::Pong(Ping { nonce: 1 }))),
        Op::Raw(server_bytes(&ServerMessage::Leaderboard(Leaderboard {
            entries: vec![LeaderboardEntry {
                player: EntityId(7),
                name: "ada".into(),
                score: 3,
            }],
            players: 2,
        }))),
        Op::Raw(server_bytes(&ServerMessage::Notice(Notice {
            code: NoticeCode::ShuttingDown,
            message: "bye".into(),
        }))),
    ];
    let batched = ScriptConfig {
        name: "a name longer than sixteen bytes".into(),
        inputs_per_message: 3,
        ping_interval_ms: 100,
        interpolate: false,
        room: RoomRequest::Join(RoomId(3)),
        auth_token: Some("v1.123.YWRh.sig".into()),
        resume: Some(ResumeToken([1; 16])),
    };
    let script = |config: &ScriptConfig, ops: Vec<Op>| {
        Script {
            config: config.clone(),
            ops,
        }
        .to_bytes()
    };
    vec![
        ("play", script(&config, play.clone())),
        ("play_batched", script(&batched, play)),
        ("desync", script(&config, desync)),
        ("raw", script(&config, raw)),
    ]
}
