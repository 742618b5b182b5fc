//! `hone sim`: the simulated OpenAI-compatible server, until Ctrl-C.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use hone_sim::{SimConfig, run_blocking};

/// Arguments of `hone sim` (the same as the `hone-sim` binary's).
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:
  hone sim --port 8090 &
  hone optimize qa.toml --out runs/qa --base-url http://127.0.0.1:8090/v1

The first line on stdout is `listening on http://127.0.0.1:PORT/v1`.")]
pub struct SimArgs {
    /// Port on 127.0.0.1 to listen on; 0 picks a free port.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Base latency of every /v1 response, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Maximum deviation from the latency, in milliseconds.
    #[arg(long, default_value_t = 0)]
    jitter_ms: u64,
    /// Seed of the simulated model's draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// Serves until Ctrl-C.
pub fn run(args: &SimArgs) -> anyhow::Result<bool> {
    let config = SimConfig {
        port: args.port,
        latency: Duration::from_millis(args.latency_ms),
        jitter: Duration::from_millis(args.jitter_ms),
        seed: args.seed,
        ..SimConfig::default()
    };
    run_blocking(config, |handle| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on {}", handle.base_url());
        let _ = out.flush();
    })
    .context("the simulated server failed")?;
    Ok(true)
}
