//! Scoring shared by the accuracy tests (`accuracy.rs` on the in-sample
//! corpus, `heldout.rs` on the held-out corpus): one matching rule, one
//! table format. It only scores; it never decides what is gold.
//!
//! Matching: a prediction is a true positive when a gold label of the same
//! kind (and, for JSON, the same path) overlaps it textually (one contains the
//! other); each gold label is matched at most once. EMAIL and PHONE spans are
//! unambiguous, so overlap equals exact match for them in practice; for NAME
//! it credits "Okafor" against gold "Okafor" but also "Maria" against gold
//! "Maria Gonzalez" — the strict (exact-span) figures are kept too.
#![allow(dead_code)]

use std::collections::BTreeMap;

use detectors::Detectors;
use serde_json::Value;

/// A gold label, borrowed: kind, exact text, and (for JSON) the path.
pub struct Label<'a> {
    pub kind: &'a str,
    pub text: &'a str,
    pub path: &'a str,
}

/// One detector finding, reduced to what is scored.
pub struct Pred {
    pub kind: String,
    pub text: String,
    pub path: String,
}

/// Counts for one kind.
#[derive(Default, Debug, Clone)]
pub struct Score {
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
    /// True positives whose text equals the gold text exactly.
    pub exact_tp: usize,
}

impl Score {
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
    /// Precision when only exact spans count as hits.
    pub fn strict_precision(&self) -> f64 {
        ratio(self.exact_tp, self.tp + self.fp)
    }
    /// Recall when only exact spans count as hits.
    pub fn strict_recall(&self) -> f64 {
        ratio(self.exact_tp, self.tp + self.fn_)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

fn overlaps(a: &str, b: &str) -> bool {
    a.contains(b) || b.contains(a)
}

/// Scores one sample's predictions against its gold labels.
pub fn score_sample(
    gold: &[Label<'_>],
    preds: &[Pred],
    scores: &mut BTreeMap<String, Score>,
    errors: &mut Vec<String>,
) {
    let mut used = vec![false; gold.len()];
    for p in preds {
        let s = scores.entry(p.kind.clone()).or_default();
        let hit = gold.iter().enumerate().position(|(i, g)| {
            !used[i] && g.kind == p.kind && g.path == p.path && overlaps(g.text, &p.text)
        });
        match hit {
            Some(i) => {
                used[i] = true;
                s.tp += 1;
                if gold[i].text == p.text {
                    s.exact_tp += 1;
                }
            }
            None => {
                s.fp += 1;
                errors.push(format!("FP {} {:?} at {:?}", p.kind, p.text, p.path));
            }
        }
    }
    for (i, g) in gold.iter().enumerate() {
        if !used[i] {
            scores.entry(g.kind.to_string()).or_default().fn_ += 1;
            errors.push(format!("FN {} {:?} at {:?}", g.kind, g.text, g.path));
        }
    }
}

/// The detectors' findings in free text.
pub fn predict_text(det: &Detectors, text: &str) -> Vec<Pred> {
    det.find(text)
        .into_iter()
        .map(|f| Pred {
            kind: f.kind.as_str().to_string(),
            text: f.text,
            path: String::new(),
        })
        .collect()
}

/// The detectors' findings in JSON string values (keys are not scored).
pub fn predict_json(det: &Detectors, value: &Value) -> Vec<Pred> {
    det.find_json(value)
        .into_iter()
        .filter(|f| !f.in_key)
        .map(|f| Pred {
            kind: f.finding.kind.as_str().to_string(),
            text: f.finding.text,
            path: f.path,
        })
        .collect()
}

/// Scores over a corpus: overall and split by free text / JSON.
#[derive(Default)]
pub struct Report {
    pub all: BTreeMap<String, Score>,
    pub text: BTreeMap<String, Score>,
    pub json: BTreeMap<String, Score>,
    /// Per-sample misses (FP/FN lines followed by the sample).
    pub errors: Vec<String>,
    pub samples: usize,
}

impl Report {
    /// Scores one free-text sample.
    pub fn add_text(&mut self, det: &Detectors, text: &str, gold: &[Label<'_>]) {
        let preds = predict_text(det, text);
        let before = self.errors.len();
        score_sample(gold, &preds, &mut self.text, &mut Vec::new());
        score_sample(gold, &preds, &mut self.all, &mut self.errors);
        if self.errors.len() > before {
            self.errors.push(format!("   in text: {text:?}"));
        }
        self.samples += 1;
    }

    /// Scores one JSON sample.
    pub fn add_json(&mut self, det: &Detectors, value: &Value, gold: &[Label<'_>]) {
        let preds = predict_json(det, value);
        let before = self.errors.len();
        score_sample(gold, &preds, &mut self.json, &mut Vec::new());
        score_sample(gold, &preds, &mut self.all, &mut self.errors);
        if self.errors.len() > before {
            self.errors.push(format!("   in json: {value}"));
        }
        self.samples += 1;
    }

    /// (precision, recall) of a kind over all samples; (0, 0) when absent.
    pub fn get(&self, kind: &str) -> (f64, f64) {
        self.all
            .get(kind)
            .map(|s| (s.precision(), s.recall()))
            .unwrap_or((0.0, 0.0))
    }

    /// Prints the tables (overall, free text, JSON) to stderr.
    pub fn print(&self, title: &str) {
        eprintln!("{title}: {} samples", self.samples);
        for (label, table) in [
            ("all", &self.all),
            ("free text", &self.text),
            ("json", &self.json),
        ] {
            eprintln!(" {label}:");
            for (kind, s) in table {
                eprintln!(
                    "  {kind:6} precision {:.4}  recall {:.4}  (tp {} fp {} fn {}; exact-span tp {}: strict precision {:.4} recall {:.4})",
                    s.precision(),
                    s.recall(),
                    s.tp,
                    s.fp,
                    s.fn_,
                    s.exact_tp,
                    s.strict_precision(),
                    s.strict_recall(),
                );
            }
        }
    }
}
