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

    /// Saves `record` as the next version of skill `name` of `owner` (an agent, or
    /// `group:NAME`); returns the version.
    pub fn skill_save(&self, owner: &str, name: &str, record: &[u8]) -> Result<u64, VaultError> {
        validate_agent(owner)?;
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
        )?)
    }

    /// The newest version of every skill of `owner`: `(name, version, record)`, by name.
    pub fn skills(&self, owner: &str) -> Result<Vec<(String, u64, Vec<u8>)>, VaultError> {
        validate_agent(owner)?;
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
        validate_agent(owner)?;
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
