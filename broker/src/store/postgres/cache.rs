//! The per-replica value → placeholder cache and the `LISTEN` task that keeps it exact
//! under purges on other replicas.

#[allow(unused_imports)]
use super::*;

/// Sessions cached per replica before the cache is emptied (a crude bound on memory).
pub(super) const CACHE_MAX_SESSIONS: usize = 10_000;

/// This replica's cache of value → placeholder (`tag → n` per session), which makes a
/// known value at ingress cost no round trip. It changes only by purge (numbers are never
/// reused). Sealed records are not cached: resolving always reads the database, so a
/// purged value stops resolving on every replica the moment the purge commits.
///
/// Safety under purge on another replica: every purge commits a `NOTIFY` on
/// [`PURGE_CHANNEL`]; a dedicated connection `LISTEN`s and drops that session's entries.
/// The cache is used only while that connection is up (`live`), and emptied whenever it
/// (re)connects, so no notification can be missed unnoticed. An entry read from the
/// database is inserted only if no invalidation happened since the read began
/// (`generation`), so a read racing a purge cannot re-insert purged data. What remains is
/// the notification's latency: for a moment after a purge commits, another replica may
/// still hand out a purged session's old placeholder for a value seen again (which then
/// resolves to nothing) instead of minting a new one. No value is ever returned from it.
#[derive(Default)]
pub struct Cache {
    live: std::sync::atomic::AtomicBool,
    generation: std::sync::atomic::AtomicU64,
    sessions: std::sync::Mutex<HashMap<Vec<u8>, SessionCache>>,
}

#[derive(Default)]
pub(super) struct SessionCache {
    pub(super) index: HashMap<[u8; TAG_LEN], u64>,
}

impl Cache {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, SessionCache>> {
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(super) fn is_live(&self) -> bool {
        self.live.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The generation to pass to an insert after a database read.
    pub(super) fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub(super) fn invalidate(&self, sid: &[u8]) {
        let mut sessions = self.lock();
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        sessions.remove(sid);
    }

    pub(super) fn clear(&self) {
        let mut sessions = self.lock();
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        sessions.clear();
    }

    pub(super) fn numbers(&self, sid: &[u8], tags: &[[u8; TAG_LEN]]) -> Option<Vec<u64>> {
        if !self.is_live() {
            return None;
        }
        let sessions = self.lock();
        let session = sessions.get(sid)?;
        tags.iter().map(|t| session.index.get(t).copied()).collect()
    }

    /// Runs `fill` on the session's entry unless an invalidation happened since `seen`.
    pub(super) fn insert(&self, sid: &[u8], seen: u64, fill: impl FnOnce(&mut SessionCache)) {
        let mut sessions = self.lock();
        if self.generation() != seen || !self.is_live() {
            return;
        }
        if sessions.len() >= CACHE_MAX_SESSIONS && !sessions.contains_key(sid) {
            sessions.clear();
        }
        fill(sessions.entry(sid.to_vec()).or_default());
    }
}

/// Keeps a `LISTEN` connection up and applies purge notifications to `cache`.
pub(super) async fn listen(
    config: tokio_postgres::Config,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
    cache: Arc<Cache>,
) {
    use futures::StreamExt;
    loop {
        if let Ok((client, mut connection)) = config.connect(tls.clone()).await {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
            tokio::spawn(async move {
                while let Some(Ok(message)) = messages.next().await {
                    if let tokio_postgres::AsyncMessage::Notification(n) = message
                        && tx.send(n.payload().to_owned()).is_err()
                    {
                        break;
                    }
                }
            });
            if client
                .batch_execute(&format!("LISTEN {PURGE_CHANNEL}"))
                .await
                .is_ok()
            {
                cache.clear();
                cache.live.store(true, std::sync::atomic::Ordering::SeqCst);
                while let Some(payload) = rx.recv().await {
                    match decode_hex(&payload) {
                        Some(sid) => cache.invalidate(&sid),
                        None => cache.clear(),
                    }
                }
            }
        }
        // The connection is gone: notifications may be missed from now on.
        cache.live.store(false, std::sync::atomic::Ordering::SeqCst);
        cache.clear();
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}
