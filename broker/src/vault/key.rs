//! The master key, where it comes from, and the keys derived from it.
//!
//! The master key is never used directly: HKDF-SHA256 derives one AES-256-GCM key that
//! seals values and one HMAC-SHA256 key that names index entries and sessions, so the
//! index reveals nothing a sealing-key compromise would not, and vice versa. A third
//! derivation, under its own salt, keys the audit log's MAC chain.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ring::rand::{SecureRandom, SystemRandom};
use ring::{aead, hkdf, hmac};

use super::VaultError;

/// Length of a master key in bytes.
pub const MASTER_KEY_LEN: usize = 32;

/// The 256-bit secret every vault key is derived from. Its `Debug` output is redacted.
pub struct MasterKey(pub(super) [u8; MASTER_KEY_LEN]);

impl MasterKey {
    /// The environment variable that, when set, holds the master key as base64.
    pub const ENV: &'static str = "SLUICE_MASTER_KEY";
    /// The key file's name inside the vault's data dir.
    pub const FILE_NAME: &'static str = "master.key";

    /// A fresh random key from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, VaultError> {
        let mut bytes = [0u8; MASTER_KEY_LEN];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| VaultError::Crypto {
                what: "generating a master key",
            })?;
        Ok(Self(bytes))
    }

    /// A key from raw bytes (tests, or keys kept in an external secret store).
    pub fn from_bytes(bytes: [u8; MASTER_KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// Decodes base64 of exactly 32 bytes (surrounding whitespace ignored).
    pub fn from_base64(text: &str) -> Result<Self, VaultError> {
        Self::decode(text, "the given text")
    }

    /// The key in [`MasterKey::ENV`], or `None` when the variable is unset.
    pub fn from_env() -> Result<Option<Self>, VaultError> {
        match std::env::var(Self::ENV) {
            Ok(text) => Self::decode(&text, Self::ENV).map(Some),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(VaultError::MalformedKey {
                origin: Self::ENV.to_owned(),
                reason: "it is not valid UTF-8",
            }),
        }
    }

    /// The key from [`MasterKey::ENV`] if set, else [`MasterKey::load_or_create`] in `data_dir`.
    pub fn load(data_dir: &Path) -> Result<Self, VaultError> {
        match Self::from_env()? {
            Some(key) => Ok(key),
            None => Self::load_or_create(data_dir),
        }
    }

    /// Reads `data_dir/master.key`, creating it (mode 0600, 32 random bytes as base64) if absent.
    ///
    /// Creation is atomic: the key is written to a private temporary file, synced, then
    /// hard-linked into place, so concurrent first starts agree on one key and a crash
    /// never leaves a truncated key file behind.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, VaultError> {
        let path = data_dir.join(Self::FILE_NAME);
        let io_err = |source| VaultError::KeyFile {
            path: path.clone(),
            source,
        };
        match read_key_file(&path) {
            Ok(key) => return Ok(key),
            Err(VaultError::KeyFile { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            }
            Err(e) => return Err(e),
        }
        fs::create_dir_all(data_dir).map_err(io_err)?;
        let key = Self::generate()?;
        let tmp = data_dir.join(format!(".{}.{}.tmp", Self::FILE_NAME, std::process::id()));
        let written = write_private(&tmp, format!("{}\n", BASE64.encode(key.0)).as_bytes())
            .and_then(|()| fs::hard_link(&tmp, &path));
        let _ = fs::remove_file(&tmp);
        match written {
            Ok(()) => {
                sync_dir(data_dir).map_err(io_err)?;
                Ok(key)
            }
            // Another process created it first: use theirs.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => read_key_file(&path),
            Err(e) => Err(io_err(e)),
        }
    }

    fn decode(text: &str, origin: &str) -> Result<Self, VaultError> {
        let malformed = |reason| VaultError::MalformedKey {
            origin: origin.to_owned(),
            reason,
        };
        // The decoder's own error names the offending byte, which is part of the key: drop it.
        let mut bytes = BASE64
            .decode(text.trim())
            .map_err(|_| malformed("it is not valid base64"))?;
        let key = <[u8; MASTER_KEY_LEN]>::try_from(bytes.as_slice())
            .map_err(|_| malformed("it does not decode to exactly 32 bytes"));
        wipe(&mut bytes);
        key.map(Self)
    }

    /// The sealing and index keys for one vault.
    pub(super) fn derive(&self) -> Result<DerivedKeys, VaultError> {
        let failed = |_| VaultError::Crypto {
            what: "deriving vault keys",
        };
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"sluice/vault/v1").extract(&self.0);
        let seal = prk
            .expand(&[b"sluice/vault/v1/seal"], &aead::AES_256_GCM)
            .map_err(failed)?;
        let index = prk
            .expand(&[b"sluice/vault/v1/index"], hmac::HMAC_SHA256)
            .map_err(failed)?;
        Ok(DerivedKeys {
            seal: aead::LessSafeKey::new(aead::UnboundKey::from(seal)),
            index: hmac::Key::from(index),
        })
    }

    /// The HMAC-SHA256 key that chains the audit log ([`crate::audit`]).
    ///
    /// Its own HKDF salt and label keep it independent of the vault's keys: holding the
    /// audit key (to verify a log) gives nothing towards opening or indexing the vault.
    pub(crate) fn audit_key(&self) -> Result<hmac::Key, VaultError> {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"sluice/audit/v1").extract(&self.0);
        let key = prk
            .expand(&[b"sluice/audit/v1/chain"], hmac::HMAC_SHA256)
            .map_err(|_| VaultError::Crypto {
                what: "deriving the audit key",
            })?;
        Ok(hmac::Key::from(key))
    }

    /// The keyed digest of session ids that audit records, metrics and logs carry.
    ///
    /// Session ids are capabilities; a digest names a session (to filter or correlate)
    /// without granting it. Its own HKDF salt keeps it independent of the vault's keys.
    pub fn session_digester(&self) -> Result<SessionDigester, VaultError> {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"sluice/session-digest/v1").extract(&self.0);
        let key = prk
            .expand(&[b"sluice/session-digest/v1/key"], hmac::HMAC_SHA256)
            .map_err(|_| VaultError::Crypto {
                what: "deriving the session digest key",
            })?;
        Ok(SessionDigester(hmac::Key::from(key)))
    }
}

/// Turns session ids into the keyed digests (`sd-` and 32 hex digits) that may be logged.
#[derive(Clone)]
pub struct SessionDigester(hmac::Key);

impl SessionDigester {
    /// Prefix of every digest, so a digest is never mistaken for a session id.
    pub const PREFIX: &'static str = "sd-";

    /// The digest of `session`: `sd-` and the first 128 bits of an HMAC-SHA256, in hex.
    pub fn digest(&self, session: &str) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let tag = hmac::sign(&self.0, session.as_bytes());
        let mut text = String::with_capacity(Self::PREFIX.len() + 32);
        text.push_str(Self::PREFIX);
        for &byte in &tag.as_ref()[..16] {
            text.push(char::from(DIGITS[usize::from(byte >> 4)]));
            text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
        }
        text
    }
}

impl fmt::Debug for SessionDigester {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionDigester(<redacted>)")
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

/// Overwrites secret bytes in a way the optimizer may not remove.
fn wipe(bytes: &mut [u8]) {
    for b in bytes.iter_mut() {
        // SAFETY: `b` is a valid, aligned, exclusive reference to a `u8`.
        unsafe { std::ptr::write_volatile(b, 0) };
    }
    std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
}

fn read_key_file(path: &Path) -> Result<MasterKey, VaultError> {
    let io_err = |source| VaultError::KeyFile {
        path: path.to_path_buf(),
        source,
    };
    let meta = fs::metadata(path).map_err(io_err)?;
    check_private(path, &meta)?;
    let text = fs::read_to_string(path).map_err(io_err)?;
    let key = MasterKey::decode(&text, &path.display().to_string());
    wipe(&mut text.into_bytes());
    key
}

#[cfg(unix)]
fn check_private(path: &Path, meta: &fs::Metadata) -> Result<(), VaultError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(VaultError::KeyFilePermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _meta: &fs::Metadata) -> Result<(), VaultError> {
    Ok(())
}

/// Creates `path` (it must not exist) readable only by its owner, writes and syncs it.
fn write_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Makes a directory entry (a new file's name) durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// The two working keys of an open vault.
pub(super) struct DerivedKeys {
    /// AES-256-GCM: seals values.
    pub(super) seal: aead::LessSafeKey,
    /// HMAC-SHA256: names index entries and sessions on disk.
    pub(super) index: hmac::Key,
}

impl fmt::Debug for DerivedKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DerivedKeys(<redacted>)")
    }
}
