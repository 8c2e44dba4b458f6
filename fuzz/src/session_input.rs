//! The `session_bytes` target's input: a session configuration and a script
//! of calls (raw server bytes, well-formed server messages, inputs, timers,
//! interpolation) on a clock that only moves forward.
//!
//! Format: name (length byte modulo 33, then bytes), inputs per message u8,
//! ping interval ms u16, interpolate (low bit of a byte), room request (tag
//! byte modulo 3, room id u32), auth token (flag byte, then length byte and
//! bytes), resume token (flag byte, then 16 bytes), then [`Op`]s until the
//! input ends, each a tag byte (modulo 9) and its arguments.

use tickwire_protocol::message::{ResumeToken, RoomId, RoomRequest, Welcome};
use tickwire_protocol::view::ViewEntry;

use crate::bytes::{Reader, Writer};
use crate::entities::{read_entities, write_entities};

/// How the session is configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptConfig {
    /// Player name (may be longer than the protocol allows).
    pub name: String,
    /// `SessionConfig::inputs_per_message` (0 and large values included).
    pub inputs_per_message: u8,
    /// `SessionConfig::ping_interval`, ms (0 included).
    pub ping_interval_ms: u16,
    /// `SessionConfig::interpolate`.
    pub interpolate: bool,
    /// `SessionConfig::room`.
    pub room: RoomRequest,
    /// `SessionConfig::auth_token` (up to 255 bytes).
    pub auth_token: Option<String>,
    /// `SessionConfig::resume`.
    pub resume: Option<ResumeToken>,
}

/// One step of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `handle_bytes` with these bytes (length u16 modulo 4096, then the bytes).
    Raw(Vec<u8>),
    /// Moves the clock forward this many ms.
    Advance(u16),
    /// `push_input` with (buttons, aim).
    Input(u8, u8),
    /// `handle_timeout` now.
    Timeout,
    /// `interpolate` now.
    Interpolate,
    /// `flush_inputs`.
    Flush,
    /// `handle_bytes` with an encoded `Welcome` holding these fields.
    Welcome(Welcome),
    /// `handle_bytes` with an encoded delta built by a real encoder.
    Delta(DeltaOp),
    /// `handle_bytes` with a `Pong` echoing the newest ping sent (or this nonce if none).
    Pong(u32),
}

/// A delta built by `DeltaEncoder` against the session's current view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeltaOp {
    /// Ticks past the session's current view (0 makes the encoder send a full snapshot).
    pub advance: u16,
    /// Encode as a full snapshot instead of against the session's view.
    pub full: bool,
    /// Flip bits of the encoded payload: (byte index modulo length, xor mask).
    pub corrupt: Option<(u16, u8)>,
    /// `Delta::last_input_seq`.
    pub last_input_seq: u32,
    /// The view the server sends (any values, ids ascending).
    pub entities: Vec<ViewEntry>,
}

/// A configuration and the calls to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// How the session is configured.
    pub config: ScriptConfig,
    /// The calls, in order.
    pub ops: Vec<Op>,
}

/// Longest raw chunk, bytes.
const MAX_RAW: u16 = 4096;

impl Script {
    /// Reads a script; every byte string is one.
    pub fn parse(data: &[u8]) -> Self {
        let mut r = Reader::new(data);
        let config = ScriptConfig {
            name: r.string(32),
            inputs_per_message: r.u8(),
            ping_interval_ms: r.u16(),
            interpolate: r.u8() & 1 == 1,
            room: match (r.u8() % 3, r.u32()) {
                (0, _) => RoomRequest::JoinOrCreate,
                (1, id) => RoomRequest::Join(RoomId(id)),
                _ => RoomRequest::Create,
            },
            auth_token: (r.u8() & 1 == 1).then(|| r.string(u8::MAX)),
            resume: (r.u8() & 1 == 1).then(|| ResumeToken(read_token(&mut r))),
        };
        let mut ops = Vec::new();
        while !r.is_empty() {
            ops.push(read_op(&mut r));
        }
        Self { config, ops }
    }

    /// The bytes [`Self::parse`] reads back as this script.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.string(&self.config.name);
        w.u8(self.config.inputs_per_message);
        w.u16(self.config.ping_interval_ms);
        w.u8(u8::from(self.config.interpolate));
        match self.config.room {
            RoomRequest::JoinOrCreate => {
                w.u8(0);
                w.u32(0);
            }
            RoomRequest::Join(RoomId(id)) => {
                w.u8(1);
                w.u32(id);
            }
            RoomRequest::Create => {
                w.u8(2);
                w.u32(0);
            }
        }
        w.u8(u8::from(self.config.auth_token.is_some()));
        if let Some(token) = &self.config.auth_token {
            w.string(token);
        }
        w.u8(u8::from(self.config.resume.is_some()));
        if let Some(ResumeToken(token)) = &self.config.resume {
            w.bytes(token);
        }
        for op in &self.ops {
            write_op(&mut w, op);
        }
        w.out
    }
}

fn read_token(r: &mut Reader<'_>) -> [u8; 16] {
    let mut token = [0; 16];
    let bytes = r.bytes(16);
    token[..bytes.len()].copy_from_slice(bytes);
    token
}

fn read_op(r: &mut Reader<'_>) -> Op {
    match r.u8() % 9 {
        0 => {
            let len = r.u16() % MAX_RAW;
            Op::Raw(r.bytes(usize::from(len)).to_vec())
        }
        1 => Op::Advance(r.u16()),
        2 => Op::Input(r.u8(), r.u8()),
        3 => Op::Timeout,
        4 => Op::Interpolate,
        5 => Op::Flush,
        6 => Op::Welcome(Welcome {
            protocol_version: r.u16(),
            player: tickwire_protocol::EntityId(r.u32()),
            tick_rate: r.u16(),
            snapshot_interval_ticks: r.u16(),
            arena_width: r.i32(),
            arena_height: r.i32(),
            view_width: r.i32(),
            view_height: r.i32(),
            tick: r.u32(),
            room: RoomId(r.u32()),
            resume_token: ResumeToken(read_token(r)),
            resume_window_ms: r.u32(),
            resumed: r.u8() & 1 == 1,
        }),
        7 => {
            let advance = r.u16();
            let flags = r.u8();
            let corrupt = (flags & 2 != 0).then(|| (r.u16(), r.u8()));
            Op::Delta(DeltaOp {
                advance,
                full: flags & 1 != 0,
                corrupt,
                last_input_seq: r.u32(),
                entities: read_entities(r),
            })
        }
        _ => Op::Pong(r.u32()),
    }
}

fn write_op(w: &mut Writer, op: &Op) {
    match op {
        Op::Raw(bytes) => {
            w.u8(0);
            w.u16(u16::try_from(bytes.len()).expect("short chunk"));
            w.bytes(bytes);
        }
        Op::Advance(ms) => {
            w.u8(1);
            w.u16(*ms);
        }
        Op::Input(buttons, aim) => {
            w.u8(2);
            w.u8(*buttons);
            w.u8(*aim);
        }
        Op::Timeout => w.u8(3),
        Op::Interpolate => w.u8(4),
        Op::Flush => w.u8(5),
        Op::Welcome(wl) => {
            w.u8(6);
            w.u16(wl.protocol_version);
            w.u32(wl.player.0);
            w.u16(wl.tick_rate);
            w.u16(wl.snapshot_interval_ticks);
            w.i32(wl.arena_width);
            w.i32(wl.arena_height);
            w.i32(wl.view_width);
            w.i32(wl.view_height);
            w.u32(wl.tick);
            w.u32(wl.room.0);
            w.bytes(&wl.resume_token.0);
            w.u32(wl.resume_window_ms);
            w.u8(u8::from(wl.resumed));
        }
        Op::Delta(d) => {
            w.u8(7);
            w.u16(d.advance);
            w.u8(u8::from(d.full) | if d.corrupt.is_some() { 2 } else { 0 });
            if let Some((at, mask)) = d.corrupt {
                w.u16(at);
                w.u8(mask);
            }
            w.u32(d.last_input_seq);
            write_entities(w, &d.entities);
        }
        Op::Pong(nonce) => {
            w.u8(8);
            w.u32(*nonce);
        }
    }
}
