//! The render state: everything the shell draws in one animation frame, in pixels.
//!
//! The local player is drawn where the predictor puts it (blended across the
//! current tick so motion is smooth at any display rate); everything else is
//! interpolated between snapshots by the session.

use serde::Serialize;
use tickwire_protocol::EntityKind;
use tickwire_protocol::tuning::{DASH_COOLDOWN_TICKS, UNITS_PER_PIXEL};

use crate::clock::duration_from_ms;
use crate::game::Game;
use crate::netstats::NetReport;
use crate::palette::hue_of;
use crate::status::Phase;

/// A distance (px) beyond which a jump of the local player is drawn at once
/// (a respawn), not blended.
const BLEND_LIMIT_PX: f32 = 150.0;

/// One frame's drawing instructions.
#[derive(Debug, Clone, Serialize)]
pub struct RenderState {
    /// Where the connection stands.
    pub status: Phase,
    /// The newest snapshot's tick.
    pub tick: u32,
    /// The arena, px (zero before the `Welcome`).
    pub arena: Size,
    /// The area of interest around the player, px.
    pub view: Size,
    /// The local player, once the server has shown it to us.
    pub me: Option<Me>,
    /// Everything else in view.
    pub entities: Vec<Sprite>,
    /// Network figures.
    pub net: NetReport,
}

/// A width and height, px.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Size {
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
}

/// The local player.
#[derive(Debug, Clone, Serialize)]
pub struct Me {
    /// Entity id.
    pub id: u32,
    /// Our name.
    pub name: String,
    /// Predicted position x, px.
    pub x: f32,
    /// Predicted position y, px.
    pub y: f32,
    /// Health, 0..=100.
    pub health: u8,
    /// Score.
    pub score: u32,
    /// The aim being sent, 1/256 turns.
    pub aim: u8,
    /// Colour hue.
    pub hue: u16,
    /// Whether alive.
    pub alive: bool,
    /// Seconds until respawn while dead.
    pub respawn_in: f64,
    /// How ready the dash is, 0 (just used) to 1 (ready).
    pub dash_ready: f64,
}

/// Something else to draw.
#[derive(Debug, Clone, Serialize)]
pub struct Sprite {
    /// Entity id.
    pub id: u32,
    /// `player`, `projectile` or `orb`.
    pub kind: &'static str,
    /// Interpolated position x, px.
    pub x: f32,
    /// Interpolated position y, px.
    pub y: f32,
    /// Health of a player (0 = dead), else 0.
    pub health: u8,
    /// Score of a player.
    pub score: u32,
    /// Aim of a player, 1/256 turns.
    pub aim: u8,
    /// Colour hue: a player's own, a projectile its owner's.
    pub hue: u16,
    /// A player's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

fn kind_name(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Player => "player",
        EntityKind::Projectile => "projectile",
        EntityKind::Orb => "orb",
    }
}

fn px(units: f32) -> f32 {
    units / UNITS_PER_PIXEL as f32
}

/// Builds the frame for `now_ms`.
pub fn render_state(game: &mut Game, now_ms: f64) -> RenderState {
    let now = duration_from_ms(now_ms);
    let mut remote = std::mem::take(&mut game.scratch);
    game.session.interpolate(now, &mut remote);
    let me_id = game.me();
    let me = me_id.and_then(|id| me_state(game, id.0, now_ms));
    let entities = remote
        .iter()
        .filter(|e| Some(e.id) != me_id)
        .map(|e| {
            let s = &e.state;
            let player = s.kind == EntityKind::Player;
            Sprite {
                id: e.id.0,
                kind: kind_name(s.kind),
                x: px(e.x),
                y: px(e.y),
                health: s.health,
                score: s.score,
                aim: s.aim,
                hue: hue_of(if player { e.id.0 } else { s.owner.0 }),
                name: player.then(|| game.session.name_of(e.id).unwrap_or("?").to_owned()),
            }
        })
        .collect();
    game.scratch = remote;
    let size = |w: i32, h: i32| Size {
        w: f64::from(w) / f64::from(UNITS_PER_PIXEL),
        h: f64::from(h) / f64::from(UNITS_PER_PIXEL),
    };
    let (arena, view) = game.session.welcome().map_or_else(Default::default, |w| {
        (
            size(w.arena_width, w.arena_height),
            size(w.view_width, w.view_height),
        )
    });
    RenderState {
        status: game.phase().clone(),
        tick: game.session.view().tick,
        arena,
        view,
        me,
        entities,
        net: game.net_report(now_ms),
    }
}

fn me_state(game: &Game, id: u32, now_ms: f64) -> Option<Me> {
    let session = &game.session;
    let state = session.view().get(tickwire_protocol::EntityId(id))?;
    let predictor = session.predictor()?;
    let (cx, cy) = predictor.render_position()?;
    let (x, y) = match (game.prev_render, &game.clock) {
        (Some((px0, py0)), Some(clock))
            if (cx - px0).hypot(cy - py0) < BLEND_LIMIT_PX * UNITS_PER_PIXEL as f32 =>
        {
            let a = clock.alpha(now_ms) as f32;
            (px0 + (cx - px0) * a, py0 + (cy - py0) * a)
        }
        _ => (cx, cy),
    };
    let tick_ms = game.clock.as_ref().map_or(1000.0 / 60.0, |c| c.period_ms());
    let alive = state.health > 0;
    let respawn_in = if alive {
        0.0
    } else {
        // The server's tick now, estimated from the newest snapshot's arrival.
        let server_tick =
            f64::from(session.view().tick) + (now_ms - game.last_snapshot_ms).max(0.0) / tick_ms;
        ((f64::from(state.respawn_tick) - server_tick) * tick_ms / 1000.0).max(0.0)
    };
    let cooldown = predictor.motion().map_or(0, |m| m.dash_cooldown);
    Some(Me {
        id,
        name: session
            .name_of(tickwire_protocol::EntityId(id))
            .unwrap_or("")
            .to_owned(),
        x: px(x),
        y: px(y),
        health: state.health,
        score: state.score,
        aim: game.aim(),
        hue: hue_of(id),
        alive,
        respawn_in,
        dash_ready: 1.0 - f64::from(cooldown) / f64::from(DASH_COOLDOWN_TICKS),
    })
}
