//! `--events FILE`: a run's events ([`RunEvent`]s) as JSON lines, one per event, flushed per
//! line, appended to what the file holds (a resumed run continues its file).

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use hone_eval::driver::events::{RunEvent, RunObserver};

use crate::error::{Error, Result};

/// Writes each event as one JSON line to a file or stream; the first write error is kept
/// (an observer cannot fail the run) for the caller to report with [`EventLines::error`].
pub struct EventLines {
    target: String,
    out: Mutex<Box<dyn Write + Send>>,
    error: Mutex<Option<String>>,
}

impl std::fmt::Debug for EventLines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLines")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl EventLines {
    /// Appends to the file at `path`, creating it.
    pub fn open(path: &Path) -> Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::io("open the events file", path, e))?;
        Ok(EventLines::new(path.display().to_string(), Box::new(file)))
    }

    /// Writes to `out`, called `target` in errors.
    pub fn new(target: impl Into<String>, out: Box<dyn Write + Send>) -> Self {
        EventLines {
            target: target.into(),
            out: Mutex::new(out),
            error: Mutex::new(None),
        }
    }

    /// The first write that failed, if one did.
    pub fn error(&self) -> Option<String> {
        self.error.lock().ok().and_then(|e| e.clone())
    }

    fn write(&self, event: &RunEvent) -> std::result::Result<(), String> {
        let mut line = serde_json::to_string(event).map_err(|e| e.to_string())?;
        line.push('\n');
        let mut out = self
            .out
            .lock()
            .map_err(|_| "a writer panicked".to_owned())?;
        out.write_all(line.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| e.to_string())
    }
}

impl RunObserver for EventLines {
    fn on_event(&self, event: &RunEvent) {
        if let Err(e) = self.write(event)
            && let Ok(mut first) = self.error.lock()
            && first.is_none()
        {
            *first = Some(format!(
                "cannot write the run's events to {}: {e}",
                self.target
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hone_eval::driver::events::EventKind;

    #[test]
    fn events_are_appended_one_json_line_each() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("events.jsonl");
        std::fs::write(&path, "{\"earlier\":true}\n").expect("writes");
        let lines = EventLines::open(&path).expect("opens");
        for score in [0.25, 0.5] {
            lines.on_event(&RunEvent::new(
                1.0,
                EventKind::NewBest {
                    candidate: 1,
                    score,
                },
            ));
        }
        assert_eq!(lines.error(), None);
        let text = std::fs::read_to_string(&path).expect("reads");
        let rows: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0]["earlier"], true);
        assert_eq!(rows[2]["type"], "new_best");
        assert_eq!(rows[2]["score"], 0.5);
    }

    #[test]
    fn a_failed_write_is_kept_with_its_target() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("no space left"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let lines = EventLines::new("events.jsonl", Box::new(Full));
        lines.on_event(&RunEvent::new(
            0.0,
            EventKind::NewBest {
                candidate: 0,
                score: 0.0,
            },
        ));
        let e = lines.error().expect("an error");
        assert!(
            e.contains("events.jsonl") && e.contains("no space left"),
            "{e}"
        );
    }
}
