//! Encodes each snapshot into this client's delta: its area of interest,
//! against the last view written to its socket.

use std::cell::RefCell;

use axum::body::Bytes;
use tickwire_protocol::EntityId;
use tickwire_protocol::codec;
use tickwire_protocol::delta::{DeltaEncoder, DeltaProfile, SharedView};
use tickwire_protocol::message::{Delta, ServerMessage};
use tickwire_protocol::view::ViewEntry;
use tokio_util::bytes::BytesMut;

use crate::room::Snapshot;

/// Bytes of each block that encoded messages are cut from. A block is reused
/// in place once every message cut from it has been written (dropped), so a
/// thread allocates a new one only while older messages are still in flight.
const OUT_BLOCK_BYTES: usize = 16 * 1024;

thread_local! {
    /// Buffers for encoding, one set per thread: they live only while a delta
    /// is encoded, so an idle session holds none of them.
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// What encoding one delta needs and nothing keeps afterwards.
#[derive(Default)]
struct Scratch {
    encoder: DeltaEncoder,
    /// The view being encoded.
    view: Vec<ViewEntry>,
    /// The index in the snapshot of each entity of `view`.
    indices: Vec<u32>,
    /// The payload, owned as the `Delta` message wants it (given back after encoding).
    payload: Vec<u8>,
    /// The encoded message.
    message: Vec<u8>,
    /// The block the message is copied into and cut from as `Bytes`.
    out: BytesMut,
}

/// Per-client delta state: the baseline view (the last written), and who and
/// how far this client sees. Encoding buffers are per thread, not per client.
#[derive(Debug)]
pub struct DeltaWriter {
    player: EntityId,
    half_view: (i32, i32),
    /// Tick of `baseline`; `None` when the next delta must be a full snapshot.
    baseline_tick: Option<u32>,
    baseline: Vec<ViewEntry>,
}

impl DeltaWriter {
    /// A writer for `player` with a view of `view` (width, height) units.
    pub fn new(player: EntityId, view: (i32, i32)) -> Self {
        Self {
            player,
            half_view: (view.0 / 2, view.1 / 2),
            baseline_tick: None,
            baseline: Vec::new(),
        }
    }

    /// Forgets the baseline: the next delta is a full snapshot.
    pub fn reset(&mut self) {
        self.baseline_tick = None;
    }

    /// The encoded `Delta` message for `snap`, which becomes the new baseline,
    /// with what it carries. `None` if the player is not in the snapshot (yet).
    /// Also returns the last input of this player that the snapshot reflects.
    pub fn write(&mut self, snap: &Snapshot) -> Option<(Bytes, DeltaProfile, u32)> {
        SCRATCH.with_borrow_mut(|s| {
            let last_input_seq =
                snap.view_for(self.player, self.half_view, &mut s.view, &mut s.indices)?;
            let baseline = self.baseline_tick.map(|t| (t, self.baseline.as_slice()));
            let shared = SharedView {
                records: snap.records(),
                indices: &s.indices,
                own: self.player,
            };
            let enc = s.encoder.encode_shared(
                baseline,
                snap.tick,
                &s.view,
                |id| snap.name_of(id),
                Some(shared),
            );
            let profile = enc.profile;
            s.payload.clear();
            s.payload.extend_from_slice(enc.payload);
            let msg = ServerMessage::Delta(Delta {
                tick: snap.tick,
                baseline_age: enc.baseline_age,
                last_input_seq,
                payload: std::mem::take(&mut s.payload),
            });
            s.message.clear();
            let encoded = codec::encode_server(&msg, &mut s.message);
            if let ServerMessage::Delta(delta) = msg {
                s.payload = delta.payload;
            }
            encoded.ok()?;
            if s.out.capacity() < s.message.len() {
                s.out.reserve(s.message.len().max(OUT_BLOCK_BYTES));
            }
            s.out.extend_from_slice(&s.message);
            let bytes = s.out.split().freeze();
            self.keep_baseline(snap.tick, &s.view);
            Some((bytes, profile, last_input_seq))
        })
    }

    /// Copies `view` into the baseline, keeping its capacity close to its
    /// length: between snapshots a session holds nothing else of its view.
    fn keep_baseline(&mut self, tick: u32, view: &[ViewEntry]) {
        let n = view.len();
        let fit = n + n / 8 + 4;
        if self.baseline.capacity() > 2 * fit {
            self.baseline = Vec::new();
        }
        self.baseline.clear();
        if self.baseline.capacity() < n {
            self.baseline.reserve_exact(fit);
        }
        self.baseline.extend_from_slice(view);
        self.baseline_tick = Some(tick);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};
    use tickwire_protocol::delta::apply_delta;
    use tickwire_protocol::sim::Arena;
    use tickwire_protocol::view::View;
    use tickwire_protocol::{InputFrame, ResumeToken};

    use crate::room::World;

    /// Deltas of a busy world, applied as a client would, rebuild exactly the
    /// view the server sees (the client checks each delta's checksum too),
    /// and the baseline a session keeps stays close to its view's size.
    #[test]
    fn deltas_rebuild_the_view_and_the_baseline_stays_small() {
        let arena = Arena {
            width: 40_000,
            height: 40_000,
        };
        let mut world = World::new(arena, 200, 8, 3);
        let mut rng = SmallRng::seed_from_u64(5);
        let players: Vec<_> = (0..60)
            .map(|i| world.add_player(format!("p{i}").into(), ResumeToken([i; 16])))
            .collect();
        let half = (12_000, 8_000);
        let mut writers: Vec<_> = players
            .iter()
            .map(|&(_, id)| DeltaWriter::new(id, (2 * half.0, 2 * half.1)))
            .collect();
        let mut clients = vec![View::default(); players.len()];
        let mut names = Vec::new();
        let (mut expected, mut indices) = (Vec::new(), Vec::new());
        let mut previous = None;
        for tick in 0..120u32 {
            for &(key, _) in &players {
                let frame = InputFrame {
                    buttons: rng.random_range(0..64),
                    aim: rng.random(),
                };
                world.queue_inputs(key, tick + 1, &[frame]);
            }
            world.step();
            // Shared records against the previous snapshot, which is every
            // writer's baseline but writer 0's just after its reset.
            let snap = world.snapshot(None, previous.take());
            previous = Some((snap.tick, snap.entities.clone()));
            if tick == 60 {
                writers[0].reset();
            }
            for (i, writer) in writers.iter_mut().enumerate() {
                let (bytes, _, _) = writer.write(&snap).expect("player in snapshot");
                let ServerMessage::Delta(delta) = codec::decode_server(&bytes).expect("decodes")
                else {
                    panic!("not a delta");
                };
                assert_eq!(delta.baseline_age == 0, tick == 0 || (tick == 60 && i == 0));
                let (view, _) = apply_delta(&clients[i], &delta, &mut names).expect("applies");
                snap.view_for(players[i].1, half, &mut expected, &mut indices);
                assert_eq!(view.entities, expected);
                let n = expected.len();
                assert!(writer.baseline.capacity() <= 2 * (n + n / 8 + 4));
                clients[i] = view;
            }
        }
    }
}
