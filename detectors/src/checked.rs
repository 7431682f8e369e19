//! IBAN and payment-card numbers: optional kinds that are only reported when
//! their check digits hold, so precision stays high without context words.
//!
//! - **IBAN** (ISO 13616): a two-letter country code, two check digits and a
//!   BBAN of the country's registered length, written compact or in groups
//!   separated by single spaces; valid when the ISO 7064 mod-97 remainder is 1.
//! - **Payment card** (ISO/IEC 7812): 13–19 digits, compact or grouped with
//!   single spaces or hyphens, starting with an issuer prefix of a major
//!   network, and passing the Luhn check.
//!
//! Both scanners are anchored, linear and allocation-free until a match; they
//! run as one extra pass per string, and only when the kind is enabled.

/// Registered IBAN lengths per country (SWIFT IBAN registry).
const IBAN_LENGTHS: &[(&[u8; 2], u8)] = &[
    (b"AD", 24),
    (b"AE", 23),
    (b"AL", 28),
    (b"AT", 20),
    (b"AZ", 28),
    (b"BA", 20),
    (b"BE", 16),
    (b"BG", 22),
    (b"BH", 22),
    (b"BR", 29),
    (b"BY", 28),
    (b"CH", 21),
    (b"CR", 22),
    (b"CY", 28),
    (b"CZ", 24),
    (b"DE", 22),
    (b"DK", 18),
    (b"DO", 28),
    (b"EE", 20),
    (b"EG", 29),
    (b"ES", 24),
    (b"FI", 18),
    (b"FO", 18),
    (b"FR", 27),
    (b"GB", 22),
    (b"GE", 22),
    (b"GI", 23),
    (b"GL", 18),
    (b"GR", 27),
    (b"GT", 28),
    (b"HR", 21),
    (b"HU", 28),
    (b"IE", 22),
    (b"IL", 23),
    (b"IQ", 23),
    (b"IS", 26),
    (b"IT", 27),
    (b"JO", 30),
    (b"KW", 30),
    (b"KZ", 20),
    (b"LB", 28),
    (b"LC", 32),
    (b"LI", 21),
    (b"LT", 20),
    (b"LU", 20),
    (b"LV", 21),
    (b"LY", 25),
    (b"MC", 27),
    (b"MD", 24),
    (b"ME", 22),
    (b"MK", 19),
    (b"MR", 27),
    (b"MT", 31),
    (b"MU", 30),
    (b"NL", 18),
    (b"NO", 15),
    (b"PK", 24),
    (b"PL", 28),
    (b"PS", 29),
    (b"PT", 25),
    (b"QA", 29),
    (b"RO", 24),
    (b"RS", 22),
    (b"SA", 24),
    (b"SC", 31),
    (b"SD", 18),
    (b"SE", 24),
    (b"SI", 19),
    (b"SK", 24),
    (b"SM", 27),
    (b"ST", 25),
    (b"SV", 28),
    (b"TL", 23),
    (b"TN", 24),
    (b"TR", 26),
    (b"UA", 29),
    (b"VA", 22),
    (b"VG", 24),
    (b"XK", 20),
];

/// A checked value found in text: its span and canonical (compact, upper-case) form.
pub(crate) struct CheckedMatch {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) normalized: String,
}

#[inline]
fn word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// Every IBAN in `text`, appended to `out` as (start, end, compact form).
pub(crate) fn find_ibans(text: &str, out: &mut Vec<CheckedMatch>) {
    let b = text.as_bytes();
    let n = b.len();
    let mut i = 0;
    while i + 15 <= n {
        let starts = b[i].is_ascii_uppercase()
            && b[i + 1].is_ascii_uppercase()
            && b[i + 2].is_ascii_digit()
            && b[i + 3].is_ascii_digit()
            && (i == 0 || !word_byte(b[i - 1]));
        if starts && let Some(m) = iban_at(b, i) {
            i = m.end;
            out.push(m);
            continue;
        }
        i += 1;
    }
}

fn iban_at(b: &[u8], start: usize) -> Option<CheckedMatch> {
    let cc = [b[start], b[start + 1]];
    let len = usize::from(IBAN_LENGTHS.iter().find(|(c, _)| **c == cc)?.1);
    let mut compact = [0u8; 34];
    let mut k = 0;
    let mut j = start;
    while k < len {
        let c = *b.get(j)?;
        if c.is_ascii_alphanumeric() {
            compact[k] = c.to_ascii_uppercase();
            k += 1;
            j += 1;
        } else if c == b' ' && k >= 4 && b.get(j + 1).is_some_and(u8::is_ascii_alphanumeric) {
            j += 1;
        } else {
            return None;
        }
    }
    // The account must end here, not run on into a longer token.
    if b.get(j).is_some_and(|&c| word_byte(c)) {
        return None;
    }
    let compact = &compact[..len];
    if !compact[4..].iter().all(u8::is_ascii_alphanumeric) || !mod97_is_one(compact) {
        return None;
    }
    Some(CheckedMatch {
        start,
        end: j,
        normalized: String::from_utf8_lossy(compact).into_owned(),
    })
}

/// ISO 7064 MOD 97-10 over the rearranged IBAN (letters as 10–35).
fn mod97_is_one(iban: &[u8]) -> bool {
    let mut rem: u32 = 0;
    for &c in iban[4..].iter().chain(&iban[..4]) {
        if c.is_ascii_digit() {
            rem = (rem * 10 + u32::from(c - b'0')) % 97;
        } else {
            let v = u32::from(c - b'A') + 10;
            rem = (rem * 100 + v) % 97;
        }
    }
    rem == 1
}

/// Every payment-card number in `text`, appended to `out`.
pub(crate) fn find_cards(text: &str, out: &mut Vec<CheckedMatch>) {
    let b = text.as_bytes();
    let n = b.len();
    let mut i = 0;
    while i < n {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        if i > 0 && (word_byte(b[i - 1]) || matches!(b[i - 1], b'.' | b'-' | b'+' | b'/')) {
            while i < n && b[i].is_ascii_digit() {
                i += 1;
            }
            continue;
        }
        match card_at(b, i) {
            Some(m) => {
                i = m.end;
                out.push(m);
            }
            None => {
                while i < n && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
        }
    }
}

fn card_at(b: &[u8], start: usize) -> Option<CheckedMatch> {
    let mut digits = [0u8; 19];
    let mut nd = 0;
    let mut j = start;
    let mut sep: Option<u8> = None;
    let mut end = start;
    while let Some(&c) = b.get(j) {
        if c.is_ascii_digit() {
            if nd == digits.len() {
                return None; // longer than any card number
            }
            digits[nd] = c;
            nd += 1;
            j += 1;
            end = j;
        } else if (c == b' ' || c == b'-')
            && sep.is_none_or(|s| s == c)
            && b.get(j + 1).is_some_and(u8::is_ascii_digit)
        {
            sep = Some(c);
            j += 1;
        } else {
            break;
        }
    }
    if b.get(end).is_some_and(|&c| {
        word_byte(c) || (c == b'.' && b.get(end + 1).is_some_and(u8::is_ascii_digit))
    }) {
        return None;
    }
    let digits = &digits[..nd];
    if !(13..=19).contains(&nd) || !issuer_prefix(digits) || !luhn(digits) {
        return None;
    }
    let normalized = String::from_utf8_lossy(digits).into_owned();
    Some(CheckedMatch {
        start,
        end,
        normalized,
    })
}

/// Major-network issuer prefixes (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro).
fn issuer_prefix(d: &[u8]) -> bool {
    let num = |k: usize| {
        d.iter()
            .take(k)
            .fold(0u32, |a, &c| a * 10 + u32::from(c - b'0'))
    };
    let two = num(2);
    let four = num(4);
    let three = num(3);
    d[0] == b'4'
        || (51..=55).contains(&two)
        || (2221..=2720).contains(&four)
        || two == 34
        || two == 37
        || four == 6011
        || two == 65
        || (644..=649).contains(&three)
        || two == 35
        || two == 36
        || two == 38
        || (300..=305).contains(&three)
        || two == 62
        || two == 50
        || (56..=69).contains(&two)
}

/// The Luhn (mod 10) check over ASCII digits.
pub(crate) fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, &d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ibans(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        find_ibans(text, &mut out);
        out.into_iter().map(|m| m.normalized).collect()
    }

    fn cards(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        find_cards(text, &mut out);
        out.into_iter().map(|m| m.normalized).collect()
    }

    #[test]
    fn ibans_with_valid_check_digits_are_found_compact_and_grouped() {
        assert_eq!(
            ibans("pay to DE89370400440532013000."),
            ["DE89370400440532013000"]
        );
        assert_eq!(
            ibans("IBAN: GB29 NWBK 6016 1331 9268 19, ref 7"),
            ["GB29NWBK60161331926819"]
        );
        assert_eq!(
            ibans("FR14 2004 1010 0505 0001 3M02 606"),
            ["FR1420041010050500013M02606"]
        );
    }

    #[test]
    fn ibans_with_bad_check_digits_or_length_are_not_found() {
        assert!(ibans("DE88370400440532013000").is_empty());
        assert!(ibans("DE8937040044053201300").is_empty());
        assert!(ibans("DE893704004405320130001").is_empty());
        assert!(ibans("XX89370400440532013000").is_empty());
    }

    #[test]
    fn luhn_valid_cards_with_issuer_prefixes_are_found() {
        assert_eq!(
            cards("card 4111 1111 1111 1111 exp 12/29"),
            ["4111111111111111"]
        );
        assert_eq!(cards("5500-0000-0000-0004"), ["5500000000000004"]);
        assert_eq!(cards("amex 378282246310005"), ["378282246310005"]);
    }

    #[test]
    fn luhn_failures_ids_and_mixed_separators_are_not_cards() {
        assert!(cards("4111 1111 1111 1112").is_empty());
        // No issuer network starts with 1.
        assert!(cards("1234 5678 9012 3452").is_empty());
        assert!(cards("order-4111111111111111").is_empty());
        assert!(cards("4111 1111-1111 1111").is_empty());
        assert!(cards("3.4111111111111111").is_empty());
    }
}
