//! `delta::apply_delta` and `DeltaEncoder::encode`.
//!
//! Raw cases: an arbitrary payload against an arbitrary baseline never panics;
//! what applies is a well-formed view; a payload refused only for its checksum
//! applies once the checksum is fixed; and a view that applies re-encodes
//! (when its values are in the sane ranges) to a delta that reproduces it.
//!
//! Round-trip cases: for sane views A (tick t) and B (tick t + k), the delta
//! from A to B and the full snapshot of B both reproduce B exactly, with the
//! names of entering players cut to 16 bytes on a character boundary.

#![no_main]

use std::collections::{BTreeMap, BTreeSet};

use libfuzzer_sys::fuzz_target;
use tickwire_protocol::delta::{DeltaEncoder, DeltaError, DeltaStats, apply_delta, truncate_name};
use tickwire_protocol::entity::{EntityId, EntityKind};
use tickwire_protocol::message::Delta;
use tickwire_protocol::tuning::MAX_NAME_BYTES;
use tickwire_protocol::view::View;
use tickwire_protocol_fuzz::delta_input::{DeltaCase, RawCase, RoundTripCase};
use tickwire_protocol_fuzz::entities::{SANE_MAX_AGE, ids_strictly_ascending, is_sane};

fuzz_target!(|data: &[u8]| match DeltaCase::parse(data) {
    DeltaCase::Raw(case) => raw(&case),
    DeltaCase::RoundTrip(case) => round_trip(&case),
});

fn raw(case: &RawCase) {
    let mut names = Vec::new();
    match apply_delta(&case.baseline, &case.delta, &mut names) {
        Ok((view, stats)) => check_applied(&case.baseline, &case.delta, &view, stats, &names),
        Err(DeltaError::ChecksumMismatch { client, .. }) => {
            let mut fixed = case.delta.clone();
            fixed.payload[..2].copy_from_slice(&client.to_be_bytes());
            names.clear();
            let (view, stats) = apply_delta(&case.baseline, &fixed, &mut names)
                .expect("a payload refused only for its checksum applies once it is fixed");
            check_applied(&case.baseline, &fixed, &view, stats, &names);
        }
        Err(_) => {}
    }
}

/// Checks a view that `delta` produced from `baseline`, then re-encodes it.
fn check_applied(
    baseline: &View,
    delta: &Delta,
    view: &View,
    stats: DeltaStats,
    names: &[(EntityId, String)],
) {
    assert_eq!(view.tick, delta.tick);
    assert!(ids_strictly_ascending(&view.entities), "ids out of order");
    assert_eq!(
        view.checksum(),
        u16::from_be_bytes([delta.payload[0], delta.payload[1]])
    );
    let base = if delta.baseline_age == 0 {
        &[][..]
    } else {
        &baseline.entities[..]
    };
    assert!(stats.changed as usize + stats.left as usize <= base.len());
    assert_eq!(
        view.entities.len(),
        base.len() - stats.left as usize + stats.entered as usize
    );
    assert!(names.len() <= stats.entered as usize);
    for (id, name) in names {
        assert!(name.len() <= MAX_NAME_BYTES);
        assert_eq!(view.get(*id).map(|s| s.kind), Some(EntityKind::Player));
    }

    // Re-encode what was decoded, where the encoder's value ranges hold and no id changed kind.
    let base_kinds: BTreeMap<_, _> = base.iter().map(|(id, s)| (*id, s.kind)).collect();
    let encodable = delta.baseline_age <= SANE_MAX_AGE
        && base.iter().all(|(_, s)| is_sane(s))
        && view
            .entities
            .iter()
            .all(|(id, s)| is_sane(s) && base_kinds.get(id).is_none_or(|kind| *kind == s.kind));
    if !encodable {
        return;
    }
    let name_map: BTreeMap<_, _> = names.iter().cloned().collect();
    let baseline_arg = (delta.baseline_age != 0).then_some((baseline.tick, base));
    let mut encoder = DeltaEncoder::new();
    let enc = encoder.encode(baseline_arg, view.tick, &view.entities, |id| {
        name_map.get(&id).map(String::as_str)
    });
    assert_eq!(enc.baseline_age, delta.baseline_age);
    let again = Delta {
        payload: enc.payload.to_vec(),
        ..delta.clone()
    };
    let mut names_again = Vec::new();
    let (view_again, _) = apply_delta(baseline, &again, &mut names_again)
        .unwrap_or_else(|err| panic!("a re-encoded view does not apply: {err}"));
    assert_eq!(&view_again, view, "re-encoding changed the view");
    let expected: Vec<_> = names
        .iter()
        .filter(|(id, _)| !base_kinds.contains_key(id))
        .cloned()
        .collect();
    assert_eq!(names_again, expected);
}

fn round_trip(case: &RoundTripCase) {
    let (a, b, names) = case.views();
    let name_of = |id: EntityId| names.get(&id).map(String::as_str);
    let mut encoder = DeltaEncoder::new();

    for full in [false, true] {
        let (baseline, held) = if full {
            (None, View::default())
        } else {
            (Some((a.tick, a.entities.as_slice())), a.clone())
        };
        let enc = encoder.encode(baseline, b.tick, &b.entities, name_of);
        assert_eq!(enc.baseline_age, if full { 0 } else { case.age });
        let expected_stats = enc.stats;
        let delta = Delta {
            tick: b.tick,
            baseline_age: enc.baseline_age,
            last_input_seq: 0,
            payload: enc.payload.to_vec(),
        };
        let mut got_names = Vec::new();
        let (view, stats) = apply_delta(&held, &delta, &mut got_names).unwrap_or_else(|err| {
            panic!("delta (full: {full}) does not reproduce B: {err}\nA: {a:?}\nB: {b:?}")
        });
        assert_eq!(view, b, "delta (full: {full}) does not reproduce B");
        assert_eq!(stats, expected_stats);

        let held_ids: BTreeSet<_> = held.entities.iter().map(|(id, _)| *id).collect();
        let b_ids: BTreeSet<_> = b.entities.iter().map(|(id, _)| *id).collect();
        assert_eq!(stats.entered as usize, b_ids.difference(&held_ids).count());
        assert_eq!(stats.left as usize, held_ids.difference(&b_ids).count());
        if stats.updates() == 0 {
            // Checksum, and two empty counts: steady motion costs only the header.
            assert_eq!(delta.payload.len(), 3, "an empty delta is not 3 bytes");
        }

        let expected_names: Vec<_> = b
            .entities
            .iter()
            .filter(|(id, s)| s.kind == EntityKind::Player && !held_ids.contains(id))
            .map(|(id, _)| (*id, truncate_name(name_of(*id).unwrap_or("")).to_owned()))
            .collect();
        assert_eq!(got_names, expected_names, "entering names (full: {full})");
        for (id, got) in &got_names {
            if let Some(sent) = names.get(id).filter(|n| n.len() <= MAX_NAME_BYTES) {
                assert_eq!(got, sent, "a name of at most 16 bytes was changed");
            }
        }
    }
}
