//! A labeled evaluation corpus generated deterministically (fixed-seed PRNG)
//! from hand-written pools: CRM-like JSON rows, free-text notes and e-mails in
//! several locales, and negatives full of company names, dates, IDs, IPs,
//! versions, order numbers, UUIDs and card-like numbers.
//!
//! The pools were written independently of the detector's dictionary: some
//! names are in it, some are not (rare surnames, transliterations, names in
//! person-ish JSON fields), and no pool entry was removed because the
//! detector missed it. Gold phones are confirmed valid by the `phonenumber`
//! crate itself (`phonenumber::parse` + `is_valid`); a generated number it
//! rejects is not labeled as a phone.
#![allow(dead_code)]

use serde_json::{Value, json};

/// A gold label: kind, the exact text as it appears, and (for JSON) the path.
#[derive(Clone, Debug)]
pub struct Gold {
    pub kind: &'static str,
    pub text: String,
    pub path: String,
}

/// One evaluation sample.
pub enum Sample {
    Text { text: String, gold: Vec<Gold> },
    Json { value: Value, gold: Vec<Gold> },
}

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    pub fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }
    pub fn chance(&mut self, pct: usize) -> bool {
        self.below(100) < pct
    }
}

/// (given names, surnames) per locale.
pub const LOCALES: &[(&str, &[&str], &[&str])] = &[
    (
        "en_US",
        &[
            "Jennifer", "Michael", "Ashley", "Tyler", "Brittany", "Kevin", "Megan", "Dustin",
            "Shanice", "Cody", "Kayleigh", "Darnell", "Brooke", "Travis",
        ],
        &[
            "Johnson",
            "Williams",
            "Anderson",
            "Thompson",
            "Whitaker",
            "Kowalczyk",
            "McAllister",
            "Pruitt",
            "Haskins",
            "Delgado",
            "Fitzgerald",
            "Stroud",
            "Blevins",
            "Yoder",
        ],
    ),
    (
        "en_GB",
        &[
            "Oliver", "Amelia", "Harry", "Imogen", "Alfie", "Phoebe", "Rhys", "Niamh", "Callum",
            "Siobhan", "Gethin", "Ffion",
        ],
        &[
            "Smith",
            "Taylor",
            "Davies",
            "Evans",
            "Hughes",
            "Pritchard",
            "Featherstone",
            "Ramsbottom",
            "Cholmondeley",
            "Abernethy",
            "Llewellyn",
            "Quigley",
        ],
    ),
    (
        "es",
        &[
            "María",
            "José",
            "Lucía",
            "Javier",
            "Carmen",
            "Alejandro",
            "Inmaculada",
            "Iker",
            "Ainhoa",
            "Rocío",
            "Gonzalo",
            "Maite",
        ],
        &[
            "González",
            "Rodríguez",
            "Fernández",
            "López",
            "Martínez",
            "Sánchez",
            "Etxeberria",
            "Zubizarreta",
            "Olmedo",
            "Villalobos",
            "Arrieta",
            "Cifuentes",
        ],
    ),
    (
        "pt_BR",
        &[
            "João", "Ana", "Pedro", "Beatriz", "Thiago", "Larissa", "Gustavo", "Fernanda", "Caio",
            "Luana", "Wesley", "Rayssa",
        ],
        &[
            "Silva",
            "Santos",
            "Oliveira",
            "Souza",
            "Pereira",
            "Carvalho",
            "Albuquerque",
            "Magalhães",
            "Nascimento",
            "Bittencourt",
            "Figueiredo",
            "Queiroz",
        ],
    ),
    (
        "fr",
        &[
            "Camille", "Louis", "Chloé", "Hugo", "Manon", "Théo", "Océane", "Maxime", "Gaëlle",
            "Benoît", "Solène", "Anaïs",
        ],
        &[
            "Martin",
            "Bernard",
            "Dubois",
            "Lefebvre",
            "Moreau",
            "Fournier",
            "Girardot",
            "Lemaire",
            "Vasseur",
            "Delacroix",
            "Chevallier",
            "Marchand",
        ],
    ),
    (
        "de",
        &[
            "Lukas",
            "Anna",
            "Jonas",
            "Lea",
            "Maximilian",
            "Johanna",
            "Felix",
            "Friederike",
            "Torsten",
            "Svenja",
            "Dietmar",
            "Wiebke",
        ],
        &[
            "Müller",
            "Schmidt",
            "Schneider",
            "Fischer",
            "Weber",
            "Becker",
            "Hoffmann",
            "Schäfer",
            "Köhler",
            "Oberndorfer",
            "Brinkmann",
            "Wiesenthal",
        ],
    ),
    (
        "it",
        &[
            "Giulia",
            "Alessandro",
            "Francesca",
            "Lorenzo",
            "Chiara",
            "Matteo",
            "Federica",
            "Gianluca",
            "Ilaria",
            "Raffaele",
            "Benedetta",
            "Salvatore",
        ],
        &[
            "Rossi",
            "Russo",
            "Ferrari",
            "Esposito",
            "Bianchi",
            "Romano",
            "Colombo",
            "Brambilla",
            "Lombardi",
            "Mancuso",
            "Pellegrini",
            "Santangelo",
        ],
    ),
    (
        "in",
        &[
            "Aarav",
            "Priya",
            "Rohan",
            "Ananya",
            "Vikram",
            "Lakshmi",
            "Arjun",
            "Deepika",
            "Karthik",
            "Sneha",
            "Harpreet",
            "Venkatesh",
        ],
        &[
            "Sharma",
            "Patel",
            "Iyer",
            "Reddy",
            "Nair",
            "Chatterjee",
            "Gupta",
            "Deshpande",
            "Venkataraman",
            "Bhattacharya",
            "Khurana",
            "Subramaniam",
        ],
    ),
    (
        "zh",
        &[
            "Wei", "Fang", "Xiaoming", "Jing", "Haoran", "Yuxuan", "Zihan", "Meiling", "Jianguo",
            "Xinyi", "Zhiwei", "Ruoxi",
        ],
        &[
            "Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Zhou", "Xu", "Guo",
            "Ouyang",
        ],
    ),
    (
        "ja",
        &[
            "Haruto", "Yui", "Sota", "Hina", "Takumi", "Sakura", "Kenji", "Ayaka", "Ryota",
            "Misaki", "Daisuke", "Nanami",
        ],
        &[
            "Sato",
            "Suzuki",
            "Takahashi",
            "Tanaka",
            "Watanabe",
            "Yamamoto",
            "Nakamura",
            "Kobayashi",
            "Matsumoto",
            "Hasegawa",
            "Kurosawa",
            "Fujimori",
        ],
    ),
    (
        "ar",
        &[
            "Mohammed", "Fatima", "Ahmed", "Layla", "Omar", "Aisha", "Youssef", "Mariam", "Khalid",
            "Noor", "Tariq", "Rania",
        ],
        &[
            "Al-Sayed",
            "Haddad",
            "Khoury",
            "Nasser",
            "Mansour",
            "Al-Farsi",
            "Hamdan",
            "Qureshi",
            "El-Amin",
            "Barakat",
            "Darwish",
            "Al-Zahrani",
        ],
    ),
    (
        "slavic",
        &[
            "Olga",
            "Dmitri",
            "Natalia",
            "Sergei",
            "Katarzyna",
            "Tomasz",
            "Oksana",
            "Bogdan",
            "Milica",
            "Dragan",
            "Yelena",
            "Wojciech",
        ],
        &[
            "Ivanova",
            "Petrov",
            "Kowalski",
            "Nowak",
            "Shevchenko",
            "Kovalenko",
            "Jovanović",
            "Wiśniewska",
            "Kuznetsov",
            "Dvořák",
            "Horvat",
            "Zielińska",
        ],
    ),
    (
        "ng",
        &[
            "Chinedu",
            "Ngozi",
            "Oluwaseun",
            "Adaeze",
            "Emeka",
            "Funmilayo",
            "Babatunde",
            "Chiamaka",
            "Ikechukwu",
            "Yetunde",
            "Obinna",
            "Temitope",
        ],
        &[
            "Okafor",
            "Adeyemi",
            "Okonkwo",
            "Eze",
            "Balogun",
            "Nwosu",
            "Adebayo",
            "Ogunleye",
            "Olawale",
            "Nwachukwu",
            "Akinola",
            "Onyekachi",
        ],
    ),
    (
        "ko",
        &[
            "Minjun", "Seoyeon", "Jiho", "Jiwoo", "Hyunwoo", "Soyeon", "Donghyun", "Eunji",
            "Jaewon", "Yuna",
        ],
        &[
            "Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon", "Jang", "Lim",
        ],
    ),
    (
        "tr_vi",
        &[
            "Mehmet", "Elif", "Emre", "Zeynep", "Burak", "Minh", "Linh", "Tuan", "Thao", "Quang",
        ],
        &[
            "Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Nguyen", "Tran", "Pham", "Hoang", "Vu",
        ],
    ),
];

/// Names that no dictionary is likely to hold: they appear only where a key
/// hint, title or cue supports them.
pub const RARE_GIVEN: &[&str] = &[
    "Zephyrine",
    "Oluwadamilare",
    "Tsegaye",
    "Xochitl",
    "Eiríkur",
    "Nkosinathi",
    "Thandiwe",
    "Anuhea",
    "Keoni",
    "Sigrún",
    "Bolat",
    "Nurlan",
    "Aigerim",
    "Dilnoza",
    "Kwabena",
    "Ebenezer",
    "Mahlet",
    "Tadesse",
    "Qadira",
    "Ximena",
    "Yaretzi",
    "Itzel",
    "Auberon",
    "Isolde",
];
pub const RARE_SURNAMES: &[&str] = &[
    "Tchaikovskaya",
    "Nwankwo-Ibe",
    "Oyelowo",
    "Abeywickrama",
    "Wijesinghe",
    "Rakotomalala",
    "Andriamanitra",
    "Bjørnstad",
    "Þórsdóttir",
    "Vaitkevičius",
    "Ramaswamy-Iyer",
    "Kuznetsova-Hart",
    "Tshabalala",
    "Mbeki",
    "Nakashima-Lowe",
    "Quispe",
    "Mamani",
    "Huarachi",
    "Tuilagi",
    "Fa'asavalu",
    "Kekumu",
    "Dzhaksybekov",
    "Tursunova",
    "Gebremariam",
];

pub const TITLES: &[&str] = &["Mr.", "Ms.", "Mrs.", "Dr.", "Prof.", "Mr", "Ms", "Dr"];

/// Company names (never NAME), many built from surnames.
pub const COMPANIES: &[&str] = &[
    "Smith & Sons",
    "Miller Logistics GmbH",
    "Johnson Controls Inc",
    "Garcia Foods S.A.",
    "Rossi Costruzioni S.r.l.",
    "Tanaka Industries Ltd",
    "Wong Holdings Ltd",
    "Schmidt & Partner GmbH",
    "Dupont Conseil SARL",
    "Silva Transportes Ltda",
    "Okafor Ventures Ltd",
    "Ernst & Young",
    "Procter & Gamble",
    "Marks & Spencer",
    "Johnson & Johnson",
    "Acme Corp",
    "Globex Corporation",
    "Initech LLC",
    "Umbrella Group",
    "Stark Industries",
    "Wayne Enterprises",
    "Hooli Inc.",
    "Nakamura Trading Co.",
    "Patel Consulting LLP",
    "Becker Solutions AG",
    "Fischer Systems GmbH",
    "Moreau & Fils",
    "Colombo Media SpA",
    "Reddy Labs Pvt Ltd",
    "Nguyen Bakery",
    "Lefebvre Transport SAS",
    "Kowalski Software Sp. z o.o.",
    "Adeyemi Capital Partners",
    "Haddad Pharma",
    "Dubois Realty",
    "Brambilla Motors",
    "Santos Construction Co",
    "Pritchard Insurance Group",
    "Delgado Law Firm",
    "Morgan Stanley",
    "Wells Fargo",
];

/// Capitalized non-name phrases and sentence starts.
pub const NON_NAME_TEXTS: &[&str] = &[
    "Will do, thanks.",
    "Grace period ends on Friday.",
    "Hope you are well.",
    "Rose by 5% in Q3.",
    "Mark the ticket as done.",
    "Bill the customer monthly.",
    "Frank feedback is welcome.",
    "May 2024 revenue beat the forecast.",
    "Monday Morning Sync moved to Tuesday.",
    "Victoria Station is closed this weekend.",
    "We flew from San Jose to Santa Clara.",
    "Shipping to Florence, Italy takes a week.",
    "The Amber Glass Bottle is out of stock.",
    "Ruby on Rails upgrade is scheduled.",
    "Jackson Heights branch opens in June.",
    "Lake Victoria Logistics sent a quote.",
    "North Carolina sales grew.",
    "Please see the Annual Report.",
    "Sales Team Offsite in Lisbon.",
    "Customer Success Review",
    "Happy New Year from all of us!",
    "Quarterly Business Review agenda attached.",
    "Christmas Eve delivery is not guaranteed.",
    "Golden Gate Bridge photo shoot.",
    "Summer Sale ends Sunday.",
    "Black Friday deals are live.",
    "Rich Text Editor crashed.",
    "Long Beach warehouse inventory count.",
    "Royal Mail tracking is delayed.",
    "Crystal Palace stadium tour booked.",
    "Grant Proposal due in March.",
    "Austin office moved to Congress Avenue.",
    "Paris, London and Berlin offices closed.",
    "Chelsea Market pop-up event.",
    "Lincoln Center tickets for the team.",
    "Jordan Valley supplier audit.",
    "Georgia Tech recruiting fair.",
    "Virginia Beach retreat.",
    "Ivory Coast shipment cleared customs.",
    "Price List 2025 attached.",
];

pub const CITIES: &[&str] = &[
    "Paris",
    "Austin",
    "Sydney",
    "Victoria",
    "Charlotte",
    "Madison",
    "Florence",
    "Berlin",
    "São Paulo",
    "Mumbai",
    "Lagos",
    "Osaka",
    "Milan",
    "Lyon",
    "Jackson",
    "Regina",
    "Adelaide",
    "Salvador",
    "Kingston",
    "Hamilton",
];

pub const EMAIL_DOMAINS: &[&str] = &[
    "example.com",
    "acme.co.uk",
    "empresa.com.br",
    "firma.de",
    "societe.fr",
    "azienda.it",
    "corp.in",
    "gmail.com",
    "outlook.com",
    "yahoo.co.jp",
    "qq.com",
    "web.de",
    "libero.it",
    "mail.example.org",
    "globex.io",
    "initech.com",
    "univ.edu",
    "startup.ai",
    "sub.domain.example.net",
    "hospital.nhs.uk",
];

/// ASCII-folds for email local parts.
pub fn ascii_fold(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let r = match c {
            'á' | 'à' | 'â' | 'ã' | 'ä' | 'å' => "a",
            'é' | 'è' | 'ê' | 'ë' => "e",
            'í' | 'ì' | 'î' | 'ï' | 'ı' => "i",
            'ó' | 'ò' | 'ô' | 'õ' | 'ö' | 'ø' => "o",
            'ú' | 'ù' | 'û' | 'ü' => "u",
            'ç' | 'ć' | 'č' => "c",
            'ñ' | 'ń' => "n",
            'ś' | 'š' | 'ş' => "s",
            'ž' | 'ż' | 'ź' => "z",
            'ł' => "l",
            'ř' => "r",
            'ğ' => "g",
            'þ' | 'Þ' => "th",
            'ß' => "ss",
            '\'' | '-' | ' ' => "",
            c if c.is_ascii_alphanumeric() => {
                out.push(c.to_ascii_lowercase());
                continue;
            }
            _ => "",
        };
        out.push_str(r);
    }
    out
}

pub struct Person {
    pub given: String,
    pub surname: String,
    pub rare: bool,
}

impl Person {
    pub fn full(&self) -> String {
        format!("{} {}", self.given, self.surname)
    }
}

pub fn person(rng: &mut Rng) -> Person {
    if rng.chance(12) {
        let given = rng.pick(RARE_GIVEN).to_string();
        let surname = rng.pick(RARE_SURNAMES).to_string();
        return Person {
            given,
            surname,
            rare: true,
        };
    }
    let (_, given, surnames) = rng.pick(LOCALES);
    Person {
        given: rng.pick(given).to_string(),
        surname: rng.pick(surnames).to_string(),
        rare: false,
    }
}

pub fn email_for(rng: &mut Rng, p: &Person) -> String {
    let g = ascii_fold(&p.given);
    let s = ascii_fold(&p.surname);
    let local = match rng.below(6) {
        0 => format!("{g}.{s}"),
        1 => format!("{}{s}", g.chars().next().unwrap_or('x')),
        2 => format!("{g}_{s}{}", rng.below(100)),
        3 => format!("{g}+crm"),
        4 => format!("{s}.{g}"),
        _ => g.to_string(),
    };
    format!("{local}@{}", rng.pick(EMAIL_DOMAINS))
}

/// A phone number written in a local style; `None` if the reference library rejects it.
pub fn phone(rng: &mut Rng) -> Option<String> {
    let text = match rng.below(10) {
        0 => {
            let area = rng.pick(&[
                "212", "415", "312", "617", "206", "303", "404", "512", "718", "805",
            ]);
            let ex = format!("{}{}", 2 + rng.below(8), rng.digits(2));
            let line = rng.digits(4);
            match rng.below(9) {
                7 => format!("+1 ({area}) {ex}-{line}"),
                8 => format!("{area} {ex} {line} x{}", rng.digits(3)),
                0 => format!("({area}) {ex}-{line}"),
                1 => format!("{area}-{ex}-{line}"),
                2 => format!("{area}.{ex}.{line}"),
                3 => format!("+1 {area} {ex} {line}"),
                4 => format!("+1-{area}-{ex}-{line}"),
                5 => format!("1 ({area}) {ex}-{line}"),
                _ => format!("{area}-{ex}-{line} ext. {}", rng.digits(3)),
            }
        }
        1 => match rng.below(5) {
            4 => format!("+44 (0)20 7{} {}", rng.digits(3), rng.digits(4)),
            0 => format!("020 7{} {}", rng.digits(3), rng.digits(4)),
            1 => format!("+44 20 7{} {}", rng.digits(3), rng.digits(4)),
            2 => format!("07{}{} {}", 4 + rng.below(6), rng.digits(2), rng.digits(6)),
            _ => format!(
                "+44 7{}{} {}",
                4 + rng.below(6),
                rng.digits(2),
                rng.digits(6)
            ),
        },
        2 => match rng.below(6) {
            4 => format!("+49 (0)30 {}", rng.digits(8)),
            5 => format!("0049 89 {}", rng.digits(7)),
            0 => format!("030 {}", rng.digits(8)),
            1 => format!("+49 89 {}", rng.digits(7)),
            2 => format!("0151 {}", rng.digits(8)),
            _ => format!("+49 171 {}", rng.digits(7)),
        },
        3 => {
            let first = rng.pick(&["1", "6", "7", "4", "5"]);
            let rest: Vec<String> = (0..4).map(|_| rng.digits(2)).collect();
            match rng.below(4) {
                3 => format!("+33 (0){first} {}", rest.join(" ")),
                0 => format!("0{first} {}", rest.join(" ")),
                1 => format!("+33 {first} {}", rest.join(" ")),
                _ => format!("0{first}.{}", rest.join(".")),
            }
        }
        4 => match rng.below(3) {
            0 => format!(
                "6{} {} {} {}",
                rng.digits(2),
                rng.digits(2),
                rng.digits(2),
                rng.digits(2)
            ),
            1 => format!(
                "+34 91{} {} {}",
                rng.digits(1),
                rng.digits(3),
                rng.digits(3)
            ),
            _ => format!("91 {} {} {}", rng.digits(3), rng.digits(2), rng.digits(2)),
        },
        5 => match rng.below(3) {
            0 => format!("02 {} {}", rng.digits(4), rng.digits(4)),
            1 => format!("+39 06 {} {}", rng.digits(4), rng.digits(4)),
            _ => format!(
                "+39 34{} {} {}",
                rng.digits(1),
                rng.digits(3),
                rng.digits(4)
            ),
        },
        6 => match rng.below(4) {
            3 => format!("+91-9{}-{}", rng.digits(4), rng.digits(5)),
            0 => format!("+91 9{} {}", rng.digits(4), rng.digits(5)),
            1 => format!("098{} {}", rng.digits(3), rng.digits(5)),
            _ => format!("+91 22 {} {}", rng.digits(4), rng.digits(4)),
        },
        7 => {
            let area = rng.pick(&["416", "604", "514", "613", "403"]);
            match rng.below(2) {
                0 => format!(
                    "({area}) {}{}-{}",
                    2 + rng.below(8),
                    rng.digits(2),
                    rng.digits(4)
                ),
                _ => format!(
                    "+1 {area} {}{} {}",
                    2 + rng.below(8),
                    rng.digits(2),
                    rng.digits(4)
                ),
            }
        }
        8 => match rng.below(4) {
            3 => format!("+61 2 9{} {}", rng.digits(3), rng.digits(4)),
            0 => format!("(02) 9{} {}", rng.digits(3), rng.digits(4)),
            1 => format!("04{} {} {}", rng.digits(2), rng.digits(3), rng.digits(3)),
            _ => format!("+61 4{} {} {}", rng.digits(2), rng.digits(3), rng.digits(3)),
        },
        _ => match rng.below(4) {
            3 => format!("+55 (11) 9{}-{}", rng.digits(4), rng.digits(4)),
            0 => format!("(11) 9{}-{}", rng.digits(4), rng.digits(4)),
            1 => format!("+55 11 9{}-{}", rng.digits(4), rng.digits(4)),
            _ => format!("(21) 2{}-{}", rng.digits(3), rng.digits(4)),
        },
    };
    is_valid_reference(&text).then_some(text)
}

/// Validity per the `phonenumber` crate (the reference), trying the default regions.
pub fn is_valid_reference(text: &str) -> bool {
    let core = text.split(" ext").next().unwrap_or(text);
    let core = core.split(" x").next().unwrap_or(core);
    let regions = ["US", "GB", "DE", "FR", "ES", "IT", "IN", "CA", "AU", "BR"];
    if core.starts_with('+') {
        return phonenumber::parse(None, core)
            .map(|p| phonenumber::is_valid(&p))
            .unwrap_or(false);
    }
    regions.iter().any(|r| {
        r.parse::<phonenumber::country::Id>()
            .ok()
            .and_then(|id| phonenumber::parse(Some(id), core).ok())
            .is_some_and(|p| phonenumber::is_valid(&p))
    })
}

pub fn uuid(rng: &mut Rng) -> String {
    let hex = |rng: &mut Rng, n: usize| -> String {
        (0..n)
            .map(|_| char::from(b"0123456789abcdef"[rng.below(16)]))
            .collect()
    };
    format!(
        "{}-{}-4{}-a{}-{}",
        hex(rng, 8),
        hex(rng, 4),
        hex(rng, 3),
        hex(rng, 3),
        hex(rng, 12)
    )
}

pub fn date(rng: &mut Rng) -> String {
    let (y, m, d) = (2019 + rng.below(7), 1 + rng.below(12), 1 + rng.below(28));
    match rng.below(6) {
        0 => format!("{y}-{m:02}-{d:02}"),
        1 => format!("{d:02}.{m:02}.{y}"),
        2 => format!("{m:02}/{d:02}/{y}"),
        3 => format!(
            "{y}-{m:02}-{d:02}T{:02}:{:02}:00Z",
            rng.below(24),
            rng.below(60)
        ),
        4 => format!("{y}/{m:02}/{d:02}"),
        _ => format!("{d:02}-{m:02}-{y}"),
    }
}

/// Identifiers and numbers that must not be phones (with their usual context).
pub fn non_phone_number(rng: &mut Rng) -> String {
    match rng.below(22) {
        16 => date(rng),
        17 => format!(
            "{}.{}.{}.{}",
            1 + rng.below(254),
            rng.below(255),
            rng.below(255),
            1 + rng.below(254)
        ),
        18 => uuid(rng),
        19 => format!("4{}", rng.digits(15)),
        20 => format!("{}.{}.{}", rng.below(10), rng.below(30), rng.below(200)),
        21 => format!(
            "{:02}:{:02}-{:02}:{:02}",
            rng.below(24),
            rng.below(60),
            rng.below(24),
            rng.below(60)
        ),
        0 => format!("Order #{}", rng.digits(10)),
        1 => format!("invoice INV-{}-{}", 2020 + rng.below(6), rng.digits(5)),
        2 => format!("PO {}", rng.digits(9)),
        3 => format!(
            "ISBN 978-{}-{}-{}-{}",
            rng.digits(1),
            rng.digits(3),
            rng.digits(5),
            rng.digits(1)
        ),
        4 => format!(
            "server 10.{}.{}.{}",
            rng.below(255),
            rng.below(255),
            rng.below(255)
        ),
        5 => format!(
            "version {}.{}.{}",
            rng.below(20),
            rng.below(30),
            rng.below(100)
        ),
        6 => format!("id {}", uuid(rng)),
        7 => format!(
            "card 4111 {} {} {}",
            rng.digits(4),
            rng.digits(4),
            rng.digits(4)
        ),
        8 => format!(
            "on {} at {:02}:{:02}",
            date(rng),
            rng.below(24),
            rng.below(60)
        ),
        9 => format!("SSN 123-{}-{}", rng.digits(2), rng.digits(4)),
        10 => format!("ZIP {}-{}", rng.digits(5), rng.digits(4)),
        11 => format!(
            "total ${},{}.{}",
            1 + rng.below(99),
            rng.digits(3),
            rng.digits(2)
        ),
        12 => format!("tracking 1Z{}", rng.digits(16)),
        13 => format!("account {}", rng.digits(10)),
        14 => format!("build {}.{}.{}.{}", 10, 0, rng.digits(5), rng.below(10)),
        _ => format!("ref {}/{}", rng.digits(4), rng.digits(6)),
    }
}

fn g(kind: &'static str, text: impl Into<String>) -> Gold {
    Gold {
        kind,
        text: text.into(),
        path: String::new(),
    }
}

fn gp(kind: &'static str, text: impl Into<String>, path: &str) -> Gold {
    Gold {
        kind,
        text: text.into(),
        path: path.to_string(),
    }
}

/// A free-text sample with a mix of entities and distractors.
fn text_sample(rng: &mut Rng) -> Sample {
    let p = person(rng);
    let q = person(rng);
    let mut gold = Vec::new();
    let email = email_for(rng, &p);
    let phone_text = phone(rng);
    let text = match rng.below(22) {
        0 => {
            gold.push(g("NAME", p.given.clone()));
            format!("Hi {}, thanks for the call yesterday.", p.given)
        }
        1 => {
            gold.push(g("NAME", p.full()));
            gold.push(g("EMAIL", email.clone()));
            format!("Please loop in {} ({email}) before Friday.", p.full())
        }
        2 => {
            let t = rng.pick(TITLES);
            gold.push(g("NAME", p.surname.clone()));
            format!(
                "{t} {} will review the contract on {}.",
                p.surname,
                date(rng)
            )
        }
        3 => {
            gold.push(g("NAME", p.full()));
            if let Some(ph) = &phone_text {
                gold.push(g("PHONE", ph.clone()));
                format!(
                    "Meeting notes: {} agreed to send the draft; reach her at {ph}.",
                    p.full()
                )
            } else {
                format!("Meeting notes: {} agreed to send the draft.", p.full())
            }
        }
        4 => {
            gold.push(g("NAME", p.full()));
            gold.push(g("EMAIL", email.clone()));
            let ph = phone_text.clone().unwrap_or_default();
            if !ph.is_empty() {
                gold.push(g("PHONE", ph.clone()));
            }
            format!("Contact: {}, {ph}, {email}", p.full())
        }
        5 => {
            gold.push(g("NAME", p.full()));
            gold.push(g("EMAIL", email.clone()));
            format!(
                "From: {} <{email}>\nSubject: Renewal for {}",
                p.full(),
                rng.pick(COMPANIES)
            )
        }
        6 => {
            gold.push(g("NAME", p.given.clone()));
            format!(
                "{}'s flight lands at {:02}:{:02} on {}.",
                p.given,
                rng.below(24),
                rng.below(60),
                date(rng)
            )
        }
        7 => {
            gold.push(g("NAME", p.full()));
            gold.push(g("NAME", q.full()));
            format!("cc: {}, {}", p.full(), q.full())
        }
        8 => {
            let t = rng.pick(TITLES);
            gold.push(g("NAME", p.surname.clone()));
            format!(
                "Dear {t} {},\nPlease find attached invoice INV-{}.",
                p.surname,
                rng.digits(6)
            )
        }
        9 => {
            gold.push(g("NAME", p.full()));
            if let Some(ph) = &phone_text {
                gold.push(g("PHONE", ph.clone()));
                format!("Our account manager {} will call you on {ph}.", p.full())
            } else {
                format!("Our account manager {} will call you.", p.full())
            }
        }
        10 => {
            gold.push(g("NAME", p.full()));
            format!(
                "Spoke with {} about order #{} ({}).",
                p.full(),
                rng.digits(8),
                non_phone_number(rng)
            )
        }
        11 => {
            gold.push(g("EMAIL", email.clone()));
            format!("Send the signed copy to mailto:{email} by {}.", date(rng))
        }
        12 => {
            // Escaped JSON inside a log line.
            gold.push(g("EMAIL", email.clone()));
            gold.push(g("NAME", p.full()));
            format!(
                r#"payload={{\"contact\":\"{}\",\"email\":\"{email}\"}}"#,
                p.full()
            )
        }
        13 => {
            let c = rng.pick(COMPANIES);
            format!(
                "{c} renewed on {} for {} seats, {}.",
                date(rng),
                rng.below(500),
                non_phone_number(rng)
            )
        }
        14 => rng.pick(NON_NAME_TEXTS).to_string(),
        15 => format!(
            "{}; {}; {}.",
            non_phone_number(rng),
            non_phone_number(rng),
            non_phone_number(rng)
        ),
        16 => {
            gold.push(g("NAME", p.full()));
            if let Some(ph) = &phone_text {
                gold.push(g("PHONE", ph.clone()));
                format!("Tel: {ph} ({})", p.full())
            } else {
                format!("Owner: {}", p.full())
            }
        }
        17 => {
            let local = ascii_fold(&p.given);
            let dom = rng.pick(EMAIL_DOMAINS);
            let (name, tld) = dom.rsplit_once('.').unwrap_or((dom, "com"));
            let obf = format!("{local} [at] {} [dot] {tld}", name.replace('.', " [dot] "));
            gold.push(g("EMAIL", obf.clone()));
            format!("Write to {obf} for access.")
        }
        18 => {
            let c = rng.pick(COMPANIES);
            gold.push(g("NAME", p.full()));
            format!(
                "{} joined {c} in {} as head of sales.",
                p.full(),
                2010 + rng.below(15)
            )
        }
        19 => format!(
            "Image logo@2x.png, package lodash@4.17.{}, handle @{} and user@localhost.",
            rng.below(30),
            ascii_fold(&p.given)
        ),
        20 => {
            gold.push(g("NAME", p.full()));
            gold.push(g("EMAIL", email.clone()));
            format!("Thanks,\n{}\n{}\n{email}", p.full(), rng.pick(COMPANIES))
        }
        _ => {
            gold.push(g("NAME", p.full()));
            format!(
                "Assigned to {} by the {} team in {}.",
                p.full(),
                rng.pick(&["billing", "support", "sales"]),
                rng.pick(CITIES)
            )
        }
    };
    Sample::Text { text, gold }
}

/// A CRM-like JSON row.
fn json_sample(rng: &mut Rng) -> Sample {
    let p = person(rng);
    let o = person(rng);
    let mut gold = Vec::new();
    let email = email_for(rng, &p);
    let mut row = serde_json::Map::new();
    row.insert("id".into(), json!(uuid(rng)));
    match rng.below(3) {
        0 => {
            row.insert("name".into(), json!(p.full()));
            gold.push(gp("NAME", p.full(), "name"));
        }
        1 => {
            row.insert("first_name".into(), json!(p.given));
            row.insert("last_name".into(), json!(p.surname));
            gold.push(gp("NAME", p.given.clone(), "first_name"));
            gold.push(gp("NAME", p.surname.clone(), "last_name"));
        }
        _ => {
            row.insert("fullName".into(), json!(p.full()));
            gold.push(gp("NAME", p.full(), "fullName"));
        }
    }
    row.insert("email".into(), json!(email));
    gold.push(gp("EMAIL", email.clone(), "email"));
    if let Some(ph) = phone(rng) {
        let bare: String = ph
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '+')
            .collect();
        let ph = if rng.chance(20) && !ph.contains("ext") {
            bare
        } else {
            ph
        };
        row.insert("phone".into(), json!(ph));
        gold.push(gp("PHONE", ph, "phone"));
    }
    row.insert("company".into(), json!(rng.pick(COMPANIES)));
    row.insert("city".into(), json!(rng.pick(CITIES)));
    row.insert(
        "status".into(),
        json!(rng.pick(&["Pending", "Active", "Closed Won", "New Lead", "Churned"])),
    );
    row.insert("created_at".into(), json!(date(rng)));
    row.insert("order_id".into(), json!(rng.digits(10)));
    row.insert("amount".into(), json!(rng.below(100_000) as f64 / 100.0));
    let owner_key = *rng.pick(&[
        "owner",
        "assignee",
        "created_by",
        "account_manager",
        "author",
    ]);
    row.insert(owner_key.into(), json!(o.full()));
    gold.push(gp("NAME", o.full(), owner_key));
    if rng.chance(40) {
        let c = person(rng);
        let cemail = email_for(rng, &c);
        let mut contact = serde_json::Map::new();
        contact.insert("name".into(), json!(c.full()));
        contact.insert("email".into(), json!(cemail));
        gold.push(gp("NAME", c.full(), "contact.name"));
        gold.push(gp("EMAIL", cemail, "contact.email"));
        if let Some(ph) = phone(rng) {
            contact.insert("mobile".into(), json!(ph));
            gold.push(gp("PHONE", ph, "contact.mobile"));
        }
        row.insert("contact".into(), Value::Object(contact));
    }
    if rng.chance(50) {
        let note = match rng.below(5) {
            0 => {
                gold.push(gp("NAME", p.given.clone(), "notes"));
                format!("Called {} on {}, follow up next week.", p.given, date(rng))
            }
            1 => format!(
                "Renewal with {} pending legal review ({}).",
                rng.pick(COMPANIES),
                non_phone_number(rng)
            ),
            2 => {
                if let Some(ph) = phone(rng) {
                    gold.push(gp("PHONE", ph.clone(), "notes"));
                    format!("Prefers WhatsApp: {ph}. Timezone CET.")
                } else {
                    "Prefers e-mail.".to_string()
                }
            }
            3 => rng.pick(NON_NAME_TEXTS).to_string(),
            _ => {
                let t = rng.pick(TITLES);
                gold.push(gp("NAME", o.surname.clone(), "notes"));
                format!(
                    "Escalated to {t} {} after the {} outage.",
                    o.surname,
                    rng.pick(&["Monday", "March", "Q3"])
                )
            }
        };
        row.insert("notes".into(), json!(note));
    }
    row.insert(
        "tags".into(),
        json!([
            rng.pick(&["VIP", "Enterprise", "Renewal", "Churn Risk"]),
            rng.pick(CITIES)
        ]),
    );
    let value = if rng.chance(30) {
        for gd in &mut gold {
            gd.path = format!("data.rows[0].{}", gd.path);
        }
        json!({"data": {"rows": [Value::Object(row)], "page": 1, "version": "2.3.1"}})
    } else {
        Value::Object(row)
    };
    Sample::Json { value, gold }
}

/// The whole corpus: `n_text` free-text samples and `n_json` JSON rows.
pub fn corpus(seed: u64, n_text: usize, n_json: usize) -> Vec<Sample> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(n_text + n_json);
    for _ in 0..n_text {
        out.push(text_sample(&mut rng));
    }
    for _ in 0..n_json {
        out.push(json_sample(&mut rng));
    }
    out
}
