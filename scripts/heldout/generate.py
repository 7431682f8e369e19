#!/usr/bin/env python3
"""Generates the held-out labeled corpus for the detectors (issue 19).

    python3 scripts/heldout/generate.py            # writes detectors/tests/heldout/*.jsonl

Deterministic: a fixed seed per split, and the pools and templates below.
Needs (generation time only; the Rust test reads the committed output):
    pip install phonenumbers==9.0.43 mimesis==22.2.0 gender-guesser==0.4.0 \
        pypinyin==0.55.0 anyascii==0.3.3

Two splits with disjoint TEMPLATE families and mostly disjoint names:
  dev    templates in dev_templates.py   -> detectors/tests/heldout/dev.jsonl
  final  templates in final_templates.py -> detectors/tests/heldout/final.jsonl
plus two more tuning splits on dev's name pool, each written without final:
  dev2   templates in dev2_templates.py  (--dev2) -> detectors/tests/heldout/dev2.jsonl
  dev3   templates in dev3_templates.py  (--dev3) -> detectors/tests/heldout/dev3.jsonl
  dev4   templates in dev4_templates.py  (--dev4) -> detectors/tests/heldout/dev4.jsonl
  dev5   templates in dev5_templates.py  (--dev5) -> detectors/tests/heldout/dev5.jsonl
Whoever tunes the detectors may read dev (its file and its templates) and must
never open final.jsonl or final_templates.py; only final's aggregate scores are
reported. See detectors/tests/heldout/README.md.

Output: one JSON object per line:
  {"id": "...", "template": "...", "text": "...", "gold": [...]}        or
  {"id": "...", "template": "...", "json": <value>, "gold": [...]}
with gold = [{"kind": "EMAIL"|"PHONE"|"NAME", "text": "...", "path": "..."}];
path is "" for free text and, for JSON, the path of the string value as the
detectors render it (`rows[0].owner`, `a["e-mail"]`).
"""

import importlib
import json
import os
import random
import re
import sys
import uuid

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pools  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "detectors", "tests", "heldout")

KINDS = ("EMAIL", "PHONE", "NAME")


# ---------------------------------------------------------------- rich strings

class Rich:
    """A string made of pieces, some of them labeled PII."""

    def __init__(self, pieces=None):
        self.pieces = pieces or []  # [(text, kind or None)]

    def __add__(self, other):
        return Rich(self.pieces + as_rich(other).pieces)

    def __radd__(self, other):
        return Rich(as_rich(other).pieces + self.pieces)

    def text(self):
        return "".join(t for t, _ in self.pieces)

    def gold(self):
        return [(k, t) for t, k in self.pieces if k]


def as_rich(x):
    if isinstance(x, Rich):
        return x
    return Rich([(str(x), None)])


def pii(kind, text):
    return Rich([(text, kind)])


def join(sep, items):
    out = Rich()
    for i, it in enumerate(items):
        if i:
            out = out + sep
        out = out + it
    return out


# ---------------------------------------------------------------- JSON paths

def _seg_key(out, k):
    simple = k and re.fullmatch(r"[A-Za-z0-9_]+", k) and not k[0].isdigit()
    if simple:
        return (out + "." if out else "") + k
    return out + "[" + json.dumps(k, ensure_ascii=False) + "]"


def finalize_json(value, path="", gold=None):
    """Rich leaves -> strings, collecting gold with paths."""
    if gold is None:
        gold = []
    if isinstance(value, Rich):
        for kind, text in value.gold():
            gold.append({"kind": kind, "text": text, "path": path})
        return value.text(), gold
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out[k], _ = finalize_json(v, _seg_key(path, k), gold)
        return out, gold
    if isinstance(value, list):
        out = []
        for i, v in enumerate(value):
            x, _ = finalize_json(v, f"{path}[{i}]", gold)
            out.append(x)
        return out, gold
    return value, gold


# ---------------------------------------------------------------- people

FOLD = str.maketrans({
    "á": "a", "à": "a", "â": "a", "ã": "a", "ä": "ae", "å": "a", "é": "e", "è": "e",
    "ê": "e", "ë": "e", "í": "i", "ì": "i", "î": "i", "ï": "i", "ı": "i", "ó": "o",
    "ò": "o", "ô": "o", "õ": "o", "ö": "oe", "ø": "o", "ú": "u", "ù": "u", "û": "u",
    "ü": "ue", "ç": "c", "ć": "c", "č": "c", "ñ": "n", "ń": "n", "ś": "s", "š": "s",
    "ş": "s", "ž": "z", "ż": "z", "ź": "z", "ł": "l", "ř": "r", "ğ": "g", "þ": "th",
    "ß": "ss", "ð": "d", "æ": "ae", "ě": "e", "ů": "u", "ý": "y", "đ": "d", "ő": "o",
    "ű": "u", "ə": "e", "ă": "a", "ț": "t", "ș": "s", "ā": "a", "ē": "e", "ī": "i",
    "ū": "u", "ễ": "e", "ạ": "a", "ầ": "a", "ồ": "o", "ỗ": "o", "ặ": "a", "ỳ": "y",
    "ỹ": "y", "ố": "o", "ộ": "o", "ớ": "o", "ờ": "o", "ợ": "o", "ư": "u", "ứ": "u",
    "ơ": "o", "ậ": "a", "ấ": "a", "ắ": "a", "ằ": "a", "ẩ": "a", "ể": "e", "ệ": "e",
    "ế": "e", "ề": "e", "ị": "i", "ỉ": "i", "ọ": "o", "ỏ": "o", "ụ": "u", "ủ": "u",
    "ỷ": "y", "ỵ": "y", "ẫ": "a",
})


def fold(s):
    s = s.lower().translate(FOLD)
    return re.sub(r"[^a-z0-9]", "", s)


class Person:
    def __init__(self, country, given, surname, native, eastern, middle=None):
        self.country = country
        self.given = given
        self.surname = surname
        self.native = native
        self.eastern = eastern
        self.middle = middle

    def plain(self):
        if self.native and self.eastern:
            # 王伟, 김민준: no space; Japanese often with one.
            sep = " " if self.country == "JP" and self.native_space else ""
            return self.surname + sep + self.given
        return f"{self.given} {self.surname}"


# ---------------------------------------------------------------- phones

def _random_valid(rng, region, ntype):
    ex = phonenumbers.example_number_for_type(region, ntype)
    if ex is None:
        return None
    nsn = str(ex.national_number)
    for _ in range(40):
        keep = max(1, len(nsn) - rng.choice([4, 5, 6]))
        cand = nsn[:keep] + "".join(str(rng.randrange(10)) for _ in range(len(nsn) - keep))
        try:
            num = phonenumbers.parse("+" + str(ex.country_code) + cand, None)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(num) and phonenumbers.region_code_for_number(num) == region:
            # Avoid the US/CA fictional 555-01xx block the example numbers use.
            return num
    return None


OK_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE,
            PhoneNumberType.FIXED_LINE_OR_MOBILE, PhoneNumberType.TOLL_FREE,
            PhoneNumberType.VOIP, PhoneNumberType.UAN}


def _random_any(rng, region):
    """Rejection sampling: random national significant numbers of the lengths
    the region's metadata allows, kept when libphonenumber says they are valid
    numbers of that region (so area codes and mobile prefixes vary as in real data)."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    lengths = sorted(set(meta.general_desc.possible_length or (10,)))
    # Most real numbers have the typical length of the region's mobile and
    # fixed-line numbers (German metadata allows 4 to 15 digits; few are 15).
    typical = sorted({len(str(ex.national_number)) for ex in (
        phonenumbers.example_number_for_type(region, t)
        for t in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE)) if ex is not None})
    cc = phonenumbers.country_code_for_region(region)
    for _ in range(3000):
        n = rng.choice(typical if typical and rng.random() < 0.85 else lengths)
        cand = str(rng.randrange(1, 10)) + "".join(str(rng.randrange(10)) for _ in range(n - 1))
        try:
            num = phonenumbers.parse(f"+{cc}{cand}", None)
        except phonenumbers.NumberParseException:
            continue
        if (phonenumbers.is_valid_number(num)
                and phonenumbers.region_code_for_number(num) == region
                and phonenumbers.number_type(num) in OK_TYPES):
            return num
    return None


def phone_number(rng, region):
    if rng.random() < 0.85:
        num = _random_any(rng, region)
        if num is not None:
            return num
    types = [PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE,
             PhoneNumberType.FIXED_LINE_OR_MOBILE, PhoneNumberType.MOBILE,
             PhoneNumberType.FIXED_LINE, PhoneNumberType.TOLL_FREE]
    for _ in range(20):
        num = _random_valid(rng, region, rng.choice(types))
        if num is not None:
            return num
    raise RuntimeError(f"no valid number for {region}")


NBSP, THIN, NNBSP = "\u00a0", "\u2009", "\u202f"


def format_phone(rng, num, region, national_ok):
    """Formats a valid number the way people and systems write it."""
    r = rng.random()
    ext = None
    if rng.random() < 0.06:
        ext = str(rng.randrange(10, 9999))
    if r < 0.15:
        s = phonenumbers.format_number(num, PhoneNumberFormat.E164)
        ext = None  # nobody appends an extension to a bare E.164 string
    elif r < 0.22:
        s = phonenumbers.format_number(num, PhoneNumberFormat.RFC3966)
        if ext:
            s += ";ext=" + ext
            ext = None
    elif r < 0.55 or not national_ok:
        s = phonenumbers.format_number(num, PhoneNumberFormat.INTERNATIONAL)
        v = rng.random()
        if v < 0.12:
            s = s.replace(" ", "-", 1) if rng.random() < 0.5 else s.replace(" ", "-")
        elif v < 0.2:
            s = s.replace(" ", rng.choice([NBSP, THIN, NNBSP]))
        elif v < 0.26:
            s = "00" + s[1:]
        elif v < 0.3 and region in ("GB", "DE", "AT", "CH", "NL", "BE", "IT", "FR"):
            nat = phonenumbers.format_number(num, PhoneNumberFormat.NATIONAL)
            if nat.startswith("0"):
                s = "+" + str(num.country_code) + " (0)" + nat[1:].lstrip()
    else:
        s = phonenumbers.format_number(num, PhoneNumberFormat.NATIONAL)
        v = rng.random()
        if v < 0.1:
            s = s.replace(" ", rng.choice([NBSP, THIN]))
        elif v < 0.18 and " " in s:
            s = s.replace(" ", rng.choice([".", "-", ""]))
    if ext:
        s += rng.choice([" ext. ", " x", " ext ", ", Durchwahl ", " poste ", " #"]) + ext
    return s


# ---------------------------------------------------------------- negatives

LEGAL = ["GmbH", "AG", "Ltd", "Ltd.", "LLC", "Inc.", "S.A.", "S.p.A.", "S.r.l.", "B.V.",
         "N.V.", "Oy", "AB", "A/S", "AS", "K.K.", "Pty Ltd", "S.A.S.", "SARL", "plc",
         "LLP", "Sp. z o.o.", "s.r.o.", "Kft.", "GmbH & Co. KG", "S.L.", "Ltda.",
         "Pvt. Ltd.", "Co., Ltd.", "SE", "OÜ", "ApS", "KG"]
COMPANY_WORDS = ["Northwind", "Bluefield", "Kestrel", "Ironbark", "Meridian", "Quantis",
                 "Halcyon", "Brightwater", "Polaris", "Ardent", "Vantage", "Cobalt",
                 "Silverline", "Evergreen", "Tessera", "Lumen", "Orbital", "Nordlicht",
                 "Alpenglow", "Solaria", "Cascadia", "Granite", "Harbor", "Pinnacle",
                 "Redwood", "Sapphire", "Summit", "Triton", "Verdant", "Zenith",
                 "Aurora", "Beacon", "Catalyst", "Delta", "Everest", "Falcon", "Horizon",
                 "Keystone", "Lighthouse", "Monarch", "Nimbus", "Oakridge", "Prism"]
COMPANY_TAILS = ["Logistics", "Analytics", "Systems", "Foods", "Textiles", "Capital",
                 "Energy", "Software", "Labs", "Holdings", "Consulting", "Medical",
                 "Robotics", "Freight", "Insurance", "Partners", "Solutions", "Pharma",
                 "Bau", "Technik", "Industrie", "Transportes", "Services", "Group"]
TLDS = [".com", ".de", ".fr", ".co.uk", ".io", ".es", ".it", ".com.br", ".nl", ".se",
        ".pl", ".co.jp", ".co.kr", ".in", ".com.au", ".ca", ".ch", ".at", ".be", ".dk",
        ".no", ".fi", ".com.mx", ".co.za", ".ng", ".ae", ".co.il", ".com.tr", ".ph",
        ".sg", ".cn", ".net", ".org", ".eu"]
FREEMAIL = ["gmail.com", "outlook.com", "yahoo.com", "hotmail.co.uk", "web.de", "gmx.de",
            "orange.fr", "libero.it", "yandex.ru", "mail.ru", "naver.com", "qq.com",
            "163.com", "icloud.com", "proton.me", "uol.com.br", "rediffmail.com",
            "seznam.cz", "wp.pl", "t-online.de", "free.fr", "laposte.net", "terra.com.br"]
IDN_DOMAINS = ["münchen-bau.de", "bücher-stube.de", "café-lumière.fr", "örebro-it.se",
               "españa-viajes.es", "zürich-partner.ch", "københavn-design.dk",
               "пример-компания.рф", "例え.jp", "정보.한국", "ελληνικά-εταιρεία.gr"]


# Street line formats per mimesis locale (its `address_fmt`, simplified).
STREET_FMT = {
    "en": "{n} {name} {sfx}", "de": "{name} {n}", "fr": "{n} {sfx} {name}",
    "es": "{sfx} {name}, {n}", "it": "{sfx} {name}, {n}", "nl": "{name} {n}",
    "pl": "{sfx} {name} {n}", "sv": "{name} {n}",
}


class Ctx:
    """Everything one split's templates draw from: persons, PII, negatives."""

    def __init__(self, split, seed):
        self.split = split
        self.rng = random.Random(seed)
        countries = pools.build_countries()
        self.countries = []
        for c in countries:
            c = dict(c)
            c["given"] = pools.split_pool(c["given"], split, key=lambda x: x[0])
            c["sur"] = pools.split_pool(c["sur"], split)
            c["native_given"] = pools.split_pool(c["native_given"], split) if c["native_given"] else []
            c["native_sur"] = pools.split_pool(c["native_sur"], split) if c["native_sur"] else []
            self.countries.append(c)
        self.cweights = [c["weight"] for c in self.countries]
        self.regions = pools.DEFAULT_REGIONS + (
            pools.DEV_ONLY_REGIONS if split == "dev" else pools.FINAL_ONLY_REGIONS)
        # Firm and company words come from this split's own surname pools.
        self.firm_surnames = [s for c in self.countries if c["code"] in ("US", "NL", "DE", "FR")
                              for s in c["sur"]]
        cities, streets = [], []
        self.street_sfx = {}
        for loc in STREET_FMT:
            ci, st, sfx = pools._mimesis_address(loc)
            cities += ci
            streets += [(loc, x) for x in st]
            self.street_sfx[loc] = sfx
        self.cities = pools.split_pool(sorted(set(cities)), split)
        self.streets = pools.split_pool(sorted(set(streets)), split, key=lambda x: x[1])
        self.scope_people = {}

    # ------------------------------------------------------------ people
    def person(self, native=None):
        rng = self.rng
        c = rng.choices(self.countries, weights=self.cweights)[0]
        if native is None:
            native = bool(c["native_given"]) and rng.random() < c["native_share"]
        if native and c["native_given"]:
            g = rng.choice(c["native_given"])
            s = self.matching_surname(c, g, c["native_sur"])
            p = Person(c["code"], g, s, True, c["eastern"])
            p.native_space = rng.random() < 0.5
            return p
        gl = c["given"]
        g = rng.choices([x[0] for x in gl], weights=[x[1] for x in gl])[0]
        s = self.matching_surname(c, g, c["sur"])
        middle = None
        if rng.random() < 0.3:
            middle = rng.choices([x[0] for x in gl], weights=[x[1] for x in gl])[0]
        p = Person(c["code"], g, s, False, False, middle)
        p.native_space = True
        return p

    def matching_surname(self, c, given, surnames):
        """A surname whose grammatical gender (where the locale has one) fits the given name."""
        want = c["gender"].get(given)
        for _ in range(30):
            s = self.rng.choice(surnames)
            have = c["gender"].get(s)
            if want is None or have is None or have == want:
                return s
        return s

    def name(self, p, style="any", cue=False):
        """A labeled rendering of a person's name. Styles: any, plain, given,
        surname, formal (Surname, Given), initial (G. Surname), middle
        (Given M. Surname)."""
        rng = self.rng
        if p.native:
            if style == "given" and not p.eastern:
                return pii("NAME", p.given)
            if style == "surname" and not p.eastern:
                return pii("NAME", p.surname)
            return pii("NAME", p.plain())
        if style == "any":
            r = rng.random()
            style = ("plain" if r < 0.62 else "formal" if r < 0.70 else "initial"
                     if r < 0.78 else "middle" if r < 0.86 else "fullmiddle" if r < 0.91
                     else "upper" if r < 0.94 else "plain")
        if style == "formal":
            t = f"{p.surname}, {p.given}"
        elif style == "initial":
            t = f"{p.given[0]}. {p.surname}"
        elif style == "middle" and p.middle:
            t = f"{p.given} {p.middle[0]}. {p.surname}"
        elif style == "fullmiddle" and p.middle:
            t = f"{p.given} {p.middle} {p.surname}"
        elif style == "upper":
            t = f"{p.surname.upper()} {p.given}" if rng.random() < 0.5 else f"{p.given} {p.surname.upper()}"
        elif style == "given":
            t = p.given
        elif style == "surname":
            t = p.surname
        else:
            t = f"{p.given} {p.surname}"
        if cue and rng.random() < 0.08:
            t = t.lower()
        return pii("NAME", t)

    def extra_name(self, p, style):
        """dev2 renderings (see EXTRA_NAME_SLOTS); draws from this Ctx's own rng."""
        rng = self.rng
        if style == "given_only":
            return pii("NAME", p.given)
        if style == "surname_only":
            return pii("NAME", p.surname)
        if p.native or style == "native":
            return pii("NAME", p.plain())
        if style == "surname_upper":
            return pii("NAME", p.surname.upper())
        if style == "formal_initial":
            return pii("NAME", f"{p.surname}, {p.given[0]}.")
        if style == "lower":
            return pii("NAME", f"{p.given} {p.surname}".lower() if rng.random() < 0.7 else p.given.lower())
        if style == "upper":
            return pii("NAME", f"{p.surname.upper()} {p.given}")
        if style == "fullmiddle":
            if p.middle:
                return pii("NAME", f"{p.given} {p.middle} {p.surname}")
            return pii("NAME", f"{p.given} {p.surname}")
        if style == "particle":
            return pii("NAME", f"{p.given} {rng.choice(self.particle_surnames)}")
        if style == "pnr":
            return pii("NAME", f"{fold(p.surname).upper()}/{fold(p.given).upper()}")
        raise KeyError(style)

    # Particle surnames written for dev2 (CC0): the particle is part of the name.
    particle_surnames = [
        "van der Berg", "van den Broek", "van Dijk", "de Vries", "de la Cruz", "de la Fuente",
        "del Río", "dos Santos", "da Silva", "von Weizsäcker", "zu Dohna", "di Stefano",
        "De Luca", "Van Houten", "O'Brien", "O'Sullivan", "O'Neill", "Ó Súilleabháin", "MacLeod",
        "McAllister", "bin Rahman", "bin Abdullah", "binti Ismail", "ibn Khaldun", "Abu Bakr",
        "al-Farsi", "El-Sayed", "ter Horst", "ten Cate", "le Roux", "Le Goff", "du Plessis",
        "St. Clair", "Fitzgerald", "Mac an tSaoir", "Ní Bhriain", "Ben-Haim", "Al Maktoum",
    ]

    def ext(self):
        """A phone extension (dev3): not PII on its own."""
        return str(self.rng.randrange(100, 9999))

    def product(self):
        return self.rng.choice([
            "Acrobat Reader", "Surface Pro", "Galaxy Note", "Model Y", "Jira Service Management",
            "Excel", "Teams", "PowerPoint", "Dynamics 365", "Sales Cloud", "Creative Cloud",
            "Kindle Paperwhite", "Echo Dot", "Pixel Buds", "ThinkPad Carbon", "Apple Watch",
            "Office Suite", "Nova Router", "Atlas Tracker", "Orion Dashboard", "Vega Sensor",
            "Phoenix CRM", "Mercury Gateway", "Titan Backup", "Juno Scheduler", "Hermes Relay",
            "Victoria Sponge Mix", "Grace Period Plan", "Ruby SDK", "Rose Gold Edition"])

    def jobtitle(self):
        return self.rng.choice([
            "Chief Financial Officer", "Head of Procurement", "Senior Account Manager",
            "Customer Success Lead", "Regional Sales Director", "Data Protection Officer",
            "Office Manager", "Lead Engineer", "Product Owner", "General Counsel",
            "Jefa de Compras", "Responsable Achats", "Leiterin Einkauf", "Direttore Vendite",
            "Gerente Comercial", "Inkoper", "Key Account Manager", "Scrum Master"])

    def heading(self):
        return self.rng.choice([
            "Executive Summary", "Open Questions", "Next Steps", "Key Risks", "Action Items",
            "Budget Review", "Release Notes", "Known Issues", "Terms and Conditions",
            "Payment Terms", "Service Level Agreement", "Change Log", "Lessons Learned",
            "Customer Feedback", "Quarterly Business Review", "Onboarding Checklist"])

    def month(self):
        return self.rng.choice(["January", "February", "March", "April", "May", "June", "July",
                                "August", "September", "October", "November", "December"])

    def weekday(self):
        return self.rng.choice(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                                "Saturday", "Sunday"])

    def team(self):
        return self.rng.choice([
            "Platform Engineering", "Customer Success", "Field Sales", "Finance Operations",
            "Legal Affairs", "Growth Marketing", "Site Reliability", "People Operations",
            "Vertrieb Nord", "Soporte Técnico", "Service Client", "Quality Assurance"])

    def email(self, p=None, role=False):
        rng = self.rng
        if role or p is None:
            local = rng.choice(["support", "info", "billing", "noreply", "sales", "hr",
                                "kontakt", "contact", "ventas", "admin", "jobs", "press"])
        else:
            if p.native:
                g, s = fold(pools.cyr_latin(p.given)), fold(pools.cyr_latin(p.surname))
                if not g or not s:
                    g, s = "user", str(rng.randrange(100, 99999))
            else:
                g, s = fold(p.given), fold(p.surname)
            r = rng.random()
            local = (f"{g}.{s}" if r < 0.35 else f"{g[0]}{s}" if r < 0.5 else
                     f"{g}{rng.randrange(1, 99)}" if r < 0.58 else f"{s}.{g}" if r < 0.64 else
                     f"{g}_{s}" if r < 0.7 else f"{g}" if r < 0.76 else f"{g}-{s}" if r < 0.8 else
                     f"{g}.{s}+{rng.choice(['crm', 'news', 'invoices', 'github', 'test'])}" if r < 0.9
                     else f"{s}{g[0]}")
            if p.native and rng.random() < 0.1 and p.country in ("RU", "CN", "JP", "KR", "GR"):
                local = p.given  # internationalised local part (EAI)
        r = rng.random()
        if r < 0.3 and not role:
            dom = rng.choice(FREEMAIL)
        elif r < 0.36:
            dom = rng.choice(IDN_DOMAINS)
        else:
            base = fold(rng.choice(COMPANY_WORDS)) + rng.choice(["", "-" + fold(rng.choice(COMPANY_TAILS))])
            dom = base + rng.choice(TLDS)
            if rng.random() < 0.15:
                dom = rng.choice(["mail.", "eu.", "corp.", "us.mail.", "staff."]) + dom
        if rng.random() < 0.04:
            local = local.capitalize()
        return pii("EMAIL", f"{local}@{dom}")

    def phone(self, region=None, national_ok=True):
        rng = self.rng
        region = region or rng.choice(self.regions)
        num = phone_number(rng, region)
        nat = national_ok and region in pools.DEFAULT_REGIONS
        return pii("PHONE", format_phone(rng, num, region, nat))

    # ------------------------------------------------------------ negatives
    def company(self):
        rng = self.rng
        r = rng.random()
        w = rng.choice(COMPANY_WORDS)
        if r < 0.5:
            return f"{w} {rng.choice(COMPANY_TAILS)} {rng.choice(LEGAL)}"
        if r < 0.8:
            return f"{w} {rng.choice(LEGAL)}"
        return f"{w}{rng.choice(['', ' ' + rng.choice(COMPANY_TAILS)])}"

    def company_legal(self):
        """A company name that carries a legal form (clearly not a person)."""
        rng = self.rng
        w = rng.choice(COMPANY_WORDS)
        if rng.random() < 0.5:
            return f"{w} {rng.choice(COMPANY_TAILS)} {rng.choice(LEGAL)}"
        return f"{w} {rng.choice(LEGAL)}"

    def firm(self):
        rng = self.rng
        a, b, c = (rng.choice(self.firm_surnames) for _ in range(3))
        r = rng.random()
        if r < 0.4:
            return f"{a}, {b} and {c}"
        if r < 0.6:
            return f"{a}, {b} & {c} LLP"
        if r < 0.8:
            return f"{a} & {b}"
        return f"{a} {b} Rechtsanwälte PartG mbB"

    def date(self):
        rng = self.rng
        y, m, d = rng.randrange(2019, 2027), rng.randrange(1, 13), rng.randrange(1, 29)
        months = ["January", "February", "March", "April", "May", "June", "July",
                  "August", "September", "October", "November", "December"]
        return rng.choice([
            f"{y}-{m:02}-{d:02}", f"{d:02}.{m:02}.{y}", f"{m}/{d}/{y}", f"{d}/{m}/{y}",
            f"{d} {months[m-1]} {y}", f"{months[m-1]} {d}, {y}", f"{y}{m:02}{d:02}",
            f"{y}-{m:02}-{d:02}T{rng.randrange(24):02}:{rng.randrange(60):02}:00Z",
            f"{d:02}/{m:02}/{y % 100:02}"])

    def time(self):
        rng = self.rng
        h, mi = rng.randrange(7, 20), rng.choice([0, 15, 30, 45])
        return rng.choice([f"{h}:{mi:02}", f"{h:02}:{mi:02}–{h+1:02}:{mi:02}",
                           f"{(h-1) % 12 + 1}:{mi:02} {'AM' if h < 12 else 'PM'}",
                           f"{h}h{mi:02}", f"{h:02}:{mi:02} CET", f"{h:02}:{mi:02}:{rng.randrange(60):02}"])

    def order_no(self):
        rng = self.rng
        return rng.choice([
            f"ORD-{rng.randrange(2019, 2027)}-{rng.randrange(10**5, 10**6)}",
            f"#{rng.randrange(10**6, 10**8)}", f"PO {rng.randrange(10**7, 10**9)}",
            f"INV-{rng.randrange(10**4, 10**6):06}", f"SO{rng.randrange(10**8, 10**10)}",
            f"{rng.randrange(100, 999)}-{rng.randrange(10**6, 10**7)}-{rng.randrange(10**6, 10**7)}",
            f"RMA{rng.randrange(10**5, 10**7)}", f"Auftrag {rng.randrange(10**8, 10**9)}"])

    def ticket(self):
        rng = self.rng
        return rng.choice([f"TCK-{rng.randrange(1000, 99999)}", f"INC{rng.randrange(10**6, 10**7):07}",
                           f"CASE-{rng.randrange(10**5, 10**8)}", f"#{rng.randrange(1000, 999999)}",
                           f"{rng.choice(['OPS', 'CRM', 'SUP', 'BILL'])}-{rng.randrange(10, 9999)}"])

    def uuid(self):
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def version(self):
        rng = self.rng
        return rng.choice([f"v{rng.randrange(1, 20)}.{rng.randrange(0, 30)}.{rng.randrange(0, 40)}",
                           f"{rng.randrange(1, 12)}.{rng.randrange(0, 9)}.{rng.randrange(0, 9)}.{rng.randrange(1000, 99999)}",
                           f"build {rng.randrange(2019, 2027)}.{rng.randrange(1, 13):02}.{rng.randrange(1, 29):02}",
                           f"{rng.randrange(1, 5)}.{rng.randrange(0, 99)}"])

    def card(self):
        rng = self.rng
        digits = [rng.choice("3456")] + [str(rng.randrange(10)) for _ in range(14)]
        total = 0
        for i, ch in enumerate(reversed(digits)):
            d = int(ch)
            if i % 2 == 0:
                d *= 2
                d = d - 9 if d > 9 else d
            total += d
        digits.append(str((10 - total % 10) % 10))
        s = "".join(digits)
        r = rng.random()
        if r < 0.4:
            return " ".join(s[i:i+4] for i in range(0, 16, 4))
        if r < 0.6:
            return "-".join(s[i:i+4] for i in range(0, 16, 4))
        if r < 0.8:
            return "**** **** **** " + s[-4:]
        return s

    def isbn(self):
        rng = self.rng
        core = "978" + "".join(str(rng.randrange(10)) for _ in range(9))
        chk = (10 - sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(core)) % 10) % 10
        s = core + str(chk)
        return rng.choice([s, f"{s[:3]}-{s[3]}-{s[4:7]}-{s[7:12]}-{s[12]}", "ISBN " + s])

    def ip(self):
        rng = self.rng
        if rng.random() < 0.75:
            return ".".join(str(rng.randrange(1, 255)) for _ in range(4))
        return "2001:db8:" + ":".join(f"{rng.randrange(65536):x}" for _ in range(3)) + "::" + f"{rng.randrange(65536):x}"

    def amount(self):
        rng = self.rng
        a = rng.randrange(100, 10**7) / 100
        return rng.choice([f"${a:,.2f}", f"€{a:,.2f}".replace(",", "X").replace(".", ",").replace("X", "."),
                           f"{a:,.2f} EUR", f"USD {a:,.2f}", f"£{a:,.0f}", f"R$ {a:,.2f}",
                           f"¥{int(a * 100):,}", f"{int(a)} kr", f"CHF {a:.2f}", f"₹{a:,.2f}"])

    def city(self):
        return self.rng.choice(self.cities)

    def street(self):
        """A street line as the locale writes it ("12 Abbey Road", "Via Roma, 3")."""
        rng = self.rng
        n = rng.randrange(1, 250)
        loc, name = rng.choice(self.streets)
        sfx = rng.choice(self.street_sfx[loc]) if self.street_sfx[loc] else ""
        return STREET_FMT[loc].format(n=n, name=name, sfx=sfx).strip()

    def postcode(self):
        rng = self.rng
        return rng.choice([f"{rng.randrange(10000, 99999)}", f"{rng.randrange(1000, 9999)}",
                           f"SW{rng.randrange(1, 20)} {rng.randrange(1, 9)}{rng.choice('ABDEFGHJ')}{rng.choice('LNPQRSTU')}",
                           f"{rng.randrange(10000, 99999)}-{rng.randrange(100, 999)}"])


# ---------------------------------------------------------------- templates

SLOT = re.compile(r"\{([a-z_]+)(\d?)\}")
# dev2-only name renderings (Ctx.extra_name): lower-cased, "SURNAME Given",
# two given names, native script, a particle surname, "SURNAME/GIVEN" (airline).
EXTRA_NAME_SLOTS = ("lower", "upper", "fullmiddle", "native", "particle", "pnr",
                    # dev3-only: "Given SURNAME", "Surname, G.", and the given name or
                    # surname alone even for native-script East Asian names.
                    "surname_upper", "formal_initial", "given_only", "surname_only")


def render(ctx, template, people=None):
    """Fills a sentence template. Slots: name/plain/given/surname/formal/initial/
    cue (full name; cue = may be lowercased) + person index, email<i>, phone,
    role_email, and negatives: company firm date time order ticket uuid version
    card isbn ip amount city street postcode."""
    people = people if people is not None else {}
    out = Rich()
    pos = 0
    for m in SLOT.finditer(template):
        out = out + template[pos:m.start()]
        pos = m.end()
        slot, idx = m.group(1), m.group(2) or "1"
        if slot in ("name", "plain", "given", "surname", "formal", "initial", "cue", "middle", "email"):
            p = people.get(idx)
            if p is None:
                p = people[idx] = ctx.person()
            if slot == "email":
                out = out + ctx.email(p)
            else:
                style = {"name": "any", "cue": "any"}.get(slot, slot)
                out = out + ctx.name(p, style, cue=(slot == "cue"))
        elif slot in EXTRA_NAME_SLOTS:
            # Slots added for dev2 (dev2_templates.py); dev and final never use them,
            # so their output is unchanged.
            p = people.get(idx)
            if p is None:
                p = people[idx] = ctx.person(native=True) if slot == "native" else ctx.person()
            out = out + ctx.extra_name(p, slot)
        elif slot == "phone":
            out = out + ctx.phone()
        elif slot == "role_email":
            out = out + ctx.email(role=True)
        elif slot == "order":
            out = out + ctx.order_no()
        else:
            fn = getattr(ctx, slot, None)
            if fn is None:
                raise KeyError(f"unknown slot {slot!r} in {template!r}")
            out = out + fn()
    out = out + template[pos:]
    return out


def build_split(split, module, seed, n_text, n_json, pool=None):
    """`pool` picks the name/city pools (default: the split's own); dev2 uses dev's."""
    ctx = Ctx(pool or split, seed)
    rng = ctx.rng
    samples = []
    texts = module.TEXT_TEMPLATES
    builders = module.JSON_BUILDERS
    for i in range(n_text):
        ti = i % len(texts) if i < len(texts) else rng.randrange(len(texts))
        tid, tpl = texts[ti]
        r = render(ctx, tpl)
        samples.append({"id": f"{split}-t{i:05}", "template": tid, "text": r.text(),
                        "gold": [{"kind": k, "text": t, "path": ""} for k, t in r.gold()]})
    for i in range(n_json):
        bi = i % len(builders) if i < len(builders) else rng.randrange(len(builders))
        fn = builders[bi]
        value = fn(ctx, lambda tpl, people=None: render(ctx, tpl, people))
        value, gold = finalize_json(value)
        samples.append({"id": f"{split}-j{i:05}", "template": fn.__name__, "json": value,
                        "gold": gold})
    return samples


def write(split, samples):
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, f"{split}.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for s in samples:
            f.write(json.dumps(s, ensure_ascii=False, sort_keys=False) + "\n")
    counts = {k: 0 for k in KINDS}
    for s in samples:
        for g in s["gold"]:
            counts[g["kind"]] += 1
    print(f"{split}: {len(samples)} samples, gold {counts}, {os.path.getsize(path)} bytes -> "
          f"{os.path.relpath(path, ROOT)}")
    return counts


# Tuning splits with templates of their own and dev's name pool (so no final name can
# appear in them): flag -> (split, seed, free-text samples, JSON samples). Each was written
# when the splits before it were saturated; see tests/heldout/README.md.
TUNING_SPLITS = {
    "--dev2": ("dev2", 0xDE72, 1200, 600),    # new shapes
    "--dev3": ("dev3", 0xDE73, 1300, 650),    # shapes neither dev nor dev2 has
    "--dev4": ("dev4", 0xDE74, 1200, 300),    # prose without cues
    "--dev5": ("dev5", 0xDE75, 400, 1100),    # JSON shapes of other tools
}


def main():
    for flag, (split, seed, n_text, n_json) in TUNING_SPLITS.items():
        if flag in sys.argv:
            module = importlib.import_module(f"{split}_templates")
            write(split, build_split(split, module, seed, n_text, n_json, pool="dev"))
            return
    import dev_templates
    write("dev", build_split("dev", dev_templates, 0xDE7, 1300, 650))
    if "--dev-only" in sys.argv:
        return
    import final_templates
    write("final", build_split("final", final_templates, 0xF1A1, 2000, 1000))
    stats()




def stats():
    """How independent the held-out names are: of the detectors' dictionary
    (detectors/data/given.txt + surnames.txt) and of dev (for final)."""
    data = os.path.join(ROOT, "detectors", "data")
    dictionary = set()
    for fname in ("given.txt", "surnames.txt"):
        with open(os.path.join(data, fname), encoding="utf-8") as f:
            dictionary.update(line.strip().casefold() for line in f if line.strip())
    wide = set(dictionary)
    for fname in ("given_wide.txt", "surnames_wide.txt"):
        with open(os.path.join(data, fname), encoding="utf-8") as f:
            wide.update(line.strip().casefold() for line in f if line.strip())

    def tokens(text):
        return [t for t in re.split(r"[\s,]+", text) if t and not re.fullmatch(r"\w\.", t)]

    names = {}
    for split in ("dev", "final"):
        names[split] = []
        with open(os.path.join(OUT, f"{split}.jsonl"), encoding="utf-8") as f:
            for line in f:
                names[split] += [g["text"] for g in json.loads(line)["gold"] if g["kind"] == "NAME"]
    dev_tokens = {t.casefold() for n in names["dev"] for t in tokens(n)}
    dev_texts = {n.casefold() for n in names["dev"]}
    for split in ("dev", "final"):
        labels = names[split]
        toks = [t.casefold() for n in labels for t in tokens(n)]
        in_dict_all = sum(all(t.casefold() in dictionary for t in tokens(n)) for n in labels)
        in_dict_tok = sum(t in dictionary for t in toks)
        in_wide_all = sum(all(t.casefold() in wide for t in tokens(n)) for n in labels)
        in_wide_tok = sum(t in wide for t in toks)
        line = (f"{split}: {len(labels)} NAME labels; {in_dict_all / len(labels):.1%} have every "
                f"token in the detectors' dictionary; {in_dict_tok / len(toks):.1%} of name tokens are in it; "
                f"with the wide lists {in_wide_all / len(labels):.1%} and {in_wide_tok / len(toks):.1%}")
        if split == "final":
            seen_tok = sum(t in dev_tokens for t in toks)
            seen_txt = sum(n.casefold() in dev_texts for n in labels)
            line += (f"; {seen_txt / len(labels):.1%} of final NAME labels and {seen_tok / len(toks):.1%}"
                     " of final name tokens also occur in dev")
        print(line)


if __name__ == "__main__":
    if "--stats" in sys.argv:
        stats()
    else:
        main()
