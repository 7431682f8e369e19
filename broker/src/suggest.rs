//! "Did you mean …": the closest known name to a misspelt one, for config and policy errors.
//!
//! It only ranks names the caller already knows; it never decides whether a name is valid.

/// The candidate closest to `word` if it is close enough to be a likely typo: at most a
/// third of the word's length in edits (transpositions count once), and at least one edit
/// for short words. Case-insensitive equality counts as a match.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_lowercase();
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|candidate| {
            let distance = strsim::damerau_levenshtein(&lower, &candidate.to_lowercase());
            (distance, candidate)
        })
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposed_and_mistyped_names_find_their_match() {
        assert_eq!(
            closest("intrenal", ["internal", "external"]),
            Some("internal")
        );
        assert_eq!(closest("EMIAL", ["EMAIL", "PHONE", "NAME"]), Some("EMAIL"));
        assert_eq!(closest("crm", ["crm", "chat"]), Some("crm"));
        assert_eq!(closest("Internal", ["internal"]), Some("internal"));
    }

    #[test]
    fn unrelated_names_get_no_suggestion() {
        assert_eq!(closest("vendor", ["internal", "external"]), None);
        assert_eq!(closest("zz", ["EMAIL"]), None);
    }
}
