//! Invariant 5 under a real crash: every placeholder a process has returned from
//! `Vault::mint` survives `kill -9` of that process and resolves after a restart.
//!
//! The test binary re-executes itself as the minting child: when `SLUICE_VAULT_CHILD`
//! names a vault directory, the test function acts as the child instead.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use sluice::vault::{MasterKey, Placeholder, Vault};

const CHILD_ENV: &str = "SLUICE_VAULT_CHILD";
const ROUND_ENV: &str = "SLUICE_VAULT_ROUND";
const TEST_NAME: &str =
    "vault_durability::minted_placeholders_survive_kill_9_and_numbers_are_never_reused";
const LINE_PREFIX: &str = "MINTED ";
/// Placeholders each child reports before it is killed.
const LINES_BEFORE_KILL: usize = 300;
const ROUNDS: usize = 3;
const SESSIONS: [&str; 3] = ["crash-a", "crash-b", "crash-c"];

#[test]
fn minted_placeholders_survive_kill_9_and_numbers_are_never_reused() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        let round = std::env::var(ROUND_ENV).unwrap_or_default();
        run_child(Path::new(&dir), &round);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // (session, placeholder) -> value, over every line any child printed.
    let mut seen: BTreeMap<(String, String), String> = BTreeMap::new();
    for round in 0..ROUNDS {
        let printed = run_and_kill(dir.path(), round);
        assert!(
            printed.len() >= LINES_BEFORE_KILL,
            "round {round}: child printed {}",
            printed.len()
        );
        for (session, placeholder, value) in printed {
            let previous = seen.insert((session.clone(), placeholder.clone()), value.clone());
            if let Some(previous) = previous {
                assert_eq!(
                    previous, value,
                    "{session} {placeholder} was handed out for two values"
                );
            }
        }
        let key = MasterKey::load_or_create(dir.path()).unwrap();
        let vault = Vault::open(dir.path(), &key).unwrap();
        for ((session, placeholder), value) in &seen {
            let resolved = vault
                .resolve(session, placeholder)
                .unwrap()
                .unwrap_or_else(|| {
                    panic!("round {round}: {session} {placeholder} lost after kill -9")
                });
            assert_eq!(&resolved.value, value, "{session} {placeholder}");
            // Re-minting after the crash is deterministic.
            let again = vault.mint(session, "EMAIL", value, "crm").unwrap();
            assert_eq!(&again.to_string(), placeholder);
        }
        // A new value gets a number above every number printed before the crash.
        for session in SESSIONS {
            let fresh = vault
                .mint(
                    session,
                    "EMAIL",
                    &format!("fresh{round}@example.org"),
                    "crm",
                )
                .unwrap();
            let max_seen = seen
                .keys()
                .filter(|(s, _)| s == session)
                .map(|(_, p)| Placeholder::parse(p).unwrap().n())
                .max()
                .unwrap_or(0);
            assert!(
                fresh.n() > max_seen,
                "{session}: {fresh} reuses a number (max seen {max_seen})"
            );
            seen.insert(
                (session.to_owned(), fresh.to_string()),
                format!("fresh{round}@example.org"),
            );
        }
    }
}

/// Starts a minting child on `dir`, reads its reports, kills it with SIGKILL mid-stream.
fn run_and_kill(dir: &Path, round: usize) -> Vec<(String, String, String)> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, dir)
        .env(ROUND_ENV, round.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut printed = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let Some(report) = line.strip_prefix(LINE_PREFIX) else {
            continue;
        };
        let mut fields = report.splitn(3, ' ').map(str::to_owned);
        let (Some(session), Some(placeholder), Some(value)) =
            (fields.next(), fields.next(), fields.next())
        else {
            panic!("malformed report {line:?}");
        };
        printed.push((session, placeholder, value));
        if printed.len() == LINES_BEFORE_KILL {
            child.kill().unwrap(); // SIGKILL on Unix: no destructors, no final flush.
            break;
        }
    }
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "the child should have been killed, not exit: {status}"
    );
    printed
}

/// The child: three threads mint one value at a time (new values and repeats), a fourth
/// mints batches with `mint_all`; each reports a placeholder only after the call that
/// returned it. It runs until killed.
fn run_child(dir: &Path, round: &str) {
    let key = MasterKey::load_or_create(dir).unwrap();
    let vault = Vault::open(dir, &key).unwrap();
    let report = |session: &str, placeholder: &Placeholder, value: &str| {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{LINE_PREFIX}{session} {placeholder} {value}").unwrap();
        out.flush().unwrap();
    };
    std::thread::scope(|scope| {
        for t in 0..3usize {
            let vault = &vault;
            scope.spawn(move || {
                for i in 0..1_000_000u64 {
                    // Every third mint repeats the previous value (and session).
                    let serial = if i % 3 == 2 { i - 1 } else { i };
                    let session = SESSIONS[(serial as usize + t) % SESSIONS.len()];
                    let value = format!("r{round}.t{t}.v{serial}@example.com");
                    let placeholder = vault.mint(session, "EMAIL", &value, "crm").unwrap();
                    report(session, &placeholder, &value);
                }
            });
        }
        scope.spawn(|| {
            for i in 0..1_000_000usize {
                let session = SESSIONS[i % SESSIONS.len()];
                let values: Vec<String> = (0..3)
                    .map(|j| format!("r{round}.batch{i}.{j}@example.com"))
                    .collect();
                let items = values.iter().map(|v| ("EMAIL", v.as_str()));
                let placeholders = vault.mint_all(session, "crm", items).unwrap();
                for (placeholder, value) in placeholders.iter().zip(&values) {
                    report(session, placeholder, value);
                }
            }
        });
    });
}
