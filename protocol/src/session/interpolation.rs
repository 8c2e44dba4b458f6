//! Interpolation of remote entities between received snapshots.
//!
//! Snapshots arrive with jitter. Entities are drawn at a render time that runs
//! a little behind the newest snapshot (one snapshot interval plus the measured
//! arrival jitter), so there are nearly always two snapshots to blend between.

use std::collections::VecDeque;
use std::time::Duration;

use crate::entity::{EntityId, EntityState};
use crate::view::ViewEntry;

/// Snapshots kept for interpolation.
const MAX_FRAMES: usize = 32;
/// Arrival samples used to estimate clock offset and jitter.
const MAX_SAMPLES: usize = 40;

/// Buffers recent views and blends them at a delayed render time.
#[derive(Debug, Clone)]
pub struct Interpolator {
    tick_ms: f64,
    snapshot_ms: f64,
    frames: VecDeque<(u32, Vec<ViewEntry>)>,
    /// `arrival_ms − tick × tick_ms` of recent snapshots.
    samples: VecDeque<f64>,
    /// Smoothed render-clock offset, ms: render tick time = now − offset.
    offset: Option<f64>,
    last_now: f64,
}

/// One entity as it should be drawn now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RenderEntity {
    /// The entity.
    pub id: EntityId,
    /// Its state in the newer of the two snapshots blended.
    pub state: EntityState,
    /// Blended position x, units.
    pub x: f32,
    /// Blended position y, units.
    pub y: f32,
}

impl Interpolator {
    /// An interpolator for a room's tick rate and snapshot interval.
    pub fn new(tick_rate: u16, snapshot_interval_ticks: u16) -> Self {
        let tick_ms = 1000.0 / f64::from(tick_rate.max(1));
        Self {
            tick_ms,
            snapshot_ms: tick_ms * f64::from(snapshot_interval_ticks.max(1)),
            frames: VecDeque::new(),
            samples: VecDeque::new(),
            offset: None,
            last_now: 0.0,
        }
    }

    /// Records a view that arrived at `now`.
    pub fn push(&mut self, tick: u32, entities: &[ViewEntry], now: Duration) {
        if self.frames.back().is_some_and(|(t, _)| *t >= tick) {
            self.frames.clear(); // a resync or restart: start over
        }
        if self.frames.len() == MAX_FRAMES {
            self.frames.pop_front();
        }
        self.frames.push_back((tick, entities.to_vec()));
        if self.samples.len() == MAX_SAMPLES {
            self.samples.pop_front();
        }
        self.samples
            .push_back(ms(now) - f64::from(tick) * self.tick_ms);
    }

    /// The delay behind the newest snapshot that entities are drawn at, ms.
    pub fn delay_ms(&self) -> f64 {
        let (lo, hi) = self.sample_range();
        let jitter = hi - lo;
        (self.snapshot_ms + jitter).clamp(self.snapshot_ms, 4.0 * self.snapshot_ms)
    }

    fn sample_range(&self) -> (f64, f64) {
        let lo = self.samples.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = self
            .samples
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        if lo.is_finite() { (lo, hi) } else { (0.0, 0.0) }
    }

    /// The (fractional) tick drawn at `now`.
    pub fn render_tick(&mut self, now: Duration) -> Option<f64> {
        if self.samples.is_empty() {
            return None;
        }
        let now_ms = ms(now);
        let (lo, _) = self.sample_range();
        let target = lo + self.delay_ms();
        let offset = match self.offset {
            None => target,
            Some(current) => {
                // Slew toward the target by at most 10% of the time elapsed, so the
                // render clock never jumps or runs backwards.
                let elapsed = (now_ms - self.last_now).max(0.0);
                let step = elapsed * 0.1;
                current + (target - current).clamp(-step, step)
            }
        };
        self.offset = Some(offset);
        self.last_now = now_ms;
        Some((now_ms - offset) / self.tick_ms)
    }

    /// Entities blended at the render time for `now`.
    pub fn sample(&mut self, now: Duration, out: &mut Vec<RenderEntity>) {
        out.clear();
        let Some(rt) = self.render_tick(now) else {
            return;
        };
        let Some(newest) = self.frames.back() else {
            return;
        };
        // The last frame at or before the render tick, and the one after it.
        let idx = self.frames.iter().rposition(|(t, _)| f64::from(*t) <= rt);
        let (a, b) = match idx {
            None => (&self.frames[0], &self.frames[0]),
            Some(i) if i + 1 < self.frames.len() => (&self.frames[i], &self.frames[i + 1]),
            Some(_) => (newest, newest),
        };
        let span = f64::from(b.0.wrapping_sub(a.0));
        let t = if span > 0.0 {
            ((rt - f64::from(a.0)) / span).clamp(0.0, 1.0)
        } else {
            0.0
        };
        // Past the newest frame, coast at velocity for at most one snapshot interval.
        let coast_ticks = if idx.is_some() && a.0 == b.0 {
            (rt - f64::from(b.0)).clamp(0.0, self.snapshot_ms / self.tick_ms)
        } else {
            0.0
        };
        for (id, s) in &b.1 {
            let (x, y) = match a.1.binary_search_by_key(id, |(i, _)| *i) {
                Ok(k) if a.0 != b.0 => {
                    let p = &a.1[k].1;
                    (lerp(p.x, s.x, t), lerp(p.y, s.y, t))
                }
                _ => (
                    s.x as f64 + s.vx as f64 * coast_ticks,
                    s.y as f64 + s.vy as f64 * coast_ticks,
                ),
            };
            out.push(RenderEntity {
                id: *id,
                state: *s,
                x: x as f32,
                y: y as f32,
            });
        }
    }
}

fn lerp(a: i32, b: i32, t: f64) -> f64 {
    f64::from(a) + (f64::from(b) - f64::from(a)) * t
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::EntityKind;

    fn at(x: i32) -> Vec<ViewEntry> {
        vec![(
            EntityId(1),
            EntityState {
                kind: EntityKind::Player,
                x,
                vx: 10,
                ..Default::default()
            },
        )]
    }

    #[test]
    fn jittery_snapshots_give_continuous_motion() {
        let mut interp = Interpolator::new(60, 3);
        let mut out = Vec::new();
        let mut last_x = f32::MIN;
        let mut still_frames = 0;
        let mut worst_still = 0;
        // Snapshots every 3 ticks (50 ms) with ±15 ms jitter; the entity moves 30 units per snapshot.
        let jitter = [0.0, 12.0, -9.0, 15.0, -15.0, 3.0, 8.0, -4.0];
        let mut arrivals: Vec<(f64, u32)> = (0..80u32)
            .map(|k| (100.0 + k as f64 * 50.0 + jitter[k as usize % 8], 3 * k))
            .collect();
        arrivals.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut next = 0;
        for frame in 0..240 {
            let now = frame as f64 * 16.0 + 100.0;
            while next < arrivals.len() && arrivals[next].0 <= now {
                let tick = arrivals[next].1;
                interp.push(
                    tick,
                    &at(tick as i32 * 10),
                    Duration::from_secs_f64(arrivals[next].0 / 1000.0),
                );
                next += 1;
            }
            interp.sample(Duration::from_secs_f64(now / 1000.0), &mut out);
            if let Some(e) = out.first().filter(|_| frame > 30) {
                assert!(
                    e.x >= last_x,
                    "never moves backwards: {} after {last_x}",
                    e.x
                );
                if e.x == last_x {
                    still_frames += 1
                } else {
                    still_frames = 0
                }
                worst_still = worst_still.max(still_frames);
                last_x = e.x;
            }
        }
        assert!(worst_still <= 2, "stood still for {worst_still} frames");
        // Drawn behind the newest snapshot, by no more than the delay cap (4 intervals = 12 ticks).
        let newest_x = arrivals[next - 1].1 as f32 * 10.0;
        assert!(
            last_x <= newest_x && newest_x - last_x <= 120.0,
            "drawn at {last_x}, newest {newest_x}"
        );
    }
}
