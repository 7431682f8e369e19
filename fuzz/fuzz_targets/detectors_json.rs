//! `Detectors::find_json` / `redact_json` / `redact_json_in_place` on arbitrary JSON.
//!
//! Properties checked on every input that parses as JSON:
//! - each finding's `text` is exactly `[start..end]` of some string, key or number of the
//!   document (checked for documents of up to 256 strings);
//! - `redact_json` calls `replace` once per finding of `find_json`;
//! - with a replacement that is unique per call, the redacted value has the same shape:
//!   same types (a number may become a string), same array lengths, same object sizes,
//!   keys unchanged unless they held a finding, and no string outside the findings changes;
//! - with a replacement that depends only on the finding (what the vault does: the same
//!   value gets the same placeholder), `redact_json` and `redact_json_in_place` agree.
#![no_main]

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::LazyLock;

use detectors::{CustomKind, Detectors, Finding};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

static DETECTORS: LazyLock<Detectors> = LazyLock::new(|| {
    Detectors::builder()
        .custom(CustomKind::regex("EMPLOYEE_ID", r"\bEMP-\d{6}\b"))
        .custom(CustomKind::words("CODENAME", ["bluebird", "red kite"]).case_insensitive(true))
        .build()
        .expect("valid detectors")
});

/// Marks a replacement made by the unique-per-call replacer; inputs holding it are skipped.
const MARK: char = '\u{1}';

/// Every string, key and number text of `value` (iteratively: no recursion).
fn texts(value: &Value, out: &mut Vec<String>) {
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Number(n) => out.push(n.to_string()),
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => {
                for (k, item) in map {
                    out.push(k.clone());
                    stack.push(item);
                }
            }
            Value::Null | Value::Bool(_) => {}
        }
    }
}

/// Whether `redacted` is `original` with only findings replaced by `MARK`-delimited text.
fn same_shape(original: &Value, redacted: &Value) {
    let mut stack = vec![(original, redacted)];
    while let Some((a, b)) = stack.pop() {
        match (a, b) {
            (Value::String(x), Value::String(y)) => {
                if !y.contains(MARK) {
                    assert_eq!(x, y, "a string without findings changed");
                }
            }
            (Value::Number(x), Value::Number(y)) => assert_eq!(x, y),
            (Value::Number(_), Value::String(y)) => {
                assert!(y.starts_with(MARK), "a number became {y:?}");
            }
            (Value::Array(x), Value::Array(y)) => {
                assert_eq!(x.len(), y.len(), "array length changed");
                stack.extend(x.iter().zip(y));
            }
            (Value::Object(x), Value::Object(y)) => {
                assert_eq!(x.len(), y.len(), "object size changed: {x:?} -> {y:?}");
                for ((kx, vx), (ky, vy)) in x.iter().zip(y) {
                    if !ky.contains(MARK) {
                        assert_eq!(kx, ky, "a key without findings changed");
                    }
                    stack.push((vx, vy));
                }
            }
            (Value::Null, Value::Null) => {}
            (Value::Bool(x), Value::Bool(y)) => assert_eq!(x, y),
            (a, b) => panic!("type changed: {a:?} -> {b:?}"),
        }
    }
}

/// A placeholder-like replacement that depends only on the finding, like the vault's.
fn stable(f: &Finding) -> String {
    let mut h = DefaultHasher::new();
    f.kind.hash(&mut h);
    f.normalized.hash(&mut h);
    format!("[{}_{}]", f.kind.as_str(), h.finish() % 1000 + 1)
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let det = &*DETECTORS;

    let found = det.find_json(&value);
    let mut all = Vec::new();
    texts(&value, &mut all);
    if all.len() <= 256 {
        for jf in &found {
            let f = &jf.finding;
            assert!(f.start < f.end, "empty finding {jf:?}");
            assert!(
                all.iter()
                    .any(|s| s.get(f.start..f.end) == Some(f.text.as_str())),
                "finding is not a slice of any string of the document: {jf:?}"
            );
        }
    }

    let mut calls = 0usize;
    let redacted = det.redact_json(&value, |_| {
        calls += 1;
        format!("{MARK}{calls}{MARK}")
    });
    assert_eq!(
        calls,
        found.len(),
        "replace calls differ from find_json findings"
    );
    if !all.iter().any(|s| s.contains(MARK)) {
        same_shape(&value, &redacted);
    }

    let copy = det.redact_json(&value, stable);
    let mut in_place = value.clone();
    det.redact_json_in_place(&mut in_place, stable);
    assert_eq!(
        copy, in_place,
        "redact_json and redact_json_in_place disagree"
    );
});
