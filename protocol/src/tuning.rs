//! Game constants shared by the server and every client.
//!
//! Distances are fixed-point "units": [`UNITS_PER_PIXEL`] units make one pixel.
//! Speeds are units per tick and accelerations units per tick², so the
//! simulation only ever adds and divides integers and runs identically on
//! native and wasm32.

/// Fixed-point units in one pixel.
pub const UNITS_PER_PIXEL: i32 = 16;
/// Default simulation rate, in ticks per second.
pub const DEFAULT_TICK_RATE: u16 = 60;
/// Default snapshot rate, in snapshots per second.
pub const DEFAULT_SNAPSHOT_RATE: u16 = 20;

/// Player body radius.
pub const PLAYER_RADIUS: i32 = 18 * UNITS_PER_PIXEL;
/// Acceleration along an axis while its key is held, units per tick².
pub const PLAYER_ACCEL: i32 = 10;
/// Friction: each tick velocity loses `velocity / FRICTION_DIVISOR`, rounded away from zero.
/// With [`PLAYER_ACCEL`] this settles at 70 units per tick (about 260 px/s).
pub const FRICTION_DIVISOR: i32 = 8;
/// Velocity added by a dash, units per tick.
pub const DASH_IMPULSE: i32 = 200;
/// Ticks between dashes.
pub const DASH_COOLDOWN_TICKS: u8 = 60;
/// Health of a freshly spawned player.
pub const MAX_HEALTH: u8 = 100;
/// Ticks a dead player waits before respawning.
pub const RESPAWN_TICKS: u32 = 180;
/// Ticks between two shots of one player.
pub const FIRE_COOLDOWN_TICKS: u32 = 12;

/// Projectile radius.
pub const PROJECTILE_RADIUS: i32 = 5 * UNITS_PER_PIXEL;
/// Projectile speed, units per tick (about 720 px/s at 60 Hz).
pub const PROJECTILE_SPEED: i32 = 192;
/// Ticks a projectile flies before it vanishes.
pub const PROJECTILE_LIFETIME_TICKS: u32 = 70;
/// Health a hit takes.
pub const PROJECTILE_DAMAGE: u8 = 20;

/// Orb radius.
pub const ORB_RADIUS: i32 = 8 * UNITS_PER_PIXEL;
/// Score for collecting an orb.
pub const ORB_SCORE: u32 = 1;
/// Score for a kill.
pub const KILL_SCORE: u32 = 10;

/// Longest player name, in bytes of UTF-8.
pub const MAX_NAME_BYTES: usize = 16;
