//! The raw wasm ABI the JavaScript shell calls (`www/js/wasm.js` wraps it).
//!
//! A thin shim over [`Game`]: bytes cross through two buffers in wasm memory.
//! The shell writes names, reasons and received messages into the *input*
//! buffer (`tw_input_buffer(len)` returns where), and reads results from the
//! *output* buffer (`tw_output_ptr()`, with the length each call returns).
//! Low-rate data and the per-frame render state cross as UTF-8 JSON.
//! Times are `performance.now()` milliseconds.
//!
//! No wasm-bindgen: the exports are plain `extern "C"` functions, so the
//! build needs nothing but cargo and the wasm32 target.

// `#[unsafe(no_mangle)]` is the only unsafe here: exported symbols must keep
// their names for the shell to find them. No memory is touched unsafely.
#![allow(unsafe_code)]

use std::cell::RefCell;

use serde::Serialize;

use tickwire_protocol::{RoomId, RoomRequest};

use crate::controls::keymap_json;
use crate::game::{Game, JoinOptions, ResumeOffer};
use crate::render::render_state;

/// The shim's state: one game at a time, the two transfer buffers, and how
/// to take back the player of the last game.
#[derive(Default)]
struct Shell {
    game: Option<Game>,
    input: Vec<u8>,
    output: Vec<u8>,
    resume: Option<ResumeOffer>,
}

thread_local! {
    static SHELL: RefCell<Shell> = RefCell::new(Shell::default());
    static PANIC: RefCell<String> = const { RefCell::new(String::new()) };
}

fn with_shell<R>(f: impl FnOnce(&mut Shell) -> R) -> R {
    SHELL.with_borrow_mut(f)
}

impl Shell {
    fn write_json(&mut self, value: &impl Serialize) -> u32 {
        self.output.clear();
        if serde_json::to_writer(&mut self.output, value).is_err() {
            self.output.clear();
            self.output.extend_from_slice(b"null");
        }
        self.output.len() as u32
    }

    fn input_str(&self, len: u32) -> String {
        self.input_str_at(0, len)
    }

    fn input_str_at(&self, start: u32, len: u32) -> String {
        let start = (start as usize).min(self.input.len());
        let end = start.saturating_add(len as usize).min(self.input.len());
        String::from_utf8_lossy(&self.input[start..end]).into_owned()
    }
}

/// Installs a panic hook that keeps the message for [`tw_panic_message`].
#[unsafe(no_mangle)]
pub extern "C" fn tw_init() {
    std::panic::set_hook(Box::new(|info| {
        let message = info.to_string();
        // A panic inside a borrow cannot re-enter here: PANIC is its own cell.
        PANIC.with_borrow_mut(|p| *p = message);
    }));
}

/// Makes the input buffer `len` bytes long and returns where it starts.
/// The pointer is valid until the next call into the module.
#[unsafe(no_mangle)]
pub extern "C" fn tw_input_buffer(len: u32) -> *mut u8 {
    with_shell(|s| {
        s.input.clear();
        s.input.resize(len as usize, 0);
        s.input.as_mut_ptr()
    })
}

/// Where the output of the last call starts.
/// The pointer is valid until the next call into the module.
#[unsafe(no_mangle)]
pub extern "C" fn tw_output_ptr() -> *const u8 {
    with_shell(|s| s.output.as_ptr())
}

/// Writes the key map (JSON) to the output buffer; returns its length.
#[unsafe(no_mangle)]
pub extern "C" fn tw_keymap() -> u32 {
    with_shell(|s| s.write_json(&keymap_json()))
}

/// Starts a new game, replacing any previous one.
///
/// The input buffer holds the name (`name_len` bytes) followed by a join token
/// (`token_len` bytes; 0 for none). `protocol_version` 0..=65535 overrides the
/// announced version (-1 for the real one). `room` is a room id, or -1 for
/// any room with space, or -2 for a new room. With `resume` = 1 the game takes
/// back the player of the last game if its connection dropped recently (the
/// room is then that player's).
#[unsafe(no_mangle)]
pub extern "C" fn tw_join(
    name_len: u32,
    token_len: u32,
    protocol_version: i32,
    room: i64,
    resume: u32,
    now_ms: f64,
) {
    with_shell(|s| {
        let token = s.input_str_at(name_len, token_len);
        let mut options = JoinOptions {
            name: s.input_str(name_len),
            protocol_version: u16::try_from(protocol_version).ok(),
            room: match room {
                -2 => RoomRequest::Create,
                r => u32::try_from(r).map_or(RoomRequest::JoinOrCreate, |id| {
                    RoomRequest::Join(RoomId(id))
                }),
            },
            auth_token: (!token.is_empty()).then_some(token),
            resume: None,
        };
        // A resume token is valid once: use it or lose it.
        if let Some(offer) = s
            .resume
            .take()
            .filter(|o| resume == 1 && now_ms < o.valid_until_ms)
        {
            options.resume = Some(offer.token);
            options.room = RoomRequest::Join(offer.room);
        }
        s.game = Some(Game::new(options, now_ms));
    });
}

/// The socket opened.
#[unsafe(no_mangle)]
pub extern "C" fn tw_opened() {
    with_shell(|s| {
        if let Some(g) = s.game.as_mut() {
            g.opened();
        }
    });
}

/// Feeds the message in the input buffer (`len` bytes). Returns 0, or -1 when
/// the server broke the protocol and the socket should be closed.
#[unsafe(no_mangle)]
pub extern "C" fn tw_receive(len: u32, now_ms: f64) -> i32 {
    with_shell(|s| {
        let len = (len as usize).min(s.input.len());
        let Shell { game, input, .. } = s;
        match game.as_mut().map(|g| g.receive(&input[..len], now_ms)) {
            Some(Err(_)) => -1,
            _ => 0,
        }
    })
}

/// One animation frame: pushes the inputs due (held `buttons`, pointer offset
/// from the player in px) and runs timers. Returns the inputs pushed.
#[unsafe(no_mangle)]
pub extern "C" fn tw_update(now_ms: f64, buttons: u32, aim_dx: f64, aim_dy: f64) -> u32 {
    with_shell(|s| {
        s.game
            .as_mut()
            .map_or(0, |g| g.update(now_ms, buttons, aim_dx, aim_dy))
    })
}

/// Writes the next message to send into the output buffer and returns its
/// length, or -1 when there is none.
#[unsafe(no_mangle)]
pub extern "C" fn tw_transmit(now_ms: f64) -> i32 {
    with_shell(
        |s| match s.game.as_mut().and_then(|g| g.poll_transmit(now_ms)) {
            Some(bytes) => {
                s.output = bytes;
                s.output.len() as i32
            }
            None => -1,
        },
    )
}

/// Writes the pending events (a JSON array) to the output buffer; returns its length.
#[unsafe(no_mangle)]
pub extern "C" fn tw_events() -> u32 {
    with_shell(|s| {
        let events: Vec<_> = s
            .game
            .as_mut()
            .map(|g| std::iter::from_fn(|| g.poll_event()).collect())
            .unwrap_or_default();
        s.write_json(&events)
    })
}

/// Writes this frame's render state (JSON, `null` before joining) to the
/// output buffer; returns its length.
#[unsafe(no_mangle)]
pub extern "C" fn tw_render(now_ms: f64) -> u32 {
    with_shell(|s| {
        let state = s.game.as_mut().map(|g| render_state(g, now_ms));
        s.write_json(&state)
    })
}

/// The socket closed with `code`; the reason is in the input buffer (`reason_len` bytes).
#[unsafe(no_mangle)]
pub extern "C" fn tw_closed(code: u32, reason_len: u32, now_ms: f64) {
    with_shell(|s| {
        let reason = s.input_str(reason_len);
        if let Some(g) = s.game.as_mut() {
            g.closed(u16::try_from(code).unwrap_or(1006), &reason, now_ms);
            s.resume = g.resume_offer();
        }
    });
}

/// Writes the errors seen so far (a JSON array of strings); returns its length.
#[unsafe(no_mangle)]
pub extern "C" fn tw_errors() -> u32 {
    with_shell(|s| {
        let errors: Vec<String> = s
            .game
            .as_ref()
            .map(|g| g.errors().map(str::to_owned).collect())
            .unwrap_or_default();
        s.write_json(&errors)
    })
}

/// Writes the message of the last panic (empty if none) to the output buffer;
/// returns its length. Usable after a trap: it touches only its own cell.
#[unsafe(no_mangle)]
pub extern "C" fn tw_panic_message() -> u32 {
    let message = PANIC.with_borrow(|p| p.clone());
    // The shell cell may still be borrowed by the call that trapped.
    SHELL.with(|cell| match cell.try_borrow_mut() {
        Ok(mut s) => {
            s.output = message.into_bytes();
            s.output.len() as u32
        }
        Err(_) => 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output() -> Vec<u8> {
        with_shell(|s| s.output.clone())
    }

    fn write_input(bytes: &[u8]) {
        let ptr = tw_input_buffer(bytes.len() as u32);
        with_shell(|s| {
            assert_eq!(s.input.as_ptr(), ptr.cast_const());
            s.input.copy_from_slice(bytes);
        });
    }

    #[test]
    fn the_shim_joins_says_hello_and_reports_a_close() {
        tw_init();
        let n = tw_keymap();
        assert_eq!(n as usize, output().len());
        write_input(b"adasecret");
        tw_join(3, 6, -1, 5, 1, 0.0);
        assert_eq!(
            tw_transmit(0.0),
            -1,
            "nothing goes out before the socket opens"
        );
        tw_opened();
        let len = tw_transmit(1.0);
        assert!(len > 0);
        let hello = tickwire_protocol::codec::decode_client(&output()).expect("a hello");
        let tickwire_protocol::ClientMessage::Hello(hello) = hello else {
            panic!("a hello");
        };
        assert_eq!(hello.name, "ada");
        assert_eq!(hello.auth_token.as_deref(), Some("secret"));
        assert_eq!(hello.room, RoomRequest::Join(RoomId(5)));
        assert_eq!(hello.resume, None, "nothing to resume yet");
        write_input(&[0xff, 0xff, 0xff]);
        assert_eq!(tw_receive(3, 2.0), -1, "garbage is a protocol error");
        write_input(b"");
        tw_closed(1006, 0, 3.0);
        tw_render(3.0);
        let state: serde_json::Value = serde_json::from_slice(&output()).expect("json");
        assert_eq!(state["status"]["phase"], "closed");
        assert_eq!(state["status"]["title"], "Protocol error");
        tw_errors();
        let errors: Vec<String> = serde_json::from_slice(&output()).expect("json");
        assert_eq!(errors.len(), 1);
        tw_events();
        let events: serde_json::Value = serde_json::from_slice(&output()).expect("json");
        assert_eq!(events[0]["type"], "error");
    }

    fn hello() -> tickwire_protocol::message::Hello {
        match tickwire_protocol::codec::decode_client(&output()) {
            Ok(tickwire_protocol::ClientMessage::Hello(h)) => h,
            other => panic!("expected a hello: {other:?}"),
        }
    }

    #[test]
    fn rejoining_after_a_drop_takes_the_player_back_once() {
        use tickwire_protocol::message::{ServerMessage, Welcome};
        use tickwire_protocol::{EntityId, PROTOCOL_VERSION, ResumeToken};
        write_input(b"bob");
        tw_join(3, 0, -1, -1, 1, 0.0);
        tw_opened();
        assert!(tw_transmit(0.0) > 0);
        assert_eq!(hello().room, RoomRequest::JoinOrCreate);
        let welcome = ServerMessage::Welcome(Welcome {
            protocol_version: PROTOCOL_VERSION,
            player: EntityId(5),
            tick_rate: 60,
            snapshot_interval_ticks: 3,
            arena_width: 1000,
            arena_height: 1000,
            view_width: 500,
            view_height: 500,
            tick: 1,
            room: RoomId(2),
            resume_token: ResumeToken([3; 16]),
            resume_window_ms: 5000,
            resumed: false,
        });
        let mut bytes = Vec::new();
        tickwire_protocol::codec::encode_server(&welcome, &mut bytes).expect("encodes");
        write_input(&bytes);
        assert_eq!(tw_receive(bytes.len() as u32, 10.0), 0);
        write_input(b"");
        tw_closed(1006, 0, 100.0);
        write_input(b"bob");
        tw_join(3, 0, -1, -1, 1, 2000.0);
        tw_opened();
        assert!(tw_transmit(2000.0) > 0);
        let h = hello();
        assert_eq!(h.resume, Some(ResumeToken([3; 16])));
        assert_eq!(h.room, RoomRequest::Join(RoomId(2)));
        // Used once: the next join is a fresh one.
        write_input(b"bob");
        tw_join(3, 0, -1, -2, 1, 2100.0);
        tw_opened();
        assert!(tw_transmit(2100.0) > 0);
        let h = hello();
        assert_eq!((h.resume, h.room), (None, RoomRequest::Create));
    }
}
