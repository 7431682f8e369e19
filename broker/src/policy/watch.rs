//! Hot reload: watch a policy directory and swap the live set when it changes.
//!
//! Polling rather than inotify: a policy directory holds a handful of small files, a
//! stat of each every half second costs nothing, and polling works the same on every
//! filesystem (network mounts, bind mounts, editors that replace files by rename).
//! A change is picked up once the directory has been quiet for one interval, so a
//! half-written set is not loaded mid-save. An invalid set is rejected by
//! [`PolicyStore::reload`] (the last good set stays in force, the failure is counted
//! and logged with file and line).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::{PolicyError, PolicyStore};

/// How often the directory is checked.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(500);

/// What a reload attempt did; handed to the `on_reload` callback (e.g. to audit it).
#[derive(Debug)]
pub enum ReloadEvent {
    /// The new set is live; its hash.
    Applied(String),
    /// The new set was rejected; the last good set (its hash) stays in force.
    Rejected {
        /// Why the set was rejected (with file and line).
        error: PolicyError,
        /// The hash of the set that stays live.
        kept: String,
    },
}

/// A fingerprint of the directory: every `*.cedar`, `*.cedarschema` and
/// `tests/*.json` file's name, length and modification time.
fn fingerprint(dir: &Path) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let relevant = path
            .extension()
            .is_some_and(|e| e == "cedar" || e == "cedarschema");
        if !relevant {
            continue;
        }
        if let Ok(meta) = entry.metadata() {
            out.push((path, meta.len(), meta.modified().ok()));
        }
    }
    out.sort();
    out
}

/// Watches `dir` every `interval` until the returned handle is aborted or dropped with
/// the runtime; calls `on_reload` after every reload attempt.
pub fn spawn<F>(
    store: Arc<PolicyStore>,
    dir: PathBuf,
    interval: Duration,
    on_reload: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn(&ReloadEvent) + Send + Sync + 'static,
{
    spawn_with(store, dir, interval, PolicyStore::reload, on_reload)
}

/// Watches the shadow candidate's `dir` like [`spawn`] watches the live one: a valid
/// change replaces the candidate, an invalid one keeps the last good candidate. The event
/// carries the *live* set's hash (the candidate never decides anything).
pub fn spawn_shadow<F>(
    store: Arc<PolicyStore>,
    dir: PathBuf,
    interval: Duration,
    on_reload: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn(&ReloadEvent) + Send + Sync + 'static,
{
    spawn_with(store, dir, interval, PolicyStore::load_shadow, on_reload)
}

fn spawn_with<F>(
    store: Arc<PolicyStore>,
    dir: PathBuf,
    interval: Duration,
    load: fn(&PolicyStore, Option<&Path>) -> Result<(), PolicyError>,
    on_reload: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn(&ReloadEvent) + Send + Sync + 'static,
{
    // Fingerprint now, not in the task: a change made before the task first runs must count.
    let mut loaded = fingerprint(&dir);
    tokio::spawn(async move {
        let mut pending: Option<Vec<(PathBuf, u64, Option<SystemTime>)>> = None;
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let now = fingerprint(&dir);
            match pending.take() {
                // Quiet for one interval since the change was seen: load it.
                Some(seen) if seen == now => {
                    let event = match load(&store, Some(&dir)) {
                        Ok(()) => ReloadEvent::Applied(store.policy_set_hash()),
                        Err(error) => ReloadEvent::Rejected {
                            error,
                            kept: store.policy_set_hash(),
                        },
                    };
                    on_reload(&event);
                    loaded = now;
                }
                // Still changing: wait for it to settle.
                Some(_) => pending = Some(now),
                None if now != loaded => pending = Some(now),
                None => {}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PolicyEngine;
    use std::sync::Mutex;

    const PERMIT: &str = "@id(\"allow-all-calls\")\npermit (principal, action == Sluice::Action::\"call\", resource);\n";

    #[tokio::test]
    async fn a_valid_change_goes_live_and_an_invalid_one_keeps_the_last_good_set() {
        let dir = tempfile::tempdir().expect("dir");
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
        std::fs::copy(
            root.join("schema.cedarschema"),
            dir.path().join("schema.cedarschema"),
        )
        .expect("schema");
        std::fs::write(dir.path().join("p.cedar"), PERMIT).expect("write");
        let store = Arc::new(PolicyStore::new(
            PolicyEngine::load(Some(dir.path())).expect("load"),
        ));
        let first = store.policy_set_hash();
        assert!(store.authorize_call("a", "crm", "t").allowed);
        let events = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&events);
        let handle = spawn(
            Arc::clone(&store),
            dir.path().to_path_buf(),
            Duration::from_millis(20),
            move |e| {
                if let Ok(mut events) = seen.lock() {
                    events.push(matches!(e, ReloadEvent::Applied(_)));
                }
            },
        );
        let wait_for = |n: usize| {
            let events = Arc::clone(&events);
            async move {
                for _ in 0..200 {
                    if events.lock().map(|e| e.len()).unwrap_or(0) >= n {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                panic!("no reload event #{n}");
            }
        };

        // An invalid set: rejected, the permit stays live.
        std::fs::write(
            dir.path().join("p.cedar"),
            "@id(\"x\")\npermit (principal, action == Sluice::Action::\"nope\", resource);\n",
        )
        .expect("write");
        wait_for(1).await;
        assert_eq!(store.policy_set_hash(), first);
        assert_eq!(store.reload_failures(), 1);
        assert!(store.authorize_call("a", "crm", "t").allowed);

        // A valid set without the permit: live, calls now denied.
        std::fs::write(dir.path().join("p.cedar"), "@id(\"forbid-crm\")\nforbid (principal, action == Sluice::Action::\"call\", resource in Sluice::Server::\"crm\");\n")
            .expect("write");
        wait_for(2).await;
        assert_ne!(store.policy_set_hash(), first);
        assert!(!store.authorize_call("a", "crm", "t").allowed);
        assert_eq!(*events.lock().expect("events"), vec![false, true]);
        handle.abort();
    }

    #[tokio::test]
    async fn a_shadow_directory_change_replaces_the_candidate_and_never_the_live_set() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
        let dir_of = |policy: &str| {
            let dir = tempfile::tempdir().expect("dir");
            std::fs::copy(
                root.join("schema.cedarschema"),
                dir.path().join("schema.cedarschema"),
            )
            .expect("schema");
            std::fs::write(dir.path().join("p.cedar"), policy).expect("write");
            dir
        };
        let live = dir_of(PERMIT);
        let shadow = dir_of(PERMIT);
        let store = Arc::new(PolicyStore::new(
            PolicyEngine::load(Some(live.path())).expect("load"),
        ));
        store.load_shadow(Some(shadow.path())).expect("shadow");
        let live_hash = store.policy_set_hash();
        assert!(store.authorize_call("a", "crm", "t").allowed);
        assert_eq!(store.shadow_disagreements(), 0);
        let applied = Arc::new(Mutex::new(0));
        let count = Arc::clone(&applied);
        let handle = spawn_shadow(
            Arc::clone(&store),
            shadow.path().to_path_buf(),
            Duration::from_millis(20),
            move |e| {
                if matches!(e, ReloadEvent::Applied(_))
                    && let Ok(mut n) = count.lock()
                {
                    *n += 1;
                }
            },
        );
        std::fs::write(shadow.path().join("p.cedar"), "@id(\"forbid-crm\")\nforbid (principal, action == Sluice::Action::\"call\", resource in Sluice::Server::\"crm\");\n")
            .expect("write");
        for _ in 0..200 {
            if *applied.lock().expect("count") > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(
            *applied.lock().expect("count"),
            1,
            "the shadow change was not picked up"
        );
        // The live set still allows; the new candidate disagrees, and that is counted.
        assert!(store.authorize_call("a", "crm", "t").allowed);
        assert_eq!(store.shadow_disagreements(), 1);
        assert_eq!(store.policy_set_hash(), live_hash);
        handle.abort();
    }
}
