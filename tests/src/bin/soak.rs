//! `soak`: churn of bots joining, playing and leaving, then a check that the
//! server let go of every session and player.
//!
//! ```text
//! soak --url ws://127.0.0.1:8080/ws --seconds 600 --joins 100000 --concurrency 200
//! ```
//! Exit status: 0 when nothing leaked and no delta failed to apply, 2 when a
//! session or player leaked or a bot saw a desync, 1 when the run could not
//! be made (bad URL, server unreachable).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use tickwire_tests::Behavior;
use tickwire_tests::cli;
use tickwire_tests::soak::{SoakConfig, SoakProgress, run_soak};

/// Soak a tickwire server: bots join, play a random short while, and leave
/// (some with a clean close, some by dropping their connection), over and
/// over with about `--concurrency` connected, until `--seconds` pass or
/// `--joins` bots have been launched. Then wait for the server to settle and
/// report, from its /metrics and /rooms, the sessions and players it still
/// holds (leaks), its memory before and after, joins, desyncs and errors.
#[derive(Debug, Parser)]
#[command(name = "soak", version)]
struct Args {
    /// WebSocket URL of the server; /metrics and /rooms are read from the same host and port.
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws")]
    url: String,
    /// Seconds to keep launching bots (the run ends earlier when --joins is reached).
    #[arg(long, default_value_t = 60.0)]
    seconds: f64,
    /// Bots connected (or connecting) at once; a new one starts as soon as one leaves.
    #[arg(long, default_value_t = 50)]
    concurrency: usize,
    /// Stop launching after this many bots, even before --seconds have passed.
    #[arg(long)]
    joins: Option<u64>,
    /// Share of bots (0 to 1) that leave by dropping the TCP connection
    /// without a close frame; the rest close cleanly. The server keeps a
    /// dropped player for its resume window, so the final check waits that long.
    #[arg(long, default_value_t = 0.5)]
    drop_fraction: f64,
    /// Shortest time a bot plays after its Welcome, seconds.
    #[arg(long, default_value_t = 0.5)]
    min_play_secs: f64,
    /// Longest time a bot plays after its Welcome, seconds (each bot picks uniformly in between).
    #[arg(long, default_value_t = 5.0)]
    max_play_secs: f64,
    /// Seconds the server gets to settle at the end beyond its resume window
    /// (taken from the Welcome), before leftover sessions and players count as leaks.
    #[arg(long, default_value_t = 3.0)]
    settle_margin_secs: f64,
    /// What bots do while they play: wander, idle, chase (stall makes no sense here).
    #[arg(long, value_enum, default_value_t = Behavior::Wander)]
    behavior: Behavior,
    /// Bot names are this prefix followed by the bot's number.
    #[arg(long, default_value = "soak")]
    name_prefix: String,
    /// Seed of the run's random choices (play times, who drops, bots' moves).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The server's join-token secret, for a server started with one: each
    /// bot then signs a token for its own name.
    #[arg(long, env = "TICKWIRE_TOKEN_SECRET", hide_env_values = true)]
    token_secret: Option<String>,
    /// Also write the report as JSON to this file.
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// Worker threads of the async runtime (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Print no progress lines.
    #[arg(long)]
    quiet: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    cli::init_logging();
    cli::exit_code("soak", run(args))
}

/// Runs the soak; `Ok(false)` when something leaked or a bot saw a desync.
fn run(args: Args) -> anyhow::Result<bool> {
    let secs = |s: f64, flag: &str| {
        Duration::try_from_secs_f64(s)
            .with_context(|| format!("{flag} must be a non-negative number"))
    };
    let config = SoakConfig {
        url: args.url,
        seconds: args.seconds,
        concurrency: args.concurrency,
        joins: args.joins,
        drop_fraction: args.drop_fraction,
        min_play: secs(args.min_play_secs, "--min-play-secs")?,
        max_play: secs(args.max_play_secs, "--max-play-secs")?,
        settle_margin: secs(args.settle_margin_secs, "--settle-margin-secs")?,
        behavior: args.behavior,
        name_prefix: args.name_prefix,
        seed: args.seed,
        token_secret: args.token_secret.map(String::into_bytes),
    };
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    if let Some(n) = args.threads {
        runtime.worker_threads(n.max(1));
    }
    let runtime = runtime.build().context("starting the async runtime")?;
    let quiet = args.quiet;
    let report = runtime.block_on(run_soak(config, |p| {
        if !quiet {
            print_progress(p);
        }
    }))?;
    runtime.shutdown_timeout(Duration::from_secs(1));

    let mut out = std::io::stdout().lock();
    write!(out, "{report}")?;
    out.flush()?;
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    if !report.is_clean() {
        eprintln!(
            "soak: {} leaked sessions, {} leaked players, {} desyncs",
            report.leaked_sessions, report.leaked_players, report.desyncs
        );
    }
    Ok(report.is_clean())
}

fn print_progress(p: &SoakProgress) {
    let phase = if p.launching { "run " } else { "last" };
    eprintln!(
        "[{phase} {:>7.1}s] joins {:>7} / {:>7} launched | connected {:>5} | desyncs {} | errors {}",
        p.elapsed.as_secs_f64(),
        p.joins,
        p.launched,
        p.connected,
        p.desyncs,
        p.errors,
    );
}
