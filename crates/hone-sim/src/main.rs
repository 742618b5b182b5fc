//! `hone-sim`: runs the simulated OpenAI-compatible server until ctrl-c.
//! The first line on stdout is `listening on http://127.0.0.1:PORT/v1`.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use hone_sim::{SimConfig, run_blocking};

/// A simulated OpenAI-compatible LM server with learnable tasks and fault injection.
#[derive(Debug, Parser)]
#[command(name = "hone-sim", version)]
struct Args {
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

fn main() -> ExitCode {
    let args = Args::parse();
    let config = SimConfig {
        port: args.port,
        latency: Duration::from_millis(args.latency_ms),
        jitter: Duration::from_millis(args.jitter_ms),
        seed: args.seed,
        ..SimConfig::default()
    };
    let result = run_blocking(config, |handle| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on {}", handle.base_url());
        let _ = out.flush();
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hone-sim: {e}");
            ExitCode::FAILURE
        }
    }
}
