//! Robustness: odd Unicode, huge inputs, deep JSON and random bytes must never
//! panic, overflow the stack or take more than linear time.

use std::time::{Duration, Instant};

use detectors::{CustomKind, Detectors};
use serde_json::{Value, json};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// Drops a deep value iteratively: serde_json's own `Drop` recurses.
fn drop_deep(mut v: Value) {
    let mut stack = Vec::new();
    loop {
        match &mut v {
            Value::Array(items) => stack.append(items),
            Value::Object(map) => {
                let m = std::mem::take(map);
                stack.extend(m.into_iter().map(|(_, v)| v));
            }
            _ => {}
        }
        match stack.pop() {
            Some(next) => v = next,
            None => break,
        }
    }
}

fn nested(depth: usize, leaf: Value) -> Value {
    let mut v = leaf;
    for i in 0..depth {
        // Not `json!`: it would serialize `v` recursively.
        v = if i % 2 == 0 {
            Value::Array(vec![v])
        } else {
            let mut map = serde_json::Map::new();
            map.insert("owner".to_string(), v);
            Value::Object(map)
        };
    }
    v
}

#[test]
fn odd_unicode_never_panics_and_offsets_are_char_boundaries() {
    let det = Detectors::new();
    let inputs = [
        "\u{0}\u{1}Maria\u{feff}Gonzalez\u{200b}@\u{fffd}.com",
        "Ｍａｒｉａ ＠ｅｘａｍｐｌｅ．ｃｏｍ",
        "José Álvarez\u{301} ÖZTÜRK ǅemal 𝓜𝓪𝓻𝓲𝓪 +1\u{a0}415\u{a0}555\u{a0}2671",
        "田中太郎 tanaka@例え.jp 03-1234-5678",
        "مرحبا أحمد ahmed@example.com +971 4 123 4567",
        "\u{202e}moc.elpmaxe@airam\u{202c}",
        "@@@@@@@@@@@@...............@a.b@c.de",
        "((((((((((((((((+1 415",
        "ÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉ",
        "Dr.",
        "Dear",
        "'s",
        "[at]",
        "a [at] b [dot] c",
        "\\u0040\\u0040x\\u0040y.com",
        "%40%40a%40b.co",
    ];
    for text in inputs {
        for f in det.find(text) {
            assert!(
                text.is_char_boundary(f.start) && text.is_char_boundary(f.end),
                "{text:?}"
            );
            assert_eq!(&text[f.start..f.end], f.text);
        }
        let _ = det.redact(text, |f| format!("[{}]", f.kind));
    }
}

#[test]
fn ten_megabyte_string_completes_in_linear_time() {
    let det = Detectors::new();
    let unit = "Maria Gonzalez <maria@example.com> called +1 415 555 2671 about order #12345. ";
    let text = unit.repeat(10 * 1024 * 1024 / unit.len());
    let t = Instant::now();
    let found = det.find(&text);
    assert_eq!(found.len(), 3 * (text.len() / unit.len()));
    // Generous bound for a debug build on a slow machine.
    assert!(
        t.elapsed() < Duration::from_secs(60),
        "took {:?}",
        t.elapsed()
    );
}

#[test]
fn ten_megabyte_adversarial_strings_complete() {
    let det = Detectors::new();
    for unit in [
        "@",
        "a@",
        "1 ",
        "A ",
        "(at)",
        "Aaaa-",
        "9.",
        "É",
        "cn=",
        "cn=Ana Souza ",
    ] {
        let text = unit.repeat(10 * 1024 * 1024 / unit.len());
        let t = Instant::now();
        let _ = det.find(&text);
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "{unit:?} took {:?}",
            t.elapsed()
        );
    }
}

#[test]
fn hundred_thousand_deep_json_does_not_overflow_the_stack() {
    let det = Detectors::new();
    let v = nested(100_000, json!("Maria Gonzalez maria@example.com"));
    let found = det.find_json(&v);
    let out = det.redact_json(&v, |f| format!("[{}]", f.kind));
    // Walk down to the leaf iteratively and check it was redacted.
    let mut cur = &out;
    loop {
        match cur {
            Value::Array(a) => cur = &a[0],
            Value::Object(o) => cur = &o["owner"],
            _ => break,
        }
    }
    let leaf = cur.clone();
    drop_deep(out);
    drop_deep(v);
    let kinds: Vec<&str> = found.iter().map(|f| f.finding.kind.as_str()).collect();
    assert_eq!(kinds, ["NAME", "EMAIL"]);
    assert_eq!(found[0].path.matches("owner").count(), 50_000);
    assert_eq!(leaf, json!("[NAME] [EMAIL]"));
}

#[test]
fn random_bytes_never_panic() {
    let det = Detectors::builder()
        .custom(CustomKind::regex("EMPLOYEE_ID", r"EMP-\d{4,}"))
        .custom(CustomKind::words("PROJECT", ["Bluebird", "Nightjar"]).case_insensitive(true))
        .build()
        .expect("valid config");
    let alphabet: Vec<char> = "aZ@.+-()[]{}#:;/\\ \n\t0123456789éÉ’'&%_\u{a0}田ⅣΣ"
        .chars()
        .collect();
    let mut rng = Rng(0x00DD_BA11);
    for _ in 0..3000 {
        let len = (rng.next() % 200) as usize;
        let s: String = (0..len)
            .map(|_| alphabet[(rng.next() % alphabet.len() as u64) as usize])
            .collect();
        let found = det.find(&s);
        let mut last_end = 0;
        for f in &found {
            assert!(
                f.start >= last_end && f.start < f.end && f.end <= s.len(),
                "{s:?}"
            );
            last_end = f.end;
        }
        let _ = det.redact(&s, |_| String::new());
        let _ = det.find_json(&json!({ s.clone(): [s.clone(), {"name": s.clone(), "phone": s}] }));
    }
    // Raw random bytes, made valid UTF-8 lossily.
    for _ in 0..2000 {
        let len = (rng.next() % 300) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let s = String::from_utf8_lossy(&bytes);
        let _ = det.find(&s);
    }
}

#[test]
fn json_numbers_under_phone_keys_are_phones() {
    let det = Detectors::new();
    let v = json!({"phone": 4155552671u64, "order_id": 4155552671u64});
    let out = det.redact_json(&v, |f| format!("[{}]", f.kind));
    assert_eq!(out, json!({"phone": "[PHONE]", "order_id": 4155552671u64}));
}
