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

use crate::address::{invite_link, parse_room_id, room_from_address};
use crate::controls::keymap_json;
use crate::game::{Game, JoinOptions};
use crate::reconnect::{Plan, Reconnector};
use crate::render::render_state;
use crate::rooms::room_rows;

/// `tw_join` mode: a new player; any old player's token is forgotten.
pub const JOIN_FRESH: u32 = 0;
/// `tw_join` mode: the player asked to rejoin; take back the old player if
/// its token is still good, else join anew.
pub const JOIN_REJOIN: u32 = 1;
/// `tw_join` mode: the page reconnects on its own after a drop.
pub const JOIN_AUTOMATIC: u32 = 2;

/// The shim's state: one game at a time, the two transfer buffers, and the
/// reconnection policy that outlives the games.
#[derive(Default)]
struct Shell {
    game: Option<Game>,
    input: Vec<u8>,
    output: Vec<u8>,
    reconnect: Reconnector,
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

    fn write_str(&mut self, text: &str) -> u32 {
        self.output.clear();
        self.output.extend_from_slice(text.as_bytes());
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
/// any room with space, or -2 for a new room. `mode` is [`JOIN_FRESH`],
/// [`JOIN_REJOIN`] or [`JOIN_AUTOMATIC`]: the last two take back the player
/// of the last game if its connection dropped recently (the room is then
/// that player's).
#[unsafe(no_mangle)]
pub extern "C" fn tw_join(
    name_len: u32,
    token_len: u32,
    protocol_version: i32,
    room: i64,
    mode: u32,
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
            automatic: mode == JOIN_AUTOMATIC,
        };
        if mode == JOIN_FRESH {
            s.reconnect.forget();
        } else if let Some(offer) = s.reconnect.offer(now_ms) {
            // Kept until the server answers: valid once, spent by a Welcome.
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
        let Shell {
            game,
            input,
            reconnect,
            ..
        } = s;
        let Some(g) = game.as_mut() else { return 0 };
        let result = g.receive(&input[..len], now_ms);
        if g.me().is_some() {
            reconnect.welcomed();
        }
        if result.is_err() { -1 } else { 0 }
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

/// The socket closed with `code`; the reason is in the input buffer
/// (`reason_len` bytes). `jitter` is a random number in `0..1` for the
/// backoff. Writes what to do next (a [`Plan`] as JSON: `{"plan": "retry",
/// "attempt", "delay_ms"}`, `{"plan": "gave_up", "window_ms"}` or
/// `{"plan": "stop"}`) to the output buffer; returns its length.
#[unsafe(no_mangle)]
pub extern "C" fn tw_closed(code: u32, reason_len: u32, now_ms: f64, jitter: f64) -> u32 {
    with_shell(|s| {
        let reason = s.input_str(reason_len);
        let plan = match s.game.as_mut() {
            Some(g) => {
                let code = u16::try_from(code).unwrap_or(1006);
                let kind = g.closed(code, &reason, now_ms);
                let plan =
                    s.reconnect
                        .closed(kind, g.resume_offer(), g.automatic(), now_ms, jitter);
                if let Plan::GaveUp { window_ms } = plan {
                    g.resume_expired(window_ms);
                }
                plan
            }
            None => Plan::Stop,
        };
        s.write_json(&plan)
    })
}

/// Writes where reconnection stands (JSON: `reconnecting`, `attempt`,
/// `deadline_ms`) to the output buffer; returns its length.
#[unsafe(no_mangle)]
pub extern "C" fn tw_reconnect_state() -> u32 {
    with_shell(|s| {
        let state = s.reconnect.state();
        s.write_json(&state)
    })
}

/// The room the page address asks for: the input buffer holds
/// `location.search` (`search_len` bytes) then `location.hash`
/// (`hash_len` bytes). Returns the room id, or -1 for none.
#[unsafe(no_mangle)]
pub extern "C" fn tw_room_from_address(search_len: u32, hash_len: u32) -> i64 {
    with_shell(|s| {
        let search = s.input_str(search_len);
        let hash = s.input_str_at(search_len, hash_len);
        room_from_address(&search, &hash).map_or(-1, i64::from)
    })
}

/// A room id typed by the player (the input buffer, `len` bytes); -1 if it is not one.
#[unsafe(no_mangle)]
pub extern "C" fn tw_parse_room_id(len: u32) -> i64 {
    with_shell(|s| parse_room_id(&s.input_str(len)).map_or(-1, i64::from))
}

/// Writes the invite link to `room` (plain text) to the output buffer; the
/// input buffer holds `location.origin` (`origin_len` bytes). Returns its length.
#[unsafe(no_mangle)]
pub extern "C" fn tw_invite_link(origin_len: u32, room: u32) -> u32 {
    with_shell(|s| {
        let link = invite_link(&s.input_str(origin_len), room);
        s.write_str(&link)
    })
}

/// Turns the body of `GET /rooms` (the input buffer, `len` bytes) into the
/// join screen's list: writes `{"rooms": [...]}` or `{"error": "..."}` (JSON)
/// to the output buffer; returns its length.
#[unsafe(no_mangle)]
pub extern "C" fn tw_room_rows(len: u32) -> u32 {
    with_shell(|s| {
        let answer = match room_rows(&s.input_str(len)) {
            Ok(rooms) => serde_json::json!({ "rooms": rooms }),
            Err(error) => serde_json::json!({ "error": error }),
        };
        s.write_json(&answer)
    })
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
mod tests;
