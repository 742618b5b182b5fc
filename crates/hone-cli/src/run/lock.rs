//! [`RunLock`]: one process at a time drives a run directory.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// One process at a time drives a run directory: `RUN_DIR/lock` holds the driver's pid and is
/// removed when it ends. A lock whose process is gone (killed) is taken over.
pub struct RunLock {
    path: PathBuf,
}

impl RunLock {
    /// The name of the lock file.
    pub const FILE: &'static str = "lock";

    /// Takes the lock of `dir`, or says which process holds it.
    pub fn acquire(dir: &Path) -> Result<RunLock> {
        let path = dir.join(Self::FILE);
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    use std::io::Write;
                    let _ = write!(f, "{}", std::process::id());
                    return Ok(RunLock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = std::fs::read_to_string(&path).unwrap_or_default();
                    let pid = holder.trim().parse::<u32>().ok();
                    if pid.is_some_and(process_alive) {
                        return Err(Error::Usage(format!(
                            "{} is driven by another hone process (pid {}); wait for it to end \
                             or stop it (Ctrl-C) first",
                            dir.display(),
                            holder.trim()
                        )));
                    }
                    // The holder is gone (killed): take the lock over.
                    let _ = std::fs::remove_file(&path);
                }
                Err(e) => return Err(Error::io("create", &path, e)),
            }
        }
        Err(Error::Usage(format!(
            "cannot take the lock {}; remove it if no hone process drives the run",
            path.display()
        )))
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Whether a process with this pid runs (on Linux, from /proc; elsewhere assumed alive).
fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let stat = Path::new("/proc").join(pid.to_string()).join("stat");
    if !Path::new("/proc/self").exists() {
        return true;
    }
    match std::fs::read_to_string(stat) {
        // A zombie (`Z`) has ended.
        Ok(text) => !text
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}
