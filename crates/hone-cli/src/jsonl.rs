//! A long-lived external process spoken to in JSON lines: one request line on its stdin, one
//! answer line on its stdout. The command metric and command tools both run on it.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::sync::Mutex;

struct Proc {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Proc {
    /// Kills the process and waits for it, so no zombie is left behind.
    async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

/// A command started on first use, in `dir`, and kept running; its stderr is inherited. A
/// failed exchange (a pipe failure, no answer within the timeout, an answer the caller
/// rejects through [`JsonLinesProcess::restart`]) kills and reaps the process, so the next
/// exchange starts it again; dropping it kills and reaps it too.
pub struct JsonLinesProcess {
    command: Vec<String>,
    dir: PathBuf,
    timeout: Option<Duration>,
    proc: Mutex<Option<Proc>>,
}

impl Drop for JsonLinesProcess {
    fn drop(&mut self) {
        if let Some(proc) = self.proc.get_mut().as_mut() {
            // A killed process exits within milliseconds: wait up to a second for it rather
            // than leave a zombie behind.
            let _ = proc.child.start_kill();
            for _ in 0..100 {
                if !matches!(proc.child.try_wait(), Ok(None)) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

impl std::fmt::Debug for JsonLinesProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonLinesProcess")
            .field("command", &self.command)
            .finish_non_exhaustive()
    }
}

impl JsonLinesProcess {
    /// A process running `command` (program and arguments) in `dir`, not yet started.
    pub fn new(command: Vec<String>, dir: PathBuf) -> Self {
        JsonLinesProcess {
            command,
            dir,
            timeout: None,
            proc: Mutex::new(None),
        }
    }

    /// Fails an exchange whose answer does not arrive within `timeout` (the process is then
    /// killed and started again on the next exchange).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Kills and reaps the process (after an answer the caller cannot use); the next exchange
    /// starts it again.
    pub async fn restart(&self) {
        let proc = self.proc.lock().await.take();
        if let Some(proc) = proc {
            proc.stop().await;
        }
    }

    /// The command, for messages.
    pub fn command(&self) -> &[String] {
        &self.command
    }

    /// Writes `line` and a newline, and reads one answer line (without its newline). Exchanges
    /// are one at a time. The error says what failed, for the caller to wrap.
    pub async fn exchange(&self, line: &str) -> Result<String, String> {
        let mut guard = self.proc.lock().await;
        if guard.is_none() {
            let (program, args) = self
                .command
                .split_first()
                .ok_or_else(|| "the command is empty".to_owned())?;
            let mut child = tokio::process::Command::new(program)
                .args(args)
                .current_dir(&self.dir)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| format!("cannot start `{program}`: {e}"))?;
            let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
                return Err("cannot open the command's stdin and stdout".into());
            };
            *guard = Some(Proc {
                child,
                stdin,
                stdout: BufReader::new(stdout),
            });
        }
        let Some(proc) = guard.as_mut() else {
            return Err("the command is not running".into());
        };
        let io = |e: std::io::Error| format!("the command's pipe failed: {e}");
        let exchange = async {
            proc.stdin.write_all(line.as_bytes()).await.map_err(io)?;
            proc.stdin.write_all(b"\n").await.map_err(io)?;
            proc.stdin.flush().await.map_err(io)?;
            let mut answer = String::new();
            let n = proc.stdout.read_line(&mut answer).await.map_err(io)?;
            if n == 0 {
                return Err(
                    "the command exited instead of answering (see its stderr above)".into(),
                );
            }
            Ok(answer.trim_end().to_owned())
        };
        let result = match self.timeout {
            None => exchange.await,
            Some(t) => tokio::time::timeout(t, exchange).await.unwrap_or_else(|_| {
                Err(format!(
                    "no answer within {t:?}; the command was stopped and will be started again"
                ))
            }),
        };
        if result.is_err()
            && let Some(proc) = guard.take()
        {
            proc.stop().await;
        }
        result
    }
}
