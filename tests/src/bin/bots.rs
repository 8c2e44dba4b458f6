//! `bots`: runs a swarm of headless bots against a tickwire server and reports.
//!
//! ```text
//! bots --url ws://127.0.0.1:8080/ws --bots 1000 --seconds 30 --behavior wander --json report.json
//! ```
//! Exit status: 0 when every delta applied and every message decoded, 2 when
//! any bot saw a desync or a decode error, 1 when the swarm could not run.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use tickwire_tests::swarm::{Phase, Progress};
use tickwire_tests::{Behavior, SwarmConfig, run_swarm};

/// Run a swarm of headless bots against a tickwire server, then print a
/// report (and optionally write it as JSON).
///
/// Each bot is one WebSocket connection. Thousands of bots need as many file
/// descriptors: raise the limit first, e.g. `ulimit -n 65536`.
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
    /// view), stall (connects, then stops reading its socket).
    #[arg(long, value_enum, default_value_t = Behavior::Wander)]
    behavior: Behavior,
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
    /// Worker threads of the async runtime (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Print no progress lines.
    #[arg(long)]
    quiet: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(2),
        Err(err) => {
            eprintln!("bots: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the swarm; `Ok(false)` when a bot saw a desync or decode error.
fn run(args: Args) -> anyhow::Result<bool> {
    warn_about_fd_limit(args.bots);
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    if let Some(n) = args.threads {
        runtime.worker_threads(n.max(1));
    }
    let runtime = runtime.build().context("starting the async runtime")?;
    let config = SwarmConfig {
        url: args.url,
        bots: args.bots,
        seconds: args.seconds,
        ramp_per_sec: args.ramp_per_sec,
        behavior: args.behavior,
        name_prefix: args.name_prefix,
        seed: args.seed,
        token_secret: args.token_secret.map(String::into_bytes),
    };
    let quiet = args.quiet;
    let report = runtime.block_on(run_swarm(config, |p| {
        if !quiet {
            print_progress(p);
        }
    }))?;
    // Let bot tasks that were cut off finish dropping before the table.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));

    let mut out = std::io::stdout().lock();
    write!(out, "{report}")?;
    out.flush()?;
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    if !report.is_clean() {
        eprintln!(
            "bots: {} desyncs, {} decode errors",
            report.desyncs, report.decode_errors
        );
    }
    Ok(report.is_clean())
}

fn print_progress(p: &Progress) {
    let phase = match p.phase {
        Phase::RampUp => "ramp",
        Phase::Steady => "run ",
    };
    eprintln!(
        "[{phase} {:>6.1}s] bots {:>5} connected / {:>5} started, {} lost | {:>8.0} snapshots/s | {:>8.1} kB/s down | ack p99 {:>6.1} ms | errors {}",
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
