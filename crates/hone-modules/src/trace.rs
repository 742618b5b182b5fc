//! Traces: what each predictor of one call saw and said (DSPy's `settings.trace`, as a value).
//!
//! A [`TraceSink`] is handed to a call through its
//! [`CallContext`](crate::CallContext::with_trace); every predictor run during that call pushes
//! one [`TraceEntry`] when its LM call has been parsed. A sink belongs to whoever created it:
//! two concurrent calls with two sinks never see each other's entries. An entry is pushed in
//! one step after the predictor finished, so a call that is cancelled (its future dropped)
//! leaves only complete entries of the predictors that had finished.

use std::sync::{Arc, Mutex, MutexGuard};

use hone_core::{Example, Prediction, Signature};
use hone_lm::{Message, Usage};

/// One predictor run: inputs, outputs, the LM that answered and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceEntry {
    /// The predictor's name in the program (`self`, `route`, `answer.predict`).
    pub predictor: String,
    /// The signature the predictor ran with (including any field a module added for this call,
    /// such as `Refine`'s `hint_`).
    pub signature: Signature,
    /// The inputs given to the adapter (signature input fields only).
    pub inputs: Example,
    /// The parsed outputs (of the first choice).
    pub outputs: Prediction,
    /// Parsed outputs of every choice, when the call asked for `n > 1`.
    pub completions: Vec<Prediction>,
    /// The LM's model as the LM describes itself.
    pub lm_model: String,
    /// The LM's base URL.
    pub lm_base_url: String,
    /// The model the server says answered (`model` of the response).
    pub response_model: String,
    /// Token usage reported by the server (summed over a fallback retry).
    pub usage: Option<Usage>,
    /// Whether the response came from the LM's cache.
    pub cached: bool,
    /// The adapter whose parse succeeded (`ChatAdapter`, `JSONAdapter`, `XMLAdapter`).
    pub adapter: &'static str,
    /// The messages sent (of the call whose answer was parsed).
    pub messages: Vec<Message>,
    /// The completion text that was parsed.
    pub completion: String,
}

/// Where a call's [`TraceEntry`]s go: a shared, cheap-to-clone list.
///
/// ```
/// use hone_modules::TraceSink;
/// let sink = TraceSink::new();
/// assert!(sink.is_empty());
/// let clone = sink.clone(); // the same list
/// assert_eq!(clone.len(), 0);
/// ```
#[derive(Debug, Clone, Default)]
pub struct TraceSink {
    entries: Arc<Mutex<Vec<TraceEntry>>>,
}

impl TraceSink {
    /// An empty sink.
    pub fn new() -> Self {
        TraceSink::default()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<TraceEntry>> {
        // A poisoned lock only means another thread panicked while pushing a whole entry;
        // the list itself is still consistent.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Appends an entry.
    pub fn push(&self, entry: TraceEntry) {
        self.lock().push(entry);
    }

    /// Appends entries in order.
    pub fn extend(&self, entries: impl IntoIterator<Item = TraceEntry>) {
        self.lock().extend(entries);
    }

    /// A copy of the entries so far, in the order they were pushed.
    pub fn entries(&self) -> Vec<TraceEntry> {
        self.lock().clone()
    }

    /// Removes and returns all entries.
    pub fn take(&self) -> Vec<TraceEntry> {
        std::mem::take(&mut *self.lock())
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}
