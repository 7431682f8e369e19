//! NAME: person names without a model — a bundled dictionary plus rules.
//!
//! The dictionary (see `data/README.md`) holds ~14k given names and ~24k
//! surnames from many locales, a list of names that are also common English
//! words ("Will", "Rose", "Hope": *ambiguous*), and a curated vocabulary of
//! titles, cue words, company suffixes, place words and common capitalized
//! words. Everything lives in **one** hash map from the lower-cased word to its
//! role flags, so one lookup per capitalized token returns all of its roles.
//!
//! The rules look at *runs* of capitalized tokens (joined by single spaces,
//! hyphens inside a token, lowercase particles such as "van der"):
//! a title before the run ("Dr. Okafor") or a greeting/header cue ("Dear",
//! "Hi", "attn:", "cc:", "From:") makes it a name; otherwise it needs
//! dictionary evidence: a non-ambiguous given name alone ("Maria"), or a given
//! name followed by a surname or an unknown capitalized word ("Maria Xyz"), or
//! an unknown word followed by a known surname ("Chidi Okafor"). A company
//! suffix or `&` in or after the run ("Smith & Sons", "Miller Logistics GmbH")
//! rejects it, as does a place suffix ("Maria Street") or prefix ("San Jose").
//! Possessives count as evidence for single known tokens ("Okafor's").
//!
//! Structure counts too: `@` mentions, airline "SURNAME/GIVEN", a run that
//! continues a list of found names, a vocative ("Dagmár, could you …"), and
//! lower-case names right after a greeting ("Dear guzi broe,") or "name is".
//! A capitalized word that the name lists do not know but an English word
//! list does (`data/english_words.txt`) marks a thing ("Vega Sensor"); a legal
//! form, "of" + a capitalized word, or a house number after a run make it a
//! company, a title or a street.
//!
//! Trade-offs: other lowercase names in free text are not found (key hints
//! catch them in JSON); a name that is also a common word and stands alone
//! ("Will said") is skipped; two ambiguous dictionary words in a row ("Grant
//! Power") can be a false positive.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

const GIVEN: u16 = 1;
const SURNAME: u16 = 1 << 1;
/// A name that is also a common word: weak evidence on its own.
const AMBIG: u16 = 1 << 2;
/// A common capitalized non-name word: ends a run.
const STOP: u16 = 1 << 3;
const TITLE: u16 = 1 << 4;
/// A cue that makes the following run a name ("Dear", "Hi").
const CUE_STRONG: u16 = 1 << 5;
/// A cue that helps a dictionary token ("with", "from", "by").
const CUE_WEAK: u16 = 1 << 6;
/// A cue only when followed by a colon ("From:", "Owner:").
const CUE_COLON: u16 = 1 << 7;
const COMPANY: u16 = 1 << 8;
const PARTICLE: u16 = 1 << 9;
/// "Street", "Avenue", "Airport": the run before it names a place.
const PLACE_SUFFIX: u16 = 1 << 10;
/// "San", "Saint", "Lake", "Fort": the run after it names a place.
const PLACE_PREFIX: u16 = 1 << 11;
/// A common word that is also a name ("Will", "Date", "To"): never a person on its own in a field.
const COMMON: u16 = 1 << 12;
/// A given name of the wide lists only (official baby-name statistics): evidence in a pair.
const WIDE_GIVEN: u16 = 1 << 13;
/// A surname of the wide lists only (a national census): evidence in a pair.
const WIDE_SURNAME: u16 = 1 << 14;

const TITLES: &str = "mr mrs ms miss mx dr prof professor sir dame lord rev fr herr frau sr sra srta \
    mme mlle dott dott.ssa ing sig sra doña dona shri smt sri capt captain col gen lt sgt judge hon \
    sheikh mister madam madame monsieur señor señora senhor senhora signor signora mevrouw meneer \
    pan pani docteur doktor dra";

const CUES_STRONG: &str = "dear hi hello hey hiya greetings attn attention regards thanks thank \
    cheers sincerely signed yours hallo hola bonjour ciao olá ola querido querida estimado estimada \
    liebe lieber cher chère caro cara namaste salaam salam congratulations congrats welcome bye \
    goodbye ping hoi hej moi salut buongiorno buonasera servus grüezi moin grüßen grüße gruß \
    grüssen grüsse cordialement salutations saludos atentamente cumprimentos abraços saluti \
    cordiali distinti groeten hälsningar hilsen terveisin pozdrawiam pozdrav üdvözlettel \
    saygılarımla regards";

const CUES_WEAK: &str = "from with by to for ask asked call called met meet meeting told tell per \
    via cc bcc contact contacted emailed spoke speak and or son daughter wife husband mother father \
    brother sister colleague manager assigned ceo cto cfo founder director rep agent signed \
    owner author reviewer approved reported cliente clienta kunde kundin contacto contato \
    contatto avec mit con com met från fra av con confirmed confirmé escalated forwarded \
    pinged invited introduced reply replied wrote invite remind reminded notify notified \
    loop looping include including";

const CUES_COLON: &str = "from to cc bcc contact attn owner assignee author name manager rep sender \
    caller witness applicant passenger passengers participants participant present required \
    optional invited invitees reviewers approvers requester requestor submitter presenter \
    speakers panelists chair beneficiary \
    recipient customer client lead host organizer organiser attendee attendees speaker reporter \
    reviewer approver signatory guest patient employee tenant buyer seller driver user member \
    nombre nom name vorname nachname nome cliente kunde";

const COMPANY_WORDS: &str = "inc incorporated llc l.l.c llp lp ltd limited gmbh ag kg kgaa se sa s.a \
    sas sarl sàrl sl s.l srl s.r.l spa s.p.a bv b.v nv n.v oy ab as asa aps a/s pty plc corp corporation co \
    company companies group holdings holding partners associates logistics solutions systems \
    technologies technology tech consulting consultants industries enterprises services labs \
    laboratories bank capital ventures foods motors media studios studio controls pharma \
    pharmaceuticals insurance realty law legal sons bros brothers international global worldwide \
    software networks energy trading foundation fund trust institute agency partnership \
    construction manufacturing supply supplies distribution retail wholesale airlines airways \
    hotels resorts restaurants cafe bakery clinic dental healthcare health medical university \
    college school academy club society association council ministry department inc. ltd. corp. \
    co. gmbh. llc. plc. & cie cía ltda eireli mbh ug partg mbb partgmbb kft zrt nyrt bt oyj \
    sro s.r.o spółka sp z.o.o kk pte bhd sdn tbk pvt ohg e.v ev gbr ab. a/s s.a.s sagl \
    oü transportes transporte transport technik technologie technologies logistica \
    rechtsanwälte rechtsanwalt anwälte kanzlei steuerberater wirtschaftsprüfer notare notaires \
    avocats advocaten abogados advogados avvocati solicitors attorneys lawyers barristers \
    analytics textiles industrie industria industries logistik handel verlag versicherung \
    werke bau medical pharma biotech dynamics robotics electronics telecom communications \
    marketing design creative digital interactive consulting advisory capital equity \
    freight cargo couriers courier express mobility packaging printing chemicals metals mining \
    beverages brewing brewery winery outfitters apparel aerospace aviation maritime renewables \
    utilities staffing recruitment hospitality entertainment publishing broadcasting";

const PARTICLES: &str = "van von der den de del della dei di da das dos du la le bin binti ibn bint al el aen uit op \
    ter ten te zu af ap mac st y e vander";

const PLACE_SUFFIXES: &str = "street st road rd avenue ave lane ln drive blvd boulevard way court ct \
    place pl square sq park plaza parkway highway hwy terrace crescent close row alley \
    hall center centre station airport hospital university college school church cathedral \
    museum bridge river lake mountain mountains mount island islands county city town village \
    valley hills hill heights beach bay harbor harbour port gardens garden tower towers building \
    stadium arena mall market district province state region republic kingdom coast canyon \
    falls springs forest desert peninsula strasse straße platz weg gasse allee calle avenida \
    rua praça via viale corso piazza rue boulevard chemin quai freeway expressway motorway \
    turnpike väg vag stig gränd gata vej gade katu tie utca ulica sokak cadde weg pfad";

/// Place suffixes that are also common surnames ("Eunji Park", "Maria Hall").
const SURNAME_PLACE_WORDS: &str = "park hall hill lane wood ford bay brook field green church \
    bridge heath beach court cross banks hills woods fields";

const PLACE_PREFIXES: &str = "san santa santo são saint st sainte ste lake mount mt fort ft port \
    new north south east west upper lower greater great little los las el la le new cape point \
    glen palm";

/// Capitalized words that are common in business text and never names on their own.
const STOP_WORDS: &str = "the a an and or but if in on at to for of with by from as is it its we \
    cordiales cordiali cordialmente distinti freundlichen freundliche herzlichen herzliche \
    vriendelijke hartelijke atenciosamente cordialement salutations \
    i you he she they our your my his her their this that these those there here what which who \
    whom whose when where why how all any each every some no not yes ok okay please thanks thank \
    hello hi dear regards best kind warm sincerely cheers team sales support account accounts \
    customer customers client clients order orders invoice invoices meeting meetings call calls \
    email emails phone phones note notes status pending active inactive closed open new lead \
    leads deal deals project projects report reports update updates department office manager \
    director president ceo cto cfo coo vp head chief senior junior intern staff admin \
    administrator user users guest system service services product products price pricing \
    total subtotal tax discount payment payments billing shipping delivery address street city \
    state country zip postal code id name names first last full date time today tomorrow \
    yesterday week month year quarter q1 q2 q3 q4 am pm utc gmt est pst cet monday tuesday \
    wednesday thursday friday saturday sunday january february march april may june july \
    august september october november december jan feb mar apr jun jul aug sep sept oct nov dec \
    mon tue wed thu fri sat sun north south east west new old world everyone everybody all \
    folks guys sir madam friend friends colleagues partner partners board committee group \
    company business hr it legal finance marketing engineering operations product design \
    research development quality security compliance risk audit accounting procurement \
    logistics warehouse inventory stock item items sku unit units quantity qty amount balance \
    due paid unpaid overdue draft final approved rejected cancelled canceled completed complete \
    done todo task tasks ticket tickets issue issues bug bugs feature release version build \
    test tests prod production staging dev api app web mobile desktop server database data \
    file files folder document documents page pages section chapter table figure appendix \
    summary overview introduction conclusion background agenda minutes action actions next \
    steps follow followup follow-up re fw fwd subject to cc bcc from sent received attached \
    attachment please see note important urgent fyi asap tbd n/a na none null nil unknown \
    other misc general default custom standard premium basic pro enterprise free trial plan \
    plans tier level region zone area location site branch hq headquarters global local \
    national international internal external public private confidential draft copy \
    monthly weekly daily annual yearly q inc ltd llc gmbh corp co usa uk eu us un \
    street road avenue lane drive boulevard suite floor building room apt apartment unit \
    block lot via hotel airport station hospital school university college church park \
    mr mrs ms dr prof dear hi hey hello attn attention congratulations welcome thank thanks \
    good great happy merry morning afternoon evening night day days hours minutes seconds \
    christmas easter thanksgiving halloween new year holiday holidays vacation leave sick \
    remote onsite hybrid full part time contract permanent temporary hourly salary bonus \
    commission revenue profit loss budget forecast target goal goals kpi roi \
    customer's client's company's team's today's yesterday's tomorrow's \
    google microsoft apple amazon facebook meta netflix tesla oracle ibm intel cisco adobe \
    salesforce hubspot slack zoom teams outlook gmail excel word powerpoint sheets docs drive \
    linkedin twitter instagram youtube whatsapp telegram signal github gitlab jira confluence \
    notion trello asana stripe paypal visa mastercard amex shopify wordpress android ios \
    windows linux macos chrome firefox safari edge aws azure gcp docker kubernetes python \
    java javascript typescript rust golang ruby php sql json xml html css http https url \
    dial-in dial dialin host organizer pin agenda welcome roadmap q&a subject date cc re fw \
    attendees organiser passcode webinar zoom-link ship bill billing shipping attn callback \
    passenger passengers caller witness applicant participants participant required optional \
    invited invitees reviewers \
    direttore direttrice gerente jefe jefa directeur directrice leiter leiterin geschäftsführer \
    geschäftsführerin diretor diretora dyrektor kierownik inkoper vendite compras comercial \
    einkauf vertrieb achats ventas vendas";

/// Place names that are also given names or surnames; treated as ambiguous.
const PLACES: &str = "paris london florence victoria sydney austin dallas houston jackson charlotte \
    madison jordan georgia virginia carolina israel chelsea lincoln orlando phoenix denver regina \
    adelaide alexandria santiago salvador florida indiana montana nevada eugene tyler troy \
    hamilton kent cambridge washington berlin milan lyon roma valencia sofia lima asia china \
    india kenya africa america europe brooklyn manhattan boston chicago seattle portland \
    vienna geneva zurich dublin york jersey devon cornwall essex sussex surrey chester preston \
    bristol clifton camden kingston richmond franklin columbia cleveland raleigh charleston \
    savannah memphis nashville aurora mesa irvine fresno berkeley stanford harvard oxford \
    vancouver toronto montreal quebec ottawa calgary winnipeg melbourne brisbane perth darwin \
    hobart auckland wellington delhi mumbai chennai kolkata bangalore hyderabad pune lagos \
    abuja nairobi cairo dubai doha riyadh istanbul moscow warsaw prague budapest athens \
    lisbon madrid barcelona seville granada rome venice naples turin genoa munich hamburg \
    frankfurt cologne dresden leipzig bremen hannover marseille lille nice toulouse bordeaux \
    nantes strasbourg rio brasilia recife fortaleza curitiba manaus belem tokyo osaka kyoto \
    beijing shanghai shenzhen guangzhou hong kong taipei seoul bangkok manila jakarta hanoi \
    singapore kuala lumpur karachi lahore dhaka colombo kathmandu tehran baghdad beirut amman \
    jerusalem ankara cyprus malta iceland norway sweden finland denmark germany france spain \
    portugal italy greece poland ukraine russia brazil argentina chile peru colombia mexico \
    canada australia zealand japan korea vietnam thailand indonesia malaysia philippines \
    nigeria ghana egypt morocco algeria tunisia ethiopia tanzania uganda zimbabwe zambia \
    angola namibia botswana texas ohio utah iowa idaho maine vermont oregon alaska hawaii \
    arizona kansas kentucky louisiana maryland michigan minnesota mississippi missouri \
    nebraska oklahoma tennessee wisconsin wyoming dakota california colorado connecticut \
    delaware illinois massachusetts pennsylvania alabama arkansas england scotland wales \
    ireland britain holland belgium austria switzerland hungary romania bulgaria serbia \
    croatia slovenia slovakia czech estonia latvia lithuania";

// The word lists lower-cased at build time (build.rs), so the dictionary borrows its keys.
const DATA_GIVEN: &str = include_str!(concat!(env!("OUT_DIR"), "/given.lower"));
const DATA_SURNAMES: &str = include_str!(concat!(env!("OUT_DIR"), "/surnames.lower"));
const DATA_AMBIGUOUS: &str = include_str!(concat!(env!("OUT_DIR"), "/ambiguous.lower"));
const DATA_COMMON: &str = include_str!(concat!(env!("OUT_DIR"), "/common_words.lower"));
const DATA_ENGLISH: &str = include_str!("../data/english_words.txt");
/// The wide lists (`data/build_wide.py`): lower-cased, sorted, one per line; searched in
/// place, never loaded into the dictionary.
const DATA_GIVEN_WIDE: &str = include_str!(concat!(env!("OUT_DIR"), "/given_wide.lower"));
const DATA_SURNAMES_WIDE: &str = include_str!(concat!(env!("OUT_DIR"), "/surnames_wide.lower"));

/// The name dictionary: the role flags of every lower-cased word. A hash map, not an
/// automaton: lookups are whole tokens, so an exact-match map answers the same as an
/// anchored leftmost-longest automaton that must match to the token's end, and it builds
/// in a fraction of the time (the automaton took ~130 ms, on every process start).
/// Keys borrow from the binary where the word is already lower-case (every word of the
/// data lists), and own only the folded and the built-in lists' other forms.
type Dict = HashMap<Cow<'static, str>, u16, crate::Fnv>;

/// Built on the first lookup, so a process that never meets a capitalized word never pays.
static DICT: LazyLock<Dict> = LazyLock::new(build_dict);

/// Removes common Latin diacritics so "Jose" finds "José".
fn fold(s: &str) -> Option<String> {
    if s.is_ascii() {
        return None;
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let r = match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => 'a',
            'ç' | 'ć' | 'č' => 'c',
            'ď' | 'đ' => 'd',
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => 'e',
            'ğ' => 'g',
            'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' => 'i',
            'ł' | 'ľ' | 'ĺ' => 'l',
            'ñ' | 'ń' | 'ň' => 'n',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => 'o',
            'ř' | 'ŕ' => 'r',
            'ś' | 'š' | 'ş' | 'ș' => 's',
            'ť' | 'ţ' | 'ț' => 't',
            'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'ų' => 'u',
            'ý' | 'ÿ' => 'y',
            'ź' | 'ż' | 'ž' => 'z',
            'ß' => 's',
            c if c.is_ascii() => c,
            _ => return None,
        };
        out.push(r);
    }
    Some(out)
}

fn build_dict() -> Dict {
    let mut map = Dict::with_capacity_and_hasher(48_000, crate::Fnv);
    let mut add = |word: &'static str, flag: u16| {
        let w = word.trim();
        if w.is_empty() {
            return;
        }
        // Exactly `to_lowercase`: a word every char of which lower-cases to itself is kept
        // as it is (borrowed); any other goes through `str::to_lowercase`.
        let unchanged = w.chars().all(|c| {
            let mut lower = c.to_lowercase();
            lower.next() == Some(c) && lower.next().is_none()
        });
        let lower: Cow<'static, str> = if unchanged {
            Cow::Borrowed(w)
        } else {
            Cow::Owned(w.to_lowercase())
        };
        if let Some(f) = fold(&lower) {
            *map.entry(Cow::Owned(f)).or_insert(0) |= flag;
        }
        *map.entry(lower).or_insert(0) |= flag;
    };
    for w in DATA_GIVEN.lines() {
        add(w, GIVEN);
    }
    for w in DATA_SURNAMES.lines() {
        add(w, SURNAME);
    }
    for w in DATA_AMBIGUOUS.lines() {
        add(w, AMBIG);
    }
    for (list, flag) in [
        (TITLES, TITLE),
        (CUES_STRONG, CUE_STRONG),
        (CUES_WEAK, CUE_WEAK),
        (CUES_COLON, CUE_COLON),
        (COMPANY_WORDS, COMPANY),
        (PARTICLES, PARTICLE),
        (PLACE_SUFFIXES, PLACE_SUFFIX),
        (PLACE_PREFIXES, PLACE_PREFIX),
        (PLACES, AMBIG),
    ] {
        for w in list.split_whitespace() {
            add(w, flag);
        }
    }

    for w in STOP_WORDS.split_whitespace().chain(DATA_COMMON.lines()) {
        add(w, STOP);
    }
    // A stop word that is also a name ("May", "Will", "Grant") is ambiguous, not a stop.
    for f in map.values_mut() {
        if *f & STOP != 0 && *f & (GIVEN | SURNAME) != 0 {
            *f = (*f & !STOP) | AMBIG | COMMON;
        }
    }
    map
}

/// Whether the dictionary has been built in this process.
pub(crate) fn dictionary_built() -> bool {
    LazyLock::get(&DICT).is_some()
}

/// All role flags of one word (exact, case-insensitive match).
fn lookup(word: &str) -> u16 {
    let flags = |key: &str| DICT.get(key).copied().unwrap_or(0);
    if !word.is_ascii() {
        return flags(&word.to_lowercase());
    }
    // Dictionary words are stored lower-cased; most tokens are short, lowered on the stack.
    let mut buf = [0u8; 32];
    match buf.get_mut(..word.len()) {
        Some(short) => {
            short.copy_from_slice(word.as_bytes());
            short.make_ascii_lowercase();
            std::str::from_utf8(short).map_or(0, flags)
        }
        None => flags(&word.to_ascii_lowercase()),
    }
}

/// Whether `word` is a line of `blob`, whose lines are sorted in byte order.
fn in_sorted_lines(blob: &str, word: &str) -> bool {
    let bytes = blob.as_bytes();
    let key = word.as_bytes();
    // `lo` is always the start of a line; `hi` the start of a line or the end.
    let (mut lo, mut hi) = (0, bytes.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let start = bytes
            .get(lo..mid)
            .and_then(|b| b.iter().rposition(|&c| c == b'\n'))
            .map_or(lo, |p| lo + p + 1);
        let rest = bytes.get(start..).unwrap_or_default();
        let len = rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
        let line = rest.get(..len).unwrap_or_default();
        match line.cmp(key) {
            std::cmp::Ordering::Equal => return true,
            std::cmp::Ordering::Less => lo = start + len + 1,
            std::cmp::Ordering::Greater => hi = start,
        }
    }
    false
}

/// The wide-list flags of a word the dictionary does not know (`WIDE_GIVEN`, `WIDE_SURNAME`).
fn wide_flags(word: &str) -> u16 {
    let lower = word.to_lowercase();
    let key = fold(&lower).unwrap_or(lower);
    let mut flags = 0;
    if in_sorted_lines(DATA_GIVEN_WIDE, &key) {
        flags |= WIDE_GIVEN;
    }
    if in_sorted_lines(DATA_SURNAMES_WIDE, &key) {
        flags |= WIDE_SURNAME;
    }
    flags
}

/// Flags of a token, trying its parts for hyphenated and apostrophe forms.
fn token_flags(word: &str) -> u16 {
    let f = lookup(word);
    if f != 0 {
        return f;
    }
    if word.contains('-') {
        let mut acc = 0;
        for part in word.split('-') {
            let pf = lookup(part);
            if pf & (GIVEN | SURNAME) == 0 && !(pf & PARTICLE != 0 || part.len() <= 3) {
                return acc & (GIVEN | SURNAME);
            }
            acc |= pf & (GIVEN | SURNAME);
        }
        return acc & (GIVEN | SURNAME);
    }
    if word.contains('\'') || word.contains('’') {
        let joined: String = word.chars().filter(|c| *c != '\'' && *c != '’').collect();
        let f = lookup(&joined);
        if f != 0 {
            return f & (GIVEN | SURNAME);
        }
        // O'Brien, D'Angelo: the part after the apostrophe.
        if let Some(rest) = word.rsplit(['\'', '’']).next() {
            return lookup(rest) & SURNAME;
        }
    }
    0
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
enum Shape {
    /// "Maria", "McDonald", "O'Brien".
    Capitalized,
    /// "MARIA".
    AllCaps,
    /// "J" or "J." — an initial.
    Initial,
    /// "van", "de".
    #[default]
    Lower,
}

#[derive(Clone, Copy, Default)]
struct Token {
    start: usize,
    end: usize,
    shape: Shape,
    flags: u16,
    possessive: bool,
}

const MAX_TOKEN: usize = 48;
const MAX_RUN: usize = 8;

/// The tokens of one run, on the stack (runs are short; no allocation per run).
#[derive(Default)]
struct Run {
    toks: [Token; MAX_RUN],
    len: usize,
}

impl Run {
    fn push(&mut self, t: Token) {
        if let Some(slot) = self.toks.get_mut(self.len) {
            *slot = t;
            self.len += 1;
        }
    }
    fn pop(&mut self) {
        self.len = self.len.saturating_sub(1);
    }
}

impl std::ops::Deref for Run {
    type Target = [Token];
    fn deref(&self) -> &[Token] {
        &self.toks[..self.len]
    }
}

fn char_at(text: &str, i: usize) -> Option<char> {
    text.get(i..).and_then(|s| s.chars().next())
}

/// Characters of scripts written without spaces between words (CJK
/// ideographs and punctuation, kana, Hangul, fullwidth forms, Thai, Lao,
/// Khmer, Myanmar): a change between such a script and a spaced one is a word
/// boundary ("请联系Maria", "Silvérioさん").
#[inline]
pub(crate) fn no_space_script(c: char) -> bool {
    matches!(u32::from(c),
        0x0E00..=0x0EFF // Thai, Lao
        | 0x1000..=0x109F // Myanmar
        | 0x1780..=0x17FF // Khmer
        | 0x1100..=0x11FF // Hangul Jamo
        | 0x2E80..=0x9FFF // CJK radicals, punctuation, kana, ideographs
        | 0xA960..=0xA97F
        | 0xAC00..=0xD7FF // Hangul syllables
        | 0xF900..=0xFAFF
        | 0xFF00..=0xFFEF // fullwidth and halfwidth forms
        | 0x20000..=0x3FFFF)
}

/// Combining marks and joiners that belong inside a word of Indic, Hebrew,
/// Arabic or accented text (a virama is not alphabetic, yet "स्नेहा" is one word).
#[inline]
pub(crate) fn is_mark(c: char) -> bool {
    match u32::from(c) {
        // Indic blocks: letters are alphabetic, viramas and nuktas are not.
        0x0900..=0x0DFF => !c.is_alphabetic() && !c.is_numeric() && !matches!(c, '।' | '॥'),
        0x0300..=0x036F
        | 0x0483..=0x0489
        | 0x0591..=0x05C7
        | 0x0610..=0x061A
        | 0x064B..=0x065F
        | 0x0670
        | 0x06D6..=0x06ED
        | 0x0E31..=0x0E4E
        | 0x200C..=0x200D => true,
        _ => false,
    }
}

/// A letter of a word, or a mark inside one.
#[inline]
pub(crate) fn is_word_char(c: char) -> bool {
    c.is_alphabetic() || is_mark(c)
}

/// Reads one word token at `i` (letters with inner apostrophes/hyphens).
fn read_token(text: &str, i: usize) -> Option<Token> {
    read_token_with(text, i, true)
}

/// Reads a token; `with_flags` false skips the dictionary lookup (shape only).
fn read_token_with(text: &str, i: usize, with_flags: bool) -> Option<Token> {
    let mut j = i;
    let mut upper = 0usize;
    let mut lower = 0usize;
    let mut letters = 0usize;
    let first = char_at(text, i)?;
    if !first.is_alphabetic() {
        return None;
    }
    let mut possessive = false;
    let bytes = text.as_bytes();
    let first_no_space = !first.is_ascii() && no_space_script(first);
    while let Some(&b) = bytes.get(j) {
        // ASCII fast path; decode only non-ASCII characters.
        let c = if b < 0x80 {
            char::from(b)
        } else {
            match char_at(text, j) {
                Some(c) => c,
                None => break,
            }
        };
        if b >= 0x80 && no_space_script(c) != first_no_space {
            break;
        }
        if b >= 0x80 && j > i && is_mark(c) {
            j += c.len_utf8();
        } else if c.is_alphabetic() {
            letters += 1;
            if c.is_uppercase() {
                upper += 1;
            } else if c.is_lowercase() {
                lower += 1;
            }
            j += c.len_utf8();
        } else if c == '\'' || c == '’' || c == '-' {
            let next = char_at(text, j + c.len_utf8());
            match next {
                Some(n) if n.is_alphabetic() => {
                    if c != '-' && (n == 's' || n == 'S') {
                        let after = char_at(text, j + c.len_utf8() + 1);
                        if !after.is_some_and(char::is_alphabetic) {
                            possessive = true;
                            break;
                        }
                    }
                    j += c.len_utf8();
                }
                _ => break,
            }
        } else {
            break;
        }
        if j - i > MAX_TOKEN {
            return None;
        }
    }
    let shape = if !first.is_uppercase() {
        Shape::Lower
    } else if letters == 1 {
        Shape::Initial
    } else if lower == 0 && upper >= 2 {
        Shape::AllCaps
    } else {
        Shape::Capitalized
    };
    let word = text.get(i..j)?;
    Some(Token {
        start: i,
        end: j,
        shape,
        flags: if with_flags { token_flags(word) } else { 0 },
        possessive,
    })
}

/// What the surrounding JSON key says about names in a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NameHint {
    /// No opinion: apply the rules.
    None,
    /// The key names a non-person (company, city, status…): no NAME findings.
    NotPerson,
}

/// A name found in text.
pub(crate) struct NameMatch {
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// Result of looking at a capitalized run: maybe a match, and where to resume.
pub(crate) struct Scanned {
    pub(crate) found: Option<NameMatch>,
    pub(crate) next: usize,
}

impl Scanned {
    /// A match over `start..end`, resuming after it.
    pub(crate) fn hit(start: usize, end: usize) -> Scanned {
        Scanned {
            found: Some(NameMatch { start, end }),
            next: end,
        }
    }
}

/// Cheap pre-test for [`labelled_value`]: a letter before the `:`/`=`, and
/// after it a letter or quote (`=`) or a space and a letter (`:`).
#[inline]
pub(crate) fn label_may_start(bytes: &[u8], at: usize) -> bool {
    let before = at
        .checked_sub(1)
        .and_then(|p| bytes.get(p))
        .copied()
        .unwrap_or(0);
    if !(before.is_ascii_alphabetic() || before >= 0x80) {
        return false;
    }
    match bytes[at] {
        b'=' => bytes
            .get(at + 1)
            .is_some_and(|&b| b.is_ascii_alphabetic() || b >= 0x80 || b == b'"' || b == b'\''),
        _ => {
            bytes.get(at + 1) == Some(&b' ')
                && bytes
                    .get(at + 2)
                    .is_some_and(|&b| b.is_ascii_alphabetic() || b >= 0x80)
        }
    }
}

/// Whether the word at `at` is a capitalized word of a name that an unquoted `key=`
/// value continues with: an upper-case letter, and no `=` before the word ends.
fn continues_name(bytes: &[u8], at: usize) -> bool {
    if !bytes.get(at).is_some_and(u8::is_ascii_uppercase) {
        return false;
    }
    let end = bytes[at..]
        .iter()
        .position(|&b| matches!(b, b' ' | b'&' | b';' | b',' | b'\n' | b'\t' | b'"' | b'\''))
        .map_or(bytes.len(), |p| at + p);
    !bytes[at..end].contains(&b'=')
}

/// The value of a person label at a `:` or `=` at `at` — `name=Maria+Gonzalez`,
/// `owner="Ana Souza"`, `contact: maria gonzalez`, `Visitor: Stéphane Cornet —` — as a
/// byte span, when it is plausibly a person. Capitalized values after `:` are also left to the run
/// rules; this catches what they cannot see (lowercase names, `key=value`).
pub(crate) fn labelled_value(text: &str, at: usize) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let assign = bytes[at] == b'=';
    // The label: letters, digits, `_`, `-`, `.` and (before `:`) single spaces, within one line.
    let mut ks = at;
    while ks > 0 && at - ks < 32 {
        let b = bytes[ks - 1];
        let label_byte = b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b >= 0x80;
        let inner_space = b == b' ' && !assign && ks >= 2 && bytes[ks - 2].is_ascii_alphabetic();
        if !(label_byte || inner_space) {
            break;
        }
        ks -= 1;
    }
    while ks < at && !text.is_char_boundary(ks) {
        ks += 1;
    }
    let key = text.get(ks..at)?.trim_start();
    if key.is_empty() || !key.as_bytes()[0].is_ascii_alphabetic() && key.is_ascii() {
        return None;
    }
    // Cheap rejection first: the last word must be a known key word.
    if !crate::json::last_word_may_be_person(key.as_bytes()) || !crate::json::is_person_key(key) {
        return None;
    }
    let mut vs = at + 1;
    let quote = match bytes.get(vs) {
        Some(&q @ (b'"' | b'\'')) if assign => {
            vs += 1;
            Some(q)
        }
        _ => None,
    };
    if !assign {
        while bytes.get(vs) == Some(&b' ') && vs < at + 3 {
            vs += 1;
        }
        match char_at(text, vs) {
            Some(c) if c.is_lowercase() => {}
            // "Next of kin: Regina Nijs (mother)", "Visitor: Stéphane Cornet — host: …":
            // the capitalized words right after a person label.
            Some(c) if c.is_uppercase() => return capitalized_labelled_value(text, vs),
            _ => return None,
        }
    }
    let mut ve = vs;
    let mut words = 1;
    while ve < bytes.len() && ve - vs < 64 {
        let b = bytes[ve];
        let stop = match quote {
            Some(q) => b == q || b == b'\n',
            None if assign => matches!(
                b,
                b' ' | b'&'
                    | b';'
                    | b','
                    | b'\n'
                    | b'\t'
                    | b'"'
                    | b'\''
                    | b')'
                    | b']'
                    | b'}'
                    | b'|'
                    | b'<'
                    | b'>'
            ),
            None => matches!(
                b,
                b'&' | b';'
                    | b','
                    | b'\n'
                    | b'\t'
                    | b'"'
                    | b'('
                    | b')'
                    | b'|'
                    | b'<'
                    | b'>'
                    | b'.'
                    | b'!'
                    | b'?'
            ),
        };
        // `owner=Amelia Hartley;status=open`: an unquoted value goes on across one space
        // when a capitalized word follows that is not the next `key=`.
        let stop =
            stop && !(quote.is_none() && assign && b == b' ' && continues_name(bytes, ve + 1));
        if stop {
            break;
        }
        if b == b' ' || b == b'+' {
            words += 1;
            if words > 4 {
                return None;
            }
        }
        ve += 1;
    }
    while ve > vs && !text.is_char_boundary(ve) {
        ve -= 1;
    }
    let raw = text.get(vs..ve)?;
    let value = raw.trim_end();
    if value.is_empty() {
        return None;
    }
    let plain: std::borrow::Cow<'_, str> = if value.contains('+') {
        value.replace('+', " ").into()
    } else {
        value.into()
    };
    if !plausible_person_value(&plain) {
        return None;
    }
    // A lone lowercase word is a login ("user=jdoe") unless the dictionary knows it.
    if !plain.contains(' ')
        && plain.starts_with(|c: char| c.is_lowercase())
        && lookup(&plain) & (GIVEN | SURNAME) == 0
    {
        return None;
    }
    // Every word is a name or unknown, never a common word ("from: the warehouse").
    for w in plain.split([' ', '-', '\'']).filter(|w| !w.is_empty()) {
        let f = lookup(w);
        if f & (STOP | COMMON | COMPANY) != 0 && f & (GIVEN | SURNAME) == 0 || f & COMMON != 0 {
            return None;
        }
    }
    Some((vs, vs + value.len()))
}

/// The capitalized value after a person label at `vs` (`Visitor: Stéphane Cornet —`):
/// up to four words that each start with a capital (or are a name particle or an
/// initial), ending at the first other word or punctuation, when the value is
/// plausibly a person and no word is a common, company or place word.
fn capitalized_labelled_value(text: &str, vs: usize) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut end = vs;
    let mut pos = vs;
    let mut words = 0;
    while words < 4 {
        let Some(t) = read_token(text, pos) else {
            break;
        };
        if t.start != pos {
            break;
        }
        let particle = t.shape == Shape::Lower && t.flags & PARTICLE != 0;
        if t.shape == Shape::Lower && !particle {
            break;
        }
        if t.flags & (STOP | COMMON | COMPANY | PLACE_SUFFIX | TITLE | CUE_STRONG) != 0
            && t.flags & (GIVEN | SURNAME) == 0
            && !particle
        {
            return None;
        }
        let mut e = t.end;
        if t.shape == Shape::Initial && bytes.get(e) == Some(&b'.') {
            e += 1;
        }
        if !particle {
            end = e;
        }
        words += 1;
        if bytes.get(e) != Some(&b' ') {
            break;
        }
        pos = e + 1;
    }
    // "Patient: Shaheen, Ziad", "Absent: A B, C D": lists and "Surname, Given" are
    // for the run rules, which see the whole list.
    // (Two or more words before the comma are a whole name: "Absent: Taddeo Aquilina, …".)
    if end == vs || bytes.get(end) == Some(&b',') && !text[vs..end].contains(' ') {
        return None;
    }
    // What follows must end the value: punctuation, a line end, or a lower-case word.
    let value = text.get(vs..end)?;
    if !value.contains(' ') && lookup(value) & (GIVEN | SURNAME) == 0 {
        // One unknown capitalized word is as likely a place or a product.
        return None;
    }
    if !plausible_person_value(value) || legal_form_after(text, end) {
        return None;
    }
    Some((vs, end))
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Cue {
    None,
    Weak,
    Strong,
}

/// The cue word right before `start` ("Dear", "cc:", "with"), if any.
fn cue_before(text: &str, start: usize) -> Cue {
    let bytes = text.as_bytes();
    // "Approved — Egemen Ayverdi": a dash before a name signs it.
    if let Some(t) = text.get(..start)
        && (t.ends_with(" — ") || t.ends_with(" – ") || t.ends_with("\n— ") || t == "— ")
    {
        return Cue::Weak;
    }
    let mut e = start;
    let mut colon = false;
    let mut comma = false;
    let mut steps = 0;
    while e > 0
        && steps < 6
        && matches!(
            bytes[e - 1],
            b' ' | b':' | b',' | b'\t' | b'-' | b'>' | b'"' | b'\\' | b'\n' | b'\r'
        )
    {
        if bytes[e - 1] == b':' {
            colon = true;
        }
        if bytes[e - 1] == b',' {
            comma = true;
        }
        e -= 1;
        steps += 1;
    }
    // `client::Worker` is a code path, not a label.
    if e == start || text[e..start].contains("::") {
        return if e == start
            && start > 0
            && bytes[start - 1] >= 0x80
            && native_cue_before(text, start)
        {
            Cue::Strong
        } else {
            Cue::None
        };
    }
    let mut s = e;
    while s > 0 && (bytes[s - 1].is_ascii_alphabetic() || bytes[s - 1] >= 0x80) && e - s < 24 {
        s -= 1;
    }
    while s < e && !text.is_char_boundary(s) {
        s += 1;
    }
    // Part of an identifier (`http_client`, `Client2`): not a cue word.
    if s == e || (s > 0 && (bytes[s - 1].is_ascii_alphanumeric() || bytes[s - 1] == b'_')) {
        return Cue::None;
    }
    let Some(word) = text.get(s..e) else {
        return Cue::None;
    };
    if !word.is_ascii() && native_cue_before(text, start) {
        return Cue::Strong;
    }
    // Introductions: "this is Maria", "my name is Maria", "I am Maria"; the sign-off "Best, Maria".
    let lower_is = |w: &str, x: &str| w.eq_ignore_ascii_case(x);
    let prev_word = || {
        let t = text[..s].trim_end_matches(' ');
        let ps = t.bytes().rev().take_while(u8::is_ascii_alphabetic).count();
        &t[t.len() - ps..]
    };
    if (lower_is(word, "is")
        && matches!(prev_word().to_ascii_lowercase().as_str(), "this" | "name"))
        || (lower_is(word, "am") && lower_is(prev_word(), "i"))
        || (lower_is(word, "best") && comma)
    {
        return Cue::Strong;
    }
    // "morning Apoloniusz!", "Good evening Sadia": a greeting, not "Monday Morning Sync".
    if ["morning", "afternoon", "evening"].contains(&word)
        || ["Morning", "Afternoon", "Evening"].contains(&word) && lower_is(prev_word(), "good")
    {
        return Cue::Strong;
    }
    let line_break = text[e..start].contains('\n');
    // Two-word sign-offs ("Best wishes", "Saludos cordiales", "Cordiali saluti") end a
    // line; the signature's first line is a name.
    if line_break
        && [
            "wishes",
            "cordiales",
            "cordiali",
            "cordialmente",
            "groet",
            "respect",
        ]
        .iter()
        .any(|w| lower_is(word, w))
    {
        return Cue::Strong;
    }
    let f = lookup(word);
    // "Attendees\nXinfei Guan\n…": a list label on a line of its own.
    if line_break && f & CUE_COLON != 0 && f & CUE_WEAK == 0 {
        return Cue::Strong;
    }
    // "assigned to Dieke", "spoke with Eyvindur": after these verbs the preposition's
    // object is a person. ("… by" is not: "opened by Zapier", "signed by DocuSign".)
    if f & CUE_WEAK != 0 && (lower_is(word, "to") || lower_is(word, "with")) {
        let pv = prev_word();
        if ASSIGNING_VERBS.iter().any(|v| lower_is(pv, v)) {
            return Cue::Strong;
        }
    }
    if f & CUE_STRONG != 0 || (colon && f & (CUE_COLON | CUE_WEAK) != 0) {
        Cue::Strong
    } else if f & CUE_WEAK != 0 {
        Cue::Weak
    } else {
        Cue::None
    }
}

/// Verbs whose "to"/"with" object is a person ("assigned to", "spoke with").
const ASSIGNING_VERBS: &[&str] = &[
    "assigned",
    "reassigned",
    "delegated",
    "handed",
    "spoke",
    "talked",
    "speaking",
    "talking",
];

/// A title or greeting that introduces a name ("Dr.", "Dear"), unless it is itself a strong given name.
#[inline]
fn is_lead(f: u16) -> bool {
    f & TITLE != 0 || (f & CUE_STRONG != 0 && !(f & GIVEN != 0 && f & AMBIG == 0))
}

#[inline]
fn is_name_flag(f: u16) -> bool {
    f & (GIVEN | SURNAME) != 0
}

/// Examines the run of capitalized words starting at `start`.
pub(crate) fn scan_at(text: &str, start: usize) -> Scanned {
    scan_at_cued(text, start, Cue::None)
}

/// A run that continues a list of names ("Ana Souza, Costică Gheorghiu and …"):
/// the list is the cue, as a weak one (all-plain words of at most three, or one known name).
pub(crate) fn scan_listed(text: &str, start: usize) -> Scanned {
    scan_at_cued(text, start, Cue::Weak)
}

/// A run right after an `@` that is no e-mail ("@Darren", "cc @Jacques"): a mention.
pub(crate) fn scan_mention(text: &str, start: usize) -> Scanned {
    scan_at_cued(text, start, Cue::Strong)
}

fn scan_at_cued(text: &str, start: usize, forced: Cue) -> Scanned {
    let bytes = text.as_bytes();
    let mut tokens = Run::default();
    let mut pos = start;
    let mut company = false;
    let mut place = false;
    let mut title = false;
    let mut next = start + char_at(text, start).map_or(1, char::len_utf8);
    // Shape first; the dictionary lookup only once the token can matter.
    while let Some(mut tok) = read_token_with(text, pos, false) {
        let word = text.get(tok.start..tok.end).unwrap_or("");
        let mut looked_up = false;
        // Glued to an identifier or address: "maria.gonzalez@", "Maria_2".
        if let Some(&b) = bytes.get(tok.end) {
            let after = bytes.get(tok.end + 1).copied().unwrap_or(b' ');
            let mut glued = b == b'@' || b == b'_' || b.is_ascii_digit();
            if !glued
                && matches!(b, b'.' | b'+' | b'%' | b'=')
                && after.is_ascii_alphanumeric()
                && tok.shape != Shape::Initial
            {
                tok.flags = token_flags(word);
                looked_up = true;
                glued = tok.flags & TITLE == 0;
            }
            if glued {
                if tokens.is_empty() {
                    return Scanned {
                        found: None,
                        next: next.max(tok.end),
                    };
                }
                break; // "Maria Gonzalez maria@…": the address ends the run
            }
        }
        // A lone all-caps word ("OPEN", "CET") is never a name: skip without a lookup.
        if tokens.is_empty() && tok.shape == Shape::AllCaps {
            // "BOATENG Kipchoge", "ĐỖ Manh": a surname in capitals may lead a name.
            let caps_follows = bytes.get(tok.end) == Some(&b' ')
                && char_at(text, tok.end + 1).is_some_and(char::is_uppercase);
            if !caps_follows {
                return Scanned {
                    found: None,
                    next: next.max(tok.end),
                };
            }
        }
        if !looked_up {
            tok.flags = token_flags(word);
        }
        let f = tok.flags;
        if tokens.is_empty()
            && f & PLACE_PREFIX != 0
            && (tok.end - tok.start > 3 || f & (GIVEN | SURNAME) == 0)
        {
            place = true;
        }
        let next_capitalized = bytes.get(tok.end) == Some(&b' ')
            && char_at(text, tok.end + 1).is_some_and(char::is_uppercase);
        if tokens.is_empty()
            && ((tok.shape == Shape::Capitalized && next_capitalized && is_street_word(word))
                || street_before(text, tok.start))
        {
            company = true;
            next = next.max(tok.end);
            break;
        }
        // Only a lone word: "…, 1044 Helena Varga" may still be a person.
        if tokens.is_empty()
            && !(bytes.get(tok.end) == Some(&b' ')
                && char_at(text, tok.end + 1).is_some_and(char::is_uppercase))
            && city_after_postcode(text, tok.start)
        {
            place = true;
            next = next.max(tok.end);
            break;
        }
        if tok.shape != Shape::Lower && is_street_compound(word) {
            place = true;
            next = next.max(tok.end);
            break;
        }
        if tokens.is_empty()
            && may_be_firm(bytes, tok.end)
            && let Some(firm_end) = firm_at(text, tok.start)
        {
            company = true;
            next = next.max(firm_end);
            break;
        }
        // "S.p.A.", "B.V.", "K.K.": a dotted abbreviation is a legal form, not an initial.
        if tok.shape == Shape::Initial
            && bytes.get(tok.end) == Some(&b'.')
            && bytes.get(tok.end + 1).is_some_and(u8::is_ascii_alphabetic)
        {
            company = true;
            next = next.max(tok.end);
            break;
        }
        // A street word does not start a name ("Straße 12", "Calle Mayor").
        if tokens.is_empty() && f & PLACE_SUFFIX != 0 && f & (GIVEN | SURNAME) == 0 {
            place = true;
        }
        if f & COMPANY != 0 && tok.shape != Shape::Lower {
            company = true;
            next = next.max(tok.end);
            break;
        }
        if f & PLACE_SUFFIX != 0 && !tokens.is_empty() && tok.shape != Shape::Lower {
            // "Eunji Park" is a person, "Hyde Park" a place.
            // "Ms. Park" too: after a title the word is a surname.
            let after_given = tokens.last().is_some_and(|t| {
                (t.flags & GIVEN != 0 && t.flags & AMBIG == 0) || is_lead(t.flags)
            });
            let word = text.get(tok.start..tok.end).unwrap_or("");
            let surname_like = SURNAME_PLACE_WORDS
                .split_whitespace()
                .any(|w| w.eq_ignore_ascii_case(word));
            if !(surname_like && after_given) {
                place = true;
                break;
            }
        }
        match tok.shape {
            Shape::Lower if f & PARTICLE == 0 || tokens.is_empty() => break,
            Shape::Lower => {}
            _ if is_lead(f) => {
                if !tokens.iter().all(|t| is_lead(t.flags)) {
                    break; // "Met Dr. Quispe": the title starts a new run
                }
                title |= f & TITLE != 0;
            }
            // "Tess I. Kleinhesling": an initial with its dot is never the pronoun "I".
            _ if f & STOP != 0
                && !is_name_flag(f)
                && !(tok.shape == Shape::Initial && bytes.get(tok.end) == Some(&b'.')) =>
            {
                break;
            }
            _ => {}
        }
        let possessive = tok.possessive;
        let end = tok.end;
        next = next.max(end);
        let is_initial_or_title = tok.shape == Shape::Initial || f & TITLE != 0;
        tokens.push(tok);
        if possessive || tokens.len() >= 7 {
            break;
        }
        // Separator to the next token: one space, or ". " after an initial/title.
        let mut j = end;
        if is_initial_or_title && bytes.get(j) == Some(&b'.') {
            j += 1;
        }
        if bytes.get(j) == Some(&b' ') {
            j += 1;
        } else if j == end {
            break;
        }
        // "Smith & Sons", "Johnson & Johnson", "AT&T".
        if bytes.get(j) == Some(&b'&') || bytes.get(end) == Some(&b'&') {
            company = true;
            break;
        }
        match char_at(text, j) {
            Some(c) if c.is_alphabetic() => pos = j,
            _ => break,
        }
    }
    // Trailing lowercase particles belong to nothing.
    while tokens.last().is_some_and(|t| t.shape == Shape::Lower) {
        tokens.pop();
    }
    // Company suffix after a comma: "Miller, Inc." (a suffix after a space was seen in the loop).
    if let Some(last) = tokens.last()
        && let Some(rest) = text.get(last.end..).and_then(|r| r.strip_prefix(','))
    {
        let rest = rest.trim_start_matches(' ');
        if let Some(tok) = read_token(rest, 0)
            && tok.flags & COMPANY != 0
            && tok.shape != Shape::Lower
        {
            company = true;
        }
    }
    if company || place {
        // Skip the rest of the company or place name ("& Spencer", "Clara").
        next = skip_capitalized(text, next);
    }
    if company || place || tokens.is_empty() {
        return Scanned { found: None, next };
    }
    // "Dear guzi broe,", "Hi bilal!": a greeting, then lower-case words up to the punctuation.
    if let Some(last) = tokens.last()
        && tokens
            .iter()
            .all(|t| t.flags & CUE_STRONG != 0 && is_lead(t.flags))
        && let Some((s, e)) = lower_name_after(text, last.end)
    {
        return Scanned::hit(s, e);
    }
    // "Yasushi Onishiさん", "Antonelo Flozillo님": an honorific makes the run a name.
    if let (Some(first), Some(last)) = (tokens.first(), tokens.last())
        && !company
        && !place
        && starts_with_honorific(&text[last.end..])
        && tokens.iter().all(|t| t.flags & (STOP | COMPANY) == 0)
    {
        let start = extend_particles(text, first.start);
        return Scanned {
            found: Some(NameMatch {
                start,
                end: last.end,
            }),
            next,
        };
    }
    if let Some(m) = surname_comma_given(text, &tokens) {
        let next = next.max(m.end);
        return Scanned {
            found: Some(m),
            next,
        };
    }
    // "Contact Helena Varga", "Invite Maria Lopez": a sentence-initial cue or common word
    // that is no name at all is not part of the name, even when the whole run would pass.
    // ("Per Hesselberg", "Lane Kent": a short first word may be the given name of a lone
    // word after it.)
    let lead_is_word = tokens.len() > 1
        && (tokens.len() > 2 || tokens[0].end - tokens[0].start >= 5)
        && !title
        && tokens[0].flags & (CUE_WEAK | CUE_STRONG | STOP) != 0
        && tokens[0].flags & (GIVEN | SURNAME | AMBIG | TITLE) == 0;
    let mut found = if lead_is_word {
        let f = tokens[0].flags;
        let cue = if f & CUE_STRONG != 0 {
            Cue::Strong
        } else if f & CUE_WEAK != 0 {
            Cue::Weak
        } else {
            Cue::None
        };
        decide(text, &tokens[1..], false, cue).or_else(|| decide(text, &tokens, title, forced))
    } else {
        decide(text, &tokens, title, forced)
    };
    // "Call Ngozi Okafor", "Will Maria come": retry without a weak first word.
    if found.is_none()
        && tokens.len() > 1
        && !title
        && tokens[0].flags & (AMBIG | CUE_WEAK | CUE_STRONG | STOP) != 0
        && tokens[0].flags & GIVEN & !AMBIG == 0
    {
        let f = tokens[0].flags;
        let cue = if f & CUE_STRONG != 0 {
            Cue::Strong
        } else if f & CUE_WEAK != 0 {
            Cue::Weak
        } else {
            Cue::None
        };
        found = decide(text, &tokens[1..], false, cue);
    }
    // What follows the run can still make it a company, a title or a street (checked
    // only for runs that would be names: most runs are not).
    let found = found.filter(|_| {
        !tokens
            .last()
            .is_some_and(|last| closed_as_no_person(text, last.end, title))
    });
    Scanned { found, next }
}

/// Whether what follows a run ending at `end` shows it is no person: a legal form
/// ("Silverline plc", "Nordlicht A/S"), "of" and a capitalized word ("Head of
/// Procurement", "Bank of Montreal"), or a house number ("Henriks Väg 65,").
fn closed_as_no_person(text: &str, end: usize, title: bool) -> bool {
    if legal_form_after(text, end) {
        return true;
    }
    if title {
        return false;
    }
    let of_title = text.get(end..).is_some_and(|r| {
        r.strip_prefix(" of ")
            .is_some_and(|r| r.starts_with(|c: char| c.is_uppercase()))
    });
    of_title || house_number_after(text.as_bytes(), end)
}

/// Words before a street name ("Via Giuseppe Parini", "ul. Fryderyka Chopina", "Rue Victor Hugo").
const STREET_WORDS: &[&str] = &[
    "kolonie",
    "via",
    "viale",
    "vicolo",
    "corso",
    "piazza",
    "piazzale",
    "largo",
    "strada",
    "rue",
    "avenue",
    "boulevard",
    "bd",
    "calle",
    "carrer",
    "avenida",
    "avda",
    "paseo",
    "camino",
    "carretera",
    "ronda",
    "rambla",
    "plaza",
    "rua",
    "travessa",
    "praça",
    "praca",
    "alameda",
    "estrada",
    "ul",
    "ulica",
    "al",
    "aleja",
    "plac",
    "os",
    "osiedle",
    "utca",
    "út",
    "tér",
    "körút",
    "calea",
    "strada",
    "bulevardul",
    "soseaua",
    "aleea",
    "odos",
    "οδός",
    "leoforos",
    "sokak",
    "caddesi",
    "jalan",
    "jl",
    "ulitsa",
    "prospekt",
    "venelle",
    "prom",
    "promenade",
    "chemin",
    "quai",
    "cours",
    "impasse",
    "ruelle",
    "sentier",
    "allée",
    "chaussée",
];

/// Whether the word at `start` follows a postal code at the start of an address line
/// ("…, 96668-502 Helena.", "\n1044 Enköping"): that is the city, however much it looks
/// like a given name.
fn city_after_postcode(text: &str, start: usize) -> bool {
    let Some(before) = text.get(..start).and_then(|b| b.strip_suffix(' ')) else {
        return false;
    };
    let code_len = before
        .bytes()
        .rev()
        .take_while(|b| b.is_ascii_digit() || *b == b'-')
        .count();
    let code = &before[before.len() - code_len..];
    let digits = code.bytes().filter(u8::is_ascii_digit).count();
    if !(4..=9).contains(&digits) || !code.starts_with(|c: char| c.is_ascii_digit()) {
        return false;
    }
    let head = &before[..before.len() - code_len];
    head.is_empty() || head.ends_with('\n') || head.ends_with(", ")
}

/// Endings of one-word street names ("Kuyperstraat", "Aspuddsvägen", "Hauptstraße").
const STREET_ENDINGS: &[&str] = &[
    "straße", "strasse", "straat", "laan", "vägen", "gatan", "gränd", "gata", "vej", "gade",
    "veien", "gracht", "plein", "kade", "singel", "allee", "gasse", "platz", "steeg", "torget",
];

/// Last parts of hyphenated street names ("Ernst-Bumm-Weg", "Thomas-Müntzer-Straße").
const STREET_LAST_PARTS: &[&str] = &[
    "weg",
    "platz",
    "straße",
    "strasse",
    "str",
    "ufer",
    "brücke",
    "allee",
    "gasse",
    "damm",
    "ring",
    "steig",
    "pfad",
    "markt",
    "chaussee",
    "promenade",
    "kai",
    "graben",
    "stieg",
    "hof",
];

/// Whether a token is a street name by its form: a compound ending in a street word
/// ("Kuyperstraat", "Lilla Aspuddsvägen") or hyphenated names ending in one
/// ("Caroline-Tübbecke-Ufer"). Names with these endings are rare; streets named after
/// people are common in addresses.
fn is_street_compound(word: &str) -> bool {
    // Allocation-free: this runs on every capitalized token. A capitalized token's
    // ending is lower case already; only the first letter of a hyphenated part is folded.
    if let Some((_, last)) = word.rsplit_once('-') {
        let mut chars = last.chars();
        if let Some(first) = chars.next() {
            let rest = chars.as_str();
            let matches = |p: &&str| {
                let mut pc = p.chars();
                pc.next()
                    .is_some_and(|f| first.to_lowercase().eq(std::iter::once(f)))
                    && pc.as_str() == rest
            };
            if STREET_LAST_PARTS.iter().any(matches) {
                return true;
            }
        }
    }
    STREET_ENDINGS
        .iter()
        .any(|e| word.len() >= e.len() + 3 && word.ends_with(e))
}

/// Lower-cased word sets for the per-run checks (small, and built without the dictionary).
static STREET_SET: LazyLock<HashSet<&'static [u8], crate::Fnv>> =
    LazyLock::new(|| STREET_WORDS.iter().map(|w| w.as_bytes()).collect());
static LABEL_SET: LazyLock<HashSet<&'static [u8], crate::Fnv>> = LazyLock::new(|| {
    [
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "sent",
        "re",
        "fw",
        "fwd",
        "reply-to",
        "sender",
        "recipient",
        "status",
        "type",
        "value",
        "title",
        "label",
        "active",
        "open",
        "closed",
        "pending",
        "new",
        "priority",
        "summary",
        "description",
        "created",
        "updated",
        "message-id",
        "received",
        "return-path",
        "organization",
        "location",
        "phone",
        "email",
        "mobile",
        "address",
        "company",
        "website",
        "source",
        "owner",
        "contact",
        "total",
    ]
    .iter()
    .map(|w| w.as_bytes())
    .collect()
});
static VERB_SET: LazyLock<HashSet<&'static [u8], crate::Fnv>> =
    LazyLock::new(|| PERSON_VERBS.iter().map(|w| w.as_bytes()).collect());

/// Whether `w` (any case) is in `set`, lower-casing ASCII on the stack.
fn in_set(set: &HashSet<&'static [u8], crate::Fnv>, w: &str) -> bool {
    if w.is_empty() || w.len() > 16 {
        return false;
    }
    if w.is_ascii() {
        let mut buf = [0u8; 16];
        let b = &mut buf[..w.len()];
        b.copy_from_slice(w.as_bytes());
        b.make_ascii_lowercase();
        return set.contains(&*b);
    }
    set.contains(w.to_lowercase().as_bytes())
}

/// Common English words of five letters or more that no name list holds
/// (`data/english_words.txt`): "Sensor", "Relay", "Dashboard". Kept apart from
/// the name automaton and built on first use: only words the dictionary does
/// not know, in runs without a cue, are looked up here.
static ENGLISH_SET: LazyLock<HashSet<&'static [u8], crate::Fnv>> = LazyLock::new(|| {
    DATA_ENGLISH
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::as_bytes)
        .collect()
});

/// Whether an ASCII word is a common English word (or its plural, -ed, -ing or
/// -ly form): a product or a thing ("Vega Sensor", "Orion Dashboard"), not a surname.
fn is_english_word(w: &str) -> bool {
    let n = w.len();
    if !(5..=24).contains(&n) || !w.is_ascii() {
        return false;
    }
    let mut buf = [0u8; 25];
    buf[..n].copy_from_slice(w.as_bytes());
    buf[..n].make_ascii_lowercase();
    let set = &*ENGLISH_SET;
    let has = |b: &[u8]| b.len() >= 5 && set.contains(b);
    let b = &buf[..n];
    if has(b) {
        return true;
    }
    for suffix in [&b"s"[..], b"es", b"ed", b"d", b"ly", b"ing"] {
        if let Some(stem) = b.strip_suffix(suffix)
            && has(stem)
        {
            return true;
        }
    }
    // "scheduling" → "schedule".
    if n > 3 && b.ends_with(b"ing") {
        let stem = n - 3;
        buf[stem] = b'e';
        return has(&buf[..=stem]);
    }
    false
}

fn is_street_word(w: &str) -> bool {
    in_set(&STREET_SET, w)
}

/// Whether the word before `start` (past Italian/Spanish/Portuguese particles) is a street word.
fn street_before(text: &str, start: usize) -> bool {
    let mut end = start;
    for _ in 0..3 {
        let before = &text[..end];
        let Some(t) = before.strip_suffix(' ') else {
            return false;
        };
        let t = t.strip_suffix('.').unwrap_or(t);
        let tb = t.as_bytes();
        let mut ws = t.len();
        while ws > 0
            && (tb[ws - 1].is_ascii_alphabetic() || tb[ws - 1] >= 0x80)
            && t.len() - ws <= 12
        {
            ws -= 1;
        }
        if t.len() - ws > 12 || (ws > 0 && tb[ws - 1] >= 0x80) {
            return false;
        }
        let Some(word) = t.get(ws..) else {
            return false;
        };
        if word.is_empty() {
            return false;
        }
        let abbreviated = t.len() < before.len() - 1;
        let capitalized = word.chars().next().is_some_and(char::is_uppercase);
        if (capitalized || abbreviated || ws == 0) && is_street_word(word) {
            // "via Maria" in prose is a route; a street word is capitalized or abbreviated.
            return word.chars().next().is_some_and(char::is_uppercase)
                || t.len() < before.len() - 1
                || ws == 0;
        }
        const JOINERS: &[&str] = &[
            "degli", "della", "delle", "dei", "del", "di", "de", "da", "do", "dos", "das", "la",
            "le", "des", "du",
        ];
        if !JOINERS.iter().any(|p| p.eq_ignore_ascii_case(word)) {
            return false;
        }
        end = ws;
    }
    false
}

/// Cheap pre-test for [`firm_at`]: a comma or a conjunction follows the first word.
fn may_be_firm(bytes: &[u8], end: usize) -> bool {
    match bytes.get(end) {
        Some(b',') => true,
        // Lower-cased on the stack: this runs for most capitalized words followed by a space.
        Some(b' ') => is_conjunction(&lower4(&bytes[end + 1..word_end(bytes, end + 1)])),
        _ => false,
    }
}

/// A word of at most four bytes (see [`word_end`]) lower-cased on the stack; a longer
/// slice yields its first four bytes plus one, which no conjunction matches.
fn lower4(w: &[u8]) -> LowerWord {
    let mut buf = [0u8; 5];
    let n = w.len().min(buf.len());
    buf[..n].copy_from_slice(&w[..n]);
    buf[..n].make_ascii_lowercase();
    LowerWord { buf, len: n }
}

/// A short lower-cased word on the stack (see [`lower4`]).
struct LowerWord {
    buf: [u8; 5],
    len: usize,
}

impl std::ops::Deref for LowerWord {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// "Arnold, Moore and Harrison", "Ketting & Sharpe", "Otis, Buiing & Enksink LLP": a firm
/// named after its partners — capitalized words joined by commas and a final
/// conjunction — unless every item is a given name (a list of people).
fn firm_at(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut items = 0;
    let mut all_given = true;
    let mut j = start;
    loop {
        let mut tok = read_token(text, j)?;
        // A partner's particles: "Bauer, van Buuren and Snyder".
        let mut particles = 0;
        while tok.shape == Shape::Lower && tok.flags & PARTICLE != 0 && particles < 3 && items > 0 {
            tok = read_token(text, tok.end + 1)?;
            particles += 1;
        }
        if tok.shape == Shape::Lower || tok.shape == Shape::Initial {
            return None;
        }
        // A capitalized particle opens a two-word partner: "Wuestenenk, Le Breton and …".
        let mut capital_particles = 0;
        while tok.flags & PARTICLE != 0
            && capital_particles < 2
            && bytes.get(tok.end) == Some(&b' ')
        {
            match read_token(text, tok.end + 1) {
                Some(t) if t.shape == Shape::Capitalized => {
                    tok = t;
                    capital_particles += 1;
                }
                _ => break,
            }
        }
        items += 1;
        all_given &= tok.flags & GIVEN != 0 && tok.flags & SURNAME == 0;
        let mut k = tok.end;
        if bytes.get(k) == Some(&b',') && bytes.get(k + 1) == Some(&b' ') {
            k += 2;
            if char_at(text, k).is_some_and(char::is_alphabetic) && items < 6 {
                j = k;
                continue;
            }
            return None;
        }
        if bytes.get(k) != Some(&b' ') {
            return None;
        }
        let w_end = word_end(bytes, k + 1);
        let w = lower4(&bytes[k + 1..w_end]);
        if !is_conjunction(&w) {
            return None;
        }
        // The last partner may carry a particle: "and van Maurik".
        let after = w_end + 1;
        let last = read_token(text, after).filter(|t| t.shape != Shape::Initial);
        return match last {
            Some(t) if t.shape != Shape::Lower || t.flags & PARTICLE != 0 => {
                let last_given = t.flags & GIVEN != 0 && t.flags & SURNAME == 0;
                // "Smith & Sons" is caught elsewhere; two people joined by "and" need 2+ commas to be a firm.
                // "Magbanua, Maricel and Harjit Bhatia": a last partner of two plain
                // capitalized words is a person at the end of a list, not a firm.
                let two_word_last = *w != *b"&"
                    && t.shape == Shape::Capitalized
                    && t.flags & PARTICLE == 0
                    // "… and Klein Gelkink" is a two-word surname, a partner of the firm.
                    && !(t.flags & SURNAME != 0 && t.flags & GIVEN == 0)
                    && bytes.get(t.end) == Some(&b' ')
                    && read_token(text, t.end + 1).is_some_and(|u| {
                        u.shape == Shape::Capitalized
                            && u.flags & (STOP | COMPANY | PLACE_SUFFIX | COMMON) == 0
                            && !(bytes.get(u.end) == Some(&b' ')
                                && read_token(text, u.end + 1)
                                    .is_some_and(|v| v.flags & COMPANY != 0))
                    });
                let firm =
                    (items >= 2 || *w == *b"&") && !(all_given && last_given) && !two_word_last;
                // The firm runs on over a particle to the last partner ("and van Maurik").
                let end = if t.shape == Shape::Lower {
                    read_token(text, t.end + 1).map_or(t.end, |n| n.end)
                } else {
                    t.end
                };
                firm.then_some(end)
            }
            _ => None,
        };
    }
}

/// End of the short ASCII word at `from` (at most 4 bytes are looked at: conjunctions are short).
fn word_end(bytes: &[u8], from: usize) -> usize {
    let mut e = from;
    while e < bytes.len() && e - from < 4 && (bytes[e].is_ascii_alphabetic() || bytes[e] == b'&') {
        e += 1;
    }
    e
}

/// Words that join the last two items of a list or a firm name ("Arnold, Moore and Harrison").
fn is_conjunction(w: &[u8]) -> bool {
    matches!(
        w,
        b"and" | b"&" | b"und" | b"et" | b"y" | b"e" | b"en" | b"och" | b"og" | b"i" | b"or"
    )
}

/// "Okafor, Ngozi", "de Aguiar, Tierri", "Smith, J.": a surname, a comma and a
/// given name (the order of directories, CRMs and formal lists). Not a list
/// ("Maria, Anna, Tom"), not a firm ("Arnold, Moore and Harrison") and not a
/// place ("Berlin, Germany").
fn surname_comma_given(text: &str, tokens: &[Token]) -> Option<NameMatch> {
    let bytes = text.as_bytes();
    // Cheap test first: most runs are not followed by a comma.
    let last = tokens.last()?;
    if bytes.get(last.end) != Some(&b',') {
        return None;
    }
    // One surname, maybe after capitalized particles ("Le Roux", "Dos Santos").
    let first = last;
    if !tokens[..tokens.len() - 1]
        .iter()
        .all(|t| t.shape == Shape::Lower || t.flags & PARTICLE != 0)
    {
        return None;
    }
    if first.shape != Shape::Capitalized && first.shape != Shape::AllCaps || first.possessive {
        return None;
    }
    let mut j = first.end;
    if bytes.get(j) != Some(&b',') {
        return None;
    }
    j += 1;
    let sp = if bytes.get(j) == Some(&b' ') {
        1
    } else {
        crate::phone::unicode_space_len(bytes, j)
    };
    if sp == 0 {
        return None;
    }
    j += sp;
    let second = read_token(text, j)?;
    if second.shape == Shape::Lower
        || second.shape == Shape::AllCaps && second.end - second.start > 3
    {
        return None;
    }
    let mut end = second.end;
    if second.shape == Shape::Initial && bytes.get(end) == Some(&b'.') {
        end += 1;
    }
    // A list or a firm: ", X" or " and X" follows.
    let mut k = end;
    if bytes.get(k) == Some(&b',') {
        k += 1;
        while bytes.get(k) == Some(&b' ') {
            k += 1;
        }
        if char_at(text, k).is_some_and(char::is_uppercase) {
            return None;
        }
    } else if bytes.get(k) == Some(&b' ') {
        let w_end = word_end(bytes, k + 1);
        let w = bytes[k + 1..w_end].to_ascii_lowercase();
        // "Arnold, Moore and Harrison" is a firm; "Mannerheim, Risto and approved" and
        // "Magbanua, Maricel and Harjit Bhatia" (a given name and a surname) are people.
        if is_conjunction(&w) && char_at(text, w_end + 1).is_some_and(char::is_alphabetic) {
            let next = read_token(text, w_end + 1);
            // A lower-case word that is no particle goes on with the sentence.
            let prose = next.is_some_and(|t| t.shape == Shape::Lower && t.flags & PARTICLE == 0);
            // Two capitalized words, the second no company or common word: a person.
            let person_follows = next.is_some_and(|t| {
                t.shape == Shape::Capitalized
                    && t.flags & (STOP | COMPANY) == 0
                    && bytes.get(t.end) == Some(&b' ')
                    && read_token(text, t.end + 1).is_some_and(|u| {
                        u.shape == Shape::Capitalized
                            && u.flags & (STOP | COMPANY | PLACE_SUFFIX | COMMON) == 0
                    })
            });
            if !prose && !person_follows {
                return None;
            }
        }
    }
    let (f1, f2) = (first.flags, second.flags);
    let reject = STOP | COMPANY | PLACE_SUFFIX | PLACE_PREFIX | TITLE | CUE_STRONG | COMMON;
    if (f1 | f2) & reject != 0 {
        return None;
    }
    let strong_given = f2 & GIVEN != 0 && f2 & AMBIG == 0;
    let strong_surname = f1 & SURNAME != 0 && f1 & AMBIG == 0;
    let unknown = |f: u16| f & (GIVEN | SURNAME | AMBIG) == 0;
    let cue = cue_before(text, tokens.first()?.start);
    // "Zhongli, J.", "Avan, Ç.": a surname, a comma and an initial with its period
    // (bibliographies, directories, signatures).
    let dotted_initial = second.shape == Shape::Initial
        && bytes.get(second.end) == Some(&b'.')
        && first.shape == Shape::Capitalized
        && first.end - first.start >= 3
        && f1 & AMBIG == 0;
    // "Attendees: Yamazaki, Keiko; Esfahani, Issam; Bae, Su": in a semicolon list every
    // item has the same shape.
    let semicolon_list = second.shape == Shape::Capitalized
        && f1 & AMBIG == 0
        && (text[..tokens.first()?.start].trim_end().ends_with(';')
            || text[end..].trim_start().starts_with(';'));
    let ok = dotted_initial
        || semicolon_list
        || (strong_given && f1 & AMBIG == 0)
        || (strong_surname && (second.shape == Shape::Initial || unknown(f2) || f2 & GIVEN != 0))
        || (cue == Cue::Strong && second.shape != Shape::Initial)
        || tail_evidence(text, end)
        || (cue == Cue::Weak
            && f1 & AMBIG == 0
            && f2 & AMBIG == 0
            && second.shape != Shape::Initial);
    if !ok {
        return None;
    }
    let start = extend_particles(text, tokens.first()?.start);
    Some(NameMatch { start, end })
}

/// Scripts told apart by the foreign-script rules (marks take their letter's script).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Script {
    Latin,
    Greek,
    Cyrillic,
    Armenian,
    Hebrew,
    Arabic,
    Indic,
    Georgian,
    Thai,
    Hangul,
    Kana,
    Han,
    Other,
}

pub(crate) fn script_of(c: char) -> Script {
    match u32::from(c) {
        0..=0x02AF | 0x1E00..=0x1EFF => Script::Latin,
        0x0370..=0x03FF | 0x1F00..=0x1FFF => Script::Greek,
        0x0400..=0x052F => Script::Cyrillic,
        0x0530..=0x058F => Script::Armenian,
        0x0590..=0x05FF => Script::Hebrew,
        0x0600..=0x06FF | 0x0750..=0x077F | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF => Script::Arabic,
        0x0900..=0x0DFF => Script::Indic,
        0x10A0..=0x10FF => Script::Georgian,
        0x0E00..=0x0EFF => Script::Thai,
        0x1100..=0x11FF | 0xAC00..=0xD7FF | 0x3130..=0x318F => Script::Hangul,
        0x3040..=0x30FF | 0x31F0..=0x31FF | 0xFF66..=0xFF9F => Script::Kana,
        0x3400..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3FFFF => Script::Han,
        _ => Script::Other,
    }
}

/// Whether `c` is a letter of a script the dictionary does not cover (not Latin).
#[inline]
pub(crate) fn is_foreign_letter(c: char) -> bool {
    !c.is_ascii() && c.is_alphabetic() && script_of(c) != Script::Latin
}

/// Cue words in other scripts that introduce a name ("Уважаемый", "عزيزي", "שלום", "प्रिय").
const NATIVE_CUES: &[&str] = &[
    "уважаемый",
    "уважаемая",
    "уважаемые",
    "дорогой",
    "дорогая",
    "привет",
    "здравствуйте",
    "господин",
    "госпожа",
    "г-н",
    "г-жа",
    "от",
    "для",
    "контакт",
    "имя",
    "фио",
    "шановний",
    "шановна",
    "вітаю",
    "αγαπητέ",
    "αγαπητή",
    "κύριε",
    "κυρία",
    "κ.",
    "όνομα",
    "عزيزي",
    "عزيزتي",
    "السيد",
    "السيدة",
    "الأستاذ",
    "الاستاذ",
    "الدكتور",
    "مرحبا",
    "الاسم",
    "שלום",
    "לכבוד",
    "מר",
    "גב'",
    "שם",
    "प्रिय",
    "श्री",
    "श्रीमती",
    "नमस्ते",
    "नाम",
    "안녕하세요",
    "이름",
    "성명",
];

/// Cues glued to the front of a name in scripts without spaces ("请联系王伟", "คุณสมชาย").
const GLUED_CUES: &[&str] = &[
    "请联系",
    "联系人",
    "联系",
    "尊敬的",
    "亲爱的",
    "致",
    "姓名",
    "名前",
    "氏名",
    "担当者",
    "担当",
    "宛先",
    "拝啓",
    "이름",
    "성명",
    "คุณ",
];

/// Honorifics written right after a name ("田中さん", "王先生", "김민수님", "Charestさん").
const HONORIFICS: &[&str] = &[
    "さん",
    "様",
    "さま",
    "先生",
    "女士",
    "小姐",
    "老师",
    "님",
    "씨",
    "氏",
    "くん",
    "ちゃん",
    "殿",
    "君",
];

fn starts_with_honorific(s: &str) -> bool {
    let s = s.trim_start_matches(' ');
    // Every honorific is CJK or Hangul: a cheap byte test first.
    s.as_bytes().first().is_some_and(|&b| b >= 0xE0) && HONORIFICS.iter().any(|h| s.starts_with(h))
}

/// The script of the nearest word before `start` (skipping spaces and light punctuation).
fn script_before(text: &str, start: usize) -> Option<Script> {
    let mut steps = 0;
    for c in text.get(..start)?.chars().rev() {
        if c.is_alphabetic() {
            return Some(script_of(c));
        }
        steps += 1;
        if steps > 3 || c.is_ascii_digit() || matches!(c, '\n' | '"' | '(' | '[' | '{' | '<') {
            return None;
        }
    }
    None
}

/// The script of the nearest word after `end`.
fn script_after(text: &str, end: usize) -> Option<Script> {
    let mut steps = 0;
    for c in text.get(end..)?.chars() {
        if c.is_alphabetic() {
            return Some(script_of(c));
        }
        steps += 1;
        if steps > 3 || c.is_ascii_digit() || matches!(c, '\n' | '"' | ')' | ']' | '}' | '>' | '@')
        {
            return None;
        }
    }
    None
}

/// A native cue word right before `start` (after spaces, a comma or a colon).
fn native_cue_before(text: &str, start: usize) -> bool {
    let Some(before) = text.get(..start) else {
        return false;
    };
    let trimmed = before.trim_end_matches([' ', ',', ':', '：', '，', '、', '\u{a0}']);
    if trimmed.len() == before.len() && !before.is_empty() {
        // Glued: only the cues of scripts without spaces ("请联系" + name).
        return GLUED_CUES.iter().any(|c| trimmed.ends_with(c));
    }
    let word_start = trimmed
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_word_char(*c) || matches!(c, '-' | '.' | '\''))
        .last()
        .map_or(trimmed.len(), |(i, _)| i);
    let word = &trimmed[word_start..];
    if word.is_empty() || word.len() > 40 {
        return false;
    }
    let lower = word.to_lowercase();
    NATIVE_CUES.contains(&lower.as_str()) || GLUED_CUES.iter().any(|c| lower.ends_with(c))
}

/// A name written in a script the dictionary does not cover, starting at
/// `start`: evidence is a cue (English or native), an honorific after it, a
/// glued cue before it, or a change of script around it (a Cyrillic, Arabic or
/// CJK run inside Latin text is, in business text, nearly always a name).
pub(crate) fn scan_foreign(text: &str, start: usize) -> Scanned {
    let Some(first) = char_at(text, start) else {
        return Scanned {
            found: None,
            next: start + 1,
        };
    };
    let script = script_of(first);
    let cjk = matches!(
        script,
        Script::Han | Script::Kana | Script::Hangul | Script::Thai
    );
    let same = |c: char| {
        is_mark(c)
            || (c.is_alphabetic()
                && (script_of(c) == script
                    || (cjk && matches!(script_of(c), Script::Han | Script::Kana))))
    };
    // The run: words of the same script joined by single spaces (at most 4).
    let mut end = start;
    let mut words = 0;
    let mut capitalized = 0;
    let mut pos = start;
    loop {
        let mut j = pos;
        let mut chars = 0;
        let mut upper_first = false;
        for (k, c) in text[pos..].char_indices() {
            if !same(c) {
                break;
            }
            if k == 0 {
                upper_first = c.is_uppercase();
            }
            chars += 1;
            j = pos + k + c.len_utf8();
            if chars > 24 {
                break;
            }
        }
        if j == pos {
            break;
        }
        words += 1;
        capitalized += usize::from(upper_first);
        end = j;
        if words == 4 || text.as_bytes().get(j) != Some(&b' ') {
            break;
        }
        match char_at(text, j + 1) {
            Some(c) if same(c) && !is_mark(c) => pos = j + 1,
            _ => break,
        }
    }
    let miss = Scanned {
        found: None,
        next: end.max(start + first.len_utf8()),
    };
    let Some(run) = text.get(start..end) else {
        return miss;
    };
    let cased = first.is_uppercase() || first.is_lowercase();
    if cased && !first.is_uppercase() && !native_cue_before(text, start) {
        return miss;
    }
    // An honorific or a native cue is never the name itself.
    if NATIVE_CUES.contains(&run.to_lowercase().as_str()) || starts_with_honorific(run) {
        return miss;
    }
    let found = |s: usize, e: usize| Scanned {
        found: Some(NameMatch { start: s, end: e }),
        next: end,
    };
    if cjk {
        // Inside a run without spaces: a glued cue before the name, an honorific after it.
        let idx: Vec<usize> = run.char_indices().map(|(i, _)| i).collect();
        let mut name_start = 0;
        for c in GLUED_CUES {
            if let Some(p) = run.find(c)
                && p + c.len() < run.len()
            {
                name_start = p + c.len();
                break;
            }
        }
        for (n, &i) in idx.iter().enumerate().skip(1) {
            if i > name_start && n <= 8 && starts_with_honorific(&run[i..]) {
                return found(start + name_start, start + i);
            }
        }
        if starts_with_honorific(&text[end..]) && run.chars().count() <= 8 {
            return found(start + name_start, end);
        }
        if name_start > 0 {
            let rest = &run[name_start..];
            let n = rest.chars().count();
            return if (2..=4).contains(&n) {
                found(start + name_start, end)
            } else {
                miss
            };
        }
    } else if starts_with_honorific(&text[end..]) {
        return found(start, end);
    }
    if run.chars().count() > 40 {
        return miss;
    }
    let cue = cue_before(text, start) != Cue::None || native_cue_before(text, start);
    let other = |s: Option<Script>| {
        s.is_some_and(|s| s != script && !(cjk && matches!(s, Script::Han | Script::Kana)))
    };
    // Scripts without spaces abut Latin text anyway ("电话+44…", "Marcoさん"):
    // there the run must stand between spaces, with no same-script word beside it.
    let embedded = if cjk {
        let spaced_before = start == 0 || text[..start].ends_with([' ', '\n', '(', '\t']);
        let spaced_after = text[end..].starts_with([' ', ',', '.', ';', ')']) || end == text.len();
        let (b, a) = (script_before(text, start), script_after(text, end));
        spaced_before
            && spaced_after
            && (other(b) || other(a))
            && b.is_none_or(|s| other(Some(s)))
            && a.is_none_or(|s| other(Some(s)))
    } else {
        other(script_before(text, start)) || other(script_after(text, end))
    };
    // Two or more capitalized words of a cased script ("Альбина Гляделкина").
    let cased_pair = cased && words >= 2 && capitalized == words && words <= 3;
    if cue || embedded || cased_pair {
        found(start, end)
    } else {
        miss
    }
}

/// Skips following capitalized words joined by spaces or `&` (the tail of a company or place name).
fn skip_capitalized(text: &str, mut pos: usize) -> usize {
    let bytes = text.as_bytes();
    loop {
        let mut j = pos;
        while matches!(bytes.get(j), Some(b' ' | b'&' | b',' | b'.')) && j < pos + 4 {
            j += 1;
        }
        match read_token_with(text, j, false) {
            Some(t) if j > pos && t.shape != Shape::Lower => pos = t.end,
            _ => return pos,
        }
    }
}

fn decide(text: &str, tokens: &[Token], title_seen: bool, cue: Cue) -> Option<NameMatch> {
    // Drop leading titles and greetings from the span ("Dr. Okafor" → "Okafor",
    // "Dear Oluwaseun" → "Oluwaseun"), remembering what they said.
    let first_name_tok = tokens
        .iter()
        .position(|t| t.shape == Shape::Lower || !is_lead(t.flags))?;
    let title = (title_seen && first_name_tok > 0)
        || tokens[..first_name_tok]
            .iter()
            .any(|t| t.flags & CUE_STRONG != 0);
    let body = &tokens[first_name_tok..];
    // "Unlike Steve Green, …", "Apparently Jula Dutkiewicz left …": a capitalized English
    // word that opens a sentence is that sentence's first word, not the name's.
    if let [opener, rest @ ..] = body
        && rest.iter().filter(|t| t.shape != Shape::Lower).count() >= 1
        && opener.shape == Shape::Capitalized
        && !is_name_flag(opener.flags)
        && opener.flags & TITLE == 0
        && !opener.possessive
        && opens_sentence(text, opener.start)
        && text
            .get(opener.start..opener.end)
            .is_some_and(sentence_opener)
        && rest.first().is_some_and(|t| t.shape != Shape::Lower)
    {
        return decide(text, rest, false, Cue::None);
    }
    let core_of = |t: &&Token| t.shape != Shape::Lower && t.shape != Shape::Initial;
    let mut core_buf = [Token::default(); MAX_RUN];
    let mut n_core = 0;
    for t in body.iter().filter(core_of) {
        if let Some(slot) = core_buf.get_mut(n_core) {
            *slot = *t;
            n_core += 1;
        }
    }
    let core = &core_buf[..n_core];
    let initials = body.iter().filter(|t| t.shape == Shape::Initial).count();
    if core.is_empty() || core.len() > 5 {
        return None;
    }
    let all_caps = core.iter().all(|t| t.shape == Shape::AllCaps);
    let any_caps = core.iter().any(|t| t.shape == Shape::AllCaps);
    let known = |t: &Token| is_name_flag(t.flags);
    let strong = |t: &Token| is_name_flag(t.flags) && t.flags & AMBIG == 0;
    let given = |t: &Token| t.flags & GIVEN != 0;
    let surname = |t: &Token| t.flags & SURNAME != 0;
    let unknown = |t: &Token| !is_name_flag(t.flags) && t.flags & (STOP | AMBIG) == 0;
    if any_caps && all_caps && (core.len() < 2 || !core.iter().all(known)) {
        return None;
    }
    if any_caps && !all_caps {
        // "Remzi NYFELER", "JANG He": a surname in capitals beside a capitalized name.
        let caps_ok = core.iter().all(|t| {
            t.shape != Shape::AllCaps || (t.end - t.start >= 2 && t.flags & (STOP | AMBIG) == 0)
        });
        let evidence = core
            .iter()
            .any(|t| t.shape == Shape::Capitalized && given(t) && t.flags & AMBIG == 0)
            || core
                .iter()
                .any(|t| t.shape == Shape::AllCaps && surname(t) && t.flags & AMBIG == 0)
            || cue_before(text, body.first()?.start) != Cue::None
            || cue != Cue::None;
        if !(caps_ok && evidence && core.len() <= 3) {
            return None;
        }
        let from = body.first()?;
        let to = body.iter().rev().find(|t| t.shape != Shape::Lower)?;
        return Some(NameMatch {
            start: extend_particles(text, from.start),
            end: to.end,
        });
    }
    let span = |from: &Token, to: &Token| {
        let start = extend_particles(text, from.start);
        Some(NameMatch { start, end: to.end })
    };
    let first = core.first()?;
    let last = core.last()?;
    let from = body.first()?;
    let to = body.iter().rev().find(|t| t.shape != Shape::Lower)?;
    if title {
        return span(from, to);
    }
    // "Field Sales", "Product Owner", "Scrum Master": a team or a role, not a person.
    if text
        .get(first.start..last.end)
        .is_some_and(is_role_or_department)
    {
        return None;
    }
    // "the Sales Cloud team", "in Arcata", "from Hartford to Waltham": a determiner or a
    // preposition of place before the run makes it a thing or a place.
    // A strong given name first ("the Maria Lopez account", "confidence in Maria Lopez")
    // keeps the run: a missed name leaks, a false one only hides a product or a place.
    let strong_given_first = first.flags & GIVEN != 0 && first.flags & AMBIG == 0;
    if !to.possessive
        && !strong_given_first
        && (determiner_before(text, from.start) || place_before(text, from.start))
    {
        return None;
    }
    if core.len() == 1
        && initials == 0
        && !to.possessive
        && !(first.flags & GIVEN != 0 && first.flags & AMBIG == 0)
        && place_span(text, from.start, to.end)
    {
        return None;
    }
    // What follows the run: an address in brackets or a verb people do.
    let tail = || tail_evidence(text, to.end);
    let accepted = if core.len() == 1 {
        let t = first;
        // "Le 13.04.2023, …", "De …": a lone particle is an article or a preposition.
        if t.flags & PARTICLE != 0 && !t.possessive {
            return None;
        }
        (t.possessive && known(t))
            || (initials == 0
                && t.shape == Shape::Capitalized
                && t.flags & (STOP | COMMON | COMPANY) == 0
                && (is_name_flag(t.flags) || !text.get(t.start..t.end).is_some_and(is_english_word))
                // "from Oakridge called": after a preposition the word is a place or firm;
                // "Project Apollo is out": after a capitalized word it ends a title.
                && tail()
                && cue_before(text, from.start) != Cue::Weak
                && !capitalized_word_before(text, from.start))
            || (given(t) && t.flags & AMBIG == 0 && t.shape == Shape::Capitalized && initials == 0)
            || (initials == 0 && chat_speaker(text, t))
            || (initials > 0 && (surname(t) || (unknown(t) && t.end - t.start >= 3)))
            || lazy_cue(text, from.start, t, initials, cue)
    } else {
        let strong_hit = core.iter().any(strong);
        let a = (given(first) || first.shape == Shape::Initial)
            && (surname(last) || given(last) || unknown(last))
            && (strong_hit || surname(last));
        let b = unknown(first) && strong(last) && surname(last) && core.len() <= 3;
        let c = strong(first) && surname(first) && strong(last) && given(last);
        let cue = if cue == Cue::None {
            cue_before(text, from.start)
        } else {
            cue
        };
        let all_plain = core.iter().all(|t| known(t) || unknown(t));
        let no_stop = core
            .iter()
            .all(|t| t.flags & (STOP | COMMON | COMPANY) == 0);
        // "Rodel M. Pangilinan": given, middle initial, surname.
        let middle_initial = core.len() == 2
            && initials == 1
            && body
                .iter()
                .position(|t| t.shape == Shape::Initial)
                .is_some_and(|p| p > 0)
            && no_stop;
        let possessive_pair = to.possessive && core.len() <= 3 && all_plain;
        // "Vega Sensor", "Kindle Paperwhite Reader": a word the name lists do not
        // know but an English dictionary does names a thing, unless a cue says person.
        let thing = cue != Cue::Strong
            && core.iter().any(|t| {
                !is_name_flag(t.flags)
                    && t.shape == Shape::Capitalized
                    && text.get(t.start..t.end).is_some_and(is_english_word)
            });
        !thing
            && (a
                || b
                || possessive_pair
                || (no_stop && core.len() <= 3 && tail())
                || c
                || (cue == Cue::Weak && all_plain && core.len() <= 3 && initials == 0))
            || middle_initial
            || (cue == Cue::Strong && all_plain)
            || (no_stop && !thing && wide_pair(text, core))
            || (no_stop
                && !thing
                && core.len() <= 3
                && core.iter().all(|t| t.shape == Shape::Capitalized)
                && !determiner_before(text, from.start)
                && (verb_after(text, to.end) || apposition_after(text, to.end)))
    };
    if accepted { span(from, to) } else { None }
}

/// "Tamás Kósz", "Aulis Mikkonen": two or three capitalized words, the first a given name
/// and the last a surname, where the main lists lack one of them and the wide lists
/// (official name statistics) supply it. No word may be a stop, company or ambiguous word.
fn wide_pair(text: &str, core: &[Token]) -> bool {
    if !(2..=3).contains(&core.len()) || core.iter().any(|t| t.shape != Shape::Capitalized) {
        return false;
    }
    let flags = |t: &Token| -> u16 {
        if t.flags & (GIVEN | SURNAME | STOP | AMBIG | COMMON | COMPANY) != 0 {
            return t.flags;
        }
        text.get(t.start..t.end).map_or(0, wide_flags)
    };
    let mut wide = false;
    let mut all = [0u16; 3];
    for (slot, t) in all.iter_mut().zip(core) {
        *slot = flags(t);
        if *slot & (STOP | AMBIG | COMMON | COMPANY | PLACE_PREFIX | PLACE_SUFFIX) != 0 {
            return false;
        }
        wide |= *slot & (WIDE_GIVEN | WIDE_SURNAME) != 0;
    }
    let named = |f: u16| f & (GIVEN | SURNAME | WIDE_GIVEN | WIDE_SURNAME) != 0;
    let first = all[0];
    let last = all[core.len() - 1];
    wide && first & (GIVEN | WIDE_GIVEN) != 0
        && last & (SURNAME | WIDE_SURNAME) != 0
        && all[..core.len()].iter().all(|&f| named(f))
}

/// Whether `start` opens a sentence: the text's start, or after ". ", "! ", "? ", ": ",
/// "; " or a line break (spaces between allowed).
fn opens_sentence(text: &str, start: usize) -> bool {
    let before = text.get(..start).unwrap_or_default().trim_end_matches(' ');
    before.is_empty() || before.ends_with(['.', '!', '?', ':', ';', '\n'])
}

/// Words that open an English sentence and are never a given name: prepositions,
/// conjunctions and sentence adverbs ("Unlike", "Apparently", "Meanwhile"), and any
/// English adverb in "-ly". A capitalized English noun or adjective at a sentence start
/// may still be a given name the lists lack ("Precious", "Blessing"), so it stays.
fn sentence_opener(w: &str) -> bool {
    const OPENERS: &[&str] = &[
        "unlike",
        "like",
        "after",
        "before",
        "since",
        "because",
        "although",
        "though",
        "while",
        "when",
        "whenever",
        "once",
        "unless",
        "until",
        "whether",
        "besides",
        "despite",
        "yesterday",
        "today",
        "tomorrow",
        "tonight",
        "meanwhile",
        "however",
        "afterwards",
        "afterward",
        "later",
        "earlier",
        "also",
        "then",
        "now",
        "perhaps",
        "maybe",
        "anyway",
        "still",
        "instead",
        "otherwise",
        "thus",
        "hence",
        "therefore",
        "again",
        "overall",
        "congratulations",
        "congrats",
    ];
    one_of(w, OPENERS)
        || (w.len() >= 6
            && w.get(w.len() - 2..)
                .is_some_and(|e| e.eq_ignore_ascii_case("ly"))
            && is_english_word(w))
}

/// The last ASCII word of `s` ("" when `s` ends in something else).
fn last_word(s: &str) -> &str {
    s.rsplit(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or_default()
}

/// Whether `w` is one of `list`, ignoring ASCII case (no allocation).
fn one_of(w: &str, list: &[&str]) -> bool {
    list.iter().any(|l| l.eq_ignore_ascii_case(w))
}

/// "the", "our" right before `start`: "the Sales Cloud team", "our Echo Dot order" — an
/// English determiner does not stand before a person's name. ("a" and "an" are not in
/// the list: they mean "to" in Spanish, Italian, Portuguese and German: "a Maria Rossi",
/// "an Jonas Weber".)
fn determiner_before(text: &str, start: usize) -> bool {
    const DETERMINERS: &[&str] = &[
        "the", "our", "your", "their", "its", "this", "these", "those",
    ];
    text.get(..start)
        .and_then(|t| t.strip_suffix(' '))
        .is_some_and(|before| one_of(last_word(before), DETERMINERS))
}

/// "in" right before `start` ("the pilot in Arcata"): places, not people, stand there.
/// "looping in Adil", "bring in Ana": after these verbs "in" takes a person.
fn place_before(text: &str, start: usize) -> bool {
    const TAKE_PEOPLE: &[&str] = &[
        "loop", "loops", "looping", "looped", "bring", "brings", "bringing", "brought", "pull",
        "pulls", "pulling", "pulled", "rope", "roping", "roped", "fill", "filling", "filled", "cc",
        "keep", "keeping", "kept", "call", "calling", "called", "check", "checking", "checked",
        "sign", "signed", "let", "letting", "get", "getting", "got",
    ];
    text.get(..start)
        .and_then(|t| t.strip_suffix(" in ").or_else(|| t.strip_suffix(" near ")))
        .is_some_and(|b| !one_of(last_word(b), TAKE_PEOPLE))
}

/// "from Hartford to Waltham": a one-word run between "from" and "to" + a capitalized word,
/// or after such a "from … to"; the two ends of a route or range.
fn place_span(text: &str, start: usize, end: usize) -> bool {
    let before = text.get(..start).unwrap_or_default();
    let after = text.get(end..).unwrap_or_default();
    let from_to = before.ends_with(" from ") || before.ends_with("From ");
    if from_to
        && after
            .strip_prefix(" to ")
            .is_some_and(|a| a.starts_with(|c: char| c.is_uppercase()))
    {
        return true;
    }
    let Some(b) = before.strip_suffix(" to ") else {
        return false;
    };
    // "… from Sint Maartensvlotbrug to Hurst": "from" a few capitalized words back.
    let Some(idx) = b.rfind("from ") else {
        return false;
    };
    let between = &b[idx + 5..];
    !between.is_empty()
        && between.len() <= 40
        && between
            .split(' ')
            .all(|w| w.starts_with(|c: char| c.is_uppercase()) || w.is_empty())
}

/// Verbs after a two- or three-word run that only people do in business prose, beyond
/// `PERSON_VERBS`: auxiliaries and common irregular pasts ("Curtis Collier left",
/// "Jae Jang has", "Per Aalberg took").
const PROSE_VERBS: &[&str] = &[
    "has",
    "had",
    "was",
    "is",
    "will",
    "would",
    "should",
    "can",
    "could",
    "may",
    "might",
    "must",
    "does",
    "did",
    "left",
    "took",
    "takes",
    "sent",
    "gave",
    "told",
    "made",
    "got",
    "came",
    "went",
    "spoke",
    "met",
    "ran",
    "saw",
    "knew",
    "thought",
    "found",
    "brought",
    "bought",
    "held",
    "kept",
    "led",
    "paid",
    "put",
    "sat",
    "stood",
    "won",
    "lost",
    "joins",
    "leads",
    "runs",
    "owns",
    "heads",
    "signs",
    "sends",
    "knows",
    "works",
    "lives",
    "seemed",
    "seems",
    "never",
    "still",
    "also",
    "just",
    "already",
    "schreef",
    "skrev",
    "skreiv",
    "kirjoitti",
];

/// A verb right after a run ending at `end`: one of `PROSE_VERBS`, or a regular past
/// ("checked", "rotated", "passed"): a lower-case word of five letters or more ending in
/// "-ed".
fn verb_after(text: &str, end: usize) -> bool {
    let Some(rest) = text.get(end..).and_then(|r| r.strip_prefix(' ')) else {
        return false;
    };
    let word = rest
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or_default();
    if word.is_empty() || !word.bytes().all(|b| b.is_ascii_lowercase()) {
        return false;
    }
    PROSE_VERBS.contains(&word)
        || (word.len() >= 5 && word.ends_with("ed") && !FIRM_VERBS.contains(&word))
}

/// What stands right after a two- or three-word run and only follows people: a reply
/// header's "wrote" in several languages ("Joon Shin a écrit :"), a role or a department in
/// apposition ("Hansrudolf Celio - Account Executive -", "Berkay Karaer (Finance)",
/// "Ana Souza, Head of Procurement"), or a phone number ("contact on site Nael Fafard, +34 …",
/// "bitte ruf Pal Järnefelt unter 318 …").
fn apposition_after(text: &str, end: usize) -> bool {
    let Some(rest) = text.get(end..) else {
        return false;
    };
    const WROTE: &[&str] = &[
        " a écrit",
        " ha scritto",
        " ha escrito",
        " heeft geschreven",
        " hat geschrieben",
        " escreveu",
        " skrev",
        " schreef",
        " kirjoitti",
        " napisał",
        " írta",
        " yazdı",
    ];
    if WROTE.iter().any(|w| rest.starts_with(w)) {
        return true;
    }
    let Some(after) = [
        ", ", " - ", " – ", " — ", " (", " unter ", " at ", " on ", " tel. ", ": ",
    ]
    .iter()
    .find_map(|sep| rest.strip_prefix(sep)) else {
        return false;
    };
    // A phone number: "+", "(" or a digit, then digits and separators, 7 digits at least.
    let phone_like = after.starts_with(|c: char| c == '+' || c == '(' || c.is_ascii_digit())
        && after
            .bytes()
            .take(24)
            .take_while(|b| {
                b.is_ascii_digit() || matches!(b, b'+' | b'(' | b')' | b' ' | b'-' | b'.')
            })
            .filter(u8::is_ascii_digit)
            .count()
            >= 7;
    if phone_like {
        return true;
    }
    // A role or a department, up to the next delimiter.
    let piece_end = after
        .find([',', ')', '.', '\n', ';'])
        .or_else(|| after.find(" - "))
        .or_else(|| after.find(" – "))
        .unwrap_or(after.len());
    let piece = after.get(..piece_end).unwrap_or_default().trim();
    !piece.is_empty()
        && piece.len() <= 40
        && piece.starts_with(|c: char| c.is_uppercase())
        && is_role_or_department(piece)
}

/// Pasts that organisations do as often as people ("Wells Fargo renewed", "Acme Vantor
/// shipped"): no evidence of a person.
const FIRM_VERBS: &[&str] = &[
    "renewed",
    "signed",
    "ordered",
    "purchased",
    "upgraded",
    "downgraded",
    "cancelled",
    "canceled",
    "churned",
    "shipped",
    "announced",
    "acquired",
    "merged",
    "launched",
    "released",
    "reported",
    "raised",
    "invoiced",
    "expanded",
    "partnered",
    "filed",
    "closed",
    "opened",
    "posted",
    "delivered",
    "owed",
    "billed",
    "charged",
    "refunded",
    "listed",
    "ranked",
    "hired",
    "employed",
    "rebranded",
    "relocated",
    "defaulted",
    "settled",
    "sponsored",
    "funded",
    "exported",
    "imported",
    "supplied",
    "manufactured",
    "produced",
    "licensed",
    "registered",
    "incorporated",
    "founded",
    "based",
    "headquartered",
    "owned",
    "operated",
    "contracted",
    "outsourced",
    "migrated",
    "integrated",
    "onboarded",
    "subscribed",
    "unsubscribed",
    "requested",
    "submitted",
    "received",
    "approved",
    "accepted",
    "rejected",
    "declined",
    "completed",
    "scheduled",
    "booked",
    "confirmed",
    "updated",
    "changed",
];

/// Whether a capitalized word stands right before `start`, one space away.
fn capitalized_word_before(text: &str, start: usize) -> bool {
    let Some(t) = text.get(..start).and_then(|t| t.strip_suffix(' ')) else {
        return false;
    };
    let word: String = t
        .chars()
        .rev()
        .take_while(|c| c.is_alphabetic())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    word.chars().next().is_some_and(char::is_uppercase) && lookup(&word) & CUE_STRONG == 0
}

/// Verbs that follow a person ("Vadvirág Keresztes says", "Kelemen confirmed").
const PERSON_VERBS: &[&str] = &[
    // Chat and CRM system lines: "X added Y to the group", "X has left", "X changed the topic".
    "added",
    "removed",
    "invited",
    "left",
    "changed",
    "shared",
    "uploaded",
    "posted",
    "edited",
    "escribió",
    "schrieb",
    "scrisse",
    "escreveu",
    "agrees",
    "says",
    "said",
    "asked",
    "asks",
    "wrote",
    "writes",
    "replied",
    "replies",
    "confirmed",
    "confirms",
    "called",
    "emailed",
    "mentioned",
    "agreed",
    "approved",
    "viewed",
    "joined",
    "reacted",
    "commented",
    "attended",
    "prefers",
    "thinks",
    "will",
    "wants",
    "needs",
    "pide",
    "pidió",
    "mandou",
    "pediu",
    "ha",
    "chiede",
    "sagt",
    "schreibt",
    "bittet",
    "fragt",
    "dit",
    "demande",
    "veut",
    "vraagt",
    "belde",
    "просил",
    "просила",
    "сказал",
    "сказала",
    "написал",
    "написала",
    "who",
    "whose",
];

/// Words that open a request addressed to a person ("Dagmár, could you …").
const VOCATIVE_NEXT: &[&str] = &[
    "could",
    "can",
    "would",
    "will",
    "please",
    "pls",
    "thanks",
    "thank",
    "do",
    "did",
    "are",
    "have",
    "when",
    "let",
    "any",
    "quick",
    "welcome",
    "congrats",
    "congratulations",
];

/// States after "is" that only people are in ("Ertürk is out until Monday").
const PERSON_STATES: &[&str] = &[
    "out",
    "away",
    "off",
    "sick",
    "travelling",
    "traveling",
    "unavailable",
    "bereikbaar",
    "reachable",
    "available",
    "back",
    "joining",
    "leaving",
    "responsible",
];

/// Evidence after a run ending at `end`: an email in brackets ("Ana Souza
/// <ana@x.io>", "Ana Souza (ana@x.io)") or a verb people do ("… says").
fn tail_evidence(text: &str, end: usize) -> bool {
    let rest = &text.as_bytes()[end..];
    let rest = rest
        .strip_prefix(b"'s")
        .or_else(|| rest.strip_prefix("’s".as_bytes()))
        .unwrap_or(rest);
    if let Some(r) = rest
        .strip_prefix(b" <")
        .or_else(|| rest.strip_prefix(b" ("))
        && let Some(close) = r.iter().take(90).position(|&b| b == b'>' || b == b')')
    {
        return r[..close].contains(&b'@');
    }
    // "Sari Juntunen, who runs operations": "who" stands for a person.
    if rest.starts_with(b", who ") || rest.starts_with(b", whose ") {
        return true;
    }
    // "Dagmár, could you check this?": a name addressed at the start of a request.
    if let Some(r) = rest.strip_prefix(b", ") {
        let w_end = r
            .iter()
            .take(12)
            .position(|&b| !b.is_ascii_alphabetic())
            .unwrap_or_else(|| r.len().min(12));
        return std::str::from_utf8(&r[..w_end]).is_ok_and(|w| VOCATIVE_NEXT.contains(&w));
    }
    let Some(r) = rest.strip_prefix(b" ") else {
        return false;
    };
    // "Azur Velling and Herman Dittmar": a known given name after "and" makes a pair of people.
    for conj in [&b"and "[..], b"und ", b"et ", b"y ", b"e "] {
        if let Some(r2) = r.strip_prefix(conj)
            && r2.first().is_some_and(u8::is_ascii_uppercase)
        {
            let e = r2
                .iter()
                .take(MAX_TOKEN)
                .position(|&b| !(b.is_ascii_alphabetic() || b >= 0x80))
                .unwrap_or_else(|| r2.len().min(MAX_TOKEN));
            let f = std::str::from_utf8(&r2[..e]).map_or(0, lookup);
            return f & GIVEN != 0 && f & (AMBIG | STOP | COMMON) == 0;
        }
    }
    // "… can't make it", "… won't join".
    if r.starts_with(b"can't")
        || r.starts_with("can’t".as_bytes())
        || r.starts_with(b"cannot ")
        || r.starts_with(b"won't")
        || r.starts_with("won’t".as_bytes())
    {
        return true;
    }
    let w_end = r
        .iter()
        .take(24)
        .position(|&b| !(b.is_ascii_alphabetic() || b >= 0x80))
        .unwrap_or_else(|| r.len().min(24));
    let Ok(w) = std::str::from_utf8(&r[..w_end]) else {
        return false;
    };
    if w == "is" {
        let r2 = r[w_end..].strip_prefix(b" ").unwrap_or(&[]);
        let e2 = r2
            .iter()
            .take(16)
            .position(|&b| !b.is_ascii_alphabetic())
            .unwrap_or_else(|| r2.len().min(16));
        return std::str::from_utf8(&r2[..e2]).is_ok_and(|w2| PERSON_STATES.contains(&w2));
    }
    in_set(&VERB_SET, w)
}

/// "Sinnathambi: running 5 min late", "<Semen> anyone seen …", "[10:02] Iyad: ok": the
/// speaker of a chat line — one capitalized word at the start of a line (or after a
/// bracketed timestamp), then `: ` and a lower-case word or a mention, or in `<…>`.
/// Labels ("Note: see below"), English words and common words are not speakers.
fn chat_speaker(text: &str, t: &Token) -> bool {
    let bytes = text.as_bytes();
    if t.shape != Shape::Capitalized
        || t.flags & (STOP | COMMON | COMPANY | PLACE_SUFFIX | PLACE_PREFIX | TITLE) != 0
    {
        return false;
    }
    let before = &text[..t.start];
    let angle = before.ends_with('<');
    let lead = before.strip_suffix('<').unwrap_or(before);
    let line_start = lead.is_empty() || lead.ends_with('\n') || lead.ends_with("] ");
    if !line_start {
        return false;
    }
    let rest = &bytes[t.end..];
    let shape_ok = if angle {
        rest.starts_with(b"> ")
    } else {
        // A message, not a value: "@Sari …" or a lower-case word and a space
        // ("Telefon: tel:+353…" and "Web: www.x.io" are labels).
        let msg = if rest.starts_with(b": ") {
            text.get(t.end + 2..).unwrap_or("")
        } else {
            ""
        };
        let w_end = msg.find(|c: char| !c.is_alphabetic()).unwrap_or(msg.len());
        rest.starts_with(b": ")
            && (msg.starts_with('@')
                || msg.starts_with(char::is_lowercase)
                    && w_end >= 2
                    && msg[w_end..].starts_with([' ', ',', '!', '?']))
    };
    if !shape_ok {
        return false;
    }
    let Some(w) = text.get(t.start..t.end) else {
        return false;
    };
    // "Zendesk: ticket created": an unknown word before `: ` is as likely a tool or a
    // product; only chat formatting (`<…>`, a `[time]` before it) or the name lists
    // make it a speaker.
    let chat_form = angle || lead.ends_with("] ");
    (chat_form || is_name_flag(t.flags) && t.flags & AMBIG == 0)
        && !in_set(&LABEL_SET, w)
        && !is_english_word(w)
        && lookup(w) & (CUE_STRONG | CUE_WEAK | CUE_COLON) == 0
}

/// Single-token evidence from a cue word before the run.
fn lazy_cue(text: &str, start: usize, t: &Token, initials: usize, cue: Cue) -> bool {
    if initials > 0 || t.shape != Shape::Capitalized {
        return false;
    }
    let cue = if cue == Cue::None {
        cue_before(text, start)
    } else {
        cue
    };
    match cue {
        // "Owner: Halcyon", "Contact: Verdant": an English word is a firm or a thing.
        Cue::Strong => {
            is_name_flag(t.flags)
                || (t.flags & (STOP | AMBIG) == 0
                    && !text.get(t.start..t.end).is_some_and(is_english_word))
        }
        Cue::Weak => is_name_flag(t.flags) && t.flags & AMBIG == 0,
        Cue::None => false,
    }
}

/// Extends a name start backwards over lowercase particles ("van der Berg").
fn extend_particles(text: &str, start: usize) -> usize {
    let bytes = text.as_bytes();
    let mut s = start;
    for _ in 0..3 {
        if s < 2 || bytes[s - 1] != b' ' {
            break;
        }
        let e = s - 1;
        let mut b = e;
        while b > 0 && bytes[b - 1].is_ascii_lowercase() && e - b < 6 {
            b -= 1;
        }
        if b == e || (b > 0 && bytes[b - 1].is_ascii_alphanumeric()) {
            break;
        }
        match text.get(b..e) {
            Some(w) if lookup(w) & PARTICLE != 0 => s = b,
            _ => break,
        }
    }
    s
}

/// Whether a whole JSON value under a person-ish key looks like a person's name.
/// Lower-case name words after a greeting ending at `end` ("Dear guzi broe,"):
/// one to three words, each two letters or more and none a common or company
/// word, closed by `,`, `!`, `.`, `:` or the end of the line.
fn lower_name_after(text: &str, end: usize) -> Option<(usize, usize)> {
    let rest = text.get(end..)?;
    let body = rest.strip_prefix(' ')?;
    if !body.starts_with(|c: char| c.is_lowercase()) {
        return None;
    }
    let start = end + 1;
    let mut words = 0;
    let mut close = None;
    let mut word_start = 0;
    let check = |w: &str| -> bool {
        let f = lookup(w);
        w.chars().count() >= 2
            && f & (STOP | COMMON | COMPANY | TITLE | CUE_STRONG | CUE_WEAK | PLACE_SUFFIX) == 0
    };
    for (i, c) in body.char_indices() {
        if i > 3 * MAX_TOKEN {
            return None;
        }
        if c.is_alphabetic() || c == '-' || c == '\'' || c == '’' {
            if !c.is_lowercase() && c.is_alphabetic() {
                return None;
            }
            continue;
        }
        let w = &body[word_start..i];
        if w.is_empty() || !check(w) {
            return None;
        }
        words += 1;
        match c {
            ' ' if words < 3 => word_start = i + 1,
            ',' | '!' | '.' | ':' | '\n' | '\r' => {
                close = Some(i);
                break;
            }
            _ => return None,
        }
    }
    let close = match close {
        Some(c) => c,
        // The line ends with the name.
        None => {
            let w = &body[word_start..];
            if w.is_empty() || !check(w) {
                return None;
            }
            body.len()
        }
    };
    Some((start, start + close))
}

/// Legal forms of companies: any case for these, capitalized only for the short
/// ones that are also words ("AS", "AB", "SE", "AG").
const LEGAL_FORMS_ANY_CASE: &[&str] = &[
    "plc", "ltd", "llc", "inc", "gmbh", "bv", "b.v", "nv", "n.v", "spa", "s.p.a", "srl", "s.r.l",
    "sarl", "aps", "kft", "sro", "s.r.o", "pty", "llp", "a/s", "s.a", "sas", "s.a.s", "ltda",
    "k.k", "oü", "oyj", "kgaa", "mbh", "s.l",
];
const LEGAL_FORMS_CAPITALIZED: &[&str] = &["as", "ab", "se", "ag", "kg", "oy", "sa", "nv", "bv"];

/// Whether a company's legal form follows a run ending at `end` ("Silverline plc").
fn legal_form_after(text: &str, end: usize) -> bool {
    let Some(rest) = text.get(end..).and_then(|r| r.strip_prefix(' ')) else {
        return false;
    };
    let w_len = rest
        .bytes()
        .take(8)
        .take_while(|b| b.is_ascii_alphabetic() || matches!(b, b'.' | b'/'))
        .count();
    if w_len < 2
        || rest
            .as_bytes()
            .get(w_len)
            .is_some_and(|b| b.is_ascii_alphanumeric())
    {
        return false;
    }
    let w = rest[..w_len].trim_end_matches('.');
    let any = LEGAL_FORMS_ANY_CASE
        .iter()
        .any(|f| f.eq_ignore_ascii_case(w));
    any || (w.starts_with(|c: char| c.is_ascii_uppercase())
        && LEGAL_FORMS_CAPITALIZED
            .iter()
            .any(|f| f.eq_ignore_ascii_case(w)))
}

/// Whether a house number follows a run ending at `end`: a space, one to four
/// digits (and maybe one letter: "12b"), then the end of the text, a line or a clause.
fn house_number_after(bytes: &[u8], end: usize) -> bool {
    let Some(rest) = bytes.get(end..).and_then(|r| r.strip_prefix(b" ")) else {
        return false;
    };
    let digits = rest
        .iter()
        .take(5)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if !(1..=4).contains(&digits) {
        return false;
    }
    let mut after = &rest[digits..];
    if after.first().is_some_and(u8::is_ascii_lowercase)
        && !after.get(1).is_some_and(u8::is_ascii_alphabetic)
    {
        after = &after[1..];
    }
    matches!(
        after.first(),
        None | Some(b',' | b'\n' | b'\r' | b';' | b')' | b'|')
    ) || (after.first() == Some(&b'.') && !after.get(1).is_some_and(u8::is_ascii_digit))
}

/// A lower-case name after "name is" ("my name is irina azarova and I …"): one
/// to three words up to punctuation or a common word, the first a known name or
/// two words neither of them a common or English word ("the name is invalid" is not).
pub(crate) fn lower_name_after_name_is(text: &str) -> Option<(usize, usize)> {
    const CUE: &str = "name is ";
    // One SIMD substring search per string (aho-corasick's single-pattern prefilter):
    // `str::find` builds a searcher per call, which cost ~7 % on CRM records.
    static FINDER: LazyLock<Option<aho_corasick::AhoCorasick>> =
        LazyLock::new(|| aho_corasick::AhoCorasick::new([CUE]).ok());
    // No space, no cue: URLs, identifiers and paths skip the searcher (a word-at-a-time
    // byte scan costs a tenth of starting it).
    if !text.as_bytes().contains(&b' ') {
        return None;
    }
    let at = FINDER.as_ref()?.find(text)?.start();
    let start = at + CUE.len();
    let body = text.get(start..)?;
    if !body.starts_with(|c: char| c.is_lowercase()) {
        return None;
    }
    let mut end = start;
    let mut words = 0;
    let mut first_known = false;
    let mut all_unknown = true;
    for w in body.split(' ').take(3) {
        if w.len() > MAX_TOKEN {
            break;
        }
        let core = w.trim_end_matches([',', '.', '!', '?', ';', ':']);
        let clean = core
            .chars()
            .all(|c| c.is_lowercase() || c == '-' || c == '\'');
        let f = lookup(core);
        if core.chars().count() < 2
            || !clean
            || f & (STOP | COMMON | COMPANY | TITLE | CUE_WEAK | CUE_STRONG) != 0
        {
            break;
        }
        if words == 0 {
            first_known = f & (GIVEN | SURNAME) != 0 && f & AMBIG == 0
                || f & (GIVEN | SURNAME | AMBIG) == 0 && wide_flags(core) & WIDE_GIVEN != 0;
        }
        all_unknown &= f & (GIVEN | SURNAME) == 0 && !is_english_word(core);
        words += 1;
        end = start + (w.as_ptr() as usize - body.as_ptr() as usize) + core.len();
        if core.len() != w.len() || core.contains('\n') {
            break;
        }
    }
    // "my name is jagjit": after "my", one word that no list knows is the speaker's name.
    let mine = text
        .get(..at)
        .is_some_and(|b| b.ends_with("my ") || b.ends_with("My "));
    (words > 0 && (first_known || (words >= 2 || mine) && all_unknown)).then_some((start, end))
}

/// The spans of the `cn=` values of the distinguished names in `text` ("cn=Yong
/// Bae,ou=people,dc=example,dc=com", "CN=Bae\\, Yong,OU=Sales") that are shaped like a
/// person's name ([`plausible_person_value`]).
pub(crate) fn common_names_in_dn(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    // From one "=" to the next: "cn" right before it.
    while let Some(rel) = bytes
        .get(from..)
        .and_then(|b| b.iter().position(|&c| c == b'='))
    {
        let eq = from + rel;
        from = eq + 1;
        if eq < 2
            || !bytes
                .get(eq - 2..eq)
                .is_some_and(|w| w.eq_ignore_ascii_case(b"cn"))
        {
            continue;
        }
        let at = eq - 2;
        // At the start of the string or of an RDN: "…,cn=", " cn=", "\"cn=".
        if at > 0
            && !matches!(
                bytes.get(at - 1),
                Some(b',' | b' ' | b'"' | b';' | b'/' | b'(')
            )
        {
            continue;
        }
        let start = at + 3;
        let mut end = start;
        while let Some(&b) = bytes.get(end) {
            match b {
                b'\\' => end += 2,
                b',' | b'+' | b';' | b'"' | b')' | b'\n' => break,
                _ => end += 1,
            }
        }
        let end = end.min(bytes.len());
        // The next RDN starts after this value (linear time on "cn=cn=cn=…").
        from = from.max(end);
        // A DN has another RDN after the common name (",ou=", ",dc=", ",o="); a lone
        // "cn=" is a query parameter or a label.
        let more = bytes
            .get(end..)
            .is_some_and(|r| r.first() == Some(&b',') && r.iter().take(8).any(|&c| c == b'='));
        if !more {
            continue;
        }
        // Directory groups and containers: "Domain Admins", "Account Operators".
        const GROUP_WORDS: &[&str] = &[
            "admins",
            "administrators",
            "users",
            "groups",
            "operators",
            "owners",
            "members",
            "readers",
            "writers",
            "editors",
            "guests",
            "computers",
            "servers",
            "controllers",
            "policies",
            "services",
            "accounts",
            "everyone",
            "staff",
            "managers",
            "developers",
            "engineers",
            "publishers",
            "viewers",
            "contributors",
            "approvers",
            "domain",
            "enterprise",
            "schema",
            "builtin",
            "system",
            "group",
            "team",
            "role",
            "roles",
        ];
        if let Some(v) = text.get(start..end)
            && !v.contains('\\')
            && v.contains(' ')
            && plausible_person_value(v)
            && !is_role_or_department(v)
            && !v
                .split(' ')
                .any(|w| GROUP_WORDS.iter().any(|g| g.eq_ignore_ascii_case(w)))
        {
            out.push((start, end));
        }
    }
    out
}

/// An airline-style "SURNAME/GIVEN" at `start` ("SHIELDS/ALEJANDRO MR"): two
/// capital-letter words around one `/`, one of them a known name and neither a
/// common word ("AND/OR", "CEO/CFO" are not; "TCP/IP" knows no name).
#[inline]
pub(crate) fn slash_name_at(text: &str, start: usize) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    // Most capitalized words go on in lower case: one byte settles them.
    if !bytes.get(start + 1).is_some_and(u8::is_ascii_uppercase) {
        return None;
    }
    slash_name_rest(text, start)
}

fn slash_name_rest(text: &str, start: usize) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let caps = |from: usize| {
        let mut j = from;
        while j < bytes.len()
            && j - from <= MAX_TOKEN
            && (bytes[j].is_ascii_uppercase() || bytes[j] == b'-')
        {
            j += 1;
        }
        j - from
    };
    let a = caps(start);
    if !(2..=MAX_TOKEN).contains(&a) || bytes.get(start + a) != Some(&b'/') {
        return None;
    }
    let g = start + a + 1;
    let b = caps(g);
    let end = g + b;
    if !(2..=MAX_TOKEN).contains(&b)
        || bytes
            .get(end)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'/')
    {
        return None;
    }
    let (fa, fb) = (lookup(&text[start..start + a]), lookup(&text[g..end]));
    let bad = STOP | COMMON | COMPANY | TITLE;
    if fa & bad != 0 || fb & bad != 0 || (fa | fb) & (GIVEN | SURNAME) == 0 {
        return None;
    }
    Some((start, end))
}

pub(crate) fn plausible_person_value(value: &str) -> bool {
    let v = value.trim();
    if v.is_empty() || v.len() > 80 {
        return false;
    }
    // One pass: only letters and name punctuation, at most six words, and no
    // word that is a company suffix ("Acme GmbH").
    let mut letters = 0;
    let mut words = 0;
    let mut word_start: Option<usize> = None;
    let mut company = false;
    let mut check_word = |s: usize, e: usize| {
        let w = &v[s..e];
        if w.as_bytes()[0].is_ascii_uppercase() && w.len() <= 12 && is_company_word(w) {
            company = true;
        }
    };
    for (i, c) in v.char_indices() {
        if is_word_char(c) {
            letters += 1;
            if word_start.is_none() {
                word_start = Some(i);
                words += 1;
            }
            continue;
        }
        // "SHIELDS/ALEJANDRO": airline passenger names.
        if !(c == ' ' || c == '.' || c == '-' || c == '\'' || c == '’' || c == ',' || c == '/') {
            return false;
        }
        if (c == ' ' || c == ',' || c == '/')
            && let Some(s) = word_start.take()
        {
            check_word(s, i);
        }
    }
    if let Some(s) = word_start {
        check_word(s, v.len());
    }
    if company || letters < 2 || words > 6 {
        return false;
    }
    // A lone label word is not a person ("From", "To", "Subject", "Date" under
    // a generic `name` key, as in mail headers).
    if words == 1 && in_set(&LABEL_SET, v.trim_end_matches(['.', ':'])) {
        return false;
    }
    const NOT_PEOPLE: &[&str] = &[
        "none",
        "null",
        "nil",
        "n/a",
        "na",
        "unknown",
        "unassigned",
        "tbd",
        "tba",
        "system",
        "admin",
        "bot",
        "anonymous",
        "everyone",
        "all",
        "nobody",
        "me",
        "you",
        "team",
        "support",
        "sales",
        "true",
        "false",
        "yes",
        "no",
        "pending",
        "self",
        "other",
        "default",
        "test",
        "undefined",
        "automation",
        "api",
        "service",
        "root",
    ];
    if words == 1 && NOT_PEOPLE.iter().any(|w| w.eq_ignore_ascii_case(v)) {
        return false;
    }
    // "report.pdf", "acme.io": a dot inside a word, then lower case, is a file or a host.
    let vb = v.as_bytes();
    if vb.contains(&b'.')
        && vb
            .windows(3)
            .any(|w| w[0].is_ascii_alphanumeric() && w[1] == b'.' && w[2].is_ascii_lowercase())
    {
        return false;
    }
    // "jdoe", "mlopez": a lone lower-case ASCII word the dictionary does not know is a
    // login ("brzęczyszczykiewicz" under `nazwisko` is still a surname).
    if words == 1
        && v.is_ascii()
        && v.starts_with(|c: char| c.is_ascii_lowercase())
        && lookup(v) & (GIVEN | SURNAME) == 0
    {
        return false;
    }
    // "Sales Team", "Head of Sales", "Release Candidate", "Roadmap": a team, a role or
    // words that are all English and no name (the English list holds no names).
    // Team names are head-final ("Sales Team", "Front Desk", "Zapier Integration"):
    // only the first and the last word are looked up for that.
    let team = |w: &str| in_set(&TEAM_SET, w) && lookup(w) & (GIVEN | SURNAME) == 0;
    let mut english_only = true;
    let mut first = None;
    let mut last = "";
    for w in v.split([' ', ',', '/']) {
        let w = w.trim_matches(|c| matches!(c, '.' | '\'' | '’' | '-'));
        if w.is_empty() {
            continue;
        }
        if words > 1 && w == "of" {
            return false;
        }
        // "In progress", "Halcyon - renewal", "Closed lost": a lower-case English word
        // among capitalized ones is a status or a title (particles — "da", "van" — and
        // lower-case names are not English words).
        if words > 1
            && w.len() >= 4
            && w.starts_with(|c: char| c.is_ascii_lowercase())
            && lookup(w) & (GIVEN | SURNAME | PARTICLE) == 0
            && (is_english_word(w) || lookup(w) & (STOP | COMMON) != 0)
        {
            return false;
        }
        first.get_or_insert(w);
        last = w;
        english_only = english_only && is_english_word(w);
    }
    !english_only
        && !team(last)
        && !first.is_some_and(|f| f != last && team(f))
        && !is_role_or_department(v)
}

/// Whether a word of a found name may name the same person where it recurs: at least
/// three letters (two in scripts without case), capitalized or without case, and neither
/// a common, stop, company, place, title nor cue word, nor an English word.
pub(crate) fn is_mention_word(w: &str) -> bool {
    let Some(c) = w.chars().next() else {
        return false;
    };
    let min = if c.is_uppercase() { 3 } else { 2 };
    w.chars().count() >= min
        && (c.is_uppercase() || c.is_alphabetic() && !c.is_lowercase())
        && w.chars().all(|c| is_word_char(c) || c == '-' || c == '\'')
        && lookup(w)
            & (STOP
                | COMMON
                | COMPANY
                | TITLE
                | CUE_STRONG
                | CUE_WEAK
                | PARTICLE
                | PLACE_SUFFIX
                | PLACE_PREFIX)
            == 0
        && !is_english_word(w)
}

/// Whether `text[s..e]` is a whole word that stands for a person, not part of an
/// address, a host or a firm ("Johnson & Johnson", "Wagner GmbH").
pub(crate) fn mention_stands_alone(text: &str, s: usize, e: usize) -> bool {
    let (Some(head), Some(tail)) = (text.get(..s), text.get(e..)) else {
        return false;
    };
    let before = head.chars().next_back();
    let after = tail.chars().next();
    !(before.is_some_and(|c| is_word_char(c) || c == '@' || c == '.' || c == '/')
        || after.is_some_and(|c| is_word_char(c) || c == '@')
        || head.trim_end().ends_with('&')
        || tail.trim_start().starts_with('&')
        || legal_form_after(text, e))
}

/// Words of the names among `found` that recur elsewhere in `text` as whole words
/// (the same person mentioned again: "Voicemail from Lília Calazans: hi it's Lília"),
/// appended to `out` as spans that overlap no finding. A word counts when it is at
/// least three letters (two in scripts without case), capitalized or without case,
/// and neither a common, stop, company, place, title nor cue word.
pub(crate) fn repeated_mentions(
    text: &str,
    found: &[crate::Finding],
    out: &mut Vec<(usize, usize)>,
) {
    // Most strings are a name and little else (a JSON value, a greeting): nothing to look for.
    let covered: usize = found.iter().map(|f| f.end - f.start).sum();
    if text.len() < covered + 4 || !found.iter().any(|f| f.kind == crate::Kind::Name) {
        return;
    }
    // Cap the work for long strings: at most eight distinct words.
    let mut words: Vec<&str> = Vec::new();
    for f in found.iter().filter(|f| f.kind == crate::Kind::Name) {
        let Some(name) = text.get(f.start..f.end) else {
            continue;
        };
        for w in name.split([' ', ',', '\n', '/']) {
            let w = w.trim_end_matches('.');
            if !is_mention_word(w) || words.contains(&w) {
                continue;
            }
            words.push(w);
            if words.len() >= 8 {
                break;
            }
        }
    }
    if words.is_empty() {
        return;
    }
    // Spans of all findings by start, for a binary search per occurrence (linear overall:
    // a long string repeats one name thousands of times). Occurrences of two different
    // whole words never overlap each other.
    let mut spans: Vec<(usize, usize)> = found.iter().map(|f| (f.start, f.end)).collect();
    spans.sort_unstable();
    let mut reach = 0;
    for sp in &mut spans {
        reach = reach.max(sp.1);
        sp.1 = reach;
    }
    let taken = |s: usize, e: usize| {
        // The last span starting before `e` and the furthest end among spans up to it.
        let i = spans.partition_point(|&(a, _)| a < e);
        i > 0 && spans[i - 1].1 > s
    };
    for w in words {
        for (s, _) in text.match_indices(w) {
            let e = s + w.len();
            if taken(s, e) || !mention_stands_alone(text, s, e) {
                continue;
            }
            out.push((s, e));
        }
    }
}

/// A value under a name-part key (`lastName`, `Фамилия`, `姓`) that
/// [`plausible_person_value`] turned down only because it is also an English word
/// ("Rose", "Morales", "Hunter") or a single Han or Hangul syllable ("王", "김"):
/// one to three words of letters and name punctuation, capitalized or in a script
/// without case, and no company, team, role or placeholder word.
pub(crate) fn plausible_name_part(value: &str) -> bool {
    let v = value.trim();
    if v.is_empty() || v.len() > 60 {
        return false;
    }
    let mut words = 0;
    for w in v.split(' ').filter(|w| !w.is_empty()) {
        words += 1;
        let Some(c) = w.chars().next() else {
            return false;
        };
        if !w
            .chars()
            .all(|c| is_word_char(c) || matches!(c, '.' | '-' | '\'' | '’'))
            || c.is_lowercase()
            || !c.is_alphabetic()
        {
            return false;
        }
        let bare = w.trim_end_matches('.');
        if is_company_word(bare)
            || in_set(&TEAM_SET, bare)
            || in_set(&LABEL_SET, bare)
            || lookup(bare) & (STOP | COMPANY) != 0
        {
            return false;
        }
    }
    (1..=3).contains(&words) && !is_role_or_department(v)
}

/// Job-title head words and departments in several languages: a value holding one
/// ("Data Protection Officer", "Jefa de Compras", "Leiterin Einkauf") or made only of
/// department words ("Field Sales", "Site Reliability") is a role or a team, not a person.
const ROLE_WORDS: &[&str] = &[
    "manager",
    "officer",
    "director",
    "directors",
    "counsel",
    "engineer",
    "coordinator",
    "specialist",
    "analyst",
    "consultant",
    "administrator",
    "executive",
    "accountant",
    "architect",
    "developer",
    "designer",
    "intern",
    "secretary",
    "clerk",
    "supervisor",
    "president",
    "assistant",
    "advisor",
    "recruiter",
    "receptionist",
    "technician",
    "auditor",
    "controller",
    "treasurer",
    "paralegal",
    "strategist",
    "scientist",
    "associate",
    "gerente",
    "jefe",
    "jefa",
    "directora",
    "director",
    "directeur",
    "directrice",
    "responsable",
    "leiter",
    "leiterin",
    "geschäftsführer",
    "geschäftsführerin",
    "direttore",
    "direttrice",
    "inkoper",
    "einkäufer",
    "einkäuferin",
    "vendedora",
    "comercial",
    "asistente",
    "assistente",
    "sachbearbeiter",
    "sachbearbeiterin",
    "referent",
    "referentin",
    "chargé",
    "chargée",
    "diretor",
    "diretora",
    "coordinador",
    "coordinadora",
    "ceo",
    "cfo",
    "cto",
    "coo",
    "cio",
    "vp",
    "svp",
    "evp",
];
/// Department and function words: a value made only of them (and these) is a team.
const DEPARTMENT_WORDS: &[&str] = &[
    "sales",
    "marketing",
    "finance",
    "financial",
    "engineering",
    "reliability",
    "support",
    "operations",
    "legal",
    "affairs",
    "success",
    "growth",
    "quality",
    "assurance",
    "procurement",
    "purchasing",
    "accounting",
    "payroll",
    "logistics",
    "compliance",
    "security",
    "research",
    "development",
    "product",
    "customer",
    "customers",
    "field",
    "site",
    "platform",
    "people",
    "human",
    "resources",
    "hr",
    "it",
    "infrastructure",
    "data",
    "protection",
    "account",
    "accounts",
    "key",
    "senior",
    "junior",
    "chief",
    "head",
    "lead",
    "principal",
    "regional",
    "global",
    "general",
    "technical",
    "service",
    "client",
    "vertrieb",
    "einkauf",
    "nord",
    "süd",
    "ost",
    "west",
    "soporte",
    "técnico",
    "tecnico",
    "ventas",
    "compras",
    "achats",
    "vendite",
    "acquisti",
    "contabilidad",
    "recursos",
    "humanos",
    "kundenservice",
    "personal",
    "scrum",
    "master",
    "owner",
    "office",
    "front",
    "back",
    "desk",
    "team",
    "and",
    "of",
    "de",
    "des",
    "du",
];

/// [`ROLE_WORDS`] and [`DEPARTMENT_WORDS`] in one table, so a word costs one lookup.
static ROLE_OR_DEPARTMENT: LazyLock<HashMap<&'static [u8], u8, crate::Fnv>> = LazyLock::new(|| {
    let mut map = HashMap::with_hasher(crate::Fnv);
    for w in ROLE_WORDS {
        *map.entry(w.as_bytes()).or_insert(0) |= IS_ROLE;
    }
    for w in DEPARTMENT_WORDS {
        *map.entry(w.as_bytes()).or_insert(0) |= IS_DEPARTMENT;
    }
    map
});
const IS_ROLE: u8 = 1;
const IS_DEPARTMENT: u8 = 2;

/// The flags of `w` (any case) in `map`, lower-casing ASCII on the stack (as [`in_set`]).
fn flags_in(map: &HashMap<&'static [u8], u8, crate::Fnv>, w: &str) -> u8 {
    if w.is_empty() || w.len() > 16 {
        return 0;
    }
    if w.is_ascii() {
        let mut buf = [0u8; 16];
        let b = &mut buf[..w.len()];
        b.copy_from_slice(w.as_bytes());
        b.make_ascii_lowercase();
        return map.get(&*b).copied().unwrap_or(0);
    }
    map.get(w.to_lowercase().as_bytes()).copied().unwrap_or(0)
}

/// Whether a person-key value is a job title or a department (see [`ROLE_WORDS`]).
///
/// Runs for every capitalized run the name rules weigh, most of them one word: the
/// words are cut at the (ASCII) separators by byte and looked up once each.
pub(crate) fn is_role_or_department(v: &str) -> bool {
    let mut words = 0;
    let mut dept = 0;
    let bytes = v.as_bytes();
    let mut from = 0;
    for at in 0..=bytes.len() {
        if at < bytes.len() && !matches!(bytes[at], b' ' | b',' | b'/') {
            continue;
        }
        let piece = v.get(from..at).unwrap_or("");
        from = at + 1;
        let w = piece.trim_matches(|c| matches!(c, '.' | '\'' | '’' | '-' | '(' | ')'));
        if w.is_empty() {
            continue;
        }
        words += 1;
        let f = flags_in(&ROLE_OR_DEPARTMENT, w);
        if f & IS_ROLE != 0 {
            return true;
        }
        if f & IS_DEPARTMENT != 0 {
            dept += 1;
        }
    }
    words >= 2 && dept == words
}

/// Words that make a person-key value a team, a queue or a system, not a person.
const TEAM_WORDS: &[&str] = &[
    "team",
    "teams",
    "queue",
    "desk",
    "helpdesk",
    "support",
    "billing",
    "portal",
    "automation",
    "integration",
    "workflow",
    "calendar",
    "bot",
    "system",
    "department",
    "dept",
    "office",
    "service",
    "services",
    "sales",
    "marketing",
    "finance",
    "operations",
    "ops",
    "admin",
    "administrator",
    "notifications",
    "noreply",
    "no-reply",
    "alerts",
    "inbox",
    "mailbox",
    "group",
    "channel",
    "committee",
    "board",
    "crew",
    "staff",
    "squad",
    "unit",
];

static TEAM_SET: LazyLock<HashSet<&'static [u8], crate::Fnv>> =
    LazyLock::new(|| TEAM_WORDS.iter().map(|w| w.as_bytes()).collect());

static COMPANY_SET: LazyLock<HashSet<&'static str, crate::Fnv>> =
    LazyLock::new(|| COMPANY_WORDS.split_whitespace().collect());

/// Whether a word is a company suffix or company word (case-insensitive), without the dictionary.
fn is_company_word(w: &str) -> bool {
    let mut buf = [0u8; 24];
    let Some(dst) = buf.get_mut(..w.len()) else {
        return false;
    };
    dst.copy_from_slice(w.as_bytes());
    dst.make_ascii_lowercase();
    std::str::from_utf8(dst).is_ok_and(|lw| COMPANY_SET.contains(lw))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<&str> {
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            let c = char_at(text, i).unwrap_or(' ');
            let boundary = i == 0 || !char_at(text, i - 1).is_some_and(|p| p.is_alphanumeric());
            if c.is_uppercase() && boundary && text.is_char_boundary(i) {
                let s = scan_at(text, i);
                if let Some(m) = s.found {
                    out.push(&text[m.start..m.end]);
                }
                i = s.next;
            } else {
                i += c.len_utf8();
            }
        }
        out
    }

    #[test]
    fn sorted_line_search_agrees_with_a_scan_of_the_wide_lists() {
        for blob in [DATA_GIVEN_WIDE, DATA_SURNAMES_WIDE] {
            let lines: Vec<&str> = blob.lines().collect();
            assert!(lines.len() > 1000, "the wide list is empty");
            assert!(
                lines.windows(2).all(|w| w[0] < w[1]),
                "not sorted in byte order"
            );
            // Every 97th line, the first and the last are found; neighbours with a letter
            // added or removed are found exactly when they are lines too.
            for (i, line) in lines.iter().enumerate() {
                if i % 97 != 0 && i != 0 && i != lines.len() - 1 {
                    continue;
                }
                assert!(in_sorted_lines(blob, line), "{line} not found");
                for probe in [format!("{line}a"), line[..line.len() - 1].to_string()] {
                    assert_eq!(
                        in_sorted_lines(blob, &probe),
                        lines.binary_search(&probe.as_str()).is_ok(),
                        "{probe}"
                    );
                }
            }
            for absent in ["", "\u{7f}", "aaaaaaaaaa", "zzzzzzzzzz"] {
                assert_eq!(in_sorted_lines(blob, absent), lines.contains(&absent));
            }
        }
    }

    #[test]
    fn wide_lists_pair_names_the_main_lists_lack_but_never_alone() {
        // Both words are only in the wide lists (US SSA given names, US 2010 Census surnames).
        assert_ne!(wide_flags("Brynna") & WIDE_GIVEN, 0);
        assert_ne!(wide_flags("Rakowiecki") & WIDE_SURNAME, 0);
        assert_eq!(
            lookup("Rakowiecki"),
            0,
            "the test needs a surname the main lists lack"
        );
        assert_eq!(
            names("The budget was shared by Brynna Rakowiecki in June."),
            ["Brynna Rakowiecki"]
        );
        assert!(names("We looked at Rakowiecki in June.").is_empty());
        // English words are left out of the wide lists.
        assert_eq!(wide_flags("Street"), 0);
        assert_eq!(wide_flags("Monday"), 0);
    }

    #[test]
    fn what_follows_only_people_makes_two_unknown_words_a_name() {
        // A reply header's "wrote", a role or department in apposition, a phone number.
        assert_eq!(
            names("Le 3/10, Tuvshin Batbold a écrit :"),
            ["Tuvshin Batbold"]
        );
        assert_eq!(
            names("Tuvshin Batbold - Account Executive - will send it."),
            ["Tuvshin Batbold"]
        );
        assert_eq!(
            names("Ask Tuvshin Batbold (Finance) first."),
            ["Tuvshin Batbold"]
        );
        assert_eq!(
            names("Deliver to reception; contact on site Tuvshin Batbold, +34 969 63 08 67."),
            ["Tuvshin Batbold"]
        );
        // Without it, two words no list knows are no name.
        assert!(names("Tuvshin Batbold, 2024.").is_empty());
        assert!(names("Tuvshin Batbold (2024) again.").is_empty());
    }

    #[test]
    fn my_name_is_takes_one_unknown_lowercase_word() {
        let at = |t: &'static str| lower_name_after_name_is(t).map(|(s, e)| &t[s..e]);
        assert_eq!(at("my name is jagjit and I need help"), Some("jagjit"));
        // Without "my", one unknown word is not enough ("the account name is wrong").
        assert_eq!(at("the account name is xqzt now"), None);
        assert_eq!(at("my name is wrong in the invoice"), None);
    }

    #[test]
    fn prose_without_cues_opens_verbs_and_places() {
        // A sentence-opening English word is not part of the name after it.
        assert_eq!(
            names("Unlike Steve Green, the new buyer wants invoices."),
            ["Steve Green"]
        );
        assert_eq!(
            names("Apparently Jula Dutkiewicz left Bluefield in May."),
            ["Jula Dutkiewicz"]
        );
        // A verb after two unknown capitalized words; "who" stands for a person.
        assert_eq!(
            names("After it failed, Erinç Koç rotated the keys."),
            ["Erinç Koç"]
        );
        assert_eq!(
            names("The champion is Sari Juntunen, who runs operations."),
            ["Sari Juntunen"]
        );
        // Organisations renew and ship as people do: no evidence.
        assert!(names("Wells Fargo renewed on 2020-10-19 for 481 seats.").is_empty());
        // Places and things: after "in", between "from" and "to", after a determiner.
        assert!(names("The pilot in Arcata is back on track.").is_empty());
        assert!(names("Shipping from Hartford to Waltham takes two days.").is_empty());
        assert!(names("Nobody has admin rights on the Sales Cloud tenant.").is_empty());
        // … unless a strong given name opens the run: a missed name leaks.
        assert_eq!(names("We updated the Maria Lopez record."), ["Maria Lopez"]);
        assert_eq!(names("We have confidence in Maria Lopez."), ["Maria Lopez"]);
        // … but "looping in" takes a person, and a possessive stays a person.
        assert_eq!(
            names("Thanks, looping in Adil Novruzlu who owns the account."),
            ["Adil Novruzlu"]
        );
    }

    #[test]
    fn given_name_and_surname_pair_is_a_name() {
        assert_eq!(
            names("Meeting with Maria Gonzalez on Monday."),
            ["Maria Gonzalez"]
        );
    }

    #[test]
    fn code_paths_and_identifiers_are_not_cues() {
        for text in [
            "rmcp::transport::streamable_http_client::StreamableHttpClientWorker<Client>",
            "client::Worker failed",
            "http_client: Brandt failed",
        ] {
            assert_eq!(names(text), Vec::<&str>::new(), "{text}");
        }
        // The label itself still works.
        assert_eq!(names("Client: Amelia Hartley"), ["Amelia Hartley"]);
    }

    #[test]
    fn titles_cues_and_possessives_make_names() {
        assert_eq!(names("Please ask Dr. Okafor."), ["Okafor"]);
        assert_eq!(names("Dear Oluwaseun,"), ["Oluwaseun"]);
        assert_eq!(names("That was Maria's idea"), ["Maria"]);
        assert_eq!(names("Captain Jean-Luc Picard"), ["Jean-Luc Picard"]);
        assert_eq!(names("Ask Sean O'Brien"), ["Sean O'Brien"]);
        assert_eq!(names("Lotte van der Berg"), ["Lotte van der Berg"]);
    }

    #[test]
    fn company_names_are_not_names() {
        assert!(names("Smith & Sons shipped it").is_empty());
        assert!(names("Miller Logistics GmbH").is_empty());
        assert!(names("Johnson Controls Inc").is_empty());
    }

    #[test]
    fn months_weekdays_and_sentence_starts_are_not_names() {
        assert!(names("May 2024 report").is_empty());
        assert!(names("Monday Morning Sync").is_empty());
        assert!(names("Will you send the Invoice?").is_empty());
        assert!(names("Hope this helps").is_empty());
    }

    #[test]
    fn places_are_not_names() {
        assert!(names("Office at 12 Maria Street").is_empty());
        assert!(names("We flew to San Jose").is_empty());
        assert!(names("Shipped from Paris").is_empty());
    }

    #[test]
    fn street_names_cities_and_firms_with_particles_are_not_people() {
        for text in [
            "Ship to: Ernst-Bumm-Weg 63, 1044 Enköping",
            "Deliver to Kuyperstraat 12 or Lilla Aspuddsvägen 4.",
            "Billing address: Via Roma 7, 96668-502 Helena. Attn: accounts.",
            "Counsel: Wuestenenk, Le Breton and te Meddeholt",
            "Rescheduled the QBR with Orbital Freight to Monday.",
            "Exit at Delano Freeway.",
        ] {
            assert!(names(text).is_empty(), "{text}: {:?}", names(text));
        }
        // Still people: a given name after a street-like word, a name before a postcode.
        assert_eq!(names("Dear Anna Kade, thanks"), ["Anna Kade"]);
        assert_eq!(
            names("Contact Helena Varga, 1044 Enköping"),
            ["Helena Varga"]
        );
    }

    #[test]
    fn person_values_reject_companies_and_placeholders() {
        assert!(plausible_person_value("Ngozi Adeyemi"));
        assert!(plausible_person_value("李 伟"));
        assert!(!plausible_person_value("Acme GmbH"));
        assert!(!plausible_person_value("unassigned"));
        assert!(!plausible_person_value("12345"));
        assert!(!plausible_person_value("a@b.co"));
    }
}
