//! Headless tickwire bots: the library behind the `bots` CLI and the
//! integration tests.
//!
//! - [`target`]: the server to connect to (URL checked and resolved once).
//! - [`connection`]: one WebSocket connection driving a sans-IO `ClientSession`.
//! - [`error`]: why a connection failed or ended.
//! - [`behavior`]: what a bot does each tick (wander, idle, chase, stall, flaky).
//! - [`bot`]: one bot: a connection played by a behaviour, counting what it sees.
//! - [`counters`]: one bot's counters.
//! - [`stats`]: the swarm-wide totals they add up to, with latency histograms.
//! - [`swarm`]: many bots with ramp-up, progress and a clean stop.
//! - [`report`]: a swarm's result, as a table and as JSON.
//! - [`find_max`]: grows a swarm step by step to the most bots a server holds.
//! - [`server_metrics`]: the server's own figures (tick time, memory, CPU) from its `/metrics`.
//! - [`prom`]: a small reader for the Prometheus text format.
//! - [`http_get`]: plain HTTP GETs of small text pages.
//! - [`own_cpu`]: the bots' own CPU time, to report next to the server's.
//! - [`memory_probe`]: how fast this machine's memory answers now, recorded with find-max figures.
//! - [`scrape`]: a server's `/metrics` and `/rooms`, read over HTTP.
//! - [`shards`]: the threads bots run on, one single-threaded runtime each.
//! - [`soak`]: bots joining, playing and leaving for a long while, then a check for leaks.
//! - [`cli`]: logging and exit codes shared by the `bots` and `soak` binaries.

pub mod behavior;
pub mod bot;
pub mod cli;
pub mod connection;
pub mod counters;
pub mod error;
pub mod find_max;
pub mod http_get;
pub mod memory_probe;
pub mod own_cpu;
pub mod prom;
pub mod report;
pub mod scrape;
pub mod server_metrics;
pub mod shards;
pub mod soak;
pub mod stats;
pub mod swarm;
pub mod target;

#[cfg(test)]
mod fake_server;

pub use behavior::{Behavior, Mind};
pub use bot::{BotConfig, BotEnd, BotOutcome, run_bot};
pub use connection::{Connection, Traffic, Wake};
pub use counters::{BotCounters, Counts};
pub use error::BotError;
pub use find_max::{FindMaxConfig, FindMaxReport, run_find_max};
pub use report::Report;
pub use stats::SwarmStats;
pub use swarm::{SwarmConfig, run_swarm};
pub use target::Target;
