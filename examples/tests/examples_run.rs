//! Runs every example's `main` against an in-process simulated server.

#![allow(dead_code)]

#[path = "../examples/axum_handler.rs"]
mod axum_handler;
#[path = "../examples/std_threads.rs"]
mod std_threads;
#[path = "../examples/streaming.rs"]
mod streaming;
#[path = "../examples/tokio_tasks.rs"]
mod tokio_tasks;
#[path = "../examples/worker_loop.rs"]
mod worker_loop;

fn no_real_server() -> bool {
    std::env::var("OPENAI_BASE_URL").is_err()
}

#[test]
fn axum_handler_runs() {
    if no_real_server() {
        axum_handler::main().expect("axum_handler");
    }
}

#[test]
fn tokio_tasks_runs() {
    if no_real_server() {
        tokio_tasks::main().expect("tokio_tasks");
    }
}

#[test]
fn std_threads_runs() {
    if no_real_server() {
        std_threads::main().expect("std_threads");
    }
}

#[test]
fn worker_loop_runs() {
    if no_real_server() {
        worker_loop::main().expect("worker_loop");
    }
}

#[test]
fn streaming_runs() {
    if no_real_server() {
        streaming::main().expect("streaming");
    }
}
