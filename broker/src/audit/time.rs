//! RFC 3339 timestamps for audit records, on `jiff`: formatting a [`SystemTime`] as
//! `YYYY-MM-DDTHH:MM:SS.mmmZ` and parsing the forms `--since` and `audit verify` take.
//!
//! Parsing accepts jiff's Temporal/ISO 8601 timestamps (RFC 3339 and a few extensions such
//! as a space for `T`), but always requires a UTC offset (`Z`, `+01:00`): a time without
//! one is ambiguous in an audit trail. Leap seconds are not represented, as in Unix time.

use std::time::SystemTime;

use jiff::Timestamp;

use super::AuditError;

/// Formats `time` in UTC with millisecond precision, e.g. `2026-11-24T09:30:00.250Z`
/// (sub-millisecond digits are cut, never rounded up into the next second).
pub fn format_rfc3339_millis(time: SystemTime) -> String {
    let timestamp = Timestamp::try_from(time).unwrap_or_else(|_| {
        // Only a clock beyond the years -9999..=9999 gets here.
        if time > SystemTime::UNIX_EPOCH {
            Timestamp::MAX
        } else {
            Timestamp::MIN
        }
    });
    format!("{timestamp:.3}")
}

/// Parses an RFC 3339 time with a UTC offset, e.g. `2026-11-24T09:30:00Z` or
/// `2026-11-24T10:30:00.5+01:00`.
pub fn parse_rfc3339(text: &str) -> Result<SystemTime, AuditError> {
    text.parse::<Timestamp>()
        .ok()
        .and_then(|timestamp| SystemTime::try_from(timestamp).ok())
        .ok_or_else(|| AuditError::InvalidTime {
            text: text.to_owned(),
            reason: "it is not an RFC 3339 time with a UTC offset, such as \
                     2026-11-24T09:30:00Z or 2026-11-24T10:30:00+01:00",
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::time::{Duration, UNIX_EPOCH};

    fn at(secs: u64, millis: u32) -> SystemTime {
        UNIX_EPOCH + Duration::new(secs, millis * 1_000_000)
    }

    #[test]
    fn formats_known_instants_in_utc_with_milliseconds() {
        assert_eq!(format_rfc3339_millis(at(0, 0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_rfc3339_millis(at(951_782_400, 7)),
            "2000-02-29T00:00:00.007Z"
        );
        assert_eq!(
            format_rfc3339_millis(at(1_795_512_345, 678)),
            "2026-11-24T09:25:45.678Z"
        );
        // Sub-millisecond digits are cut, not rounded up into the next second.
        assert_eq!(
            format_rfc3339_millis(UNIX_EPOCH + Duration::new(59, 999_999_999)),
            "1970-01-01T00:00:59.999Z"
        );
    }

    #[test]
    fn parse_inverts_format() {
        for secs in [
            0,
            951_782_400,
            1_795_512_345,
            4_102_444_799,
            253_402_127_999, // 9999-12-29T23:59:59Z, near the end of jiff's range
        ] {
            let time = at(secs, 123);
            let text = format_rfc3339_millis(time);
            assert_eq!(parse_rfc3339(&text).ok(), Some(time), "{text}");
        }
    }

    #[test]
    fn parses_offsets_fractions_and_lowercase() {
        let utc = parse_rfc3339("2026-11-24T00:00:00Z").ok();
        assert_eq!(utc, Some(at(1_795_478_400, 0)));
        assert_eq!(parse_rfc3339("2026-11-24T01:30:00+01:30").ok(), utc);
        assert_eq!(parse_rfc3339("2026-11-23T22:00:00-02:00").ok(), utc);
        assert_eq!(parse_rfc3339("2026-11-24t00:00:00z").ok(), utc);
        assert_eq!(
            parse_rfc3339("2026-11-24T00:00:00.5Z").ok(),
            Some(at(1_795_478_400, 500))
        );
        assert_eq!(
            parse_rfc3339("2026-11-24T00:00:00.000000001Z").ok(),
            Some(UNIX_EPOCH + Duration::new(1_795_478_400, 1))
        );
    }

    #[test]
    fn rejects_malformed_times_with_a_reason() {
        for bad in [
            "",
            "2026-11-24",
            "2026-11-24T00:00:00",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-11-24T24:00:00Z",
            "2026-11-24T00:00:00.Z",
            "2026-11-24T00:00:00.1234567890Z",
            "2026-11-24T00:00:00Zjunk",
            "2026-1a-24T00:00:00Z",
            "２026-11-24T00:00:00Z",
        ] {
            let err = parse_rfc3339(bad).err();
            assert!(
                matches!(err, Some(AuditError::InvalidTime { .. })),
                "{bad:?} was accepted"
            );
        }
    }
}
