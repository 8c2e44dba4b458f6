//! What a bot does: the behaviours a swarm can run, and the per-bot state
//! ([`Mind`]) that picks one input per simulation tick.
//!
//! To add a behaviour: add a variant to [`Behavior`] (it becomes a CLI value
//! at once), say in [`Behavior::sends_inputs`] / [`Behavior::reads_socket`]
//! how it uses the connection, and give it a branch in [`Mind::next_input`].

use std::fmt;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use tickwire_protocol::message::Welcome;
use tickwire_protocol::session::ClientSession;
use tickwire_protocol::sim::angle_of;
use tickwire_protocol::tuning::{PLAYER_RADIUS, UNITS_PER_PIXEL};
use tickwire_protocol::{EntityId, EntityKind, EntityState, InputFrame};

/// The behaviours a bot can run.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Behavior {
    /// Moves, changes direction every 1–3 s at random, aims around and fires now and then.
    #[default]
    Wander,
    /// Connects and reads snapshots, but sends no inputs.
    Idle,
    /// Heads for the nearest other player in view, aiming and firing at it; wanders when alone.
    Chase,
    /// Connects, is welcomed, then stops reading its socket (a stalled client).
    Stall,
    /// Wanders, and drops its TCP connection now and then (no close frame),
    /// then reconnects and resumes its player with the token from its last `Welcome`.
    Flaky,
}

impl Behavior {
    /// Whether the bot sends one input per simulation tick.
    pub fn sends_inputs(self) -> bool {
        match self {
            Self::Wander | Self::Chase | Self::Flaky => true,
            Self::Idle | Self::Stall => false,
        }
    }

    /// Whether the bot keeps reading its socket after the `Welcome`.
    pub fn reads_socket(self) -> bool {
        !matches!(self, Self::Stall)
    }

    /// Whether the bot drops its connection at random and resumes (see `BotConfig::reconnect_chance`).
    pub fn drops_connection(self) -> bool {
        matches!(self, Self::Flaky)
    }
}

impl fmt::Display for Behavior {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Wander => "wander",
            Self::Idle => "idle",
            Self::Chase => "chase",
            Self::Stall => "stall",
            Self::Flaky => "flaky",
        })
    }
}

/// Chance per tick that a wandering bot presses FIRE (a shot every second or so at 60 Hz).
const WANDER_FIRE_CHANCE: f64 = 1.0 / 60.0;
/// Chance per tick that a moving bot dashes.
const DASH_CHANCE: f64 = 1.0 / 300.0;
/// Distance from a wall (units) within which a wanderer turns back inward.
const WALL_MARGIN: i32 = 80 * UNITS_PER_PIXEL;
/// Distance per axis (units) within which a chaser stops pressing toward its target.
const CHASE_DEADZONE: i32 = 2 * PLAYER_RADIUS;

/// One bot's behaviour state: picks its input for each simulation tick.
#[derive(Debug, Clone)]
pub struct Mind {
    behavior: Behavior,
    rng: SmallRng,
    me: EntityId,
    tick_rate: u32,
    arena: (i32, i32),
    /// Ticks this mind has chosen inputs for.
    ticks: u64,
    /// Tick at which the wanderer picks a new direction.
    turn_at: u64,
    /// Held direction buttons.
    heading: u8,
    aim: u8,
}

/// How many inputs a bot sends now: one per simulation tick due since
/// `ticks_done` (ticks are counted from `elapsed` at `tick_rate`), at most one
/// batch, skipping ticks if the bot fell far behind. Advances `ticks_done`.
pub fn inputs_due(elapsed: std::time::Duration, tick_rate: f64, ticks_done: &mut u64) -> u64 {
    let due_total = (elapsed.as_secs_f64() * tick_rate) as u64 + 1;
    let due = due_total.saturating_sub(*ticks_done);
    *ticks_done = (*ticks_done).max(due_total);
    due.min(tickwire_protocol::message::MAX_INPUTS_PER_BATCH as u64)
}

impl Mind {
    /// A mind for a welcomed bot, seeded for reproducible runs.
    pub fn new(behavior: Behavior, welcome: &Welcome, seed: u64) -> Self {
        Self {
            behavior,
            rng: SmallRng::seed_from_u64(seed),
            me: welcome.player,
            tick_rate: u32::from(welcome.tick_rate.max(1)),
            arena: (welcome.arena_width, welcome.arena_height),
            ticks: 0,
            turn_at: 0,
            heading: 0,
            aim: 0,
        }
    }

    /// The behaviour this mind runs.
    pub fn behavior(&self) -> Behavior {
        self.behavior
    }

    /// The input for the next simulation tick, given what the session sees.
    pub fn next_input(&mut self, session: &ClientSession) -> InputFrame {
        let me = session.me().copied();
        let frame = match self.behavior {
            Behavior::Idle | Behavior::Stall => InputFrame::default(),
            Behavior::Wander | Behavior::Flaky => self.wander(me.as_ref()),
            Behavior::Chase => match me.and_then(|me| nearest_player(session, self.me, &me)) {
                Some((target, me)) => self.chase(&me, &target),
                None => self.wander(me.as_ref()),
            },
        };
        self.ticks += 1;
        frame
    }

    fn wander(&mut self, me: Option<&EntityState>) -> InputFrame {
        if self.ticks >= self.turn_at {
            let tick_rate = u64::from(self.tick_rate);
            self.turn_at = self.ticks + self.rng.random_range(tick_rate..=3 * tick_rate);
            self.heading = random_heading(&mut self.rng);
            self.aim = self.rng.random();
        }
        if let Some(me) = me {
            self.heading = turn_from_walls(self.heading, me, self.arena);
        }
        // Sweep the aim slowly so that aim changes show up in deltas like a player's would.
        if self.rng.random_bool(0.1) {
            self.aim = self
                .aim
                .wrapping_add(self.rng.random_range(0..=4))
                .wrapping_sub(2);
        }
        let mut buttons = self.heading;
        if self.rng.random_bool(WANDER_FIRE_CHANCE) {
            buttons |= InputFrame::FIRE;
        }
        if self.heading != 0 && self.rng.random_bool(DASH_CHANCE) {
            buttons |= InputFrame::DASH;
        }
        InputFrame::new(buttons, self.aim)
    }

    fn chase(&mut self, me: &EntityState, target: &EntityState) -> InputFrame {
        let (dx, dy) = (target.x - me.x, target.y - me.y);
        let mut buttons = buttons_toward(dx, dy, CHASE_DEADZONE) | InputFrame::FIRE;
        if buttons & !InputFrame::FIRE != 0 && self.rng.random_bool(DASH_CHANCE) {
            buttons |= InputFrame::DASH;
        }
        self.aim = angle_of(i64::from(dx), i64::from(dy));
        InputFrame::new(buttons, self.aim)
    }
}

/// The nearest living player in view other than `me_id`, with `me`'s state.
fn nearest_player(
    session: &ClientSession,
    me_id: EntityId,
    me: &EntityState,
) -> Option<(EntityState, EntityState)> {
    if me.health == 0 {
        return None;
    }
    session
        .view()
        .entities
        .iter()
        .filter(|(id, s)| *id != me_id && s.kind == EntityKind::Player && s.health > 0)
        .min_by_key(|(_, s)| {
            let (dx, dy) = (i64::from(s.x - me.x), i64::from(s.y - me.y));
            dx * dx + dy * dy
        })
        .map(|(_, s)| (*s, *me))
}

/// Direction buttons that move toward `(dx, dy)`, ignoring an axis within `deadzone`.
pub fn buttons_toward(dx: i32, dy: i32, deadzone: i32) -> u8 {
    let mut buttons = 0;
    if dx > deadzone {
        buttons |= InputFrame::RIGHT;
    } else if dx < -deadzone {
        buttons |= InputFrame::LEFT;
    }
    if dy > deadzone {
        buttons |= InputFrame::DOWN;
    } else if dy < -deadzone {
        buttons |= InputFrame::UP;
    }
    buttons
}

/// One of the eight directions, or (rarely) standing still.
fn random_heading(rng: &mut SmallRng) -> u8 {
    const HEADINGS: [u8; 9] = [
        InputFrame::UP,
        InputFrame::DOWN,
        InputFrame::LEFT,
        InputFrame::RIGHT,
        InputFrame::UP | InputFrame::LEFT,
        InputFrame::UP | InputFrame::RIGHT,
        InputFrame::DOWN | InputFrame::LEFT,
        InputFrame::DOWN | InputFrame::RIGHT,
        0,
    ];
    HEADINGS[rng.random_range(0..HEADINGS.len())]
}

/// Turns a heading that presses into a nearby wall back toward the middle.
fn turn_from_walls(heading: u8, me: &EntityState, (width, height): (i32, i32)) -> u8 {
    let mut h = heading;
    let mut flip = |toward_low: u8, toward_high: u8, pos: i32, size: i32| {
        if h & toward_low != 0 && pos < WALL_MARGIN + PLAYER_RADIUS {
            h = (h & !toward_low) | toward_high;
        } else if h & toward_high != 0 && pos > size - WALL_MARGIN - PLAYER_RADIUS {
            h = (h & !toward_high) | toward_low;
        }
    };
    flip(InputFrame::LEFT, InputFrame::RIGHT, me.x, width);
    flip(InputFrame::UP, InputFrame::DOWN, me.y, height);
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tickwire_protocol::session::SessionConfig;

    #[test]
    fn one_input_per_tick_due_at_most_one_batch_and_never_twice() {
        let mut done = 0;
        assert_eq!(
            inputs_due(Duration::ZERO, 60.0, &mut done),
            1,
            "tick 0 is due at once"
        );
        assert_eq!(
            inputs_due(Duration::from_millis(10), 60.0, &mut done),
            0,
            "still within tick 0"
        );
        assert_eq!(
            inputs_due(Duration::from_millis(50), 60.0, &mut done),
            3,
            "ticks 1 to 3"
        );
        assert_eq!(done, 4);
        // Far behind: one batch, and the skipped ticks are not sent later.
        assert_eq!(inputs_due(Duration::from_secs(2), 60.0, &mut done), 8);
        assert_eq!(inputs_due(Duration::from_secs(2), 60.0, &mut done), 0);
    }

    fn welcome() -> Welcome {
        crate::fake_server::welcome(EntityId(1), 1)
    }

    fn session() -> ClientSession {
        ClientSession::new(SessionConfig::new("t"), Duration::ZERO)
    }

    #[test]
    fn idle_and_stall_send_nothing() {
        let s = session();
        for b in [Behavior::Idle, Behavior::Stall] {
            assert!(!b.sends_inputs());
            let mut m = Mind::new(b, &welcome(), 1);
            assert_eq!(m.next_input(&s), InputFrame::default());
        }
        assert!(!Behavior::Stall.reads_socket());
        assert!(Behavior::Wander.reads_socket() && Behavior::Wander.sends_inputs());
        assert!(Behavior::Flaky.reads_socket() && Behavior::Flaky.sends_inputs());
        assert!(Behavior::Flaky.drops_connection() && !Behavior::Wander.drops_connection());
    }

    #[test]
    fn wander_turns_every_one_to_three_seconds() {
        let s = session();
        let mut m = Mind::new(Behavior::Wander, &welcome(), 7);
        let mut turns = Vec::new();
        let mut last_turn_at = 0;
        for _ in 0..60 * 120 {
            m.next_input(&s);
            if m.turn_at != last_turn_at {
                turns.push(m.turn_at - last_turn_at);
                last_turn_at = m.turn_at;
            }
        }
        assert!(turns.len() > 30, "{} turns in two minutes", turns.len());
        // The first turn is at tick 0; every later gap is 1–3 s of ticks.
        assert!(
            turns[1..].iter().all(|gap| (60..=180).contains(gap)),
            "{turns:?}"
        );
    }

    #[test]
    fn wander_moves_and_fires_now_and_then() {
        let s = session();
        let mut m = Mind::new(Behavior::Wander, &welcome(), 3);
        let frames: Vec<InputFrame> = (0..60 * 60).map(|_| m.next_input(&s)).collect();
        let fired = frames.iter().filter(|f| f.held(InputFrame::FIRE)).count();
        let moving = frames.iter().filter(|f| f.direction() != (0, 0)).count();
        assert!(
            (10..=200).contains(&fired),
            "fired on {fired} ticks of 3600"
        );
        assert!(moving > frames.len() / 2, "moved on {moving} ticks");
    }

    #[test]
    fn the_same_seed_gives_the_same_inputs() {
        let s = session();
        let run = |seed| {
            let mut m = Mind::new(Behavior::Wander, &welcome(), seed);
            (0..500).map(|_| m.next_input(&s)).collect::<Vec<_>>()
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
    }

    #[test]
    fn walls_turn_a_wanderer_back() {
        let me = EntityState {
            x: PLAYER_RADIUS + 10,
            y: 50_000,
            ..Default::default()
        };
        let h = turn_from_walls(InputFrame::LEFT | InputFrame::UP, &me, (100_000, 100_000));
        assert_eq!(h, InputFrame::RIGHT | InputFrame::UP);
        let me = EntityState {
            x: 50_000,
            y: 100_000 - PLAYER_RADIUS,
            ..Default::default()
        };
        assert_eq!(
            turn_from_walls(InputFrame::DOWN, &me, (100_000, 100_000)),
            InputFrame::UP
        );
    }

    /// A welcomed session whose view holds `entities` at tick 10.
    fn session_seeing(entities: &[(EntityId, EntityState)]) -> ClientSession {
        use tickwire_protocol::codec::encode_server;
        use tickwire_protocol::delta::DeltaEncoder;
        use tickwire_protocol::message::{Delta, ServerMessage};
        let mut s = session();
        let mut buf = Vec::new();
        encode_server(&ServerMessage::Welcome(welcome()), &mut buf).expect("encodes");
        s.handle_bytes(&buf, Duration::ZERO).expect("welcome");
        let mut enc = DeltaEncoder::new();
        let d = enc.encode(None, 10, entities, |_| Some("p"));
        let msg = ServerMessage::Delta(Delta {
            tick: 10,
            baseline_age: d.baseline_age,
            last_input_seq: 0,
            payload: d.payload.to_vec(),
        });
        buf.clear();
        encode_server(&msg, &mut buf).expect("encodes");
        s.handle_bytes(&buf, Duration::ZERO).expect("delta");
        assert_eq!(s.view().entities.len(), entities.len());
        s
    }

    fn player(x: i32, y: i32) -> EntityState {
        EntityState {
            kind: EntityKind::Player,
            x,
            y,
            health: 100,
            ..Default::default()
        }
    }

    #[test]
    fn chase_heads_and_aims_for_the_nearest_player() {
        let s = session_seeing(&[
            (EntityId(1), player(50_000, 50_000)),
            (EntityId(2), player(60_000, 40_000)),
            (EntityId(3), player(20_000, 80_000)),
        ]);
        let mut m = Mind::new(Behavior::Chase, &welcome(), 1);
        let f = m.next_input(&s);
        assert!(
            f.held(InputFrame::RIGHT | InputFrame::UP | InputFrame::FIRE),
            "{f:?}"
        );
        assert_eq!(f.direction(), (1, -1));
        assert_eq!(f.aim, 224, "aims up-right (−45°)");
    }

    #[test]
    fn chase_wanders_when_alone() {
        let s = session_seeing(&[(EntityId(1), player(50_000, 50_000))]);
        let mut m = Mind::new(Behavior::Chase, &welcome(), 1);
        let moving = (0..600)
            .filter(|_| m.next_input(&s).direction() != (0, 0))
            .count();
        assert!(moving > 300, "moved on {moving} of 600 ticks");
    }

    #[test]
    fn buttons_point_at_the_target() {
        assert_eq!(buttons_toward(1000, 0, 10), InputFrame::RIGHT);
        assert_eq!(
            buttons_toward(-1000, -1000, 10),
            InputFrame::LEFT | InputFrame::UP
        );
        assert_eq!(buttons_toward(5, -5, 10), 0);
        assert_eq!(buttons_toward(0, 500, 10), InputFrame::DOWN);
    }
}
