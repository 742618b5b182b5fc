//! A throwaway `redis-server` on 127.0.0.1 for tests and benchmarks: a free port, a temporary
//! directory, no persistence unless asked (to restart it with its data); killed when dropped.

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
    persistent: bool,
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

    /// Like [`start`](Self::start), with every write appended to a file in its directory
    /// (`appendfsync always`), so that [`restart`](Self::restart) keeps the data, as a
    /// production server with persistence does.
    pub fn start_persistent(binary: &str) -> Result<LocalRedis, Error> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| Error::Server {
                binary: binary.to_owned(),
                message: format!("no free port on 127.0.0.1: {e}"),
            })?;
        LocalRedis::launch(binary, port, true)
    }

    /// Starts `binary` on `port` (to restart a server where clients expect it).
    pub fn start_on(binary: &str, port: u16) -> Result<LocalRedis, Error> {
        LocalRedis::launch(binary, port, false)
    }

    fn launch(binary: &str, port: u16, persistent: bool) -> Result<LocalRedis, Error> {
        let fail = |message: String| Error::Server {
            binary: binary.to_owned(),
            message,
        };
        let dir = std::env::temp_dir().join(format!("hone-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
        let child = spawn(binary, port, &dir, persistent)?;
        let mut server = LocalRedis {
            child,
            port,
            dir,
            binary: binary.to_owned(),
            persistent,
        };
        server.wait_ready()?;
        Ok(server)
    }

    /// Stops the server (SIGKILL) and starts it again on the same port and directory; a
    /// [`persistent`](Self::start_persistent) server comes back with its data, any other
    /// empty. Waits until it answers `PING`.
    pub fn restart(&mut self) -> Result<(), Error> {
        self.kill();
        self.child = spawn(&self.binary, self.port, &self.dir, self.persistent)?;
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> Result<(), Error> {
        let (binary, port) = (self.binary.clone(), self.port);
        let fail = |message: String| Error::Server {
            binary: binary.clone(),
            message,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.ping() {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(fail(format!(
                    "it exited at start ({status}); is port {port} taken?"
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
        Err(fail(format!(
            "it did not answer PING on port {port} within 10 s"
        )))
    }

    fn ping(&self) -> bool {
        // A server loading its append-only file answers `-LOADING`, not `+PONG`: not ready.
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

    /// Kills the server (SIGKILL). Its data is lost unless it is persistent and restarted.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(binary: &str, port: u16, dir: &std::path::Path, persistent: bool) -> Result<Child, Error> {
    let persistence: &[&str] = if persistent {
        &["--appendonly", "yes", "--appendfsync", "always"]
    } else {
        &["--appendonly", "no"]
    };
    Command::new(binary)
        .arg("--port")
        .arg(port.to_string())
        .args(["--bind", "127.0.0.1", "--save", ""])
        .args(persistence)
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| Error::Server {
            binary: binary.to_owned(),
            message: format!(
                "{e}. Install it (Debian: apt-get install redis-server) or put it on PATH"
            ),
        })
}

impl Drop for LocalRedis {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
