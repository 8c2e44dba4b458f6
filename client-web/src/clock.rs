//! Time for the client: the browser's clock in, fixed-rate input ticks out.
//!
//! The shell passes `performance.now()` (milliseconds since the page loaded)
//! into every call. The server applies one input per simulation tick, so the
//! client sends exactly one input per tick too, on a fixed clock that does not
//! depend on the display's frame rate: [`TickClock`] says how many ticks are due
//! at each animation frame.

use std::time::Duration;

/// Most ticks run at once to catch up. A page that was hidden or stalled for
/// longer skips the missed ticks instead of flooding the server with inputs.
pub const MAX_CATCH_UP_TICKS: u32 = 5;

/// A browser timestamp (ms) as the session's [`Duration`]; negative or NaN become zero.
pub fn duration_from_ms(ms: f64) -> Duration {
    if ms.is_finite() && ms > 0.0 {
        Duration::from_secs_f64(ms / 1000.0)
    } else {
        Duration::ZERO
    }
}

/// A fixed-step clock: tick `n` (counting from 0) is due at `origin + n × period`.
#[derive(Debug, Clone)]
pub struct TickClock {
    period_ms: f64,
    origin_ms: Option<f64>,
    /// Ticks issued so far.
    issued: u64,
}

impl TickClock {
    /// A clock running at `tick_rate` ticks per second.
    pub fn new(tick_rate: u16) -> Self {
        Self {
            period_ms: 1000.0 / f64::from(tick_rate.max(1)),
            origin_ms: None,
            issued: 0,
        }
    }

    /// Milliseconds per tick.
    pub fn period_ms(&self) -> f64 {
        self.period_ms
    }

    /// How many ticks fell due since the last call; the first call starts the clock with one.
    pub fn due(&mut self, now_ms: f64) -> u32 {
        let origin = *self.origin_ms.get_or_insert(now_ms);
        let elapsed = ((now_ms - origin) / self.period_ms).max(0.0);
        // Ticks 0..=floor(elapsed) are due by now.
        let target = elapsed.floor() as u64 + 1;
        let behind = target.saturating_sub(self.issued);
        if behind > u64::from(MAX_CATCH_UP_TICKS) {
            // Skip what was missed: run the newest ticks only.
            self.issued = target;
            return MAX_CATCH_UP_TICKS;
        }
        self.issued = target.max(self.issued);
        behind as u32
    }

    /// How far `now_ms` is past the newest tick issued, in ticks (0..=1), for
    /// drawing between the last two predicted positions.
    pub fn alpha(&self, now_ms: f64) -> f64 {
        match self.origin_ms {
            Some(origin) if self.issued > 0 => {
                let newest = origin + (self.issued - 1) as f64 * self.period_ms;
                ((now_ms - newest) / self.period_ms).clamp(0.0, 1.0)
            }
            _ => 1.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_tick_per_period_whatever_the_frame_rate() {
        for frame_ms in [7.0, 16.6667, 16.0, 33.3, 41.0] {
            let mut clock = TickClock::new(60);
            let mut ticks = 0u64;
            let mut now = 1000.0;
            let mut last = now;
            while now < 11_000.0 {
                ticks += u64::from(clock.due(now));
                last = now;
                now += frame_ms;
            }
            // Exactly the ticks due by the last frame: about 600 in 10 s.
            let expected = ((last - 1000.0) / clock.period_ms()).floor() as u64 + 1;
            assert_eq!(ticks, expected, "{frame_ms} ms frames");
            assert!(ticks >= 597, "{frame_ms} ms frames: {ticks}");
        }
    }

    #[test]
    fn a_stall_skips_ahead_instead_of_flooding() {
        let mut clock = TickClock::new(60);
        assert_eq!(clock.due(0.0), 1);
        assert_eq!(clock.due(5000.0), MAX_CATCH_UP_TICKS);
        assert_eq!(clock.due(5000.0), 0);
        assert_eq!(clock.due(5017.0), 1, "and then runs at the normal rate");
    }

    #[test]
    fn alpha_runs_from_the_newest_tick_to_the_next() {
        let mut clock = TickClock::new(50); // 20 ms ticks
        assert_eq!(clock.alpha(0.0), 1.0, "nothing issued yet");
        clock.due(100.0);
        assert_eq!(clock.alpha(100.0), 0.0);
        assert!((clock.alpha(110.0) - 0.5).abs() < 1e-9);
        assert_eq!(clock.alpha(150.0), 1.0);
        assert_eq!(clock.due(121.0), 1);
        assert!((clock.alpha(121.0) - 0.05).abs() < 1e-9);
    }

    #[test]
    fn browser_times_convert_safely() {
        assert_eq!(duration_from_ms(1500.0), Duration::from_millis(1500));
        assert_eq!(duration_from_ms(-3.0), Duration::ZERO);
        assert_eq!(duration_from_ms(f64::NAN), Duration::ZERO);
    }
}
