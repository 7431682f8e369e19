//! Unit tests of the vault: behaviour, secrecy of the files, and key handling.

use std::path::Path;
use std::sync::{Arc, Barrier};

use super::*;

fn key(byte: u8) -> MasterKey {
    MasterKey::from_bytes([byte; MASTER_KEY_LEN])
}

fn open(dir: &Path) -> Vault {
    Vault::open(dir, &key(7)).unwrap()
}

/// Which store a store-agnostic test runs on.
#[derive(Clone, Copy, Debug)]
pub(super) enum Store {
    Sled,
    Postgres,
}

/// One test's vault location: a temp dir, or a fresh schema in the test database.
pub(super) struct Fixture {
    dir: tempfile::TempDir,
    pg_url: Option<String>,
}

impl Fixture {
    /// `None` when the store is PostgreSQL and no test database is configured (skipped loudly).
    pub(super) fn new(store: Store, test: &str) -> Option<Self> {
        let pg_url = match store {
            Store::Sled => None,
            Store::Postgres => Some(crate::store::testing::fresh_schema(
                &crate::store::testing::pg_url(test)?,
            )),
        };
        Some(Self {
            dir: tempfile::tempdir().unwrap(),
            pg_url,
        })
    }

    fn open_with(&self, key: &MasterKey) -> Result<Vault, VaultError> {
        match &self.pg_url {
            None => Vault::open(self.dir.path(), key),
            Some(url) => {
                let store = crate::store::postgres::PgStore::connect(
                    url,
                    crate::store::testing::options(),
                )?;
                Vault::with_store(Arc::new(store), key)
            }
        }
    }

    pub(super) fn open(&self) -> Vault {
        self.open_with(&key(7)).unwrap()
    }
}

/// Runs each listed test (a `fn(Store)`) once per store.
macro_rules! on_every_store {
    ($($name:ident),* $(,)?) => {
        mod on_sled {
            $( #[test] fn $name() { super::$name(super::Store::Sled) } )*
        }
        mod on_postgres {
            $( #[test] fn $name() { super::$name(super::Store::Postgres) } )*
        }
    };
}

on_every_store!(
    same_value_in_same_session_gets_same_placeholder,
    counters_are_per_kind_and_start_at_one,
    placeholder_from_one_session_resolves_to_nothing_in_another,
    resolve_returns_value_with_provenance,
    placeholders_survive_reopen_and_counters_continue,
    purge_erases_values_of_one_session_and_never_reuses_its_numbers,
    stats_count_kinds_and_sessions_without_values,
    wrong_master_key_is_rejected_at_open,
    concurrent_mints_of_one_value_yield_one_placeholder,
    concurrent_mints_of_distinct_values_never_share_a_number,
    untrusted_input_is_rejected_with_clear_errors_that_do_not_echo_it,
    debug_output_never_shows_values_or_keys,
    mint_all_mints_like_mint_with_one_flush,
    first_agent_to_claim_a_session_owns_it,
    session_owner_survives_purge,
    two_vaults_on_one_store_agree_like_replicas,
);

fn mint(vault: &Vault, session: &str, kind: &str, value: &str) -> String {
    vault.mint(session, kind, value, "crm").unwrap().to_string()
}

fn same_value_in_same_session_gets_same_placeholder(store: Store) {
    let Some(f) = Fixture::new(store, "same_value_in_same_session_gets_same_placeholder") else {
        return;
    };
    let vault = f.open();
    let first = mint(&vault, "s1", "EMAIL", "alice@example.com");
    assert_eq!(first, "[EMAIL_1]");
    assert_eq!(mint(&vault, "s1", "EMAIL", "alice@example.com"), first);
    assert_eq!(mint(&vault, "s1", "EMAIL", "bob@example.com"), "[EMAIL_2]");
    assert_eq!(mint(&vault, "s1", "EMAIL", "alice@example.com"), first);
}

fn counters_are_per_kind_and_start_at_one(store: Store) {
    let Some(f) = Fixture::new(store, "counters_are_per_kind_and_start_at_one") else {
        return;
    };
    let vault = f.open();
    assert_eq!(mint(&vault, "s1", "EMAIL", "a@example.com"), "[EMAIL_1]");
    assert_eq!(mint(&vault, "s1", "PHONE", "+442079460958"), "[PHONE_1]");
    assert_eq!(mint(&vault, "s1", "NAME", "Alice Zephyr"), "[NAME_1]");
    assert_eq!(mint(&vault, "s1", "EMAIL", "b@example.com"), "[EMAIL_2]");
    assert_eq!(
        mint(&vault, "s1", "CREDIT_CARD", "4111111111111111"),
        "[CREDIT_CARD_1]"
    );
    // The same text under another kind is another value.
    assert_eq!(mint(&vault, "s1", "NAME", "a@example.com"), "[NAME_2]");
}

fn placeholder_from_one_session_resolves_to_nothing_in_another(store: Store) {
    let Some(f) = Fixture::new(
        store,
        "placeholder_from_one_session_resolves_to_nothing_in_another",
    ) else {
        return;
    };
    let vault = f.open();
    assert_eq!(
        mint(&vault, "session-a", "EMAIL", "a@example.com"),
        "[EMAIL_1]"
    );
    assert!(vault.resolve("session-b", "[EMAIL_1]").unwrap().is_none());
    // Session B counts on its own, and its [EMAIL_1] is its own value.
    assert_eq!(
        mint(&vault, "session-b", "EMAIL", "b@example.com"),
        "[EMAIL_1]"
    );
    assert_eq!(
        vault
            .resolve("session-a", "[EMAIL_1]")
            .unwrap()
            .unwrap()
            .value,
        "a@example.com"
    );
    assert_eq!(
        vault
            .resolve("session-b", "[EMAIL_1]")
            .unwrap()
            .unwrap()
            .value,
        "b@example.com"
    );
}

fn resolve_returns_value_with_provenance(store: Store) {
    let Some(f) = Fixture::new(store, "resolve_returns_value_with_provenance") else {
        return;
    };
    let vault = f.open();
    let before = now();
    let p = vault
        .mint("s1", "PHONE", "+442079460958", "sheets")
        .unwrap();
    // A later mint from another source keeps the first provenance.
    vault.mint("s1", "PHONE", "+442079460958", "crm").unwrap();
    let r = vault.resolve_placeholder("s1", &p).unwrap().unwrap();
    assert_eq!(r.value, "+442079460958");
    assert_eq!(r.kind, "PHONE");
    assert_eq!(r.source, "sheets");
    assert!(r.created >= before && r.created <= now());
    assert!(vault.resolve("s1", "[PHONE_2]").unwrap().is_none());
    assert!(vault.resolve("s1", "[EMAIL_1]").unwrap().is_none());
    assert!(matches!(
        vault.resolve("s1", "[PHONE_01]"),
        Err(VaultError::InvalidPlaceholder { .. })
    ));
}

fn placeholders_survive_reopen_and_counters_continue(store: Store) {
    let Some(f) = Fixture::new(store, "placeholders_survive_reopen_and_counters_continue") else {
        return;
    };
    {
        let vault = f.open();
        mint(&vault, "s1", "EMAIL", "a@example.com");
        mint(&vault, "s1", "EMAIL", "b@example.com");
    }
    let vault = f.open();
    assert_eq!(mint(&vault, "s1", "EMAIL", "b@example.com"), "[EMAIL_2]");
    assert_eq!(mint(&vault, "s1", "EMAIL", "c@example.com"), "[EMAIL_3]");
    assert_eq!(
        vault.resolve("s1", "[EMAIL_1]").unwrap().unwrap().value,
        "a@example.com"
    );
}

fn purge_erases_values_of_one_session_and_never_reuses_its_numbers(store: Store) {
    let Some(f) = Fixture::new(
        store,
        "purge_erases_values_of_one_session_and_never_reuses_its_numbers",
    ) else {
        return;
    };
    let vault = f.open();
    mint(&vault, "gone", "EMAIL", "a@example.com");
    mint(&vault, "gone", "PHONE", "+442079460958");
    mint(&vault, "kept", "EMAIL", "a@example.com");
    assert_eq!(vault.purge_session("gone").unwrap(), 2);
    assert!(vault.resolve("gone", "[EMAIL_1]").unwrap().is_none());
    assert!(vault.resolve("gone", "[PHONE_1]").unwrap().is_none());
    assert_eq!(
        vault.resolve("kept", "[EMAIL_1]").unwrap().unwrap().value,
        "a@example.com"
    );
    let stats = vault.stats().unwrap();
    assert_eq!(stats.sessions, 1);
    assert_eq!(stats.per_kind.get("PHONE"), None);
    assert_eq!(vault.purge_session("gone").unwrap(), 0);
    // The counters are a tombstone: a new value gets the next number, never the purged
    // [EMAIL_1], so an old placeholder can never come to mean another value.
    assert_eq!(
        mint(&vault, "gone", "EMAIL", "new@example.com"),
        "[EMAIL_2]"
    );
    assert!(vault.resolve("gone", "[EMAIL_1]").unwrap().is_none());
    assert_eq!(
        vault.resolve("gone", "[EMAIL_2]").unwrap().unwrap().value,
        "new@example.com"
    );
    // The purged value itself is new again too: it gets a fresh number.
    assert_eq!(mint(&vault, "gone", "EMAIL", "a@example.com"), "[EMAIL_3]");
    assert_eq!(mint(&vault, "gone", "PHONE", "+442079460958"), "[PHONE_2]");
    // And after reopening (a restart) the numbering still continues.
    drop(vault);
    let vault = f.open();
    vault.purge_session("gone").unwrap();
    assert_eq!(mint(&vault, "gone", "EMAIL", "x@example.com"), "[EMAIL_4]");
}

fn stats_count_kinds_and_sessions_without_values(store: Store) {
    let Some(f) = Fixture::new(store, "stats_count_kinds_and_sessions_without_values") else {
        return;
    };
    let vault = f.open();
    mint(&vault, "s1", "EMAIL", "alice.zephyr@example.com");
    mint(&vault, "s1", "EMAIL", "bob.quill@example.com");
    mint(&vault, "s1", "PHONE", "+442079460958");
    mint(&vault, "s2", "EMAIL", "alice.zephyr@example.com");
    let stats = vault.stats().unwrap();
    assert_eq!(stats.sessions, 2);
    assert_eq!(stats.per_kind.get("EMAIL"), Some(&3));
    assert_eq!(stats.per_kind.get("PHONE"), Some(&1));
    assert_eq!(stats.total(), 4);
    let shown = format!("{stats:?} {}", serde_json::to_string(&stats).unwrap());
    for secret in ["alice", "bob", "zephyr", "4420", "s1", "s2"] {
        assert!(!shown.contains(secret), "stats show {secret:?}: {shown}");
    }
}

fn wrong_master_key_is_rejected_at_open(store: Store) {
    let Some(f) = Fixture::new(store, "wrong_master_key_is_rejected_at_open") else {
        return;
    };
    drop(f.open());
    let err = f.open_with(&key(8)).unwrap_err();
    assert!(matches!(err, VaultError::WrongKey { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("different master key") && message.contains("SLUICE_MASTER_KEY"));
    // The right key still opens it.
    drop(f.open());
}

#[test]
fn sealed_values_never_appear_in_vault_files() {
    let dir = tempfile::tempdir().unwrap();
    let values = [
        ("EMAIL", "alice.zephyr@example.com"),
        ("PHONE", "+44 20 7946 0958"),
        ("NAME", "Quentin Marlowe-Achterberg"),
    ];
    {
        let vault = open(dir.path());
        for (kind, value) in values {
            vault.mint("sealing-session", kind, value, "crm").unwrap();
        }
        for (kind, value) in values {
            vault.mint("other-session", kind, value, "crm").unwrap();
        }
    }
    let mut needles: Vec<Vec<u8>> = Vec::new();
    for (_, value) in values {
        for form in [value.to_owned(), value.to_lowercase(), value.to_uppercase()] {
            needles.push(form.as_bytes().to_vec());
            needles.push(form.encode_utf16().flat_map(u16::to_le_bytes).collect());
            needles.push(form.encode_utf16().flat_map(u16::to_be_bytes).collect());
        }
        needles.push(value.split(['@', ' ']).next().unwrap().as_bytes().to_vec());
    }
    needles.push(b"sealing-session".to_vec());
    let mut files = 0;
    let mut stack = vec![dir.path().to_path_buf()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        files += 1;
        let bytes = std::fs::read(&path).unwrap();
        for needle in &needles {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_slice()),
                "{} contains {:?}",
                path.display(),
                String::from_utf8_lossy(needle)
            );
        }
    }
    assert!(files >= 2, "expected sled files, found {files}");
}

#[test]
fn record_moved_to_another_slot_fails_authentication() {
    let dir = tempfile::tempdir().unwrap();
    {
        let vault = open(dir.path());
        mint(&vault, "s1", "EMAIL", "a@example.com");
        mint(&vault, "s1", "EMAIL", "b@example.com");
    }
    {
        let db = sled::open(dir.path().join("db")).unwrap();
        let records = db.open_tree("records").unwrap();
        let entries: Vec<_> = records.iter().map(Result::unwrap).collect();
        assert_eq!(entries.len(), 2);
        records.insert(&entries[0].0, entries[1].1.clone()).unwrap();
        db.flush().unwrap();
    }
    let vault = open(dir.path());
    let results = [
        vault.resolve("s1", "[EMAIL_1]"),
        vault.resolve("s1", "[EMAIL_2]"),
    ];
    assert!(
        results
            .iter()
            .any(|r| matches!(r, Err(VaultError::Tampered { .. }))),
        "{results:?}"
    );
}

fn concurrent_mints_of_one_value_yield_one_placeholder(store: Store) {
    let Some(f) = Fixture::new(store, "concurrent_mints_of_one_value_yield_one_placeholder") else {
        return;
    };
    let vault = f.open();
    let barrier = Arc::new(Barrier::new(16));
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let (vault, barrier) = (vault.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                vault
                    .mint("s1", "EMAIL", "same@example.com", "crm")
                    .unwrap()
            })
        })
        .collect();
    let minted: Vec<Placeholder> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(
        minted.iter().all(|p| p.to_string() == "[EMAIL_1]"),
        "{minted:?}"
    );
    assert_eq!(mint(&vault, "s1", "EMAIL", "next@example.com"), "[EMAIL_2]");
    assert_eq!(vault.stats().unwrap().total(), 2);
}

fn concurrent_mints_of_distinct_values_never_share_a_number(store: Store) {
    let Some(f) = Fixture::new(
        store,
        "concurrent_mints_of_distinct_values_never_share_a_number",
    ) else {
        return;
    };
    let vault = f.open();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let vault = vault.clone();
            std::thread::spawn(move || {
                (0..10)
                    .map(|i| mint(&vault, "s1", "EMAIL", &format!("u{t}.{i}@example.com")))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut all: Vec<String> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 80);
}

fn untrusted_input_is_rejected_with_clear_errors_that_do_not_echo_it(store: Store) {
    let Some(f) = Fixture::new(
        store,
        "untrusted_input_is_rejected_with_clear_errors_that_do_not_echo_it",
    ) else {
        return;
    };
    let vault = f.open();
    let long = "x".repeat(MAX_SESSION_LEN + 1);
    for session in ["", "has space", "ünï", "a/b", "new\nline", long.as_str()] {
        let err = vault
            .mint(session, "EMAIL", "a@example.com", "crm")
            .unwrap_err();
        assert!(
            matches!(err, VaultError::InvalidSession { .. }),
            "{session:?}: {err}"
        );
        assert!(vault.resolve(session, "[EMAIL_1]").is_err());
        assert!(vault.purge_session(session).is_err());
    }
    for kind in [
        "", "email", "EMAIL_", "_EMAIL", "E__MAIL", "1EMAIL", "EM AIL", "ÉMAIL",
    ] {
        let err = vault.mint("s1", kind, "a@example.com", "crm").unwrap_err();
        assert!(
            matches!(err, VaultError::InvalidKind { .. }),
            "{kind:?}: {err}"
        );
    }
    for source in ["", "a b", "../etc", "x".repeat(MAX_SOURCE_LEN + 1).as_str()] {
        let err = vault
            .mint("s1", "EMAIL", "a@example.com", source)
            .unwrap_err();
        assert!(
            matches!(err, VaultError::InvalidSource { .. }),
            "{source:?}: {err}"
        );
    }
    let huge = format!("secret{}", "y".repeat(MAX_VALUE_LEN));
    for value in ["", huge.as_str()] {
        let err = vault.mint("s1", "EMAIL", value, "crm").unwrap_err();
        assert!(matches!(err, VaultError::InvalidValue { .. }));
        assert!(!err.to_string().contains("secret"));
    }
    assert_eq!(vault.stats().unwrap().total(), 0);
}

fn debug_output_never_shows_values_or_keys(store: Store) {
    let Some(f) = Fixture::new(store, "debug_output_never_shows_values_or_keys") else {
        return;
    };
    let vault = f.open();
    let p = vault
        .mint("s1", "EMAIL", "alice.zephyr@example.com", "crm")
        .unwrap();
    let resolved = vault.resolve_placeholder("s1", &p).unwrap().unwrap();
    let key = MasterKey::from_bytes([0xAB; MASTER_KEY_LEN]);
    let shown = format!(
        "{resolved:?} {vault:?} {key:?} {:?}",
        vault.inner.crypto.keys
    );
    assert!(!shown.contains("zephyr"), "{shown}");
    assert!(
        !shown.contains("171, 171") && !shown.contains("q6ur"),
        "{shown}"
    );
    assert!(shown.contains("redacted"));
}

#[test]
fn key_file_is_created_private_and_reloaded() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("nested").join("vault");
    let first = MasterKey::load_or_create(&data_dir).unwrap();
    let path = data_dir.join(MasterKey::FILE_NAME);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let second = MasterKey::load_or_create(&data_dir).unwrap();
    assert_eq!(first.0, second.0);
    // The file key opens a vault created with it.
    drop(Vault::open(&data_dir, &first).unwrap());
    drop(Vault::open(&data_dir, &second).unwrap());
    let leftovers: Vec<_> = std::fs::read_dir(&data_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[cfg(unix)]
#[test]
fn readable_key_file_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    MasterKey::load_or_create(dir.path()).unwrap();
    let path = dir.path().join(MasterKey::FILE_NAME);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = MasterKey::load_or_create(dir.path()).unwrap_err();
    assert!(
        matches!(err, VaultError::KeyFilePermissions { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("chmod 600"));
}

#[test]
fn malformed_keys_are_rejected_without_echoing_them() {
    for text in ["", "not base64!!", "c2hvcnQ=", &"QUFB".repeat(20)] {
        let err = MasterKey::from_base64(text).unwrap_err();
        assert!(matches!(err, VaultError::MalformedKey { .. }), "{err}");
        if !text.is_empty() {
            assert!(!err.to_string().contains(text));
        }
    }
    let good = "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=";
    assert_eq!(
        MasterKey::from_base64(&format!(" {good}\n")).unwrap().0,
        [0xAB; 32]
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(MasterKey::FILE_NAME);
    std::fs::write(&path, "definitely-not-a-key\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let err = MasterKey::load_or_create(dir.path()).unwrap_err();
    assert!(matches!(err, VaultError::MalformedKey { .. }), "{err}");
    assert!(err.to_string().contains(&*path.to_string_lossy()));
}

/// Rough costs on sled and (with `SLUICE_TEST_PG_URL`) PostgreSQL in one run, printed
/// with `--nocapture`; run with `--ignored` on an idle machine.
#[test]
#[ignore]
fn measure_mint_and_resolve() {
    use std::time::Instant;
    for store in [Store::Sled, Store::Postgres] {
        let Some(f) = Fixture::new(store, "measure_mint_and_resolve") else {
            continue;
        };
        let vault = f.open();
        // Let PostgreSQL's purge listener connect, so its cache is live as in a replica.
        std::thread::sleep(std::time::Duration::from_millis(500));
        let n = 500;
        let start = Instant::now();
        for i in 0..n {
            vault
                .mint("bench", "EMAIL", &format!("user{i}@example.com"), "crm")
                .unwrap();
        }
        let new_mint = start.elapsed() / n;
        let start = Instant::now();
        for i in 0..n {
            vault
                .mint("bench", "EMAIL", &format!("user{i}@example.com"), "crm")
                .unwrap();
        }
        let existing_mint = start.elapsed() / n;
        let placeholders: Vec<Placeholder> = (1..=u64::from(n))
            .map(|i| Placeholder::new("EMAIL", i).unwrap())
            .collect();
        let start = Instant::now();
        for p in &placeholders {
            vault.resolve_placeholder("bench", p).unwrap().unwrap();
        }
        let resolve = start.elapsed() / n;
        println!(
            "{store:?}: mint new: {new_mint:?}  mint existing: {existing_mint:?}  resolve: {resolve:?}"
        );
    }
}

fn mint_all_mints_like_mint_with_one_flush(store: Store) {
    let Some(f) = Fixture::new(store, "mint_all_mints_like_mint_with_one_flush") else {
        return;
    };
    let vault = f.open();
    let items = [
        ("EMAIL", "a@example.com"),
        ("PHONE", "+442079460958"),
        ("EMAIL", "b@example.com"),
        ("EMAIL", "a@example.com"),
    ];
    let minted: Vec<String> = vault
        .mint_all("s1", "crm", items)
        .unwrap()
        .iter()
        .map(Placeholder::to_string)
        .collect();
    assert_eq!(minted, ["[EMAIL_1]", "[PHONE_1]", "[EMAIL_2]", "[EMAIL_1]"]);
    assert_eq!(mint(&vault, "s1", "EMAIL", "b@example.com"), "[EMAIL_2]");
    assert_eq!(
        vault.resolve("s1", "[PHONE_1]").unwrap().unwrap().source,
        "crm"
    );
    assert!(
        vault
            .mint_all("s1", "crm", [("email", "x@example.com")])
            .is_err()
    );
}

fn first_agent_to_claim_a_session_owns_it(store: Store) {
    let Some(f) = Fixture::new(store, "first_agent_to_claim_a_session_owns_it") else {
        return;
    };
    let vault = f.open();
    assert!(matches!(
        vault.check_session_owner("s1", "alice"),
        Err(VaultError::UnknownSession)
    ));
    vault.claim_session("s1", "alice").unwrap();
    vault.claim_session("s1", "alice").unwrap();
    vault.check_session_owner("s1", "alice").unwrap();
    let stolen = vault.claim_session("s1", "mallory").unwrap_err();
    let probed = vault.check_session_owner("s1", "mallory").unwrap_err();
    let unknown = vault
        .check_session_owner("never-used", "mallory")
        .unwrap_err();
    // Owned by another agent reads exactly like a session that does not exist.
    assert_eq!(stolen.to_string(), unknown.to_string());
    assert_eq!(probed.to_string(), unknown.to_string());
    assert!(!unknown.to_string().contains("s1"));
    // Concurrent first claims: exactly one agent wins.
    let barrier = Arc::new(Barrier::new(8));
    let winners: Vec<bool> = (0..8)
        .map(|i| {
            let (vault, barrier) = (vault.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                vault.claim_session("race", &format!("agent{i}")).is_ok()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    assert_eq!(winners.iter().filter(|&&w| w).count(), 1, "{winners:?}");
    // The binding is durable: a reopened vault (a restart, another replica) agrees.
    drop(vault);
    let vault = f.open();
    vault.check_session_owner("s1", "alice").unwrap();
    assert!(vault.claim_session("s1", "mallory").is_err());
}

fn session_owner_survives_purge(store: Store) {
    let Some(f) = Fixture::new(store, "session_owner_survives_purge") else {
        return;
    };
    let vault = f.open();
    vault.claim_session("s1", "alice").unwrap();
    mint(&vault, "s1", "EMAIL", "a@example.com");
    vault.purge_session("s1").unwrap();
    assert!(vault.claim_session("s1", "mallory").is_err());
    vault.check_session_owner("s1", "alice").unwrap();
}

fn two_vaults_on_one_store_agree_like_replicas(store: Store) {
    let Some(f) = Fixture::new(store, "two_vaults_on_one_store_agree_like_replicas") else {
        return;
    };
    if f.pg_url.is_none() {
        // sled is locked to one process: replicas need the shared store.
        return;
    }
    let (a, b) = (f.open(), f.open());
    let barrier = Arc::new(Barrier::new(2));
    let minted: Vec<Vec<String>> = [a.clone(), b.clone()]
        .into_iter()
        .map(|vault| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                (0..20)
                    .map(|i| {
                        mint(
                            &vault,
                            "shared",
                            "EMAIL",
                            &format!("u{}@example.com", i % 10),
                        )
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    // Same value → same placeholder on both, no duplicates, no gaps.
    assert_eq!(minted[0], minted[1]);
    let mut distinct = minted[0].clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 10);
    assert_eq!(a.stats().unwrap().total(), 10);
    assert_eq!(mint(&b, "shared", "EMAIL", "new@example.com"), "[EMAIL_11]");
    // Minted on A, resolved on B; purged on B, gone on A.
    let p = a.mint("shared", "PHONE", "+442079460958", "crm").unwrap();
    assert_eq!(
        b.resolve_placeholder("shared", &p).unwrap().unwrap().value,
        "+442079460958"
    );
    // Both replicas have it cached now (when their purge listeners are up).
    std::thread::sleep(std::time::Duration::from_millis(300));
    for _ in 0..2 {
        assert!(a.resolve_placeholder("shared", &p).unwrap().is_some());
        assert!(b.resolve_placeholder("shared", &p).unwrap().is_some());
    }
    b.purge_session("shared").unwrap();
    // Values are never served from a cache: gone on both at once.
    assert!(b.resolve_placeholder("shared", &p).unwrap().is_none());
    assert!(a.resolve_placeholder("shared", &p).unwrap().is_none());
    // A's value→placeholder cache forgets on the purge notification: the value then gets
    // a new number (never the purged one).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        let again = a.mint("shared", "PHONE", "+442079460958", "crm").unwrap();
        if again.to_string() == "[PHONE_2]" {
            break;
        }
        assert_eq!(again.to_string(), "[PHONE_1]");
        assert!(
            std::time::Instant::now() < deadline,
            "replica A never saw the purge made on B"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(a.resolve("shared", "[PHONE_2]").unwrap().is_some());
}

#[test]
fn provenance_records_tool_and_path_of_the_first_sighting() {
    let dir = tempfile::tempdir().unwrap();
    let vault = open(dir.path());
    let origin = |tool| Origin {
        server: "workspace",
        tool: Some(tool),
    };
    let first = vault
        .mint_all_from(
            "s1",
            origin("search_emails"),
            [("EMAIL", "eve@attacker.example", Some("emails[3].body"))],
        )
        .unwrap();
    // Seen again in the directory: same placeholder, provenance stays the first sighting.
    let again = vault
        .mint_all_from(
            "s1",
            origin("search_contacts"),
            [("EMAIL", "eve@attacker.example", Some("contacts[0].email"))],
        )
        .unwrap();
    assert_eq!(first, again);
    let r = vault.resolve_placeholder("s1", &first[0]).unwrap().unwrap();
    assert_eq!(r.source, "workspace");
    assert_eq!(r.source_tool.as_deref(), Some("workspace/search_emails"));
    assert_eq!(r.source_path.as_deref(), Some("emails[3].body"));
    // Without a tool (e.g. `sluice tokenize`), none is recorded.
    let p = vault
        .mint("s1", "EMAIL", "a@example.com", "sandbox")
        .unwrap();
    let r = vault.resolve_placeholder("s1", &p).unwrap().unwrap();
    assert_eq!((r.source_tool, r.source_path), (None, None));
    // A very long path is cut, never refused.
    let long = "x".repeat(MAX_SOURCE_PATH_LEN * 2);
    let p = vault
        .mint_all_from(
            "s1",
            origin("t"),
            [("EMAIL", "b@example.com", Some(long.as_str()))],
        )
        .unwrap();
    let r = vault.resolve_placeholder("s1", &p[0]).unwrap().unwrap();
    assert!(r.source_path.unwrap().len() <= MAX_SOURCE_PATH_LEN);
}

#[test]
fn format_1_records_still_open_and_a_format_2_record_cannot_be_downgraded() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = {
        let vault = open(dir.path());
        let p = vault
            .mint_all_from(
                "s1",
                Origin {
                    server: "crm",
                    tool: Some("getLead"),
                },
                [("EMAIL", "a@example.com", Some("lead.email"))],
            )
            .unwrap()
            .remove(0);
        // A record as format 1 wrote it: created ‖ source ‖ value, v1 associated data.
        let mut plaintext = 7u64.to_be_bytes().to_vec();
        plaintext.extend_from_slice(&3u16.to_be_bytes());
        plaintext.extend_from_slice(b"crm");
        plaintext.extend_from_slice(b"a@example.com");
        vault
            .inner
            .crypto
            .seal(&record_aad("s1", &p), plaintext)
            .unwrap()
    };
    let db = sled::open(dir.path().join("db")).unwrap();
    let records = db.open_tree("records").unwrap();
    let (key, v2) = records.iter().next().unwrap().unwrap();
    let mut downgraded = v2.to_vec();
    downgraded[0] = SEALED_V1;
    records.insert(&key, downgraded).unwrap();
    db.flush().unwrap();
    drop(records);
    drop(db);
    {
        let vault = open(dir.path());
        assert!(matches!(
            vault.resolve("s1", "[EMAIL_1]"),
            Err(VaultError::Tampered { .. })
        ));
    }
    let db = sled::open(dir.path().join("db")).unwrap();
    let records = db.open_tree("records").unwrap();
    records.insert(&key, v1).unwrap();
    db.flush().unwrap();
    drop(records);
    drop(db);
    let vault = open(dir.path());
    let r = vault.resolve("s1", "[EMAIL_1]").unwrap().unwrap();
    assert_eq!(r.value, "a@example.com");
    assert_eq!(r.source, "crm");
    assert_eq!(r.created, 7);
    assert_eq!((r.source_tool, r.source_path), (None, None));
}

#[test]
fn a_vault_that_only_reads_is_untouched_and_one_that_writes_is_not() {
    let dir = tempfile::tempdir().unwrap();
    {
        let vault = open(dir.path());
        vault.claim_session("s1", "agent").unwrap();
        vault.mint("s1", "EMAIL", "a@example.com", "crm").unwrap();
        assert!(!vault.untouched(), "a claim and a mint wrote");
    }
    let vault = open(dir.path());
    assert!(
        vault.untouched(),
        "opening an existing vault writes nothing"
    );
    vault.claim_session("s1", "agent").unwrap();
    vault.check_session_owner("s1", "agent").unwrap();
    vault.mint("s1", "EMAIL", "a@example.com", "crm").unwrap();
    assert!(vault.resolve("s1", "[EMAIL_1]").unwrap().is_some());
    assert!(
        vault.untouched(),
        "re-claiming one's own session, reusing a number and reading write nothing"
    );
    vault.mint("s1", "EMAIL", "b@example.com", "crm").unwrap();
    assert!(!vault.untouched(), "a new number was written");
}
