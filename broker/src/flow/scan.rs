//! The last scan before text leaves the broker: a program's outcome (result, console
//! lines, error), its live events, and search results. Whatever the program or a backend
//! description put there itself is tokenized (source `sandbox`), and the outcome's error
//! is held to the output limit like its result and logs. Fail closed: text that cannot be
//! scanned is withheld, never returned as it was.

use sandbox_host::{ErrorKind, LogEntry, Outcome, ToolError};

use super::blocking;
use super::error::BrokerError;
use super::events::{CallEvent, ExecuteEvent};
use super::ingress::Tokenizer;

/// The provenance recorded for values first seen in a program's own outcome.
pub const SANDBOX_SOURCE: &str = "sandbox";

/// Tokenizes whatever the program itself put into its outcome and holds its error message
/// to `max_bytes`; fails closed if the vault cannot mint.
pub(crate) async fn outcome(
    tokenizer: &Tokenizer,
    session: &str,
    outcome: Outcome,
    max_bytes: usize,
) -> Outcome {
    let mut outcome = tokenize_outcome(tokenizer, session, outcome).await;
    if let Some(error) = &mut outcome.error {
        clip(&mut error.message, max_bytes);
    }
    outcome
}

async fn tokenize_outcome(tokenizer: &Tokenizer, session: &str, mut outcome: Outcome) -> Outcome {
    // Values the session already holds, however they are written (no I/O: in place).
    if tokenizer.knows_values(session) {
        tokenizer.replace_known_json(session, &mut outcome.result);
        let texts = outcome
            .logs
            .iter_mut()
            .map(|log| &mut log.message)
            .chain(outcome.error.as_mut().map(|e| &mut e.message));
        for text in texts {
            if let std::borrow::Cow::Owned(replaced) = tokenizer.replace_known(session, text) {
                *text = replaced;
            }
        }
    }
    // Most outcomes hold nothing to mint (placeholders are not findings). Detecting in
    // place first skips the hand-off to a blocking thread, which under load costs a
    // thread switch per execute and keeps spawning threads (and with them malloc arenas).
    if !has_findings(tokenizer.detectors(), &outcome) {
        return outcome;
    }
    let tokenizer = tokenizer.clone();
    let session = session.to_string();
    let scanned = blocking(move || {
        let mut outcome = outcome;
        outcome.result = tokenizer.tokenize_json(&session, SANDBOX_SOURCE, outcome.result)?;
        for log in &mut outcome.logs {
            log.message = tokenizer.tokenize_text(&session, SANDBOX_SOURCE, &log.message)?;
        }
        if let Some(error) = &mut outcome.error {
            error.message = tokenizer.tokenize_text(&session, SANDBOX_SOURCE, &error.message)?;
        }
        Ok::<_, crate::vault::VaultError>(outcome)
    })
    .await;
    match scanned {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(e)) => Outcome::failed(
            ErrorKind::Internal,
            format!("the outcome could not be tokenized and was withheld: {e}"),
        ),
        Err(_) => Outcome::failed(
            ErrorKind::Internal,
            "the outcome scan failed and the outcome was withheld",
        ),
    }
}

/// Tokenizes a JSON value a program hands the broker to keep (a workspace value): values
/// the session holds become their placeholders, any other detected value is minted with
/// source `sandbox`. Fails closed: an error means nothing may be stored.
pub(crate) async fn sandbox_json(
    tokenizer: &Tokenizer,
    session: &str,
    mut value: serde_json::Value,
) -> Result<serde_json::Value, crate::vault::VaultError> {
    if tokenizer.knows_values(session) {
        tokenizer.replace_known_json(session, &mut value);
    }
    if tokenizer.detectors().find_json(&value).is_empty() {
        return Ok(value);
    }
    let (tokenizer, session) = (tokenizer.clone(), session.to_owned());
    blocking(move || tokenizer.tokenize_json(&session, SANDBOX_SOURCE, value))
        .await
        .map_err(|_| crate::vault::VaultError::Crypto {
            what: "scanning (the scan task failed)",
        })?
}

/// [`sandbox_json`] for one string (a workspace key or prefix).
pub(crate) async fn sandbox_text(
    tokenizer: &Tokenizer,
    session: &str,
    text: String,
) -> Result<String, crate::vault::VaultError> {
    match sandbox_json(tokenizer, session, serde_json::Value::String(text)).await? {
        serde_json::Value::String(text) => Ok(text),
        _ => Err(crate::vault::VaultError::Crypto {
            what: "scanning (a string came back as another type)",
        }),
    }
}

/// Cuts `text` to at most `max` bytes in all (on a character boundary), saying how much
/// there was.
fn clip(text: &mut String, max: usize) {
    if text.len() <= max {
        return;
    }
    let note = format!(
        " … [cut: the message was {} bytes, over the output limit]",
        text.len()
    );
    let mut end = max.saturating_sub(note.len()).min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push_str(&note);
}

/// Whether anything in `outcome` would be tokenized.
fn has_findings(detectors: &detectors::Detectors, outcome: &Outcome) -> bool {
    !detectors.find_json(&outcome.result).is_empty()
        || outcome
            .logs
            .iter()
            .any(|log| !detectors.find(&log.message).is_empty())
        || outcome
            .error
            .as_ref()
            .is_some_and(|error| !detectors.find(&error.message).is_empty())
}

/// Tokenizes what an observer will see of `events` (names, error messages, console lines)
/// in one blocking task; anything that cannot be tokenized is withheld. Events leave the
/// broker while the program runs, before the outcome's own scan, and their text comes
/// from the program (which may hold literals), so it is scanned like the outcome.
pub(crate) async fn events(
    tokenizer: &Tokenizer,
    session: &str,
    events: Vec<ExecuteEvent>,
) -> Vec<ExecuteEvent> {
    let tokenizer = tokenizer.clone();
    let session = session.to_owned();
    let count = events.len();
    let scanned = tokio::task::spawn_blocking(move || {
        let scan = |text: &str| tokenizer.tokenize_text(&session, SANDBOX_SOURCE, text);
        events
            .into_iter()
            .map(|event| {
                Ok::<_, crate::vault::VaultError>(match event {
                    ExecuteEvent::Log(entry) => ExecuteEvent::Log(LogEntry {
                        message: scan(&entry.message)?,
                        ..entry
                    }),
                    ExecuteEvent::Call(call) => ExecuteEvent::Call(CallEvent {
                        server: scan(&call.server)?,
                        tool: scan(&call.tool)?,
                        error: match call.error {
                            Some(error) => Some(ToolError {
                                message: scan(&error.message)?,
                                ..error
                            }),
                            None => None,
                        },
                        elapsed: call.elapsed,
                    }),
                })
            })
            .collect::<Result<Vec<_>, _>>()
    })
    .await;
    match scanned {
        Ok(Ok(events)) => events,
        _ => {
            tracing::error!(
                count,
                "execute events could not be tokenized and were withheld"
            );
            vec![ExecuteEvent::Log(LogEntry {
                level: sandbox_host::LogLevel::Error,
                message: "[withheld: events could not be tokenized]".into(),
            })]
        }
    }
}

/// Scans text a backend wrote (tool descriptions and schemas in a search result) as
/// ingress does: forged placeholders neutralized, values minted in `session`.
pub(crate) async fn backend_text(
    tokenizer: &Tokenizer,
    session: &str,
    text: String,
) -> Result<String, BrokerError> {
    let tokenizer = tokenizer.clone();
    let session = session.to_owned();
    match blocking(move || tokenizer.ingest_text(&session, SANDBOX_SOURCE, &text)).await {
        Ok(Ok(text)) => Ok(text),
        Ok(Err(e)) => Err(BrokerError::Internal(format!(
            "the search result could not be tokenized and was withheld: {e}"
        ))),
        Err(_) => Err(BrokerError::Internal(
            "the search result could not be tokenized and was withheld".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipped_messages_keep_a_character_boundary_and_say_so() {
        let mut text = "é".repeat(100);
        clip(&mut text, 65);
        assert!(text.starts_with("é"), "{text}");
        assert!(text.len() <= 65, "{}", text.len());
        assert!(text.contains("was 200 bytes"), "{text}");
        let mut short = "ok".to_owned();
        clip(&mut short, 5);
        assert_eq!(short, "ok");
    }
}
