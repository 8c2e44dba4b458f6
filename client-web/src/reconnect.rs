//! Automatic reconnection: when a game's connection drops, connect again on
//! a backoff schedule and present the resume token, until the server hands
//! the player back, refuses, or the resume window has certainly passed.
//!
//! The shell owns the timers and the sockets; [`Reconnector`] only decides:
//! it is told how each connection ended and answers with a [`Plan`].

use serde::Serialize;
use tickwire_protocol::message::NoticeCode;

use crate::game::ResumeOffer;

/// The first retry waits this long, ms; each further one twice as long.
pub const BASE_DELAY_MS: f64 = 250.0;
/// No retry waits longer than this, ms.
pub const MAX_DELAY_MS: f64 = 4000.0;
/// Each delay is shortened by up to this fraction, at random, so that many
/// pages cut off at once do not all knock again at the same moment.
pub const JITTER: f64 = 0.2;

/// How long to wait before reconnect attempt `attempt` (1 for the first):
/// 250 ms, 500 ms, 1 s, 2 s, then 4 s, each shortened by up to [`JITTER`]
/// (`jitter_unit` is a random number in `0..1`).
pub fn backoff_ms(attempt: u32, jitter_unit: f64) -> f64 {
    let doublings = attempt.saturating_sub(1).min(16);
    let delay = (BASE_DELAY_MS * f64::from(1u32 << doublings)).min(MAX_DELAY_MS);
    let unit = if jitter_unit.is_finite() {
        jitter_unit.clamp(0.0, 1.0)
    } else {
        0.0
    };
    delay * (1.0 - JITTER * unit)
}

/// How a connection ended, as far as reconnecting goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseKind {
    /// It dropped: no close frame (1006), an abnormal close, or a socket
    /// that never opened. Worth trying again.
    Dropped,
    /// The server refused to hand the player back (`ResumeRejected`).
    ResumeRefused,
    /// The server meant it: shutting down (1001), a protocol error (1002),
    /// refused data (1003/1007/1008/1009), full (1013), a normal close, or
    /// any close it explained with a notice. Trying again on our own would
    /// not help; the player chooses.
    Deliberate,
}

/// Sorts a close by its code and the server's last notice. A protocol error
/// found by this client (`client_error`) is never retried.
pub fn classify(code: u16, notice: Option<NoticeCode>, client_error: bool) -> CloseKind {
    match notice {
        Some(NoticeCode::ResumeRejected) => return CloseKind::ResumeRefused,
        Some(_) => return CloseKind::Deliberate,
        None => {}
    }
    if client_error {
        return CloseKind::Deliberate;
    }
    match code {
        1000..=1003 | 1007..=1010 | 1013 => CloseKind::Deliberate,
        // 1005 no status, 1006 dropped, 1011 server error, 1012 restart,
        // 1014 bad gateway, 1015 TLS, and anything unknown.
        _ => CloseKind::Dropped,
    }
}

/// What the shell should do after a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "plan", rename_all = "snake_case")]
pub enum Plan {
    /// Connect again with the resume token after `delay_ms`.
    Retry {
        /// The attempt this will be, 1 for the first.
        attempt: u32,
        /// How long to wait first, ms.
        delay_ms: f64,
    },
    /// The resume window has passed: the old player is gone for good.
    GaveUp {
        /// The window the server gave, ms.
        window_ms: f64,
    },
    /// Show the close to the player and let them choose.
    Stop,
}

/// Where reconnection stands, for the page and `window.tickwire.debug()`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ReconnectState {
    /// Whether the page is reconnecting on its own (waiting or connecting).
    pub reconnecting: bool,
    /// The attempt under way or next, 1 for the first; 0 when not reconnecting.
    pub attempt: u32,
    /// Until when (ms, browser clock) the resume token can work, if one is held.
    pub deadline_ms: Option<f64>,
}

/// The reconnection policy: one per page, outliving the games it reconnects.
#[derive(Debug, Default)]
pub struct Reconnector {
    /// The token to present next, and until when it can work.
    offer: Option<ResumeOffer>,
    /// Attempts made since the connection dropped; 0 when not reconnecting.
    attempt: u32,
}

impl Reconnector {
    /// The resume token for the next connection, if one is held and still
    /// within its window. It is kept until the server answers: a connection
    /// that never reached the server has not spent it.
    pub fn offer(&self, now_ms: f64) -> Option<ResumeOffer> {
        self.offer.filter(|o| now_ms < o.valid_until_ms)
    }

    /// The server accepted a connection: reconnection is over, and the old
    /// token is spent (the `Welcome` carried a fresh one).
    pub fn welcomed(&mut self) {
        self.offer = None;
        self.attempt = 0;
    }

    /// Forgets the token: the player chose to join as someone new.
    pub fn forget(&mut self) {
        self.offer = None;
        self.attempt = 0;
    }

    /// Where reconnection stands.
    pub fn state(&self) -> ReconnectState {
        ReconnectState {
            reconnecting: self.attempt > 0,
            attempt: self.attempt,
            deadline_ms: self.offer.map(|o| o.valid_until_ms),
        }
    }

    /// A connection ended at `now_ms`. `offer` is how to take the player back
    /// when that connection had been welcomed (its token and window), and
    /// `automatic` says whether it was one of our own reconnect attempts.
    /// `jitter_unit` is a random number in `0..1`.
    pub fn closed(
        &mut self,
        kind: CloseKind,
        offer: Option<ResumeOffer>,
        automatic: bool,
        now_ms: f64,
        jitter_unit: f64,
    ) -> Plan {
        if let Some(o) = offer {
            // A welcomed connection: its token replaces any older one.
            self.offer = Some(o);
            self.attempt = 0;
        }
        match kind {
            CloseKind::Dropped if offer.is_some() || (automatic && self.attempt > 0) => {
                let Some(o) = self.offer else {
                    self.attempt = 0;
                    return Plan::Stop;
                };
                let attempt = self.attempt + 1;
                let delay_ms = backoff_ms(attempt, jitter_unit);
                if now_ms + delay_ms >= o.valid_until_ms {
                    self.forget();
                    return Plan::GaveUp {
                        window_ms: o.window_ms,
                    };
                }
                self.attempt = attempt;
                Plan::Retry { attempt, delay_ms }
            }
            CloseKind::ResumeRefused => {
                self.forget();
                Plan::Stop
            }
            // Deliberate, or a drop of a connection that never got in on
            // its own: keep the token for a Rejoin, but do not retry alone.
            _ => {
                self.attempt = 0;
                Plan::Stop
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use tickwire_protocol::{ResumeToken, RoomId};

    use super::*;

    fn offer(until: f64) -> ResumeOffer {
        ResumeOffer {
            token: ResumeToken([1; 16]),
            room: RoomId(7),
            valid_until_ms: until,
            window_ms: 15_000.0,
        }
    }

    #[test]
    fn the_backoff_doubles_from_250_ms_to_a_4_s_cap() {
        let delays: Vec<f64> = (1..=8).map(|a| backoff_ms(a, 0.0)).collect();
        assert_eq!(
            delays,
            [250.0, 500.0, 1000.0, 2000.0, 4000.0, 4000.0, 4000.0, 4000.0]
        );
        assert_eq!(backoff_ms(u32::MAX, 0.0), MAX_DELAY_MS);
        assert_eq!(backoff_ms(0, 0.0), BASE_DELAY_MS);
    }

    #[test]
    fn jitter_only_shortens_and_by_at_most_a_fifth() {
        for attempt in 1..10 {
            let full = backoff_ms(attempt, 0.0);
            for unit in [0.0, 0.3, 0.999, 1.0, 7.0, -1.0, f64::NAN] {
                let d = backoff_ms(attempt, unit);
                assert!(d <= full && d >= full * 0.8, "{attempt} {unit}: {d}");
            }
        }
        assert!(backoff_ms(3, 0.5) < backoff_ms(3, 0.0));
    }

    #[test]
    fn closes_are_sorted_by_code_and_notice() {
        for code in [1005, 1006, 1011, 1012, 1014, 1015, 4999] {
            assert_eq!(classify(code, None, false), CloseKind::Dropped, "{code}");
        }
        for code in [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1013] {
            assert_eq!(classify(code, None, false), CloseKind::Deliberate, "{code}");
        }
        assert_eq!(
            classify(1008, Some(NoticeCode::ResumeRejected), false),
            CloseKind::ResumeRefused
        );
        assert_eq!(
            classify(1006, Some(NoticeCode::IdleTimeout), false),
            CloseKind::Deliberate
        );
        assert_eq!(classify(1006, None, true), CloseKind::Deliberate);
    }

    #[test]
    fn a_drop_retries_with_growing_delays_until_welcomed() {
        let mut r = Reconnector::default();
        let plan = r.closed(CloseKind::Dropped, Some(offer(15_000.0)), false, 0.0, 0.0);
        assert_eq!(
            plan,
            Plan::Retry {
                attempt: 1,
                delay_ms: 250.0
            }
        );
        assert!(r.state().reconnecting);
        assert_eq!(r.offer(300.0).map(|o| o.room), Some(RoomId(7)));
        // The server is down: the attempts never open.
        let plan = r.closed(CloseKind::Dropped, None, true, 300.0, 0.0);
        assert_eq!(
            plan,
            Plan::Retry {
                attempt: 2,
                delay_ms: 500.0
            }
        );
        let plan = r.closed(CloseKind::Dropped, None, true, 900.0, 0.0);
        assert_eq!(
            plan,
            Plan::Retry {
                attempt: 3,
                delay_ms: 1000.0
            }
        );
        assert_eq!(r.state().attempt, 3);
        assert!(r.offer(2000.0).is_some(), "never reached the server: kept");
        r.welcomed();
        assert_eq!(
            r.state(),
            ReconnectState {
                reconnecting: false,
                attempt: 0,
                deadline_ms: None
            }
        );
        assert!(r.offer(2000.0).is_none(), "spent");
    }

    #[test]
    fn it_gives_up_once_the_window_has_passed() {
        let mut r = Reconnector::default();
        let mut now = 0.0;
        let mut plan = r.closed(CloseKind::Dropped, Some(offer(15_000.0)), false, now, 0.0);
        let mut attempts = 0;
        while let Plan::Retry { delay_ms, .. } = plan {
            attempts += 1;
            now += delay_ms + 30.0; // the wait, then a refused connect
            plan = r.closed(CloseKind::Dropped, None, true, now, 0.0);
        }
        assert_eq!(
            plan,
            Plan::GaveUp {
                window_ms: 15_000.0
            }
        );
        assert!((6..=8).contains(&attempts), "{attempts} attempts");
        assert!(now < 15_000.0, "no attempt after the window: {now}");
        assert!(!r.state().reconnecting);
        assert!(r.offer(now).is_none());
    }

    #[test]
    fn refusals_and_deliberate_closes_stop_at_once() {
        let mut r = Reconnector::default();
        r.closed(CloseKind::Dropped, Some(offer(15_000.0)), false, 0.0, 0.0);
        let plan = r.closed(CloseKind::ResumeRefused, None, true, 300.0, 0.0);
        assert_eq!(plan, Plan::Stop);
        assert!(r.offer(300.0).is_none(), "the token is dead");
        assert!(!r.state().reconnecting);

        // A shutdown: no retry, but the token is kept for a Rejoin.
        let plan = r.closed(
            CloseKind::Deliberate,
            Some(offer(15_000.0)),
            false,
            0.0,
            0.0,
        );
        assert_eq!(plan, Plan::Stop);
        assert!(r.offer(100.0).is_some());
        assert!(r.offer(15_000.0).is_none(), "expired");
    }

    #[test]
    fn a_drop_before_any_welcome_is_not_retried() {
        let mut r = Reconnector::default();
        assert_eq!(
            r.closed(CloseKind::Dropped, None, false, 0.0, 0.0),
            Plan::Stop
        );
        // A player's own Rejoin that fails is not retried either.
        r.closed(
            CloseKind::Deliberate,
            Some(offer(15_000.0)),
            false,
            0.0,
            0.0,
        );
        assert_eq!(
            r.closed(CloseKind::Dropped, None, false, 10.0, 0.0),
            Plan::Stop
        );
        assert!(!r.state().reconnecting);
    }
}
