//! Round-trip tests: every delta applied to its baseline reproduces the encoder's view.

use std::rc::Rc;

use super::*;
use crate::entity::{EntityId, EntityKind, EntityState};
use crate::message::Delta;
use crate::view::{View, ViewEntry};

/// A small deterministic generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn range(&mut self, lo: i32, hi: i32) -> i32 {
        lo + self.below((hi - lo) as u64 + 1) as i32
    }
}

fn random_entity(rng: &mut Rng) -> EntityState {
    let kind = EntityKind::from_code(rng.below(3) as u8).expect("valid code");
    EntityState {
        kind,
        x: rng.range(0, 64_000),
        y: rng.range(0, 64_000),
        vx: rng.range(-300, 300),
        vy: rng.range(-300, 300),
        health: rng.below(101) as u8,
        score: rng.below(1000) as u32,
        aim: rng.next() as u8,
        dash_cooldown: rng.below(61) as u8,
        respawn_tick: if rng.below(4) == 0 {
            rng.below(1 << 20) as u32
        } else {
            0
        },
        owner: EntityId(rng.below(5000) as u32),
    }
}

/// Steps a view the way a world might: most entities coast, some change, some leave, some enter.
fn evolve(rng: &mut Rng, view: &[ViewEntry], dt: i32, next_id: &mut u32) -> Vec<ViewEntry> {
    let mut out = Vec::new();
    for (id, s) in view {
        let mut s = *s;
        s.x += s.vx * dt;
        s.y += s.vy * dt;
        match rng.below(10) {
            0 => continue, // leaves
            1 => s.x += rng.range(-40, 40),
            2 => {
                s.vx += rng.range(-30, 30);
                s.x += rng.range(-90, 90);
            }
            3 => {
                s = EntityState {
                    kind: s.kind,
                    ..random_entity(rng)
                }
            }
            4 => s.aim = s.aim.wrapping_add(rng.range(-128, 127) as u8),
            _ => {}
        }
        out.push((*id, s));
    }
    for _ in 0..rng.below(6) {
        *next_id += 1 + rng.below(300) as u32;
        out.push((EntityId(*next_id), random_entity(rng)));
    }
    out
}

fn name_for(id: EntityId) -> Option<&'static str> {
    const NAMES: [&str; 3] = ["ada", "Grace Hopper!!!!", "zoë"];
    Some(NAMES[id.0 as usize % 3])
}

#[test]
fn thousands_of_random_deltas_reproduce_the_server_view() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut encoder = DeltaEncoder::new();
    let mut next_id = 0;
    let mut server = View {
        tick: 1,
        entities: evolve(&mut rng, &[], 0, &mut next_id),
    };
    let mut client = View::default();
    let mut names = Vec::new();
    let mut total = DeltaStats::default();
    for step in 0..5000 {
        // Every so often, a full snapshot instead of a delta.
        let full = step % 500 == 0;
        let baseline = (!full).then_some((client.tick, client.entities.as_slice()));
        let enc = encoder.encode(baseline, server.tick, &server.entities, name_for);
        let delta = Delta {
            tick: server.tick,
            baseline_age: enc.baseline_age,
            last_input_seq: 0,
            payload: enc.payload.to_vec(),
        };
        let expected_stats = enc.stats;
        let (view, stats) = apply_delta(&client, &delta, &mut names).expect("applies");
        assert_eq!(view, server, "step {step}");
        assert_eq!(stats, expected_stats);
        total.entered += stats.entered;
        total.changed += stats.changed;
        total.left += stats.left;
        client = view;
        let dt = 1 + rng.below(4) as i32;
        let mut entities = evolve(&mut rng, &server.entities, dt, &mut next_id);
        entities.sort_by_key(|(id, _)| *id);
        entities.truncate(200);
        server = View {
            tick: server.tick + dt as u32,
            entities,
        };
    }
    assert!(
        total.entered > 1000 && total.changed > 1000 && total.left > 1000,
        "{total:?}"
    );
    for (id, name) in &names {
        assert_eq!(
            Some(name.as_str()),
            name_for(*id).map(crate::delta::encode::truncate_name)
        );
    }
}

#[test]
fn steady_motion_costs_nothing_but_the_header() {
    let moving = |x| EntityState {
        kind: EntityKind::Projectile,
        x,
        y: 500,
        vx: 192,
        vy: -7,
        ..Default::default()
    };
    let base: Vec<ViewEntry> = (0..50)
        .map(|i| (EntityId(i), moving(i as i32 * 100)))
        .collect();
    let now: Vec<ViewEntry> = base
        .iter()
        .map(|(id, s)| {
            (
                *id,
                EntityState {
                    x: s.x + 3 * 192,
                    y: s.y - 21,
                    ..*s
                },
            )
        })
        .collect();
    let mut encoder = DeltaEncoder::new();
    let enc = encoder.encode(Some((10, &base)), 13, &now, |_| None);
    assert_eq!(enc.stats.updates(), 0);
    assert_eq!(enc.stats.coasting, 50);
    assert_eq!(enc.stats.moving_updates(), 50);
    assert!(enc.payload.len() <= 3, "{} bytes", enc.payload.len());
}

#[test]
fn entities_at_rest_are_not_counted_as_moving_updates() {
    let at_rest = |i: u32| {
        (
            EntityId(i),
            EntityState {
                kind: EntityKind::Orb,
                x: i as i32 * 100,
                ..Default::default()
            },
        )
    };
    let view: Vec<ViewEntry> = (0..20).map(at_rest).collect();
    let mut encoder = DeltaEncoder::new();
    let enc = encoder.encode(Some((10, &view)), 13, &view, |_| None);
    assert_eq!(enc.stats, DeltaStats::default());
}

#[test]
fn common_small_changes_cost_a_few_bytes() {
    let still = EntityState {
        kind: EntityKind::Player,
        x: 1000,
        y: 1000,
        vx: 40,
        health: 100,
        ..Default::default()
    };
    let base: Vec<ViewEntry> = (0..100).map(|i| (EntityId(i * 7), still)).collect();
    let cost = |change: &dyn Fn(&mut EntityState)| {
        let mut now: Vec<ViewEntry> = base
            .iter()
            .map(|(id, s)| {
                (
                    *id,
                    EntityState {
                        x: s.x + 3 * s.vx,
                        ..*s
                    },
                )
            })
            .collect();
        for (_, s) in now.iter_mut().step_by(2) {
            change(s);
        }
        let mut encoder = DeltaEncoder::new();
        let enc = encoder.encode(Some((10, &base)), 13, &now, |_| None);
        assert_eq!(enc.stats.changed, 50);
        (enc.payload.len() as f64 - 3.0) / 50.0
    };
    // An aim sweep of two steps.
    let aim = cost(&|s| s.aim = s.aim.wrapping_add(2));
    assert!(aim < 1.25, "{aim} bytes per aim change");
    // Accelerating along x by 3 units per tick for three ticks: the position follows
    // the velocity exactly (trapezoid prediction), so only the velocity is sent.
    let accel = cost(&|s| {
        s.vx += 9;
        s.x += 18;
    });
    assert!(accel < 2.25, "{accel} bytes per acceleration");
    // A velocity change with an off-prediction position (a wall, a dash).
    let bumped = cost(&|s| {
        s.vx -= 5;
        s.x -= 7;
        s.y += 3;
    });
    assert!(bumped < 3.25, "{bumped} bytes per bumped change");
}

#[test]
fn a_wrong_baseline_is_refused() {
    let mut encoder = DeltaEncoder::new();
    let s = EntityState::default();
    let enc = encoder.encode(
        Some((5, &[(EntityId(1), s)])),
        8,
        &[(EntityId(1), s)],
        |_| None,
    );
    let delta = Delta {
        tick: 8,
        baseline_age: enc.baseline_age,
        last_input_seq: 0,
        payload: enc.payload.to_vec(),
    };
    let held = View {
        tick: 6,
        entities: vec![(EntityId(1), s)],
    };
    assert!(matches!(
        apply_delta(&held, &delta, &mut Vec::new()),
        Err(DeltaError::BaselineMismatch { .. })
    ));
}

#[test]
fn a_divergent_baseline_is_detected_by_the_checksum() {
    let mut encoder = DeltaEncoder::new();
    let s = EntityState {
        health: 50,
        ..Default::default()
    };
    let enc = encoder.encode(
        Some((5, &[(EntityId(1), s)])),
        8,
        &[(EntityId(1), s)],
        |_| None,
    );
    let delta = Delta {
        tick: 8,
        baseline_age: enc.baseline_age,
        last_input_seq: 0,
        payload: enc.payload.to_vec(),
    };
    let diverged = View {
        tick: 5,
        entities: vec![(EntityId(1), EntityState { health: 49, ..s })],
    };
    assert!(matches!(
        apply_delta(&diverged, &delta, &mut Vec::new()),
        Err(DeltaError::ChecksumMismatch { .. })
    ));
}

#[test]
fn garbage_payloads_never_panic() {
    let mut rng = Rng(42);
    let base = View {
        tick: 5,
        entities: (0..20)
            .map(|i| (EntityId(i), random_entity(&mut rng)))
            .collect(),
    };
    for len in 0..64 {
        for _ in 0..200 {
            let payload: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let age = rng.below(3) as u16;
            let delta = Delta {
                tick: 5 + u32::from(age),
                baseline_age: age,
                last_input_seq: 0,
                payload,
            };
            let _ = apply_delta(&base, &delta, &mut Vec::new());
        }
    }
}

#[test]
fn an_extrapolation_outside_i32_that_a_residual_brings_back_decodes() {
    let base = EntityState {
        kind: EntityKind::Player,
        x: 2_100_000_000,
        vx: 100_000_000,
        ..Default::default()
    };
    let now = EntityState { vx: 0, ..base };
    let mut encoder = DeltaEncoder::new();
    let enc = encoder.encode(
        Some((1, &[(EntityId(3), base)])),
        2,
        &[(EntityId(3), now)],
        |_| None,
    );
    let delta = Delta {
        tick: 2,
        baseline_age: enc.baseline_age,
        last_input_seq: 0,
        payload: enc.payload.to_vec(),
    };
    let held = View {
        tick: 1,
        entities: vec![(EntityId(3), base)],
    };
    let (view, _) = apply_delta(&held, &delta, &mut Vec::new()).expect("applies");
    assert_eq!(view.entities, vec![(EntityId(3), now)]);
}

/// A viewer's view of a world: every entity within `half` of its own entity,
/// with its dash cooldown visible only to itself, plus each one's index in
/// the world's list.
fn view_of(world: &[ViewEntry], own: EntityId, half: i32) -> (Vec<ViewEntry>, Vec<u32>) {
    let Some(me) = world.iter().find(|(id, _)| *id == own).map(|(_, s)| *s) else {
        return (Vec::new(), Vec::new());
    };
    let mut view = Vec::new();
    let mut indices = Vec::new();
    for (i, (id, s)) in world.iter().enumerate() {
        if (s.x - me.x).abs() <= half && (s.y - me.y).abs() <= half {
            let dash_cooldown = if *id == own { s.dash_cooldown } else { 0 };
            view.push((
                *id,
                EntityState {
                    dash_cooldown,
                    ..*s
                },
            ));
            indices.push(i as u32);
        }
    }
    (view, indices)
}

/// A baseline kept as a server keeps it (see [`BaselineView::Picked`]).
#[derive(Debug, Clone)]
struct Picked {
    tick: u32,
    entities: Rc<Vec<ViewEntry>>,
    indices: Vec<u32>,
    own: Option<(usize, ViewEntry)>,
}

impl Picked {
    fn view(&self) -> BaselineView<'_> {
        BaselineView::Picked {
            entities: &self.entities,
            indices: &self.indices,
            own: self.own.as_ref().map(|(at, e)| (*at, e)),
        }
    }
}

#[test]
fn shared_records_give_each_viewer_the_bits_of_its_own_encoding() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut next_id = 0;
    let mut world = evolve(&mut rng, &[], 0, &mut next_id);
    for _ in 0..40 {
        world.extend(evolve(&mut rng, &[], 0, &mut next_id));
    }
    let viewers: Vec<EntityId> = world.iter().step_by(4).map(|(id, _)| *id).collect();
    // Per viewer: its baseline (tick, view); `None` before its first delta.
    let mut baselines: Vec<Option<(u32, Vec<ViewEntry>)>> = vec![None; viewers.len()];
    // The same baselines as a server keeps them: the snapshot they were cut
    // from, the indices into it, and the viewer's own entry.
    let mut picks: Vec<Option<Picked>> = vec![None; viewers.len()];
    let mut previous: Option<(u32, Rc<Vec<ViewEntry>>)> = None;
    let (mut plain, mut sharing) = (DeltaEncoder::new(), DeltaEncoder::new());
    let (mut copied, mut total) = (0, 0);
    let mut tick = 10;
    for step in 0..60 {
        let world_view: Rc<Vec<ViewEntry>> = world
            .iter()
            .map(|(id, s)| {
                (
                    *id,
                    EntityState {
                        dash_cooldown: 0,
                        ..*s
                    },
                )
            })
            .collect::<Vec<_>>()
            .into();
        let base = previous.as_ref().map(|(t, e)| (*t, e.as_slice()));
        let records = SharedRecords::build(base, tick, &world_view, name_for);
        assert_eq!(records.len(), world.len());
        for (v, &own) in viewers.iter().enumerate() {
            // Now and then a viewer skips a snapshot, or starts over from a full one.
            if rng.below(8) == 0 {
                continue;
            }
            if rng.below(20) == 0 {
                baselines[v] = None;
                picks[v] = None;
            }
            let (view, indices) = view_of(&world, own, 20_000);
            let baseline = baselines[v].as_ref().map(|(t, e)| (*t, e.as_slice()));
            let expected = plain.encode(baseline, tick, &view, name_for);
            let (expected_bytes, expected_stats, expected_profile) =
                (expected.payload.to_vec(), expected.stats, expected.profile);
            let shared = SharedView {
                records: &records,
                indices: &indices,
                own,
            };
            let got = sharing.encode_shared(
                baseline.map(|(t, e)| (t, e.into())),
                tick,
                &view,
                name_for,
                Some(shared),
            );
            assert_eq!(
                got.payload,
                expected_bytes.as_slice(),
                "step {step} viewer {v}"
            );
            assert_eq!(got.stats, expected_stats);
            assert_eq!(got.profile, expected_profile);
            let picked = picks[v].as_ref().map(|p| (p.tick, p.view()));
            let got = sharing.encode_shared(picked, tick, &view, name_for, Some(shared));
            assert_eq!(
                got.payload,
                expected_bytes.as_slice(),
                "picked baseline, step {step} viewer {v}"
            );
            total += 1;
            let against_records = baseline.is_some_and(|(t, _)| Some(t) == records.base_tick());
            assert_eq!(got.shared_changes, against_records);
            copied += usize::from(against_records);
            let mine = view.iter().position(|(id, _)| *id == own);
            picks[v] = Some(Picked {
                tick,
                entities: world_view.clone(),
                indices,
                own: mine.map(|at| (at, view[at])),
            });
            baselines[v] = Some((tick, view));
        }
        previous = Some((tick, world_view));
        let dt = 1 + rng.below(3) as i32;
        tick += dt as u32;
        world = evolve(&mut rng, &world, dt, &mut next_id);
    }
    // Most deltas were against the previous snapshot, so the shared change
    // records were in play, not only the entries.
    assert!(copied * 2 > total, "{copied} of {total}");
}

#[test]
fn records_of_another_tick_are_not_used() {
    let mut rng = Rng(7);
    let mut next_id = 0;
    let world = evolve(&mut rng, &[], 0, &mut next_id);
    let records = SharedRecords::build(None, 5, &world, name_for);
    let indices: Vec<u32> = (0..world.len() as u32).collect();
    let shared = SharedView {
        records: &records,
        indices: &indices,
        own: EntityId(u32::MAX),
    };
    let mut encoder = DeltaEncoder::new();
    let plain = encoder.encode(None, 6, &world, name_for).payload.to_vec();
    // Entry records hold respawn ticks relative to their own tick, so records
    // made for tick 5 would be wrong at tick 6: the encoder must encode itself.
    let got = encoder.encode_shared(None, 6, &world, name_for, Some(shared));
    assert_eq!(got.payload, plain.as_slice());
}
