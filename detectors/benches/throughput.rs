//! Throughput of detection on CRM-like JSON tool results (DESIGN §7 target:
//! ≥ 200 MB/s per core). Run: `cargo bench -p detectors`.
//!
//! Two workloads:
//! - `crm_records`: contact records shaped like a CRM REST API's (a HubSpot-style
//!   `properties` object with ~25 fields, timestamps, URLs, IDs, a free-text
//!   message) — about 1.3 KB per record with 4–5 PII values;
//! - `crm_dense`: minimal rows (~370 B) with 4 PII values each, a worst case
//!   where per-value costs (validation, allocation of findings) dominate.
//!
//! Bytes are counted as the compact serialized JSON; parsing the JSON is the
//! broker's cost and is not measured here.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use detectors::Detectors;
use serde_json::{Value, json};

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }
}

const GIVEN: &[&str] = &[
    "Maria",
    "James",
    "Priya",
    "Wei",
    "Oluwaseun",
    "Sophie",
    "Lukas",
    "Aisha",
    "Kenji",
    "Camila",
    "Olga",
    "Mateo",
];
const SURNAMES: &[&str] = &[
    "Gonzalez", "Smith", "Sharma", "Chen", "Adeyemi", "Martin", "Müller", "Haddad", "Tanaka",
    "Silva", "Ivanova", "Rossi",
];
const COMPANIES: &[&str] = &[
    "Acme Corp",
    "Globex GmbH",
    "Initech LLC",
    "Smith & Sons",
    "Umbrella Group",
    "Stark Industries",
];
const CITIES: &[&str] = &["Paris", "Austin", "Berlin", "Mumbai", "São Paulo", "Sydney"];
const NOTES: &[&str] = &[
    "Renewal discussed on the quarterly call; waiting for legal review of the MSA.",
    "Asked for a discount on the enterprise tier, escalated to finance.",
    "Prefers email over phone. Timezone CET. Invoice INV-2024-00231 paid.",
    "Met at the Lisbon summit, interested in the analytics add-on.",
    "Churn risk: usage dropped 40% since March, schedule a QBR.",
];

fn phone(rng: &mut Rng) -> String {
    match rng.below(4) {
        0 => format!(
            "+1 415 {}{} {}",
            2 + rng.below(8),
            rng.digits(2),
            rng.digits(4)
        ),
        1 => format!(
            "(212) {}{}-{}",
            2 + rng.below(8),
            rng.digits(2),
            rng.digits(4)
        ),
        2 => format!("+44 20 7{} {}", rng.digits(3), rng.digits(4)),
        _ => format!("+49 30 {}", rng.digits(8)),
    }
}

fn rows(n: usize) -> Value {
    let mut rng = Rng(0x1234_5678_9ABC);
    let rows: Vec<Value> = (0..n)
        .map(|i| {
            let (g, s) = (rng.pick(GIVEN), rng.pick(SURNAMES));
            json!({
                "id": format!("lead_{:08}", i),
                "name": format!("{g} {s}"),
                "email": format!("{}.{}@example.com", g.to_lowercase(), s.to_lowercase()),
                "phone": phone(&mut rng),
                "company": rng.pick(COMPANIES),
                "city": rng.pick(CITIES),
                "status": rng.pick(&["pending", "active", "closed"]),
                "owner": format!("{} {}", rng.pick(GIVEN), rng.pick(SURNAMES)),
                "created_at": format!("2024-{:02}-{:02}T10:{:02}:00Z", 1 + rng.below(12), 1 + rng.below(28), rng.below(60)),
                "amount": rng.below(1_000_000) as f64 / 100.0,
                "order_id": rng.digits(10),
                "notes": rng.pick(NOTES),
                "tags": [rng.pick(&["vip", "smb", "enterprise"]), rng.pick(&["emea", "amer", "apac"])],
            })
        })
        .collect();
    json!({ "rows": rows, "next_page": null })
}

fn records(n: usize) -> Value {
    let mut rng = Rng(0x0BAD_5EED_1234);
    let results: Vec<Value> = (0..n)
        .map(|i| {
            let (g, s) = (rng.pick(GIVEN), rng.pick(SURNAMES));
            let id = 10_000 + i;
            let ts = format!("2024-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", 1 + rng.below(12), 1 + rng.below(28), rng.below(24), rng.below(60), rng.below(60), rng.below(1000));
            json!({
                "id": id.to_string(),
                "properties": {
                    "createdate": ts,
                    "email": format!("{}.{}@example.com", g.to_lowercase(), s.to_lowercase()),
                    "firstname": g,
                    "lastname": s,
                    "phone": phone(&mut rng),
                    "company": rng.pick(COMPANIES),
                    "website": "https://www.example.com",
                    "jobtitle": rng.pick(&["VP of Sales", "Head of Procurement", "CTO", "Operations Manager"]),
                    "lifecyclestage": rng.pick(&["lead", "marketingqualifiedlead", "customer"]),
                    "hs_lead_status": rng.pick(&["OPEN", "IN_PROGRESS", "CONNECTED"]),
                    "city": rng.pick(CITIES),
                    "country": rng.pick(&["United States", "Germany", "India", "Brazil"]),
                    "zip": rng.digits(5),
                    "hs_object_id": id.to_string(),
                    "lastmodifieddate": ts,
                    "hubspot_owner_id": rng.digits(8),
                    "num_notes": rng.below(20).to_string(),
                    "industry": rng.pick(&["COMPUTER_SOFTWARE", "LOGISTICS_AND_SUPPLY_CHAIN", "RETAIL"]),
                    "annualrevenue": (rng.below(500) * 100_000).to_string(),
                    "numberofemployees": rng.below(5000).to_string(),
                    "hs_analytics_source": rng.pick(&["ORGANIC_SEARCH", "PAID_SEARCH", "DIRECT_TRAFFIC"]),
                    "hs_analytics_first_url": format!("https://www.example.com/pricing?utm_source=google&utm_campaign=q{}", 1 + rng.below(4)),
                    "message": rng.pick(NOTES),
                },
                "createdAt": ts,
                "updatedAt": ts,
                "archived": false,
                "associations": {"companies": {"results": [{"id": rng.digits(10), "type": "contact_to_company"}]}},
                "url": format!("https://app.example-crm.com/contacts/4211/contact/{id}"),
            })
        })
        .collect();
    json!({ "results": results, "paging": {"next": {"after": (10_000 + n).to_string()}} })
}

fn bench(c: &mut Criterion) {
    let det = Detectors::new();

    let value = records(1000);
    let text = value.to_string();
    let mut group = c.benchmark_group("crm_records");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("find_json", |b| b.iter(|| det.find_json(&value)));
    group.bench_function("redact_json", |b| {
        b.iter(|| det.redact_json(&value, |f| format!("[{}]", f.kind.as_str())))
    });
    group.bench_function("redact_json_in_place", |b| {
        b.iter_batched(
            || value.clone(),
            |mut v| {
                det.redact_json_in_place(&mut v, |f| format!("[{}]", f.kind.as_str()));
                v
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();

    let value = rows(2000);
    let text = value.to_string();
    let mut group = c.benchmark_group("crm_dense");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("find_json", |b| b.iter(|| det.find_json(&value)));
    group.bench_function("redact_json", |b| {
        b.iter(|| det.redact_json(&value, |f| format!("[{}]", f.kind.as_str())))
    });
    group.bench_function("find_text", |b| b.iter(|| det.find(&text)));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
