"""A labelled contamination set from real text, shared by tests/test_decontaminate.py and
benchmarks/decontamination.py (which chose the method's defaults on it).

The evaluation set is chABSA (securities-report sentences, CC BY 4.0): the sentences of every
other filing (the even-numbered files), as a JSONL file with ``id`` = ``<EDINET code>-<sentence>``.
Documents, each labelled with what it is:

- ``quote``: a real statute excerpt (e-Gov 2013 text) with two evaluation sentences pasted in;
- ``paraphrase``: the same, but one sentence lightly edited (a figure changed, 当社 -> 弊社, a
  plain-form ending, a clause dropped, re-punctuated);
- ``boilerplate``: the whole text of a chABSA filing that is NOT in the evaluation set (the odd
  files): real filings of the same kind and years, which share the genre's stock phrases
  (当連結会計年度におけるわが国経済は..., セグメントの業績は次のとおりであります) with the items;
- ``unrelated``: statute texts alone.

``truly_contaminated`` is the ground truth: quotes and paraphrases, plus any boilerplate document
that happens to contain an evaluation item of 40+ characters verbatim (then it is contaminated,
whatever its label says). Shorter items are the genre's stock sentences (セグメントの業績は次のとおり
であります): a filing that contains one shares boilerplate with the set, it does not leak it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

MIN_QUOTE_CHARS = 40


@dataclass(frozen=True)
class LabelledDoc:
    name: str
    kind: str  # quote | paraphrase | boilerplate | unrelated
    text: str
    planted: tuple[str, ...] = ()  # evaluation item ids pasted in (quote, paraphrase)


def _pick(key: str, n: int) -> int:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") % n


def chabsa_filings(shared: Path) -> list[dict]:
    return [json.loads(f.read_text(encoding="utf-8")) for f in sorted((shared / "finance" / "chabsa").glob("*.json"))]


def write_eval_set(shared: Path, path: Path) -> list[dict]:
    """The even-numbered filings' sentences as JSONL (``id``, ``text``); returns the items."""
    items = [
        {"id": f"{d['header']['document_id']}-{s['sentence_id']}", "text": s["sentence"]}
        for d in chabsa_filings(shared)[0::2]
        for s in d["sentences"]
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
    return items


def _statutes(shared: Path) -> list[str]:
    files = sorted((shared / "law_html/lawegov_2013_sjis/text").glob("*.txt"))
    return [f.read_text(encoding="utf-8")[:3000] for f in files]


EDITS = ("figure", "subject", "plain_form", "drop_clause", "repunctuate")


def paraphrase(sentence: str, edit: str) -> str:
    """A light edit of one kind; falls back to re-punctuation when the kind does not apply."""
    if edit == "figure" and re.search(r"\d", sentence):
        return re.sub(r"\d", lambda m: str((int(m.group()) + 3) % 10), sentence, count=2)
    if edit == "subject" and "当社" in sentence:
        return sentence.replace("当社", "弊社", 1)
    if edit == "plain_form" and sentence.endswith(("ました", "ります", "ります。")):
        return re.sub(r"(ました|ります)。?$", lambda m: "た" if m.group(1) == "ました" else "る", sentence)
    if edit == "drop_clause" and sentence.count("、") >= 2:
        parts = sentence.split("、")
        return "、".join(parts[:1] + parts[2:])
    return sentence.replace("、", " ").replace("。", "．")


def labelled_docs(shared: Path, items: list[dict]) -> list[LabelledDoc]:
    statutes = _statutes(shared)
    long_items = [i for i in items if len(i["text"]) >= MIN_QUOTE_CHARS]
    by_filing: dict[str, list[dict]] = {}
    for i in long_items:
        by_filing.setdefault(i["id"].split("-")[0], []).append(i)
    docs: list[LabelledDoc] = []
    for n, (filing, its) in enumerate(sorted(by_filing.items())):
        base = statutes[n % len(statutes)]
        cut = base.find("\n", len(base) // 2) + 1 or len(base) // 2
        a, b = its[_pick(filing + "a", len(its))], its[_pick(filing + "b", len(its))]
        docs.append(LabelledDoc(f"quote-{filing}", "quote", f"{base[:cut]}{a['text']}。\n{b['text']}。\n{base[cut:]}", (a["id"], b["id"])))
        edit = EDITS[n % len(EDITS)]
        c = its[_pick(filing + "c", len(its))]
        docs.append(LabelledDoc(f"paraphrase-{edit}-{filing}", "paraphrase", f"{base[:cut]}{paraphrase(c['text'], edit)}。\n{base[cut:]}", (c["id"],)))
    for d in chabsa_filings(shared)[1::2]:
        docs.append(LabelledDoc(f"boilerplate-{d['header']['document_id']}", "boilerplate", "\n".join(s["sentence"] + "。" for s in d["sentences"])))
    for n, text in enumerate(statutes[len(by_filing) :]):
        docs.append(LabelledDoc(f"unrelated-{n}", "unrelated", text))
    return docs


def _squash(text: str) -> str:
    return re.sub(r"[\W_]+", "", text)


def truly_contaminated(doc: LabelledDoc, items: list[dict]) -> bool:
    if doc.kind in ("quote", "paraphrase"):
        return True
    body = _squash(doc.text)
    return any(len(s) >= MIN_QUOTE_CHARS and s in body for s in (_squash(i["text"]) for i in items))
