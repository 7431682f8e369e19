//! The name dictionary is built on first use, not with the detectors: a short-lived
//! process (a one-shot `sluice exec` whose result is `2`) must not pay for it. This file
//! holds one test so that it runs in a process of its own, where nothing else has touched
//! the dictionary.

use detectors::Detectors;

#[test]
fn name_dictionary_is_built_only_when_a_capitalized_word_is_looked_up() {
    let det = Detectors::new();
    assert!(
        !Detectors::name_dictionary_built(),
        "building the detectors built the name dictionary"
    );
    // What a one-shot `sluice exec` of `return 1+1;` scans: its outcome, and log lines.
    let outcome = serde_json::json!({"result": 2, "logs": [], "calls": 0, "error": null});
    assert!(det.find_json(&outcome).is_empty());
    assert!(
        det.find("return 1+1; sluice exec finished in 12 ms")
            .is_empty()
    );
    assert_eq!(det.find("write to bob@example.com or 2025-05-12").len(), 1);
    assert!(
        !Detectors::name_dictionary_built(),
        "text without a capitalized word built the name dictionary"
    );
    // The first capitalized word builds it, and the answer is the same as ever.
    let found = det.find("Dear Maria Gonzalez, thanks.");
    assert_eq!(
        found.iter().map(|f| f.kind.as_str()).collect::<Vec<_>>(),
        ["NAME"]
    );
    assert!(Detectors::name_dictionary_built());
}
