//! Replicas on one PostgreSQL: two real `sluice serve --grpc` processes share the vault
//! through `[store] postgres`, and a client may use either for any request of a session.
//!
//! Needs a PostgreSQL (`eval "$(scripts/pg-test.sh start)"` sets `SLUICE_TEST_PG_URL`);
//! without it each test says SKIPPED, except in CI where it fails.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sluice::front::grpc::pb;

use crate::support::{KeyedClient, Server, keyed_client, runtime, serve_grpc};

const KEY_VAR: &str = "SLUICE_E2E_REPLICA_KEY";
const KEY: &str = "e2e-replica-key";
/// The one master key every replica shares (base64 of 32 bytes).
const MASTER_KEY: &str = "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=";
const EMAIL: &str = "amelia.hartley@northwind-logistics.co.uk";

fn pg_url(test: &str) -> Option<String> {
    match std::env::var("SLUICE_TEST_PG_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "SLUICE_TEST_PG_URL is unset in CI: .ci/run must start PostgreSQL (scripts/pg-test.sh start)"
            );
            eprintln!(
                "SKIPPED {test}: needs SLUICE_TEST_PG_URL; run `eval \"$(scripts/pg-test.sh start)\"` first"
            );
            None
        }
    }
}

fn sql(url: &str, statements: &str) {
    let statements = statements.to_owned();
    let url = url.to_owned();
    runtime().block_on(async move {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .expect("connect to the test database");
        tokio::spawn(connection);
        client.batch_execute(&statements).await.expect("sql");
    });
}

/// A fresh schema in the test database; the URL that selects it.
fn fresh_schema(url: &str) -> String {
    let name = format!("e2e_{:016x}", rand::random::<u64>());
    sql(url, &format!("CREATE SCHEMA {name}"));
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-csearch_path%3D{name}")
}

/// A replica's config: its own data dir, the shared store, no backends needed for
/// Tokenize/Detokenize except the names policies speak of (sheets, crm: internal).
fn write_config(dir: &Path, name: &str, store_url: &str) -> String {
    let path = dir.join(format!("{name}.toml"));
    let text = format!(
        "data_dir = {data:?}\n\
         [store]\npostgres = {store_url:?}\ntimeout_ms = 3000\n\n\
         [agents.platform]\napi_key_env = {KEY_VAR:?}\n\n\
         [servers.sheets]\nurl = \"http://127.0.0.1:9/mcp\"\ntrust = \"internal\"\n\n\
         [servers.crm]\nurl = \"http://127.0.0.1:9/mcp\"\ntrust = \"internal\"\n",
        data = dir.join(format!("data-{name}")).to_str().expect("path"),
    );
    std::fs::write(&path, text).expect("write config");
    path.to_str().expect("path").to_owned()
}

fn start_replica(dir: &Path, config: &str) -> (Server, String) {
    serve_grpc(
        dir,
        config,
        &[(KEY_VAR, KEY), ("SLUICE_MASTER_KEY", MASTER_KEY)],
    )
}

type Client = KeyedClient;

async fn client(addr: &str) -> Client {
    keyed_client(addr, KEY).await
}

async fn tokenize(client: &mut Client, session: &str, text: &str) -> Result<String, tonic::Status> {
    let response = client
        .tokenize(pb::TokenizeRequest {
            session: session.into(),
            source: "sheets".into(),
            input: Some(pb::tokenize_request::Input::Text(text.into())),
            tool: String::new(),
        })
        .await?
        .into_inner();
    match response.output {
        Some(pb::tokenize_response::Output::Text(text)) => Ok(text),
        other => panic!("no text output: {other:?}"),
    }
}

async fn detokenize(
    client: &mut Client,
    session: &str,
    text: &str,
) -> Result<String, tonic::Status> {
    let response = client
        .detokenize(pb::DetokenizeRequest {
            session: session.into(),
            destination: "crm/updateLead".into(),
            input: Some(pb::detokenize_request::Input::Text(text.into())),
        })
        .await?
        .into_inner();
    match response.output {
        Some(pb::detokenize_response::Output::Text(text)) => Ok(text),
        other => panic!("no text output: {other:?}"),
    }
}

#[test]
fn replicas_share_placeholders_and_a_purge_on_one_erases_on_both() {
    let Some(url) = pg_url("replicas_share_placeholders_and_a_purge_on_one_erases_on_both") else {
        return;
    };
    let url = fresh_schema(&url);
    let dir = tempfile::tempdir().expect("dir");
    let (_a, addr_a) = start_replica(dir.path(), &write_config(dir.path(), "a", &url));
    let (_b, addr_b) = start_replica(dir.path(), &write_config(dir.path(), "b", &url));
    runtime().block_on(async {
        let (mut a, mut b) = (client(&addr_a).await, client(&addr_b).await);
        let session = "s-replicas-shared-0001";
        // Alternate replicas within one session: the same values, the same placeholders.
        let on_a = tokenize(&mut a, session, &format!("mail {EMAIL}"))
            .await
            .expect("A");
        assert_eq!(on_a, "mail [EMAIL_1]");
        let on_b = tokenize(
            &mut b,
            session,
            &format!("again {EMAIL} and bo@example.org"),
        )
        .await
        .expect("B");
        assert_eq!(on_b, "again [EMAIL_1] and [EMAIL_2]");
        let on_a = tokenize(&mut a, session, "bo@example.org")
            .await
            .expect("A");
        assert_eq!(on_a, "[EMAIL_2]");
        // Minted on A, restored toward an allowed destination through B.
        let restored = detokenize(&mut b, session, "to [EMAIL_1]")
            .await
            .expect("B");
        assert_eq!(restored, format!("to {EMAIL}"));
        // Purge through A; B resolves nothing any more.
        a.purge_session(pb::PurgeSessionRequest {
            session: session.into(),
        })
        .await
        .expect("purge on A");
        let after = detokenize(&mut b, session, "to [EMAIL_1]").await;
        let shown = format!("{after:?}");
        assert!(
            !shown.contains(EMAIL),
            "purged value came back via B: {shown}"
        );
        // Numbering continues after the purge: the old placeholder is never reused. (B's
        // value→placeholder cache learns of the purge by notification, within moments.)
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let again = tokenize(&mut b, session, EMAIL).await.expect("B");
            if again != "[EMAIL_1]" || Instant::now() > deadline {
                assert_eq!(again, "[EMAIL_3]");
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
}

#[test]
fn fifty_concurrent_sessions_over_two_replicas_never_duplicate_a_placeholder() {
    let Some(url) =
        pg_url("fifty_concurrent_sessions_over_two_replicas_never_duplicate_a_placeholder")
    else {
        return;
    };
    let url = fresh_schema(&url);
    let dir = tempfile::tempdir().expect("dir");
    let (_a, addr_a) = start_replica(dir.path(), &write_config(dir.path(), "a", &url));
    let (_b, addr_b) = start_replica(dir.path(), &write_config(dir.path(), "b", &url));
    runtime().block_on(async {
        let (a, b) = (client(&addr_a).await, client(&addr_b).await);
        let text: String = (0..5).map(|i| format!("u{i}@example.com ")).collect();
        let mut tasks = Vec::new();
        for s in 0..50 {
            for (replica, client) in [("a", a.clone()), ("b", b.clone())] {
                let (mut client, text) = (client, text.clone());
                tasks.push(tokio::spawn(async move {
                    let session = format!("s-concurrent-{s:03}");
                    let out = tokenize(&mut client, &session, &text).await.expect(replica);
                    (s, out)
                }));
            }
        }
        let mut per_session = std::collections::BTreeMap::<usize, Vec<String>>::new();
        for task in tasks {
            let (s, out) = task.await.expect("task");
            per_session.entry(s).or_default().push(out);
        }
        let expected: String = (1..=5).map(|n| format!("[EMAIL_{n}] ")).collect();
        for (s, outs) in per_session {
            assert_eq!(outs.len(), 2);
            // Both replicas, concurrently, agree on one numbering without gaps or duplicates.
            assert_eq!(outs[0], outs[1], "session {s}");
            let mut numbers: Vec<&str> = outs[0].split_whitespace().collect();
            numbers.sort_unstable();
            numbers.dedup();
            assert_eq!(numbers.len(), 5, "session {s}: {}", outs[0]);
            let mut sorted_expected: Vec<&str> = expected.split_whitespace().collect();
            sorted_expected.sort_unstable();
            assert_eq!(numbers, sorted_expected, "session {s}");
        }
    });
}

#[test]
fn killed_replica_mid_mint_loses_no_acknowledged_placeholder() {
    let Some(url) = pg_url("killed_replica_mid_mint_loses_no_acknowledged_placeholder") else {
        return;
    };
    let url = fresh_schema(&url);
    let dir = tempfile::tempdir().expect("dir");
    let (mut a, addr_a) = start_replica(dir.path(), &write_config(dir.path(), "a", &url));
    let (_b, addr_b) = start_replica(dir.path(), &write_config(dir.path(), "b", &url));
    let session = "s-kill-nine-0001";
    let acknowledged = runtime().block_on(async {
        let mut a_client = client(&addr_a).await;
        let minting = tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for i in 0.. {
                let value = format!("user{i}@example.com");
                match tokenize(&mut a_client, session, &value).await {
                    Ok(placeholder) => acknowledged.push((placeholder, value)),
                    Err(_) => break,
                }
            }
            acknowledged
        });
        tokio::time::sleep(Duration::from_millis(700)).await;
        // kill -9 while mints are in flight.
        a.0.kill().expect("kill -9 replica A");
        minting.await.expect("minting task")
    });
    assert!(
        acknowledged.len() > 3,
        "too few mints before the kill: {}",
        acknowledged.len()
    );
    runtime().block_on(async {
        let mut b = client(&addr_b).await;
        for (placeholder, value) in &acknowledged {
            let restored = detokenize(&mut b, session, placeholder)
                .await
                .expect("B serves");
            assert_eq!(
                &restored, value,
                "{placeholder} lost or changed after kill -9"
            );
        }
        // B keeps minting in the same session, after the highest acknowledged number.
        let next = tokenize(&mut b, session, "late@example.com")
            .await
            .expect("B mints");
        let n: usize = next
            .trim_start_matches("[EMAIL_")
            .trim_end_matches(']')
            .parse()
            .expect("a placeholder");
        assert!(n > acknowledged.len(), "{next} reuses a number");
    });
}

#[test]
fn database_down_fails_closed_with_a_clear_error_and_service_resumes() {
    if pg_url("database_down_fails_closed_with_a_clear_error_and_service_resumes").is_none() {
        return;
    }
    // An instance of its own: stopping it must not disturb other tests.
    let dir = tempfile::tempdir().expect("dir");
    let pg_dir = dir.path().join("pg");
    // A port the OS says is free (a fixed pid-based port can collide with a leftover
    // instance of an earlier run).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/pg-test.sh");
    let pg = |action: &str| {
        let out = Command::new(&script)
            .arg(action)
            .env("SLUICE_PG_DIR", &pg_dir)
            .env("SLUICE_PG_PORT", port.to_string())
            .output()
            .expect("run pg-test.sh");
        assert!(out.status.success(), "pg-test.sh {action}: {out:?}");
        String::from_utf8(out.stdout).expect("utf8")
    };
    let started = pg("start");
    let url = started
        .trim()
        .strip_prefix("export SLUICE_TEST_PG_URL=")
        .expect("url")
        .to_owned();
    let (_a, addr) = start_replica(dir.path(), &write_config(dir.path(), "a", &url));
    runtime().block_on(async {
        let mut a = client(&addr).await;
        let session = "s-db-down-0001";
        assert_eq!(
            tokenize(&mut a, session, EMAIL).await.expect("up"),
            "[EMAIL_1]"
        );
        pg("stop");
        let err = tokenize(
            &mut a,
            session,
            &format!("new value bo@example.org {EMAIL}"),
        )
        .await
        .expect_err("the database is down: tokenize must fail closed");
        let message = err.message();
        assert!(
            !message.contains(EMAIL) && !message.contains("bo@example.org"),
            "{message}"
        );
        assert!(message.contains("PostgreSQL"), "{message}");
        let detokenized = detokenize(&mut a, session, "[EMAIL_1]").await;
        assert!(detokenized.is_err(), "{detokenized:?}");
        pg("start");
        // The pool reconnects: service resumes without a restart.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match tokenize(&mut a, session, "bo@example.org").await {
                Ok(text) => {
                    // Nothing was minted while the database was down.
                    assert_eq!(text, "[EMAIL_2]");
                    break;
                }
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("service did not resume: {e:?}"),
            }
        }
        assert_eq!(
            detokenize(&mut a, session, "[EMAIL_1]")
                .await
                .expect("resumed"),
            EMAIL
        );
    });
    pg("destroy");
}

/// `sluice vault stats` with `config`; (exit code, stderr).
fn stats(dir: &Path, config: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["vault", "--config", config, "stats"])
        .current_dir(dir)
        .env("SLUICE_MASTER_KEY", MASTER_KEY)
        .output()
        .expect("run sluice");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_store_settings_get_clear_errors_naming_what_to_do() {
    let Some(base) = pg_url("bad_store_settings_get_clear_errors_naming_what_to_do") else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    // Nothing listens on port 9.
    let config = write_config(
        dir.path(),
        "down",
        "postgres://sluice:x@127.0.0.1:9/sluice_test",
    );
    let (code, err) = stats(dir.path(), &config);
    assert_ne!(code, 0);
    assert!(
        err.contains("unavailable") && err.contains("check that the database is running"),
        "{err}"
    );
    assert!(!err.contains(":x@"), "password shown: {err}");

    let wrong_password = base.replace("sluice-test", "not-the-password");
    let config = write_config(dir.path(), "password", &wrong_password);
    let (code, err) = stats(dir.path(), &config);
    assert_ne!(code, 0);
    assert!(
        err.contains("refused the login") && err.contains("password"),
        "{err}"
    );
    assert!(!err.contains("not-the-password"), "password shown: {err}");

    let config = write_config(
        dir.path(),
        "garbage",
        "postgres://sluice@127.0.0.1:5432/db?sslmode=sometimes",
    );
    let (code, err) = stats(dir.path(), &config);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("[store] postgres connection string is invalid"),
        "{err}"
    );

    // A database without the schema: read-only commands name the migration…
    let url = fresh_schema(&base);
    let config = write_config(dir.path(), "empty", &url);
    let (code, err) = stats(dir.path(), &config);
    assert_ne!(code, 0);
    assert!(err.contains("sluice store --config FILE migrate"), "{err}");
    // …which creates it.
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["store", "--config", &config, "migrate"])
        .current_dir(dir.path())
        .env_remove("SLUICE_MASTER_KEY")
        .output()
        .expect("run sluice");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success()
            && said.contains("from version 0 to")
            && said.contains("no master key given"),
        "{out:?}"
    );
    let (code, err) = stats(dir.path(), &config);
    assert_eq!(code, 0, "{err}");

    // A schema from a newer Sluice is refused, at read and at serve start.
    let search_path = url.rsplit("search_path%3D").next().expect("schema name");
    sql(
        &base,
        &format!("UPDATE {search_path}.sluice_schema SET version = 999"),
    );
    let (code, err) = stats(dir.path(), &config);
    assert_ne!(code, 0);
    assert!(
        err.contains("newer than this sluice") && err.contains("upgrade sluice"),
        "{err}"
    );
    let serve = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["serve", "--config", &config, "--grpc", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env("SLUICE_MASTER_KEY", MASTER_KEY)
        .env(KEY_VAR, KEY)
        .stdin(Stdio::null())
        .output()
        .expect("run sluice serve");
    let err = String::from_utf8_lossy(&serve.stderr);
    assert!(
        !serve.status.success() && err.contains("newer than this sluice"),
        "{err}"
    );

    // Replicas must share a provisioned master key: none is invented for a shared store.
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["vault", "--config", &config, "stats"])
        .current_dir(dir.path())
        .env_remove("SLUICE_MASTER_KEY")
        .output()
        .expect("run sluice");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("SLUICE_MASTER_KEY"),
        "{err}"
    );
}

/// The key cut-over of docs/operations.md ("Rotating the master key"): a database
/// migrated with the new key accepts only that key, so a replica still holding the old
/// key is refused instead of claiming it, and the old database keeps working with its own key.
#[test]
fn a_database_migrated_with_a_new_key_refuses_replicas_with_the_old_one() {
    let Some(base) = pg_url("a_database_migrated_with_a_new_key_refuses_replicas_with_the_old_one")
    else {
        return;
    };
    const NEW_KEY: &str = "3q2+796tvu/erb7v3q2+796tvu/erb7v3q2+796tvu8=";
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |config: &str, key: &str, args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args([args[0], "--config", config])
            .args(&args[1..])
            .current_dir(dir.path())
            .env("SLUICE_MASTER_KEY", key)
            .output()
            .expect("run sluice");
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let old = write_config(dir.path(), "old", &fresh_schema(&base));
    let new = write_config(dir.path(), "new", &fresh_schema(&base));
    // The old database is in use under the old key.
    let (ok, said) = run(&old, MASTER_KEY, &["store", "migrate"]);
    assert!(
        ok && said.contains("bound to the given master key"),
        "{said}"
    );

    // Step 1 of the cut-over: migrate the new database with the new key, which binds it.
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["store", "--config", &new, "migrate"])
        .current_dir(dir.path())
        .env("SLUICE_MASTER_KEY", NEW_KEY)
        .output()
        .expect("run sluice");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && said.contains("bound to the given master key"),
        "{out:?}"
    );

    // A replica rolled to the new database but still holding the old key is refused…
    let (ok, said) = run(&new, MASTER_KEY, &["vault", "stats"]);
    assert!(!ok && said.contains("different master key"), "{said}");
    assert!(
        !said.contains(MASTER_KEY) && !said.contains(NEW_KEY),
        "a key in a message: {said}"
    );
    // …as is the new key on the old database, while each key opens its own.
    let (ok, said) = run(&old, NEW_KEY, &["vault", "stats"]);
    assert!(!ok && said.contains("different master key"), "{said}");
    let (ok, said) = run(&new, NEW_KEY, &["vault", "stats"]);
    assert!(ok, "{said}");
    let (ok, said) = run(&old, MASTER_KEY, &["vault", "stats"]);
    assert!(ok, "{said}");

    // Migrating again with the wrong key says so and changes nothing.
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["store", "--config", &new, "migrate"])
        .current_dir(dir.path())
        .env("SLUICE_MASTER_KEY", MASTER_KEY)
        .output()
        .expect("run sluice");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("different master key"),
        "{out:?}"
    );
    let (ok, said) = run(&new, NEW_KEY, &["vault", "stats"]);
    assert!(ok, "{said}");
}
