//! Encodes each snapshot into this client's delta: its area of interest,
//! against the last view written to its socket.
//!
//! That baseline is kept as the snapshot it was cut from (shared by every
//! session) and the indices of the view's entities in it, not as a copy of
//! the view: four bytes per entity instead of an entry, and the entries read
//! while encoding are the snapshot's, which the phase's other sessions read
//! too. Memory is what limits this machine (see bench/README.md), so each
//! session keeps as little of its own as it can.

use std::cell::RefCell;
use std::sync::Arc;

use axum::body::Bytes;
use tickwire_protocol::EntityId;
use tickwire_protocol::codec;
use tickwire_protocol::delta::{BaselineView, DeltaEncoder, DeltaProfile, SharedView};
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

/// What a delta was encoded against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaselineKind {
    /// The previous snapshot of this session's phase: its entities' records
    /// were shared, encoded once for every session of the phase.
    Phase,
    /// Another snapshot (one skipped, or a phase moved): encoded for this client alone.
    Other,
    /// No baseline: a full snapshot.
    None,
}

impl BaselineKind {
    /// Every kind, in the order of [`BaselineKind::index`].
    pub const ALL: [BaselineKind; 3] = [Self::Phase, Self::Other, Self::None];

    /// The kind's position in [`BaselineKind::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The kind as a metric label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Phase => "phase",
            Self::Other => "other",
            Self::None => "none",
        }
    }
}

/// One encoded delta, ready to write.
#[derive(Debug)]
pub struct Written {
    /// The `Delta` message.
    pub bytes: Bytes,
    /// What it carries.
    pub profile: DeltaProfile,
    /// The last input of this player that the snapshot reflects.
    pub last_input_seq: u32,
    /// What it was encoded against.
    pub baseline: BaselineKind,
}

/// How a session holds its baseline view.
#[derive(Debug)]
enum Held {
    /// The entries of a snapshot at these indices, with the player's own
    /// entry (which differs from the snapshot's) at its position in the view.
    Picked {
        entities: Arc<Vec<ViewEntry>>,
        indices: Vec<u32>,
        own: Option<(usize, ViewEntry)>,
    },
    /// A copy: what a session keeps while it writes nothing, so that it does
    /// not keep an old snapshot alive.
    Copied(Vec<ViewEntry>),
}

impl Held {
    fn view(&self) -> BaselineView<'_> {
        match self {
            Self::Picked {
                entities,
                indices,
                own,
            } => BaselineView::Picked {
                entities,
                indices,
                own: own.as_ref().map(|(at, entry)| (*at, entry)),
            },
            Self::Copied(entries) => BaselineView::Entries(entries),
        }
    }
}

/// Per-client delta state: the baseline view (the last written), and who and
/// how far this client sees. Encoding buffers are per thread, not per client.
#[derive(Debug)]
pub struct DeltaWriter {
    player: EntityId,
    half_view: (i32, i32),
    /// Tick of `baseline`; `None` when the next delta must be a full snapshot.
    baseline_tick: Option<u32>,
    baseline: Held,
}

impl DeltaWriter {
    /// A writer for `player` with a view of `view` (width, height) units.
    pub fn new(player: EntityId, view: (i32, i32)) -> Self {
        Self {
            player,
            half_view: (view.0 / 2, view.1 / 2),
            baseline_tick: None,
            baseline: Held::Copied(Vec::new()),
        }
    }

    /// Copies the baseline out of the snapshot it was cut from, so that this
    /// writer no longer keeps that snapshot alive (for a session that stops
    /// writing for a while). Cheap when already done.
    pub fn detach(&mut self) {
        if let Held::Picked { .. } = self.baseline {
            let view = self.baseline.view();
            let copy = (0..view.len())
                .filter_map(|i| view.get(i).copied())
                .collect();
            self.baseline = Held::Copied(copy);
        }
    }

    /// Forgets the baseline: the next delta is a full snapshot.
    pub fn reset(&mut self) {
        self.baseline_tick = None;
    }

    /// The encoded `Delta` message for `snap`, which becomes the new baseline,
    /// with what it carries. `None` if the player is not in the snapshot (yet).
    pub fn write(&mut self, snap: &Snapshot) -> Option<Written> {
        SCRATCH.with_borrow_mut(|s| {
            let of = snap.view_for(self.player, self.half_view, &mut s.view, &mut s.indices)?;
            let baseline = self.baseline_tick.map(|t| (t, self.baseline.view()));
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
            let kind = match (enc.baseline_age, enc.shared_changes) {
                (0, _) => BaselineKind::None,
                (_, true) => BaselineKind::Phase,
                (_, false) => BaselineKind::Other,
            };
            s.payload.clear();
            s.payload.extend_from_slice(enc.payload);
            let msg = ServerMessage::Delta(Delta {
                tick: snap.tick,
                baseline_age: enc.baseline_age,
                last_input_seq: of.last_input_seq,
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
            let own = of.own.map(|at| (at, s.view[at]));
            self.keep_baseline(snap, &s.indices, own);
            Some(Written {
                bytes,
                profile,
                last_input_seq: of.last_input_seq,
                baseline: kind,
            })
        })
    }

    /// Keeps the view cut from `snap` at `indices`, with the player's own
    /// entry `own` (and its place), as the baseline, its indices in a buffer
    /// whose capacity stays close to its length: between snapshots a session
    /// holds nothing else of its view.
    fn keep_baseline(&mut self, snap: &Snapshot, indices: &[u32], own: Option<(usize, ViewEntry)>) {
        let mut kept = match std::mem::replace(&mut self.baseline, Held::Copied(Vec::new())) {
            Held::Picked { indices, .. } => indices,
            Held::Copied(_) => Vec::new(),
        };
        let n = indices.len();
        let fit = n + n / 8 + 4;
        if kept.capacity() > 2 * fit {
            kept = Vec::new();
        }
        kept.clear();
        if kept.capacity() < n {
            kept.reserve_exact(fit);
        }
        kept.extend_from_slice(indices);
        self.baseline = Held::Picked {
            entities: snap.entities.clone(),
            indices: kept,
            own,
        };
        self.baseline_tick = Some(snap.tick);
    }

    /// Bytes of its own the baseline holds (its buffer's capacity).
    #[cfg(test)]
    fn held_bytes(&self) -> usize {
        match &self.baseline {
            Held::Picked { indices, .. } => indices.capacity() * std::mem::size_of::<u32>(),
            Held::Copied(entries) => entries.capacity() * std::mem::size_of::<ViewEntry>(),
        }
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
    /// the baseline a session keeps stays close to its view's size, and each
    /// delta says what it was encoded against.
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
            // writer's baseline but writer 0's just after its reset and
            // writer 1's just after it skipped one.
            let snap = world.snapshot(None, previous.take());
            previous = Some((snap.tick, snap.entities.clone()));
            if tick == 60 {
                writers[0].reset();
            }
            for (i, writer) in writers.iter_mut().enumerate() {
                if i == 1 && tick == 30 {
                    // Writer 1 skips a snapshot, as a late session does.
                    continue;
                }
                if i == 2 && tick % 10 == 5 {
                    // Writer 2 now and then copies its baseline out, as a
                    // session that withholds deltas does.
                    writer.detach();
                }
                let written = writer.write(&snap).expect("player in snapshot");
                let expected_kind = if tick == 0 || (tick == 60 && i == 0) {
                    BaselineKind::None
                } else if i == 1 && tick == 31 {
                    BaselineKind::Other
                } else {
                    BaselineKind::Phase
                };
                assert_eq!(written.baseline, expected_kind, "writer {i} at tick {tick}");
                let bytes = written.bytes;
                let ServerMessage::Delta(delta) = codec::decode_server(&bytes).expect("decodes")
                else {
                    panic!("not a delta");
                };
                assert_eq!(delta.baseline_age == 0, tick == 0 || (tick == 60 && i == 0));
                let (view, _) = apply_delta(&clients[i], &delta, &mut names).expect("applies");
                snap.view_for(players[i].1, half, &mut expected, &mut indices);
                assert_eq!(view.entities, expected);
                let n = expected.len();
                assert!(writer.held_bytes() <= 2 * (n + n / 8 + 4) * 4);
                clients[i] = view;
            }
            // Every writer's baseline keeps this snapshot's entities alive,
            // until it copies its baseline out.
            let held = Arc::strong_count(&snap.entities);
            writers[3].detach();
            assert_eq!(Arc::strong_count(&snap.entities), held - 1);
        }
    }
}
