//! A small incremental Server-Sent Events parser (the `text/event-stream` format).
//!
//! Sans-IO: feed it bytes as they arrive, take complete events out. Lines end in LF, CRLF or
//! CR; `:` lines are comments; `data:` lines of one event are joined with `\n`; an event ends
//! at a blank line. `event:` names are kept; `id:` and `retry:` are ignored.

/// One complete event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` name, if given.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// Incremental parser state.
#[derive(Debug, Default)]
pub struct SseParser {
    buf: Vec<u8>,
    data: Option<String>,
    event: Option<String>,
}

impl SseParser {
    /// A parser with no input yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes; returns the events they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        self.buf.extend_from_slice(bytes);
        let mut events = Vec::new();
        let mut start = 0;
        let mut i = 0;
        while i < self.buf.len() {
            match self.buf[i] {
                b'\n' => {
                    let line = self.buf[start..i].to_vec();
                    self.line(&line, &mut events);
                    i += 1;
                    start = i;
                }
                b'\r' => {
                    if i + 1 == self.buf.len() {
                        // A CR at the end may be the first half of CRLF: wait for more bytes.
                        break;
                    }
                    let line = self.buf[start..i].to_vec();
                    self.line(&line, &mut events);
                    i += if self.buf[i + 1] == b'\n' { 2 } else { 1 };
                    start = i;
                }
                _ => i += 1,
            }
        }
        self.buf.drain(..start);
        events
    }

    /// Ends the input: returns an event left without its closing blank line, if any.
    /// Bytes of an unfinished line count as a last line.
    pub fn finish(&mut self) -> Option<SseEvent> {
        let mut events = Vec::new();
        if !self.buf.is_empty() {
            let mut line = std::mem::take(&mut self.buf);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            self.line(&line, &mut events);
        }
        self.line(b"", &mut events);
        events.pop()
    }

    /// Whether bytes of an incomplete line or event are buffered.
    pub fn has_pending(&self) -> bool {
        !self.buf.is_empty() || self.data.is_some()
    }

    fn line(&mut self, line: &[u8], events: &mut Vec<SseEvent>) {
        if line.is_empty() {
            if let Some(data) = self.data.take() {
                events.push(SseEvent {
                    event: self.event.take(),
                    data,
                });
            }
            self.event = None;
            return;
        }
        if line[0] == b':' {
            return;
        }
        let line = String::from_utf8_lossy(line);
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line.as_ref(), ""),
        };
        match field {
            "data" => match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            },
            "event" => self.event = Some(value.to_owned()),
            _ => {}
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn data(events: &[SseEvent]) -> Vec<&str> {
        events.iter().map(|e| e.data.as_str()).collect()
    }

    #[test]
    fn basic_events_and_done() {
        let mut p = SseParser::new();
        let events = p.push(b"data: {\"a\":1}\n\ndata: [DONE]\n\n");
        assert_eq!(data(&events), vec!["{\"a\":1}", "[DONE]"]);
        assert!(!p.has_pending());
        assert_eq!(p.finish(), None);
    }

    #[test]
    fn split_at_every_byte() {
        let input =
            b"data: one\r\n\r\n: comment\ndata: two\ndata: lines\n\nevent: error\ndata:x\n\n";
        let mut p = SseParser::new();
        let mut events = Vec::new();
        for byte in input {
            events.extend(p.push(std::slice::from_ref(byte)));
        }
        assert_eq!(data(&events), vec!["one", "two\nlines", "x"]);
        assert_eq!(events[2].event.as_deref(), Some("error"));
    }

    #[test]
    fn lone_cr_line_endings() {
        let mut p = SseParser::new();
        let mut events = p.push(b"data: a\r\rdata: b\r");
        // The last CR may be half of a CRLF, so the second event waits for the next byte.
        events.extend(p.push(b"\r"));
        assert_eq!(data(&events), vec!["a"]);
        events.extend(p.push(b"\n"));
        assert_eq!(data(&events), vec!["a", "b"]);
    }

    #[test]
    fn no_space_after_colon_and_field_without_colon() {
        let mut p = SseParser::new();
        let events = p.push(b"data:x\ndata\nid: 7\nretry: 10\n\n");
        assert_eq!(data(&events), vec!["x\n"]);
    }

    #[test]
    fn finish_flushes_an_unterminated_event() {
        let mut p = SseParser::new();
        assert!(p.push(b"data: {\"partial\"").is_empty());
        assert!(p.has_pending());
        assert_eq!(p.finish().map(|e| e.data), Some("{\"partial\"".to_owned()));
    }

    #[test]
    fn blank_lines_without_data_emit_nothing() {
        let mut p = SseParser::new();
        assert!(p.push(b"\n\n: keep-alive\n\n").is_empty());
    }

    #[test]
    fn utf8_split_across_pushes() {
        let text = "data: héllo\n\n".as_bytes();
        let mut p = SseParser::new();
        let mut events = p.push(&text[..8]);
        events.extend(p.push(&text[8..]));
        assert_eq!(data(&events), vec!["héllo"]);
    }
}
