//! `bots`: runs a swarm of headless bots against a tickwire server and reports.
//!
//! ```text
//! bots --url ws://127.0.0.1:8080/ws --bots 1000 --seconds 30 --behavior wander --json report.json
//! bots --url ws://127.0.0.1:8080/ws --find-max --start 250 --step 250 --max 6000 --json max.json
//! ```
//! Exit status: 0 when every delta applied and every message decoded, 2 when
//! any bot saw a desync or a decode error, 1 when the swarm could not run.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use serde::Serialize;
use tickwire_protocol::message::MAX_INPUTS_PER_BATCH;
use tickwire_tests::bot::{DEFAULT_RECONNECT_CHANCE, INPUTS_PER_WAKE};
use tickwire_tests::cli;

/// mimalloc: the bots allocate small buffers for every message; it is cheaper
/// than the system allocator for that. (The server keeps the system allocator:
/// mimalloc cost it about 6 KiB of RSS per idle player; see bench/README.md.)
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use tickwire_tests::find_max::{StepPhase, StepProgress};
use tickwire_tests::shards::default_threads;
use tickwire_tests::swarm::{Phase, Progress};
use tickwire_tests::{Behavior, FindMaxConfig, SwarmConfig, run_find_max, run_swarm};

/// Run a swarm of headless bots against a tickwire server, then print a
/// report (and optionally write it as JSON).
///
/// Each bot is one WebSocket connection. Thousands of bots need as many file
/// descriptors: raise the limit first, e.g. `ulimit -n 65536`.
///
/// With `--find-max`, bots are added step by step instead, and the report
/// gives the most bots the server held (see `--start`, `--step`, `--max`,
/// `--hold-seconds`).
#[derive(Debug, Parser)]
#[command(name = "bots", version)]
struct Args {
    /// WebSocket URL of the server.
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws")]
    url: String,
    /// Number of bots to run.
    #[arg(long, default_value_t = 100)]
    bots: usize,
    /// Seconds to run once every bot is started and connected (the steady
    /// period that per-bot rates are measured over).
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// What every bot does: wander (moves at random, fires now and then),
    /// idle (connects, sends no inputs), chase (hunts the nearest player in
    /// view), stall (connects, then stops reading its socket), flaky (wanders,
    /// drops its TCP connection at random and resumes its player on a new one).
    #[arg(long, value_enum, default_value_t = Behavior::Wander)]
    behavior: Behavior,
    /// Also run this many stalled bots (they connect, then stop reading
    /// their sockets), started after the others. The report's figures are the
    /// other bots' alone; the stalled bots are counted apart.
    #[arg(long, value_name = "N", default_value_t = 0)]
    stall: usize,
    /// For `--behavior flaky`: the chance per second that a bot drops its
    /// connection (without a close frame) and reconnects with its resume token.
    #[arg(long, value_name = "P")]
    reconnect_chance: Option<f64>,
    /// Find the most bots the server holds: start with `--start` bots, add
    /// `--step` at a time up to `--max`, holding each step `--hold-seconds`.
    /// A step is held when every bot stays connected, nothing desyncs, the
    /// server's tick p99 (from its /metrics) stays under half the tick
    /// budget, and the bots' input-to-ack p99 under 100 ms. Stops at the
    /// first step not held. `--bots` and `--seconds` do not apply.
    #[arg(long, conflicts_with_all = ["bots", "seconds", "stall"])]
    find_max: bool,
    /// With `--find-max`: bots in the first step.
    #[arg(long, default_value_t = 250, requires = "find_max")]
    start: usize,
    /// With `--find-max`: bots added at each step.
    #[arg(long, default_value_t = 250, requires = "find_max")]
    step: usize,
    /// With `--find-max`: the most bots to try (the last step has exactly this many).
    #[arg(long, default_value_t = 6000, requires = "find_max")]
    max: usize,
    /// With `--find-max`: seconds each step is held and measured once its bots are connected.
    #[arg(long, default_value_t = 20.0, requires = "find_max")]
    hold_seconds: f64,
    /// With `--find-max`: after each step's ramp, wait up to this many seconds
    /// for the bots' ack p99 (per second) to stay under the limit for 2 s
    /// before the hold begins, and report the wait. 0 (the default): the hold
    /// begins a second after the last bot connects, ramp transient included.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 0.0,
        requires = "find_max"
    )]
    settle_seconds: f64,
    /// Inputs each bot sends per message: a bot wakes this many simulation
    /// ticks apart (every 50 ms at 3 and 60 Hz) and sends one input per tick
    /// since its last wake-up. Fewer means more messages (and more CPU on
    /// both sides); the report shows the value used.
    #[arg(long, value_name = "N", default_value_t = INPUTS_PER_WAKE,
          value_parser = clap::value_parser!(u32).range(1..=MAX_INPUTS_PER_BATCH as i64))]
    inputs_per_message: u32,
    /// Bots started per second during ramp-up.
    #[arg(long, default_value_t = 200.0)]
    ramp_per_sec: f64,
    /// Also write the report as JSON to this file.
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// Bot names are this prefix followed by the bot's number.
    #[arg(long, default_value = "bot")]
    name_prefix: String,
    /// Seed of the bots' random choices, for repeatable runs.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The server's join-token secret, for a server started with one: each
    /// bot then signs a token for its own name.
    #[arg(long, env = "TICKWIRE_TOKEN_SECRET", hide_env_values = true)]
    token_secret: Option<String>,
    /// Threads the bots run on, each a single-threaded async runtime that
    /// keeps its bots for good. One is the cheapest per bot and leaves the
    /// other cores to a server on the same machine; raise it when the bots'
    /// own CPU nears 100% of a core (see the report).
    #[arg(long, default_value_t = default_threads(),
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    threads: usize,
    /// Print no progress lines.
    #[arg(long)]
    quiet: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    cli::init_logging();
    cli::exit_code("bots", run(args))
}

/// Runs the swarm (or find-max); `Ok(false)` when a bot saw a desync or decode error.
fn run(args: Args) -> anyhow::Result<bool> {
    let reconnect_chance = match (args.reconnect_chance, args.behavior) {
        (Some(p), Behavior::Flaky) => {
            anyhow::ensure!(
                (0.0..=1.0).contains(&p),
                "--reconnect-chance must be from 0 to 1"
            );
            p
        }
        (Some(_), other) => {
            anyhow::bail!("--reconnect-chance applies to --behavior flaky, not {other}")
        }
        (None, _) => DEFAULT_RECONNECT_CHANCE,
    };
    warn_about_fd_limit(if args.find_max {
        args.max
    } else {
        args.bots + args.stall
    });
    // The bots get threads of their own (`--threads`); this runtime only
    // ramps, watches and reports.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let threads = args.threads;
    let quiet = args.quiet;
    let token_secret = args.token_secret.clone().map(String::into_bytes);
    let clean = if args.find_max {
        let config = FindMaxConfig {
            url: args.url.clone(),
            start: args.start,
            step: args.step,
            max: args.max,
            hold_seconds: args.hold_seconds,
            settle_seconds: args.settle_seconds,
            ramp_per_sec: args.ramp_per_sec,
            behavior: args.behavior,
            name_prefix: args.name_prefix.clone(),
            seed: args.seed,
            token_secret,
            reconnect_chance,
            inputs_per_message: args.inputs_per_message,
            threads,
            ..FindMaxConfig::default()
        };
        let report = runtime.block_on(run_find_max(config, |p| {
            if !quiet {
                print_step_progress(p);
            }
        }))?;
        finish(&report, &args)?;
        report.is_clean()
    } else {
        let config = SwarmConfig {
            url: args.url.clone(),
            bots: args.bots,
            seconds: args.seconds,
            ramp_per_sec: args.ramp_per_sec,
            behavior: args.behavior,
            name_prefix: args.name_prefix.clone(),
            seed: args.seed,
            token_secret,
            stall: args.stall,
            reconnect_chance,
            inputs_per_message: args.inputs_per_message,
            threads,
        };
        let report = runtime.block_on(run_swarm(config, |p| {
            if !quiet {
                print_progress(p);
            }
        }))?;
        finish(&report, &args)?;
        if !report.is_clean() {
            eprintln!(
                "bots: {} desyncs, {} decode errors",
                report.desyncs, report.decode_errors
            );
        }
        report.is_clean()
    };
    // Let bot tasks that were cut off finish dropping.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    Ok(clean)
}

/// Prints the table and writes the JSON file, if asked for.
fn finish(report: &(impl std::fmt::Display + Serialize), args: &Args) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    write!(out, "{report}")?;
    out.flush()?;
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(report)?;
        std::fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn print_progress(p: &Progress) {
    let phase = match p.phase {
        Phase::RampUp => "ramp",
        Phase::Steady => "run ",
    };
    let stalled = if p.stalled > 0 {
        format!(" (+{} stalled)", p.stalled)
    } else {
        String::new()
    };
    eprintln!(
        "[{phase} {:>6.1}s] bots {:>5} connected / {:>5} started{stalled}, {} lost | {:>8.0} snapshots/s | {:>8.1} kB/s down | ack p99 {:>6.1} ms | errors {}",
        p.elapsed.as_secs_f64(),
        p.connected,
        p.launched,
        p.disconnected,
        p.snapshots_per_sec,
        p.down_kb_per_sec,
        p.ack_p99_ms,
        p.errors,
    );
}

fn print_step_progress(p: &StepProgress) {
    let s = &p.swarm;
    let phase = match p.phase {
        StepPhase::Ramp => format!("ramp {:>4.1}s", p.elapsed.as_secs_f64()),
        StepPhase::Settle => format!("settle {:>4.1}s", p.elapsed.as_secs_f64()),
        StepPhase::Hold => format!(
            "hold {:>4.1}/{:.0}s",
            p.elapsed.as_secs_f64(),
            p.hold_seconds
        ),
    };
    let mut line = format!(
        "[step {:>2} {:>5} bots {phase}] {:>5} connected / {:>5} started, {} lost | {:>7.0} snapshots/s",
        p.step, p.bots, s.connected, s.launched, s.disconnected, s.snapshots_per_sec,
    );
    if let Some(ack) = p.hold_ack_p99_ms {
        line += &format!(" | ack p99 {ack:>6.1} ms");
    }
    if let Some(ack) = p.last_ack_p99_ms {
        line += &format!(" (last 1 s {ack:>6.1})");
    }
    if let Some(cpu) = p.last_server_cpu_percent {
        line += &format!(" | server cpu {cpu:>3.0}%");
    }
    if let Some(tick) = p.tick_p99_ms {
        line += &format!(" | tick p99 {tick:>5.2} ms");
    }
    if let Some(rss) = p.rss_bytes {
        line += &format!(" | rss {:>6.1} MiB", tickwire_tests::report::mib(rss));
    }
    line += &format!(" | errors {}", s.errors);
    eprintln!("{line}");
}

/// Warns when the open-file limit is too low for this many sockets (Linux).
fn warn_about_fd_limit(bots: usize) {
    let Ok(limits) = std::fs::read_to_string("/proc/self/limits") else {
        return;
    };
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(soft) = soft
        && bots + 64 > soft
    {
        eprintln!(
            "bots: warning: {bots} bots need about {} file descriptors but the limit is {soft}; raise it with `ulimit -n {}`",
            bots + 64,
            (bots + 64).next_power_of_two()
        );
    }
}
