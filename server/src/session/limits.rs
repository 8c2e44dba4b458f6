//! Per-connection input rate limit: a token bucket, plus a window that turns
//! sustained abuse into a close.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// Window over which dropped inputs are counted toward the abuse threshold.
const ABUSE_WINDOW: Duration = Duration::from_secs(5);

/// What to do with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within the rate: process it.
    Accept,
    /// Over the rate: drop it (the count of dropped input frames is returned).
    Drop(u32),
    /// Over the rate for too long: close the connection.
    Abuse,
}

/// A connection's input budget.
#[derive(Debug)]
pub struct InputLimiter {
    bucket: DefaultDirectRateLimiter,
    threshold: u32,
    window_start: Instant,
    dropped_in_window: u32,
}

impl InputLimiter {
    /// `rate` frames per second sustained, `burst` above it; `threshold` dropped
    /// frames within five seconds count as abuse.
    pub fn new(rate: u32, burst: u32, threshold: u32) -> Self {
        let rate = NonZeroU32::new(rate).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst).unwrap_or(rate);
        Self {
            bucket: RateLimiter::direct(Quota::per_second(rate).allow_burst(burst)),
            threshold,
            window_start: Instant::now(),
            dropped_in_window: 0,
        }
    }

    /// Charges a message carrying `frames` inputs (every message costs at least one).
    pub fn check(&mut self, frames: u32) -> Verdict {
        let cost = NonZeroU32::new(frames).unwrap_or(NonZeroU32::MIN);
        if matches!(self.bucket.check_n(cost), Ok(Ok(()))) {
            return Verdict::Accept;
        }
        let now = Instant::now();
        if now.duration_since(self.window_start) > ABUSE_WINDOW {
            self.window_start = now;
            self.dropped_in_window = 0;
        }
        self.dropped_in_window += cost.get();
        if self.dropped_in_window > self.threshold {
            Verdict::Abuse
        } else {
            Verdict::Drop(cost.get())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_excess_drops_then_flooding_is_abuse() {
        let mut l = InputLimiter::new(120, 10, 20);
        for _ in 0..10 {
            assert_eq!(l.check(1), Verdict::Accept);
        }
        let mut verdicts = Vec::new();
        for _ in 0..30 {
            verdicts.push(l.check(1));
        }
        assert!(verdicts.contains(&Verdict::Drop(1)));
        assert_eq!(verdicts.last(), Some(&Verdict::Abuse));
    }
}
