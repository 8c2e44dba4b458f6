//! The tickwire wire protocol, shared by the server and every client.
//!
//! No I/O, no async runtime and no clock: time is always a parameter, so the
//! same code runs in the server, in native bots and in the browser (wasm32).
//!
//! - [`message`]: every message on the wire, both directions.
//! - [`codec`]: encodes and decodes messages (the only user of bincode), with size limits.
//! - [`delta`]: per-client delta compression of views, with checksums.
//! - [`view`]: a client's view of the world and its checksum.
//! - [`entity`], [`input`]: what is replicated and what players send.
//! - [`sim`], [`tuning`]: the deterministic movement simulation and game constants.
//! - [`session`]: the sans-IO client session (handshake, deltas, acks, prediction, interpolation).
//! - [`bits`]: the bit packing under the delta format.

pub mod bits;
pub mod codec;
pub mod delta;
pub mod entity;
pub mod input;
pub mod message;
pub mod session;
pub mod sim;
pub mod tuning;
pub mod view;

pub use entity::{EntityId, EntityKind, EntityState};
pub use input::InputFrame;
pub use message::{
    ClientMessage, PROTOCOL_VERSION, ResumeToken, RoomId, RoomRequest, ServerMessage,
};
pub use view::View;
