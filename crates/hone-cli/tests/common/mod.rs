//! What the CLI tests share: the `hone` binary as a command, `hone sim` as a child process, and
//! checks of a finished command.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

/// The `hone` binary under test.
pub const HONE: &str = env!("CARGO_BIN_EXE_hone");

/// `hone` with no OpenAI settings from the environment.
pub fn command() -> Command {
    let mut cmd = Command::new(HONE);
    cmd.env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL");
    cmd
}

/// Runs `hone ARGS` to the end.
pub fn hone(args: &[&str]) -> Output {
    command()
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run hone: {e}"))
}

/// A child process killed when dropped (also when a test fails).
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `hone sim` as a child process, killed when dropped.
pub struct Sim {
    process: Process,
    /// Its base URL (`http://127.0.0.1:PORT/v1`).
    pub url: String,
}

impl Sim {
    /// Starts `hone sim --port 0 EXTRA...` and reads the URL it listens on.
    pub fn start(extra: &[&str]) -> Sim {
        let mut child = command()
            .args(["sim", "--port", "0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start hone sim: {e}"));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let process = Process(child);
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap_or_else(|e| panic!("cannot read hone sim's first line: {e}"));
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Sim { process, url }
    }
}

/// Bytes as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The standard output of a command that must have succeeded.
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// A file's text.
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A redis-server of our own ([persistent](hone_redis::LocalRedis::start_persistent) when
/// asked), or `None` (with a message) outside CI when it is missing.
pub fn redis_server_with(persistent: bool) -> Option<hone_redis::LocalRedis> {
    use hone_redis::LocalRedis;
    let binary = std::env::var("HONE_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
    if !LocalRedis::available(&binary) {
        let msg = format!(
            "`{binary}` is not installed: this test needs a real Redis. Install it with \
             `apt-get install redis-server` (scripts/test does) or set HONE_REDIS_SERVER"
        );
        if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
            panic!("{msg}");
        }
        eprintln!("SKIPPED: {msg}");
        return None;
    }
    let server = if persistent {
        LocalRedis::start_persistent(&binary)
    } else {
        LocalRedis::start(&binary)
    };
    Some(server.unwrap_or_else(|e| panic!("{e}")))
}

/// A redis-server of our own without persistence; see [`redis_server_with`].
pub fn redis_server() -> Option<hone_redis::LocalRedis> {
    redis_server_with(false)
}
