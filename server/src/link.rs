//! A link conditioner: added latency and jitter per direction, for testing
//! clients on a poor network without leaving loopback. Order is kept, as a
//! TCP stream keeps it: jitter delays a message, and everything behind it.

use std::collections::VecDeque;
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::time::Instant;

/// Messages a delay line holds at most; a link this far behind counts as stalled.
pub const MAX_DELAYED: usize = 1024;

/// Holds messages until their delivery time.
#[derive(Debug)]
pub struct DelayLine<T> {
    queue: VecDeque<(Instant, T)>,
    lag: Duration,
    jitter: Duration,
    rng: SmallRng,
}

/// The delay line is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overflow;

impl<T> DelayLine<T> {
    /// A line that delays each message by `lag` plus up to `jitter`.
    pub fn new(lag: Duration, jitter: Duration) -> Self {
        Self {
            queue: VecDeque::new(),
            lag,
            jitter,
            rng: SmallRng::from_os_rng(),
        }
    }

    /// Whether this line delays anything at all.
    pub fn is_active(&self) -> bool {
        !self.lag.is_zero() || !self.jitter.is_zero()
    }

    /// Queues `item`, due after the lag and a random share of the jitter, and never before
    /// the message ahead of it.
    pub fn push(&mut self, now: Instant, item: T) -> Result<(), Overflow> {
        if self.queue.len() >= MAX_DELAYED {
            return Err(Overflow);
        }
        let extra = self.jitter.mul_f64(self.rng.random::<f64>());
        let mut due = now + self.lag + extra;
        if let Some((last, _)) = self.queue.back() {
            due = due.max(*last);
        }
        self.queue.push_back((due, item));
        Ok(())
    }

    /// When the next message is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.queue.front().map(|(due, _)| *due)
    }

    /// The next message, if it is due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<T> {
        if self.queue.front().is_some_and(|(due, _)| *due <= now) {
            self.queue.pop_front().map(|(_, item)| item)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_within_bounds_and_keeps_order() {
        let mut line = DelayLine::new(Duration::from_millis(75), Duration::from_millis(30));
        let t0 = Instant::now();
        for i in 0..100u32 {
            line.push(t0 + Duration::from_millis(u64::from(i)), i)
                .expect("room");
        }
        let mut last_due = t0;
        let mut next = 0;
        while let Some(due) = line.next_due() {
            assert!(due >= last_due);
            last_due = due;
            assert_eq!(line.pop_due(due), Some(next));
            next += 1;
        }
        assert_eq!(next, 100);
        assert!(last_due >= t0 + Duration::from_millis(99 + 75));
        assert!(last_due <= t0 + Duration::from_millis(99 + 75 + 30));
        assert!(line.pop_due(t0).is_none());
    }
}
