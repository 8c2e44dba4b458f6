//! Scheduling priority for the tick thread.
//!
//! Under full CPU load the tick thread competes with the session workers (and,
//! on a shared machine, anything else). A tick that needs 1 ms of CPU but
//! waits 8 ms for a core misses its budget. A lower nice value gets it a core
//! as soon as it wakes. Raising priority needs `CAP_SYS_NICE` (or a suitable
//! `RLIMIT_NICE`); without it the server runs on at normal priority.

use thread_priority::{ThreadPriority, ThreadPriorityValue, set_current_thread_priority};
use tracing::{debug, info};

/// Asks for `nice` (−20 highest … 19 lowest) on the calling thread; 0 leaves it
/// alone. Returns whether the request was granted.
pub fn set_current_thread_nice(nice: i8) -> bool {
    if nice == 0 {
        return true;
    }
    let Ok(value) = ThreadPriorityValue::try_from(crossplatform_for_nice(nice)) else {
        return false;
    };
    match set_current_thread_priority(ThreadPriority::Crossplatform(value)) {
        Ok(()) => {
            debug!(nice, "tick thread priority raised");
            true
        }
        Err(err) => {
            info!(
                nice,
                error = ?err,
                "could not change the tick thread's priority (needs CAP_SYS_NICE); \
                 ticks may jitter when the CPU is saturated"
            );
            false
        }
    }
}

/// The `thread-priority` crate's 0–99 scale value that it maps to `nice`
/// (it maps 0 to nice 19 and 99 to nice −20, truncating), so that the
/// requested niceness is what the kernel receives.
fn crossplatform_for_nice(nice: i8) -> u8 {
    let nice = i32::from(nice.clamp(-20, 19));
    (0u8..=99)
        .find(|&p| nice_of(p) == nice)
        .unwrap_or(if nice < 0 { 99 } else { 0 })
}

/// The nice value `thread-priority` sets for scale value `p` on Linux.
fn nice_of(p: u8) -> i32 {
    let ratio = 1f32 - f32::from(p) / 99f32;
    (39f32 * ratio) as i32 - 20
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_nice_value_has_a_scale_value_that_maps_back_to_it() {
        for nice in -20i8..=19 {
            assert_eq!(
                nice_of(crossplatform_for_nice(nice)),
                i32::from(nice),
                "{nice}"
            );
        }
    }

    /// The calling thread's nice value, from `/proc` (Linux).
    fn own_nice() -> i32 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("procfs");
        let after_name = &stat[stat.rfind(')').expect("comm") + 2..];
        // Field 19 of stat is the nice value; fields from 3 on follow the name.
        after_name
            .split(' ')
            .nth(16)
            .expect("nice")
            .parse()
            .expect("number")
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn lowering_the_priority_of_a_thread_is_allowed_and_takes_effect() {
        let (granted, nice) = std::thread::spawn(|| (set_current_thread_nice(5), own_nice()))
            .join()
            .expect("thread ran");
        assert!(granted);
        assert_eq!(nice, 5);
    }
}
