//! hone's `tracing` events as Python `logging` records, on the loggers `hone.lm`,
//! `hone.modules`, ... under `hone`.
//!
//! Quiet by default: only warnings and errors pass (a cache that cannot be written, a retry
//! budget spent), and nothing is logged per call below DEBUG. The threshold is the effective
//! level of Python's `hone` logger, read when the package is imported and whenever an LM is
//! made (`set_log_level`); checking it costs one atomic load per event, and Python is entered
//! only for events that pass it. The bridge is a logging layer, not program state: it holds no
//! LM, no setting of a call.

use std::fmt::Write as _;
use std::sync::Once;
use std::sync::atomic::{AtomicU8, Ordering};

use pyo3::prelude::*;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// Python's numeric level below which events are dropped (`logging.WARNING` to start).
static THRESHOLD: AtomicU8 = AtomicU8::new(30);
static INSTALL: Once = Once::new();

fn python_level(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 40,
        Level::WARN => 30,
        Level::INFO => 20,
        Level::DEBUG => 10,
        Level::TRACE => 5,
    }
}

/// The logger an event goes to: `hone_lm::retry` → `hone.lm.retry`.
fn logger_name(target: &str) -> String {
    let dotted = target.replace("::", ".");
    match dotted.strip_prefix("hone_") {
        Some(rest) => format!("hone.{rest}"),
        None if dotted == "hone" || dotted.starts_with("hone.") => dotted,
        None => format!("hone.{dotted}"),
    }
}

/// The event's message followed by its fields as `key=value`.
#[derive(Default)]
struct Message {
    text: String,
    fields: String,
}

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.text, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.text.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }
}

struct PythonLogging;

impl<S: Subscriber> Layer<S> for PythonLogging {
    fn register_callsite(
        &self,
        _metadata: &'static Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        // The threshold changes at run time: ask `enabled` every time.
        tracing::subscriber::Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        metadata.is_event() && python_level(metadata.level()) >= THRESHOLD.load(Ordering::Relaxed)
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut message = Message::default();
        event.record(&mut message);
        let level = python_level(event.metadata().level());
        let name = logger_name(event.metadata().target());
        let text = format!("{}{}", message.text, message.fields);
        // Never during interpreter shutdown; a failing handler is Python's to report.
        Python::try_attach(|py| {
            let log = || -> PyResult<()> {
                let logger = py
                    .import("logging")?
                    .call_method1("getLogger", (name.as_str(),))?;
                if logger.call_method1("isEnabledFor", (level,))?.is_truthy()? {
                    logger.call_method1("log", (level, text.as_str()))?;
                }
                Ok(())
            };
            if let Err(e) = log() {
                e.write_unraisable(py, None);
            }
        });
    }
}

/// Sets the lowest Python logging level that hone's events reach Python with (the `hone`
/// logger's effective level), and installs the bridge the first time. When the process
/// already has a `tracing` subscriber (an application embedding Python), that one is kept.
#[pyfunction]
pub fn set_log_level(level: i32) {
    THRESHOLD.store(level.clamp(0, 255) as u8, Ordering::Relaxed);
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::registry().with(PythonLogging);
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loggers_are_named_under_hone() {
        assert_eq!(logger_name("hone_lm::retry"), "hone.lm.retry");
        assert_eq!(logger_name("hone"), "hone");
        assert_eq!(logger_name("hyper::client"), "hone.hyper.client");
    }

    #[test]
    fn levels_are_pythons() {
        assert_eq!(python_level(&Level::WARN), 30);
        assert_eq!(python_level(&Level::TRACE), 5);
    }
}
