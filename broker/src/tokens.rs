//! Token counts as a model would see them (OpenAI's o200k_base encoding, via tiktoken-rs,
//! whose vocabulary is compiled in: no download).

use std::sync::OnceLock;

use tiktoken_rs::CoreBPE;

fn bpe() -> Option<&'static CoreBPE> {
    static BPE: OnceLock<Option<CoreBPE>> = OnceLock::new();
    BPE.get_or_init(|| tiktoken_rs::o200k_base().ok()).as_ref()
}

/// The number of o200k_base tokens in `text` (a 4-bytes-per-token estimate if the
/// vocabulary failed to load, which it does not in practice).
pub fn count_tokens(text: &str) -> usize {
    match bpe() {
        Some(bpe) => bpe.encode_with_special_tokens(text).len(),
        None => text.len().div_ceil(4),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_real_tokens() {
        assert_eq!(super::count_tokens(""), 0);
        let n = super::count_tokens("tools.crm.updateLead({ id: \"CRM-1001\" })");
        assert!((8..20).contains(&n), "{n}");
    }
}
