//! The `apply_delta` target's input: a raw delta against a baseline, or a
//! pair of views to round-trip through the encoder.
//!
//! Format: one mode byte (even: [`RawCase`], odd: [`RoundTripCase`]), then the case.

use std::collections::BTreeMap;

use tickwire_protocol::entity::{EntityId, EntityState};
use tickwire_protocol::message::Delta;
use tickwire_protocol::view::{View, ViewEntry};

use crate::bytes::{Reader, Writer};
use crate::entities::{
    SANE_MAX_AGE, SANE_VELOCITY, read_entities, read_state, sane, write_entities, write_state,
};

/// Longest entering player name read, bytes (longer than the protocol's 16, to test cutting).
pub const MAX_FUZZ_NAME: u8 = 24;

/// One input of the `apply_delta` target.
#[derive(Debug, Clone)]
pub enum DeltaCase {
    /// Arbitrary payload bytes against an arbitrary baseline.
    Raw(RawCase),
    /// Two related sane views, encoded then applied.
    RoundTrip(RoundTripCase),
}

impl DeltaCase {
    /// Reads a case; every byte string is one.
    pub fn parse(data: &[u8]) -> Self {
        let mut r = Reader::new(data);
        if r.u8() & 1 == 0 {
            Self::Raw(RawCase::read(&mut r))
        } else {
            Self::RoundTrip(RoundTripCase::read(&mut r))
        }
    }

    /// The bytes [`Self::parse`] reads back as this case.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            Self::Raw(c) => {
                w.u8(0);
                c.write(&mut w);
            }
            Self::RoundTrip(c) => {
                w.u8(1);
                c.write(&mut w);
            }
        }
        w.out
    }
}

/// A baseline (any values, ids ascending) and a delta with an arbitrary payload.
///
/// Format: baseline tick u32, entities ([`read_entities`]), delta tick u32,
/// baseline age u16, last input seq u32, then the payload (the rest).
#[derive(Debug, Clone)]
pub struct RawCase {
    /// The view the client holds.
    pub baseline: View,
    /// The delta to apply.
    pub delta: Delta,
}

impl RawCase {
    fn read(r: &mut Reader<'_>) -> Self {
        let tick = r.u32();
        let entities = read_entities(r);
        let baseline = View { tick, entities };
        let delta = Delta {
            tick: r.u32(),
            baseline_age: r.u16(),
            last_input_seq: r.u32(),
            payload: r.rest().to_vec(),
        };
        Self { baseline, delta }
    }

    fn write(&self, w: &mut Writer) {
        w.u32(self.baseline.tick);
        write_entities(w, &self.baseline.entities);
        w.u32(self.delta.tick);
        w.u16(self.delta.baseline_age);
        w.u32(self.delta.last_input_seq);
        w.bytes(&self.delta.payload);
    }
}

/// What happens to one entity of view A on its way to view B.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Moves at its velocity (costs nothing in a delta).
    Coast,
    /// Leaves the view.
    Leave,
    /// Moves at its velocity, then by this much more.
    Nudge(i16, i16),
    /// Everything but its kind changes (the new state is folded into the sane ranges).
    Replace(EntityState),
    /// Stays where it was although it has a velocity.
    StandStill,
    /// Coasts, and one field (selector modulo 8) takes a new value.
    Tweak(u8, u32),
}

impl Change {
    fn read(r: &mut Reader<'_>) -> Self {
        match r.u8() % 6 {
            0 => Self::Coast,
            1 => Self::Leave,
            2 => Self::Nudge(r.i16(), r.i16()),
            3 => Self::Replace(sane(read_state(r))),
            4 => Self::StandStill,
            _ => Self::Tweak(r.u8(), r.u32()),
        }
    }

    fn write(&self, w: &mut Writer) {
        match *self {
            Self::Coast => w.u8(0),
            Self::Leave => w.u8(1),
            Self::Nudge(dx, dy) => {
                w.u8(2);
                w.i16(dx);
                w.i16(dy);
            }
            Self::Replace(s) => {
                w.u8(3);
                write_state(w, &s);
            }
            Self::StandStill => w.u8(4),
            Self::Tweak(field, value) => {
                w.u8(5);
                w.u8(field);
                w.u32(value);
            }
        }
    }

    /// The state after the change, `age` ticks later; `None` if it left.
    fn apply(&self, s: EntityState, age: u16) -> Option<EntityState> {
        let t = i32::from(age);
        // Sane states: |x| < 2^24 and |vx × age| < 2^30, so this cannot overflow.
        let coasted = EntityState {
            x: s.x + s.vx * t,
            y: s.y + s.vy * t,
            ..s
        };
        Some(match *self {
            Self::Coast => coasted,
            Self::Leave => return None,
            Self::Nudge(dx, dy) => EntityState {
                x: coasted.x + i32::from(dx),
                y: coasted.y + i32::from(dy),
                ..coasted
            },
            Self::Replace(new) => EntityState {
                kind: s.kind,
                ..new
            },
            Self::StandStill => s,
            Self::Tweak(field, v) => {
                let mut c = coasted;
                match field % 8 {
                    0 => c.health = v as u8,
                    1 => c.score = v,
                    2 => c.aim = v as u8,
                    3 => c.dash_cooldown = v as u8,
                    4 => c.respawn_tick = v,
                    5 => c.owner = EntityId(v),
                    6 => c.vx = v as i32 % SANE_VELOCITY,
                    _ => c.vy = v as i32 % SANE_VELOCITY,
                }
                c
            }
        })
    }
}

/// An entity entering the view between A and B.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entering {
    /// Its id (if A holds this id, the entity keeps A's kind: ids are never reused).
    pub id: u32,
    /// Its state, folded into the sane ranges.
    pub state: EntityState,
    /// The name the server knows it by (players only), up to [`MAX_FUZZ_NAME`] bytes.
    pub name: String,
}

/// View A at `base_tick`, and how it becomes view B at `base_tick + age`.
///
/// Format: base tick u32 (0 reads as 1), age u16 (folded into 1..=[`SANE_MAX_AGE`]),
/// A's entities ([`read_entities`], folded into the sane ranges), one
/// [`Change`] per entity of A, then a count byte and that many [`Entering`]
/// (id u32, state, name).
#[derive(Debug, Clone)]
pub struct RoundTripCase {
    /// Tick of view A (never 0: a view at tick 0 is "no snapshot yet").
    pub base_tick: u32,
    /// Ticks from A to B, 1..=[`SANE_MAX_AGE`].
    pub age: u16,
    /// A's entities, ids ascending.
    pub a: Vec<ViewEntry>,
    /// One change per entity of A (missing ones coast).
    pub changes: Vec<Change>,
    /// Entities entering.
    pub entering: Vec<Entering>,
}

impl RoundTripCase {
    fn read(r: &mut Reader<'_>) -> Self {
        let base_tick = r.u32().max(1);
        let age = 1 + r.u16() % SANE_MAX_AGE;
        let a: Vec<_> = read_entities(r)
            .into_iter()
            .map(|(id, s)| (id, sane(s)))
            .collect();
        let changes = a.iter().map(|_| Change::read(r)).collect();
        let n = r.u8();
        let mut entering = Vec::new();
        for _ in 0..n {
            if r.is_empty() {
                break;
            }
            entering.push(Entering {
                id: r.u32(),
                state: sane(read_state(r)),
                name: r.string(MAX_FUZZ_NAME),
            });
        }
        Self {
            base_tick,
            age,
            a,
            changes,
            entering,
        }
    }

    fn write(&self, w: &mut Writer) {
        w.u32(self.base_tick);
        w.u16(self.age - 1);
        write_entities(w, &self.a);
        for i in 0..self.a.len() {
            self.changes.get(i).unwrap_or(&Change::Coast).write(w);
        }
        w.u8(u8::try_from(self.entering.len()).expect("at most 255 entering"));
        for e in &self.entering {
            w.u32(e.id);
            write_state(w, &e.state);
            w.string(&e.name);
        }
    }

    /// View A, view B, and the names of B's entities that are not in A.
    pub fn views(&self) -> (View, View, BTreeMap<EntityId, String>) {
        let mut b: BTreeMap<EntityId, EntityState> = BTreeMap::new();
        let kind_in_a: BTreeMap<EntityId, _> = self.a.iter().map(|(id, s)| (*id, s.kind)).collect();
        for (i, (id, s)) in self.a.iter().enumerate() {
            let change = self.changes.get(i).unwrap_or(&Change::Coast);
            if let Some(next) = change.apply(*s, self.age) {
                b.insert(*id, next);
            }
        }
        let mut names = BTreeMap::new();
        for e in &self.entering {
            let id = EntityId(e.id);
            let mut state = e.state;
            match kind_in_a.get(&id) {
                Some(kind) => state.kind = *kind,
                None => {
                    names.insert(id, e.name.clone());
                }
            }
            b.insert(id, state);
        }
        let a = View {
            tick: self.base_tick,
            entities: self.a.clone(),
        };
        let b = View {
            tick: self.base_tick.wrapping_add(u32::from(self.age)),
            entities: b.into_iter().collect(),
        };
        (a, b, names)
    }
}
