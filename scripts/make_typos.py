"""Make typo pairs: sentences from a split, each with one character replaced by a homophone
or, for a share of them (`--look-share`), by a character that looks alike.

Chinese typos from pinyin input methods are mostly homophones: 公园 → 公圆, 政策 → 正策. The
readings come from the `pypinyin` package (its character dictionary, tones dropped); a
replacement is drawn among the characters of the training text with the same reading (common
characters, as an input method would offer them). Handwriting slips and learners' errors also
take a character of similar shape (清 → 请, 未 → 末): those replacements are drawn among the
common characters that look alike (spacy_rnnlm/glyphs.py, the table the corrector uses, so such a
set measures how well the model ranks them, not how complete the table is) and do not sound the
same. Each output line is
{"original", "corrupted", "start", "end", "original_char", "replacement"}, `start`/`end` the
character offsets of the replaced character. Seeded: the same input gives the same pairs.
"""
import json
import random
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, List

import srsly
import typer

from spacy_rnnlm.glyphs import Glyphs

_SENTENCE = re.compile(r"[^。！？!?]+[。！？!?]?")
_HAN = re.compile(r"[\u4e00-\u9fff]")


def homophones(train_path: Path, min_count: int = 20) -> Dict[str, List[str]]:
    """Toneless reading → common characters of the training text with that reading."""
    from pypinyin import Style, lazy_pinyin

    counts: Counter = Counter()
    for row in srsly.read_jsonl(train_path):
        counts.update(c for c in row["text"] if _HAN.match(c))
    by_reading: Dict[str, List[str]] = defaultdict(list)
    for char, n in sorted(counts.items()):
        if n >= min_count:
            by_reading[lazy_pinyin(char, style=Style.NORMAL)[0]].append(char)
    return by_reading


def main(
    split: Path = typer.Argument(..., help="Sentences to corrupt, e.g. corpus/dev.jsonl"),
    train: Path = typer.Argument(..., help="Training texts: where the replacement characters come from"),
    output: Path = typer.Argument(..., help="Output JSONL of pairs"),
    n_pairs: int = typer.Option(1000, "--n", help="Number of pairs"),
    seed: int = typer.Option(0, "--seed"),
    look_share: float = typer.Option(0.0, "--look-share", help="Share of pairs whose replacement looks alike (0-1)"),
) -> None:
    from pypinyin import Style, lazy_pinyin

    by_reading = homophones(train)
    common = {c: r for r, cs in by_reading.items() for c in cs}  # common character → its reading
    glyphs = Glyphs.build(common) if look_share > 0 else None
    sentences = []
    for row in srsly.read_jsonl(split):
        for sent in _SENTENCE.findall(row["text"]):
            sent = sent.strip()
            if 8 <= len(sent) <= 60 and len(_HAN.findall(sent)) >= 6:
                sentences.append(sent)
    rng = random.Random(seed)
    rng.shuffle(sentences)
    pairs = []
    for sent in sentences:
        if len(pairs) >= n_pairs:
            break
        positions = [i for i, c in enumerate(sent) if _HAN.match(c)]
        look = glyphs is not None and rng.random() < look_share
        rng.shuffle(positions)
        for i in positions:
            reading = lazy_pinyin(sent[i], style=Style.NORMAL)[0]
            if look:
                choices = [c for c in glyphs.alike(sent[i]) if c in common and common[c] != reading]
            else:
                choices = [c for c in by_reading.get(reading, []) if c != sent[i]]
            if choices:
                new = rng.choice(choices)
                pairs.append(
                    {
                        "original": sent,
                        "corrupted": sent[:i] + new + sent[i + 1 :],
                        "start": i,
                        "end": i + 1,
                        "original_char": sent[i],
                        "replacement": new,
                    }
                )
                break
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pairs), encoding="utf8")
    print(f"{len(pairs)} pairs written to {output}")


if __name__ == "__main__":
    typer.run(main)
