//! Sealing for what programs keep between executes: workspace entries (per session and
//! agent) and saved skills (per agent or agent group). The vault seals and hashes; the
//! store keeps only keyed hashes and sealed bytes, so neither a workspace key, a value, a
//! skill name nor its code is readable at rest.
//!
//! * workspace: `(sid, HMAC(agent), HMAC(session ‖ agent ‖ key))` →
//!   AES-GCM(`key_len ‖ key ‖ value JSON`), associated data = that identity, so an
//!   entry moved to another slot, agent or session fails to open. A purge of the session
//!   erases them with its values.
//! * skills: `(HMAC(owner), HMAC(owner ‖ name), version)` → AES-GCM(record), associated
//!   data = that identity.
//!
//! This module never checks what is stored: the broker has already scanned it (it must
//! hold only placeholders), validated it and held it to its limits.

use ring::hmac;

use super::{Inner, Vault, VaultError, framed, validate_agent, validate_session};
use crate::store::{OWNER_LEN, Owner, SealFailed, Slot, StoreError, TAG_LEN};

/// Most bytes of one workspace key.
pub const MAX_WORKSPACE_KEY_LEN: usize = 512;

impl Vault {
    /// Stores `value` (JSON text) under `key` in the workspace of (`session`, `agent`),
    /// replacing what was there; `Ok(false)` (nothing written) when the key is new and the
    /// workspace already holds `max_entries` keys. Durable before it returns.
    pub fn workspace_set(
        &self,
        session: &str,
        agent: &str,
        key: &str,
        value: &str,
        max_entries: usize,
    ) -> Result<bool, VaultError> {
        let (sid, owner, slot) = self.inner.workspace_identity(session, agent, key)?;
        let mut plaintext = Vec::with_capacity(4 + key.len() + value.len());
        plaintext.extend_from_slice(&(key.len() as u32).to_be_bytes());
        plaintext.extend_from_slice(key.as_bytes());
        plaintext.extend_from_slice(value.as_bytes());
        let sealed = self
            .inner
            .crypto
            .seal(&workspace_aad(session, agent, &slot), plaintext)
            .map_err(|e: SealFailed| VaultError::Crypto { what: e.0 })?;
        Ok(self
            .inner
            .store
            .workspace_put(&sid, &owner, &slot, sealed, max_entries)?)
    }

    /// The JSON text stored under `key` in the workspace of (`session`, `agent`).
    pub fn workspace_get(
        &self,
        session: &str,
        agent: &str,
        key: &str,
    ) -> Result<Option<String>, VaultError> {
        let (sid, owner, slot) = self.inner.workspace_identity(session, agent, key)?;
        let Some(sealed) = self.inner.store.workspace_get(&sid, &owner, &slot)? else {
            return Ok(None);
        };
        let (stored_key, value) = self.inner.open_entry(session, agent, &slot, &sealed)?;
        if stored_key != key {
            return Err(self
                .inner
                .corrupt("a workspace entry is filed under another key"));
        }
        Ok(Some(value))
    }

    /// Every `(key, JSON text)` in the workspace of (`session`, `agent`), sorted by key.
    pub fn workspace_entries(
        &self,
        session: &str,
        agent: &str,
    ) -> Result<Vec<(String, String)>, VaultError> {
        validate_session(session)?;
        validate_agent(agent)?;
        let sid = self.inner.crypto.session_id(session);
        let owner = self
            .inner
            .agent_tag(b"sluice/vault/v1/workspace-agent", agent);
        let mut entries = self
            .inner
            .store
            .workspace_entries(&sid, &owner)?
            .into_iter()
            .map(|(slot, sealed)| self.inner.open_entry(session, agent, &slot, &sealed))
            .collect::<Result<Vec<_>, _>>()?;
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(entries)
    }

    /// Deletes `key` from the workspace of (`session`, `agent`); `true` if it was there.
    pub fn workspace_delete(
        &self,
        session: &str,
        agent: &str,
        key: &str,
    ) -> Result<bool, VaultError> {
        let (sid, owner, slot) = self.inner.workspace_identity(session, agent, key)?;
        Ok(self.inner.store.workspace_delete(&sid, &owner, &slot)?)
    }

    /// Saves `record` as the next version of skill `name` of `owner` (`agent:NAME` or
    /// `group:NAME`); returns the version.
    pub fn skill_save(
        &self,
        owner: &str,
        name: &str,
        record: &[u8],
        max_skills: usize,
    ) -> Result<Option<u64>, VaultError> {
        validate_owner(owner)?;
        let tag = self.inner.agent_tag(b"sluice/vault/v1/skill-owner", owner);
        let slot = self.inner.skill_slot(owner, name);
        let crypto = std::sync::Arc::clone(&self.inner.crypto);
        let mut plaintext = Vec::with_capacity(4 + name.len() + record.len());
        plaintext.extend_from_slice(&(name.len() as u32).to_be_bytes());
        plaintext.extend_from_slice(name.as_bytes());
        plaintext.extend_from_slice(record);
        let owner_name = owner.to_owned();
        Ok(self.inner.store.skill_save(
            &tag,
            &slot,
            Box::new(move |version| {
                crypto.seal(&skill_aad(&owner_name, &slot, version), plaintext.clone())
            }),
            max_skills,
        )?)
    }

    /// The newest version of every skill of `owner`: `(name, version, record)`, by name.
    pub fn skills(&self, owner: &str) -> Result<Vec<(String, u64, Vec<u8>)>, VaultError> {
        validate_owner(owner)?;
        let tag = self.inner.agent_tag(b"sluice/vault/v1/skill-owner", owner);
        let mut out = Vec::new();
        for skill in self.inner.store.skills(&tag)? {
            let plaintext = self
                .inner
                .crypto
                .open(&skill_aad(owner, &skill.slot, skill.version), &skill.sealed)
                .ok_or_else(|| self.inner.corrupt("a sealed skill failed authentication"))?;
            let (name, record) = split_named(&plaintext)
                .ok_or_else(|| self.inner.corrupt("a sealed skill has an invalid layout"))?;
            if self.inner.skill_slot(owner, name) != skill.slot {
                return Err(self.inner.corrupt("a skill is filed under another name"));
            }
            out.push((name.to_owned(), skill.version, record.to_vec()));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Deletes every version of skill `name` of `owner`; returns how many there were.
    pub fn skill_delete(&self, owner: &str, name: &str) -> Result<u64, VaultError> {
        validate_owner(owner)?;
        let tag = self.inner.agent_tag(b"sluice/vault/v1/skill-owner", owner);
        let slot = self.inner.skill_slot(owner, name);
        Ok(self.inner.store.skill_delete(&tag, &slot)?)
    }
}

impl Inner {
    fn workspace_identity(
        &self,
        session: &str,
        agent: &str,
        key: &str,
    ) -> Result<(crate::store::Sid, Owner, Slot), VaultError> {
        validate_session(session)?;
        validate_agent(agent)?;
        let sid = self.crypto.session_id(session);
        let owner = self.agent_tag(b"sluice/vault/v1/workspace-agent", agent);
        let slot = self.keyed(&[
            b"sluice/vault/v1/workspace-key",
            session.as_bytes(),
            agent.as_bytes(),
            key.as_bytes(),
        ]);
        Ok((sid, owner, slot))
    }

    fn skill_slot(&self, owner: &str, name: &str) -> Slot {
        self.keyed(&[b"sluice/vault/v1/skill", owner.as_bytes(), name.as_bytes()])
    }

    fn agent_tag(&self, label: &[u8], agent: &str) -> Owner {
        let full = self.keyed(&[label, agent.as_bytes()]);
        let mut tag = [0u8; OWNER_LEN];
        tag.copy_from_slice(&full[..OWNER_LEN]);
        tag
    }

    fn keyed(&self, fields: &[&[u8]]) -> Slot {
        let tag = hmac::sign(&self.crypto.keys.index, &framed(fields));
        let mut out = [0u8; TAG_LEN];
        out.copy_from_slice(&tag.as_ref()[..TAG_LEN]);
        out
    }

    fn open_entry(
        &self,
        session: &str,
        agent: &str,
        slot: &Slot,
        sealed: &[u8],
    ) -> Result<(String, String), VaultError> {
        let plaintext = self
            .crypto
            .open(&workspace_aad(session, agent, slot), sealed)
            .ok_or_else(|| self.corrupt("a workspace entry failed authentication"))?;
        let (key, value) = split_named(&plaintext)
            .ok_or_else(|| self.corrupt("a workspace entry has an invalid layout"))?;
        let value = std::str::from_utf8(value)
            .map_err(|_| self.corrupt("a workspace entry has an invalid layout"))?;
        Ok((key.to_owned(), value.to_owned()))
    }

    fn corrupt(&self, what: &'static str) -> VaultError {
        VaultError::Store(StoreError::Corrupt {
            store: self.store.describe().to_owned(),
            what,
        })
    }
}

/// A skill owner: `agent:NAME` or `group:NAME` (any non-empty text up to a bound).
fn validate_owner(owner: &str) -> Result<(), VaultError> {
    if owner.is_empty() || owner.len() > super::MAX_AGENT_LEN + 8 {
        return Err(VaultError::InvalidAgent {
            reason: "a skill owner must be 1 to 136 bytes",
        });
    }
    Ok(())
}

/// `len ‖ name ‖ rest` → (name, rest).
fn split_named(plaintext: &[u8]) -> Option<(&str, &[u8])> {
    let (len, rest) = plaintext.split_first_chunk::<4>()?;
    let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
    let name = std::str::from_utf8(rest.get(..len)?).ok()?;
    Some((name, rest.get(len..)?))
}

fn workspace_aad(session: &str, agent: &str, slot: &Slot) -> Vec<u8> {
    framed(&[
        b"sluice/vault/v1/workspace",
        session.as_bytes(),
        agent.as_bytes(),
        slot,
    ])
}

fn skill_aad(owner: &str, slot: &Slot, version: u64) -> Vec<u8> {
    framed(&[
        b"sluice/vault/v1/skill",
        owner.as_bytes(),
        slot,
        &version.to_be_bytes(),
    ])
}

#[cfg(test)]
mod tests {
    use super::super::tests::{Fixture, Store};

    fn workspace_is_sealed_scoped_limited_and_purged(store: Store) {
        let Some(fixture) = Fixture::new(store, "workspace_is_sealed_scoped_limited_and_purged")
        else {
            return;
        };
        let vault = fixture.open();
        assert!(
            vault
                .workspace_set("s1", "bot", "cursor", "{\"page\":2}", 2)
                .unwrap()
        );
        assert!(
            vault
                .workspace_set("s1", "bot", "lead", "\"[EMAIL_1]\"", 2)
                .unwrap()
        );
        // A third key is refused and not written; overwriting an existing one is not.
        assert!(!vault.workspace_set("s1", "bot", "more", "1", 2).unwrap());
        assert!(
            vault
                .workspace_set("s1", "bot", "cursor", "{\"page\":3}", 2)
                .unwrap()
        );
        assert_eq!(
            vault
                .workspace_get("s1", "bot", "cursor")
                .unwrap()
                .as_deref(),
            Some("{\"page\":3}")
        );
        assert_eq!(vault.workspace_get("s1", "bot", "more").unwrap(), None);
        let keys: Vec<String> = vault
            .workspace_entries("s1", "bot")
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, ["cursor", "lead"]);
        // Another session, another agent: nothing.
        assert_eq!(vault.workspace_get("s2", "bot", "cursor").unwrap(), None);
        assert_eq!(vault.workspace_get("s1", "eve", "cursor").unwrap(), None);
        assert!(vault.workspace_entries("s1", "eve").unwrap().is_empty());
        // It survives reopening.
        drop(vault);
        let vault = fixture.open();
        assert!(vault.workspace_delete("s1", "bot", "lead").unwrap());
        assert!(!vault.workspace_delete("s1", "bot", "lead").unwrap());
        assert!(vault.workspace_set("s2", "bot", "kept", "1", 2).unwrap());
        vault.purge_session("s1").unwrap();
        assert!(vault.workspace_entries("s1", "bot").unwrap().is_empty());
        assert_eq!(
            vault.workspace_get("s2", "bot", "kept").unwrap().as_deref(),
            Some("1")
        );
    }

    fn skills_are_versioned_per_owner_and_deleted(store: Store) {
        let Some(fixture) = Fixture::new(store, "skills_are_versioned_per_owner_and_deleted")
        else {
            return;
        };
        let vault = fixture.open();
        assert_eq!(
            vault.skill_save("bot", "syncLead", b"v1", 8).unwrap(),
            Some(1)
        );
        assert_eq!(
            vault.skill_save("bot", "syncLead", b"v2", 8).unwrap(),
            Some(2)
        );
        assert_eq!(vault.skill_save("bot", "other", b"o", 8).unwrap(), Some(1));
        assert_eq!(
            vault.skill_save("eve", "syncLead", b"e", 8).unwrap(),
            Some(1)
        );
        assert_eq!(
            vault.skills("bot").unwrap(),
            vec![
                ("other".to_owned(), 1, b"o".to_vec()),
                ("syncLead".to_owned(), 2, b"v2".to_vec())
            ]
        );
        assert_eq!(vault.skill_delete("bot", "syncLead").unwrap(), 2);
        assert_eq!(vault.skills("bot").unwrap().len(), 1);
        assert_eq!(vault.skills("eve").unwrap().len(), 1);
        // Numbering restarts only after a delete (a fresh skill of the same name).
        assert_eq!(
            vault.skill_save("bot", "syncLead", b"again", 8).unwrap(),
            Some(1)
        );
    }

    fn the_skill_limit_holds_under_concurrent_saves(store: Store) {
        let Some(fixture) = Fixture::new(store, "the_skill_limit_holds_under_concurrent_saves")
        else {
            return;
        };
        let vault = fixture.open();
        // Twelve savers of distinct new skills at once, a limit of three: exactly three win.
        let saved: Vec<Option<u64>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..12)
                .map(|i| {
                    let vault = vault.clone();
                    scope.spawn(move || {
                        vault
                            .skill_save("bot", &format!("skill{i}"), b"code", 3)
                            .unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(saved.iter().filter(|s| s.is_some()).count(), 3, "{saved:?}");
        assert_eq!(vault.skills("bot").unwrap().len(), 3);
        // At the limit, a saved skill still takes new versions; a new one is refused.
        let (name, _, _) = vault.skills("bot").unwrap().remove(0);
        assert_eq!(vault.skill_save("bot", &name, b"v2", 3).unwrap(), Some(2));
        assert_eq!(vault.skill_save("bot", "fresh", b"x", 3).unwrap(), None);
        // The limit is per owner.
        assert_eq!(vault.skill_save("eve", "fresh", b"x", 3).unwrap(), Some(1));
    }

    #[test]
    fn workspace_on_sled() {
        workspace_is_sealed_scoped_limited_and_purged(Store::Sled);
    }

    #[test]
    fn workspace_on_postgres() {
        workspace_is_sealed_scoped_limited_and_purged(Store::Postgres);
    }

    #[test]
    fn skills_on_sled() {
        skills_are_versioned_per_owner_and_deleted(Store::Sled);
    }

    #[test]
    fn skills_on_postgres() {
        skills_are_versioned_per_owner_and_deleted(Store::Postgres);
    }

    #[test]
    fn skill_limit_on_sled() {
        the_skill_limit_holds_under_concurrent_saves(Store::Sled);
    }

    #[test]
    fn skill_limit_on_postgres() {
        the_skill_limit_holds_under_concurrent_saves(Store::Postgres);
    }
}
