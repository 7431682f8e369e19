//! The MAC chain: how a record is encoded, signed, and checked against its own MAC.
//! One home for the encoding, so the writer and the verifier cannot drift apart.

use ring::hmac;

use super::AuditRecord;

/// The `prev` of the first record: 64 zeros.
pub const GENESIS_PREV: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Why one line failed on its own (before looking at its neighbours).
#[derive(Debug)]
pub(super) enum LineFault {
    /// Not a JSON audit record.
    Unparsable(String),
    /// A record, but not byte-for-byte as `append` writes it.
    NotCanonical { seq: u64 },
    /// Well-formed, but its MAC does not match its content.
    BadMac { seq: u64 },
}

/// The MAC input's record part: compact JSON in field order, without `mac`.
pub(super) fn body(record: &AuditRecord) -> serde_json::Result<Vec<u8>> {
    debug_assert!(record.mac.is_empty(), "the body excludes the mac");
    serde_json::to_vec(record)
}

/// `HMAC-SHA256(key, prev || "\n" || body)` as lowercase hex.
pub(super) fn mac(key: &hmac::Key, prev: &str, body: &[u8]) -> String {
    let mut context = hmac::Context::with_key(key);
    context.update(prev.as_bytes());
    context.update(b"\n");
    context.update(body);
    hex(context.sign().as_ref())
}

/// The line on disk (without its newline): the body with `"mac":"…"` as the last field.
pub(super) fn signed(body: &[u8], mac: &str) -> Option<Vec<u8>> {
    let (&last, open) = body.split_last()?;
    if last != b'}' {
        return None;
    }
    let mut line = Vec::with_capacity(body.len() + mac.len() + 9);
    line.extend_from_slice(open);
    line.extend_from_slice(b",\"mac\":\"");
    line.extend_from_slice(mac.as_bytes());
    line.extend_from_slice(b"\"}");
    Some(line)
}

/// Parses one line (without its newline) and checks it is a record exactly as written,
/// with a MAC that matches its own content and `prev`.
pub(super) fn authenticate(key: &hmac::Key, line: &[u8]) -> Result<AuditRecord, LineFault> {
    let mut record: AuditRecord =
        serde_json::from_slice(line).map_err(|e| LineFault::Unparsable(e.to_string()))?;
    let seq = record.seq;
    let claimed = std::mem::take(&mut record.mac);
    let body = body(&record).map_err(|e| LineFault::Unparsable(e.to_string()))?;
    if signed(&body, &claimed).as_deref() != Some(line) {
        return Err(LineFault::NotCanonical { seq });
    }
    // Not secret-dependent in a way that matters: the verifier runs offline, no oracle.
    if mac(key, &record.prev, &body) != claimed {
        return Err(LineFault::BadMac { seq });
    }
    record.mac = claimed;
    Ok(record)
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}
