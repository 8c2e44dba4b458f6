//! Delta compression of a client's view.
//!
//! The server encodes, per client, the difference between the view the client
//! holds (its baseline: over WebSocket's ordered stream, the last view written
//! to its socket) and its current view. The client applies it to its copy of
//! the baseline and checks the result against the checksum the delta carries.
//!
//! # Payload format (bits, most significant first)
//!
//! ```text
//! checksum        16 bits   view::checksum of the resulting view
//! touched         G(2)      count of baseline entries that changed or left
//!   skip          G(0)      baseline entries passed over unchanged before this one
//!   code                    what became of it (prefix code): 00 = aim changed, 01 = position+velocity,
//!                           100 = left the view, 101 = velocity, 110 = position+velocity+aim,
//!                           1110 + 8-bit mask = other, 11110 = velocity+aim, 11111 = position
//!   fields                  (unless it left) the changed fields, against the baseline entry
//! entered         G(2)      count of entities entering the view, by ascending id
//!   id gap        G(4)      id − (previous entered id + 1); the first counts from 0
//!   kind          2 bits    EntityKind code
//!   mask          8 bits    the fields that are not zero
//!   fields                  against a zeroed entity at position (0, 0)
//!   name          G(2) + bytes   players only: UTF-8 name length, then the bytes
//! ```
//! `G(k)` is an exp-Golomb code of order k; signed values are zigzag-mapped
//! first (see [`crate::bits`]). An entry the delta does not touch is unchanged
//! except that it moved at its velocity: its position becomes
//! `position + velocity × (tick − baseline tick)`. So an entity in steady motion
//! costs nothing, and a changed position is sent as its small difference from
//! that extrapolation.
//!
//! Fields, in this order, for the bits of the mask: aim (signed G(1)
//! difference, wrapping; 8 bits on entry), velocity (signed G(3) differences;
//! an entering projectile first sends 1 bit, and 1 means its velocity is the
//! one its aim implies and is not sent), position (x, y: signed G(2) residuals
//! from the prediction below; G(12) absolute on entry), health (8 bits), score
//! (signed G(1) difference), dash cooldown (G(2)), respawn tick (1 bit
//! alive/dead, then G(6) of `respawn_tick − tick`), owner (G(8)).
//!
//! A changed position is predicted from the baseline's velocity `v0` and the
//! new velocity `v1` over `dt` ticks as `p + floor(((v0 + v1)·dt + (v1 − v0)) / 2)`:
//! exact under constant acceleration, and plain `p + v0·dt` when the velocity
//! did not change.

mod apply;
mod baseline;
mod encode;
mod record;
mod shared;

use thiserror::Error;

pub use apply::{apply_delta, apply_delta_into};
pub use baseline::BaselineView;
pub use encode::{DeltaEncoder, DeltaProfile, EncodedDelta, SharedView, truncate_name};
pub use shared::SharedRecords;

use crate::bits::BitError;

/// Counts of what one delta carried, for statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeltaStats {
    /// Entities that entered the view.
    pub entered: u32,
    /// Entities in view whose state changed beyond extrapolation.
    pub changed: u32,
    /// Entities that left the view.
    pub left: u32,
    /// Moving entities in view before and after that the delta moves on at
    /// their velocity without a record (steady motion: no bits beyond the skip
    /// count that passes over them).
    pub coasting: u32,
}

impl DeltaStats {
    /// Entities entering, changing or leaving: the records a delta carries.
    pub fn updates(&self) -> u32 {
        self.entered + self.changed + self.left
    }

    /// Moving-entity updates: the records plus the moving entities brought up
    /// to date by extrapolation alone. The denominator of
    /// `bytes_per_entity_update`, as in Gaffer's bytes per cube, where a cube
    /// whose motion the receiver predicts still counts as updated.
    pub fn moving_updates(&self) -> u32 {
        self.updates() + self.coasting
    }
}

/// Most entities a view may hold; larger counts in a payload are refused unread.
pub const MAX_VIEW_ENTITIES: usize = 1 << 16;

/// A delta that cannot be applied to the view at hand.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DeltaError {
    /// The delta's baseline is not the view the client holds.
    #[error("delta is against tick {expected:?} but the client holds tick {held}")]
    BaselineMismatch {
        /// The baseline tick the delta names.
        expected: Option<u32>,
        /// The tick of the view held.
        held: u32,
    },
    /// The view the delta produced does not match the server's checksum.
    #[error("checksum mismatch: server {server:#06x}, client {client:#06x}")]
    ChecksumMismatch {
        /// Checksum sent by the server.
        server: u16,
        /// Checksum of the view the client computed.
        client: u16,
    },
    /// The payload is truncated or malformed.
    #[error("malformed delta payload: {0}")]
    Malformed(&'static str),
    /// The payload's bit stream ended early or held a bad integer.
    #[error("malformed delta payload: {0}")]
    Bits(#[from] BitError),
}

#[cfg(test)]
mod tests;
