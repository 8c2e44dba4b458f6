//! What the `bots` and `soak` binaries share: logging set-up and exit codes.

use std::process::ExitCode;

/// Logs to stderr at `warn`, or as `RUST_LOG` says.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
}

/// The exit code for a run's outcome: 0 when it was clean, 2 when it ran but
/// found a problem (a desync, a decode error, a leak), 1 when it could not run
/// (the error is printed, prefixed with `program`).
pub fn exit_code(program: &str, outcome: anyhow::Result<bool>) -> ExitCode {
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(2),
        Err(err) => {
            #[allow(clippy::print_stderr)] // the CLI's own error report
            {
                eprintln!("{program}: {err:#}");
            }
            ExitCode::FAILURE
        }
    }
}
