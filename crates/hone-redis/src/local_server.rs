//! A throwaway `redis-server` on 127.0.0.1 for tests and benchmarks: a free port, a temporary
//! directory, no persistence; killed when dropped.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::Error;

/// A `redis-server` child process.
#[derive(Debug)]
pub struct LocalRedis {
    child: Child,
    port: u16,
    dir: PathBuf,
    binary: String,
}

impl LocalRedis {
    /// Whether `binary` (e.g. `redis-server`) can be run.
    pub fn available(binary: &str) -> bool {
        Command::new(binary)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Starts `binary` on a free port and waits until it answers `PING`.
    pub fn start(binary: &str) -> Result<LocalRedis, Error> {
        let fail = |message: String| Error::Server {
            binary: binary.to_owned(),
            message,
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| fail(format!("no free port on 127.0.0.1: {e}")))?;
        LocalRedis::start_on(binary, port)
    }

    /// Starts `binary` on `port` (to restart a server where clients expect it).
    pub fn start_on(binary: &str, port: u16) -> Result<LocalRedis, Error> {
        let fail = |message: String| Error::Server {
            binary: binary.to_owned(),
            message,
        };
        let dir = std::env::temp_dir().join(format!("hone-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
        let child = Command::new(binary)
            .arg("--port")
            .arg(port.to_string())
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                fail(format!(
                    "{e}. Install it (Debian: apt-get install redis-server) or put it on PATH"
                ))
            })?;
        let mut server = LocalRedis {
            child,
            port,
            dir,
            binary: binary.to_owned(),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if server.ping() {
                return Ok(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(fail(format!(
                    "it exited at start ({status}); is port {port} taken?"
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        server.kill();
        Err(fail(format!(
            "it did not answer PING on port {port} within 10 s"
        )))
    }

    fn ping(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
        let mut buf = [0u8; 7];
        s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The binary it was started from.
    pub fn binary(&self) -> &str {
        &self.binary
    }

    /// Kills the server (its data is lost: it keeps none on disk).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for LocalRedis {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
