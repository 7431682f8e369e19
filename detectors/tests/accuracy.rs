//! Accuracy harness: scores the detectors on the generated, labeled corpus
//! (see `corpus/mod.rs`) and fails below the DESIGN §7 targets.
//!
//! Matching and the table: `scoring/mod.rs` (shared with `heldout.rs`).
//! This corpus and the name dictionary share sources (see
//! `detectors/data/README.md`), so these are in-sample figures; the
//! held-out figures come from `heldout.rs`.

mod corpus;
mod scoring;

use corpus::Sample;
use detectors::Detectors;
use scoring::{Label, Report};

fn labels(gold: &[corpus::Gold]) -> Vec<Label<'_>> {
    gold.iter()
        .map(|g| Label {
            kind: g.kind,
            text: &g.text,
            path: &g.path,
        })
        .collect()
}

#[test]
fn accuracy_meets_design_targets() {
    let det = Detectors::new();
    let samples = corpus::corpus(0x0515_11CE, 1500, 1000);
    let mut report = Report::default();
    for sample in &samples {
        match sample {
            Sample::Text { text, gold } => report.add_text(&det, text, &labels(gold)),
            Sample::Json { value, gold } => report.add_json(&det, value, &labels(gold)),
        }
    }
    if std::env::var_os("ACCURACY_ERRORS").is_some() {
        for e in &report.errors {
            eprintln!("{e}");
        }
    }
    // Free text is harder than JSON, where key hints help: the tables split them.
    report.print("accuracy (in-sample corpus; set ACCURACY_ERRORS=1 to list errors)");
    let get = |k: &str| report.get(k);
    let (ep, er) = get("EMAIL");
    let (pp, pr) = get("PHONE");
    let (np, nr) = get("NAME");
    assert!(
        ep >= 0.99 && er >= 0.99,
        "EMAIL precision {ep:.4} recall {er:.4} below 0.99/0.99"
    );
    assert!(
        pp >= 0.95 && pr >= 0.99,
        "PHONE precision {pp:.4} recall {pr:.4} below 0.95/0.99"
    );
    assert!(
        np >= 0.85 && nr >= 0.90,
        "NAME precision {np:.4} recall {nr:.4} below 0.85/0.90"
    );
}
