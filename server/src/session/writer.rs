//! Encodes each snapshot into this client's delta: its area of interest,
//! against the last view written to its socket.

use axum::body::Bytes;
use tickwire_protocol::EntityId;
use tickwire_protocol::codec;
use tickwire_protocol::delta::{DeltaEncoder, DeltaProfile};
use tickwire_protocol::message::{Delta, ServerMessage};
use tickwire_protocol::view::ViewEntry;

use crate::room::Snapshot;

/// Per-client delta state: the baseline view, the encoder's reusable buffers,
/// and the view being built.
#[derive(Debug)]
pub struct DeltaWriter {
    player: EntityId,
    half_view: (i32, i32),
    encoder: DeltaEncoder,
    baseline: Option<(u32, Vec<ViewEntry>)>,
    current: Vec<ViewEntry>,
    scratch: Vec<u32>,
}

impl DeltaWriter {
    /// A writer for `player` with a view of `view` (width, height) units.
    pub fn new(player: EntityId, view: (i32, i32)) -> Self {
        Self {
            player,
            half_view: (view.0 / 2, view.1 / 2),
            encoder: DeltaEncoder::new(),
            baseline: None,
            current: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Forgets the baseline: the next delta is a full snapshot.
    pub fn reset(&mut self) {
        self.baseline = None;
    }

    /// The encoded `Delta` message for `snap`, which becomes the new baseline,
    /// with what it carries. `None` if the player is not in the snapshot (yet).
    /// Also returns the last input of this player that the snapshot reflects.
    pub fn write(&mut self, snap: &Snapshot) -> Option<(Bytes, DeltaProfile, u32)> {
        // Between snapshots a session holds only its baseline: the next view is
        // allocated once, sized from the last, and the old baseline is freed.
        // That halves view memory per idle player for one allocation per delta.
        let expected = self.baseline.as_ref().map_or(0, |(_, v)| v.len());
        self.current = Vec::with_capacity(expected + expected / 8 + 4);
        let last_input_seq = snap.view_for(
            self.player,
            self.half_view,
            &mut self.current,
            &mut self.scratch,
        )?;
        let baseline = self.baseline.as_ref().map(|(t, v)| (*t, v.as_slice()));
        let enc = self
            .encoder
            .encode(baseline, snap.tick, &self.current, |id| snap.name_of(id));
        let profile = enc.profile;
        let delta = Delta {
            tick: snap.tick,
            baseline_age: enc.baseline_age,
            last_input_seq,
            payload: enc.payload.to_vec(),
        };
        let mut buf = Vec::with_capacity(delta.payload.len() + 16);
        codec::encode_server(&ServerMessage::Delta(delta), &mut buf).ok()?;
        self.baseline = Some((snap.tick, std::mem::take(&mut self.current)));
        Some((Bytes::from(buf), profile, last_input_seq))
    }
}
