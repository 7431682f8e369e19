//! `sluice demo` as a newcomer runs it: exit 0, three labelled parts, no raw PII in what
//! the model saw, real values in the CRM, the chat flow denied, no processes left behind.

use crate::support::{example_bin, run_in};

/// Every email, phone and name of the pending leads in the demo sheet.
fn pending_pii() -> Vec<String> {
    let csv = include_str!("../../examples/servers/data/leads.csv");
    let mut out = Vec::new();
    for line in csv.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        if cols.get(6) == Some(&"pending") {
            out.extend(cols[1..4].iter().map(|s| (*s).to_owned()));
        }
    }
    out
}

fn section<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("no {start:?} in:\n{text}"));
    let rest = &text[from..];
    let to = rest.find(end).unwrap_or(rest.len());
    &rest[..to]
}

#[test]
fn demo_shows_placeholders_to_the_model_real_values_in_the_crm_and_the_denied_chat_flow() {
    example_bin("crm-server"); // the demo starts the example servers next to `sluice`
    let dir = tempfile::tempdir().expect("dir");
    let state = dir.path().join("state");
    let output = run_in(
        dir.path(),
        &["demo", "--data-dir", state.to_str().expect("path")],
        b"",
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let model = section(&stdout, "1. What the model saw", "2. What the CRM");
    let crm = section(&stdout, "2. What the CRM", "3. The denied flow");
    let denied = section(&stdout, "3. The denied flow", "Context economy");
    let pii = pending_pii();
    assert_eq!(pii.len(), 27, "{pii:?}");
    for value in &pii {
        assert!(
            !model.contains(value.as_str()),
            "{value} reached the model:\n{model}"
        );
    }
    assert!(
        model.contains("[EMAIL_") && model.contains("[NAME_"),
        "{model}"
    );

    // Real values, exactly as the sheet wrote them (not re-formatted guesses).
    for value in [
        "amelia.hartley@northwind-logistics.co.uk",
        "+44 20 7946 0958",
        "030 12345678",
        "090-1234-5678",
    ] {
        assert!(
            crm.contains(value),
            "{value} missing from the CRM part:\n{crm}"
        );
    }
    assert_eq!(crm.matches("CRM-10").count(), 9, "{crm}");

    assert!(denied.contains("flow denied"), "{denied}");
    assert!(denied.contains("no-flow-to-external"), "{denied}");
    assert!(denied.contains("received 0 message(s)"), "{denied}");
    for value in &pii {
        assert!(
            !denied.contains(value.as_str()),
            "{value} in the denial:\n{denied}"
        );
    }

    let economy = section(&stdout, "Context economy", "\u{0}");
    let number_after = |marker: &str| -> usize {
        let at = economy
            .find(marker)
            .unwrap_or_else(|| panic!("{marker:?}: {economy}"));
        economy[at + marker.len()..]
            .split(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no number after {marker:?}: {economy}"))
    };
    let (code_mode, classic) = (number_after("saw "), number_after("would have put "));
    assert!(0 < code_mode && code_mode < classic, "{economy}");

    // No example server of this run is still alive.
    let needle = state.to_str().expect("path").as_bytes().to_vec();
    let leftovers: Vec<String> = std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|e| e.ok())
        .filter(|e| {
            std::fs::read(e.path().join("cmdline"))
                .is_ok_and(|c| c.windows(needle.len()).any(|w| w == needle.as_slice()))
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(leftovers.is_empty(), "processes left behind: {leftovers:?}");
}
