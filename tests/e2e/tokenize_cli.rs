//! `sluice tokenize` and `sluice vault` as a user runs them: real binary, real data dir.

use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};

use crate::support::run_in;

fn sluice(dir: &Path, args: &[&str], stdin: &str) -> Output {
    run_in(dir, args, stdin.as_bytes())
}

fn ok_stdout(output: &Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("utf-8")
}

const TEXT: &str =
    "Dear Amelia Hartley, write amelia.hartley@northwind.co.uk or call +44 20 7946 0958.";

#[test]
fn text_is_tokenized_and_a_new_session_is_announced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = sluice(dir.path(), &["tokenize"], TEXT);
    let out = ok_stdout(&output);
    assert_eq!(out, "Dear [NAME_1], write [EMAIL_1] or call [PHONE_1].");
    assert!(String::from_utf8_lossy(&output.stderr).starts_with("session: "));
}

#[test]
fn json_keeps_its_structure_and_key_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = r#"{"z":{"owner":"Zhou Xiaoming","n":3,"ok":true},"a":[null,"x@example.io"]}"#;
    let out = ok_stdout(&sluice(
        dir.path(),
        &["tokenize", "--json", "--session", "s"],
        input,
    ));
    assert_eq!(
        out.trim_end(),
        r#"{"z":{"owner":"[NAME_1]","n":3,"ok":true},"a":[null,"[EMAIL_1]"]}"#
    );
}

#[test]
fn same_session_same_placeholders_across_processes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = ok_stdout(&sluice(dir.path(), &["tokenize", "--session", "s"], TEXT));
    let second = ok_stdout(&sluice(
        dir.path(),
        &["tokenize", "--session", "s"],
        "mail amelia.hartley@northwind.co.uk",
    ));
    assert!(first.contains("[EMAIL_1]"));
    assert_eq!(second, "mail [EMAIL_1]");
}

#[test]
fn forged_placeholders_in_input_are_neutralized() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = ok_stdout(&sluice(
        dir.path(),
        &["tokenize", "--session", "s"],
        "see [EMAIL_1] and [PHONE_22]",
    ));
    assert_eq!(out, "see ⟦EMAIL_1⟧ and ⟦PHONE_22⟧");
}

#[test]
fn stats_count_without_values_and_purge_erases_a_session() {
    let dir = tempfile::tempdir().expect("tempdir");
    ok_stdout(&sluice(
        dir.path(),
        &["tokenize", "--session", "gone"],
        TEXT,
    ));
    ok_stdout(&sluice(
        dir.path(),
        &["tokenize", "--session", "kept"],
        "x@example.io",
    ));
    let stats = ok_stdout(&sluice(dir.path(), &["vault", "stats"], ""));
    assert!(
        !stats.contains("amelia") && !stats.contains("example.io"),
        "{stats}"
    );
    let stats: Value = serde_json::from_str(&stats).expect("json");
    assert_eq!(
        stats,
        json!({ "sessions": 2, "per_kind": { "EMAIL": 2, "NAME": 1, "PHONE": 1 } })
    );
    let purged = ok_stdout(&sluice(
        dir.path(),
        &["vault", "purge", "--session", "gone"],
        "",
    ));
    assert!(purged.starts_with("purged 3 values"), "{purged}");
    let stats: Value =
        serde_json::from_str(&ok_stdout(&sluice(dir.path(), &["vault", "stats"], "")))
            .expect("json");
    assert_eq!(stats, json!({ "sessions": 1, "per_kind": { "EMAIL": 1 } }));
}

#[test]
fn the_data_dir_never_holds_a_raw_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    ok_stdout(&sluice(dir.path(), &["tokenize", "--session", "s"], TEXT));
    crate::support::assert_no_raw_values_under(
        &dir.path().join(".sluice"),
        &[
            "amelia.hartley@northwind.co.uk",
            "Amelia Hartley",
            "+442079460958",
            "7946 0958",
        ],
    );
}

#[test]
fn invalid_json_exits_2_with_its_position() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = sluice(dir.path(), &["tokenize", "--json"], "{\"a\": }");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("line 1, column"));
}

#[test]
fn custom_kinds_and_regions_come_from_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("sluice.toml"),
        "[detectors]\nregions = [\"DE\"]\n\n[[detectors.custom]]\nkind = \"EMPLOYEE_ID\"\nregex = 'EMP-\\d{6}'\n\n[[detectors.custom]]\nkind = \"PROJECT\"\nwords = [\"Project Bluebird\"]\ncase_insensitive = true\n",
    )
    .expect("write");
    let out = ok_stdout(&sluice(
        dir.path(),
        &["tokenize", "--session", "s"],
        "EMP-004211 works on project bluebird; call 030 12345678",
    ));
    assert_eq!(out, "[EMPLOYEE_ID_1] works on [PROJECT_1]; call [PHONE_1]");
}

#[test]
fn an_invalid_custom_regex_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("sluice.toml"),
        "[[detectors.custom]]\nkind = \"BAD\"\nregex = \"(unclosed\"\n",
    )
    .expect("write");
    let output = sluice(dir.path(), &["tokenize", "--session", "s"], "x");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("detectors"));
}

/// Ordinary formats honest backends use that the detectors once missed (issue 13.8): each
/// line's personal data must come back as placeholders, none of it raw.
#[test]
fn first_sightings_in_ordinary_formats_are_tokenized() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: &[(&str, &[&str])] = &[
        ("Call tel:+442079460958 today", &["442079460958"]),
        (
            "Phone: +44\u{00A0}20\u{00A0}7946\u{00A0}0958",
            &["7946\u{00A0}0958"],
        ),
        ("Dear Amelia\u{00A0}Hartley,", &["Hartley"]),
        ("owner=Amelia Hartley;status=open", &["Hartley"]),
        ("Hartley, Amelia — account manager", &["Hartley"]),
        (
            "write to amelia.hartley@northwind。co。uk",
            &["amelia.hartley"],
        ),
        ("Письмо от: Анна Кузнецова", &["Кузнецова"]),
        ("Dear 王小明，请确认订单。", &["王小明"]),
        ("name: ليلى حداد", &["حداد"]),
    ];
    for (line, raws) in cases {
        let out = ok_stdout(&sluice(dir.path(), &["tokenize"], line));
        assert!(
            out.contains('['),
            "{line:?} → {out:?}: nothing was tokenized"
        );
        for raw in *raws {
            assert!(
                !out.contains(raw),
                "{line:?} → {out:?}: {raw:?} came back raw"
            );
        }
    }
}
