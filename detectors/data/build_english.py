#!/usr/bin/env python3
"""Regenerates english_words.txt: common English words that are no names.

    python3 build_english.py /tmp/src/wam/usr/share/dict/american-english-small .

Input: SCOWL via Debian `wamerican-small` (see README.md; notice in LICENSE-scowl.txt)
and this directory's given.txt, surnames.txt, ambiguous.txt, common_words.txt
(run build_names.py first). Keeps lower-case alphabetic words of five letters or
more that no name list holds, without the plurals, -ed, -ing and -ly forms whose
stem is a word (name.rs strips those suffixes when it looks a word up).
"""

import os
import re
import sys

words_file, out_dir = sys.argv[1:3]
names = set()
for f in ("given.txt", "surnames.txt", "ambiguous.txt", "common_words.txt"):
    with open(os.path.join(out_dir, f), encoding="utf-8") as fh:
        names |= {line.strip().lower() for line in fh if line.strip()}
with open(words_file, encoding="utf-8", errors="ignore") as fh:
    low = {w.strip() for w in fh if re.fullmatch(r"[a-z]+", w.strip())}
cand = {w for w in low if len(w) >= 5 and w not in names}


def derived(w):
    # Only when the stem itself is kept (five letters or more): "missing" stays.
    return ((w.endswith("s") and (w[:-1] in cand or (w.endswith("es") and w[:-2] in cand)))
            or (w.endswith("ed") and (w[:-2] in cand or w[:-1] in cand))
            or (w.endswith("ing") and (w[:-3] in cand or w[:-3] + "e" in cand))
            or (w.endswith("ly") and w[:-2] in cand))


keep = sorted(w for w in cand if not derived(w))
with open(os.path.join(out_dir, "english_words.txt"), "w", encoding="utf-8") as fh:
    fh.write("\n".join(keep) + "\n")
print(len(keep))
