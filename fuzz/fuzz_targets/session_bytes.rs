//! `session::ClientSession` driven by a script: arbitrary byte chunks and
//! well-formed server messages (deltas from a real encoder against the
//! session's own view, some corrupted), inputs, timers and interpolation on a
//! clock that only moves forward.
//!
//! Never panics (errors from `handle_bytes` are fine); every message the
//! session sends decodes, the first being its `Hello`; inputs are taken only
//! after the `Welcome`; the view stays sorted; render positions are finite.

#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tickwire_protocol::codec;
use tickwire_protocol::delta::{DeltaEncoder, truncate_name};
use tickwire_protocol::entity::EntityId;
use tickwire_protocol::input::InputFrame;
use tickwire_protocol::message::{
    ClientMessage, Delta, Hello, PROTOCOL_VERSION, Ping, ServerMessage,
};
use tickwire_protocol::session::{ClientSession, SessionConfig};
use tickwire_protocol_fuzz::entities::ids_strictly_ascending;
use tickwire_protocol_fuzz::session_input::{DeltaOp, Op, Script};

fuzz_target!(|data: &[u8]| {
    let script = Script::parse(data);
    let mut config = SessionConfig::new(script.config.name.clone());
    config.inputs_per_message = usize::from(script.config.inputs_per_message);
    config.ping_interval = Duration::from_millis(u64::from(script.config.ping_interval_ms));
    config.interpolate = script.config.interpolate;
    config.room = script.config.room;
    config.auth_token = script.config.auth_token.clone();
    config.resume = script.config.resume;

    let mut now = Duration::ZERO;
    let mut session = ClientSession::new(config, now);
    let mut driver = Driver::default();
    match driver.drain(&mut session).first() {
        Some(ClientMessage::Hello(hello)) => {
            assert_eq!(hello.protocol_version, PROTOCOL_VERSION);
            assert_eq!(hello.name, truncate_name(&script.config.name));
            assert_eq!(hello.room, script.config.room);
            assert_eq!(hello.auth_token, script.config.auth_token);
            assert_eq!(hello.resume, script.config.resume);
        }
        None => {
            // A config too big for a Hello (a huge auth token) is refused
            // locally: check that this Hello really exceeds the codec's limit.
            let hello = ClientMessage::Hello(Hello {
                protocol_version: PROTOCOL_VERSION,
                name: truncate_name(&script.config.name).to_owned(),
                room: script.config.room,
                auth_token: script.config.auth_token.clone(),
                resume: script.config.resume,
            });
            let refused = codec::encode_client(&hello, &mut Vec::new());
            assert!(
                matches!(refused, Err(codec::CodecError::TooLarge { .. })),
                "no Hello sent: {refused:?}"
            );
            return;
        }
        other => panic!("the first message is not a Hello: {other:?}"),
    }

    for op in &script.ops {
        match op {
            Op::Raw(bytes) => {
                let _ = session.handle_bytes(bytes, now);
            }
            Op::Advance(ms) => now += Duration::from_millis(u64::from(*ms)),
            Op::Input(buttons, aim) => {
                let welcomed = session.welcome().is_some();
                let seq = session.push_input(InputFrame::new(*buttons, *aim));
                assert_eq!(
                    seq.is_some(),
                    welcomed,
                    "inputs are taken only after Welcome"
                );
            }
            Op::Timeout => session.handle_timeout(now),
            Op::Interpolate => {
                session.interpolate(now, &mut driver.render);
                for e in &driver.render {
                    assert!(e.x.is_finite() && e.y.is_finite(), "render position {e:?}");
                }
            }
            Op::Flush => session.flush_inputs(),
            Op::Welcome(welcome) => {
                driver.feed(&mut session, ServerMessage::Welcome(welcome.clone()), now);
            }
            Op::Delta(op) => {
                let delta = driver.encode_delta(&session, op);
                driver.feed(&mut session, ServerMessage::Delta(delta), now);
            }
            Op::Pong(nonce) => {
                let nonce = driver.last_ping.unwrap_or(*nonce);
                driver.feed(&mut session, ServerMessage::Pong(Ping { nonce }), now);
            }
        }
        driver.drain(&mut session);
        assert!(ids_strictly_ascending(&session.view().entities));
        let _ = (session.poll_timeout(), session.rtt_ms(), session.desyncs());
        if let Some(p) = session.predictor() {
            let _ = (p.render_position(), p.pending_inputs(), p.corrections());
        }
        if let Some(i) = session.interpolator() {
            let _ = i.delay_ms();
        }
    }
});

/// The fuzz target's side of the connection.
#[derive(Default)]
struct Driver {
    encoder: DeltaEncoder,
    last_ping: Option<u32>,
    render: Vec<tickwire_protocol::session::RenderEntity>,
}

impl Driver {
    /// Takes every message and event the session has queued; every message must decode.
    fn drain(&mut self, session: &mut ClientSession) -> Vec<ClientMessage> {
        let mut sent = Vec::new();
        while let Some(bytes) = session.poll_transmit() {
            let msg = codec::decode_client(&bytes).unwrap_or_else(|err| {
                panic!("the session sent an undecodable message {bytes:02x?}: {err}")
            });
            if let ClientMessage::Ping(ping) = &msg {
                self.last_ping = Some(ping.nonce);
            }
            sent.push(msg);
        }
        while session.poll_event().is_some() {}
        sent
    }

    fn feed(&mut self, session: &mut ClientSession, msg: ServerMessage, now: Duration) {
        let mut bytes = Vec::new();
        codec::encode_server(&msg, &mut bytes).expect("a small server message encodes");
        let _ = session.handle_bytes(&bytes, now);
    }

    /// A delta to `op.entities` against the session's view, as a server would encode it.
    fn encode_delta(&mut self, session: &ClientSession, op: &DeltaOp) -> Delta {
        let held = session.view();
        let tick = held.tick.wrapping_add(u32::from(op.advance));
        let baseline =
            (!op.full && held.tick != 0).then_some((held.tick, held.entities.as_slice()));
        let enc = self.encoder.encode(baseline, tick, &op.entities, name_for);
        let mut payload = enc.payload.to_vec();
        if let Some((at, mask)) = op.corrupt
            && !payload.is_empty()
        {
            let i = usize::from(at) % payload.len();
            payload[i] ^= mask;
        }
        Delta {
            tick,
            baseline_age: enc.baseline_age,
            last_input_seq: op.last_input_seq,
            payload,
        }
    }
}

fn name_for(id: EntityId) -> Option<&'static str> {
    const NAMES: [&str; 4] = [
        "ada",
        "Grace Hopper!!!!",
        "zoë",
        "a name longer than sixteen bytes",
    ];
    Some(NAMES[id.0 as usize % NAMES.len()])
}
