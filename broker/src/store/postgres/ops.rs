//! The [`VaultStore`] operations on PostgreSQL: mint, resolve, purge, owners, stats,
//! each one statement or transaction on the shared pool.

#[allow(unused_imports)]
use super::*;

impl VaultStore for PgStore {
    fn describe(&self) -> &str {
        &self.shared.target
    }

    /// The purge listener's generation; without the listener (cache off, or its
    /// connection down) every call is a new epoch, so nothing is remembered across calls.
    fn purge_epoch(&self) -> u64 {
        static UNWATCHED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1 << 62);
        match &self.shared.cache {
            Some(cache) if cache.is_live() => cache.generation(),
            _ => UNWATCHED.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }

    fn mint(&self, sid: &Sid, items: Vec<MintItem>) -> Result<Vec<u64>, StoreError> {
        let sid = sid.to_vec();
        let tags: Vec<[u8; TAG_LEN]> = items.iter().map(|i| i.tag).collect();
        let cache = self.shared.cache.clone();
        if let Some(numbers) = cache.as_ref().and_then(|c| c.numbers(&sid, &tags)) {
            return Ok(numbers);
        }
        let seen = cache.as_ref().map_or(0, |c| c.generation());
        let key = sid.clone();
        let numbers = self.run("mint a placeholder", |shared| async move {
            let action = "mint a placeholder";
            let err = |e| shared.classify(action, e);
            let mut client = shared.client().await?;
            let tags: Vec<&[u8]> = items.iter().map(|i| &i.tag[..]).collect();
            let lookup = client
                .prepare_cached("SELECT tag, n FROM vault_index WHERE sid = $1 AND tag = ANY($2)")
                .await
                .map_err(err)?;
            let mut known = HashMap::<[u8; TAG_LEN], u64>::new();
            for row in client.query(&lookup, &[&sid, &tags]).await.map_err(err)? {
                known.insert(tag_of(&shared, row.get(0))?, shared.number(row.get(1))?);
            }
            if items.iter().all(|i| known.contains_key(&i.tag)) {
                return Ok(items.iter().map(|i| known[&i.tag]).collect());
            }

            let tx = client.transaction().await.map_err(err)?;
            // The session's row lock serializes its mints and purges across replicas.
            let lock = tx
                .prepare_cached(
                    "INSERT INTO vault_sessions (sid) VALUES ($1)
                     ON CONFLICT (sid) DO UPDATE SET epoch = vault_sessions.epoch",
                )
                .await
                .map_err(err)?;
            tx.execute(&lock, &[&sid]).await.map_err(err)?;
            known.clear();
            for row in tx.query(&lookup, &[&sid, &tags]).await.map_err(err)? {
                known.insert(tag_of(&shared, row.get(0))?, shared.number(row.get(1))?);
            }
            let mut counters = HashMap::<String, u64>::new();
            for row in tx
                .query("SELECT kind, n FROM vault_counters WHERE sid = $1", &[&sid])
                .await
                .map_err(err)?
            {
                counters.insert(row.get(0), shared.number(row.get(1))?);
            }
            let (mut kinds, mut ns, mut sealed, mut new_tags) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            let mut numbers = Vec::with_capacity(items.len());
            for item in &items {
                if let Some(&n) = known.get(&item.tag) {
                    numbers.push(n);
                    continue;
                }
                let counter = counters.entry(item.kind.clone()).or_insert(0);
                let n = counter
                    .checked_add(1)
                    .filter(|&n| i64::try_from(n).is_ok())
                    .ok_or_else(|| StoreError::CounterExhausted {
                        kind: item.kind.clone(),
                    })?;
                *counter = n;
                sealed.push((item.seal)(n)?);
                kinds.push(item.kind.clone());
                ns.push(n as i64);
                new_tags.push(item.tag.to_vec());
                known.insert(item.tag, n);
                numbers.push(n);
            }
            let (counter_kinds, counter_ns): (Vec<String>, Vec<i64>) =
                counters.into_iter().map(|(k, n)| (k, n as i64)).unzip();
            tx.execute(
                "INSERT INTO vault_counters (sid, kind, n)
                 SELECT $1, k, n FROM UNNEST($2::text[], $3::bigint[]) AS t (k, n)
                 ON CONFLICT (sid, kind) DO UPDATE SET n = EXCLUDED.n",
                &[&sid, &counter_kinds, &counter_ns],
            )
            .await
            .map_err(err)?;
            tx.execute(
                "INSERT INTO vault_records (sid, kind, n, sealed)
                 SELECT $1, k, n, s FROM UNNEST($2::text[], $3::bigint[], $4::bytea[]) AS t (k, n, s)",
                &[&sid, &kinds, &ns, &sealed],
            )
            .await
            .map_err(err)?;
            tx.execute(
                "INSERT INTO vault_index (sid, tag, n)
                 SELECT $1, t, n FROM UNNEST($2::bytea[], $3::bigint[]) AS x (t, n)",
                &[&sid, &new_tags, &ns],
            )
            .await
            .map_err(err)?;
            tx.commit().await.map_err(err)?;
            Ok(numbers)
        })?;
        if let Some(cache) = &cache {
            cache.insert(&key, seen, |session| {
                session
                    .index
                    .extend(tags.iter().copied().zip(numbers.iter().copied()));
            });
        }
        Ok(numbers)
    }

    fn record(&self, sid: &Sid, kind: &str, n: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let (sid, kind) = (sid.to_vec(), kind.to_owned());
        let Ok(n) = i64::try_from(n) else {
            return Ok(None);
        };
        // Never cached: a value must stop resolving on every replica the moment a purge
        // commits, and resolving is egress, where a round trip is affordable.
        self.run("resolve a placeholder", |shared| async move {
            let err = |e| shared.classify("resolve a placeholder", e);
            let client = shared.client().await?;
            let statement = client
                .prepare_cached(
                    "SELECT sealed FROM vault_records WHERE sid = $1 AND kind = $2 AND n = $3",
                )
                .await
                .map_err(err)?;
            Ok(client
                .query_opt(&statement, &[&sid, &kind, &n])
                .await
                .map_err(err)?
                .map(|row| row.get::<_, Vec<u8>>(0)))
        })
    }

    fn purge(&self, sid: &Sid) -> Result<u64, StoreError> {
        let sid = sid.to_vec();
        let cache = self.shared.cache.clone();
        let key = sid.clone();
        let erased = self.run("purge a session", |shared| async move {
            let err = |e| shared.classify("purge a session", e);
            let mut client = shared.client().await?;
            let tx = client.transaction().await.map_err(err)?;
            let locked = tx
                .query_opt(
                    "SELECT epoch FROM vault_sessions WHERE sid = $1 FOR UPDATE",
                    &[&sid],
                )
                .await
                .map_err(err)?;
            if locked.is_none() {
                return Ok(0);
            }
            let erased = tx
                .execute("DELETE FROM vault_records WHERE sid = $1", &[&sid])
                .await
                .map_err(err)?;
            tx.execute("DELETE FROM vault_index WHERE sid = $1", &[&sid])
                .await
                .map_err(err)?;
            tx.execute("DELETE FROM workspace_entries WHERE sid = $1", &[&sid])
                .await
                .map_err(err)?;
            tx.execute(
                "UPDATE vault_sessions SET epoch = epoch + 1 WHERE sid = $1",
                &[&sid],
            )
            .await
            .map_err(err)?;
            tx.execute(
                "SELECT pg_notify($1, encode($2, 'hex'))",
                &[&PURGE_CHANNEL, &sid],
            )
            .await
            .map_err(err)?;
            tx.commit().await.map_err(err)?;
            Ok(erased)
        });
        // This replica forgets at once (also when the outcome is unknown); the others on
        // the notification.
        if let Some(cache) = &cache {
            cache.invalidate(&key);
        }
        erased
    }

    fn claim(&self, sid: &Sid, owner: &[u8]) -> Result<bool, StoreError> {
        let (sid, owner) = (sid.to_vec(), owner.to_vec());
        self.run("bind a session to its agent", |shared| async move {
            let err = |e| shared.classify("bind a session to its agent", e);
            let client = shared.client().await?;
            let statement = client
                .prepare_cached(
                    "INSERT INTO vault_sessions (sid, owner) VALUES ($1, $2)
                     ON CONFLICT (sid) DO UPDATE
                       SET owner = COALESCE(vault_sessions.owner, EXCLUDED.owner)
                     RETURNING owner",
                )
                .await
                .map_err(err)?;
            let row = client
                .query_one(&statement, &[&sid, &owner])
                .await
                .map_err(err)?;
            Ok(row.get::<_, Option<Vec<u8>>>(0).as_deref() == Some(&owner[..]))
        })
    }

    fn owner(&self, sid: &Sid) -> Result<Option<Vec<u8>>, StoreError> {
        let sid = sid.to_vec();
        self.run("look up a session's agent", |shared| async move {
            let err = |e| shared.classify("look up a session's agent", e);
            let client = shared.client().await?;
            let statement = client
                .prepare_cached("SELECT owner FROM vault_sessions WHERE sid = $1")
                .await
                .map_err(err)?;
            Ok(client
                .query_opt(&statement, &[&sid])
                .await
                .map_err(err)?
                .and_then(|row| row.get::<_, Option<Vec<u8>>>(0)))
        })
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        self.run("count placeholders", |shared| async move {
            let err = |e| shared.classify("count placeholders", e);
            let client = shared.client().await?;
            let mut stats = StoreStats::default();
            for row in client
                .query(
                    "SELECT kind, count(*) FROM vault_records GROUP BY kind",
                    &[],
                )
                .await
                .map_err(err)?
            {
                stats
                    .per_kind
                    .insert(row.get(0), shared.number(row.get(1))?);
            }
            let sessions: i64 = client
                .query_one("SELECT count(DISTINCT sid) FROM vault_records", &[])
                .await
                .map_err(err)?
                .get(0);
            stats.sessions = shared.number(sessions)?;
            Ok(stats)
        })
    }

    fn workspace_put(
        &self,
        sid: &Sid,
        agent: &Owner,
        slot: &Slot,
        sealed: Vec<u8>,
        max_entries: usize,
    ) -> Result<bool, StoreError> {
        let (sid, agent, slot) = (sid.to_vec(), agent.to_vec(), slot.to_vec());
        let max = i64::try_from(max_entries).unwrap_or(i64::MAX);
        self.run("write a workspace entry", |shared| async move {
            let err = |e| shared.classify("write a workspace entry", e);
            let mut client = shared.client().await?;
            let tx = client.transaction().await.map_err(err)?;
            // The session's row lock serializes the count check with other writers.
            tx.execute(
                "INSERT INTO vault_sessions (sid) VALUES ($1)
                 ON CONFLICT (sid) DO UPDATE SET epoch = vault_sessions.epoch",
                &[&sid],
            )
            .await
            .map_err(err)?;
            let exists = tx
                .query_opt(
                    "SELECT 1 FROM workspace_entries WHERE sid = $1 AND agent = $2 AND slot = $3",
                    &[&sid, &agent, &slot],
                )
                .await
                .map_err(err)?
                .is_some();
            if !exists {
                let held: i64 = tx
                    .query_one(
                        "SELECT count(*) FROM workspace_entries WHERE sid = $1 AND agent = $2",
                        &[&sid, &agent],
                    )
                    .await
                    .map_err(err)?
                    .get(0);
                if held >= max {
                    return Ok(false);
                }
            }
            tx.execute(
                "INSERT INTO workspace_entries (sid, agent, slot, sealed) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (sid, agent, slot) DO UPDATE SET sealed = EXCLUDED.sealed",
                &[&sid, &agent, &slot, &sealed],
            )
            .await
            .map_err(err)?;
            tx.commit().await.map_err(err)?;
            Ok(true)
        })
    }

    fn workspace_get(
        &self,
        sid: &Sid,
        agent: &Owner,
        slot: &Slot,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let (sid, agent, slot) = (sid.to_vec(), agent.to_vec(), slot.to_vec());
        self.run("read a workspace entry", |shared| async move {
            let client = shared.client().await?;
            Ok(client
                .query_opt(
                    "SELECT sealed FROM workspace_entries WHERE sid = $1 AND agent = $2 AND slot = $3",
                    &[&sid, &agent, &slot],
                )
                .await
                .map_err(|e| shared.classify("read a workspace entry", e))?
                .map(|row| row.get::<_, Vec<u8>>(0)))
        })
    }

    fn workspace_entries(
        &self,
        sid: &Sid,
        agent: &Owner,
    ) -> Result<Vec<(Slot, Vec<u8>)>, StoreError> {
        let (sid, agent) = (sid.to_vec(), agent.to_vec());
        self.run("list the workspace", |shared| async move {
            let client = shared.client().await?;
            let rows = client
                .query(
                    "SELECT slot, sealed FROM workspace_entries WHERE sid = $1 AND agent = $2
                     ORDER BY slot",
                    &[&sid, &agent],
                )
                .await
                .map_err(|e| shared.classify("list the workspace", e))?;
            rows.into_iter()
                .map(|row| Ok((tag_of(&shared, row.get(0))?, row.get::<_, Vec<u8>>(1))))
                .collect()
        })
    }

    fn workspace_delete(&self, sid: &Sid, agent: &Owner, slot: &Slot) -> Result<bool, StoreError> {
        let (sid, agent, slot) = (sid.to_vec(), agent.to_vec(), slot.to_vec());
        self.run("delete a workspace entry", |shared| async move {
            let client = shared.client().await?;
            Ok(client
                .execute(
                    "DELETE FROM workspace_entries WHERE sid = $1 AND agent = $2 AND slot = $3",
                    &[&sid, &agent, &slot],
                )
                .await
                .map_err(|e| shared.classify("delete a workspace entry", e))?
                > 0)
        })
    }

    fn skill_save(
        &self,
        owner: &Owner,
        slot: &Slot,
        seal: Sealer,
        max_skills: usize,
    ) -> Result<Option<u64>, StoreError> {
        let (owner, slot) = (owner.to_vec(), slot.to_vec());
        let max = i64::try_from(max_skills).unwrap_or(i64::MAX);
        self.run("save a skill", |shared| async move {
            let err = |e| shared.classify("save a skill", e);
            let mut client = shared.client().await?;
            let tx = client.transaction().await.map_err(err)?;
            // One saver per owner at a time, across replicas: the version is max + 1 and
            // the skill count cannot change between the check and the insert.
            tx.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended('skills:' || encode($1::bytea, 'hex'), 0))",
                &[&owner],
            )
            .await
            .map_err(err)?;
            let row = tx
                .query_one(
                    "SELECT count(DISTINCT slot), COALESCE(bool_or(slot = $2), false) FROM skills WHERE owner = $1",
                    &[&owner, &slot],
                )
                .await
                .map_err(err)?;
            let (count, exists): (i64, bool) = (row.get(0), row.get(1));
            if !exists && count >= max {
                return Ok(None);
            }
            let last: i64 = tx
                .query_one(
                    "SELECT COALESCE(max(version), 0) FROM skills WHERE owner = $1 AND slot = $2",
                    &[&owner, &slot],
                )
                .await
                .map_err(err)?
                .get(0);
            let version =
                shared
                    .number(last)?
                    .checked_add(1)
                    .ok_or(StoreError::CounterExhausted {
                        kind: "skill version".into(),
                    })?;
            let sealed = seal(version)?;
            let stored = i64::try_from(version).map_err(|_| StoreError::CounterExhausted {
                kind: "skill version".into(),
            })?;
            tx.execute(
                "INSERT INTO skills (owner, slot, version, sealed) VALUES ($1, $2, $3, $4)",
                &[&owner, &slot, &stored, &sealed],
            )
            .await
            .map_err(err)?;
            tx.commit().await.map_err(err)?;
            Ok(Some(version))
        })
    }

    fn skills(&self, owner: &Owner) -> Result<Vec<SkillVersion>, StoreError> {
        let owner = owner.to_vec();
        self.run("list skills", |shared| async move {
            let client = shared.client().await?;
            let rows = client
                .query(
                    "SELECT DISTINCT ON (slot) slot, version, sealed FROM skills
                     WHERE owner = $1 ORDER BY slot, version DESC",
                    &[&owner],
                )
                .await
                .map_err(|e| shared.classify("list skills", e))?;
            rows.into_iter()
                .map(|row| {
                    Ok(SkillVersion {
                        slot: tag_of(&shared, row.get(0))?,
                        version: shared.number(row.get(1))?,
                        sealed: row.get(2),
                    })
                })
                .collect()
        })
    }

    fn skill_delete(&self, owner: &Owner, slot: &Slot) -> Result<u64, StoreError> {
        let (owner, slot) = (owner.to_vec(), slot.to_vec());
        self.run("delete a skill", |shared| async move {
            let client = shared.client().await?;
            client
                .execute(
                    "DELETE FROM skills WHERE owner = $1 AND slot = $2",
                    &[&owner, &slot],
                )
                .await
                .map_err(|e| shared.classify("delete a skill", e))
        })
    }

    fn key_check(&self, fresh: Vec<u8>) -> Result<Vec<u8>, StoreError> {
        self.run("check the master key", |shared| async move {
            let err = |e| shared.classify("check the master key", e);
            let client = shared.client().await?;
            client
                .execute(
                    "INSERT INTO vault_meta (name, value) VALUES ('check', $1)
                     ON CONFLICT (name) DO NOTHING",
                    &[&fresh],
                )
                .await
                .map_err(err)?;
            Ok(client
                .query_one("SELECT value FROM vault_meta WHERE name = 'check'", &[])
                .await
                .map_err(err)?
                .get(0))
        })
    }
}

fn tag_of(shared: &Shared, bytes: &[u8]) -> Result<[u8; TAG_LEN], StoreError> {
    <[u8; TAG_LEN]>::try_from(bytes).map_err(|_| StoreError::Corrupt {
        store: shared.target.clone(),
        what: "an index tag is not 32 bytes",
    })
}
