//! Token counts as a model sees them: OpenAI's `o200k_base` BPE (tiktoken), whose
//! vocabulary is embedded in the binary, so counting works offline. Used to keep Sluice's
//! own context cost (its `tools/list`) within budget and to report savings in the demo.

use std::sync::OnceLock;

use tiktoken_rs::CoreBPE;

/// The `o200k_base` encoder, built once (parsing the vocabulary takes ~100 ms).
fn encoder() -> Option<&'static CoreBPE> {
    static BPE: OnceLock<Option<CoreBPE>> = OnceLock::new();
    BPE.get_or_init(|| match tiktoken_rs::o200k_base() {
        Ok(bpe) => Some(bpe),
        Err(e) => {
            tracing::warn!(error = %e, "the o200k_base vocabulary could not be loaded; token counts are estimates");
            None
        }
    })
    .as_ref()
}

/// How many `o200k_base` tokens `text` is (special-token text counts as ordinary text).
pub fn count_tokens(text: &str) -> usize {
    match encoder() {
        Some(bpe) => bpe.encode_ordinary(text).len(),
        // The vocabulary is compiled in, so this is unreachable in practice; a rough
        // estimate beats a panic.
        None => text.len().div_ceil(4),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_known_text() {
        assert_eq!(count_tokens(""), 0);
        assert_eq!(count_tokens("hello world"), 2);
    }
}
