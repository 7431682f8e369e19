//! Error text for people: an error followed by its causes, each said once. Many errors
//! (ours and our dependencies') already quote their cause in their own message (`the vault
//! failed: {cause}`), so printing the chain as it is would repeat it. Never a type name:
//! only `Display` text is used.

/// `error` and its chain of causes, outermost first, joined by `: `, skipping a cause whose
/// text is already said (e.g. an untrusted certificate deep inside an HTTP client error is
/// named once).
pub fn with_causes(error: &dyn std::error::Error) -> String {
    let mut message = String::new();
    let mut next = Some(error);
    while let Some(cause) = next {
        let text = cause.to_string();
        if !text.is_empty() && !message.contains(&text) {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&text);
        }
        next = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::with_causes;

    #[derive(Debug, thiserror::Error)]
    #[error("the vault failed: {0}")]
    struct Quoting(#[source] std::io::Error);

    #[test]
    fn a_cause_the_message_already_quotes_is_printed_once() {
        let inner = std::io::Error::other("disk full");
        let error = anyhow::Error::new(Quoting(inner)).context("cannot tokenize stdin");
        assert_eq!(
            with_causes(error.as_ref()),
            "cannot tokenize stdin: the vault failed: disk full"
        );
        let plain = anyhow::anyhow!("disk full").context("cannot write");
        assert_eq!(with_causes(plain.as_ref()), "cannot write: disk full");
    }
}
