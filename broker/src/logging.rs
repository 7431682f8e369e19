//! Log output that cannot carry personal data: every log line Sluice writes — its own, its
//! dependencies' (rmcp at debug level prints whole JSON-RPC messages), and backend
//! servers' stderr relayed into the log — passes through the detectors on its way out, and
//! each detected value is replaced by its kind (`[EMAIL]`, `[PHONE]`, `[NAME]`).
//!
//! One home for the rule, at the one place all log text meets: the writer. A log line has
//! no session, so values are redacted, not tokenized; known-value matching (which needs a
//! session) does not apply here, so Sluice itself never logs values or session ids and
//! logs names and counts instead.

use std::io::{self, Write};
use std::sync::LazyLock;

use detectors::Detectors;
use tracing_subscriber::fmt::MakeWriter;

/// The detectors used on log lines (the defaults: emails, phones of the default regions,
/// names).
static DETECTORS: LazyLock<Detectors> = LazyLock::new(Detectors::new);

/// `line` with every detected value replaced by `[KIND]`.
pub fn scrub(line: &str) -> std::borrow::Cow<'_, str> {
    DETECTORS.redact(line, |finding| format!("[{}]", finding.kind.as_str()))
}

/// A [`MakeWriter`] for standard error that scrubs each formatted event before writing it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScrubbedStderr;

impl<'a> MakeWriter<'a> for ScrubbedStderr {
    type Writer = ScrubbingWriter;

    fn make_writer(&'a self) -> Self::Writer {
        ScrubbingWriter {
            buffer: Vec::with_capacity(256),
        }
    }
}

/// Collects one event's text and writes it, scrubbed, when dropped.
#[derive(Debug)]
pub struct ScrubbingWriter {
    buffer: Vec<u8>,
}

impl Write for ScrubbingWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for ScrubbingWriter {
    fn drop(&mut self) {
        if self.buffer.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.buffer);
        let clean = scrub(&text);
        // Nothing useful can be done if stderr is gone.
        let _ = io::stderr().lock().write_all(clean.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_in_log_lines_become_their_kind() {
        let line = "INFO sluice::backend: server=crm updated lead for Amelia Hartley <amelia.hartley@example.org>, +44 20 7946 0958";
        let clean = scrub(line);
        assert!(!clean.contains("amelia.hartley@example.org"), "{clean}");
        assert!(!clean.contains("7946"), "{clean}");
        assert!(
            clean.contains("[EMAIL]") && clean.contains("[PHONE]"),
            "{clean}"
        );
        assert_eq!(
            scrub("INFO backend connected tools=3"),
            "INFO backend connected tools=3"
        );
    }
}
