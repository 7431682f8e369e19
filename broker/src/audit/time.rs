//! RFC 3339 timestamps for audit records, without a date-time crate: formatting a
//! [`SystemTime`] as `YYYY-MM-DDTHH:MM:SS.mmmZ` and parsing the forms `--since` takes.
//!
//! Calendar arithmetic is Howard Hinnant's `days_from_civil` / `civil_from_days`
//! (proleptic Gregorian, exact for every year a `SystemTime` can hold here). Leap seconds
//! are not represented, as in Unix time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::AuditError;

const SECS_PER_DAY: i64 = 86_400;

/// Formats `time` in UTC with millisecond precision, e.g. `2026-11-24T09:30:00.250Z`.
pub fn format_rfc3339_millis(time: SystemTime) -> String {
    // Millis since the epoch, negative before it; i128 cannot overflow for any SystemTime.
    let millis: i128 = match time.duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_millis() as i128,
        Err(before) => -(before.duration().as_millis() as i128),
    };
    let secs = millis.div_euclid(1000) as i64;
    let ms = millis.rem_euclid(1000);
    let (days, second_of_day) = (secs.div_euclid(SECS_PER_DAY), secs.rem_euclid(SECS_PER_DAY));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
    )
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction]` followed by `Z` or a `+HH:MM` / `-HH:MM` offset.
pub fn parse_rfc3339(text: &str) -> Result<SystemTime, AuditError> {
    parse(text.as_bytes()).map_err(|reason| AuditError::InvalidTime {
        text: text.to_owned(),
        reason,
    })
}

fn parse(b: &[u8]) -> Result<SystemTime, &'static str> {
    if b.len() < 20 {
        return Err("it is too short");
    }
    let year = digits(b, 0, 4)?;
    expect(b, 4, b'-')?;
    let month = digits(b, 5, 2)?;
    expect(b, 7, b'-')?;
    let day = digits(b, 8, 2)?;
    if !matches!(b[10], b'T' | b't') {
        return Err("date and time must be separated by 'T'");
    }
    let hour = digits(b, 11, 2)?;
    expect(b, 13, b':')?;
    let minute = digits(b, 14, 2)?;
    expect(b, 16, b':')?;
    let second = digits(b, 17, 2)?;
    if !(1..=12).contains(&month) {
        return Err("the month is not 01-12");
    }
    if day == 0 || day > days_in_month(year, month) {
        return Err("the day does not exist in that month");
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err("the time of day is out of range");
    }

    let mut at = 19;
    let mut nanos = 0u32;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while at < b.len() && b[at].is_ascii_digit() {
            at += 1;
        }
        let count = at - start;
        if count == 0 || count > 9 {
            return Err("the fraction of a second must have 1-9 digits");
        }
        nanos = digits(b, start, count)? as u32 * 10u32.pow((9 - count) as u32);
    }

    let offset_secs: i64 = match b.get(at) {
        Some(b'Z' | b'z') if b.len() == at + 1 => 0,
        Some(&sign @ (b'+' | b'-')) if b.len() == at + 6 => {
            let hours = digits(b, at + 1, 2)?;
            expect(b, at + 3, b':')?;
            let minutes = digits(b, at + 4, 2)?;
            if hours > 23 || minutes > 59 {
                return Err("the UTC offset is out of range");
            }
            let offset = hours * 3600 + minutes * 60;
            if sign == b'+' { offset } else { -offset }
        }
        _ => return Err("it must end in 'Z' or a UTC offset like +01:00"),
    };

    let secs =
        days_from_civil(year, month, day) * SECS_PER_DAY + hour * 3600 + minute * 60 + second
            - offset_secs;
    let time = if secs >= 0 {
        UNIX_EPOCH.checked_add(Duration::new(secs.unsigned_abs(), nanos))
    } else {
        UNIX_EPOCH
            .checked_sub(Duration::from_secs(secs.unsigned_abs()))
            .and_then(|t| t.checked_add(Duration::from_nanos(u64::from(nanos))))
    };
    time.ok_or("it is outside the range this system can represent")
}

/// The decimal number in `b[start..start + len]`, all of which must be ASCII digits.
fn digits(b: &[u8], start: usize, len: usize) -> Result<i64, &'static str> {
    let field = b
        .get(start..start + len)
        .ok_or("a date or time field is cut short")?;
    field.iter().try_fold(0i64, |n, &c| {
        if c.is_ascii_digit() {
            Ok(n * 10 + i64::from(c - b'0'))
        } else {
            Err("a date or time field has a non-digit")
        }
    })
}

fn expect(b: &[u8], at: usize, want: u8) -> Result<(), &'static str> {
    match b.get(at) {
        Some(&c) if c == want => Ok(()),
        _ => Err("a separator ('-', ':') is missing or misplaced"),
    }
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

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
            253_402_300_799,
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
            "2026-11-24 00:00:00Z",
            "2026-11-24T00:00:00",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-11-24T24:00:00Z",
            "2026-11-24T00:00:00.Z",
            "2026-11-24T00:00:00.1234567890Z",
            "2026-11-24T00:00:00+0100",
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
