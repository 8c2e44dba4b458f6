//! The tickwire browser demo: the protocol's sans-IO [`ClientSession`] plus
//! the game-client logic around it, compiled to wasm32 and driven by a small
//! JavaScript shell (`www/`) that owns the canvas, the keyboard and mouse, and
//! the WebSocket.
//!
//! Everything except [`ffi`] is plain Rust with native unit tests:
//!
//! - [`game`]: one connection's game client: a [`ClientSession`], its input
//!   clock, network statistics, leaderboard and connection status.
//! - [`controls`]: keys to buttons, pointer to aim: the input mapping.
//! - [`clock`]: the fixed-rate input clock and time conversions.
//! - [`netstats`]: rolling per-second rates for the network overlay.
//! - [`status`]: connection phases and the words shown when a connection ends.
//! - [`reconnect`]: automatic reconnection after a drop: backoff, resume
//!   token, when to give up.
//! - [`address`]: the room in the page address (`#room=7`) and invite links.
//! - [`rooms`]: the join screen's list of open rooms, from `GET /rooms`.
//! - [`render`]: the per-frame render state handed to the shell as JSON.
//! - [`palette`]: colours derived from entity ids.
//! - [`ffi`]: the raw `extern "C"` exports the shell calls.
//!
//! [`ClientSession`]: tickwire_protocol::session::ClientSession

pub mod address;
pub mod clock;
pub mod controls;
pub mod ffi;
pub mod game;
pub mod netstats;
pub mod palette;
pub mod reconnect;
pub mod render;
pub mod rooms;
pub mod status;
