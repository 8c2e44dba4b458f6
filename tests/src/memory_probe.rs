//! How fast this machine's memory answers right now: the time of one random
//! read in buffers of a few sizes (a pointer chase, so that no read can start
//! before the one before it ends).
//!
//! On a shared virtual machine the last-level cache is shared with other
//! tenants, and how much of it this machine gets changes through the day. A
//! server with thousands of sessions lives or dies by that cache, so find-max
//! records a probe next to its figures: runs on different days are then
//! comparable, and a failed step can be told apart from a crowded host.

use serde::{Deserialize, Serialize};

/// Buffer sizes probed, MiB: within the per-core cache, within what a
/// last-level cache should hold, and beyond it.
pub const PROBE_MIB: [u32; 3] = [1, 4, 16];
/// Reads timed per buffer size.
const READS: usize = 2_000_000;

/// One buffer size's figure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MemoryLatency {
    /// Buffer size, MiB.
    pub mib: u32,
    /// Nanoseconds per random read.
    pub ns_per_read: f64,
}

/// Times random reads over each of [`PROBE_MIB`]. Takes about a second;
/// run it while nothing else is busy.
pub fn probe() -> Vec<MemoryLatency> {
    PROBE_MIB
        .iter()
        .map(|&mib| MemoryLatency {
            mib,
            ns_per_read: ns_per_read(mib as usize * 1024 * 1024 / 4, READS),
        })
        .collect()
}

/// Nanoseconds per read of a chase through `len` u32 slots forming one cycle.
fn ns_per_read(len: usize, reads: usize) -> f64 {
    let next = one_cycle(len, 0x9e37_79b9_7f4a_7c15);
    let started = std::time::Instant::now();
    let mut at = 0u32;
    for _ in 0..reads {
        at = next[at as usize];
    }
    let elapsed = started.elapsed();
    std::hint::black_box(at);
    elapsed.as_secs_f64() * 1e9 / reads as f64
}

/// A permutation of `0..len` that is a single cycle (Sattolo's shuffle), so
/// that following it visits every slot in a random order.
fn one_cycle(len: usize, seed: u64) -> Vec<u32> {
    let mut slots: Vec<u32> = (0..len as u32).collect();
    let mut state = seed | 1;
    for i in (1..len).rev() {
        // xorshift64*: plenty for a shuffle.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let r = state.wrapping_mul(0x2545_f491_4f6c_dd1d);
        let j = (r % i as u64) as usize;
        slots.swap(i, j);
    }
    slots
}

/// The probe as one line, e.g. `random read 1 MiB 8.4 ns, 4 MiB 20.0 ns, 16 MiB 151.1 ns`.
pub fn describe(figures: &[MemoryLatency]) -> String {
    let parts: Vec<String> = figures
        .iter()
        .map(|f| format!("{} MiB {:.1} ns", f.mib, f.ns_per_read))
        .collect();
    format!("random read {}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chase_is_one_cycle_through_every_slot() {
        for len in [2, 3, 10, 1000] {
            let next = one_cycle(len, 7);
            let mut seen = vec![false; len];
            let mut at = 0usize;
            for _ in 0..len {
                assert!(!seen[at], "slot {at} visited twice (len {len})");
                seen[at] = true;
                at = next[at] as usize;
            }
            assert_eq!(at, 0, "back at the start after {len} steps");
            assert!(seen.iter().all(|&s| s));
        }
    }

    #[test]
    fn the_probe_reports_every_size_and_describes_it() {
        let f = [
            MemoryLatency {
                mib: 1,
                ns_per_read: 8.44,
            },
            MemoryLatency {
                mib: 16,
                ns_per_read: 151.06,
            },
        ];
        assert_eq!(describe(&f), "random read 1 MiB 8.4 ns, 16 MiB 151.1 ns");
        let small = ns_per_read(1024, 10_000);
        assert!(small.is_finite() && small > 0.0);
    }
}
