//! `hone-redis-worker SPEC.json`: runs a stand-alone worker described by a
//! [`WorkerSpec`](hone_redis::WorkerSpec) JSON file until SIGINT or SIGTERM. Used by the
//! tests and benchmarks as a separate process; `hone worker` is the user-facing command.

use std::process::ExitCode;

use hone_redis::{WorkerSpec, run_worker};

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: hone-redis-worker SPEC.json");
        return ExitCode::from(2);
    };
    let spec: WorkerSpec = match std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("hone-redis-worker: cannot read {path}: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hone-redis-worker: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run_worker(
        &spec,
        &hone_lm::Env::from_process(),
        shutdown_signal(),
    )) {
        Ok(stats) => {
            eprintln!("hone-redis-worker: stopped: {stats:?}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hone-redis-worker: {e}");
            ExitCode::FAILURE
        }
    }
}
